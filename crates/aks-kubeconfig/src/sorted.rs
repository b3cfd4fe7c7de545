//! Writing the model with keys sorted at every level, straight from the typed structs.
//!
//! [`Kubeconfig::to_yaml`] writes what `serde_json::to_value` followed by `Value::sort_all_objects` would give,
//! and hands the serializer exactly the same calls (maps with their length, `serialize_str`, `serialize_unit` for
//! `null`, numbers as `serde_json` stores them), but without building that intermediate value: on a file of
//! thousands of contexts the copy and the sort cost as much as writing the YAML itself, and doubled the memory.
//!
//! Each struct lists its entries as its derived `Serialize` would (modelled fields that are not
//! [`Field::Absent`], then the `other` map). A key of `other` equal to a modelled key wins, as it does through
//! `serde_json::to_value` (the flattened map is written last and a JSON object keeps the last value).
//!
//! A document of thousands of list entries is written in pieces on several threads ([`to_yaml`]); the pieces
//! join to exactly what one writer gives.

use crate::field::Field;
use crate::model::{
    AuthProvider, Cluster, Context, ExecConfig, ExecEnvVar, Extra, Kubeconfig, NamedCluster,
    NamedContext, NamedUser, User,
};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use std::ops::Range;

/// A model struct (or a plain map) written as a mapping with sorted keys.
pub(crate) struct Sorted<'a>(pub(crate) &'a dyn Entries);

/// A struct's mapping entries, in the order its derived `Serialize` writes them.
pub(crate) trait Entries: Sync {
    /// Appends the entries to `out`.
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>);
}

/// A list of structs, written as a sequence of sorted mappings.
pub(crate) trait EntryList: Sync {
    /// The item at `index`.
    fn at(&self, index: usize) -> &dyn Entries;
}

impl<T: Entries> EntryList for Vec<T> {
    fn at(&self, index: usize) -> &dyn Entries {
        &self[index]
    }
}

