//! `aksctl ad group create|show|list|delete` and `ad group member add|list|check`: az's Microsoft Graph v1.0
//! requests, outputs, messages and exit codes (docs/graph-groups.md).
//!
//! Graph errors print their message alone (`ERROR: <message>`); a 404 exits 3 from `show` only; an error answer
//! to the `--group NAME` lookup exits 2 (az runs it as argument validation), az's own lookup messages exit 1.

use std::sync::Arc;

use aks_arm::ArmError;
use aks_arm::graph::GraphClient;
use aks_identity::credential::{CachedTokenSource, TokenSource};
use serde_json::{Value, json};

use crate::args::{
    AdCommand, AdGroupArgs, AdGroupCommand, AdGroupCreateArgs, AdGroupListArgs, AdGroupMemberArgs,
    AdGroupMemberCommand,
};
use crate::context::{Context, user_agent};
use crate::error::CliError;
use crate::output::TableLayout;

/// Run an `ad` command.
pub async fn run(command: AdCommand, context: &Context) -> Result<(), CliError> {
    match command {
        AdCommand::Group(command) => match command {
            AdGroupCommand::Create(args) => create(args, context).await,
            AdGroupCommand::Show(args) => show(args, context).await,
            AdGroupCommand::List(args) => list(args, context).await,
            AdGroupCommand::Delete(args) => delete(args, context).await,
            AdGroupCommand::Member(AdGroupMemberCommand::Add(args)) => {
                member_add(args, context).await
            }
            AdGroupCommand::Member(AdGroupMemberCommand::List(args)) => {
                member_list(args, context).await
            }
            AdGroupCommand::Member(AdGroupMemberCommand::Check(args)) => {
                member_check(args, context).await
            }
        },
    }
}

/// A Graph client for the active cloud, signed in through the credential chain with the on-disk token cache
/// (its own entry: the cache key includes the Graph scope). Fails before any request when the cloud has no Graph
/// endpoint, with az's message.
pub(super) fn graph(context: &Context, command_name: &str) -> Result<GraphClient, CliError> {
    let config = context.config()?;
    let cloud = config.active();
    if cloud.microsoft_graph.is_none() {
        return Err(CliError::message(format!(
            "The endpoint 'microsoft_graph_resource_id' for this cloud is not set but is used.\n{} may be corrupt \
             or invalid.\nResolve the error or delete this file and try again.",
            context.store.path().display()
        )));
    }
    let http = aks_arm::http_client(&user_agent())?;
    let credential = aks_identity::credential::default_chain(&cloud.authority(), &http)?;
    let description = credential.describe();
    tracing::debug!(credential = %description, cloud = %cloud.name, "signing in to Microsoft Graph");
    let cached: Arc<dyn TokenSource> = Arc::new(CachedTokenSource::new(
        credential,
        context.store.token_cache_dir(),
        &[&cloud.name, cloud.authority_host.as_str()],
    ));
    GraphClient::new(
        &cloud,
        http,
        cached,
        Some(command_name.to_string()),
        crate::context::parameter_set_name(),
    )
    .ok_or_else(|| CliError::message("the active cloud has no Microsoft Graph endpoint"))
}

/// A Graph error as az prints it: the server's message alone (exit 1).
fn failure(error: ArmError) -> CliError {
    match error {
        ArmError::Service { message, .. } => CliError::Message(message),
        other => other.into(),
    }
}

/// `show`: a 404 exits 3, like az's other show commands.
fn show_failure(error: ArmError) -> CliError {
    match error {
        ArmError::Service {
            status: 404,
            message,
            ..
        } => CliError::NotFound(message),
        other => failure(other),
    }
}

/// The `--group NAME` lookup runs as argument validation in az: a Graph error answer exits 2.
fn lookup_failure(error: ArmError) -> CliError {
    match error {
        ArmError::Service { message, .. } => CliError::Usage(message),
        other => other.into(),
    }
}

/// Whether az (Python's `uuid.UUID`) reads `value` as an object id: hyphenated or 32 hex digits, braces or a
/// `urn:uuid:` prefix allowed, any case.
fn is_uuid(value: &str) -> bool {
    uuid::Uuid::parse_str(value).is_ok()
}

/// az's group resolution (docs/graph-groups.md, "Group name resolution"): an id verbatim; else the one group named
/// exactly so, else the one group whose name starts so.
async fn resolve_group(graph: &GraphClient, value: &str) -> Result<String, CliError> {
    if is_uuid(value) {
        return Ok(value.to_string());
    }
    let exact = graph
        .list_groups(Some(&format!("displayName eq '{value}'")))
        .await
        .map_err(lookup_failure)?;
    let found = match exact.len() {
        1 => exact,
        0 => graph
            .list_groups(Some(&format!("startswith(displayName,'{value}')")))
            .await
            .map_err(lookup_failure)?,
        _ => {
            return Err(CliError::message(format!(
                "More than one group match the name of '{value}'"
            )));
        }
    };
    match found.as_slice() {
        [only] => Ok(only
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()),
        [] => Err(CliError::message(format!(
            "No group matches the name of '{value}'"
        ))),
        _ => Err(CliError::message(format!(
            "More than one group match the name of '{value}'"
        ))),
    }
}

/// az's three-state flag: bare `--force` or `--force true` is true.
fn three_state(flag: &str, value: Option<&str>) -> Result<bool, CliError> {
    three_state_default(flag, value, false)
}

/// az's three-state flag (`get_three_state_flag`) with the command's default when absent.
pub(super) fn three_state_default(
    flag: &str,
    value: Option<&str>,
    default: bool,
) -> Result<bool, CliError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "yes" | "on" | "1") => Ok(true),
        Some("false" | "no" | "off" | "0") => Ok(false),
        Some(_) => Err(CliError::Usage(format!(
            "argument {flag}: invalid choice: '{}' (choose from 'true', 'false')",
            value.unwrap_or_default()
        ))),
    }
}

