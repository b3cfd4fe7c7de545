//! `aksctl aks migrate`: move a fleet of legacy AAD clusters to AKS-managed Microsoft Entra integration, each
//! exactly as `aks update --enable-aad [--aad-admin-group-object-ids …] [--aad-tenant-id …]` would
//! (docs/az-behaviour.md, "aks update": GET, replace `aadProfile` with `{managed: true, …}`, PUT the whole cluster,
//! wait), with:
//!
//! * selection by `--ids`, `--from-file`, or discovery in each `--subscription` (and `--resource-group`), every
//!   list followed through `nextLink`;
//! * a plan (`--dry-run`): what each cluster will get, and why a cluster is skipped;
//! * bounded concurrency per subscription (`schedule.rs`), write pacing per subscription that reads `x-ms-ratelimit-remaining-subscription-writes` and
//!   backs off on 429 (docs/arm-aks-api.md, "Throttling"), waiting out running operations and `409 OperationNotAllowed`
//!   (docs/arm-aks-api.md, "Errors") instead of failing;
//! * a fsynced JSON-lines journal, so `--resume` neither redoes a finished cluster nor loses an in-flight one;
//! * a report (exit 1 when any cluster failed), and optionally fresh kubeconfig entries.
//!
//! No request body is printed or journaled: `serverAppSecret` (write-only in ARM, dropped by the migration body)
//! cannot leak from here.

mod guard;
mod journal;
mod pacing;
mod plan;
mod progress;
mod runner;
mod schedule;
mod verify;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aks_arm::ArmClient;
use aks_arm::graph::GraphClient;
use aks_model::{ResourceId, Subscription};
use futures_util::{StreamExt as _, stream};
use serde_json::{Value, json};

use self::guard::Guard;
use self::journal::{ClusterState, Entry, Journal, Replay};
use self::pacing::WriteGates;
use self::plan::{Action, PlanRow, Target};
use self::progress::Progress;
use self::runner::{ReportRow, Runner};
use self::schedule::Schedule;
use self::verify::{AdminAccess, Verifier};
use super::aks::{self, AadIds};
use super::lockout::GroupStates;
use crate::args::{AksMigrateArgs, ClusterArgs, GetCredentialsArgs, OutputFormat};
use crate::context::Context;
use crate::env_vars;
use crate::error::CliError;
use crate::output::{Printer, TableLayout};

/// The resource type `--ids` must name.
const MANAGED_CLUSTERS: &str = "Microsoft.ContainerService/managedClusters";

/// The output format: `-o`, else `AZURE_CORE_OUTPUT`, else a table (this command is read by people first).
fn output_format(args: &AksMigrateArgs) -> OutputFormat {
    if let Some(format) = args.output {
        return format;
    }
    match env_vars::get(env_vars::AZURE_CORE_OUTPUT)
        .map(|value| value.to_ascii_lowercase())
        .as_deref()
    {
        Some("json") => OutputFormat::Json,
        Some("jsonc") => OutputFormat::Jsonc,
        Some("yaml") => OutputFormat::Yaml,
        Some("yamlc") => OutputFormat::Yamlc,
        Some("tsv") => OutputFormat::Tsv,
        Some("none") => OutputFormat::None,
        _ => OutputFormat::Table,
    }
}

/// A cluster `--ids` or `--from-file` names, with the admin groups `--from-file` gives it (`None`: the flag's).
#[derive(Debug, Clone, PartialEq)]
struct Requested {
    id: String,
    admin_groups: Option<Vec<String>>,
}

/// The key of a `--from-file` object that gives its cluster its own admin groups (the plan's key).
const ADMIN_GROUPS_KEY: &str = "adminGroupObjectIds";

/// One object of a `--from-file` JSON array: its `id` and, when given, its `adminGroupObjectIds` (a list of
/// GUIDs, or one comma-separated string).
fn requested_object(item: &Value, path: &Path) -> Result<Requested, CliError> {
    let id = item
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            CliError::message(format!(
                "{}: an entry has no \"id\": {item}",
                path.display()
            ))
        })?
        .to_string();
    let flag = format!("{ADMIN_GROUPS_KEY} of {id} in {}", path.display());
    let admin_groups = match item.get(ADMIN_GROUPS_KEY) {
        None | Some(Value::Null) => None,
        Some(Value::String(list)) => Some(aks_model::validation::guid_list(&flag, list)?),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|group| match group {
                    Value::String(group) => Ok(aks_model::validation::guid(&flag, group)?),
                    other => Err(CliError::message(format!(
                        "{flag}: {other} is not a group object id"
                    ))),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(other) => {
            return Err(CliError::message(format!(
                "{flag}: {other} is neither a list of group object ids nor a comma-separated string"
            )));
        }
    };
    Ok(Requested { id, admin_groups })
}

