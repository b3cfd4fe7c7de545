//! Atomic, mode-keeping kubeconfig writes and client-go's `<file>.lock` lock.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The buffer between a document written in pieces and its temporary file ([`write_atomic_with`]).
const WRITE_BUFFER: usize = 64 * 1024;

/// Why a kubeconfig could not be locked or written. The target file is unchanged when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The target is a symbolic link and the policy is [`SymlinkPolicy::Refuse`] (az: `Kubeconfig path
    /// "<file>" is a symbolic link. Refusing to write to prevent symlink-following attacks.`).
    #[error("{} is a symbolic link; refusing to write through it", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// A symbolic link could not be read.
    #[error("cannot resolve symbolic link {}", path.display())]
    ResolveSymlink {
        /// The link.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The path is a symbolic link whose chain ends at a file that does not exist. It is refused rather than
    /// creating a file somewhere the user may not expect.
    #[error(
        "{} is a dangling symbolic link: {} does not exist",
        path.display(),
        target.display()
    )]
    DanglingSymlink {
        /// The link as given.
        path: PathBuf,
        /// Where its chain of links ends.
        target: PathBuf,
    },
    /// The path is a symbolic link that loops (or is more than 40 links deep, Linux's limit).
    #[error("{} is a symbolic link loop", path.display())]
    SymlinkLoop {
        /// The link as given.
        path: PathBuf,
    },
    /// A missing parent directory could not be created.
    #[error("cannot create directory {}", path.display())]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The target's metadata could not be read.
    #[error("cannot inspect {}", path.display())]
    Metadata {
        /// The target file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The temporary file beside the target could not be created, written or synced (a read-only directory
    /// gives `PermissionDenied` here; az: `Permission denied when trying to write to <file>. …`).
    #[error("cannot write {}", path.display())]
    Write {
        /// The target file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The temporary file could not be renamed over the target.
    #[error("cannot replace {}", path.display())]
    Replace {
        /// The target file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The lock file could not be created for a reason other than "another process holds it".
    #[error("cannot create lock file {}", path.display())]
    Lock {
        /// The lock file (`<kubeconfig>.lock`).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The lock file kept existing until the timeout.
    #[error(
        "timed out after {} waiting for lock file {}\nhint: if no other kubectl or aksctl is running, remove {}",
        human_duration(*waited),
        path.display(),
        path.display()
    )]
    LockTimeout {
        /// The lock file (`<kubeconfig>.lock`).
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
}

impl WriteError {
    /// The file, directory, link or lock file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            WriteError::Symlink { path }
            | WriteError::DanglingSymlink { path, .. }
            | WriteError::SymlinkLoop { path }
            | WriteError::ResolveSymlink { path, .. }
            | WriteError::CreateDirectory { path, .. }
            | WriteError::Metadata { path, .. }
            | WriteError::Write { path, .. }
            | WriteError::Replace { path, .. }
            | WriteError::Lock { path, .. }
            | WriteError::LockTimeout { path, .. } => path,
        }
    }

    /// The kind of the underlying I/O error (`PermissionDenied` → az's "Permission denied when trying to write").
    pub fn io_error_kind(&self) -> Option<io::ErrorKind> {
        match self {
            WriteError::ResolveSymlink { source, .. }
            | WriteError::CreateDirectory { source, .. }
            | WriteError::Metadata { source, .. }
            | WriteError::Write { source, .. }
            | WriteError::Replace { source, .. }
            | WriteError::Lock { source, .. } => Some(source.kind()),
            WriteError::Symlink { .. }
            | WriteError::DanglingSymlink { .. }
            | WriteError::SymlinkLoop { .. }
            | WriteError::LockTimeout { .. } => None,
        }
    }
}

/// What [`write_atomic`] does when the target path is a symbolic link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SymlinkPolicy {
    /// Refuse with [`WriteError::Symlink`], as current az does (docs/az-behaviour.md, "Writing").
    #[default]
    Refuse,
    /// Replace the file at the end of the link's chain; the link stays a link (older az, kubectl). A dangling
    /// link or a link loop is refused ([`WriteError::DanglingSymlink`], [`WriteError::SymlinkLoop`]).
    Follow,
}

/// What [`write_atomic`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// True when the file did not exist before.
    pub created: bool,
    /// The permission bits of the written file, e.g. `0o600` (on non-Unix systems: `0o600`, or `0o400` when
    /// read-only).
    pub mode: u32,
}

