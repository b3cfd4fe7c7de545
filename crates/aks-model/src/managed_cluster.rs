use serde::{Deserialize, Serialize};

use crate::{Extra, nullable};

/// `Microsoft.ContainerService/managedClusters`, API 2026-08-01 (docs/arm-aks-api.md, "The ManagedCluster resource").
/// Only the fields the guide and az touch are typed; everything else lives in `extra` maps and survives a
/// GET → modify → PUT.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedCluster {
    /// Resource id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Cluster name (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Resource type (read-only).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Azure region.
    #[serde(default)]
    pub location: String,
    /// Resource tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<serde_json::Map<String, serde_json::Value>>,
    /// SKU (tier Free/Standard/Premium).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<ManagedClusterSku>,
    /// Cluster identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<ManagedClusterIdentity>,
    /// Cluster properties.
    #[serde(default)]
    pub properties: ManagedClusterProperties,
    /// Unmodelled top-level fields (`eTag`, `systemData`, `kind`, `extendedLocation`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ManagedClusterProperties`: the fields this project reads or writes
/// (docs/arm-aks-api.md, "Properties this project reads or writes"). Its `Debug` redacts write-only secrets kept in
/// `extra` (`servicePrincipalProfile.secret`, `windowsProfile.adminPassword`).
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedClusterProperties {
    /// Current provisioning state (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// Running or Stopped (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_state: Option<PowerState>,
    /// Requested Kubernetes version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// Running Kubernetes version (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_kubernetes_version: Option<String>,
    /// DNS prefix; immutable after create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_prefix: Option<String>,
    /// API server FQDN (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Portal FQDN (read-only).
    #[serde(
        rename = "azurePortalFQDN",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub azure_portal_fqdn: Option<String>,
    /// Private API server FQDN (read-only).
    #[serde(
        rename = "privateFQDN",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub private_fqdn: Option<String>,
    /// `MC_<rg>_<cluster>_<location>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_resource_group: Option<String>,
    /// Kubernetes RBAC.
    #[serde(
        rename = "enableRBAC",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_rbac: Option<bool>,
    /// Entra (AAD) integration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad_profile: Option<AadProfile>,
    /// When true, admin (static) credentials are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_local_accounts: Option<bool>,
    /// Node pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_pool_profiles: Option<Vec<AgentPoolProfile>>,
    /// Linux admin user and SSH key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_profile: Option<LinuxProfile>,
    /// Unmodelled properties (`networkProfile`, `identityProfile`, `addonProfiles`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ManagedClusterAADProfile` with the exact wire names (docs/arm-aks-api.md, "aadProfile"). `Debug` never shows
/// the secret.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AadProfile {
    /// AKS-managed Entra integration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    /// Azure RBAC for Kubernetes authorization.
    #[serde(
        rename = "enableAzureRBAC",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_azure_rbac: Option<bool>,
    /// Admin group object ids; `Some(None)` is an explicit JSON `null`.
    #[serde(
        rename = "adminGroupObjectIDs",
        default,
        deserialize_with = "nullable::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub admin_group_object_ids: Option<Option<Vec<String>>>,
    /// Tenant; ARM defaults it to the subscription's tenant.
    #[serde(rename = "tenantID", default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Legacy client application id (deprecated).
    #[serde(
        rename = "clientAppID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_app_id: Option<String>,
    /// Legacy server application id (deprecated).
    #[serde(
        rename = "serverAppID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_app_id: Option<String>,
    /// Legacy server application secret (deprecated, write-only). Never printed.
    #[serde(
        rename = "serverAppSecret",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_app_secret: Option<String>,
    /// Unmodelled fields (e.g. `adminUsers`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Keys whose values never reach `Debug` output (matched case-insensitively, at any depth of an `extra` map).
const SECRET_KEYS: &[&str] = &[
    "secret",
    "serverappsecret",
    "adminpassword",
    "password",
    "clientsecret",
    "token",
];

/// A copy of `value` with every secret (per [`SECRET_KEYS`]) replaced by `"<redacted>"`.
fn redact_secrets(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(key, item)| {
                    let secret =
                        SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str()) && !item.is_null();
                    let shown = if secret {
                        serde_json::Value::String("<redacted>".into())
                    } else {
                        redact_secrets(item)
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(redact_secrets).collect())
        }
        other => other.clone(),
    }
}

