//! `-o table` as az prints it: a command's table transformer (azure-cli's `_format.py` functions) or knack's
//! automatic table, rendered like `tabulate(tablefmt="simple", disable_numparse=True)`.
//!
//! knack 0.14 (`microsoft/knack: knack/output.py`, `format_table` and `_TableOutput`) turns each item into a row:
//! its keys (sorted, unless a transformer or `--query` shaped the result, then in the order given), without
//! `id`, `type` and `etag`, keeping only values that are not null, lists or dicts, each header being the key with
//! its first letter upper-cased. A non-object item is one `Result` cell (a list item: `Column1`, `Column2`, …).
//! tabulate's headers are the keys of all rows in order of first appearance; a row without one has an empty cell.

use serde_json::Value;

/// Which table a command prints: one of az's table transformers, or knack's automatic table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableLayout {
    /// knack's automatic table (commands without a transformer: `group show|create`, `aks create|update`,
    /// `account show`, `ad group …`, `cloud …`).
    Auto,
    /// `aks show|list` (`aks_show_table_format`, `aks_list_table_format`): Name, Location, ResourceGroup,
    /// KubernetesVersion, CurrentKubernetesVersion, ProvisioningState, Fqdn (`fqdn || privateFqdn`).
    ManagedCluster,
    /// `group list` (`transform_resource_group_list`): Name, Location, Status.
    ResourceGroup,
    /// `account list` (`transform_account_list`): Name, CloudName, SubscriptionId, TenantId, State, IsDefault.
    Subscription,
    /// `role assignment list` (`transform_assignment_list`): Principal, Role, Scope.
    RoleAssignment,
    /// `role definition list` (`transform_definition_list`): Name, Type, Description.
    RoleDefinition,
    /// aksctl's own tables (`aks migrate`, no az counterpart): each row's keys are its columns in the order the
    /// command built them, as an az transformer's rows are (not sorted).
    InOrder,
}

/// One row before rendering: (key, value) pairs in column order.
type Row = Vec<(String, Value)>;

/// knack's `_TableOutput.SKIP_KEYS`.
const SKIP_KEYS: [&str; 3] = ["id", "type", "etag"];

impl TableLayout {
    /// The transformer's row for one item (`None` for the automatic tables: the item is its own row).
    fn transform(self, item: &Value) -> Option<Row> {
        let pick = |pairs: &[(&str, Value)]| -> Row {
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_string(), value.clone()))
                .collect()
        };
        match self {
            // knack's automatic table, sorted (Auto) or in the order built (InOrder): see `table_cells`.
            TableLayout::Auto | TableLayout::InOrder => None,
            TableLayout::ManagedCluster => Some(pick(&[
                ("name", item["name"].clone()),
                ("location", item["location"].clone()),
                ("resourceGroup", item["resourceGroup"].clone()),
                ("kubernetesVersion", item["kubernetesVersion"].clone()),
                (
                    "currentKubernetesVersion",
                    item["currentKubernetesVersion"].clone(),
                ),
                ("provisioningState", item["provisioningState"].clone()),
                ("fqdn", jmespath_or(&item["fqdn"], &item["privateFqdn"])),
            ])),
            TableLayout::ResourceGroup => Some(pick(&[
                ("Name", item["name"].clone()),
                ("Location", item["location"].clone()),
                ("Status", item["properties"]["provisioningState"].clone()),
            ])),
            TableLayout::RoleAssignment => Some(pick(&[
                ("Principal", item["principalName"].clone()),
                ("Role", item["roleDefinitionName"].clone()),
                ("Scope", item["scope"].clone()),
            ])),
            TableLayout::RoleDefinition => Some(pick(&[
                ("Name", item["roleName"].clone()),
                ("Type", item["type"].clone()),
                ("Description", item["description"].clone()),
            ])),
            TableLayout::Subscription => Some(pick(&[
                ("Name", item["name"].clone()),
                ("CloudName", item["cloudName"].clone()),
                ("SubscriptionId", item["id"].clone()),
                ("TenantId", item["tenantId"].clone()),
                ("State", item["state"].clone()),
                ("IsDefault", item["isDefault"].clone()),
            ])),
        }
    }
}

/// JMESPath's `a || b`: `a` unless it is false-like (null, false, "", [], {}).
fn jmespath_or(left: &Value, right: &Value) -> Value {
    let falsy = match left {
        Value::Null | Value::Bool(false) => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    };
    if falsy { right.clone() } else { left.clone() }
}

/// knack's `_auto_table_item`: the cells of one row.
fn auto_table_item(item: &Value, sort_keys: bool) -> Row {
    match item {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            if sort_keys {
                keys.sort();
            }
            keys.into_iter()
                .filter(|key| !SKIP_KEYS.contains(&key.as_str()))
                .filter(|key| {
                    !matches!(map[*key], Value::Null | Value::Array(_) | Value::Object(_))
                })
                .map(|key| (capitalize_first(key), map[key].clone()))
                .collect()
        }
        Value::Array(cells) => cells
            .iter()
            .enumerate()
            .map(|(index, cell)| (format!("Column{}", index + 1), cell.clone()))
            .collect(),
        other => vec![("Result".to_string(), other.clone())],
    }
}

