//! One Kubernetes API endpoint per cluster: a TLS listener on 127.0.0.1 with the cluster's own CA, enough of the
//! API for real kubectl 1.32 (docs/kubectl-wire.md): `/version`, legacy discovery (`/api`, `/apis`, `/api/v1`,
//! `/apis/authentication.k8s.io/v1`), nodes, namespaces, pods and services (lists as `Table` when `Accept` asks
//! for `as=Table`, else plain lists; single objects by name), and `selfsubjectreviews`. Every answer carries
//! `Cache-Control: no-cache, private` (§1). Anything else is a Kubernetes `Status` 404 (405 for a verb the
//! emulator does not do).
//!
//! Authentication, as AKS does it:
//! * the admin client certificate (any client certificate signed by the cluster CA: the TLS layer verified it)
//!   and the admin kubeconfig's static `token` are `system:masters`, unless the cluster has
//!   `disableLocalAccounts: true`;
//! * on AAD clusters, Entra bearer tokens signed by the emulator key (RS256 with its `kid`; `alg: none`, HMAC and
//!   foreign keys are refused), `aud` = the AKS server app (`6dae42f8-…`, also `spn:6dae42f8-…`; a legacy
//!   cluster's `serverAppID`), `iss` = `https://sts.windows.net/{tenant}/` or the v2 form, inside `nbf`..`exp`;
//! * anything else is a 401 `Status` (§6.1).
//!
//! Authorization: admin credentials and tokens whose `groups` meet the cluster's `adminGroupObjectIDs` are
//! cluster-admin; other callers may only read `/version` and discovery and post `selfsubjectreviews`, and get a
//! Kubernetes-shaped 403 (§6.2) for the rest. A cluster whose API server is marked unavailable (management API
//! `PUT /_emulator/clusters/{rg}/{name}/api-server`) answers 503 to everything.

use std::net::SocketAddr;
use std::sync::Arc;

use aks_model::{AKS_SERVER_APP_ID, AadMode, AgentPoolProfile, ManagedCluster};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls::TlsInfo;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use serde_json::{Map, Value, json};

use crate::entra::{self, TokenProblem};
use crate::http::{Ctx, json};
use crate::pki::{self, CaMaterial};
use crate::request_log;
use crate::state::{ClusterKey, KubeEndpoint, SharedState};
use crate::{EmulatorError, TENANT_ID};

impl SharedState {
    /// Start (or restart) the Kubernetes endpoint of every stored cluster. Needs a tokio runtime.
    pub(crate) fn start_kubernetes_endpoints(&self) {
        let clusters: Vec<(ClusterKey, CaMaterial, u16)> = self
            .store()
            .clusters
            .iter()
            .map(|(key, record)| (key.clone(), record.ca.clone(), record.kube_port))
            .collect();
        for (key, ca, port) in clusters {
            match self.start_kubernetes_endpoint(&key, &ca, port) {
                Ok(actual) if actual != port => {
                    tracing::warn!(cluster = ?key, old = port, new = actual,
                        "the cluster's Kubernetes port was taken; kubeconfigs fetched before the restart need refreshing");
                    let mut store = self.store();
                    if let Some(record) = store.clusters.get_mut(&key) {
                        record.kube_port = actual;
                    }
                    self.save_or_log(&store);
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(cluster = ?key, error = %error, "cannot start a Kubernetes endpoint")
                }
            }
        }
    }

    /// Start the Kubernetes endpoint of one cluster (preferring `port`, 0 = any) and return its port.
    pub(crate) fn start_kubernetes_endpoint(
        &self,
        key: &ClusterKey,
        ca: &CaMaterial,
        port: u16,
    ) -> Result<u16, EmulatorError> {
        let endpoint = start(self.clone(), key.clone(), ca, port)?;
        let actual = endpoint.port();
        self.insert_kubernetes_endpoint(key.clone(), endpoint);
        Ok(actual)
    }
}

#[derive(Clone)]
struct Endpoint {
    state: SharedState,
    key: ClusterKey,
}

fn bind(port: u16) -> Result<std::net::TcpListener, EmulatorError> {
    let wanted = SocketAddr::from(([127, 0, 0, 1], port));
    match std::net::TcpListener::bind(wanted) {
        Ok(listener) => Ok(listener),
        Err(error) if port != 0 => {
            tracing::warn!(port, error = %error, "cannot reuse the Kubernetes port, picking another");
            let any = SocketAddr::from(([127, 0, 0, 1], 0));
            std::net::TcpListener::bind(any).map_err(|source| EmulatorError::Bind {
                address: any,
                source,
            })
        }
        Err(source) => Err(EmulatorError::Bind {
            address: wanted,
            source,
        }),
    }
}

