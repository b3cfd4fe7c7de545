//! `kubelogin get-token`: the exec credential plugin (docs/kubelogin.md, "get-token").
//!
//! Flags → environment overrides (kubelogin's `UpdateFromEnv`, shared with convert-kubeconfig) → validation →
//! the token cache, checked synchronously before any HTTP client or async runtime exists (and, in `azurecli`
//! mode, az's MSAL cache) → sign-in (refresh token first for user flows) bounded by `--timeout` → one
//! ExecCredential JSON line on stdout.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aks_identity::credential::{CredentialError, ManagedIdentityId, Secret};
use aks_identity::hints::{self, Refusal};
use aks_identity::kubelogin::{Acquire, LockError, Login, TokenCache, TokenSet};
use aks_kubeconfig::{
    ConvertOptions, DEFAULT_TIMEOUT, ExecCredential, ExecCredentialVersion, KUBERNETES_EXEC_INFO,
    LoginMode,
};

use super::args::GetTokenArgs;
use super::convert::{lookup_env, options_from_flags};
use super::{KubeloginError, emit, warn};

/// kubelogin's `GetCloudConfiguration` (docs/kubelogin.md, "Environments"): unknown names fall back to public.
pub(crate) fn environment_authority(environment: &str) -> &'static str {
    match environment.to_ascii_lowercase().as_str() {
        "azureusgovernment" | "azureusgovernmentcloud" => "https://login.microsoftonline.us/",
        "azurechinacloud" => "https://login.chinacloudapi.cn/",
        _ => "https://login.microsoftonline.com/",
    }
}

/// The authority host of az's active cloud when az has it registered (see
/// [`aks_identity::azure_cli::AzureConfigDir::active_cloud_authority`]), ending in `/`.
fn az_cloud_authority() -> Option<String> {
    let directory = aks_identity::azure_cli::AzureConfigDir::locate(std::sync::Arc::new(
        aks_identity::azure_cli::ProcessEnvironment,
    ))
    .ok()?;
    let authority = directory.active_cloud_authority().ok().flatten()?;
    Some(format!("{}/", authority.trim_end_matches('/')))
}

/// Every value get-token works with, after flags and environment.
struct Settings {
    login: Login,
    mode: LoginMode,
    server_id: String,
    authority_host: String,
    cache: TokenCache,
    /// `None`: tokens of this login are not cached (see [`Login::identity`]).
    cache_key: Option<Vec<String>>,
    timeout: Duration,
    version: Result<ExecCredentialVersion, aks_kubeconfig::ExecInfoError>,
}

fn value(field: &Option<String>) -> String {
    field.clone().unwrap_or_default()
}

fn non_empty(field: &Option<String>) -> Option<String> {
    field.clone().filter(|value| !value.is_empty())
}

/// The default cache dir of get-token: `$KUBECACHEDIR` when set and non-empty, else `~/.kube/cache/kubelogin/`.
fn default_cache_dir() -> PathBuf {
    match crate::env_vars::get(crate::env_vars::KUBECACHEDIR) {
        Some(dir) => PathBuf::from(dir),
        None => super::default_cache_dir(),
    }
}

