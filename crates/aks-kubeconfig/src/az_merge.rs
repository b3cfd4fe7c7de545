//! az's renaming and write-merge of a freshly fetched kubeconfig (docs/az-behaviour.md, "aks get-credentials").

use crate::field::Field;
use crate::model::{Kubeconfig, NamedEntry};
use std::collections::HashMap;

/// Why az's merge refused to combine two kubeconfigs. Nothing has been written when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// The existing document lacks `key` entirely (az: `No such key '<key>' in existing config, please confirm
    /// whether it is a valid config file. May back up this config file, delete it and retry the command.`).
    #[error("the existing kubeconfig has no '{key}' key")]
    MissingKey {
        /// `clusters`, `users` or `contexts`.
        key: String,
    },
    /// A different entry with the same name exists and overwriting was neither requested nor confirmed (az:
    /// `A different object named <name> already exists in <key> in your kubeconfig file.`).
    #[error("a different object named {name} already exists in {key}")]
    Conflict {
        /// `clusters`, `users` or `contexts`.
        key: String,
        /// The entry name.
        name: String,
    },
}

/// az's renaming of a freshly fetched kubeconfig before the merge (docs/az-behaviour.md, "Renaming before the merge").
///
/// With `context_name`: `contexts[0].name`, `contexts[0].context.cluster`, `clusters[0].name` and
/// `current-context` become it (the user name is kept). Then the first context whose `context.user` starts with
/// `clusterAdmin` is renamed `<name>-admin` and becomes the current context, so `--admin --context foo` gives
/// context `foo-admin` and cluster `foo`. Where az would crash on a malformed document (no contexts), this
/// skips the step.
pub fn az_rename(addition: &mut Kubeconfig, context_name: Option<&str>) {
    if let Some(name) = context_name {
        if let Some(first) = addition.contexts.as_mut().and_then(|list| list.first_mut()) {
            first.name = Field::Present(name.to_owned());
            if let Some(body) = first.context.as_mut() {
                body.cluster = Field::Present(name.to_owned());
            }
        }
        if let Some(first) = addition.clusters.as_mut().and_then(|list| list.first_mut()) {
            first.name = Field::Present(name.to_owned());
        }
        addition.set_current_context(name);
    }

    let mut admin_name = None;
    for context in addition.contexts.as_mut().into_iter().flatten() {
        let is_admin = context
            .context
            .as_ref()
            .and_then(|body| body.user.as_ref())
            .is_some_and(|user| user.starts_with("clusterAdmin"));
        // az: `ctx['name'] + '-admin'`; a context without a string name is skipped (KeyError/TypeError).
        if let (true, Some(name)) = (is_admin, context.name.as_ref()) {
            let renamed = format!("{name}-admin");
            context.name = Field::Present(renamed.clone());
            admin_name = Some(renamed);
            break;
        }
    }
    if let Some(name) = admin_name {
        addition.set_current_context(&name);
    }
}

/// az's write-merge of `addition` into `existing` (`merge_kubernetes_configurations`,
/// docs/az-behaviour.md "The merge").
///
/// - `existing == None` (an empty file) → the addition, unchanged.
/// - Keys in the order `clusters`, `users`, `contexts`. An addition without entries for a key (missing, null,
///   empty) leaves it alone; an existing document without the key → [`MergeError::MissingKey`]; a null or
///   empty existing list is replaced by the addition's.
/// - Otherwise each new entry, in order, removes the existing entries with the same non-empty name when
///   `overwrite_existing` is set or they are deep-equal; for a different one `confirm(name)` is asked (the CLI
///   prompts on a terminal and answers false otherwise) and a refusal is [`MergeError::Conflict`]. The new
///   entry is then appended, so replaced entries move to the end. Like Python's removal while iterating, the
///   entry right after a removed one is not examined (this only matters for files that already hold duplicate
///   names, which kubectl rejects).
/// - `current-context` becomes the addition's (kept when the addition has none, where az would crash).
///
/// Same-name lookups go through an index, so merging large documents is linear.
pub fn az_merge(
    existing: Option<Kubeconfig>,
    addition: Kubeconfig,
    overwrite_existing: bool,
    confirm: &mut dyn FnMut(&str) -> bool,
) -> Result<Kubeconfig, MergeError> {
    let Some(mut existing) = existing else {
        return Ok(addition);
    };
    let Kubeconfig {
        clusters,
        contexts,
        users,
        current_context,
        ..
    } = addition;
    merge_key(
        &mut existing.clusters,
        clusters,
        "clusters",
        overwrite_existing,
        confirm,
    )?;
    merge_key(
        &mut existing.users,
        users,
        "users",
        overwrite_existing,
        confirm,
    )?;
    merge_key(
        &mut existing.contexts,
        contexts,
        "contexts",
        overwrite_existing,
        confirm,
    )?;
    if !current_context.is_absent() {
        existing.current_context = current_context;
    }
    Ok(existing)
}

