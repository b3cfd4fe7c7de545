//! `aksctl role assignment create|list|delete` and `aksctl role definition list|show`: az 2.91's requests,
//! outputs, messages and exit codes (docs/az-behaviour.md, "Role assignments"; `Azure/azure-cli:
//! src/azure-cli/azure/cli/command_modules/role/custom.py`).
//!
//! Layers: [`scope`] holds the pure rules (checks, scopes, filters, timestamps), [`assignee`] the Graph
//! resolution of `--assignee`, [`view`] the shapes az prints; this module sends the requests in az's order.

mod assignee;
mod scope;
mod view;

use aks_arm::graph::GraphClient;
use aks_arm::{ArmClient, ArmError};
use serde_json::Value;

use crate::args::{
    RoleAssignmentCommand, RoleAssignmentCreateArgs, RoleAssignmentDeleteArgs,
    RoleAssignmentFilterArgs, RoleAssignmentListArgs, RoleCommand, RoleDefinitionCommand,
    RoleDefinitionListArgs, RoleDefinitionShowArgs,
};
use crate::context::Context;
use crate::error::CliError;
use crate::output::TableLayout;
use assignee::Principal;

/// Run a `role` command.
pub async fn run(command: RoleCommand, context: &Context) -> Result<(), CliError> {
    match command {
        RoleCommand::Assignment(RoleAssignmentCommand::Create(args)) => create(args, context).await,
        RoleCommand::Assignment(RoleAssignmentCommand::List(args)) => list(args, context).await,
        RoleCommand::Assignment(RoleAssignmentCommand::Delete(args)) => delete(args, context).await,
        RoleCommand::Definition(RoleDefinitionCommand::List(args)) => {
            definition_list(args, context).await
        }
        RoleCommand::Definition(RoleDefinitionCommand::Show(args)) => {
            definition_show(args, context).await
        }
    }
}

/// az's `_resolve_role_id`: a full role definition id as is; a GUID qualified with the subscription (no request);
/// else the one definition named so at `scope`.
async fn resolve_role_id(
    arm: &ArmClient,
    role: &str,
    scope: &str,
    subscription: &str,
) -> Result<String, CliError> {
    if view::is_role_definition_id(role) {
        return Ok(role.to_string());
    }
    if aks_model::validation::is_guid(role) {
        return Ok(format!(
            "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}"
        ));
    }
    let found = arm
        .list_role_definitions(scope, Some(&format!("roleName eq '{role}'")))
        .await?;
    match found.as_slice() {
        [] => Err(CliError::message(format!("Role '{role}' doesn't exist."))),
        [only] => Ok(scope::field(only, "id").unwrap_or_default().to_string()),
        several => {
            let ids: Vec<String> = several
                .iter()
                .map(|definition| {
                    format!("'{}'", scope::field(definition, "id").unwrap_or_default())
                })
                .collect();
            Err(CliError::message(format!(
                "More than one role matches the given name '{role}'. Please pick a value from '[{}]'",
                ids.join(", ")
            )))
        }
    }
}