/// `ad group create`: unless `--force`, look for the same display name and mail nickname first and return that
/// group (with a warning) instead of creating another.
async fn create(args: AdGroupCreateArgs, context: &Context) -> Result<(), CliError> {
    let force = three_state("--force", args.force.as_deref())?;
    let graph = graph(context, "ad group create")?;
    if !force {
        let matches = graph
            .list_groups(Some(&format!(
                "displayName eq '{}' and mailNickname eq '{}'",
                args.display_name, args.mail_nickname
            )))
            .await
            .map_err(failure)?;
        match matches.as_slice() {
            [] => {}
            [existing] => {
                context.printer.warning(
                    "A group with the same display name and mail nickname already exists, returning.",
                );
                return context.printer.data(existing, TableLayout::Auto);
            }
            // az 2.91 crashes here; this is the message it means to print.
            _ => {
                return Err(CliError::message(format!(
                    "There is more than one group with the same display and nick names: \"{}\". Please delete them first.",
                    args.display_name
                )));
            }
        }
    }
    let mut body = serde_json::Map::new();
    body.insert("displayName".into(), json!(args.display_name));
    body.insert("mailNickname".into(), json!(args.mail_nickname));
    if let Some(description) = &args.description {
        body.insert("description".into(), json!(description));
    }
    body.insert("mailEnabled".into(), json!(false));
    body.insert("securityEnabled".into(), json!(true));
    let group = graph
        .create_group(&Value::Object(body))
        .await
        .map_err(failure)?;
    print_unless_empty(context, &group)
}

/// Print a Graph answer; an empty body prints nothing (as az).
fn print_unless_empty(context: &Context, value: &Value) -> Result<(), CliError> {
    if value.is_null() {
        return Ok(());
    }
    context.printer.data(value, TableLayout::Auto)
}

/// `ad group show`.
async fn show(args: AdGroupArgs, context: &Context) -> Result<(), CliError> {
    let graph = graph(context, "ad group show")?;
    let id = resolve_group(&graph, &args.group).await?;
    let group = graph.get_group(&id).await.map_err(show_failure)?;
    print_unless_empty(context, &group)
}

/// `ad group list`: every page, one array.
async fn list(args: AdGroupListArgs, context: &Context) -> Result<(), CliError> {
    let graph = graph(context, "ad group list")?;
    let prefix = args
        .display_name
        .as_ref()
        .map(|name| format!("startswith(displayName,'{name}')"));
    let filter = match (args.filter.as_deref(), prefix) {
        (Some(filter), Some(prefix)) => Some(format!("{filter} and {prefix}")),
        (Some(filter), None) => Some(filter.to_string()),
        (None, prefix) => prefix,
    };
    let groups = graph
        .list_groups(filter.as_deref())
        .await
        .map_err(failure)?;
    context
        .printer
        .data(&Value::Array(groups), TableLayout::Auto)
}

/// `ad group delete`: prints nothing.
async fn delete(args: AdGroupArgs, context: &Context) -> Result<(), CliError> {
    let graph = graph(context, "ad group delete")?;
    let id = resolve_group(&graph, &args.group).await?;
    graph.delete_group(&id).await.map_err(failure)
}

/// `ad group member add`: `POST /groups/{id}/members/$ref`; not idempotent (a second add is Graph's 400).
async fn member_add(args: AdGroupMemberArgs, context: &Context) -> Result<(), CliError> {
    let graph = graph(context, "ad group member add")?;
    let id = resolve_group(&graph, &args.group).await?;
    let reference = if is_uuid(&args.member_id) {
        graph.directory_object_url(&args.member_id)
    } else {
        args.member_id.clone()
    };
    graph.add_member(&id, &reference).await.map_err(failure)
}

/// `ad group member list`.
async fn member_list(args: AdGroupArgs, context: &Context) -> Result<(), CliError> {
    let graph = graph(context, "ad group member list")?;
    let id = resolve_group(&graph, &args.group).await?;
    let members = graph.list_members(&id).await.map_err(failure)?;
    context
        .printer
        .data(&Value::Array(members), TableLayout::Auto)
}

/// `ad group member check`: `{"value": true}` when Graph's answer holds exactly the id az sent.
async fn member_check(args: AdGroupMemberArgs, context: &Context) -> Result<(), CliError> {
    let graph = graph(context, "ad group member check")?;
    let id = resolve_group(&graph, &args.group).await?;
    let groups = graph
        .check_member_groups(&args.member_id, std::slice::from_ref(&id))
        .await
        .map_err(failure)?;
    let value = groups.contains(&id);
    context
        .printer
        .data(&json!({ "value": value }), TableLayout::Auto)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_as_python_reads_them() {
        assert!(is_uuid("78ef91b9-87d1-4f5c-9a53-6c1f0e9d1a2b"));
        assert!(is_uuid("78EF91B987D14F5C9A536C1F0E9D1A2B"));
        assert!(is_uuid("{78ef91b9-87d1-4f5c-9a53-6c1f0e9d1a2b}"));
        assert!(is_uuid("urn:uuid:78ef91b9-87d1-4f5c-9a53-6c1f0e9d1a2b"));
        assert!(!is_uuid("Dev Team"));
    }

    #[test]
    fn force_is_a_three_state_flag() {
        assert!(!three_state("--force", None).unwrap());
        assert!(three_state("--force", Some("true")).unwrap());
        assert!(three_state("--force", Some("True")).unwrap());
        assert!(!three_state("--force", Some("false")).unwrap());
        assert!(matches!(
            three_state("--force", Some("maybe")),
            Err(CliError::Usage(_))
        ));
    }
}
