//! The silent token path of `az account get-access-token`: the login's access token from MSAL's cache when one
//! is valid for 5 more minutes, else its refresh token redeemed at Entra (MSAL's order: family, then own) and the
//! answer stored under the lock (Azure/azure-cli: `core/_profile.py` `get_raw_token`,
//! `core/auth/msal_credentials.py`; MSAL Python: `application.py` `acquire_token_silent_with_error`). See
//! docs/azure-cli-files.md.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::cache_file::{load_token_cache, update_token_cache};
use super::claims::{claim, id_token_claims};
use super::config_dir::AzureConfigDir;
use super::environment::non_empty;
use super::login::{LoginRequest, ServicePrincipalLogin, SharedLogin, UserLogin, resolve_login};
use super::profile::SubscriptionRecord;
use super::secret::Secret;
use super::silent_error::SilentError;
use super::storage::token_cache_storage;
use super::token_cache::{
    AZURE_CLI_CLIENT_ID, AccessTokenQuery, CachedAccessToken, CachedRefreshToken, Grant,
    TokenCache, TokenResponse,
};
use crate::entra::EntraError;

/// The scopes MSAL adds to every user token request.
const RESERVED_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// What to get a token for.
#[derive(Clone, Copy, Debug)]
pub struct SilentTokenRequest<'a> {
    /// Which login.
    pub login: LoginRequest<'a>,
    /// The scopes, e.g. `https://management.core.windows.net//.default`.
    pub scopes: &'a [String],
    /// A claims challenge (JSON) from a resource: skips the cached access token.
    pub claims_challenge: Option<&'a str>,
}

/// Who a token was issued to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenIdentity {
    /// `<uid>.<utid>`.
    pub home_account_id: String,
    /// The token's `oid` (else the account's).
    pub object_id: Option<String>,
    /// The token's `tid` (else the requested tenant).
    pub tenant_id: Option<String>,
    /// The user's name in the cache.
    pub username: String,
}

/// An access token for a person.
#[derive(Clone, Debug)]
pub struct SilentToken {
    /// The token.
    pub access_token: Secret,
    /// Epoch seconds.
    pub expires_on: i64,
    /// Who it belongs to.
    pub identity: TokenIdentity,
    /// The profile entry it was chosen by.
    pub subscription: SubscriptionRecord,
    /// The tenant it was asked for.
    pub tenant: String,
    /// Served from the cache (no request).
    pub from_cache: bool,
}

