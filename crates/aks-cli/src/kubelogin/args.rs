//! kubelogin 0.2.19's command line (docs/kubelogin.md, "Commands"): the cobra/pflag tree as clap structs. Every string
//! flag is an `Option` so that "given" and "not given" stay apart (convert-kubeconfig writes some values only when the
//! flag was given). Boolean flags take pflag's forms (`--legacy`, `--legacy=true`, `--legacy=false`).

use std::time::Duration;

use aks_kubeconfig::LoginMode;
use clap::{Args, Parser, Subcommand};

/// login to azure active directory and populate kubeconfig with AAD tokens
#[derive(Debug, Parser)]
#[command(name = "kubelogin", disable_version_flag = true, max_term_width = 120)]
pub struct KubeloginCli {
    /// version for kubelogin
    #[arg(long)]
    pub version: bool,
    /// klog's flags, accepted everywhere.
    #[command(flatten)]
    pub klog: KlogArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Option<KubeloginCommand>,
}

/// `kubelogin get-token …` and nothing else of the tree: the exec-plugin call kubectl makes on every command. Its
/// flags are the full tree's (the same structs: klog's, which are global there, and get-token's); it is only trusted
/// when it parses, and anything it refuses (help, a typo, another command's flag) is parsed again by [`KubeloginCli`],
/// whose answer is then the one given (`parse` in the parent module). Building the whole tree was about 0.15 ms of a
/// 0.8 ms call (BENCHMARKS.md, issue #17).
#[derive(Debug, Parser)]
#[command(
    name = "kubelogin",
    disable_version_flag = true,
    disable_help_flag = true
)]
pub struct GetTokenOnly {
    /// klog's flags.
    #[command(flatten)]
    pub klog: KlogArgs,
    /// get-token's flags.
    #[command(flatten)]
    pub args: GetTokenArgs,
}

/// klog's flags (docs/kubelogin.md, "Flags and environment").
#[derive(Debug, Args, Default)]
pub struct KlogArgs {
    /// log to standard error instead of files (always on)
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool, value_name = "BOOL")]
    pub logtostderr: Option<bool>,
    /// number for the log level verbosity
    #[arg(short = 'v', long = "v", global = true, value_name = "Level")]
    pub verbosity: Option<u8>,
}

/// kubelogin's commands.
#[derive(Debug, Subcommand)]
pub enum KubeloginCommand {
    /// convert kubeconfig to use exec auth module
    ConvertKubeconfig(ConvertArgs),
    /// get AAD token
    GetToken(GetTokenArgs),
    /// Remove all cached authentication record from filesystem
    RemoveCacheDir(RemoveCacheDirArgs),
    /// Remove all cached tokens from filesystem (deprecated: use remove-cache-dir)
    #[command(hide = true)]
    RemoveTokens(RemoveTokensArgs),
    /// Print the version information
    Version,
}

/// `--login`'s help, in kubelogin's words, with the modes and the default of [`LoginMode`].
fn login_help() -> String {
    format!(
        "Login method. Supported methods: {}. It may be specified in AAD_LOGIN_METHOD environment variable \
         [default: {}]",
        LoginMode::names(),
        LoginMode::default()
    )
}