/// `role assignment create`: checks, assignee, scope, role, then the PUT; an existing identical assignment
/// (409 `RoleAssignmentExists`) is printed as `list` shows it, as az does for idempotency.
async fn create(args: RoleAssignmentCreateArgs, context: &Context) -> Result<(), CliError> {
    scope::non_empty("--assignee", args.assignee.as_deref())?;
    scope::non_empty("--scope", Some(&args.scope))?;
    scope::non_empty("--role", Some(&args.role))?;
    if args.assignee.is_some() == args.assignee_object_id.is_some() {
        return Err(CliError::message(
            "usage error: --assignee STRING | --assignee-object-id GUID",
        ));
    }
    if args.assignee_principal_type.is_some() && args.assignee_object_id.is_none() {
        return Err(CliError::message(
            "usage error: --assignee-object-id GUID --assignee-principal-type TYPE",
        ));
    }
    let condition_version = match (&args.condition, &args.condition_version) {
        (Some(_), None) => Some("2.0".to_string()),
        (None, Some(_)) => {
            return Err(CliError::message(
                "usage error: When --condition-version is set, --condition must be set as well.",
            ));
        }
        (_, version) => version.clone(),
    };
    let arm = context.arm("role assignment create")?;
    let principal = create_principal(&args, context).await?;
    let subscription = context.subscription_id(&arm).await?;
    let scope = scope::build_scope(None, Some(&args.scope), &subscription)?;
    let role_id = resolve_role_id(&arm, &args.role, &scope, &subscription).await?;
    let body = view::create_body(
        &role_id,
        &principal,
        args.description.as_deref(),
        args.condition.as_deref(),
        condition_version.as_deref(),
    );
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    match arm.create_role_assignment(&scope, &name, &body).await {
        Ok(created) => context
            .printer
            .data(&view::created(&created), TableLayout::Auto),
        Err(error) if error.code() == Some("RoleAssignmentExists") => {
            existing(
                &arm,
                context,
                &principal,
                &role_id,
                &scope,
                &subscription,
                error,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

/// The principal of `create`: `--assignee` through Graph, or `--assignee-object-id` with the given type (else
/// Graph is asked for it).
async fn create_principal(
    args: &RoleAssignmentCreateArgs,
    context: &Context,
) -> Result<Principal, CliError> {
    if let Some(assignee) = &args.assignee {
        let graph = graph(context, "role assignment create")?;
        return assignee::resolve(&graph, &context.printer, assignee, true).await;
    }
    let object_id = args.assignee_object_id.clone().unwrap_or_default();
    let principal_type = match args.assignee_principal_type {
        Some(kind) => Some(view::principal_type_name(kind).to_string()),
        None => {
            let graph = graph(context, "role assignment create")?;
            assignee::principal_type_of(&graph, &context.printer, &object_id).await
        }
    };
    Ok(Principal {
        object_id,
        principal_type,
    })
}

/// az's answer to `RoleAssignmentExists`: the first assignment of that principal and role at the scope, as
/// `list` prints it. (az 2.91 crashes when there is none; aksctl reports ARM's refusal instead.)
async fn existing(
    arm: &ArmClient,
    context: &Context,
    principal: &Principal,
    role_id: &str,
    scope: &str,
    subscription: &str,
    error: ArmError,
) -> Result<(), CliError> {
    let search = scope::search(Some(scope), subscription, None, false);
    let found: Vec<Value> = arm
        .list_role_assignments(&search.list_scope, search.filter.as_deref())
        .await?
        .into_iter()
        .filter(|a| {
            scope::keep(
                a,
                Some(scope),
                false,
                Some(role_id),
                Some(&principal.object_id),
                false,
            )
        })
        .collect();
    let Some(first) = found.into_iter().next() else {
        return Err(error.into());
    };
    let graph = graph(context, "role assignment create")?;
    let mut shown = enrich(
        arm,
        &graph,
        vec![first],
        Some(scope),
        subscription,
        (true, true),
    )
    .await?;
    context.printer.data(&shown.remove(0), TableLayout::Auto)
}

/// A Graph client (`ad`'s, with the same token cache).
fn graph(context: &Context, command_name: &str) -> Result<GraphClient, CliError> {
    super::ad::graph(context, command_name)
}

/// The checks `list` and `delete` share: no empty values, not both assignee flags.
fn check_filter(filter: &RoleAssignmentFilterArgs) -> Result<(), CliError> {
    scope::non_empty("--assignee", filter.assignee.as_deref())?;
    scope::non_empty("--scope", filter.scope.as_deref())?;
    scope::non_empty("--role", filter.role.as_deref())?;
    scope::non_empty("--resource-group", filter.resource_group.as_deref())?;
    if filter.assignee.is_some() && filter.assignee_object_id.is_some() {
        return Err(CliError::message(
            "Usage error: Provide only one of --assignee or --assignee-object-id.",
        ));
    }
    Ok(())
}

/// The assignee's object id: `--assignee-object-id`, else `--assignee` through Graph.
async fn filter_object_id(
    filter: &RoleAssignmentFilterArgs,
    graph: &GraphClient,
    context: &Context,
) -> Result<Option<String>, CliError> {
    match (&filter.assignee_object_id, &filter.assignee) {
        (Some(object_id), _) => Ok(Some(object_id.clone())),
        (None, Some(assignee)) => Ok(Some(
            assignee::resolve(graph, &context.printer, assignee, true)
                .await?
                .object_id,
        )),
        (None, None) => Ok(None),
    }
}

/// `_search_role_assignments`: the request, then az's client-side selection.
async fn search_assignments(
    arm: &ArmClient,
    scope: Option<&str>,
    subscription: &str,
    object_id: Option<&str>,
    filter: &RoleAssignmentFilterArgs,
    include_groups: bool,
) -> Result<Vec<Value>, CliError> {
    let search = scope::search(scope, subscription, object_id, include_groups);
    let found = arm
        .list_role_assignments(&search.list_scope, search.filter.as_deref())
        .await?;
    if found.is_empty() {
        return Ok(found);
    }
    let role_id = match &filter.role {
        Some(role) => {
            let at = scope.map_or_else(|| format!("/subscriptions/{subscription}"), str::to_string);
            Some(resolve_role_id(arm, role, &at, subscription).await?)
        }
        None => None,
    };
    Ok(found
        .into_iter()
        .filter(|assignment| {
            scope::keep(
                assignment,
                scope,
                filter.include_inherited,
                role_id.as_deref(),
                object_id,
                include_groups,
            )
        })
        .collect())
}

/// `list`'s items: az's flat dicts with `roleDefinitionName` and `principalName` filled in.
async fn enrich(
    arm: &ArmClient,
    graph: &GraphClient,
    found: Vec<Value>,
    scope: Option<&str>,
    subscription: &str,
    (fill_role, fill_principal): (bool, bool),
) -> Result<Vec<Value>, CliError> {
    let mut items: Vec<Value> = found.iter().map(view::listed).collect();
    if fill_role {
        let at = scope.map_or_else(|| format!("/subscriptions/{subscription}"), str::to_string);
        let definitions = arm.list_role_definitions(&at, None).await?;
        view::fill_role_names(&mut items, &definitions);
    }
    if fill_principal {
        let mut ids: Vec<String> = items
            .iter()
            .filter_map(|item| {
                item.get("principalId")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        ids.sort();
        ids.dedup();
        match graph.get_objects_by_ids(&ids).await {
            Ok(objects) => view::fill_principal_names(&mut items, &objects),
            Err(error) => {
                tracing::info!("Failed to resolve graph object information per error '{error}'")
            }
        }
    }
    Ok(items.into_iter().map(view::finish).collect())
}

/// `role assignment list`.
async fn list(args: RoleAssignmentListArgs, context: &Context) -> Result<(), CliError> {
    check_filter(&args.filter)?;
    let fill_principal = super::ad::three_state_default(
        "--fill-principal-name",
        args.fill_principal_name.as_deref(),
        true,
    )?;
    let fill_role = super::ad::three_state_default(
        "--fill-role-definition-name",
        args.fill_role_definition_name.as_deref(),
        true,
    )?;
    let graph = graph(context, "role assignment list")?;
    let arm = context.arm("role assignment list")?;
    let subscription = context.subscription_id(&arm).await?;
    let scope = if args.all {
        if args.filter.resource_group.is_some() || args.filter.scope.is_some() {
            return Err(CliError::message(
                "group or scope are not required when --all is used",
            ));
        }
        None
    } else {
        Some(scope::build_scope(
            args.filter.resource_group.as_deref(),
            args.filter.scope.as_deref(),
            &subscription,
        )?)
    };
    let object_id = filter_object_id(&args.filter, &graph, context).await?;
    let found = search_assignments(
        &arm,
        scope.as_deref(),
        &subscription,
        object_id.as_deref(),
        &args.filter,
        args.include_groups,
    )
    .await?;
    let items = if found.is_empty() {
        Vec::new()
    } else {
        enrich(
            &arm,
            &graph,
            found,
            scope.as_deref(),
            &subscription,
            (fill_role, fill_principal),
        )
        .await?
    };
    context
        .printer
        .data(&Value::Array(items), TableLayout::RoleAssignment)
}

/// `role assignment delete`: by `--ids` (other selectors ignored, with az's warnings), else every assignment the
/// list search finds; nothing found is a failure. Prints nothing.
async fn delete(args: RoleAssignmentDeleteArgs, context: &Context) -> Result<(), CliError> {
    let filter = &args.filter;
    check_filter(filter)?;
    if args.ids.is_empty()
        && filter.assignee.is_none()
        && filter.assignee_object_id.is_none()
        && filter.role.is_none()
        && filter.resource_group.is_none()
        && filter.scope.is_none()
    {
        return Err(CliError::message(
            "Please provide at least one of these arguments: --ids, --assignee, --assignee-object-id, --role, \
             --resource-group, --scope",
        ));
    }
    let arm = context.arm("role assignment delete")?;
    if !args.ids.is_empty() {
        for (option, given) in view::ignored_with_ids(filter) {
            if given {
                context.printer.warning(&format!(
                    "option '{option}' will be ignored due to use of '--ids'."
                ));
            }
        }
        for id in &args.ids {
            arm.delete_role_assignment_by_id(id).await?;
        }
        return Ok(());
    }
    let subscription = context.subscription_id(&arm).await?;
    let scope = scope::build_scope(
        filter.resource_group.as_deref(),
        filter.scope.as_deref(),
        &subscription,
    )?;
    let object_id = match (&filter.assignee_object_id, &filter.assignee) {
        (None, Some(_)) => {
            let graph = graph(context, "role assignment delete")?;
            filter_object_id(filter, &graph, context).await?
        }
        (object_id, _) => object_id.clone(),
    };
    let found = search_assignments(
        &arm,
        Some(&scope),
        &subscription,
        object_id.as_deref(),
        filter,
        false,
    )
    .await?;
    if found.is_empty() {
        return Err(CliError::message(
            "No matched assignments were found to delete",
        ));
    }
    for assignment in &found {
        arm.delete_role_assignment_by_id(scope::field(assignment, "id").unwrap_or_default())
            .await?;
    }
    Ok(())
}

/// `role definition list`: `roleName eq` on the server unless `--name` is a GUID, then az's client-side match.
async fn definition_list(args: RoleDefinitionListArgs, context: &Context) -> Result<(), CliError> {
    let custom_only = super::ad::three_state_default(
        "--custom-role-only",
        args.custom_role_only.as_deref(),
        false,
    )?;
    let arm = context.arm("role definition list")?;
    let subscription = context.subscription_id(&arm).await?;
    let scope = scope::build_scope(
        args.resource_group.as_deref(),
        args.scope.as_deref(),
        &subscription,
    )?;
    let filter = args
        .name
        .as_deref()
        .filter(|name| !aks_model::validation::is_guid(name))
        .map(|name| format!("roleName eq '{name}'"));
    let found = arm.list_role_definitions(&scope, filter.as_deref()).await?;
    let items: Vec<Value> = found
        .iter()
        .filter(|definition| {
            view::definition_matches(definition, args.name.as_deref(), custom_only)
        })
        .map(view::definition)
        .collect();
    context
        .printer
        .data(&Value::Array(items), TableLayout::RoleDefinition)
}

/// `role definition show`: `--id`, or `--scope` and `--name`.
async fn definition_show(args: RoleDefinitionShowArgs, context: &Context) -> Result<(), CliError> {
    if args.scope.is_none() && args.name.is_none() && args.id.is_none() {
        return Err(CliError::message(
            "Usage error: Provide --scope and --name, or --id",
        ));
    }
    let arm = context.arm("role definition show")?;
    let found = match (&args.id, &args.scope, &args.name) {
        (Some(id), _, _) => arm.get_role_definition_by_id(id).await?,
        (None, Some(scope), Some(name)) => arm.get_role_definition(scope, name).await?,
        _ => {
            return Err(CliError::message(
                "Usage error: Provide both --scope and --name",
            ));
        }
    };
    context
        .printer
        .data(&view::definition(&found), TableLayout::Auto)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_put_body_omits_what_is_unset() {
        let principal = Principal {
            object_id: "o".into(),
            principal_type: None,
        };
        assert_eq!(
            view::create_body("r", &principal, None, None, None),
            json!({"properties": {"roleDefinitionId": "r", "principalId": "o"}})
        );
    }
}