/// One value of a mapping, borrowed from the model.
pub(crate) enum Item<'a> {
    /// `null` ([`Field::Null`]).
    Null,
    /// A modelled boolean.
    Bool(bool),
    /// A modelled string.
    Str(&'a str),
    /// A modelled list of strings.
    Strings(&'a [String]),
    /// A kept value (from an `other` map).
    Value(&'a Value),
    /// A kept map of values (`auth-provider.config`).
    Object(&'a Extra),
    /// A modelled struct.
    Map(&'a dyn Entries),
    /// A modelled list of structs, or the items `range` of it.
    List(&'a dyn EntryList, Range<usize>),
}

/// A struct's entries with the keys sorted (a key of `other` equal to a modelled key replaces it).
fn sorted_entries(value: &dyn Entries) -> Vec<(&str, Item<'_>)> {
    let mut entries = Vec::new();
    value.entries(&mut entries);
    // Stable: for a repeated key the `other` entry (pushed last) follows the modelled one, and wins.
    entries.sort_by(|left, right| left.0.cmp(right.0));
    entries.dedup_by(|later, earlier| {
        let repeated = later.0 == earlier.0;
        if repeated {
            std::mem::swap(later, earlier);
        }
        repeated
    });
    entries
}

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_entries(&sorted_entries(self.0), serializer)
    }
}

fn serialize_entries<S: Serializer>(
    entries: &[(&str, Item<'_>)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(entries.len()))?;
    for (key, item) in entries {
        map.serialize_entry(key, item)?;
    }
    map.end()
}

fn serialize_items<S: Serializer>(
    list: &dyn EntryList,
    range: Range<usize>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(range.len()))?;
    for index in range {
        seq.serialize_element(&Sorted(list.at(index)))?;
    }
    seq.end()
}

impl Serialize for Item<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Item::Null => serializer.serialize_unit(),
            Item::Bool(value) => serializer.serialize_bool(*value),
            Item::Str(text) => serializer.serialize_str(text),
            Item::Strings(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in *items {
                    seq.serialize_element(item.as_str())?;
                }
                seq.end()
            }
            Item::Value(value) => SortedValue(value).serialize(serializer),
            Item::Object(map) => serialize_object(map, serializer),
            Item::Map(entries) => Sorted(*entries).serialize(serializer),
            Item::List(list, range) => serialize_items(*list, range.clone(), serializer),
        }
    }
}

/// Documents with fewer list entries than this are written on the calling thread.
const MIN_PARALLEL_ENTRIES: usize = 2048;

/// Writes `document` as YAML, in up to `pieces` pieces on as many threads when it is large.
///
/// The pieces are consecutive runs of the top-level entries, cut between two entries or inside a list (whose
/// later items are written as a sequence of their own: serde-saphyr writes a list under a key without indenting
/// it, so its items read the same either way). Each piece is written on its own and the texts are joined; the
/// result is byte for byte that of one writer (see the tests).
pub(crate) fn to_yaml(document: &Kubeconfig) -> String {
    to_yaml_with(document, None, MIN_PARALLEL_ENTRIES)
}

/// [`to_yaml`] in `pieces` pieces (default: one per available core) when the document has `min_entries` list
/// entries or more.
fn to_yaml_with(document: &Kubeconfig, pieces: Option<usize>, min_entries: usize) -> String {
    let entries = sorted_entries(document);
    let weight = |item: &Item<'_>| match item {
        Item::List(_, range) => range.len().max(1),
        _ => 1,
    };
    let total: usize = entries.iter().map(|(_, item)| weight(item)).sum();
    let pieces = match pieces {
        _ if total < min_entries => 1,
        Some(pieces) => pieces,
        None => std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(4),
    };
    if pieces < 2 {
        return write(|options| serde_saphyr::to_string_with_options(&Sorted(document), options));
    }

    // Cut before the entry (or list item) at each share of the total; a list cut into parts keeps the first under
    // its key and writes each later part as a sequence.
    let mut cuts: Vec<usize> = (1..pieces).map(|share| total * share / pieces).collect();
    cuts.dedup();
    let mut cuts = cuts.into_iter().filter(|cut| *cut > 0).peekable();
    let mut plan: Vec<Vec<Segment<'_>>> = vec![Vec::new()];
    let mut current: Vec<(&str, Item<'_>)> = Vec::new();
    fn new_piece<'a>(plan: &mut Vec<Vec<Segment<'a>>>, current: &mut Vec<(&'a str, Item<'a>)>) {
        if !current.is_empty() {
            let piece = plan.last_mut().expect("a piece");
            piece.push(Segment::Entries(std::mem::take(current)));
        }
        plan.push(Vec::new());
    }
    let mut unit = 0;
    for (key, item) in entries {
        let len = weight(&item);
        if cuts.next_if_eq(&unit).is_some() {
            new_piece(&mut plan, &mut current);
        }
        match item {
            Item::List(list, range) if !range.is_empty() => {
                let mut start = range.start;
                while let Some(cut) = cuts.next_if(|cut| *cut < unit + len) {
                    let at = range.start + (cut - unit);
                    if start == range.start {
                        current.push((key, Item::List(list, start..at)));
                    } else {
                        let piece = plan.last_mut().expect("a piece");
                        piece.push(Segment::Items(list, start..at));
                    }
                    new_piece(&mut plan, &mut current);
                    start = at;
                }
                if start == range.start {
                    current.push((key, Item::List(list, range)));
                } else {
                    let piece = plan.last_mut().expect("a piece");
                    piece.push(Segment::Items(list, start..range.end));
                }
            }
            item => current.push((key, item)),
        }
        unit += len;
    }
    if !current.is_empty() {
        plan.last_mut()
            .expect("a piece")
            .push(Segment::Entries(current));
    }

    let write_piece = |segments: &[Segment<'_>]| {
        let mut text = String::new();
        for segment in segments {
            text.push_str(&write(|options| {
                serde_saphyr::to_string_with_options(segment, options)
            }));
        }
        text
    };
    std::thread::scope(|scope| {
        let (first, rest) = plan.split_first().expect("a piece");
        let handles: Vec<_> = rest
            .iter()
            .map(|segments| {
                std::thread::Builder::new()
                    .stack_size(crate::yaml_settings::PIECE_STACK_SIZE)
                    .spawn_scoped(scope, || write_piece(segments))
                    .map_err(|_| segments)
            })
            .collect();
        let mut text = write_piece(first);
        for handle in handles {
            match handle {
                Ok(handle) => text.push_str(&handle.join().expect("writing YAML does not panic")),
                Err(segments) => text.push_str(&write_piece(segments)),
            }
        }
        text
    })
}

/// One top-level key and its value, as [`to_yaml`] writes them inside the document (a block mapping's entries are
/// written one after the other, so a document's text is its keys' texts joined).
pub(crate) fn entry_to_yaml(key: &str, item: Item<'_>) -> String {
    let entries = Segment::Entries(vec![(key, item)]);
    write(|options| serde_saphyr::to_string_with_options(&entries, options))
}

