//! One Kubernetes API endpoint per cluster: a TLS listener on 127.0.0.1 with the cluster's own CA, enough of the
//! API for real kubectl 1.32 (docs/kubectl-wire.md), with authentication and authorisation as AKS does them
//! (docs/kubernetes-rbac.md). Every answer carries `Cache-Control: no-cache, private`. A cluster whose API server
//! is marked unavailable (management API `PUT /_emulator/clusters/{rg}/{name}/api-server`) answers 503.
//!
//! The modules, in the order a request meets them: `authn` (who is calling), `request` (the request's
//! attributes), `authorizer` (Kubernetes RBAC in `rbac` over `builtin` and stored `rbac_objects`, then Azure RBAC
//! in `azure_rbac` on clusters that enable it), then the answer: `discovery`,
//! `reviews` (whoami, can-i), `resources` (nodes, namespaces, pods, services) or `rbac_objects`. `types` is the one
//! list of served resource types, `wire` the shared answer shapes, `protobuf` reads what kubectl posts, `view`
//! is the per-request copy of the cluster's record.

mod authn;
mod authorizer;
mod azure_rbac;
mod builtin;
mod discovery;
mod protobuf;
mod rbac;
mod rbac_objects;
mod request;
mod resources;
mod reviews;
mod types;
mod view;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls::TlsInfo;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};

use self::authn::{Caller, authenticate};
use self::request::Attributes;
use self::types::{AUTHENTICATION_GROUP, AUTHORIZATION_GROUP, RBAC_GROUP, ResourceType};
use self::view::ClusterView;
use self::wire::status;
use crate::EmulatorError;
use crate::http::Ctx;
use crate::pki::{self, CaMaterial};
use crate::request_log;
use crate::state::{ClusterKey, KubeEndpoint, SharedState};

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

fn handle(endpoint: &Endpoint, ctx: &Ctx, client_certificate: bool) -> Response {
    let Some(view) = ClusterView::of(&endpoint.state, &endpoint.key)
        .filter(|_| endpoint.state.api_server_available(&endpoint.key))
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
    let attributes = Attributes::of(ctx);
    let decision = authorizer::authorize(&endpoint.state, &view, &caller, &attributes);
    if !decision.allowed {
        let (message, details) =
            rbac::forbidden_message(&caller.username, &attributes, &decision.reason);
        return status(StatusCode::FORBIDDEN, "Forbidden", &message, Some(details));
    }
    serve(endpoint, &view, ctx, &caller, &attributes)
}

/// Answer an authorized request.
fn serve(
    endpoint: &Endpoint,
    view: &ClusterView,
    ctx: &Ctx,
    caller: &Caller,
    attributes: &Attributes,
) -> Response {
    let request = match attributes {
        Attributes::NonResource { verb, path } => {
            return match (verb.as_str(), path.as_str()) {
                ("get", "/version") => discovery::version(view),
                ("get", _) => discovery::discovery(view, &ctx.segments),
                _ => wire::not_found(),
            };
        }
        Attributes::Resource(request) => request,
    };
    let Some(resource) = ResourceType::find(&request.group, &request.resource)
        .filter(|resource| request.version == resource.version)
        .filter(|resource| resource.namespaced || request.namespace.is_empty())
        .filter(|resource| {
            !resource.namespaced || request.name.is_empty() || !request.namespace.is_empty()
        })
    else {
        return wire::not_found();
    };
    if !request.subresource.is_empty() {
        return wire::not_found();
    }
    let namespace = (!request.namespace.is_empty()).then_some(request.namespace.as_str());
    let name = (!request.name.is_empty()).then_some(request.name.as_str());
    match (resource.group, resource.plural, request.verb.as_str()) {
        (AUTHENTICATION_GROUP, _, "create") => reviews::self_subject_review(caller),
        (AUTHORIZATION_GROUP, "selfsubjectaccessreviews", "create") => {
            reviews::self_subject_access_review(ctx, |asked| {
                authorizer::authorize(&endpoint.state, view, caller, asked)
            })
        }
        (AUTHORIZATION_GROUP, _, "create") => {
            reviews::self_subject_rules_review(ctx, view, caller, view.azure_rbac())
        }
        (RBAC_GROUP, ..) => rbac_objects::serve(&endpoint.state, &endpoint.key, view, ctx, request),
        ("", _, "get" | "list") => resources::read(view, ctx, resource, namespace, name),
        _ => wire::method_not_allowed(),
    }
}