/// Start the endpoint of cluster `key` on `port` (0, or when taken: any free port). Needs a tokio runtime.
pub(crate) fn start(
    state: SharedState,
    key: ClusterKey,
    ca: &CaMaterial,
    port: u16,
) -> Result<KubeEndpoint, EmulatorError> {
    let listener = bind(port)?;
    let address = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            source,
        })?;
    let leaf = pki::server_leaf(
        ca,
        &[
            "kubernetes".to_string(),
            "kubernetes.default".to_string(),
            "kubernetes.default.svc".to_string(),
        ],
    )?;
    let what = format!("the Kubernetes endpoint of {}/{}", key.0, key.1);
    let tls = pki::server_tls_config(&what, &leaf, ca, Some(ca))?;
    let handle = axum_server::Handle::<SocketAddr>::new();
    let acceptor =
        RustlsAcceptor::new(RustlsConfig::from_config(tls)).acceptor(NoDelayAcceptor::new());
    let server = axum_server::from_tcp(listener)
        .map_err(|source| EmulatorError::Bind { address, source })?
        .acceptor(acceptor)
        .handle(handle.clone());
    let router = axum::Router::new().fallback(dispatch).with_state(Endpoint {
        state,
        key: key.clone(),
    });
    tokio::spawn(async move {
        if let Err(error) = server.serve(router.into_make_service()).await {
            tracing::error!(%address, error = %error, "Kubernetes endpoint failed");
        }
    });
    tracing::info!(%address, cluster = ?key, "Kubernetes endpoint listening");
    Ok(KubeEndpoint {
        port: address.port(),
        handle,
    })
}

async fn dispatch(State(endpoint): State<Endpoint>, request: Request) -> Response {
    let client_certificate = request
        .extensions()
        .get::<Arc<TlsInfo>>()
        .is_some_and(|info| !info.peer_certificates.is_empty());
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .unwrap_or_else(|_| Bytes::new());
    let ctx = Ctx::new(parts.method, &parts.uri, parts.headers, body);
    let mut response = handle(&endpoint, &ctx, client_certificate);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    response.headers_mut().insert(
        "audit-id",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .unwrap_or(HeaderValue::from_static("0")),
    );
    let cluster = format!("{}/{}", endpoint.key.0, endpoint.key.1);
    request_log::record_kubernetes(&endpoint.state, &cluster, &ctx, response.status());
    response
}

/// What a request needs to know about its cluster, copied out of the store.
struct ClusterView {
    cluster: ManagedCluster,
    resource_group: String,
    name: String,
    admin_token: String,
    kube_port: u16,
    created_ms: u64,
}

fn view(endpoint: &Endpoint) -> Option<ClusterView> {
    let store = endpoint.state.store();
    let record = store.clusters.get(&endpoint.key)?;
    Some(ClusterView {
        cluster: record.cluster.clone(),
        resource_group: record.resource_group.clone(),
        name: record.name.clone(),
        admin_token: record.admin_token.clone(),
        kube_port: record.kube_port,
        created_ms: record.api_server.created_ms,
    })
}

fn handle(endpoint: &Endpoint, ctx: &Ctx, client_certificate: bool) -> Response {
    let (group, name) = (&endpoint.key.0, &endpoint.key.1);
    let Some(view) = view(endpoint).filter(|_| endpoint.state.api_server_available(group, name))
    else {
        return status(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "the API server is unavailable (an outage set through the emulator's management API)",
            None,
        );
    };
    let caller = match authenticate(&endpoint.state, &view, ctx, client_certificate) {
        Ok(caller) => caller,
        Err(problem) => {
            tracing::info!(cluster = %format!("{}/{}", view.resource_group, view.name), problem, "refused a Kubernetes request");
            return status(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Unauthorized",
                None,
            );
        }
    };
    let request = KubeRequest::parse(ctx);
    if !caller.cluster_admin && !request.open_to_authenticated() {
        return forbidden(&caller, &request);
    }
    serve(&view, ctx, &caller, &request)
}

/// Who is calling, once authenticated.
struct Caller {
    username: String,
    uid: Option<String>,
    groups: Vec<String>,
    extra: Map<String, Value>,
    cluster_admin: bool,
}

impl Caller {
    fn local_admin(username: &str) -> Caller {
        Caller {
            username: username.to_string(),
            uid: None,
            groups: vec!["system:masters".into(), "system:authenticated".into()],
            extra: Map::new(),
            cluster_admin: true,
        }
    }
}