/// One entry of a top-level list, as [`to_yaml`] writes it there (`- ` at column 0: serde-saphyr does not indent a
/// list under its key, so the entry reads the same inside the document and alone).
pub(crate) fn list_item_to_yaml(entry: &dyn Entries) -> String {
    let item = [Sorted(entry)];
    let item: &[Sorted<'_>] = &item;
    write(|options| serde_saphyr::to_string_with_options(&item, options))
}

/// Runs a serde-saphyr writer with the options of [`Kubeconfig::to_yaml`].
fn write(
    writer: impl FnOnce(serde_saphyr::SerializerOptions) -> Result<String, serde_saphyr::SerializeError>,
) -> String {
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    writer(options).expect("a kubeconfig has only string keys and always serializes to YAML")
}

/// A part of a piece of the document.
enum Segment<'a> {
    /// Top-level entries (the last may be the first part of a list).
    Entries(Vec<(&'a str, Item<'a>)>),
    /// Later items of a top-level list, written as a sequence.
    Items(&'a dyn EntryList, Range<usize>),
}

impl Serialize for Segment<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Segment::Entries(entries) => serialize_entries(entries, serializer),
            Segment::Items(list, range) => serialize_items(*list, range.clone(), serializer),
        }
    }
}

/// A JSON value with the keys of every object sorted (`Value::sort_all_objects`, without changing the value).
struct SortedValue<'a>(&'a Value);

impl Serialize for SortedValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => serialize_object(map, serializer),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&SortedValue(item))?;
                }
                seq.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

fn serialize_object<S: Serializer>(map: &Extra, serializer: S) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|left, right| left.0.cmp(right.0));
    let mut out = serializer.serialize_map(Some(entries.len()))?;
    for (key, value) in entries {
        out.serialize_entry(key.as_str(), &SortedValue(value))?;
    }
    out.end()
}

/// Appends a modelled field unless it is absent.
fn push<'a, T>(
    out: &mut Vec<(&'a str, Item<'a>)>,
    key: &'static str,
    field: &'a Field<T>,
    item: impl FnOnce(&'a T) -> Item<'a>,
) {
    match field {
        Field::Absent => {}
        Field::Null => out.push((key, Item::Null)),
        Field::Present(value) => out.push((key, item(value))),
    }
}

fn push_other<'a>(out: &mut Vec<(&'a str, Item<'a>)>, other: &'a Extra) {
    out.extend(
        other
            .iter()
            .map(|(key, value)| (key.as_str(), Item::Value(value))),
    );
}

/// A whole modelled list.
fn list<T: Entries>(items: &Vec<T>) -> Item<'_> {
    Item::List(items, 0..items.len())
}

/// Appends a modelled string field unless it is absent.
fn push_text<'a>(out: &mut Vec<(&'a str, Item<'a>)>, key: &'static str, field: &'a Field<String>) {
    push(out, key, field, |value| Item::Str(value));
}

// The structs are destructured in full so that a new field cannot be left out of the written file.

impl Entries for Kubeconfig {
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>) {
        let Kubeconfig {
            clusters,
            contexts,
            users,
            current_context,
            other,
        } = self;
        out.reserve(4 + other.len());
        push(out, "clusters", clusters, list);
        push(out, "contexts", contexts, list);
        push(out, "users", users, list);
        push_text(out, "current-context", current_context);
        push_other(out, other);
    }
}

impl Entries for NamedCluster {
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>) {
        let NamedCluster {
            name,
            cluster,
            other,
        } = self;
        out.reserve(2 + other.len());
        push_text(out, "name", name);
        push(out, "cluster", cluster, |body| Item::Map(body));
        push_other(out, other);
    }
}

impl Entries for Cluster {
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>) {
        let Cluster { server, other } = self;
        out.reserve(1 + other.len());
        push_text(out, "server", server);
        push_other(out, other);
    }
}

impl Entries for NamedContext {
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>) {
        let NamedContext {
            name,
            context,
            other,
        } = self;
        out.reserve(2 + other.len());
        push_text(out, "name", name);
        push(out, "context", context, |body| Item::Map(body));
        push_other(out, other);
    }
}

impl Entries for Context {
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>) {
        let Context {
            cluster,
            user,
            namespace,
            other,
        } = self;
        out.reserve(3 + other.len());
        push_text(out, "cluster", cluster);
        push_text(out, "user", user);
        push_text(out, "namespace", namespace);
        push_other(out, other);
    }
}

