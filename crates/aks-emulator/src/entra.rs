//! Microsoft Entra: OpenID discovery, JWKS, and the token endpoint with every grant kubelogin's login modes use
//! (Azure/kubelogin: `pkg/internal/token`; Microsoft identity platform docs,
//! <https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow>):
//!
//! * `client_credentials` with a secret (form or HTTP Basic), a certificate assertion (RS256/PS256, signed by a
//!   key whose certificate is registered for the app, or sent in `x5c` and trusted by subject name and issuer:
//!   see [`certificate_trust`]; `aud` = this token endpoint, `iss` = `sub` = client id) or
//!   a federated assertion (a token from the emulator's OIDC issuer matching a federated credential: issuer,
//!   subject, audience `api://AzureADTokenExchange`);
//! * `password` (ROPC) and device code (`/oauth2/v2.0/devicecode`, approved through the management API) for
//!   directory users, with refresh tokens and, when `openid` is asked, id tokens; `refresh_token`;
//! * `authorization_code` with PKCE, from `GET /{tenant}/oauth2/v2.0/authorize` on a loopback redirect
//!   (kubelogin `-l interactive`; see [`authorize`]);
//! * managed identity: the App Service protocol (`GET /msi/token`, `X-IDENTITY-HEADER`) and the IMDS shape
//!   (`GET /metadata/identity/oauth2/token`, `Metadata: true`).
//!
//! The `{tenant}` of a route is a tenant id, a tenant's default domain, or `organizations`/`common`, where a user
//! signs in to their home tenant ([`crate::directory`]); device-code sign-ins are approved on the emulator's own
//! page ([`device_code`]); Conditional Access and token-lifetime switches refuse grants as Entra does
//! ([`policy`]).
//!
//! Tokens are RS256 JWTs shaped like Entra v1 access tokens (`appid`, `oid`, `groups`; users also `upn`, `name`,
//! `scp`); refresh tokens are self-contained JWTs with their own audience, so they survive a restart. Errors are
//! Entra-shaped (`error`, `error_description` with `AADSTS` codes and trace lines, `error_codes`, `trace_id`,
//! `correlation_id`, `timestamp`, `error_uri` on the emulator). Secrets are never logged.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::directory::{Membership, Realm};
use crate::http::{Ctx, json, unsupported};
use crate::state::{SharedState, random_guid};
use crate::{MSI_CLIENT_ID, TENANT_ID};

pub(crate) mod authorize;
pub(crate) mod certificate_trust;
pub(crate) mod device_code;
pub(crate) mod policy;

/// Lifetime of issued access tokens, seconds.
const TOKEN_LIFETIME: u64 = 3599;

/// Entra routes: everything whose first segment is a tenant (`{tenant}/...`, `common/...`), plus the App
/// Service managed-identity endpoint (`/msi/token`) and the emulator's service-account OIDC issuer (`/oidc`).
pub(crate) fn route(state: &SharedState, ctx: &Ctx) -> Response {
    let tenant = ctx.segments[0].as_str();
    let rest: Vec<&str> = ctx.lower[1..].iter().map(String::as_str).collect();
    match (ctx.lower[0].as_str(), &ctx.method, rest.as_slice()) {
        ("msi", &Method::GET, ["token"]) => return app_service_identity(state, ctx),
        ("oidc", &Method::GET, [".well-known", "openid-configuration"]) => {
            return json(StatusCode::OK, &oidc_issuer_configuration(state));
        }
        ("oidc", &Method::GET, ["openid", "v1", "jwks"]) => {
            return json(StatusCode::OK, &jwks(state));
        }
        ("devicelogin", &Method::GET | &Method::POST, []) => {
            return device_code::page(state, ctx);
        }
        ("error", &Method::GET, []) => return error_page(ctx),
        ("msi" | "oidc" | "devicelogin" | "error", _, _) => return unsupported(ctx),
        _ => {}
    }
    match (&ctx.method, rest.as_slice()) {
        (&Method::POST, ["oauth2", "v2.0", "devicecode"]) => {
            device_code::start(state, ctx, tenant, true)
        }
        (&Method::POST, ["oauth2", "devicecode"]) => device_code::start(state, ctx, tenant, false),
        (&Method::GET, ["v2.0", ".well-known", "openid-configuration"]) => {
            match realm(state, ctx, tenant) {
                Ok(realm) => json(
                    StatusCode::OK,
                    &openid_configuration_v2(state, tenant, &realm),
                ),
                Err(response) => response,
            }
        }
        (&Method::GET, [".well-known", "openid-configuration"]) => {
            match realm(state, ctx, tenant) {
                Ok(realm) => json(
                    StatusCode::OK,
                    &openid_configuration_v1(state, tenant, &realm),
                ),
                Err(response) => response,
            }
        }
        (&Method::GET, ["discovery", "v2.0", "keys"] | ["discovery", "keys"]) => {
            json(StatusCode::OK, &jwks(state))
        }
        (&Method::GET, ["oauth2", "v2.0", "authorize"]) => authorize::authorize(state, ctx, tenant),
        (&Method::POST, ["oauth2", "v2.0", "token"]) => token(state, ctx, tenant, true),
        (&Method::POST, ["oauth2", "token"]) => token(state, ctx, tenant, false),
        _ => unsupported(ctx),
    }
}

/// The realm an authority's tenant segment names (a tenant id or default domain, `organizations`, `common`),
/// or Entra's AADSTS90002 answer.
fn realm(state: &SharedState, ctx: &Ctx, tenant: &str) -> Result<Realm, Response> {
    let realm = state.store().directory.realm(tenant);
    realm.ok_or_else(|| tenant_not_found(ctx, tenant))
}

/// The tenant id a discovery document names (`organizations` and `common` keep Entra's placeholder).
fn discovery_tenant(realm: &Realm) -> String {
    match realm {
        Realm::Tenant(id) => id.clone(),
        Realm::AnyOrganization => "{tenantid}".to_string(),
    }
}

