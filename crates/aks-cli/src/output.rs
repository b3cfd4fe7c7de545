//! The only place that writes to the terminal: data on stdout in az's formats, warnings, errors and prompts on
//! stderr (docs/az-behaviour.md, "Output formats").
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, BufRead, IsTerminal, Write};

use serde_json::Value;

mod table;
mod yaml;

pub use table::{TableLayout, render as render_table};

use crate::args::OutputFormat;
use crate::error::CliError;

/// Writes data and messages like az.
#[derive(Debug)]
pub struct Printer {
    format: OutputFormat,
    query: Option<String>,
    only_show_errors: bool,
    color: bool,
}

impl Printer {
    /// A printer for the resolved global settings.
    pub fn new(
        format: OutputFormat,
        query: Option<String>,
        only_show_errors: bool,
        no_color: bool,
    ) -> Self {
        let color = !no_color && io::stdout().is_terminal() && io::stderr().is_terminal();
        Printer {
            format,
            query,
            only_show_errors,
            color,
        }
    }

    /// The same printer with another output format (a command whose default format is not az's JSON).
    pub fn with_format(&self, format: OutputFormat) -> Printer {
        Printer {
            format,
            query: self.query.clone(),
            only_show_errors: self.only_show_errors,
            color: self.color,
        }
    }

    /// Whether warnings are shown.
    pub fn shows_warnings(&self) -> bool {
        !self.only_show_errors
    }

    /// Print a command's result in the chosen format, after `--query`.
    pub fn data(&self, value: &Value, layout: TableLayout) -> Result<(), CliError> {
        let (value, queried) = match &self.query {
            Some(query) => (apply_query(query, value)?, true),
            None => (value.clone(), false),
        };
        let text = match self.format {
            OutputFormat::None => return Ok(()),
            OutputFormat::Json | OutputFormat::Jsonc => {
                let mut out = String::new();
                write_json(
                    &mut out,
                    &aks_model::az_view::sort_keys(value),
                    0,
                    self.color && self.format == OutputFormat::Jsonc,
                );
                out.push('\n');
                out
            }
            OutputFormat::Yaml => yaml::to_yaml(&value, None),
            // knack colours yamlc only on a terminal (pygments); the palette is jsonc's.
            OutputFormat::Yamlc => yaml::to_yaml(&value, self.color.then_some(YAML_PALETTE)),
            OutputFormat::Table => {
                let (headers, rows) = table::table_cells(&value, layout, queried);
                table::render(&headers, &rows)
            }
            OutputFormat::Tsv => tsv_text(&value),
        };
        self.stdout(&text)
    }

    /// Print text to stdout as is (e.g. `get-credentials --file -`). A closed pipe is not an error.
    pub fn stdout(&self, text: &str) -> Result<(), CliError> {
        let mut stdout = io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Err(error) if error.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Io {
                action: "writing to",
                path: "standard output".into(),
                source: error,
            }),
            _ => Ok(()),
        }
    }

    /// A warning on stderr (`WARNING: ` without colour), unless `--only-show-errors`.
    pub fn warning(&self, message: &str) {
        if self.only_show_errors {
            return;
        }
        if self.color {
            eprintln!("\x1b[33m{message}\x1b[0m");
        } else {
            eprintln!("WARNING: {message}");
        }
    }

    /// An error on stderr (`ERROR: ` without colour).
    pub fn error(&self, message: &str) {
        if self.color {
            eprintln!("\x1b[31m{message}\x1b[0m");
        } else {
            eprintln!("ERROR: {message}");
        }
    }

    /// A plain informational line on stderr (e.g. `--verbose` notes), never on stdout.
    pub fn info(&self, message: &str) {
        eprintln!("INFO: {message}");
    }

    /// Whether stdin and stdout are both terminals (a person at a shell, as az's `login` asks before its
    /// subscription picker).
    pub fn is_interactive(&self) -> bool {
        io::stdin().is_terminal() && io::stdout().is_terminal()
    }

    /// Whether text on the terminal is coloured.
    pub fn colors(&self) -> bool {
        self.color
    }

    /// Ask for a line on stderr (knack's `prompt`); the answer without its line end. `None` when stdin is not a
    /// terminal (az's NoTTYException) or at end of input.
    pub fn prompt(&self, question: &str) -> Option<String> {
        if !io::stdin().is_terminal() {
            return None;
        }
        eprint!("{question}");
        let _ = io::stderr().flush();
        let mut answer = String::new();
        if io::stdin().lock().read_line(&mut answer).ok()? == 0 {
            return None;
        }
        Some(answer.trim_end_matches(['\r', '\n']).to_string())
    }

    /// Ask a yes/no question on stderr until the answer is `y` or `n` (any case), as knack's `prompt_y_n`;
    /// `None` when stdin is not a terminal, `Some(false)` at end of input.
    pub fn confirm(&self, question: &str) -> Option<bool> {
        if !io::stdin().is_terminal() {
            return None;
        }
        loop {
            let Some(answer) = self.prompt(question) else {
                return Some(false);
            };
            match answer.to_ascii_lowercase().as_str() {
                "y" => return Some(true),
                "n" => return Some(false),
                _ => {}
            }
        }
    }
}

