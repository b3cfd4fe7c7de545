//! The plan: one row per cluster in scope, saying whether it will be migrated and what it will get, with the
//! warnings an operator should read first (docs/az-behaviour.md "aks update"; docs/arm-aks-api.md "Managed AAD rules").

use aks_model::{AadMode, ManagedCluster, ResourceId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::update::is_free_tier;

/// What happens to a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Action {
    /// Legacy AAD with Kubernetes RBAC: PUT with `aadProfile = {managed: true, …}`.
    Migrate,
    /// Nothing to do, or nothing that can be done (see the reason).
    Skip,
}

/// Why a cluster is skipped: already managed.
pub(super) const ALREADY_MANAGED: &str = "already managed";
/// Why a cluster is skipped: it has no Entra integration at all.
pub(super) const NO_AAD: &str =
    "no AAD integration (not a legacy AAD cluster; use aksctl aks update --enable-aad)";
/// Why a cluster is skipped: Kubernetes RBAC is off.
pub(super) const RBAC_DISABLED: &str = "Kubernetes RBAC disabled: cannot migrate (AKS-managed Microsoft Entra integration needs Kubernetes RBAC)";

/// One cluster of the plan (also one `plan` line of the journal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PlanRow {
    /// The ARM resource id.
    pub id: String,
    /// Cluster name.
    pub name: String,
    /// Resource group.
    pub resource_group: String,
    /// Subscription id.
    pub subscription: String,
    /// SKU tier (`Free` when unset).
    pub tier: String,
    /// Running (else requested) Kubernetes version.
    pub kubernetes_version: String,
    /// `none`, `legacy` or `managed`.
    pub aad_mode: String,
    /// `migrate` or `skip`.
    pub action: Action,
    /// Why it is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The admin groups it will get (`None`: not set, as `aks update` without the flag).
    #[serde(default)]
    pub admin_group_object_ids: Option<Vec<String>>,
    /// The tenant it will get (the flag, else the subscription's tenant when known).
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// What to know before migrating.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl PlanRow {
    /// The key clusters are matched by (ids are case-insensitive).
    pub(super) fn key(&self) -> String {
        self.id.to_ascii_lowercase()
    }

    /// `group/name`, for progress lines.
    pub(super) fn label(&self) -> String {
        format!("{}/{}", self.resource_group, self.name)
    }
}

/// What the clusters will get.
#[derive(Debug, Clone, Default)]
pub(super) struct Target {
    /// `--aad-admin-group-object-ids`.
    pub admin_groups: Option<Vec<String>>,
    /// `--aad-tenant-id`.
    pub tenant_id: Option<String>,
}

/// The row for a cluster read from ARM. `subscription_tenant` is the tenant ARM defaults to when no
/// `--aad-tenant-id` is given.
pub(super) fn row(
    cluster: &ManagedCluster,
    fallback_id: &str,
    target: &Target,
    subscription_tenant: Option<&str>,
) -> PlanRow {
    let id = cluster
        .id
        .clone()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| fallback_id.to_string());
    let parsed = ResourceId::parse(&id);
    let name = cluster
        .name
        .clone()
        .or_else(|| parsed.as_ref().map(|p| p.name.clone()))
        .unwrap_or_default();
    let resource_group = parsed
        .as_ref()
        .map(|p| p.resource_group.clone())
        .unwrap_or_default();
    let subscription = parsed
        .as_ref()
        .map(|p| p.subscription_id.clone())
        .unwrap_or_default();
    let mode = cluster.aad_mode();
    let mut warnings = Vec::new();
    let (action, reason) = match mode {
        AadMode::Managed => (Action::Skip, Some(ALREADY_MANAGED.to_string())),
        AadMode::None => (Action::Skip, Some(NO_AAD.to_string())),
        AadMode::Legacy if !cluster.rbac_enabled() => {
            warnings.push("RBAC disabled: cannot migrate".to_string());
            (Action::Skip, Some(RBAC_DISABLED.to_string()))
        }
        AadMode::Legacy => (Action::Migrate, None),
    };
    let tenant_id = target
        .tenant_id
        .clone()
        .or_else(|| subscription_tenant.map(str::to_string));
    if action == Action::Migrate {
        if is_free_tier(cluster) {
            warnings.push(
                "Free tier: the API server may see downtime during the migration".to_string(),
            );
        }
        let legacy_tenant = cluster
            .properties
            .aad_profile
            .as_ref()
            .and_then(|aad| aad.tenant_id.as_deref())
            .filter(|tenant| !tenant.is_empty());
        if let (Some(old), Some(new)) = (legacy_tenant, tenant_id.as_deref())
            && !old.eq_ignore_ascii_case(new)
        {
            warnings.push(format!("tenant changes from {old} to {new}"));
        }
        if target.admin_groups.as_ref().is_none_or(Vec::is_empty) {
            warnings.push(
                "no admin group: only Azure RBAC or local accounts will grant cluster-admin"
                    .to_string(),
            );
        }
        if let Some(state) = cluster.properties.provisioning_state.as_deref()
            && !state.eq_ignore_ascii_case("Succeeded")
        {
            warnings.push(format!(
                "provisioningState is {state}: a running operation is waited for"
            ));
        }
    }
    let migrating = action == Action::Migrate;
    PlanRow {
        id,
        name,
        resource_group,
        subscription,
        tier: cluster
            .sku
            .as_ref()
            .and_then(|sku| sku.tier.clone())
            .unwrap_or_else(|| "Free".to_string()),
        kubernetes_version: cluster.kubernetes_version().unwrap_or_default().to_string(),
        aad_mode: mode.as_str().to_string(),
        action,
        reason,
        admin_group_object_ids: if migrating {
            target.admin_groups.clone()
        } else {
            None
        },
        tenant_id: if migrating { tenant_id } else { None },
        warnings,
    }
}

