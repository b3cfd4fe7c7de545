//! Redaction of secrets in what the pipeline logs (docs/style.md, habit 9: secrets never reach logs).

use reqwest::header::HeaderMap;
use serde_json::Value;

/// The placeholder written instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// Headers whose values are never logged.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-identity-header",
    "secret",
];

/// JSON/form keys whose values are never logged (case-insensitive). `value` covers `CredentialResult.value`
/// (a base64 kubeconfig, with admin credentials inside) when it is a string.
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "client_assertion",
    "serverAppSecret",
    "secret",
    "password",
    "adminPassword",
    "value",
];

fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(key))
}

/// Headers as `name: value` lines for a debug log, with credentials replaced by `<redacted>`.
pub fn redact_headers(headers: &HeaderMap) -> String {
    let mut lines = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let shown = if SECRET_HEADERS.contains(&name.as_str()) || value.is_sensitive() {
            REDACTED.to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        lines.push(format!("{name}: {shown}"));
    }
    lines.join("\n")
}

/// Replace secret values in a JSON document in place (recursively).
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, value) in object.iter_mut() {
                if is_secret_key(key) && (value.is_string() || key != "value") {
                    if !value.is_null() {
                        *value = Value::String(REDACTED.to_owned());
                    }
                } else {
                    redact_json(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// A body for a debug log: JSON with secrets redacted, form bodies with secret fields redacted, other text
/// truncated to 1 KiB.
pub fn redact_body(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    if let Ok(mut json) = serde_json::from_slice::<Value>(body) {
        redact_json(&mut json);
        return crate::error::truncate_text(&json.to_string());
    }
    let text = String::from_utf8_lossy(body);
    if text.contains('=') && !text.contains(char::is_whitespace) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
            .map(|(key, value)| {
                let value = if is_secret_key(&key) {
                    REDACTED.to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &pairs {
            serializer.append_pair(key, value);
        }
        return crate::error::truncate_text(&serializer.finish());
    }
    crate::error::truncate_text(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn authorization_is_redacted_other_headers_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_static("Bearer eyJsecret"),
        );
        headers.insert("x-ms-client-request-id", HeaderValue::from_static("abc"));
        let text = redact_headers(&headers);
        assert!(!text.contains("eyJsecret"), "{text}");
        assert!(text.contains("authorization: <redacted>"));
        assert!(text.contains("x-ms-client-request-id: abc"));
    }

    #[test]
    fn json_secrets_are_redacted_lists_survive() {
        let body = serde_json::json!({
            "access_token": "tok", "refresh_token": "ref", "expires_in": 3599,
            "kubeconfigs": [{"name": "clusterAdmin", "value": "YXBpVmVyc2lvbjogdjE="}],
            "properties": {"aadProfile": {"serverAppSecret": "s3cret", "managed": true},
                           "servicePrincipalProfile": {"clientId": "c", "secret": "sp-secret"}},
            "value": [{"name": "rg1"}]
        });
        let text = redact_body(body.to_string().as_bytes());
        for secret in ["tok", "ref", "YXBpVmVyc2lvbjogdjE=", "s3cret", "sp-secret"] {
            assert!(
                !text.contains(&format!("\"{secret}\"")),
                "{secret} leaked: {text}"
            );
        }
        assert!(text.contains("\"rg1\""), "list values survive: {text}");
        assert!(text.contains("clusterAdmin"));
        assert!(text.contains("3599"));
    }

    #[test]
    fn form_secrets_are_redacted() {
        let text = redact_body(
            b"client_id=abc&client_secret=very%20secret&grant_type=client_credentials&client_assertion=eyJ",
        );
        assert!(!text.contains("very"), "{text}");
        assert!(!text.contains("eyJ"), "{text}");
        assert!(text.contains("client_id=abc"));
    }
}
