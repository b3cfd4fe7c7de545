//! `aksctl version`: aksctl's version, the API versions it speaks, the kubelogin release its kubelogin mode
//! follows, and the client version of the `kubectl` on PATH (asked without contacting any server).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::context::Context;
use crate::env_vars;
use crate::error::CliError;
use crate::output::TableLayout;

/// The kubelogin release whose command line and `convert-kubeconfig` behaviour aksctl's kubelogin mode follows
/// (docs/kubelogin.md).
pub const KUBELOGIN_COMPATIBLE_VERSION: &str = "0.2.19";
/// How long `kubectl version --client` may take before it is given up on.
const KUBECTL_TIMEOUT: Duration = Duration::from_secs(10);

/// `aksctl version`: one object, az-style (JSON by default, table/tsv through the printer).
pub async fn version(context: &Context) -> Result<(), CliError> {
    let kubectl = match find_on_path("kubectl") {
        Some(path) => match kubectl_client_version(&path).await {
            Ok(version) => Value::String(version.git_version),
            Err(error) => {
                context.printer.warning(&error);
                Value::Null
            }
        },
        None => Value::Null,
    };
    let value = json!({
        "aksctl": env!("CARGO_PKG_VERSION"),
        "apiVersions": aks_model::API_VERSIONS
            .iter()
            .map(|(name, version)| (name.to_string(), Value::from(*version)))
            .collect::<serde_json::Map<String, Value>>(),
        "kubectl": kubectl,
        "kubelogin": KUBELOGIN_COMPATIBLE_VERSION,
    });
    context.printer.data(&value, TableLayout::Auto)
}

/// The first executable called `name` on `PATH` (with the platform's executable suffix).
pub(super) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env_vars::PATH)?;
    let file_name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(&file_name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// What `kubectl version --client -o json` reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KubectlVersion {
    /// `clientVersion.gitVersion`, e.g. `v1.32.4`.
    pub git_version: String,
    /// `(major, minor)`, from `clientVersion.major`/`minor` (`"32+"` reads as 32), else from `gitVersion`.
    pub major_minor: Option<(u64, u64)>,
}

/// Run `kubectl version --client -o json` in isolation and read its client version.
///
/// Some kubectl builds (the Google Cloud SDK dispatcher, docs/kubectl-wire.md) send `GET /version` to the current
/// context's server on every command, `version --client` included, and cache the answer under `$HOME/.kube`.
/// So kubectl runs with `KUBECONFIG` set to a throw-away file whose only server is `https://127.0.0.1:0` (a port
/// nothing can listen on; an empty kubeconfig would fall back to `http://localhost:8080`), and with `HOME` and
/// `KUBECACHEDIR` in a temporary directory: the user's clusters are never contacted and their cache is untouched.
/// The error is a complete warning text naming the kubectl.
pub(super) async fn kubectl_client_version(kubectl: &Path) -> Result<KubectlVersion, String> {
    let sandbox = tempfile::Builder::new()
        .prefix("aksctl-kubectl-")
        .tempdir()
        .map_err(|error| {
            format!("cannot create a temporary directory to run kubectl in: {error}")
        })?;
    let kubeconfig = sandbox.path().join("kubeconfig");
    std::fs::write(&kubeconfig, ISOLATED_KUBECONFIG).map_err(|error| {
        format!(
            "cannot write the isolated kubeconfig {}: {error}",
            kubeconfig.display()
        )
    })?;
    let mut command = tokio::process::Command::new(kubectl);
    command
        .args(["version", "--client", "-o", "json"])
        .env(env_vars::KUBECONFIG, &kubeconfig)
        .env("HOME", sandbox.path())
        .env(env_vars::KUBECACHEDIR, sandbox.path().join("cache"))
        .current_dir(sandbox.path())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(KUBECTL_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => return Err(format!("cannot run {}: {error}", kubectl.display())),
        Err(_) => {
            return Err(format!(
                "{} version --client did not answer within {} s",
                kubectl.display(),
                KUBECTL_TIMEOUT.as_secs()
            ));
        }
    };
    if !output.status.success() {
        return Err(format!(
            "{} version --client -o json failed ({}): {}",
            kubectl.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    parse_kubectl_version(&output.stdout).ok_or_else(|| {
        format!(
            "{} version --client -o json printed no clientVersion.gitVersion",
            kubectl.display()
        )
    })
}

/// A kubeconfig with one context whose server cannot exist (port 0).
const ISOLATED_KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters:
- name: aksctl-isolated
  cluster:
    server: https://127.0.0.1:0
contexts:
- name: aksctl-isolated
  context:
    cluster: aksctl-isolated
current-context: aksctl-isolated
users: []
";

/// Read `{"clientVersion": {"major", "minor", "gitVersion"}}`.
fn parse_kubectl_version(stdout: &[u8]) -> Option<KubectlVersion> {
    let value: Value = serde_json::from_slice(stdout).ok()?;
    let client = value.get("clientVersion")?;
    let git_version = client.get("gitVersion")?.as_str()?.to_string();
    let number = |key: &str| {
        let text = client.get(key)?.as_str()?;
        let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u64>().ok()
    };
    let major_minor = match (number("major"), number("minor")) {
        (Some(major), Some(minor)) => Some((major, minor)),
        _ => major_minor(&git_version),
    };
    Some(KubectlVersion {
        git_version,
        major_minor,
    })
}

/// `(major, minor)` of a version such as `1.32`, `1.32.4`, `v1.32.4-dispatcher`.
pub(super) fn major_minor(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kubectl_client_versions() {
        let dispatcher = br#"{"clientVersion":{"major":"1","minor":"32+","gitVersion":"v1.32.4-dispatcher"},"kustomizeVersion":"v5.5.0"}"#;
        assert_eq!(
            parse_kubectl_version(dispatcher),
            Some(KubectlVersion {
                git_version: "v1.32.4-dispatcher".into(),
                major_minor: Some((1, 32)),
            })
        );
        let bare = br#"{"clientVersion":{"gitVersion":"v1.30.2"}}"#;
        assert_eq!(
            parse_kubectl_version(bare).unwrap().major_minor,
            Some((1, 30))
        );
        assert_eq!(parse_kubectl_version(b"Client Version: v1.30.2"), None);
        assert_eq!(parse_kubectl_version(br#"{"kustomizeVersion":"v5"}"#), None);
    }

    #[test]
    fn major_minor_of_versions() {
        assert_eq!(major_minor("1.32"), Some((1, 32)));
        assert_eq!(major_minor("1.32.4"), Some((1, 32)));
        assert_eq!(major_minor("v1.33.0-rc.1"), Some((1, 33)));
        assert_eq!(major_minor("latest"), None);
        assert_eq!(major_minor("1"), None);
    }
}