/// The row for a cluster that could not be read (`--ids` naming a missing cluster).
pub(super) fn unreadable(id: &str, reason: String) -> PlanRow {
    let parsed = ResourceId::parse(id);
    PlanRow {
        id: id.to_string(),
        name: parsed.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
        resource_group: parsed
            .as_ref()
            .map(|p| p.resource_group.clone())
            .unwrap_or_default(),
        subscription: parsed
            .as_ref()
            .map(|p| p.subscription_id.clone())
            .unwrap_or_default(),
        tier: String::new(),
        kubernetes_version: String::new(),
        aad_mode: String::new(),
        action: Action::Skip,
        reason: Some(reason),
        admin_group_object_ids: None,
        tenant_id: None,
        warnings: Vec::new(),
    }
}

/// The plan as the table shows it: scalar columns only.
pub(super) fn table_view(rows: &[PlanRow]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| {
                // A skipped cluster shows why first, then the warnings its reason does not already say.
                let mut warnings = Vec::new();
                if let Some(reason) = &row.reason {
                    warnings.push(reason.clone());
                }
                warnings.extend(
                    row.warnings
                        .iter()
                        .filter(|warning| !row.reason.as_ref().is_some_and(|r| r.contains(*warning)))
                        .cloned(),
                );
                json!({
                    "name": row.name,
                    "resourceGroup": row.resource_group,
                    "tier": row.tier,
                    "kubernetesVersion": row.kubernetes_version,
                    "aadMode": row.aad_mode,
                    "action": match row.action { Action::Migrate => "migrate", Action::Skip => "skip" },
                    "adminGroups": row.admin_group_object_ids.as_deref().unwrap_or_default().join(","),
                    "tenantId": row.tenant_id.clone().unwrap_or_default(),
                    "warnings": warnings.join("; "),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(aad: Value, rbac: bool, tier: &str) -> ManagedCluster {
        serde_json::from_value(json!({
            "id": "/subscriptions/s1/resourcegroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1",
            "name": "c1",
            "location": "eastus",
            "sku": {"name": "Base", "tier": tier},
            "properties": {"kubernetesVersion": "1.32", "currentKubernetesVersion": "1.32.4",
                           "provisioningState": "Succeeded", "enableRBAC": rbac, "aadProfile": aad}
        }))
        .unwrap()
    }

    fn legacy() -> Value {
        json!({"clientAppID": "c", "serverAppID": "s", "serverAppSecret": "hunter2", "tenantID": "old"})
    }

    fn target() -> Target {
        Target {
            admin_groups: Some(vec!["g1".into()]),
            tenant_id: Some("new".into()),
        }
    }

    #[test]
    fn legacy_rbac_clusters_are_migrated_with_their_warnings() {
        let row = row(&cluster(legacy(), true, "Free"), "x", &target(), None);
        assert_eq!(row.action, Action::Migrate);
        assert_eq!(
            (
                row.name.as_str(),
                row.resource_group.as_str(),
                row.subscription.as_str()
            ),
            ("c1", "rg1", "s1")
        );
        assert_eq!(row.aad_mode, "legacy");
        assert_eq!(row.kubernetes_version, "1.32.4");
        assert_eq!(row.admin_group_object_ids, Some(vec!["g1".to_string()]));
        assert_eq!(row.tenant_id.as_deref(), Some("new"));
        assert!(row.warnings[0].starts_with("Free tier"));
        assert_eq!(row.warnings[1], "tenant changes from old to new");
        let text = serde_json::to_string(&row).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn others_are_skipped_with_a_reason() {
        let managed = row(
            &cluster(json!({"managed": true}), true, "Standard"),
            "x",
            &target(),
            None,
        );
        assert_eq!(
            (managed.action, managed.reason.as_deref()),
            (Action::Skip, Some(ALREADY_MANAGED))
        );
        assert_eq!(managed.admin_group_object_ids, None);
        let no_rbac = row(&cluster(legacy(), false, "Standard"), "x", &target(), None);
        assert_eq!(no_rbac.reason.as_deref(), Some(RBAC_DISABLED));
        assert_eq!(no_rbac.warnings, ["RBAC disabled: cannot migrate"]);
        let none = row(
            &cluster(Value::Null, true, "Standard"),
            "x",
            &target(),
            None,
        );
        assert_eq!(none.reason.as_deref(), Some(NO_AAD));
    }

    #[test]
    fn the_subscription_tenant_is_the_default() {
        let row = row(
            &cluster(legacy(), true, "Standard"),
            "x",
            &Target::default(),
            Some("sub-tenant"),
        );
        assert_eq!(row.tenant_id.as_deref(), Some("sub-tenant"));
        assert!(row.warnings.iter().any(|w| w.starts_with("no admin group")));
        let view = table_view(&[row]);
        assert_eq!(view[0]["adminGroups"], "");
        assert_eq!(view[0]["action"], "migrate");
        let no_rbac = super::row(&cluster(legacy(), false, "Standard"), "x", &target(), None);
        let mut held = super::row(&cluster(legacy(), true, "Standard"), "x", &target(), None);
        held.action = Action::Skip;
        held.reason = Some("no admin path".into());
        let view = table_view(&[no_rbac, held]);
        assert_eq!(view[0]["warnings"], RBAC_DISABLED, "said once");
        assert_eq!(
            view[1]["warnings"],
            "no admin path; tenant changes from old to new"
        );
    }
}
