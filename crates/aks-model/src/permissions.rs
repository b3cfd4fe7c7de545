//! Azure role permissions: the `{actions, notActions, dataActions, notDataActions}` entries of role definitions and
//! of `…/providers/Microsoft.Authorization/permissions` answers (Azure REST API reference, "Permissions - List For
//! Resource": <https://learn.microsoft.com/rest/api/authorization/permissions/list-for-resource>), and Azure's
//! rules for whether they grant an operation ("Understand Azure role definitions":
//! <https://learn.microsoft.com/azure/role-based-access-control/role-definitions>; docs/azure-rbac.md).

use serde::Deserialize;

/// One entry of a permissions list: the permissions of one role that applies to the caller at the scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// Control-plane actions granted.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Control-plane actions taken back from `actions`.
    #[serde(default)]
    pub not_actions: Vec<String>,
    /// Data-plane actions granted.
    #[serde(default)]
    pub data_actions: Vec<String>,
    /// Data-plane actions taken back from `data_actions`.
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

impl Permission {
    /// Whether this entry grants the control-plane `action`.
    pub fn allows_action(&self, action: &str) -> bool {
        grants(&self.actions, &self.not_actions, action)
    }

    /// Whether this entry grants the data `action`.
    pub fn allows_data_action(&self, action: &str) -> bool {
        grants(&self.data_actions, &self.not_data_actions, action)
    }
}

/// Some pattern of `granted` matches `action` and none of `taken_back` does.
pub fn grants<S: AsRef<str>>(granted: &[S], taken_back: &[S], action: &str) -> bool {
    granted
        .iter()
        .any(|pattern| action_matches(pattern.as_ref(), action))
        && !taken_back
            .iter()
            .any(|pattern| action_matches(pattern.as_ref(), action))
}

/// Whether the operation `pattern` (with `*` wildcards standing for any run of characters: `*`,
/// `Microsoft.ContainerService/*`, `Microsoft.Authorization/*/read`) matches `action`, case-insensitively.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let action = action.to_ascii_lowercase();
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = action.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN_CREDENTIAL: &str =
        "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action";

    fn permission(actions: &[&str], not_actions: &[&str]) -> Permission {
        Permission {
            actions: actions.iter().map(|a| a.to_string()).collect(),
            not_actions: not_actions.iter().map(|a| a.to_string()).collect(),
            ..Permission::default()
        }
    }

    #[test]
    fn not_actions_take_back() {
        let contributor = permission(&["*"], &["Microsoft.Authorization/*/Write"]);
        assert!(contributor.allows_action(ADMIN_CREDENTIAL));
        assert!(!contributor.allows_action("Microsoft.Authorization/roleAssignments/write"));
        let user = permission(
            &["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"],
            &[],
        );
        assert!(!user.allows_action(ADMIN_CREDENTIAL));
        assert!(!user.allows_data_action("Microsoft.ContainerService/managedClusters/pods/read"));
        let answer: Permission = serde_json::from_value(serde_json::json!({
            "actions": ["*"], "notActions": [], "dataActions": ["Microsoft.ContainerService/managedClusters/*"]
        }))
        .unwrap();
        assert!(answer.allows_data_action("Microsoft.ContainerService/managedClusters/pods/read"));
    }
}
