//! What MSAL reads from a token response without validating anything: `client_info` (base64url JSON with `uid`
//! and `utid`) and the id token's claims (AzureAD/microsoft-authentication-library-for-python:
//! `msal/token_cache.py`, `msal/oauth2cli/oidc.py`; MSAL does not validate the id token, msal-python issue #911).

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

/// Decode base64url with or without padding (MSAL re-pads before decoding).
pub fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()
        .or_else(|| URL_SAFE.decode(text).ok())
}

/// A base64url JSON object, e.g. `client_info` or a JWT payload.
pub fn decode_json_object(text: &str) -> Option<Map<String, Value>> {
    let bytes = decode_base64url(text)?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

/// The claims of a JWT (its middle part), unvalidated; an unreadable token has no claims.
pub fn id_token_claims(id_token: &str) -> Map<String, Value> {
    id_token
        .split('.')
        .nth(1)
        .and_then(decode_json_object)
        .unwrap_or_default()
}

/// MSAL's `home_account_id`: `<uid>.<utid>` from `client_info`, else the id token's `sub` (ADFS), else none
/// (client credentials).
pub fn home_account_id(
    client_info: Option<&str>,
    id_claims: &Map<String, Value>,
) -> Option<String> {
    if let Some(info) = client_info.and_then(decode_json_object)
        && let (Some(uid), Some(utid)) = (info.get("uid"), info.get("utid"))
    {
        return Some(format!("{}.{}", plain(uid), plain(utid)));
    }
    id_claims.get("sub").map(plain)
}

/// Python's `str.format` of a JSON value: strings as they are, others as JSON text.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A claim as a string, when it is one.
pub fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(value: &Value, padded: bool) -> String {
        let engine = if padded { URL_SAFE } else { URL_SAFE_NO_PAD };
        engine.encode(value.to_string())
    }

    #[test]
    fn home_account_id_from_client_info_padded_or_not() {
        let info = json!({"uid": "11111111-aaaa", "utid": "22222222-bbbb"});
        let claims = Map::new();
        for padded in [true, false] {
            assert_eq!(
                home_account_id(Some(&encode(&info, padded)), &claims).as_deref(),
                Some("11111111-aaaa.22222222-bbbb")
            );
        }
        let sub_only = json!({"sub": "adfs-sub"}).as_object().unwrap().clone();
        assert_eq!(
            home_account_id(Some(&encode(&json!({"uid": "x"}), false)), &sub_only).as_deref(),
            Some("adfs-sub")
        );
        assert_eq!(home_account_id(None, &Map::new()), None);
    }

    #[test]
    fn id_token_claims_are_read_without_validation() {
        let payload = encode(&json!({"oid": "o", "preferred_username": "a@b"}), false);
        let claims = id_token_claims(&format!("eyJhbGciOiJub25lIn0.{payload}.sig"));
        assert_eq!(claim(&claims, "oid"), Some("o"));
        assert!(id_token_claims("not-a-jwt").is_empty());
    }
}
