//! Parsing a large kubeconfig on several threads: serde-saphyr parses pieces of the text, cut where a line
//! starts a top-level key or an entry of `clusters`, `contexts` or `users`.
//!
//! Parsing is most of the time of `aks get-credentials` on a file of thousands of contexts, and one YAML parse
//! cannot be spread over cores. The pieces are found by looking only at the first bytes of each line, and only
//! in files written the way az, kubectl and aksctl write them: every line that starts at column 0 is a comment,
//! a plain `key:` of the top-level mapping or a `- ` entry of a list that is not indented under its key. Anything
//! else there (flow collections, quoted keys, `?`, directives, document markers, tabs, a byte-order mark), and
//! any alias, anchor or merge key (`*`, `&`, `<<`: counted by serde-saphyr's budgets over the whole document)
//! means no split. Every byte is still read by serde-saphyr, which rejects a piece cut inside a
//! quoted scalar or a flow collection (the only constructs that may continue at column 0). The pieces are joined
//! only when each parsed and no top-level key is repeated; otherwise the caller parses the whole text, so errors
//! are exactly those of one parse.

use crate::field::Field;
use crate::model::{Kubeconfig, NamedCluster, NamedContext, NamedUser};
use crate::yaml_settings::{PIECE_STACK_SIZE, parse_options};
use serde::de::DeserializeOwned;

/// Texts shorter than this are parsed on the calling thread (a thread costs more than it saves).
pub(crate) const MIN_SPLIT_LEN: usize = 64 * 1024;

/// Texts longer than this are not split: below it, serde-saphyr's budgets (events, nodes, scalar bytes) cannot
/// be reached by a document without aliases, so the pieces accept exactly what one parse accepts.
const MAX_SPLIT_LEN: usize = 64 * 1024 * 1024;

/// The lists a piece may start inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum List {
    Clusters,
    Contexts,
    Users,
}

/// Where a piece starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// At a top-level key (or the start of the text): the piece is a mapping.
    Key,
    /// At an entry (not the first) of an indentless top-level list: the piece is a sequence of its entries.
    Entry(List),
}

/// A line where a piece may start.
#[derive(Clone, Copy, Debug)]
struct Cut {
    offset: usize,
    start: Start,
}

/// Parses `text` in up to `pieces` pieces on as many threads. `None` when the text is not split (too short, not
/// in the line layout above, or a piece failed to parse or repeats a top-level key): parse it whole instead.
pub(crate) fn parse_pieces(text: &str, pieces: usize) -> Option<Kubeconfig> {
    if pieces < 2 {
        return None;
    }
    let cuts = cuts(text)?;
    let chosen = choose(&cuts, text.len(), pieces);
    if chosen.len() < 2 {
        return None;
    }
    let ranges: Vec<(usize, usize, Start)> = chosen
        .iter()
        .enumerate()
        .map(|(index, cut)| {
            let end = chosen.get(index + 1).map_or(text.len(), |next| next.offset);
            (cut.offset, end, cut.start)
        })
        .collect();
    let parsed: Vec<Option<Piece>> = std::thread::scope(|scope| {
        let (first, rest) = ranges.split_first().expect("at least two pieces");
        let parse =
            move |(begin, end, start): (usize, usize, Start)| parse_piece(&text[begin..end], start);
        // The main thread's stack size, so that a piece nested as deep as the budget allows parses as it does
        // there; a piece whose thread cannot be started is parsed here.
        let handles: Vec<_> = rest
            .iter()
            .map(|&range| {
                std::thread::Builder::new()
                    .stack_size(PIECE_STACK_SIZE)
                    .spawn_scoped(scope, move || parse(range))
                    .map_err(|_| range)
            })
            .collect();
        let mut parsed = vec![parse(*first)];
        parsed.extend(handles.into_iter().map(|handle| match handle {
            Ok(handle) => handle.join().ok().flatten(),
            Err(range) => parse(range),
        }));
        parsed
    });
    join(parsed)
}