/// Clusters from `--from-file`: a JSON array (of ids, or of objects with `id` and optionally
/// `adminGroupObjectIds`), else one id per line.
fn ids_from_file(path: &Path) -> Result<Vec<Requested>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
        action: "reading",
        path: path.display().to_string(),
        source,
    })?;
    if text.trim_start().starts_with('[') {
        let value: Value = serde_json::from_str(&text).map_err(|error| {
            CliError::message(format!("{} is not valid JSON: {error}", path.display()))
        })?;
        return value
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| match item {
                Value::String(id) => Ok(Requested {
                    id: id.clone(),
                    admin_groups: None,
                }),
                Value::Object(_) => requested_object(item, path),
                other => Err(CliError::message(format!(
                    "{}: an entry is neither an id nor an object: {other}",
                    path.display()
                ))),
            })
            .collect();
    }
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|id| Requested {
            id: id.to_string(),
            admin_groups: None,
        })
        .collect())
}

/// A subscription given by name or id, as an id.
async fn subscription_id(
    arm: &ArmClient,
    wanted: &str,
    known: &mut Option<Vec<Subscription>>,
) -> Result<String, CliError> {
    if aks_model::validation::is_guid(wanted) {
        return Ok(wanted.to_string());
    }
    if known.is_none() {
        *known = Some(arm.list_subscriptions().await?);
    }
    known
        .iter()
        .flatten()
        .find(|s| s.display_name.eq_ignore_ascii_case(wanted))
        .map(|s| s.subscription_id.clone())
        .ok_or_else(|| {
            CliError::message(format!(
                "Subscription '{wanted}' not found. Check the spelling and casing and try again."
            ))
        })
}

/// The clusters in scope, planned (each held back by `guard` when it would have no admin path).
async fn discover(
    args: &AksMigrateArgs,
    arm: &ArmClient,
    context: &Context,
    target: &Target,
    guard: &Guard,
) -> Result<Vec<PlanRow>, CliError> {
    let ids = requested_ids(args)?;
    let mut known_subscriptions = None;
    let subscriptions = match &ids {
        Some(_) => Vec::new(),
        None => subscriptions_in_scope(args, arm, context, &mut known_subscriptions).await?,
    };
    let tenants = subscription_tenants(arm, target, known_subscriptions).await;
    match ids {
        Some(ids) => rows_by_id(arm, ids, target, &tenants, guard).await,
        None => rows_by_listing(arm, &subscriptions, args, target, &tenants, guard).await,
    }
}

/// The clusters `--ids`/`--from-file` name (checked), or `None` when the scope is subscriptions and a group.
fn requested_ids(args: &AksMigrateArgs) -> Result<Option<Vec<Requested>>, CliError> {
    let mut ids: Vec<Requested> = args
        .ids
        .iter()
        .map(|id| Requested {
            id: id.clone(),
            admin_groups: None,
        })
        .collect();
    if let Some(file) = &args.from_file {
        ids.extend(ids_from_file(file)?);
    }
    let by_id = !args.ids.is_empty() || args.from_file.is_some();
    if by_id && (args.resource_group.is_some() || !args.subscription.is_empty()) {
        return Err(CliError::Usage(
            "--ids/--from-file name the clusters: do not combine them with --resource-group or --subscription"
                .into(),
        ));
    }
    for Requested { id, .. } in &ids {
        let valid = ResourceId::parse(id)
            .is_some_and(|parsed| parsed.resource_type.eq_ignore_ascii_case(MANAGED_CLUSTERS));
        if !valid {
            return Err(CliError::Usage(format!(
                "'{id}' is not a managed cluster resource id (/subscriptions/…/resourceGroups/…/providers/{MANAGED_CLUSTERS}/…)"
            )));
        }
    }
    if let Some(group) = &args.resource_group {
        aks_model::validation::resource_group_name("--resource-group", group)?;
    }
    Ok(by_id.then_some(ids))
}