/// `GET /error?code=N`: where `error_uri` points (Entra's is a page on login.microsoftonline.com).
fn error_page(ctx: &Ctx) -> Response {
    let code: String = ctx
        .query("code")
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    device_code::html(
        StatusCode::OK,
        &format!("Error AADSTS{code}"),
        &format!(
            "<p>AADSTS{code}: see the <code>error_description</code> of the answer that linked here.</p>"
        ),
    )
}

fn openid_configuration_v2(state: &SharedState, tenant: &str, realm: &Realm) -> Value {
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
        "issuer": format!("{base}/{}/v2.0", discovery_tenant(realm)),
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

fn openid_configuration_v1(state: &SharedState, tenant: &str, realm: &Realm) -> Value {
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
        "issuer": format!("https://sts.windows.net/{}/", discovery_tenant(realm)),
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

/// The trace of an Entra error: its trace id, correlation id (the caller's `client-request-id`, else a new
/// one) and timestamp.
struct ErrorTrace {
    trace_id: String,
    correlation_id: String,
    timestamp: String,
}

impl ErrorTrace {
    fn new(ctx: &Ctx) -> Self {
        ErrorTrace {
            trace_id: random_guid(),
            correlation_id: ctx
                .header("client-request-id")
                .map(str::to_string)
                .unwrap_or_else(random_guid),
            timestamp: time::OffsetDateTime::now_utc()
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]Z"
                ))
                .unwrap_or_default(),
        }
    }

    /// Entra's `error_description`: the AADSTS text followed by the trace lines.
    fn description(&self, code: u32, description: &str) -> String {
        let ErrorTrace {
            trace_id,
            correlation_id,
            timestamp,
        } = self;
        format!(
            "AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
        )
    }
}

/// Entra's `error_uri` for an AADSTS code, on the emulator that answered (`{origin}/error?code=N`, as Entra's
/// `https://login.microsoftonline.com/error?code=N`).
fn error_uri(ctx: &Ctx, code: u32) -> String {
    let origin = if ctx.origin.is_empty() {
        "https://login.microsoftonline.com"
    } else {
        ctx.origin.as_str()
    };
    format!("{origin}/error?code={code}")
}

/// An Entra error answer. `description` is the AADSTS text without the trace lines, which are added here.
fn entra_error(
    ctx: &Ctx,
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
) -> Response {
    entra_error_with(ctx, status, error, code, description, json!({}))
}

/// An Entra error answer as Entra writes it: `error`, `error_description` (`AADSTSnnnnn: <description>` and the
/// trace lines, joined by `\r\n`), `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`, plus
/// the fields of `extra` (an object: `suberror`, `claims`, ...).
pub(crate) fn entra_error_with(
    ctx: &Ctx,
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
    extra: Value,
) -> Response {
    let trace = ErrorTrace::new(ctx);
    let ErrorTrace {
        trace_id,
        correlation_id,
        timestamp,
    } = &trace;
    let mut body = json!({
        "error": error,
        "error_description": trace.description(code, description),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": error_uri(ctx, code),
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    json(status, &body)
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

/// The token request form.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(ctx: &Ctx) -> Form {
        Form(
            url::form_urlencoded::parse(&ctx.body)
                .into_owned()
                .collect(),
        )
    }

    /// A non-empty field.
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    }
}

/// `400 invalid_request` AADSTS900144 for a missing parameter.
fn missing(ctx: &Ctx, name: &str) -> Response {
    entra_error(
        ctx,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
    )
}

fn tenant_not_found(ctx: &Ctx, tenant: &str) -> Response {
    entra_error(
        ctx,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
    )
}

fn application_not_found(ctx: &Ctx, client_id: &str, tenant: &str) -> Response {
    entra_error(
        ctx,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700016,
        &format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
    )
}

fn server_error(ctx: &Ctx, error: &jsonwebtoken::errors::Error) -> Response {
    tracing::error!(error = %error, "cannot sign a token");
    entra_error(
        ctx,
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        50000,
        "There was an error issuing a token.",
    )
}

/// Scopes that ask for sign-in artefacts, not for a resource.
const OPENID_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email"];

/// What a token request asks for: the audience of the access token, the delegated permission names (`scp`)
/// and the scopes to echo back.
struct Requested {
    audience: String,
    permissions: String,
    scope: String,
    openid: bool,
}

/// The resource of a v2 `scope` (`{resource}/.default`, `{resource}/{permission}`, or a bare Graph permission)
/// or of a v1 `resource`. App-only grants need `/.default` (AADSTS1002012).
fn requested(ctx: &Ctx, form: &Form, v2: bool, app_only: bool) -> Result<Requested, Response> {
    if !v2 {
        let Some(resource) = form.get("resource") else {
            return Err(missing(ctx, "resource"));
        };
        return Ok(Requested {
            audience: resource,
            permissions: "user_impersonation".into(),
            scope: "user_impersonation".into(),
            openid: false,
        });
    }
    let Some(scope) = form.get("scope") else {
        return Err(missing(ctx, "scope"));
    };
    let openid = scope.split_whitespace().any(|item| item == "openid");
    let resource_scopes: Vec<&str> = scope
        .split_whitespace()
        .filter(|item| !OPENID_SCOPES.contains(item))
        .collect();
    let invalid = || {
        entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )
    };
    let first = resource_scopes.first().copied().unwrap_or_default();
    if app_only {
        return match first.strip_suffix("/.default") {
            Some(resource) if !resource.is_empty() => Ok(Requested {
                audience: resource.to_string(),
                permissions: String::new(),
                scope: first.to_string(),
                openid,
            }),
            _ => Err(invalid()),
        };
    }
    if first.is_empty() {
        // Only OpenID scopes: Entra answers for Microsoft Graph's `User.Read`.
        return Ok(Requested {
            audience: GRAPH_APP_ID.into(),
            permissions: "User.Read".into(),
            scope: "User.Read profile openid email".into(),
            openid,
        });
    }
    let audience = match first.rsplit_once('/') {
        Some((resource, _)) if !resource.is_empty() => resource.to_string(),
        _ => GRAPH_APP_ID.to_string(),
    };
    let permissions: Vec<&str> = resource_scopes
        .iter()
        .map(|item| item.rsplit_once('/').map_or(*item, |(_, name)| name))
        .map(|name| {
            if name == ".default" {
                "user_impersonation"
            } else {
                name
            }
        })
        .collect();
    Ok(Requested {
        audience,
        permissions: permissions.join(" "),
        scope: resource_scopes.join(" "),
        openid,
    })
}

