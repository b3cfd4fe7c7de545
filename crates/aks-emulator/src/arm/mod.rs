//! Azure Resource Manager: cloud metadata, subscriptions, resource groups, managed clusters, their operations
//! and credentials, and template deployments of managed clusters (ARM and AKS REST API references:
//! <https://learn.microsoft.com/rest/api/aks/managed-clusters>).
//!
//! Routes are parsed by hand so that segment names match case-insensitively (`resourcegroups`,
//! `resourceGroups`, `Microsoft.ContainerService/managedClusters` in any case).

mod credentials;
mod deployments;
mod managed_clusters;
mod operations;
mod resource_groups;
mod subscriptions;
mod throttle;

use std::time::Instant;

use aks_model::ArmErrorBody;
use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::entra::{self, TokenProblem};
use crate::http::{Ctx, arm_error, set, unsupported};
use crate::state::SharedState;
use crate::{SUBSCRIPTION_ID, TENANT_ID};

pub(crate) use managed_clusters::{
    SeedCluster, fill_server_fields_for_seed, major_minor as major_minor_of,
};

/// Token audiences ARM accepts.
const ARM_AUDIENCES: &[&str] = &[
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

/// The ARM routes the emulator serves.
#[derive(Debug)]
enum ArmRoute {
    Metadata,
    ListTenants,
    ListSubscriptions,
    GetSubscription,
    ListResourceGroups,
    ResourceGroup {
        group: String,
    },
    ResourceGroupOperationResult {
        id: String,
    },
    ListClusters,
    ListClustersInGroup {
        group: String,
    },
    Cluster {
        group: String,
        name: String,
    },
    UserCredential {
        group: String,
        name: String,
    },
    AdminCredential {
        group: String,
        name: String,
    },
    OperationStatus {
        id: String,
    },
    OperationResult {
        id: String,
    },
    ListDeployments {
        group: String,
    },
    Deployment {
        group: String,
        name: String,
    },
    DeploymentValidate {
        group: String,
        name: String,
    },
    DeploymentOperationStatus {
        group: String,
        name: String,
        id: String,
    },
}

/// Segments a route takes from the path, as sent, in order.
type Captures = std::vec::IntoIter<String>;

fn take(captures: &mut Captures) -> String {
    captures.next().unwrap_or_default()
}

/// One ARM route: the methods it answers, its path (lower-case literals matched case-insensitively; `{…}` takes
/// the segment as sent, `{subscription}` being the subscription whose write budget a write uses and `{_}` a
/// segment that is not used) and the [`ArmRoute`] it is.
struct RouteSpec {
    methods: &'static [&'static str],
    path: &'static str,
    route: fn(&mut Captures) -> ArmRoute,
}

/// A path under `/subscriptions/{subscription}` + the given rest.
macro_rules! subscription {
    ($rest:literal) => {
        concat!("subscriptions/{subscription}", $rest)
    };
}

/// A path under a resource group's `providers/{namespace}` + the given rest.
macro_rules! in_group {
    ($namespace:literal, $rest:literal) => {
        concat!(
            "subscriptions/{subscription}/resourcegroups/{group}/providers/",
            $namespace,
            $rest
        )
    };
}

