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

/// Form fields whose values never reach the log, besides [`SECRET_KEYS`].
const FORM_SECRET_KEYS: &[&str] = &["code", "code_verifier"];

/// What replaces a secret.
pub(crate) const REDACTED: &str = "REDACTED";

/// Request headers whose values never reach the log (lower case).
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-identity-header",
    "secret",
];

/// The request headers as logged: names in lower case, repeated values joined with `, `, secrets redacted.
fn logged_headers(ctx: &Ctx) -> Value {
    let mut map = Map::new();
    for name in ctx.headers.keys() {
        let value = if SECRET_HEADERS.contains(&name.as_str()) {
            REDACTED.to_string()
        } else {
            ctx.headers
                .get_all(name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        map.insert(name.as_str().to_string(), Value::String(value));
    }
    Value::Object(map)
}

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
            // Authorization codes (and v1 device codes) and PKCE verifiers are secrets in a token form only:
            // `code` elsewhere (an error code, a power state) is not.
            let value = if FORM_SECRET_KEYS.contains(&key.as_ref()) {
                REDACTED.to_string()
            } else {
                value.into_owned()
            };
            map.insert(key.into_owned(), Value::String(value));
        }
        // The header of a client assertion is public (algorithm, thumbprint, certificate chain), the rest is not.
        if let Some(header) = map
            .get("client_assertion")
            .and_then(Value::as_str)
            .and_then(assertion_header)
        {
            map.insert("client_assertion_header".into(), header);
        }
        let mut value = Value::Object(map);
        redact(&mut value);
        return value;
    }
    Value::String(format!("<{} bytes>", ctx.body.len()))
}

/// The decoded JOSE header of a JWT (its first segment), when it is a JSON object.
fn assertion_header(jwt: &str) -> Option<Value> {
    jwt_segment(jwt, 0)
}

/// Segment `index` of a JWT (0: header, 1: claims) decoded as a JSON object; the signature is not checked.
fn jwt_segment(jwt: &str, index: usize) -> Option<Value> {
    use base64::Engine as _;
    let segment = jwt.split('.').nth(index)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

/// Who a request's bearer token names (`oid`, `tid`, `appid`, `upn` as the token says; not verified here — the
/// service checks it): lets a test tell which identity made an ARM or Graph call without logging the token.
fn caller(ctx: &Ctx) -> Option<Value> {
    let (scheme, token) = ctx.header("authorization")?.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let claims = jwt_segment(token.trim(), 1)?;
    let mut caller = Map::new();
    for name in ["oid", "tid", "appid", "upn"] {
        if let Some(value) = claims.get(name).filter(|value| value.is_string()) {
            caller.insert(name.to_string(), value.clone());
        }
    }
    Some(Value::Object(caller))
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
        "headers": logged_headers(ctx),
    });
    if matches!(ctx.method.as_str(), "PUT" | "POST" | "PATCH") {
        entry["body"] = logged_body(ctx);
    }
    if let Some(caller) = caller(ctx) {
        entry["caller"] = caller;
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

    #[test]
    fn a_client_assertion_is_redacted_but_its_header_is_logged() {
        use base64::Engine as _;
        let encode = |value: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
        };
        let header = json!({"alg": "RS256", "typ": "JWT", "x5t": "abc", "x5c": ["MIIB", "MIIC"]});
        let jwt = format!(
            "{}.{}.c2lnbmF0dXJl",
            encode(&header),
            encode(&json!({"sub": "app-secret-claims"}))
        );
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let ctx = Ctx::new(
            axum::http::Method::POST,
            &"/t/oauth2/v2.0/token".parse().unwrap(),
            headers,
            axum::body::Bytes::from(format!(
                "grant_type=client_credentials&client_assertion={jwt}"
            )),
        );
        let body = logged_body(&ctx);
        assert_eq!(body["client_assertion"], REDACTED);
        assert_eq!(body["client_assertion_header"], header);
        assert!(!body.to_string().contains("c2lnbmF0dXJl"));
    }

    #[test]
    fn the_caller_is_what_the_bearer_token_names_and_the_token_is_not_logged() {
        use base64::Engine as _;
        let claims = json!({"oid": "o-1", "tid": "t-1", "appid": "a-1", "groups": ["g"], "exp": 1});
        let jwt = format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJl",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {jwt}").parse().unwrap());
        let ctx = Ctx::new(
            axum::http::Method::GET,
            &"/subscriptions".parse().unwrap(),
            headers,
            axum::body::Bytes::new(),
        );
        assert_eq!(
            caller(&ctx),
            Some(json!({"oid": "o-1", "tid": "t-1", "appid": "a-1"}))
        );
        assert_eq!(logged_headers(&ctx)["authorization"], REDACTED);

        let mut headers = axum::http::HeaderMap::new();
        headers.insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
        let ctx = Ctx::new(
            axum::http::Method::GET,
            &"/subscriptions".parse().unwrap(),
            headers,
            axum::body::Bytes::new(),
        );
        assert_eq!(caller(&ctx), None);
    }

    #[test]
    fn authorization_codes_and_verifiers_in_forms_are_redacted() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let ctx = Ctx::new(
            axum::http::Method::POST,
            &"/t/oauth2/v2.0/token".parse().unwrap(),
            headers,
            axum::body::Bytes::from_static(
                b"grant_type=authorization_code&code=1.AQsecret&code_verifier=v3rifier&redirect_uri=http%3A%2F%2Flocalhost%3A1",
            ),
        );
        let body = logged_body(&ctx);
        assert_eq!(body["code"], REDACTED);
        assert_eq!(body["code_verifier"], REDACTED);
        assert_eq!(body["grant_type"], "authorization_code");
        assert_eq!(body["redirect_uri"], "http://localhost:1");
    }
}