/// A parsed piece.
pub(crate) enum Piece {
    Mapping(Kubeconfig),
    Clusters(Vec<NamedCluster>),
    Contexts(Vec<NamedContext>),
    Users(Vec<NamedUser>),
}

/// Parses a piece of the document alone: a mapping, or (`entry`) a list whose root is the list the whole document
/// holds under a top-level key, one level deeper; the depth budget then shrinks by that level so the piece fails
/// where one parse would.
pub(crate) fn parse_alone<T: DeserializeOwned>(text: &str, entry: bool) -> Option<T> {
    let mut options = parse_options();
    if entry && let Some(budget) = options.budget.as_mut() {
        budget.max_depth -= 1;
    }
    serde_saphyr::from_str_with_options::<Option<T>>(text, options)
        .ok()
        .flatten()
}

fn parse_piece(text: &str, start: Start) -> Option<Piece> {
    match start {
        Start::Key => parse_alone(text, false).map(Piece::Mapping),
        Start::Entry(List::Clusters) => parse_alone(text, true).map(Piece::Clusters),
        Start::Entry(List::Contexts) => parse_alone(text, true).map(Piece::Contexts),
        Start::Entry(List::Users) => parse_alone(text, true).map(Piece::Users),
    }
}

/// Joins the pieces in order; `None` if one failed or a top-level key is repeated.
pub(crate) fn join(pieces: Vec<Option<Piece>>) -> Option<Kubeconfig> {
    let mut pieces = pieces.into_iter();
    let Some(Piece::Mapping(mut document)) = pieces.next()? else {
        return None;
    };
    for piece in pieces {
        match piece? {
            Piece::Mapping(next) => {
                let Kubeconfig {
                    clusters,
                    contexts,
                    users,
                    current_context,
                    other,
                } = next;
                set_once(&mut document.clusters, clusters)?;
                set_once(&mut document.contexts, contexts)?;
                set_once(&mut document.users, users)?;
                set_once(&mut document.current_context, current_context)?;
                for (key, value) in other {
                    if document.other.insert(key, value).is_some() {
                        return None;
                    }
                }
            }
            // An entry piece continues the list its first line is in, which the previous piece ended in.
            Piece::Clusters(entries) => document.clusters.as_mut()?.extend(entries),
            Piece::Contexts(entries) => document.contexts.as_mut()?.extend(entries),
            Piece::Users(entries) => document.users.as_mut()?.extend(entries),
        }
    }
    Some(document)
}

/// Sets a top-level key from a later piece; `None` if an earlier piece has it too (a repeated key).
fn set_once<T>(target: &mut Field<T>, value: Field<T>) -> Option<()> {
    if value.is_absent() {
        return Some(());
    }
    if !target.is_absent() {
        return None;
    }
    *target = value;
    Some(())
}

/// Every line where a piece may start, the first being the start of the text; `None` when the text is not laid
/// out as described in the module documentation.
fn cuts(text: &str) -> Option<Vec<Cut>> {
    if !splittable(text) {
        return None;
    }
    let bytes = text.as_bytes();
    let mut cuts = Vec::new();
    // The list whose entries the following `- ` lines are, and whether its first entry was seen.
    let mut list: Option<(List, bool)> = None;
    // False until the key that opens an indentless list is followed by its first entry (no other line between).
    let mut seen_key = false;
    let mut offset = 0;
    while offset < bytes.len() {
        let end = line_end(bytes, offset);
        let line = &bytes[offset..end];
        match line.first() {
            None | Some(b'#') => {}
            Some(b' ') => {
                if !seen_key {
                    return None; // the top-level mapping must start at column 0
                }
                if let Some((_, false)) = list {
                    list = None; // content between a list's key and its first entry: not an indentless list
                }
            }
            Some(b'-') if line.len() == 1 || line[1] == b' ' => match &mut list {
                Some((name, first_seen)) => {
                    if *first_seen {
                        cuts.push(Cut {
                            offset,
                            start: Start::Entry(*name),
                        });
                    }
                    *first_seen = true;
                }
                None if seen_key => {}
                None => return None,
            },
            Some(_) => {
                let key = simple_key(line)?;
                cuts.push(Cut {
                    offset: if seen_key { offset } else { 0 },
                    start: Start::Key,
                });
                seen_key = true;
                let bare = line[key.len() + 1..].iter().all(|byte| *byte == b' ');
                list = match key {
                    b"clusters" if bare => Some((List::Clusters, false)),
                    b"contexts" if bare => Some((List::Contexts, false)),
                    b"users" if bare => Some((List::Users, false)),
                    _ => None,
                };
            }
        }
        offset = end + 1;
    }
    Some(cuts)
}

