//! The handle of a cluster's running Kubernetes endpoint (the server itself is in `kubernetes`).

use std::net::SocketAddr;

/// A running endpoint: its port and the handle that stops it.
pub(crate) struct KubeEndpoint {
    pub(crate) port: u16,
    pub(crate) handle: axum_server::Handle<SocketAddr>,
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