/// Microsoft Graph's application id (the resource of bare permission scopes such as `User.Read`).
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// `POST /{tenant}/oauth2/v2.0/token` (and the v1 `/oauth2/token` with `resource=`): client credentials (secret,
/// certificate assertion, federated assertion), password, refresh token and device code grants
/// (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow>).
fn token(state: &SharedState, ctx: &Ctx, tenant: &str, v2: bool) -> Response {
    let form = Form::parse(ctx);
    let realm = match realm(state, ctx, tenant) {
        Ok(realm) => realm,
        Err(response) => return response,
    };
    let Some(grant_type) = form.get("grant_type") else {
        return missing(ctx, "grant_type");
    };
    let grant = TokenRequest {
        form: &form,
        tenant,
        realm: &realm,
        v2,
    };
    match grant_type.as_str() {
        "client_credentials" => client_credentials(state, ctx, &grant),
        "password" => password(state, ctx, &grant),
        "authorization_code" if v2 => authorize::redeem(state, ctx, &grant),
        "refresh_token" => refresh(state, ctx, &grant),
        DEVICE_CODE_GRANT | "device_code" => device_code::poll(state, ctx, &grant),
        _ => entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        ),
    }
}

/// A token request: its form, the authority's tenant segment as sent and the realm it names, and whether it
/// came to the v2 endpoint.
pub(crate) struct TokenRequest<'a> {
    form: &'a Form,
    tenant: &'a str,
    realm: &'a Realm,
    v2: bool,
}

