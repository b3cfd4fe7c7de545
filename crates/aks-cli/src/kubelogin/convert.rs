//! `kubelogin convert-kubeconfig` (docs/kubelogin.md, "convert-kubeconfig"): flags → [`ConvertOptions`] → environment
//! overrides → `aks_kubeconfig::convert_files` on the `KUBECONFIG` list (or `--kubeconfig FILE`).

use std::path::PathBuf;

use aks_kubeconfig::{
    ConvertFileError, ConvertFilesOptions, ConvertOptions, LoginMode, MissingFiles,
};

use super::args::{ConvertArgs, TokenFlags};
use super::{KubeloginError, warn};

/// Look a variable up as Go's `os.LookupEnv` does (set-but-empty is `Some("")`).
pub(super) fn lookup_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// The shared flags as [`ConvertOptions`] (`Some` = given). An unknown `--login` is kept where validation finds
/// it (unless `AAD_LOGIN_METHOD` replaces it, as in kubelogin).
pub(super) fn options_from_flags(flags: &TokenFlags) -> ConvertOptions {
    if flags.token_cache_dir.is_some() {
        warn("Flag --token-cache-dir has been deprecated, use --cache-dir instead");
    }
    let mut options = ConvertOptions {
        server_id: flags.server_id.clone(),
        client_id: flags.client_id.clone(),
        tenant_id: flags.tenant_id.clone(),
        environment: flags.environment.clone(),
        client_secret: flags.client_secret.clone(),
        client_certificate: flags.client_certificate.clone(),
        client_certificate_password: flags.client_certificate_password.clone(),
        username: flags.username.clone(),
        password: flags.password.clone(),
        is_legacy: flags.legacy,
        timeout: flags.timeout,
        cache_dir: flags.cache_dir.clone(),
        token_cache_dir: flags.token_cache_dir.clone(),
        use_azurerm_env_vars: flags.use_azurerm_env_vars.unwrap_or(false),
        federated_token_file: flags.federated_token_file.clone(),
        authority_host: flags.authority_host.clone(),
        identity_resource_id: flags.identity_resource_id.clone(),
        subscription: flags.subscription.clone(),
        azure_pipelines_service_connection_id: flags.azure_pipelines_service_connection_id.clone(),
        pop_enabled: flags.pop_enabled,
        pop_claims: flags.pop_claims.clone(),
        disable_environment_override: flags.disable_environment_override,
        disable_instance_discovery: flags.disable_instance_discovery.unwrap_or(false),
        redirect_url: flags.redirect_url.clone(),
        login_hint: flags.login_hint.clone(),
        ..ConvertOptions::default()
    };
    match flags.login.as_deref().map(str::parse::<LoginMode>) {
        Some(Ok(mode)) => options.login = Some(mode),
        Some(Err(unsupported)) => options.from_environment.login = Some(unsupported.value),
        None => {}
    }
    options
}

/// The files to convert: `--kubeconfig` alone (must exist), else the `KUBECONFIG` list, else `~/.kube/config`.
enum Target {
    Explicit(PathBuf),
    List(Vec<PathBuf>),
}

fn target(kubeconfig: Option<&str>) -> Target {
    if let Some(path) = kubeconfig.filter(|path| !path.is_empty()) {
        return Target::Explicit(PathBuf::from(path));
    }
    if let Some(value) = std::env::var_os(crate::env_vars::KUBECONFIG) {
        let paths = aks_kubeconfig::split_kubeconfig_env(&value);
        if !paths.is_empty() {
            return Target::List(paths);
        }
    }
    Target::List(vec![crate::paths::home().join(".kube").join("config")])
}

/// The lock wait: `AKSCTL_KUBECONFIG_LOCK_TIMEOUT` seconds, or the library's default (5 s).
fn lock_timeout() -> Result<std::time::Duration, KubeloginError> {
    let name = crate::env_vars::AKSCTL_KUBECONFIG_LOCK_TIMEOUT;
    match crate::env_vars::get(name) {
        None => Ok(aks_kubeconfig::DEFAULT_LOCK_TIMEOUT),
        Some(value) => value
            .trim()
            .parse::<u64>()
            .map(std::time::Duration::from_secs)
            .map_err(|_| {
                KubeloginError::new(format!(
                    "invalid {name} '{value}': expected a whole number of seconds"
                ))
            }),
    }
}

/// Run `convert-kubeconfig`.
pub(super) fn run(args: ConvertArgs) -> Result<(), KubeloginError> {
    let mut options = options_from_flags(&args.flags);
    options.context = args.context.clone().filter(|context| !context.is_empty());
    options.azure_config_dir = args.azure_config_dir.clone();
    let options = options.with_environment(&lookup_env);
    let lock_timeout = lock_timeout()?;
    let result = match target(args.kubeconfig.as_deref()) {
        Target::Explicit(path) => aks_kubeconfig::convert_files_with(
            &[path],
            &options,
            &ConvertFilesOptions {
                missing_files: MissingFiles::Error,
                lock_timeout,
            },
        ),
        Target::List(paths) => aks_kubeconfig::convert_files_with(
            &paths,
            &options,
            &ConvertFilesOptions {
                missing_files: MissingFiles::Skip,
                lock_timeout,
            },
        ),
    };
    match result {
        Ok(report) => {
            for user in &report.converted {
                tracing::debug!(user = %user.name, file = %user.file.display(), "converted");
            }
            Ok(())
        }
        Err(error @ (ConvertFileError::Read { .. } | ConvertFileError::Parse { .. })) => {
            Err(KubeloginError::new(format!(
                "unable to load kubeconfig: {}",
                aks_arm::error_chain(&error)
            )))
        }
        Err(error) => Err(KubeloginError::new(aks_arm::error_chain(&error))),
    }
}
