//! The wire shapes every answer of the Kubernetes endpoint shares: `Status` bodies, objects with their table
//! cells, lists (as `Table` for kubectl, else `{Kind}List`) and the AGE column (docs/kubectl-wire.md).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::types::ResourceType;
use crate::http::{Ctx, json};

/// A Kubernetes `Status` failure answer.
pub(super) fn status(
    code: StatusCode,
    reason: &str,
    message: &str,
    details: Option<Value>,
) -> Response {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    body["code"] = json!(code.as_u16());
    json(code, &body)
}

/// The `details` of a `Status` about one object: `name`, `group` (omitted for the core group), `kind` (the
/// plural resource, as the API server writes it).
pub(super) fn details(resource: &ResourceType, name: Option<&str>) -> Value {
    let mut details = json!({});
    if let Some(name) = name {
        details["name"] = json!(name);
    }
    if !resource.group.is_empty() {
        details["group"] = json!(resource.group);
    }
    details["kind"] = json!(resource.plural);
    details
}

/// The Kubernetes `Status` 404 for an unknown path.
pub(super) fn not_found() -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

/// `{resource}[.{group}] "{name}" not found`.
pub(super) fn object_not_found(resource: &ResourceType, name: &str) -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("{} \"{name}\" not found", resource.qualified()),
        Some(details(resource, Some(name))),
    )
}

/// 405 for a verb the emulator does not do on a resource.
pub(super) fn method_not_allowed() -> Response {
    status(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource (the local cloud emulator only reads)",
        Some(json!({})),
    )
}

/// Kubernetes' `duration.HumanDuration`: the AGE column.
pub(super) fn human_duration(seconds: u64) -> String {
    let minutes = seconds / 60;
    let hours = seconds / 3600;
    let days = hours / 24;
    let years = days / 365;
    if seconds < 120 {
        format!("{seconds}s")
    } else if minutes < 10 {
        let rest = seconds % 60;
        if rest == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{rest}s")
        }
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        let rest = minutes % 60;
        if rest == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{rest}m")
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let rest = hours % 24;
        if rest == 0 {
            format!("{days}d")
        } else {
            format!("{days}d{rest}h")
        }
    } else if hours < 24 * 365 * 2 {
        format!("{days}d")
    } else if hours < 24 * 365 * 8 {
        let rest = days % 365;
        if rest == 0 {
            format!("{years}y")
        } else {
            format!("{years}y{rest}d")
        }
    } else {
        format!("{years}y")
    }
}

