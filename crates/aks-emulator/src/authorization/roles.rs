//! The built-in Azure roles the emulator knows, as one table: the eight Azure Kubernetes Service roles and the
//! four general ones (Owner, Contributor, Reader, User Access Administrator), with their real GUIDs and
//! permissions (Microsoft docs, "Azure built-in roles for Containers" and "… for General":
//! <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers>,
//! <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/general>; docs/azure-rbac.md).

use crate::state::{CONTRIBUTOR_ROLE_GUID, OWNER_ROLE_GUID};

/// One built-in role definition.
#[derive(Debug)]
pub(crate) struct BuiltInRole {
    /// The role definition's name (a GUID, the same in every tenant).
    pub guid: &'static str,
    /// `roleName`.
    pub name: &'static str,
    /// `description`.
    pub description: &'static str,
    /// Management-plane operations it grants (`*` wildcards).
    pub actions: &'static [&'static str],
    /// Operations subtracted from `actions`.
    pub not_actions: &'static [&'static str],
    /// Data-plane operations it grants.
    pub data_actions: &'static [&'static str],
    /// Data-plane operations subtracted from `data_actions`.
    pub not_data_actions: &'static [&'static str],
}

/// The reads every AKS RBAC role has on the management plane, then the given further actions.
macro_rules! rbac_reads_and {
    ($($more:literal),*) => {
        &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/operationresults/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            $($more),*
        ]
    };
}

/// The RBAC Reader and Writer roles' management operations.
const RBAC_READS: &[&str] = rbac_reads_and!();

/// The RBAC Admin roles' management operations: [`RBAC_READS`] and listing user credentials.
const RBAC_ADMIN_ACTIONS: &[&str] =
    rbac_reads_and!("Microsoft.ContainerService/managedClusters/listClusterUserCredential/action");

/// Data actions of "Azure Kubernetes Service RBAC Reader".
const RBAC_READER_DATA_ACTIONS: &[&str] = &[
    "Microsoft.ContainerService/managedClusters/apps/controllerrevisions/read",
    "Microsoft.ContainerService/managedClusters/apps/daemonsets/read",
    "Microsoft.ContainerService/managedClusters/apps/deployments/read",
    "Microsoft.ContainerService/managedClusters/apps/replicasets/read",
    "Microsoft.ContainerService/managedClusters/apps/statefulsets/read",
    "Microsoft.ContainerService/managedClusters/autoscaling/horizontalpodautoscalers/read",
    "Microsoft.ContainerService/managedClusters/batch/cronjobs/read",
    "Microsoft.ContainerService/managedClusters/batch/jobs/read",
    "Microsoft.ContainerService/managedClusters/configmaps/read",
    "Microsoft.ContainerService/managedClusters/discovery.k8s.io/endpointslices/read",
    "Microsoft.ContainerService/managedClusters/endpoints/read",
    "Microsoft.ContainerService/managedClusters/events.k8s.io/events/read",
    "Microsoft.ContainerService/managedClusters/events/read",
    "Microsoft.ContainerService/managedClusters/extensions/daemonsets/read",
    "Microsoft.ContainerService/managedClusters/extensions/deployments/read",
    "Microsoft.ContainerService/managedClusters/extensions/ingresses/read",
    "Microsoft.ContainerService/managedClusters/extensions/networkpolicies/read",
    "Microsoft.ContainerService/managedClusters/extensions/replicasets/read",
    "Microsoft.ContainerService/managedClusters/limitranges/read",
    "Microsoft.ContainerService/managedClusters/metrics.k8s.io/pods/read",
    "Microsoft.ContainerService/managedClusters/metrics.k8s.io/nodes/read",
    "Microsoft.ContainerService/managedClusters/namespaces/read",
    "Microsoft.ContainerService/managedClusters/networking.k8s.io/ingresses/read",
    "Microsoft.ContainerService/managedClusters/networking.k8s.io/networkpolicies/read",
    "Microsoft.ContainerService/managedClusters/persistentvolumeclaims/read",
    "Microsoft.ContainerService/managedClusters/pods/read",
    "Microsoft.ContainerService/managedClusters/policy/poddisruptionbudgets/read",
    "Microsoft.ContainerService/managedClusters/replicationcontrollers/read",
    "Microsoft.ContainerService/managedClusters/resourcequotas/read",
    "Microsoft.ContainerService/managedClusters/serviceaccounts/read",
    "Microsoft.ContainerService/managedClusters/services/read",
];

