//! The file step of `az aks get-credentials`: lock, read, merge, write (docs/az-behaviour.md, "aks get-credentials").

use crate::az_merge::{MergeError, az_merge};
use crate::model::{Kubeconfig, KubeconfigError, UNKNOWN_CONTEXT};
use crate::splice;
use crate::write::{
    FileLock, SymlinkPolicy, WriteError, create_parent, parent_directory, permission_bits,
    resolve_symlinks, write_atomic_with,
};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long [`merge_into_file`] waits for another writer's `<file>.lock`.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a kubeconfig file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read (`NotFound` → az's `<file> does not exist`; `PermissionDenied` → az's
    /// `Permission denied when trying to read <file>. …`).
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not a kubeconfig (az: `Error parsing <file> (<message>)`, message = [`KubeconfigError::detail`]).
    #[error("cannot parse {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: KubeconfigError,
    },
}

/// Reads and parses a kubeconfig file; `Ok(None)` for an empty file.
pub fn load_file(path: &Path) -> Result<Option<Kubeconfig>, LoadError> {
    let bytes = fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Kubeconfig::parse_bytes(&bytes).map_err(|source| LoadError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Why [`merge_into_file`] failed. The file is unchanged when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum FileMergeError {
    /// The path is a symbolic link (az: `Kubeconfig path "<file>" is a symbolic link. Refusing to write to
    /// prevent symlink-following attacks.`).
    #[error("kubeconfig path {} is a symbolic link; refusing to write to it", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// The path could not be resolved: a dangling symbolic link or a link loop ([`SymlinkPolicy::Follow`]), or a
    /// path that cannot be inspected (e.g. under a file rather than a directory).
    #[error(transparent)]
    Resolve(WriteError),
    /// The path is a directory, not a kubeconfig file.
    #[error("{} is a directory, not a kubeconfig file", path.display())]
    Directory {
        /// The directory.
        path: PathBuf,
    },
    /// The lock could not be taken ([`WriteError::LockTimeout`] carries a hint).
    #[error(transparent)]
    Lock(WriteError),
    /// The existing file could not be read (`PermissionDenied` → az's `Permission denied when trying to read
    /// <file>. Please ensure you have read access to this file, or specify a different file path using the
    /// --file/-f argument.`).
    #[error("cannot read {}", path.display())]
    Read {
        /// The kubeconfig file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The existing file is not a kubeconfig (az: `Error parsing <file> (<message>)`, message =
    /// [`KubeconfigError::detail`]).
    #[error("cannot parse {}", path.display())]
    Parse {
        /// The kubeconfig file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: KubeconfigError,
    },
    /// az's merge refused (missing key, or a conflicting entry not confirmed).
    #[error(transparent)]
    Merge(MergeError),
    /// The merged file could not be written (`PermissionDenied` → az's `Permission denied when trying to write
    /// to <file>. Please ensure you have write access to this file, or specify a different file path using the
    /// --file/-f argument.`).
    #[error(transparent)]
    Write(WriteError),
}

impl FileMergeError {
    /// The file the error is about (the lock file for lock errors; none for merge refusals).
    pub fn path(&self) -> Option<&Path> {
        match self {
            FileMergeError::Symlink { path }
            | FileMergeError::Directory { path }
            | FileMergeError::Read { path, .. }
            | FileMergeError::Parse { path, .. } => Some(path),
            FileMergeError::Resolve(error)
            | FileMergeError::Lock(error)
            | FileMergeError::Write(error) => Some(error.path()),
            FileMergeError::Merge(_) => None,
        }
    }

    /// The kind of the underlying I/O error, when there is one.
    pub fn io_error_kind(&self) -> Option<io::ErrorKind> {
        match self {
            FileMergeError::Read { source, .. } => Some(source.kind()),
            FileMergeError::Resolve(error)
            | FileMergeError::Lock(error)
            | FileMergeError::Write(error) => error.io_error_kind(),
            FileMergeError::Symlink { .. }
            | FileMergeError::Directory { .. }
            | FileMergeError::Parse { .. }
            | FileMergeError::Merge(_) => None,
        }
    }
}

/// What [`merge_into_file`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeOutcome {
    /// The merged document's `current-context` (az prints `Merged "<it>" as current context in <file>`);
    /// `UNKNOWN` when it has none, as az prints.
    pub current_context: String,
    /// The file's permission bits before the write (`None` when it did not exist). az warns
    /// `<file> has permissions "<octal>".\nIt should be readable and writable only by its owner.` when the
    /// octal text does not end in `600` (docs/az-behaviour.md, "Writing").
    pub previous_mode: Option<u32>,
    /// True when the file did not exist and was created with mode 0600.
    pub created: bool,
}

/// Options of [`merge_into_file_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeFileOptions {
    /// How long to wait for `<file>.lock`.
    pub lock_timeout: Duration,
    /// Whether a symbolic link is refused (az) or followed.
    pub symlinks: SymlinkPolicy,
}

impl Default for MergeFileOptions {
    fn default() -> Self {
        MergeFileOptions {
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            symlinks: SymlinkPolicy::Refuse,
        }
    }
}

/// The whole file step of `az aks get-credentials` with az's defaults: symbolic links refused, and
/// [`DEFAULT_LOCK_TIMEOUT`]. See [`merge_into_file_with`].
pub fn merge_into_file(
    path: &Path,
    addition: Kubeconfig,
    overwrite_existing: bool,
    confirm: &mut dyn FnMut(&str) -> bool,
) -> Result<MergeOutcome, FileMergeError> {
    merge_into_file_with(
        path,
        addition,
        overwrite_existing,
        confirm,
        &MergeFileOptions::default(),
    )
}

/// The whole file step of `az aks get-credentials` (docs/az-behaviour.md, "aks get-credentials"), under client-go's
/// `<file>.lock`: create missing parent directories (0700), read the file (a missing file counts as empty),
/// parse, [`az_merge`], and write the result as [`crate::write_atomic`] does (a new file gets mode 0600, an
/// existing one keeps its mode), the merged document going straight into the temporary file.
///
/// With [`SymlinkPolicy::Follow`] a symbolic link is written through: the file at the end of its chain is read
/// and replaced atomically (the link stays), under both `<link>.lock` and `<target>.lock`
/// ([`FileLock::acquire_following`]); a dangling link or a loop is refused before anything is locked or made.
///
/// Nothing is written if anything fails. Unlike az, which first creates an empty 0600 file, a missing file is
/// only created by the final write, so a failure leaves no empty file behind. `confirm` is called while the
/// lock is held (other writers wait up to their timeout).
pub fn merge_into_file_with(
    path: &Path,
    addition: Kubeconfig,
    overwrite_existing: bool,
    confirm: &mut dyn FnMut(&str) -> bool,
    options: &MergeFileOptions,
) -> Result<MergeOutcome, FileMergeError> {
    if options.symlinks == SymlinkPolicy::Refuse && is_symlink(path) {
        return Err(FileMergeError::Symlink {
            path: path.to_path_buf(),
        });
    }
    let target = resolve_symlinks(path).map_err(FileMergeError::Resolve)?;
    if target.is_dir() {
        return Err(FileMergeError::Directory {
            path: path.to_path_buf(),
        });
    }
    create_parent(parent_directory(path)).map_err(FileMergeError::Write)?;
    let _lock = match options.symlinks {
        SymlinkPolicy::Refuse => FileLock::acquire(path, options.lock_timeout),
        SymlinkPolicy::Follow => FileLock::acquire_following(path, options.lock_timeout),
    }
    .map_err(FileMergeError::Lock)?;

    let (existing, previous_mode) = read_existing(path)?;
    let merged = merge_text(path, &existing, addition, overwrite_existing, confirm)?;
    let outcome = write_atomic_with(path, options.symlinks, &mut |out| merged.write_to(out))
        .map_err(|error| match error {
            WriteError::Symlink { path } => FileMergeError::Symlink { path },
            error @ (WriteError::DanglingSymlink { .. } | WriteError::SymlinkLoop { .. }) => {
                FileMergeError::Resolve(error)
            }
            other => FileMergeError::Write(other),
        })?;
    Ok(MergeOutcome {
        current_context: merged
            .current_context()
            .unwrap_or(UNKNOWN_CONTEXT)
            .to_owned(),
        previous_mode,
        created: outcome.created,
    })
}

/// The merged document: the spliced lists of a large file (written from the file's own text), or a document
/// parsed whole and merged.
enum Merged<'a> {
    Spliced(splice::Merged<'a>),
    Whole(Kubeconfig),
}

impl Merged<'_> {
    fn current_context(&self) -> Option<&str> {
        match self {
            Merged::Spliced(merged) => merged.current_context(),
            Merged::Whole(document) => document.current_context(),
        }
    }

    /// Writes the document as [`Kubeconfig::to_yaml`] writes it.
    fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Merged::Spliced(merged) => merged.write_to(out),
            Merged::Whole(document) => out.write_all(document.to_yaml().as_bytes()),
        }
    }
}