/// What the shared login yields.
#[derive(Clone, Debug)]
pub enum SilentOutcome {
    /// A person's token.
    Token(SilentToken),
    /// A service principal: sign in with its stored credential (client credentials).
    ServicePrincipal(ServicePrincipalLogin),
    /// A managed identity: ask the managed-identity endpoint.
    ManagedIdentity(SubscriptionRecord),
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// Resolve the shared login and, for a person, get a token silently.
pub async fn acquire_token_silently(
    directory: &AzureConfigDir,
    client: &reqwest::Client,
    request: &SilentTokenRequest<'_>,
) -> Result<SilentOutcome, SilentError> {
    match resolve_login(directory, &request.login)? {
        SharedLogin::User(login) => Ok(SilentOutcome::Token(
            user_token(
                directory,
                client,
                &login,
                request.scopes,
                request.claims_challenge,
            )
            .await?,
        )),
        SharedLogin::ServicePrincipal(login) => Ok(SilentOutcome::ServicePrincipal(login)),
        SharedLogin::ManagedIdentity(subscription) => {
            Ok(SilentOutcome::ManagedIdentity(subscription))
        }
    }
}

/// The access token MSAL's cache holds for this login and these scopes: its client (az's), authority host,
/// tenant and `home_account_id` (MSAL Python: `application.py`
/// `_acquire_token_silent_from_cache_and_possibly_refresh_it`), unless it expires within MSAL's margin.
fn cached_access_token(
    cache: &TokenCache,
    login: &UserLogin,
    scopes: &[String],
    now: i64,
) -> Option<CachedAccessToken> {
    cache.find_access_token(
        &AccessTokenQuery {
            client_id: AZURE_CLI_CLIENT_ID,
            environment: &login.authority.environment,
            realm: &login.authority.tenant,
            home_account_id: Some(&login.account.home_account_id),
            scopes,
            ext_cache_key: None,
        },
        now,
    )
}

/// A person's token as the cache alone answers it, with no request: the access token MSAL would serve without
/// refreshing (valid beyond MSAL's margin, its `refresh_on` not passed); `None` when [`user_token`] would go to
/// Entra.
pub fn cached_user_token(
    directory: &AzureConfigDir,
    login: &UserLogin,
    scopes: &[String],
) -> Result<Option<SilentToken>, SilentError> {
    let cache = load_token_cache(&token_cache_storage(directory)?)?;
    let now = unix_now();
    Ok(cached_access_token(&cache, login, scopes, now)
        .filter(|token| !token.wants_refresh(now))
        .map(|token| silent_token(login, token.secret, token.expires_on, true)))
}

/// A person's token: the cached access token, else a refresh (see the module docs).
pub async fn user_token(
    directory: &AzureConfigDir,
    client: &reqwest::Client,
    login: &UserLogin,
    scopes: &[String],
    claims_challenge: Option<&str>,
) -> Result<SilentToken, SilentError> {
    let storage = token_cache_storage(directory)?;
    let cache = load_token_cache(&storage)?;
    let now = unix_now();
    let home = login.account.home_account_id.as_str();
    let cached = match claims_challenge {
        Some(_) => None,
        None => cached_access_token(&cache, login, scopes, now),
    };
    if let Some(token) = cached.as_ref().filter(|token| !token.wants_refresh(now)) {
        return Ok(silent_token(
            login,
            token.secret.clone(),
            token.expires_on,
            true,
        ));
    }
    let claims = request_claims(directory, claims_challenge);
    let mut last_error = None;
    for candidate in cache.refresh_tokens(&login.authority.environment, home, AZURE_CLI_CLIENT_ID) {
        match redeem(client, login, &candidate, scopes, claims.as_deref()).await {
            Ok(body) => return store_refreshed(&storage, login, &candidate, scopes, &body),
            Err(SilentError::Entra(error)) => {
                tracing::debug!(error = %error.error, codes = ?error.codes, description = %error.description, trace = %error.trace, "refresh token refused");
                last_error = Some(error);
            }
            Err(other) => return Err(other),
        }
    }
    match (cached, last_error) {
        (Some(token), _) => Ok(silent_token(
            login,
            token.secret.clone(),
            token.expires_on,
            true,
        )),
        (None, Some(error)) => Err(SilentError::Entra(error)),
        (None, None) => Err(SilentError::NoToken),
    }
}

/// The `claims` parameter: CP1 (unless `AZURE_IDENTITY_DISABLE_CP1`) merged with a challenge.
fn request_claims(directory: &AzureConfigDir, challenge: Option<&str>) -> Option<String> {
    let mut claims = match challenge.and_then(|text| serde_json::from_str::<Value>(text).ok()) {
        Some(Value::Object(challenge)) => challenge,
        _ => Map::new(),
    };
    if non_empty(directory.environment(), "AZURE_IDENTITY_DISABLE_CP1").is_none() {
        let access_token = claims
            .entry("access_token")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(access_token) = access_token.as_object_mut() {
            access_token.insert("xms_cc".into(), json!({"values": ["CP1"]}));
        }
    }
    (!claims.is_empty()).then(|| Value::Object(claims).to_string())
}

/// `grant_type=refresh_token` at the tenant's token endpoint; the JSON answer, or Entra's refusal.
async fn redeem(
    client: &reqwest::Client,
    login: &UserLogin,
    candidate: &CachedRefreshToken,
    scopes: &[String],
    claims: Option<&str>,
) -> Result<Map<String, Value>, SilentError> {
    let url = login.authority.token_endpoint();
    let mut scope: Vec<&str> = scopes.iter().map(String::as_str).collect();
    scope.extend(
        RESERVED_SCOPES
            .iter()
            .filter(|reserved| !scopes.iter().any(|s| s == *reserved)),
    );
    let scope = scope.join(" ");
    let mut form = vec![
        ("client_id", AZURE_CLI_CLIENT_ID),
        ("grant_type", "refresh_token"),
        ("refresh_token", candidate.secret.expose()),
        ("scope", scope.as_str()),
        ("client_info", "1"),
    ];
    if let Some(claims) = claims {
        form.push(("claims", claims));
    }
    let mut builder = client.post(&url).form(&form);
    if let Some((uid, utid)) = login.account.home_account_id.split_once('.') {
        builder = builder.header("X-AnchorMailbox", format!("Oid:{uid}@{utid}"));
    }
    let http = |source| SilentError::Http {
        url: url.clone(),
        source,
    };
    let response = builder.send().await.map_err(http)?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(http)?;
    if !status.is_success() {
        return Err(match EntraError::parse(&url, status.as_u16(), &bytes) {
            Some(error) => error.into(),
            None => SilentError::BadAnswer {
                url,
                problem: format!("HTTP {status} without Entra's error body"),
            },
        });
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(body)) if body.get("access_token").is_some_and(Value::is_string) => {
            Ok(body)
        }
        _ => Err(SilentError::BadAnswer {
            url,
            problem: "no access_token in the answer".into(),
        }),
    }
}

