//! `aksctl aks install-cli`: az's `aks install-cli` without downloads. aksctl is also kubelogin when it runs under
//! that name, so "installing kubelogin" is a link named `kubelogin` to the running binary; kubectl is only checked
//! (present on PATH, its client version, and with `-g/-n` its skew against the cluster's Kubernetes version).
//!
//! Like az, it prints nothing on stdout and reports on stderr as `WARNING:` lines.

use std::path::{Path, PathBuf};

use crate::args::InstallCliArgs;
use crate::context::Context;
use crate::env_vars;
use crate::error::CliError;
use crate::paths;

use super::version::{KubectlVersion, find_on_path, kubectl_client_version, major_minor};

/// The name aksctl answers to as kubelogin.
const KUBELOGIN: &str = "kubelogin";

/// `aks install-cli`.
pub async fn install_cli(args: InstallCliArgs, context: &Context) -> Result<(), CliError> {
    if let (Some(group), Some(name)) = (&args.resource_group, &args.name) {
        super::aks::validate_cluster_args(&crate::args::ClusterArgs {
            resource_group: group.clone(),
            name: name.clone(),
        })?;
    }
    let dir = match &args.install_location {
        Some(dir) => paths::expand_user(&dir.to_string_lossy()),
        None => paths::home().join(".local").join("bin"),
    };
    let exe = current_exe()?;
    let link = dir.join(format!("{KUBELOGIN}{}", std::env::consts::EXE_SUFFIX));
    match install_link(&exe, &dir, &link, args.force)? {
        Installed::AlreadyThere => context.printer.warning(&format!(
            "\"{}\" already runs \"{}\"; left as is.",
            link.display(),
            exe.display()
        )),
        Installed::Linked => context.printer.warning(&format!(
            "Linked \"{}\" to \"{}\" (aksctl runs as kubelogin under that name; nothing was downloaded).",
            link.display(),
            exe.display()
        )),
        Installed::Copied => context.printer.warning(&format!(
            "Copied \"{}\" to \"{}\" (a symbolic link was not possible there; copy it again after upgrading aksctl).",
            exe.display(),
            link.display()
        )),
    }
    path_advice(context, &dir, &link);

    let kubectl = check_kubectl(context).await;
    if let (Some(group), Some(name)) = (&args.resource_group, &args.name) {
        let arm = context.arm("aks install-cli")?;
        let subscription = context.subscription_id(&arm).await?;
        let cluster = arm.get_managed_cluster(&subscription, group, name).await?;
        let cluster_version = cluster.kubernetes_version().unwrap_or_default().to_string();
        report_skew(context, kubectl.as_ref(), name, &cluster_version);
    }
    Ok(())
}

/// What [`install_link`] did.
#[derive(Debug, PartialEq, Eq)]
enum Installed {
    /// The file already runs this aksctl (a link to it, a hard link, or an identical copy).
    AlreadyThere,
    /// A new symbolic link.
    Linked,
    /// A copy (symbolic links are not possible there).
    Copied,
}

/// The running binary, symbolic links resolved.
fn current_exe() -> Result<PathBuf, CliError> {
    let exe = std::env::current_exe().map_err(|source| CliError::Io {
        action: "finding the running executable",
        path: "aksctl".into(),
        source,
    })?;
    Ok(std::fs::canonicalize(&exe).unwrap_or(exe))
}

/// Make `link` run `exe`: leave it if it already does, refuse anything else unless `force`, then create a symbolic
/// link (a copy where that fails) under a temporary name and rename it into place, so `link` is never missing or
/// half-written.
fn install_link(exe: &Path, dir: &Path, link: &Path, force: bool) -> Result<Installed, CliError> {
    let io_error = |action: &'static str, path: &Path| {
        let path = path.display().to_string();
        move |source| CliError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(io_error("creating the directory", dir))?;
    if std::fs::symlink_metadata(link).is_ok() {
        if runs_exe(link, exe) {
            return Ok(Installed::AlreadyThere);
        }
        if !force {
            return Err(CliError::message(format!(
                "{} already exists and is not this aksctl ({}); it was left untouched. Use --force to replace it, \
                 or --install-location to choose another directory.",
                link.display(),
                exe.display()
            )));
        }
    }
    let temporary = dir.join(format!(".{KUBELOGIN}.aksctl-{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let installed = if symlink(exe, &temporary).is_ok() {
        Installed::Linked
    } else {
        std::fs::copy(exe, &temporary).map_err(io_error("copying aksctl to", &temporary))?;
        Installed::Copied
    };
    std::fs::rename(&temporary, link).map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        CliError::Io {
            action: "installing",
            path: link.display().to_string(),
            source,
        }
    })?;
    Ok(installed)
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}

#[cfg(not(any(unix, windows)))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Whether `path` runs `exe`: it resolves to the same file, or it is a byte-identical copy.
fn runs_exe(path: &Path, exe: &Path) -> bool {
    let Ok(resolved) = std::fs::canonicalize(path) else {
        return false; // a dangling link
    };
    if resolved == exe || same_file(&resolved, exe) {
        return true;
    }
    match (std::fs::metadata(&resolved), std::fs::metadata(exe)) {
        (Ok(a), Ok(b)) if a.len() == b.len() => {
            matches!((std::fs::read(&resolved), std::fs::read(exe)), (Ok(a), Ok(b)) if a == b)
        }
        _ => false,
    }
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_a: &Path, _b: &Path) -> bool {
    false
}

