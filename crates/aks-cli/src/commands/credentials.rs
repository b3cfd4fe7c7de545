//! `aksctl aks get-credentials` (docs/az-behaviour.md, "aks get-credentials").

use std::path::{Path, PathBuf};

use aks_arm::ArmClient;
use aks_kubeconfig::{FileMergeError, Kubeconfig, MergeError, MergeFileOptions, SymlinkPolicy};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::aks::validate_cluster_args;
use crate::args::GetCredentialsArgs;
use crate::context::Context;
use crate::env_vars;
use crate::error::CliError;
use crate::paths::{expand_user, home};

/// az's warning, except that `aks install-cli` only links kubelogin (aksctl itself), where az's also installs
/// kubectl.
const DEVICECODE_WARNING: &str = "The kubeconfig uses devicecode authentication which requires kubelogin. Please install kubelogin from https://github.com/Azure/kubelogin or run 'aksctl aks install-cli', which links aksctl as kubelogin (it does not install kubectl). If devicecode login fails, try running 'kubelogin convert-kubeconfig -l azurecli' to unblock yourself.";

/// The file to merge into: `--file`, else the first KUBECONFIG entry, else `~/.kube/config` (docs/az-behaviour.md,
/// "Choosing the file").
fn target_file(file: Option<&str>, context: &Context) -> PathBuf {
    let default = home().join(".kube").join("config");
    if let Some(file) = file {
        let path = expand_user(file);
        if path != default {
            return path;
        }
    }
    if let Some(value) = env_vars::get(env_vars::KUBECONFIG) {
        match aks_kubeconfig::first_kubeconfig_env_entry(&value) {
            Some(first) => {
                tracing::info!(
                    "The default path '{}' is replaced by '{}' defined in KUBECONFIG.",
                    default.display(),
                    first.display()
                );
                return first;
            }
            None => context
                .printer
                .warning("Invalid path '' defined in KUBECONFIG."),
        }
    }
    default
}

/// Whether `kubelogin` is on PATH.
fn kubelogin_on_path() -> bool {
    std::env::var_os(env_vars::PATH)
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join("kubelogin").is_file()))
        .unwrap_or(false)
}

/// az's `uses_kubelogin_devicecode`: the first user's exec runs kubelogin with `--login devicecode`.
fn uses_kubelogin_devicecode(config: &Kubeconfig) -> bool {
    let Some(user) = config.user_names().into_iter().next() else {
        return false;
    };
    let Some(exec) = config.user_exec(&user) else {
        return false;
    };
    let args = exec.args.as_ref().cloned().unwrap_or_default();
    exec.command
        .as_ref()
        .is_some_and(|c| c.contains("kubelogin"))
        && args
            .windows(2)
            .any(|pair| (pair[0] == "--login" || pair[0] == "-l") && pair[1] == "devicecode")
}

fn merge_error_text(error: FileMergeError, path: &Path) -> CliError {
    let shown = path.display();
    match error {
        FileMergeError::Merge(MergeError::MissingKey { key }) => CliError::message(format!(
            "No such key '{key}' in existing config, please confirm whether it is a valid config file. May back up this config file, delete it and retry the command."
        )),
        FileMergeError::Merge(MergeError::Conflict { key, name }) => CliError::message(format!(
            "A different object named {name} already exists in {key} in your kubeconfig file."
        )),
        FileMergeError::Read { source, .. }
            if source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            CliError::message(format!(
                "Permission denied when trying to read {shown}. Please ensure you have read access to this file, or specify a different file path using the --file/-f argument."
            ))
        }
        FileMergeError::Parse { source, .. } => {
            CliError::message(format!("Error parsing {shown} ({})", source.detail()))
        }
        FileMergeError::Symlink { .. } => CliError::message(format!(
            "Kubeconfig path \"{shown}\" is a symbolic link. Refusing to write to prevent symlink-following attacks."
        )),
        FileMergeError::Write(write)
            if write.io_error_kind() == Some(std::io::ErrorKind::PermissionDenied) =>
        {
            CliError::message(format!(
                "Permission denied when trying to write to {shown}. Please ensure you have write access to this file, or specify a different file path using the --file/-f argument."
            ))
        }
        other => CliError::message(aks_arm::error_chain(&other)),
    }
}