/// Apply a JMESPath expression to a result, as az does before formatting.
pub fn apply_query(query: &str, value: &Value) -> Result<Value, CliError> {
    let expression = jmespath::compile(query).map_err(|error| {
        CliError::message(format!(
            "Invalid jmespath query supplied for `--query`: {error}"
        ))
    })?;
    let data = jmespath::Variable::from_json(&value.to_string()).map_err(|error| {
        CliError::message(format!(
            "Invalid jmespath query supplied for `--query`: {error}"
        ))
    })?;
    let result = expression.search(data).map_err(|error| {
        CliError::message(format!(
            "Invalid jmespath query supplied for `--query`: {error}"
        ))
    })?;
    let mut value = serde_json::to_value(&*result).map_err(|error| {
        CliError::message(format!(
            "Invalid jmespath query supplied for `--query`: {error}"
        ))
    })?;
    // jmespath's objects are sorted maps; az keeps a multiselect hash's keys in query order (tables show it).
    if let Some(order) = multiselect_key_order(expression.as_ast()) {
        reorder_keys(&mut value, &order);
    }
    Ok(value)
}

/// The keys of the multiselect hash that shapes a query's result (`[].{Name: name, Location: location}`), in
/// the order the query names them.
fn multiselect_key_order(ast: &jmespath::ast::Ast) -> Option<Vec<String>> {
    use jmespath::ast::Ast;
    match ast {
        Ast::MultiHash { elements, .. } => Some(elements.iter().map(|kv| kv.key.clone()).collect()),
        Ast::Projection { rhs, .. } | Ast::Subexpr { rhs, .. } => multiselect_key_order(rhs),
        Ast::Condition { then, .. } => multiselect_key_order(then),
        Ast::Function { args, .. } => args.first().and_then(multiselect_key_order),
        _ => None,
    }
}

/// Put the keys of the result's objects (top level, or the items of a top-level list) in `order`.
fn reorder_keys(value: &mut Value, order: &[String]) {
    match value {
        Value::Object(map) => {
            let mut ordered = serde_json::Map::new();
            for key in order {
                if let Some(child) = map.remove(key) {
                    ordered.insert(key.clone(), child);
                }
            }
            ordered.append(map);
            *map = ordered;
        }
        Value::Array(items) => items.iter_mut().for_each(|item| reorder_keys(item, order)),
        _ => {}
    }
}

/// Python's `json.dumps(indent=2, ensure_ascii=False, separators=(',', ': '))`, optionally coloured.
fn write_json(out: &mut String, value: &Value, depth: usize, color: bool) {
    let pad = |n: usize| "  ".repeat(n);
    let paint = |text: String, code: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        }
    };
    match value {
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) => {
            out.push_str("{\n");
            for (index, (key, child)) in map.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&paint(Value::String(key.clone()).to_string(), "36"));
                out.push_str(": ");
                write_json(out, child, depth + 1, color);
                if index + 1 < map.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Array(items) => {
            out.push_str("[\n");
            for (index, child) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write_json(out, child, depth + 1, color);
                if index + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::String(_) => out.push_str(&paint(value.to_string(), "32")),
        Value::Null | Value::Bool(_) => out.push_str(&paint(value.to_string(), "35")),
        Value::Number(_) => out.push_str(&paint(value.to_string(), "34")),
    }
}

/// `yamlc`'s colours on a terminal: the ones `jsonc` uses.
const YAML_PALETTE: yaml::Palette = yaml::Palette {
    key: "36",
    string: "32",
    number: "34",
    literal: "35",
};

/// Scalar text as Python's `str()` would print it inside tables and tsv.
fn python_str(value: &Value) -> String {
    match value {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// knack's tsv: one line per item, dict values in sorted-key order, nested dicts empty, lists as their length.
fn tsv_text(value: &Value) -> String {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Bool(flag) => return format!("{flag}\n"),
        other => vec![other],
    };
    let cell = |v: &Value| match v {
        Value::Array(list) => list.len().to_string(),
        Value::Object(_) => String::new(),
        other => python_str(other),
    };
    let mut out = String::new();
    for item in items {
        let line = match item {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                entries
                    .iter()
                    .map(|(_, v)| cell(v))
                    .collect::<Vec<_>>()
                    .join("\t")
            }
            Value::Array(list) => list.iter().map(cell).collect::<Vec<_>>().join("\t"),
            other => cell(other),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_like_python() {
        let mut out = String::new();
        write_json(
            &mut out,
            &json!({"a": [], "b": {}, "c": [1, {"d": null}], "é": "ü"}),
            0,
            false,
        );
        assert_eq!(
            out,
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": null\n    }\n  ],\n  \"é\": \"ü\"\n}"
        );
    }

    #[test]
    fn tsv_like_knack() {
        let value = json!({"id": "/x", "location": "eastus", "managedBy": null, "name": "rg1", "properties": {"provisioningState": "Succeeded"}, "tags": null, "type": "t"});
        assert_eq!(tsv_text(&value), "/x\teastus\tNone\trg1\t\tNone\tt\n");
        assert_eq!(tsv_text(&json!(["a", "b"])), "a\nb\n");
    }

    #[test]
    fn query_tables_keep_the_query_key_order() {
        let value = json!([{"name": "c1", "location": "eastus", "resourceGroup": "rg1"}]);
        let result = apply_query(
            "[].{Name: name, RG: resourceGroup, Location: location}",
            &value,
        )
        .unwrap();
        let (headers, _) = table::table_cells(&result, TableLayout::ManagedCluster, true);
        assert_eq!(headers, ["Name", "RG", "Location"]);
    }

    #[test]
    fn query_applies_before_formatting() {
        let value =
            json!([{"name": "a", "location": "eastus"}, {"name": "b", "location": "westus"}]);
        assert_eq!(
            apply_query("[?location=='westus'].name | [0]", &value).unwrap(),
            json!("b")
        );
        assert!(
            apply_query("[?", &value)
                .unwrap_err()
                .to_string()
                .starts_with("Invalid jmespath query supplied for `--query`")
        );
    }
}
