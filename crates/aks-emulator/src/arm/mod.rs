//! Azure Resource Manager: cloud metadata, subscriptions, resource groups, managed clusters, their operations
//! and credentials, and template deployments of managed clusters (ARM and AKS REST API references:
//! <https://learn.microsoft.com/rest/api/aks/managed-clusters>).
//!
//! Routes are parsed by hand so that segment names match case-insensitively (`resourcegroups`,
//! `resourceGroups`, `Microsoft.ContainerService/managedClusters` in any case). Each route names the Azure RBAC
//! action each of its methods needs; the caller's role assignments are checked once, before the route runs
//! (`Microsoft.Authorization` role assignments, role definitions and permissions are routes like the others,
//! at any scope). The subscription the path names is derived once, as a `state::Subscription` value, and passed
//! to the route's handler, which passes it to the store helpers (store keys and resource ids depend on it).

mod access;
mod credentials;
mod deployments;
mod managed_clusters;
mod odata;
mod operations;
mod permissions;
mod resource_groups;
mod role_assignments;
mod role_definitions;
mod subscriptions;
mod throttle;

use std::time::Instant;

use aks_model::ArmErrorBody;
use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::TENANT_ID;
use crate::entra::{self, TokenProblem};
use crate::http::{Ctx, arm_error, set, unsupported};
use crate::state::subscriptions as subscriptions_state;
use crate::state::{SharedState, Store, Subscription};
use access::Caller;

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
    ListRoleAssignments {
        scope: String,
    },
    RoleAssignment {
        scope: String,
        name: String,
    },
    ListRoleDefinitions {
        scope: String,
    },
    RoleDefinition {
        scope: String,
        name: String,
    },
    Permissions {
        scope: String,
    },
}

/// Segments a route takes from the path, as sent, in order.
type Captures = std::vec::IntoIter<String>;

fn take(captures: &mut Captures) -> String {
    captures.next().unwrap_or_default()
}

/// One ARM route: the methods it answers with the Azure RBAC action each needs, its path (lower-case literals
/// matched case-insensitively; `{…}` takes the segment as sent, `{subscription}` being the subscription whose
/// write budget a write uses and `{_}` a segment that is not used; a leading `{scope*}` takes any number of
/// segments, the scope the route works at), the resource id the action is checked at, and the [`ArmRoute`] it
/// is.
struct RouteSpec {
    methods: &'static [(&'static str, Access)],
    path: &'static str,
    scope: CheckedAt,
    route: fn(&mut Captures) -> ArmRoute,
}