fn bearer_token(ctx: &Ctx) -> Option<&str> {
    let value = ctx.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// Authenticate a request (see the module docs); the error is a short reason for the log, never the token.
fn authenticate(
    state: &SharedState,
    view: &ClusterView,
    ctx: &Ctx,
    client_certificate: bool,
) -> Result<Caller, &'static str> {
    let local_accounts = view.cluster.properties.disable_local_accounts != Some(true);
    if client_certificate && local_accounts {
        return Ok(Caller::local_admin("masterclient"));
    }
    let Some(token) = bearer_token(ctx) else {
        return Err(if client_certificate {
            "client certificate with local accounts disabled"
        } else {
            "no credentials"
        });
    };
    if token == view.admin_token {
        return if local_accounts {
            Ok(Caller::local_admin("clusterAdmin"))
        } else {
            Err("static admin token with local accounts disabled")
        };
    }
    let aad = match (
        &view.cluster.properties.aad_profile,
        view.cluster.aad_mode(),
    ) {
        (Some(aad), AadMode::Managed | AadMode::Legacy) => aad,
        _ => return Err("bearer token on a cluster without Entra integration"),
    };
    let claims = verify_bearer(state, view, token)?;
    let object_id = claims["oid"].as_str().unwrap_or_default().to_string();
    let username = ["upn", "unique_name", "preferred_username"]
        .iter()
        .find_map(|claim| claims[*claim].as_str())
        .unwrap_or(object_id.as_str())
        .to_string();
    let token_groups: Vec<String> = claims["groups"]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .filter_map(|group| group.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let cluster_admin = aad.admin_groups().iter().any(|admin| {
        token_groups
            .iter()
            .any(|group| group.eq_ignore_ascii_case(admin))
    });
    let mut groups = token_groups;
    groups.push("system:authenticated".into());
    let mut extra = Map::new();
    if !object_id.is_empty() {
        extra.insert("oid".into(), json!([object_id]));
    }
    Ok(Caller {
        username,
        uid: (!object_id.is_empty()).then_some(object_id),
        groups,
        extra,
        cluster_admin,
    })
}

/// Verify an Entra bearer token for this cluster: signature and key id, lifetime, audience and issuer.
fn verify_bearer(
    state: &SharedState,
    view: &ClusterView,
    token: &str,
) -> Result<Value, &'static str> {
    let server_app = match view.cluster.aad_mode() {
        AadMode::Legacy => view
            .cluster
            .properties
            .aad_profile
            .as_ref()
            .and_then(|aad| aad.server_app_id.clone())
            .unwrap_or_default(),
        _ => AKS_SERVER_APP_ID.to_string(),
    };
    let spn = format!("spn:{server_app}");
    let claims = match entra::verify(state, token, &[server_app.as_str(), spn.as_str()]) {
        Ok(claims) => claims,
        Err(TokenProblem::Expired(_)) => return Err("expired token"),
        Err(TokenProblem::NotYetValid) => return Err("token not yet valid"),
        Err(TokenProblem::WrongAudience(_)) => return Err("token for another audience"),
        Err(TokenProblem::Invalid) => {
            return Err("invalid token (format, algorithm, key or signature)");
        }
    };
    let tenant = view
        .cluster
        .properties
        .aad_profile
        .as_ref()
        .and_then(|aad| aad.tenant_id.clone())
        .filter(|tenant| !tenant.is_empty())
        .unwrap_or_else(|| TENANT_ID.to_string());
    let issuer = claims["iss"].as_str().unwrap_or_default();
    let accepted = [
        format!("https://sts.windows.net/{tenant}/"),
        format!("https://login.microsoftonline.com/{tenant}/v2.0"),
        format!("{}/{tenant}/v2.0", state.base_url()),
    ];
    if !accepted
        .iter()
        .any(|accepted| accepted.eq_ignore_ascii_case(issuer))
    {
        return Err("token from another issuer");
    }
    Ok(claims)
}

/// The resources the emulator serves in the core group: (plural, kind, singular, short name, namespaced).
const CORE_RESOURCES: &[(&str, &str, &str, &str, bool)] = &[
    ("namespaces", "Namespace", "namespace", "ns", false),
    ("nodes", "Node", "node", "no", false),
    ("pods", "Pod", "pod", "po", true),
    ("services", "Service", "service", "svc", true),
];

/// A request, classified as the authorizer sees it.
enum KubeRequest {
    /// `GET /version`.
    Version,
    /// Discovery: `/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`.
    Discovery(Vec<String>),
    /// `POST /apis/authentication.k8s.io/v1/selfsubjectreviews`.
    SelfSubjectReview,
    /// A core-group resource request.
    Resource {
        verb: &'static str,
        resource: String,
        namespace: Option<String>,
        name: Option<String>,
    },
    /// Anything else (a non-resource URL).
    Other { verb: &'static str, path: String },
}

fn verb_of(method: &Method, named: bool, ctx: &Ctx) -> &'static str {
    match *method {
        Method::GET | Method::HEAD
            if ctx.query("watch").is_some_and(|w| w == "true" || w == "1") =>
        {
            "watch"
        }
        Method::GET | Method::HEAD if named => "get",
        Method::GET | Method::HEAD => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => "unknown",
    }
}

