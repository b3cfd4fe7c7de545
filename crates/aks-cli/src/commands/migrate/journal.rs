//! The journal: one JSON object per line, appended and fsynced before the step it announces (a `putting` line
//! is on disk before the PUT leaves), so a run killed at any point can be resumed without redoing or losing a
//! cluster.
//!
//! The workers' state lines are committed in groups (`Journal::state`): a worker's line is appended and fsynced
//! on a blocking thread, together with the lines of the workers that came meanwhile, and the worker goes on only
//! once its line is on disk. The runtime's one thread, which makes every request, never waits for the disk: three
//! fsyncs per cluster stalled it for 22.6 s in all in a 5,000-cluster fleet on a busy machine (BENCHMARKS.md).
//!
//! Lines: a `run` header (the target groups and tenant), one `plan` line per cluster, then `state` lines
//! (`putting`, `accepted` with the operation URL, `migrated`, `skipped`, `failed`) and a `resume` line per
//! resumption. No request bodies and no secrets are ever written.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::plan::PlanRow;
use crate::error::CliError;

/// The journal format version.
const VERSION: u32 = 1;

/// An ARM error as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ErrorInfo {
    /// ARM error code (`OperationNotAllowed`, `TooManyRequests`, the failed operation's code, ...).
    pub code: String,
    /// Its message.
    pub message: String,
}

/// The state of one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ClusterState {
    /// The PUT is about to be sent (it may or may not have reached ARM).
    Putting,
    /// ARM accepted the PUT; the operation runs.
    Accepted,
    /// Done: managed AAD with the target groups and tenant.
    Migrated,
    /// Left alone (see the reason).
    Skipped,
    /// The migration failed (see the error).
    Failed,
}

impl ClusterState {
    /// Whether nothing more is done to the cluster.
    pub(super) fn is_final(self) -> bool {
        matches!(
            self,
            ClusterState::Migrated | ClusterState::Skipped | ClusterState::Failed
        )
    }
}

/// The first line: what the run applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RunHeader {
    /// Journal format version.
    pub version: u32,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// `--aad-admin-group-object-ids`.
    pub admin_group_object_ids: Option<Vec<String>>,
    /// `--aad-tenant-id`.
    pub tenant_id: Option<String>,
}

/// A state change of one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct StateLine {
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The cluster's resource id.
    pub id: String,
    /// The new state.
    pub state: ClusterState,
    /// The operation URL (`Azure-AsyncOperation`) once accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Why it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// A migrated cluster's admin access check, as the report says it (`verified`, `not-verified`, `failed`), so
    /// that a resumed run reports it too. Journals written before it was recorded have none.
    #[serde(rename = "adminAccess")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_access: Option<String>,
    /// Why it is not verified, or how it failed.
    #[serde(rename = "adminAccessDetail")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_access_detail: Option<String>,
}