/// `aks get-credentials`.
pub async fn get_credentials(args: GetCredentialsArgs, context: &Context) -> Result<(), CliError> {
    validate_cluster_args(&args.cluster)?;
    let format = match args.format.as_deref().map(str::to_ascii_lowercase) {
        None => None,
        Some(format) if format == "azure" || format == "exec" => Some(format),
        Some(_) => return Err(CliError::message("--format can only be azure or exec.")),
    };
    if args.admin && format.is_some() {
        return Err(CliError::message(
            "--format can only be specified when requesting clusterUser credential.",
        ));
    }
    let arm = context.arm("aks get-credentials")?;
    let subscription = context.subscription_id(&arm).await?;
    fetch_and_merge(&arm, &subscription, &args, format.as_deref(), true, context)
        .await
        .map(|_| ())
}

/// The rest of `get-credentials` once the flags are checked: fetch the credentials and print them (`--file -`)
/// or merge them into the kubeconfig (also `aks migrate --refresh-credentials`, per migrated cluster). Returns
/// the kubeconfig merged into; `announce: false` leaves out the per-merge `Merged …` and kubelogin warnings.
pub(super) async fn fetch_and_merge(
    arm: &ArmClient,
    subscription: &str,
    args: &GetCredentialsArgs,
    format: Option<&str>,
    announce: bool,
    context: &Context,
) -> Result<Option<PathBuf>, CliError> {
    let (group, name) = (&args.cluster.resource_group, &args.cluster.name);
    let results = if args.admin {
        arm.list_cluster_admin_credentials(subscription, group, name, args.public_fqdn)
            .await?
    } else {
        arm.list_cluster_user_credentials(subscription, group, name, format, args.public_fqdn)
            .await?
    };
    let not_found = || CliError::message("Fail to find kubeconfig file.");
    let first = results.kubeconfigs.first().ok_or_else(not_found)?;
    let bytes = STANDARD.decode(first.value.trim()).map_err(|error| {
        CliError::message(format!(
            "the kubeconfig '{}' returned by the server is not base64: {error}",
            first.name
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|error| {
        CliError::message(format!(
            "the kubeconfig '{}' returned by the server is not UTF-8: {error}",
            first.name
        ))
    })?;

    if args.file.as_deref() == Some("-") {
        context.printer.stdout(&format!("{text}\n"))?;
        if let Ok(Some(config)) = Kubeconfig::parse(&text)
            && uses_kubelogin_devicecode(&config)
            && !kubelogin_on_path()
        {
            context.printer.warning(DEVICECODE_WARNING);
        }
        return Ok(None);
    }

    let path = target_file(args.file.as_deref(), context);
    let mut addition = Kubeconfig::parse(&text)
        .map_err(|error| {
            CliError::message(format!(
                "the kubeconfig returned by the server cannot be parsed: {error}"
            ))
        })?
        .ok_or_else(not_found)?;
    aks_kubeconfig::az_rename(&mut addition, args.context.as_deref());
    let devicecode = uses_kubelogin_devicecode(&addition);
    let printer = &context.printer;
    let mut confirm = |name: &str| {
        printer
            .confirm(&format!("A different object named {name} already exists in your kubeconfig file.\nOverwrite? (y/n): "))
            .unwrap_or(false)
    };
    // Unlike current az, a symbolic link (a dotfile manager's ~/.kube/config) is written through.
    let options = MergeFileOptions {
        symlinks: SymlinkPolicy::Follow,
        ..MergeFileOptions::default()
    };
    let outcome = aks_kubeconfig::merge_into_file_with(
        &path,
        addition,
        args.overwrite_existing,
        &mut confirm,
        &options,
    )
    .map_err(|error| merge_error_text(error, &path))?;
    if let Some(mode) = outcome.previous_mode
        && mode & 0o777 != 0o600
    {
        printer.warning(&format!(
            "{} has permissions \"{:o}\".\nIt should be readable and writable only by its owner.",
            path.display(),
            mode & 0o777
        ));
    }
    if announce {
        printer.warning(&format!(
            "Merged \"{}\" as current context in {}",
            outcome.current_context,
            path.display()
        ));
        if devicecode && !kubelogin_on_path() {
            printer.warning(DEVICECODE_WARNING);
        }
    }
    Ok(Some(path))
}