fn resolve(args: &GetTokenArgs) -> Result<Settings, KubeloginError> {
    let options = effective_options(args)?;
    let mode = options
        .login_mode()
        .map_err(|error| KubeloginError::new(error.to_string()))?;
    let server_id = value(&options.server_id);
    if server_id.is_empty() {
        return Err(KubeloginError::new("server-id is required"));
    }
    if options.pop_enabled == Some(true) {
        return Err(KubeloginError::new(
            "PoP tokens (--pop-enabled, --pop-claims) are not supported by aksctl's kubelogin mode; AKS clusters \
             take bearer tokens, so drop --pop-enabled and --pop-claims (PoP is only needed for Azure Arc)",
        ));
    }
    let version = aks_kubeconfig::parse_exec_info(lookup_env(KUBERNETES_EXEC_INFO).as_deref());

    let environment = non_empty(&options.environment)
        .unwrap_or_else(|| aks_kubeconfig::DEFAULT_ENVIRONMENT.to_owned());
    // azurecli signs in as az does, so without an environment or authority of its own it uses the authority of
    // az's active cloud (a registered cloud's `endpoint_active_directory`), as the real kubelogin gets it from az.
    let az_cloud = matches!(mode, LoginMode::AzureCli) && non_empty(&options.environment).is_none();
    let authority_host = non_empty(&options.authority_host)
        .or_else(|| crate::env_vars::get("AZURE_AUTHORITY_HOST"))
        .or_else(|| az_cloud.then(az_cloud_authority).flatten())
        .unwrap_or_else(|| environment_authority(&environment).to_owned());
    let login = login(mode, &options)?;

    let cache_dir = non_empty(&options.cache_dir)
        .or_else(|| non_empty(&options.token_cache_dir))
        .map(PathBuf::from)
        .unwrap_or_else(default_cache_dir);
    // The login's identity (secrets as fingerprints; azurecli: az's files as they are now) is part of the key,
    // so a token is only served to the identity that earned it.
    let cache_key = login.identity(&authority_host).map(|identity| {
        vec![
            "aksctl-kubelogin-v2".to_owned(),
            mode.as_str().to_owned(),
            authority_host.trim_end_matches('/').to_ascii_lowercase(),
            identity,
            server_id.clone(),
        ]
    });
    Ok(Settings {
        login,
        mode,
        server_id,
        authority_host,
        cache: TokenCache::new(cache_dir),
        cache_key,
        timeout: options.timeout.unwrap_or(DEFAULT_TIMEOUT),
        version,
    })
}

/// The flags, then the environment over them (kubelogin's `UpdateFromEnv`), validated.
fn effective_options(args: &GetTokenArgs) -> Result<ConvertOptions, KubeloginError> {
    // Every value "given" (empty when absent), so that UpdateFromEnv overrides it whenever a variable is set.
    let mut options = options_from_flags(&args.flags);
    for field in [
        &mut options.server_id,
        &mut options.client_id,
        &mut options.tenant_id,
        &mut options.environment,
        &mut options.client_secret,
        &mut options.client_certificate,
        &mut options.client_certificate_password,
        &mut options.username,
        &mut options.password,
        &mut options.federated_token_file,
        &mut options.authority_host,
        &mut options.identity_resource_id,
        &mut options.subscription,
        &mut options.azure_pipelines_service_connection_id,
        &mut options.pop_claims,
    ] {
        if field.is_none() {
            *field = Some(String::new());
        }
    }
    let options: ConvertOptions = options.with_environment(&lookup_env);
    options
        .validate()
        .map_err(|error| KubeloginError::new(error.to_string()))?;
    Ok(options)
}

/// How `mode` signs in, with the values of `options` it uses.
fn login(mode: LoginMode, options: &ConvertOptions) -> Result<Login, KubeloginError> {
    let client_id = value(&options.client_id);
    let tenant_id = value(&options.tenant_id);
    let legacy = options.is_legacy == Some(true);
    Ok(match mode {
        LoginMode::DeviceCode => Login::DeviceCode {
            client_id,
            tenant_id,
            legacy,
        },
        LoginMode::Interactive => Login::Interactive {
            client_id,
            tenant_id,
            redirect_url: non_empty(&options.redirect_url),
            login_hint: non_empty(&options.login_hint),
        },
        LoginMode::ServicePrincipal => match non_empty(&options.client_certificate) {
            Some(path) => Login::ServicePrincipalCertificate {
                client_id,
                tenant_id,
                path: PathBuf::from(path),
                password: non_empty(&options.client_certificate_password).map(Secret::new),
                legacy,
            },
            None => Login::ServicePrincipalSecret {
                client_id,
                tenant_id,
                secret: Secret::new(value(&options.client_secret)),
                legacy,
            },
        },
        LoginMode::Ropc => Login::Ropc {
            client_id,
            tenant_id,
            username: value(&options.username),
            password: Secret::new(value(&options.password)),
            legacy,
        },
        LoginMode::Msi => Login::ManagedIdentity {
            id: non_empty(&options.client_id)
                .map(ManagedIdentityId::ClientId)
                .or_else(|| {
                    non_empty(&options.identity_resource_id).map(ManagedIdentityId::ResourceId)
                }),
        },
        LoginMode::AzureCli => Login::AzureCli {
            tenant_id: non_empty(&options.tenant_id),
            subscription: non_empty(&options.subscription),
        },
        LoginMode::Azd => Login::AzureDeveloperCli {
            tenant_id: non_empty(&options.tenant_id),
        },
        LoginMode::WorkloadIdentity => workload_identity(client_id, tenant_id, options)?,
        LoginMode::AzurePipelines => azure_pipelines(client_id, tenant_id, options)?,
    })
}