/// The mode of files this crate creates.
pub const NEW_FILE_MODE: u32 = 0o600;

/// The mode of directories this crate creates (a missing `~/.kube`): only the owner may list or enter it.
pub const NEW_DIRECTORY_MODE: u32 = 0o700;

/// The longest chain of symbolic links [`SymlinkPolicy::Follow`] follows (Linux's limit).
const MAX_SYMLINK_HOPS: usize = 40;

/// Writes `contents` to `path` atomically: a temporary file in the same directory, the existing file's
/// permission bits (0600 for a new file), `fsync`, then a rename over the target and an `fsync` of the
/// directory. A reader sees the old or the new file, never a half-written one, and on error the target is
/// unchanged (the temporary file is removed).
///
/// An existing file with no write permission bit (e.g. 0444) is refused with `PermissionDenied`: the rename
/// would replace it, but its owner asked for it not to change.
///
/// Missing parent directories are created 0700 whatever the umask ([`NEW_DIRECTORY_MODE`]; az's `os.makedirs`
/// and kubectl would follow the umask, 0777 under umask 000, for a directory that holds credentials). The
/// rename gives the file to the writing user: an owner or group other than ours is not kept. With
/// [`SymlinkPolicy::Follow`] the final target of the link is replaced: the temporary file is created beside the
/// target and renamed onto it, so the link stays a link and the target keeps its mode.
pub fn write_atomic(
    path: &Path,
    contents: &[u8],
    symlinks: SymlinkPolicy,
) -> Result<WriteOutcome, WriteError> {
    write_atomic_with(path, symlinks, &mut |out| out.write_all(contents))
}

/// [`write_atomic`] of what `write` writes: `write` gets the temporary file (buffered) and may write it in
/// pieces, so a large document need not be built in memory first. An error from `write` leaves the target
/// unchanged, as any other error does.
pub(crate) fn write_atomic_with(
    path: &Path,
    symlinks: SymlinkPolicy,
    write: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> Result<WriteOutcome, WriteError> {
    let target = resolve_target(path, symlinks)?;
    let directory = parent_directory(&target);
    create_parent(directory)?;

    let (created, mode) = match fs::metadata(&target) {
        Ok(metadata) => (false, permission_bits(&metadata)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => (true, NEW_FILE_MODE),
        Err(source) => {
            return Err(WriteError::Metadata {
                path: target,
                source,
            });
        }
    };

    // A rename only needs write access to the directory; a file its owner made read-only (no write bit at
    // all) is refused as az's in-place write would refuse it, whoever runs us (root included).
    if !created && mode & 0o222 == 0 {
        return Err(WriteError::Write {
            path: target,
            source: io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("the file is read-only (mode {mode:04o})"),
            ),
        });
    }

    let write_error = |source| WriteError::Write {
        path: target.clone(),
        source,
    };
    let file_name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temporary = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(directory)
        .map_err(write_error)?;
    let mut buffered = BufWriter::with_capacity(WRITE_BUFFER, temporary.as_file_mut());
    write(&mut buffered).map_err(write_error)?;
    buffered.flush().map_err(write_error)?;
    drop(buffered);
    set_permission_bits(temporary.as_file(), mode).map_err(write_error)?;
    temporary.as_file().sync_all().map_err(write_error)?;
    temporary
        .persist(&target)
        .map_err(|error| WriteError::Replace {
            path: target.clone(),
            source: error.error,
        })?;
    sync_directory(directory);
    Ok(WriteOutcome { created, mode })
}

/// The file to replace: `path` itself, or the end of its symbolic-link chain.
fn resolve_target(path: &Path, symlinks: SymlinkPolicy) -> Result<PathBuf, WriteError> {
    if symlinks == SymlinkPolicy::Refuse
        && fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_symlink())
    {
        return Err(WriteError::Symlink {
            path: path.to_path_buf(),
        });
    }
    resolve_symlinks(path)
}