/// The subscriptions `--subscription` names (by id or name, each once), else the current one.
async fn subscriptions_in_scope(
    args: &AksMigrateArgs,
    arm: &ArmClient,
    context: &Context,
    known_subscriptions: &mut Option<Vec<Subscription>>,
) -> Result<Vec<String>, CliError> {
    let mut subscriptions = Vec::new();
    if args.subscription.is_empty() {
        subscriptions.push(context.subscription_id(arm).await?);
    } else {
        for wanted in &args.subscription {
            let id = subscription_id(arm, wanted, known_subscriptions).await?;
            if !subscriptions
                .iter()
                .any(|s: &String| s.eq_ignore_ascii_case(&id))
            {
                subscriptions.push(id);
            }
        }
    }
    Ok(subscriptions)
}

/// Each subscription's tenant (lower-case id → tenant), when `--aad-tenant-id` does not give one; a listing
/// that fails leaves the map empty.
async fn subscription_tenants(
    arm: &ArmClient,
    target: &Target,
    known_subscriptions: Option<Vec<Subscription>>,
) -> HashMap<String, String> {
    // The tenant a cluster gets without --aad-tenant-id is its subscription's (docs/arm-aks-api.md, "aadProfile").
    let mut tenants: HashMap<String, String> = HashMap::new();
    if target.tenant_id.is_none() {
        let listed = match known_subscriptions {
            Some(listed) => Ok(listed),
            None => arm.list_subscriptions().await,
        };
        match listed {
            Ok(listed) => {
                for subscription in listed {
                    tenants.insert(
                        subscription.subscription_id.to_ascii_lowercase(),
                        subscription.tenant_id,
                    );
                }
            }
            Err(error) => tracing::debug!("cannot list subscriptions for their tenants: {error}"),
        }
    }
    tenants
}

fn tenant_of<'a>(tenants: &'a HashMap<String, String>, subscription: &str) -> Option<&'a str> {
    tenants
        .get(&subscription.to_ascii_lowercase())
        .map(String::as_str)
        .filter(|tenant| !tenant.is_empty())
}

/// How many clusters named by `--ids`/`--from-file` are read from ARM at once while planning (one at a time, a
/// fleet waited one ARM round trip per cluster before its plan).
const PLAN_READS: usize = 16;

/// One row per named cluster (each once, in the order named); a cluster ARM does not find is a row that says so.
/// The clusters are read [`PLAN_READS`] at a time; each is planned, admin groups included, in order.
async fn rows_by_id(
    arm: &ArmClient,
    ids: Vec<Requested>,
    target: &Target,
    tenants: &HashMap<String, String>,
    guard: &Guard,
) -> Result<Vec<PlanRow>, CliError> {
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<Requested> = ids
        .into_iter()
        .filter(|requested| seen.insert(requested.id.to_ascii_lowercase()))
        .collect();
    let mut reads = stream::iter(unique)
        .map(|requested| async move {
            let parsed = ResourceId::parse(&requested.id).expect("checked above");
            let answer = arm
                .get_managed_cluster(
                    &parsed.subscription_id,
                    &parsed.resource_group,
                    &parsed.name,
                )
                .await;
            (requested, parsed, answer)
        })
        .buffered(PLAN_READS);
    let mut rows = Vec::new();
    while let Some((Requested { id, admin_groups }, parsed, answer)) = reads.next().await {
        match answer {
            Ok(cluster) => {
                let own = Target {
                    admin_groups: admin_groups.or_else(|| target.admin_groups.clone()),
                    tenant_id: target.tenant_id.clone(),
                };
                let tenant = tenant_of(tenants, &parsed.subscription_id);
                let mut row = plan::row(&cluster, &id, &own, tenant);
                guard.plan(&mut row, &cluster).await?;
                rows.push(row);
            }
            Err(error) if error.is_not_found() => rows.push(plan::unreadable(
                &id,
                format!(
                    "not found: ({}) {}",
                    error.code().unwrap_or("NotFound"),
                    match &error {
                        aks_arm::ArmError::Service { message, .. } => message.as_str(),
                        _ => "",
                    }
                ),
            )),
            Err(error) => return Err(error.into()),
        }
    }
    Ok(rows)
}

/// How many subscriptions planning lists at once. A listing of 500 clusters takes about 1.5 MiB until it is
/// planned: ten at once raised the 5,000-cluster fleet's peak from 56 to 69-70 MiB (issue #17: ≤ 64 MiB), four
/// kept it at 56-57 MiB (BENCHMARKS.md).
const LISTINGS_AT_ONCE: usize = 4;

