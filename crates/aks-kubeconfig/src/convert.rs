//! kubelogin's `convert-kubeconfig`: rewrite Azure users to the `kubelogin get-token` exec plugin
//! (docs/kubelogin.md, "convert-kubeconfig"; kubelogin 0.2.19).

use crate::field::Field;
use crate::model::{AuthProvider, ExecConfig, ExecEnvVar, Kubeconfig, User};
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The exec `command` kubelogin writes.
pub const KUBELOGIN_COMMAND: &str = "kubelogin";

/// The exec `apiVersion` kubelogin writes (docs/kubelogin.md, "Well-known values").
pub const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// The `installHint` written when the user had none (docs/kubelogin.md, "The exec section written").
pub const DEFAULT_INSTALL_HINT: &str = "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\nTo learn more, please go to https://azure.github.io/kubelogin/\n";

/// The default of `--environment` (never written unless the flag is given).
pub const DEFAULT_ENVIRONMENT: &str = "AzurePublicCloud";

/// The default of `--timeout` (60s since v0.2.7, docs/kubelogin.md "Flags and environment").
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Defines [`LoginMode`] from one table: each mode with its doc and kubelogin's name, in kubelogin's order.
/// [`LoginMode::ALL`], [`LoginMode::as_str`], parsing, [`LoginMode::names`] (the list in kubelogin's error and
/// `--login` help) all come from it, so a new mode is one line here; every `match` on `LoginMode` elsewhere (the
/// arguments each mode writes below, get-token's sign-in, `aksctl doctor`) then fails to compile until it handles
/// the mode.
macro_rules! login_modes {
    ($($(#[$attribute:meta])* $variant:ident => $name:literal,)+) => {
        /// A kubelogin login method (`--login`/`-l`, docs/kubelogin.md "Login modes"). Parsed and displayed as
        /// kubelogin spells it.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub enum LoginMode {
            $($(#[$attribute])* $variant,)+
        }

        impl LoginMode {
            /// Every mode, in the order kubelogin lists them.
            pub const ALL: [LoginMode; [$($name),+].len()] = [$(LoginMode::$variant),+];

            /// kubelogin's name of the mode (`devicecode`, `spn`, …).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(LoginMode::$variant => $name,)+
                }
            }
        }
    };
}

login_modes! {
    /// `devicecode` (the default).
    #[default]
    DeviceCode => "devicecode",
    /// `interactive`: browser login.
    Interactive => "interactive",
    /// `spn`: service principal with a secret or certificate.
    ServicePrincipal => "spn",
    /// `ropc`: resource owner password credentials.
    Ropc => "ropc",
    /// `msi`: managed identity.
    Msi => "msi",
    /// `azurecli`: a token from `az account get-access-token`.
    AzureCli => "azurecli",
    /// `azd`: a token from the Azure Developer CLI.
    Azd => "azd",
    /// `workloadidentity`: a federated token file.
    WorkloadIdentity => "workloadidentity",
    /// `azurepipelines`: an Azure Pipelines service connection.
    AzurePipelines => "azurepipelines",
}

impl LoginMode {
    /// Every mode's name, comma-separated, as kubelogin lists them: `devicecode, interactive, spn, …`.
    pub fn names() -> String {
        LoginMode::ALL.map(LoginMode::as_str).join(", ")
    }
}

impl fmt::Display for LoginMode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for LoginMode {
    type Err = UnsupportedLoginMethod;

    /// Exact, case-sensitive match, as kubelogin compares.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        LoginMode::ALL
            .into_iter()
            .find(|mode| mode.as_str() == value)
            .ok_or_else(|| UnsupportedLoginMethod {
                value: value.to_owned(),
            })
    }
}

/// A `--login` (or `AAD_LOGIN_METHOD`) value kubelogin does not know; the message is kubelogin's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{value}' is not a supported login method. Supported method is one of {}",
    LoginMode::names()
)]
pub struct UnsupportedLoginMethod {
    /// The value given.
    pub value: String,
}

/// Why `convert-kubeconfig` refused. The messages are kubelogin's, word for word (docs/kubelogin.md);
/// kubelogin prints them as `Error: <message>` and exits with 1. Nothing has been changed when this is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The login method (flag or `AAD_LOGIN_METHOD`) is unknown.
    #[error(transparent)]
    UnsupportedLogin(#[from] UnsupportedLoginMethod),
    /// The authority host is not an absolute URI (Go's `url.ParseRequestURI` failed).
    #[error("authority host {value:?} is not valid: parse {value:?}: invalid URI for request")]
    AuthorityHostNotUri {
        /// The authority host.
        value: String,
    },
    /// The authority host has no scheme or no host.
    #[error("authority host {value:?} is not valid")]
    AuthorityHostInvalid {
        /// The authority host.
        value: String,
    },
    /// The authority host does not end with `/`.
    #[error("authority host {value:?} should have a trailing slash")]
    AuthorityHostTrailingSlash {
        /// The authority host.
        value: String,
    },
    /// `--pop-enabled` was given without `--pop-claims` (option validation, before any user is looked at).
    #[error(
        "if enabling pop token mode, please provide the pop-claims flag containing the PoP token claims as a comma-separated string: `u=popClaimHost,key1=val1`"
    )]
    PopClaimsFlagMissing,
    /// `--pop-claims` was given without `--pop-enabled`.
    #[error(
        "pop-enabled flag is required to use the PoP token feature. Please provide both pop-enabled and pop-claims flags"
    )]
    PopEnabledFlagMissing,
    /// `--timeout` (or `AZURE_CLI_TIMEOUT`) is zero or negative.
    #[error("timeout must be greater than 0")]
    TimeoutNotPositive,
    /// `--context` names a context the kubeconfig does not have.
    #[error("no context exists with the name: {name:?}")]
    ContextNotFound {
        /// The context name.
        name: String,
    },
    /// A value the login mode needs came from neither a flag nor the user's old configuration.
    #[error("{argument} is required")]
    MissingArgument {
        /// The user being converted.
        user: String,
        /// `--server-id`, `--client-id` or `--tenant-id`.
        argument: &'static str,
    },
    /// PoP is enabled for the user (flag or old `--pop-enabled` arg) but it has no claims.
    #[error("--pop-claims is required when specifying --pop-enabled")]
    PopClaimsRequired {
        /// The user being converted.
        user: String,
    },
    /// The user has PoP claims (flag or old `--pop-claims` arg) but PoP is not enabled.
    #[error("--pop-enabled is required when specifying --pop-claims")]
    PopEnabledRequired {
        /// The user being converted.
        user: String,
    },
}

