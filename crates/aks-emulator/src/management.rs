//! The management API: test controls under `/_emulator/`, no authentication (ADR 005 style: controls live
//! beside, not inside, the emulated services). Every body is JSON.
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /_emulator/requests` | JSON array of every request the ARM/Entra server and the Kubernetes endpoints handled: `time`, `server` (`arm` or `kubernetes`, plus `cluster`), `method`, `path`, `query` (raw), `status`, `caller` (the `oid`, `tid`, `appid`, `upn` its bearer token names, when it sent one), and for PUT/POST/PATCH the `body` (JSON, or a form as an object) with `serverAppSecret`, `client_secret`, `client_assertion`, tokens, passwords and secrets replaced by `"REDACTED"` (a form's `client_assertion` also gets a `client_assertion_header`: its public JOSE header, e.g. `alg`, `x5t`, `x5c`). Management calls are not logged. |
//! | `DELETE /_emulator/requests` | clears the log (204) |
//! | `GET /_emulator/lro` | the current [`LroPacing`] |
//! | `PUT /_emulator/lro` | replaces it (missing fields take their defaults); applies to operations started afterwards |
//! | `POST /_emulator/lro/fail-next` | body `{"code","message"}`: the next started cluster operation (PUT or DELETE) ends `Failed` with that error and the cluster's `provisioningState` becomes `Failed` |
//! | `POST /_emulator/lro/cancel-next` | body `{"code","message"}` (optional; default `Canceled`): the next started cluster operation ends `Canceled` with that error (`provisioningState` `Canceled`); `fail-next` wins when both are set |
//! | `POST /_emulator/faults` | body: a fault rule or an array of them (`method`, `path` glob, `service`, `times`, `delay_ms`, `drop`, `status`, `code`, `message`, `retry_after`, `body`, `repeat`, `content_type`; see the crate README): matching ARM/Entra requests get the fault instead of an answer. Answers the rules with their `id`s |
//! | `GET /_emulator/faults` | the rules, with `times` left and `hits` so far |
//! | `DELETE /_emulator/faults[/{id}]` | remove every rule (or one) |
//! | `POST /_emulator/tokens/expire` | body `{"count": N}` (default 1): the next N ARM requests answer `401 ExpiredAuthenticationToken` whatever their token |
//! | `GET /_emulator/throttle` | the current [`WriteThrottle`](crate::WriteThrottle) |
//! | `PUT /_emulator/throttle` | body `{"enabled", "capacity", "refill_per_second"}` (missing fields take their defaults: off, 200, 10): ARM's write token bucket per subscription; every bucket starts full |
//! | `GET /_emulator/authorization` | the Azure RBAC switches: `{"propagationDelaySeconds": N}` |
//! | `PUT /_emulator/authorization` | body `{"propagationDelaySeconds": N}` (default 0): role assignments created afterwards count only N seconds after their creation (ARM and AKS document minutes of propagation); they are listed at once |
//! | `PUT /_emulator/page-size` | body `{"page_size": N}` (N ≥ 1): page size of list answers (default 100) |
//! | `POST /_emulator/seed` | body `{"subscriptions":[<id>], "resource_groups":[{"name","location","subscription"?}], "clusters":[{"resource_group","name","body":<ManagedCluster JSON>,"subscription"?}]}`: stored as if created and already `Succeeded` (server fields filled as for a PUT, unknown properties kept, AKS rules not enforced; a missing group is created in the cluster's location). `subscriptions` adds subscriptions the emulator answers for besides its own, each with its own groups, clusters and write budget (sharing its tenant and role assignments); a group or cluster names its subscription (default: the emulator's own). Answers the counts. |
//! | `GET /_emulator/state` | everything (groups, clusters with their Kubernetes ports, operations, directory, pacing), secrets redacted |
//! | `PUT /_emulator/clusters/{rg}/{name}/api-server` | body `{"available": bool}`: with `false` every request to the cluster's Kubernetes endpoint answers 503 (an API-server outage) until set back to `true` |
//! | `POST /_emulator/apps/{client_id}/certificates` | body: a PEM certificate with an RSA key (raw, or JSON `{"certificate": PEM}`): client assertions signed by its key authenticate the app |
//! | `POST /_emulator/apps/{client_id}/trusted-subjects` | body `{"subject": "CN=...[, O=...]", "issuer_ca_pem": PEM}`: Subject Name/Issuer trust. A certificate not registered for the app authenticates it when a client assertion sends it in `x5c` (leaf first) and it has that subject (attributes in any order) and chains to that CA; without `x5c` it is refused (AADSTS700027). Answers `{"client_id","subject","issuer","trusted_subjects"}` |
//! | `POST /_emulator/apps/{client_id}/federated-credentials` | body `{"issuer","subject","audiences"?}` (default audience `api://AzureADTokenExchange`): tokens from that issuer about that subject authenticate the app (only the emulator's own issuer can be verified) |
//! | `POST /_emulator/federated-token` | body `{"subject"?, "audience"?, "expires_in"?}` (defaults: the seeded federated subject, `api://AzureADTokenExchange`, 3600 s; negative = already expired): a service-account token from the emulator's OIDC issuer; answers `{"token","issuer","subject","expires_on"}` |
//! | `POST /_emulator/users` | body `{"userPrincipalName", "password"?, "tenantId"?, "groups"?: [ids], "displayName"?}`: a directory user (Graph user, group member, `groups` claim); answers `{"id","userPrincipalName","displayName","tenantId","groups"}` and, when it was generated (random), `password` |
//! | `POST /_emulator/tenants` | body `{"tenantId"?, "displayName"?, "defaultDomain"?}` (optional): another tenant; answers `{"tenantId","displayName","defaultDomain"}` |
//! | `POST /_emulator/tenants/{id or domain}/guests` | body `{"userPrincipalName"}`: the user becomes a guest of that tenant (its tokens there: that `tid`, the guest object's `oid`); answers the guest object's `id` |
//! | `GET /_emulator/conditional-access` | the Conditional Access and token-lifetime switches |
//! | `PUT /_emulator/conditional-access` | body `{"device_code_blocked", "mfa_required", "refresh_tokens_expired", "refresh_tokens_revoked", "device_code_expires_in"}`, each `null`/absent (off), `"all"` or `[user principal names]`, and `"device_code_expires_in"` (seconds, for device codes started later): device-code sign-ins refused with AADSTS53003 after approval; silent grants refused with AADSTS50076 and a claims challenge, ARM's `401` `insufficient_claims` challenge for user tokens without the satisfied `acrs`; refresh tokens issued before the switch refused with AADSTS700082 (expired) or AADSTS50173 (revoked). `{}` turns everything off (see the `entra::policy` module and the crate README) |
//! | `GET /_emulator/devicecode` | the pending device-code sign-ins, one entry each: `[{"user_code","client_id","scope","expires_on"}]` |
//! | `POST /_emulator/devicecode/approve` | body `{"user_code", "user"?}` (default `admin@emulator.local`; any directory user with an account in the sign-in's tenant, else 400 naming it): the next poll with that device code gets the user's tokens |
//! | `POST /_emulator/devicecode/decline` | body `{"user_code"}`: the next poll answers `authorization_declined` |
//! | `POST /_emulator/authorize/approve` | body `{"user"?}` (optional; default `admin@emulator.local`): the next `GET /{tenant}/oauth2/v2.0/authorize` signs that user in (whatever its `login_hint`). Decisions queue, oldest first |
//! | `POST /_emulator/authorize/decline` | the next `/authorize` redirects with `error=access_denied` (`error_subcode=cancel`, AADSTS65004) |
//!
//! | `POST /_emulator/pipelines/jobs` | body (optional) `{"client_id"?, "service_connection_id"?, "service_connection_name"?, "expires_in"?, "without_federated_credential"?}`: an Azure Pipelines job's `system_access_token` and `oidc_request_uri` (`SYSTEM_ACCESSTOKEN`, `SYSTEM_OIDCREQUESTURI`) with `service_connection_id`, `client_id`, `tenant_id`, `issuer`, `subject`, `expires_on`; gives the app the connection's federated credential (see the crate README, "Azure Pipelines") |
//!
//! Errors are `{"error":{"code":"EmulatorBadRequest","message":…}}` with status 400; unknown routes are
//! `404 EmulatorUnsupportedRoute`.

