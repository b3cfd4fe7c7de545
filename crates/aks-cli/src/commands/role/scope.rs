//! The pure parts of `aksctl role …`: az's argument checks, scope building, the resource-id check, the search
//! filter and the client-side selection of assignments, and az's rendering of ARM's timestamps
//! (docs/az-behaviour.md, "Role assignments"; `Azure/azure-cli: src/azure-cli/azure/cli/command_modules/role/custom.py`).

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::CliError;

/// az's `process_assignment_namespace`: `--assignee ""`, `--scope ""`, `--role ""` or `-g ""` would widen a
/// search to everything (a delete of every assignment), so an empty value is refused.
pub fn non_empty(option: &str, value: Option<&str>) -> Result<(), CliError> {
    if value == Some("") {
        return Err(CliError::message(format!(
            "usage error: {option} can't be an empty string. Either omit it or provide a non-empty string."
        )));
    }
    Ok(())
}

/// `azure.mgmt.core.tools.is_valid_resource_id`: `/subscriptions/{s}[/resourceGroups/{rg}][/providers/{ns}/{type}/
/// {name}[(/providers/{ns})?/{type}/{name}]...]`, segment names in any case, no empty segment, no trailing `/`.
pub fn is_valid_resource_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix('/') else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let is = |index: usize, name: &str| {
        parts
            .get(index)
            .is_some_and(|p| p.eq_ignore_ascii_case(name))
    };
    let filled = |from: usize, count: usize| {
        parts.len() >= from + count && parts[from..from + count].iter().all(|p| !p.is_empty())
    };
    if !is(0, "subscriptions") || !filled(1, 1) {
        return false;
    }
    let mut index = 2;
    if is(index, "resourceGroups") {
        if !filled(index + 1, 1) {
            return false;
        }
        index += 2;
    }
    if index == parts.len() {
        return true;
    }
    if !is(index, "providers") || !filled(index + 1, 3) {
        return false;
    }
    index += 4;
    while index < parts.len() {
        let (from, count) = if is(index, "providers") {
            (index + 1, 3)
        } else {
            (index, 2)
        };
        if !filled(from, count) {
            return false;
        }
        index = from + count;
    }
    true
}

/// az's `_build_role_scope`: `--scope` (checked when it starts with `/subscriptions/`), else the resource group's
/// id for `-g`, else the subscription's.
pub fn build_scope(
    resource_group: Option<&str>,
    scope: Option<&str>,
    subscription: &str,
) -> Result<String, CliError> {
    let subscription_scope = format!("/subscriptions/{subscription}");
    match (scope, resource_group) {
        (Some(_), Some(group)) => Err(CliError::message(format!(
            "Resource group \"{group}\" is redundant because scope is supplied"
        ))),
        (Some(scope), None) => {
            if scope.starts_with("/subscriptions/") && !is_valid_resource_id(scope) {
                return Err(CliError::message(
                    "Invalid scope. Please use --help to view the valid format.",
                ));
            }
            Ok(scope.to_string())
        }
        (None, Some(group)) => Ok(format!("{subscription_scope}/resourceGroups/{group}")),
        (None, None) => Ok(subscription_scope),
    }
}

/// Where `_search_role_assignments` lists, and with which `$filter`.
#[derive(Debug, PartialEq, Eq)]
pub struct Search {
    /// The scope the list is asked at (the subscription's for `--all`).
    pub list_scope: String,
    /// The `$filter`.
    pub filter: Option<String>,
}

/// `_search_role_assignments`' request: at a scope `atScope()` (and `assignedTo('{oid}')` with groups); with
/// `--all`, the subscription's list by `principalId eq` / `assignedTo` or unfiltered.
pub fn search(
    scope: Option<&str>,
    subscription: &str,
    assignee: Option<&str>,
    include_groups: bool,
) -> Search {
    match (scope, assignee) {
        (Some(scope), assignee) => Search {
            list_scope: scope.to_string(),
            filter: Some(match assignee.filter(|_| include_groups) {
                Some(oid) => format!("atScope() and assignedTo('{oid}')"),
                None => "atScope()".to_string(),
            }),
        },
        (None, assignee) => Search {
            list_scope: format!("/subscriptions/{subscription}"),
            filter: assignee.map(|oid| {
                if include_groups {
                    format!("assignedTo('{oid}')")
                } else {
                    format!("principalId eq '{oid}'")
                }
            }),
        },
    }
}

/// The string field `key` of an ARM assignment (top level or under `properties`).
pub fn field<'a>(assignment: &'a Value, key: &str) -> Option<&'a str> {
    assignment
        .get(key)
        .or_else(|| assignment.get("properties").and_then(|p| p.get(key)))
        .and_then(Value::as_str)
}

/// `_search_role_assignments`' client-side selection: at exactly the scope unless `--include-inherited` (or no
/// scope: `--all`), of the role id when given, of the principal when given without `--include-groups`.
pub fn keep(
    assignment: &Value,
    scope: Option<&str>,
    include_inherited: bool,
    role_id: Option<&str>,
    assignee: Option<&str>,
    include_groups: bool,
) -> bool {
    let at_scope = match scope {
        None => true,
        Some(scope) => {
            include_inherited
                || field(assignment, "scope")
                    .is_some_and(|s| s.to_lowercase() == scope.to_lowercase())
        }
    };
    let of_role = role_id.is_none_or(|id| field(assignment, "roleDefinitionId") == Some(id));
    let of_principal =
        include_groups || assignee.is_none_or(|oid| field(assignment, "principalId") == Some(oid));
    at_scope && of_role && of_principal
}