/// Values the environment supplied for flags that were not given on the command line.
///
/// kubelogin applies the environment to its option values but writes a flag-only value
/// (ᶠ in docs/kubelogin.md "The exec section written") only when the flag itself was given; these values are
/// therefore never written, but kubelogin still uses the login method and validates the authority host, so they are
/// kept here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvironmentValues {
    /// `AAD_LOGIN_METHOD`, as given. When set it replaces [`ConvertOptions::login`]; an unknown value fails
    /// validation with kubelogin's message.
    pub login: Option<String>,
    /// `AZURE_AUTHORITY_HOST` (login `workloadidentity`, `--authority-host` not given): validated, not written.
    pub authority_host: Option<String>,
}

/// The flags of `kubelogin convert-kubeconfig` (docs/kubelogin.md, "Flags and environment").
///
/// `Some` means the flag was given explicitly (its value after [`ConvertOptions::with_environment`]); `None`
/// means it was not. kubelogin distinguishes the two: a flag-only value is written only when given, and a value
/// that may come from the old kubeconfig (server, client, tenant, environment, cache dir, …) is taken from the
/// flag only when given. `Debug` hides the secret values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConvertOptions {
    /// `--login`/`-l` (default `devicecode`).
    pub login: Option<LoginMode>,
    /// `--server-id`.
    pub server_id: Option<String>,
    /// `--client-id`.
    pub client_id: Option<String>,
    /// `--tenant-id`/`-t`.
    pub tenant_id: Option<String>,
    /// `--environment`/`-e` (default `AzurePublicCloud`, which is not written unless given).
    pub environment: Option<String>,
    /// `--client-secret` (written for `spn` only).
    pub client_secret: Option<String>,
    /// `--client-certificate` (written for `spn` only).
    pub client_certificate: Option<String>,
    /// `--client-certificate-password` (written for `spn` only).
    pub client_certificate_password: Option<String>,
    /// `--username` (written for `ropc` only).
    pub username: Option<String>,
    /// `--password` (written for `ropc` only).
    pub password: Option<String>,
    /// `--legacy`: `Some(true)` forces `--legacy` for devicecode, spn and ropc; otherwise the old config decides.
    pub is_legacy: Option<bool>,
    /// `--timeout`: validated (must be > 0), never written.
    pub timeout: Option<Duration>,
    /// `--cache-dir`.
    pub cache_dir: Option<String>,
    /// `--token-cache-dir` (deprecated alias of `--cache-dir`, written as `--cache-dir`; `cache_dir` wins when
    /// both are given).
    pub token_cache_dir: Option<String>,
    /// `--use-azurerm-env-vars`: read `ARM_*` variables instead of the Azure ones. Never written.
    pub use_azurerm_env_vars: bool,
    /// `--federated-token-file` (written for `workloadidentity` only).
    pub federated_token_file: Option<String>,
    /// `--authority-host` (written for `workloadidentity` only; validated).
    pub authority_host: Option<String>,
    /// `--identity-resource-id` (written for `msi` only, when `--client-id` is not given).
    pub identity_resource_id: Option<String>,
    /// `--subscription`/`-s` (written for `azurecli` only).
    pub subscription: Option<String>,
    /// `--azure-pipelines-service-connection-id` (written for `azurepipelines` only).
    pub azure_pipelines_service_connection_id: Option<String>,
    /// `--pop-enabled`.
    pub pop_enabled: Option<bool>,
    /// `--pop-claims`.
    pub pop_claims: Option<String>,
    /// `--disable-environment-override`: `Some(true)` skips the environment step; given at all, it is written
    /// for `spn` (kubelogin writes it whenever the flag is given, even as `=false`).
    pub disable_environment_override: Option<bool>,
    /// `--disable-instance-discovery`: accepted, never written.
    pub disable_instance_discovery: bool,
    /// `--redirect-url` (interactive).
    pub redirect_url: Option<String>,
    /// `--login-hint` (interactive).
    pub login_hint: Option<String>,
    /// `--context`: convert only the user of this context (empty means all users).
    pub context: Option<String>,
    /// `--azure-config-dir`: for `azurecli`, written as exec `env` `AZURE_CONFIG_DIR`.
    pub azure_config_dir: Option<String>,
    /// Environment values for flags that were not given (set by [`ConvertOptions::with_environment`]).
    pub from_environment: EnvironmentValues,
}

fn redact(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| "<redacted>")
}

