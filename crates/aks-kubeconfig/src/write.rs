//! Atomic, mode-keeping kubeconfig writes and client-go's `<file>.lock` lock.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    /// A symbolic link could not be followed (unreadable, or more than 40 links deep).
    #[error("cannot resolve symbolic link {}", path.display())]
    ResolveSymlink {
        /// The link.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
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
        "timed out after {waited:?} waiting for lock file {}\nhint: if no other kubectl or aksctl is running, remove {}",
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
            WriteError::Symlink { .. } | WriteError::LockTimeout { .. } => None,
        }
    }
}

/// What [`write_atomic`] does when the target path is a symbolic link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SymlinkPolicy {
    /// Refuse with [`WriteError::Symlink`], as current az does (az-cli-aks.md §3.6).
    #[default]
    Refuse,
    /// Replace the file the link points to; the link stays a link (older az, kubectl).
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
/// Missing parent directories are created with the default mode under the umask (0755 under umask 022), as
/// az's `os.makedirs` and kubectl do. The rename gives the file to the writing user: an owner or group other
/// than ours is not kept. With [`SymlinkPolicy::Follow`] the final target of the link is replaced.
pub fn write_atomic(
    path: &Path,
    contents: &[u8],
    symlinks: SymlinkPolicy,
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
    temporary.write_all(contents).map_err(write_error)?;
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
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                if symlinks == SymlinkPolicy::Refuse {
                    return Err(WriteError::Symlink {
                        path: path.to_path_buf(),
                    });
                }
                let link =
                    fs::read_link(&current).map_err(|source| WriteError::ResolveSymlink {
                        path: current.clone(),
                        source,
                    })?;
                current = parent_directory(&current).join(link);
            }
            Ok(_) => return Ok(current),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(source) => {
                return Err(WriteError::Metadata {
                    path: current,
                    source,
                });
            }
        }
    }
    Err(WriteError::ResolveSymlink {
        path: path.to_path_buf(),
        source: io::Error::other("too many levels of symbolic links"),
    })
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Creates `directory` and its parents when missing.
pub(crate) fn create_parent(directory: &Path) -> Result<(), WriteError> {
    if directory.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(directory).map_err(|source| WriteError::CreateDirectory {
        path: directory.to_path_buf(),
        source,
    })
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
/// (rust-deps.md §6, kubectl-wire.md §8); no `flock` is involved, so this interoperates with kubectl. Unlike
/// kubectl, which fails at once, [`FileLock::acquire`] retries with backoff until its timeout.
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock for `target` (creating `<target>.lock`), waiting up to `timeout` for another holder.
    /// The lock file's directory must exist.
    pub fn acquire(target: &Path, timeout: Duration) -> Result<FileLock, WriteError> {
        let path = lock_path(target);
        let started = Instant::now();
        let mut delay = Duration::from_millis(1);
        loop {
            match create_lock_file(&path) {
                Ok(()) => return Ok(FileLock { path }),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                    let waited = started.elapsed();
                    if waited >= timeout {
                        return Err(WriteError::LockTimeout { path, waited });
                    }
                    let remaining = timeout - waited;
                    std::thread::sleep(jittered(delay).min(remaining));
                    delay = (delay * 2).min(Duration::from_millis(50));
                }
                Err(source) => return Err(WriteError::Lock { path, source }),
            }
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Nothing useful can be done if removal fails; the next writer's timeout error names the file.
        let _ = fs::remove_file(&self.path);
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
