//! One cluster's migration, as a state machine that is safe to re-enter after a crash: always GET before a PUT,
//! never PUT while an operation runs (a running operation, or a `409 OperationNotAllowed`, is waited out), pace
//! writes per subscription, and re-poll an operation recorded in the journal instead of starting another.

use std::sync::Arc;
use std::time::Duration;

use aks_arm::{ArmClient, ArmError, ArmResponse, PollStatus, Poller, RETRYABLE_STATUSES};
use aks_model::{AadMode, MANAGED_CLUSTERS_API_VERSION, ManagedCluster, OperationState};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Serialize;

use super::super::update;
use super::guard::{self, Guard};
use super::journal::{ClusterState, ErrorInfo, Journal, StateLine};
use super::pacing::{REMAINING_WRITES, WriteGate, WriteGates};
use super::plan::{ALREADY_MANAGED, NO_AAD, PlanRow, RBAC_DISABLED};
use super::progress::Progress;
use super::verify::{AdminAccess, Verifier};

/// Transport errors and retryable statuses tolerated per cluster (after the client's own retries).
const MAX_TRANSIENT_ERRORS: u32 = 5;
/// 429s that outlived the client's retries, tolerated per cluster (each pauses the subscription's writes for a
/// doubling backoff up to a minute, so this is the better part of an hour of throttling).
const MAX_THROTTLED: u32 = 60;
/// The longest wait between reads of a cluster whose operation we did not start.
const MAX_RESOURCE_POLL: Duration = Duration::from_secs(15);

/// One cluster's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReportRow {
    /// Cluster name.
    pub name: String,
    /// Resource group.
    pub resource_group: String,
    /// Subscription id.
    pub subscription: String,
    /// Resource id.
    pub id: String,
    /// `migrated`, `skipped` or `failed`.
    pub result: ClusterState,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The ARM error it failed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// Admin groups it got (migrated clusters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_group_object_ids: Option<Vec<String>>,
    /// Tenant it got, when known (migrated clusters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Whether a member of the admin group may administer the migrated cluster: `verified`, `not-verified` or
    /// `failed` (docs/lockout.md, "aks migrate").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_access: Option<&'static str>,
    /// Why the admin access is not verified, or how it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_access_detail: Option<String>,
    /// The admin access check itself.
    #[serde(skip)]
    pub admin_check: Option<AdminAccess>,
    /// Things that went wrong after the migration (e.g. the kubeconfig refresh).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ReportRow {
    /// The report line of a planned cluster with its final state.
    pub(super) fn new(
        row: &PlanRow,
        result: ClusterState,
        reason: Option<String>,
        error: Option<ErrorInfo>,
    ) -> ReportRow {
        let migrated = result == ClusterState::Migrated;
        ReportRow {
            name: row.name.clone(),
            resource_group: row.resource_group.clone(),
            subscription: row.subscription.clone(),
            id: row.id.clone(),
            result,
            reason: if result == ClusterState::Skipped {
                reason
            } else {
                None
            },
            error,
            admin_group_object_ids: if migrated {
                row.admin_group_object_ids.clone()
            } else {
                None
            },
            tenant_id: if migrated {
                row.tenant_id.clone()
            } else {
                None
            },
            admin_access: None,
            admin_access_detail: None,
            admin_check: None,
            warnings: Vec::new(),
        }
    }

    /// Record the admin access check of a migrated cluster.
    pub(super) fn set_admin_access(&mut self, access: &AdminAccess) {
        self.admin_access = Some(access.state());
        self.admin_access_detail = access.detail().map(str::to_string);
        self.admin_check = Some(access.clone());
    }

    /// Whether the admin access check answered that the admin group's access does not work.
    pub(super) fn admin_access_failed(&self) -> bool {
        matches!(self.admin_check, Some(AdminAccess::Failed(_)))
    }

    /// From the journal: a cluster finished before the interruption, with the admin access check of its run.
    pub(super) fn from_journal(row: &PlanRow, line: &StateLine) -> ReportRow {
        let mut report = ReportRow::new(row, line.state, line.reason.clone(), line.error.clone());
        let journaled = line
            .admin_access
            .as_deref()
            .and_then(|state| AdminAccess::from_state(state, line.admin_access_detail.clone()));
        if let Some(access) = journaled.filter(|_| line.state == ClusterState::Migrated) {
            report.set_admin_access(&access);
        }
        report
    }

    /// `migrated`, `skipped: reason`, `failed: (Code) message`.
    pub(super) fn summary(&self) -> String {
        match self.result {
            ClusterState::Skipped => {
                format!("skipped: {}", self.reason.as_deref().unwrap_or_default())
            }
            ClusterState::Failed => match &self.error {
                Some(error) => format!("failed: ({}) {}", error.code, error.message),
                None => "failed".to_string(),
            },
            _ => "migrated".to_string(),
        }
    }
}

