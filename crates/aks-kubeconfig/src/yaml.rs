//! The YAML entry points of [`Kubeconfig`]: [`Kubeconfig::parse`] (whole, or a large file in pieces on several
//! threads by `split`) and [`Kubeconfig::to_yaml`] (sorted, by `sorted`). Above the model and both codecs.

use serde_json::Value;

use crate::model::{Kubeconfig, KubeconfigError};
use crate::yaml_settings::parse_options;

impl Kubeconfig {
    /// Parses a kubeconfig. `Ok(None)` for an empty document (empty, whitespace or comments only, or a bare
    /// `null`), which is what az's `yaml.safe_load` returns and treats as "no existing config".
    ///
    /// A large file laid out as az, kubectl and aksctl write it is parsed in pieces on several threads (see
    /// `split.rs`); the result, and any error, is that of one parse of the whole text.
    pub fn parse(text: &str) -> Result<Option<Kubeconfig>, KubeconfigError> {
        if text.len() >= crate::split::MIN_SPLIT_LEN {
            let threads = std::thread::available_parallelism().map_or(1, usize::from);
            if let Some(document) = crate::split::parse_pieces(text, threads.min(4)) {
                return Ok(Some(document));
            }
        }
        let options = parse_options();
        match serde_saphyr::from_str_with_options::<Option<Kubeconfig>>(text, options) {
            Ok(config) => Ok(config),
            Err(error) => {
                // Say "not a mapping" plainly instead of serde's "invalid type: …, expected struct".
                if let Ok(Some(value)) =
                    serde_saphyr::from_str_with_options::<Option<Value>>(text, parse_options())
                    && !value.is_object()
                {
                    return Err(KubeconfigError::NotAMapping {
                        found: value_kind(&value),
                    });
                }
                Err(KubeconfigError::Yaml {
                    source: Box::new(error),
                })
            }
        }
    }

    /// Parses a kubeconfig from bytes; non-UTF-8 input is an error, not a panic.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Option<Kubeconfig>, KubeconfigError> {
        let text =
            std::str::from_utf8(bytes).map_err(|source| KubeconfigError::InvalidUtf8 { source })?;
        Kubeconfig::parse(text)
    }

    /// Writes the document as YAML the way az (PyYAML `safe_dump`) and kubectl do: block style, keys sorted at
    /// every level, lists not indented under their key, and strings a YAML 1.1 reader would misread (`"yes"`,
    /// `"0123"`, `"2024-01-01"`, …) quoted. Long strings stay on one line (`prefer_block_scalars: false`,
    /// docs/rust-dependencies.md "Data formats"). A key of an `other` map that collides with a modelled key wins over it, as in
    /// [`Kubeconfig::to_json_value`].
    ///
    /// The output is that of [`Kubeconfig::to_json_value`] with every object sorted, written straight from the
    /// typed structs (no intermediate value: on large files that copy cost as much as the writing), and for a file
    /// of thousands of entries in pieces on several threads (see `sorted.rs`).
    pub fn to_yaml(&self) -> String {
        crate::sorted::to_yaml(self)
    }
}

fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
