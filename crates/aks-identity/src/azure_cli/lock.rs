//! msal-extensions' cross-process lock (`CrossPlatLock`), which az takes before every write to its token cache
//! and service-principal entries (AzureAD/microsoft-authentication-extensions-for-python:
//! `msal_extensions/cache_lock.py`, with portalocker). See docs/azure-cli-files.md.
//!
//! msal-extensions' steps, which aksctl follows:
//! 1. Create `<file>.lockfile` with O_CREAT|O_EXCL, retrying every 0.25 s.
//! 2. Open it and take an exclusive `flock` (LockFileEx on Windows) without blocking, retrying every 0.25 s.
//! 3. Write `"<pid> <program>"` into it.
//! 4. On release: unlock, close, remove the file.
//!
//! Where aksctl differs, each time to keep out of az's way rather than into it:
//! - msal-extensions gives up on step 1 after 5 s and then `flock`s whatever file is at the path. In a busy lock
//!   that is usually a file a newcomer has just created and not yet locked: the newcomer then waits for a file the
//!   taker removes as it leaves, and two writers end up inside "the lock". aksctl only ever locks a file it created
//!   itself. A lock file counts as abandoned (its holder died) only when nobody holds its `flock` and it has not
//!   been written for 5 s; aksctl then removes it and creates its own. A lock that is held is waited for, up to
//!   30 s in all, then [`FileError::LockTimeout`] names its holder.
//! - After winning `flock`, aksctl checks that the locked file is still the one at the path (an az that went on
//!   without creating it may have locked it first and removed it as it left), and starts again if not; on release
//!   it removes the lock file only while it is still the one it locked, never a newcomer's.
//! - aksctl's pauses are 0.25 s on average, as msal-extensions', but uneven (half to one and a half of it,
//!   different in every process), so waiters started at the same moment do not poll in lockstep. Waiting as often
//!   as az's waiters (not more often) matters: an az waiter that cannot create the lock file within its 5 s goes
//!   on without it and can then write at the same time as another writer (see docs/azure-cli-files.md).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::FileError;

/// The timings of the protocol.
#[derive(Clone, Copy, Debug)]
pub struct LockTimings {
    /// How long a lock file nobody holds must have gone unwritten before it counts as abandoned (5 s,
    /// msal-extensions' limit for step 1).
    pub abandoned_after: Duration,
    /// How long to wait for the lock in all before giving up (30 s; msal-extensions: 5 s for each step). Waiting
    /// longer is only safer: 40 writers at once on a loaded machine (az takes the lock once per entry it stores)
    /// need far more than 5 s.
    pub lock_timeout: Duration,
    /// The mean pause between attempts (0.25 s, msal-extensions' interval; each pause is drawn from half to one
    /// and a half of it).
    pub interval: Duration,
}

