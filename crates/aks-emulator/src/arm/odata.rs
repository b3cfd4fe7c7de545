//! The small part of OData `$filter` syntax ARM's Microsoft.Authorization lists take: `field eq 'value'`,
//! `func()` and `func('value')` terms joined by `and` (Azure REST API reference, Role Assignments - List For
//! Scope: <https://learn.microsoft.com/rest/api/authorization/role-assignments/list-for-scope>).

use aks_model::ArmErrorBody;
use axum::http::StatusCode;
use axum::response::Response;

use crate::http::arm_error;

/// The terms of a filter joined by ` and ` (any case), trimmed.
pub(super) fn terms(filter: &str) -> Vec<&str> {
    let lower = filter.to_ascii_lowercase();
    let mut terms = Vec::new();
    let mut start = 0;
    while let Some(at) = lower[start..].find(" and ") {
        terms.push(filter[start..start + at].trim());
        start += at + " and ".len();
    }
    terms.push(filter[start..].trim());
    terms
}

/// The quoted value of a term `{prefix}'value'` (prefix matched case-insensitively; a closing `)` after the
/// quote is allowed when the prefix opens one), or `None` when the term has another form.
pub(super) fn quoted_after(term: &str, prefix: &str) -> Option<String> {
    let head = term.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = &term[prefix.len()..];
    let rest = if prefix.ends_with('(') {
        rest.strip_suffix(')')?
    } else {
        rest
    };
    let value = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    (!value.contains('\'')).then(|| value.to_string())
}

/// `400 InvalidFilterInQueryString` for a filter the emulator does not understand (the emulator fails loudly).
pub(super) fn unsupported_filter(filter: &str) -> Response {
    arm_error(
        StatusCode::BAD_REQUEST,
        ArmErrorBody::new(
            "InvalidFilterInQueryString",
            format!("The $filter '{filter}' is not supported."),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_split_on_and_in_any_case() {
        assert_eq!(
            terms("atScope() and assignedTo('x')"),
            ["atScope()", "assignedTo('x')"]
        );
        assert_eq!(
            terms("atScope() AND assignedTo('x')"),
            ["atScope()", "assignedTo('x')"]
        );
        assert_eq!(terms("roleName eq 'Reader'"), ["roleName eq 'Reader'"]);
    }

    #[test]
    fn quoted_values_follow_their_prefix() {
        assert_eq!(
            quoted_after("roleName eq 'Reader'", "rolename eq "),
            Some("Reader".into())
        );
        assert_eq!(
            quoted_after("assignedTo('abc')", "assignedTo("),
            Some("abc".into())
        );
        assert_eq!(quoted_after("assignedTo('abc'", "assignedTo("), None);
        assert_eq!(quoted_after("roleName eq Reader", "roleName eq "), None);
        assert_eq!(
            quoted_after("principalId eq 'a'b'", "principalId eq "),
            None
        );
    }
}