impl KubeRequest {
    fn parse(ctx: &Ctx) -> KubeRequest {
        let segments: Vec<&str> = ctx.segments.iter().map(String::as_str).collect();
        let get = ctx.method == Method::GET;
        match segments.as_slice() {
            ["version"] if get => KubeRequest::Version,
            ["api"] | ["apis"] | ["api", _] | ["apis", _, _] if get => {
                KubeRequest::Discovery(ctx.segments.clone())
            }
            ["apis", "authentication.k8s.io", "v1", "selfsubjectreviews"]
                if ctx.method == Method::POST =>
            {
                KubeRequest::SelfSubjectReview
            }
            ["api", "v1", "namespaces", namespace, resource, rest @ ..] if rest.len() <= 1 => {
                KubeRequest::Resource {
                    verb: verb_of(&ctx.method, !rest.is_empty(), ctx),
                    resource: resource.to_string(),
                    namespace: Some(namespace.to_string()),
                    name: rest.first().map(|name| name.to_string()),
                }
            }
            ["api", "v1", resource, rest @ ..] if rest.len() <= 1 => KubeRequest::Resource {
                verb: verb_of(&ctx.method, !rest.is_empty(), ctx),
                resource: resource.to_string(),
                namespace: None,
                name: rest.first().map(|name| name.to_string()),
            },
            _ => KubeRequest::Other {
                verb: match ctx.method {
                    Method::GET | Method::HEAD => "get",
                    Method::POST => "post",
                    Method::PUT => "put",
                    Method::PATCH => "patch",
                    Method::DELETE => "delete",
                    _ => "unknown",
                },
                path: ctx.path.clone(),
            },
        }
    }

    /// What any authenticated user may do (`system:discovery`, `system:public-info-viewer`,
    /// `system:basic-user`).
    fn open_to_authenticated(&self) -> bool {
        matches!(
            self,
            KubeRequest::Version | KubeRequest::Discovery(_) | KubeRequest::SelfSubjectReview
        )
    }
}

/// A Kubernetes `Status` answer (docs/kubectl-wire.md).
fn status(code: StatusCode, reason: &str, message: &str, details: Option<Value>) -> Response {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    body["code"] = json!(code.as_u16());
    json(code, &body)
}

/// The 403 of the RBAC authorizer (docs/kubectl-wire.md).
fn forbidden(caller: &Caller, request: &KubeRequest) -> Response {
    let user = &caller.username;
    let (message, details) = match request {
        KubeRequest::Resource {
            verb,
            resource,
            namespace,
            name,
        } => {
            let subject = match name {
                Some(name) => format!("{resource} \"{name}\""),
                None => resource.clone(),
            };
            let scope = match namespace {
                Some(namespace) => format!("in the namespace \"{namespace}\""),
                None => "at the cluster scope".to_string(),
            };
            let mut details = json!({"kind": resource});
            if let Some(name) = name {
                details["name"] = json!(name);
            }
            (
                format!(
                    "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"\" {scope}"
                ),
                Some(details),
            )
        }
        KubeRequest::Other { verb, path } => (
            format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
            Some(json!({})),
        ),
        _ => ("forbidden".to_string(), None),
    };
    status(StatusCode::FORBIDDEN, "Forbidden", &message, details)
}

/// The Kubernetes `Status` 404 for an unknown path.
fn not_found() -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

/// `{resource} "{name}" not found`.
fn object_not_found(resource: &str, name: &str) -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("{resource} \"{name}\" not found"),
        Some(json!({"name": name, "kind": resource})),
    )
}

fn method_not_allowed() -> Response {
    status(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource (the local cloud emulator only reads)",
        Some(json!({})),
    )
}

fn serve(view: &ClusterView, ctx: &Ctx, caller: &Caller, request: &KubeRequest) -> Response {
    match request {
        KubeRequest::Version => version(view),
        KubeRequest::Discovery(segments) => discovery(view, segments),
        KubeRequest::SelfSubjectReview => self_subject_review(caller),
        KubeRequest::Resource {
            verb,
            resource,
            namespace,
            name,
        } => {
            if !CORE_RESOURCES.iter().any(|(plural, ..)| plural == resource) {
                return not_found();
            }
            let namespaced = CORE_RESOURCES
                .iter()
                .any(|(plural, .., namespaced)| plural == resource && *namespaced);
            if namespace.is_some() && !namespaced {
                return not_found();
            }
            match *verb {
                "list" => list(view, ctx, resource, namespace.as_deref()),
                "get" => get(
                    view,
                    resource,
                    namespace.as_deref(),
                    name.as_deref().unwrap_or_default(),
                ),
                _ => method_not_allowed(),
            }
        }
        KubeRequest::Other { .. } => not_found(),
    }
}

