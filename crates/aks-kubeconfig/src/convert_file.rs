//! The file step of `kubelogin convert-kubeconfig`: read the merged list, convert, write each user back to
//! its own file (docs/kubelogin.md, "Writing back").

use crate::convert::{ConvertError, ConvertOptions, plan};
use crate::field::Field;
use crate::file::DEFAULT_LOCK_TIMEOUT;
use crate::kubectl_merge::kubectl_merge;
use crate::model::{Kubeconfig, KubeconfigError, User};
use crate::write::{FileLock, SymlinkPolicy, WriteError, resolve_symlinks, write_atomic};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often [`convert_files_with`] starts over when a file changed between reading it and locking it and the
/// new plan needs a file it has not locked (another file of the list took over a user).
const MAX_ATTEMPTS: usize = 5;

/// Why [`convert_files`] failed. No file has been changed when this is returned (see
/// [`ConvertFileError::Write`] for the one exception). kubelogin reports read and parse failures as
/// `unable to load kubeconfig: <err>`.
#[derive(Debug, thiserror::Error)]
pub enum ConvertFileError {
    /// A kubeconfig file could not be read (`NotFound` only for an explicit `--kubeconfig` file).
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A kubeconfig file is not a kubeconfig.
    #[error("cannot parse {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: KubeconfigError,
    },
    /// An explicit `--kubeconfig` file is a dangling symbolic link, or a kubeconfig path is a link loop.
    #[error(transparent)]
    Resolve(WriteError),
    /// kubelogin refused the options or a user (its message, word for word).
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// A file's `<file>.lock` could not be taken.
    #[error(transparent)]
    Lock(WriteError),
    /// A file could not be written. Files written before it in the same run were restored to their previous
    /// contents (best effort).
    #[error(transparent)]
    Write(WriteError),
    /// A file kept changing between reading and locking it.
    #[error("{} changed while it was being converted; try again", path.display())]
    ConcurrentChange {
        /// The file.
        path: PathBuf,
    },
}

impl ConvertFileError {
    /// The file the error is about (the lock file for lock errors; none for conversion refusals).
    pub fn path(&self) -> Option<&Path> {
        match self {
            ConvertFileError::Read { path, .. }
            | ConvertFileError::Parse { path, .. }
            | ConvertFileError::ConcurrentChange { path } => Some(path),
            ConvertFileError::Resolve(error)
            | ConvertFileError::Lock(error)
            | ConvertFileError::Write(error) => Some(error.path()),
            ConvertFileError::Convert(_) => None,
        }
    }
}

/// What to do with a path that does not exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingFiles {
    /// Skip it, as client-go does for `KUBECONFIG` entries and the default `~/.kube/config`.
    #[default]
    Skip,
    /// Fail with [`ConvertFileError::Read`], as client-go does for an explicit `--kubeconfig` file.
    Error,
}

/// Options of [`convert_files_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertFilesOptions {
    /// Missing paths: skipped or an error.
    pub missing_files: MissingFiles,
    /// How long to wait for each `<file>.lock`.
    pub lock_timeout: Duration,
}

impl Default for ConvertFilesOptions {
    fn default() -> Self {
        ConvertFilesOptions {
            missing_files: MissingFiles::Skip,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }
}

/// A converted user and the file it was written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertedUser {
    /// The user entry's name.
    pub name: String,
    /// The file it came from and was written back to.
    pub file: PathBuf,
}

/// What [`convert_files`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvertReport {
    /// The converted users, in merged (file, then entry) order.
    pub converted: Vec<ConvertedUser>,
    /// The files rewritten, in list order (empty when nothing was converted: no file is touched then).
    pub written: Vec<PathBuf>,
}