/// `workloadidentity`: the federated token file; GitHub Actions' OIDC variables alone are refused.
fn workload_identity(
    client_id: String,
    tenant_id: String,
    options: &ConvertOptions,
) -> Result<Login, KubeloginError> {
    let token_file = value(&options.federated_token_file);
    let github = [
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
    ]
    .iter()
    .all(|name| crate::env_vars::get(name).is_some());
    if github && token_file.is_empty() {
        return Err(KubeloginError::new(
            "failed to create azidentity credential: GitHub Actions OIDC tokens \
             (ACTIONS_ID_TOKEN_REQUEST_TOKEN/URL) are not supported by aksctl's kubelogin mode; write the \
             token to a file and pass --federated-token-file",
        ));
    }
    Ok(Login::WorkloadIdentity {
        client_id,
        tenant_id,
        token_file: PathBuf::from(token_file),
    })
}

/// `azurepipelines`: the service connection and the pipeline's `SYSTEM_ACCESSTOKEN`.
fn azure_pipelines(
    client_id: String,
    tenant_id: String,
    options: &ConvertOptions,
) -> Result<Login, KubeloginError> {
    let Some(token) = crate::env_vars::get("SYSTEM_ACCESSTOKEN") else {
        return Err(KubeloginError::new(
            "failed to create azidentity credential: SYSTEM_ACCESSTOKEN environment variable not set",
        ));
    };
    // What azidentity's NewAzurePipelinesCredential refuses before any request, worded as kubelogin
    // wraps it (azure_identity reads SYSTEM_OIDCREQUESTURI itself).
    let service_connection_id = value(&options.azure_pipelines_service_connection_id);
    let refused = |reason: &str| {
        KubeloginError::new(format!(
            "failed to create azidentity credential: failed to create azure pipelines credential: {reason}"
        ))
    };
    if service_connection_id.is_empty() {
        return Err(refused("no service connection ID specified"));
    }
    if crate::env_vars::get("SYSTEM_OIDCREQUESTURI").is_none() {
        return Err(refused(
            "no value for environment variable SYSTEM_OIDCREQUESTURI. This should be set by Azure Pipelines",
        ));
    }
    Ok(Login::AzurePipelines {
        client_id,
        tenant_id,
        service_connection_id,
        system_access_token: Secret::new(token),
    })
}

/// Print the ExecCredential; the apiVersion check runs after the token was had, as in kubelogin.
fn output(settings: &Settings, token: &TokenSet) -> Result<(), KubeloginError> {
    let version = settings
        .version
        .clone()
        .map_err(|error| KubeloginError::new(error.to_string()))?;
    let credential = ExecCredential {
        api_version: version,
        token: token.access_token.expose().to_owned(),
        expiration: Some(token.expires_on),
    };
    emit(&credential.to_json_line())
}

/// Whether kubelogin would call `Authenticate` (and so say `failed to authenticate:`) for this mode.
fn authenticates(login: &Login) -> bool {
    matches!(
        login,
        Login::DeviceCode { legacy: false, .. } | Login::Interactive { .. } | Login::Ropc { .. }
    )
}

