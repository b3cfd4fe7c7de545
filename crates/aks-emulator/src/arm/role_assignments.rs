//! `Microsoft.Authorization/roleAssignments` at any scope: create (PUT), read and delete by name or by full id,
//! and list with `atScope()`, `assignedTo('{objectId}')` and `principalId eq '{objectId}'` (Azure REST API
//! reference, Role Assignments: <https://learn.microsoft.com/rest/api/authorization/role-assignments>; ARM's
//! errors from "Troubleshoot Azure RBAC": <https://learn.microsoft.com/azure/role-based-access-control/troubleshooting>;
//! docs/azure-rbac.md).

use aks_model::ArmErrorBody;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::access::Caller;
use super::{odata, page};
use crate::TENANT_ID;
use crate::authorization::{Principal, is_within, roles};
use crate::http::{Ctx, arm_error, empty, invalid_content, json};
use crate::state::{Directory, RoleAssignment, SharedState, Store, now_ms, rfc3339_7_now};

/// The ARM resource type.
const ROLE_ASSIGNMENT_TYPE: &str = "Microsoft.Authorization/roleAssignments";

/// A PUT body (`RoleAssignmentCreateParameters`).
#[derive(Deserialize)]
struct CreateBody {
    properties: CreateProperties,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateProperties {
    role_definition_id: String,
    principal_id: String,
    #[serde(default)]
    principal_type: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    condition_version: Option<String>,
    #[serde(default)]
    delegated_managed_identity_resource_id: Option<String>,
}

/// A role assignment as ARM answers it. `createdBy` is `null` in the answer to the PUT that created it.
fn view(assignment: &RoleAssignment, just_created: bool) -> Value {
    json!({
        "properties": {
            "roleDefinitionId": assignment.role_definition_id,
            "principalId": assignment.principal_id,
            "principalType": assignment.principal_type,
            "scope": assignment.scope,
            "condition": assignment.condition,
            "conditionVersion": assignment.condition_version,
            "createdOn": assignment.created_on,
            "updatedOn": assignment.updated_on,
            "createdBy": if just_created { None } else { assignment.updated_by.as_deref() },
            "updatedBy": assignment.updated_by,
            "delegatedManagedIdentityResourceId": assignment.delegated_managed_identity_resource_id,
            "description": assignment.description,
        },
        "id": assignment.id(),
        "type": ROLE_ASSIGNMENT_TYPE,
        "name": assignment.name,
    })
}

fn bad_request(code: &str, message: String) -> Response {
    arm_error(StatusCode::BAD_REQUEST, ArmErrorBody::new(code, message))
}

/// `400 InvalidRoleAssignmentId` unless `name` is a GUID.
fn check_name(name: &str) -> Result<(), Response> {
    if uuid::Uuid::try_parse(name).is_ok() {
        return Ok(());
    }
    Err(bad_request(
        "InvalidRoleAssignmentId",
        format!(
            "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
        ),
    ))
}

/// The type of the directory object with this id: `User` (a member or a guest object), `ServicePrincipal`
/// (applications and managed identities) or `Group`.
fn principal_type(directory: &Directory, object_id: &str) -> Option<&'static str> {
    let same = |id: &String| id.eq_ignore_ascii_case(object_id);
    if directory.user_by_any_object_id(object_id).is_some() {
        Some("User")
    } else if directory
        .service_principals
        .iter()
        .any(|sp| same(&sp.object_id))
    {
        Some("ServicePrincipal")
    } else if directory.groups.iter().any(|group| same(&group.object_id)) {
        Some("Group")
    } else {
        None
    }
}