/// Every cluster of the subscriptions (in `--resource-group` when given), sorted by subscription, group, name.
/// The subscriptions are listed [`LISTINGS_AT_ONCE`] at a time (before, one after the other: a fleet of ten
/// subscriptions waited for each listing before the next); each listing is planned in the order the
/// subscriptions were named, and the first that fails is the error, as before.
async fn rows_by_listing(
    arm: &ArmClient,
    subscriptions: &[String],
    args: &AksMigrateArgs,
    target: &Target,
    tenants: &HashMap<String, String>,
    guard: &Guard,
) -> Result<Vec<PlanRow>, CliError> {
    let group = args.resource_group.as_deref();
    let mut listings = stream::iter(subscriptions)
        .map(|subscription| async move {
            let listed = arm.list_managed_clusters(subscription, group).await;
            (subscription, listed)
        })
        .buffered(LISTINGS_AT_ONCE);
    let mut rows = Vec::new();
    while let Some((subscription, listed)) = listings.next().await {
        for cluster in listed? {
            let mut row = plan::row(&cluster, "", target, tenant_of(tenants, subscription));
            guard.plan(&mut row, &cluster).await?;
            rows.push(row);
        }
    }
    rows.sort_by_key(|row| {
        (
            row.subscription.to_ascii_lowercase(),
            row.resource_group.to_ascii_lowercase(),
            row.name.to_ascii_lowercase(),
        )
    });
    Ok(rows)
}

/// Say how many clusters are held back because they would have no admin path (none: nothing is said).
fn warn_held_back(count: usize, planned: bool, context: &Context) {
    if count == 0 {
        return;
    }
    let tense = if planned { "are" } else { "were" };
    context.printer.warning(&format!(
        "{count} cluster(s) {tense} held back: they would have no admin path after migration (see their reason). Give their admin groups a member and run again, or pass --allow-lockout to migrate them anyway."
    ));
}

/// Print the plan (`--dry-run`).
fn print_plan(rows: &[PlanRow], printer: &Printer, format: OutputFormat) -> Result<(), CliError> {
    if rows.is_empty() && format == OutputFormat::Table {
        return Ok(());
    }
    let value = if format == OutputFormat::Table {
        plan::table_view(rows)
    } else {
        serde_json::to_value(rows).expect("the plan serializes")
    };
    printer.data(&value, TableLayout::InOrder)
}

/// Print the report.
fn print_report(
    rows: &[ReportRow],
    journal: &Path,
    printer: &Printer,
    format: OutputFormat,
) -> Result<(), CliError> {
    if rows.is_empty() && format == OutputFormat::Table {
        return Ok(());
    }
    let count = |state: ClusterState| rows.iter().filter(|row| row.result == state).count();
    let access = |wanted: fn(&AdminAccess) -> bool| {
        rows.iter()
            .filter(|row| row.admin_check.as_ref().is_some_and(wanted))
            .count()
    };
    let value = if format == OutputFormat::Table {
        Value::Array(
            rows.iter()
                .map(|row| {
                    let mut detail = match row.result {
                        ClusterState::Migrated => String::new(),
                        _ => row
                            .summary()
                            .split_once(": ")
                            .map(|(_, rest)| rest.to_string())
                            .unwrap_or_default(),
                    };
                    for warning in &row.warnings {
                        if !detail.is_empty() {
                            detail.push_str("; ");
                        }
                        detail.push_str(warning);
                    }
                    json!({
                        "name": row.name,
                        "resourceGroup": row.resource_group,
                        "result": row.result,
                        "adminAccess": row.admin_check.as_ref().map(AdminAccess::line).unwrap_or_default(),
                        "detail": detail,
                    })
                })
                .collect(),
        )
    } else {
        json!({
            "clusters": rows,
            "migrated": count(ClusterState::Migrated),
            "skipped": count(ClusterState::Skipped),
            "failed": count(ClusterState::Failed),
            "heldBack": guard::count_held_back(rows.iter().map(|row| row.reason.as_deref())),
            "adminAccess": {
                "verified": access(|a| matches!(a, AdminAccess::Verified)),
                "notVerified": access(|a| matches!(a, AdminAccess::NotVerified(_))),
                "failed": access(|a| matches!(a, AdminAccess::Failed(_))),
            },
            "journal": journal.display().to_string(),
        })
    };
    printer.data(&value, TableLayout::InOrder)
}

