//! kubectl's read-merge of a `KUBECONFIG` list, and splitting the variable.

use crate::field::Field;
use crate::model::{Kubeconfig, NamedEntry};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The merged view of several kubeconfig files, remembering which file each entry came from
/// (kubelogin's convert-kubeconfig writes each user back to its own file, docs/kubelogin.md "Writing back").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MergedKubeconfig {
    /// The merged document.
    pub config: Kubeconfig,
    cluster_origins: HashMap<String, PathBuf>,
    context_origins: HashMap<String, PathBuf>,
    user_origins: HashMap<String, PathBuf>,
    current_context_origin: Option<PathBuf>,
}

impl MergedKubeconfig {
    /// The file the named cluster came from.
    pub fn cluster_origin(&self, name: &str) -> Option<&Path> {
        self.cluster_origins.get(name).map(PathBuf::as_path)
    }

    /// The file the named context came from.
    pub fn context_origin(&self, name: &str) -> Option<&Path> {
        self.context_origins.get(name).map(PathBuf::as_path)
    }

    /// The file the named user came from.
    pub fn user_origin(&self, name: &str) -> Option<&Path> {
        self.user_origins.get(name).map(PathBuf::as_path)
    }

    /// The file that set the merged `current-context`.
    pub fn current_context_origin(&self) -> Option<&Path> {
        self.current_context_origin.as_deref()
    }
}

/// kubectl's (client-go's) read-merge of a `KUBECONFIG` list, in list order.
///
/// The first file that defines a cluster, context or user name wins, and within one file the first entry of
/// a name wins (client-go rejects such files; we keep the first instead). The first non-empty
/// `current-context` wins, and so does the first file that sets any other top-level key (`preferences`,
/// `extensions`, …). Entries without a name are dropped, as client-go keys entries by name. Lists in the result
/// are in order of first appearance and are always present (`[]` when no file has entries).
pub fn kubectl_merge(documents: &[(PathBuf, Kubeconfig)]) -> MergedKubeconfig {
    let mut merged = MergedKubeconfig::default();
    let mut clusters = Vec::new();
    let mut contexts = Vec::new();
    let mut users = Vec::new();
    for (path, document) in documents {
        take_new(
            &document.clusters,
            &mut clusters,
            &mut merged.cluster_origins,
            path,
        );
        take_new(
            &document.contexts,
            &mut contexts,
            &mut merged.context_origins,
            path,
        );
        take_new(&document.users, &mut users, &mut merged.user_origins, path);
        if merged.current_context_origin.is_none()
            && let Some(name) = document.current_context().filter(|name| !name.is_empty())
        {
            merged.config.set_current_context(name);
            merged.current_context_origin = Some(path.clone());
        }
        for (key, value) in &document.other {
            if !merged.config.other.contains_key(key) {
                merged.config.other.insert(key.clone(), value.clone());
            }
        }
    }
    merged.config.clusters = Field::Present(clusters);
    merged.config.contexts = Field::Present(contexts);
    merged.config.users = Field::Present(users);
    merged
}

fn take_new<T: NamedEntry>(
    source: &Field<Vec<T>>,
    target: &mut Vec<T>,
    origins: &mut HashMap<String, PathBuf>,
    path: &Path,
) {
    for entry in crate::model::entries(source) {
        if let Some(name) = entry.name()
            && !origins.contains_key(name)
        {
            origins.insert(name.to_owned(), path.to_owned());
            target.push(entry.clone());
        }
    }
}

/// Splits a `KUBECONFIG` value on the OS path-list separator (`:` on Unix, `;` on Windows) the way client-go
/// does: empty entries are dropped and repeated paths are kept once, at their first position.
pub fn split_kubeconfig_env(value: impl AsRef<OsStr>) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    split_kubeconfig_env_with_empty(value)
        .into_iter()
        .filter(|path| !path.as_os_str().is_empty())
        .filter(|path| seen.insert(path.clone()))
        .collect()
}

/// Splits a `KUBECONFIG` value on the OS path-list separator keeping every entry, empty ones included, so
/// the CLI can warn like az (`Invalid path '' defined in KUBECONFIG.`, docs/az-behaviour.md "Choosing the file").
pub fn split_kubeconfig_env_with_empty(value: impl AsRef<OsStr>) -> Vec<PathBuf> {
    std::env::split_paths(value.as_ref()).collect()
}

/// The first entry of a `KUBECONFIG` value, which `az aks get-credentials` writes to instead of the default
/// `~/.kube/config` (docs/az-behaviour.md, "Choosing the file"). `None` when that entry is empty (`KUBECONFIG=":/a"` or
/// `""`); az then warns `Invalid path '' defined in KUBECONFIG.` and keeps the default.
pub fn first_kubeconfig_env_entry(value: impl AsRef<OsStr>) -> Option<PathBuf> {
    split_kubeconfig_env_with_empty(value)
        .into_iter()
        .next()
        .filter(|path| !path.as_os_str().is_empty())
}
