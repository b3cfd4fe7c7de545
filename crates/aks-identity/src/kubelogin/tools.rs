//! `azurecli` and `azd`: tokens from the developer tools, run the way azidentity v1.14 runs them
//! (docs/kubelogin.md, "Credential per mode"): the same arguments in the same order, in the working directory `/bin`
//! (so neither tool picks up a project or configuration from wherever kubectl was started), stdout parsed as JSON, exit
//! code 127 as "not found on path", and stderr otherwise surfaced as the error. The one difference: azidentity runs
//! `/bin/sh -c "<command line>"`; here the program is run directly with the same arguments (no shell quoting to get
//! wrong), found on `PATH` the same way.

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use async_trait::async_trait;

use super::{KubeloginError, TokenSet};
use crate::credential::{AccessToken, CredentialError, Secret, SharedLoginSelection, TokenSource};

const AZURE_CLI: &str = "AzureCLICredential";

/// `az account get-access-token` run as kubelogin runs it: the last resort behind the login shared with az,
/// for what aksctl cannot read natively.
#[derive(Debug)]
pub(super) struct AzProcess {
    server_id: String,
    selection: SharedLoginSelection,
}

impl AzProcess {
    /// `az` when it is on `PATH`.
    pub(super) fn on_path(server_id: &str, selection: &SharedLoginSelection) -> Option<AzProcess> {
        let path = std::env::var("PATH").ok()?;
        crate::credential::find_on_path("az", &path)?;
        Some(AzProcess {
            server_id: server_id.to_owned(),
            selection: selection.clone(),
        })
    }
}

#[async_trait]
impl TokenSource for AzProcess {
    async fn token(&self, _scope: &str) -> Result<AccessToken, CredentialError> {
        let tenant = self.selection.tenant.as_deref();
        let subscription = self.selection.subscription.as_deref();
        match azure_cli(&self.server_id, tenant, subscription).await {
            Ok(token) => Ok(AccessToken {
                token: token.access_token,
                expires_on: token.expires_on,
            }),
            Err(error) => Err(CredentialError::Authentication {
                credential: AZURE_CLI.into(),
                message: error.to_string(),
            }),
        }
    }

    fn describe(&self) -> String {
        format!("{AZURE_CLI} (az)")
    }

    fn identity(&self) -> String {
        // Only ever used behind the shared login, whose identity (az's own files) is the cache key.
        format!("az-process|{:?}", self.selection)
    }
}
const AZURE_DEVELOPER_CLI: &str = "AzureDeveloperCLICredential";

fn tool_error(tool: &'static str, message: impl Into<String>) -> KubeloginError {
    KubeloginError::Tool {
        tool,
        message: message.into(),
    }
}

/// azidentity's tenant check: letters, digits, `.` and `-`.
fn valid_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// azidentity's `validScope` for scopes passed to a tool: letters, digits, `.`, `-`, `_`, `/` and `:`.
fn valid_scope(scope: &str) -> bool {
    scope
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | ':'))
}

/// The working directory azidentity runs the tools in.
const TOOL_DIRECTORY: &str = "/bin";

