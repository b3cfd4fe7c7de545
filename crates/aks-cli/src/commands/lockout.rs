//! Lockout-proof changes (docs/lockout.md): before a change that can take away the ways to administer a cluster
//! (enabling managed Entra integration, naming admin groups, disabling local accounts), work out whether an admin
//! path remains afterwards, and if none does, explain which are missing and how to keep one.
//!
//! An admin path is one of: local accounts left on (whoever holds a role that lists admin credentials, e.g. Owner,
//! Contributor or "Azure Kubernetes Service Cluster Admin Role", gets the admin kubeconfig); a named admin group that
//! exists in Microsoft Graph and has at least one member (AKS binds it to `cluster-admin`); or, on an Azure RBAC
//! cluster, the caller holding the data action `Microsoft.ContainerService/managedClusters/*` at the cluster
//! ("Azure Kubernetes Service RBAC Cluster Admin"). A role that lists admin credentials is no path once local
//! accounts are disabled: AKS then refuses static credentials ("Getting static credential is not allowed because
//! this cluster is set to disable local accounts.", <https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad>).
//! The checks run cheapest first and stop at the first path found, so a change that keeps local accounts sends no
//! request.

use std::collections::HashMap;

use aks_arm::graph::GraphClient;
use aks_arm::{ArmClient, ArmError};
use aks_model::{AadMode, ManagedCluster, Permission};

use crate::error::CliError;

/// az's question before a destructive change (knack's `prompt_y_n`, as `az aks delete` asks it).
pub(super) const CONFIRM_PROMPT: &str = "Are you sure you want to perform this operation? (y/n): ";

/// The last line when the change is not made.
const NOTHING_CHANGED: &str = "Nothing was changed; pass --yes to make the change anyway.";

/// The data action of an Azure RBAC cluster admin.
pub(super) const CLUSTER_ADMIN_DATA_ACTION: &str = "Microsoft.ContainerService/managedClusters/*";

/// The built-in role that grants [`CLUSTER_ADMIN_DATA_ACTION`] (the suggested fix on Azure RBAC clusters).
const RBAC_CLUSTER_ADMIN_ROLE: &str = "Azure Kubernetes Service RBAC Cluster Admin";

/// What is known about one admin group after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GroupState {
    /// It exists and has at least one member.
    HasMembers,
    /// It exists with no member.
    Empty,
    /// Graph does not know it.
    Missing,
    /// It could not be read (the error as printed).
    Unknown(String),
}

/// What the caller may do at the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CallerAccess {
    /// Azure RBAC cluster admin on an Azure RBAC cluster.
    Admin,
    /// Neither.
    None,
    /// The permissions could not be read (the error as printed).
    Unknown(String),
}

/// Why no admin path would remain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Lockout {
    cluster: String,
    cluster_id: String,
    azure_rbac: bool,
    groups: Vec<(String, GroupState)>,
    caller: CallerAccess,
}

/// Whether `permissions` make the caller an Azure RBAC cluster admin.
pub(super) fn is_rbac_cluster_admin(permissions: &[Permission]) -> bool {
    permissions
        .iter()
        .any(|p| p.allows_data_action(CLUSTER_ADMIN_DATA_ACTION))
}

/// Whether `after` (the cluster as it would be written) keeps local accounts on.
fn local_accounts_on(after: &ManagedCluster) -> bool {
    after.properties.disable_local_accounts != Some(true)
}

/// Whether `after` uses Azure RBAC for Kubernetes authorization.
fn uses_azure_rbac(after: &ManagedCluster) -> bool {
    after.aad_mode() == AadMode::Managed
        && after
            .properties
            .aad_profile
            .as_ref()
            .is_some_and(|aad| aad.enable_azure_rbac == Some(true))
}

fn printed(error: &ArmError) -> String {
    error.to_string()
}