/// Python's `x[0].upper() + x[1:]`.
fn capitalize_first(key: &str) -> String {
    let mut chars = key.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// A cell as tabulate prints it: Python's `str()`, and nothing for null (tabulate's `missingval`).
fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The headers and cell texts of a result's table. `queried`: a `--query` shaped the result, so the
/// transformer is not applied and keys keep their order (knack's `should_sort_keys`).
pub fn table_cells(
    value: &Value,
    layout: TableLayout,
    queried: bool,
) -> (Vec<String>, Vec<Vec<String>>) {
    let layout = if queried { TableLayout::Auto } else { layout };
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let sort_keys = !queried && layout == TableLayout::Auto;
    let rows: Vec<Row> = items
        .iter()
        .map(|item| match layout.transform(item) {
            Some(row) => auto_table_item(&Value::Object(row.into_iter().collect()), false),
            None => auto_table_item(item, sort_keys),
        })
        .collect();
    let mut headers: Vec<String> = Vec::new();
    for (key, _) in rows.iter().flatten() {
        if !headers.contains(key) {
            headers.push(key.clone());
        }
    }
    let cells = rows
        .iter()
        .map(|row| {
            headers
                .iter()
                .map(|header| {
                    row.iter()
                        .find(|(key, _)| key == header)
                        .map_or_else(String::new, |(_, value)| cell_text(value))
                })
                .collect()
        })
        .collect();
    (headers, cells)
}

/// tabulate 0.10's "simple" format as knack prints it: each column as wide as its widest cell and at least its
/// header plus 2 (`MIN_PADDING`), cells left-aligned (numbers are not parsed), columns two spaces apart, trailing
/// spaces stripped from each line. A table without columns (an empty list, objects with only skipped keys) is
/// an empty line.
pub fn render(headers: &[String], rows: &[Vec<String>]) -> String {
    if headers.is_empty() {
        return "\n".to_string();
    }
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| visible_width(&r[c]))
                .chain([visible_width(&headers[c]) + 2])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let text = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| {
                let padding = width.saturating_sub(visible_width(cell));
                format!("{cell}{}", " ".repeat(padding))
            })
            .collect::<Vec<_>>()
            .join("  ");
        format!("{}\n", text.trim_end())
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = line(headers);
    out.push_str(&line(&rule));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// A cell's width on the terminal: its characters less colour sequences (`ESC [ … m`), as tabulate measures
/// cells with `_invisible_codes` removed (astanin/python-tabulate: `tabulate/__init__.py` `_visible_width`).
fn visible_width(cell: &str) -> usize {
    let mut width = 0;
    let mut chars = cell.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            width += 1;
        }
    }
    width
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_named(name: &str) -> TableLayout {
        match name {
            "Auto" => TableLayout::Auto,
            "ManagedCluster" => TableLayout::ManagedCluster,
            "ResourceGroup" => TableLayout::ResourceGroup,
            "Subscription" => TableLayout::Subscription,
            "InOrder" => TableLayout::InOrder,
            other => panic!("unknown layout {other} in the goldens"),
        }
    }

    /// Every case of `tests/fixtures/table/knack-goldens.json`, written by the real knack, tabulate and az
    /// transformers (`scripts/gen-table-goldens.py`), byte for byte.
    #[test]
    fn tables_match_knack_goldens() {
        let cases: Vec<Value> = serde_json::from_str(include_str!(
            "../../../../tests/fixtures/table/knack-goldens.json"
        ))
        .unwrap();
        assert!(cases.len() >= 20);
        for case in &cases {
            let layout = layout_named(case["layout"].as_str().unwrap());
            let queried = case["queried"].as_bool().unwrap();
            let (headers, rows) = table_cells(&case["value"], layout, queried);
            assert_eq!(
                render(&headers, &rows),
                case["table"].as_str().unwrap(),
                "case {}",
                case["name"]
            );
        }
    }

    #[test]
    fn group_show_is_the_automatic_table_not_the_list_transformer() {
        let group = serde_json::json!({"id": "/subscriptions/s/resourceGroups/rg1", "location": "eastus",
            "managedBy": null, "name": "rg1", "properties": {"provisioningState": "Succeeded"}, "tags": null,
            "type": "Microsoft.Resources/resourceGroups"});
        let (headers, _) = table_cells(&group, TableLayout::Auto, false);
        assert_eq!(headers, ["Location", "Name"]);
        let (headers, _) = table_cells(&group, TableLayout::ResourceGroup, false);
        assert_eq!(headers, ["Name", "Location", "Status"]);
        // aksctl's own tables keep the order the command built.
        let (headers, _) = table_cells(
            &serde_json::json!({"Name": "c1", "Action": "migrate"}),
            TableLayout::InOrder,
            false,
        );
        assert_eq!(headers, ["Name", "Action"]);
    }
}