impl StateLine {
    /// `id` reaching `state` now, with nothing else to say (the other fields are set with struct update syntax).
    pub(super) fn now(id: &str, state: ClusterState) -> StateLine {
        StateLine {
            time: now(),
            id: id.to_string(),
            state,
            operation: None,
            reason: None,
            error: None,
            admin_access: None,
            admin_access_detail: None,
        }
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(super) enum Entry {
    /// The header.
    Run(RunHeader),
    /// A planned cluster.
    Plan(PlanRow),
    /// A state change.
    State(StateLine),
    /// A resumption.
    Resume {
        /// When (RFC 3339, UTC).
        time: String,
    },
}

/// The current UTC time, RFC 3339 with seconds.
pub(super) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
}

/// The default journal file name: `<UTC timestamp>.jsonl`.
pub(super) fn default_file_name() -> String {
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    format!("{stamp}-{}.jsonl", std::process::id())
}

/// An open journal, shared by the workers.
#[derive(Debug)]
pub(super) struct Journal {
    path: PathBuf,
    file: Arc<Mutex<File>>,
    group: Arc<Mutex<Group>>,
}

/// How a group commit ended, for each of its writers (`std::io::Error` is not `Clone`).
type Committed = Result<(), (std::io::ErrorKind, String)>;

/// State lines waiting for the next fsync, and the workers waiting for them.
#[derive(Debug, Default)]
struct Group {
    lines: Vec<u8>,
    waiters: Vec<tokio::sync::oneshot::Sender<Committed>>,
    /// Whether a blocking thread is committing groups (it commits until none is left).
    committing: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Append and fsync the waiting groups one after the other, each with one fsync, until none waits; then tell each
/// writer how its group ended.
fn commit_groups(file: &Mutex<File>, group: &Mutex<Group>) {
    loop {
        let (lines, waiters) = {
            let mut group = lock(group);
            if group.waiters.is_empty() {
                group.committing = false;
                return;
            }
            (
                std::mem::take(&mut group.lines),
                std::mem::take(&mut group.waiters),
            )
        };
        let committed = {
            let mut file = lock(file);
            file.write_all(&lines).and_then(|()| file.sync_data())
        }
        .map_err(|error| (error.kind(), error.to_string()));
        for waiter in waiters {
            let _ = waiter.send(committed.clone());
        }
    }
}

fn lines_of(entries: &[Entry]) -> Vec<u8> {
    let mut lines = Vec::new();
    for entry in entries {
        serde_json::to_writer(&mut lines, entry).expect("a journal entry serializes");
        lines.push(b'\n');
    }
    lines
}

fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> CliError + 'a {
    move |source| CliError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

impl Journal {
    /// Open `path` for appending (created 0600, its directory 0700, when missing).
    pub(super) fn open(path: &Path) -> Result<Journal, CliError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(dir)
                .map_err(io_error("creating the journal directory", dir))?;
        }
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(path)
            .map_err(io_error("opening the journal", path))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Arc::new(Mutex::new(file)),
            group: Arc::default(),
        })
    }

    /// Append one line and fsync it.
    pub(super) fn write(&self, entry: &Entry) -> Result<(), CliError> {
        self.write_all(std::slice::from_ref(entry))
    }

    /// Append lines with one fsync (before and after the workers run: it waits for the disk on this thread).
    pub(super) fn write_all(&self, entries: &[Entry]) -> Result<(), CliError> {
        let lines = lines_of(entries);
        let mut file = lock(&self.file);
        file.write_all(&lines)
            .and_then(|()| file.sync_data())
            .map_err(io_error("writing the journal", &self.path))
    }

    /// Append the header of a new run.
    pub(super) fn start(
        &self,
        admin_group_object_ids: Option<Vec<String>>,
        tenant_id: Option<String>,
    ) -> Result<(), CliError> {
        self.write(&Entry::Run(RunHeader {
            version: VERSION,
            started: now(),
            admin_group_object_ids,
            tenant_id,
        }))
    }

    /// Append a state change; returns once it is on disk (committed with the lines of other workers, on a
    /// blocking thread).
    pub(super) async fn state(
        &self,
        id: &str,
        state: ClusterState,
        operation: Option<String>,
        reason: Option<String>,
        error: Option<ErrorInfo>,
    ) -> Result<(), CliError> {
        self.append(StateLine {
            operation,
            reason,
            error,
            ..StateLine::now(id, state)
        })
        .await
    }

    /// Append `line`; returns once it is on disk (committed with the lines of other workers, on a blocking
    /// thread).
    pub(super) async fn append(&self, line: StateLine) -> Result<(), CliError> {
        let line = lines_of(&[Entry::State(line)]);
        let (sender, committed) = tokio::sync::oneshot::channel();
        let start = {
            let mut group = lock(&self.group);
            group.lines.extend_from_slice(&line);
            group.waiters.push(sender);
            !std::mem::replace(&mut group.committing, true)
        };
        if start {
            let (file, group) = (self.file.clone(), self.group.clone());
            tokio::task::spawn_blocking(move || commit_groups(&file, &group));
        }
        let committed = committed.await.unwrap_or_else(|_| {
            Err((
                std::io::ErrorKind::Other,
                "the journal's writer stopped".to_string(),
            ))
        });
        committed.map_err(|(kind, message)| {
            io_error("writing the journal", &self.path)(std::io::Error::new(kind, message))
        })
    }
}

/// A journal read back: the header, the plan in order, and each cluster's last state.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Replay {
    /// The header.
    pub header: RunHeader,
    /// The planned clusters, in order.
    pub plan: Vec<PlanRow>,
    /// The last state line of each cluster (by [`PlanRow::key`]).
    pub last: HashMap<String, StateLine>,
}

