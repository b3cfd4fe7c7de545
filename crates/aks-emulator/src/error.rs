//! The one error type of the emulator: what failed to start, load or save.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the emulator could not start, or stopped.
///
/// Request-level problems never surface here: they become HTTP answers (ARM or Entra error bodies).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// A directory (the data directory, or the state file's parent) could not be created.
    #[error("cannot create directory {path}")]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file (the CA PEM or the state file) could not be written.
    #[error("cannot write {path}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but could not be read.
    #[error("cannot read state file {path}")]
    ReadState {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The state file is not valid emulator state JSON.
    #[error("state file {path} is not valid emulator state")]
    ParseState {
        /// The state file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The state could not be serialized (a bug).
    #[error("cannot serialize emulator state for {path}")]
    SerializeState {
        /// The state file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A listening socket could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTPS server failed while running.
    #[error("server on {address} failed")]
    Serve {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key or certificate could not be generated or loaded.
    #[error("cannot make {what}")]
    Certificate {
        /// Which key or certificate.
        what: String,
        /// The rcgen error.
        #[source]
        source: rcgen::Error,
    },
    /// The token signing key could not be loaded.
    #[error("cannot load the token signing key")]
    SigningKey {
        /// The jsonwebtoken error.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
    /// The TLS configuration was refused by rustls.
    #[error("cannot configure TLS for {what}")]
    Tls {
        /// Which server.
        what: String,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// The emulator thread or its runtime could not be started.
    #[error("cannot start the emulator thread")]
    Runtime {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The emulator thread ended before it was listening.
    #[error("the emulator thread stopped before it was ready")]
    Stopped,
}