/// The device-code grant type.
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The client assertion type of certificate and federated credentials.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn client_credentials(state: &SharedState, ctx: &Ctx, grant: &TokenRequest) -> Response {
    let TokenRequest {
        form, tenant, v2, ..
    } = *grant;
    let basic = basic_credentials(ctx);
    let Some(client_id) = form
        .get("client_id")
        .or_else(|| basic.as_ref().map(|(id, _)| id.clone()))
    else {
        return missing(ctx, "client_id");
    };
    let secret = form
        .get("client_secret")
        .or_else(|| basic.as_ref().map(|(_, s)| s.clone()));
    let assertion = form.get("client_assertion");
    let requested = match requested(ctx, form, v2, true) {
        Ok(requested) => requested,
        Err(response) => return response,
    };
    let principal = state
        .store()
        .directory
        .service_principal(&client_id)
        .cloned();
    // Applications live in the home tenant; `organizations`/`common` are taken as the home tenant (invented:
    // Entra wants a tenant for app-only grants).
    let home = matches!(grant.realm, Realm::AnyOrganization)
        || *grant.realm == Realm::Tenant(TENANT_ID.to_string());
    let Some(principal) = principal.filter(|_| home) else {
        return application_not_found(ctx, &client_id, tenant);
    };
    let authentication_class = if let Some(assertion) = assertion {
        let assertion_type = form.get("client_assertion_type").unwrap_or_default();
        if assertion_type != JWT_BEARER {
            return entra_error(
                ctx,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                &format!(
                    "The client_assertion_type '{assertion_type}' is not supported; use '{JWT_BEARER}'."
                ),
            );
        }
        if let Err(response) = verify_client_assertion(state, ctx, tenant, &principal, &assertion) {
            return response;
        }
        "2"
    } else {
        let Some(secret) = secret else {
            return entra_error(
                ctx,
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        };
        if secret != principal.secret || principal.managed_identity {
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
        "1"
    };
    match mint_app(state, &principal, &requested.audience, authentication_class) {
        Ok(access_token) => {
            tracing::info!(client_id = %principal.app_id, audience = %requested.audience, "issued an access token");
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
                body["resource"] = Value::String(requested.audience);
            }
            json(StatusCode::OK, &body)
        }
        Err(error) => server_error(ctx, &error),
    }
}

/// An `invalid_client` 401 for a client assertion that was refused.
fn assertion_refused(ctx: &Ctx, code: u32, description: &str) -> Response {
    tracing::info!(code, "refused a client assertion");
    entra_error(
        ctx,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        code,
        description,
    )
}

/// Check a `client_assertion`: a federated token from a trusted issuer (workload identity federation), or a
/// JWT signed with a certificate registered for the app
/// (<https://learn.microsoft.com/entra/identity-platform/certificate-credentials>).
fn verify_client_assertion(
    state: &SharedState,
    ctx: &Ctx,
    tenant: &str,
    principal: &crate::state::ServicePrincipal,
    assertion: &str,
) -> Result<(), Response> {
    let malformed = || assertion_refused(ctx, 50027, "JWT token is invalid or malformed.");
    let Ok(header) = jsonwebtoken::decode_header(assertion) else {
        return Err(malformed());
    };
    let Ok(unverified) = jsonwebtoken::dangerous::insecure_decode::<Value>(assertion) else {
        return Err(malformed());
    };
    let issuer = unverified.claims["iss"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let federated = own_issuer(state, &issuer)
        || principal
            .federated_credentials
            .iter()
            .any(|credential| credential.issuer == issuer);
    if federated {
        verify_federated_assertion(state, ctx, principal, assertion, &issuer)
    } else {
        verify_certificate_assertion(state, ctx, tenant, principal, assertion, &header)
    }
}

fn time_range_error(ctx: &Ctx, error: &jsonwebtoken::errors::Error) -> Option<Response> {
    match error.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature
        | jsonwebtoken::errors::ErrorKind::ImmatureSignature => Some(assertion_refused(
            ctx,
            700024,
            &format!(
                "Client assertion is not within its valid time range. Current time: {}.",
                crate::state::rfc3339_now()
            ),
        )),
        jsonwebtoken::errors::ErrorKind::MissingRequiredClaim(claim) => Some(assertion_refused(
            ctx,
            50027,
            &format!("JWT token is invalid or malformed: the '{claim}' claim is missing."),
        )),
        _ => None,
    }
}

/// Whether `issuer` is one of the emulator's own (service accounts, Azure Pipelines), whose keys it can check.
fn own_issuer(state: &SharedState, issuer: &str) -> bool {
    issuer == state.oidc_issuer() || issuer == state.pipelines_issuer()
}

fn verify_federated_assertion(
    state: &SharedState,
    ctx: &Ctx,
    principal: &crate::state::ServicePrincipal,
    assertion: &str,
    issuer: &str,
) -> Result<(), Response> {
    if !own_issuer(state, issuer) {
        // Only the emulator's own issuers (service accounts, Azure Pipelines) have keys the emulator can check.
        return Err(assertion_refused(
            ctx,
            700211,
            &format!(
                "No matching federated identity record found for presented assertion issuer '{issuer}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion."
            ),
        ));
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let claims = match jsonwebtoken::decode::<Value>(assertion, &state.0.decoding_key, &validation)
    {
        Ok(data) => data.claims,
        Err(error) => {
            return Err(time_range_error(ctx, &error).unwrap_or_else(|| {
                assertion_refused(ctx, 700027, "Client assertion failed signature validation.")
            }));
        }
    };
    let subject = claims["sub"].as_str().unwrap_or_default();
    let audiences: Vec<&str> = match &claims["aud"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let by_issuer: Vec<_> = principal
        .federated_credentials
        .iter()
        .filter(|credential| credential.issuer == issuer)
        .collect();
    if by_issuer.is_empty() {
        return Err(assertion_refused(
            ctx,
            700211,
            &format!(
                "No matching federated identity record found for presented assertion issuer '{issuer}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion."
            ),
        ));
    }
    let by_subject: Vec<_> = by_issuer
        .into_iter()
        .filter(|credential| credential.subject == subject)
        .collect();
    if by_subject.is_empty() {
        return Err(assertion_refused(
            ctx,
            700213,
            &format!(
                "No matching federated identity record found for presented assertion subject '{subject}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion."
            ),
        ));
    }
    let audience_ok = by_subject.iter().any(|credential| {
        credential
            .audiences
            .iter()
            .any(|accepted| audiences.contains(&accepted.as_str()))
    });
    if !audience_ok {
        return Err(assertion_refused(
            ctx,
            700212,
            &format!(
                "No matching federated identity record found for presented assertion audience '{}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
                audiences.join(",")
            ),
        ));
    }
    Ok(())
}

fn verify_certificate_assertion(
    state: &SharedState,
    ctx: &Ctx,
    tenant: &str,
    principal: &crate::state::ServicePrincipal,
    assertion: &str,
    header: &jsonwebtoken::Header,
) -> Result<(), Response> {
    let algorithm = header.alg;
    if !matches!(
        algorithm,
        jsonwebtoken::Algorithm::RS256 | jsonwebtoken::Algorithm::PS256
    ) {
        return Err(assertion_refused(
            ctx,
            5002738,
            &format!(
                "Client assertion algorithm '{algorithm:?}' is not supported; use RS256 or PS256."
            ),
        ));
    }
    // Registered certificates, or the x5c leaf when it is registered or trusted by subject name and issuer.
    let keys = certificate_trust::signing_keys(principal, header)
        .map_err(|refusal| assertion_refused(ctx, refusal.code, &refusal.description))?;
    if keys.is_empty() {
        if let Some(refusal) = certificate_trust::unregistered_thumbprint(principal, header) {
            return Err(assertion_refused(ctx, refusal.code, &refusal.description));
        }
        return Err(assertion_refused(
            ctx,
            700027,
            &format!(
                "Client assertion failed signature validation. No certificate is registered for app '{}'.",
                principal.app_id
            ),
        ));
    }
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.leeway = 0;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let mut claims = None;
    for key in &keys {
        match jsonwebtoken::decode::<Value>(
            assertion,
            &jsonwebtoken::DecodingKey::from_rsa_der(key),
            &validation,
        ) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            Err(error) => {
                if let Some(response) = time_range_error(ctx, &error) {
                    return Err(response);
                }
            }
        }
    }
    let Some(claims) = claims else {
        let refusal = certificate_trust::unregistered_thumbprint(principal, header);
        return Err(match refusal {
            Some(refusal) => assertion_refused(ctx, refusal.code, &refusal.description),
            None => assertion_refused(ctx, 700027, "Client assertion failed signature validation."),
        });
    };
    let issuer = claims["iss"].as_str().unwrap_or_default();
    let subject = claims["sub"].as_str().unwrap_or_default();
    if !issuer.eq_ignore_ascii_case(&principal.app_id)
        || !subject.eq_ignore_ascii_case(&principal.app_id)
    {
        return Err(assertion_refused(
            ctx,
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
        ));
    }
    let audience = claims["aud"].as_str().unwrap_or_default();
    if !token_endpoint_audiences(state, tenant)
        .iter()
        .any(|accepted| accepted.eq_ignore_ascii_case(audience.trim_end_matches('/')))
    {
        return Err(assertion_refused(
            ctx,
            700023,
            &format!(
                "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials . Presented audience: '{audience}'."
            ),
        ));
    }
    Ok(())
}

/// The audiences a certificate assertion may name: this token endpoint (v2 or v1, by the tenant as requested
/// or as its id) or the tenant's v2 issuer.
fn token_endpoint_audiences(state: &SharedState, tenant: &str) -> Vec<String> {
    let base = state.base_url();
    let mut audiences = Vec::new();
    for tenant in [tenant, TENANT_ID] {
        audiences.push(format!("{base}/{tenant}/oauth2/v2.0/token"));
        audiences.push(format!("{base}/{tenant}/oauth2/token"));
        audiences.push(format!("{base}/{tenant}/v2.0"));
    }
    audiences
}

/// Public clients that may sign users in (the AKS client kubelogin uses and the Azure CLI), besides the
/// directory's apps.
fn known_public_client(client_id: &str) -> bool {
    [aks_model::AKS_CLIENT_APP_ID, aks_model::AZURE_CLI_CLIENT_ID]
        .iter()
        .any(|known| known.eq_ignore_ascii_case(client_id))
}

/// The client id of a user grant, checked: a known public client or an app of the directory.
fn user_grant_client(
    ctx: &Ctx,
    state: &SharedState,
    form: &Form,
    tenant: &str,
) -> Result<String, Response> {
    let Some(client_id) = form.get("client_id") else {
        return Err(missing(ctx, "client_id"));
    };
    let known = known_public_client(&client_id)
        || state
            .store()
            .directory
            .service_principal(&client_id)
            .is_some();
    if !known {
        return Err(application_not_found(ctx, &client_id, tenant));
    }
    Ok(client_id)
}

/// `grant_type=password` (ROPC): a directory user's name and password.
fn password(state: &SharedState, ctx: &Ctx, grant: &TokenRequest) -> Response {
    let TokenRequest {
        form, tenant, v2, ..
    } = *grant;
    let client_id = match user_grant_client(ctx, state, form, tenant) {
        Ok(client_id) => client_id,
        Err(response) => return response,
    };
    let Some(username) = form.get("username") else {
        return missing(ctx, "username");
    };
    let Some(password) = form.get("password") else {
        return missing(ctx, "password");
    };
    let requested = match requested(ctx, form, v2, false) {
        Ok(requested) => requested,
        Err(response) => return response,
    };
    let user = state.store().directory.user(&username).cloned();
    let Some(user) = user else {
        return user_not_found(ctx, &username, tenant);
    };
    if user.password != password {
        tracing::info!(user = %user.user_principal_name, "password grant with a wrong password");
        return entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50126,
            "Error validating credentials due to invalid username or password.",
        );
    }
    let sign_in = SignIn {
        user: &user,
        realm: grant.realm,
        tenant,
        client_id: &client_id,
        requested: &requested,
        v2,
        mfa: false,
    };
    if let Some(refusal) = mfa_refusal(state, ctx, &sign_in) {
        return refusal;
    }
    user_tokens(state, ctx, &sign_in)
}

/// AADSTS50034: no such user.
fn user_not_found(ctx: &Ctx, username: &str, tenant: &str) -> Response {
    entra_error(
        ctx,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        50034,
        &format!(
            "The user account {username} does not exist in the {tenant} directory. To sign into this application, the account must be added to the directory."
        ),
    )
}

/// Audience of the emulator's refresh tokens (self-contained JWTs, so they survive a restart).
const REFRESH_AUDIENCE: &str = "urn:aksctl-emulator:refresh-token";
/// Lifetime of refresh tokens, seconds (Entra's inactivity window: 90 days).
const REFRESH_LIFETIME: u64 = 90 * 24 * 3600;

/// RFC 3339 of a time in ms since the epoch, as Entra writes times in refresh-token errors.
fn rfc3339_ms(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The refusal of a refresh token a switch expired or revoked (AADSTS700082, AADSTS50173).
fn refresh_refused(ctx: &Ctx, refusal: &policy::RefreshRefusal, issued_ms: u64) -> Response {
    let issued = rfc3339_ms(issued_ms);
    let (code, description) = match refusal {
        policy::RefreshRefusal::Expired => (
            700082,
            format!(
                "The refresh token has expired due to inactivity. The token was issued on {issued} and was inactive for 90.00:00:00."
            ),
        ),
        policy::RefreshRefusal::Revoked => (
            50173,
            format!(
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '{issued}' and the TokensValidFrom date (before which tokens are not valid) for this user is '{}'.",
                crate::state::rfc3339_now()
            ),
        ),
    };
    entra_error(
        ctx,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        code,
        &description,
    )
}

/// `grant_type=refresh_token`: a refresh token issued to the same client, for any tenant the user is in.
fn refresh(state: &SharedState, ctx: &Ctx, grant: &TokenRequest) -> Response {
    let TokenRequest {
        form, tenant, v2, ..
    } = *grant;
    let client_id = match user_grant_client(ctx, state, form, tenant) {
        Ok(client_id) => client_id,
        Err(response) => return response,
    };
    let Some(refresh_token) = form.get("refresh_token") else {
        return missing(ctx, "refresh_token");
    };
    let invalid = || {
        // Invented wording beyond the code: Entra's text for a malformed refresh token varies.
        entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed.",
        )
    };
    let claims = match verify(state, &refresh_token, &[REFRESH_AUDIENCE]) {
        Ok(claims) => claims,
        Err(TokenProblem::Expired(_)) => {
            return entra_error(
                ctx,
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                700082,
                "The refresh token has expired due to inactivity. The token was issued more than 90.00:00:00 ago.",
            );
        }
        Err(_) => return invalid(),
    };
    if !claims["azp"]
        .as_str()
        .is_some_and(|azp| azp.eq_ignore_ascii_case(&client_id))
    {
        return invalid();
    }
    let (user, refusal) = {
        let store = state.store();
        let user = claims["oid"]
            .as_str()
            .and_then(|oid| store.directory.user_by_object_id(oid).cloned());
        let issued_ms = refresh_issued_ms(&claims);
        let refusal = user.as_ref().and_then(|user| {
            store
                .services
                .get::<policy::Policies>()?
                .refresh_refusal(user, issued_ms)
        });
        (user, refusal)
    };
    let Some(user) = user else {
        return invalid();
    };
    if let Some(refusal) = refusal {
        tracing::info!(user = %user.user_principal_name, ?refusal, "refused a refresh token by policy");
        return refresh_refused(ctx, &refusal, refresh_issued_ms(&claims));
    }
    let requested =
        if (v2 && form.get("scope").is_some()) || (!v2 && form.get("resource").is_some()) {
            match requested(ctx, form, v2, false) {
                Ok(requested) => requested,
                Err(response) => return response,
            }
        } else {
            Requested {
                audience: claims["resource"].as_str().unwrap_or_default().to_string(),
                permissions: claims["scp"].as_str().unwrap_or_default().to_string(),
                scope: claims["scope"].as_str().unwrap_or_default().to_string(),
                openid: false,
            }
        };
    let sign_in = SignIn {
        user: &user,
        realm: grant.realm,
        tenant,
        client_id: &client_id,
        requested: &requested,
        v2,
        mfa: claims["mfa"].as_bool().unwrap_or(false),
    };
    if let Some(refusal) = mfa_refusal(state, ctx, &sign_in) {
        return refusal;
    }
    user_tokens(state, ctx, &sign_in)
}

/// When a refresh token was issued, ms since the epoch (`issued_ms`, else `iat`).
fn refresh_issued_ms(claims: &Value) -> u64 {
    claims["issued_ms"]
        .as_u64()
        .or_else(|| claims["iat"].as_u64().map(|iat| iat * 1000))
        .unwrap_or_default()
}

/// A user signing in: who, to which realm (the authority's `tenant` segment as sent), through which client, for
/// what, and whether the sign-in did multi-factor authentication.
pub(crate) struct SignIn<'a> {
    user: &'a crate::state::User,
    realm: &'a Realm,
    tenant: &'a str,
    client_id: &'a str,
    requested: &'a Requested,
    v2: bool,
    mfa: bool,
}

