//! Settings resolved from global flags and the environment, and the ARM client built from them.

use std::sync::Arc;

use aks_arm::config::{Config, ConfigStore};
use aks_arm::{ArmClient, ArmClientOptions, Cloud, RetryPolicy};
use aks_identity::azure_cli::{AzureConfigDir, ProcessEnvironment};
use aks_identity::credential::{CachedTokenSource, TokenSource};

use crate::args::{GlobalArgs, OutputFormat};
use crate::env_vars;
use crate::error::CliError;
use crate::output::Printer;

/// The user agent sent on every request.
pub fn user_agent() -> String {
    format!("aksctl/{}", env!("CARGO_PKG_VERSION"))
}

/// Global settings plus the printer; commands get this.
pub struct Context {
    /// Output and messages.
    pub printer: Printer,
    /// `--subscription`, else `AZURE_SUBSCRIPTION_ID`.
    pub subscription: Option<String>,
    /// Where configuration lives.
    pub store: ConfigStore,
}

impl Context {
    /// Resolve global flags and environment; install logging for `--debug` / `--verbose`.
    pub fn new(global: &GlobalArgs) -> Result<Context, CliError> {
        let only_show_errors =
            global.only_show_errors || env_vars::flag(env_vars::AZURE_CORE_ONLY_SHOW_ERRORS);
        if global.only_show_errors && (global.debug || global.verbose) {
            return Err(CliError::message(
                "--only-show-errors can't be used together with --debug or --verbose",
            ));
        }
        let format = global.output.unwrap_or_else(|| {
            match env_vars::get(env_vars::AZURE_CORE_OUTPUT)
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("jsonc") => OutputFormat::Jsonc,
                Some("yaml") => OutputFormat::Yaml,
                Some("yamlc") => OutputFormat::Yamlc,
                Some("table") => OutputFormat::Table,
                Some("tsv") => OutputFormat::Tsv,
                Some("none") => OutputFormat::None,
                _ => OutputFormat::Json,
            }
        });
        let no_color = env_vars::get(env_vars::NO_COLOR).is_some()
            || env_vars::flag(env_vars::AZURE_CORE_NO_COLOR);
        if global.debug || global.verbose {
            let level = if global.debug { "debug" } else { "info" };
            let filter = tracing_subscriber::EnvFilter::new(format!(
                "warn,aks_arm={level},aks_identity={level},aks_cli={level},aks_kubeconfig={level},azure_identity={level}"
            ));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .without_time()
                .try_init();
        }
        let store = ConfigStore::from_env()?;
        Ok(Context {
            printer: Printer::new(format, global.query.clone(), only_show_errors, no_color),
            subscription: global
                .subscription
                .clone()
                .or_else(|| env_vars::get(env_vars::AZURE_SUBSCRIPTION_ID)),
            store,
        })
    }

    /// The saved configuration.
    pub fn config(&self) -> Result<Config, CliError> {
        Ok(self.store.load()?)
    }

    /// An ARM client for the active cloud, signed in through the credential chain with the on-disk token cache.
    /// The login shared with az counts the profile entries of aksctl's active cloud.
    pub fn arm(&self, command_name: &str) -> Result<ArmClient, CliError> {
        let config = self.config()?;
        let cloud: Cloud = config.active();
        let http = aks_arm::http_client(&user_agent())?;
        let credential = aks_identity::credential::default_chain_in_cloud(
            Some(&cloud.name),
            &cloud.authority(),
            &http,
        )?;
        let description = credential.describe();
        tracing::debug!(credential = %description, cloud = %cloud.name, "signing in");
        let cached: Arc<dyn TokenSource> = Arc::new(CachedTokenSource::new(
            credential,
            self.store.token_cache_dir(),
            &[&cloud.name, cloud.authority_host.as_str()],
        ));
        Ok(arm_client(cloud, http, cached, command_name))
    }

    /// The default subscription of `cloud` in az's profile (`aksctl login`/`az login`, `account set`), if any.
    fn shared_login_default(&self, cloud: &str) -> Option<String> {
        let directory = self.azure_config_dir().ok()?;
        let profile = aks_identity::azure_cli::Profile::load(&directory).ok()?;
        profile.subscription(cloud, None).ok().map(|entry| entry.id)
    }

    /// az's configuration directory (`AZURE_CONFIG_DIR`, else `~/.azure`), where `login` and `account` work.
    pub fn azure_config_dir(&self) -> Result<AzureConfigDir, CliError> {
        AzureConfigDir::locate(Arc::new(ProcessEnvironment))
            .map_err(|error| CliError::message(error.to_string()))
    }

    /// The subscription to act on: `--subscription` / `AZURE_SUBSCRIPTION_ID` (an id, or a name looked up), else
    /// az's default subscription of aksctl's active cloud when the shared login signs in (`aksctl login`,
    /// `account set`), else the default an older aksctl saved in its own configuration, else the only subscription the credential can see (then saved as the
    /// default, as `az login` does).
    pub async fn subscription_id(&self, arm: &ArmClient) -> Result<String, CliError> {
        if let Some(wanted) = &self.subscription {
            if aks_model::validation::is_guid(wanted) {
                return Ok(wanted.clone());
            }
            let subscriptions = arm.list_subscriptions().await?;
            return subscriptions
                .iter()
                .find(|s| s.display_name.eq_ignore_ascii_case(wanted) || s.subscription_id.eq_ignore_ascii_case(wanted))
                .map(|s| s.subscription_id.clone())
                .ok_or_else(|| {
                    CliError::message(format!("Subscription '{wanted}' not found. Check the spelling and casing and try again."))
                });
        }
        let config = self.config()?;
        if shared_login_signs_in()
            && let Some(default) = self.shared_login_default(&config.active().name)
        {
            return Ok(default);
        }
        if let Some(saved) = config.subscriptions.get(&config.active().name) {
            return Ok(saved.clone());
        }
        let subscriptions = arm.list_subscriptions().await?;
        match subscriptions.as_slice() {
            [only] => {
                // Remember it, as `az login` does, so later commands need no subscription listing.
                let mut config = config;
                config
                    .subscriptions
                    .insert(config.active().name, only.subscription_id.clone());
                if let Err(error) = self.store.save(&config) {
                    tracing::debug!("cannot save the default subscription: {error}");
                }
                Ok(only.subscription_id.clone())
            }
            [] => Err(CliError::message(
                "No subscriptions found for the signed-in identity. hint: check the credential (AZURE_CLIENT_ID, ...) and the active cloud (aksctl cloud show).",
            )),
            _ => Err(CliError::message(
                "More than one subscription is available: choose one with `aksctl account set --subscription <id>` or --subscription.",
            )),
        }
    }
}