impl Entries for NamedUser {
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>) {
        let NamedUser { name, user, other } = self;
        out.reserve(2 + other.len());
        push_text(out, "name", name);
        push(out, "user", user, |body| Item::Map(body));
        push_other(out, other);
    }
}

impl Entries for User {
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>) {
        let User {
            exec,
            auth_provider,
            other,
        } = self;
        out.reserve(2 + other.len());
        push(out, "exec", exec, |body| Item::Map(body));
        push(out, "auth-provider", auth_provider, |body| Item::Map(body));
        push_other(out, other);
    }
}

impl Entries for ExecConfig {
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>) {
        let ExecConfig {
            api_version,
            command,
            args,
            env,
            install_hint,
            provide_cluster_info,
            interactive_mode,
            other,
        } = self;
        out.reserve(7 + other.len());
        push_text(out, "apiVersion", api_version);
        push_text(out, "command", command);
        push(out, "args", args, |items| Item::Strings(items));
        push(out, "env", env, list);
        push_text(out, "installHint", install_hint);
        push(out, "provideClusterInfo", provide_cluster_info, |value| {
            Item::Bool(*value)
        });
        push_text(out, "interactiveMode", interactive_mode);
        push_other(out, other);
    }
}

impl Entries for ExecEnvVar {
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>) {
        let ExecEnvVar { name, value, other } = self;
        out.reserve(2 + other.len());
        push_text(out, "name", name);
        push_text(out, "value", value);
        push_other(out, other);
    }
}

impl Entries for AuthProvider {
    fn entries<'a>(&'a self, out: &mut Vec<(&'a str, Item<'a>)>) {
        let AuthProvider {
            name,
            config,
            other,
        } = self;
        out.reserve(2 + other.len());
        push_text(out, "name", name);
        push(out, "config", config, Item::Object);
        push_other(out, other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;

    /// A document with lists of `count` entries built from the test fixtures (strings that need quoting, exec
    /// users, unknown keys, nulls), and a few other top-level keys.
    fn document(count: usize) -> Kubeconfig {
        let aks = Kubeconfig::parse(include_str!("../tests/fixtures/aks-exec.yaml"))
            .unwrap()
            .unwrap();
        let kubectl = Kubeconfig::parse(include_str!("../tests/fixtures/kubectl-written.yaml"))
            .unwrap()
            .unwrap();
        let mut document = kubectl.clone();
        let sources = [&aks, &kubectl];
        let pick = |index: usize| sources[index % 2];
        document.clusters = Field::Present(
            (0..count)
                .flat_map(|index| pick(index).clusters.as_ref().cloned().unwrap_or_default())
                .take(count)
                .collect(),
        );
        document.contexts = Field::Present(
            (0..count)
                .flat_map(|index| {
                    pick(index + 1)
                        .contexts
                        .as_ref()
                        .cloned()
                        .unwrap_or_default()
                })
                .take(count)
                .collect(),
        );
        document.users = Field::Present(
            (0..count)
                .flat_map(|index| pick(index).users.as_ref().cloned().unwrap_or_default())
                .take(count)
                .collect(),
        );
        document.other.insert(
            "zz-last".to_owned(),
            serde_json::json!(["on", {"b": null, "a": "2024-01-01"}]),
        );
        document
    }

    #[test]
    fn pieces_join_to_what_one_writer_writes() {
        for count in [0, 1, 2, 3, 7, 40] {
            let mut document = document(count);
            let whole = to_yaml_with(&document, Some(1), 0);
            for pieces in 2..9 {
                assert_eq!(
                    to_yaml_with(&document, Some(pieces), 0),
                    whole,
                    "{count} entries, {pieces} pieces"
                );
            }
            // A null list, an empty list, and no current context.
            document.contexts = Field::Null;
            document.users = Field::Present(Vec::new());
            document.current_context = Field::Absent;
            let whole = to_yaml_with(&document, Some(1), 0);
            for pieces in 2..9 {
                assert_eq!(
                    to_yaml_with(&document, Some(pieces), 0),
                    whole,
                    "{count} entries, {pieces} pieces"
                );
            }
        }
    }

    #[test]
    fn a_large_document_is_written_as_one_writer_writes_it() {
        let document = document(3000);
        let whole = to_yaml_with(&document, Some(1), 0);
        assert_eq!(
            to_yaml_with(&document, Some(2), MIN_PARALLEL_ENTRIES),
            whole
        );
        assert_eq!(document.to_yaml(), whole);
    }
}
