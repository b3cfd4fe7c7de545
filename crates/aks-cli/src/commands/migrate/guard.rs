//! Lockout-proof migration (docs/lockout.md, "aks migrate"): before a cluster is migrated, work out with the rule of
//! `aks update` (`commands::lockout`) whether an admin path remains on the cluster as the migration would write it.
//! A cluster without one is held back (plan action `skip`, a reason naming what is missing) unless
//! `--allow-lockout`, which migrates it anyway and says so in the plan. The plan checks every cluster; each worker
//! checks again on the cluster it has just read, before its PUT (a resumed run's plan may be old).

use aks_arm::ArmClient;
use aks_model::ManagedCluster;

use super::super::lockout::{self, GroupStates};
use super::super::update::{self, Changes};
use super::plan::{Action, PlanRow};
use crate::error::CliError;

/// The start of a held-back cluster's reason.
pub(super) const NO_ADMIN_PATH: &str = "no admin path after migration";

/// What is said after the reason of a held-back cluster.
const HOW_TO_GO_ON: &str = "give the admin group a member (aksctl ad group member add) and run again, or pass --allow-lockout";

/// What the checks of one run share: the ARM client, the admin groups' states (each group read once), the tenant
/// and whether lockouts are allowed.
#[derive(Debug)]
pub(super) struct Guard {
    arm: ArmClient,
    groups: GroupStates<'static>,
    tenant_id: Option<String>,
    allow_lockout: bool,
}

/// Whether a skipped cluster's reason says it was held back because it would have no admin path.
pub(super) fn is_held_back(reason: Option<&str>) -> bool {
    reason.is_some_and(|reason| reason.starts_with(NO_ADMIN_PATH))
}

/// How many of the clusters with these reasons were held back.
pub(super) fn count_held_back<'a>(reasons: impl Iterator<Item = Option<&'a str>>) -> usize {
    reasons.filter(|reason| is_held_back(*reason)).count()
}

impl Guard {
    /// A guard for one run; `groups` reads the admin groups from Graph.
    pub(super) fn new(
        arm: ArmClient,
        groups: GroupStates<'static>,
        tenant_id: Option<String>,
        allow_lockout: bool,
    ) -> Guard {
        Guard {
            arm,
            groups,
            tenant_id,
            allow_lockout,
        }
    }

    /// The tenant the clusters get (a resumed run's is its journal's).
    pub(super) fn set_tenant(&mut self, tenant_id: Option<String>) {
        self.tenant_id = tenant_id;
    }

    /// Whether `--allow-lockout` was given.
    pub(super) fn allows_lockout(&self) -> bool {
        self.allow_lockout
    }

    /// The change the migration makes to `row`'s cluster (`aks update --enable-aad` with the row's admin groups).
    pub(super) fn changes(&self, row: &PlanRow) -> Changes {
        Changes::enable_managed_aad(row.admin_group_object_ids.clone(), self.tenant_id.clone())
    }

    /// What `after` (the cluster as the migration writes it) lacks, as a held-back reason; `None` when an admin
    /// path remains.
    pub(super) async fn lockout(
        &self,
        after: &ManagedCluster,
        row: &PlanRow,
    ) -> Result<Option<String>, CliError> {
        let found = lockout::check_with(after, &row.id, &row.name, &self.arm, &self.groups).await?;
        Ok(found.map(|lockout| format!("{NO_ADMIN_PATH}: {}", lockout.summary())))
    }

    /// The plan's step: hold `row` (to be migrated; `cluster` as read) back when it would have no admin path, or
    /// with `--allow-lockout` keep it with a warning saying so.
    pub(super) async fn plan(
        &self,
        row: &mut PlanRow,
        cluster: &ManagedCluster,
    ) -> Result<(), CliError> {
        if row.action != Action::Migrate {
            return Ok(());
        }
        let after = update::apply(cluster.clone(), &self.changes(row), &row.name)?;
        let Some(reason) = self.lockout(&after, row).await? else {
            return Ok(());
        };
        if self.allow_lockout {
            row.warnings
                .push(format!("{reason}: migrated anyway (--allow-lockout)"));
        } else {
            row.action = Action::Skip;
            row.reason = Some(held_back(&reason));
        }
        Ok(())
    }
}

/// A held-back cluster's reason: what is missing and how to go on.
pub(super) fn held_back(reason: &str) -> String {
    format!("{reason} ({HOW_TO_GO_ON})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_back_rows_are_told_apart_by_their_reason() {
        let mut row: PlanRow = serde_json::from_value(serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
            "name": "c", "resourceGroup": "rg", "subscription": "s", "tier": "Standard",
            "kubernetesVersion": "1.32.4", "aadMode": "legacy", "action": "skip",
            "reason": held_back(&format!("{NO_ADMIN_PATH}: local accounts disabled; admin group 'g' has no members")),
        }))
        .unwrap();
        assert!(is_held_back(row.reason.as_deref()));
        assert!(
            row.reason
                .as_deref()
                .unwrap()
                .ends_with("or pass --allow-lockout)")
        );
        row.reason = Some(super::super::plan::ALREADY_MANAGED.to_string());
        assert!(!is_held_back(row.reason.as_deref()));
    }
}
