//! `Microsoft.ContainerService/managedClusters`: PUT (create/update with AKS's rules), GET, DELETE and lists
//! (docs/arm-aks-api.md; docs/az-behaviour.md).

use aks_model::{
    AadMode, ArmErrorBody, ManagedCluster, ManagedClusterProperties, ManagedClusterSku, PowerState,
    validation,
};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::operations::{self, operation_headers, set_provisioning_state};
use super::{Paging, Visible, existing_group, paged, resource_group_not_found};
use crate::http::{Ctx, arm_error, empty, invalid_content, json};
use crate::pki;
use crate::state::{
    ClusterKey, ClusterRecord, OperationKind, SharedState, Store, Subscription, cluster_key,
    public_view, random_guid, random_hex,
};
use crate::{EmulatorError, TENANT_ID};

/// Kubernetes version chosen when a PUT leaves `kubernetesVersion` empty.
pub(crate) const DEFAULT_KUBERNETES_VERSION: &str = "1.32";
/// VM size chosen when a pool leaves `vmSize` empty (az sends `""`).
const DEFAULT_VM_SIZE: &str = "Standard_DS2_v2";
/// The node image every pool reports.
const NODE_IMAGE_VERSION: &str = "AKSUbuntu-2204gen2containerd-202505.14.0";
/// The resource type string AKS writes in answers (capital M, unlike the path).
const ANSWER_TYPE: &str = "Microsoft.ContainerService/ManagedClusters";

/// The full version for a requested one: `1.32` → `1.32.4`; a full `x.y.z` is kept.
pub(crate) fn full_version(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() != 2 {
        return version.to_string();
    }
    let patch = match parts[1] {
        "33" => "1",
        "32" => "4",
        "31" | "30" | "29" => "9",
        "28" => "15",
        "27" => "16",
        _ => "0",
    };
    format!("{version}.{patch}")
}

/// `(major, minor)` of a version string.
pub(crate) fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.trim_end_matches('+').parse().ok()?;
    Some((major, minor))
}

/// Where a cluster lives, for the server-filled fields.
pub(crate) struct Placement<'a> {
    /// The subscription (its id is written in the cluster's resource ids).
    pub subscription: &'a Subscription,
    /// Resource group name (as stored).
    pub group: &'a str,
    /// Cluster name (as stored).
    pub name: &'a str,
    /// Normalized location.
    pub location: &'a str,
}

fn default_value(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

fn object<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    if !map.get(key).is_some_and(Value::is_object) {
        map.insert(key.to_string(), Value::Object(Map::new()));
    }
    match map.get_mut(key) {
        Some(Value::Object(inner)) => inner,
        _ => unreachable!("just inserted an object"),
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.is_empty())
}

/// Fill the fields the server owns or defaults (docs/az-behaviour.md). On update (`previous` set), read-only
/// fields in the body are ignored and the server's values kept.
pub(crate) fn fill_server_fields(
    cluster: &mut ManagedCluster,
    place: &Placement<'_>,
    previous: Option<&ManagedCluster>,
) {
    let Placement {
        subscription,
        group,
        name,
        location,
    } = *place;
    cluster.id = Some(format!(
        "/subscriptions/{}/resourcegroups/{group}/providers/Microsoft.ContainerService/managedClusters/{name}",
        subscription.id()
    ));
    cluster.name = Some(name.to_string());
    cluster.resource_type = Some(ANSWER_TYPE.to_string());
    cluster.location = location.to_string();

    let sku = cluster.sku.get_or_insert_with(ManagedClusterSku::default);
    sku.name.get_or_insert_with(|| "Base".into());
    sku.tier.get_or_insert_with(|| "Free".into());

    let managed_identity = fill_identity(cluster, previous);
    let previous_properties = previous.map(|p| &p.properties);
    let properties = &mut cluster.properties;
    let (version, node_resource_group) = fill_properties(properties, previous_properties, place);
    fill_extra(
        properties,
        previous_properties,
        managed_identity,
        &node_resource_group,
        place,
    );
    fill_agent_pools(properties, &version);
}