/// The caller's access at `cluster_id`; `None` when the cluster does not use Azure RBAC (nothing to ask).
async fn caller_access(arm: &ArmClient, cluster_id: &str, azure_rbac: bool) -> CallerAccess {
    if !azure_rbac {
        return CallerAccess::None;
    }
    match arm.list_permissions(cluster_id).await {
        Ok(permissions) if is_rbac_cluster_admin(&permissions) => CallerAccess::Admin,
        Ok(_) => CallerAccess::None,
        Err(error) => CallerAccess::Unknown(printed(&error)),
    }
}

/// One admin group's state in Graph.
async fn group_state(graph: &GraphClient, id: &str) -> GroupState {
    match graph.get_group(id).await {
        Err(error) if error.is_not_found() => return GroupState::Missing,
        Err(error) => return GroupState::Unknown(printed(&error)),
        Ok(_) => {}
    }
    match graph.list_members(id).await {
        Ok(members) if members.is_empty() => GroupState::Empty,
        Ok(_) => GroupState::HasMembers,
        Err(error) => GroupState::Unknown(printed(&error)),
    }
}

/// Builds the Graph client on first use.
type MakeGraph<'a> = Box<dyn Fn() -> Result<GraphClient, CliError> + Send + Sync + 'a>;

/// The admin groups' states, each read from Graph once (a fleet shares its groups); the Graph client is only built
/// when a group has to be read.
pub(super) struct GroupStates<'a> {
    make_graph: MakeGraph<'a>,
    graph: std::sync::OnceLock<Result<GraphClient, String>>,
    known: std::sync::Mutex<HashMap<String, GroupState>>,
}

impl std::fmt::Debug for GroupStates<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("GroupStates")
            .field("graph", &self.graph)
            .field("known", &self.known)
            .finish_non_exhaustive()
    }
}

impl<'a> GroupStates<'a> {
    /// Group states read through the client `make_graph` builds (called at most once).
    pub(super) fn new(
        make_graph: impl Fn() -> Result<GraphClient, CliError> + Send + Sync + 'a,
    ) -> GroupStates<'a> {
        GroupStates {
            make_graph: Box::new(make_graph),
            graph: std::sync::OnceLock::new(),
            known: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn graph(&self) -> Result<&GraphClient, CliError> {
        self.graph
            .get_or_init(|| (self.make_graph)().map_err(|error| error.display_text()))
            .as_ref()
            .map_err(|error| CliError::message(error.clone()))
    }

    /// The state of group `id`; a group that could not be read is asked again next time.
    async fn state(&self, id: &str) -> Result<GroupState, CliError> {
        let key = id.to_ascii_lowercase();
        if let Some(known) = self.known.lock().expect("group states").get(&key) {
            return Ok(known.clone());
        }
        let state = group_state(self.graph()?, id).await;
        if !matches!(state, GroupState::Unknown(_)) {
            self.known
                .lock()
                .expect("group states")
                .insert(key, state.clone());
        }
        Ok(state)
    }
}

/// Check `after` (the cluster as the change would write it; `cluster_id` its resource id, `name` for messages);
/// `None` when an admin path remains. `graph` is only built when the admin groups need to be read.
pub(super) async fn check(
    after: &ManagedCluster,
    cluster_id: &str,
    name: &str,
    arm: &ArmClient,
    graph: impl Fn() -> Result<GraphClient, CliError> + Send + Sync,
) -> Result<Option<Lockout>, CliError> {
    check_with(after, cluster_id, name, arm, &GroupStates::new(graph)).await
}

/// [`check`] with the group states of a run (`aks migrate` checks each cluster of a fleet against the same groups).
pub(super) async fn check_with(
    after: &ManagedCluster,
    cluster_id: &str,
    name: &str,
    arm: &ArmClient,
    group_states: &GroupStates<'_>,
) -> Result<Option<Lockout>, CliError> {
    if local_accounts_on(after) {
        return Ok(None);
    }
    let azure_rbac = uses_azure_rbac(after);
    let caller = caller_access(arm, cluster_id, azure_rbac).await;
    if caller == CallerAccess::Admin {
        return Ok(None);
    }
    let ids = after
        .properties
        .aad_profile
        .as_ref()
        .map(|aad| aad.admin_groups().to_vec())
        .unwrap_or_default();
    let mut groups = Vec::new();
    for id in ids {
        let state = group_states.state(&id).await?;
        if state == GroupState::HasMembers {
            return Ok(None);
        }
        groups.push((id, state));
    }
    Ok(Some(Lockout {
        cluster: name.to_string(),
        cluster_id: cluster_id.to_string(),
        azure_rbac,
        groups,
        caller,
    }))
}

impl Lockout {
    /// What each named admin group lacks, one line each.
    fn group_gaps(&self) -> Vec<String> {
        self.groups
            .iter()
            .filter_map(|(id, state)| match state {
                GroupState::HasMembers => None,
                GroupState::Empty => Some(format!("admin group '{id}' has no members")),
                GroupState::Missing => Some(format!("admin group '{id}' does not exist")),
                GroupState::Unknown(error) => {
                    Some(format!("admin group '{id}' could not be checked: {error}"))
                }
            })
            .collect()
    }