impl std::fmt::Debug for ManagedClusterProperties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedClusterProperties")
            .field("provisioning_state", &self.provisioning_state)
            .field("power_state", &self.power_state)
            .field("kubernetes_version", &self.kubernetes_version)
            .field(
                "current_kubernetes_version",
                &self.current_kubernetes_version,
            )
            .field("dns_prefix", &self.dns_prefix)
            .field("fqdn", &self.fqdn)
            .field("azure_portal_fqdn", &self.azure_portal_fqdn)
            .field("private_fqdn", &self.private_fqdn)
            .field("node_resource_group", &self.node_resource_group)
            .field("enable_rbac", &self.enable_rbac)
            .field("aad_profile", &self.aad_profile)
            .field("disable_local_accounts", &self.disable_local_accounts)
            .field("agent_pool_profiles", &self.agent_pool_profiles)
            .field("linux_profile", &self.linux_profile)
            .field(
                "extra",
                &redact_secrets(&serde_json::Value::Object(self.extra.clone())),
            )
            .finish()
    }
}

impl std::fmt::Debug for AadProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AadProfile")
            .field("managed", &self.managed)
            .field("enable_azure_rbac", &self.enable_azure_rbac)
            .field("admin_group_object_ids", &self.admin_group_object_ids)
            .field("tenant_id", &self.tenant_id)
            .field("client_app_id", &self.client_app_id)
            .field("server_app_id", &self.server_app_id)
            .field(
                "server_app_secret",
                &self.server_app_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "extra",
                &redact_secrets(&serde_json::Value::Object(self.extra.clone())),
            )
            .finish()
    }
}

impl AadProfile {
    /// The profile `az aks create --enable-aad` builds (docs/az-behaviour.md, "aks create"): managed, explicit
    /// Azure-RBAC flag, groups and tenant only when given.
    pub fn managed(
        enable_azure_rbac: bool,
        admin_groups: Option<Vec<String>>,
        tenant_id: Option<String>,
    ) -> Self {
        AadProfile {
            managed: Some(true),
            enable_azure_rbac: Some(enable_azure_rbac),
            admin_group_object_ids: admin_groups.map(Some),
            tenant_id,
            ..AadProfile::default()
        }
    }

    /// The admin groups, treating `null` as none.
    pub fn admin_groups(&self) -> &[String] {
        match &self.admin_group_object_ids {
            Some(Some(groups)) => groups,
            _ => &[],
        }
    }

    /// Whether this is AKS-managed integration (`managed == true`).
    pub fn is_managed(&self) -> bool {
        self.managed == Some(true)
    }
}

/// Which Entra integration a cluster has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AadMode {
    /// No `aadProfile`.
    None,
    /// Legacy (client/server apps, `managed` absent or false).
    Legacy,
    /// AKS-managed Entra integration.
    Managed,
}

impl AadMode {
    /// Lower-case name for tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AadMode::None => "none",
            AadMode::Legacy => "legacy",
            AadMode::Managed => "managed",
        }
    }
}

impl ManagedCluster {
    /// The cluster's Entra mode (az's `check_is_managed_aad_cluster`, docs/az-behaviour.md "aks update").
    pub fn aad_mode(&self) -> AadMode {
        match &self.properties.aad_profile {
            None => AadMode::None,
            Some(profile) if profile.is_managed() => AadMode::Managed,
            Some(_) => AadMode::Legacy,
        }
    }

    /// The Kubernetes version actually running, else the requested one.
    pub fn kubernetes_version(&self) -> Option<&str> {
        self.properties
            .current_kubernetes_version
            .as_deref()
            .filter(|v| !v.is_empty())
            .or(self
                .properties
                .kubernetes_version
                .as_deref()
                .filter(|v| !v.is_empty()))
    }

    /// Kubernetes RBAC is on unless explicitly false.
    pub fn rbac_enabled(&self) -> bool {
        self.properties.enable_rbac != Some(false)
    }
}

