//! The request log behind `GET /_emulator/requests`: every request handled, with secrets redacted.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::http::Ctx;
use crate::state::{SharedState, rfc3339_now};

/// Keys whose values never reach the log (matched case-insensitively, at any depth).
const SECRET_KEYS: &[&str] = &[
    "serverappsecret",
    "client_secret",
    "client_assertion",
    "access_token",
    "refresh_token",
    "id_token",
    "assertion",
    "password",
    "adminpassword",
    "secret",
    "device_code",
    "token",
];

/// What replaces a secret.
pub(crate) const REDACTED: &str = "REDACTED";

/// Replace every secret value in a JSON document with `"REDACTED"`.
pub(crate) fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let lower = key.to_ascii_lowercase();
                if SECRET_KEYS.contains(&lower.as_str()) && !item.is_null() {
                    *item = Value::String(REDACTED.into());
                } else {
                    redact(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The request body as logged: JSON (redacted), a form as a JSON object (redacted), else its size.
fn logged_body(ctx: &Ctx) -> Value {
    if ctx.body.is_empty() {
        return Value::Null;
    }
    if let Ok(mut value) = serde_json::from_slice::<Value>(&ctx.body) {
        redact(&mut value);
        return value;
    }
    let is_form = ctx
        .header("content-type")
        .is_some_and(|content_type| content_type.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let mut map = Map::new();
        for (key, value) in url::form_urlencoded::parse(&ctx.body) {
            map.insert(key.into_owned(), Value::String(value.into_owned()));
        }
        let mut value = Value::Object(map);
        redact(&mut value);
        return value;
    }
    Value::String(format!("<{} bytes>", ctx.body.len()))
}

/// Append one entry for a handled request. `server` is `arm` for the main server (ARM, Entra) or
/// `kubernetes` for a cluster endpoint.
pub(crate) fn record(state: &SharedState, server: &str, ctx: &Ctx, status: StatusCode) {
    let mut entry = json!({
        "time": rfc3339_now(),
        "server": server,
        "method": ctx.method.as_str(),
        "path": ctx.path,
        "query": ctx.raw_query,
        "status": status.as_u16(),
    });
    if matches!(ctx.method.as_str(), "PUT" | "POST" | "PATCH") {
        entry["body"] = logged_body(ctx);
    }
    tracing::debug!(method = %ctx.method, path = %ctx.path, status = status.as_u16(), "request");
    state.store().record(entry);
}

/// Like [`record`], with the cluster a Kubernetes endpoint belongs to.
pub(crate) fn record_kubernetes(state: &SharedState, cluster: &str, ctx: &Ctx, status: StatusCode) {
    let mut entry = json!({
        "time": rfc3339_now(),
        "server": "kubernetes",
        "cluster": cluster,
        "method": ctx.method.as_str(),
        "path": ctx.path,
        "query": ctx.raw_query,
        "status": status.as_u16(),
    });
    if matches!(ctx.method.as_str(), "PUT" | "POST" | "PATCH") {
        entry["body"] = logged_body(ctx);
    }
    state.store().record(entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let mut value = json!({
            "properties": {"aadProfile": {"serverAppSecret": "s3cret", "clientAppID": "c"},
                           "servicePrincipalProfile": {"clientId": "x", "secret": "p"}},
            "client_secret": "x", "scope": "a/.default"
        });
        redact(&mut value);
        let text = value.to_string();
        assert!(
            !text.contains("s3cret") && !text.contains("\"p\""),
            "{text}"
        );
        assert_eq!(value["properties"]["aadProfile"]["clientAppID"], "c");
        assert_eq!(value["client_secret"], REDACTED);
        assert_eq!(value["scope"], "a/.default");
    }
}
