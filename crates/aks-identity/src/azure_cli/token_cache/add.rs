//! What MSAL Python stores for a token response (`TokenCache.__add`, `update_rt`), field for field and in its
//! order, so that the file is the one MSAL itself would write.

use serde_json::{Map, Value, json};

use super::keys::{
    access_token_key, account_key, app_metadata_key, id_token_key, refresh_token_key, target_of,
};
use super::model::{Section, TokenCache, text};
use super::search::CachedRefreshToken;
use crate::azure_cli::claims::{claim, home_account_id, id_token_claims};

/// The grant that produced a response; it decides whether an Account is made and its `account_source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Browser sign-in (`authorization_code`).
    AuthorizationCode,
    /// Device code (`urn:ietf:params:oauth:grant-type:device_code`).
    DeviceCode,
    /// Username and password (`password`).
    Password,
    /// A refresh: no Account is made, and the old refresh token is updated in place.
    RefreshToken,
    /// App-only (`client_credentials`).
    ClientCredentials,
}

impl Grant {
    /// `account_source` of the Account an interactive grant establishes.
    fn account_source(self) -> Option<&'static str> {
        match self {
            Grant::AuthorizationCode => Some("authorization_code"),
            Grant::DeviceCode => Some("urn:ietf:params:oauth:grant-type:device_code"),
            Grant::Password => Some("password"),
            Grant::RefreshToken | Grant::ClientCredentials => None,
        }
    }
}

/// A successful token-endpoint answer and its context (MSAL's token "event").
#[derive(Clone, Debug)]
pub struct TokenResponse<'a> {
    /// The app that asked.
    pub client_id: &'a str,
    /// The authority host (stored lower-cased).
    pub environment: &'a str,
    /// The tenant path segment of the token endpoint.
    pub realm: &'a str,
    /// The scopes asked for (used when the answer has no `scope`).
    pub requested_scopes: &'a [String],
    /// The grant.
    pub grant: Grant,
    /// The ROPC username (the Account's username when the id token has none).
    pub username: Option<&'a str>,
    /// The JSON answer.
    pub body: &'a Map<String, Value>,
}