/// Merge a migrated cluster's new user credentials into the kubeconfig (the `get-credentials` path).
async fn refresh_credentials(
    arm: &ArmClient,
    row: &ReportRow,
    file: Option<&str>,
    context: &Context,
) -> Result<Option<std::path::PathBuf>, CliError> {
    let args = GetCredentialsArgs {
        cluster: ClusterArgs {
            resource_group: row.resource_group.clone(),
            name: row.name.clone(),
        },
        admin: false,
        file: file.map(str::to_string),
        context: None,
        overwrite_existing: true,
        public_fqdn: false,
        format: None,
    };
    super::credentials::fetch_and_merge(arm, &row.subscription, &args, None, false, context).await
}

/// The journal's run for `--resume`, checked against the flags given with it.
fn resume_run(args: &AksMigrateArgs, path: &Path, target: &AadIds) -> Result<Replay, CliError> {
    if !args.ids.is_empty()
        || args.from_file.is_some()
        || args.resource_group.is_some()
        || !args.subscription.is_empty()
        || args.journal.is_some()
    {
        return Err(CliError::Usage(
            "--resume continues the clusters of its journal: do not combine it with --ids, --from-file, --resource-group, --subscription or --journal".into(),
        ));
    }
    let replay = journal::read(path)?;
    if let Some(groups) = &target.admin_groups
        && replay.header.admin_group_object_ids.as_ref() != Some(groups)
    {
        return Err(CliError::message(format!(
            "--aad-admin-group-object-ids differs from the journal's ({}); resume without it",
            replay
                .header
                .admin_group_object_ids
                .as_deref()
                .unwrap_or_default()
                .join(",")
        )));
    }
    if let Some(tenant) = &target.tenant_id
        && replay.header.tenant_id.as_ref() != Some(tenant)
    {
        return Err(CliError::message(format!(
            "--aad-tenant-id differs from the journal's ({}); resume without it",
            replay.header.tenant_id.as_deref().unwrap_or("none")
        )));
    }
    Ok(replay)
}

/// A fleet migration waits on the network for minutes with hundreds of clusters in flight: transparent huge pages
/// save it nothing and leave partly used 2 MiB pages resident (7 MiB of a 5,000-cluster run's peak when the
/// allocator still asked for them; BENCHMARKS.md). glibc's malloc does not ask, but on hosts whose THP setting is
/// `always` the kernel uses them unasked. Turned off for this process from here on.
fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!("transparent huge pages stay on: {error}");
    }
}

/// `aks migrate`.
pub async fn migrate(args: AksMigrateArgs, context: &Context) -> Result<(), CliError> {
    without_huge_pages();
    let format = output_format(&args);
    let printer = context.printer.with_format(format);
    let flags = aks::aad_ids(
        args.aad_admin_group_object_ids.as_deref(),
        args.aad_tenant_id.as_deref(),
    )?;
    let arm = context.arm("aks migrate")?;
    let (mut guard, graph) = guard_and_graph(&args, &flags, &arm, context);

    let Scope {
        rows,
        prior,
        journal_path,
        fresh,
        target,
    } = scope(&args, &flags, &arm, context, &guard).await?;
    guard.set_tenant(target.tenant_id.clone());

    if rows.is_empty() {
        context
            .printer
            .warning("No AKS clusters were found in the selected scope.");
    }
    let held_back = guard::count_held_back(rows.iter().map(|row| row.reason.as_deref()));
    if args.dry_run {
        print_plan(&rows, &printer, format)?;
        warn_held_back(held_back, true, context);
        return Ok(());
    }

    confirm_pending(&rows, &prior, &args, context)?;

    let journal = Arc::new(Journal::open(&journal_path)?);
    if fresh {
        journal.start(target.admin_groups.clone(), target.tenant_id.clone())?;
        let plan: Vec<Entry> = rows.iter().cloned().map(Entry::Plan).collect();
        journal.write_all(&plan)?;
    } else {
        journal.write(&Entry::Resume {
            time: journal::now(),
        })?;
    }

    let already_done = rows
        .iter()
        .filter(|row| prior.get(&row.key()).is_some_and(|l| l.state.is_final()))
        .count() as u64;
    let progress = Arc::new(Progress::new(
        rows.len() as u64,
        already_done,
        std::io::stderr().is_terminal(),
        !context.printer.shows_warnings(),
    ));
    let shown = journal_path.display();
    progress.note(&format!(
        "journal: {shown} (after an interruption: aksctl aks migrate --resume {shown} --yes)"
    ));

    let runner = Arc::new(Runner {
        arm: arm.clone(),
        journal: journal.clone(),
        gates: WriteGates::default(),
        progress: progress.clone(),
        guard: Arc::new(guard),
        verifier: Arc::new(Verifier::new(arm.clone(), graph)),
        resource_poll: Duration::from_secs(1),
    });

    let (mut report, queue) = settle_finished_and_skipped(&rows, &prior, &journal, &progress)?;
    let refreshed = run_queue(queue, &mut report, &runner, &arm, &args, context).await;
    progress.close();
    let refreshed = refreshed?;

    let report: Vec<ReportRow> = report.into_iter().flatten().collect();
    print_report(&report, &journal_path, &printer, format)?;
    warn_about_credentials(&report, refreshed, &args, context);
    warn_held_back(
        guard::count_held_back(report.iter().map(|row| row.reason.as_deref())),
        false,
        context,
    );
    outcome(&report, &journal_path)
}

