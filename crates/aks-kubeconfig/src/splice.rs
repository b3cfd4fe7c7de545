//! az's write-merge on a large file without parsing the entries it leaves alone: the untouched entries of
//! `clusters`, `contexts` and `users` are copied as they stand, and only the small rest is parsed.
//!
//! Parsing was most of `aks get-credentials` on a file of thousands of contexts, yet the merge reads only the names
//! of the entries and replaces a handful. Here the text is cut into top-level sections (as `split.rs` cuts it) and
//! the lists into their entries, by looking at the first bytes of each line. The result is exactly what
//! [`crate::az_merge`] followed by [`Kubeconfig::to_yaml`] gives for the same input, because an entry is copied
//! only when its text is what the writer would write for it:
//!
//! - An entry's *shape* is its text with every plain scalar value that can only mean that string (a letter, then
//!   letters, digits and `._/:=+@-`, not a YAML 1.1 boolean or null, see [`plain_string`]) replaced by a marker.
//!   The first entry of each shape is parsed alone and written again; the shape is copyable when that gives the
//!   entry's text back. Another entry of the same shape differs only in such values, which read as the same
//!   strings and are written the same way, so its text is also what the writer gives for it.
//! - An entry whose lines are not all `key:`, `key: value` or `- value` (with a value that cannot continue on the
//!   next line), whose shape did not come back, or whose name is one the addition brings is parsed alone (at most
//!   [`MAX_PARSED_ENTRIES`] of them) and written by the writer.
//! - Every other top-level section is parsed alone, so a quoted scalar or flow collection cannot run into the next
//!   section unnoticed, and the sections are joined as `split.rs` joins its pieces.
//!
//! Anything else — a comment or blank line inside a list, a section or entry that does not parse alone, a
//! repeated key, too many entries to parse, or a text `split.rs` would not cut — gives `None` before anything
//! is merged, and the caller parses the whole text, so errors (and the `confirm` questions) are those of one parse.

use crate::az_merge::{MergeError, merge_key};
use crate::field::Field;
use crate::model::{Kubeconfig, NamedCluster, NamedContext, NamedEntry, NamedUser};
use crate::sorted::{Entries, Item, entry_to_yaml, list_item_to_yaml};
use crate::split::{self, List, Piece, parse_alone};
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

/// Texts shorter than this are parsed whole (one parse of a small file is as fast).
pub(crate) const MIN_SPLICE_LEN: usize = 16 * 1024;

/// More entries than this to parse alone, and the whole text is parsed instead (faster, and on several cores).
const MAX_PARSED_ENTRIES: usize = 64;

/// An entry of a list: its text when it is copied as it stands, or the parsed entry. Two words either way, so
/// that the slots of a large list stay small next to its text.
#[derive(Clone, Debug, PartialEq)]
enum Slot<'a, T> {
    /// An entry whose text is what the writer writes for it (its name, if any, is a plain string: [`raw_name`]).
    Raw(&'a str),
    /// An entry parsed alone (one the merge may compare or replace, or one not written as the writer writes);
    /// boxed, so that a list of mostly copied entries stays small.
    Parsed(Box<T>),
}

impl<T: NamedEntry> NamedEntry for Slot<'_, T> {
    fn name(&self) -> Option<&str> {
        match self {
            Slot::Raw(text) => raw_name(text),
            Slot::Parsed(entry) => entry.name(),
        }
    }
}

/// A text cut into its parts, ready for the merge (see the module documentation).
pub(crate) struct Spliced<'a> {
    /// Every top-level key but the lists cut into entries.
    rest: Kubeconfig,
    clusters: Option<Vec<Slot<'a, NamedCluster>>>,
    contexts: Option<Vec<Slot<'a, NamedContext>>>,
    users: Option<Vec<Slot<'a, NamedUser>>>,
}

/// The merged file, ready to be written.
pub(crate) struct Merged<'a> {
    /// Every top-level key but the three lists.
    rest: Kubeconfig,
    clusters: Field<Vec<Slot<'a, NamedCluster>>>,
    contexts: Field<Vec<Slot<'a, NamedContext>>>,
    users: Field<Vec<Slot<'a, NamedUser>>>,
}