/// An integer field that Entra may send as a number or a string (AAD v1-like endpoints).
fn integer(body: &Map<String, Value>, field: &str) -> Option<i64> {
    match body.get(field)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

impl TokenCache {
    /// Store a token answer as MSAL does: AccessToken, Account (not on refresh), IdToken, RefreshToken (not on
    /// refresh: see [`TokenCache::update_refresh_token`]) and AppMetadata (`family_id` only when the answer had
    /// `foci`). Returns the `home_account_id`.
    pub fn add(&mut self, response: &TokenResponse<'_>, now: i64) -> Option<String> {
        let body = response.body;
        let environment = response.environment.to_lowercase();
        let id_token = text(body, "id_token");
        let id_claims = id_token.map(id_token_claims).unwrap_or_default();
        let home = home_account_id(text(body, "client_info"), &id_claims);
        let scopes: Vec<String> = match text(body, "scope") {
            Some(scope) => scope.split_whitespace().map(str::to_string).collect(),
            None => response.requested_scopes.to_vec(),
        };
        let target = target_of(&scopes);
        let common = Context {
            home: home.as_deref(),
            environment: &environment,
            client_id: response.client_id,
            realm: response.realm,
            target: &target,
        };
        if let Some(access_token) = text(body, "access_token") {
            self.add_access_token(&common, body, access_token, now);
        }
        if home.is_some() && response.grant != Grant::RefreshToken {
            self.add_account(&common, response, &id_claims);
        }
        if let Some(id_token) = id_token {
            let entry = json!({
                "credential_type": "IdToken",
                "secret": id_token,
                "home_account_id": common.home,
                "environment": common.environment,
                "realm": common.realm,
                "client_id": common.client_id,
            });
            let key = id_token_key(
                common.home,
                common.environment,
                common.client_id,
                common.realm,
            );
            self.put(Section::IdToken, key, object(entry));
        }
        if let (Some(refresh_token), false) = (
            text(body, "refresh_token"),
            response.grant == Grant::RefreshToken,
        ) {
            let mut entry = object(json!({
                "credential_type": "RefreshToken",
                "secret": refresh_token,
                "home_account_id": common.home,
                "environment": common.environment,
                "client_id": common.client_id,
                "target": common.target,
                "last_modification_time": now.to_string(),
            }));
            if let Some(foci) = body.get("foci") {
                entry.insert("family_id".into(), foci.clone());
            }
            let key = refresh_token_key(
                common.home,
                common.environment,
                common.client_id,
                common.target,
            );
            self.put(Section::RefreshToken, key, entry);
        }
        let mut metadata =
            object(json!({"client_id": common.client_id, "environment": common.environment}));
        if let Some(foci) = body.get("foci") {
            metadata.insert("family_id".into(), foci.clone());
        }
        self.put(
            Section::AppMetadata,
            app_metadata_key(common.environment, common.client_id),
            metadata,
        );
        home
    }

    /// MSAL's `update_rt`: the redeemed refresh token gets the new secret and a new `last_modification_time`,
    /// under the key its own fields give.
    pub fn update_refresh_token(&mut self, old: &CachedRefreshToken, new_secret: &str, now: i64) {
        let mut entry = old.entry.clone();
        entry.insert("secret".into(), Value::String(new_secret.to_string()));
        entry.insert(
            "last_modification_time".into(),
            Value::String(now.to_string()),
        );
        let key = refresh_token_key(
            text(&entry, "home_account_id"),
            text(&entry, "environment").unwrap_or_default(),
            text(&entry, "client_id").unwrap_or_default(),
            text(&entry, "target").unwrap_or_default(),
        );
        self.put(Section::RefreshToken, key, entry);
    }

    fn add_access_token(
        &mut self,
        common: &Context<'_>,
        body: &Map<String, Value>,
        secret: &str,
        now: i64,
    ) {
        let default_expires_in =
            integer(body, "expires_on").map_or(600, |expires_on| expires_on - now);
        let expires_in = integer(body, "expires_in").unwrap_or(default_expires_in);
        let ext_expires_in = integer(body, "ext_expires_in").unwrap_or(expires_in);
        let mut entry = object(json!({
            "credential_type": "AccessToken",
            "secret": secret,
            "home_account_id": common.home,
            "environment": common.environment,
            "client_id": common.client_id,
            "target": common.target,
            "realm": common.realm,
            "token_type": text(body, "token_type").unwrap_or("Bearer"),
            "cached_at": now.to_string(),
            "expires_on": (now + expires_in).to_string(),
            "extended_expires_on": (now + ext_expires_in).to_string(),
        }));
        if let Some(refresh_in) = integer(body, "refresh_in") {
            entry.insert(
                "refresh_on".into(),
                Value::String((now + refresh_in).to_string()),
            );
        }
        let key = access_token_key(
            common.home,
            common.environment,
            common.client_id,
            common.realm,
            common.target,
            None,
        );
        self.put(Section::AccessToken, key, entry);
    }

    fn add_account(
        &mut self,
        common: &Context<'_>,
        response: &TokenResponse<'_>,
        id_claims: &Map<String, Value>,
    ) {
        let local_account_id = id_claims
            .get("oid")
            .or_else(|| id_claims.get("sub"))
            .cloned();
        let username = [
            claim(id_claims, "preferred_username"),
            claim(id_claims, "upn"),
            response.username,
        ]
        .into_iter()
        .flatten()
        .find(|name| !name.is_empty())
        .unwrap_or_default();
        let mut entry = object(json!({
            "home_account_id": common.home,
            "environment": common.environment,
            "realm": common.realm,
            "local_account_id": local_account_id,
            "username": username,
            "authority_type": if common.realm == "adfs" { "ADFS" } else { "MSSTS" },
        }));
        if let Some(source) = response.grant.account_source() {
            entry.insert("account_source".into(), Value::String(source.to_string()));
        }
        let key = account_key(common.home, common.environment, common.realm);
        self.put(Section::Account, key, entry);
    }
}

/// The parts every entry of one answer shares.
struct Context<'a> {
    home: Option<&'a str>,
    environment: &'a str,
    client_id: &'a str,
    realm: &'a str,
    target: &'a str,
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
