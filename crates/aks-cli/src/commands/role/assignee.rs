//! `--assignee` to an object id and an ARM `principalType`, through Microsoft Graph as az's
//! `_resolve_object_id_and_type` does (docs/az-behaviour.md, "Role assignments"): a value with `@` is first looked
//! up as a user principal name, then any value as a service principal name (its appId or an identifier URI),
//! then a GUID as an object id (`directoryObjects/getByIds`). Groups are found by object id only.

use aks_arm::ArmError;
use aks_arm::graph::GraphClient;
use serde_json::Value;

use crate::error::CliError;
use crate::output::Printer;

/// A principal an assignment names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Its object id.
    pub object_id: String,
    /// ARM's `principalType` (`User`, `Group`, `ServicePrincipal`), when known.
    pub principal_type: Option<String>,
}

/// ARM's `principalType` for a Graph `@odata.type` (az's `ODATA_TYPE_TO_PRINCIPAL_TYPE`).
pub fn principal_type(odata_type: &str) -> Option<&'static str> {
    match odata_type {
        "#microsoft.graph.user" => Some("User"),
        "#microsoft.graph.servicePrincipal" => Some("ServicePrincipal"),
        "#microsoft.graph.group" => Some("Group"),
        _ => None,
    }
}

/// The name az prints for a principal (`_get_displayable_name`): a user's UPN, a service principal's first
/// name (usually its appId), else the display name.
pub fn displayable_name(object: &Value) -> String {
    if let Some(name) = object.get("userPrincipalName") {
        return name.as_str().unwrap_or_default().to_string();
    }
    if let Some(names) = object.get("servicePrincipalNames") {
        return names
            .get(0)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
    }
    object
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The one match of a look-up, or `None`; several matches are refused (az 2.91 would take the first).
fn one(assignee: &str, found: Vec<Value>, kind: &str) -> Result<Option<Principal>, CliError> {
    match found.as_slice() {
        [] => Ok(None),
        [only] => Ok(Some(Principal {
            object_id: only
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            principal_type: Some(kind.to_string()),
        })),
        several => {
            let ids: Vec<&str> = several
                .iter()
                .filter_map(|object| object.get("id").and_then(Value::as_str))
                .collect();
            Err(CliError::message(format!(
                "Find more than one user or service principal in graph database for '{assignee}' ({}). Please \
                 using --assignee-object-id GUID to specify assignee accurately",
                ids.join(", ")
            )))
        }
    }
}

/// The Graph look-ups alone: `Ok(None)` when nothing matched.
async fn look_up(graph: &GraphClient, assignee: &str) -> Result<Option<Principal>, LookUp> {
    if assignee.contains('@') {
        let users = graph
            .list_users(&format!("userPrincipalName eq '{assignee}'"))
            .await?;
        if let Some(user) = one(assignee, users, "User")? {
            return Ok(Some(user));
        }
    }
    let principals = graph
        .list_service_principals(&format!("servicePrincipalNames/any(c:c eq '{assignee}')"))
        .await?;
    if let Some(principal) = one(assignee, principals, "ServicePrincipal")? {
        return Ok(Some(principal));
    }
    if aks_model::validation::is_guid(assignee) {
        let objects = graph.get_objects_by_ids(&[assignee.to_string()]).await?;
        if let Some(object) = objects.first() {
            return Ok(Some(Principal {
                object_id: object
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or(assignee)
                    .to_string(),
                principal_type: object
                    .get("@odata.type")
                    .and_then(Value::as_str)
                    .and_then(principal_type)
                    .map(str::to_string),
            }));
        }
    }
    Ok(None)
}

/// Why a look-up stopped: Graph failed (az's `GraphError`), or our own refusal.
enum LookUp {
    Graph(ArmError),
    Refused(CliError),
}

impl From<ArmError> for LookUp {
    fn from(error: ArmError) -> Self {
        LookUp::Graph(error)
    }
}

impl From<CliError> for LookUp {
    fn from(error: CliError) -> Self {
        LookUp::Refused(error)
    }
}

/// A Graph error as az prints it: the service's message alone.
pub fn graph_failure(error: ArmError) -> CliError {
    match error {
        ArmError::Service { message, .. } => CliError::Message(message),
        other => other.into(),
    }
}

/// Resolve `assignee`. When Graph fails, az warns and, with `fallback_to_object_id` (create, list and delete all
/// pass it) and a GUID, carries on with the value as an object id of unknown type.
pub async fn resolve(
    graph: &GraphClient,
    printer: &Printer,
    assignee: &str,
    fallback_to_object_id: bool,
) -> Result<Principal, CliError> {
    match look_up(graph, assignee).await {
        Ok(Some(principal)) => Ok(principal),
        Ok(None) => Err(CliError::message(format!(
            "Cannot find user or service principal in graph database for '{assignee}'. If the assignee is an \
             appId, make sure the corresponding service principal is created with 'az ad sp create --id \
             {assignee}'."
        ))),
        Err(LookUp::Refused(error)) => Err(error),
        Err(LookUp::Graph(error)) if matches!(error, ArmError::Service { .. }) => {
            printer.warning(&format!(
                "Failed to query {assignee} by invoking Graph API. If you don't have permission to query Graph \
                 API, please specify --assignee-object-id and --assignee-principal-type."
            ));
            if fallback_to_object_id && aks_model::validation::is_guid(assignee) {
                printer.warning(&format!("Assuming {assignee} as an object ID."));
                return Ok(Principal {
                    object_id: assignee.to_string(),
                    principal_type: None,
                });
            }
            Err(graph_failure(error))
        }
        Err(LookUp::Graph(error)) => Err(graph_failure(error)),
    }
}

/// `--assignee-object-id` without `--assignee-principal-type`: az warns, then asks Graph for the type
/// (`_get_principal_type_from_object_id`); a Graph failure only warns.
pub async fn principal_type_of(
    graph: &GraphClient,
    printer: &Printer,
    object_id: &str,
) -> Option<String> {
    printer.warning(
        "RBAC service might reject creating role assignment without --assignee-principal-type in the future. \
         Better to specify --assignee-principal-type manually.",
    );
    match graph.get_objects_by_ids(&[object_id.to_string()]).await {
        Ok(objects) => objects
            .first()
            .and_then(|object| object.get("@odata.type"))
            .and_then(Value::as_str)
            .and_then(principal_type)
            .map(str::to_string),
        Err(_) => {
            printer.warning(&format!(
                "Failed to query --assignee-principal-type for --assignee-object-id {object_id} by invoking \
                 Graph API."
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_types_as_az_shows_them() {
        assert_eq!(
            displayable_name(&json!({"userPrincipalName": "a@b", "displayName": "A"})),
            "a@b"
        );
        assert_eq!(
            displayable_name(
                &json!({"servicePrincipalNames": ["app", "api://x"], "displayName": "S"})
            ),
            "app"
        );
        assert_eq!(
            displayable_name(&json!({"displayName": "Admins"})),
            "Admins"
        );
        assert_eq!(displayable_name(&json!({"displayName": null})), "");
        assert_eq!(principal_type("#microsoft.graph.group"), Some("Group"));
        assert_eq!(principal_type("#microsoft.graph.device"), None);
    }

    #[test]
    fn several_matches_are_refused_naming_them() {
        let found = vec![json!({"id": "a"}), json!({"id": "b"})];
        let error = one("x@y", found, "User").unwrap_err().to_string();
        assert!(error.contains("'x@y' (a, b)"), "{error}");
        assert_eq!(one("x", Vec::new(), "User").unwrap(), None);
    }
}