fn failure(login: &Login, error: aks_identity::kubelogin::KubeloginError) -> KubeloginError {
    use aks_identity::kubelogin::KubeloginError as E;
    let text = match &error {
        // azure_identity's own message already names the credential.
        E::Credential(CredentialError::Authentication { message, .. })
        | E::Credential(CredentialError::Unavailable { message, .. }) => message.clone(),
        other => other.to_string(),
    };
    let creation = matches!(
        error,
        E::Empty(_) | E::Credential(CredentialError::Certificate { .. })
    );
    let hint = error
        .entra()
        .and_then(|entra| Some((Refusal::from_codes(&entra.codes)?, login.hint_flow()?)))
        .map(|(refusal, flow)| format!("\nhint: {}", hints::next_step(refusal, flow)))
        .unwrap_or_default();
    let text = format!("{text}{hint}");
    if creation {
        KubeloginError::new(format!("failed to create azidentity credential: {text}"))
    } else if authenticates(login) {
        KubeloginError::new(format!("failed to authenticate: {text}"))
    } else {
        KubeloginError::new(format!("failed to get token: {text}"))
    }
}

/// Open the interactive sign-in page: `$BROWSER`, else the platform opener; the URL is always shown on stderr.
fn open_browser(url: &str) {
    warn(&format!(
        "Opening the sign-in page in your browser. If it does not open, visit:\n{url}"
    ));
    let opener = crate::env_vars::get("BROWSER").or_else(|| {
        if cfg!(target_os = "macos") {
            Some("open".to_owned())
        } else if cfg!(windows) {
            None
        } else if crate::env_vars::get("DISPLAY").is_some()
            || crate::env_vars::get("WAYLAND_DISPLAY").is_some()
        {
            Some("xdg-open".to_owned())
        } else {
            None
        }
    });
    if let Some(opener) = opener {
        let spawned = std::process::Command::new(&opener)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn();
        if let Err(error) = spawned {
            tracing::debug!(%opener, %error, "could not open a browser");
        }
    }
}

/// The cache entry's token when it can be handed out as is.
fn fresh_cached(settings: &Settings, path: Option<&PathBuf>) -> Option<TokenSet> {
    let cached = settings.cache.load(path?)?;
    if !cached.is_fresh() {
        return None;
    }
    tracing::debug!(path = %cached.path.display(), "token from the cache");
    Some(cached.token)
}

/// kubelogin's answer when the `--timeout` passed: `<prefix>: context deadline exceeded`.
fn deadline_exceeded(login: &Login, detail: Option<String>) -> KubeloginError {
    let prefix = if authenticates(login) {
        "failed to authenticate"
    } else {
        "failed to get token"
    };
    match detail {
        Some(detail) => {
            KubeloginError::new(format!("{prefix}: context deadline exceeded ({detail})"))
        }
        None => KubeloginError::new(format!("{prefix}: context deadline exceeded")),
    }
}

/// Run `get-token`.
///
/// The fast path (a fresh cached token) takes no lock. A sign-in that asks a person runs under the cache entry's
/// lock, waited for until `--timeout`: once held, the cache is read again, so that of many processes started at
/// once only the first prompts and the others take its token (or refresh with its refresh token).
pub(super) fn run(args: GetTokenArgs) -> Result<(), KubeloginError> {
    let settings = resolve(&args)?;
    let deadline = Instant::now() + settings.timeout;
    let path = settings.cache_key.as_ref().map(|key| {
        let key: Vec<&str> = key.iter().map(String::as_str).collect();
        settings.cache.path(&key)
    });
    // The fast path: a fresh cached token, with no lock, no HTTP client and no async runtime.
    if let Some(token) = fresh_cached(&settings, path.as_ref()) {
        return output(&settings, &token);
    }
    let _lock = match &path {
        Some(path) if settings.login.prompts() => {
            let lock = settings
                .cache
                .lock(path, deadline)
                .map_err(|error| match error {
                    LockError::Timeout { .. } => {
                        deadline_exceeded(&settings.login, Some(error.to_string()))
                    }
                    LockError::Open { .. } => KubeloginError::new(error.to_string()),
                })?;
            if let Some(token) = fresh_cached(&settings, Some(path)) {
                return output(&settings, &token);
            }
            Some(lock)
        }
        _ => None,
    };
    // A token the login holds with no request (azurecli: az's MSAL cache), still before any HTTP client. Not
    // copied into kubelogin's cache: az's file holds it, and the next call finds it there just as fast.
    if let Some(token) = aks_identity::kubelogin::cached(
        &settings.login,
        &settings.authority_host,
        &settings.server_id,
    ) {
        return output(&settings, &token);
    }
    let refresh_token = path
        .as_ref()
        .and_then(|path| settings.cache.load(path))
        .and_then(|cached| cached.token.refresh_token);
    let token = sign_in(&settings, refresh_token, deadline)?;
    let description = format!(
        "kubelogin {} token for server {} from {}",
        settings.mode, settings.server_id, settings.authority_host
    );
    if let Some(path) = &path
        && let Err(error) = settings.cache.store(path, &token, &description)
    {
        tracing::debug!(path = %path.display(), %error, "could not write the token cache");
    }
    output(&settings, &token)
}