/// Reads the merged KUBECONFIG list (or one --kubeconfig file), converts, and writes each converted user back
/// to the file it came from (kubectl_merge origins); unknown fields, other users and other files untouched;
/// atomic, under `<file>.lock`, file mode kept; nothing written when anything fails. A symbolic link is written
/// through (temp file beside the target, renamed onto it, the link kept) under `<link>.lock` and
/// `<target>.lock` ([`FileLock::acquire_following`]); an explicit file that is a dangling link, or a link loop,
/// is [`ConvertFileError::Resolve`].
///
/// `paths` is the `KUBECONFIG` list (or `[~/.kube/config]`): missing files are skipped, repeated paths read
/// once. Use [`convert_explicit_file`] for `--kubeconfig`. A rewritten file is re-serialized whole, as client-go
/// does (sorted keys, comments lost), but keeps every key this crate does not model.
pub fn convert_files(
    paths: &[PathBuf],
    options: &ConvertOptions,
) -> Result<ConvertReport, ConvertFileError> {
    convert_files_with(paths, options, &ConvertFilesOptions::default())
}

/// [`convert_files`] for kubelogin's `--kubeconfig <file>`: only that file is read and written, and a missing
/// file is an error.
pub fn convert_explicit_file(
    path: &Path,
    options: &ConvertOptions,
) -> Result<ConvertReport, ConvertFileError> {
    convert_files_with(
        &[path.to_path_buf()],
        options,
        &ConvertFilesOptions {
            missing_files: MissingFiles::Error,
            ..ConvertFilesOptions::default()
        },
    )
}

/// One file as read: its bytes (`None` when missing) and document.
struct Snapshot {
    path: PathBuf,
    bytes: Option<Vec<u8>>,
    document: Kubeconfig,
}

fn read_bytes(path: &Path, missing: MissingFiles) -> Result<Option<Vec<u8>>, ConvertFileError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound && missing == MissingFiles::Skip => {
            Ok(None)
        }
        Err(source) => match resolve_symlinks(path) {
            // A link that leads nowhere, or in a circle: say so rather than "no such file".
            Err(error @ (WriteError::DanglingSymlink { .. } | WriteError::SymlinkLoop { .. })) => {
                Err(ConvertFileError::Resolve(error))
            }
            _ => Err(ConvertFileError::Read {
                path: path.to_path_buf(),
                source,
            }),
        },
    }
}

fn read_all(paths: &[PathBuf], missing: MissingFiles) -> Result<Vec<Snapshot>, ConvertFileError> {
    let mut snapshots: Vec<Snapshot> = Vec::with_capacity(paths.len());
    for path in paths {
        if snapshots.iter().any(|snapshot| &snapshot.path == path) {
            continue;
        }
        let bytes = read_bytes(path, missing)?;
        let document = match &bytes {
            Some(bytes) => Kubeconfig::parse_bytes(bytes)
                .map_err(|source| ConvertFileError::Parse {
                    path: path.clone(),
                    source,
                })?
                .unwrap_or_default(),
            None => Kubeconfig::default(),
        };
        snapshots.push(Snapshot {
            path: path.clone(),
            bytes,
            document,
        });
    }
    Ok(snapshots)
}

/// Converted users grouped by the index of their file of origin in the snapshots.
type UsersByFile = BTreeMap<usize, Vec<(String, User)>>;

/// Merges the snapshots as kubectl does, converts, and groups the converted users by file of origin.
fn plan_files(
    snapshots: &[Snapshot],
    options: &ConvertOptions,
) -> Result<(Vec<ConvertedUser>, UsersByFile), ConvertFileError> {
    let documents: Vec<(PathBuf, Kubeconfig)> = snapshots
        .iter()
        .map(|snapshot| (snapshot.path.clone(), snapshot.document.clone()))
        .collect();
    let merged = kubectl_merge(&documents);
    let planned = plan(&merged.config, options)?;
    let mut by_file = UsersByFile::new();
    let mut converted = Vec::with_capacity(planned.len());
    for (_, name, user) in planned {
        let origin = merged
            .user_origin(&name)
            .expect("every merged user has an origin");
        let index = snapshots
            .iter()
            .position(|snapshot| snapshot.path == origin)
            .expect("origins are snapshot paths");
        converted.push(ConvertedUser {
            name: name.clone(),
            file: origin.to_path_buf(),
        });
        by_file.entry(index).or_default().push((name, user));
    }
    Ok((converted, by_file))
}