/// How a cluster ended.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Migrated,
    Skipped(String),
    Failed(ErrorInfo),
}

/// What a cluster that is not busy says about this run: migrated (or failed) when our PUT reached it, skipped
/// when there is nothing to migrate; `None` for a legacy AAD cluster with Kubernetes RBAC, which gets the PUT.
fn settled(cluster: &ManagedCluster, state: &str, put_sent: bool) -> Option<Outcome> {
    match cluster.aad_mode() {
        AadMode::Managed if put_sent => Some(
            if OperationState::parse(state) == OperationState::Succeeded {
                Outcome::Migrated
            } else {
                Outcome::Failed(ErrorInfo {
                    code: state.to_owned(),
                    message: format!(
                        "The migration's operation ended and the cluster's provisioningState is {state}."
                    ),
                })
            },
        ),
        AadMode::Managed => Some(Outcome::Skipped(ALREADY_MANAGED.to_string())),
        AadMode::None => Some(Outcome::Skipped(NO_AAD.to_string())),
        AadMode::Legacy if !cluster.rbac_enabled() => {
            Some(Outcome::Skipped(RBAC_DISABLED.to_string()))
        }
        AadMode::Legacy => None,
    }
}

/// A failure that is not an ARM error: a code of ours and the error's text.
fn failed(code: &str, error: impl std::fmt::Display) -> Outcome {
    Outcome::Failed(ErrorInfo {
        code: code.to_string(),
        message: error.to_string(),
    })
}

fn error_info(error: &ArmError) -> ErrorInfo {
    match error {
        ArmError::Service { code, message, .. }
        | ArmError::OperationFailed { code, message, .. } => ErrorInfo {
            code: code.clone(),
            message: message.clone(),
        },
        other => ErrorInfo {
            code: "RequestFailed".to_string(),
            message: other.to_string(),
        },
    }
}

fn is_throttled(error: &ArmError) -> bool {
    matches!(error, ArmError::Service { status: 429, .. })
}

fn is_conflict(error: &ArmError) -> bool {
    matches!(error, ArmError::Service { status: 409, code, .. } if code == "OperationNotAllowed")
}

fn is_transient(error: &ArmError) -> bool {
    match error {
        ArmError::Transport { .. } => true,
        ArmError::Service { status, .. } => RETRYABLE_STATUSES.contains(status),
        _ => false,
    }
}

fn provisioning_state(cluster: &ManagedCluster) -> String {
    cluster
        .properties
        .provisioning_state
        .clone()
        .filter(|state| !state.is_empty())
        .unwrap_or_else(|| "Succeeded".to_string())
}

/// What every worker shares.
#[derive(Debug)]
pub(super) struct Runner {
    /// The ARM client.
    pub arm: ArmClient,
    /// The journal.
    pub journal: Arc<Journal>,
    /// Write pacing per subscription.
    pub gates: WriteGates,
    /// Progress display.
    pub progress: Arc<Progress>,
    /// The change applied to each cluster (`aks update --enable-aad …`) and the lockout check before it.
    pub guard: Arc<Guard>,
    /// The admin access check after each migration.
    pub verifier: Arc<Verifier>,
    /// First wait between reads of a cluster busy with an operation we did not start.
    pub resource_poll: Duration,
}