/// The running Kubernetes version of the cluster, like `1.32.4`.
fn cluster_version(view: &ClusterView) -> String {
    view.cluster
        .properties
        .current_kubernetes_version
        .clone()
        .filter(|version| !version.is_empty())
        .unwrap_or_else(|| "1.32.4".to_string())
}

/// `GET /version`: the cluster's running version (docs/kubectl-wire.md).
fn version(view: &ClusterView) -> Response {
    let current = cluster_version(view);
    let (major, minor) = crate::arm::major_minor_of(&current).unwrap_or((1, 32));
    json(
        StatusCode::OK,
        &json!({
            "major": major.to_string(),
            "minor": minor.to_string(),
            "gitVersion": format!("v{current}"),
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": "go1.23.8",
            "compiler": "gc",
            "platform": "linux/amd64",
        }),
    )
}

/// Legacy discovery documents (docs/kubectl-wire.md).
fn discovery(view: &ClusterView, segments: &[String]) -> Response {
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let body = match segments.as_slice() {
        ["api"] => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": format!("127.0.0.1:{}", view.kube_port)}],
        }),
        ["apis"] => json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [{
                "name": "authentication.k8s.io",
                "versions": [{"groupVersion": "authentication.k8s.io/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "authentication.k8s.io/v1", "version": "v1"},
            }],
        }),
        ["api", "v1"] => {
            let resources: Vec<Value> = CORE_RESOURCES
                .iter()
                .map(|(plural, kind, singular, short, namespaced)| {
                    json!({
                        "name": plural,
                        "singularName": singular,
                        "namespaced": namespaced,
                        "kind": kind,
                        "verbs": ["get", "list"],
                        "shortNames": [short],
                    })
                })
                .collect();
            json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": resources})
        }
        ["apis", "authentication.k8s.io", "v1"] => json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": "authentication.k8s.io/v1",
            "resources": [{
                "name": "selfsubjectreviews",
                "singularName": "selfsubjectreview",
                "namespaced": false,
                "kind": "SelfSubjectReview",
                "verbs": ["create"],
            }],
        }),
        _ => return not_found(),
    };
    json(StatusCode::OK, &body)
}

/// `POST …/selfsubjectreviews` (docs/kubectl-wire.md): the body (protobuf from kubectl 1.32) is ignored.
fn self_subject_review(caller: &Caller) -> Response {
    let mut user_info = json!({
        "username": caller.username,
        "groups": caller.groups,
    });
    if let Some(uid) = &caller.uid {
        user_info["uid"] = json!(uid);
    }
    if !caller.extra.is_empty() {
        user_info["extra"] = Value::Object(caller.extra.clone());
    }
    json(
        StatusCode::CREATED,
        &json!({
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "status": {"userInfo": user_info},
        }),
    )
}

/// Kubernetes' `duration.HumanDuration`: the AGE column.
fn human_duration(seconds: u64) -> String {
    let minutes = seconds / 60;
    let hours = seconds / 3600;
    let days = hours / 24;
    let years = days / 365;
    if seconds < 120 {
        format!("{seconds}s")
    } else if minutes < 10 {
        let rest = seconds % 60;
        if rest == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{rest}s")
        }
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        let rest = minutes % 60;
        if rest == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{rest}m")
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let rest = hours % 24;
        if rest == 0 {
            format!("{days}d")
        } else {
            format!("{days}d{rest}h")
        }
    } else if hours < 24 * 365 * 2 {
        format!("{days}d")
    } else if hours < 24 * 365 * 8 {
        let rest = days % 365;
        if rest == 0 {
            format!("{years}y")
        } else {
            format!("{years}y{rest}d")
        }
    } else {
        format!("{years}y")
    }
}

