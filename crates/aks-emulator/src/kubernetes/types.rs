//! The one list of resource types the endpoint serves: discovery, request parsing, the authorizer's
//! `group`/`resource` attributes and object kinds all read it.

use serde_json::{Value, json};

/// A resource type: where it lives and how discovery describes it.
pub(super) struct ResourceType {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// Version (always `v1` here).
    pub version: &'static str,
    /// Plural resource name, as in paths and RBAC rules.
    pub plural: &'static str,
    /// Singular name.
    pub singular: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Short names (`kubectl get po`).
    pub short: &'static [&'static str],
    /// Namespaced (else cluster-scoped).
    pub namespaced: bool,
    /// The verbs discovery lists.
    pub verbs: &'static [&'static str],
}

const READ: &[&str] = &["get", "list"];
const CREATE: &[&str] = &["create"];
/// Every verb of a read-write resource (also what the built-in `admin` role grants on Roles and RoleBindings).
pub(super) const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// The RBAC API group.
pub(super) const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// The authorization API group (access reviews).
pub(super) const AUTHORIZATION_GROUP: &str = "authorization.k8s.io";
/// The authentication API group (`selfsubjectreviews`).
pub(super) const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";

const fn served(
    group: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    short: &'static [&'static str],
    namespaced: bool,
    verbs: &'static [&'static str],
) -> ResourceType {
    ResourceType {
        group,
        version: "v1",
        plural,
        singular,
        kind,
        short,
        namespaced,
        verbs,
    }
}

/// Every resource type served, grouped by API group (the core group first).
pub(super) const RESOURCES: &[ResourceType] = &[
    served(
        "",
        "namespaces",
        "namespace",
        "Namespace",
        &["ns"],
        false,
        READ,
    ),
    served("", "nodes", "node", "Node", &["no"], false, READ),
    served("", "pods", "pod", "Pod", &["po"], true, READ),
    served("", "services", "service", "Service", &["svc"], true, READ),
    served(
        AUTHENTICATION_GROUP,
        "selfsubjectreviews",
        "selfsubjectreview",
        "SelfSubjectReview",
        &[],
        false,
        CREATE,
    ),
    served(
        AUTHORIZATION_GROUP,
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
        &[],
        false,
        CREATE,
    ),
    served(
        AUTHORIZATION_GROUP,
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        "SelfSubjectRulesReview",
        &[],
        false,
        CREATE,
    ),
    served(
        RBAC_GROUP,
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        &[],
        false,
        ALL_VERBS,
    ),
    served(
        RBAC_GROUP,
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        &[],
        false,
        ALL_VERBS,
    ),
    served(
        RBAC_GROUP,
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        &[],
        true,
        ALL_VERBS,
    ),
    served(RBAC_GROUP, "roles", "role", "Role", &[], true, ALL_VERBS),
];

impl ResourceType {
    /// The type of `plural` in `group`, if served.
    pub(super) fn find(group: &str, plural: &str) -> Option<&'static ResourceType> {
        RESOURCES
            .iter()
            .find(|resource| resource.group == group && resource.plural == plural)
    }

    /// `v1` or `{group}/v1`.
    pub(super) fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `pods` or `rolebindings.rbac.authorization.k8s.io`, as Kubernetes names a resource in messages.
    pub(super) fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `object` with this type's `kind` and `apiVersion` first.
    pub(super) fn typed(&self, object: Value) -> Value {
        let mut typed = json!({"kind": self.kind, "apiVersion": self.api_version()});
        if let (Value::Object(typed), Value::Object(object)) = (&mut typed, object) {
            for (key, value) in object {
                if key != "kind" && key != "apiVersion" {
                    typed.insert(key, value);
                }
            }
        }
        typed
    }
}