/// What a route's method needs of the caller (docs/azure-rbac.md, "What the emulator checks").
#[derive(Clone, Copy, Debug, PartialEq)]
enum Access {
    /// Any authenticated caller (cloud metadata, the sign-in look-ups, polling, the role catalogue).
    Open,
    /// This action over the route's scope: `403 AuthorizationFailed` otherwise.
    Action(&'static str),
    /// A list: each item is answered only when the caller has this action over the item's id.
    Filter(&'static str),
}

/// The resource id a route's action is checked at.
#[derive(Clone, Copy, Debug, PartialEq)]
enum CheckedAt {
    /// The first N segments of the path.
    Leading(usize),
    /// The whole path.
    Path,
    /// The `{scope*}` the path starts with.
    Scope,
}

/// The actions of the managed-cluster resource, by method.
const CLUSTER_ACCESS: &[(&str, Access)] = &[
    (
        "GET",
        Access::Action("Microsoft.ContainerService/managedClusters/read"),
    ),
    (
        "PUT",
        Access::Action("Microsoft.ContainerService/managedClusters/write"),
    ),
    (
        "DELETE",
        Access::Action("Microsoft.ContainerService/managedClusters/delete"),
    ),
];

/// The actions of the resource-group resource, by method.
const GROUP_ACCESS: &[(&str, Access)] = &[
    (
        "GET",
        Access::Action("Microsoft.Resources/subscriptions/resourceGroups/read"),
    ),
    (
        "HEAD",
        Access::Action("Microsoft.Resources/subscriptions/resourceGroups/read"),
    ),
    (
        "PUT",
        Access::Action("Microsoft.Resources/subscriptions/resourceGroups/write"),
    ),
    (
        "DELETE",
        Access::Action("Microsoft.Resources/subscriptions/resourceGroups/delete"),
    ),
];

/// Leading segments of a subscription's id, a resource group's, and a resource's in a group.
const SUBSCRIPTION_ID_SEGMENTS: CheckedAt = CheckedAt::Leading(2);
const GROUP_ID_SEGMENTS: CheckedAt = CheckedAt::Leading(4);
const RESOURCE_ID_SEGMENTS: CheckedAt = CheckedAt::Leading(8);

/// A path under `{scope*}/providers/Microsoft.Authorization` + the given rest.
macro_rules! authorization {
    ($rest:literal) => {
        concat!("{scope*}/providers/microsoft.authorization", $rest)
    };
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
        methods: &[("GET", Access::Open)],
        path: "metadata/endpoints",
        scope: CheckedAt::Path,
        route: |_| ArmRoute::Metadata,
    },
    RouteSpec {
        methods: &[("GET", Access::Open)],
        path: "tenants",
        scope: CheckedAt::Path,
        route: |_| ArmRoute::ListTenants,
    },
    RouteSpec {
        methods: &[("GET", Access::Open)],
        path: "subscriptions",
        scope: CheckedAt::Path,
        route: |_| ArmRoute::ListSubscriptions,
    },
    RouteSpec {
        methods: &[("GET", Access::Open)],
        path: subscription!(""),
        scope: SUBSCRIPTION_ID_SEGMENTS,
        route: |_| ArmRoute::GetSubscription,
    },
    RouteSpec {
        methods: &[(
            "GET",
            Access::Filter("Microsoft.Resources/subscriptions/resourceGroups/read"),
        )],
        path: subscription!("/resourcegroups"),
        scope: SUBSCRIPTION_ID_SEGMENTS,
        route: |_| ArmRoute::ListResourceGroups,
    },
    RouteSpec {
        methods: GROUP_ACCESS,
        path: subscription!("/resourcegroups/{group}"),
        scope: GROUP_ID_SEGMENTS,
        route: |c| ArmRoute::ResourceGroup { group: take(c) },
    },
    RouteSpec {
        methods: &[("GET", Access::Open)],
        path: subscription!("/operationresults/{id}"),
        scope: SUBSCRIPTION_ID_SEGMENTS,
        route: |c| ArmRoute::ResourceGroupOperationResult { id: take(c) },
    },
    RouteSpec {
        methods: &[(
            "GET",
            Access::Filter("Microsoft.ContainerService/managedClusters/read"),
        )],
        path: subscription!("/providers/microsoft.containerservice/managedclusters"),
        scope: SUBSCRIPTION_ID_SEGMENTS,
        route: |_| ArmRoute::ListClusters,
    },
    RouteSpec {
        methods: &[("GET", Access::Open)],
        path: subscription!("/providers/microsoft.containerservice/locations/{_}/operations/{id}"),
        scope: SUBSCRIPTION_ID_SEGMENTS,
        route: |c| ArmRoute::OperationStatus { id: take(c) },
    },
    RouteSpec {
        methods: &[("GET", Access::Open)],
        path: subscription!(
            "/providers/microsoft.containerservice/locations/{_}/operationresults/{id}"
        ),
        scope: SUBSCRIPTION_ID_SEGMENTS,
        route: |c| ArmRoute::OperationResult { id: take(c) },
    },
    RouteSpec {
        methods: &[(
            "GET",
            Access::Filter("Microsoft.ContainerService/managedClusters/read"),
        )],
        path: in_group!("microsoft.containerservice", "/managedclusters"),
        scope: GROUP_ID_SEGMENTS,
        route: |c| ArmRoute::ListClustersInGroup { group: take(c) },
    },
    RouteSpec {
        methods: CLUSTER_ACCESS,
        path: in_group!("microsoft.containerservice", "/managedclusters/{name}"),
        scope: RESOURCE_ID_SEGMENTS,
        route: |c| ArmRoute::Cluster {
            group: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &[(
            "POST",
            Access::Action(
                "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
            ),
        )],
        path: in_group!(
            "microsoft.containerservice",
            "/managedclusters/{name}/listclusterusercredential"
        ),
        scope: RESOURCE_ID_SEGMENTS,
        route: |c| ArmRoute::UserCredential {
            group: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &[(
            "POST",
            Access::Action(
                "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
            ),
        )],
        path: in_group!(
            "microsoft.containerservice",
            "/managedclusters/{name}/listclusteradmincredential"
        ),
        scope: RESOURCE_ID_SEGMENTS,
        route: |c| ArmRoute::AdminCredential {
            group: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &[(
            "GET",
            Access::Action("Microsoft.Resources/deployments/read"),
        )],
        path: in_group!("microsoft.resources", "/deployments"),
        scope: GROUP_ID_SEGMENTS,
        route: |c| ArmRoute::ListDeployments { group: take(c) },
    },
    RouteSpec {
        methods: &[
            (
                "GET",
                Access::Action("Microsoft.Resources/deployments/read"),
            ),
            (
                "PUT",
                Access::Action("Microsoft.Resources/deployments/write"),
            ),
        ],
        path: in_group!("microsoft.resources", "/deployments/{name}"),
        scope: RESOURCE_ID_SEGMENTS,
        route: |c| ArmRoute::Deployment {
            group: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &[(
            "POST",
            Access::Action("Microsoft.Resources/deployments/validate/action"),
        )],
        path: in_group!("microsoft.resources", "/deployments/{name}/validate"),
        scope: RESOURCE_ID_SEGMENTS,
        route: |c| ArmRoute::DeploymentValidate {
            group: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &[(
            "GET",
            Access::Action("Microsoft.Resources/deployments/operationstatuses/read"),
        )],
        path: in_group!(
            "microsoft.resources",
            "/deployments/{name}/operationstatuses/{id}"
        ),
        scope: RESOURCE_ID_SEGMENTS,
        route: |c| ArmRoute::DeploymentOperationStatus {
            group: take(c),
            name: take(c),
            id: take(c),
        },
    },
    RouteSpec {
        methods: &[(
            "GET",
            Access::Action("Microsoft.Authorization/roleAssignments/read"),
        )],
        path: authorization!("/roleassignments"),
        scope: CheckedAt::Scope,
        route: |c| ArmRoute::ListRoleAssignments { scope: take(c) },
    },
    RouteSpec {
        methods: &[
            (
                "GET",
                Access::Action("Microsoft.Authorization/roleAssignments/read"),
            ),
            (
                "PUT",
                Access::Action("Microsoft.Authorization/roleAssignments/write"),
            ),
            (
                "DELETE",
                Access::Action("Microsoft.Authorization/roleAssignments/delete"),
            ),
        ],
        path: authorization!("/roleassignments/{name}"),
        scope: CheckedAt::Path,
        route: |c| ArmRoute::RoleAssignment {
            scope: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &[("GET", Access::Open)],
        path: authorization!("/roledefinitions"),
        scope: CheckedAt::Scope,
        route: |c| ArmRoute::ListRoleDefinitions { scope: take(c) },
    },
    RouteSpec {
        methods: &[("GET", Access::Open)],
        path: authorization!("/roledefinitions/{name}"),
        scope: CheckedAt::Scope,
        route: |c| ArmRoute::RoleDefinition {
            scope: take(c),
            name: take(c),
        },
    },
    RouteSpec {
        methods: &[("GET", Access::Open)],
        path: authorization!("/permissions"),
        scope: CheckedAt::Scope,
        route: |c| ArmRoute::Permissions { scope: take(c) },
    },
];

/// A request matched to its route.
struct Matched {
    route: ArmRoute,
    /// The subscription in its path, as sent.
    subscription: Option<String>,
    /// What the route's method needs of the caller.
    access: Access,
    /// The resource id that need is checked at (segments as sent).
    scope: String,
}

/// The route of a request, or `None` when no route matches.
fn parse(ctx: &Ctx) -> Option<Matched> {
    ROUTES.iter().find_map(|spec| {
        let (_, access) = spec
            .methods
            .iter()
            .find(|(method, _)| *method == ctx.method.as_str())?;
        let captured = spec.captures(ctx)?;
        let scope = match spec.scope {
            CheckedAt::Leading(count) => {
                resource_id(&ctx.segments[..count.min(ctx.segments.len())])
            }
            CheckedAt::Path => resource_id(&ctx.segments),
            CheckedAt::Scope => captured.scope.clone().unwrap_or_else(|| "/".into()),
        };
        Some(Matched {
            route: (spec.route)(&mut captured.values.into_iter()),
            subscription: captured.subscription,
            access: *access,
            scope,
        })
    })
}

/// `/` + the segments joined by `/`.
fn resource_id(segments: &[String]) -> String {
    format!("/{}", segments.join("/"))
}

/// What a path gives a route.
struct Captured {
    /// The `{…}` segments in order (a `{scope*}` first, as a resource id).
    values: Vec<String>,
    /// The `{subscription}` segment, or the subscription of the `{scope*}`.
    subscription: Option<String>,
    /// The `{scope*}`, as a resource id.
    scope: Option<String>,
}

impl RouteSpec {
    /// What the path gives this route, when it matches.
    fn captures(&self, ctx: &Ctx) -> Option<Captured> {
        let mut pattern: Vec<&str> = self.path.split('/').collect();
        let mut captured = Captured {
            values: Vec::new(),
            subscription: None,
            scope: None,
        };
        let mut start = 0;
        if pattern.first() == Some(&"{scope*}") {
            pattern.remove(0);
            start = ctx.lower.len().checked_sub(pattern.len())?;
            let scope = &ctx.segments[..start];
            match ctx.lower[..start].first().map(String::as_str) {
                None => {}
                Some("subscriptions") if start >= 2 => {
                    captured.subscription = Some(scope[1].clone());
                }
                Some(_) => return None,
            }
            let scope = resource_id(scope);
            captured.values.push(scope.clone());
            captured.scope = Some(scope);
        } else if pattern.len() != ctx.lower.len() {
            return None;
        }
        let lower = &ctx.lower[start..];
        let original = &ctx.segments[start..];
        for ((part, lower), original) in pattern.iter().zip(lower).zip(original) {
            match *part {
                "{subscription}" => captured.subscription = Some(original.clone()),
                "{_}" => {}
                _ if part.starts_with('{') => captured.values.push(original.clone()),
                literal if literal == lower => {}
                _ => return None,
            }
        }
        Some(captured)
    }
}

/// Handle an ARM request.
pub(crate) fn route(state: &SharedState, ctx: &Ctx) -> Response {
    let Some(matched) = parse(ctx) else {
        return unsupported(ctx);
    };
    if let ArmRoute::Metadata = matched.route {
        return subscriptions::metadata(state, ctx);
    }
    // Writes (PUT, DELETE) take a token from the subscription's bucket first (ARM's request limits); every answer
    // reports what is left.
    let bucket = matched.subscription.clone().unwrap_or_default();
    let (mut response, remaining_writes) = if matches!(ctx.method, Method::PUT | Method::DELETE) {
        let taken = state.store().throttle.take(&bucket, Instant::now());
        match taken {
            Ok(remaining) => (guarded(state, ctx, matched), remaining),
            Err(wait) => (throttle::too_many_requests(&bucket, wait), 0),
        }
    } else {
        let response = guarded(state, ctx, matched);
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

/// Answer a matched request: api-version, token, Conditional Access, tenant, subscription and Azure RBAC
/// checks, then its route.
fn guarded(state: &SharedState, ctx: &Ctx, matched: Matched) -> Response {
    let Matched {
        route,
        subscription,
        access,
        scope,
    } = matched;
    if ctx.query("api-version").is_none_or(str::is_empty) {
        return arm_error(
            StatusCode::BAD_REQUEST,
            ArmErrorBody::new(
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ),
        );
    }
    let claims = match authenticate(state, ctx) {
        Ok(claims) => claims,
        Err(response) => return response,
    };
    if let Err(response) = conditional_access(state, &claims) {
        return response;
    }
    if let Some(subscription) = &subscription
        && let Err(response) = same_tenant(&claims)
    {
        tracing::info!(subscription, "token of another tenant refused");
        return response;
    }
    // The subscription the request is about, derived from its path once and passed to its route.
    let about = Subscription::of(subscription.as_deref());
    if let Some(subscription) = &subscription
        && !about.is_own()
        && !state.store().subscriptions.contains(about.id())
    {
        return arm_error(
            StatusCode::NOT_FOUND,
            ArmErrorBody::new(
                "SubscriptionNotFound",
                format!("The subscription '{subscription}' could not be found."),
            ),
        );
    }
    // Another subscription shares the role assignments of the emulator's own (`state/subscriptions.rs`).
    let caller = Caller::of(state, claims);
    if let Access::Action(action) = access
        && let Err(response) =
            caller.check(state, action, &subscriptions_state::as_own_scope(&scope))
    {
        return response;
    }
    let visible = |store: &Store, id: &str| match access {
        Access::Filter(action) => caller.may(store, action, &subscriptions_state::as_own_scope(id)),
        Access::Open | Access::Action(_) => true,
    };
    answer(state, ctx, route, &about, &caller, &visible)
}

/// Which items of a list the caller may see, by their resource ids (the store is locked by the caller).
pub(crate) type Visible<'a> = dyn Fn(&Store, &str) -> bool + 'a;

/// The answer of an authorised request's route, about `subscription` (the one its path names).
fn answer(
    state: &SharedState,
    ctx: &Ctx,
    route: ArmRoute,
    subscription: &Subscription,
    caller: &Caller,
    visible: &Visible,
) -> Response {
    match route {
        ArmRoute::Metadata => subscriptions::metadata(state, ctx),
        ArmRoute::ListTenants => subscriptions::tenants(state, &caller.claims),
        ArmRoute::ListSubscriptions => subscriptions::list(&caller.claims),
        ArmRoute::GetSubscription => subscriptions::get(),
        ArmRoute::ListResourceGroups => resource_groups::list(state, ctx, subscription, visible),
        ArmRoute::ResourceGroup { group } => match ctx.method {
            Method::PUT => resource_groups::put(state, ctx, subscription, &group),
            Method::DELETE => resource_groups::delete(
                state,
                ctx,
                subscription,
                &group,
                deployments::forget_resource_group,
            ),
            Method::HEAD => resource_groups::head(state, subscription, &group),
            _ => resource_groups::get(state, subscription, &group),
        },
        ArmRoute::ResourceGroupOperationResult { id } => {
            operations::resource_group_result(state, ctx, &id)
        }
        ArmRoute::ListClusters => managed_clusters::list(state, ctx, subscription, None, visible),
        ArmRoute::ListClustersInGroup { group } => {
            managed_clusters::list(state, ctx, subscription, Some(&group), visible)
        }
        ArmRoute::Cluster { group, name } => match ctx.method {
            Method::PUT => managed_clusters::put(state, ctx, subscription, &group, &name),
            Method::DELETE => managed_clusters::delete(state, subscription, &group, &name),
            _ => managed_clusters::get(state, subscription, &group, &name),
        },
        ArmRoute::UserCredential { group, name } => {
            credentials::user(state, ctx, subscription, &group, &name)
        }
        ArmRoute::AdminCredential { group, name } => {
            credentials::admin(state, subscription, &group, &name)
        }
        ArmRoute::OperationStatus { id } => operations::status(state, &id),
        ArmRoute::OperationResult { id } => operations::result(state, ctx, &id),
        ArmRoute::ListDeployments { group } => deployments::list(state, ctx, subscription, &group),
        ArmRoute::Deployment { group, name } => match ctx.method {
            Method::PUT => deployments::put(state, ctx, subscription, &group, &name),
            _ => deployments::get(state, subscription, (&group, &name)),
        },
        ArmRoute::DeploymentValidate { group, name } => {
            deployments::validate(state, ctx, subscription, &group, &name)
        }
        ArmRoute::DeploymentOperationStatus { group, name, id } => {
            deployments::status(state, subscription, (&group, &name), &id)
        }
        ArmRoute::ListRoleAssignments { scope } => role_assignments::list(state, ctx, &scope),
        ArmRoute::RoleAssignment { scope, name } => match ctx.method {
            Method::PUT => role_assignments::put(state, ctx, caller, &scope, &name),
            Method::DELETE => role_assignments::delete(state, &scope, &name),
            _ => role_assignments::get(state, &scope, &name),
        },
        ArmRoute::ListRoleDefinitions { scope } => role_definitions::list(state, ctx, &scope),
        ArmRoute::RoleDefinition { scope, name } => role_definitions::get(&scope, &name),
        ArmRoute::Permissions { scope } => permissions::list(state, caller, &scope),
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

/// The items of a list (ARM resources with an `id`) the caller may see.
fn visible_items(
    store: &Store,
    items: impl Iterator<Item = serde_json::Value>,
    visible: &Visible,
) -> Vec<serde_json::Value> {
    items
        .filter(|item| visible(store, item["id"].as_str().unwrap_or_default()))
        .collect()
}

/// Which part of a list a request asks for: from its `$skipToken` on, at most the configured page size.
#[derive(Debug, Clone, Copy)]
struct Paging {
    skip: usize,
    size: usize,
}

impl Paging {
    fn of(store: &Store, ctx: &Ctx) -> Paging {
        Paging {
            skip: ctx
                .query("$skipToken")
                .and_then(|token| token.parse().ok())
                .unwrap_or(0),
            size: store.page_size.max(1),
        }
    }

    /// The page's items of `items` (all of the list, in order).
    fn slice<T>(self, items: impl IntoIterator<Item = T>) -> impl Iterator<Item = T> {
        items.into_iter().skip(self.skip).take(self.size)
    }
}

/// A list answer, paged: `value` holds at most the configured page size, and `nextLink` (absolute, with the
/// request's `$filter` and a `$skipToken`) points at the rest.
fn page(state: &SharedState, ctx: &Ctx, items: Vec<serde_json::Value>) -> Response {
    let paging = Paging::of(&state.store(), ctx);
    let total = items.len();
    paged(state, ctx, paging, total, paging.slice(items).collect())
}

/// The answer of one page, `value`, of a list of `total` items.
fn paged(
    state: &SharedState,
    ctx: &Ctx,
    paging: Paging,
    total: usize,
    value: Vec<serde_json::Value>,
) -> Response {
    let Paging { skip, size } = paging;
    let mut body = serde_json::json!({ "value": value });
    if skip + size < total {
        let api_version = ctx.query("api-version").unwrap_or_default();
        let api_version: String =
            url::form_urlencoded::byte_serialize(api_version.as_bytes()).collect();
        let mut query = format!("api-version={api_version}&$skipToken={}", skip + size);
        if let Some(filter) = ctx.query("$filter") {
            let filter: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
            query.push_str(&format!("&$filter={filter}"));
        }
        body["nextLink"] =
            serde_json::Value::String(format!("{}{}?{}", state.base_url(), ctx.path, query));
    }
    crate::http::json(StatusCode::OK, &body)
}

/// The store key of resource group `group` of `subscription` when it exists, else `404 ResourceGroupNotFound`.
fn existing_group(
    store: &Store,
    subscription: &Subscription,
    group: &str,
) -> Result<String, Response> {
    let key = subscription.group_key(group);
    if store.resource_groups.contains_key(&key) {
        Ok(key)
    } else {
        Err(resource_group_not_found(group))
    }
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