/// Every ARM route the emulator serves, the one list of them (Azure REST API reference: Resource Groups,
/// Managed Clusters, Deployments, Subscriptions, Tenants; see docs/arm-aks-api.md).
const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        methods: &["GET"],
        path: "metadata/endpoints",
        route: |_| ArmRoute::Metadata,
    },
    RouteSpec {
        methods: &["GET"],
        path: "tenants",
        route: |_| ArmRoute::ListTenants,
    },
    RouteSpec {
        methods: &["GET"],
        path: "subscriptions",
        route: |_| ArmRoute::ListSubscriptions,
    },
    RouteSpec {
        methods: &["GET"],
        path: subscription!(""),
        route: |_| ArmRoute::GetSubscription,
    },
    RouteSpec {
        methods: &["GET"],
        path: subscription!("/resourcegroups"),
        route: |_| ArmRoute::ListResourceGroups,
    },
    RouteSpec {
        methods: &["GET", "PUT", "HEAD", "DELETE"],
        path: subscription!("/resourcegroups/{group}"),
        route: |c| ArmRoute::ResourceGroup { group: take(c) },
    },
    RouteSpec {
        methods: &["GET"],
        path: subscription!("/operationresults/{id}"),
        route: |c| ArmRoute::ResourceGroupOperationResult { id: take(c) },
    },
    RouteSpec {
        methods: &["GET"],
        path: subscription!("/providers/microsoft.containerservice/managedclusters"),
        route: |_| ArmRoute::ListClusters,
    },
    RouteSpec {
        methods: &["GET"],
        path: subscription!("/providers/microsoft.containerservice/locations/{_}/operations/{id}"),
        route: |c| ArmRoute::OperationStatus { id: take(c) },
    },
    RouteSpec {
        methods: &["GET"],
        path: subscription!(
            "/providers/microsoft.containerservice/locations/{_}/operationresults/{id}"
        ),
        route: |c| ArmRoute::OperationResult { id: take(c) },
    },
    RouteSpec {
        methods: &["GET"],
        path: in_group!("microsoft.containerservice", "/managedclusters"),
        route: |c| ArmRoute::ListClustersInGroup { group: take(c) },
    },
    RouteSpec {
        methods: &["GET", "PUT", "DELETE"],
        path: in_group!("microsoft.containerservice", "/managedclusters/{name}"),
        route: |c| ArmRoute::Cluster {
            group: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &["POST"],
        path: in_group!(
            "microsoft.containerservice",
            "/managedclusters/{name}/listclusterusercredential"
        ),
        route: |c| ArmRoute::UserCredential {
            group: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &["POST"],
        path: in_group!(
            "microsoft.containerservice",
            "/managedclusters/{name}/listclusteradmincredential"
        ),
        route: |c| ArmRoute::AdminCredential {
            group: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &["GET"],
        path: in_group!("microsoft.resources", "/deployments"),
        route: |c| ArmRoute::ListDeployments { group: take(c) },
    },
    RouteSpec {
        methods: &["GET", "PUT"],
        path: in_group!("microsoft.resources", "/deployments/{name}"),
        route: |c| ArmRoute::Deployment {
            group: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &["POST"],
        path: in_group!("microsoft.resources", "/deployments/{name}/validate"),
        route: |c| ArmRoute::DeploymentValidate {
            group: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &["GET"],
        path: in_group!(
            "microsoft.resources",
            "/deployments/{name}/operationstatuses/{id}"
        ),
        route: |c| ArmRoute::DeploymentOperationStatus {
            group: take(c),
            name: take(c),
            id: take(c),
        },
    },
];

/// The route of a request and the subscription in its path (as sent), or `None` when no route matches.
fn parse(ctx: &Ctx) -> Option<(ArmRoute, Option<String>)> {
    ROUTES.iter().find_map(|spec| {
        if !spec.methods.contains(&ctx.method.as_str()) {
            return None;
        }
        let (captures, subscription) = spec.captures(ctx)?;
        Some(((spec.route)(&mut captures.into_iter()), subscription))
    })
}

impl RouteSpec {
    /// The segments the path takes from `ctx`, and the subscription, when the path matches.
    fn captures(&self, ctx: &Ctx) -> Option<(Vec<String>, Option<String>)> {
        let pattern: Vec<&str> = self.path.split('/').collect();
        if pattern.len() != ctx.lower.len() {
            return None;
        }
        let mut captures = Vec::new();
        let mut subscription = None;
        for ((part, lower), original) in pattern.iter().zip(&ctx.lower).zip(&ctx.segments) {
            match *part {
                "{subscription}" => subscription = Some(original.clone()),
                "{_}" => {}
                _ if part.starts_with('{') => captures.push(original.clone()),
                literal if literal == lower => {}
                _ => return None,
            }
        }
        Some((captures, subscription))
    }
}

/// Handle an ARM request.
pub(crate) fn route(state: &SharedState, ctx: &Ctx) -> Response {
    let Some((route, subscription)) = parse(ctx) else {
        return unsupported(ctx);
    };
    if let ArmRoute::Metadata = route {
        return subscriptions::metadata(state, ctx);
    }
    // Writes (PUT, DELETE) take a token from the subscription's bucket first (ARM's request limits); every answer
    // reports what is left.
    let bucket = subscription.clone().unwrap_or_default();
    let (mut response, remaining_writes) = if matches!(ctx.method, Method::PUT | Method::DELETE) {
        let taken = state.store().throttle.take(&bucket, Instant::now());
        match taken {
            Ok(remaining) => (guarded(state, ctx, route, subscription), remaining),
            Err(wait) => (throttle::too_many_requests(&bucket, wait), 0),
        }
    } else {
        let response = guarded(state, ctx, route, subscription);
        let remaining = state.store().throttle.remaining(&bucket, Instant::now());
        (response, remaining)
    };
    let headers = response.headers_mut();
    if matches!(ctx.method, Method::GET | Method::HEAD) {
        set(
            headers,
            "x-ms-ratelimit-remaining-subscription-reads",
            "249",
        );
    }
    set(
        headers,
        "x-ms-ratelimit-remaining-subscription-writes",
        &remaining_writes.to_string(),
    );
    if !headers.contains_key("x-ms-correlation-request-id") {
        set(
            headers,
            "x-ms-correlation-request-id",
            &uuid::Uuid::new_v4().to_string(),
        );
    }
    response
}

fn guarded(
    state: &SharedState,
    ctx: &Ctx,
    route: ArmRoute,
    subscription: Option<String>,
) -> Response {
    if ctx.query("api-version").is_none_or(str::is_empty) {
        return arm_error(
            StatusCode::BAD_REQUEST,
            ArmErrorBody::new(
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ),
        );
    }
    let caller = match authenticate(state, ctx) {
        Ok(claims) => claims,
        Err(response) => return response,
    };
    if let Err(response) = conditional_access(state, &caller) {
        return response;
    }
    if let Some(subscription) = &subscription
        && let Err(response) = same_tenant(&caller)
    {
        tracing::info!(subscription, "token of another tenant refused");
        return response;
    }
    if let Some(subscription) = &subscription
        && !subscription.eq_ignore_ascii_case(SUBSCRIPTION_ID)
    {
        return arm_error(
            StatusCode::NOT_FOUND,
            ArmErrorBody::new(
                "SubscriptionNotFound",
                format!("The subscription '{subscription}' could not be found."),
            ),
        );
    }
    match route {
        ArmRoute::Metadata => subscriptions::metadata(state, ctx),
        ArmRoute::ListTenants => subscriptions::tenants(state, &caller),
        ArmRoute::ListSubscriptions => subscriptions::list(&caller),
        ArmRoute::GetSubscription => subscriptions::get(),
        ArmRoute::ListResourceGroups => resource_groups::list(state, ctx),
        ArmRoute::ResourceGroup { group } => match ctx.method {
            Method::PUT => resource_groups::put(state, ctx, &group),
            Method::DELETE => {
                resource_groups::delete(state, ctx, &group, deployments::forget_resource_group)
            }
            Method::HEAD => resource_groups::head(state, &group),
            _ => resource_groups::get(state, &group),
        },
        ArmRoute::ResourceGroupOperationResult { id } => {
            operations::resource_group_result(state, ctx, &id)
        }
        ArmRoute::ListClusters => managed_clusters::list(state, ctx, None),
        ArmRoute::ListClustersInGroup { group } => managed_clusters::list(state, ctx, Some(&group)),
        ArmRoute::Cluster { group, name } => match ctx.method {
            Method::PUT => managed_clusters::put(state, ctx, &group, &name),
            Method::DELETE => managed_clusters::delete(state, ctx, &group, &name),
            _ => managed_clusters::get(state, &group, &name),
        },
        ArmRoute::UserCredential { group, name } => credentials::user(state, ctx, &group, &name),
        ArmRoute::AdminCredential { group, name } => credentials::admin(state, &group, &name),
        ArmRoute::OperationStatus { id } => operations::status(state, &id),
        ArmRoute::OperationResult { id } => operations::result(state, ctx, &id),
        ArmRoute::ListDeployments { group } => deployments::list(state, ctx, &group),
        ArmRoute::Deployment { group, name } => match ctx.method {
            Method::PUT => deployments::put(state, ctx, &group, &name),
            _ => deployments::get(state, &group, &name),
        },
        ArmRoute::DeploymentValidate { group, name } => {
            deployments::validate(state, ctx, &group, &name)
        }
        ArmRoute::DeploymentOperationStatus { group, name, id } => {
            deployments::status(state, &group, &name, &id)
        }
    }
}

/// The `tid` of a token's claims.
fn tenant_of(claims: &serde_json::Value) -> &str {
    claims["tid"].as_str().unwrap_or_default()
}

/// Subscription-scoped requests need a token of the subscription's tenant: ARM's `401
/// InvalidAuthenticationTokenTenant` otherwise.
fn same_tenant(claims: &serde_json::Value) -> Result<(), Response> {
    let tid = tenant_of(claims);
    if tid.eq_ignore_ascii_case(TENANT_ID) {
        return Ok(());
    }
    let mut response = arm_error(
        StatusCode::UNAUTHORIZED,
        ArmErrorBody::new(
            "InvalidAuthenticationTokenTenant",
            format!(
                "The access token is from the wrong issuer 'https://sts.windows.net/{tid}/'. It must match the tenant 'https://sts.windows.net/{TENANT_ID}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{TENANT_ID}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later."
            ),
        ),
    );
    set(
        response.headers_mut(),
        "www-authenticate",
        &format!(
            "Bearer authorization_uri=\"https://login.windows.net/{TENANT_ID}\", error=\"invalid_token\", error_description=\"The access token is from the wrong issuer.\""
        ),
    );
    Err(response)
}

/// The `mfa_required` switch: a user token without the satisfied authentication context gets ARM's claims
/// challenge, `401` with `WWW-Authenticate: Bearer realm="", authorization_uri="…/authorize",
/// error="insufficient_claims", claims="<base64 of the challenge>"` (Microsoft identity platform docs,
/// <https://learn.microsoft.com/entra/identity-platform/claims-challenge>). The body's text is invented.
fn conditional_access(state: &SharedState, claims: &serde_json::Value) -> Result<(), Response> {
    if claims["idtyp"] != "user" {
        return Ok(());
    }
    let satisfied = claims["acrs"].as_array().is_some_and(|acrs| {
        acrs.iter()
            .any(|value| value == entra::policy::AUTH_CONTEXT)
    });
    let required = {
        let store = state.store();
        let user = claims["oid"]
            .as_str()
            .and_then(|oid| store.directory.user_by_any_object_id(oid));
        let policies = store.services.get::<entra::policy::Policies>();
        user.is_some_and(|user| policies.is_some_and(|policies| policies.mfa_required(user)))
    };
    if satisfied || !required {
        return Ok(());
    }
    use base64::Engine as _;
    let challenge = base64::engine::general_purpose::STANDARD.encode(entra::policy::challenge());
    let mut response = arm_error(
        StatusCode::UNAUTHORIZED,
        ArmErrorBody::new(
            "InvalidAuthenticationToken",
            "The access token lacks claims a Conditional Access policy requires (multi-factor authentication). Acquire a new token with the claims challenge of the WWW-Authenticate header.",
        ),
    );
    set(
        response.headers_mut(),
        "www-authenticate",
        &format!(
            "Bearer realm=\"\", authorization_uri=\"{}/{}/oauth2/authorize\", error=\"insufficient_claims\", claims=\"{challenge}\"",
            state.base_url(),
            tenant_of(claims)
        ),
    );
    Err(response)
}

/// Check the bearer token: RS256 signed by us, in its lifetime, for an ARM audience; answers its claims.
fn authenticate(state: &SharedState, ctx: &Ctx) -> Result<serde_json::Value, Response> {
    let challenge = |error: &str, description: &str| {
        format!(
            "Bearer authorization_uri=\"{}/{TENANT_ID}\", error=\"{error}\", error_description=\"{description}\"",
            state.base_url()
        )
    };
    let refuse = |code: &str, message: String, www: String| {
        let mut response = arm_error(StatusCode::UNAUTHORIZED, ArmErrorBody::new(code, message));
        set(response.headers_mut(), "www-authenticate", &www);
        response
    };
    if ctx.header("authorization").is_none() {
        return Err(refuse(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".into(),
            challenge(
                "invalid_token",
                "The authentication failed because of missing 'Authorization' header.",
            ),
        ));
    }
    let Some(token) = ctx.bearer_token() else {
        return Err(refuse(
            "AuthenticationFailedInvalidHeader",
            "Authentication failed. The 'Authorization' header is provided in an invalid format."
                .into(),
            challenge(
                "invalid_token",
                "The authentication failed because of invalid 'Authorization' header.",
            ),
        ));
    };
    match entra::verify(state, token, ARM_AUDIENCES) {
        Ok(claims) => Ok(claims),
        Err(TokenProblem::Expired(exp)) => {
            let expiry = time::OffsetDateTime::from_unix_timestamp(exp as i64)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            Err(refuse(
                "ExpiredAuthenticationToken",
                format!(
                    "The access token expiry UTC time '{expiry}' is earlier than current UTC time '{}'.",
                    crate::state::rfc3339_now()
                ),
                challenge("invalid_token", "The access token has expired."),
            ))
        }
        Err(TokenProblem::WrongAudience(audience)) => Err(refuse(
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{audience}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
            ),
            challenge(
                "invalid_token",
                "The access token has been obtained for wrong audience.",
            ),
        )),
        Err(TokenProblem::NotYetValid) | Err(TokenProblem::Invalid) => Err(refuse(
            "InvalidAuthenticationToken",
            "The access token is invalid.".into(),
            challenge("invalid_token", "The access token is invalid."),
        )),
    }
}

/// A list answer, paged: `value` holds at most the configured page size, and `nextLink` (absolute, with a
/// `$skipToken`) points at the rest.
fn page(state: &SharedState, ctx: &Ctx, items: Vec<serde_json::Value>) -> Response {
    let page_size = state.store().page_size.max(1);
    let skip: usize = ctx
        .query("$skipToken")
        .and_then(|token| token.parse().ok())
        .unwrap_or(0);
    let value: Vec<serde_json::Value> = items.iter().skip(skip).take(page_size).cloned().collect();
    let mut body = serde_json::json!({ "value": value });
    if skip + page_size < items.len() {
        let api_version = ctx.query("api-version").unwrap_or_default();
        let api_version: String =
            url::form_urlencoded::byte_serialize(api_version.as_bytes()).collect();
        let query = format!("api-version={api_version}&$skipToken={}", skip + page_size);
        body["nextLink"] =
            serde_json::Value::String(format!("{}{}?{}", state.base_url(), ctx.path, query));
    }
    crate::http::json(StatusCode::OK, &body)
}

/// `404 ResourceGroupNotFound`.
fn resource_group_not_found(group: &str) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        ArmErrorBody::new(
            "ResourceGroupNotFound",
            format!("Resource group '{group}' could not be found."),
        ),
    )
}
