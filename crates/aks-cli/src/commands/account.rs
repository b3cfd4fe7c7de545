//! `aksctl account set|show|list|clear|get-access-token` and `aksctl logout` (az account, az logout) on az's
//! own files in `AZURE_CONFIG_DIR`, for the entries of aksctl's active cloud (Azure/azure-cli:
//! `command_modules/profile/custom.py`, `core/_profile.py`). See docs/login.md.

use aks_identity::azure_cli::login::authority_for;
use aks_identity::azure_cli::logout::{clear as clear_files, logout as logout_files};
use aks_identity::azure_cli::profile::set_default_subscription_in;
use aks_identity::azure_cli::{
    LoginRequest, Profile, ProfileError, SilentError, SilentOutcome, SilentTokenRequest,
    SubscriptionRecord, acquire_token_silently,
};
use aks_identity::credential::{
    CredentialSpec, credential, managed_identity_id, service_principal_source,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::args::{
    AccountCommand, AccountListArgs, AccountSetArgs, AccountSubscriptionArgs, GetAccessTokenArgs,
    LogoutArgs,
};
use crate::context::{Context, user_agent};
use crate::error::CliError;
use crate::output::TableLayout;

/// Run an `account` command.
pub async fn run(command: AccountCommand, context: &Context) -> Result<(), CliError> {
    match command {
        AccountCommand::Set(args) => set(args, context).await,
        AccountCommand::Show(args) => show(args, context).await,
        AccountCommand::List(args) => list(args, context).await,
        AccountCommand::Clear => clear(context).await,
        AccountCommand::GetAccessToken(args) => get_access_token(args, context).await,
    }
}

/// A profile or login failure with az's message (exit 1).
pub(super) fn shared_error(error: impl std::fmt::Display) -> CliError {
    CliError::message(error.to_string())
}

/// An entry as `account list` and `login` print it: `environmentName` renamed to `cloudName`.
pub(super) fn list_view(entry: &SubscriptionRecord) -> Value {
    let mut value = serde_json::to_value(entry).expect("a record is JSON");
    if let Value::Object(map) = &mut value
        && let Some(name) = map.remove("environmentName")
    {
        map.insert("cloudName".into(), name);
    }
    value
}

/// aksctl's active cloud name (profile entries carry it as `environmentName`).
fn cloud_name(context: &Context) -> Result<String, CliError> {
    Ok(context.config()?.active().name)
}

/// `account set -s`: the one matching entry of the active cloud becomes az's default (and `clouds.config`'s).
pub async fn set(args: AccountSetArgs, context: &Context) -> Result<(), CliError> {
    let directory = context.azure_config_dir()?;
    set_default_subscription_in(&directory, &cloud_name(context)?, &args.subscription)
        .map_err(shared_error)?;
    Ok(())
}

/// `account show`: the stored entry as is (with `environmentName`).
pub async fn show(args: AccountSubscriptionArgs, context: &Context) -> Result<(), CliError> {
    let directory = context.azure_config_dir()?;
    let profile = Profile::load(&directory).map_err(shared_error)?;
    let entry = profile
        .subscription(&cloud_name(context)?, args.subscription.as_deref())
        .map_err(shared_error)?;
    let value = serde_json::to_value(&entry).expect("a record is JSON");
    context.printer.data(&value, TableLayout::Auto)
}

/// `account list [--all]`: the entries of the active cloud whose state is `Enabled` (every entry of every cloud
/// with `--all`), with `cloudName`.
pub async fn list(args: AccountListArgs, context: &Context) -> Result<(), CliError> {
    let directory = context.azure_config_dir()?;
    let profile = Profile::load(&directory).map_err(shared_error)?;
    let entries = if args.all {
        profile.subscriptions()
    } else {
        profile.subscriptions_in(&cloud_name(context)?)
    }
    .map_err(shared_error)?;
    let views: Vec<Value> = entries
        .iter()
        .filter(|entry| args.all || entry.state == "Enabled")
        .map(list_view)
        .collect();
    if views.is_empty() {
        context
            .printer
            .warning("Please run \"az login\" to access your accounts.");
    }
    context
        .printer
        .data(&Value::Array(views), TableLayout::Subscription)
}

/// `account clear`: no subscriptions, and the token cache and service-principal entries deleted.
pub async fn clear(context: &Context) -> Result<(), CliError> {
    clear_files(&context.azure_config_dir()?).map_err(shared_error)
}

/// `logout [--username U]`: U (default: the default account's user) leaves the token cache, the
/// service-principal entries and the profile.
pub async fn logout(args: LogoutArgs, context: &Context) -> Result<(), CliError> {
    let directory = context.azure_config_dir()?;
    let cloud = context.config()?.active();
    let user = match args.username {
        Some(user) => user,
        None => {
            Profile::load(&directory)
                .map_err(shared_error)?
                .subscription(&cloud.name, None)
                .map_err(|error| match error {
                    ProfileError::NotLoggedIn | ProfileError::NoDefault => {
                        CliError::message("There are no active accounts.")
                    }
                    other => shared_error(other),
                })?
                .user
                .name
        }
    };
    let environment = authority_for(&cloud.authority(), "organizations")
        .map_err(shared_error)?
        .environment;
    logout_files(&directory, &user, &environment).map_err(shared_error)?;
    Ok(())
}

/// `account get-access-token`: az's keys `accessToken`, `expiresOn` (local time), `expires_on`,
/// `subscription` (not with `--tenant`), `tenant`, `tokenType`.
pub async fn get_access_token(args: GetAccessTokenArgs, context: &Context) -> Result<(), CliError> {
    let directory = context.azure_config_dir()?;
    let cloud = context.config()?.active();
    let scopes = match (&args.scope, &args.resource) {
        (Some(scopes), _) => scopes.clone(),
        (None, Some(resource)) => vec![format!("{resource}/.default")],
        (None, None) => vec![cloud.arm_scope()],
    };
    let authority = cloud.authority();
    let http = aks_arm::http_client(&user_agent())?;
    let request = SilentTokenRequest {
        login: LoginRequest {
            subscription: args.account.subscription.as_deref(),
            tenant: args.tenant.as_deref(),
            authority_host: &authority,
            cloud: Some(&cloud.name),
        },
        scopes: &scopes,
        claims_challenge: None,
    };
    let outcome = acquire_token_silently(&directory, &http, &request)
        .await
        .map_err(silent_error)?;
    let (token, expires_on, subscription, tenant) = match outcome {
        SilentOutcome::Token(token) => (
            token.access_token.expose().to_owned(),
            token.expires_on,
            token.subscription,
            token.tenant,
        ),
        SilentOutcome::ServicePrincipal(login) => {
            let source = service_principal_source(
                &login.entry,
                &login.authority.host_url,
                &login.authority.tenant,
                &http,
                format!("service principal {}", login.entry.client_id),
                String::new(),
            )?;
            let token = source.token(&scopes.join(" ")).await?;
            (
                token.token.expose().to_owned(),
                token.expires_on.unix_timestamp(),
                login.subscription,
                login.authority.tenant,
            )
        }
        SilentOutcome::ManagedIdentity(subscription) => {
            let id = managed_identity_id(&subscription).map_err(CliError::message)?;
            let source = credential(CredentialSpec::ManagedIdentity { id }, &authority, &http)?;
            let token = source.token(&scopes.join(" ")).await?;
            let tenant = args
                .tenant
                .clone()
                .unwrap_or_else(|| subscription.tenant_id.clone());
            (
                token.token.expose().to_owned(),
                token.expires_on.unix_timestamp(),
                subscription,
                tenant,
            )
        }
    };
    let mut value = json!({
        "accessToken": token,
        "expiresOn": local_time(expires_on),
        "expires_on": expires_on,
        "tenant": tenant,
        "tokenType": "Bearer",
    });
    if args.tenant.is_none() {
        value["subscription"] = subscription.id.into();
    }
    context.printer.data(&value, TableLayout::Auto)
}

/// A silent-token failure with az's message; an Entra refusal also gets az's re-login hint.
fn silent_error(error: SilentError) -> CliError {
    match error {
        SilentError::Entra(entra) => CliError::message(format!(
            "{entra}\nTo re-authenticate, please run:\naksctl logout\naksctl login"
        )),
        other => shared_error(other),
    }
}

/// az's deprecated `expiresOn`: the local time, `%Y-%m-%d %H:%M:%S.%f`.
fn local_time(epoch: i64) -> String {
    let utc = OffsetDateTime::from_unix_timestamp(epoch).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let local = time::UtcOffset::current_local_offset()
        .map(|offset| utc.to_offset(offset))
        .unwrap_or(utc);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.000000",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}
