//! msal-extensions' cross-process lock (`CrossPlatLock`), which az takes before every write to its token cache
//! and service-principal entries (AzureAD/microsoft-authentication-extensions-for-python:
//! `msal_extensions/cache_lock.py`, with portalocker). See docs/azure-cli-files.md.
//!
//! 1. Create `<file>.lockfile` with O_CREAT|O_EXCL, retrying every 0.25 s for up to 5 s; after that the file is
//!    taken as stale and the protocol carries on (as msal-extensions does).
//! 2. Open it and take an exclusive `flock` (LockFileEx on Windows) without blocking, retrying every 0.25 s for up
//!    to 5 s (aksctl: 15 s); then fail with [`FileError::LockTimeout`].
//! 3. Write `"<pid> aksctl"` into it.
//! 4. On release: unlock, close, remove the file.
//!
//! Two additions: a lock won on a file its previous holder has already removed guards nothing (a newcomer creates a
//! new file and locks that), so after step 2 we check that the locked file is still the one at the path, and
//! start again if not; and on release we remove the lock file only while it is still the one we locked, never a
//! newcomer's.
//!
//! One difference: aksctl's pauses are 0.25 s on average, as msal-extensions', but uneven (half to one and a half of
//! it, different in every process), so waiters started at the same moment do not poll in lockstep. Waiting as
//! often as az's waiters (not more often) matters: an az waiter that cannot create the lock file within its 5 s
//! carries on without it and can then write at the same time as another writer (see docs/azure-cli-files.md).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::FileError;

/// The timings of the protocol.
#[derive(Clone, Copy, Debug)]
pub struct LockTimings {
    /// How long to retry the exclusive creation before taking the lock file as stale (5 s).
    pub create_timeout: Duration,
    /// How long to retry the `flock` before giving up (30 s; msal-extensions: 5 s). Waiting longer is only safer:
    /// 40 writers at once on a loaded machine (az takes the lock once per entry it stores) need far more than 5 s.
    pub lock_timeout: Duration,
    /// The mean pause between attempts (0.25 s, msal-extensions' interval; each pause is drawn from half to one
    /// and a half of it).
    pub interval: Duration,
}

impl Default for LockTimings {
    fn default() -> Self {
        LockTimings {
            create_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(30),
            interval: Duration::from_millis(250),
        }
    }
}

/// `<file>.lockfile` for `file`.
pub fn lock_file_for(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".lockfile");
    PathBuf::from(name)
}

/// A held lock; released (unlock, close, remove) on drop.
#[derive(Debug)]
pub struct CacheLock {
    file: Option<File>,
    path: PathBuf,
}

impl CacheLock {
    /// Take the lock guarding `file` (its `<file>.lockfile`) with msal-extensions' timings.
    pub fn acquire(file: &Path) -> Result<CacheLock, FileError> {
        Self::acquire_with(file, LockTimings::default())
    }

    /// Take the lock guarding `file` with the given timings.
    pub fn acquire_with(file: &Path, timings: LockTimings) -> Result<CacheLock, FileError> {
        let path = lock_file_for(file);
        let lock_error = |source| FileError::Lock {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            fs::create_dir_all(parent).map_err(lock_error)?;
        }
        let create_deadline = Instant::now() + timings.create_timeout;
        let mut lock_deadline = None;
        loop {
            if !create_exclusively(&path, create_deadline, timings.interval).map_err(lock_error)? {
                tracing::debug!(lock = %path.display(), "lock file still present after the timeout; taking it as stale");
            }
            let mut handle = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(lock_error)?;
            let deadline =
                *lock_deadline.get_or_insert_with(|| Instant::now() + timings.lock_timeout);
            flock_until(&handle, &path, deadline, timings)?;
            // The holder we waited for removes the file as it leaves: a lock on a removed file guards nothing,
            // so start again with a new one.
            if !still_at_path(&handle, &path).map_err(lock_error)? {
                continue;
            }
            handle.set_len(0).map_err(lock_error)?;
            write!(handle, "{} aksctl", std::process::id()).map_err(lock_error)?;
            return Ok(CacheLock {
                file: Some(handle),
                path,
            });
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // A lock file that is no longer ours belongs to a newcomer (an az waiter that gave up on step 1 removed
            // ours as it left): removing it would let a third writer in beside that newcomer.
            let ours = still_at_path(&file, &self.path).unwrap_or(false);
            let _ = file.unlock();
            drop(file);
            if ours {
                // Like msal-extensions, a lock file that is already gone is fine.
                let _ = fs::remove_file(&self.path);
            }
        }
    }
}

/// Step 1: `true` when we created the lock file, `false` when it is still present at `deadline`.
fn create_exclusively(path: &Path, deadline: Instant, interval: Duration) -> io::Result<bool> {
    loop {
        match OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(_) => return Ok(true),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(uneven(interval));
    }
}