impl Runner {
    /// Migrate one cluster (continuing from `prior`, its last journal state) and journal the result.
    pub(super) async fn run(self: Arc<Self>, row: PlanRow, prior: Option<StateLine>) -> ReportRow {
        let label = row.label();
        self.progress.step(&label, "starting", false);
        let outcome = self.migrate(&row, prior).await;
        let (state, reason, error) = match outcome {
            Outcome::Migrated => (ClusterState::Migrated, None, None),
            Outcome::Skipped(reason) => (ClusterState::Skipped, Some(reason), None),
            Outcome::Failed(error) => (ClusterState::Failed, None, Some(error)),
        };
        let mut report = ReportRow::new(&row, state, reason.clone(), error.clone());
        if state == ClusterState::Migrated {
            self.progress
                .step(&label, "verifying the admin group's access", false);
            report.set_admin_access(&self.verifier.verify(&row).await);
        }
        let line = StateLine {
            reason,
            error,
            admin_access: report.admin_access.map(str::to_string),
            admin_access_detail: report.admin_access_detail.clone(),
            ..StateLine::now(&row.id, state)
        };
        if let Err(error) = self.journal.append(line).await {
            report
                .warnings
                .push(format!("not recorded in the journal: {error}"));
        }
        self.progress.finished(&label, &report.summary());
        report
    }

    fn resource_url(&self, row: &PlanRow) -> url::Url {
        self.arm.url(&format!(
            "{}?api-version={MANAGED_CLUSTERS_API_VERSION}",
            row.id
        ))
    }

    async fn wait(&self, poller: Poller, label: &str) -> Result<(), ArmError> {
        let progress = self.progress.clone();
        let label = label.to_string();
        poller
            .wait_with(&mut |status: &PollStatus| {
                if let PollStatus::InProgress { status, .. } = status {
                    progress.step(&label, &format!("migrating ({status})"), false);
                }
            })
            .await
            .map(|_| ())
    }

    /// Follow an operation recorded in the journal (its `Azure-AsyncOperation` URL).
    async fn wait_recorded(&self, row: &PlanRow, operation: &str) -> Result<(), ArmError> {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(operation).map_err(|_| ArmError::Cloud {
            url: operation.to_string(),
            reason: "the journal's operation URL is not a header value".to_string(),
        })?;
        headers.insert("azure-asyncoperation", value);
        let initial = ArmResponse {
            status: 200,
            headers,
            body: serde_json::Value::Null,
        };
        let poller = Poller::new(
            self.arm.clone(),
            Method::PUT,
            self.resource_url(row),
            initial,
        );
        self.wait(poller, &row.label()).await
    }

    /// Read the cluster until no operation runs on it (errors end the wait; the caller reads it again).
    async fn wait_idle(&self, row: &PlanRow) {
        let mut interval = self.resource_poll;
        loop {
            tokio::time::sleep(interval).await;
            interval = interval.mul_f64(1.5).min(MAX_RESOURCE_POLL);
            match self
                .arm
                .get_managed_cluster(&row.subscription, &row.resource_group, &row.name)
                .await
            {
                Ok(cluster)
                    if OperationState::parse(&provisioning_state(&cluster))
                        != OperationState::InProgress =>
                {
                    return;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(cluster = %row.id, "reading a busy cluster failed: {error}");
                    return;
                }
            }
        }
    }