/// AADSTS50076 with the MFA claims challenge, for a silent grant (password, refresh token) of a user the
/// `mfa_required` switch names, unless the grant comes from a sign-in that did MFA.
fn mfa_refusal(state: &SharedState, ctx: &Ctx, sign_in: &SignIn) -> Option<Response> {
    if sign_in.mfa
        || !state
            .store()
            .services
            .get_mut::<policy::Policies>()
            .mfa_required(sign_in.user)
    {
        return None;
    }
    tracing::info!(user = %sign_in.user.user_principal_name, "silent grant refused: MFA required");
    Some(entra_error_with(
        ctx,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        50076,
        &format!(
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{}'.",
            sign_in.requested.audience
        ),
        json!({"suberror": "basic_action", "claims": policy::challenge()}),
    ))
}

/// Whether an interactive sign-in does MFA: always when the `mfa_required` switch names the user (the person
/// answers the prompt), or when the client asked for the authentication context with `claims`.
pub(crate) fn interactive_mfa(
    state: &SharedState,
    user: &crate::state::User,
    claims: Option<&str>,
) -> bool {
    claims.is_some_and(policy::asks_for_auth_context)
        || state
            .store()
            .services
            .get_mut::<policy::Policies>()
            .mfa_required(user)
}

/// AADSTS50020's text: the user has no account (member or guest) in the tenant signed in to.
fn not_in_tenant(user: &crate::state::User, tenant: &str, client_id: &str) -> String {
    format!(
        "User account '{}' from identity provider 'https://sts.windows.net/{}/' does not exist in tenant '{tenant}' and cannot access the application '{client_id}' in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.",
        user.user_principal_name, user.tenant_id
    )
}