impl fmt::Debug for ConvertOptions {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ConvertOptions")
            .field("login", &self.login)
            .field("server_id", &self.server_id)
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("environment", &self.environment)
            .field("client_secret", &redact(&self.client_secret))
            .field("client_certificate", &self.client_certificate)
            .field(
                "client_certificate_password",
                &redact(&self.client_certificate_password),
            )
            .field("username", &self.username)
            .field("password", &redact(&self.password))
            .field("is_legacy", &self.is_legacy)
            .field("timeout", &self.timeout)
            .field("cache_dir", &self.cache_dir)
            .field("token_cache_dir", &self.token_cache_dir)
            .field("use_azurerm_env_vars", &self.use_azurerm_env_vars)
            .field("federated_token_file", &self.federated_token_file)
            .field("authority_host", &self.authority_host)
            .field("identity_resource_id", &self.identity_resource_id)
            .field("subscription", &self.subscription)
            .field(
                "azure_pipelines_service_connection_id",
                &self.azure_pipelines_service_connection_id,
            )
            .field("pop_enabled", &self.pop_enabled)
            .field("pop_claims", &self.pop_claims)
            .field(
                "disable_environment_override",
                &self.disable_environment_override,
            )
            .field(
                "disable_instance_discovery",
                &self.disable_instance_discovery,
            )
            .field("redirect_url", &self.redirect_url)
            .field("login_hint", &self.login_hint)
            .field("context", &self.context)
            .field("azure_config_dir", &self.azure_config_dir)
            .field("from_environment", &self.from_environment)
            .finish()
    }
}

/// Replaces a given flag's value when the variable is set (Go's `os.LookupEnv`: set-but-empty counts).
fn override_given(
    field: &mut Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
    names: &[&str],
) {
    for name in names {
        if let Some(value) = env(name)
            && let Some(current) = field.as_mut()
        {
            *current = value;
        }
    }
}

/// Fills a given flag's value from the variable only when it is empty (kubelogin's azurepipelines fallbacks).
fn fill_given_if_empty(
    field: &mut Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
) {
    if let Some(current) = field.as_mut()
        && current.is_empty()
        && let Some(value) = env(name)
    {
        *current = value;
    }
}

