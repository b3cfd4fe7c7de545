//! A local cloud for aksctl: Azure Resource Manager (subscriptions, resource groups, AKS managed clusters with
//! long-running operations and credentials), Microsoft Entra (tokens signed RS256 for every grant kubelogin
//! uses: client credentials with a secret, a certificate or a federated assertion, password, device code,
//! refresh token, and the managed-identity endpoints; OpenID discovery, JWKS), Azure Pipelines' OIDC token
//! endpoint for workload-identity service connections (jobs from `POST /_emulator/pipelines/jobs`) and one small
//! Kubernetes API endpoint per cluster that authenticates and authorizes like AKS, all over HTTPS on 127.0.0.1.
//!
//! The seeded identities and their secrets are in the [`ReadyRecord`]: the admin and non-admin service
//! principals (`client_id`/`client_secret`, `nonadmin_client_id`/`nonadmin_client_secret`), a certificate
//! service principal (`cert_client_id`, `cert_file`), two users (`user_name`, `user_password` in the admin group;
//! `dev_user_name`, `dev_user_password` in none), a managed identity
//! (`msi_client_id`, `identity_endpoint`, `identity_header`) and a federated credential on the admin service
//! principal (`oidc_issuer`, `federated_subject`).
//!
//! ARM authorises every request with Azure RBAC (docs/azure-rbac.md): the admin service principal and
//! `admin@emulator.local` are Owner of the subscription, the certificate service principal and the managed
//! identity Contributor, the non-admin service principal and `dev@emulator.local` hold no role until one is
//! assigned through `Microsoft.Authorization/roleAssignments`.
//!
//! What it is for: integration tests and walkthroughs that run aksctl — and clients we did not write, such as
//! the real `az` CLI, the Azure Python SDK and kubectl — against something that answers like Azure
//! (docs/az-behaviour.md, docs/arm-aks-api.md). It is deterministic (fixed tenant, subscription and
//! client ids), keeps its state in memory (optionally mirrored to a state file so a restart keeps tokens and
//! kubeconfigs valid), and fails loudly on anything it does not support (`404 EmulatorUnsupportedRoute`).
//! Test controls (LRO pacing, failure injection, paging, seeding, the request log) live on a separate
//! management API under `/_emulator/` (see [`management`]).
//!
//! What it is not for: production, security, or fidelity beyond what aksctl and the oracles need. Secrets are
//! random but the server trusts anyone on loopback; it never listens on anything but 127.0.0.1.
//!
//! Entry points: [`Emulator::start`] runs it on its own OS thread and tokio runtime (for tests and
//! `cargo run --example`), [`serve`] runs it on the caller's runtime (for `aksctl emulator serve`), and
//! [`router`] builds the HTTP router for in-process tests.

#![warn(missing_docs)]
// Handlers return early answers as `Err(Response)`; axum's `Response` is 128 bytes and boxing buys nothing here.
#![allow(clippy::result_large_err)]

mod arm;
mod authorization;
mod directory;
mod entra;
mod error;
mod faults;
mod graph;
mod http;
mod kubernetes;
pub mod management;
mod pipelines;
mod pki;
mod request_log;
mod routing;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use serde::{Deserialize, Serialize};

pub use error::EmulatorError;
pub use state::SharedState;
pub use state::WriteThrottle;

/// The emulated Entra tenant.
pub const TENANT_ID: &str = "72f988bf-0000-0000-0000-000000000001";
/// The emulated subscription.
pub const SUBSCRIPTION_ID: &str = "00000000-0000-0000-0000-0000000000aa";
/// The subscription's display name.
pub const SUBSCRIPTION_DISPLAY_NAME: &str = "Emulated Subscription";
/// The seeded service principal that is a member of [`ADMIN_GROUP_ID`].
pub const ADMIN_CLIENT_ID: &str = "0a0a0a0a-1111-2222-3333-444444444444";
/// The seeded service principal that is in no group.
pub const NONADMIN_CLIENT_ID: &str = "0b0b0b0b-1111-2222-3333-555555555555";
/// The seeded admin group (use it as `adminGroupObjectIDs`).
pub const ADMIN_GROUP_ID: &str = "99999999-aaaa-bbbb-cccc-dddddddddddd";
/// The seeded service principal with a certificate credential (member of [`ADMIN_GROUP_ID`]); its certificate
/// and RSA key are in [`ReadyRecord::cert_file`].
pub const CERT_CLIENT_ID: &str = "0c0c0c0c-1111-2222-3333-666666666666";
/// The seeded managed identity (member of [`ADMIN_GROUP_ID`]), served by the managed-identity endpoints.
pub const MSI_CLIENT_ID: &str = "0d0d0d0d-1111-2222-3333-777777777777";
/// The seeded user (member of [`ADMIN_GROUP_ID`]) for the password and device-code grants.
pub const ADMIN_USER_NAME: &str = "admin@emulator.local";
/// The seeded user in no group (authenticated but not a cluster admin).
pub const DEV_USER_NAME: &str = "dev@emulator.local";