/// A token from the refresh token, else from a new sign-in, before `deadline`.
fn sign_in(
    settings: &Settings,
    refresh_token: Option<Secret>,
    deadline: Instant,
) -> Result<TokenSet, KubeloginError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| KubeloginError::new(format!("starting the async runtime: {error}")))?;
    let http = if settings.login.uses_http() {
        Some(
            aks_arm::http_client(&format!(
                "kubelogin/{} {}",
                super::KUBELOGIN_VERSION,
                crate::context::user_agent()
            ))
            .map_err(|error| KubeloginError::new(aks_arm::error_chain(&error)))?,
        )
    } else {
        None
    };
    let prompt = |message: &str| warn(message);
    let context = Acquire {
        authority_host: &settings.authority_host,
        server_id: &settings.server_id,
        http: http.as_ref(),
        prompt: &prompt,
        open_browser: &open_browser,
        claims: None,
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    let attempt = async {
        let mut claims = None;
        if let Some(refresh_token) = &refresh_token
            && let Some(result) =
                aks_identity::kubelogin::refresh(&settings.login, refresh_token, &context).await
        {
            match result {
                Ok(token) => return Ok(token),
                Err(error) => claims = refused_refresh(&settings.login, &error),
            }
        }
        let context = Acquire {
            claims: claims.as_deref(),
            ..context
        };
        aks_identity::kubelogin::acquire(&settings.login, &context).await
    };
    // The timer needs the runtime: it is made inside it.
    let acquired = runtime.block_on(async { tokio::time::timeout(remaining, attempt).await });
    match acquired {
        Ok(Ok(token)) => Ok(token),
        Ok(Err(error)) => Err(failure(&settings.login, error)),
        Err(_elapsed) => Err(deadline_exceeded(&settings.login, None)),
    }
}

/// A refused refresh token: a user flow signs in again. When the refusal is one a person should understand
/// (expired, revoked, MFA required), say so with Entra's line before the prompt; Entra's claims challenge is
/// returned for the sign-in to carry.
fn refused_refresh(
    login: &Login,
    error: &aks_identity::kubelogin::KubeloginError,
) -> Option<String> {
    tracing::debug!(%error, "refresh token refused; signing in again");
    let entra = error.entra()?;
    if login.prompts()
        && let Some(refusal) = Refusal::from_codes(&entra.codes)
        && refusal.needs_new_sign_in()
    {
        let why = if entra.claims.is_some() {
            "signing in again to satisfy the claims challenge"
        } else {
            "signing in again"
        };
        warn(&format!("{entra}\n{why}"));
    }
    entra.claims.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_map_to_authorities() {
        assert_eq!(
            environment_authority("AzurePublicCloud"),
            "https://login.microsoftonline.com/"
        );
        assert_eq!(
            environment_authority("azureusgovernmentcloud"),
            "https://login.microsoftonline.us/"
        );
        assert_eq!(
            environment_authority("AzureChinaCloud"),
            "https://login.chinacloudapi.cn/"
        );
        assert_eq!(
            environment_authority("AzureStackCloud"),
            "https://login.microsoftonline.com/"
        );
    }
}
