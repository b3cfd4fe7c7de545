//! The on-disk token cache: one 0600 file per (identity, scope) in a 0700 directory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{AccessToken, CredentialError, Secret, TokenSource};

/// Tokens are refreshed this long before they expire.
pub const REFRESH_MARGIN: time::Duration = time::Duration::minutes(5);

/// The stable file-name digest of a cache key: hex sha256 of the parts joined with `|`.
pub(crate) fn key_digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            hasher.update(b"|");
        }
        hasher.update(part.as_bytes());
    }
    crate::secret::hex(&hasher.finalize())
}

/// One cache file.
#[derive(Serialize, Deserialize)]
struct Entry {
    /// The bearer token.
    access_token: String,
    /// Expiry, unix seconds.
    expires_on: i64,
    /// Which source produced it (for people reading the file; not a secret).
    source: String,
}

/// An on-disk token cache in front of any [`TokenSource`]. A second aksctl process reuses the token instead of
/// signing in again.
///
/// Files live under `dir` (0700), one per key (0600, written atomically); key = sha256 of the `key_parts`
/// (e.g. cloud name, authority, tenant, client id or the source's [`describe`](TokenSource::describe)) and the
/// scope, joined with `|`. Entries are refreshed 5 minutes before expiry; a corrupt or unreadable entry is
/// ignored and replaced.
pub struct CachedTokenSource {
    inner: Arc<dyn TokenSource>,
    dir: PathBuf,
    key_parts: Vec<String>,
    memory: Mutex<HashMap<String, AccessToken>>,
}

impl std::fmt::Debug for CachedTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedTokenSource")
            .field("inner", &self.inner)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl CachedTokenSource {
    /// A cache in `dir` for `inner`, keyed by `key_parts` plus the scope.
    pub fn new(inner: Arc<dyn TokenSource>, dir: PathBuf, key_parts: &[&str]) -> Self {
        CachedTokenSource {
            inner,
            dir,
            key_parts: key_parts.iter().map(|part| (*part).to_owned()).collect(),
            memory: Mutex::new(HashMap::new()),
        }
    }

    /// The cache file for a scope: the key parts, the inner source's [`identity`](TokenSource::identity) and the
    /// scope, so another identity (after a logout, a switch or a changed secret) never reads this entry.
    pub fn path_for(&self, scope: &str) -> PathBuf {
        let identity = self.inner.identity();
        let mut parts: Vec<&str> = self.key_parts.iter().map(String::as_str).collect();
        parts.push(&identity);
        parts.push(scope);
        self.dir.join(format!("{}.json", key_digest(&parts)))
    }

    fn read(&self, scope: &str) -> Option<AccessToken> {
        let path = self.path_for(scope);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "token cache entry unreadable; ignoring it");
                return None;
            }
        };
        let entry: Entry = match serde_json::from_slice(&bytes) {
            Ok(entry) => entry,
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "token cache entry corrupt; ignoring it");
                return None;
            }
        };
        let expires_on = OffsetDateTime::from_unix_timestamp(entry.expires_on).ok()?;
        let token = AccessToken {
            token: Secret::new(entry.access_token),
            expires_on,
        };
        if token.expires_within(REFRESH_MARGIN) {
            tracing::debug!(path = %path.display(), %expires_on, "cached token expires soon; refreshing");
            return None;
        }
        tracing::debug!(path = %path.display(), %expires_on, "token from the cache");
        Some(token)
    }

    fn write(&self, scope: &str, token: &AccessToken) {
        let path = self.path_for(scope);
        let entry = Entry {
            access_token: token.token.expose().to_owned(),
            expires_on: token.expires_on.unix_timestamp(),
            source: self.inner.describe(),
        };
        let bytes = serde_json::to_vec(&entry).expect("a cache entry serializes");
        match crate::files::write_private_atomic(&path, &bytes) {
            Ok(()) => tracing::debug!(path = %path.display(), "token cached"),
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "could not write the token cache")
            }
        }
    }

    fn remember(&self, scope: &str, token: &AccessToken) {
        self.memory
            .lock()
            .expect("token cache lock")
            .insert(scope.to_owned(), token.clone());
    }
}

