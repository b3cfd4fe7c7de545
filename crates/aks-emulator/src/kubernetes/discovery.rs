//! `GET /version` and legacy discovery (`/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`), built from the
//! one list of served resource types (docs/kubectl-wire.md).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::types::{RESOURCES, ResourceType};
use super::view::ClusterView;
use super::wire::not_found;
use crate::http::json;

/// `GET /version`: the cluster's running version (docs/kubectl-wire.md).
pub(super) fn version(view: &ClusterView) -> Response {
    let current = view.version();
    let (major, minor) = crate::arm::major_minor_of(&current).unwrap_or((1, 32));
    json(
        StatusCode::OK,
        &json!({
            "major": major.to_string(),
            "minor": minor.to_string(),
            "gitVersion": format!("v{current}"),
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": "go1.23.8",
            "compiler": "gc",
            "platform": "linux/amd64",
        }),
    )
}

/// The named API groups, in the order of [`RESOURCES`].
fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&str> = Vec::new();
    for resource in RESOURCES {
        if !resource.group.is_empty() && !groups.contains(&resource.group) {
            groups.push(resource.group);
        }
    }
    groups
}

fn group_document(group: &str) -> Value {
    let version = json!({"groupVersion": format!("{group}/v1"), "version": "v1"});
    json!({"name": group, "versions": [version.clone()], "preferredVersion": version})
}

fn resource_list(group: &str) -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|resource| resource.group == group)
        .map(|resource: &ResourceType| {
            let mut entry = json!({
                "name": resource.plural,
                "singularName": resource.singular,
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": resource.verbs,
            });
            if !resource.short.is_empty() {
                entry["shortNames"] = json!(resource.short);
            }
            entry
        })
        .collect();
    let group_version = if group.is_empty() {
        "v1".to_string()
    } else {
        format!("{group}/v1")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

/// Legacy discovery documents (docs/kubectl-wire.md).
pub(super) fn discovery(view: &ClusterView, segments: &[String]) -> Response {
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let body = match segments.as_slice() {
        ["api"] => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": format!("127.0.0.1:{}", view.kube_port)}],
        }),
        ["apis"] => {
            let groups: Vec<Value> = groups().into_iter().map(group_document).collect();
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        ["api", "v1"] => resource_list(""),
        ["apis", group] if groups().contains(group) => {
            let mut document = group_document(group);
            document["kind"] = json!("APIGroup");
            document["apiVersion"] = json!("v1");
            document
        }
        ["apis", group, "v1"] if groups().contains(group) => resource_list(group),
        _ => return not_found(),
    };
    json(StatusCode::OK, &body)
}