/// Whether a text may be cut at all: not longer than [`MAX_SPLIT_LEN`], no alias, anchor or merge key, no carriage
/// return and no byte-order mark.
pub(crate) fn splittable(text: &str) -> bool {
    text.len() <= MAX_SPLIT_LEN
        && !has_unsplittable_bytes(text.as_bytes())
        && !text.contains("<<")
        && !text.starts_with('\u{feff}')
}

/// Whether the text has an alias or an anchor (`*`, `&`: serde-saphyr's budgets count aliases, anchors and merge
/// keys over the whole document, so pieces could pass where the whole fails) or a carriage return. Checked a
/// block at a time so that the loop is vectorized.
fn has_unsplittable_bytes(bytes: &[u8]) -> bool {
    bytes.chunks(256).any(|chunk| {
        chunk.iter().fold(false, |found, byte| {
            found | matches!(byte, b'*' | b'&' | b'\r')
        })
    })
}

/// The key of a line `key:` or `key: …` whose key is a plain word that YAML reads as that string (a letter, then
/// letters, digits, `-`, `_`, `.`; not a YAML 1.1 boolean or null), so two pieces repeat a key exactly when their
/// key strings are equal.
pub(crate) fn simple_key(line: &[u8]) -> Option<&[u8]> {
    const NOT_STRINGS: &[&[u8]] = &[
        b"y", b"n", b"yes", b"no", b"on", b"off", b"true", b"false", b"null",
    ];
    let colon = line.iter().position(|byte| *byte == b':')?;
    let key = &line[..colon];
    let plain = key.first().is_some_and(u8::is_ascii_alphabetic)
        && key
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
        && !NOT_STRINGS
            .iter()
            .any(|word| key.eq_ignore_ascii_case(word));
    let separated = line.get(colon + 1).is_none_or(|byte| *byte == b' ');
    (plain && separated).then_some(key)
}

pub(crate) fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|byte| *byte == b'\n')
        .map_or(bytes.len(), |position| from + position)
}

