//! Where a locked az file (MSAL's token cache, the service-principal entries) lives, behind one trait so that an
//! encrypted backend (Windows DPAPI, a keyring) can plug in later; and the read-merge-write every writer does
//! under msal-extensions' lock.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::config_dir::{AzureConfigDir, file_names};
use super::error::FileError;
use super::files::{read_json_with, read_optional, remove_if_present, write_atomic};
use super::lock::CacheLock;

/// Bytes of one az file, loaded and saved whole.
pub trait CacheStorage: Send + Sync {
    /// The file (what errors and the lock are named after).
    fn location(&self) -> &Path;
    /// The plaintext bytes, or `None` when there is nothing stored.
    fn load(&self) -> Result<Option<Vec<u8>>, FileError>;
    /// Replace the stored bytes; the caller holds `lock`, the lock of [`CacheStorage::location`].
    fn save(&self, bytes: &[u8], lock: &CacheLock) -> Result<(), FileError>;
    /// Delete what is stored (`az account clear`).
    fn delete(&self) -> Result<(), FileError>;
    /// Take msal-extensions' lock of this file.
    fn lock(&self) -> Result<CacheLock, FileError> {
        CacheLock::acquire(self.location())
    }
}

/// A plaintext JSON file, as az keeps its cache on Linux and macOS.
#[derive(Clone, Debug)]
pub struct PlaintextFile {
    path: PathBuf,
}

impl PlaintextFile {
    /// The file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> PlaintextFile {
        PlaintextFile { path: path.into() }
    }
}

impl CacheStorage for PlaintextFile {
    fn location(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<Option<Vec<u8>>, FileError> {
        read_optional(&self.path)
    }

    fn save(&self, bytes: &[u8], _lock: &CacheLock) -> Result<(), FileError> {
        write_atomic(&self.path, bytes)
    }

    fn delete(&self) -> Result<(), FileError> {
        remove_if_present(&self.path)
    }
}

/// The storage of one of az's locked files in `directory`: the plaintext `.json`, or
/// [`FileError::Encrypted`] when az keeps it encrypted (`core.encrypt_token_cache`, or only a `.bin` exists).
pub fn plaintext_storage(
    directory: &AzureConfigDir,
    plaintext: &str,
    encrypted: &str,
) -> Result<PlaintextFile, FileError> {
    let json = directory.file(plaintext);
    let bin = directory.file(encrypted);
    if directory.encrypts_token_cache()? || (!json.exists() && bin.exists()) {
        return Err(FileError::Encrypted { path: bin });
    }
    Ok(PlaintextFile::new(json))
}

/// The storage of MSAL's token cache in `directory`.
pub fn token_cache_storage(directory: &AzureConfigDir) -> Result<PlaintextFile, FileError> {
    plaintext_storage(
        directory,
        file_names::TOKEN_CACHE,
        file_names::TOKEN_CACHE_ENCRYPTED,
    )
}

/// The storage of the service-principal entries in `directory`.
pub fn service_principal_storage(directory: &AzureConfigDir) -> Result<PlaintextFile, FileError> {
    plaintext_storage(
        directory,
        file_names::SERVICE_PRINCIPALS,
        file_names::SERVICE_PRINCIPALS_ENCRYPTED,
    )
}

/// Read the JSON without the lock (as msal-extensions' readers do), retrying a torn read.
pub fn read_stored_json(storage: &dyn CacheStorage) -> Result<Option<Value>, FileError> {
    read_json_with(storage.location(), || storage.load())
}

/// A writer's step under the lock: the new bytes to save (`None`: nothing changed) and the result.
pub struct Change<T> {
    /// What to write back.
    pub bytes: Option<Vec<u8>>,
    /// What the caller gets.
    pub result: T,
}

/// msal-extensions' writer: take the lock, re-read the file inside it, apply only `change` to what is there now,
/// write the whole file atomically if it changed, release. A file that does not parse is refused before
/// `change` runs, so it is never overwritten.
pub fn locked_update<T, E: From<FileError>>(
    storage: &dyn CacheStorage,
    change: impl FnOnce(Option<Value>) -> Result<Change<T>, E>,
) -> Result<T, E> {
    let lock = storage.lock()?;
    let current = read_stored_json(storage)?;
    let Change { bytes, result } = change(current)?;
    if let Some(bytes) = bytes {
        storage.save(&bytes, &lock)?;
    }
    drop(lock);
    Ok(result)
}