/// How the emulator runs: port, files and LRO pacing.
#[derive(Clone, Debug)]
pub struct EmulatorOptions {
    /// TCP port on 127.0.0.1; 0 picks an ephemeral port.
    pub port: u16,
    /// Created if missing; the CA certificate is written to `data_dir/ca.pem`.
    pub data_dir: PathBuf,
    /// Loaded at start when it exists, and saved atomically after every mutation.
    pub state_file: Option<PathBuf>,
    /// How long-running operations progress.
    pub lro: LroPacing,
    /// ARM's write throttling (off by default).
    pub throttle: WriteThrottle,
}

impl EmulatorOptions {
    /// Port 0, no state file, default pacing.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EmulatorOptions {
            port: 0,
            data_dir: data_dir.into(),
            state_file: None,
            lro: LroPacing::default(),
            throttle: WriteThrottle::default(),
        }
    }
}

/// How long-running operations progress (docs/arm-aks-api.md, docs/az-behaviour.md).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LroPacing {
    /// `InProgress` answers before the operation completes.
    pub polls: u32,
    /// Integer `Retry-After` on the 201/200/202 answers and on status answers. Note that azure-core treats 0
    /// as "no hint" and then waits 30 s; use `retry_after_ms` for fast polling.
    pub retry_after_seconds: u64,
    /// When set, operation-status answers also carry `retry-after-ms: N`.
    pub retry_after_ms: Option<u64>,
    /// An operation also needs at least this much wall time.
    pub min_duration_ms: u64,
}

impl Default for LroPacing {
    fn default() -> Self {
        LroPacing {
            polls: 1,
            retry_after_seconds: 1,
            retry_after_ms: None,
            min_duration_ms: 0,
        }
    }
}

/// What `aksctl emulator serve` prints as one JSON line once the emulator listens: its endpoints and the
/// seeded credentials.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReadyRecord {
    /// ARM endpoint, `https://127.0.0.1:P/`.
    pub resource_manager: String,
    /// Entra authority host, `https://127.0.0.1:P/`.
    pub authority_host: String,
    /// Absolute path of `data_dir/ca.pem` (trust it for every emulator endpoint).
    pub ca_cert_file: String,
    /// The tenant ([`TENANT_ID`]).
    pub tenant_id: String,
    /// The subscription ([`SUBSCRIPTION_ID`]).
    pub subscription_id: String,
    /// The seeded admin service principal ([`ADMIN_CLIENT_ID`]), a member of the admin group.
    pub client_id: String,
    /// Its secret: random per fresh state, kept in the state file.
    pub client_secret: String,
    /// The admin group ([`ADMIN_GROUP_ID`]).
    pub admin_group_id: String,
    /// The management API, `https://127.0.0.1:P/_emulator/`.
    pub management: String,
    /// A second service principal that is in no group ([`NONADMIN_CLIENT_ID`]).
    pub nonadmin_client_id: String,
    /// Its secret.
    pub nonadmin_client_secret: String,
    /// A service principal with a certificate credential ([`CERT_CLIENT_ID`]), a member of the admin group.
    pub cert_client_id: String,
    /// Absolute path of `data_dir/cert-client.pem`: its certificate and PKCS#8 RSA key (kubelogin
    /// `--client-certificate`, `AZURE_CLIENT_CERTIFICATE_PATH`).
    pub cert_file: String,
    /// The seeded user's principal name ([`ADMIN_USER_NAME`]), a member of the admin group.
    pub user_name: String,
    /// Its password: random per fresh state, kept in the state file.
    pub user_password: String,
    /// The seeded user in no group ([`DEV_USER_NAME`]).
    #[serde(default)]
    pub dev_user_name: String,
    /// Its password: random per fresh state, kept in the state file.
    #[serde(default)]
    pub dev_user_password: String,
    /// The seeded managed identity ([`MSI_CLIENT_ID`]), a member of the admin group.
    pub msi_client_id: String,
    /// The App Service managed-identity endpoint, `https://127.0.0.1:P/msi/token` (`IDENTITY_ENDPOINT`).
    pub identity_endpoint: String,
    /// The secret it wants in `X-IDENTITY-HEADER` (`IDENTITY_HEADER`).
    pub identity_header: String,
    /// The emulator's OIDC issuer for federated (service-account) tokens, `https://127.0.0.1:P/oidc`.
    pub oidc_issuer: String,
    /// The subject of the federated credential on the admin service principal ([`ReadyRecord::client_id`]):
    /// a token from `POST /_emulator/federated-token` for this subject is a workload-identity assertion.
    pub federated_subject: String,
}