/// A top-level section: the lines from one column-0 key to the next.
struct Section<'a> {
    text: &'a str,
    /// The list it holds when it is `clusters:`, `contexts:` or `users:` alone on its line followed by `- ` entries:
    /// the list and the text of its entries.
    list: Option<(List, &'a str)>,
}

/// Cuts `text` for a merge of `addition`; `None` when the whole text must be parsed (see the module documentation).
pub(crate) fn cut<'a>(text: &'a str, addition: &Kubeconfig) -> Option<Spliced<'a>> {
    if text.len() < MIN_SPLICE_LEN {
        return None;
    }
    cut_any(text, addition)
}

/// [`cut`] whatever the length of the text.
fn cut_any<'a>(text: &'a str, addition: &Kubeconfig) -> Option<Spliced<'a>> {
    if !split::splittable(text) || !text.ends_with('\n') {
        return None;
    }
    let sections = sections(text)?;
    let mut pieces = Vec::new();
    let mut spliced = Spliced {
        rest: Kubeconfig::default(),
        clusters: None,
        contexts: None,
        users: None,
    };
    let mut budget = MAX_PARSED_ENTRIES;
    for section in &sections {
        match section.list {
            None => pieces.push(Some(Piece::Mapping(parse_alone::<Kubeconfig>(
                section.text,
                false,
            )?))),
            Some((List::Clusters, body)) if spliced.clusters.is_none() => {
                spliced.clusters = Some(slots(body, names(&addition.clusters), &mut budget)?);
            }
            Some((List::Contexts, body)) if spliced.contexts.is_none() => {
                spliced.contexts = Some(slots(body, names(&addition.contexts), &mut budget)?);
            }
            Some((List::Users, body)) if spliced.users.is_none() => {
                spliced.users = Some(slots(body, names(&addition.users), &mut budget)?);
            }
            Some(_) => return None, // a repeated list key
        }
    }
    if !pieces.is_empty() {
        spliced.rest = split::join(pieces)?;
    }
    let repeated = |cut: bool, field_absent: bool| cut && !field_absent;
    if repeated(
        spliced.clusters.is_some(),
        spliced.rest.clusters.is_absent(),
    ) || repeated(
        spliced.contexts.is_some(),
        spliced.rest.contexts.is_absent(),
    ) || repeated(spliced.users.is_some(), spliced.rest.users.is_absent())
    {
        return None;
    }
    Some(spliced)
}

impl<'a> Spliced<'a> {
    /// [`crate::az_merge`] of `addition` into the cut text, ready to be written ([`Merged::write_to`]).
    pub(crate) fn merge(
        self,
        addition: Kubeconfig,
        overwrite_existing: bool,
        confirm: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Merged<'a>, MergeError> {
        let Spliced {
            mut rest,
            clusters,
            contexts,
            users,
        } = self;
        let mut clusters = combine(clusters, std::mem::take(&mut rest.clusters));
        let mut contexts = combine(contexts, std::mem::take(&mut rest.contexts));
        let mut users = combine(users, std::mem::take(&mut rest.users));
        // The order of az's `_handle_merge` calls (and of its questions): clusters, users, contexts.
        merge_key(
            &mut clusters,
            parsed(addition.clusters),
            "clusters",
            overwrite_existing,
            confirm,
        )?;
        merge_key(
            &mut users,
            parsed(addition.users),
            "users",
            overwrite_existing,
            confirm,
        )?;
        merge_key(
            &mut contexts,
            parsed(addition.contexts),
            "contexts",
            overwrite_existing,
            confirm,
        )?;
        if !addition.current_context.is_absent() {
            rest.current_context = addition.current_context;
        }
        Ok(Merged {
            rest,
            clusters,
            contexts,
            users,
        })
    }
}