/// Data actions of "Azure Kubernetes Service RBAC Writer".
const RBAC_WRITER_DATA_ACTIONS: &[&str] = &[
    "Microsoft.ContainerService/managedClusters/apps/controllerrevisions/read",
    "Microsoft.ContainerService/managedClusters/apps/daemonsets/*",
    "Microsoft.ContainerService/managedClusters/apps/deployments/*",
    "Microsoft.ContainerService/managedClusters/apps/replicasets/*",
    "Microsoft.ContainerService/managedClusters/apps/statefulsets/*",
    "Microsoft.ContainerService/managedClusters/autoscaling/horizontalpodautoscalers/*",
    "Microsoft.ContainerService/managedClusters/batch/cronjobs/*",
    "Microsoft.ContainerService/managedClusters/coordination.k8s.io/leases/read",
    "Microsoft.ContainerService/managedClusters/coordination.k8s.io/leases/write",
    "Microsoft.ContainerService/managedClusters/coordination.k8s.io/leases/delete",
    "Microsoft.ContainerService/managedClusters/discovery.k8s.io/endpointslices/read",
    "Microsoft.ContainerService/managedClusters/batch/jobs/*",
    "Microsoft.ContainerService/managedClusters/configmaps/*",
    "Microsoft.ContainerService/managedClusters/endpoints/*",
    "Microsoft.ContainerService/managedClusters/events.k8s.io/events/read",
    "Microsoft.ContainerService/managedClusters/events/*",
    "Microsoft.ContainerService/managedClusters/extensions/daemonsets/*",
    "Microsoft.ContainerService/managedClusters/extensions/deployments/*",
    "Microsoft.ContainerService/managedClusters/extensions/ingresses/*",
    "Microsoft.ContainerService/managedClusters/extensions/networkpolicies/*",
    "Microsoft.ContainerService/managedClusters/extensions/replicasets/*",
    "Microsoft.ContainerService/managedClusters/limitranges/read",
    "Microsoft.ContainerService/managedClusters/metrics.k8s.io/pods/read",
    "Microsoft.ContainerService/managedClusters/metrics.k8s.io/nodes/read",
    "Microsoft.ContainerService/managedClusters/namespaces/read",
    "Microsoft.ContainerService/managedClusters/networking.k8s.io/ingresses/*",
    "Microsoft.ContainerService/managedClusters/networking.k8s.io/networkpolicies/*",
    "Microsoft.ContainerService/managedClusters/persistentvolumeclaims/*",
    "Microsoft.ContainerService/managedClusters/pods/*",
    "Microsoft.ContainerService/managedClusters/policy/poddisruptionbudgets/*",
    "Microsoft.ContainerService/managedClusters/replicationcontrollers/*",
    "Microsoft.ContainerService/managedClusters/resourcequotas/read",
    "Microsoft.ContainerService/managedClusters/secrets/*",
    "Microsoft.ContainerService/managedClusters/serviceaccounts/*",
    "Microsoft.ContainerService/managedClusters/services/*",
];