/// Say whether `dir` is on PATH (and how to add it), and whether another kubelogin comes first.
fn path_advice(context: &Context, dir: &Path, link: &Path) {
    let path = std::env::var_os(env_vars::PATH).unwrap_or_default();
    let entries: Vec<PathBuf> = std::env::split_paths(&path).collect();
    let canonical_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let on_path = entries.iter().any(|entry| {
        entry == dir || std::fs::canonicalize(entry).is_ok_and(|e| e == canonical_dir)
    });
    if !on_path {
        let dir = dir.display();
        let rc_hint = match shell_name().as_deref() {
            Some("fish") => format!("or run `fish_add_path {dir}` once to keep it"),
            Some("zsh") => "and add that line to ~/.zshrc to keep it".to_string(),
            _ => "and add that line to ~/.bashrc (or your shell's rc file) to keep it".to_string(),
        };
        context.printer.warning(&format!(
            "Please ensure that {dir} is in your search PATH, so the `{KUBELOGIN}` command can be found. It is not \
             on PATH now: run `export PATH=\"$PATH:{dir}\"` in this shell, {rc_hint}."
        ));
        return;
    }
    context.printer.warning(&format!(
        "{} is on your search PATH, so the `{KUBELOGIN}` command can be found.",
        dir.display()
    ));
    if let Some(first) = find_on_path(KUBELOGIN) {
        let ours = std::fs::canonicalize(link).ok();
        if std::fs::canonicalize(&first).ok() != ours {
            context.printer.warning(&format!(
                "{} comes first on PATH, so `{KUBELOGIN}` runs that one, not {}.",
                first.display(),
                link.display()
            ));
        }
    }
}

/// The login shell's name (`bash`, `zsh`, `fish`, ...), from `$SHELL`.
fn shell_name() -> Option<String> {
    let shell = env_vars::get(env_vars::SHELL)?;
    Some(
        Path::new(&shell)
            .file_name()?
            .to_string_lossy()
            .into_owned(),
    )
}

/// Report kubectl on stderr: where it is and its client version, or how to get it.
async fn check_kubectl(context: &Context) -> Option<KubectlVersion> {
    let Some(kubectl) = find_on_path("kubectl") else {
        context.printer.warning(
            "kubectl was not found on your search PATH. aksctl downloads nothing: install kubectl from \
             https://kubernetes.io/docs/tasks/tools/ or your package manager.",
        );
        return None;
    };
    match kubectl_client_version(&kubectl).await {
        Ok(version) => {
            context.printer.warning(&format!(
                "kubectl {} found at {}.",
                version.git_version,
                kubectl.display()
            ));
            Some(version)
        }
        Err(error) => {
            context.printer.warning(&error);
            None
        }
    }
}

/// kubectl is supported within one minor version of the API server (kubectl has its own warning: docs/kubectl-wire.md,
/// "Commands").
fn report_skew(
    context: &Context,
    kubectl: Option<&KubectlVersion>,
    cluster_name: &str,
    cluster_version: &str,
) {
    let Some(cluster) = major_minor(cluster_version) else {
        context.printer.warning(&format!(
            "Cluster {cluster_name} reports no Kubernetes version ({cluster_version:?}); the kubectl version skew \
             was not checked."
        ));
        return;
    };
    let Some(client) = kubectl.and_then(|k| k.major_minor) else {
        context.printer.warning(&format!(
            "Cluster {cluster_name} runs Kubernetes {cluster_version}: use kubectl {}.",
            supported_minors(cluster)
        ));
        return;
    };
    let within = client.0 == cluster.0 && client.1.abs_diff(cluster.1) <= 1;
    let client_text = format!("{}.{}", client.0, client.1);
    if within {
        context.printer.warning(&format!(
            "kubectl {client_text} is within one minor version of cluster {cluster_name} (Kubernetes \
             {cluster_version})."
        ));
    } else {
        context.printer.warning(&format!(
            "version difference between kubectl ({client_text}) and cluster {cluster_name} ({cluster_version}) \
             exceeds the supported minor version skew of +/-1: use kubectl {}.",
            supported_minors(cluster)
        ));
    }
}

/// `1.31, 1.32 or 1.33` for a 1.32 cluster.
fn supported_minors((major, minor): (u64, u64)) -> String {
    let below = minor
        .checked_sub(1)
        .map(|m| format!("{major}.{m}, "))
        .unwrap_or_default();
    format!("{below}{major}.{minor} or {major}.{}", minor + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_minor_versions() {
        assert_eq!(supported_minors((1, 32)), "1.31, 1.32 or 1.33");
        assert_eq!(supported_minors((1, 0)), "1.0 or 1.1");
    }

    #[cfg(unix)]
    #[test]
    fn links_once_and_refuses_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("aksctl");
        std::fs::write(&exe, b"binary").unwrap();
        let bin = dir.path().join("bin");
        let link = bin.join("kubelogin");
        assert_eq!(
            install_link(&exe, &bin, &link, false).unwrap(),
            Installed::Linked
        );
        assert_eq!(std::fs::read_link(&link).unwrap(), exe);
        assert_eq!(
            install_link(&exe, &bin, &link, false).unwrap(),
            Installed::AlreadyThere
        );
        std::fs::remove_file(&link).unwrap();
        std::fs::write(&link, b"binary").unwrap();
        assert_eq!(
            install_link(&exe, &bin, &link, false).unwrap(),
            Installed::AlreadyThere,
            "an identical copy is this aksctl"
        );
        std::fs::write(&link, b"other").unwrap();
        let error = install_link(&exe, &bin, &link, false).unwrap_err();
        assert!(error.to_string().contains(&link.display().to_string()));
        assert_eq!(std::fs::read(&link).unwrap(), b"other");
        assert_eq!(
            install_link(&exe, &bin, &link, true).unwrap(),
            Installed::Linked
        );
        assert_eq!(std::fs::read_link(&link).unwrap(), exe);
        let leftovers: Vec<_> = std::fs::read_dir(&bin).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }
}