/// Store a refresh's answer under the lock as MSAL does (new AT and IdToken for the tenant, no Account, the
/// redeemed refresh token updated in place) and build the result.
fn store_refreshed(
    storage: &dyn super::storage::CacheStorage,
    login: &UserLogin,
    candidate: &CachedRefreshToken,
    scopes: &[String],
    body: &Map<String, Value>,
) -> Result<SilentToken, SilentError> {
    let now = unix_now();
    update_token_cache(storage, |cache| {
        cache.add(
            &TokenResponse {
                client_id: AZURE_CLI_CLIENT_ID,
                environment: &login.authority.environment,
                realm: &login.authority.tenant,
                requested_scopes: scopes,
                grant: Grant::RefreshToken,
                username: None,
                body,
            },
            now,
        );
        if let Some(new_secret) = body.get("refresh_token").and_then(Value::as_str) {
            cache.update_refresh_token(candidate, new_secret, now);
        }
    })?;
    let secret = body
        .get("access_token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let expires_in = match body.get("expires_in") {
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => text.parse().ok(),
        _ => None,
    };
    let mut token = silent_token(
        login,
        Secret::new(secret),
        now + expires_in.unwrap_or(600),
        false,
    );
    if let Some(id_token) = body.get("id_token").and_then(Value::as_str) {
        let claims = id_token_claims(id_token);
        token.identity.object_id = token
            .identity
            .object_id
            .or(claim(&claims, "oid").map(str::to_string));
        token.identity.tenant_id = token
            .identity
            .tenant_id
            .or(claim(&claims, "tid").map(str::to_string));
    }
    Ok(token)
}

/// The result for a token: identity from the token's own claims when it is a JWT, else from the account.
fn silent_token(
    login: &UserLogin,
    access_token: Secret,
    expires_on: i64,
    from_cache: bool,
) -> SilentToken {
    let claims = id_token_claims(access_token.expose());
    let (uid, utid) = login
        .account
        .home_account_id
        .split_once('.')
        .map_or((None, None), |(uid, utid)| (Some(uid), Some(utid)));
    let object_id = claim(&claims, "oid")
        .or(login.account.local_account_id.as_deref())
        .or(uid)
        .map(str::to_string);
    let tenant_id = claim(&claims, "tid").or(utid).map(str::to_string);
    SilentToken {
        access_token,
        expires_on,
        identity: TokenIdentity {
            home_account_id: login.account.home_account_id.clone(),
            object_id,
            tenant_id,
            username: login.account.username.clone(),
        },
        subscription: login.subscription.clone(),
        tenant: login.authority.tenant.clone(),
        from_cache,
    }
}
