//! The RBAC objects every cluster has: Kubernetes' default ClusterRoles and ClusterRoleBindings (the
//! bootstrap policy, `kubernetes/kubernetes: plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`, cut
//! to the API groups a cluster of the emulator has resources in) and the bindings AKS adds
//! (`aks-cluster-admin-binding`, `aks-cluster-admin-binding-aad`, docs/kubernetes-rbac.md).

use serde_json::{Map, Value, json};

use super::types::{ALL_VERBS, AUTHENTICATION_GROUP, AUTHORIZATION_GROUP, RBAC_GROUP};
use super::view::ClusterView;
use super::wire::{rfc3339_of_ms, stable_uid};

/// A policy rule: (API groups, resources, verbs).
type Rule = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];

/// `view` (aggregate-to-view): read most namespaced objects, never secrets or RBAC objects.
const VIEW: &[Rule] = &[
    (
        &[""],
        &[
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
        ],
        READ,
    ),
    (
        &[""],
        &[
            "bindings",
            "events",
            "limitranges",
            "namespaces/status",
            "pods/log",
            "pods/status",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
        ],
        READ,
    ),
    (&[""], &["namespaces"], READ),
    (
        &["apps"],
        &[
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ],
        READ,
    ),
    (
        &["batch"],
        &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
        READ,
    ),
];

