//! After a cluster is migrated, check that its admin group's access works (docs/lockout.md, "aks migrate"): when
//! the signed-in principal is a member of one of the cluster's admin groups (Graph `getMemberGroups`, transitive),
//! ask the cluster's API server as that principal whether it may do everything — one SelfSubjectAccessReview for
//! verb `*` on resource `*`, sent as `aks access check` sends its reviews (a token for the AKS server application,
//! the API server and CA from the cluster user kubeconfig). AKS binds the admin groups to `cluster-admin`, so a
//! member is allowed. When the principal is not a member, or the review cannot be sent, the cluster is reported
//! as not verified with the reason: nothing is claimed that was not checked.

use aks_arm::ArmClient;
use aks_arm::graph::GraphClient;
use tokio::sync::{OnceCell, Semaphore};

use super::super::access::{self, Identity, Question};
use super::plan::PlanRow;

/// Why a migrated cluster's admin access is not verified when the caller is in none of its admin groups.
pub(super) const NOT_A_MEMBER: &str = "caller is not a member of the admin group";

/// The review sent: everything, cluster-wide.
const EVERYTHING: (&str, &str) = ("*", "*");

/// How many clusters' API servers are asked at once. Each check builds its own TLS client (the cluster's CA alone)
/// and connection, about 100-200 KiB while it runs; when a wave of LROs ends together, hundreds of checks would
/// otherwise run side by side (BENCHMARKS.md, the fleet's peak memory). A check takes milliseconds against the
/// seconds of a migration, so this many keep up with any write throttle.
const CONCURRENT_CHECKS: usize = 16;

/// What the check found for one migrated cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AdminAccess {
    /// A member of an admin group may do everything on the cluster.
    Verified,
    /// It was not checked, and why.
    NotVerified(String),
    /// The API server answered that a member of an admin group may not do everything.
    Failed(String),
}

impl AdminAccess {
    /// `verified`, `not-verified` or `failed` (the report's `adminAccess`).
    pub(super) fn state(&self) -> &'static str {
        match self {
            AdminAccess::Verified => "verified",
            AdminAccess::NotVerified(_) => "not-verified",
            AdminAccess::Failed(_) => "failed",
        }
    }

    /// The check that [`state`](Self::state) and [`detail`](Self::detail) describe (as the journal keeps it);
    /// `None` for a state this version does not know.
    pub(super) fn from_state(state: &str, detail: Option<String>) -> Option<AdminAccess> {
        match state {
            "verified" => Some(AdminAccess::Verified),
            "not-verified" => Some(AdminAccess::NotVerified(detail.unwrap_or_default())),
            "failed" => Some(AdminAccess::Failed(detail.unwrap_or_default())),
            _ => None,
        }
    }

    /// Why it is not verified, or how it failed (the report's `adminAccessDetail`).
    pub(super) fn detail(&self) -> Option<&str> {
        match self {
            AdminAccess::Verified => None,
            AdminAccess::NotVerified(why) | AdminAccess::Failed(why) => Some(why),
        }
    }

    /// One line for the table: `verified`, `not verified: …`, `failed: …`.
    pub(super) fn line(&self) -> String {
        match self {
            AdminAccess::Verified => "verified".to_string(),
            AdminAccess::NotVerified(why) => format!("not verified: {why}"),
            AdminAccess::Failed(why) => format!("failed: {why}"),
        }
    }
}

/// The signed-in principal and its transitive groups.
#[derive(Debug, Clone)]
struct Caller {
    identity: Identity,
    groups: Vec<String>,
}

/// Checks migrated clusters; who the caller is and its groups are read once per run, on first use.
#[derive(Debug)]
pub(super) struct Verifier {
    arm: ArmClient,
    graph: Result<GraphClient, String>,
    caller: OnceCell<Result<Caller, String>>,
    checks: Semaphore,
}