/// The checks of a new assignment's properties, in ARM's order: principal id, role definition, principal.
fn check_properties(
    directory: &Directory,
    properties: &CreateProperties,
) -> Result<String, Response> {
    let principal_id = &properties.principal_id;
    if uuid::Uuid::try_parse(principal_id).is_err() {
        return Err(bad_request(
            "InvalidPrincipalId",
            format!("The Principal ID '{principal_id}' is not valid. Principal ID must be a GUID."),
        ));
    }
    let definition_id = &properties.role_definition_id;
    let Some(guid) = roles::guid_of_definition_id(definition_id) else {
        return Err(bad_request(
            "InvalidRoleDefinitionId",
            format!("The role definition ID '{definition_id}' is not valid."),
        ));
    };
    if roles::by_guid(guid).is_none() {
        return Err(arm_error(
            StatusCode::NOT_FOUND,
            ArmErrorBody::new(
                "RoleDefinitionDoesNotExist",
                format!("The specified role definition with ID '{guid}' does not exist."),
            ),
        ));
    }
    let Some(actual) = principal_type(directory, principal_id) else {
        let simple = principal_id.replace('-', "").to_ascii_lowercase();
        return Err(bad_request(
            "PrincipalNotFound",
            format!(
                "Principal {simple} does not exist in the directory {TENANT_ID}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype"
            ),
        ));
    };
    match properties.principal_type.as_deref() {
        None => Ok(actual.to_string()),
        Some(sent) if sent.eq_ignore_ascii_case(actual) => Ok(actual.to_string()),
        Some(sent) if actual == "Group" && sent.eq_ignore_ascii_case("ForeignGroup") => {
            Ok("ForeignGroup".to_string())
        }
        Some(sent) => Err(bad_request(
            "UnmatchedPrincipalType",
            format!(
                "The PrincipalId '{}' has type '{actual}', which is different from specified PrinciaplType '{sent}'.",
                principal_id.replace('-', "").to_ascii_lowercase()
            ),
        )),
    }
}

/// Whether two assignments give the same role to the same principal at the same scope (no conditions).
fn same_grant(existing: &RoleAssignment, new: &RoleAssignment) -> bool {
    let guid = |assignment: &RoleAssignment| {
        roles::guid_of_definition_id(&assignment.role_definition_id).map(str::to_ascii_lowercase)
    };
    existing
        .scope
        .trim_end_matches('/')
        .eq_ignore_ascii_case(new.scope.trim_end_matches('/'))
        && existing
            .principal_id
            .eq_ignore_ascii_case(&new.principal_id)
        && guid(existing) == guid(new)
        && existing.condition == new.condition
}

/// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`: 201 with the new assignment; 200 for
/// the same assignment again; 400 `RoleAssignmentUpdateNotPermitted` for a different one under the same name;
/// 409 `RoleAssignmentExists` for the same grant under another name.
pub(super) fn put(
    state: &SharedState,
    ctx: &Ctx,
    caller: &Caller,
    scope: &str,
    name: &str,
) -> Response {
    if let Err(response) = check_name(name) {
        return response;
    }
    let body: CreateBody = match serde_json::from_slice(&ctx.body) {
        Ok(body) => body,
        Err(error) => return invalid_content(&error),
    };
    let mut store = state.store();
    let principal_type = match check_properties(&store.directory, &body.properties) {
        Ok(principal_type) => principal_type,
        Err(response) => return response,
    };
    let now = rfc3339_7_now();
    let properties = body.properties;
    let new = RoleAssignment {
        name: name.to_ascii_lowercase(),
        scope: scope.to_string(),
        role_definition_id: properties.role_definition_id,
        principal_id: properties.principal_id.to_ascii_lowercase(),
        principal_type,
        description: properties.description,
        condition_version: properties
            .condition_version
            .or_else(|| properties.condition.as_ref().map(|_| "2.0".to_string())),
        condition: properties.condition,
        delegated_managed_identity_resource_id: properties.delegated_managed_identity_resource_id,
        created_on: now.clone(),
        updated_on: now,
        updated_by: Some(caller.principal.object_id.clone()),
        effective_ms: now_ms() + store.role_assignments.propagation_delay_seconds * 1000,
    };
    if let Some(existing) = store.role_assignments.by_name(name) {
        return if same_grant(existing, &new) {
            json(StatusCode::OK, &view(existing, false))
        } else {
            bad_request(
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."
                    .into(),
            )
        };
    }
    if store
        .role_assignments
        .assignments
        .iter()
        .any(|existing| same_grant(existing, &new))
    {
        return arm_error(
            StatusCode::CONFLICT,
            ArmErrorBody::new(
                "RoleAssignmentExists",
                "The role assignment already exists.",
            ),
        );
    }
    let answer = view(&new, true);
    store.role_assignments.assignments.push(new);
    state.save_or_log(&store);
    json(StatusCode::CREATED, &answer)
}

