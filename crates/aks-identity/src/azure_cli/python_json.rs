//! JSON text exactly as Python's `json.dumps` writes it (`ensure_ascii=True`), in the two layouts the Azure CLI
//! uses: `json.dump(obj)` (one line, `", "` and `": "`) for `azureProfile.json`, and `json.dumps(obj, indent=4)`
//! for MSAL's token cache and `service_principal_entries.json`. See docs/azure-cli-files.md.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

/// Which of Python's layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `json.dumps(obj)`: one line, separators `", "` and `": "`.
    OneLine,
    /// `json.dumps(obj, indent=4)`: separators `","` + newline and `": "`.
    Indent4,
}

/// Serialise `value` as Python would, non-ASCII escaped as `\uXXXX` (surrogate pairs above U+FFFF).
pub fn to_python_json<T: Serialize + ?Sized>(value: &T, layout: Layout) -> Vec<u8> {
    let mut out = Vec::new();
    let formatter = PythonFormatter {
        layout,
        level: 0,
        has_value: false,
    };
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serialising a `Serialize` value into a Vec cannot fail for JSON values (no non-string map keys here).
    value
        .serialize(&mut serializer)
        .expect("JSON serialisation into memory");
    out
}

struct PythonFormatter {
    layout: Layout,
    level: usize,
    has_value: bool,
}

impl PythonFormatter {
    fn newline_indent<W: ?Sized + Write>(&self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\n")?;
        for _ in 0..self.level {
            writer.write_all(b"    ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.layout == Layout::Indent4 && self.has_value {
            self.newline_indent(writer)?;
        }
        writer.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        match self.layout {
            Layout::OneLine if !first => writer.write_all(b", "),
            Layout::OneLine => Ok(()),
            Layout::Indent4 => {
                if !first {
                    writer.write_all(b",")?;
                }
                self.newline_indent(writer)
            }
        }
    }
}

impl Formatter for PythonFormatter {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Python's ensure_ascii escapes everything outside ' '..='~' (serde_json already escaped the controls,
        // quote and backslash before calling this).
        let mut units = [0u16; 2];
        for character in fragment.chars() {
            if (' '..='~').contains(&character) {
                writer.write_all(&[character as u8])?;
            } else {
                for unit in character.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let text: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(writer, "\\u{byte:04x}"),
        };
        writer.write_all(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_line_matches_json_dumps_defaults() {
        // python3 -c 'import json; print(json.dumps({"a": [1, {"b": None}], "é": "日本\U0001F600\x7f\x01", "e": {}, "l": []}))'
        let value =
            json!({"a": [1, {"b": null}], "é": "日本\u{1F600}\u{7f}\u{1}", "e": {}, "l": []});
        assert_eq!(
            String::from_utf8(to_python_json(&value, Layout::OneLine)).unwrap(),
            r#"{"a": [1, {"b": null}], "\u00e9": "\u65e5\u672c\ud83d\ude00\u007f\u0001", "e": {}, "l": []}"#
        );
    }

    #[test]
    fn indent4_matches_json_dumps_indent_4() {
        // python3 -c 'import json; print(json.dumps({"A": {"k": {"x": "1"}}, "B": {}, "C": [1, 2]}, indent=4))'
        let value = json!({"A": {"k": {"x": "1"}}, "B": {}, "C": [1, 2]});
        let expected = "{\n    \"A\": {\n        \"k\": {\n            \"x\": \"1\"\n        }\n    },\n    \"B\": {},\n    \"C\": [\n        1,\n        2\n    ]\n}";
        assert_eq!(
            String::from_utf8(to_python_json(&value, Layout::Indent4)).unwrap(),
            expected
        );
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<String>().prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|pairs| serde_json::Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn both_layouts_are_ascii_and_read_back_to_the_same_value(value in json_value()) {
            for layout in [Layout::OneLine, Layout::Indent4] {
                let bytes = to_python_json(&value, layout);
                proptest::prop_assert!(bytes.is_ascii());
                let back: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                proptest::prop_assert_eq!(&back, &value);
            }
        }
    }
}
