//! Errors of the Azure CLI's files: each names the file and what is wrong with it.

use std::path::PathBuf;
use std::time::Duration;

/// A file in `AZURE_CONFIG_DIR` could not be read, parsed, locked or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading failed.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Writing (temp file, permissions, rename or delete) failed.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON even after waiting for a concurrent writer; it is never overwritten.
    #[error(
        "{path} is not valid JSON; refusing to overwrite it (fix or remove the file, then retry)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The file is JSON but not of the shape the Azure CLI writes; it is never overwritten.
    #[error("{path} is not in the Azure CLI's format: {problem}; refusing to overwrite it")]
    Shape {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The cache is encrypted (Windows DPAPI, or a keyring) and cannot be read natively.
    #[error(
        "{path} is encrypted by the Azure CLI (core.encrypt_token_cache); it cannot be read natively"
    )]
    Encrypted {
        /// The `.bin` file.
        path: PathBuf,
    },
    /// Another process holds the lock file's lock for longer than the timeout.
    #[error("timed out after {:.1} s waiting for the lock {path} held by {holder}", waited.as_secs_f64())]
    LockTimeout {
        /// The `<file>.lockfile`.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
        /// What the holder wrote into the lock file (`"<pid> <program>"`), or `another process`.
        holder: String,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {path}")]
    Lock {
        /// The `<file>.lockfile`.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}
