//! Settings shared by the YAML reader and writer: the reader's options and the stack of a thread that handles one
//! piece of a large file. Below `split` (parsing in pieces) and `sorted` (writing), which both use them.

/// Reader settings: YAML 1.1 octals like the kubeconfig writers (PyYAML, go-yaml v2), no source snippets in
/// errors (they could show a token), and a budget large enough for 50,000-context files. A repeated mapping key
/// is an error (PyYAML would keep the last value; serde's flatten cannot collapse repeats).
pub(crate) fn parse_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 200_000_000,
            max_nodes: 100_000_000,
            max_total_scalar_bytes: 1 << 30,
            max_depth: 128,
        },
        legacy_octal_numbers: true,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
        with_snippet: false,
    }
}

/// The stack of a thread that parses (or writes) a piece: Linux's default for the main thread, so that a document
/// nested as deep as a single-threaded run handles does not overflow it.
pub(crate) const PIECE_STACK_SIZE: usize = 8 * 1024 * 1024;