/// The end of `path`'s chain of symbolic links (`path` itself when it is not a link; a path that does not exist
/// resolves to itself). A link whose chain ends at nothing is [`WriteError::DanglingSymlink`]; a loop, or more
/// than 40 links, is [`WriteError::SymlinkLoop`].
pub fn resolve_symlinks(path: &Path) -> Result<PathBuf, WriteError> {
    let mut current = path.to_path_buf();
    for hop in 0..MAX_SYMLINK_HOPS {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let link =
                    fs::read_link(&current).map_err(|source| WriteError::ResolveSymlink {
                        path: current.clone(),
                        source,
                    })?;
                current = parent_directory(&current).join(link);
            }
            Ok(_) => return Ok(current),
            Err(error) if error.kind() == io::ErrorKind::NotFound && hop == 0 => {
                return Ok(current);
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(WriteError::DanglingSymlink {
                    path: path.to_path_buf(),
                    target: current,
                });
            }
            Err(source) => {
                return Err(WriteError::Metadata {
                    path: current,
                    source,
                });
            }
        }
    }
    Err(WriteError::SymlinkLoop {
        path: path.to_path_buf(),
    })
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Creates `directory` and its missing parents, each [`NEW_DIRECTORY_MODE`] whatever the umask (existing
/// directories are left as they are).
pub(crate) fn create_parent(directory: &Path) -> Result<(), WriteError> {
    if directory.is_dir() {
        return Ok(());
    }
    let error = |path: &Path, source| WriteError::CreateDirectory {
        path: path.to_path_buf(),
        source,
    };
    // Outermost first, so that each new directory can be given its mode before the next one is made in it.
    let missing: Vec<&Path> = directory
        .ancestors()
        .take_while(|ancestor| !ancestor.as_os_str().is_empty() && !ancestor.is_dir())
        .collect();
    for new in missing.into_iter().rev() {
        match create_private_directory(new) {
            Ok(()) => {}
            // Another writer made it in the meantime: theirs, with their mode.
            Err(source) if source.kind() == io::ErrorKind::AlreadyExists && new.is_dir() => {}
            Err(source) => return Err(error(new, source)),
        }
    }
    Ok(())
}

/// Makes one directory with [`NEW_DIRECTORY_MODE`]: `mkdir` with that mode (never wider, whatever the umask),
/// then a `chmod`, which the umask does not mask, for an umask that took owner bits away.
#[cfg(unix)]
fn create_private_directory(directory: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new()
        .mode(NEW_DIRECTORY_MODE)
        .create(directory)?;
    fs::set_permissions(directory, fs::Permissions::from_mode(NEW_DIRECTORY_MODE))
}

#[cfg(not(unix))]
fn create_private_directory(directory: &Path) -> io::Result<()> {
    fs::create_dir(directory)
}

/// A duration as people write it: `5s`, `2.5s`, `250ms` (the lock timeout's message).
fn human_duration(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        return format!("{}ms", duration.as_millis());
    }
    let tenths = (duration.as_millis() + 50) / 100;
    if tenths.is_multiple_of(10) {
        format!("{}s", tenths / 10)
    } else {
        format!("{}.{}s", tenths / 10, tenths % 10)
    }
}

/// The permission bits of a file (`0o644`, …).
#[cfg(unix)]
pub(crate) fn permission_bits(metadata: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o7777
}

/// The permission bits of a file (approximated from the read-only flag).
#[cfg(not(unix))]
pub(crate) fn permission_bits(metadata: &fs::Metadata) -> u32 {
    if metadata.permissions().readonly() {
        0o400
    } else {
        NEW_FILE_MODE
    }
}

