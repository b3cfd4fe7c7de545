//! MSAL's token cache file: read without the lock, changed under it (see [`super::storage::locked_update`]).

use super::error::FileError;
use super::storage::{CacheStorage, Change, locked_update, read_stored_json};
use super::token_cache::TokenCache;

/// The cache as stored now.
pub fn load_token_cache(storage: &dyn CacheStorage) -> Result<TokenCache, FileError> {
    TokenCache::from_value(storage.location(), read_stored_json(storage)?)
}

/// Change the cache under the lock: `change` sees the cache as it is inside the lock, and the file is written
/// (atomically) only when an entry was stored or removed.
pub fn update_token_cache<T>(
    storage: &dyn CacheStorage,
    change: impl FnOnce(&mut TokenCache) -> T,
) -> Result<T, FileError> {
    locked_update(storage, |current| {
        let mut cache = TokenCache::from_value(storage.location(), current)?;
        let result = change(&mut cache);
        Ok::<_, FileError>(Change {
            bytes: cache.is_changed().then(|| cache.to_bytes()),
            result,
        })
    })
}

/// `az account clear`: delete the cache file.
pub fn delete_token_cache(storage: &dyn CacheStorage) -> Result<(), FileError> {
    let _lock = storage.lock()?;
    storage.delete()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure_cli::config_dir::AzureConfigDir;
    use crate::azure_cli::config_dir::tests::environment;
    use crate::azure_cli::storage::{PlaintextFile, token_cache_storage};
    use crate::azure_cli::token_cache::Section;

    #[test]
    fn a_corrupt_cache_is_refused_and_never_overwritten() {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("msal_token_cache.json");
        let torn = b"{\n    \"AccessToken\": {\n        \"k\": {\"secret\": \"x\"";
        std::fs::write(&path, torn).unwrap();
        let storage = PlaintextFile::new(&path);
        let error = update_token_cache(&storage, |cache| {
            cache.remove_where(Section::AccessToken, |_| true)
        })
        .unwrap_err();
        assert!(matches!(error, FileError::Corrupt { .. }), "{error}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), torn);
        assert!(
            !temp.path().join("msal_token_cache.json.lockfile").exists(),
            "the lock is released"
        );
    }

    #[test]
    fn unchanged_caches_are_not_rewritten_and_changes_are() {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("msal_token_cache.json");
        let storage = PlaintextFile::new(&path);
        update_token_cache(&storage, |_| ()).unwrap();
        assert!(!path.exists(), "nothing to write");
        std::fs::write(&path, "{\"AccessToken\": {}, \"Other\": [1]}").unwrap();
        update_token_cache(&storage, |_| ()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"AccessToken\": {}, \"Other\": [1]}"
        );
        update_token_cache(&storage, |cache| {
            cache.remove_where(Section::RefreshToken, |_| true)
        })
        .unwrap();
        update_token_cache(&storage, |cache| {
            cache.put(Section::Account, "k".into(), serde_json::Map::new());
        })
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n    \"AccessToken\": {},\n    \"Other\": [\n        1\n    ],\n    \"Account\": {\n        \"k\": {}\n    }\n}"
        );
        assert_eq!(load_token_cache(&storage).unwrap().entry_count(), 1);
    }

    #[test]
    fn encrypted_caches_are_reported_not_read() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(
            temp.path().join("msal_token_cache.bin"),
            b"\x01\x00\x00\x00\xd0\x8c",
        )
        .unwrap();
        let directory = AzureConfigDir::at(
            temp.path(),
            environment(&[("AZURE_CORE_ENCRYPT_TOKEN_CACHE", "false")]),
        );
        let error = token_cache_storage(&directory).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("msal_token_cache.bin is encrypted"),
            "{error}"
        );
        std::fs::write(temp.path().join("msal_token_cache.json"), b"{}").unwrap();
        assert!(
            token_cache_storage(&directory).is_ok(),
            "the plaintext file is what az uses then"
        );
        let directory = AzureConfigDir::at(
            temp.path(),
            environment(&[("AZURE_CORE_ENCRYPT_TOKEN_CACHE", "true")]),
        );
        assert!(matches!(
            token_cache_storage(&directory),
            Err(FileError::Encrypted { .. })
        ));
    }
}
