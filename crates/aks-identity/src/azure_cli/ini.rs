//! The INI files of the Azure CLI (`config`, `clouds.config`, written by Python's `configparser`): read a value,
//! set a value, and keep every other line (sections, keys, comments, blank lines) as it was.
//!
//! Follows `configparser`'s defaults: `[section]` headers are case-sensitive, option names are not; `=` or `:`
//! separate name and value; whole-line comments start with `#` or `;`; an indented line continues the previous
//! value. A value we write is `name = value`, as `configparser.write` does.

/// An INI document kept as its lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IniDocument {
    lines: Vec<String>,
}

/// What one line is.
enum Line<'a> {
    Section(&'a str),
    Option { name: &'a str, value: &'a str },
    Continuation,
    Other,
}

fn classify(line: &str) -> Line<'_> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
        return Line::Other;
    }
    if line.starts_with(char::is_whitespace) {
        return Line::Continuation;
    }
    if let Some(name) = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
    {
        return Line::Section(name.0);
    }
    match trimmed.find(['=', ':']) {
        Some(at) => Line::Option {
            name: trimmed[..at].trim(),
            value: trimmed[at + 1..].trim(),
        },
        None => Line::Option {
            name: trimmed,
            value: "",
        },
    }
}

impl IniDocument {
    /// Parse text (any line endings; a UTF-8 BOM is dropped).
    pub fn parse(text: &str) -> IniDocument {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        IniDocument {
            lines: text.lines().map(str::to_string).collect(),
        }
    }

    /// The text, one `\n` after each line.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for line in &self.lines {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// The value of `name` (case-insensitive) in `section`; the last one wins, as in `configparser` reads.
    pub fn get(&self, section: &str, name: &str) -> Option<String> {
        let mut current = None;
        let mut found = None;
        for line in &self.lines {
            match classify(line) {
                Line::Section(header) => current = Some(header),
                Line::Option { name: key, value }
                    if current == Some(section) && key.eq_ignore_ascii_case(name) =>
                {
                    found = Some(value.to_string());
                }
                _ => {}
            }
        }
        found
    }

    /// Whether the document has a `[section]` header.
    pub fn has_section(&self, section: &str) -> bool {
        self.lines
            .iter()
            .any(|line| matches!(classify(line), Line::Section(header) if header == section))
    }

    /// Remove every `[section]` block (its header and its lines, up to the next section) and the blank lines that
    /// ended the block before it; answers whether anything was removed.
    pub fn remove_section(&mut self, section: &str) -> bool {
        let mut kept: Vec<String> = Vec::with_capacity(self.lines.len());
        let mut inside = false;
        let mut removed = false;
        for line in &self.lines {
            if let Line::Section(header) = classify(line) {
                inside = header == section;
                if inside {
                    removed = true;
                    while kept.last().is_some_and(|line| line.trim().is_empty()) {
                        kept.pop();
                    }
                }
            }
            if !inside {
                kept.push(line.clone());
            }
        }
        // A removed last section leaves the blank separator of the one before it.
        while removed && kept.last().is_some_and(|line| line.trim().is_empty()) {
            kept.pop();
        }
        self.lines = kept;
        removed
    }

