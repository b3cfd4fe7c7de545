//! `GET {scope}/providers/Microsoft.Authorization/permissions`: the caller's effective permissions at a scope,
//! one entry per role assignment that applies there (Azure REST API reference, Permissions - List For Resource:
//! <https://learn.microsoft.com/rest/api/authorization/permissions/list-for-resource>; docs/azure-rbac.md).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::access::Caller;
use crate::authorization::roles_at;
use crate::http::json;
use crate::state::SharedState;

/// The caller's permissions at `scope`.
pub(super) fn list(state: &SharedState, caller: &Caller, scope: &str) -> Response {
    let store = state.store();
    let value: Vec<_> = roles_at(&store, &caller.principal, scope)
        .map(|role| {
            json!({
                "actions": role.actions,
                "notActions": role.not_actions,
                "dataActions": role.data_actions,
                "notDataActions": role.not_data_actions,
            })
        })
        .collect();
    json(StatusCode::OK, &json!({ "value": value }))
}