/// The flags `get-token` and `convert-kubeconfig` share (docs/kubelogin.md, "Flags and environment"). `Debug` redacts
/// the client secret and the passwords.
#[derive(Args, Default, Clone)]
pub struct TokenFlags {
    /// Login method; its help ([`login_help`]) lists every [`LoginMode`].
    #[arg(short = 'l', long, help = login_help())]
    pub login: Option<String>,
    /// AAD server application ID
    #[arg(long)]
    pub server_id: Option<String>,
    /// AAD client application ID. It may be specified in AAD_SERVICE_PRINCIPAL_CLIENT_ID or AZURE_CLIENT_ID
    /// environment variable
    #[arg(long)]
    pub client_id: Option<String>,
    /// AAD client application secret. Used in spn login. It may be specified in
    /// AAD_SERVICE_PRINCIPAL_CLIENT_SECRET or AZURE_CLIENT_SECRET environment variable
    #[arg(long)]
    pub client_secret: Option<String>,
    /// AAD client cert in pfx. Used in spn login. It may be specified in AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE
    /// or AZURE_CLIENT_CERTIFICATE_PATH environment variable
    #[arg(long)]
    pub client_certificate: Option<String>,
    /// Password for AAD client cert. Used in spn login. It may be specified in
    /// AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD or AZURE_CLIENT_CERTIFICATE_PASSWORD environment variable
    #[arg(long)]
    pub client_certificate_password: Option<String>,
    /// user name for ropc login flow. It may be specified in AAD_USER_PRINCIPAL_NAME or AZURE_USERNAME
    /// environment variable
    #[arg(long)]
    pub username: Option<String>,
    /// password for ropc login flow. It may be specified in AAD_USER_PRINCIPAL_PASSWORD or AZURE_PASSWORD
    /// environment variable
    #[arg(long)]
    pub password: Option<String>,
    /// Managed Identity resource id.
    #[arg(long)]
    pub identity_resource_id: Option<String>,
    /// AAD tenant ID. It may be specified in AZURE_TENANT_ID environment variable
    #[arg(short = 't', long)]
    pub tenant_id: Option<String>,
    /// Azure environment name [default: AzurePublicCloud]
    #[arg(short = 'e', long)]
    pub environment: Option<String>,
    /// Workload Identity federated token file. It may be specified in AZURE_FEDERATED_TOKEN_FILE environment
    /// variable
    #[arg(long)]
    pub federated_token_file: Option<String>,
    /// Workload Identity authority host. It may be specified in AZURE_AUTHORITY_HOST environment variable
    #[arg(long)]
    pub authority_host: Option<String>,
    /// Azure Pipelines service connection ID. It may be specified in AZURESUBSCRIPTION_SERVICE_CONNECTION_ID
    /// environment variable
    #[arg(long)]
    pub azure_pipelines_service_connection_id: Option<String>,
    /// directory to cache token [default: $KUBECACHEDIR or ~/.kube/cache/kubelogin/]
    #[arg(long)]
    pub cache_dir: Option<String>,
    /// directory to cache token (deprecated: use --cache-dir)
    #[arg(long, hide = true)]
    pub token_cache_dir: Option<String>,
    /// azure subscription id. Used in azurecli login
    #[arg(short = 's', long)]
    pub subscription: Option<String>,
    /// set to true to get token with 'spn:' prefix in audience claim
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool, value_name = "BOOL")]
    pub legacy: Option<bool>,
    /// Timeout duration for Azure CLI token requests. It may be specified in AZURE_CLI_TIMEOUT environment
    /// variable [default: 1m0s]
    #[arg(long, value_parser = go_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Use environment variable names of Terraform Azure Provider (ARM_CLIENT_ID, ARM_CLIENT_SECRET,
    /// ARM_CLIENT_CERTIFICATE_PATH, ARM_CLIENT_CERTIFICATE_PASSWORD, ARM_TENANT_ID)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool, value_name = "BOOL")]
    pub use_azurerm_env_vars: Option<bool>,
    /// set to true to use PoP token for authentication or false to use regular bearer token
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool, value_name = "BOOL")]
    pub pop_enabled: Option<bool>,
    /// additional claims to include in PoP token
    #[arg(long)]
    pub pop_claims: Option<String>,
    /// Enable or disable the use of env-variables. Default false
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool, value_name = "BOOL")]
    pub disable_environment_override: Option<bool>,
    /// set to true to disable instance discovery in environments with their own identity provider
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool, value_name = "BOOL")]
    pub disable_instance_discovery: Option<bool>,
    /// The URL Microsoft Entra ID will redirect to with the access token. Used in interactive login
    #[arg(long)]
    pub redirect_url: Option<String>,
    /// The login hint to pre-fill the username in the interactive login flow.
    #[arg(long)]
    pub login_hint: Option<String>,
}

