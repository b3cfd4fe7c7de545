//! What a request needs to know about its cluster, copied out of the store once per request.

use std::collections::BTreeMap;

use aks_model::ManagedCluster;
use serde_json::Value;

use crate::state::{ClusterKey, SharedState};

/// A snapshot of one cluster's record.
pub(super) struct ClusterView {
    pub cluster: ManagedCluster,
    pub resource_group: String,
    pub name: String,
    pub admin_token: String,
    pub kube_port: u16,
    pub created_ms: u64,
    /// Objects created through the Kubernetes API (RBAC roles and bindings), by `{resource}/{namespace}/{name}`.
    pub objects: BTreeMap<String, Value>,
}

impl ClusterView {
    /// The stored cluster `key`, if it exists.
    pub(super) fn of(state: &SharedState, key: &ClusterKey) -> Option<ClusterView> {
        let store = state.store();
        let record = store.clusters.get(key)?;
        Some(ClusterView {
            cluster: record.cluster.clone(),
            resource_group: record.resource_group.clone(),
            name: record.name.clone(),
            admin_token: record.admin_token.clone(),
            kube_port: record.kube_port,
            created_ms: record.api_server.created_ms,
            objects: record.kube_objects.clone(),
        })
    }

    /// The running Kubernetes version of the cluster, like `1.32.4`.
    pub(super) fn version(&self) -> String {
        self.cluster
            .properties
            .current_kubernetes_version
            .clone()
            .filter(|version| !version.is_empty())
            .unwrap_or_else(|| "1.32.4".to_string())
    }

    /// Whether the cluster has Entra integration (managed or legacy).
    pub(super) fn entra(&self) -> bool {
        matches!(
            self.cluster.aad_mode(),
            aks_model::AadMode::Managed | aks_model::AadMode::Legacy
        )
    }

    /// The cluster's admin group object ids (AAD clusters).
    pub(super) fn admin_groups(&self) -> Vec<String> {
        match (&self.cluster.properties.aad_profile, self.entra()) {
            (Some(aad), true) => aad.admin_groups().to_vec(),
            _ => Vec::new(),
        }
    }

    /// Whether Kubernetes requests are also authorised by Azure RBAC (`aadProfile.enableAzureRBAC`).
    pub(super) fn azure_rbac(&self) -> bool {
        self.entra()
            && self
                .cluster
                .properties
                .aad_profile
                .as_ref()
                .and_then(|aad| aad.enable_azure_rbac)
                == Some(true)
    }

    /// The cluster's ARM resource id.
    pub(super) fn cluster_id(&self) -> String {
        self.cluster.id.clone().unwrap_or_else(|| {
            format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerService/managedClusters/{}",
                crate::SUBSCRIPTION_ID,
                self.resource_group,
                self.name
            )
        })
    }
}