/// Every built-in role the emulator serves, the one list of them.
pub(crate) const BUILT_IN_ROLES: &[BuiltInRole] = &[
    BuiltInRole {
        guid: OWNER_ROLE_GUID,
        name: "Owner",
        description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        actions: &["*"],
        not_actions: &[],
        data_actions: &[],
        not_data_actions: &[],
    },
    BuiltInRole {
        guid: CONTRIBUTOR_ROLE_GUID,
        name: "Contributor",
        description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
        actions: &["*"],
        not_actions: &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
        ],
        data_actions: &[],
        not_data_actions: &[],
    },
    BuiltInRole {
        guid: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        name: "Reader",
        description: "View all resources, but does not allow you to make any changes.",
        actions: &["*/read"],
        not_actions: &[],
        data_actions: &[],
        not_data_actions: &[],
    },
    BuiltInRole {
        guid: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        name: "User Access Administrator",
        description: "Lets you manage user access to Azure resources.",
        actions: &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        not_actions: &[],
        data_actions: &[],
        not_data_actions: &[],
    },
    BuiltInRole {
        guid: "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
        name: "Azure Kubernetes Service Cluster Admin Role",
        description: "List cluster admin credential action.",
        actions: &[
            "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
            "Microsoft.ContainerService/managedClusters/accessProfiles/listCredential/action",
            "Microsoft.ContainerService/managedClusters/read",
            "Microsoft.ContainerService/managedClusters/runcommand/action",
        ],
        not_actions: &[],
        data_actions: &[],
        not_data_actions: &[],
    },
    BuiltInRole {
        guid: "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
        name: "Azure Kubernetes Service Cluster User Role",
        description: "List cluster user credential action.",
        actions: &[
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
            "Microsoft.ContainerService/managedClusters/read",
        ],
        not_actions: &[],
        data_actions: &[],
        not_data_actions: &[],
    },
    BuiltInRole {
        guid: "1afdec4b-e479-420e-99e7-f82237c7c5e6",
        name: "Azure Kubernetes Service Cluster Monitoring User",
        description: "List cluster monitoring user credential action.",
        actions: &[
            "Microsoft.ContainerService/managedClusters/listClusterMonitoringUserCredential/action",
            "Microsoft.ContainerService/managedClusters/read",
        ],
        not_actions: &[],
        data_actions: &[],
        not_data_actions: &[],
    },
    BuiltInRole {
        guid: "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8",
        name: "Azure Kubernetes Service Contributor Role",
        description: "Grants access to read and write Azure Kubernetes Service clusters",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.ContainerService/locations/*",
            "Microsoft.ContainerService/managedClusters/*",
            "Microsoft.ContainerService/managedclustersnapshots/*",
            "Microsoft.ContainerService/snapshots/*",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
        not_actions: &[],
        data_actions: &[],
        not_data_actions: &[],
    },
    BuiltInRole {
        guid: "3498e952-d568-435e-9b2c-8d77e338d7f7",
        name: "Azure Kubernetes Service RBAC Admin",
        description: "Lets you manage all resources under cluster/namespace, except update or delete resource quotas and namespaces.",
        actions: RBAC_ADMIN_ACTIONS,
        not_actions: &[],
        data_actions: &["Microsoft.ContainerService/managedClusters/*"],
        not_data_actions: &[
            "Microsoft.ContainerService/managedClusters/resourcequotas/write",
            "Microsoft.ContainerService/managedClusters/resourcequotas/delete",
            "Microsoft.ContainerService/managedClusters/namespaces/write",
            "Microsoft.ContainerService/managedClusters/namespaces/delete",
        ],
    },
    BuiltInRole {
        guid: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
        name: "Azure Kubernetes Service RBAC Cluster Admin",
        description: "Lets you manage all resources in the cluster.",
        actions: RBAC_ADMIN_ACTIONS,
        not_actions: &[],
        data_actions: &["Microsoft.ContainerService/managedClusters/*"],
        not_data_actions: &[],
    },
    BuiltInRole {
        guid: "7f6c6a51-bcf8-42ba-9220-52d62157d7db",
        name: "Azure Kubernetes Service RBAC Reader",
        description: "Allows read-only access to see most objects in a namespace. It does not allow viewing roles or role bindings. This role does not allow viewing Secrets, since reading the contents of Secrets enables access to ServiceAccount credentials in the namespace, which would allow API access as any ServiceAccount in the namespace (a form of privilege escalation). Applying this role at cluster scope will give access across all namespaces.",
        actions: RBAC_READS,
        not_actions: &[],
        data_actions: RBAC_READER_DATA_ACTIONS,
        not_data_actions: &[],
    },
    BuiltInRole {
        guid: "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb",
        name: "Azure Kubernetes Service RBAC Writer",
        description: "Allows read/write access to most objects in a namespace.This role does not allow viewing or modifying roles or role bindings. However, this role allows accessing Secrets and running Pods as any ServiceAccount in the namespace, so it can be used to gain the API access levels of any ServiceAccount in the namespace. Applying this role at cluster scope will give access across all namespaces.",
        actions: RBAC_READS,
        not_actions: &[],
        data_actions: RBAC_WRITER_DATA_ACTIONS,
        not_data_actions: &[],
    },
];

/// The built-in role with this GUID (case-insensitive).
pub(crate) fn by_guid(guid: &str) -> Option<&'static BuiltInRole> {
    BUILT_IN_ROLES
        .iter()
        .find(|role| role.guid.eq_ignore_ascii_case(guid))
}

/// The GUID at the end of a role definition id (`…/providers/Microsoft.Authorization/roleDefinitions/{guid}`,
/// at the root or under a subscription), or `None` when the text is not such an id.
pub(crate) fn guid_of_definition_id(id: &str) -> Option<&str> {
    let lower = id.to_ascii_lowercase();
    let marker = "/providers/microsoft.authorization/roledefinitions/";
    let at = lower.rfind(marker)?;
    let before = &lower[..at];
    let scope_ok = before.is_empty()
        || before
            .strip_prefix("/subscriptions/")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
    let guid = &id[at + marker.len()..];
    (scope_ok && uuid::Uuid::try_parse(guid).is_ok()).then_some(guid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_guids_are_unique_and_guids_parse() {
        for (index, role) in BUILT_IN_ROLES.iter().enumerate() {
            assert!(uuid::Uuid::try_parse(role.guid).is_ok(), "{}", role.name);
            for other in &BUILT_IN_ROLES[index + 1..] {
                assert_ne!(role.guid, other.guid);
                assert!(!role.name.eq_ignore_ascii_case(other.name));
            }
        }
    }

    #[test]
    fn definition_ids_at_the_root_or_a_subscription_name_their_guid() {
        let guid = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
        for id in [
            format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            format!("/subscriptions/abc/providers/microsoft.authorization/roledefinitions/{guid}"),
        ] {
            assert_eq!(guid_of_definition_id(&id), Some(guid), "{id}");
        }
        for bad in [
            "Reader".to_string(),
            format!("/subscriptions/abc/providers/Microsoft.Authorization/roleDefinitions/{guid}x"),
            format!(
                "/subscriptions/abc/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions/{guid}"
            ),
        ] {
            assert_eq!(guid_of_definition_id(&bad), None, "{bad}");
        }
    }
}