/// `ManagedClusterSKU`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ManagedClusterSku {
    /// `Base` or `Automatic` (any string accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Free`, `Standard` or `Premium`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ManagedClusterIdentity`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedClusterIdentity {
    /// `SystemAssigned`, `UserAssigned` or `None`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub identity_type: Option<String>,
    /// Principal id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// Tenant id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Unmodelled fields (`userAssignedIdentities`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `PowerState`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PowerState {
    /// `Running` or `Stopped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ManagedClusterAgentPoolProfile` (docs/arm-aks-api.md, "Agent pools").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPoolProfile {
    /// Pool name (`^[a-z][a-z0-9]{0,11}$`).
    #[serde(default)]
    pub name: String,
    /// Node count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// VM size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_size: Option<String>,
    /// `Linux` / `Windows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    /// `System` / `User`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Requested version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestrator_version: Option<String>,
    /// Running version (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_orchestrator_version: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContainerServiceLinuxProfile`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxProfile {
    /// Admin user name.
    #[serde(default)]
    pub admin_username: String,
    /// SSH keys.
    #[serde(default)]
    pub ssh: SshConfiguration,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContainerServiceSshConfiguration`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SshConfiguration {
    /// At most one key.
    #[serde(default)]
    pub public_keys: Vec<SshPublicKey>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One SSH public key.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SshPublicKey {
    /// The OpenSSH public key text.
    #[serde(default)]
    pub key_data: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A page of managed clusters (`value` + `nextLink`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedClusterList {
    /// The clusters.
    #[serde(default)]
    pub value: Vec<ManagedCluster>,
    /// Next page URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let body = json!({
            "location": "eastus",
            "futureTopLevel": {"x": 1},
            "sku": {"name": "Base", "tier": "Free", "newSkuField": true},
            "properties": {
                "enableRBAC": true,
                "nodeProvisioningProfile": {"mode": "Auto"},
                "aadProfile": {"managed": true, "adminGroupObjectIDs": null, "adminUsers": null, "futureAad": "x"},
                "agentPoolProfiles": [{"name": "nodepool1", "count": 3, "gpuProfile": {"driver": "Install"}}]
            }
        });
        let cluster: ManagedCluster = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(cluster.aad_mode(), AadMode::Managed);
        assert_eq!(serde_json::to_value(&cluster).unwrap(), body);
    }

    #[test]
    fn aad_modes() {
        let mut cluster = ManagedCluster::default();
        assert_eq!(cluster.aad_mode(), AadMode::None);
        cluster.properties.aad_profile = Some(AadProfile {
            client_app_id: Some("c".into()),
            server_app_id: Some("s".into()),
            ..AadProfile::default()
        });
        assert_eq!(cluster.aad_mode(), AadMode::Legacy);
        cluster.properties.aad_profile = Some(AadProfile::managed(false, None, None));
        assert_eq!(cluster.aad_mode(), AadMode::Managed);
    }

    #[test]
    fn debug_never_shows_the_server_app_secret() {
        let profile = AadProfile {
            server_app_secret: Some("hunter2-secret".into()),
            ..AadProfile::default()
        };
        let shown = format!("{profile:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn debug_of_a_whole_cluster_shows_no_write_only_secret() {
        let cluster: ManagedCluster = serde_json::from_value(serde_json::json!({
            "location": "eastus",
            "properties": {
                "aadProfile": {"serverAppSecret": "aad-secret-1", "clientAppID": "c", "extraSecret": {"password": "aad-pw-2"}},
                "servicePrincipalProfile": {"clientId": "sp-id", "secret": "sp-secret-3"},
                "windowsProfile": {"adminUsername": "azureuser", "adminPassword": "win-pw-4"},
                "identityProfile": {"kubeletidentity": {"clientId": "k"}}
            }
        }))
        .unwrap();
        let shown = format!("{cluster:?}");
        for secret in ["aad-secret-1", "aad-pw-2", "sp-secret-3", "win-pw-4"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("sp-id") && shown.contains("azureuser"),
            "{shown}"
        );
    }

    #[test]
    fn create_body_matches_az() {
        let profile =
            AadProfile::managed(false, Some(vec!["a".into(), "b".into()]), Some("t".into()));
        assert_eq!(
            serde_json::to_value(&profile).unwrap(),
            json!({"managed": true, "enableAzureRBAC": false, "adminGroupObjectIDs": ["a", "b"], "tenantID": "t"})
        );
        let profile = AadProfile::managed(true, None, None);
        assert_eq!(
            serde_json::to_value(&profile).unwrap(),
            json!({"managed": true, "enableAzureRBAC": true})
        );
    }
}