/// What `edit` (aggregate-to-edit) adds to `view`: secrets, and writes to the workload objects.
const EDIT: &[Rule] = &[
    (
        &[""],
        &[
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
            "secrets",
            "services/proxy",
        ],
        READ,
    ),
    (&[""], &["serviceaccounts"], &["impersonate"]),
    (
        &[""],
        &[
            "pods",
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
        ],
        WRITE,
    ),
    (&[""], &["pods/eviction"], &["create"]),
    (
        &[""],
        &[
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ],
        WRITE,
    ),
    (&[""], &["serviceaccounts/token"], &["create"]),
    (
        &["apps"],
        &[
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
        WRITE,
    ),
    (&["batch"], &["cronjobs", "jobs"], WRITE),
];

/// What `admin` (aggregate-to-admin) adds to `edit`: Roles and RoleBindings in the namespace.
const ADMIN: &[Rule] = &[
    (
        &[AUTHORIZATION_GROUP],
        &["localsubjectaccessreviews"],
        &["create"],
    ),
    (&[RBAC_GROUP], &["rolebindings", "roles"], ALL_VERBS),
];

/// `system:basic-user`: the self reviews.
const BASIC_USER: &[Rule] = &[
    (
        &[AUTHORIZATION_GROUP],
        &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        &["create"],
    ),
    (
        &[AUTHENTICATION_GROUP],
        &["selfsubjectreviews"],
        &["create"],
    ),
];

/// `system:discovery`'s non-resource URLs.
const DISCOVERY_URLS: &[&str] = &[
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
];
/// `system:public-info-viewer`'s non-resource URLs.
const PUBLIC_INFO_URLS: &[&str] = &["/healthz", "/livez", "/readyz", "/version", "/version/"];

fn rules(sets: &[&[Rule]]) -> Value {
    let rules: Vec<Value> = sets
        .iter()
        .flat_map(|set| set.iter())
        .map(|(groups, resources, verbs)| {
            json!({"verbs": verbs, "apiGroups": groups, "resources": resources})
        })
        .collect();
    Value::Array(rules)
}

fn non_resource_rule(urls: &[&str]) -> Value {
    json!([{"verbs": ["get"], "nonResourceURLs": urls}])
}

fn metadata(view: &ClusterView, name: &str, labels: &[(&str, &str)]) -> Value {
    let labels: Map<String, Value> = labels
        .iter()
        .map(|(key, value)| (key.to_string(), json!(value)))
        .collect();
    json!({
        "name": name,
        "uid": stable_uid(&format!("{}/{}/rbac/{name}", view.resource_group, view.name)),
        "resourceVersion": "1",
        "creationTimestamp": rfc3339_of_ms(view.created_ms),
        "labels": labels,
    })
}

const BOOTSTRAP: &[(&str, &str)] = &[("kubernetes.io/bootstrapping", "rbac-defaults")];

/// A built-in ClusterRole: its name and what builds its rules.
type BuiltinRole = (&'static str, fn() -> Value);

/// The built-in ClusterRoles, in the order lists show them.
const CLUSTER_ROLES: [BuiltinRole; 7] = [
    ("cluster-admin", || {
        json!([
            {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
            {"verbs": ["*"], "nonResourceURLs": ["*"]},
        ])
    }),
    ("admin", || rules(&[VIEW, EDIT, ADMIN])),
    ("edit", || rules(&[VIEW, EDIT])),
    ("view", || rules(&[VIEW])),
    ("system:basic-user", || rules(&[BASIC_USER])),
    ("system:discovery", || non_resource_rule(DISCOVERY_URLS)),
    ("system:public-info-viewer", || {
        non_resource_rule(PUBLIC_INFO_URLS)
    }),
];

fn cluster_role_of(view: &ClusterView, name: &str, rules: fn() -> Value) -> Value {
    json!({"metadata": metadata(view, name, BOOTSTRAP), "rules": rules()})
}

/// The built-in ClusterRoles.
pub(super) fn cluster_roles(view: &ClusterView) -> Vec<Value> {
    CLUSTER_ROLES
        .iter()
        .map(|(name, rules)| cluster_role_of(view, name, *rules))
        .collect()
}

/// The built-in ClusterRole `name`, if there is one. Built alone: every access review looks up the role of each
/// binding, and building all of them for each lookup was most of the emulator's work in a fleet migration's
/// verification.
pub(super) fn cluster_role(view: &ClusterView, name: &str) -> Option<Value> {
    CLUSTER_ROLES
        .iter()
        .find(|(role, _)| *role == name)
        .map(|(name, rules)| cluster_role_of(view, name, *rules))
}

fn subject(kind: &str, name: &str) -> Value {
    json!({"kind": kind, "apiGroup": RBAC_GROUP, "name": name})
}

fn binding(metadata: Value, role: &str, subjects: Vec<Value>) -> Value {
    json!({
        "metadata": metadata,
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    })
}

/// The built-in ClusterRoleBindings: Kubernetes' defaults, AKS's binding of the local admin users, and on AAD
/// clusters with admin groups the binding of those groups to `cluster-admin`.
pub(super) fn cluster_role_bindings(view: &ClusterView) -> Vec<Value> {
    let authenticated = || subject("Group", "system:authenticated");
    let mut bindings = vec![
        binding(
            metadata(view, "cluster-admin", BOOTSTRAP),
            "cluster-admin",
            vec![subject("Group", "system:masters")],
        ),
        binding(
            metadata(view, "system:basic-user", BOOTSTRAP),
            "system:basic-user",
            vec![authenticated()],
        ),
        binding(
            metadata(view, "system:discovery", BOOTSTRAP),
            "system:discovery",
            vec![authenticated()],
        ),
        binding(
            metadata(view, "system:public-info-viewer", BOOTSTRAP),
            "system:public-info-viewer",
            vec![authenticated(), subject("Group", "system:unauthenticated")],
        ),
    ];
    let mut local_users = vec![subject("User", "clusterAdmin")];
    if !view.entra() {
        local_users.push(subject("User", "clusterUser"));
    }
    bindings.push(binding(
        metadata(
            view,
            "aks-cluster-admin-binding",
            &[("addonmanager.kubernetes.io/mode", "Reconcile")],
        ),
        "cluster-admin",
        local_users,
    ));
    let admin_groups = view.admin_groups();
    if !admin_groups.is_empty() {
        bindings.push(binding(
            metadata(
                view,
                "aks-cluster-admin-binding-aad",
                &[
                    ("addonmanager.kubernetes.io/mode", "Reconcile"),
                    ("kubernetes.io/cluster-service", "true"),
                ],
            ),
            "cluster-admin",
            admin_groups
                .iter()
                .map(|group| subject("Group", group))
                .collect(),
        ));
    }
    bindings
}

#[cfg(test)]
mod tests {
    use aks_model::ManagedCluster;

    use super::*;

    fn view() -> ClusterView {
        ClusterView {
            cluster: ManagedCluster::default(),
            resource_group: "rg1".into(),
            name: "c1".into(),
            admin_token: String::new(),
            kube_port: 0,
            created_ms: 0,
            objects: Default::default(),
        }
    }

    #[test]
    fn each_built_in_cluster_role_is_found_by_its_name_alone() {
        let view = view();
        let listed = cluster_roles(&view);
        assert_eq!(listed.len(), CLUSTER_ROLES.len());
        for ((name, _), role) in CLUSTER_ROLES.iter().zip(&listed) {
            assert_eq!(role["metadata"]["name"], *name);
            assert_eq!(cluster_role(&view, name).as_ref(), Some(role));
        }
        assert_eq!(cluster_role(&view, "system:masters"), None);
    }
}