    /// An interrupted run whose PUT was accepted: follow the operation it recorded. `None` when there is none, or it
    /// cannot be followed (the cluster is then read again).
    async fn follow_recorded(
        &self,
        row: &PlanRow,
        label: &str,
        prior: Option<&StateLine>,
    ) -> Option<Outcome> {
        let Some(StateLine {
            state: ClusterState::Accepted,
            operation: Some(operation),
            ..
        }) = prior
        else {
            return None;
        };
        self.progress.step(
            label,
            "re-polling the operation of the interrupted run",
            true,
        );
        match self.wait_recorded(row, operation).await {
            Ok(()) => Some(Outcome::Migrated),
            Err(error @ ArmError::OperationFailed { .. }) => {
                Some(Outcome::Failed(error_info(&error)))
            }
            Err(error) => {
                tracing::debug!(cluster = %row.id, "the recorded operation cannot be followed: {error}");
                None
            }
        }
    }

    /// ARM accepted the PUT: tell the write gate the remaining budget, journal the operation, wait for it. `None`
    /// when its status could not be read (after a pause; the cluster is read again).
    async fn accepted(
        &self,
        row: &PlanRow,
        label: &str,
        poller: Poller,
        (gate, write): (&WriteGate, u64),
        transient: &mut u32,
    ) -> Option<Outcome> {
        let remaining = poller
            .initial()
            .header(REMAINING_WRITES)
            .and_then(|value| value.trim().parse::<u64>().ok());
        if gate.succeeded(write, remaining) {
            tracing::debug!(
                ?remaining,
                "write budget down to the reserve: writes wait for the refill"
            );
        }
        let operation = poller
            .initial()
            .header("azure-asyncoperation")
            .map(str::to_string);
        if let Err(error) = self
            .journal
            .state(&row.id, ClusterState::Accepted, operation, None, None)
            .await
        {
            tracing::warn!("journal: {error}");
        }
        self.progress.step(label, "migrating (PUT accepted)", true);
        match self.wait(poller, label).await {
            Ok(()) => Some(Outcome::Migrated),
            Err(error @ ArmError::OperationFailed { .. }) => {
                Some(Outcome::Failed(error_info(&error)))
            }
            Err(error) if *transient < MAX_TRANSIENT_ERRORS => {
                // The status could not be read: read the cluster again.
                *transient += 1;
                tracing::debug!(cluster = %row.id, "polling failed: {error}");
                tokio::time::sleep(Duration::from_secs(1 << *transient)).await;
                None
            }
            Err(error) => Some(Outcome::Failed(error_info(&error))),
        }
    }

    /// GET the cluster; `Ok(None)` after a pause for a throttled or transient failure (within their budgets).
    async fn read(
        &self,
        row: &PlanRow,
        throttled: &mut u32,
        transient: &mut u32,
    ) -> Result<Option<ManagedCluster>, Outcome> {
        match self
            .arm
            .get_managed_cluster(&row.subscription, &row.resource_group, &row.name)
            .await
        {
            Ok(cluster) => Ok(Some(cluster)),
            Err(error) if is_throttled(&error) && *throttled < MAX_THROTTLED => {
                // The read budget is not the write gate's business: back off this worker only.
                *throttled += 1;
                tokio::time::sleep(Duration::from_secs(1 << (*throttled).min(6))).await;
                Ok(None)
            }
            Err(error) if is_transient(&error) && *transient < MAX_TRANSIENT_ERRORS => {
                *transient += 1;
                tokio::time::sleep(Duration::from_secs(1 << *transient)).await;
                Ok(None)
            }
            Err(error) => Err(Outcome::Failed(error_info(&error))),
        }
    }

    /// Without `--allow-lockout`: skip the cluster when `body` would leave it without an admin path (fail when that
    /// cannot be worked out).
    async fn hold_back(&self, body: &ManagedCluster, row: &PlanRow) -> Option<Outcome> {
        if self.guard.allows_lockout() {
            return None;
        }
        match self.guard.lockout(body, row).await {
            Ok(None) => None,
            Ok(Some(reason)) => Some(Outcome::Skipped(guard::held_back(&reason))),
            Err(error) => Some(failed("LockoutCheckFailed", error.display_text())),
        }
    }