#[cfg(unix)]
fn set_permission_bits(file: &fs::File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_permission_bits(_file: &fs::File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Makes the rename durable. Best effort: the new file is already in place, and some file systems refuse it.
#[cfg(unix)]
fn sync_directory(directory: &Path) {
    if let Ok(handle) = fs::File::open(directory) {
        let _ = handle.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_directory(_directory: &Path) {}

/// client-go's kubeconfig lock: the file `<kubeconfig>.lock`, created exclusively and removed on drop.
///
/// kubectl creates it with `O_CREAT|O_EXCL` around every kubeconfig write and removes it afterwards
/// (kubernetes/client-go: `tools/clientcmd/loader.go` `lockFile`); no `flock` is involved, so this interoperates
/// with kubectl. Unlike kubectl, which fails at once, [`FileLock::acquire`] retries with backoff until its
/// timeout. For a symbolic link see [`FileLock::acquire_following`] and `docs/kubeconfig-files.md`.
#[derive(Debug)]
pub struct FileLock {
    /// The lock files held, in the order they were taken.
    paths: Vec<PathBuf>,
}

impl FileLock {
    /// Takes the lock for `target` (creating `<target>.lock`), waiting up to `timeout` for another holder.
    /// The lock file's directory must exist.
    pub fn acquire(target: &Path, timeout: Duration) -> Result<FileLock, WriteError> {
        let path = lock_path(target);
        wait_for_lock_file(&path, Instant::now(), timeout)?;
        Ok(FileLock { paths: vec![path] })
    }

    /// Takes the lock for a kubeconfig `path` that may be a symbolic link: `<path>.lock` beside the path as
    /// given, which is the one kubectl takes for that path, then, when the link resolves to another file,
    /// `<resolved>.lock` beside it too, so that a writer given the target's own path is excluded as well. Both
    /// are taken in that order (link, then target) by every writer, so two writers cannot deadlock; the whole
    /// wait is bounded by `timeout`. A dangling link or a loop is refused before any lock file is made.
    pub fn acquire_following(path: &Path, timeout: Duration) -> Result<FileLock, WriteError> {
        let resolved = resolve_symlinks(path)?;
        let started = Instant::now();
        let mut lock = FileLock { paths: Vec::new() };
        for file in [path, resolved.as_path()] {
            let lock_file = lock_path(file);
            if lock.paths.contains(&lock_file) {
                continue;
            }
            // On failure, `lock` drops here and releases what it holds.
            wait_for_lock_file(&lock_file, started, timeout)?;
            lock.paths.push(lock_file);
        }
        Ok(lock)
    }

    /// The lock file's path (the first one taken: the one beside the path as given).
    pub fn path(&self) -> &Path {
        &self.paths[0]
    }

    /// Every lock file held, in the order they were taken.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Nothing useful can be done if removal fails; the next writer's timeout error names the file.
        for path in self.paths.iter().rev() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Creates the lock file `path`, retrying with backoff while another process holds it, until `timeout` has
/// passed since `started`.
fn wait_for_lock_file(path: &Path, started: Instant, timeout: Duration) -> Result<(), WriteError> {
    let mut delay = Duration::from_millis(1);
    loop {
        match create_lock_file(path) {
            Ok(()) => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(WriteError::LockTimeout {
                        path: path.to_path_buf(),
                        waited,
                    });
                }
                let remaining = timeout - waited;
                std::thread::sleep(jittered(delay).min(remaining));
                delay = (delay * 2).min(Duration::from_millis(50));
            }
            Err(source) => {
                return Err(WriteError::Lock {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

/// `<target>.lock`, as client-go names it.
pub fn lock_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn create_lock_file(path: &Path) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(NEW_FILE_MODE);
    }
    options.open(path).map(drop)
}

/// `delay` scaled by a factor in [0.5, 1.5) so that waiting writers do not retry in lockstep.
fn jittered(delay: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let factor = 0.5 + f64::from(nanos % 1000) / 1000.0;
    delay.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_piecewise_write_leaves_the_file_and_no_temporary_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("config");
        fs::write(&path, "old\n").unwrap();
        let error = write_atomic_with(&path, SymlinkPolicy::Refuse, &mut |out| {
            out.write_all(&[b'x'; 3 * WRITE_BUFFER])?;
            Err(io::Error::other("the writer failed"))
        })
        .unwrap_err();
        assert!(
            matches!(&error, WriteError::Write { path: failed, source } if failed == &path && source.to_string() == "the writer failed"),
            "{error:?}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        let names: Vec<_> = fs::read_dir(directory.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["config"]);

        write_atomic_with(&path, SymlinkPolicy::Refuse, &mut |out| {
            out.write_all(b"new ")?;
            out.write_all(&[b'y'; 2 * WRITE_BUFFER])
        })
        .unwrap();
        let written = fs::read(&path).unwrap();
        assert_eq!(written.len(), 4 + 2 * WRITE_BUFFER);
        assert!(written.starts_with(b"new y") && written.ends_with(b"yy"));
    }

    #[test]
    fn durations_are_printed_as_people_write_them() {
        assert_eq!(human_duration(Duration::from_nanos(5_000_191_396)), "5s");
        assert_eq!(human_duration(Duration::from_millis(2_540)), "2.5s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_millis(59_990)), "60s");
    }
}
