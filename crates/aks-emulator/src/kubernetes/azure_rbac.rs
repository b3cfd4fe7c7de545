//! Azure RBAC for Kubernetes authorization (clusters with `aadProfile.enableAzureRBAC: true`), as AKS's guard
//! webhook decides (`kubeguard/guard: authz/providers/azure/azure.go`, `rbac/rbac.go`; Learn: "Use Azure RBAC for
//! Kubernetes authorization", <https://learn.microsoft.com/azure/aks/manage-entra-id-authorization>): the request
//! becomes a data action `Microsoft.ContainerService/managedClusters[/{group}]/{resource}/{read|write|delete|…}`
//! checked at the cluster's resource id, or at `{clusterId}/namespaces/{ns}` for a namespaced request
//! (docs/kubernetes-rbac.md, "Azure RBAC").

use super::authn::Caller;
use super::request::Attributes;

/// The reason of a denial by Azure RBAC, as guard writes it (kubectl shows it after the 403 text).
pub(super) const DENIED: &str =
    "User does not have access to the resource in Azure. Update role assignment to allow access.";
/// The reason of an allowed request.
pub(super) const ALLOWED: &str = "Access allowed by Azure RBAC";
/// Guard has no opinion on `system:` users.
const NO_OPINION_SYSTEM: &str = "Azure does not have opinion for this user.";
/// Guard has no opinion on callers without `extra.oid` (AKS skips them: the local admin users, service accounts).
const NO_OPINION_NON_AAD: &str = "Azure does not have opinion for this non AAD user. If you are an AAD user, please set Extra:oid parameter for impersonated user in the kubeconfig";

/// What Azure RBAC says about a request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Opinion {
    Allowed,
    Denied,
    /// No opinion, with guard's reason.
    None(&'static str),
}

/// The data-action verb for a Kubernetes verb (`rbac.go`'s mapping).
fn action_verb(verb: &str) -> String {
    match verb {
        "get" | "list" | "watch" => "read".into(),
        "create" | "update" | "patch" => "write".into(),
        "delete" | "deletecollection" => "delete".into(),
        "*" => "*".into(),
        other => format!("{other}/action"),
    }
}

/// The data action a request needs.
pub(super) fn data_action(attributes: &Attributes) -> String {
    const PREFIX: &str = "Microsoft.ContainerService/managedClusters";
    match attributes {
        Attributes::Resource(resource) => {
            let group = if resource.group.is_empty() {
                String::new()
            } else {
                format!("/{}", resource.group)
            };
            if resource.resource == "pods" && resource.subresource == "exec" {
                return format!("{PREFIX}/pods/exec/action");
            }
            format!(
                "{PREFIX}{group}/{}/{}",
                resource.resource,
                action_verb(&resource.verb)
            )
        }
        Attributes::NonResource { verb, path } => {
            let verb = if verb == "get" {
                "read".to_string()
            } else {
                action_verb(verb)
            };
            format!("{PREFIX}{}/{verb}", path.trim_end_matches('/'))
        }
    }
}

/// The scope a request is checked at: the cluster, or one of its namespaces.
pub(super) fn scope(cluster_id: &str, attributes: &Attributes) -> String {
    match attributes {
        Attributes::Resource(resource) if !resource.namespace.is_empty() => {
            format!("{cluster_id}/namespaces/{}", resource.namespace)
        }
        _ => cluster_id.to_string(),
    }
}

/// Guard's opinion on a request; `permitted(scope, action)` asks the caller's Azure role assignments.
pub(super) fn decide(
    caller: &Caller,
    attributes: &Attributes,
    cluster_id: &str,
    permitted: impl Fn(&str, &str) -> bool,
) -> Opinion {
    if caller.username.starts_with("system:") {
        return Opinion::None(NO_OPINION_SYSTEM);
    }
    if !caller.extra.contains_key("oid") {
        return Opinion::None(NO_OPINION_NON_AAD);
    }
    if permitted(&scope(cluster_id, attributes), &data_action(attributes)) {
        Opinion::Allowed
    } else {
        Opinion::Denied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubernetes::request::tests::resource;

    #[test]
    fn requests_become_data_actions_at_the_cluster_or_a_namespace() {
        let pods = resource("list", "", "pods", "dev", "");
        assert_eq!(
            data_action(&pods),
            "Microsoft.ContainerService/managedClusters/pods/read"
        );
        assert_eq!(scope("/c", &pods), "/c/namespaces/dev");
        let deployments = resource("patch", "apps", "deployments", "", "web");
        assert_eq!(
            data_action(&deployments),
            "Microsoft.ContainerService/managedClusters/apps/deployments/write"
        );
        assert_eq!(scope("/c", &deployments), "/c");
        assert_eq!(
            data_action(&resource("deletecollection", "", "secrets", "a", "")),
            "Microsoft.ContainerService/managedClusters/secrets/delete"
        );
        assert_eq!(
            data_action(&resource("impersonate", "", "serviceaccounts", "a", "x")),
            "Microsoft.ContainerService/managedClusters/serviceaccounts/impersonate/action"
        );
        let Attributes::Resource(mut exec) = resource("create", "", "pods", "a", "p") else {
            unreachable!()
        };
        exec.subresource = "exec".into();
        assert_eq!(
            data_action(&Attributes::Resource(exec)),
            "Microsoft.ContainerService/managedClusters/pods/exec/action"
        );
        let health = Attributes::NonResource {
            verb: "get".into(),
            path: "/healthz".into(),
        };
        assert_eq!(
            data_action(&health),
            "Microsoft.ContainerService/managedClusters/healthz/read"
        );
    }
}
