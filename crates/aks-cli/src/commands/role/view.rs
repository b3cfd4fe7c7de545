//! The shapes az prints for role assignments and definitions (az-core's `todict` of the SDK models, az's
//! `_role_assignment_to_dict`, the client-side `roleDefinitionName` and `principalName`) and the PUT body
//! (docs/az-behaviour.md, "Role assignments").

use serde_json::{Map, Value, json};

use super::assignee::displayable_name;
use super::scope::{field, python_datetimes};
use crate::args::{PrincipalType, RoleAssignmentFilterArgs};

/// The assignment fields az's SDK model knows, under `properties` on the wire, flat in az's output, in order.
const ASSIGNMENT_FIELDS: [&str; 12] = [
    "scope",
    "roleDefinitionId",
    "principalId",
    "principalType",
    "description",
    "condition",
    "conditionVersion",
    "createdOn",
    "updatedOn",
    "createdBy",
    "updatedBy",
    "delegatedManagedIdentityResourceId",
];

/// Timestamp fields az re-renders through Python's `datetime`.
const TIMESTAMPS: [&str; 2] = ["createdOn", "updatedOn"];

/// The role definition fields az's SDK model knows, under `properties` on the wire (`type` there is
/// `roleType` in az's output).
const DEFINITION_FIELDS: [(&str, &str); 8] = [
    ("roleName", "roleName"),
    ("description", "description"),
    ("type", "roleType"),
    ("assignableScopes", "assignableScopes"),
    ("createdOn", "createdOn"),
    ("updatedOn", "updatedOn"),
    ("createdBy", "createdBy"),
    ("updatedBy", "updatedBy"),
];

/// A permission's fields in az's output.
const PERMISSION_FIELDS: [&str; 6] = [
    "actions",
    "notActions",
    "dataActions",
    "notDataActions",
    "condition",
    "conditionVersion",
];

/// Whether `role` is a full role definition id (az: `/subscriptions/.+/providers/Microsoft.Authorization/
/// roleDefinitions/`, any case).
pub fn is_role_definition_id(role: &str) -> bool {
    let lower = role.to_ascii_lowercase();
    lower.starts_with("/subscriptions/")
        && lower
            .find("/providers/microsoft.authorization/roledefinitions/")
            .is_some_and(|at| at > "/subscriptions/".len())
}

/// ARM's spelling of a `--assignee-principal-type` choice.
pub fn principal_type_name(kind: PrincipalType) -> &'static str {
    match kind {
        PrincipalType::ForeignGroup => "ForeignGroup",
        PrincipalType::Group => "Group",
        PrincipalType::ServicePrincipal => "ServicePrincipal",
        PrincipalType::User => "User",
    }
}

/// The PUT body: `roleDefinitionId`, `principalId`, and whatever else is set (unset fields omitted).
pub fn create_body(
    role_id: &str,
    principal: &super::assignee::Principal,
    description: Option<&str>,
    condition: Option<&str>,
    condition_version: Option<&str>,
) -> Value {
    let mut properties = Map::new();
    properties.insert("roleDefinitionId".into(), json!(role_id));
    properties.insert("principalId".into(), json!(principal.object_id));
    let optional = [
        ("principalType", principal.principal_type.as_deref()),
        ("description", description),
        ("condition", condition),
        ("conditionVersion", condition_version),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            properties.insert(key.into(), json!(value));
        }
    }
    json!({ "properties": properties })
}

/// The wire value of `key` (top level or under `properties`), `null` when absent.
fn wire<'a>(object: &'a Value, key: &str) -> &'a Value {
    object
        .get(key)
        .or_else(|| object.get("properties").and_then(|p| p.get(key)))
        .unwrap_or(&Value::Null)
}

/// `create`'s output: az-core's `todict` of the SDK model, every known field with nulls kept.
pub fn created(wire_assignment: &Value) -> Value {
    let mut out = Map::new();
    for key in ["id", "name", "type", "systemData"] {
        out.insert(key.into(), wire(wire_assignment, key).clone());
    }
    for key in ASSIGNMENT_FIELDS {
        out.insert(key.into(), wire(wire_assignment, key).clone());
    }
    python_datetimes(&mut out, &TIMESTAMPS);
    finish(Value::Object(out))
}

/// `list`'s item before enrichment: az's `_role_assignment_to_dict`, non-null fields only.
pub fn listed(wire_assignment: &Value) -> Value {
    let mut out = Map::new();
    for key in ["id", "name", "type"].into_iter().chain(ASSIGNMENT_FIELDS) {
        let value = wire(wire_assignment, key);
        if !value.is_null() {
            out.insert(key.into(), value.clone());
        }
    }
    python_datetimes(&mut out, &TIMESTAMPS);
    Value::Object(out)
}

/// `roleDefinitionName` of each item from the definitions listed, by full id (`null` when unknown).
pub fn fill_role_names(items: &mut [Value], definitions: &[Value]) {
    for item in items {
        let id = item.get("roleDefinitionId").and_then(Value::as_str);
        let name = definitions
            .iter()
            .find(|definition| field(definition, "id").is_some() && field(definition, "id") == id)
            .map_or(Value::Null, |definition| {
                wire(definition, "roleName").clone()
            });
        item["roleDefinitionName"] = name;
    }
}

