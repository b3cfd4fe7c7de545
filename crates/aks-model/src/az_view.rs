//! The az-style view of a resource, used for `-o json` and friends (docs/az-behaviour.md, "How az renders a resource").
//!
//! az prints the Python SDK *model*, not the wire JSON: `properties` is flattened to the top level, attribute
//! names are the SDK's snake_case names camel-cased again (`enableRBAC` → `enableRbac`, `tenantID` → `tenantId`,
//! but `adminGroupObjectIDs` stays), every model attribute is present (`null` when unset), `resourceGroup` is
//! added to every dict whose id names one, and keys are sorted.

use serde_json::{Map, Value};

use crate::ResourceId;
use crate::sdk_model::{Model, Shape};

/// Attributes whose values are dictionaries: their own keys are data and are not renamed.
const DICT_ATTRIBUTES: &[&str] = &[
    "tags",
    "addonProfiles",
    "identityProfile",
    "userAssignedIdentities",
    "config",
    "nodeLabels",
    "delegatedResources",
];

fn model(name: &str) -> Option<&'static Model> {
    let models = crate::az_attributes::MODELS;
    models
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &models[i])
}

/// Render a wire value as az prints the SDK model: every attribute present (null when unset), az's names, wire
/// properties the SDK does not know left out (az cannot print them either).
fn render(value: &Value, shape: &Shape) -> Value {
    match (shape, value) {
        (_, Value::Null) => Value::Null,
        (Shape::Model(name), Value::Object(map)) => match model(name) {
            Some(model) => render_model(model, map),
            None => rename_keys(value, false),
        },
        (Shape::List(inner), Value::Array(items)) => {
            Value::Array(items.iter().map(|item| render(item, inner)).collect())
        }
        (Shape::Dict(inner), Value::Object(map)) => Value::Object(
            map.iter()
                .map(|(key, child)| (key.clone(), render(child, inner)))
                .collect(),
        ),
        (_, other) => other.clone(),
    }
}

fn render_model(model: &Model, map: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for attribute in model.attributes {
        let child = map
            .get(attribute.wire)
            .map_or(Value::Null, |v| render(v, &attribute.shape));
        out.insert(attribute.az.to_string(), child);
    }
    if let Some((wire, inner)) = model.flattened {
        let empty = Map::new();
        let inner_map = map.get(wire).and_then(Value::as_object).unwrap_or(&empty);
        if let Some(inner) = self::model(inner)
            && let Value::Object(flat) = render_model(inner, inner_map)
        {
            out.extend(flat);
        }
    }
    Value::Object(out)
}

/// The SDK attribute name az prints for a wire property name: autorest's snake_case, then camelCase again.
///
/// `enableRBAC` → `enable_rbac` → `enableRbac`; `adminGroupObjectIDs` → `admin_group_object_i_ds` →
/// `adminGroupObjectIDs`; `osDiskSizeGB` → `osDiskSizeGb`; `scale-down-delay-after-add` →
/// `scaleDownDelayAfterAdd`.
pub fn az_attribute_name(wire: &str) -> String {
    camel_case(&snake_case(wire))
}

/// Python's two-regex snake case: `(.)([A-Z][a-z]+)` → `\1_\2`, then `([a-z0-9])([A-Z])` → `\1_\2`, lower-cased;
/// `-` becomes `_`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.replace('-', "_").chars().collect();
    // Pass 1: a boundary before every capital that starts a capitalised word (capital followed by lower case).
    let mut first: Vec<char> = Vec::with_capacity(chars.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let starts_word =
            c.is_ascii_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        if i > 0 && starts_word && first.last() != Some(&'_') {
            first.push('_');
        }
        first.push(c);
    }
    // Pass 2: a boundary between a lower-case letter or digit and a capital.
    let mut out = String::with_capacity(first.len() + 8);
    for (i, &c) in first.iter().enumerate() {
        if i > 0
            && c.is_ascii_uppercase()
            && (first[i - 1].is_ascii_lowercase() || first[i - 1].is_ascii_digit())
        {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// knack's `to_camel_case`: an underscore followed by a letter becomes that letter upper-cased (not at the start).
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_' && !out.is_empty() && chars.peek().is_some_and(|n| n.is_ascii_alphabetic()) {
            out.push(
                chars
                    .next()
                    .map(|n| n.to_ascii_uppercase())
                    .unwrap_or_default(),
            );
        } else {
            out.push(c);
        }
    }
    out
}

fn rename_keys(value: &Value, keep_own_keys: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, child) in map {
                let name = if keep_own_keys {
                    key.clone()
                } else {
                    az_attribute_name(key)
                };
                let child_is_dict = DICT_ATTRIBUTES.contains(&key.as_str()) && !keep_own_keys;
                out.insert(name, rename_keys(child, child_is_dict));
            }
            out.into_iter().collect()
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| rename_keys(item, false)).collect())
        }
        other => other.clone(),
    }
}