/// Picks the cuts nearest to `pieces` equal shares of the text. A piece that starts inside a list ends at the
/// next top-level key at the latest (it is parsed as a sequence), so that key is added when it would not be.
fn choose(cuts: &[Cut], len: usize, pieces: usize) -> Vec<Cut> {
    let Some(first) = cuts.first() else {
        return Vec::new();
    };
    let mut chosen = vec![*first];
    for share in 1..pieces {
        let target = len * share / pieces;
        let index = cuts.partition_point(|cut| cut.offset < target);
        let candidates = [index.checked_sub(1), Some(index)];
        let nearest = candidates
            .into_iter()
            .flatten()
            .filter_map(|index| cuts.get(index))
            .min_by_key(|cut| cut.offset.abs_diff(target));
        if let Some(cut) = nearest
            && cut.offset > chosen.last().map_or(0, |last| last.offset)
        {
            chosen.push(*cut);
        }
    }
    // An entry piece must not run into the next top-level key.
    let mut complete = Vec::with_capacity(chosen.len() * 2);
    for (index, cut) in chosen.iter().enumerate() {
        complete.push(*cut);
        if matches!(cut.start, Start::Entry(_)) {
            let limit = chosen.get(index + 1).map_or(len, |next| next.offset);
            if let Some(key) = cuts
                .iter()
                .find(|next| next.offset > cut.offset && next.start == Start::Key)
                .filter(|key| key.offset < limit)
            {
                complete.push(*key);
            }
        }
    }
    complete
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn whole(text: &str) -> Result<Option<Kubeconfig>, String> {
        serde_saphyr::from_str_with_options::<Option<Kubeconfig>>(text, parse_options())
            .map_err(|error| error.to_string())
    }

    /// Splitting never changes the result, and never accepts a text one parse rejects.
    fn check(text: &str) {
        for pieces in 2..6 {
            if let Some(split) = parse_pieces(text, pieces) {
                assert_eq!(whole(text), Ok(Some(split)), "{pieces} pieces of:\n{text}");
            }
        }
    }

    fn big(count: usize) -> String {
        let mut text = String::from("apiVersion: v1\nclusters:\n");
        for index in 0..count {
            text.push_str(&format!(
                "- cluster:\n    server: https://127.0.0.1:{index}\n  name: cluster-{index}\n"
            ));
        }
        text.push_str("contexts:\n");
        for index in 0..count {
            text.push_str(&format!(
                "- context:\n    cluster: cluster-{index}\n    user: user-{index}\n  name: context-{index}\n"
            ));
        }
        text.push_str("current-context: context-0\nkind: Config\npreferences: {}\nusers:\n");
        for index in 0..count {
            text.push_str(&format!(
                "- name: user-{index}\n  user:\n    token: token-{index}\n"
            ));
        }
        text
    }

    #[test]
    fn a_large_file_is_split_and_parsed_the_same() {
        let text = big(300);
        for pieces in 2..6 {
            let split = parse_pieces(&text, pieces).expect("split");
            assert_eq!(whole(&text), Ok(Some(split)));
        }
    }

    #[test]
    fn cuts_are_top_level_keys_and_later_entries() {
        let text = "a: 1\nclusters:\n- name: x\n- name: y\n  cluster: {}\n# c\nusers:\n- name: u\nb: |\n  t\n";
        let found: Vec<(usize, Start)> = cuts(text)
            .unwrap()
            .into_iter()
            .map(|cut| (cut.offset, cut.start))
            .collect();
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(
            found,
            [
                (0, Start::Key),
                (at("clusters:"), Start::Key),
                (at("- name: y"), Start::Entry(List::Clusters)),
                (at("users:"), Start::Key),
                (at("b: |"), Start::Key),
            ]
        );
    }

    #[test]
    fn texts_in_another_layout_are_not_split() {
        for text in [
            "  a: 1\nb: 2\n",
            "{a: 1,\nb: 2}\n",
            "a: *x\nb: 2\n",
            "a: &x 1\nb: 2\n",
            "a:\n  <<: {c: 1}\nb: 2\n",
            "a: 1\r\nb: 2\r\n",
            "\u{feff}a: 1\nb: 2\n",
            "%YAML 1.1\n---\na: 1\nb: 2\n",
            "a: 1\n---\nb: 2\n",
            "\"a\": 1\nb: 2\n",
            "? a\n: 1\nb: 2\n",
            "- a\nb: 2\n",
            "a: b\nc\n",
            "a:\tb\nc: d\n",
        ] {
            assert!(parse_pieces(text, 2).is_none(), "{text:?}");
        }
    }

    #[test]
    fn cuts_inside_quoted_scalars_and_flow_collections_fall_back() {
        for text in [
            "a: \"x\nb: y\"\nc: 1\nd: 2\n",
            "a: 'x\nb: y'\nc: 1\nd: 2\n",
            "a: [x,\nb: y]\nc: 1\nd: 2\n",
            "clusters:\n- name: \"x\n- y\"\n- name: z\n",
            "clusters:\n- name: x\ncurrent-context: a\ncurrent-context: b\n",
            "clusters:\n- name: x\nusers: []\nclusters: []\n",
            "a: 1\nb: 2\na: 3\nc: 4\n",
            "a: [x]\n- y\nb: 1\n",
            "clusters: []\n- name: x\n- name: y\n",
            "clusters:\n  foo: bar\n- name: x\n- name: y\n",
        ] {
            check(text);
        }
    }

    #[test]
    fn deeply_nested_pieces_parse_as_one_parse_does() {
        // On a thread with room for an unoptimized build's deep recursion.
        std::thread::Builder::new()
            .stack_size(256 * 1024 * 1024)
            .spawn(|| {
                for depth in [100, 127, 128, 200] {
                    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
                    let text = format!(
                        "clusters:\n- name: a\n  x: {nested}\n- name: b\n  x: {nested}\nusers:\n- name: u\n  x: {nested}\n"
                    );
                    check(&text);
                }
                // Only a later entry deep, around the depth budget: its piece is rooted one level higher.
                for depth in 123..=128 {
                    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
                    check(&format!(
                        "clusters:\n- name: a\n- name: b\n  x: {nested}\n- name: c\n"
                    ));
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }

    /// Top-level keys as the writers lay them out.
    const KEYS: &[&str] = &[
        "clusters:",
        "contexts:",
        "users:",
        "current-context: a",
        "preferences: {}",
        "apiVersion: v1",
        "kind: Config",
        "extra:",
    ];

    /// Other top-level lines: keys of other kinds, and lines that must not be taken for keys.
    const ODD_KEYS: &[&str] = &[
        "clusters: []",
        "users: null",
        "contexts: # c",
        "current-context:",
        "extra: [1,",
        "extra: \"a",
        "extra: 'a",
        "extra: |",
        "extra: >-",
        "b: 2]",
        "b: yes",
        "b\"",
        "1: one",
        "01: one",
        "yes: 1",
        "true: 2",
        "x.y: z",
        "# comment",
        "",
        "  text",
        "- - x",
        "-",
    ];

    /// Entries of the lists (each one or more lines).
    const ENTRIES: &[&str] = &[
        "- name: a",
        "- name: b\n  cluster:\n    server: https://b",
        "- name: c\n  user:\n    token: t",
        "- name: d\n  context:\n    cluster: a\n    user: u",
    ];

    /// Other lines inside lists.
    const ODD_ENTRIES: &[&str] = &[
        "- name: \"e",
        "- name: f'",
        "- name: g\n  extra: |\n    block\n\n    text",
        "- name: h\n  extra: [1,\n  2]",
        "-",
        "- ",
        "- name: i\n  - y",
        "  text",
        "# comment",
        "",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn splitting_agrees_with_one_parse(
            keys in proptest::sample::subsequence(KEYS, 0..=KEYS.len()).prop_shuffle(),
            odd in proptest::collection::vec(
                proptest::option::weighted(0.15, proptest::sample::select(ODD_KEYS)),
                KEYS.len(),
            ),
            bodies in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![
                        12 => proptest::sample::select(ENTRIES),
                        1 => proptest::sample::select(ODD_ENTRIES),
                    ],
                    0..6,
                ),
                KEYS.len(),
            ),
        ) {
            let blocks = keys
                .into_iter()
                .zip(odd)
                .map(|(key, odd)| odd.unwrap_or(key))
                .zip(bodies);
            let mut text = String::new();
            for (key, entries) in blocks {
                text.push_str(key);
                text.push('\n');
                // Entries under a key with a value on its line are an error; keep most documents valid.
                let entries = if key.ends_with(':') { entries } else { Vec::new() };
                for entry in entries {
                    text.push_str(entry);
                    text.push('\n');
                }
            }
            check(&text);
        }
    }
}
