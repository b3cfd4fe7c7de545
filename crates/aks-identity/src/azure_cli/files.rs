//! Reading files the Azure CLI rewrites in place, and replacing files atomically.
//!
//! az truncates and rewrites `azureProfile.json` and MSAL's cache in place, so a reader can see a half-written
//! file: a read that does not parse is retried for a while before the file is called corrupt, and a corrupt file is
//! never overwritten. Our writes go to a temp file beside the target, then a rename, so az never sees a torn file.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::error::FileError;

/// The UTF-8 byte-order mark az's `Session` writes at the start of `azureProfile.json`.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Attempts and pause of [`read_json`]: four reads 0.5 s apart, i.e. 1.5 s for a concurrent writer to finish
/// (msal-extensions' readers retry 3 times, 0.5 s apart).
const READ_ATTEMPTS: u32 = 4;
const READ_PAUSE: Duration = Duration::from_millis(500);

/// The file's bytes, or `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, FileError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FileError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `bytes` without a leading UTF-8 BOM.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

/// Parse JSON text (after an optional BOM); empty or blank text is `None`.
pub fn parse_json(path: &Path, bytes: &[u8]) -> Result<Option<Value>, FileError> {
    let text = strip_bom(bytes);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(text)
        .map(Some)
        .map_err(|source| FileError::Corrupt {
            path: path.to_path_buf(),
            source,
        })
}

/// Read and parse a JSON file that another tool may be rewriting in place. A missing file is `None`; an empty one
/// or one that does not parse is read again (four reads, 0.5 s apart); still empty is `None`,
/// still unparsable is [`FileError::Corrupt`]. `read` supplies the bytes (a file, or a storage backend).
pub fn read_json_with(
    path: &Path,
    mut read: impl FnMut() -> Result<Option<Vec<u8>>, FileError>,
) -> Result<Option<Value>, FileError> {
    let mut attempt = 1;
    loop {
        let Some(bytes) = read()? else {
            return Ok(None);
        };
        let parsed = parse_json(path, &bytes);
        let settled = matches!(parsed, Ok(Some(_)));
        if settled || attempt >= READ_ATTEMPTS {
            return parsed;
        }
        attempt += 1;
        std::thread::sleep(READ_PAUSE);
    }
}

/// [`read_json_with`] over the file at `path`.
pub fn read_json(path: &Path) -> Result<Option<Value>, FileError> {
    read_json_with(path, || read_optional(path))
}

/// The path a write should replace: the target of a symbolic link, so the link survives.
pub fn resolve_target(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Replace `path` with `bytes` atomically: a temp file in the same directory (fsync'ed), the old file's mode
/// (0600 for a new file), then a rename. Symbolic links are followed. The directory is created if missing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let target = resolve_target(path);
    let write_error = |source| FileError::Write {
        path: target.clone(),
        source,
    };
    let directory = target
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(directory).map_err(write_error)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".aksctl-")
        .suffix(".tmp")
        .tempfile_in(directory)
        .map_err(write_error)?;
    keep_mode(&target, temp.as_file()).map_err(write_error)?;
    temp.write_all(bytes).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    let file = temp
        .persist(&target)
        .map_err(|error| write_error(error.error))?;
    // Stamped once the new content is at the path, ahead of the clock: see [`STAMP_AHEAD`].
    file.set_modified(SystemTime::now() + STAMP_AHEAD)
        .map_err(write_error)?;
    Ok(())
}

/// How far ahead of the clock a replaced file's mtime is set. msal-extensions reloads its cache only when the
/// file's mtime is later than the `time.time()` it took just after its own last read or write
/// (`msal_extensions/token_cache.py` `_reload_if_necessary`), and it writes its stale copy back otherwise. An az
/// that read the old file just before our rename and took its time just after would never see our write: a stamp
/// taken before the rename (the fsync before it can take long under load) or at the kernel's coarse clock is
/// earlier than that `time.time()`. A stamp ahead of the clock makes every reader that synced before it reload;
/// its only cost is that az reloads the file on each look for that long.
const STAMP_AHEAD: Duration = Duration::from_secs(2);

/// Give the temp file the mode of the file it replaces, or 0600.
#[cfg(unix)]
fn keep_mode(target: &Path, temp: &fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match fs::metadata(target) {
        Ok(metadata) => metadata.permissions().mode() & 0o7777,
        Err(_) => 0o600,
    };
    temp.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn keep_mode(_target: &Path, _temp: &fs::File) -> io::Result<()> {
    Ok(())
}

/// Delete a file; a missing one is fine.
pub fn remove_if_present(path: &Path) -> Result<(), FileError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FileError::Write {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn bom_is_optional_when_reading() {
        let dir = tempfile::tempdir().unwrap();
        let with = dir.path().join("with.json");
        let without = dir.path().join("without.json");
        fs::write(&with, b"\xEF\xBB\xBF{\"a\": 1}").unwrap();
        fs::write(&without, b"{\"a\": 1}").unwrap();
        assert_eq!(read_json(&with).unwrap(), Some(serde_json::json!({"a": 1})));
        assert_eq!(
            read_json(&without).unwrap(),
            Some(serde_json::json!({"a": 1}))
        );
        assert_eq!(read_json(&dir.path().join("missing.json")).unwrap(), None);
    }

    #[test]
    fn a_torn_read_is_retried_and_a_corrupt_file_named_after_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("msal_token_cache.json");
        // A writer that is half-way on the first two reads, done on the third.
        let mut reads = 0;
        let value = read_json_with(&path, || {
            reads += 1;
            Ok(Some(if reads < 3 {
                b"{\"Acc".to_vec()
            } else {
                b"{}".to_vec()
            }))
        })
        .unwrap();
        assert_eq!((value, reads), (Some(serde_json::json!({})), 3));

        fs::write(&path, b"{\"AccessToken\": {").unwrap();
        let started = Instant::now();
        let error = read_json(&path).unwrap_err();
        assert!(
            started.elapsed() >= Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(error, FileError::Corrupt { .. }));
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
        assert!(
            error.to_string().contains("refusing to overwrite"),
            "{error}"
        );
    }

    #[test]
    fn a_write_is_stamped_later_than_any_reader_could_have_synced_before_it() {
        // msal-extensions compares the file's mtime with the `time.time()` it took after reading: a reader of the
        // old file that takes its time after our rename must still see our stamp as newer.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("msal_token_cache.json");
        for _ in 0..50 {
            write_atomic(&path, b"{}").unwrap();
            let synced_after = SystemTime::now();
            let stamped = fs::metadata(&path).unwrap().modified().unwrap();
            assert!(stamped > synced_after, "{stamped:?} <= {synced_after:?}");
            assert!(stamped <= synced_after + STAMP_AHEAD, "{stamped:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_keeps_mode_follows_links_and_makes_new_files_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("sub").join("new.json");
        write_atomic(&new, b"1").unwrap();
        assert_eq!(
            fs::metadata(&new).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let real = dir.path().join("real.json");
        fs::write(&real, b"old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