/// [`az_merge`] of `addition` into the file's bytes: on a large file laid out as az, kubectl and aksctl write it,
/// without parsing the entries the merge leaves alone (`splice.rs`); otherwise by parsing the whole text.
fn merge_text<'a>(
    path: &Path,
    existing: &'a [u8],
    addition: Kubeconfig,
    overwrite_existing: bool,
    confirm: &mut dyn FnMut(&str) -> bool,
) -> Result<Merged<'a>, FileMergeError> {
    if let Some(spliced) = std::str::from_utf8(existing)
        .ok()
        .and_then(|text| splice::cut(text, &addition))
    {
        return spliced
            .merge(addition, overwrite_existing, confirm)
            .map(Merged::Spliced)
            .map_err(FileMergeError::Merge);
    }
    let existing = Kubeconfig::parse_bytes(existing).map_err(|source| FileMergeError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    az_merge(existing, addition, overwrite_existing, confirm)
        .map(Merged::Whole)
        .map_err(FileMergeError::Merge)
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_symlink())
}

/// The file's bytes and permission bits; a missing file is empty with no mode.
fn read_existing(path: &Path) -> Result<(Vec<u8>, Option<u32>), FileMergeError> {
    let read_error = |source| FileMergeError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(source) => return Err(read_error(source)),
    };
    let mode = permission_bits(&file.metadata().map_err(read_error)?);
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(read_error)?;
    Ok((bytes, Some(mode)))
}