    /// What is missing, in short, on one line (a fleet plan's reason), e.g. `local accounts disabled; admin group
    /// '…' has no members`.
    pub(super) fn summary(&self) -> String {
        let mut parts = vec!["local accounts disabled".to_string()];
        if self.groups.is_empty() {
            parts.push("no admin group named".to_string());
        }
        parts.extend(self.group_gaps());
        match &self.caller {
            CallerAccess::None if self.azure_rbac => {
                parts.push("you are not an Azure RBAC cluster admin".to_string())
            }
            CallerAccess::Unknown(error) => parts.push(format!(
                "your permissions at the cluster could not be checked: {error}"
            )),
            CallerAccess::Admin | CallerAccess::None => {}
        }
        parts.join("; ")
    }

    /// The missing paths, one line each.
    fn missing(&self) -> Vec<String> {
        let mut lines = vec![
            "local accounts would be disabled, so AKS refuses admin credentials (listClusterAdminCredential) whatever your role"
                .to_string(),
        ];
        if self.groups.is_empty() {
            lines.push("no admin group is named".to_string());
        }
        lines.extend(self.group_gaps());
        lines.push(match &self.caller {
            CallerAccess::Admin => String::new(),
            CallerAccess::None if self.azure_rbac => format!(
                "you hold no role at the cluster with the Azure RBAC data action {CLUSTER_ADMIN_DATA_ACTION}"
            ),
            CallerAccess::None => {
                "the cluster does not use Azure RBAC, so no Azure role gives Kubernetes admin access".to_string()
            }
            CallerAccess::Unknown(error) => {
                format!("your permissions at the cluster could not be checked: {error}")
            }
        });
        lines.retain(|line| !line.is_empty());
        lines
    }

    /// How to keep an admin path, one line each.
    fn remedies(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (id, state) in &self.groups {
            if *state == GroupState::Empty {
                lines.push(format!(
                    "add a member to the admin group: aksctl ad group member add --group {id} --member-id <object id>"
                ));
            }
        }
        lines.push(
            "name an admin group that has members: --aad-admin-group-object-ids <group object id>"
                .to_string(),
        );
        lines.push("keep local accounts: leave out --disable-local-accounts".to_string());
        if self.azure_rbac {
            lines.push(format!(
                "be an Azure RBAC cluster admin: aksctl role assignment create --role \"{RBAC_CLUSTER_ADMIN_ROLE}\" --assignee <you> --scope {}",
                self.cluster_id
            ));
        }
        lines
    }

