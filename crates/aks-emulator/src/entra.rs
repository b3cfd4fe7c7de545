//! Microsoft Entra: OpenID discovery, JWKS and the client-credentials token endpoint (arm-aks-api.md §10).
//! Tokens are RS256 JWTs shaped like Entra v1 access tokens; errors are Entra-shaped (`error`,
//! `error_description` with `AADSTS` codes, `error_codes`, `trace_id`, ...). Secrets are never logged.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::TENANT_ID;
use crate::http::{Ctx, json, unsupported};
use crate::state::{SharedState, random_guid};

/// Lifetime of issued access tokens, seconds.
const TOKEN_LIFETIME: u64 = 3599;

/// Entra routes: everything whose first segment is a tenant (`{tenant}/...`, `common/...`).
pub(crate) fn route(state: &SharedState, ctx: &Ctx) -> Response {
    let tenant = ctx.segments[0].as_str();
    let rest: Vec<&str> = ctx.lower[1..].iter().map(String::as_str).collect();
    match (&ctx.method, rest.as_slice()) {
        (&Method::GET, ["v2.0", ".well-known", "openid-configuration"]) => {
            json(StatusCode::OK, &openid_configuration_v2(state, tenant))
        }
        (&Method::GET, [".well-known", "openid-configuration"]) => {
            json(StatusCode::OK, &openid_configuration_v1(state, tenant))
        }
        (&Method::GET, ["discovery", "v2.0", "keys"] | ["discovery", "keys"]) => {
            json(StatusCode::OK, &jwks(state))
        }
        (&Method::POST, ["oauth2", "v2.0", "token"]) => token(state, ctx, tenant, true),
        (&Method::POST, ["oauth2", "token"]) => token(state, ctx, tenant, false),
        _ => unsupported(ctx),
    }
}

fn known_tenant(tenant: &str) -> bool {
    tenant.eq_ignore_ascii_case(TENANT_ID)
}

/// The tenant id a discovery document names (`common` and friends keep the Entra placeholder).
fn discovery_tenant(tenant: &str) -> String {
    if known_tenant(tenant) {
        TENANT_ID.to_string()
    } else {
        "{tenantid}".to_string()
    }
}

fn openid_configuration_v2(state: &SharedState, tenant: &str) -> Value {
    let base = state.base_url();
    json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{}/v2.0", discovery_tenant(tenant)),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "groups", "ver"],
        "kerberos_endpoint": format!("{base}/{tenant}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": "127.0.0.1",
        "cloud_graph_host_name": "127.0.0.1",
        "msgraph_host": "127.0.0.1",
        "rbac_url": base,
    })
}

fn openid_configuration_v1(state: &SharedState, tenant: &str) -> Value {
    let base = state.base_url();
    json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/common/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": format!("https://sts.windows.net/{}/", discovery_tenant(tenant)),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/devicecode"),
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/logout"),
        "cloud_instance_name": "127.0.0.1",
        "tenant_region_scope": "NA",
    })
}

/// The JSON Web Key Set with the one token signing key.
pub(crate) fn jwks(state: &SharedState) -> Value {
    json!({
        "keys": [{
            "kty": "RSA",
            "use": "sig",
            "kid": state.0.identity.signing_kid,
            "n": state.0.jwk_n,
            "e": state.0.jwk_e,
            "alg": "RS256",
        }]
    })
}