/// [`convert_files`] with explicit options.
///
/// Steps: validate the options (before any file is read, as kubelogin); read and parse every file;
/// [`kubectl_merge`]; convert the merged view (kubelogin's rules, [`crate::convert`]); take `<file>.lock` for each
/// file that gets a converted user (in path order, so two runs cannot deadlock); re-read those files and, if one
/// changed since it was read, plan again from what the files hold now (still under the locks, so a run that waited
/// for another writer finishes; it starts over only if the new plan needs a file it has not locked); replace each
/// converted user's body in the first entry of its name in its file; write every file with [`write_atomic`] (mode
/// kept, symbolic links followed). If a write fails, the files already written are restored.
pub fn convert_files_with(
    paths: &[PathBuf],
    options: &ConvertOptions,
    file_options: &ConvertFilesOptions,
) -> Result<ConvertReport, ConvertFileError> {
    options.validate()?;
    let mut last_changed = None;
    for _ in 0..MAX_ATTEMPTS {
        let mut snapshots = read_all(paths, file_options.missing_files)?;
        let (mut converted, mut by_file) = plan_files(&snapshots, options)?;
        if by_file.is_empty() {
            return Ok(ConvertReport {
                converted,
                written: Vec::new(),
            });
        }

        let mut locks = Vec::with_capacity(by_file.len());
        let mut locked = Vec::with_capacity(by_file.len());
        for index in by_file.keys() {
            let path = &snapshots[*index].path;
            locks.push(
                FileLock::acquire_following(path, file_options.lock_timeout).map_err(|error| {
                    match error {
                        WriteError::DanglingSymlink { .. } | WriteError::SymlinkLoop { .. } => {
                            ConvertFileError::Resolve(error)
                        }
                        other => ConvertFileError::Lock(other),
                    }
                })?,
            );
            locked.push(path.clone());
        }
        let mut changed = None;
        for index in by_file.keys() {
            let snapshot = &snapshots[*index];
            if read_bytes(&snapshot.path, MissingFiles::Skip)? != snapshot.bytes {
                changed = Some(snapshot.path.clone());
                break;
            }
        }
        if let Some(path) = changed {
            // Another writer got the lock first. The locked files cannot change any more: plan again from them.
            snapshots = read_all(paths, file_options.missing_files)?;
            (converted, by_file) = plan_files(&snapshots, options)?;
            if by_file
                .keys()
                .any(|index| !locked.contains(&snapshots[*index].path))
            {
                drop(locks);
                last_changed = Some(path);
                continue;
            }
            if by_file.is_empty() {
                return Ok(ConvertReport {
                    converted,
                    written: Vec::new(),
                });
            }
        }

        let mut outputs = Vec::with_capacity(by_file.len());
        for (index, users) in &by_file {
            let snapshot = &snapshots[*index];
            let mut document = snapshot.document.clone();
            for (name, user) in users {
                if let Some(entry) = document.named_user_mut(name) {
                    entry.user = Field::Present(user.clone());
                }
            }
            outputs.push((snapshot, document.to_yaml()));
        }
        write_all(&outputs)?;
        drop(locks);
        return Ok(ConvertReport {
            converted,
            written: outputs
                .iter()
                .map(|(snapshot, _)| snapshot.path.clone())
                .collect(),
        });
    }
    Err(ConvertFileError::ConcurrentChange {
        path: last_changed.unwrap_or_default(),
    })
}

/// Writes every file; on a failure, puts back the ones already written.
fn write_all(outputs: &[(&Snapshot, String)]) -> Result<(), ConvertFileError> {
    for (position, (snapshot, text)) in outputs.iter().enumerate() {
        if let Err(error) = write_atomic(&snapshot.path, text.as_bytes(), SymlinkPolicy::Follow) {
            for (written, _) in &outputs[..position] {
                if let Some(bytes) = &written.bytes {
                    // Best effort: the original error is the one worth reporting.
                    let _ = write_atomic(&written.path, bytes, SymlinkPolicy::Follow);
                }
            }
            return Err(ConvertFileError::Write(error));
        }
    }
    Ok(())
}