impl Merged<'_> {
    /// The merged `current-context`, when it is a string.
    pub(crate) fn current_context(&self) -> Option<&str> {
        self.rest.current_context()
    }

    /// Writes the merged document to `out`, byte for byte what [`Kubeconfig::to_yaml`] writes for it: the copied
    /// entries straight from the existing text, so no second copy of the file is built in memory.
    pub(crate) fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        let rest = &self.rest;
        let mut parts: Vec<(&str, Part<'_>)> = Vec::with_capacity(rest.other.len() + 4);
        for (key, list) in [
            ("clusters", &self.clusters as &dyn WriteList),
            ("contexts", &self.contexts),
            ("users", &self.users),
        ] {
            parts.push((key, Part::List(list)));
        }
        match &rest.current_context {
            Field::Absent => {}
            Field::Null => parts.push(("current-context", Part::Item(Item::Null))),
            Field::Present(name) => parts.push(("current-context", Part::Item(Item::Str(name)))),
        }
        parts.extend(
            rest.other
                .iter()
                .map(|(key, value)| (key.as_str(), Part::Item(Item::Value(value)))),
        );
        parts.sort_by(|left, right| left.0.cmp(right.0));
        for (key, part) in parts {
            match part {
                Part::Item(item) => out.write_all(entry_to_yaml(key, item).as_bytes())?,
                Part::List(list) => list.write(key, out)?,
            }
        }
        Ok(())
    }
}

/// A top-level value to write.
enum Part<'a> {
    Item(Item<'a>),
    List(&'a dyn WriteList),
}

/// A merged list, written under its key.
trait WriteList {
    fn write(&self, key: &str, out: &mut dyn Write) -> io::Result<()>;
}

impl<T: Entries> WriteList for Field<Vec<Slot<'_, T>>> {
    fn write(&self, key: &str, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Field::Absent => Ok(()),
            Field::Null => out.write_all(entry_to_yaml(key, Item::Null).as_bytes()),
            Field::Present(slots) if slots.is_empty() => {
                let empty: Vec<T> = Vec::new();
                out.write_all(entry_to_yaml(key, Item::List(&empty, 0..0)).as_bytes())
            }
            Field::Present(slots) => {
                out.write_all(key.as_bytes())?;
                out.write_all(b":\n")?;
                for slot in slots {
                    match slot {
                        Slot::Raw(text) => out.write_all(text.as_bytes())?,
                        Slot::Parsed(entry) => {
                            out.write_all(list_item_to_yaml(&**entry).as_bytes())?
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

/// A list cut into entries, or the list (or its absence) as the rest of the document holds it.
fn combine<'a, T>(cut: Option<Vec<Slot<'a, T>>>, whole: Field<Vec<T>>) -> Field<Vec<Slot<'a, T>>> {
    match cut {
        Some(slots) => Field::Present(slots),
        None => parsed(whole),
    }
}

fn parsed<'a, T>(field: Field<Vec<T>>) -> Field<Vec<Slot<'a, T>>> {
    match field {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Present(items) => Field::Present(
            items
                .into_iter()
                .map(|item| Slot::Parsed(Box::new(item)))
                .collect(),
        ),
    }
}

fn names<T: NamedEntry>(list: &Field<Vec<T>>) -> HashSet<&str> {
    list.as_ref()
        .into_iter()
        .flatten()
        .filter_map(NamedEntry::name)
        .collect()
}

/// The top-level sections of `text`; `None` unless every column-0 line is a plain `key:` (or a comment, a blank
/// line or a `- ` entry of the section above), and each cut list holds only `- ` entries and their indented lines.
fn sections(text: &str) -> Option<Vec<Section<'_>>> {
    let bytes = text.as_bytes();
    // (start of the section, the list its key opens and where its entries start)
    let mut starts: Vec<(usize, Option<(List, usize)>)> = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let end = split::line_end(bytes, offset);
        let line = &bytes[offset..end];
        match line.first() {
            None | Some(b'#') | Some(b' ') | Some(b'-') if !starts.is_empty() => {}
            None | Some(b'#') => {}
            _ => {
                let key = split::simple_key(line)?;
                let list = match (key, line.len() == key.len() + 1) {
                    (b"clusters", true) => Some((List::Clusters, end + 1)),
                    (b"contexts", true) => Some((List::Contexts, end + 1)),
                    (b"users", true) => Some((List::Users, end + 1)),
                    _ => None,
                };
                starts.push((if starts.is_empty() { 0 } else { offset }, list));
            }
        }
        offset = end + 1;
    }
    let ends = starts
        .iter()
        .skip(1)
        .map(|(start, _)| *start)
        .chain([text.len()]);
    starts
        .iter()
        .zip(ends)
        .map(|(&(start, list), end)| {
            let list = match list {
                Some((list, body)) if body <= end && is_entry_list(&text[body..end]) => {
                    Some((list, &text[body..end]))
                }
                // Not a list of `- ` entries only (a blank or comment line, a block scalar's empty line):
                // the whole text is parsed, on several cores.
                Some(_) => return None,
                None => None,
            };
            Some(Section {
                text: &text[start..end],
                list,
            })
        })
        .collect()
}

/// Whether `body` starts with a `- ` entry and has no other column-0 line than `- ` entries.
fn is_entry_list(body: &str) -> bool {
    body.starts_with("- ")
        && body
            .split_inclusive('\n')
            .all(|line| line.starts_with("- ") || line.starts_with(' '))
}

/// The entries of a cut list (`body`: its `- ` entries), each copied or parsed (`budget`: how many more may be
/// parsed); `wanted`: the names the addition brings.
fn slots<'a, T: DeserializeOwned + Entries + NamedEntry>(
    body: &'a str,
    wanted: HashSet<&str>,
    budget: &mut usize,
) -> Option<Vec<Slot<'a, T>>> {
    // shape → whether entries of that shape are copied as they stand
    let mut shapes: HashMap<Vec<u8>, bool> = HashMap::new();
    let mut shape = Vec::new();
    let mut slots = Vec::new();
    for text in entries(body) {
        shape.clear();
        let copyable = match entry_shape(text, &mut shape) {
            Some(name) if !name.is_some_and(|name| wanted.contains(name)) => match shapes
                .get(&shape[..])
            {
                Some(&copyable) => copyable.then_some(name),
                None => {
                    let entry = spend(budget).and_then(|()| parse_alone::<Vec<T>>(text, true))?;
                    let [entry] = <[T; 1]>::try_from(entry).ok()?;
                    let copyable = list_item_to_yaml(&entry) == text;
                    shapes.insert(shape.clone(), copyable);
                    slots.push(if copyable {
                        raw(text, name)
                    } else {
                        Slot::Parsed(Box::new(entry))
                    });
                    continue;
                }
            },
            _ => None,
        };
        slots.push(match copyable {
            Some(name) => raw(text, name),
            None => {
                let entry = spend(budget).and_then(|()| parse_alone::<Vec<T>>(text, true))?;
                let [entry] = <[T; 1]>::try_from(entry).ok()?;
                Slot::Parsed(Box::new(entry))
            }
        });
    }
    Some(slots)
}

