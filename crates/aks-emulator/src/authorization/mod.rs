//! Azure RBAC evaluation: who a caller is for authorization (its object id and transitive groups), which role
//! assignments apply at a scope, and whether they grant an action or a data action (docs/azure-rbac.md,
//! "Evaluation").
//!
//! An assignment applies at a scope when its own scope is that scope or a parent of it, segment by segment and
//! case-insensitively (`/` is the parent of everything). The permissions of the roles of the applying
//! assignments are united; an action is granted when one permission's `actions` match it and that permission's
//! `notActions` do not (data actions: `dataActions` / `notDataActions`). `*` in a pattern matches any run of
//! characters, `/` included. Assignments count once their propagation delay is over.

pub(crate) mod roles;

use crate::state::{Directory, RoleAssignment, Store};
use roles::BuiltInRole;

/// The prefix of Azure RBAC's Kubernetes data actions.
const CLUSTER_PREFIX: &str = "microsoft.containerservice/managedclusters/";

/// The management operations of `Microsoft.ContainerService/managedClusters` (the resource provider's
/// operations list: <https://learn.microsoft.com/azure/role-based-access-control/permissions/containers>), by
/// their first segment after `managedClusters/`. Every other operation under that prefix is a Kubernetes data
/// action.
const CLUSTER_MANAGEMENT_SEGMENTS: &[&str] = &[
    "read",
    "write",
    "delete",
    "start",
    "stop",
    "listclusteradmincredential",
    "listclusterusercredential",
    "listclustermonitoringusercredential",
    "accessprofiles",
    "agentpools",
    "availableagentpoolversions",
    "upgradeprofiles",
    "runcommand",
    "commandresults",
    "detectors",
    "diagnosticsstate",
    "privateendpointconnections",
    "privateendpointconnectionsapproval",
    "privatelinkresources",
    "resolveprivatelinkserviceid",
    "rotateclustercertificates",
    "rotateserviceaccountsigningkeys",
    "resetserviceprincipalprofile",
    "resetaadprofile",
    "maintenanceconfigurations",
    "extensionaddons",
    "eventgridfilters",
    "providers",
    "trustedaccessrolebindings",
    "abort",
    "outboundnetworkdependenciesendpoints",
    "meshrevisionprofiles",
    "meshupgradeprofiles",
];

/// A caller as Azure RBAC sees it: its object id and the object ids of every group it is in, directly or
/// through nested groups.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Principal {
    /// The caller's object id (`oid`).
    pub object_id: String,
    /// Its groups, transitively.
    pub groups: Vec<String>,
}

impl Principal {
    /// The principal with this object id: a user (home tenant), a service principal or managed identity, or a
    /// group; its groups resolved through nested groups. An unknown id (e.g. a guest's object) has no groups.
    pub(crate) fn of(directory: &Directory, object_id: &str) -> Principal {
        let direct: Vec<String> = if let Some(user) = directory.user_by_object_id(object_id) {
            user.groups.clone()
        } else if let Some(principal) = directory
            .service_principals
            .iter()
            .find(|principal| principal.object_id.eq_ignore_ascii_case(object_id))
        {
            principal.groups.clone()
        } else if let Some(group) = directory
            .groups
            .iter()
            .find(|group| group.object_id.eq_ignore_ascii_case(object_id))
        {
            group.groups.clone()
        } else {
            Vec::new()
        };
        Principal {
            object_id: object_id.to_string(),
            groups: directory.transitive_groups(&direct),
        }
    }

    /// Whether an assignment to `principal_id` is an assignment to this caller (itself or one of its groups).
    pub(crate) fn includes(&self, principal_id: &str) -> bool {
        self.object_id.eq_ignore_ascii_case(principal_id)
            || self
                .groups
                .iter()
                .any(|group| group.eq_ignore_ascii_case(principal_id))
    }
}

/// Whether `principal` may perform `action` (an action, or a Kubernetes data action such as
/// `Microsoft.ContainerService/managedClusters/pods/read`) at `scope` (a resource id), by the role assignments
/// in force now.
pub(crate) fn permitted(store: &Store, principal: &Principal, scope: &str, action: &str) -> bool {
    let data = is_data_action(action);
    roles_at(store, principal, scope).any(|role| grants(role, action, data))
}

/// The roles of the effective assignments of `principal` that apply at `scope` (one per assignment).
pub(crate) fn roles_at<'a>(
    store: &'a Store,
    principal: &'a Principal,
    scope: &'a str,
) -> impl Iterator<Item = &'static BuiltInRole> + 'a {
    store
        .role_assignments
        .effective()
        .filter(move |assignment| principal.includes(&assignment.principal_id))
        .filter(move |assignment| applies_at(assignment, scope))
        .filter_map(|assignment| role_of(assignment))
}

/// The built-in role an assignment names.
pub(crate) fn role_of(assignment: &RoleAssignment) -> Option<&'static BuiltInRole> {
    roles::guid_of_definition_id(&assignment.role_definition_id).and_then(roles::by_guid)
}

/// Whether an assignment made at its scope applies at `scope` (its scope is `scope` or a parent of it).
pub(crate) fn applies_at(assignment: &RoleAssignment, scope: &str) -> bool {
    is_within(scope, &assignment.scope)
}