/// A running emulator on its own OS thread with its own tokio runtime. Stops on [`Emulator::shutdown`] or drop.
pub struct Emulator {
    ready: ReadyRecord,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Start the emulator and return once it is listening.
    pub fn start(options: EmulatorOptions) -> Result<Emulator, EmulatorError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<ReadyRecord, EmulatorError>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("aks-emulator".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("aks-emulator-worker")
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(source) => {
                        let _ = ready_tx.send(Err(EmulatorError::Runtime { source }));
                        return;
                    }
                };
                let on_ready_tx = ready_tx.clone();
                let result = runtime.block_on(serve(
                    options,
                    move |ready| {
                        let _ = on_ready_tx.send(Ok(ready.clone()));
                    },
                    async move {
                        let _ = stop_rx.await;
                    },
                ));
                if let Err(error) = result {
                    tracing::error!(error = %error, "emulator stopped with an error");
                    let _ = ready_tx.send(Err(error));
                }
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|source| EmulatorError::Runtime { source })?;
        match ready_rx.recv() {
            Ok(Ok(ready)) => {
                let port = port_of(&ready.resource_manager);
                Ok(Emulator {
                    ready,
                    port,
                    stop: Some(stop_tx),
                    thread: Some(thread),
                })
            }
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(EmulatorError::Stopped)
            }
        }
    }

    /// The endpoints and seeded credentials.
    pub fn ready(&self) -> &ReadyRecord {
        &self.ready
    }

    /// The port the emulator listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stop the emulator and its Kubernetes endpoints, and wait for its thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url)
        .ok()
        .and_then(|url| url.port())
        .unwrap_or_default()
}

/// Run the emulator on the caller's runtime until `shutdown` resolves; `on_ready` is called once it listens.
/// This is what `aksctl emulator serve` runs.
pub async fn serve(
    options: EmulatorOptions,
    on_ready: impl FnOnce(&ReadyRecord) + Send,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), EmulatorError> {
    let address = SocketAddr::from(([127, 0, 0, 1], options.port));
    let listener = std::net::TcpListener::bind(address)
        .map_err(|source| EmulatorError::Bind { address, source })?;
    let address = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { address, source })?;
    let state = SharedState::new(&options, address.port())?;
    let tls = state.main_tls_config()?;
    state.start_kubernetes_endpoints();

    let handle = axum_server::Handle::<SocketAddr>::new();
    let acceptor =
        RustlsAcceptor::new(RustlsConfig::from_config(tls)).acceptor(NoDelayAcceptor::new());
    let server = axum_server::from_tcp(listener)
        .map_err(|source| EmulatorError::Bind { address, source })?
        .acceptor(acceptor)
        .handle(handle.clone())
        .serve(router(state.clone()).into_make_service());
    let mut server = std::pin::pin!(server);

    tokio::select! {
        result = &mut server => {
            state.stop_kubernetes_endpoints();
            return result.map_err(|source| EmulatorError::Serve { address, source });
        }
        _ = handle.listening() => {}
    }
    tracing::info!(%address, "emulator listening");
    on_ready(&state.ready());

    let shutdown = std::pin::pin!(shutdown);
    tokio::select! {
        result = &mut server => {
            state.stop_kubernetes_endpoints();
            return result.map_err(|source| EmulatorError::Serve { address, source });
        }
        _ = shutdown => {}
    }
    handle.graceful_shutdown(Some(Duration::from_millis(250)));
    state.stop_kubernetes_endpoints();
    server
        .await
        .map_err(|source| EmulatorError::Serve { address, source })
}

/// [`serve`] on a runtime of its own until Ctrl-C or SIGTERM, calling `on_ready` on the calling thread once
/// listening. For a synchronous `main` (`aksctl emulator serve`).
pub fn serve_blocking(
    options: EmulatorOptions,
    on_ready: &mut dyn FnMut(&ReadyRecord),
) -> Result<(), EmulatorError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("aks-emulator-worker")
        .enable_all()
        .build()
        .map_err(|source| EmulatorError::Runtime { source })?;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<ReadyRecord>();
    runtime.block_on(async move {
        let server = serve(
            options,
            move |ready| {
                let _ = ready_tx.send(ready.clone());
            },
            stop_signal(),
        );
        let announce = async move {
            if let Ok(ready) = ready_rx.await {
                on_ready(&ready);
            }
            std::future::pending::<()>().await;
        };
        tokio::select! {
            result = server => result,
            _ = announce => Ok(()),
        }
    })
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The emulator's HTTP router (ARM, Entra and the management API) over `state`, for in-process tests.
pub fn router(state: SharedState) -> axum::Router {
    axum::Router::new()
        .fallback(routing::dispatch)
        .with_state(state)
}
