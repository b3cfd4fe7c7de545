//! MSAL's lookups: accounts of an environment, an access token for a query, and the refresh tokens an app may
//! redeem (its own, or its family's). Entries are found by scanning with MSAL's matching rules, because keys
//! written by older MSAL versions are not canonical (unsorted targets).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::keys::access_token_key;
use super::model::{Section, TokenCache, epoch, text};
use crate::azure_cli::secret::Secret;

/// MSAL treats an access token as expired this many seconds before `expires_on`.
pub const EXPIRY_MARGIN_SECONDS: i64 = 300;

/// An account entry (`get_accounts`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedAccount {
    /// `<uid>.<utid>`.
    pub home_account_id: String,
    /// The authority host.
    pub environment: String,
    /// The tenant path segment of the sign-in.
    pub realm: String,
    /// The id token's `oid` (else `sub`).
    pub local_account_id: Option<String>,
    /// `preferred_username` (else `upn`); may be empty, never absent.
    pub username: String,
    /// `MSSTS`, `ADFS`, `CLOUDSHELL`.
    pub authority_type: String,
    /// The grant that created it, when recorded.
    pub account_source: Option<String>,
}

/// What an access-token lookup needs (MSAL's query in `acquire_token_silent`).
#[derive(Clone, Debug)]
pub struct AccessTokenQuery<'a> {
    /// The app.
    pub client_id: &'a str,
    /// The authority host (compared lower-cased).
    pub environment: &'a str,
    /// The authority's tenant segment.
    pub realm: &'a str,
    /// The account; `None` for app-only tokens.
    pub home_account_id: Option<&'a str>,
    /// The scopes wanted: all must be in the entry's `target`.
    pub scopes: &'a [String],
    /// Only entries with this `ext_cache_key` (and, without one, only entries without one).
    pub ext_cache_key: Option<&'a str>,
}

/// A usable access token from the cache.
#[derive(Clone, Debug)]
pub struct CachedAccessToken {
    /// The token.
    pub secret: Secret,
    /// Epoch seconds.
    pub expires_on: i64,
    /// When MSAL would refresh it proactively (epoch seconds).
    pub refresh_on: Option<i64>,
    /// The entry's realm.
    pub realm: String,
    /// The entry's scopes.
    pub target: String,
}

impl CachedAccessToken {
    /// `refresh_on` has passed: refresh, and use this token only if the refresh fails.
    pub fn wants_refresh(&self, now: i64) -> bool {
        self.refresh_on.is_some_and(|refresh_on| refresh_on < now)
    }
}

/// A refresh token entry.
#[derive(Clone)]
pub struct CachedRefreshToken {
    /// The token.
    pub secret: Secret,
    /// The client it was issued to.
    pub client_id: String,
    /// Its family (FOCI), when recorded.
    pub family_id: Option<String>,
    /// Epoch seconds of its last update.
    pub last_modification_time: i64,
    pub(crate) entry: Map<String, Value>,
}

impl std::fmt::Debug for CachedRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedRefreshToken")
            .field("secret", &self.secret)
            .field("client_id", &self.client_id)
            .field("family_id", &self.family_id)
            .field("last_modification_time", &self.last_modification_time)
            .finish_non_exhaustive()
    }
}

/// Whether `entry` holds `value` in `field` (MSAL's `is_subdict_of`: equal JSON values; `None` matches null or
/// absent).
fn holds(entry: &Map<String, Value>, field: &str, value: Option<&str>) -> bool {
    match (entry.get(field), value) {
        (Some(Value::String(found)), Some(wanted)) => found == wanted,
        (None | Some(Value::Null), None) => true,
        _ => false,
    }
}

impl TokenCache {
    /// MSAL's `get_accounts(username)` for an authority host: MSSTS/ADFS accounts of that environment, one per
    /// `home_account_id` (the last entry wins, in the first one's place), optionally only `username` (any case).
    pub fn accounts(&self, environment: &str, username: Option<&str>) -> Vec<CachedAccount> {
        let environment = environment.to_lowercase();
        let mut grouped: Vec<CachedAccount> = Vec::new();
        for entry in self.entries(Section::Account) {
            let authority_type = text(entry, "authority_type").unwrap_or_default();
            if !holds(entry, "environment", Some(&environment))
                || !matches!(authority_type, "MSSTS" | "ADFS")
            {
                continue;
            }
            let Some(account) = account_of(entry) else {
                continue;
            };
            match grouped
                .iter_mut()
                .find(|seen| seen.home_account_id == account.home_account_id)
            {
                Some(seen) => *seen = account,
                None => grouped.push(account),
            }
        }
        if let Some(username) = username {
            let wanted = username.to_lowercase();
            grouped.retain(|account| account.username.to_lowercase() == wanted);
        }
        grouped
    }

