//! The authorizer chain of a cluster's API server: Kubernetes RBAC, then — on clusters with
//! `aadProfile.enableAzureRBAC: true` — Azure RBAC as guard decides it, by the caller's Azure role assignments
//! (`crate::authorization`). A request is allowed when either allows; a denial carries guard's reason
//! (docs/kubernetes-rbac.md, "Azure RBAC").

use super::authn::Caller;
use super::azure_rbac::{self, Opinion};
use super::rbac::{self, Decision};
use super::request::Attributes;
use super::view::ClusterView;
use crate::authorization::{self, Principal};
use crate::state::SharedState;

/// Decide a request (or a SelfSubjectAccessReview's question).
pub(super) fn authorize(
    state: &SharedState,
    view: &ClusterView,
    caller: &Caller,
    attributes: &Attributes,
) -> Decision {
    let decision = rbac::authorize(view, caller, attributes);
    if decision.allowed || !view.azure_rbac() {
        return decision;
    }
    let object_id = caller
        .extra
        .get("oid")
        .and_then(|oid| oid[0].as_str())
        .unwrap_or_default();
    let opinion = azure_rbac::decide(caller, attributes, &view.cluster_id(), |scope, action| {
        let store = state.store();
        let principal = Principal::of(&store.directory, object_id);
        authorization::permitted(&store, &principal, scope, action)
    });
    match opinion {
        Opinion::Allowed => Decision {
            allowed: true,
            denied: false,
            reason: azure_rbac::ALLOWED.to_string(),
        },
        Opinion::Denied => Decision {
            allowed: false,
            denied: true,
            reason: azure_rbac::DENIED.to_string(),
        },
        Opinion::None(reason) => Decision {
            allowed: false,
            denied: false,
            reason: reason.to_string(),
        },
    }
}