fn rfc3339_of_ms(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// An emulated object: its metadata, full JSON, and table cells.
struct Object {
    metadata: Value,
    object: Value,
    cells: Vec<Value>,
    labels: Map<String, Value>,
}

/// FNV-1a: a stable number from a name (the 8-digit part of AKS node names).
fn stable_hash(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// A stable object uid from a name.
fn stable_uid(name: &str) -> String {
    let high = u128::from(stable_hash(name));
    let low = u128::from(stable_hash(&format!("{name}#uid")));
    uuid::Uuid::from_u128((high << 96) | (low << 64) | (high << 32) | low).to_string()
}

/// A VM scale set instance suffix: six base-36 digits (`000000`, `00000a`, …).
fn instance_suffix(mut index: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(index % 36) as usize];
        index /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cluster's nodes: `count` per agent pool, named like `aks-nodepool1-12345678-vmss000000`, all Ready.
fn nodes(view: &ClusterView) -> Vec<Object> {
    let stopped = view
        .cluster
        .properties
        .power_state
        .as_ref()
        .and_then(|power| power.code.as_deref())
        == Some("Stopped");
    if stopped {
        return Vec::new();
    }
    let created = rfc3339_of_ms(view.created_ms);
    let age = human_duration(crate::state::now_ms().saturating_sub(view.created_ms) / 1000);
    let cluster_version = cluster_version(view);
    let digits = stable_hash(&format!(
        "{}/{}",
        view.resource_group.to_lowercase(),
        view.name.to_lowercase()
    )) % 100_000_000;
    let mut out = Vec::new();
    let mut address = 4u32;
    for pool in view.cluster.properties.agent_pool_profiles.iter().flatten() {
        let version = pool
            .current_orchestrator_version
            .clone()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| cluster_version.clone());
        let windows = pool
            .os_type
            .as_deref()
            .is_some_and(|os| os.eq_ignore_ascii_case("windows"));
        let vm_size = pool.vm_size.clone().unwrap_or_default();
        let (os_image, kernel, os) = if windows {
            (
                "Windows Server 2022 Datacenter",
                "10.0.20348.2762",
                "windows",
            )
        } else {
            ("Ubuntu 22.04.5 LTS", "5.15.0-1079-azure", "linux")
        };
        for index in 0..pool.count.unwrap_or(0).max(0) as u64 {
            let name = format!(
                "aks-{}-{digits:08}-vmss{}",
                pool.name,
                instance_suffix(index)
            );
            let ip = format!("10.224.{}.{}", address / 250, address % 250);
            address += 1;
            let labels = node_labels(view, pool, &name, os, &vm_size);
            let metadata = json!({
                "name": name,
                "uid": stable_uid(&name),
                "resourceVersion": "1",
                "creationTimestamp": created,
                "labels": labels,
            });
            let object = json!({
                "metadata": metadata,
                "spec": {"providerID": format!("azure:///subscriptions/{}/resourceGroups/mc_{}_{}_{}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-{}-{digits:08}-vmss/virtualMachines/{index}", crate::SUBSCRIPTION_ID, view.resource_group.to_lowercase(), view.name.to_lowercase(), view.cluster.location, pool.name)},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": created, "lastTransitionTime": created}],
                    "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                    "nodeInfo": {"kubeletVersion": format!("v{version}"), "osImage": os_image, "kernelVersion": kernel,
                                 "containerRuntimeVersion": "containerd://1.7.25-1", "operatingSystem": os, "architecture": "amd64"},
                },
            });
            let cells = vec![
                json!(name),
                json!("Ready"),
                json!("<none>"),
                json!(age),
                json!(format!("v{version}")),
                json!(ip),
                json!("<none>"),
                json!(os_image),
                json!(kernel),
                json!("containerd://1.7.25-1"),
            ];
            out.push(Object {
                metadata,
                object,
                cells,
                labels,
            });
        }
    }
    out
}

/// The labels AKS puts on a node of `pool`.
fn node_labels(
    view: &ClusterView,
    pool: &AgentPoolProfile,
    name: &str,
    os: &str,
    vm_size: &str,
) -> Map<String, Value> {
    let mut labels = Map::new();
    for (key, value) in [
        ("agentpool", pool.name.as_str()),
        ("kubernetes.azure.com/agentpool", pool.name.as_str()),
        (
            "kubernetes.azure.com/cluster",
            &format!(
                "MC_{}_{}_{}",
                view.resource_group, view.name, view.cluster.location
            ),
        ),
        (
            "kubernetes.azure.com/mode",
            &pool
                .mode
                .clone()
                .unwrap_or_else(|| "System".into())
                .to_lowercase(),
        ),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/hostname", name),
        ("kubernetes.io/os", os),
        ("kubernetes.io/role", "agent"),
        ("node.kubernetes.io/instance-type", vm_size),
        (
            "topology.kubernetes.io/region",
            view.cluster.location.as_str(),
        ),
    ] {
        labels.insert(key.to_string(), Value::String(value.to_string()));
    }
    labels
}