/// A copied entry; `name` is the name [`entry_shape`] read, which [`raw_name`] finds again when it is needed.
fn raw<'a, T>(text: &'a str, name: Option<&str>) -> Slot<'a, T> {
    debug_assert_eq!(raw_name(text), name, "{text}");
    Slot::Raw(text)
}

/// The `name` of an entry [`entry_shape`] accepted: on its `- ` line, or on a line indented by two (the entry's
/// own keys; every other line at that indent is a `- ` item of a list under one of them), a plain string.
fn raw_name(text: &str) -> Option<&str> {
    // Line by line (a search for a byte), not a substring search: this runs for every entry of a large list.
    let value = match text.strip_prefix("- name: ") {
        Some(value) => value,
        None => text
            .split_inclusive('\n')
            .find_map(|line| line.strip_prefix("  name: "))?,
    };
    value.split_once('\n').map(|(name, _)| name)
}

fn spend(budget: &mut usize) -> Option<()> {
    *budget = budget.checked_sub(1)?;
    Some(())
}

/// The texts of the `- ` entries of a list body, each with its indented lines and final newline.
fn entries(body: &str) -> impl Iterator<Item = &str> {
    let bytes = body.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let mut end = split::line_end(bytes, start) + 1;
        while end < bytes.len() && bytes[end] == b' ' {
            end = split::line_end(bytes, end) + 1;
        }
        let end = end.min(bytes.len());
        let entry = &body[start..end];
        start = end;
        Some(entry)
    })
}