/// `principalName` of each item from Graph's objects (`''` when Graph does not know the principal).
pub fn fill_principal_names(items: &mut [Value], objects: &[Value]) {
    for item in items {
        let id = item.get("principalId").and_then(Value::as_str);
        let name = objects
            .iter()
            .find(|object| object.get("id").and_then(Value::as_str) == id)
            .map(displayable_name)
            .unwrap_or_default();
        item["principalName"] = Value::String(name);
    }
}

/// az-core's last step on every result: `resourceGroup` from ids under a resource group.
pub fn finish(mut value: Value) -> Value {
    aks_model::az_view::add_resource_groups(&mut value);
    value
}

/// The selectors `delete --ids` ignores, with az's option names, and whether each was given.
pub fn ignored_with_ids(filter: &RoleAssignmentFilterArgs) -> [(&'static str, bool); 5] {
    [
        ("--assignee", filter.assignee.is_some()),
        ("--role", filter.role.is_some()),
        ("--resource-group", filter.resource_group.is_some()),
        ("--scope", filter.scope.is_some()),
        ("--include-inherited", filter.include_inherited),
    ]
}

/// `_search_role_definitions`' client-side selection: `--name` equal to the GUID `name` or the `roleName`
/// (exact, as Python compares), and custom roles only when asked.
pub fn definition_matches(definition: &Value, name: Option<&str>, custom_only: bool) -> bool {
    let named = name.is_none_or(|name| {
        field(definition, "name") == Some(name) || field(definition, "roleName") == Some(name)
    });
    named && (!custom_only || field(definition, "type") == Some("CustomRole"))
}

/// A role definition as az prints it: `todict` of the SDK model, properties flat, `type` as `roleType`.
pub fn definition(wire_definition: &Value) -> Value {
    let mut out = Map::new();
    for key in ["id", "name", "type", "systemData"] {
        out.insert(key.into(), wire(wire_definition, key).clone());
    }
    let properties = wire_definition.get("properties").unwrap_or(&Value::Null);
    for (wire_key, key) in DEFINITION_FIELDS {
        out.insert(
            key.into(),
            properties.get(wire_key).cloned().unwrap_or(Value::Null),
        );
    }
    let permissions = properties
        .get("permissions")
        .and_then(Value::as_array)
        .map(|permissions| {
            permissions
                .iter()
                .map(|permission| {
                    let fields: Map<String, Value> = PERMISSION_FIELDS
                        .iter()
                        .map(|key| {
                            (
                                (*key).to_string(),
                                permission.get(*key).cloned().unwrap_or(Value::Null),
                            )
                        })
                        .collect();
                    Value::Object(fields)
                })
                .collect()
        })
        .map_or(Value::Null, Value::Array);
    out.insert("permissions".into(), permissions);
    python_datetimes(&mut out, &TIMESTAMPS);
    finish(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_ids_as_az_recognises_them() {
        assert!(is_role_definition_id(
            "/subscriptions/s/providers/microsoft.authorization/roleDefinitions/g"
        ));
        assert!(!is_role_definition_id(
            "/providers/Microsoft.Authorization/roleDefinitions/g"
        ));
        assert!(!is_role_definition_id("Reader"));
    }

    #[test]
    fn outputs_flatten_properties_as_az_does() {
        let wire_assignment = json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/n",
            "name": "n", "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"scope": "/subscriptions/s/resourceGroups/rg", "roleDefinitionId": "r", "principalId": "p",
                "principalType": "User", "createdOn": "2023-08-23T12:47:46.5507039Z", "condition": null}
        });
        let shown = created(&wire_assignment);
        assert_eq!(shown["systemData"], Value::Null);
        assert_eq!(shown["description"], Value::Null);
        assert_eq!(shown["createdOn"], "2023-08-23T12:47:46.550703+00:00");
        assert_eq!(shown["resourceGroup"], "rg");
        let mut items = vec![listed(&wire_assignment)];
        assert!(items[0].get("condition").is_none() && items[0].get("description").is_none());
        fill_role_names(
            &mut items,
            &[json!({"id": "r", "properties": {"roleName": "Reader"}})],
        );
        fill_principal_names(&mut items, &[]);
        assert_eq!(items[0]["roleDefinitionName"], "Reader");
        assert_eq!(items[0]["principalName"], "");

        let definition = definition(&json!({"id": "/providers/x/roleDefinitions/g", "name": "g",
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": "Reader", "type": "BuiltInRole", "permissions": [{"actions": ["*/read"]}]}}));
        assert_eq!(definition["roleType"], "BuiltInRole");
        assert_eq!(definition["permissions"][0]["notActions"], Value::Null);
        assert_eq!(
            definition["type"],
            "Microsoft.Authorization/roleDefinitions"
        );
        assert!(definition_matches(
            &json!({"name": "g", "properties": {"roleName": "Reader"}}),
            Some("Reader"),
            false
        ));
        assert!(!definition_matches(
            &json!({"name": "g", "properties": {"type": "BuiltInRole"}}),
            None,
            true
        ));
    }
}