/// Read a journal. A torn last line (the process died mid-write) is ignored; any other bad line is an error.
pub(super) fn read(path: &Path) -> Result<Replay, CliError> {
    let text = std::fs::read_to_string(path).map_err(io_error("reading the journal", path))?;
    parse(&text).map_err(|message| {
        CliError::message(format!(
            "{} is not an aksctl migration journal: {message}",
            path.display()
        ))
    })
}

fn parse(text: &str) -> Result<Replay, String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut header = None;
    let mut plan: Vec<PlanRow> = Vec::new();
    let mut last = HashMap::new();
    for (index, line) in lines.iter().enumerate() {
        let entry: Entry = match serde_json::from_str(line) {
            Ok(entry) => entry,
            Err(_) if index + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(error) => return Err(format!("line {}: {error}", index + 1)),
        };
        match entry {
            Entry::Run(run) => {
                if run.version != VERSION {
                    return Err(format!("unsupported journal version {}", run.version));
                }
                header.get_or_insert(run);
            }
            Entry::Plan(row) => {
                if !plan.iter().any(|known| known.key() == row.key()) {
                    plan.push(row);
                }
            }
            Entry::State(state) => {
                last.insert(state.id.to_ascii_lowercase(), state);
            }
            Entry::Resume { .. } => {}
        }
    }
    let header = header.ok_or("no run header")?;
    Ok(Replay { header, plan, last })
}

#[cfg(test)]
mod tests {
    use super::super::plan::{Action, PlanRow};
    use super::*;

    fn row(name: &str) -> PlanRow {
        PlanRow {
            id: format!(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"
            ),
            name: name.into(),
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

    #[tokio::test]
    async fn written_lines_read_back_and_a_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("j.jsonl");
        let journal = Journal::open(&path).unwrap();
        journal
            .start(Some(vec!["g".into()]), Some("t".into()))
            .unwrap();
        for name in ["a", "b"] {
            journal.write(&Entry::Plan(row(name))).unwrap();
        }
        let a = row("a").id;
        journal
            .state(&a, ClusterState::Putting, None, None, None)
            .await
            .unwrap();
        journal
            .state(
                &a,
                ClusterState::Accepted,
                Some("https://op".into()),
                None,
                None,
            )
            .await
            .unwrap();
        drop(journal);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"type\":\"state\",\"id\":\"x");
        std::fs::write(&path, &text).unwrap();
        let replay = read(&path).unwrap();
        assert_eq!(replay.header.tenant_id.as_deref(), Some("t"));
        assert_eq!(replay.plan.len(), 2);
        let state = &replay.last[&a.to_ascii_lowercase()];
        assert_eq!(state.state, ClusterState::Accepted);
        assert_eq!(state.operation.as_deref(), Some("https://op"));
        assert!(!replay.last.contains_key(&row("b").key()));
    }

    #[tokio::test]
    async fn concurrent_state_lines_are_each_in_the_file_when_their_write_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let journal = Arc::new(Journal::open(&path).unwrap());
        journal.start(None, None).unwrap();
        let names: Vec<String> = (0..64).map(|index| format!("c{index}")).collect();
        journal
            .write_all(
                &names
                    .iter()
                    .map(|name| Entry::Plan(row(name)))
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for name in &names {
            let (journal, path, id) = (journal.clone(), path.clone(), row(name).id);
            tasks.spawn(async move {
                for state in [ClusterState::Putting, ClusterState::Migrated] {
                    journal.state(&id, state, None, None, None).await.unwrap();
                    let replay = read(&path).unwrap();
                    assert_eq!(replay.last[&id.to_ascii_lowercase()].state, state);
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().count(),
            1 + 64 + 2 * 64,
            "no line lost or doubled"
        );
        let replay = read(&path).unwrap();
        assert!(
            names
                .iter()
                .all(|name| replay.last[&row(name).key()].state == ClusterState::Migrated)
        );
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error() {
        assert!(parse("garbage\n{}\n").is_err());
        assert!(parse("").unwrap_err().contains("no run header"));
    }
}
