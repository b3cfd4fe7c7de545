use serde::{Deserialize, Serialize};

use crate::Extra;

/// `GET {resourceManager}metadata/endpoints?api-version=2022-09-01`: the cloud description az's
/// `cloud register` discovers (docs/arm-aks-api.md, "Clouds and the metadata endpoint").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudMetadata {
    /// Cloud name as the server reports it.
    #[serde(default)]
    pub name: String,
    /// ARM endpoint.
    #[serde(default)]
    pub resource_manager: String,
    /// Authentication section: login endpoint (authority host) and audiences.
    #[serde(default)]
    pub authentication: CloudAuthentication,
    /// Graph (Microsoft Graph) resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microsoft_graph_resource_id: Option<String>,
    /// Everything else (`suffixes`, `portal`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `authentication` part of the cloud metadata.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudAuthentication {
    /// The Entra authority host (az's `endpoint_active_directory`).
    #[serde(default)]
    pub login_endpoint: String,
    /// Token audiences; the first is the ARM token audience.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Unmodelled fields (`tenant`, `identityProvider`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}