/// `_handle_merge(existing, addition, key, replace)` for one key.
pub(crate) fn merge_key<T: NamedEntry>(
    existing: &mut Field<Vec<T>>,
    addition: Field<Vec<T>>,
    key: &str,
    replace: bool,
    confirm: &mut dyn FnMut(&str) -> bool,
) -> Result<(), MergeError> {
    let additions = match addition {
        Field::Present(items) if !items.is_empty() => items,
        _ => return Ok(()),
    };
    let current = match existing {
        Field::Absent => {
            return Err(MergeError::MissingKey {
                key: key.to_owned(),
            });
        }
        Field::Present(items) if !items.is_empty() => std::mem::take(items),
        Field::Null | Field::Present(_) => {
            *existing = Field::Present(additions);
            return Ok(());
        }
    };

    let wanted: HashMap<String, Vec<usize>> = additions
        .iter()
        .filter_map(|entry| entry.name())
        .map(|name| (name.to_owned(), Vec::new()))
        .collect();
    let mut list = LiveList::new(current, wanted);
    for new in additions {
        if let Some(name) = new.name() {
            let positions = list.positions_named(name);
            let mut skip = None;
            for position in positions {
                if skip == Some(position) {
                    continue;
                }
                let old = list.get(position);
                if !(replace || *old == new || confirm(name)) {
                    return Err(MergeError::Conflict {
                        key: key.to_owned(),
                        name: name.to_owned(),
                    });
                }
                list.remove(position);
                skip = list.next_live(position);
            }
        }
        list.push(new);
    }
    *existing = Field::Present(list.into_vec());
    Ok(())
}

/// A list with O(1) removal (tombstones), a name index and "next live entry" lookups (union-find), so that
/// az's remove-then-append loop stays linear on large files. The entries stay where the list held them (no second
/// vector): a removed entry is only marked dead, and dropped when the list is turned back into a vector.
struct LiveList<T> {
    items: Vec<T>,
    /// name → positions of live entries with that name, ascending; only for the names of the addition (the
    /// only ones ever looked up), so a small addition costs no allocation per existing entry.
    by_name: HashMap<String, Vec<usize>>,
    /// `next[i]` leads to the first live entry at or after `i` (`items.len()` is the end sentinel); `next[i] == i`
    /// exactly when entry `i` is live (a removed entry points past itself).
    next: Vec<usize>,
}

impl<T: NamedEntry> LiveList<T> {
    fn new(items: Vec<T>, mut by_name: HashMap<String, Vec<usize>>) -> Self {
        for (position, item) in items.iter().enumerate() {
            if let Some(positions) = item.name().and_then(|name| by_name.get_mut(name)) {
                positions.push(position);
            }
        }
        let next = (0..=items.len()).collect();
        LiveList {
            items,
            by_name,
            next,
        }
    }

    fn push(&mut self, item: T) {
        let position = self.items.len();
        if let Some(positions) = item.name().and_then(|name| self.by_name.get_mut(name)) {
            positions.push(position);
        }
        self.items.push(item);
        // The old sentinel becomes this live entry; add a new sentinel.
        self.next[position] = position;
        self.next.push(position + 1);
    }

    fn positions_named(&self, name: &str) -> Vec<usize> {
        self.by_name.get(name).cloned().unwrap_or_default()
    }

    fn get(&self, position: usize) -> &T {
        debug_assert_eq!(
            self.next[position], position,
            "positions in the index are live"
        );
        &self.items[position]
    }

    fn remove(&mut self, position: usize) {
        if self.next[position] != position {
            return;
        }
        if let Some(name) = self.items[position].name()
            && let Some(positions) = self.by_name.get_mut(name)
        {
            positions.retain(|&other| other != position);
        }
        self.next[position] = position + 1;
    }

    /// The first live entry after `position`, if any.
    fn next_live(&mut self, position: usize) -> Option<usize> {
        let mut current = position + 1;
        while self.next[current] != current {
            let parent = self.next[current];
            self.next[current] = self.next[parent];
            current = parent;
        }
        (current < self.items.len()).then_some(current)
    }

    /// The live entries in order, in the same vector.
    fn into_vec(self) -> Vec<T> {
        let LiveList {
            mut items, next, ..
        } = self;
        let mut position = 0;
        items.retain(|_| {
            let live = next[position] == position;
            position += 1;
            live
        });
        items
    }
}