/// The assignment `name` made at `scope` exactly.
fn at_scope<'a>(store: &'a Store, scope: &str, name: &str) -> Option<&'a RoleAssignment> {
    store.role_assignments.by_name(name).filter(|assignment| {
        assignment
            .scope
            .trim_end_matches('/')
            .eq_ignore_ascii_case(scope.trim_end_matches('/'))
    })
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments/{name}` (or by full id).
pub(super) fn get(state: &SharedState, scope: &str, name: &str) -> Response {
    if let Err(response) = check_name(name) {
        return response;
    }
    match at_scope(&state.store(), scope, name) {
        Some(assignment) => json(StatusCode::OK, &view(assignment, false)),
        None => arm_error(
            StatusCode::NOT_FOUND,
            ArmErrorBody::new(
                "RoleAssignmentNotFound",
                format!("The role assignment '{name}' is not found."),
            ),
        ),
    }
}

/// `DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{name}` (or by full id): 200 with the
/// deleted assignment, or 204 when there is none.
pub(super) fn delete(state: &SharedState, scope: &str, name: &str) -> Response {
    if let Err(response) = check_name(name) {
        return response;
    }
    let mut store = state.store();
    let Some(deleted) = at_scope(&store, scope, name).cloned() else {
        return empty(StatusCode::NO_CONTENT);
    };
    store
        .role_assignments
        .assignments
        .retain(|assignment| assignment.name != deleted.name);
    state.save_or_log(&store);
    json(StatusCode::OK, &view(&deleted, false))
}

/// What a role assignment list's `$filter` asks for.
#[derive(Debug, Default, PartialEq)]
struct Filter {
    /// `atScope()`: only assignments at or above the scope (else also those below it).
    at_scope: bool,
    /// `assignedTo('{id}')`: the principal's own assignments and those of its groups, transitively.
    assigned_to: Option<String>,
    /// `principalId eq '{id}'`: that principal's own assignments.
    principal_id: Option<String>,
}

impl Filter {
    fn parse(filter: Option<&str>) -> Result<Filter, Response> {
        let mut parsed = Filter::default();
        let Some(text) = filter.map(str::trim).filter(|text| !text.is_empty()) else {
            return Ok(parsed);
        };
        for term in odata::terms(text) {
            if term.eq_ignore_ascii_case("atScope()") && !parsed.at_scope {
                parsed.at_scope = true;
            } else if let Some(id) = odata::quoted_after(term, "assignedTo(")
                && parsed.assigned_to.is_none()
            {
                parsed.assigned_to = Some(id);
            } else if let Some(id) = odata::quoted_after(term, "principalId eq ")
                && parsed.principal_id.is_none()
            {
                parsed.principal_id = Some(id);
            } else {
                return Err(odata::unsupported_filter(text));
            }
        }
        if parsed.principal_id.is_some() && (parsed.at_scope || parsed.assigned_to.is_some()) {
            return Err(odata::unsupported_filter(text));
        }
        Ok(parsed)
    }

    fn keeps(&self, assignment: &RoleAssignment, scope: &str, member: Option<&Principal>) -> bool {
        let above = is_within(scope, &assignment.scope);
        let below = is_within(&assignment.scope, scope);
        let placed = above || (!self.at_scope && below);
        let principal = match (&self.principal_id, member) {
            (Some(id), _) => assignment.principal_id.eq_ignore_ascii_case(id),
            (None, Some(member)) => member.includes(&assignment.principal_id),
            (None, None) => true,
        };
        placed && principal
    }
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments[?$filter=…]`: the assignments at, above and
/// below the scope (at and above with `atScope()`), paged.
pub(super) fn list(state: &SharedState, ctx: &Ctx, scope: &str) -> Response {
    let filter = match Filter::parse(ctx.query("$filter")) {
        Ok(filter) => filter,
        Err(response) => return response,
    };
    let items = {
        let store = state.store();
        let member = filter
            .assigned_to
            .as_deref()
            .map(|id| Principal::of(&store.directory, id));
        store
            .role_assignments
            .assignments
            .iter()
            .filter(|assignment| filter.keeps(assignment, scope, member.as_ref()))
            .map(|assignment| view(assignment, false))
            .collect()
    };
    page(state, ctx, items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_the_forms_az_sends() {
        assert_eq!(Filter::parse(None).unwrap(), Filter::default());
        let both = Filter::parse(Some("atScope() and assignedTo('abc')")).unwrap();
        assert!(both.at_scope);
        assert_eq!(both.assigned_to.as_deref(), Some("abc"));
        let principal = Filter::parse(Some("principalId eq 'abc'")).unwrap();
        assert_eq!(principal.principal_id.as_deref(), Some("abc"));
        for bad in [
            "atScope() and principalId eq 'abc'",
            "roleName eq 'Reader'",
            "atScope() and atScope()",
        ] {
            assert!(Filter::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