/// A system-assigned identity keeps its principal; whether the cluster has a managed identity at all.
fn fill_identity(cluster: &mut ManagedCluster, previous: Option<&ManagedCluster>) -> bool {
    let identity_type = cluster
        .identity
        .as_ref()
        .and_then(|identity| identity.identity_type.clone())
        .unwrap_or_default();
    let managed_identity = identity_type.eq_ignore_ascii_case("SystemAssigned")
        || identity_type.eq_ignore_ascii_case("UserAssigned");
    if let Some(identity) = cluster.identity.as_mut()
        && identity_type.eq_ignore_ascii_case("SystemAssigned")
    {
        let previous_principal = previous
            .and_then(|p| p.identity.as_ref())
            .and_then(|i| i.principal_id.clone());
        identity.principal_id = Some(previous_principal.unwrap_or_else(random_guid));
        identity.tenant_id = Some(TENANT_ID.to_string());
    }

    managed_identity
}

/// Power state, versions, DNS prefix and FQDNs, node resource group, RBAC, local accounts and the AAD profile's
/// server-side fields; returns the Kubernetes version and the node resource group.
fn fill_properties(
    properties: &mut ManagedClusterProperties,
    previous_properties: Option<&ManagedClusterProperties>,
    place: &Placement<'_>,
) -> (String, String) {
    let Placement {
        subscription,
        group,
        name,
        location,
    } = *place;
    properties.power_state = Some(
        previous_properties
            .and_then(|p| p.power_state.clone())
            .unwrap_or(PowerState {
                code: Some("Running".into()),
                ..PowerState::default()
            }),
    );
    let version = non_empty(&properties.kubernetes_version)
        .unwrap_or(DEFAULT_KUBERNETES_VERSION)
        .to_string();
    properties.current_kubernetes_version = Some(full_version(&version));
    properties.kubernetes_version = Some(version.clone());

    if non_empty(&properties.dns_prefix).is_none() {
        properties.dns_prefix = Some(
            previous_properties
                .and_then(|p| p.dns_prefix.clone())
                .unwrap_or_else(|| validation::default_dns_prefix(name, group, subscription.id())),
        );
    }
    let dns_prefix = properties.dns_prefix.clone().unwrap_or_default();
    let previous_fqdn = previous_properties.and_then(|p| p.fqdn.clone());
    match previous_fqdn {
        Some(fqdn) => {
            properties.fqdn = Some(fqdn);
            properties.azure_portal_fqdn =
                previous_properties.and_then(|p| p.azure_portal_fqdn.clone());
        }
        None => {
            let hash = random_hex(8);
            properties.fqdn = Some(format!("{dns_prefix}-{hash}.hcp.{location}.azmk8s.io"));
            properties.azure_portal_fqdn = Some(format!(
                "{dns_prefix}-{hash}.portal.hcp.{location}.azmk8s.io"
            ));
        }
    }
    let node_resource_group = previous_properties
        .and_then(|p| p.node_resource_group.clone())
        .or_else(|| non_empty(&properties.node_resource_group).map(str::to_string))
        .unwrap_or_else(|| format!("MC_{group}_{name}_{location}"));
    properties.node_resource_group = Some(node_resource_group.clone());
    if properties.enable_rbac.is_none() {
        properties.enable_rbac = Some(
            previous_properties
                .and_then(|p| p.enable_rbac)
                .unwrap_or(true),
        );
    }
    if properties.disable_local_accounts.is_none() {
        properties.disable_local_accounts = Some(
            previous_properties
                .and_then(|p| p.disable_local_accounts)
                .unwrap_or(false),
        );
    }
    if let Some(aad) = properties.aad_profile.as_mut() {
        if aad.is_managed() && non_empty(&aad.tenant_id).is_none() {
            aad.tenant_id = Some(TENANT_ID.to_string());
        }
        if !aad.is_managed() && aad.server_app_secret.is_none() {
            aad.server_app_secret = previous_properties
                .and_then(|p| p.aad_profile.as_ref())
                .and_then(|p| p.server_app_secret.clone());
        }
    }

    (version, node_resource_group)
}