/// Run `program args…` and return its stdout; `not_found` when it is not on PATH.
async fn run(
    tool: &'static str,
    program: &str,
    args: &[&str],
    not_found: &str,
) -> Result<Vec<u8>, KubeloginError> {
    tracing::debug!(program, ?args, "running");
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if cfg!(unix) && std::path::Path::new(TOOL_DIRECTORY).is_dir() {
        // Go's exec sets PWD with the directory, so the tool's shell reports /bin, not its target (/usr/bin).
        command
            .current_dir(TOOL_DIRECTORY)
            .env("PWD", TOOL_DIRECTORY);
    }
    let output = command.output().await.map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            tool_error(tool, not_found)
        } else {
            tool_error(tool, format!("cannot run {program}: {error}"))
        }
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        if output.status.code() == Some(127) {
            return Err(tool_error(tool, not_found));
        }
        let message = if stderr.is_empty() {
            format!("{program} exited with {}", output.status)
        } else {
            stderr
        };
        return Err(tool_error(tool, message));
    }
    Ok(output.stdout)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Epoch {
    Int(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CliToken {
    access_token: String,
    #[serde(default, rename = "expires_on")]
    expires_on_epoch: Option<Epoch>,
    #[serde(default)]
    expires_on: Option<String>,
}

/// az's `expiresOn`: local time `2006-01-02 15:04:05.999999`.
fn parse_local_time(text: &str) -> Option<OffsetDateTime> {
    let with_fraction =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let without = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let naive = time::PrimitiveDateTime::parse(text, with_fraction)
        .or_else(|_| time::PrimitiveDateTime::parse(text, without))
        .ok()?;
    let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    Some(naive.assume_offset(offset))
}

/// `az account get-access-token -o json --resource <server-id> [--tenant T] [--subscription S]`.
pub(super) async fn azure_cli(
    server_id: &str,
    tenant_id: Option<&str>,
    subscription: Option<&str>,
) -> Result<TokenSet, KubeloginError> {
    let resource = super::scope(server_id)
        .trim_end_matches("/.default")
        .to_owned();
    let mut args = vec![
        "account",
        "get-access-token",
        "-o",
        "json",
        "--resource",
        &resource,
    ];
    if let Some(tenant) = tenant_id.filter(|tenant| !tenant.is_empty()) {
        if !valid_tenant(tenant) {
            return Err(tool_error(
                AZURE_CLI,
                format!("invalid tenant ID {tenant:?}"),
            ));
        }
        args.extend(["--tenant", tenant]);
    }
    if let Some(subscription) = subscription.filter(|value| !value.is_empty()) {
        if !subscription
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.'))
        {
            return Err(tool_error(
                AZURE_CLI,
                format!(
                    "invalid subscription {subscription:?}. If this is the name of a subscription, use its ID instead"
                ),
            ));
        }
        args.extend(["--subscription", subscription]);
    }
    let stdout = run(AZURE_CLI, "az", &args, "Azure CLI not found on path").await?;
    let token: CliToken = serde_json::from_slice(&stdout).map_err(|error| {
        tool_error(
            AZURE_CLI,
            format!("unexpected output of az account get-access-token: {error}"),
        )
    })?;
    let expires_on = match &token.expires_on_epoch {
        Some(Epoch::Int(seconds)) => OffsetDateTime::from_unix_timestamp(*seconds).ok(),
        Some(Epoch::Text(text)) => text
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok()),
        None => None,
    }
    .or_else(|| token.expires_on.as_deref().and_then(parse_local_time))
    .ok_or_else(|| {
        tool_error(
            AZURE_CLI,
            "the output of az account get-access-token has no expires_on or expiresOn",
        )
    })?;
    Ok(TokenSet {
        access_token: Secret::new(token.access_token),
        expires_on,
        refresh_token: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AzdToken {
    token: String,
    expires_on: String,
}

/// `azd auth token -o json --no-prompt --scope <scope> [--tenant-id T]`, as azidentity's
/// `AzureDeveloperCLICredential` runs it; azd answers `{"token": "...", "expiresOn": "2026-03-05T15:42:37Z"}`.
pub(super) async fn azure_developer_cli(
    scope: &str,
    tenant_id: Option<&str>,
) -> Result<TokenSet, KubeloginError> {
    if !valid_scope(scope) {
        return Err(tool_error(
            AZURE_DEVELOPER_CLI,
            format!("invalid scope {scope:?}"),
        ));
    }
    let mut args = vec![
        "auth",
        "token",
        "-o",
        "json",
        "--no-prompt",
        "--scope",
        scope,
    ];
    if let Some(tenant) = tenant_id.filter(|tenant| !tenant.is_empty()) {
        if !valid_tenant(tenant) {
            return Err(tool_error(
                AZURE_DEVELOPER_CLI,
                format!("invalid tenant ID {tenant:?}"),
            ));
        }
        args.extend(["--tenant-id", tenant]);
    }
    let stdout = run(
        AZURE_DEVELOPER_CLI,
        "azd",
        &args,
        "Azure Developer CLI not found on path",
    )
    .await
    .map_err(|error| match error {
        // azidentity replaces azd's "not logged in, run `azd auth login` to login" with its own advice.
        KubeloginError::Tool { tool, message } if message.contains("azd auth login") => tool_error(
            tool,
            "please run \"azd auth login\" from a command prompt to authenticate before using this \
                 credential",
        ),
        other => other,
    })?;
    let token: AzdToken = serde_json::from_slice(&stdout).map_err(|error| {
        tool_error(
            AZURE_DEVELOPER_CLI,
            format!("unexpected output of azd auth token: {error}"),
        )
    })?;
    let expires_on = OffsetDateTime::parse(&token.expires_on, &Rfc3339).map_err(|error| {
        tool_error(
            AZURE_DEVELOPER_CLI,
            format!("expiresOn {:?} is not RFC 3339: {error}", token.expires_on),
        )
    })?;
    Ok(TokenSet {
        access_token: Secret::new(token.token),
        expires_on,
        refresh_token: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn az_expires_on_falls_back_to_local_time() {
        let token: CliToken = serde_json::from_str(
            r#"{"accessToken":"t","expiresOn":"2026-03-05 15:42:37.123456","expires_on":1772725357}"#,
        )
        .unwrap();
        assert!(matches!(
            token.expires_on_epoch,
            Some(Epoch::Int(1772725357))
        ));
        assert!(parse_local_time("2026-03-05 15:42:37.123456").is_some());
        assert!(parse_local_time("2026-03-05 15:42:37").is_some());
        assert!(parse_local_time("soon").is_none());
        assert!(valid_tenant("72f988bf-0000-0000-0000-000000000001"));
        assert!(!valid_tenant("a b"));
    }

    #[test]
    fn azd_scopes_are_checked_as_azidentity_does() {
        assert!(valid_scope("6dae42f8-4368-4678-94ff-3960e28e3630/.default"));
        assert!(valid_scope("api://my_app/.default"));
        assert!(!valid_scope("x/.default; rm -rf /"));
        assert!(!valid_scope("x y"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let error = runtime
            .block_on(azure_developer_cli("a b/.default", None))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "AzureDeveloperCLICredential: invalid scope \"a b/.default\""
        );
    }
}