impl ConvertOptions {
    /// Applies kubelogin's environment overrides (`UpdateFromEnv`, docs/kubelogin.md "Flags and environment"), unless
    /// `--disable-environment-override` is set. `env` looks a variable up (`Some("")` for set-but-empty).
    ///
    /// A set variable replaces the value of a flag that was given, later variables winning:
    /// `AAD_LOGIN_METHOD` (kept in [`EnvironmentValues::login`]; it replaces `--login`); client id
    /// `AAD_SERVICE_PRINCIPAL_CLIENT_ID` then `AZURE_CLIENT_ID`; secret `AAD_SERVICE_PRINCIPAL_CLIENT_SECRET`,
    /// `AZURE_CLIENT_SECRET`; certificate `AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE`,
    /// `AZURE_CLIENT_CERTIFICATE_PATH`; its password `AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD`,
    /// `AZURE_CLIENT_CERTIFICATE_PASSWORD`; tenant `AZURE_TENANT_ID` (with `--use-azurerm-env-vars` these five
    /// are `ARM_CLIENT_ID`, `ARM_CLIENT_SECRET`, `ARM_CLIENT_CERTIFICATE_PATH`, `ARM_CLIENT_CERTIFICATE_PASSWORD`,
    /// `ARM_TENANT_ID`); username `AAD_USER_PRINCIPAL_NAME`, `AZURE_USERNAME`; password
    /// `AAD_USER_PRINCIPAL_PASSWORD`, `AZURE_PASSWORD`. For `workloadidentity`: `AZURE_CLIENT_ID` again,
    /// `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST`. For `azurepipelines`, empty values are filled from
    /// `AZURESUBSCRIPTION_CLIENT_ID`, `AZURESUBSCRIPTION_TENANT_ID`, `AZURESUBSCRIPTION_SERVICE_CONNECTION_ID`.
    /// `AZURE_CLI_TIMEOUT` (Go duration syntax; unparsable values ignored) sets the timeout.
    ///
    /// Variables for flags that were not given change nothing that is written, as in kubelogin.
    pub fn with_environment(mut self, env: &dyn Fn(&str) -> Option<String>) -> Self {
        if self.disable_environment_override == Some(true) {
            return self;
        }
        if let Some(login) = env("AAD_LOGIN_METHOD") {
            self.from_environment.login = Some(login);
        }
        if self.use_azurerm_env_vars {
            override_given(&mut self.client_id, env, &["ARM_CLIENT_ID"]);
            override_given(&mut self.client_secret, env, &["ARM_CLIENT_SECRET"]);
            override_given(
                &mut self.client_certificate,
                env,
                &["ARM_CLIENT_CERTIFICATE_PATH"],
            );
            override_given(
                &mut self.client_certificate_password,
                env,
                &["ARM_CLIENT_CERTIFICATE_PASSWORD"],
            );
            override_given(&mut self.tenant_id, env, &["ARM_TENANT_ID"]);
        } else {
            override_given(
                &mut self.client_id,
                env,
                &["AAD_SERVICE_PRINCIPAL_CLIENT_ID", "AZURE_CLIENT_ID"],
            );
            override_given(
                &mut self.client_secret,
                env,
                &["AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "AZURE_CLIENT_SECRET"],
            );
            override_given(
                &mut self.client_certificate,
                env,
                &[
                    "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE",
                    "AZURE_CLIENT_CERTIFICATE_PATH",
                ],
            );
            override_given(
                &mut self.client_certificate_password,
                env,
                &[
                    "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD",
                    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
                ],
            );
            override_given(&mut self.tenant_id, env, &["AZURE_TENANT_ID"]);
        }
        override_given(
            &mut self.username,
            env,
            &["AAD_USER_PRINCIPAL_NAME", "AZURE_USERNAME"],
        );
        override_given(
            &mut self.password,
            env,
            &["AAD_USER_PRINCIPAL_PASSWORD", "AZURE_PASSWORD"],
        );

        // kubelogin compares the raw method string after AAD_LOGIN_METHOD was applied.
        let login = self
            .from_environment
            .login
            .clone()
            .unwrap_or_else(|| self.login.unwrap_or_default().as_str().to_owned());
        if login == LoginMode::WorkloadIdentity.as_str() {
            override_given(&mut self.client_id, env, &["AZURE_CLIENT_ID"]);
            override_given(
                &mut self.federated_token_file,
                env,
                &["AZURE_FEDERATED_TOKEN_FILE"],
            );
            if let Some(value) = env("AZURE_AUTHORITY_HOST") {
                match self.authority_host.as_mut() {
                    Some(current) => *current = value,
                    None => self.from_environment.authority_host = Some(value),
                }
            }
        }
        if login == LoginMode::AzurePipelines.as_str() {
            fill_given_if_empty(&mut self.client_id, env, "AZURESUBSCRIPTION_CLIENT_ID");
            fill_given_if_empty(&mut self.tenant_id, env, "AZURESUBSCRIPTION_TENANT_ID");
            fill_given_if_empty(
                &mut self.azure_pipelines_service_connection_id,
                env,
                "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
            );
        }
        if let Some(value) = env("AZURE_CLI_TIMEOUT")
            && let Some(nanos) = parse_go_duration(&value)
        {
            let nanos = u64::try_from(nanos.max(0)).unwrap_or(u64::MAX);
            self.timeout = Some(Duration::from_nanos(nanos));
        }
        self
    }

    /// The login method in effect: `AAD_LOGIN_METHOD` when the environment set it, else `--login`, else
    /// `devicecode`.
    pub fn login_mode(&self) -> Result<LoginMode, UnsupportedLoginMethod> {
        match &self.from_environment.login {
            Some(value) => value.parse(),
            None => Ok(self.login.unwrap_or_default()),
        }
    }

    /// kubelogin's option validation, run before the kubeconfig is read: the login method, the authority host
    /// (absolute URI with a trailing `/`), `--pop-enabled` and `--pop-claims` together, and a positive timeout.
    pub fn validate(&self) -> Result<(), ConvertError> {
        self.login_mode()?;
        let authority_host = self
            .authority_host
            .as_deref()
            .or(self.from_environment.authority_host.as_deref())
            .unwrap_or_default();
        validate_authority_host(authority_host)?;
        let pop_enabled = self.pop_enabled.unwrap_or(false);
        let pop_claims = self.pop_claims.as_deref().unwrap_or_default();
        if pop_enabled && pop_claims.is_empty() {
            return Err(ConvertError::PopClaimsFlagMissing);
        }
        if !pop_claims.is_empty() && !pop_enabled {
            return Err(ConvertError::PopEnabledFlagMissing);
        }
        if self.timeout.unwrap_or(DEFAULT_TIMEOUT).is_zero() {
            return Err(ConvertError::TimeoutNotPositive);
        }
        Ok(())
    }

    /// The cache dir flag, `--cache-dir` before `--token-cache-dir`.
    fn cache_dir_flag(&self) -> Option<&str> {
        self.cache_dir
            .as_deref()
            .or(self.token_cache_dir.as_deref())
    }
}

/// kubelogin's authority host check: Go `url.ParseRequestURI` must succeed with a scheme and a host, and the
/// text must end with `/`. Empty means unset.
fn validate_authority_host(value: &str) -> Result<(), ConvertError> {
    if value.is_empty() {
        return Ok(());
    }
    let owned = || value.to_owned();
    // ParseRequestURI accepts only absolute URIs ("scheme:…") and absolute paths ("/…").
    let scheme_end = value.find(':');
    let has_scheme = scheme_end.is_some_and(|end| {
        let scheme = &value[..end];
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !has_scheme && !value.starts_with('/') {
        return Err(ConvertError::AuthorityHostNotUri { value: owned() });
    }
    let host = scheme_end
        .filter(|_| has_scheme)
        .and_then(|end| value[end + 1..].strip_prefix("//"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .map(|authority| authority.rsplit('@').next().unwrap_or_default())
        .unwrap_or_default();
    if !has_scheme || host.is_empty() {
        return Err(ConvertError::AuthorityHostInvalid { value: owned() });
    }
    if !value.ends_with('/') {
        return Err(ConvertError::AuthorityHostTrailingSlash { value: owned() });
    }
    Ok(())
}

/// Parses a Go duration (`90s`, `1m30s`, `1.5h`, `-2s`, `0`) into nanoseconds; `None` when Go would reject it
/// (kubelogin's `--timeout` and `AZURE_CLI_TIMEOUT`).
pub fn parse_go_duration(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_end];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number.parse::<f64>().ok()? * unit;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let nanos = total as i128;
    Some(if negative { -nanos } else { nanos })
}

/// True when `convert-kubeconfig` rewrites this user: its `auth-provider.name` is `azure`, or its exec
/// `command`, lower-cased, contains `kubelogin` (docs/kubelogin.md, "Which users").
pub fn is_azure_user(user: &User) -> bool {
    azure_auth_provider(user).is_some() || uses_kubelogin(user)
}

fn azure_auth_provider(user: &User) -> Option<&AuthProvider> {
    user.auth_provider
        .as_ref()
        .filter(|provider| provider.name.as_ref().is_some_and(|name| name == "azure"))
}

fn uses_kubelogin(user: &User) -> bool {
    user.exec.as_ref().is_some_and(|exec| {
        exec.command
            .as_ref()
            .is_some_and(|command| command.to_lowercase().contains(KUBELOGIN_COMMAND))
    })
}

/// The old exec args of a user (none without an exec section).
fn old_args(user: &User) -> &[String] {
    user.exec
        .as_ref()
        .and_then(|exec| exec.args.as_ref())
        .map_or(&[], Vec::as_slice)
}

/// The value after the first `flag` token that has one (`--flag=value` and short flags are not recognized).
fn arg_value(args: &[String], flag: &str) -> Option<String> {
    args.windows(2)
        .find(|pair| pair[0] == flag)
        .map(|pair| pair[1].clone())
}

fn has_arg(args: &[String], flag: &str) -> bool {
    args.iter().any(|arg| arg == flag)
}

/// The values a user's new exec section is built from (docs/kubelogin.md, "Where each value comes from").
struct Sources {
    server_id: String,
    client_id: String,
    tenant_id: String,
    environment: String,
    legacy: bool,
    cache_dir: String,
    pop_enabled: bool,
    pop_claims: String,
    redirect_url: String,
    login_hint: String,
}

impl Sources {
    fn gather(user: &User, options: &ConvertOptions) -> Sources {
        let provider = azure_auth_provider(user);
        let args = old_args(user);
        // Flag, else the azure auth-provider config key, else the old exec arg.
        let value = |flag: &Option<String>, config_key: &str, arg: &str| -> String {
            match (flag, provider) {
                (Some(value), _) => value.clone(),
                (None, Some(provider)) => provider.config_value(config_key).unwrap_or_default(),
                (None, None) => arg_value(args, arg).unwrap_or_default(),
            }
        };
        // Flag, else the old exec arg (values the auth provider never had).
        let exec_value = |flag: &Option<String>, arg: &str| -> String {
            match flag {
                Some(value) => value.clone(),
                None => arg_value(args, arg).unwrap_or_default(),
            }
        };
        let legacy = options.is_legacy == Some(true)
            || match provider {
                Some(provider) => matches!(
                    provider.config_value("config-mode").as_deref(),
                    None | Some("" | "0")
                ),
                None => has_arg(args, "--legacy"),
            };
        let cache_dir = match options.cache_dir_flag() {
            Some(value) => value.to_owned(),
            None => arg_value(args, "--cache-dir")
                .filter(|value| !value.is_empty())
                .or_else(|| arg_value(args, "--token-cache-dir"))
                .unwrap_or_default(),
        };
        Sources {
            server_id: value(&options.server_id, "apiserver-id", "--server-id"),
            client_id: value(&options.client_id, "client-id", "--client-id"),
            tenant_id: value(&options.tenant_id, "tenant-id", "--tenant-id"),
            environment: value(&options.environment, "environment", "--environment"),
            legacy,
            cache_dir,
            pop_enabled: options
                .pop_enabled
                .unwrap_or_else(|| has_arg(args, "--pop-enabled")),
            pop_claims: exec_value(&options.pop_claims, "--pop-claims"),
            redirect_url: exec_value(&options.redirect_url, "--redirect-url"),
            login_hint: exec_value(&options.login_hint, "--login-hint"),
        }
    }
}

/// Builds kubelogin's exec args, appending in kubelogin's order.
struct ArgsBuilder<'a> {
    user: &'a str,
    args: Vec<String>,
}

impl ArgsBuilder<'_> {
    fn push(&mut self, flag: &str, value: &str) {
        self.args.push(flag.to_owned());
        self.args.push(value.to_owned());
    }

    fn push_flag(&mut self, flag: &str) {
        self.args.push(flag.to_owned());
    }

    /// `flag value`, or [`ConvertError::MissingArgument`] when the value is empty.
    fn push_required(&mut self, flag: &'static str, value: &str) -> Result<(), ConvertError> {
        if value.is_empty() {
            return Err(ConvertError::MissingArgument {
                user: self.user.to_owned(),
                argument: flag,
            });
        }
        self.push(flag, value);
        Ok(())
    }

    fn push_if_non_empty(&mut self, flag: &str, value: &str) {
        if !value.is_empty() {
            self.push(flag, value);
        }
    }

    /// `flag value` when the flag was given (even with an empty value).
    fn push_given(&mut self, flag: &str, value: &Option<String>) {
        if let Some(value) = value {
            self.push(flag, value);
        }
    }

    /// kubelogin's `validatePoPClaims`: both or neither, then `--pop-enabled --pop-claims P`.
    fn push_pop(&mut self, sources: &Sources) -> Result<(), ConvertError> {
        let user = || self.user.to_owned();
        match (sources.pop_enabled, sources.pop_claims.is_empty()) {
            (true, true) => Err(ConvertError::PopClaimsRequired { user: user() }),
            (false, false) => Err(ConvertError::PopEnabledRequired { user: user() }),
            (true, false) => {
                self.push_flag("--pop-enabled");
                self.push("--pop-claims", &sources.pop_claims);
                Ok(())
            }
            (false, true) => Ok(()),
        }
    }

    /// `--client-id C --tenant-id T [--environment E]`, the start of the public-client and spn modes.
    fn push_client_tenant_environment(&mut self, sources: &Sources) -> Result<(), ConvertError> {
        self.push_required("--client-id", &sources.client_id)?;
        self.push_required("--tenant-id", &sources.tenant_id)?;
        self.push_if_non_empty("--environment", &sources.environment);
        Ok(())
    }
}

/// The old exec section's `env` entries, kept (else `null`, as kubelogin writes). kubelogin itself drops them;
/// aksctl keeps them because the emulator's exec users carry `AZURE_AUTHORITY_HOST` and `REQUESTS_CA_BUNDLE`
/// there, and a conversion must not send a rehearsal to the public cloud (docs/offline-rehearsal.md).
fn kept_env(user: &User) -> Field<Vec<ExecEnvVar>> {
    match user.exec.as_ref().and_then(|exec| exec.env.as_ref()) {
        Some(entries) if !entries.is_empty() => Field::Present(entries.clone()),
        _ => Field::Null,
    }
}

/// Sets `name` in an exec `env`: the first entry of that name gets the value, else one is appended.
fn set_env(env: &mut Field<Vec<ExecEnvVar>>, name: &str, value: &str) {
    let entries = env.get_or_insert_with(Vec::new);
    match entries
        .iter_mut()
        .find(|entry| entry.name.as_ref().is_some_and(|n| n == name))
    {
        Some(entry) => entry.value = Field::Present(value.to_owned()),
        None => entries.push(ExecEnvVar {
            name: Field::Present(name.to_owned()),
            value: Field::Present(value.to_owned()),
            other: Default::default(),
        }),
    }
}

/// The exec section kubelogin writes for one user (docs/kubelogin.md, "The exec section written").
fn converted_exec(
    name: &str,
    user: &User,
    login: LoginMode,
    options: &ConvertOptions,
) -> Result<ExecConfig, ConvertError> {
    let sources = Sources::gather(user, options);
    let mut args = ArgsBuilder {
        user: name,
        args: vec!["get-token".to_owned()],
    };
    args.push("--login", login.as_str());
    args.push_required("--server-id", &sources.server_id)?;
    args.push_if_non_empty("--cache-dir", &sources.cache_dir);
    let mut env = kept_env(user);
    push_login_args(&mut args, &mut env, login, &sources, options)?;
    Ok(ExecConfig {
        api_version: Field::Present(EXEC_API_VERSION.to_owned()),
        command: Field::Present(KUBELOGIN_COMMAND.to_owned()),
        args: Field::Present(args.args),
        env,
        install_hint: Field::Present(install_hint(user)),
        provide_cluster_info: Field::Present(false),
        interactive_mode: Field::Absent,
        other: Default::default(),
    })
}

/// The arguments (and, for `azurecli`, the environment) one login mode's `get-token` takes, in kubelogin's order.
fn push_login_args(
    args: &mut ArgsBuilder<'_>,
    env: &mut Field<Vec<ExecEnvVar>>,
    login: LoginMode,
    sources: &Sources,
    options: &ConvertOptions,
) -> Result<(), ConvertError> {
    match login {
        LoginMode::DeviceCode => {
            args.push_client_tenant_environment(sources)?;
            if sources.legacy {
                args.push_flag("--legacy");
            }
        }
        LoginMode::Interactive => {
            args.push_client_tenant_environment(sources)?;
            args.push_pop(sources)?;
            args.push_if_non_empty("--redirect-url", &sources.redirect_url);
            args.push_if_non_empty("--login-hint", &sources.login_hint);
        }
        LoginMode::ServicePrincipal => {
            args.push_client_tenant_environment(sources)?;
            args.push_given("--client-secret", &options.client_secret);
            args.push_given("--client-certificate", &options.client_certificate);
            args.push_given(
                "--client-certificate-password",
                &options.client_certificate_password,
            );
            if sources.legacy {
                args.push_flag("--legacy");
            }
            args.push_pop(sources)?;
            if options.disable_environment_override.is_some() {
                args.push_flag("--disable-environment-override");
            }
        }
        LoginMode::Ropc => {
            args.push_client_tenant_environment(sources)?;
            args.push_given("--username", &options.username);
            args.push_given("--password", &options.password);
            if sources.legacy {
                args.push_flag("--legacy");
            }
            args.push_pop(sources)?;
        }
        LoginMode::Msi => {
            if options.client_id.is_some() {
                args.push_given("--client-id", &options.client_id);
            } else {
                args.push_given("--identity-resource-id", &options.identity_resource_id);
            }
        }
        LoginMode::AzureCli => {
            if let Some(directory) = options
                .azure_config_dir
                .as_deref()
                .filter(|d| !d.is_empty())
            {
                set_env(env, "AZURE_CONFIG_DIR", directory);
            }
            // The old tenant is deliberately dropped (kubelogin issue #123).
            args.push_given("--tenant-id", &options.tenant_id);
            args.push_given("--subscription", &options.subscription);
        }
        LoginMode::Azd => {
            args.push_given("--tenant-id", &options.tenant_id);
        }
        LoginMode::WorkloadIdentity => {
            args.push_given("--client-id", &options.client_id);
            args.push_given("--tenant-id", &options.tenant_id);
            args.push_given("--authority-host", &options.authority_host);
            args.push_given("--federated-token-file", &options.federated_token_file);
        }
        LoginMode::AzurePipelines => {
            args.push_required("--tenant-id", &sources.tenant_id)?;
            args.push_given(
                "--azure-pipelines-service-connection-id",
                &options.azure_pipelines_service_connection_id,
            );
        }
    }
    Ok(())
}

/// The user's own `installHint`, else kubelogin's.
fn install_hint(user: &User) -> String {
    user.exec
        .as_ref()
        .and_then(|exec| exec.install_hint.as_ref())
        .filter(|hint| !hint.is_empty())
        .cloned()
        .unwrap_or_else(|| DEFAULT_INSTALL_HINT.to_owned())
}

/// The converted body of every user `convert` would rewrite, by index into `config.users`, without changing
/// anything.
pub(crate) fn plan(
    config: &Kubeconfig,
    options: &ConvertOptions,
) -> Result<Vec<(usize, String, User)>, ConvertError> {
    options.validate()?;
    let login = options.login_mode()?;
    let target = match options.context.as_deref().filter(|name| !name.is_empty()) {
        Some(name) => {
            let context = config
                .context(name)
                .ok_or_else(|| ConvertError::ContextNotFound {
                    name: name.to_owned(),
                })?;
            // kubelogin: a context without a user selects every user.
            Some(context.user).filter(|user| !user.is_empty())
        }
        None => None,
    };
    let mut seen = HashSet::new();
    let mut planned = Vec::new();
    for (index, entry) in config.users.as_ref().into_iter().flatten().enumerate() {
        // client-go keys users by name: unnamed entries and later duplicates are not part of the config.
        let Some(name) = entry.name() else { continue };
        if !seen.insert(name) {
            continue;
        }
        if target.as_deref().is_some_and(|target| target != name) {
            continue;
        }
        let Some(user) = entry.user.as_ref() else {
            continue;
        };
        if !is_azure_user(user) {
            continue;
        }
        let mut converted = user.clone();
        converted.exec = Field::Present(converted_exec(name, user, login, options)?);
        converted.auth_provider = Field::Absent;
        planned.push((index, name.to_owned(), converted));
    }
    Ok(planned)
}

/// kubelogin's `convert-kubeconfig` on a document (docs/kubelogin.md, "convert-kubeconfig"): validates `options`, then
/// rewrites every user whose `auth-provider` is `azure` or whose exec command contains `kubelogin` (only the user of
/// `--context` when given) to the `kubelogin get-token` exec plugin, removing its `auth-provider` and keeping its other
/// keys. Other users are untouched. Returns the converted user names in file order.
///
/// Users are visited in file order (kubelogin's order is Go map order, i.e. random); on any error the document
/// is left unchanged.
pub fn convert(
    config: &mut Kubeconfig,
    options: &ConvertOptions,
) -> Result<Vec<String>, ConvertError> {
    let planned = plan(config, options)?;
    let users = config.users.as_mut();
    let mut names = Vec::with_capacity(planned.len());
    if let Some(users) = users {
        for (index, name, user) in planned {
            users[index].user = Field::Present(user);
            names.push(name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_modes_round_trip() {
        for mode in LoginMode::ALL {
            assert_eq!(mode.to_string().parse::<LoginMode>(), Ok(mode));
        }
        assert_eq!(
            "DeviceCode".parse::<LoginMode>().unwrap_err().to_string(),
            "'DeviceCode' is not a supported login method. Supported method is one of devicecode, interactive, spn, ropc, msi, azurecli, azd, workloadidentity, azurepipelines"
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("90s"), Some(90_000_000_000));
        assert_eq!(parse_go_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_go_duration("1.5h"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_go_duration("-2s"), Some(-2_000_000_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        for bad in ["", "90", "s", "1x", "1..2s", "-", "abc"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn authority_host_validation() {
        assert!(validate_authority_host("https://login.microsoftonline.com/").is_ok());
        assert_eq!(
            validate_authority_host("https://login.microsoftonline.com")
                .unwrap_err()
                .to_string(),
            "authority host \"https://login.microsoftonline.com\" should have a trailing slash"
        );
        assert!(matches!(
            validate_authority_host("login.microsoftonline.com/"),
            Err(ConvertError::AuthorityHostNotUri { .. })
        ));
        assert!(matches!(
            validate_authority_host("/path/"),
            Err(ConvertError::AuthorityHostInvalid { .. })
        ));
        assert!(matches!(
            validate_authority_host("https:///"),
            Err(ConvertError::AuthorityHostInvalid { .. })
        ));
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        }
    }

    #[test]
    fn environment_overrides_only_given_flags() {
        let options = ConvertOptions {
            client_id: Some("flag".into()),
            ..ConvertOptions::default()
        }
        .with_environment(&env_of(&[
            ("AAD_SERVICE_PRINCIPAL_CLIENT_ID", "first"),
            ("AZURE_CLIENT_ID", "second"),
            ("AZURE_TENANT_ID", "tenant"),
        ]));
        assert_eq!(options.client_id.as_deref(), Some("second"));
        assert_eq!(options.tenant_id, None, "a flag not given is never written");
    }

    #[test]
    fn environment_set_but_empty_blanks_the_value() {
        let options = ConvertOptions {
            client_secret: Some("flag".into()),
            ..ConvertOptions::default()
        }
        .with_environment(&env_of(&[("AZURE_CLIENT_SECRET", "")]));
        assert_eq!(options.client_secret.as_deref(), Some(""));
    }

    #[test]
    fn azurerm_variables_replace_the_azure_ones() {
        let options = ConvertOptions {
            client_id: Some("flag".into()),
            tenant_id: Some("flag".into()),
            use_azurerm_env_vars: true,
            ..ConvertOptions::default()
        }
        .with_environment(&env_of(&[
            ("AZURE_CLIENT_ID", "azure"),
            ("ARM_TENANT_ID", "arm-tenant"),
        ]));
        assert_eq!(options.client_id.as_deref(), Some("flag"));
        assert_eq!(options.tenant_id.as_deref(), Some("arm-tenant"));
    }

    #[test]
    fn workload_identity_reads_azure_client_id_even_in_terraform_mode() {
        let options = ConvertOptions {
            login: Some(LoginMode::WorkloadIdentity),
            client_id: Some("flag".into()),
            use_azurerm_env_vars: true,
            ..ConvertOptions::default()
        }
        .with_environment(&env_of(&[
            ("ARM_CLIENT_ID", "arm"),
            ("AZURE_CLIENT_ID", "azure"),
            ("AZURE_AUTHORITY_HOST", "https://login.example/"),
        ]));
        assert_eq!(options.client_id.as_deref(), Some("azure"));
        assert_eq!(
            options.from_environment.authority_host.as_deref(),
            Some("https://login.example/")
        );
        assert_eq!(options.authority_host, None);
    }

    #[test]
    fn login_method_from_environment_wins_and_is_validated() {
        let options = ConvertOptions {
            login: Some(LoginMode::Msi),
            ..ConvertOptions::default()
        };
        let switched = options
            .clone()
            .with_environment(&env_of(&[("AAD_LOGIN_METHOD", "interactive")]));
        assert_eq!(switched.login_mode(), Ok(LoginMode::Interactive));
        let bad = options
            .clone()
            .with_environment(&env_of(&[("AAD_LOGIN_METHOD", "bogus")]));
        assert!(matches!(
            bad.validate(),
            Err(ConvertError::UnsupportedLogin(_))
        ));
        let disabled = ConvertOptions {
            disable_environment_override: Some(true),
            ..options
        }
        .with_environment(&env_of(&[("AAD_LOGIN_METHOD", "bogus")]));
        assert_eq!(disabled.login_mode(), Ok(LoginMode::Msi));
    }

    #[test]
    fn workload_identity_authority_host_from_environment_is_validated() {
        let options = ConvertOptions {
            login: Some(LoginMode::WorkloadIdentity),
            ..ConvertOptions::default()
        }
        .with_environment(&env_of(&[(
            "AZURE_AUTHORITY_HOST",
            "https://login.microsoftonline.com",
        )]));
        assert!(matches!(
            options.validate(),
            Err(ConvertError::AuthorityHostTrailingSlash { .. })
        ));
    }

    #[test]
    fn azure_pipelines_fills_empty_values() {
        let options = ConvertOptions {
            login: Some(LoginMode::AzurePipelines),
            tenant_id: Some(String::new()),
            azure_pipelines_service_connection_id: Some("given".into()),
            ..ConvertOptions::default()
        }
        .with_environment(&env_of(&[
            ("AZURESUBSCRIPTION_TENANT_ID", "pipeline-tenant"),
            ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "ignored"),
        ]));
        assert_eq!(options.tenant_id.as_deref(), Some("pipeline-tenant"));
        assert_eq!(
            options.azure_pipelines_service_connection_id.as_deref(),
            Some("given")
        );
    }

    #[test]
    fn timeout_from_environment() {
        let options =
            ConvertOptions::default().with_environment(&env_of(&[("AZURE_CLI_TIMEOUT", "90s")]));
        assert_eq!(options.timeout, Some(Duration::from_secs(90)));
        let ignored =
            ConvertOptions::default().with_environment(&env_of(&[("AZURE_CLI_TIMEOUT", "soon")]));
        assert_eq!(ignored.timeout, None);
        let negative =
            ConvertOptions::default().with_environment(&env_of(&[("AZURE_CLI_TIMEOUT", "-1s")]));
        assert_eq!(negative.validate(), Err(ConvertError::TimeoutNotPositive));
    }

    #[test]
    fn option_validation_of_pop_flags() {
        let enabled = ConvertOptions {
            pop_enabled: Some(true),
            ..ConvertOptions::default()
        };
        assert_eq!(enabled.validate(), Err(ConvertError::PopClaimsFlagMissing));
        let claims = ConvertOptions {
            pop_claims: Some("u=x".into()),
            ..ConvertOptions::default()
        };
        assert_eq!(claims.validate(), Err(ConvertError::PopEnabledFlagMissing));
    }

    #[test]
    fn conversion_keeps_exec_env_and_sets_the_azure_config_dir() {
        let text = "users:\n- name: u\n  user:\n    exec:\n      command: kubelogin\n      args: [get-token, \
                    --server-id, s, --client-id, c, --tenant-id, t]\n      env:\n      - name: AZURE_AUTHORITY_HOST\n\
                    \x20       value: https://127.0.0.1:1/\n      - name: AZURE_CONFIG_DIR\n        value: /old\n";
        let env_of = |config: &Kubeconfig| -> Vec<(String, String)> {
            config
                .user_exec("u")
                .unwrap()
                .env
                .as_ref()
                .unwrap()
                .iter()
                .map(|entry| {
                    (
                        entry.name.as_ref().unwrap().clone(),
                        entry.value.as_ref().unwrap().clone(),
                    )
                })
                .collect()
        };
        let mut spn = Kubeconfig::parse(text).unwrap().unwrap();
        let options = ConvertOptions {
            login: Some(LoginMode::ServicePrincipal),
            ..ConvertOptions::default()
        };
        convert(&mut spn, &options).unwrap();
        assert_eq!(
            env_of(&spn),
            [
                (
                    "AZURE_AUTHORITY_HOST".to_owned(),
                    "https://127.0.0.1:1/".to_owned()
                ),
                ("AZURE_CONFIG_DIR".to_owned(), "/old".to_owned()),
            ]
        );
        let mut cli = Kubeconfig::parse(text).unwrap().unwrap();
        let options = ConvertOptions {
            login: Some(LoginMode::AzureCli),
            azure_config_dir: Some("/new".into()),
            ..ConvertOptions::default()
        };
        convert(&mut cli, &options).unwrap();
        assert_eq!(
            env_of(&cli)[1],
            ("AZURE_CONFIG_DIR".to_owned(), "/new".to_owned())
        );
        assert_eq!(env_of(&cli).len(), 2);
    }

    #[test]
    fn debug_hides_secrets() {
        let options = ConvertOptions {
            client_secret: Some("s3cr3t-value".into()),
            password: Some("pa55word-value".into()),
            client_certificate_password: Some("cert-pa55".into()),
            ..ConvertOptions::default()
        };
        let text = format!("{options:?}");
        for secret in ["s3cr3t-value", "pa55word-value", "cert-pa55"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("<redacted>"));
    }
}