pub(super) fn rfc3339_of_ms(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// An emulated object: its metadata, full JSON, and table cells.
pub(super) struct Object {
    pub metadata: Value,
    pub object: Value,
    pub cells: Vec<Value>,
    pub labels: Map<String, Value>,
}

/// FNV-1a: a stable number from a name (the 8-digit part of AKS node names).
pub(super) fn stable_hash(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// A stable object uid from a name.
pub(super) fn stable_uid(name: &str) -> String {
    let high = u128::from(stable_hash(name));
    let low = u128::from(stable_hash(&format!("{name}#uid")));
    uuid::Uuid::from_u128((high << 96) | (low << 64) | (high << 32) | low).to_string()
}

/// Whether `labels` match a label selector of equality terms (`k=v`, `k==v`, `k!=v`, `k`, `!k`).
pub(super) fn selector_matches(selector: &str, labels: &Map<String, Value>) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .all(|term| {
            let label = |key: &str| labels.get(key.trim()).and_then(Value::as_str);
            if let Some((key, value)) = term.split_once("!=") {
                label(key) != Some(value.trim())
            } else if let Some((key, value)) =
                term.split_once("==").or_else(|| term.split_once('='))
            {
                label(key) == Some(value.trim())
            } else if let Some(key) = term.strip_prefix('!') {
                label(key).is_none()
            } else {
                label(term).is_some()
            }
        })
}

/// A column definition of a `Table`.
pub(super) fn column(name: &str, kind: &str, priority: u32) -> Value {
    json!({"name": name, "type": kind, "format": if name == "Name" { "name" } else { "" }, "description": "", "priority": priority})
}

/// The age of an object created at `created_ms`, as kubectl's AGE column shows it.
pub(super) fn age_of(created_ms: u64) -> String {
    human_duration(crate::state::now_ms().saturating_sub(created_ms) / 1000)
}

/// Whether the request's `Accept` asks for a `Table` first (kubectl get).
fn wants_table(ctx: &Ctx) -> bool {
    ctx.header("accept").is_some_and(|accept| {
        accept
            .split(',')
            .next()
            .is_some_and(|first| first.contains("as=Table"))
    })
}

/// Whether an object's name meets a `fieldSelector` of `metadata.name=` terms (what `kubectl delete --wait`
/// and `kubectl get NAME --watch` send); other fields are not filtered.
fn field_selector_matches(selector: &str, metadata: &Value) -> bool {
    selector.split(',').all(|term| {
        match term
            .strip_prefix("metadata.name==")
            .or_else(|| term.strip_prefix("metadata.name="))
        {
            Some(name) => metadata["name"] == name,
            None => true,
        }
    })
}

/// A list, as a `Table` with `columns` when `Accept` asks for `as=Table` (docs/kubectl-wire.md), else
/// `{Kind}List`; `labelSelector` and `fieldSelector` (`metadata.name`) filter it.
pub(super) fn list(
    ctx: &Ctx,
    resource: &ResourceType,
    columns: Vec<Value>,
    objects: Vec<Object>,
) -> Response {
    let labels = ctx.query("labelSelector").unwrap_or_default();
    let fields = ctx.query("fieldSelector").unwrap_or_default();
    let items = objects.into_iter().filter(|object| {
        selector_matches(labels, &object.labels) && field_selector_matches(fields, &object.metadata)
    });
    let body = if wants_table(ctx) {
        let rows: Vec<Value> = items
            .map(|object| {
                json!({
                    "cells": object.cells,
                    "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object.metadata},
                })
            })
            .collect();
        json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": "1"},
            "columnDefinitions": columns,
            "rows": rows,
        })
    } else {
        let items: Vec<Value> = items.map(|object| resource.typed(object.object)).collect();
        json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": resource.api_version(),
            "metadata": {"resourceVersion": "1"},
            "items": items,
        })
    };
    json(StatusCode::OK, &body)
}

/// One object by name, else the 404 naming it.
pub(super) fn get(resource: &ResourceType, objects: Vec<Object>, name: &str) -> Response {
    match objects
        .into_iter()
        .find(|object| object.metadata["name"] == name)
    {
        Some(object) => json(StatusCode::OK, &resource.typed(object.object)),
        None => object_not_found(resource, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(4 * 3600 + 60), "4h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(10 * 86400), "10d");
    }

    #[test]
    fn label_selectors_match_equality_terms() {
        let mut labels = Map::new();
        labels.insert("agentpool".into(), json!("nodepool1"));
        assert!(selector_matches("", &labels));
        assert!(selector_matches("agentpool=nodepool1", &labels));
        assert!(selector_matches("agentpool==nodepool1,agentpool", &labels));
        assert!(!selector_matches("agentpool!=nodepool1", &labels));
        assert!(!selector_matches(
            "kubernetes.io/cluster-service=true",
            &labels
        ));
        assert!(selector_matches("!missing", &labels));
    }

    #[test]
    fn field_selectors_filter_by_name_only() {
        let metadata = json!({"name": "a"});
        assert!(field_selector_matches("", &metadata));
        assert!(field_selector_matches("metadata.name=a", &metadata));
        assert!(!field_selector_matches("metadata.name==b", &metadata));
        assert!(field_selector_matches("spec.nodeName=x", &metadata));
    }
}
