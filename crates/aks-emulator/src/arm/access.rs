//! Azure RBAC on the ARM request path: who the caller is, and ARM's `403 AuthorizationFailed` when its role
//! assignments do not grant the action a route needs (docs/azure-rbac.md, "What the emulator checks").

use aks_model::ArmErrorBody;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::authorization::{self, Principal};
use crate::http::arm_error;
use crate::state::{SharedState, Store};

/// An authenticated ARM caller.
pub(super) struct Caller {
    /// The claims of its access token.
    pub claims: Value,
    /// Its object id and transitive groups.
    pub principal: Principal,
}

impl Caller {
    /// The caller behind verified token claims.
    pub(super) fn of(state: &SharedState, claims: Value) -> Caller {
        let object_id = claims["oid"].as_str().unwrap_or_default().to_string();
        let principal = Principal::of(&state.store().directory, &object_id);
        Caller { claims, principal }
    }

    /// How ARM names the caller in `AuthorizationFailed`: a user by its UPN, anything else by its object id.
    fn client_name(&self) -> &str {
        match self.claims["upn"].as_str() {
            Some(upn) if self.claims["idtyp"] == "user" => upn,
            _ => &self.principal.object_id,
        }
    }

    /// Whether the caller may perform `action` at `scope` (a resource id).
    pub(super) fn may(&self, store: &Store, action: &str, scope: &str) -> bool {
        authorization::permitted(store, &self.principal, scope, action)
    }

    /// `Ok` when the caller may perform `action` at `scope`, else ARM's `403 AuthorizationFailed`.
    pub(super) fn check(
        &self,
        state: &SharedState,
        action: &str,
        scope: &str,
    ) -> Result<(), Response> {
        if self.may(&state.store(), action, scope) {
            return Ok(());
        }
        tracing::info!(caller = %self.principal.object_id, action, scope, "refused by Azure RBAC");
        Err(arm_error(
            StatusCode::FORBIDDEN,
            ArmErrorBody::new(
                "AuthorizationFailed",
                format!(
                    "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                    self.client_name(),
                    self.principal.object_id
                ),
            ),
        ))
    }
}