    async fn migrate(&self, row: &PlanRow, prior: Option<StateLine>) -> Outcome {
        let label = row.label();
        let progress = &self.progress;
        // A PUT may have reached ARM: a managed cluster then counts as migrated by us, not as skipped.
        let mut put_sent = prior.as_ref().is_some_and(|line| {
            matches!(line.state, ClusterState::Putting | ClusterState::Accepted)
        });
        if let Some(outcome) = self.follow_recorded(row, &label, prior.as_ref()).await {
            return outcome;
        }
        let gate = self.gates.of(&row.subscription);
        let mut transient = 0u32;
        let mut throttled = 0u32;
        loop {
            progress.step(&label, "reading the cluster", false);
            let cluster = match self.read(row, &mut throttled, &mut transient).await {
                Ok(Some(cluster)) => cluster,
                Ok(None) => continue,
                Err(outcome) => return outcome,
            };
            let state = provisioning_state(&cluster);
            if OperationState::parse(&state) == OperationState::InProgress {
                progress.step(
                    &label,
                    &format!("waiting for the running operation ({state})"),
                    true,
                );
                self.wait_idle(row).await;
                continue;
            }
            if let Some(outcome) = settled(&cluster, &state, put_sent) {
                return outcome;
            }
            let body = match update::apply(cluster, &self.guard.changes(row), &row.name) {
                Ok(body) => body,
                Err(error) => return failed("InvalidArgument", error),
            };
            if let Some(outcome) = self.hold_back(&body, row).await {
                return outcome;
            }
            progress.step(&label, "waiting for the write budget", false);
            let write = gate.pass().await;
            if let Err(error) = self
                .journal
                .state(&row.id, ClusterState::Putting, None, None, None)
                .await
            {
                return failed("JournalWriteFailed", error);
            }
            put_sent = true;
            progress.step(&label, "sending the PUT", false);
            match self
                .arm
                .begin_create_or_update_managed_cluster(
                    &row.subscription,
                    &row.resource_group,
                    &row.name,
                    &body,
                )
                .await
            {
                Ok(poller) => {
                    let outcome = self
                        .accepted(row, &label, poller, (&gate, write), &mut transient)
                        .await;
                    if let Some(outcome) = outcome {
                        return outcome;
                    }
                }
                Err(error) if is_throttled(&error) && throttled < MAX_THROTTLED => {
                    throttled += 1;
                    let pause = gate.throttled();
                    progress.step(
                        &label,
                        &format!(
                            "throttled by ARM (429 TooManyRequests): writes paused for {} s",
                            pause.as_secs()
                        ),
                        true,
                    );
                }
                Err(error) if is_conflict(&error) => {
                    progress.step(
                        &label,
                        "another operation is in progress (409 OperationNotAllowed): waiting for it",
                        true,
                    );
                    self.wait_idle(row).await;
                }
                Err(error) if is_transient(&error) && transient < MAX_TRANSIENT_ERRORS => {
                    transient += 1;
                    tracing::debug!(cluster = %row.id, "PUT failed, retrying after a read: {error}");
                    tokio::time::sleep(Duration::from_secs(1 << transient)).await;
                }
                Err(error) => return Outcome::Failed(error_info(&error)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Mutex;

    use aks_arm::transport::{Transport, TransportRequest, TransportResponse};
    use aks_arm::{ArmClientOptions, Cloud, RetryPolicy};
    use aks_identity::credential::{AccessToken, Secret, StaticTokenSource};
    use serde_json::json;

    use super::super::super::lockout::GroupStates;
    use super::super::plan::Action;
    use crate::error::CliError;

    /// One scripted answer: the expected method and path end, then status, headers and body.
    type Step = (
        Method,
        &'static str,
        u16,
        Vec<(&'static str, String)>,
        serde_json::Value,
    );

    /// Answers requests from a script, in order, checking each request's method and path.
    #[derive(Debug, Default)]
    struct Scripted {
        script: Mutex<VecDeque<Step>>,
        seen: Mutex<Vec<String>>,
    }

    impl Transport for Scripted {
        fn execute<'life0, 'async_trait>(
            &'life0 self,
            request: TransportRequest,
        ) -> Pin<
            Box<
                dyn Future<Output = Result<TransportResponse, reqwest::Error>>
                    + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            let (method, path, status, headers, body) = self
                .script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| panic!("unexpected {} {}", request.method, request.url));
            assert_eq!(request.method, method, "{}", request.url);
            assert!(
                request.url.path().ends_with(path),
                "{} vs {path}",
                request.url
            );
            if let Some(body) = &request.body {
                assert!(!String::from_utf8_lossy(body).contains("serverApp"));
            }
            self.seen
                .lock()
                .unwrap()
                .push(format!("{} {}", request.method, path));
            let mut map = HeaderMap::new();
            for (name, value) in headers {
                map.insert(name, HeaderValue::from_str(&value).unwrap());
            }
            Box::pin(async move {
                Ok(TransportResponse {
                    status,
                    headers: map,
                    body: serde_json::to_vec(&body).unwrap(),
                })
            })
        }
    }

    const CLUSTER: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c";

    fn cluster(managed: bool, state: &str) -> serde_json::Value {
        let aad = if managed {
            json!({"managed": true, "adminGroupObjectIDs": ["g"]})
        } else {
            json!({"clientAppID": "a", "serverAppID": "b", "tenantID": "t"})
        };
        json!({"id": CLUSTER, "name": "c", "location": "eastus",
               "properties": {"provisioningState": state, "enableRBAC": true, "aadProfile": aad}})
    }

    fn row() -> PlanRow {
        super::super::plan::PlanRow {
            id: CLUSTER.into(),
            name: "c".into(),
            resource_group: "rg".into(),
            subscription: "s".into(),
            tier: "Free".into(),
            kubernetes_version: "1.32.4".into(),
            aad_mode: "legacy".into(),
            action: Action::Migrate,
            reason: None,
            admin_group_object_ids: Some(vec!["g".into()]),
            tenant_id: None,
            warnings: vec![],
        }
    }

    type Script = Vec<Step>;

    fn scripted_runner(
        script: Script,
    ) -> (
        Arc<Runner>,
        Arc<Scripted>,
        tempfile::TempDir,
        tokio::runtime::Runtime,
    ) {
        let transport = Arc::new(Scripted {
            script: Mutex::new(script.into()),
            ..Scripted::default()
        });
        let token = AccessToken {
            token: Secret::new("t"),
            expires_on: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        let arm = ArmClient::with_transport(
            ArmClientOptions {
                cloud: Cloud::builtin("AzureCloud").unwrap(),
                http: reqwest::Client::new(),
                credential: Arc::new(StaticTokenSource::new(token, "test")),
                retry: RetryPolicy {
                    max_retries: 0,
                    ..RetryPolicy::default()
                },
                command_name: None,
                parameter_set_name: None,
            },
            transport.clone(),
        );
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::open(&dir.path().join("j.jsonl")).unwrap());
        journal.start(Some(vec!["g".into()]), None).unwrap();
        let no_graph = || Err(CliError::message("no Graph in unit tests"));
        let runner = Arc::new(Runner {
            arm: arm.clone(),
            journal,
            gates: WriteGates::default(),
            progress: Arc::new(Progress::new(1, 0, false, true)),
            guard: Arc::new(Guard::new(
                arm.clone(),
                GroupStates::new(no_graph),
                None,
                false,
            )),
            verifier: Arc::new(Verifier::new(arm, Err("no Graph in unit tests".into()))),
            resource_poll: Duration::from_millis(5),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        (runner, transport, dir, runtime)
    }

    #[test]
    fn a_conflict_is_waited_out_and_the_put_sent_once_the_cluster_is_idle() {
        let operation = "https://management.azure.com/subscriptions/s/providers/Microsoft.ContainerService/locations/eastus/operations/op1";
        let conflict = json!({"error": {"code": "OperationNotAllowed", "message": "Operation is not allowed: Another operation (Updating) is in progress"}});
        let script = vec![
            (
                Method::GET,
                "/managedClusters/c",
                200,
                vec![],
                cluster(false, "Succeeded"),
            ),
            (Method::PUT, "/managedClusters/c", 409, vec![], conflict),
            (
                Method::GET,
                "/managedClusters/c",
                200,
                vec![],
                cluster(false, "Updating"),
            ),
            (
                Method::GET,
                "/managedClusters/c",
                200,
                vec![],
                cluster(false, "Succeeded"),
            ),
            (
                Method::GET,
                "/managedClusters/c",
                200,
                vec![],
                cluster(false, "Succeeded"),
            ),
            (
                Method::PUT,
                "/managedClusters/c",
                200,
                vec![
                    ("azure-asyncoperation", operation.to_string()),
                    ("retry-after-ms", "1".to_string()),
                    (REMAINING_WRITES, "3".to_string()),
                ],
                cluster(true, "Updating"),
            ),
            (
                Method::GET,
                "/operations/op1",
                200,
                vec![],
                json!({"status": "Succeeded"}),
            ),
            (
                Method::GET,
                "/managedClusters/c",
                200,
                vec![],
                cluster(true, "Succeeded"),
            ),
        ];
        let (runner, transport, dir, runtime) = scripted_runner(script);
        let report = runtime.block_on(runner.run(row(), None));
        assert_eq!(report.result, ClusterState::Migrated, "{report:?}");
        assert!(
            transport.script.lock().unwrap().is_empty(),
            "{:?}",
            transport.seen
        );
        let replay = super::super::journal::read(&dir.path().join("j.jsonl")).unwrap();
        let last = &replay.last[&CLUSTER.to_ascii_lowercase()];
        assert_eq!(last.state, ClusterState::Migrated);
    }

    #[test]
    fn errors_are_classified_like_arm_says() {
        let service = |status: u16, code: &str| ArmError::Service {
            method: "PUT".into(),
            url: "https://x".into(),
            status,
            code: code.into(),
            message: "m".into(),
            target: None,
            request_id: None,
        };
        assert!(is_throttled(&service(429, "TooManyRequests")));
        assert!(is_conflict(&service(409, "OperationNotAllowed")));
        assert!(!is_conflict(&service(409, "Conflict")));
        assert!(is_transient(&service(503, "ServiceUnavailable")));
        assert!(!is_transient(&service(400, "BadRequest")));
        assert_eq!(
            error_info(&service(400, "BadRequest")),
            ErrorInfo {
                code: "BadRequest".into(),
                message: "m".into()
            }
        );
    }

    #[test]
    fn a_resumed_cluster_is_re_polled_not_put_again() {
        let operation = "https://management.azure.com/subscriptions/s/providers/Microsoft.ContainerService/locations/eastus/operations/op2";
        let failed =
            json!({"status": "Failed", "error": {"code": "InjectedFailure", "message": "no"}});
        let script = vec![(Method::GET, "/operations/op2", 200, vec![], failed)];
        let (runner, transport, _dir, runtime) = scripted_runner(script);
        let prior = StateLine {
            operation: Some(operation.into()),
            ..StateLine::now(CLUSTER, ClusterState::Accepted)
        };
        let report = runtime.block_on(runner.run(row(), Some(prior)));
        assert_eq!(report.result, ClusterState::Failed);
        assert_eq!(report.error.as_ref().unwrap().code, "InjectedFailure");
        assert_eq!(*transport.seen.lock().unwrap(), ["GET /operations/op2"]);

        // Sent but never accepted, and ARM shows it managed: it was ours, no second PUT.
        let script = vec![(
            Method::GET,
            "/managedClusters/c",
            200,
            vec![],
            cluster(true, "Succeeded"),
        )];
        let (runner, _transport, _dir, runtime) = scripted_runner(script);
        let prior = StateLine::now(CLUSTER, ClusterState::Putting);
        let report = runtime.block_on(runner.run(row(), Some(prior)));
        assert_eq!(report.result, ClusterState::Migrated);
    }
}