use aks_model::{ArmErrorBody, ArmErrorDetail};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::arm::{SeedCluster, fill_server_fields_for_seed};
use crate::directory::{NewTenant, NewUser};
use crate::entra::policy::Switches;
use crate::faults::{FaultRule, Service};
use crate::http::{Ctx, arm_error, empty, json, unsupported};
use crate::state::subscriptions;
use crate::state::{
    FEDERATED_AUDIENCE, FEDERATED_SUBJECT, FederatedCredential, ResourceGroupRecord, SharedState,
    Store, Subscription, cluster_key,
};
use crate::{ADMIN_USER_NAME, LroPacing, entra};

fn bad_request(message: impl Into<String>) -> Response {
    arm_error(
        StatusCode::BAD_REQUEST,
        ArmErrorBody::new("EmulatorBadRequest", message),
    )
}

fn parse<T: for<'de> Deserialize<'de>>(ctx: &Ctx) -> Result<T, Response> {
    serde_json::from_slice(&ctx.body).map_err(|error| {
        bad_request(format!(
            "invalid body for {} {}: {error}",
            ctx.method, ctx.path
        ))
    })
}

#[derive(Deserialize)]
struct FailNext {
    code: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(default)]
struct ExpireTokens {
    count: u32,
}

impl Default for ExpireTokens {
    fn default() -> Self {
        ExpireTokens { count: 1 }
    }
}