/// Who the user is in the sign-in's realm, or AADSTS50020 when the user has no account in that tenant.
fn membership(state: &SharedState, ctx: &Ctx, sign_in: &SignIn) -> Result<Membership, Response> {
    let membership = state
        .store()
        .directory
        .membership(sign_in.user, sign_in.realm);
    membership.ok_or_else(|| {
        entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50020,
            &not_in_tenant(sign_in.user, sign_in.tenant, sign_in.client_id),
        )
    })
}

/// The token answer of a user grant: access token, refresh token, and an id token when `openid` was asked. The
/// tokens name the tenant signed in to (`tid`, and the user's object there as `oid`); `client_info` names the
/// home account.
fn user_tokens(state: &SharedState, ctx: &Ctx, sign_in: &SignIn) -> Response {
    let member = match membership(state, ctx, sign_in) {
        Ok(member) => member,
        Err(response) => return response,
    };
    let SignIn {
        user,
        client_id,
        requested,
        v2,
        mfa,
        ..
    } = *sign_in;
    let now = unix_now();
    let tid = &member.tenant_id;
    let access = access_claims(state, sign_in, &member, now);
    let refresh = json!({
        "aud": REFRESH_AUDIENCE,
        "iss": format!("https://sts.windows.net/{}/", user.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + REFRESH_LIFETIME,
        "issued_ms": crate::state::now_ms(),
        "azp": client_id,
        "oid": user.object_id,
        "mfa": mfa,
        "resource": requested.audience,
        "scp": requested.permissions,
        "scope": requested.scope,
        "jti": crate::state::random_guid(),
    });
    let (access_token, refresh_token) = match (sign(state, &access), sign(state, &refresh)) {
        (Ok(access), Ok(refresh)) => (access, refresh),
        (Err(error), _) | (_, Err(error)) => return server_error(ctx, &error),
    };
    tracing::info!(user = %user.user_principal_name, client_id, tenant = %tid, audience = %requested.audience, "issued a user access token");
    let mut body = json!({
        "token_type": "Bearer",
        "scope": requested.scope,
        "expires_in": TOKEN_LIFETIME,
        "ext_expires_in": TOKEN_LIFETIME,
        "access_token": access_token,
        "refresh_token": refresh_token,
    });
    let client_info = json!({"uid": user.object_id, "utid": user.tenant_id}).to_string();
    body["client_info"] =
        Value::String(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(client_info));
    if requested.openid || !v2 {
        let id_claims = json!({
            "aud": client_id,
            "iss": format!("{}/{tid}/v2.0", state.base_url()),
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "name": user.display_name,
            "oid": member.object_id,
            "preferred_username": user.user_principal_name,
            "sub": member.object_id,
            "tid": tid,
            "ver": "2.0",
        });
        match sign(state, &id_claims) {
            Ok(id_token) => body["id_token"] = Value::String(id_token),
            Err(error) => return server_error(ctx, &error),
        }
    }
    if !v2 {
        body["expires_on"] = Value::String((now + TOKEN_LIFETIME).to_string());
        body["not_before"] = Value::String(now.to_string());
        body["resource"] = Value::String(requested.audience.clone());
    }
    json(StatusCode::OK, &body)
}

/// The claims of a user's access token for the tenant of `member`, issued at `now`.
fn access_claims(state: &SharedState, sign_in: &SignIn, member: &Membership, now: u64) -> Value {
    let SignIn {
        user,
        client_id,
        requested,
        mfa,
        ..
    } = *sign_in;
    let tid = &member.tenant_id;
    let mut access = json!({
        "aud": requested.audience,
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME,
        "acr": "1",
        "aio": "emulator",
        "amr": if mfa { json!(["pwd", "mfa"]) } else { json!(["pwd"]) },
        "appid": client_id,
        "appidacr": "0",
        "family_name": "Admin",
        "given_name": "Emulator",
        // Entra puts transitive memberships (groups of groups) in the claim; groups live in the home tenant.
        "groups": if *tid == user.tenant_id { json!(state.store().directory.transitive_groups(&user.groups)) } else { json!([]) },
        "idtyp": "user",
        "ipaddr": "127.0.0.1",
        "name": user.display_name,
        "oid": member.object_id,
        "rh": "emulator",
        "scp": requested.permissions,
        "sub": member.object_id,
        "tid": tid,
        "unique_name": user.user_principal_name,
        "upn": user.user_principal_name,
        "uti": crate::state::random_hex(22),
        "ver": "1.0",
    });
    if *tid != user.tenant_id {
        access["idp"] = Value::String(format!("https://sts.windows.net/{}/", user.tenant_id));
    }
    if mfa {
        access["acrs"] = json!([policy::AUTH_CONTEXT]);
    }
    access
}

/// Which managed identity a managed-identity request names (`client_id`, `object_id`/`principal_id`,
/// `mi_res_id`/`msi_res_id`); the seeded one when it names none.
fn managed_identity(state: &SharedState, ctx: &Ctx) -> Option<crate::state::ServicePrincipal> {
    let store = state.store();
    let identities = || {
        store
            .directory
            .service_principals
            .iter()
            .filter(|principal| principal.managed_identity)
    };
    if let Some(client_id) = ctx.query("client_id").filter(|v| !v.is_empty()) {
        return identities()
            .find(|principal| principal.app_id.eq_ignore_ascii_case(client_id))
            .cloned();
    }
    if let Some(object_id) = ctx
        .query("object_id")
        .or_else(|| ctx.query("principal_id"))
        .filter(|v| !v.is_empty())
    {
        return identities()
            .find(|principal| principal.object_id.eq_ignore_ascii_case(object_id))
            .cloned();
    }
    if let Some(resource_id) = ctx
        .query("mi_res_id")
        .or_else(|| ctx.query("msi_res_id"))
        .filter(|v| !v.is_empty())
    {
        let name = resource_id.rsplit('/').next().unwrap_or_default();
        return identities()
            .find(|principal| principal.display_name.eq_ignore_ascii_case(name))
            .cloned();
    }
    store.directory.service_principal(MSI_CLIENT_ID).cloned()
}

/// The resource of a managed-identity request (`resource`, or a `scope` minus `/.default`).
fn managed_identity_resource(ctx: &Ctx) -> Option<String> {
    ctx.query("resource")
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .or_else(|| {
            ctx.query("scope")
                .and_then(|scope| scope.strip_suffix("/.default"))
                .map(str::to_string)
        })
}

/// `GET /msi/token?api-version=2019-08-01&resource=…`: the App Service managed-identity protocol. Wants the
/// secret `X-IDENTITY-HEADER`; answers `expires_on` as Unix seconds in a string. Error bodies are invented
/// (`statusCode`, `message`), as App Service's exact texts were not checked.
fn app_service_identity(state: &SharedState, ctx: &Ctx) -> Response {
    let refuse = |status: StatusCode, message: &str| {
        json(
            status,
            &json!({"statusCode": status.as_u16(), "message": message, "correlationId": random_guid()}),
        )
    };
    let expected = state.store().directory.identity_header.clone();
    if ctx.header("x-identity-header") != Some(expected.as_str()) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.",
        );
    }
    if ctx.query("api-version").is_none_or(str::is_empty) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The api-version query parameter is required.",
        );
    }
    let Some(resource) = managed_identity_resource(ctx) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The resource query parameter is required.",
        );
    };
    let Some(identity) = managed_identity(state, ctx) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Unable to load requested managed identity.",
        );
    };
    match mint_app(state, &identity, &resource, "2") {
        Ok(access_token) => json(
            StatusCode::OK,
            &json!({
                "access_token": access_token,
                "expires_on": (unix_now() + TOKEN_LIFETIME).to_string(),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": identity.app_id,
            }),
        ),
        Err(error) => server_error(ctx, &error),
    }
}

