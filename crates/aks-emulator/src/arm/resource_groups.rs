//! `Microsoft.Resources/resourceGroups` (docs/arm-aks-api.md).

use aks_model::{ArmErrorBody, RESOURCE_GROUP_TYPE, ResourceGroup, validation};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Visible, operations, page, resource_group_not_found, visible_items};
use crate::http::{Ctx, arm_error, empty, invalid_content, json, set};
use crate::state::{OperationKind, ResourceGroupRecord, SharedState, Store, Subscription};

/// The resource group of `subscription` as ARM answers it.
pub(crate) fn view(subscription: &Subscription, group: &ResourceGroupRecord) -> Value {
    let mut value = json!({
        "id": format!("/subscriptions/{}/resourceGroups/{}", subscription.id(), group.name),
        "name": group.name,
        "type": RESOURCE_GROUP_TYPE,
        "location": group.location,
    });
    if let Some(tags) = &group.tags {
        value["tags"] = Value::Object(tags.clone());
    }
    if let Some(managed_by) = &group.managed_by {
        value["managedBy"] = Value::String(managed_by.clone());
    }
    value["properties"] = json!({"provisioningState": "Succeeded"});
    value
}

/// `PUT /subscriptions/{sub}/resourcegroups/{rg}`: 201 when new, 200 when it exists (tags and managedBy are
/// replaced; a different location is a 409).
/// The regions a resource group may be created in: Azure's public, government and China regions (ARM answers
/// `LocationNotAvailableForResourceGroup` with its list for any other; seeded groups are not checked).
const REGIONS: &[&str] = &[
    "eastus",
    "eastus2",
    "westus",
    "westus2",
    "westus3",
    "centralus",
    "northcentralus",
    "southcentralus",
    "westcentralus",
    "canadacentral",
    "canadaeast",
    "brazilsouth",
    "brazilsoutheast",
    "mexicocentral",
    "chilecentral",
    "northeurope",
    "westeurope",
    "uksouth",
    "ukwest",
    "francecentral",
    "francesouth",
    "germanywestcentral",
    "germanynorth",
    "switzerlandnorth",
    "switzerlandwest",
    "norwayeast",
    "norwaywest",
    "swedencentral",
    "swedensouth",
    "polandcentral",
    "italynorth",
    "spaincentral",
    "israelcentral",
    "qatarcentral",
    "uaenorth",
    "uaecentral",
    "southafricanorth",
    "southafricawest",
    "centralindia",
    "southindia",
    "westindia",
    "jioindiawest",
    "jioindiacentral",
    "eastasia",
    "southeastasia",
    "japaneast",
    "japanwest",
    "koreacentral",
    "koreasouth",
    "australiaeast",
    "australiasoutheast",
    "australiacentral",
    "australiacentral2",
    "newzealandnorth",
    "indonesiacentral",
    "malaysiawest",
    "eastus2euap",
    "centraluseuap",
    "usgovvirginia",
    "usgovarizona",
    "usgovtexas",
    "usdodeast",
    "usdodcentral",
    "chinaeast",
    "chinaeast2",
    "chinaeast3",
    "chinanorth",
    "chinanorth2",
    "chinanorth3",
];