    /// Set `name = value` in `section`: the existing line is replaced in place, else the line is added after the
    /// section's last option, else the section is appended.
    pub fn set(&mut self, section: &str, name: &str, value: &str) {
        let new_line = format!("{name} = {value}");
        let mut current = None;
        let mut last_in_section = None;
        let mut existing = None;
        for (index, line) in self.lines.iter().enumerate() {
            match classify(line) {
                Line::Section(header) => {
                    current = Some(header);
                    if header == section && last_in_section.is_none() {
                        last_in_section = Some(index);
                    }
                }
                Line::Option { name: key, .. } if current == Some(section) => {
                    last_in_section = Some(index);
                    if key.eq_ignore_ascii_case(name) {
                        existing = Some(index);
                    }
                }
                Line::Continuation if current == Some(section) => last_in_section = Some(index),
                _ => {}
            }
        }
        match (existing, last_in_section) {
            (Some(index), _) => self.lines[index] = new_line,
            (None, Some(index)) => self.lines.insert(index + 1, new_line),
            (None, None) => {
                if self
                    .lines
                    .last()
                    .is_some_and(|line| !line.trim().is_empty())
                {
                    self.lines.push(String::new());
                }
                self.lines.push(format!("[{section}]"));
                self.lines.push(new_line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOUDS: &str = "# written by hand\n[AzureCloud]\nsubscription = 1111\n; keep me\nprofile = latest\n\n[MyCloud]\nEndpoint_Resource_Manager: https://arm.example/\n  continued\n";

    #[test]
    fn reads_values_case_insensitively_by_option_and_sensitively_by_section() {
        let document = IniDocument::parse(CLOUDS);
        assert_eq!(
            document.get("AzureCloud", "SUBSCRIPTION").as_deref(),
            Some("1111")
        );
        assert_eq!(
            document
                .get("MyCloud", "endpoint_resource_manager")
                .as_deref(),
            Some("https://arm.example/")
        );
        assert_eq!(document.get("azurecloud", "subscription"), None);
        assert_eq!(document.get("MyCloud", "subscription"), None);
    }

    #[test]
    fn set_keeps_every_other_line_comment_and_blank() {
        let mut document = IniDocument::parse(CLOUDS);
        document.set("AzureCloud", "subscription", "2222");
        document.set("MyCloud", "subscription", "3333");
        document.set("AzureChinaCloud", "subscription", "4444");
        assert_eq!(
            document.to_text(),
            "# written by hand\n[AzureCloud]\nsubscription = 2222\n; keep me\nprofile = latest\n\n[MyCloud]\nEndpoint_Resource_Manager: https://arm.example/\n  continued\nsubscription = 3333\n\n[AzureChinaCloud]\nsubscription = 4444\n"
        );
        // Round trip without changes is the identity.
        assert_eq!(IniDocument::parse(CLOUDS).to_text(), CLOUDS);
        let mut empty = IniDocument::parse("");
        empty.set("AzureCloud", "subscription", "5");
        assert_eq!(empty.to_text(), "[AzureCloud]\nsubscription = 5\n");
    }

    #[test]
    fn remove_section_drops_its_block_and_keeps_the_rest() {
        let mut document = IniDocument::parse(CLOUDS);
        assert!(document.has_section("MyCloud"));
        assert!(document.remove_section("MyCloud"));
        assert_eq!(
            document.to_text(),
            "# written by hand\n[AzureCloud]\nsubscription = 1111\n; keep me\nprofile = latest\n"
        );
        assert!(!document.has_section("MyCloud"));
        assert!(!document.remove_section("MyCloud"));
        let mut first = IniDocument::parse(CLOUDS);
        assert!(first.remove_section("AzureCloud"));
        assert_eq!(
            first.to_text(),
            "# written by hand\n[MyCloud]\nEndpoint_Resource_Manager: https://arm.example/\n  continued\n"
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_then_write_is_the_identity_and_set_changes_one_line(
            lines in proptest::collection::vec("[ \\[\\]#;=:a-zA-Z0-9_.-]{0,24}", 0..20),
            value in "[a-z0-9-]{1,12}",
        ) {
            let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
            let document = IniDocument::parse(&text);
            proptest::prop_assert_eq!(document.to_text(), text.clone());
            let mut changed = document.clone();
            changed.set("AzureCloud", "subscription", &value);
            proptest::prop_assert_eq!(changed.get("AzureCloud", "subscription"), Some(value.clone()));
            let before: Vec<&str> = text.lines().collect();
            let after = changed.to_text();
            let after: Vec<&str> = after.lines().collect();
            let kept = before.iter().filter(|line| after.contains(line)).count();
            proptest::prop_assert!(before.len() - kept <= 1, "at most the replaced line differs");
        }
    }
}