/// Step 2: an exclusive non-blocking lock, retried until `deadline`.
fn flock_until(
    handle: &File,
    path: &Path,
    deadline: Instant,
    timings: LockTimings,
) -> Result<(), FileError> {
    let started = deadline
        .checked_sub(timings.lock_timeout)
        .unwrap_or_else(Instant::now);
    loop {
        match handle.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(source)) => {
                return Err(FileError::Lock {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
        if Instant::now() >= deadline {
            return Err(FileError::LockTimeout {
                path: path.to_path_buf(),
                waited: started.elapsed(),
                holder: holder_of(path),
            });
        }
        std::thread::sleep(uneven(timings.interval));
    }
}

/// A pause between half and one and a half of `interval`, different in every process and call (the clock's
/// nanoseconds and the process id), so that waiters do not poll in lockstep.
fn uneven(interval: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let mixed = (u64::from(nanos) ^ u64::from(std::process::id()).rotate_left(17))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let per_mille = 500 + (mixed >> 32) % 1001;
    interval * u32::try_from(per_mille).unwrap_or(1000) / 1000
}

/// Whether the locked file is still the one at `path` (not removed or replaced by its previous holder).
#[cfg(unix)]
fn still_at_path(handle: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = handle.metadata()?;
    match fs::metadata(path) {
        Ok(current) => Ok(current.dev() == held.dev() && current.ino() == held.ino()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(not(unix))]
fn still_at_path(_handle: &File, _path: &Path) -> io::Result<bool> {
    Ok(true)
}

/// What the holder wrote into the lock file (`"<pid> <program>"`), for the timeout message.
fn holder_of(path: &Path) -> String {
    let mut text = String::new();
    let read = File::open(path).and_then(|file| file.take(200).read_to_string(&mut text));
    match read {
        Ok(_) if !text.trim().is_empty() => format!("process {}", text.trim()),
        _ => "another process".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_writers_at_once_are_served_well_within_the_five_second_timeout() {
        // Polling at a fixed 0.25 s, writers released together win one per pause: 40 needed about 10 s (the
        // later ones took the lock file as stale after 5 s, or timed out).
        let started = Instant::now();
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("msal_token_cache.json");
        let start = std::sync::Arc::new(std::sync::Barrier::new(40));
        let writers: Vec<_> = (0..40)
            .map(|_| {
                let (cache, start) = (cache.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    let lock = CacheLock::acquire(&cache)?;
                    std::thread::sleep(Duration::from_millis(5));
                    drop(lock);
                    Ok::<(), FileError>(())
                })
            })
            .collect();
        let failed: Vec<String> = writers
            .into_iter()
            .filter_map(|writer| writer.join().unwrap().err())
            .map(|error| error.to_string())
            .collect();
        assert!(failed.is_empty(), "{failed:#?}");
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    }

    #[test]
    fn uneven_pauses_stay_within_half_and_one_and_a_half_of_the_interval() {
        let interval = Duration::from_millis(20);
        let pauses: Vec<Duration> = (0..200).map(|_| uneven(interval)).collect();
        assert!(
            pauses
                .iter()
                .all(|pause| *pause >= interval / 2 && *pause <= interval * 3 / 2)
        );
        assert!(pauses.iter().any(|pause| *pause != pauses[0]), "{pauses:?}");
    }

    #[test]
    fn lock_file_is_created_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("msal_token_cache.json");
        let lock = CacheLock::acquire(&cache).unwrap();
        let lock_path = dir.path().join("msal_token_cache.json.lockfile");
        assert_eq!(lock.path(), lock_path);
        assert_eq!(
            fs::read_to_string(&lock_path).unwrap(),
            format!("{} aksctl", std::process::id())
        );
        drop(lock);
        assert!(!lock_path.exists());
    }

    #[test]
    fn a_lock_file_replaced_by_a_newcomer_is_left_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("msal_token_cache.json");
        let lock = CacheLock::acquire(&cache).unwrap();
        // What an az waiter that went on without creating the lock file leaves behind: ours removed, and a
        // newcomer's created in its place.
        fs::remove_file(lock.path()).unwrap();
        fs::write(lock.path(), "4242 az").unwrap();
        drop(lock);
        assert_eq!(
            fs::read_to_string(lock_file_for(&cache)).unwrap(),
            "4242 az"
        );
    }

    #[test]
    fn a_stale_lock_file_without_flock_is_taken_after_five_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("msal_token_cache.json");
        fs::write(lock_file_for(&cache), "999999 az").unwrap();
        let started = Instant::now();
        let lock = CacheLock::acquire(&cache).unwrap();
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(5), "{waited:?}");
        assert!(waited < Duration::from_secs(7), "{waited:?}");
        drop(lock);
        assert!(!lock_file_for(&cache).exists());
    }

    #[test]
    fn a_held_flock_is_waited_for_then_times_out_naming_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("service_principal_entries.json");
        let holder = CacheLock::acquire(&cache).unwrap();
        let timings = LockTimings {
            create_timeout: Duration::from_millis(500),
            lock_timeout: Duration::from_millis(750),
            interval: Duration::from_millis(50),
        };
        let started = Instant::now();
        let error = CacheLock::acquire_with(&cache, timings).unwrap_err();
        assert!(
            started.elapsed() >= Duration::from_millis(1250),
            "{:?}",
            started.elapsed()
        );
        let message = error.to_string();
        assert!(matches!(error, FileError::LockTimeout { .. }), "{message}");
        assert!(
            message.contains("service_principal_entries.json.lockfile"),
            "{message}"
        );
        assert!(
            message.contains(&format!("{} aksctl", std::process::id())),
            "{message}"
        );

        // Released while we wait: we get it.
        let waiter = std::thread::spawn(move || CacheLock::acquire(&cache).map(|_| ()));
        std::thread::sleep(Duration::from_millis(600));
        drop(holder);
        waiter.join().unwrap().unwrap();
    }
}