/// Whether the credential chain ends at the login shared with az: no environment service principal, workload
/// identity or managed-identity endpoint is configured (they all come before it).
fn shared_login_signs_in() -> bool {
    [
        env_vars::AZURE_CLIENT_ID,
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "MSI_ENDPOINT",
    ]
    .iter()
    .all(|name| env_vars::get(name).is_none())
}

/// An ARM client for `cloud` signed in by `credential` (no token cache of aksctl's own).
pub fn arm_client(
    cloud: Cloud,
    http: reqwest::Client,
    credential: Arc<dyn TokenSource>,
    command_name: &str,
) -> ArmClient {
    ArmClient::new(ArmClientOptions {
        cloud,
        http,
        credential,
        retry: RetryPolicy::default(),
        command_name: Some(command_name.to_string()),
        parameter_set_name: parameter_set_name(),
    })
}

/// az's `ParameterSetName` header for this command line (the option names typed, in order), sent on ARM and
/// Graph requests like az does; `None` when no option was typed.
pub(crate) fn parameter_set_name() -> Option<String> {
    let arguments: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    option_names(&arguments)
}

/// az's `ParameterSetName` header value (`AzCliCommandInvoker._extract_parameter_names`): the options among the
/// command-line arguments, in order, names only (`--group`, `--member-id=x` → `--member-id`, `-gX` → `-g`);
/// arguments starting with `---` are values (PEM text). `None` when there are none (az then sends no header).
fn option_names<I, S>(args: I) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let names: Vec<String> = args
        .into_iter()
        .filter_map(|arg| {
            let arg = arg.as_ref();
            if !arg.starts_with('-') || arg.starts_with("---") || arg.chars().count() < 2 {
                return None;
            }
            Some(if arg.starts_with("--") {
                arg.split('=').next().unwrap_or(arg).to_string()
            } else {
                arg.chars().take(2).collect()
            })
        })
        .collect();
    (!names.is_empty()).then(|| names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_set_names_like_az() {
        // azure-cli's own test cases of `_extract_parameter_names`.
        let args = [
            "vm",
            "user",
            "update",
            "-g",
            "rg",
            "-n",
            "vm1",
            "-u",
            "user",
            "--ssh-key-value",
            "-----BEGIN PRIVATE KEY-----",
        ];
        assert_eq!(
            option_names(args).as_deref(),
            Some("-g -n -u --ssh-key-value")
        );
        let args = ["vm", "show", "-g", "rg", "--name", "vm1", "-d", "--debug"];
        assert_eq!(option_names(args).as_deref(), Some("-g --name -d --debug"));
        let args = [
            "ad",
            "group",
            "member",
            "check",
            "-gDev",
            "--member-id=x",
            "-",
        ];
        assert_eq!(option_names(args).as_deref(), Some("-g --member-id"));
        assert_eq!(option_names(["ad", "group", "list"]), None);
    }
}