pub(super) fn put(
    state: &SharedState,
    ctx: &Ctx,
    subscription: &Subscription,
    name: &str,
) -> Response {
    if validation::resource_group_name("name", name).is_err() {
        // Invented wording: ARM's exact text for a bad group name was not verified.
        return arm_error(
            StatusCode::BAD_REQUEST,
            ArmErrorBody::new(
                "InvalidResourceGroup",
                format!(
                    "The provided resource group name '{name}' has these invalid characters or length. The name can be up to 90 characters long and may contain letters, digits, '_', '-', '.', '(' and ')', and cannot end with '.'."
                ),
            ),
        );
    }
    let body: ResourceGroup = match serde_json::from_slice(&ctx.body) {
        Ok(body) => body,
        Err(error) => return invalid_content(&error),
    };
    if body.location.trim().is_empty() {
        return arm_error(
            StatusCode::BAD_REQUEST,
            ArmErrorBody::new(
                "LocationRequired",
                "The location property is required for this definition.",
            )
            .with_target("location"),
        );
    }
    let location = validation::location("location", &body.location)
        .ok()
        .filter(|location| REGIONS.contains(&location.as_str()));
    let Some(location) = location else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            ArmErrorBody::new(
                "LocationNotAvailableForResourceGroup",
                format!(
                    "The provided location '{}' is not available for resource group. List of available regions is '{}'.",
                    body.location,
                    REGIONS.join(",")
                ),
            )
            .with_target("location"),
        );
    };
    let mut store = state.store();
    let key = subscription.group_key(name);
    let (status, record) = match store.resource_groups.get_mut(&key) {
        Some(existing) => {
            if existing.location != location {
                return arm_error(
                    StatusCode::CONFLICT,
                    ArmErrorBody::new(
                        "InvalidResourceGroupLocation",
                        format!(
                            "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                            existing.location
                        ),
                    ),
                );
            }
            existing.tags = body.tags;
            existing.managed_by = body.managed_by;
            (StatusCode::OK, existing.clone())
        }
        None => {
            let record = ResourceGroupRecord {
                name: name.to_string(),
                location,
                tags: body.tags,
                managed_by: body.managed_by,
            };
            store.resource_groups.insert(key, record.clone());
            (StatusCode::CREATED, record)
        }
    };
    state.save_or_log(&store);
    json(status, &view(subscription, &record))
}

/// `GET /subscriptions/{sub}/resourcegroups/{rg}`.
pub(super) fn get(state: &SharedState, subscription: &Subscription, name: &str) -> Response {
    match state
        .store()
        .resource_groups
        .get(&subscription.group_key(name))
    {
        Some(group) => json(StatusCode::OK, &view(subscription, group)),
        None => resource_group_not_found(name),
    }
}

/// `HEAD /subscriptions/{sub}/resourcegroups/{rg}`: 204 or 404.
pub(super) fn head(state: &SharedState, subscription: &Subscription, name: &str) -> Response {
    if state
        .store()
        .resource_groups
        .contains_key(&subscription.group_key(name))
    {
        empty(StatusCode::NO_CONTENT)
    } else {
        empty(StatusCode::NOT_FOUND)
    }
}

/// `GET /subscriptions/{sub}/resourcegroups`: the groups the caller may see.
pub(super) fn list(
    state: &SharedState,
    ctx: &Ctx,
    subscription: &Subscription,
    visible: &Visible,
) -> Response {
    let items = {
        let store = state.store();
        let groups = store
            .resource_groups
            .iter()
            .filter(|(key, _)| subscription.owns_group_key(key))
            .map(|(_, group)| view(subscription, group));
        visible_items(&store, groups, visible)
    };
    page(state, ctx, items)
}

/// `DELETE /subscriptions/{sub}/resourcegroups/{rg}`: the group and its clusters go at once (their Kubernetes
/// endpoints stop); the answer is 202 with a `Location` that answers 202 (per the LRO pacing) and then 200.
/// `forget` removes, under the same lock, what other ARM resources keep for the group (its deployments).
pub(super) fn delete(
    state: &SharedState,
    ctx: &Ctx,
    subscription: &Subscription,
    name: &str,
    forget: fn(&mut Store, &str),
) -> Response {
    let mut store = state.store();
    let key = subscription.group_key(name);
    let Some(group) = store.resource_groups.remove(&key) else {
        return resource_group_not_found(name);
    };
    let doomed: Vec<_> = store
        .clusters
        .keys()
        .filter(|(group_key, _)| *group_key == key)
        .cloned()
        .collect();
    for cluster in &doomed {
        store.clusters.remove(cluster);
        state.stop_kubernetes_endpoint(cluster);
    }
    forget(&mut store, &key);
    let id = operations::start(
        &mut store,
        OperationKind::DeleteResourceGroup,
        &group.location,
        None,
        None,
    );
    let retry_after = store.lro.retry_after_seconds;
    state.save_or_log(&store);
    drop(store);
    tracing::info!(group = %group.name, clusters = doomed.len(), "deleted a resource group");
    let mut response = empty(StatusCode::ACCEPTED);
    let api_version = ctx.query("api-version").unwrap_or_default();
    let headers = response.headers_mut();
    set(
        headers,
        "location",
        &format!(
            "{}/subscriptions/{}/operationresults/{id}?api-version={api_version}",
            state.base_url(),
            subscription.id()
        ),
    );
    set(headers, "retry-after", &retry_after.to_string());
    response
}