impl Default for LockTimings {
    fn default() -> Self {
        LockTimings {
            abandoned_after: Duration::from_secs(5),
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
        let started = Instant::now();
        loop {
            if let Some(handle) = create_exclusively(&path).map_err(lock_error)? {
                let elapsed = started.elapsed();
                let left = timings.lock_timeout.saturating_sub(elapsed);
                if flock_within(&handle, left, timings.interval).map_err(lock_error)?
                    && still_at_path(&handle, &path).map_err(lock_error)?
                {
                    return Self::held(handle, path);
                }
                // An az that went on without creating its own lock file locked ours first and removed it as it
                // left: ours now guards nothing, so start again (or time out below).
            } else if remove_if_abandoned(&path, timings.abandoned_after).map_err(lock_error)? {
                tracing::debug!(lock = %path.display(), "removed an abandoned lock file");
                continue;
            }
            if started.elapsed() >= timings.lock_timeout {
                return Err(FileError::LockTimeout {
                    holder: holder_of(&path),
                    path,
                    waited: started.elapsed(),
                });
            }
            std::thread::sleep(uneven(timings.interval));
        }
    }

    /// Step 3 on a file we created and locked.
    fn held(mut handle: File, path: PathBuf) -> Result<CacheLock, FileError> {
        let written = handle
            .set_len(0)
            .and_then(|()| write!(handle, "{} aksctl", std::process::id()));
        if let Err(source) = written {
            // Ours: leave nothing behind for others to wait 5 s on.
            let _ = handle.unlock();
            let _ = fs::remove_file(&path);
            return Err(FileError::Lock { path, source });
        }
        Ok(CacheLock {
            file: Some(handle),
            path,
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // A lock file that is no longer ours belongs to a newcomer: removing it would let a third writer in
            // beside that newcomer.
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

/// Step 1, one attempt: the new lock file, or `None` when one is present.
fn create_exclusively(path: &Path) -> io::Result<Option<File>> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => Ok(Some(file)),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(None),
        Err(error) => Err(error),
    }
}

/// Step 2 on our own new file: `true` once locked, `false` if someone else held it for all of `within` (an az
/// waiter that went on without creating its own lock file).
fn flock_within(handle: &File, within: Duration, interval: Duration) -> io::Result<bool> {
    let deadline = Instant::now() + within;
    loop {
        match handle.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(source)) => return Err(source),
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(uneven(interval));
    }
}

/// Remove the lock file at `path` if its holder is gone: nobody holds its `flock` and nobody has written it for
/// `abandoned_after` (a live holder keeps the `flock` from step 2 until it removes the file, and a creator locks
/// its new file at once). Returns whether it was removed.
fn remove_if_abandoned(path: &Path, abandoned_after: Duration) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    let unwritten_for = file.metadata()?.modified()?.elapsed().unwrap_or_default();
    if unwritten_for < abandoned_after {
        return Ok(false);
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(false),
        Err(TryLockError::Error(source)) => return Err(source),
    }
    if !still_at_path(&file, path)? {
        return Ok(false);
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
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
    fn an_abandoned_lock_file_is_removed_once_unwritten_for_five_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("msal_token_cache.json");
        // What a writer that died inside the lock leaves: its lock file, with no `flock` on it.
        fs::write(lock_file_for(&cache), "999999 az").unwrap();
        let started = Instant::now();
        let lock = CacheLock::acquire(&cache).unwrap();
        let waited = started.elapsed();
        // The kernel stamps files with a clock that may lag ours by a tick.
        assert!(waited >= Duration::from_millis(4900), "{waited:?}");
        assert!(waited < Duration::from_secs(7), "{waited:?}");
        assert_eq!(
            fs::read_to_string(lock_file_for(&cache)).unwrap(),
            format!("{} aksctl", std::process::id()),
            "the abandoned file was replaced by ours"
        );
        drop(lock);
        assert!(!lock_file_for(&cache).exists());
    }

    #[test]
    fn a_busy_lock_is_waited_for_and_never_taken_from_a_writer_who_has_not_locked_yet() {
        // msal-extensions' writers create the lock file, then open and `flock` it: a moment in which the file is
        // theirs but unlocked. Writers like that keep the lock busy for longer than `abandoned_after`; the waiter
        // must never lock or remove one of their files, only get its turn once they stop.
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("msal_token_cache.json");
        let lock_path = lock_file_for(&cache);
        let timings = LockTimings {
            abandoned_after: Duration::from_millis(150),
            lock_timeout: Duration::from_secs(10),
            interval: Duration::from_millis(20),
        };
        let busy_until = Instant::now() + Duration::from_millis(1200);
        let writer = {
            let lock_path = lock_path.clone();
            std::thread::spawn(move || {
                let mut broken = Vec::new();
                while Instant::now() < busy_until {
                    let Ok(file) = OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&lock_path)
                    else {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    };
                    std::thread::sleep(Duration::from_millis(15)); // created, not yet locked
                    if file.try_lock().is_err() {
                        broken.push("our new lock file was locked by someone else");
                    }
                    std::thread::sleep(Duration::from_millis(40));
                    if !still_at_path(&file, &lock_path).unwrap() {
                        broken.push("our lock file was removed while we held it");
                    }
                    let _ = file.unlock();
                    let _ = fs::remove_file(&lock_path);
                }
                broken
            })
        };
        std::thread::sleep(Duration::from_millis(5));
        let lock = CacheLock::acquire_with(&cache, timings).unwrap();
        let broken = writer.join().unwrap();
        assert!(broken.is_empty(), "{broken:?}");
        assert_eq!(
            fs::read_to_string(&lock_path).unwrap(),
            format!("{} aksctl", std::process::id())
        );
        drop(lock);
    }

    #[test]
    fn a_held_lock_is_waited_for_then_times_out_naming_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("service_principal_entries.json");
        let holder = CacheLock::acquire(&cache).unwrap();
        // Held for longer than `abandoned_after` since it was written: a holder, not an abandoned file.
        let timings = LockTimings {
            abandoned_after: Duration::from_millis(100),
            lock_timeout: Duration::from_millis(750),
            interval: Duration::from_millis(50),
        };
        let started = Instant::now();
        let error = CacheLock::acquire_with(&cache, timings).unwrap_err();
        assert!(
            started.elapsed() >= Duration::from_millis(750),
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