/// Exit 1 when a cluster failed to migrate or the API server denied its admin group's access; skipped and held
/// back clusters, and admin access that could not be verified, are reported but not failures.
fn outcome(report: &[ReportRow], journal_path: &Path) -> Result<(), CliError> {
    let failed = report
        .iter()
        .filter(|row| row.result == ClusterState::Failed)
        .count();
    let denied = report
        .iter()
        .filter(|row| row.admin_access_failed())
        .count();
    let mut problems = Vec::new();
    if failed > 0 {
        problems.push(format!(
            "{failed} of {} cluster(s) failed to migrate (see the report).",
            report.len()
        ));
    }
    if denied > 0 {
        problems.push(format!(
            "{denied} migrated cluster(s) failed the admin access check: the API server denies their admin group (see adminAccess in the report)."
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(CliError::message(format!(
        "{} The journal is {}.",
        problems.join(" "),
        journal_path.display()
    )))
}

/// The lockout guard of a run, and the Graph client it and the admin access check read groups with (built now,
/// used only when an admin group or the caller's groups are read; its error text when there is none).
fn guard_and_graph(
    args: &AksMigrateArgs,
    flags: &AadIds,
    arm: &ArmClient,
    context: &Context,
) -> (Guard, Result<GraphClient, String>) {
    let graph = super::ad::graph(context, "aks migrate").map_err(|error| error.display_text());
    let for_groups = graph.clone();
    let groups = GroupStates::new(move || for_groups.clone().map_err(CliError::message));
    let guard = Guard::new(
        arm.clone(),
        groups,
        flags.tenant_id.clone(),
        args.allow_lockout,
    );
    (guard, graph)
}

/// The clusters of one run: planned now, or read back from the journal being resumed.
struct Scope {
    rows: Vec<PlanRow>,
    /// The last journal line of each cluster (empty for a new run).
    prior: HashMap<String, journal::StateLine>,
    journal_path: std::path::PathBuf,
    /// A new run (its journal starts with a header and the plan).
    fresh: bool,
    target: Target,
}

async fn scope(
    args: &AksMigrateArgs,
    flags: &AadIds,
    arm: &ArmClient,
    context: &Context,
    guard: &Guard,
) -> Result<Scope, CliError> {
    Ok(match &args.resume {
        Some(path) => {
            let replay = resume_run(args, path, flags)?;
            let target = Target {
                admin_groups: replay.header.admin_group_object_ids.clone(),
                tenant_id: replay.header.tenant_id.clone(),
            };
            Scope {
                rows: replay.plan,
                prior: replay.last,
                journal_path: path.clone(),
                fresh: false,
                target,
            }
        }
        None => {
            let target = Target {
                admin_groups: flags.admin_groups.clone(),
                tenant_id: flags.tenant_id.clone(),
            };
            let rows = discover(args, arm, context, &target, guard).await?;
            let path = args.journal.clone().unwrap_or_else(|| {
                context
                    .store
                    .dir
                    .join("migrations")
                    .join(journal::default_file_name())
            });
            Scope {
                rows,
                prior: HashMap::new(),
                journal_path: path,
                fresh: true,
                target,
            }
        }
    })
}

/// Without `--yes`: say how many clusters will be migrated (and how many are on the Free tier), then ask.
fn confirm_pending(
    rows: &[PlanRow],
    prior: &HashMap<String, journal::StateLine>,
    args: &AksMigrateArgs,
    context: &Context,
) -> Result<(), CliError> {
    let pending: Vec<&PlanRow> = rows
        .iter()
        .filter(|row| {
            row.action == Action::Migrate
                && !prior
                    .get(&row.key())
                    .is_some_and(|line| line.state.is_final())
        })
        .collect();
    if !pending.is_empty() && !args.yes {
        let free = pending
            .iter()
            .filter(|row| row.warnings.iter().any(|w| w.starts_with("Free tier")))
            .count();
        let held_back = guard::count_held_back(rows.iter().map(|row| row.reason.as_deref()));
        let held_back = match held_back {
            0 => String::new(),
            n => format!(", {n} of them held back: no admin path after migration"),
        };
        context.printer.warning(&format!(
            "{} cluster(s) will be migrated to AKS-managed Microsoft Entra integration ({} skipped{held_back}); see the plan with --dry-run.",
            pending.len(),
            rows.len() - pending.len()
        ));
        if free > 0 {
            context.printer.warning(&format!(
                "{free} of them are on the Free tier: their API servers may see downtime during the migration."
            ));
        }
        super::confirm_or_yes(context, false)?;
    }
    Ok(())
}

/// Finished clusters come from the journal; skipped ones are recorded now (and shown as finished); the rest are
/// the queue, with their index in the report and their last journal line.
#[allow(clippy::type_complexity)]
fn settle_finished_and_skipped(
    rows: &[PlanRow],
    prior: &HashMap<String, journal::StateLine>,
    journal: &Journal,
    progress: &Progress,
) -> Result<
    (
        Vec<Option<ReportRow>>,
        Vec<(usize, PlanRow, Option<journal::StateLine>)>,
    ),
    CliError,
> {
    let mut report: Vec<Option<ReportRow>> = vec![None; rows.len()];
    let mut queue = Vec::new();
    let mut skipped_lines = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let last = prior.get(&row.key());
        if let Some(line) = last.filter(|line| line.state.is_final()) {
            report[index] = Some(ReportRow::from_journal(row, line));
        } else if row.action == Action::Skip {
            skipped_lines.push(Entry::State(journal::StateLine {
                reason: row.reason.clone(),
                ..journal::StateLine::now(&row.id, ClusterState::Skipped)
            }));
            report[index] = Some(ReportRow::new(
                row,
                ClusterState::Skipped,
                row.reason.clone(),
                None,
            ));
        } else {
            queue.push((index, row.clone(), last.cloned()));
        }
    }
    journal.write_all(&skipped_lines)?;
    for (row, done) in rows.iter().zip(&report) {
        if let Some(done) = done.as_ref().filter(|_| row.action == Action::Skip)
            && !prior.get(&row.key()).is_some_and(|l| l.state.is_final())
        {
            progress.finished(&row.label(), &done.summary());
        }
    }
    Ok((report, queue))
}

/// Run the queue, `--concurrency` clusters of each subscription at a time (`schedule.rs`), refreshing credentials of migrated clusters when asked;
/// returns the kubeconfigs refreshed and how many refreshes failed.
async fn run_queue(
    queue: Vec<(usize, PlanRow, Option<journal::StateLine>)>,
    report: &mut [Option<ReportRow>],
    runner: &Arc<Runner>,
    arm: &ArmClient,
    args: &AksMigrateArgs,
    context: &Context,
) -> Result<Refreshed, CliError> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut schedule = Schedule::new(
        queue
            .into_iter()
            .map(|item| (item.1.subscription.clone(), item)),
        args.concurrency as usize,
    );
    let mut refresh_failures = 0usize;
    let mut refreshed: Vec<std::path::PathBuf> = Vec::new();
    loop {
        while let Some((index, row, last)) = schedule.next() {
            let runner = runner.clone();
            tasks.spawn(async move { (index, runner.run(row, last).await) });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (index, mut row) = match joined {
            Ok(done) => done,
            Err(error) => {
                return Err(CliError::message(format!(
                    "a migration worker stopped unexpectedly: {error}"
                )));
            }
        };
        if row.result == ClusterState::Migrated && args.refresh_credentials {
            match refresh_credentials(arm, &row, args.file.as_deref(), context).await {
                Ok(Some(path)) => refreshed.push(path),
                Ok(None) => {}
                Err(error) => {
                    refresh_failures += 1;
                    row.warnings.push(format!(
                        "credentials not refreshed: {}",
                        error.display_text()
                    ));
                }
            }
        }
        schedule.finished(&row.subscription);
        report[index] = Some(row);
    }
    Ok(Refreshed {
        paths: refreshed,
        failures: refresh_failures,
    })
}

/// The kubeconfigs `--refresh-credentials` merged into, and how many clusters it could not refresh.
struct Refreshed {
    paths: Vec<std::path::PathBuf>,
    failures: usize,
}

/// The warnings after the report: stale kubeconfig entries, where fresh credentials went, refreshes that failed.
fn warn_about_credentials(
    report: &[ReportRow],
    refreshed: Refreshed,
    args: &AksMigrateArgs,
    context: &Context,
) {
    let Refreshed {
        paths: mut refreshed,
        failures: refresh_failures,
    } = refreshed;
    let migrated = report
        .iter()
        .filter(|row| row.result == ClusterState::Migrated)
        .count();
    if migrated > 0 && !args.refresh_credentials {
        context.printer.warning(
            "The migration changes the content of the kubeconfig: existing entries of migrated clusters stop working. Merge the new credentials with aksctl aks get-credentials --resource-group <group> --name <name> --overwrite-existing (or run with --refresh-credentials).",
        );
    }
    refreshed.dedup();
    for path in &refreshed {
        context.printer.warning(&format!(
            "Merged the new credentials of the migrated clusters into {}",
            path.display()
        ));
    }
    if refresh_failures > 0 {
        context.printer.warning(&format!(
            "{refresh_failures} migrated cluster(s) could not get fresh credentials; see the report."
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_lines_or_json() {
        let dir = tempfile::tempdir().unwrap();
        let lines = dir.path().join("ids.txt");
        std::fs::write(
            &lines,
            "# fleet\n/subscriptions/s/a\n\n  /subscriptions/s/b  \n",
        )
        .unwrap();
        let ids = |path: &Path| -> Vec<String> {
            ids_from_file(path)
                .unwrap()
                .into_iter()
                .map(|requested| requested.id)
                .collect()
        };
        assert_eq!(ids(&lines), ["/subscriptions/s/a", "/subscriptions/s/b"]);
        let listed = dir.path().join("list.json");
        std::fs::write(&listed, r#"[{"id": "/x", "name": "a"}, "/y"]"#).unwrap();
        assert_eq!(ids(&listed), ["/x", "/y"]);
        std::fs::write(&listed, r#"[{"name": "a"}]"#).unwrap();
        assert!(ids_from_file(&listed).is_err());
    }

    #[test]
    fn file_objects_may_name_their_admin_groups() {
        let dir = tempfile::tempdir().unwrap();
        let listed = dir.path().join("plan.json");
        let g1 = "12345678-aaaa-bbbb-cccc-000000000001";
        let g2 = "12345678-aaaa-bbbb-cccc-000000000002";
        std::fs::write(
            &listed,
            format!(
                r#"[{{"id": "/a", "adminGroupObjectIds": ["{g1}", "{g2}"]}},
                    {{"id": "/b", "adminGroupObjectIds": "{g2}"}},
                    {{"id": "/c", "adminGroupObjectIds": null}}, "/d"]"#
            ),
        )
        .unwrap();
        let requested = ids_from_file(&listed).unwrap();
        let groups: Vec<Option<Vec<String>>> =
            requested.into_iter().map(|r| r.admin_groups).collect();
        assert_eq!(
            groups,
            [
                Some(vec![g1.to_string(), g2.to_string()]),
                Some(vec![g2.to_string()]),
                None,
                None
            ]
        );
        for bad in [r#"["not-a-guid"]"#, "[1]", "true"] {
            std::fs::write(
                &listed,
                format!(r#"[{{"id": "/a", "adminGroupObjectIds": {bad}}}]"#),
            )
            .unwrap();
            let error = ids_from_file(&listed).unwrap_err().to_string();
            assert!(
                error.contains("adminGroupObjectIds of /a in"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn the_default_output_is_a_table() {
        let args = AksMigrateArgs {
            subscription: vec![],
            resource_group: None,
            ids: vec![],
            from_file: None,
            aad_admin_group_object_ids: None,
            aad_tenant_id: None,
            dry_run: true,
            concurrency: 10,
            journal: None,
            resume: None,
            refresh_credentials: false,
            file: None,
            allow_lockout: false,
            output: Some(OutputFormat::Json),
            yes: false,
        };
        assert_eq!(output_format(&args), OutputFormat::Json);
    }
}
