//! kubelogin's token cache: one 0600 JSON file per (login mode, authority, tenant, client, server id,
//! subscription, …) in the 0700 cache dir, written atomically (temp file + rename), so many concurrent
//! `get-token` processes never leave a torn file. Reading is synchronous and cheap: a cache hit needs no HTTP
//! client and no async runtime.
//!
//! A sign-in that asks a person (device code, browser) runs under an [`EntryLock`]: an exclusive `flock` on
//! `<entry>.lock` beside the entry, so that of many kubectl processes started at once with a cold cache one
//! prompts and the others wait, then read what it cached (the idea of int128/kubelogin PR #1126, a lock file per
//! token cache entry). The kernel releases the lock when its holder exits, however it exits.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// How often a waiter tries the lock again.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// An exclusive hold on a cache entry's `<entry>.lock`; released when dropped or when the process ends.
#[derive(Debug)]
pub struct EntryLock {
    _file: File,
}

/// The lock of a cache entry could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file could not be created or opened.
    #[error("cannot open the token cache lock {}: {source}", path.display())]
    Open {
        /// The lock file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Another process held it until the deadline.
    #[error(
        "timed out after {:.1}s waiting for another process signing in (it holds {})",
        waited.as_secs_f64(),
        path.display()
    )]
    Timeout {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
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

    /// The lock file of an entry: `<entry>.lock` beside it.
    pub fn lock_path(entry: &Path) -> PathBuf {
        let mut name = entry.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Take the entry's lock (creating the 0700 dir and the 0600 lock file), waiting for another holder until
    /// `deadline`. The lock file is never removed: a waiter must lock the same file its holder locked.
    pub fn lock(&self, entry: &Path, deadline: Instant) -> Result<EntryLock, LockError> {
        let path = Self::lock_path(entry);
        let open_error = |source| LockError::Open {
            path: path.clone(),
            source,
        };
        crate::files::create_private_dir(path.parent().unwrap_or(Path::new(".")))
            .map_err(open_error)?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(open_error)?;
        let started = Instant::now();
        let mut logged = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(EntryLock { _file: file }),
                Err(TryLockError::Error(source)) => return Err(open_error(source)),
                Err(TryLockError::WouldBlock) => {}
            }
            if !logged {
                tracing::debug!(path = %path.display(), "another process is signing in; waiting for it");
                logged = true;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(LockError::Timeout {
                    path,
                    waited: now - started,
                });
            }
            std::thread::sleep(LOCK_POLL.min(deadline - now));
        }
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

    #[test]
    fn an_entry_lock_excludes_a_second_holder_until_dropped() {
        let temp = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(temp.path().join("kubelogin"));
        let path = cache.path(&["devicecode", "t", "c"]);
        let held = cache.lock(&path, Instant::now()).unwrap();
        let lock_file = TokenCache::lock_path(&path);
        assert_eq!(
            lock_file.file_name().unwrap().to_string_lossy(),
            format!("{}.lock", path.file_name().unwrap().to_string_lossy())
        );
        let error = cache
            .lock(&path, Instant::now() + Duration::from_millis(120))
            .unwrap_err();
        assert!(
            matches!(&error, LockError::Timeout { waited, .. } if *waited >= Duration::from_millis(100)),
            "{error}"
        );
        assert!(error.to_string().contains(&lock_file.display().to_string()));
        // A different entry is not blocked.
        let other = cache.path(&["devicecode", "t", "c2"]);
        drop(cache.lock(&other, Instant::now()).unwrap());
        drop(held);
        cache.lock(&path, Instant::now()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&lock_file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
