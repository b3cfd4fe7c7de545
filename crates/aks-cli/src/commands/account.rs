//! `aksctl account set|show|list` (az account ...).

use aks_model::Subscription;
use serde_json::{Value, json};

use crate::args::AccountSetArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::output::TableLayout;

fn view(subscription: &Subscription, cloud: &str, default: Option<&str>) -> Value {
    let user = crate::env_vars::get(crate::env_vars::AZURE_CLIENT_ID);
    json!({
        "cloudName": cloud,
        "homeTenantId": subscription.tenant_id,
        "id": subscription.subscription_id,
        "isDefault": default == Some(subscription.subscription_id.as_str()),
        "managedByTenants": subscription.extra.get("managedByTenants").cloned().unwrap_or(json!([])),
        "name": subscription.display_name,
        "state": subscription.state,
        "tenantId": subscription.tenant_id,
        "user": user.map(|name| json!({"name": name, "type": "servicePrincipal"})),
    })
}

/// `account set`: remember the default subscription for the active cloud (a name is looked up).
pub async fn set(args: AccountSetArgs, context: &Context) -> Result<(), CliError> {
    let mut config = context.config()?;
    let id = if aks_model::validation::is_guid(&args.subscription) {
        args.subscription.clone()
    } else {
        let arm = context.arm("account set")?;
        arm.list_subscriptions()
            .await?
            .into_iter()
            .find(|s| s.display_name.eq_ignore_ascii_case(&args.subscription))
            .map(|s| s.subscription_id)
            .ok_or_else(|| {
                CliError::message(format!(
                    "The subscription of '{}' doesn't exist in cloud '{}'.",
                    args.subscription,
                    config.active().name
                ))
            })?
    };
    config.subscriptions.insert(config.active().name, id);
    context.store.save(&config)?;
    Ok(())
}

/// `account show`: the active subscription.
pub async fn show(context: &Context) -> Result<(), CliError> {
    let arm = context.arm("account show")?;
    let id = context.subscription_id(&arm).await?;
    let cloud = arm.cloud().name.clone();
    let subscription = arm
        .list_subscriptions()
        .await?
        .into_iter()
        .find(|s| s.subscription_id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| CliError::message(format!("Subscription '{id}' not found.")))?;
    // az's `account show` prints the stored entry, whose cloud key is `environmentName`; only `account list`
    // renames it to `cloudName` (Azure/azure-cli: `src/azure-cli/azure/cli/command_modules/profile/custom.py`,
    // `show_subscription` and `list_subscriptions`).
    let mut value = view(&subscription, &cloud, Some(&id));
    if let Value::Object(map) = &mut value
        && let Some(name) = map.remove("cloudName")
    {
        map.insert("environmentName".to_string(), name);
    }
    context.printer.data(&value, TableLayout::Auto)
}

/// `account list`.
pub async fn list(context: &Context) -> Result<(), CliError> {
    let arm = context.arm("account list")?;
    let default = context.subscription_id(&arm).await.ok();
    let cloud = arm.cloud().name.clone();
    let subscriptions = arm.list_subscriptions().await?;
    let views = subscriptions
        .iter()
        .map(|s| view(s, &cloud, default.as_deref()))
        .collect();
    context
        .printer
        .data(&Value::Array(views), TableLayout::Subscription)
}