/// `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…` with `Metadata: true`: the Azure
/// Instance Metadata Service shape, for tests that send 169.254.169.254 to the emulator.
pub(crate) fn instance_metadata_identity(state: &SharedState, ctx: &Ctx) -> Response {
    let refuse = |description: &str| {
        json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": description}),
        )
    };
    if ctx.method != Method::GET
        || ctx.lower.len() != 4
        || ctx.lower[1..] != ["identity", "oauth2", "token"]
    {
        return unsupported(ctx);
    }
    if !ctx
        .header("metadata")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"))
    {
        return refuse("Required metadata header not specified");
    }
    if ctx.query("api-version").is_none_or(str::is_empty) {
        return refuse("Required query variable 'api-version' is missing");
    }
    let Some(resource) = managed_identity_resource(ctx) else {
        return refuse("Required query variable 'resource' is missing");
    };
    let Some(identity) = managed_identity(state, ctx) else {
        return refuse("Identity not found");
    };
    match mint_app(state, &identity, &resource, "2") {
        Ok(access_token) => {
            let now = unix_now();
            json(
                StatusCode::OK,
                &json!({
                    "access_token": access_token,
                    "client_id": identity.app_id,
                    "expires_in": TOKEN_LIFETIME.to_string(),
                    "expires_on": (now + TOKEN_LIFETIME).to_string(),
                    "ext_expires_in": TOKEN_LIFETIME.to_string(),
                    "not_before": now.to_string(),
                    "resource": resource,
                    "token_type": "Bearer",
                }),
            )
        }
        Err(error) => server_error(ctx, &error),
    }
}