/// `PUT /_emulator/authorization`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuthorizationSwitches {
    propagation_delay_seconds: u64,
}

#[derive(Deserialize)]
struct PageSize {
    page_size: usize,
}

#[derive(Deserialize)]
struct ApiServer {
    available: bool,
}

#[derive(Deserialize)]
struct CertificateBody {
    certificate: String,
}

#[derive(Deserialize)]
struct TrustedSubjectBody {
    subject: String,
    issuer_ca_pem: String,
}

#[derive(Deserialize)]
struct FederatedCredentialBody {
    issuer: String,
    subject: String,
    #[serde(default)]
    audiences: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FederatedTokenRequest {
    subject: Option<String>,
    audience: Option<String>,
    expires_in: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AuthorizeDecision {
    user: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GuestBody {
    user_principal_name: String,
}

#[derive(Deserialize)]
struct DeviceCodeDecision {
    user_code: String,
    #[serde(default)]
    user: Option<String>,
}

fn not_found(message: impl Into<String>) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        ArmErrorBody::new("EmulatorNotFound", message),
    )
}

#[derive(Deserialize)]
struct SeedGroup {
    name: String,
    location: String,
    /// The subscription (default: the emulator's own).
    #[serde(default)]
    subscription: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Seed {
    /// Other subscriptions to answer for (`state/subscriptions.rs`).
    subscriptions: Vec<String>,
    resource_groups: Vec<SeedGroup>,
    clusters: Vec<SeedCluster>,
}

impl Default for SeedCluster {
    fn default() -> Self {
        SeedCluster {
            resource_group: String::new(),
            name: String::new(),
            body: serde_json::Value::Null,
            subscription: None,
        }
    }
}

/// Handle `/_emulator/...`.
pub(crate) fn route(state: &SharedState, ctx: &Ctx) -> Response {
    let rest: Vec<&str> = ctx.lower[1..].iter().map(String::as_str).collect();
    match (&ctx.method, rest.as_slice()) {
        (&Method::GET, ["requests"]) => json(StatusCode::OK, &state.store().requests),
        (_, ["pipelines", ..]) => crate::pipelines::manage(state, ctx),
        (&Method::DELETE, ["requests"]) => {
            state.store().requests.clear();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::GET, ["lro"]) => json(StatusCode::OK, &state.store().lro),
        (&Method::PUT, ["lro"]) => match parse::<LroPacing>(ctx) {
            Ok(pacing) => {
                state.store().lro = pacing.clone();
                json(StatusCode::OK, &pacing)
            }
            Err(response) => response,
        },
        (&Method::POST, ["lro", "fail-next"]) => fail_next(state, ctx),
        (&Method::POST, ["lro", "cancel-next"]) => cancel_next(state, ctx),
        (&Method::POST, ["faults"]) => add_faults(state, ctx),
        (&Method::GET, ["faults"]) => json(
            StatusCode::OK,
            &state
                .store()
                .services
                .get_mut::<crate::faults::Faults>()
                .list(),
        ),
        (&Method::DELETE, ["faults"]) => {
            state
                .store()
                .services
                .get_mut::<crate::faults::Faults>()
                .clear();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::DELETE, ["faults", id]) => remove_fault(state, id),
        (&Method::POST, ["tokens", "expire"]) => expire_tokens(state, ctx),
        (&Method::GET, ["throttle"]) => json(StatusCode::OK, state.store().throttle.config()),
        (&Method::PUT, ["throttle"]) => configure_throttle(state, ctx),
        (&Method::PUT, ["page-size"]) => set_page_size(state, ctx),
        (&Method::GET, ["authorization"]) => authorization_switches(state),
        (&Method::PUT, ["authorization"]) => match parse::<AuthorizationSwitches>(ctx) {
            Ok(switches) => {
                state.store().role_assignments.propagation_delay_seconds =
                    switches.propagation_delay_seconds;
                authorization_switches(state)
            }
            Err(response) => response,
        },
        (&Method::POST, ["seed"]) => match parse::<Seed>(ctx) {
            Ok(seed) => seed_state(state, seed),
            Err(response) => response,
        },
        (&Method::GET, ["state"]) => snapshot(state),
        (&Method::PUT, ["clusters", _, _, "api-server"]) => set_api_server(state, ctx),
        (&Method::POST, ["apps", _, "certificates"]) => add_certificate(state, ctx),
        (&Method::POST, ["apps", _, "trusted-subjects"]) => {
            match parse::<TrustedSubjectBody>(ctx) {
                Ok(body) => add_trusted_subject(state, &ctx.segments[2], body),
                Err(response) => response,
            }
        }
        (&Method::POST, ["apps", _, "federated-credentials"]) => {
            match parse::<FederatedCredentialBody>(ctx) {
                Ok(body) => add_federated_credential(state, &ctx.segments[2], body),
                Err(response) => response,
            }
        }
        (&Method::POST, ["federated-token"]) => issue_federated_token(state, ctx),
        (_, ["users" | "tenants" | "conditional-access", ..]) => directory_and_policies(state, ctx),
        (&Method::GET, ["devicecode"]) => json(StatusCode::OK, &entra::device_code::pending(state)),
        (&Method::POST, ["authorize", decision @ ("approve" | "decline")]) => {
            authorize_decision(state, ctx, decision)
        }
        (&Method::POST, ["devicecode", decision @ ("approve" | "decline")]) => {
            device_code_decision(state, ctx, decision)
        }
        _ => unsupported(ctx),
    }
}

/// `POST /_emulator/lro/fail-next`: the next started operation fails with this error.
fn fail_next(state: &SharedState, ctx: &Ctx) -> Response {
    match parse::<FailNext>(ctx) {
        Ok(fail) => {
            let detail = ArmErrorDetail {
                code: fail.code,
                message: fail.message,
                ..ArmErrorDetail::default()
            };
            state.store().fail_next = Some(detail.clone());
            json(StatusCode::OK, &json!({"fail_next": detail}))
        }
        Err(response) => response,
    }
}

/// `POST /_emulator/lro/cancel-next`: the next started operation ends `Canceled` (body optional).
fn cancel_next(state: &SharedState, ctx: &Ctx) -> Response {
    let request = if ctx.body.is_empty() {
        Ok(None)
    } else {
        parse::<FailNext>(ctx).map(Some)
    };
    match request {
        Ok(cancel) => {
            let detail = ArmErrorDetail {
                code: cancel
                    .as_ref()
                    .map_or("Canceled".into(), |cancel| cancel.code.clone()),
                message: cancel.map_or(
                    "The operation was canceled (injected by the emulator).".into(),
                    |cancel| cancel.message,
                ),
                ..ArmErrorDetail::default()
            };
            state.store().cancel_next = Some(detail.clone());
            json(StatusCode::OK, &json!({"cancel_next": detail}))
        }
        Err(response) => response,
    }
}

/// `POST /_emulator/tokens/expire`: the next `count` ARM requests answer 401 `ExpiredAuthenticationToken`.
fn expire_tokens(state: &SharedState, ctx: &Ctx) -> Response {
    let request = if ctx.body.is_empty() {
        Ok(ExpireTokens::default())
    } else {
        parse::<ExpireTokens>(ctx)
    };
    match request {
        Ok(ExpireTokens { count }) => {
            let rule = FaultRule::status(Service::Arm, count, 401, "ExpiredAuthenticationToken");
            let rule = state
                .store()
                .services
                .get_mut::<crate::faults::Faults>()
                .add(rule);
            json(StatusCode::OK, &rule)
        }
        Err(response) => response,
    }
}

/// `PUT /_emulator/throttle`: ARM's write budget.
fn configure_throttle(state: &SharedState, ctx: &Ctx) -> Response {
    match parse::<crate::WriteThrottle>(ctx) {
        Ok(config) if config.refill_per_second.is_finite() && config.refill_per_second >= 0.0 => {
            state.store().throttle.configure(config.clone());
            json(StatusCode::OK, &config)
        }
        Ok(_) => bad_request("refill_per_second must be a finite number, at least 0"),
        Err(response) => response,
    }
}

/// `GET /_emulator/authorization`: the Azure RBAC switches.
fn authorization_switches(state: &SharedState) -> Response {
    let delay = state.store().role_assignments.propagation_delay_seconds;
    json(StatusCode::OK, &json!({"propagationDelaySeconds": delay}))
}

/// `PUT /_emulator/page-size`: the page size of list answers.
fn set_page_size(state: &SharedState, ctx: &Ctx) -> Response {
    match parse::<PageSize>(ctx) {
        Ok(PageSize { page_size }) if page_size >= 1 => {
            state.store().page_size = page_size;
            json(StatusCode::OK, &json!({"page_size": page_size}))
        }
        Ok(_) => bad_request("page_size must be at least 1"),
        Err(response) => response,
    }
}

/// `GET /_emulator/state`: everything, secrets redacted.
fn snapshot(state: &SharedState) -> Response {
    let faults = json!(
        state
            .store()
            .services
            .get_mut::<crate::faults::Faults>()
            .list()
    );
    json(StatusCode::OK, &state.redacted_snapshot(faults))
}

/// `PUT /_emulator/clusters/{group}/{name}/api-server`: an API-server outage on or off.
fn set_api_server(state: &SharedState, ctx: &Ctx) -> Response {
    match parse::<ApiServer>(ctx) {
        Ok(ApiServer { available }) => {
            let (group, name) = (&ctx.segments[2], &ctx.segments[3]);
            let key = cluster_key(&Subscription::own(), group, name);
            if state.set_api_server_available(&key, available) {
                json(StatusCode::OK, &json!({"available": available}))
            } else {
                not_found(format!("no cluster '{name}' in resource group '{group}'"))
            }
        }
        Err(response) => response,
    }
}

/// `POST /_emulator/federated-token`: a service-account token for a federated credential (body optional).
fn issue_federated_token(state: &SharedState, ctx: &Ctx) -> Response {
    let request = if ctx.body.is_empty() {
        Ok(FederatedTokenRequest::default())
    } else {
        parse::<FederatedTokenRequest>(ctx)
    };
    match request {
        Ok(request) => federated_token(state, request),
        Err(response) => response,
    }
}

/// `POST /_emulator/authorize/{approve|decline}`: what the next interactive sign-in does.
fn authorize_decision(state: &SharedState, ctx: &Ctx, decision: &str) -> Response {
    let body = if ctx.body.is_empty() {
        Ok(AuthorizeDecision::default())
    } else {
        parse::<AuthorizeDecision>(ctx)
    };
    match body {
        Ok(body) => {
            let user =
                (decision == "approve").then(|| body.user.as_deref().unwrap_or(ADMIN_USER_NAME));
            match entra::authorize::queue_decision(state, user) {
                Ok(()) => json(StatusCode::OK, &json!({"decision": decision, "user": user})),
                Err(message) => bad_request(message),
            }
        }
        Err(response) => response,
    }
}

/// `POST /_emulator/devicecode/{approve|decline}`: decide a pending device-code sign-in.
fn device_code_decision(state: &SharedState, ctx: &Ctx, decision: &str) -> Response {
    match parse::<DeviceCodeDecision>(ctx) {
        Ok(body) => {
            let user =
                (decision == "approve").then(|| body.user.as_deref().unwrap_or(ADMIN_USER_NAME));
            match entra::device_code::decide(state, &body.user_code, user) {
                Ok(()) => json(
                    StatusCode::OK,
                    &json!({"user_code": body.user_code, "decision": decision, "user": user}),
                ),
                Err(message) => bad_request(message),
            }
        }
        Err(response) => response,
    }
}

/// `DELETE /_emulator/faults/{id}`.
fn remove_fault(state: &SharedState, id: &str) -> Response {
    match id.parse::<u64>() {
        Ok(id)
            if state
                .store()
                .services
                .get_mut::<crate::faults::Faults>()
                .remove(id) =>
        {
            empty(StatusCode::NO_CONTENT)
        }
        _ => not_found(format!("no fault rule '{id}'")),
    }
}

/// The directory (users, tenants, guests) and the Conditional Access switches.
fn directory_and_policies(state: &SharedState, ctx: &Ctx) -> Response {
    let rest: Vec<&str> = ctx.lower[1..].iter().map(String::as_str).collect();
    match (&ctx.method, rest.as_slice()) {
        (&Method::POST, ["users"]) => match parse::<NewUser>(ctx) {
            Ok(new) => add_user(state, new),
            Err(response) => response,
        },
        (&Method::POST, ["tenants"]) => {
            let body = if ctx.body.is_empty() {
                Ok(NewTenant::default())
            } else {
                parse::<NewTenant>(ctx)
            };
            match body {
                Ok(new) => add_tenant(state, new),
                Err(response) => response,
            }
        }
        (&Method::POST, ["tenants", _, "guests"]) => match parse::<GuestBody>(ctx) {
            Ok(body) => add_guest(state, &ctx.segments[2], &body.user_principal_name),
            Err(response) => response,
        },
        (&Method::GET, ["conditional-access"]) => json(
            StatusCode::OK,
            state
                .store()
                .services
                .get_mut::<crate::entra::policy::Policies>()
                .switches(),
        ),
        (&Method::PUT, ["conditional-access"]) => match parse::<Switches>(ctx) {
            Ok(switches) => {
                let mut store = state.store();
                let store = &mut *store;
                match store
                    .services
                    .get_mut::<crate::entra::policy::Policies>()
                    .set(switches, &store.directory)
                {
                    Ok(()) => json(
                        StatusCode::OK,
                        store
                            .services
                            .get_mut::<crate::entra::policy::Policies>()
                            .switches(),
                    ),
                    Err(message) => bad_request(message),
                }
            }
            Err(response) => response,
        },
        _ => unsupported(ctx),
    }
}

/// `POST /_emulator/faults`: one rule or an array of rules; answers them with their ids.
fn add_faults(state: &SharedState, ctx: &Ctx) -> Response {
    let rules = match serde_json::from_slice::<serde_json::Value>(&ctx.body) {
        Ok(serde_json::Value::Array(items)) => items,
        Ok(item) => vec![item],
        Err(error) => return bad_request(format!("invalid body for POST {}: {error}", ctx.path)),
    };
    let mut parsed = Vec::with_capacity(rules.len());
    for rule in rules {
        match serde_json::from_value::<FaultRule>(rule) {
            Ok(rule) => match rule.validate() {
                Ok(()) => parsed.push(rule),
                Err(message) => return bad_request(message),
            },
            Err(error) => return bad_request(format!("invalid fault rule: {error}")),
        }
    }
    let mut store = state.store();
    let added: Vec<FaultRule> = parsed
        .into_iter()
        .map(|rule| store.services.get_mut::<crate::faults::Faults>().add(rule))
        .collect();
    json(StatusCode::OK, &added)
}

/// `POST /_emulator/apps/{client_id}/certificates`: register a certificate credential.
fn add_certificate(state: &SharedState, ctx: &Ctx) -> Response {
    let client_id = &ctx.segments[2];
    let pem = match serde_json::from_slice::<CertificateBody>(&ctx.body) {
        Ok(body) => body.certificate,
        Err(_) => String::from_utf8_lossy(&ctx.body).into_owned(),
    };
    if crate::pki::rsa_public_key_of_certificate(&pem).is_none() {
        return bad_request(
            "the body holds no PEM certificate with an RSA key (-----BEGIN CERTIFICATE-----)",
        );
    }
    let mut store = state.store();
    let Some(principal) = store.directory.service_principal_mut(client_id) else {
        return not_found(format!("no application with client id '{client_id}'"));
    };
    if !principal.certificates.contains(&pem) {
        principal.certificates.push(pem);
    }
    let count = principal.certificates.len();
    state.save_or_log(&store);
    json(
        StatusCode::OK,
        &json!({"client_id": client_id, "certificates": count}),
    )
}

/// `POST /_emulator/apps/{client_id}/trusted-subjects`: trust certificates with a subject name issued by a CA
/// (Subject Name/Issuer trust) for assertions that carry their chain in `x5c`.
fn add_trusted_subject(state: &SharedState, client_id: &str, body: TrustedSubjectBody) -> Response {
    use crate::entra::certificate_trust::{parse_subject, render};
    use crate::pki::x509::Certificate;
    let Some(subject) = parse_subject(&body.subject) else {
        return bad_request(format!(
            "subject '{}' is not a distinguished name such as 'CN=app.contoso.com, O=Contoso'",
            body.subject
        ));
    };
    let ca_der = crate::pki::pem_blocks(&body.issuer_ca_pem, "CERTIFICATE");
    let issuer = ca_der
        .first()
        .and_then(|der| Certificate::parse(der))
        .filter(|ca| ca.rsa_public_key().is_some())
        .and_then(|ca| ca.subject_attributes());
    let Some(issuer) = issuer else {
        return bad_request(
            "issuer_ca_pem holds no PEM certificate with an RSA key (-----BEGIN CERTIFICATE-----)",
        );
    };
    let trusted = crate::state::TrustedSubject {
        subject: render(&subject),
        issuer_ca_pem: body.issuer_ca_pem,
    };
    let mut store = state.store();
    let Some(principal) = store.directory.service_principal_mut(client_id) else {
        return not_found(format!("no application with client id '{client_id}'"));
    };
    if !principal.trusted_subjects.contains(&trusted) {
        principal.trusted_subjects.push(trusted);
    }
    let subjects: Vec<String> = principal
        .trusted_subjects
        .iter()
        .map(|trusted| trusted.subject.clone())
        .collect();
    state.save_or_log(&store);
    json(
        StatusCode::OK,
        &json!({"client_id": client_id, "subject": render(&subject), "issuer": render(&issuer), "trusted_subjects": subjects}),
    )
}

/// `POST /_emulator/apps/{client_id}/federated-credentials`: register a federated identity credential.
fn add_federated_credential(
    state: &SharedState,
    client_id: &str,
    body: FederatedCredentialBody,
) -> Response {
    let credential = FederatedCredential {
        issuer: body.issuer,
        subject: body.subject,
        audiences: if body.audiences.is_empty() {
            vec![FEDERATED_AUDIENCE.to_string()]
        } else {
            body.audiences
        },
    };
    let mut store = state.store();
    let Some(principal) = store.directory.service_principal_mut(client_id) else {
        return not_found(format!("no application with client id '{client_id}'"));
    };
    if !principal.federated_credentials.contains(&credential) {
        principal.federated_credentials.push(credential);
    }
    let credentials = principal.federated_credentials.clone();
    state.save_or_log(&store);
    json(
        StatusCode::OK,
        &json!({"client_id": client_id, "federated_credentials": credentials}),
    )
}

/// `POST /_emulator/federated-token`: a service-account token from the emulator's OIDC issuer.
fn federated_token(state: &SharedState, request: FederatedTokenRequest) -> Response {
    let subject = request
        .subject
        .unwrap_or_else(|| FEDERATED_SUBJECT.to_string());
    let audience = request
        .audience
        .unwrap_or_else(|| FEDERATED_AUDIENCE.to_string());
    match entra::mint_federated(
        state,
        &subject,
        &audience,
        request.expires_in.unwrap_or(3600),
    ) {
        Ok((token, expires_on)) => json(
            StatusCode::OK,
            &json!({
                "token": token,
                "issuer": state.oidc_issuer(),
                "subject": subject,
                "audience": audience,
                "expires_on": expires_on,
            }),
        ),
        Err(error) => bad_request(format!("cannot sign the federated token: {error}")),
    }
}

/// `POST /_emulator/users`: a directory user; answers its id and, when generated, its password.
fn add_user(state: &SharedState, new: NewUser) -> Response {
    let mut store = state.store();
    match store.directory.add_user(new) {
        Ok((user, generated)) => {
            state.save_or_log(&store);
            let mut body = json!({
                "id": user.object_id,
                "userPrincipalName": user.user_principal_name,
                "displayName": user.display_name,
                "tenantId": user.tenant_id,
                "groups": user.groups,
            });
            if let Some(password) = generated {
                body["password"] = serde_json::Value::String(password);
            }
            json(StatusCode::OK, &body)
        }
        Err(message) => bad_request(message),
    }
}

/// `POST /_emulator/tenants`: another tenant; answers it.
fn add_tenant(state: &SharedState, new: NewTenant) -> Response {
    let mut store = state.store();
    match store.directory.add_tenant(new) {
        Ok(tenant) => {
            state.save_or_log(&store);
            json(
                StatusCode::OK,
                &json!({"tenantId": tenant.tenant_id, "displayName": tenant.display_name,
                    "defaultDomain": tenant.default_domain}),
            )
        }
        Err(message) => bad_request(message),
    }
}

/// `POST /_emulator/tenants/{id}/guests`: invite a user of another tenant; answers the guest object's id.
fn add_guest(state: &SharedState, tenant: &str, user_principal_name: &str) -> Response {
    let mut store = state.store();
    match store.directory.add_guest(tenant, user_principal_name) {
        Ok(object_id) => {
            state.save_or_log(&store);
            json(
                StatusCode::OK,
                &json!({"tenantId": tenant, "userPrincipalName": user_principal_name, "id": object_id}),
            )
        }
        Err(message) if message.starts_with("no tenant") => not_found(message),
        Err(message) => bad_request(message),
    }
}

fn seed_state(state: &SharedState, seed: Seed) -> Response {
    let mut store = state.store();
    let groups = seed.resource_groups.len();
    let clusters = seed.clusters.len();
    for subscription in &seed.subscriptions {
        if !aks_model::validation::is_guid(subscription) {
            return bad_request(format!("subscription '{subscription}' is not a GUID"));
        }
        if !subscriptions::is_own(subscription) {
            store
                .subscriptions
                .insert(subscription.to_ascii_lowercase());
        }
    }
    let known = |subscription: &Option<String>, store: &Store| match subscription {
        Some(id)
            if !subscriptions::is_own(id)
                && !store.subscriptions.contains(&id.to_ascii_lowercase()) =>
        {
            Err(bad_request(format!(
                "subscription '{id}' is not in the seed's subscriptions"
            )))
        }
        _ => Ok(()),
    };
    for group in seed.resource_groups {
        if let Err(response) = known(&group.subscription, &store) {
            return response;
        }
        let location = match aks_model::validation::location("location", &group.location) {
            Ok(location) => location,
            Err(error) => return bad_request(error.to_string()),
        };
        let key = Subscription::of(group.subscription.as_deref()).group_key(&group.name);
        store
            .resource_groups
            .entry(key)
            .or_insert(ResourceGroupRecord {
                name: group.name,
                location,
                tags: None,
                managed_by: None,
            });
    }
    for cluster in seed.clusters {
        if let Err(response) = known(&cluster.subscription, &store) {
            state.save_or_log(&store);
            return response;
        }
        if let Err(message) = fill_server_fields_for_seed(state, &mut store, cluster) {
            state.save_or_log(&store);
            return bad_request(message);
        }
    }
    state.save_or_log(&store);
    json(
        StatusCode::OK,
        &json!({"resource_groups": groups, "clusters": clusters}),
    )
}