/// Add `resourceGroup` to every object whose `id` names one and that has no such key yet.
pub fn add_resource_groups(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if !map.contains_key("resourceGroup")
                && let Some(group) = map
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(ResourceId::resource_group_of)
            {
                let group = group.to_string();
                map.insert("resourceGroup".to_string(), Value::String(group));
            }
            map.values_mut().for_each(add_resource_groups);
        }
        Value::Array(items) => items.iter_mut().for_each(add_resource_groups),
        _ => {}
    }
}

/// Sort object keys recursively by code point (Python's `sort_keys=True`).
pub fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// The az view of a managed cluster's wire JSON (the attribute tables of the SDK az 2.91 uses,
/// `az_attributes.rs`).
pub fn managed_cluster(wire: &Value) -> Value {
    let mut view = render(wire, &Shape::Model("ManagedCluster"));
    if let Some(Value::Object(aad)) = view.get_mut("aadProfile") {
        // Write-only on the wire; never printed even if a server echoed it.
        aad.insert("serverAppSecret".to_string(), Value::Null);
    }
    add_resource_groups(&mut view);
    sort_keys(view)
}

/// The az view of a resource group (`az group create|show`): nested `properties`, `managedBy` and `tags` always
/// present, no `resourceGroup` (the id is too short).
pub fn resource_group(wire: &Value) -> Value {
    let mut view = rename_keys(wire, false);
    if let Value::Object(map) = &mut view {
        for attribute in [
            "id",
            "location",
            "managedBy",
            "name",
            "properties",
            "tags",
            "type",
        ] {
            map.entry(attribute.to_string()).or_insert(Value::Null);
        }
    }
    add_resource_groups(&mut view);
    sort_keys(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attribute_names_like_the_python_sdk() {
        for (wire, az) in [
            ("aadProfile", "aadProfile"),
            ("adminGroupObjectIDs", "adminGroupObjectIDs"),
            ("tenantID", "tenantId"),
            ("clientAppID", "clientAppId"),
            ("serverAppID", "serverAppId"),
            ("enableAzureRBAC", "enableAzureRbac"),
            ("enableRBAC", "enableRbac"),
            ("azurePortalFQDN", "azurePortalFqdn"),
            ("privateFQDN", "privateFqdn"),
            ("osDiskSizeGB", "osDiskSizeGb"),
            ("enableFIPS", "enableFips"),
            ("osSKU", "osSku"),
            ("enableNodePublicIP", "enableNodePublicIp"),
            ("dnsServiceIP", "dnsServiceIp"),
            ("managedOutboundIPs", "managedOutboundIPs"),
            ("effectiveOutboundIPs", "effectiveOutboundIPs"),
            ("scale-down-delay-after-add", "scaleDownDelayAfterAdd"),
            ("eTag", "eTag"),
            ("diskEncryptionSetID", "diskEncryptionSetId"),
            ("podCidr", "podCidr"),
        ] {
            assert_eq!(az_attribute_name(wire), az, "{wire}");
        }
    }

    #[test]
    fn managed_cluster_view_flattens_renames_and_fills_nulls() {
        let wire = json!({
            "id": "/subscriptions/s/resourcegroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1",
            "name": "c1",
            "location": "eastus",
            "tags": {"Some-Tag": "v"},
            "properties": {
                "enableRBAC": true,
                "aadProfile": {"managed": true, "adminGroupObjectIDs": ["g"], "tenantID": "t", "serverAppSecret": "x"},
                "identityProfile": {"kubeletidentity": {"resourceId": "/x", "clientId": "c"}},
                "networkProfile": {"loadBalancerProfile": {"effectiveOutboundIPs": [{"id": "/subscriptions/s/resourceGroups/MC_rg/providers/a/b"}]}}
            }
        });
        let view = managed_cluster(&wire);
        assert_eq!(view["enableRbac"], json!(true));
        assert_eq!(view["resourceGroup"], json!("rg1"));
        assert_eq!(view["tags"], json!({"Some-Tag": "v"}));
        assert_eq!(
            view["aadProfile"],
            json!({"adminGroupObjectIDs": ["g"], "clientAppId": null, "enableAzureRbac": null, "managed": true,
                   "serverAppId": null, "serverAppSecret": null, "tenantId": "t"})
        );
        assert_eq!(
            view["identityProfile"]["kubeletidentity"],
            json!({"clientId": "c", "objectId": null, "resourceId": "/x"}),
            "every SDK attribute is printed"
        );
        assert_eq!(
            view["networkProfile"]["loadBalancerProfile"]["effectiveOutboundIPs"][0]["resourceGroup"],
            json!("MC_rg")
        );
        assert_eq!(view["fqdn"], Value::Null);
        let keys: Vec<&String> = view.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn resource_group_view_matches_az_group_create() {
        let wire = json!({"id": "/subscriptions/s/resourceGroups/rg1", "name": "rg1", "type": "Microsoft.Resources/resourceGroups",
                          "location": "eastus", "properties": {"provisioningState": "Succeeded"}});
        assert_eq!(
            resource_group(&wire),
            json!({"id": "/subscriptions/s/resourceGroups/rg1", "location": "eastus", "managedBy": null, "name": "rg1",
                   "properties": {"provisioningState": "Succeeded"}, "tags": null, "type": "Microsoft.Resources/resourceGroups"})
        );
    }
}