/// The OpenID discovery document of the emulator's service-account issuer (`/oidc`).
fn oidc_issuer_configuration(state: &SharedState) -> Value {
    let issuer = state.oidc_issuer();
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/openid/v1/jwks"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

/// Mint a service-account-style token from the emulator's OIDC issuer for `subject` (workload identity
/// federation), valid for `lifetime_seconds` (negative: already expired). For `POST /_emulator/federated-token`.
pub(crate) fn mint_federated(
    state: &SharedState,
    subject: &str,
    audience: &str,
    lifetime_seconds: i64,
) -> Result<(String, i64), jsonwebtoken::errors::Error> {
    let now = unix_now() as i64;
    let expires_on = now + lifetime_seconds;
    let not_before = now.min(expires_on - 1);
    let mut claims = json!({
        "aud": [audience],
        "iss": state.oidc_issuer(),
        "sub": subject,
        "iat": not_before,
        "nbf": not_before,
        "exp": expires_on,
        "jti": random_guid(),
    });
    if let Some(rest) = subject.strip_prefix("system:serviceaccount:")
        && let Some((namespace, name)) = rest.split_once(':')
    {
        claims["kubernetes.io"] = json!({
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": random_guid()},
        });
    }
    Ok((sign(state, &claims)?, expires_on))
}

fn unix_now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Sign an app-only access token for `principal` with audience `audience`; `authentication_class` is
/// `appidacr`: "1" for a secret, "2" for a certificate, a federated assertion or a managed identity.
pub(crate) fn mint_app(
    state: &SharedState,
    principal: &crate::state::ServicePrincipal,
    audience: &str,
    authentication_class: &str,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = unix_now();
    let mut claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{TENANT_ID}/"),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME,
        "aio": "emulator",
        "appid": principal.app_id,
        "appidacr": authentication_class,
        // Entra puts transitive memberships (groups of groups) in the claim.
        "groups": state.store().directory.transitive_groups(&principal.groups),
        "idp": format!("https://sts.windows.net/{TENANT_ID}/"),
        "idtyp": "app",
        "oid": principal.object_id,
        "rh": "emulator",
        "sub": principal.object_id,
        "tid": TENANT_ID,
        "uti": crate::state::random_hex(22),
        "ver": "1.0",
    });
    if principal.managed_identity {
        claims["xms_mirid"] = Value::String(format!(
            "/subscriptions/{}/resourcegroups/emulator-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
            crate::SUBSCRIPTION_ID,
            principal.display_name
        ));
    }
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
///
/// A token whose signature was checked once is known by its SHA-256 afterwards: only its expiry is checked
/// again (a fleet migration sends one token tens of thousands of times, and the RS256 check was a fifth of the
/// emulator's CPU). `nbf` needs no second look, as it was in the past when the token was first checked.
pub(crate) fn verify(
    state: &SharedState,
    token: &str,
    audiences: &[&str],
) -> Result<Value, TokenProblem> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut fingerprint = [0u8; 32];
    fingerprint.copy_from_slice(digest.as_ref());
    let known = state.verified_tokens().get(&fingerprint).cloned();
    let claims = match known {
        Some(claims) => unexpired(claims, jsonwebtoken::get_current_timestamp())?,
        None => {
            let claims = verify_signature(state, token)?;
            let mut verified = state.verified_tokens();
            if verified.len() >= VERIFIED_TOKENS_LIMIT {
                verified.clear();
            }
            verified.insert(fingerprint, claims.clone());
            claims
        }
    };
    let audience = claims["aud"].as_str().unwrap_or_default();
    if audiences.contains(&audience) {
        Ok(claims)
    } else {
        Err(TokenProblem::WrongAudience(audience.to_string()))
    }
}

/// The claims of a token verified before, unless it has expired since: as jsonwebtoken decides with no leeway,
/// expired when `exp` is before `now` (seconds).
fn unexpired(claims: Value, now: u64) -> Result<Value, TokenProblem> {
    match claims["exp"].as_u64() {
        Some(exp) if exp < now => Err(TokenProblem::Expired(exp)),
        _ => Ok(claims),
    }
}

/// The most tokens [`verify`] remembers; a full memory starts again.
const VERIFIED_TOKENS_LIMIT: usize = 4096;

/// The claims of a token our key signed, valid now (`exp`, `nbf`; `aud` present).
fn verify_signature(state: &SharedState, token: &str) -> Result<Value, TokenProblem> {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "nbf", "aud"]);
    // Only our key signs: a token naming another key id (or none) is not ours.
    let ours = jsonwebtoken::decode_header(token)
        .is_ok_and(|header| header.kid.as_deref() == Some(state.0.identity.signing_kid.as_str()));
    if !ours {
        return Err(TokenProblem::Invalid);
    }
    match jsonwebtoken::decode::<Value>(token, &state.0.decoding_key, &validation) {
        Ok(data) => Ok(data.claims),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_token_expires_when_its_exp_is_past() {
        let claims = json!({"aud": "a", "exp": 1_000, "nbf": 10});
        assert_eq!(unexpired(claims.clone(), 999), Ok(claims.clone()));
        assert_eq!(unexpired(claims.clone(), 1_000), Ok(claims.clone()));
        assert_eq!(unexpired(claims, 1_001), Err(TokenProblem::Expired(1_000)));
    }
}