/// A timestamp as az prints it: Python's `datetime.isoformat()` of the parsed value (microseconds, dropped when
/// zero; `+00:00` for `Z`). Text that is not RFC 3339 stays as it is.
pub fn python_datetime(text: &str) -> String {
    let Ok(parsed) = OffsetDateTime::parse(text, &Rfc3339) else {
        return text.to_string();
    };
    let offset = parsed.offset();
    let (hours, minutes, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    let micros = parsed.microsecond();
    let fraction = if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}")
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}{sign}{:02}:{:02}",
        parsed.year(),
        u8::from(parsed.month()),
        parsed.day(),
        parsed.hour(),
        parsed.minute(),
        parsed.second(),
        hours.unsigned_abs(),
        minutes.unsigned_abs(),
    )
}

/// Rewrite the timestamp fields `keys` of `object` (when strings) as az prints them.
pub fn python_datetimes(object: &mut serde_json::Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(Value::String(text)) = object.get_mut(*key) {
            *text = python_datetime(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resource_ids_as_azure_mgmt_core_reads_them() {
        // Each verdict is what azure-mgmt-core's `is_valid_resource_id` answers.
        for (id, valid) in [
            ("/subscriptions/s", true),
            ("/subscriptions/s/", false),
            ("/subscriptions/s/resourceGroups/rg", true),
            (
                "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
                true,
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/namespaces/ns",
                true,
            ),
            ("/subscriptions/s/providers/Microsoft.Foo/bar/x", true),
            ("/subscriptions/s/resourceGroups", false),
            ("/subscriptions/s/resourceGroups/rg/providers/a/b", false),
            ("/subscriptions/s/resourceGroups/rg/x", false),
            (
                "/subscriptions/s/resourceGroups/rg/providers/a/b/c/providers/d/e/f",
                true,
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/a/b/c/d",
                false,
            ),
            ("subscriptions/s", false),
        ] {
            assert_eq!(is_valid_resource_id(id), valid, "{id}");
        }
    }

    #[test]
    fn scopes_like_az() {
        assert_eq!(build_scope(None, None, "s").unwrap(), "/subscriptions/s");
        assert_eq!(
            build_scope(Some("rg"), None, "s").unwrap(),
            "/subscriptions/s/resourceGroups/rg"
        );
        assert_eq!(build_scope(None, Some("/"), "s").unwrap(), "/");
        assert_eq!(
            build_scope(Some("rg"), Some("/subscriptions/s"), "s")
                .unwrap_err()
                .to_string(),
            "Resource group \"rg\" is redundant because scope is supplied"
        );
        assert_eq!(
            build_scope(None, Some("/subscriptions/s/resourceGroups/"), "s")
                .unwrap_err()
                .to_string(),
            "Invalid scope. Please use --help to view the valid format."
        );
        assert_eq!(
            non_empty("--assignee", Some("")).unwrap_err().to_string(),
            "usage error: --assignee can't be an empty string. Either omit it or provide a non-empty string."
        );
        assert!(non_empty("--assignee", None).is_ok());
    }

    #[test]
    fn searches_and_selection_like_az() {
        assert_eq!(
            search(Some("/x"), "s", Some("o"), true),
            Search {
                list_scope: "/x".into(),
                filter: Some("atScope() and assignedTo('o')".into())
            }
        );
        assert_eq!(
            search(Some("/x"), "s", Some("o"), false).filter.as_deref(),
            Some("atScope()")
        );
        assert_eq!(
            search(None, "s", Some("o"), false),
            Search {
                list_scope: "/subscriptions/s".into(),
                filter: Some("principalId eq 'o'".into())
            }
        );
        assert_eq!(
            search(None, "s", Some("o"), true).filter.as_deref(),
            Some("assignedTo('o')")
        );
        assert_eq!(search(None, "s", None, false).filter, None);

        let inherited =
            json!({"properties": {"scope": "/", "roleDefinitionId": "r", "principalId": "o"}});
        let here =
            json!({"properties": {"scope": "/X", "roleDefinitionId": "r", "principalId": "p"}});
        assert!(!keep(&inherited, Some("/x"), false, None, None, false));
        assert!(keep(&inherited, Some("/x"), true, None, None, false));
        assert!(keep(&here, Some("/x"), false, Some("r"), Some("p"), false));
        assert!(!keep(&here, Some("/x"), false, Some("R"), None, false));
        assert!(!keep(&here, None, false, None, Some("o"), false));
        assert!(keep(&here, None, false, None, Some("o"), true));
    }

    #[test]
    fn timestamps_as_python_prints_them() {
        assert_eq!(
            python_datetime("2023-08-23T12:47:46.5507039Z"),
            "2023-08-23T12:47:46.550703+00:00"
        );
        assert_eq!(
            python_datetime("2015-02-02T21:55:09Z"),
            "2015-02-02T21:55:09+00:00"
        );
        assert_eq!(
            python_datetime("2015-02-02T21:55:09.1+02:00"),
            "2015-02-02T21:55:09.100000+02:00"
        );
        assert_eq!(python_datetime("soon"), "soon");
    }
}
