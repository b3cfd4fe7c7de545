//! One Kubernetes API endpoint per cluster: a TLS listener on 127.0.0.1 with the cluster's own CA.
//!
//! Today it serves `GET /version` (kubectl-wire.md §9.1; kubectl sends it before every command) with
//! `Cache-Control: no-cache, private` (§1), and a Kubernetes `Status` 404 for everything else. Client
//! certificates signed by the cluster CA (the admin kubeconfig user) are verified when offered; anonymous
//! clients are let in. The minimal API (discovery, nodes, pods, authentication) grows here.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use serde_json::json;

use crate::EmulatorError;
use crate::http::{Ctx, json};
use crate::pki::{self, CaMaterial};
use crate::request_log;
use crate::state::{ClusterKey, SharedState};

/// A running endpoint: its port and the handle that stops it.
pub(crate) struct KubeEndpoint {
    port: u16,
    handle: axum_server::Handle<SocketAddr>,
}

impl KubeEndpoint {
    /// The port on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Stop listening and close connections.
    pub(crate) fn stop(self) {
        self.handle.shutdown();
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
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .unwrap_or_else(|_| Bytes::new());
    let ctx = Ctx::new(parts.method, &parts.uri, parts.headers, body);
    let mut response = match (&ctx.method, ctx.path.as_str()) {
        (&Method::GET, "/version" | "/version/") => version(&endpoint),
        _ => not_found(),
    };
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

/// `GET /version`: the cluster's running version (kubectl-wire.md §9.1).
fn version(endpoint: &Endpoint) -> Response {
    let current = endpoint
        .state
        .store()
        .clusters
        .get(&endpoint.key)
        .and_then(|record| record.cluster.properties.current_kubernetes_version.clone())
        .unwrap_or_else(|| "1.32.4".to_string());
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

/// A Kubernetes `Status` 404.
fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound",
            "details": {},
            "code": 404,
        }),
    )
}
