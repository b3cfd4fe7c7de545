//! The cache as a JSON tree: sections of entries, kept in file order with unknown content untouched.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::azure_cli::error::FileError;
use crate::azure_cli::python_json::{Layout, to_python_json};

/// The Azure CLI's public client id; every user token az stores carries it.
pub const AZURE_CLI_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// A section of the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Access tokens.
    AccessToken,
    /// Refresh tokens.
    RefreshToken,
    /// Id tokens.
    IdToken,
    /// Accounts.
    Account,
    /// Per-client metadata (`family_id`).
    AppMetadata,
}

impl Section {
    /// The section's key in the file.
    pub fn name(self) -> &'static str {
        match self {
            Section::AccessToken => "AccessToken",
            Section::RefreshToken => "RefreshToken",
            Section::IdToken => "IdToken",
            Section::Account => "Account",
            Section::AppMetadata => "AppMetadata",
        }
    }
}

/// The token cache: the file's tree and where it came from (for error messages).
#[derive(Clone)]
pub struct TokenCache {
    path: PathBuf,
    root: Map<String, Value>,
    changed: bool,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("path", &self.path)
            .field("sections", &self.root.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// An empty cache that will be saved as `path`.
    pub fn empty(path: impl Into<PathBuf>) -> TokenCache {
        TokenCache {
            path: path.into(),
            root: Map::new(),
            changed: false,
        }
    }

    /// The cache parsed from `value` (`None`: empty). The top level and each known section must be objects,
    /// or the file is refused.
    pub fn from_value(
        path: impl Into<PathBuf>,
        value: Option<Value>,
    ) -> Result<TokenCache, FileError> {
        let path = path.into();
        let root = match value {
            None => Map::new(),
            Some(Value::Object(root)) => root,
            Some(_) => return Err(shape(&path, "the top level is not an object".into())),
        };
        for section in ALL_SECTIONS {
            if let Some(value) = root.get(section.name()) {
                let entries_are_objects = value
                    .as_object()
                    .is_some_and(|entries| entries.values().all(Value::is_object));
                if !entries_are_objects {
                    return Err(shape(
                        &path,
                        format!("{} is not an object of entries", section.name()),
                    ));
                }
            }
        }
        Ok(TokenCache {
            path,
            root,
            changed: false,
        })
    }

    /// Whether an entry was stored or removed since the cache was read.
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// The file this cache belongs to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole tree.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.root
    }

    /// How many entries the cache holds, over all known sections (to refuse writing back less than was read).
    pub fn entry_count(&self) -> usize {
        ALL_SECTIONS
            .iter()
            .map(|&section| self.entries(section).count())
            .sum()
    }

    /// The bytes MSAL Python writes: `json.dumps(cache, indent=4)`, ASCII, no BOM, no trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_python_json(&self.root, Layout::Indent4)
    }

    /// The entries of a section, with their keys, in file order.
    pub fn keyed_entries(
        &self,
        section: Section,
    ) -> impl Iterator<Item = (&String, &Map<String, Value>)> {
        self.root
            .get(section.name())
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(key, entry)| entry.as_object().map(|entry| (key, entry)))
    }

    /// The entries of a section, in file order.
    pub fn entries(&self, section: Section) -> impl Iterator<Item = &Map<String, Value>> {
        self.keyed_entries(section).map(|(_, entry)| entry)
    }

    /// MSAL's `modify` with new values: store `entry` under `key` (an existing key keeps its place; a new
    /// section is appended).
    pub(crate) fn put(&mut self, section: Section, key: String, entry: Map<String, Value>) {
        let entries = self
            .root
            .entry(section.name())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(entries) = entries.as_object_mut() {
            entries.insert(key, Value::Object(entry));
            self.changed = true;
        }
    }

    /// Remove the entries of `section` for which `remove` is true; returns how many. The section stays, maybe
    /// empty, as MSAL leaves it.
    pub(crate) fn remove_where(
        &mut self,
        section: Section,
        mut remove: impl FnMut(&Map<String, Value>) -> bool,
    ) -> usize {
        let Some(entries) = self
            .root
            .get_mut(section.name())
            .and_then(Value::as_object_mut)
        else {
            return 0;
        };
        let before = entries.len();
        entries.retain(|_, entry| !entry.as_object().is_some_and(&mut remove));
        let removed = before - entries.len();
        self.changed |= removed > 0;
        removed
    }
}

/// Every section, in the order MSAL adds them for a sign-in.
pub const ALL_SECTIONS: [Section; 5] = [
    Section::AccessToken,
    Section::Account,
    Section::IdToken,
    Section::RefreshToken,
    Section::AppMetadata,
];

/// A field as a string (`None` when absent, null or not a string).
pub fn text<'a>(entry: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    entry.get(field).and_then(Value::as_str)
}

/// An epoch-seconds field: MSAL writes strings, but reads with `int()`, so numbers count too.
pub fn epoch(entry: &Map<String, Value>, field: &str) -> Option<i64> {
    match entry.get(field)? {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_i64(),
        _ => None,
    }
}

fn shape(path: &Path, problem: String) -> FileError {
    FileError::Shape {
        path: path.to_path_buf(),
        problem,
    }
}
