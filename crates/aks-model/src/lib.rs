//! Serde types for the Azure Resource Manager resources aksctl reads and writes.
//!
//! What it is for: the wire shapes of `Microsoft.ContainerService/managedClusters` (API 2026-08-01), resource
//! groups, credential results, ARM error bodies and async-operation status resources; validation of the names
//! and ids a user types; and the az-style view of a resource used for `-o json` output.
//!
//! What it is not for: I/O of any kind. No HTTP, no files, no async. The ARM client (`aks-arm`) and the local
//! cloud (`aks-emulator`) both build on these types.
//!
//! Every struct keeps the properties it does not know in a `#[serde(flatten)]` map, so a GET → modify → PUT
//! never drops a cluster setting (see `docs/arm-aks-api.md`, "The ManagedCluster resource").

mod arm_error;
mod az_attributes;
pub mod az_view;
mod cloud;
mod credentials;
mod managed_cluster;
mod nullable;
mod operation;
mod permissions;
mod resource_group;
mod resource_id;
mod sdk_model;
mod subscription;
pub mod validation;

pub use arm_error::{ArmErrorBody, ArmErrorDetail};
pub use cloud::CloudMetadata;
pub use credentials::{CredentialResult, CredentialResults};
pub use managed_cluster::{
    AadMode, AadProfile, AgentPoolProfile, LinuxProfile, ManagedCluster, ManagedClusterIdentity,
    ManagedClusterList, ManagedClusterProperties, ManagedClusterSku, PowerState, SshConfiguration,
    SshPublicKey,
};
pub use operation::{AsyncOperationStatus, OperationState};
pub use permissions::{Permission, action_matches, grants};
pub use resource_group::{ResourceGroup, ResourceGroupList, ResourceGroupProperties};
pub use resource_id::ResourceId;
pub use subscription::{Subscription, SubscriptionList};

/// Extra JSON properties a struct does not model; kept so that writes never drop them.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// The `api-version` aksctl speaks for `Microsoft.ContainerService/managedClusters`.
pub const MANAGED_CLUSTERS_API_VERSION: &str = "2026-08-01";
/// The `api-version` aksctl speaks for `Microsoft.Resources/resourceGroups` (what az 2.91 sends).
pub const RESOURCE_GROUPS_API_VERSION: &str = "2024-11-01";
/// The `api-version` for listing subscriptions and tenants (az's `SubscriptionClient` serves `/subscriptions` and
/// `/tenants` with one api-version).
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";
/// The `api-version` az uses for cloud metadata discovery (`{arm}/metadata/endpoints`).
pub const CLOUD_METADATA_API_VERSION: &str = "2022-09-01";
/// The Microsoft Graph version aksctl calls, as az does (docs/graph-groups.md).
pub const MICROSOFT_GRAPH_API_VERSION: &str = "v1.0";
/// The `api-version` az 2.91 (azure-mgmt-authorization 5.0.0b2) sends for `Microsoft.Authorization/roleAssignments`.
pub const ROLE_ASSIGNMENTS_API_VERSION: &str = "2022-04-01";
/// The `api-version` az 2.91 sends for `Microsoft.Authorization/roleDefinitions`.
pub const ROLE_DEFINITIONS_API_VERSION: &str = "2022-05-01-preview";
/// The `api-version` of `…/providers/Microsoft.Authorization/permissions` (the 2022-04-01 specification).
pub const PERMISSIONS_API_VERSION: &str = "2022-04-01";
/// Every API version aksctl speaks, by the name `aksctl version` shows it under; the constants above are the only
/// place each is written (the emulator keeps its own list, as ARM does).
pub const API_VERSIONS: [(&str, &str); 8] = [
    ("managedClusters", MANAGED_CLUSTERS_API_VERSION),
    ("resourceGroups", RESOURCE_GROUPS_API_VERSION),
    ("subscriptions", SUBSCRIPTIONS_API_VERSION),
    ("cloudMetadata", CLOUD_METADATA_API_VERSION),
    ("microsoftGraph", MICROSOFT_GRAPH_API_VERSION),
    ("roleAssignments", ROLE_ASSIGNMENTS_API_VERSION),
    ("roleDefinitions", ROLE_DEFINITIONS_API_VERSION),
    ("permissions", PERMISSIONS_API_VERSION),
];
/// "Azure Kubernetes Service AAD Server": the audience of tokens for AKS API servers
/// (docs/arm-aks-api.md, "Well-known application ids").
pub const AKS_SERVER_APP_ID: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";
/// "Azure Kubernetes Service AAD Client": the public client kubelogin signs users in with (docs/arm-aks-api.md,
/// "Well-known application ids").
pub const AKS_CLIENT_APP_ID: &str = "80faf920-1908-4b52-b5ef-a8e7bedfc67a";
/// The Azure CLI's public client id.
pub const AZURE_CLI_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
/// The resource type string of a managed cluster.
pub const MANAGED_CLUSTER_TYPE: &str = "Microsoft.ContainerService/managedClusters";
/// The resource type string of a resource group.
pub const RESOURCE_GROUP_TYPE: &str = "Microsoft.Resources/resourceGroups";