    /// The explanation printed before stopping or asking.
    pub(super) fn explain(&self) -> String {
        let mut text = format!(
            "This change would leave cluster '{}' without an admin path:",
            self.cluster
        );
        for line in self.missing() {
            text.push_str(&format!("\n  - {line}"));
        }
        text.push_str("\nTo keep one:");
        for line in self.remedies() {
            text.push_str(&format!("\n  - {line}"));
        }
        text
    }
}

/// Stop, ask or go on after a [`check`]: without a lockout or with `yes`, go on (with `yes`, after a warning); on
/// a terminal, show the explanation and ask az's question; otherwise fail with the explanation. Stopping is exit 1.
pub(super) fn confirm(
    lockout: Option<&Lockout>,
    yes: bool,
    printer: &crate::output::Printer,
) -> Result<(), CliError> {
    let Some(lockout) = lockout else {
        return Ok(());
    };
    let explanation = lockout.explain();
    if yes {
        printer.warning(&explanation);
        return Ok(());
    }
    match printer.confirm(&format!("{explanation}\n{CONFIRM_PROMPT}")) {
        Some(true) => Ok(()),
        Some(false) => Err(CliError::message(NOTHING_CHANGED)),
        None => Err(CliError::message(format!(
            "{explanation}\n{NOTHING_CHANGED}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lockout(
        groups: Vec<(String, GroupState)>,
        caller: CallerAccess,
        azure_rbac: bool,
    ) -> Lockout {
        Lockout {
            cluster: "c1".into(),
            cluster_id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"
                .into(),
            azure_rbac,
            groups,
            caller,
        }
    }

    fn permission(actions: &[&str], data_actions: &[&str]) -> Permission {
        Permission {
            actions: actions.iter().map(|a| a.to_string()).collect(),
            data_actions: data_actions.iter().map(|a| a.to_string()).collect(),
            ..Permission::default()
        }
    }

    #[test]
    fn rbac_cluster_admin_needs_the_data_action() {
        let owner = permission(&["*"], &[]);
        assert!(
            !is_rbac_cluster_admin(std::slice::from_ref(&owner)),
            "actions are not data actions"
        );
        let rbac_admin = permission(&[], &[CLUSTER_ADMIN_DATA_ACTION]);
        assert!(is_rbac_cluster_admin(&[owner, rbac_admin]));
        let reader = permission(
            &[],
            &["Microsoft.ContainerService/managedClusters/pods/read"],
        );
        assert!(!is_rbac_cluster_admin(&[reader]));
        assert!(!is_rbac_cluster_admin(&[]));
    }

    #[test]
    fn explanation_names_each_missing_path_and_a_remedy() {
        let text = lockout(
            vec![
                ("g-empty".into(), GroupState::Empty),
                ("g-gone".into(), GroupState::Missing),
            ],
            CallerAccess::None,
            true,
        )
        .explain();
        assert!(text.starts_with("This change would leave cluster 'c1' without an admin path:"));
        for part in [
            "local accounts would be disabled",
            "admin group 'g-empty' has no members",
            "admin group 'g-gone' does not exist",
            "listClusterAdminCredential",
            CLUSTER_ADMIN_DATA_ACTION,
            "aksctl ad group member add --group g-empty",
            "--aad-admin-group-object-ids",
            RBAC_CLUSTER_ADMIN_ROLE,
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        assert!(!text.contains("member add --group g-gone"));
        let none = lockout(vec![], CallerAccess::Unknown("403".into()), false).explain();
        assert!(none.contains("no admin group is named"));
        assert!(none.contains("could not be checked: 403"));
        assert!(!none.contains(RBAC_CLUSTER_ADMIN_ROLE));
    }

    #[test]
    fn the_summary_is_one_line_naming_each_gap() {
        let summary = lockout(
            vec![
                ("g-empty".into(), GroupState::Empty),
                ("g-gone".into(), GroupState::Missing),
            ],
            CallerAccess::None,
            true,
        )
        .summary();
        assert_eq!(
            summary,
            "local accounts disabled; admin group 'g-empty' has no members; admin group 'g-gone' does not exist; you are not an Azure RBAC cluster admin"
        );
        let unnamed = lockout(vec![], CallerAccess::None, false).summary();
        assert_eq!(unnamed, "local accounts disabled; no admin group named");
        let unknown = lockout(vec![], CallerAccess::Unknown("403".into()), true).summary();
        assert!(unknown.ends_with("could not be checked: 403"), "{unknown}");
    }
}