/// The properties ARM adds that aksctl does not model (`maxAgentPools`, `resourceUID`, network defaults, the
/// kubelet identity).
fn fill_extra(
    properties: &mut ManagedClusterProperties,
    previous_properties: Option<&ManagedClusterProperties>,
    managed_identity: bool,
    node_resource_group: &str,
    place: &Placement<'_>,
) {
    let Placement {
        subscription, name, ..
    } = *place;
    let previous_extra = previous_properties.map(|p| &p.extra);
    let extra = &mut properties.extra;
    extra.insert("maxAgentPools".into(), json!(100));
    let resource_uid = previous_extra
        .and_then(|e| e.get("resourceUID").cloned())
        .unwrap_or_else(|| json!(random_hex(24)));
    extra.insert("resourceUID".into(), resource_uid);
    default_value(extra, "supportPlan", json!("KubernetesOfficial"));
    let oidc = object(extra, "oidcIssuerProfile");
    default_value(oidc, "enabled", json!(false));
    let network = object(extra, "networkProfile");
    for (key, value) in [
        ("networkPlugin", json!("azure")),
        ("networkPluginMode", json!("overlay")),
        ("podCidr", json!("10.244.0.0/16")),
        ("serviceCidr", json!("10.0.0.0/16")),
        ("dnsServiceIP", json!("10.0.0.10")),
        ("outboundType", json!("loadBalancer")),
        ("loadBalancerSku", json!("standard")),
        ("podCidrs", json!(["10.244.0.0/16"])),
        ("serviceCidrs", json!(["10.0.0.0/16"])),
        ("ipFamilies", json!(["IPv4"])),
    ] {
        default_value(network, key, value);
    }
    if managed_identity {
        let kept = previous_extra
            .and_then(|e| e.get("identityProfile"))
            .filter(|profile| profile.get("kubeletidentity").is_some())
            .or_else(|| {
                extra
                    .get("identityProfile")
                    .filter(|profile| profile.get("kubeletidentity").is_some())
            })
            .cloned();
        let profile = kept.unwrap_or_else(|| {
            json!({"kubeletidentity": {
                "resourceId": format!(
                    "/subscriptions/{}/resourcegroups/{node_resource_group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool",
                    subscription.id()
                ),
                "clientId": random_guid(),
                "objectId": random_guid(),
            }})
        });
        extra.insert("identityProfile".into(), profile);
    }
}

/// Each agent pool's defaults, versions, node image and power state.
fn fill_agent_pools(properties: &mut ManagedClusterProperties, version: &str) {
    if let Some(pools) = properties.agent_pool_profiles.as_mut() {
        for pool in pools {
            if non_empty(&pool.vm_size).is_none() {
                pool.vm_size = Some(DEFAULT_VM_SIZE.into());
            }
            pool.count.get_or_insert(3);
            pool.os_type.get_or_insert_with(|| "Linux".into());
            pool.mode.get_or_insert_with(|| "System".into());
            if non_empty(&pool.orchestrator_version).is_none() {
                pool.orchestrator_version = Some(version.to_string());
            }
            pool.current_orchestrator_version = Some(full_version(
                pool.orchestrator_version.as_deref().unwrap_or(version),
            ));
            default_value(&mut pool.extra, "type", json!("VirtualMachineScaleSets"));
            default_value(&mut pool.extra, "osDiskSizeGB", json!(128));
            default_value(&mut pool.extra, "osDiskType", json!("Managed"));
            default_value(&mut pool.extra, "maxPods", json!(250));
            default_value(&mut pool.extra, "osSKU", json!("Ubuntu"));
            pool.extra
                .insert("nodeImageVersion".into(), json!(NODE_IMAGE_VERSION));
            pool.extra
                .insert("powerState".into(), json!({"code": "Running"}));
        }
    }
}