/// Appends the shape of `entry` to `shape` and returns the entry's `name` (when it has a plain one); `None` when
/// a line is not `key:`, `key: value` or `- value` with a value complete on its line.
fn entry_shape<'a>(entry: &'a str, shape: &mut Vec<u8>) -> Option<Option<&'a str>> {
    let mut name = None;
    for (index, line) in entry.split_terminator('\n').enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let (item, rest) = match line[indent..].strip_prefix("- ") {
            Some(rest) => (true, rest),
            None => (false, &line[indent..]),
        };
        // The entry's own keys: on its `- ` line, or indented by two.
        let top = if index == 0 {
            item
        } else {
            indent == 2 && !item
        };
        let value = match split::simple_key(rest.as_bytes()) {
            Some(key) if rest.len() == key.len() + 1 => {
                if top && key == b"name" {
                    return None; // a name that is not a plain string on its line
                }
                None
            }
            Some(key) => {
                let value = &rest[key.len() + 2..];
                if top && key == b"name" {
                    name = Some(plain_string(value).then_some(value)?);
                }
                Some(value)
            }
            None if item => Some(rest),
            None => return None,
        };
        match value {
            Some(value) if plain_string(value) => {
                shape.extend_from_slice(&line.as_bytes()[..line.len() - value.len()]);
                shape.push(0);
            }
            Some(value) if complete_on_its_line(value) => shape.extend_from_slice(line.as_bytes()),
            Some(_) => return None,
            None => shape.extend_from_slice(line.as_bytes()),
        }
        shape.push(b'\n');
    }
    Some(name)
}

/// Whether a plain scalar can only be read as this string, and is written back unquoted: a letter, then letters,
/// digits and `._/:=+@-`, not ending in `:`, and not a YAML 1.1 boolean or null (`yes`, `Off`, `NULL`, …) nor
/// `inf`, `infinity` or `nan`.
fn plain_string(value: &str) -> bool {
    // YAML 1.1's booleans and null, and the words a float parser may take for infinity or NaN.
    const NOT_STRINGS: &[&str] = &[
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "inf", "infinity", "nan",
    ];
    let bytes = value.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && !value.ends_with(':')
        && bytes.iter().all(|byte| {
            byte.is_ascii_alphanumeric()
                || matches!(byte, b'.' | b'_' | b'/' | b':' | b'=' | b'+' | b'@' | b'-')
        })
        && !NOT_STRINGS
            .iter()
            .any(|word| value.eq_ignore_ascii_case(word))
}

/// Whether a value (other than a [`plain_string`]) ends on its line: a quoted scalar closed at the line's end,
/// `[]` or `{}`, or a plain scalar without quotes, comments, flow or block indicators.
fn complete_on_its_line(value: &str) -> bool {
    let bytes = value.as_bytes();
    match bytes.first() {
        Some(b'"') => closes_at_end(&bytes[1..], |rest| match rest {
            [b'\\', _, ..] => Some(2),
            [b'"', ..] => None,
            _ => Some(1),
        }),
        Some(b'\'') => closes_at_end(&bytes[1..], |rest| match rest {
            [b'\'', b'\'', ..] => Some(2),
            [b'\'', ..] => None,
            _ => Some(1),
        }),
        _ if value == "[]" || value == "{}" => true,
        Some(first) => {
            !b"|>&*!%@`".contains(first)
                && !matches!(bytes, [b'-' | b'?' | b':'] | [b'-' | b'?' | b':', b' ', ..])
                && !bytes.iter().any(|byte| {
                    matches!(byte, b'"' | b'\'' | b'#' | b'[' | b']' | b'{' | b'}' | b',')
                })
        }
        None => false,
    }
}