impl Verifier {
    /// A verifier asking ARM through `arm` and the groups through `graph` (its error text when there is none).
    pub(super) fn new(arm: ArmClient, graph: Result<GraphClient, String>) -> Verifier {
        Verifier {
            arm,
            graph,
            caller: OnceCell::new(),
            checks: Semaphore::new(CONCURRENT_CHECKS),
        }
    }

    async fn read_caller(&self) -> Result<Caller, String> {
        let identity = access::signed_in(&self.arm)
            .await
            .map_err(|error| error.display_text())?;
        let graph = self.graph.as_ref().map_err(String::clone)?;
        let groups = graph
            .get_member_groups(&identity.object_id)
            .await
            .map_err(|error| error.to_string())?;
        Ok(Caller { identity, groups })
    }

    /// Check `row`'s cluster, just migrated to the admin groups of the row.
    pub(super) async fn verify(&self, row: &PlanRow) -> AdminAccess {
        let admin_groups = row.admin_group_object_ids.as_deref().unwrap_or_default();
        if admin_groups.is_empty() {
            return AdminAccess::NotVerified("the cluster has no admin group".to_string());
        }
        let caller = match self.caller.get_or_init(|| self.read_caller()).await {
            Ok(caller) => caller,
            Err(error) => {
                return AdminAccess::NotVerified(format!(
                    "the caller's groups could not be read: {error}"
                ));
            }
        };
        let member = caller.groups.iter().any(|group| {
            admin_groups
                .iter()
                .any(|admin| admin.eq_ignore_ascii_case(group))
        });
        if !member {
            return AdminAccess::NotVerified(NOT_A_MEMBER.to_string());
        }
        let question: Question = (EVERYTHING.0, EVERYTHING.1, None);
        // The semaphore is never closed, so a permit always comes.
        let _permit = self.checks.acquire().await;
        let answer = access::ask_api_server(
            &self.arm,
            &row.subscription,
            (&row.resource_group, &row.name),
            &[question],
        )
        .await;
        judge(
            answer.map(|checks| checks.iter().all(|check| check.allowed)),
            &caller.identity,
        )
    }
}

/// The verdict on the review's answer (`Ok(allowed)`) for `identity`.
fn judge(answer: Result<bool, crate::error::CliError>, identity: &Identity) -> AdminAccess {
    match answer {
        Ok(true) => AdminAccess::Verified,
        Ok(false) => AdminAccess::Failed(format!(
            "the API server does not allow {} {} (a member of an admin group) verb '{}' on resource '{}'",
            identity.kind, identity.object_id, EVERYTHING.0, EVERYTHING.1
        )),
        Err(error) => AdminAccess::NotVerified(error.display_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CliError;

    #[test]
    fn only_an_allowed_review_is_verified() {
        let identity = Identity {
            kind: "user",
            object_id: "o1".into(),
            tenant: "t".into(),
            name: "u@contoso".into(),
        };
        assert_eq!(judge(Ok(true), &identity), AdminAccess::Verified);
        let denied = judge(Ok(false), &identity);
        assert_eq!(denied.state(), "failed");
        assert!(
            denied
                .line()
                .starts_with("failed: the API server does not allow user o1")
        );
        let unreachable = judge(Err(CliError::message("connection refused")), &identity);
        assert_eq!(
            unreachable,
            AdminAccess::NotVerified("connection refused".into())
        );
        assert_eq!(unreachable.line(), "not verified: connection refused");
        assert_eq!(AdminAccess::Verified.detail(), None);
    }

    #[test]
    fn the_journaled_state_and_detail_give_the_check_back() {
        for access in [
            AdminAccess::Verified,
            AdminAccess::NotVerified(NOT_A_MEMBER.into()),
            AdminAccess::Failed("denied".into()),
        ] {
            let back = AdminAccess::from_state(access.state(), access.detail().map(str::to_string));
            assert_eq!(back, Some(access));
        }
        assert_eq!(AdminAccess::from_state("unknown", None), None);
    }
}
