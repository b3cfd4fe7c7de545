//! The user's home directory and `~` expansion, as az's `os.path.expanduser`.

use std::path::PathBuf;

/// `$HOME` (falls back to the current directory when no home is known).
pub fn home() -> PathBuf {
    std::env::home_dir().unwrap_or_else(|| PathBuf::from("."))
}

/// Expand a leading `~` or `~/`.
pub fn expand_user(value: &str) -> PathBuf {
    match value.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None if value == "~" => home(),
        None => PathBuf::from(value),
    }
}