fn bad_request(code: &str, message: impl Into<String>, target: &str) -> Response {
    arm_error(
        StatusCode::BAD_REQUEST,
        ArmErrorBody::new(code, message).with_target(target),
    )
}

fn has_legacy_fields(cluster: &ManagedCluster) -> bool {
    cluster.properties.aad_profile.as_ref().is_some_and(|aad| {
        non_empty(&aad.client_app_id).is_some()
            || non_empty(&aad.server_app_id).is_some()
            || non_empty(&aad.server_app_secret).is_some()
    })
}

/// AKS's rules for a PUT (docs/arm-aks-api.md), checked on the filled cluster.
fn check_rules(
    cluster: &ManagedCluster,
    previous: Option<&ManagedCluster>,
) -> Result<(), Response> {
    let mode = cluster.aad_mode();
    if let Some(previous) = previous {
        if let (Some(old), Some(new)) = (
            non_empty(&previous.properties.dns_prefix),
            non_empty(&cluster.properties.dns_prefix),
        ) && old != new
        {
            return Err(bad_request(
                "PropertyChangeNotAllowed",
                "Changing property 'dnsPrefix' is not allowed.",
                "properties.dnsPrefix",
            ));
        }
        if previous.aad_mode() == AadMode::Managed {
            if has_legacy_fields(cluster) {
                // Invented message: AKS refuses a managed → legacy downgrade, exact text not public (§3).
                return Err(bad_request(
                    "BadRequest",
                    "Managed AAD integration cannot be changed back to legacy AAD integration: clientAppID, serverAppID and serverAppSecret are not allowed on a cluster with aadProfile.managed set to true.",
                    "properties.aadProfile",
                ));
            }
            if mode != AadMode::Managed {
                return Err(bad_request(
                    "PropertyChangeNotAllowed",
                    "Changing property 'aadProfile.managed' is not allowed.",
                    "properties.aadProfile.managed",
                ));
            }
        }
    }
    if mode == AadMode::Managed && has_legacy_fields(cluster) {
        // Invented message (see above).
        return Err(bad_request(
            "BadRequest",
            "Managed AAD integration cannot be combined with the legacy AAD properties clientAppID, serverAppID and serverAppSecret.",
            "properties.aadProfile",
        ));
    }
    if mode != AadMode::None && !cluster.rbac_enabled() {
        // Invented message: the docs say RBAC-disabled clusters cannot add AAD (§3), the server text is not public.
        return Err(bad_request(
            "BadRequest",
            "AAD integration requires Kubernetes RBAC to be enabled. Set properties.enableRBAC to true.",
            "properties.enableRBAC",
        ));
    }
    let azure_rbac = cluster
        .properties
        .aad_profile
        .as_ref()
        .and_then(|aad| aad.enable_azure_rbac)
        == Some(true);
    if azure_rbac && mode != AadMode::Managed {
        // Invented message: Azure RBAC needs managed AAD first (§3); the server text is not public.
        return Err(bad_request(
            "BadRequest",
            "Azure RBAC for Kubernetes authorization (aadProfile.enableAzureRBAC) can only be enabled on a cluster with managed AAD integration (aadProfile.managed set to true).",
            "properties.aadProfile.enableAzureRBAC",
        ));
    }
    if cluster.properties.disable_local_accounts == Some(true) && mode != AadMode::Managed {
        return Err(bad_request(
            "BadRequest",
            "Since kubernetes version 1.25, disableLocalAccounts can only be set on Azure AD integration enabled cluster. Please integrate your cluster with AAD.",
            "properties.disableLocalAccounts",
        ));
    }
    Ok(())
}

