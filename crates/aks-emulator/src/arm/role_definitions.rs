//! `Microsoft.Authorization/roleDefinitions` at any scope: the built-in roles, listed (`$filter=roleName eq
//! '…'` or `type eq '…'`) or read by GUID (Azure REST API reference, Role Definitions:
//! <https://learn.microsoft.com/rest/api/authorization/role-definitions>; docs/azure-rbac.md).

use aks_model::ArmErrorBody;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::page;
use crate::authorization::roles::{BUILT_IN_ROLES, BuiltInRole, by_guid};
use crate::http::{Ctx, arm_error, json};
use crate::state::SharedState;

/// `createdOn` / `updatedOn` of every built-in role the emulator answers (those of the real Reader role).
const CREATED_ON: &str = "2015-02-02T21:55:09.8806423Z";
const UPDATED_ON: &str = "2021-11-11T20:13:47.8628684Z";

/// What a role definition list's `$filter` asks for.
#[derive(Debug, PartialEq)]
enum Filter {
    /// Every role.
    All,
    /// `roleName eq '…'` (case-insensitive).
    RoleName(String),
    /// `type eq 'BuiltInRole'|'CustomRole'`.
    Type(String),
}

impl Filter {
    fn parse(filter: Option<&str>) -> Result<Filter, Response> {
        let Some(filter) = filter.map(str::trim).filter(|filter| !filter.is_empty()) else {
            return Ok(Filter::All);
        };
        if let Some(name) = super::odata::quoted_after(filter, "roleName eq ") {
            return Ok(Filter::RoleName(name));
        }
        if let Some(kind) = super::odata::quoted_after(filter, "type eq ") {
            return Ok(Filter::Type(kind));
        }
        Err(super::odata::unsupported_filter(filter))
    }

    fn keeps(&self, role: &BuiltInRole) -> bool {
        match self {
            Filter::All => true,
            Filter::RoleName(name) => role.name.eq_ignore_ascii_case(name),
            Filter::Type(kind) => kind.eq_ignore_ascii_case("BuiltInRole"),
        }
    }
}

/// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions[?$filter=…]`.
pub(super) fn list(state: &SharedState, ctx: &Ctx, scope: &str) -> Response {
    let filter = match Filter::parse(ctx.query("$filter")) {
        Ok(filter) => filter,
        Err(response) => return response,
    };
    let items = BUILT_IN_ROLES
        .iter()
        .filter(|role| filter.keeps(role))
        .map(|role| view(role, scope))
        .collect();
    page(state, ctx, items)
}

/// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}` (also a definition's full id).
pub(super) fn get(scope: &str, name: &str) -> Response {
    match by_guid(name) {
        Some(role) => json(StatusCode::OK, &view(role, scope)),
        None => arm_error(
            StatusCode::NOT_FOUND,
            ArmErrorBody::new(
                "RoleDefinitionDoesNotExist",
                format!("The specified role definition with ID '{name}' does not exist."),
            ),
        ),
    }
}

/// The id of a built-in role as seen from `scope`: subscription-qualified under a subscription, else at the
/// root.
pub(crate) fn definition_id(scope: &str, guid: &str) -> String {
    let mut segments = scope.split('/').filter(|segment| !segment.is_empty());
    let prefix = match (segments.next(), segments.next()) {
        (Some(first), Some(subscription)) if first.eq_ignore_ascii_case("subscriptions") => {
            format!("/subscriptions/{subscription}")
        }
        _ => String::new(),
    };
    format!("{prefix}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

/// A role definition as ARM answers it.
fn view(role: &BuiltInRole, scope: &str) -> Value {
    json!({
        "properties": {
            "roleName": role.name,
            "type": "BuiltInRole",
            "description": role.description,
            "assignableScopes": ["/"],
            "permissions": [{
                "actions": role.actions,
                "notActions": role.not_actions,
                "dataActions": role.data_actions,
                "notDataActions": role.not_data_actions,
            }],
            "createdOn": CREATED_ON,
            "updatedOn": UPDATED_ON,
            "createdBy": null,
            "updatedBy": null,
        },
        "id": definition_id(scope, role.guid),
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": role.guid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_qualified_by_the_subscription_of_the_scope() {
        let guid = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
        assert_eq!(
            definition_id("/subscriptions/S/resourceGroups/rg", guid),
            format!("/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/{guid}")
        );
        assert_eq!(
            definition_id("/", guid),
            format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}")
        );
    }

    #[test]
    fn filters_parse_role_name_and_type() {
        assert_eq!(Filter::parse(None).unwrap(), Filter::All);
        assert_eq!(
            Filter::parse(Some("roleName eq 'Reader'")).unwrap(),
            Filter::RoleName("Reader".into())
        );
        assert_eq!(
            Filter::parse(Some("type eq 'CustomRole'")).unwrap(),
            Filter::Type("CustomRole".into())
        );
        assert!(Filter::parse(Some("roleName ne 'Reader'")).is_err());
    }
}