/// The cluster's namespaces.
fn namespaces(view: &ClusterView) -> Vec<Object> {
    let created = rfc3339_of_ms(view.created_ms);
    let age = human_duration(crate::state::now_ms().saturating_sub(view.created_ms) / 1000);
    ["default", "kube-node-lease", "kube-public", "kube-system"]
        .iter()
        .map(|name| {
            let mut labels = Map::new();
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
            let metadata = json!({
                "name": name,
                "uid": stable_uid(name),
                "resourceVersion": "1",
                "creationTimestamp": created,
                "labels": labels,
            });
            Object {
                object: json!({"metadata": metadata, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
                metadata,
                cells: vec![json!(name), json!("Active"), json!(age)],
                labels,
            }
        })
        .collect()
}

/// The cluster's services: only `default/kubernetes`.
fn services(view: &ClusterView, namespace: Option<&str>) -> Vec<Object> {
    if namespace.is_some_and(|namespace| namespace != "default") {
        return Vec::new();
    }
    let created = rfc3339_of_ms(view.created_ms);
    let age = human_duration(crate::state::now_ms().saturating_sub(view.created_ms) / 1000);
    let mut labels = Map::new();
    labels.insert("component".into(), json!("apiserver"));
    labels.insert("provider".into(), json!("kubernetes"));
    let metadata = json!({
        "name": "kubernetes",
        "namespace": "default",
        "uid": stable_uid("default/kubernetes"),
        "resourceVersion": "1",
        "creationTimestamp": created,
        "labels": labels,
    });
    vec![Object {
        object: json!({
            "metadata": metadata,
            "spec": {"ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 443}],
                     "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "type": "ClusterIP", "sessionAffinity": "None"},
            "status": {"loadBalancer": {}},
        }),
        metadata,
        cells: vec![
            json!("kubernetes"),
            json!("ClusterIP"),
            json!("10.0.0.1"),
            json!("<none>"),
            json!("443/TCP"),
            json!(age),
            json!("<none>"),
        ],
        labels,
    }]
}

/// Whether `labels` match a label selector of equality terms (`k=v`, `k==v`, `k!=v`, `k`, `!k`).
fn selector_matches(selector: &str, labels: &Map<String, Value>) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .all(|term| {
            let label = |key: &str| labels.get(key.trim()).and_then(Value::as_str);
            if let Some((key, value)) = term.split_once("!=") {
                label(key) != Some(value.trim())
            } else if let Some((key, value)) =
                term.split_once("==").or_else(|| term.split_once('='))
            {
                label(key) == Some(value.trim())
            } else if let Some(key) = term.strip_prefix('!') {
                label(key).is_none()
            } else {
                label(term).is_some()
            }
        })
}

fn column(name: &str, kind: &str, priority: u32) -> Value {
    json!({"name": name, "type": kind, "format": if name == "Name" { "name" } else { "" }, "description": "", "priority": priority})
}

fn columns(resource: &str) -> Vec<Value> {
    match resource {
        "nodes" => vec![
            column("Name", "string", 0),
            column("Status", "string", 0),
            column("Roles", "string", 0),
            column("Age", "string", 0),
            column("Version", "string", 0),
            column("Internal-IP", "string", 1),
            column("External-IP", "string", 1),
            column("OS-Image", "string", 1),
            column("Kernel-Version", "string", 1),
            column("Container-Runtime", "string", 1),
        ],
        "pods" => vec![
            column("Name", "string", 0),
            column("Ready", "string", 0),
            column("Status", "string", 0),
            column("Restarts", "string", 0),
            column("Age", "string", 0),
            column("IP", "string", 1),
            column("Node", "string", 1),
            column("Nominated Node", "string", 1),
            column("Readiness Gates", "string", 1),
        ],
        "namespaces" => vec![
            column("Name", "string", 0),
            column("Status", "string", 0),
            column("Age", "string", 0),
        ],
        _ => vec![
            column("Name", "string", 0),
            column("Type", "string", 0),
            column("Cluster-IP", "string", 0),
            column("External-IP", "string", 0),
            column("Port(s)", "string", 0),
            column("Age", "string", 0),
            column("Selector", "string", 1),
        ],
    }
}

fn objects(view: &ClusterView, resource: &str, namespace: Option<&str>) -> Vec<Object> {
    match resource {
        "nodes" => nodes(view),
        "namespaces" => namespaces(view),
        "services" => services(view, namespace),
        _ => Vec::new(),
    }
}

fn kind_of(resource: &str) -> &'static str {
    CORE_RESOURCES
        .iter()
        .find(|(plural, ..)| *plural == resource)
        .map_or("Unknown", |(_, kind, ..)| kind)
}

/// A list, as a `Table` when `Accept` asks for `as=Table` (docs/kubectl-wire.md), else `{Kind}List`.
fn list(view: &ClusterView, ctx: &Ctx, resource: &str, namespace: Option<&str>) -> Response {
    let selector = ctx.query("labelSelector").unwrap_or_default();
    let items: Vec<Object> = objects(view, resource, namespace)
        .into_iter()
        .filter(|object| selector_matches(selector, &object.labels))
        .collect();
    let wants_table = ctx.header("accept").is_some_and(|accept| {
        accept
            .split(',')
            .next()
            .is_some_and(|first| first.contains("as=Table"))
    });
    let body = if wants_table {
        let rows: Vec<Value> = items
            .into_iter()
            .map(|object| {
                json!({
                    "cells": object.cells,
                    "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object.metadata},
                })
            })
            .collect();
        json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": "1"},
            "columnDefinitions": columns(resource),
            "rows": rows,
        })
    } else {
        let items: Vec<Value> = items.into_iter().map(|object| object.object).collect();
        json!({
            "kind": format!("{}List", kind_of(resource)),
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "1"},
            "items": items,
        })
    };
    json(StatusCode::OK, &body)
}

