//! Azure role assignments as the emulator stores them, and the ones it seeds: the operators (the admin service
//! principal and `admin@emulator.local`) are Owner of the subscription, the certificate service principal and
//! the managed identity Contributor (docs/azure-rbac.md).

use serde::{Deserialize, Serialize};

use super::{ADMIN_OBJECT_ID, ADMIN_USER_OBJECT_ID, CERT_OBJECT_ID, MSI_OBJECT_ID, now_ms};
use crate::SUBSCRIPTION_ID;

/// GUID of the built-in Owner role.
pub(crate) const OWNER_ROLE_GUID: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
/// GUID of the built-in Contributor role.
pub(crate) const CONTRIBUTOR_ROLE_GUID: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

/// One role assignment (`Microsoft.Authorization/roleAssignments`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct RoleAssignment {
    /// The assignment's name, a GUID (unique across scopes).
    pub name: String,
    /// The scope, as first written (`/subscriptions/…[/resourceGroups/…[/providers/…]]`, or `/`).
    pub scope: String,
    /// `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}` (or the root form), as sent.
    pub role_definition_id: String,
    /// Object id of the user, group or service principal.
    pub principal_id: String,
    /// `User`, `Group`, `ServicePrincipal` or `ForeignGroup`.
    pub principal_type: String,
    /// `description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `condition` (stored and answered; not evaluated).
    #[serde(default)]
    pub condition: Option<String>,
    /// `conditionVersion`.
    #[serde(default)]
    pub condition_version: Option<String>,
    /// `delegatedManagedIdentityResourceId`.
    #[serde(default)]
    pub delegated_managed_identity_resource_id: Option<String>,
    /// `createdOn`, RFC 3339 with 7 fractional digits.
    pub created_on: String,
    /// `updatedOn`.
    pub updated_on: String,
    /// `updatedBy`: the object id of the caller that wrote it (`None` for seeded ones).
    #[serde(default)]
    pub updated_by: Option<String>,
    /// When it starts to count, ms since the epoch (creation + the propagation delay in force then).
    #[serde(default)]
    pub effective_ms: u64,
}

impl RoleAssignment {
    /// The assignment's full id: `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
    pub(crate) fn id(&self) -> String {
        let scope = self.scope.trim_end_matches('/');
        format!(
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{}",
            self.name
        )
    }
}

/// The role assignments, and how long new ones take to count.
#[derive(Default)]
pub(crate) struct RoleAssignments {
    /// Every assignment, in creation order.
    pub assignments: Vec<RoleAssignment>,
    /// New assignments count this many seconds after their creation (`PUT /_emulator/authorization`).
    pub propagation_delay_seconds: u64,
}

impl RoleAssignments {
    /// The assignments a fresh emulator starts with.
    pub(crate) fn seeded() -> RoleAssignments {
        let subscription = format!("/subscriptions/{SUBSCRIPTION_ID}");
        let seeds = [
            (
                "5eed0001-0000-4000-8000-000000000001",
                ADMIN_OBJECT_ID,
                "ServicePrincipal",
                OWNER_ROLE_GUID,
            ),
            (
                "5eed0001-0000-4000-8000-000000000002",
                ADMIN_USER_OBJECT_ID,
                "User",
                OWNER_ROLE_GUID,
            ),
            (
                "5eed0001-0000-4000-8000-000000000003",
                CERT_OBJECT_ID,
                "ServicePrincipal",
                CONTRIBUTOR_ROLE_GUID,
            ),
            (
                "5eed0001-0000-4000-8000-000000000004",
                MSI_OBJECT_ID,
                "ServicePrincipal",
                CONTRIBUTOR_ROLE_GUID,
            ),
        ];
        let created_on = rfc3339_7_now();
        let assignments = seeds
            .into_iter()
            .map(
                |(name, principal_id, principal_type, role)| RoleAssignment {
                    name: name.into(),
                    scope: subscription.clone(),
                    role_definition_id: format!(
                        "{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}"
                    ),
                    principal_id: principal_id.into(),
                    principal_type: principal_type.into(),
                    description: None,
                    condition: None,
                    condition_version: None,
                    delegated_managed_identity_resource_id: None,
                    created_on: created_on.clone(),
                    updated_on: created_on.clone(),
                    updated_by: None,
                    effective_ms: 0,
                },
            )
            .collect();
        RoleAssignments {
            assignments,
            propagation_delay_seconds: 0,
        }
    }

    /// The assignment named `name` (case-insensitive).
    pub(crate) fn by_name(&self, name: &str) -> Option<&RoleAssignment> {
        self.assignments
            .iter()
            .find(|assignment| assignment.name.eq_ignore_ascii_case(name))
    }

    /// Those that count at `now_ms` (their propagation delay is over).
    pub(crate) fn effective(&self) -> impl Iterator<Item = &RoleAssignment> {
        let now = now_ms();
        self.assignments
            .iter()
            .filter(move |assignment| assignment.effective_ms <= now)
    }
}

/// Now as ARM writes `createdOn`: RFC 3339 UTC with 7 fractional digits and `Z`.
pub(crate) fn rfc3339_7_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
    );
    now.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_join_scope_and_name_and_root_has_no_double_slash() {
        let mut seeded = RoleAssignments::seeded().assignments.remove(0);
        assert_eq!(
            seeded.id(),
            format!(
                "/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleAssignments/5eed0001-0000-4000-8000-000000000001"
            )
        );
        seeded.scope = "/".into();
        assert_eq!(
            seeded.id(),
            "/providers/Microsoft.Authorization/roleAssignments/5eed0001-0000-4000-8000-000000000001"
        );
    }

    #[test]
    fn created_on_has_seven_fractional_digits() {
        let text = rfc3339_7_now();
        let fraction = text.split('.').nth(1).unwrap();
        assert_eq!(fraction.len(), 8, "{text}");
        assert!(fraction.ends_with('Z'));
    }
}