/// `404 ResourceNotFound` for a cluster.
pub(crate) fn cluster_not_found(group: &str, name: &str) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        ArmErrorBody::new(
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.ContainerService/managedClusters/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        ),
    )
}

fn operation_in_progress(state_name: &str) -> Response {
    arm_error(
        StatusCode::CONFLICT,
        ArmErrorBody::new(
            "OperationNotAllowed",
            format!(
                "Operation is not allowed: Another operation ({state_name}) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"
            ),
        ),
    )
}

/// The running operation's state name (`Creating`, `Updating`, `Deleting`), if one runs on the cluster.
fn running_operation(store: &Store, record: &ClusterRecord) -> Option<&'static str> {
    let id = record.operation.as_ref()?;
    let operation = store.operations.get(id)?;
    operation
        .outcome
        .is_none()
        .then(|| operation.kind.running_state())
}

/// Create the record of a new cluster: its CA, admin certificate and token, and a running Kubernetes endpoint.
pub(crate) fn new_record(
    state: &SharedState,
    key: &ClusterKey,
    group: &str,
    name: &str,
    cluster: ManagedCluster,
) -> Result<ClusterRecord, EmulatorError> {
    let ca = pki::new_ca(&format!("{name} cluster CA"))?;
    let admin = pki::client_leaf(&ca, "masterclient", "system:masters")?;
    let kube_port = state.start_kubernetes_endpoint(key, &ca, 0)?;
    Ok(ClusterRecord {
        resource_group: group.to_string(),
        name: name.to_string(),
        cluster,
        ca,
        admin,
        admin_token: random_hex(64),
        kube_port,
        operation: None,
        api_server: Default::default(),
        kube_objects: Default::default(),
    })
}

fn internal_error(error: &EmulatorError) -> Response {
    tracing::error!(error = %error, "emulator failure");
    arm_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        ArmErrorBody::new(
            "InternalServerError",
            format!("The local cloud emulator failed: {error}"),
        ),
    )
}

/// The cluster a PUT sends, with its validated location, or the 400 answer for a bad name, body or location.
fn read_cluster(ctx: &Ctx, name: &str) -> Result<(ManagedCluster, String), Response> {
    if validation::cluster_name("name", name).is_err() {
        return Err(bad_request(
            "InvalidResourceName",
            format!(
                "Resource name '{name}' is invalid. The name can be between 1 and 63 characters long, may contain only letters, numbers, hyphens and underscores, and must start and end with a letter or a number."
            ),
            "resourceName",
        ));
    }
    let cluster: ManagedCluster = match serde_json::from_slice(&ctx.body) {
        Ok(cluster) => cluster,
        Err(error) => return Err(invalid_content(&error)),
    };
    if cluster.location.trim().is_empty() {
        return Err(bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
            "location",
        ));
    }
    let Ok(location) = validation::location("location", &cluster.location) else {
        return Err(bad_request(
            "LocationNotAvailableForResourceType",
            format!(
                "The provided location '{}' is not available for resource type 'Microsoft.ContainerService/managedClusters'.",
                cluster.location
            ),
            "location",
        ));
    };
    Ok((cluster, location))
}

/// Whether an existing cluster may be updated now: no operation running, the same location.
fn may_update(store: &Store, existing: &ClusterRecord, location: &str) -> Result<(), Response> {
    if let Some(running) = running_operation(store, existing) {
        return Err(operation_in_progress(running));
    }
    if existing.cluster.location != location {
        return Err(bad_request(
            "PropertyChangeNotAllowed",
            "Changing property 'location' is not allowed.",
            "location",
        ));
    }
    Ok(())
}