#[async_trait]
impl TokenSource for CachedTokenSource {
    async fn token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        if let Some(token) = self.memory.lock().expect("token cache lock").get(scope)
            && !token.expires_within(REFRESH_MARGIN)
        {
            return Ok(token.clone());
        }
        if let Some(token) = self.read(scope) {
            self.remember(scope, &token);
            return Ok(token);
        }
        let token = self.inner.token(scope).await?;
        self.write(scope, &token);
        self.remember(scope, &token);
        Ok(token)
    }

    async fn fresh_token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        let token = self.inner.fresh_token(scope).await?;
        self.write(scope, &token);
        self.remember(scope, &token);
        Ok(token)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn identity(&self) -> String {
        self.inner.identity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Counting {
        calls: AtomicUsize,
        lifetime: time::Duration,
    }

    #[async_trait]
    impl TokenSource for Counting {
        async fn token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(AccessToken {
                token: Secret::new(format!("token-{n}-{scope}")),
                expires_on: OffsetDateTime::now_utc() + self.lifetime,
            })
        }

        fn describe(&self) -> String {
            "counting".into()
        }

        fn identity(&self) -> String {
            "counting".into()
        }
    }

    fn counting(lifetime: time::Duration) -> Arc<Counting> {
        Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime,
        })
    }

    #[tokio::test]
    async fn second_process_reuses_the_file_and_keys_differ_by_scope_and_parts() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("tokens");
        let inner = counting(time::Duration::hours(1));
        let first = CachedTokenSource::new(inner.clone(), dir.clone(), &["AzureCloud", "client-1"]);
        assert_eq!(
            first.token("scope-a").await.unwrap().token.expose(),
            "token-1-scope-a"
        );
        // A "second process": a new cache object over the same directory.
        let second =
            CachedTokenSource::new(inner.clone(), dir.clone(), &["AzureCloud", "client-1"]);
        assert_eq!(
            second.token("scope-a").await.unwrap().token.expose(),
            "token-1-scope-a"
        );
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
        // Another scope or identity is another entry.
        assert_eq!(
            second.token("scope-b").await.unwrap().token.expose(),
            "token-2-scope-b"
        );
        let other = CachedTokenSource::new(inner.clone(), dir.clone(), &["AzureCloud", "client-2"]);
        assert_ne!(other.path_for("scope-a"), second.path_for("scope-a"));
        assert_eq!(
            other.token("scope-a").await.unwrap().token.expose(),
            "token-3-scope-a"
        );
        // fresh_token bypasses the cache and replaces the entry.
        assert_eq!(
            second.fresh_token("scope-a").await.unwrap().token.expose(),
            "token-4-scope-a"
        );
        let third = CachedTokenSource::new(inner.clone(), dir.clone(), &["AzureCloud", "client-1"]);
        assert_eq!(
            third.token("scope-a").await.unwrap().token.expose(),
            "token-4-scope-a"
        );

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &std::path::Path| {
                std::fs::metadata(path).unwrap().permissions().mode() & 0o777
            };
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&third.path_for("scope-a")), 0o600);
        }
        assert!(!format!("{third:?}").contains("token-4"));
    }

    #[tokio::test]
    async fn near_expiry_and_corrupt_entries_are_replaced() {
        let temp = tempfile::tempdir().unwrap();
        let inner = counting(time::Duration::minutes(4));
        let cache = CachedTokenSource::new(inner.clone(), temp.path().to_owned(), &["k"]);
        cache.token("s").await.unwrap();
        cache.token("s").await.unwrap();
        assert_eq!(
            inner.calls.load(Ordering::SeqCst),
            2,
            "4-minute tokens are inside the 5-minute margin"
        );

        let inner = counting(time::Duration::hours(1));
        let cache = CachedTokenSource::new(inner.clone(), temp.path().to_owned(), &["k2"]);
        std::fs::write(cache.path_for("s"), "{garbage").unwrap();
        assert_eq!(cache.token("s").await.unwrap().token.expose(), "token-1-s");
        let again = CachedTokenSource::new(inner.clone(), temp.path().to_owned(), &["k2"]);
        assert_eq!(again.token("s").await.unwrap().token.expose(), "token-1-s");
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
    }
}