/// An Entra error answer. `description` is the AADSTS text without the trace lines, which are added here.
fn entra_error(
    ctx: &Ctx,
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
) -> Response {
    let trace_id = random_guid();
    let correlation_id = ctx
        .header("client-request-id")
        .map(str::to_string)
        .unwrap_or_else(random_guid);
    let timestamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default();
    json(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn basic_credentials(ctx: &Ctx) -> Option<(String, String)> {
    let value = ctx.header("authorization")?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

/// `POST /{tenant}/oauth2/v2.0/token` (and the v1 `/oauth2/token` with `resource=`): client credentials.
fn token(state: &SharedState, ctx: &Ctx, tenant: &str, v2: bool) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&ctx.body)
        .into_owned()
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    };
    if !known_tenant(tenant) {
        return entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        );
    }
    let Some(grant_type) = field("grant_type") else {
        return entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    if grant_type != "client_credentials" {
        return entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        );
    }
    let basic = basic_credentials(ctx);
    let Some(client_id) = field("client_id").or_else(|| basic.as_ref().map(|(id, _)| id.clone()))
    else {
        return entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let secret = field("client_secret").or_else(|| basic.as_ref().map(|(_, s)| s.clone()));

    let audience = if v2 {
        let Some(scope) = field("scope") else {
            return entra_error(
                ctx,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            );
        };
        let first = scope
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        match first.strip_suffix("/.default") {
            Some(resource) if !resource.is_empty() => resource.to_string(),
            _ => {
                return entra_error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    1002012,
                    &format!(
                        "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                    ),
                );
            }
        }
    } else {
        match field("resource") {
            Some(resource) => resource,
            None => {
                return entra_error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'resource'.",
                );
            }
        }
    };

    let principal = {
        let store = state.store();
        store.directory.service_principal(&client_id).cloned()
    };
    let Some(principal) = principal else {
        return entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    };
    let Some(secret) = secret else {
        return entra_error(
            ctx,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    };
    if secret != principal.secret {
        tracing::info!(client_id = %client_id, "token request with a wrong client secret");
        return entra_error(
            ctx,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                principal.app_id
            ),
        );
    }

    match mint(state, &principal, &audience) {
        Ok(access_token) => {
            tracing::info!(client_id = %principal.app_id, audience = %audience, "issued an access token");
            let mut body = json!({
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "ext_expires_in": TOKEN_LIFETIME,
                "access_token": access_token,
            });
            if !v2 {
                let now = unix_now();
                body["expires_on"] = Value::String((now + TOKEN_LIFETIME).to_string());
                body["not_before"] = Value::String(now.to_string());
                body["resource"] = Value::String(audience);
            }
            json(StatusCode::OK, &body)
        }
        Err(error) => {
            tracing::error!(error = %error, "cannot sign a token");
            entra_error(
                ctx,
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                50000,
                "There was an error issuing a token.",
            )
        }
    }
}

fn unix_now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Sign an app-only access token for `principal` with audience `audience`.
pub(crate) fn mint(
    state: &SharedState,
    principal: &crate::state::ServicePrincipal,
    audience: &str,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = unix_now();
    let claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{TENANT_ID}/"),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME,
        "aio": "emulator",
        "appid": principal.app_id,
        "appidacr": "1",
        "groups": principal.groups,
        "idp": format!("https://sts.windows.net/{TENANT_ID}/"),
        "idtyp": "app",
        "oid": principal.object_id,
        "rh": "emulator",
        "sub": principal.object_id,
        "tid": TENANT_ID,
        "uti": crate::state::random_hex(22),
        "ver": "1.0",
    });
    sign(state, &claims)
}

/// Sign arbitrary claims with the emulator key (RS256, `kid`).
pub(crate) fn sign(
    state: &SharedState,
    claims: &Value,
) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("JWT".into());
    header.kid = Some(state.0.identity.signing_kid.clone());
    jsonwebtoken::encode(&header, claims, &state.0.encoding_key)
}

/// Why a bearer token was refused.
#[derive(Debug, PartialEq)]
pub(crate) enum TokenProblem {
    /// Signature, format or algorithm is wrong.
    Invalid,
    /// `exp` is in the past; carries `exp`.
    Expired(u64),
    /// `nbf` is in the future.
    NotYetValid,
    /// The audience is not one of the accepted ones; carries the token's `aud`.
    WrongAudience(String),
}

/// Verify a token signed by the emulator key and check its audience is one of `audiences`.
pub(crate) fn verify(
    state: &SharedState,
    token: &str,
    audiences: &[&str],
) -> Result<Value, TokenProblem> {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "nbf", "aud"]);
    match jsonwebtoken::decode::<Value>(token, &state.0.decoding_key, &validation) {
        Ok(data) => {
            let audience = data.claims["aud"].as_str().unwrap_or_default().to_string();
            if audiences.iter().any(|accepted| *accepted == audience) {
                Ok(data.claims)
            } else {
                Err(TokenProblem::WrongAudience(audience))
            }
        }
        Err(error) => match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                let exp = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
                    .ok()
                    .and_then(|data| data.claims["exp"].as_u64())
                    .unwrap_or_default();
                Err(TokenProblem::Expired(exp))
            }
            jsonwebtoken::errors::ErrorKind::ImmatureSignature => Err(TokenProblem::NotYetValid),
            _ => Err(TokenProblem::Invalid),
        },
    }
}
