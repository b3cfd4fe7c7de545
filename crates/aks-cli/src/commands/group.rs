//! `aksctl group create|show|list|delete` (az group ...).

use aks_model::{ResourceGroup, az_view, validation};
use serde_json::Value;

use crate::args::{GroupCommand, GroupCreateArgs, GroupDeleteArgs, GroupNameArgs};
use crate::context::Context;
use crate::error::CliError;
use crate::output::TableLayout;
use crate::progress::Spinner;

/// Run a `group` command.
pub async fn run(command: GroupCommand, context: &Context) -> Result<(), CliError> {
    match command {
        GroupCommand::Create(args) => create(args, context).await,
        GroupCommand::Show(args) => show(args, context).await,
        GroupCommand::List => list(context).await,
        GroupCommand::Delete(args) => delete(args, context).await,
    }
}

fn view(group: &ResourceGroup) -> Value {
    az_view::resource_group(&serde_json::to_value(group).unwrap_or(Value::Null))
}

/// `group create`: PUT the group (201 new, 200 existing) and print it.
pub async fn create(args: GroupCreateArgs, context: &Context) -> Result<(), CliError> {
    validation::resource_group_name("--name", &args.name)?;
    let location = validation::location("--location", &args.location)?;
    let arm = context.arm("group create")?;
    let subscription = context.subscription_id(&arm).await?;
    let body = ResourceGroup {
        location,
        tags: super::parse_tags(&args.tags),
        managed_by: args.managed_by.clone(),
        ..ResourceGroup::default()
    };
    let group = arm
        .create_or_update_resource_group(&subscription, &args.name, &body)
        .await?;
    context.printer.data(&view(&group), TableLayout::Auto)
}

/// `group show`.
pub async fn show(args: GroupNameArgs, context: &Context) -> Result<(), CliError> {
    let arm = context.arm("group show")?;
    let subscription = context.subscription_id(&arm).await?;
    let group = arm.get_resource_group(&subscription, &args.name).await?;
    // az's `group show` has no table transformer (only `group list` has): knack's automatic table.
    context.printer.data(&view(&group), TableLayout::Auto)
}

/// `group list`.
pub async fn list(context: &Context) -> Result<(), CliError> {
    let arm = context.arm("group list")?;
    let subscription = context.subscription_id(&arm).await?;
    let groups = arm.list_resource_groups(&subscription).await?;
    context.printer.data(
        &Value::Array(groups.iter().map(view).collect()),
        TableLayout::ResourceGroup,
    )
}

/// `group delete`: confirm, DELETE, wait unless `--no-wait`; prints nothing.
pub async fn delete(args: GroupDeleteArgs, context: &Context) -> Result<(), CliError> {
    super::confirm_or_yes(context, args.yes)?;
    let arm = context.arm("group delete")?;
    let subscription = context.subscription_id(&arm).await?;
    let poller = arm.delete_resource_group(&subscription, &args.name).await?;
    if args.no_wait {
        return Ok(());
    }
    let spinner = Spinner::start("Running ..");
    let result = poller.wait().await;
    spinner.finish();
    result?;
    Ok(())
}