/// `kubelogin get-token`
#[derive(Debug, Args)]
pub struct GetTokenArgs {
    /// The shared flags.
    #[command(flatten)]
    pub flags: TokenFlags,
}

/// `kubelogin convert-kubeconfig`
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The shared flags.
    #[command(flatten)]
    pub flags: TokenFlags,
    /// Path to the kubeconfig file to use for CLI requests.
    #[arg(long)]
    pub kubeconfig: Option<String>,
    /// The name of the kubeconfig context to use
    #[arg(long)]
    pub context: Option<String>,
    /// Azure CLI config path
    #[arg(long)]
    pub azure_config_dir: Option<String>,
}

/// `kubelogin remove-cache-dir`
#[derive(Debug, Args)]
pub struct RemoveCacheDirArgs {
    /// directory to cache token [default: ~/.kube/cache/kubelogin/]
    #[arg(long)]
    pub cache_dir: Option<String>,
}

/// `kubelogin remove-tokens` (deprecated)
#[derive(Debug, Args)]
pub struct RemoveTokensArgs {
    /// directory to cache token [default: ~/.kube/cache/kubelogin/]
    #[arg(long)]
    pub token_cache_dir: Option<String>,
}

/// Go's `strconv.ParseBool`.
fn go_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {value:?}: invalid syntax"
        )),
    }
}

/// Go's `time.ParseDuration` (a negative duration is kept as zero, which validation refuses).
fn go_duration(value: &str) -> Result<Duration, String> {
    let nanos = aks_kubeconfig::parse_go_duration(value)
        .ok_or_else(|| format!("time: invalid duration {value:?}"))?;
    Ok(Duration::from_nanos(
        u64::try_from(nanos.max(0)).unwrap_or(u64::MAX),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pflag_forms_parse() {
        let cli = KubeloginCli::try_parse_from([
            "kubelogin",
            "get-token",
            "-l",
            "spn",
            "--server-id=s",
            "--legacy",
            "--pop-enabled=false",
            "-t",
            "tenant",
            "--timeout",
            "1m30s",
            "-v",
            "5",
            "--logtostderr",
        ])
        .unwrap();
        assert_eq!(cli.klog.verbosity, Some(5));
        let Some(KubeloginCommand::GetToken(args)) = cli.command else {
            panic!("get-token")
        };
        assert_eq!(args.flags.login.as_deref(), Some("spn"));
        assert_eq!(args.flags.server_id.as_deref(), Some("s"));
        assert_eq!(args.flags.legacy, Some(true));
        assert_eq!(args.flags.pop_enabled, Some(false));
        assert_eq!(args.flags.tenant_id.as_deref(), Some("tenant"));
        assert_eq!(args.flags.timeout, Some(Duration::from_secs(90)));
        assert!(go_bool("yes").is_err());
    }
}

impl std::fmt::Debug for TokenFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("TokenFlags")
            .field("login", &self.login)
            .field("server_id", &self.server_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("client_certificate", &self.client_certificate)
            .field(
                "client_certificate_password",
                &redacted(&self.client_certificate_password),
            )
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("identity_resource_id", &self.identity_resource_id)
            .field("tenant_id", &self.tenant_id)
            .field("environment", &self.environment)
            .field("federated_token_file", &self.federated_token_file)
            .field("authority_host", &self.authority_host)
            .field("cache_dir", &self.cache_dir)
            .field("token_cache_dir", &self.token_cache_dir)
            .field("subscription", &self.subscription)
            .field("legacy", &self.legacy)
            .field("timeout", &self.timeout)
            .field("pop_enabled", &self.pop_enabled)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod debug_tests {
    use super::TokenFlags;

    #[test]
    fn debug_never_shows_the_secret_or_passwords() {
        let flags = TokenFlags {
            client_id: Some("client-1".into()),
            client_secret: Some("s3cret-value".into()),
            client_certificate_password: Some("cert-pw".into()),
            password: Some("user-pw".into()),
            ..TokenFlags::default()
        };
        let shown = format!("{flags:?}");
        for secret in ["s3cret-value", "cert-pw", "user-pw"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("client-1"), "{shown}");
    }
}