/// Whether `scope` is `parent` or lies below it, comparing path segments case-insensitively.
pub(crate) fn is_within(scope: &str, parent: &str) -> bool {
    let parent: Vec<&str> = segments(parent).collect();
    let mut scope = segments(scope);
    parent.iter().all(|expected| {
        scope
            .next()
            .is_some_and(|segment| segment.eq_ignore_ascii_case(expected))
    })
}

fn segments(scope: &str) -> impl Iterator<Item = &str> {
    scope.split('/').filter(|segment| !segment.is_empty())
}

/// Whether `action` is a data action: a Kubernetes operation under `Microsoft.ContainerService/managedClusters/`
/// rather than one of the resource provider's management operations.
pub(crate) fn is_data_action(action: &str) -> bool {
    let lower = action.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix(CLUSTER_PREFIX) else {
        return false;
    };
    let first = rest.split('/').next().unwrap_or_default();
    !CLUSTER_MANAGEMENT_SEGMENTS.contains(&first)
}

/// Whether `role` grants `action` (a data action when `data`).
fn grants(role: &BuiltInRole, action: &str, data: bool) -> bool {
    if data {
        aks_model::grants(role.data_actions, role.not_data_actions, action)
    } else {
        aks_model::grants(role.actions, role.not_actions, action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aks_model::action_matches as matches;

    #[test]
    fn wildcards_match_any_run_of_characters_case_insensitively() {
        let yes = [
            ("*", "Microsoft.Resources/deployments/write"),
            ("*/read", "Microsoft.ContainerService/managedClusters/read"),
            (
                "Microsoft.Authorization/*/read",
                "microsoft.authorization/roleAssignments/read",
            ),
            (
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/roleAssignments/write",
            ),
            (
                "Microsoft.ContainerService/managedClusters/*",
                "Microsoft.ContainerService/managedClusters/apps/deployments/write",
            ),
            (
                "Microsoft.ContainerService/managedClusters/pods/read",
                "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PODS/READ",
            ),
        ];
        for (pattern, action) in yes {
            assert!(matches(pattern, action), "{pattern} should match {action}");
        }
        let no = [
            (
                "*/read",
                "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
            ),
            (
                "Microsoft.Authorization/*/read",
                "Microsoft.Authorization/roleAssignments/write",
            ),
            (
                "Microsoft.ContainerService/managedClusters/read",
                "Microsoft.ContainerService/managedClusters/readx",
            ),
            ("a*b*c", "abcx"),
        ];
        for (pattern, action) in no {
            assert!(
                !matches(pattern, action),
                "{pattern} should not match {action}"
            );
        }
        assert!(matches("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn scopes_inherit_from_parents_segment_by_segment() {
        let cluster = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/c1";
        assert!(is_within(cluster, "/"));
        assert!(is_within(cluster, "/subscriptions/s"));
        assert!(is_within(cluster, "/subscriptions/S/resourcegroups/rg"));
        assert!(is_within(&format!("{cluster}/namespaces/dev"), cluster));
        assert!(!is_within(cluster, "/subscriptions/S/resourceGroups/RG2"));
        assert!(!is_within(
            "/subscriptions/S/resourceGroups/RG2",
            "/subscriptions/S/resourceGroups/RG"
        ));
        assert!(!is_within("/subscriptions/S", cluster));
    }

    #[test]
    fn data_actions_are_the_kubernetes_operations_under_managed_clusters() {
        for data in [
            "Microsoft.ContainerService/managedClusters/pods/read",
            "Microsoft.ContainerService/managedClusters/apps/deployments/write",
            "Microsoft.ContainerService/managedClusters/namespaces/read",
            "Microsoft.ContainerService/managedClusters/pods/exec/action",
        ] {
            assert!(is_data_action(data), "{data}");
        }
        for management in [
            "Microsoft.ContainerService/managedClusters/read",
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
            "Microsoft.ContainerService/managedClusters/agentPools/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ] {
            assert!(!is_data_action(management), "{management}");
        }
    }

    #[test]
    fn star_actions_grant_no_data_actions_and_not_actions_subtract() {
        let owner = roles::by_guid(crate::state::OWNER_ROLE_GUID).unwrap();
        assert!(grants(
            owner,
            "Microsoft.Authorization/roleAssignments/write",
            false
        ));
        assert!(!grants(
            owner,
            "Microsoft.ContainerService/managedClusters/pods/read",
            true
        ));
        let contributor = roles::by_guid(crate::state::CONTRIBUTOR_ROLE_GUID).unwrap();
        assert!(grants(
            contributor,
            "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
            false
        ));
        assert!(!grants(
            contributor,
            "Microsoft.Authorization/roleAssignments/write",
            false
        ));
        let rbac_admin = roles::by_guid("3498e952-d568-435e-9b2c-8d77e338d7f7").unwrap();
        assert!(grants(
            rbac_admin,
            "Microsoft.ContainerService/managedClusters/secrets/read",
            true
        ));
        assert!(!grants(
            rbac_admin,
            "Microsoft.ContainerService/managedClusters/namespaces/write",
            true
        ));
        let reader = roles::by_guid("7f6c6a51-bcf8-42ba-9220-52d62157d7db").unwrap();
        assert!(!grants(
            reader,
            "Microsoft.ContainerService/managedClusters/secrets/read",
            true
        ));
        assert!(!grants(
            reader,
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
            false
        ));
    }
}