/// One object by name.
fn get(view: &ClusterView, resource: &str, namespace: Option<&str>, name: &str) -> Response {
    let found = objects(view, resource, namespace)
        .into_iter()
        .find(|object| object.metadata["name"] == name);
    match found {
        Some(object) => {
            let mut body = json!({"kind": kind_of(resource), "apiVersion": "v1"});
            if let (Value::Object(body), Value::Object(object)) = (&mut body, object.object) {
                body.extend(object);
            }
            json(StatusCode::OK, &body)
        }
        None => object_not_found(resource, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aad_view(tenant: Option<&str>) -> ClusterView {
        let mut aad = json!({"managed": true, "adminGroupObjectIDs": [crate::ADMIN_GROUP_ID]});
        if let Some(tenant) = tenant {
            aad["tenantID"] = json!(tenant);
        }
        ClusterView {
            cluster: serde_json::from_value(
                json!({"location": "centralus", "properties": {"aadProfile": aad}}),
            )
            .unwrap(),
            resource_group: "rg".into(),
            name: "c".into(),
            admin_token: "static".into(),
            kube_port: 1,
            created_ms: 0,
        }
    }

    fn claims(now: u64) -> Value {
        json!({
            "aud": AKS_SERVER_APP_ID,
            "iss": format!("https://sts.windows.net/{TENANT_ID}/"),
            "iat": now, "nbf": now, "exp": now + 600,
            "oid": "o", "groups": [crate::ADMIN_GROUP_ID],
        })
    }

    #[test]
    fn every_bearer_token_rejection() {
        let dir = tempfile::tempdir().unwrap();
        let state = SharedState::new(&crate::EmulatorOptions::new(dir.path()), 1).unwrap();
        let view = aad_view(None);
        let now = jsonwebtoken::get_current_timestamp();
        let check = |claims: &Value| {
            verify_bearer(&state, &view, &entra::sign(&state, claims).unwrap()).map(|_| ())
        };
        assert_eq!(check(&claims(now)), Ok(()));
        let mut spn = claims(now);
        spn["aud"] = json!(format!("spn:{AKS_SERVER_APP_ID}"));
        assert_eq!(check(&spn), Ok(()));
        let mut v2 = claims(now);
        v2["iss"] = json!(format!(
            "https://login.microsoftonline.com/{TENANT_ID}/v2.0"
        ));
        assert_eq!(check(&v2), Ok(()));

        let mut wrong_audience = claims(now);
        wrong_audience["aud"] = json!("https://management.core.windows.net/");
        assert_eq!(check(&wrong_audience), Err("token for another audience"));
        let mut wrong_issuer = claims(now);
        wrong_issuer["iss"] =
            json!("https://sts.windows.net/00000000-0000-0000-0000-000000000000/");
        assert_eq!(check(&wrong_issuer), Err("token from another issuer"));
        let mut expired = claims(now);
        expired["exp"] = json!(now - 10);
        assert_eq!(check(&expired), Err("expired token"));
        let mut early = claims(now);
        early["nbf"] = json!(now + 300);
        assert_eq!(check(&early), Err("token not yet valid"));
        let mut no_expiry = claims(now);
        no_expiry.as_object_mut().unwrap().remove("exp");
        assert!(check(&no_expiry).is_err());

        // A cluster in another tenant wants that tenant's issuer.
        let other = aad_view(Some("11111111-2222-3333-4444-555555555555"));
        let token = entra::sign(&state, &claims(now)).unwrap();
        assert_eq!(
            verify_bearer(&state, &other, &token).map(|_| ()),
            Err("token from another issuer")
        );
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(4 * 3600 + 60), "4h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(10 * 86400), "10d");
    }

    #[test]
    fn node_suffixes_are_base_36() {
        assert_eq!(instance_suffix(0), "000000");
        assert_eq!(instance_suffix(10), "00000a");
        assert_eq!(instance_suffix(36), "000010");
    }

    #[test]
    fn label_selectors_match_equality_terms() {
        let mut labels = Map::new();
        labels.insert("agentpool".into(), json!("nodepool1"));
        assert!(selector_matches("", &labels));
        assert!(selector_matches("agentpool=nodepool1", &labels));
        assert!(selector_matches("agentpool==nodepool1,agentpool", &labels));
        assert!(!selector_matches("agentpool!=nodepool1", &labels));
        assert!(!selector_matches(
            "kubernetes.io/cluster-service=true",
            &labels
        ));
        assert!(selector_matches("!missing", &labels));
    }
}