/// Whether a quoted scalar (after its opening quote) closes exactly at its last byte; `step` gives the length of
/// the next character or escape, `None` at the closing quote.
fn closes_at_end(mut rest: &[u8], step: impl Fn(&[u8]) -> Option<usize>) -> bool {
    while !rest.is_empty() {
        match step(rest) {
            Some(length) => rest = &rest[length.min(rest.len())..],
            None => return rest.len() == 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::az_merge::az_merge;
    use crate::model::User;
    use crate::yaml_settings::parse_options;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// A merge's text and current context, or its refusal, and the names `confirm` was asked about.
    type Outcome = (Result<(String, Option<String>), MergeError>, Vec<String>);

    /// The whole-text path: parse, [`az_merge`], write. `None` when the text does not parse.
    fn whole(text: &str, addition: &Kubeconfig, overwrite: bool, answer: bool) -> Option<Outcome> {
        let existing = Kubeconfig::parse(text).ok()?;
        let mut asked = Vec::new();
        let mut confirm = |name: &str| {
            asked.push(name.to_owned());
            answer
        };
        let merged = az_merge(existing, addition.clone(), overwrite, &mut confirm).map(|merged| {
            (
                merged.to_yaml(),
                merged.current_context().map(str::to_owned),
            )
        });
        Some((merged, asked))
    }

    /// This module's path; `None` when it does not apply.
    fn spliced(
        text: &str,
        addition: &Kubeconfig,
        overwrite: bool,
        answer: bool,
    ) -> Option<Outcome> {
        let spliced = cut_any(text, addition)?;
        let mut asked = Vec::new();
        let mut confirm = |name: &str| {
            asked.push(name.to_owned());
            answer
        };
        let merged = spliced
            .merge(addition.clone(), overwrite, &mut confirm)
            .map(|merged| {
                let mut text = Vec::new();
                merged.write_to(&mut text).expect("writing to memory");
                let text = String::from_utf8(text).expect("UTF-8");
                (text, merged.current_context().map(str::to_owned))
            });
        Some((merged, asked))
    }

    /// Wherever the splice applies, it gives what the whole-text path gives (with every `overwrite`/answer
    /// combination); returns whether it applied.
    fn check(text: &str, addition: &Kubeconfig) -> bool {
        let mut applied = false;
        for (overwrite, answer) in [(true, false), (false, false), (false, true)] {
            if let Some(fast) = spliced(text, addition, overwrite, answer) {
                applied = true;
                let slow = whole(text, addition, overwrite, answer);
                assert_eq!(
                    Some(&fast),
                    slow.as_ref(),
                    "overwrite {overwrite}, answer {answer}, text:\n{text}"
                );
            }
        }
        applied
    }

    fn document(value: Value) -> Kubeconfig {
        serde_json::from_value(value).expect("a kubeconfig")
    }

    /// `count` clusters, contexts and users named `{prefix}{index}`, each user holding `user`.
    fn large(count: usize, prefix: &str, user: &Value) -> Kubeconfig {
        let named = |index: usize| format!("{prefix}{index}");
        document(json!({
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "current-context": named(0),
            "clusters": (0..count).map(|index| json!({"name": named(index), "cluster": {
                "server": format!("https://{}.example:443", named(index)),
                "certificate-authority-data": "LS0tLS1CRUdJTi==" }})).collect::<Vec<_>>(),
            "contexts": (0..count).map(|index| json!({"name": named(index), "context": {
                "cluster": named(index), "user": format!("user-{}", named(index)) }})).collect::<Vec<_>>(),
            "users": (0..count).map(|index| json!({"name": format!("user-{}", named(index)), "user": user}))
                .collect::<Vec<_>>(),
        }))
    }

    /// What `aks get-credentials` fetches for cluster `name`.
    fn fetched(name: &str, user: &Value) -> Kubeconfig {
        document(json!({
            "apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": {"server": format!("https://{name}.example:443")}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": format!("user-{name}")}}],
            "users": [{"name": format!("user-{name}"), "user": user}],
        }))
    }

    fn token_user() -> Value {
        json!({"token": "token-value"})
    }

    #[test]
    fn a_file_written_as_aksctl_writes_is_spliced_as_the_whole_path_merges() {
        let text = large(300, "c", &token_user()).to_yaml();
        // A new cluster, one that exists (replaced, or a conflict), and one that exists unchanged (deep-equal).
        assert!(check(&text, &fetched("new", &token_user())));
        assert!(check(&text, &fetched("c7", &json!({"token": "other"}))));
        let mut same = large(300, "c", &token_user());
        same.clusters
            .as_mut()
            .unwrap()
            .retain(|entry| entry.name() == Some("c9"));
        same.contexts = Field::Absent;
        same.users = Field::Absent;
        assert!(check(&text, &same));
    }

    #[test]
    fn a_slot_is_two_words() {
        let word = std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<Slot<'_, NamedCluster>>(), 2 * word);
        assert_eq!(std::mem::size_of::<Slot<'_, NamedUser>>(), 2 * word);
    }

    #[test]
    fn the_fast_path_copies_untouched_entries_without_parsing_them() {
        let text = large(500, "c", &token_user()).to_yaml();
        let spliced = cut_any(&text, &fetched("c3", &token_user())).expect("spliced");
        let clusters = spliced.clusters.expect("cut");
        let parsed = clusters
            .iter()
            .filter(|slot| matches!(slot, Slot::Parsed(_)))
            .count();
        // The first entry of the shape was parsed to check it, then kept as text; c3 is parsed because the
        // addition replaces it.
        assert_eq!(parsed, 1);
        assert!(matches!(&clusters[3], Slot::Parsed(entry) if entry.name() == Some("c3")));
        assert_eq!(clusters.len(), 500);
    }

    /// Every user body of kubelogin's conversion table (exec plugins with lists, booleans and nulls,
    /// auth-provider configs), in a large file written by aksctl, and in kubectl's and AKS's own layouts.
    #[test]
    fn fixtures_merge_the_same_either_way() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let cases: Value = serde_json::from_str(
            &std::fs::read_to_string(
                root.join("../../tests/fixtures/kubelogin-convert/cases.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let mut users: Vec<Value> = Vec::new();
        for case in cases["cases"].as_array().unwrap() {
            for key in ["input_user", "expected_user"] {
                if let Some(user) = case.get(key).filter(|user| user.is_object()) {
                    let mut body = user.clone();
                    if let Some(provider) = body.as_object_mut().unwrap().remove("auth_provider") {
                        body["auth-provider"] = provider;
                    }
                    if !users.contains(&body) {
                        users.push(body);
                    }
                }
            }
        }
        assert!(users.len() > 20, "{} users", users.len());
        let mut applied = 0;
        for user in &users {
            let Ok(user) = serde_json::from_value::<User>(user.clone()) else {
                continue;
            };
            let user = serde_json::to_value(user).unwrap();
            let text = large(6, "k", &user).to_yaml();
            applied += usize::from(check(&text, &fetched("k3", &user)));
            check(&text, &fetched("fresh", &token_user()));
        }
        assert!(applied > 15, "spliced {applied} of {}", users.len());
        for name in ["aks-exec.yaml", "kubectl-written.yaml"] {
            let text = std::fs::read_to_string(root.join("tests/fixtures").join(name)).unwrap();
            let mut bigger = text.clone();
            let parsed = Kubeconfig::parse(&text).unwrap().unwrap();
            for index in 0..6 {
                let mut copy = parsed.clone();
                for entry in copy.clusters.as_mut().into_iter().flatten() {
                    entry.name = Field::Present(format!("copy{index}"));
                }
                bigger = az_merge(Kubeconfig::parse(&bigger).unwrap(), copy, true, &mut |_| {
                    false
                })
                .unwrap()
                .to_yaml();
            }
            for candidate in [&text, &bigger] {
                check(candidate, &fetched("aks1", &token_user()));
                check(candidate, &fetched("other", &token_user()));
            }
        }
    }

    #[test]
    fn texts_the_writer_would_not_write_are_left_to_the_whole_path() {
        let base = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://a\n  name: a\n";
        let addition = fetched("b", &token_user());
        for text in [
            // a comment, a blank line inside a list
            format!("{base}# note\n- cluster:\n    server: https://b\n  name: z\n"),
            format!("{base}\n- name: z\n"),
            // a repeated list key
            format!("{base}clusters:\n- name: z\n"),
            format!("{base}clusters: []\n"),
            // a quoted scalar running across a list
            format!("kind: \"a\n{base}x: b\"\n"),
            // no final newline
            base.trim_end().to_owned(),
        ] {
            assert!(!check(&text, &addition), "{text}");
        }
        // Written otherwise than the writer writes: unsorted keys, quotes, flow, extra spaces. Spliced or not,
        // the result is the whole path's.
        for entry in [
            "- name: z\n  cluster:\n    server: https://b\n",
            "- cluster:\n    server: 'https://b'\n  name: z\n",
            "- cluster: {server: https://b}\n  name: z\n",
            "- cluster:\n    server:  https://b\n  name: z\n",
            "- cluster:\n    insecure-skip-tls-verify: true\n    server: https://b\n  name: z\n",
            "- cluster:\n    server: https://b\n  name: \"z\"\n",
            "- cluster:\n    server: 1234\n  name: z\n",
            "- cluster:\n    server: https://b # x\n  name: z\n",
            "- cluster: null\n  name: z\n",
            "- cluster: x\n  name: z\n",
            "- name:\n  - z\n",
        ] {
            check(
                &format!("{base}{entry}contexts: []\nkind: Config\n"),
                &addition,
            );
        }
    }

    proptest! {
        /// A string [`plain_string`] accepts is written unquoted by the writer and read back as that string.
        #[test]
        fn plain_strings_are_written_as_they_stand(value in "[A-Za-z][A-Za-z0-9._/:=+@-]{0,40}|[A-Za-z]{1,8}|[a-zA-Z][A-Za-z0-9+/=]{2000,3000}") {
            if plain_string(&value) {
                prop_assert_eq!(entry_to_yaml("key", Item::Str(&value)), format!("key: {value}\n"));
                let read: Kubeconfig = serde_saphyr::from_str_with_options(&format!("key: {value}\n"), parse_options()).unwrap();
                prop_assert_eq!(read.other.get("key"), Some(&Value::String(value.clone())));
            }
        }

        /// A file written by aksctl, edited at random (lines dropped, repeated or replaced by hostile ones, bytes
        /// changed): wherever the splice still applies, it merges as the whole path does.
        #[test]
        fn edited_files_merge_the_same_either_way(
            edits in proptest::collection::vec((0usize..1000, 0usize..4, 0usize..HOSTILE.len()), 1..4),
            target in prop_oneof![Just("c2"), Just("c5"), Just("new")],
        ) {
            let text = large(12, "c", &json!({"token": "t", "exec": {"command": "kubelogin", "args": ["get-token", "--login", "azurecli"], "env": null}})).to_yaml();
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            for (at, kind, hostile) in edits {
                let at = at % lines.len();
                match kind {
                    0 => { lines.remove(at); }
                    1 => { let line = lines[at].clone(); lines.insert(at, line); }
                    2 => lines.insert(at, HOSTILE[hostile].to_owned()),
                    _ => {
                        // In the middle, on a character boundary: an earlier edit may have put a multi-byte one there.
                        let line = &mut lines[at];
                        let cut = (0..=line.len() / 2).rev().find(|&cut| line.is_char_boundary(cut)).unwrap_or(0);
                        line.insert_str(cut, HOSTILE[hostile]);
                    }
                }
            }
            let text = lines.join("\n") + "\n";
            check(&text, &fetched(target, &token_user()));
        }
    }

    const HOSTILE: &[&str] = &[
        "",
        "# c",
        " ",
        "- ",
        "-",
        "  name: c1",
        "- name: c2",
        "clusters:",
        "clusters: []",
        "users: null",
        "  token: yes",
        "    server: 'a",
        "    server: \"a",
        "  x: [a,",
        "  x: {",
        "y: |",
        "  y: >-",
        "  z: '",
        "---",
        "...",
        "%YAML 1.1",
        "\t",
        "  - a",
        "    - b",
        "  name:",
        "  name: \"c3\"",
        "kind: Config",
        ": x",
        "? x",
        "  a: b: c",
        "  n: 010",
        "  n: 1e3",
        "  n: .inf",
        "  n: ~",
        "  t: 2024-01-01",
        "\u{feff}",
        "  e: \"\\\"\"",
        "  q: 'it''s'",
        "  c: a #b",
        "  k: v ",
        "current-context: c5",
        "  context:",
        "    user: u",
    ];

    #[test]
    fn large_files_stay_on_the_fast_path() {
        let text = large(5000, "c", &token_user()).to_yaml();
        let addition = fetched("c1", &token_user());
        assert!(check(&text, &addition));
    }
}