    /// MSAL's access-token lookup: the canonical key first, then a scan; entries expiring within
    /// [`EXPIRY_MARGIN_SECONDS`] of `now` do not count.
    pub fn find_access_token(
        &self,
        query: &AccessTokenQuery<'_>,
        now: i64,
    ) -> Option<CachedAccessToken> {
        let environment = query.environment.to_lowercase();
        let wanted: HashSet<&str> = query.scopes.iter().map(String::as_str).collect();
        let matches = |entry: &Map<String, Value>| {
            let target: HashSet<&str> = text(entry, "target")
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            holds(entry, "client_id", Some(query.client_id))
                && holds(entry, "environment", Some(&environment))
                && holds(entry, "realm", Some(query.realm))
                && holds(entry, "home_account_id", query.home_account_id)
                && wanted.is_subset(&target)
                && match query.ext_cache_key {
                    Some(key) => holds(entry, "ext_cache_key", Some(key)),
                    None => !entry.contains_key("ext_cache_key"),
                }
        };
        let canonical = access_token_key(
            query.home_account_id,
            &environment,
            query.client_id,
            query.realm,
            &super::keys::target_of(query.scopes),
            query.ext_cache_key,
        );
        let preferred = self
            .keyed_entries(Section::AccessToken)
            .filter(|(key, _)| **key == canonical)
            .map(|(_, entry)| entry);
        let scanned = self
            .keyed_entries(Section::AccessToken)
            .filter(|(key, _)| **key != canonical);
        preferred
            .chain(scanned.map(|(_, entry)| entry))
            .filter(|entry| matches(entry))
            .find_map(|entry| usable_access_token(entry, now))
    }

    /// The refresh tokens of an account for `client_id`, in the order MSAL tries them: family `"1"` tokens when
    /// the app has no AppMetadata yet, the app's family tokens when its AppMetadata names one, then its own; each
    /// group newest first. Realm and target do not matter (refresh tokens are cross-tenant).
    pub fn refresh_tokens(
        &self,
        environment: &str,
        home_account_id: &str,
        client_id: &str,
    ) -> Vec<CachedRefreshToken> {
        let mut groups: Vec<RefreshOwner> = Vec::new();
        match self.app_metadata(environment, client_id) {
            None => groups.push(RefreshOwner::Family("1".to_string())),
            Some(metadata) => {
                if let Some(family) = text(metadata, "family_id") {
                    groups.push(RefreshOwner::Family(family.to_string()));
                }
            }
        }
        groups.push(RefreshOwner::Client(client_id.to_string()));

        let environment = environment.to_lowercase();
        let mut ordered: Vec<CachedRefreshToken> = Vec::new();
        for group in groups {
            let mut found: Vec<CachedRefreshToken> = self
                .entries(Section::RefreshToken)
                .filter(|entry| {
                    holds(entry, "environment", Some(&environment))
                        && holds(entry, "home_account_id", Some(home_account_id))
                        && group.owns(entry)
                })
                .filter_map(refresh_token_of)
                .filter(|candidate| !ordered.iter().any(|seen| seen.entry == candidate.entry))
                .collect();
            found.sort_by_key(|candidate| std::cmp::Reverse(candidate.last_modification_time));
            ordered.extend(found);
        }
        ordered
    }

    /// The AppMetadata entry of a client (found by scanning, as its key is case-sensitive).
    pub fn app_metadata(&self, environment: &str, client_id: &str) -> Option<&Map<String, Value>> {
        let environment = environment.to_lowercase();
        self.entries(Section::AppMetadata).find(|entry| {
            holds(entry, "environment", Some(&environment))
                && holds(entry, "client_id", Some(client_id))
        })
    }
}

/// Whose refresh tokens a group holds.
enum RefreshOwner {
    /// Issued to a family of clients (FOCI).
    Family(String),
    /// Issued to one client.
    Client(String),
}

impl RefreshOwner {
    fn owns(&self, entry: &Map<String, Value>) -> bool {
        match self {
            RefreshOwner::Family(family) => holds(entry, "family_id", Some(family)),
            RefreshOwner::Client(client_id) => holds(entry, "client_id", Some(client_id)),
        }
    }
}

fn account_of(entry: &Map<String, Value>) -> Option<CachedAccount> {
    Some(CachedAccount {
        home_account_id: text(entry, "home_account_id")?.to_string(),
        environment: text(entry, "environment")?.to_string(),
        realm: text(entry, "realm").unwrap_or_default().to_string(),
        local_account_id: text(entry, "local_account_id").map(str::to_string),
        username: text(entry, "username").unwrap_or_default().to_string(),
        authority_type: text(entry, "authority_type")
            .unwrap_or_default()
            .to_string(),
        account_source: text(entry, "account_source").map(str::to_string),
    })
}

fn usable_access_token(entry: &Map<String, Value>, now: i64) -> Option<CachedAccessToken> {
    let expires_on = epoch(entry, "expires_on")?;
    if expires_on - now < EXPIRY_MARGIN_SECONDS {
        return None;
    }
    Some(CachedAccessToken {
        secret: Secret::new(text(entry, "secret")?),
        expires_on,
        refresh_on: epoch(entry, "refresh_on"),
        realm: text(entry, "realm").unwrap_or_default().to_string(),
        target: text(entry, "target").unwrap_or_default().to_string(),
    })
}

fn refresh_token_of(entry: &Map<String, Value>) -> Option<CachedRefreshToken> {
    Some(CachedRefreshToken {
        secret: Secret::new(text(entry, "secret")?),
        client_id: text(entry, "client_id").unwrap_or_default().to_string(),
        family_id: text(entry, "family_id").map(str::to_string),
        last_modification_time: epoch(entry, "last_modification_time").unwrap_or(0),
        entry: entry.clone(),
    })
}
