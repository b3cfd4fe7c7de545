//! kubelogin's token cache: one 0600 JSON file per (login mode, authority, tenant, client, server id,
//! subscription, …) in the 0700 cache dir, written atomically (temp file + rename), so many concurrent
//! `get-token` processes never leave a torn file. Reading is synchronous and cheap: a cache hit needs no HTTP
//! client and no async runtime (rust-deps.md §5).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::TokenSet;
use crate::credential::{REFRESH_MARGIN, Secret};

/// File-name prefix of aksctl's entries in kubelogin's cache dir (beside kubelogin's own `auth.json`).
const PREFIX: &str = "aksctl-token-";

/// The token cache in a kubelogin cache dir (`--cache-dir`, `$KUBECACHEDIR`, `~/.kube/cache/kubelogin/`).
#[derive(Clone, Debug)]
pub struct TokenCache {
    dir: PathBuf,
}

/// An entry read from the cache.
#[derive(Clone, Debug)]
pub struct CachedToken {
    /// Where it was read from.
    pub path: PathBuf,
    /// The token, its expiry and refresh token.
    pub token: TokenSet,
}

impl CachedToken {
    /// Whether the access token can be handed out as is: it does not expire within [`REFRESH_MARGIN`].
    pub fn is_fresh(&self) -> bool {
        !self.token.expires_within(REFRESH_MARGIN)
    }
}

#[derive(Serialize, Deserialize)]
struct Entry {
    access_token: String,
    expires_on: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    /// What the entry is for (login mode, server id, …), for people reading the file; no secrets.
    #[serde(default)]
    description: String,
}

impl TokenCache {
    /// A cache in `dir` (created 0700 on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> TokenCache {
        TokenCache { dir: dir.into() }
    }

    /// The cache dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file for a key (sha256 of the parts; the same parts always give the same file).
    pub fn path(&self, key_parts: &[&str]) -> PathBuf {
        self.dir.join(format!(
            "{PREFIX}{}.json",
            crate::credential::cache::key_digest(key_parts)
        ))
    }

    /// Read an entry; `None` when missing, unreadable or corrupt (logged at debug, never an error).
    pub fn load(&self, path: &Path) -> Option<CachedToken> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::debug!(path = %path.display(), %error, "token cache entry unreadable; ignoring it");
                }
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
        Some(CachedToken {
            path: path.to_owned(),
            token: TokenSet {
                access_token: Secret::new(entry.access_token),
                expires_on,
                refresh_token: entry.refresh_token.map(Secret::new),
            },
        })
    }

    /// Write an entry atomically (0600 file, 0700 dir).
    pub fn store(&self, path: &Path, token: &TokenSet, description: &str) -> std::io::Result<()> {
        let entry = Entry {
            access_token: token.access_token.expose().to_owned(),
            expires_on: token.expires_on.unix_timestamp(),
            refresh_token: token
                .refresh_token
                .as_ref()
                .map(|secret| secret.expose().to_owned()),
            description: description.to_owned(),
        };
        let bytes = serde_json::to_vec(&entry).expect("a cache entry serializes");
        crate::files::write_private_atomic(path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_with_private_modes_and_keys_differ() {
        let temp = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(temp.path().join("kubelogin"));
        let path = cache.path(&["spn", "https://login/", "t", "c", "server"]);
        assert_ne!(
            path,
            cache.path(&["spn", "https://login/", "t", "c2", "server"])
        );
        assert_ne!(
            path,
            cache.path(&["spn", "https://login/", "tc", "", "server"])
        );
        assert!(cache.load(&path).is_none());
        let token = TokenSet {
            access_token: Secret::new("access"),
            expires_on: OffsetDateTime::now_utc() + time::Duration::hours(1),
            refresh_token: Some(Secret::new("refresh")),
        };
        cache.store(&path, &token, "spn for server").unwrap();
        let loaded = cache.load(&path).unwrap();
        assert!(loaded.is_fresh());
        assert_eq!(loaded.token.access_token.expose(), "access");
        assert_eq!(loaded.token.refresh_token.unwrap().expose(), "refresh");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(cache.dir()), 0o700);
            assert_eq!(mode(&path), 0o600);
        }
        let soon = TokenSet {
            expires_on: OffsetDateTime::now_utc() + time::Duration::minutes(2),
            ..token
        };
        cache.store(&path, &soon, "").unwrap();
        assert!(!cache.load(&path).unwrap().is_fresh());
        std::fs::write(&path, "{torn").unwrap();
        assert!(cache.load(&path).is_none());
    }
}