/// Whether an update migrates a Free-tier legacy-AAD cluster to managed AAD: its API server is then down until
/// the operation ends.
fn is_free_tier_migration(previous: Option<&ManagedCluster>, cluster: &ManagedCluster) -> bool {
    previous.is_some_and(|before| before.aad_mode() == aks_model::AadMode::Legacy)
        && cluster.aad_mode() == aks_model::AadMode::Managed
        && cluster
            .sku
            .as_ref()
            .and_then(|sku| sku.tier.as_deref())
            .is_none_or(|tier| tier.eq_ignore_ascii_case("Free"))
}

/// `PUT …/managedClusters/{name}`: 201 (create) or 200 (update) with the cluster in `Creating`/`Updating`
/// and the operation headers.
pub(super) fn put(
    state: &SharedState,
    ctx: &Ctx,
    subscription: &Subscription,
    group: &str,
    name: &str,
) -> Response {
    let (mut cluster, location) = match read_cluster(ctx, name) {
        Ok(read) => read,
        Err(response) => return response,
    };
    let mut store = state.store();
    let Some(resource_group) = store.resource_groups.get(&subscription.group_key(group)) else {
        return resource_group_not_found(group);
    };
    let group_name = resource_group.name.clone();
    let key = cluster_key(subscription, group, name);
    let existing = store.clusters.get(&key).cloned();
    if let Some(existing) = &existing
        && let Err(response) = may_update(&store, existing, &location)
    {
        return response;
    }
    let stored_name = existing
        .as_ref()
        .map(|record| record.name.clone())
        .unwrap_or_else(|| name.to_string());
    let stored_group = existing
        .as_ref()
        .map(|record| record.resource_group.clone())
        .unwrap_or(group_name);
    let previous = existing.as_ref().map(|record| &record.cluster);
    fill_server_fields(
        &mut cluster,
        &Placement {
            subscription,
            group: &stored_group,
            name: &stored_name,
            location: &location,
        },
        previous,
    );
    if let Err(response) = check_rules(&cluster, previous) {
        return response;
    }

    let kind = if existing.is_some() {
        OperationKind::Update
    } else {
        OperationKind::Create
    };
    let free_tier_migration = is_free_tier_migration(previous, &cluster);
    set_provisioning_state(&mut cluster, kind.running_state());
    let record = match existing {
        Some(mut record) => {
            record.cluster = cluster;
            record
        }
        None => match new_record(state, &key, &stored_group, &stored_name, cluster) {
            Ok(record) => record,
            Err(error) => return internal_error(&error),
        },
    };
    let injected = store.fail_next.take();
    let id = operations::start(&mut store, kind, &location, Some(key.clone()), injected);
    let retry_after = store.lro.retry_after_seconds;
    let mut record = record;
    record.operation = Some(id.clone());
    if free_tier_migration {
        record.api_server.unavailable = true;
        record.api_server.migration_outage = true;
    }
    let view = public_view(&record.cluster);
    store.clusters.insert(key, record);
    state.save_or_log(&store);
    drop(store);
    tracing::info!(cluster = %stored_name, group = %stored_group, ?kind, operation = %id, "cluster PUT accepted");

    let status = match kind {
        OperationKind::Create => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    let mut response = json(status, &view);
    operation_headers(
        state,
        subscription,
        response.headers_mut(),
        &location,
        &id,
        retry_after,
    );
    response
}

/// `GET …/managedClusters/{name}`; reading the cluster also advances its running operation.
pub(super) fn get(
    state: &SharedState,
    subscription: &Subscription,
    group: &str,
    name: &str,
) -> Response {
    let mut store = state.store();
    if let Err(response) = existing_group(&store, subscription, group) {
        return response;
    }
    let key = cluster_key(subscription, group, name);
    if let Some(id) = store.clusters.get(&key).and_then(|r| r.operation.clone())
        && operations::advance(state, &mut store, &id)
    {
        state.save_or_log(&store);
    }
    match store.clusters.get(&key) {
        Some(record) => json(StatusCode::OK, &public_view(&record.cluster)),
        None => cluster_not_found(group, name),
    }
}

/// `DELETE …/managedClusters/{name}`: 202 with the operation headers (204 when absent); the cluster goes away
/// when the operation completes.
pub(super) fn delete(
    state: &SharedState,
    subscription: &Subscription,
    group: &str,
    name: &str,
) -> Response {
    let mut store = state.store();
    if let Err(response) = existing_group(&store, subscription, group) {
        return response;
    }
    let key = cluster_key(subscription, group, name);
    let Some(record) = store.clusters.get(&key) else {
        return empty(StatusCode::NO_CONTENT);
    };
    if let Some(running) = running_operation(&store, record) {
        return operation_in_progress(running);
    }
    let location = record.cluster.location.clone();
    let injected = store.fail_next.take();
    let id = operations::start(
        &mut store,
        OperationKind::Delete,
        &location,
        Some(key.clone()),
        injected,
    );
    let retry_after = store.lro.retry_after_seconds;
    if let Some(record) = store.clusters.get_mut(&key) {
        record.operation = Some(id.clone());
        set_provisioning_state(&mut record.cluster, OperationKind::Delete.running_state());
    }
    state.save_or_log(&store);
    drop(store);
    let mut response = empty(StatusCode::ACCEPTED);
    operation_headers(
        state,
        subscription,
        response.headers_mut(),
        &location,
        &id,
        retry_after,
    );
    response
}

/// `GET …/managedClusters` for the subscription or one group, paged.
pub(super) fn list(
    state: &SharedState,
    ctx: &Ctx,
    subscription: &Subscription,
    group: Option<&str>,
    visible: &Visible,
) -> Response {
    let store = state.store();
    let group_key = match group
        .map(|group| existing_group(&store, subscription, group))
        .transpose()
    {
        Ok(group_key) => group_key,
        Err(response) => return response,
    };
    // The clusters the caller may see, in order; only the page's are turned into their answer (a fleet of
    // thousands is listed page by page, and each page would otherwise convert the whole list).
    let matching: Vec<&ManagedCluster> = store
        .clusters
        .iter()
        .filter(|((cluster_group, _), _)| match &group_key {
            Some(key) => key == cluster_group,
            None => subscription.owns_group_key(cluster_group),
        })
        .map(|(_, record)| &record.cluster)
        .filter(|cluster| visible(&store, cluster.id.as_deref().unwrap_or_default()))
        .collect();
    let paging = Paging::of(&store, ctx);
    let total = matching.len();
    let value = paging
        .slice(matching)
        .filter_map(|cluster| serde_json::to_value(public_view(cluster)).ok())
        .collect();
    drop(store);
    paged(state, ctx, paging, total, value)
}

/// One cluster of a `POST /_emulator/seed` body.
#[derive(Debug, Deserialize)]
pub(crate) struct SeedCluster {
    /// Resource group (created if missing).
    pub resource_group: String,
    /// Cluster name.
    pub name: String,
    /// Raw ManagedCluster JSON.
    pub body: Value,
    /// The subscription (default: the emulator's own; another must be listed in the seed's `subscriptions`).
    #[serde(default)]
    pub subscription: Option<String>,
}

/// Seed one cluster in the subscription it names: filled as for a PUT, stored `Succeeded`, AKS
/// rules not enforced. Replaces an existing cluster's body but keeps its CA, credentials and endpoint.
pub(crate) fn fill_server_fields_for_seed(
    state: &SharedState,
    store: &mut Store,
    seed: SeedCluster,
) -> Result<(), String> {
    let subscription = &Subscription::of(seed.subscription.as_deref());
    let mut cluster: ManagedCluster = serde_json::from_value(seed.body).map_err(|error| {
        format!(
            "cluster '{}': body is not a ManagedCluster: {error}",
            seed.name
        )
    })?;
    validation::cluster_name("name", &seed.name).map_err(|error| error.to_string())?;
    let group_key = subscription.group_key(&seed.resource_group);
    let group = match store.resource_groups.get(&group_key) {
        Some(group) => group.clone(),
        None => {
            let location = validation::location("location", &cluster.location)
                .map_err(|error| format!("cluster '{}': {error}", seed.name))?;
            let group = crate::state::ResourceGroupRecord {
                name: seed.resource_group.clone(),
                location,
                tags: None,
                managed_by: None,
            };
            store.resource_groups.insert(group_key, group.clone());
            group
        }
    };
    let location = if cluster.location.trim().is_empty() {
        group.location.clone()
    } else {
        validation::location("location", &cluster.location)
            .map_err(|error| format!("cluster '{}': {error}", seed.name))?
    };
    let key = cluster_key(subscription, &group.name, &seed.name);
    let existing = store.clusters.remove(&key);
    let stored_name = existing
        .as_ref()
        .map(|record| record.name.clone())
        .unwrap_or(seed.name);
    fill_server_fields(
        &mut cluster,
        &Placement {
            subscription,
            group: &group.name,
            name: &stored_name,
            location: &location,
        },
        None,
    );
    if let Some(existing) = &existing {
        // Keep what identifies the running cluster.
        cluster.properties.fqdn = existing.cluster.properties.fqdn.clone();
        cluster.properties.azure_portal_fqdn =
            existing.cluster.properties.azure_portal_fqdn.clone();
    }
    set_provisioning_state(&mut cluster, "Succeeded");
    let record = match existing {
        Some(mut record) => {
            record.cluster = cluster;
            record.operation = None;
            record
        }
        None => new_record(state, &key, &group.name, &stored_name, cluster)
            .map_err(|error| error.to_string())?,
    };
    store.clusters.insert(key, record);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(full_version("1.32"), "1.32.4");
        assert_eq!(full_version("1.31.2"), "1.31.2");
        assert_eq!(major_minor("1.23.12"), Some((1, 23)));
        assert_eq!(major_minor("v1.32.4"), Some((1, 32)));
    }

    #[test]
    fn defaults_are_filled_and_unknown_properties_kept() {
        let mut cluster: ManagedCluster = serde_json::from_value(json!({
            "location": "eastus",
            "identity": {"type": "SystemAssigned"},
            "properties": {
                "kubernetesVersion": "", "dnsPrefix": "c1-rg1",
                "futureThing": {"a": 1},
                "networkProfile": {"networkPlugin": "kubenet"},
                "agentPoolProfiles": [{"name": "nodepool1", "vmSize": "", "orchestratorVersion": ""}]
            }
        }))
        .unwrap();
        fill_server_fields(
            &mut cluster,
            &Placement {
                subscription: &Subscription::own(),
                group: "rg1",
                name: "c1",
                location: "eastus",
            },
            None,
        );
        let value = serde_json::to_value(&cluster).unwrap();
        let properties = &value["properties"];
        assert_eq!(properties["kubernetesVersion"], "1.32");
        assert_eq!(properties["currentKubernetesVersion"], "1.32.4");
        assert_eq!(properties["futureThing"], json!({"a": 1}));
        assert_eq!(properties["networkProfile"]["networkPlugin"], "kubenet");
        assert_eq!(properties["networkProfile"]["podCidr"], "10.244.0.0/16");
        assert_eq!(properties["nodeResourceGroup"], "MC_rg1_c1_eastus");
        assert_eq!(
            properties["agentPoolProfiles"][0]["vmSize"],
            DEFAULT_VM_SIZE
        );
        assert_eq!(properties["agentPoolProfiles"][0]["count"], 3);
        assert!(properties["identityProfile"]["kubeletidentity"]["clientId"].is_string());
        assert_eq!(value["identity"]["tenantId"], TENANT_ID);
        let fqdn = properties["fqdn"].as_str().unwrap();
        assert!(
            fqdn.starts_with("c1-rg1-") && fqdn.ends_with(".hcp.eastus.azmk8s.io"),
            "{fqdn}"
        );
    }
}
