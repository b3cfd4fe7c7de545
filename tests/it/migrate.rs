//! `aksctl aks migrate`: a 50-cluster fleet (legacy, managed and RBAC-disabled legacy clusters in two groups,
//! listed in pages) with ARM write throttling and a failing operation; a run killed with SIGKILL, then
//! resumed from its journal without migrating any cluster twice; and lockout-proof waves (docs/lockout.md,
//! "aks migrate"): 500 clusters with local accounts disabled, 10% of them with empty admin groups, end with no
//! cluster lacking an admin path, and each migrated cluster's admin access is verified or said not to be.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::lockout::group_with;
use crate::{assert_output_snapshot, cloud, object_id, stderr};

const LEGACY_CLIENT_APP: &str = "11111111-2222-3333-4444-000000000002";
const LEGACY_SERVER_APP: &str = "11111111-2222-3333-4444-000000000001";
const LEGACY_TENANT: &str = "11111111-2222-3333-4444-0000000000ff";
/// The legacy server application's secret: it must never show up anywhere.
const LEGACY_SECRET: &str = "legacy-server-secret-0123456789";
const OTHER_GROUP: &str = "12345678-aaaa-bbbb-cccc-000000000001";
const NEW_TENANT: &str = "12345678-aaaa-bbbb-cccc-0000000000ee";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Legacy,
    Managed,
    LegacyWithoutRbac,
}

fn body(kind: Kind, free: bool) -> Value {
    let aad = match kind {
        Kind::Managed => json!({"managed": true, "adminGroupObjectIDs": [OTHER_GROUP]}),
        _ => json!({"clientAppID": LEGACY_CLIENT_APP, "serverAppID": LEGACY_SERVER_APP,
                    "serverAppSecret": LEGACY_SECRET, "tenantID": LEGACY_TENANT}),
    };
    json!({
        "location": "eastus",
        "sku": {"name": "Base", "tier": if free { "Free" } else { "Standard" }},
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "kubernetesVersion": "1.32",
            "enableRBAC": kind != Kind::LegacyWithoutRbac,
            "aadProfile": aad,
            "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "vmSize": "Standard_DS2_v2",
                                   "mode": "System", "osType": "Linux"}]
        }
    })
}

/// Seed `clusters` (group, name, kind, free tier) through the management API.
fn seed(cloud: &TestCloud, clusters: &[(String, String, Kind, bool)]) {
    let bodies: Vec<(String, String, Value)> = clusters
        .iter()
        .map(|(group, name, kind, free)| (group.clone(), name.clone(), body(*kind, *free)))
        .collect();
    seed_bodies(cloud, &bodies);
}

/// Seed clusters (group, name, ARM body) through the management API, in the groups fleet-a and fleet-b.
fn seed_bodies(cloud: &TestCloud, clusters: &[(String, String, Value)]) {
    let groups: Vec<Value> = ["fleet-a", "fleet-b"]
        .iter()
        .map(|name| json!({"name": name, "location": "eastus"}))
        .collect();
    let clusters: Vec<Value> = clusters
        .iter()
        .map(|(group, name, body)| json!({"resource_group": group, "name": name, "body": body}))
        .collect();
    cloud.management(
        "POST",
        "seed",
        Some(json!({"resource_groups": groups, "clusters": clusters})),
    );
}

/// The clusters as the emulator holds them, by name.
fn state(cloud: &TestCloud) -> BTreeMap<String, Value> {
    cloud.management("GET", "state", None)["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["body"].clone()))
        .collect()
}

/// Accepted (2xx) cluster PUTs per cluster name, from the request log.
fn accepted_puts(cloud: &TestCloud) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in cloud.requests() {
        let path = request["path"].as_str().unwrap_or_default();
        let status = request["status"].as_u64().unwrap_or_default();
        if request["method"] == "PUT"
            && path.contains("/managedClusters/")
            && (200..300).contains(&status)
        {
            let name = path.rsplit('/').next().unwrap().to_string();
            *counts.entry(name).or_default() += 1;
        }
    }
    counts
}

fn journal_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn by_name(rows: &Value) -> BTreeMap<String, Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| (row["name"].as_str().unwrap().to_string(), row.clone()))
        .collect()
}

#[test]
fn a_fleet_is_planned_then_migrated_through_throttling_and_a_failure() {
    let cloud = cloud();
    let fleet: Vec<(String, String, Kind, bool)> = (0..50)
        .map(|i| {
            let kind = match i % 5 {
                3 => Kind::Managed,
                4 => Kind::LegacyWithoutRbac,
                _ => Kind::Legacy,
            };
            let group = if i % 2 == 0 { "fleet-a" } else { "fleet-b" };
            (group.to_string(), format!("c{i:02}"), kind, i % 4 == 0)
        })
        .collect();
    seed(&cloud, &fleet);
    cloud.management("PUT", "page-size", Some(json!({"page_size": 7})));
    cloud.clear_requests();
    let groups = format!("{},{OTHER_GROUP}", cloud.ready().admin_group_id);
    let flags = [
        "--aad-admin-group-object-ids",
        groups.as_str(),
        "--aad-tenant-id",
        NEW_TENANT,
    ];

    // The plan, as a table (the default) and as JSON; nothing is written.
    let table = cloud.run_ok(&[&["aks", "migrate", "--dry-run"][..], &flags].concat());
    let known = [
        (LEGACY_TENANT, "legacy-tenant"),
        (NEW_TENANT, "new-tenant"),
        (OTHER_GROUP, "other-group"),
    ];
    assert_output_snapshot!(&cloud, "migrate-plan-table", table, &known);

    let plan_text =
        cloud.run_ok(&[&["aks", "migrate", "--dry-run", "-o", "json"][..], &flags].concat());
    assert_output_snapshot!(&cloud, "migrate-plan-json", &plan_text, &known);
    let plan = by_name(&serde_json::from_str(&plan_text).unwrap());
    assert_eq!(plan.len(), 50);
    for (group, name, kind, free) in &fleet {
        let row = &plan[name];
        assert_eq!(row["resourceGroup"], *group);
        assert_eq!(row["kubernetesVersion"], "1.32.4");
        match kind {
            Kind::Legacy => {
                assert_eq!(row["action"], "migrate", "{row}");
                assert_eq!(row["aadMode"], "legacy");
                assert_eq!(
                    row["adminGroupObjectIds"],
                    json!([cloud.ready().admin_group_id, OTHER_GROUP])
                );
                assert_eq!(row["tenantId"], NEW_TENANT);
                let warnings = row["warnings"].to_string();
                assert_eq!(warnings.contains("Free tier"), *free, "{row}");
                assert!(warnings.contains(&format!("tenant changes from {LEGACY_TENANT}")));
            }
            Kind::Managed => {
                assert_eq!(row["action"], "skip");
                assert_eq!(row["reason"], "already managed");
            }
            Kind::LegacyWithoutRbac => {
                assert_eq!(row["action"], "skip");
                assert!(row["reason"].as_str().unwrap().contains("RBAC disabled"));
                assert_eq!(row["warnings"], json!(["RBAC disabled: cannot migrate"]));
            }
        }
    }
    let requests = cloud.requests();
    assert_only_reads(&requests);
    assert!(
        requests.iter().any(|r| r["query"]
            .as_str()
            .unwrap_or_default()
            .contains("skipToken")),
        "the listing was paged"
    );
    cloud.clear_requests();

    // The run: a small write bucket (so ARM answers 429) and one failing operation.
    cloud.management(
        "PUT",
        "throttle",
        Some(json!({"enabled": true, "capacity": 4, "refill_per_second": 4.0})),
    );
    cloud.management(
        "POST",
        "lro/fail-next",
        Some(json!({"code": "InjectedMigrationFailure", "message": "the control plane said no"})),
    );
    let journal = cloud.dir().join("fleet.jsonl");
    let output = cloud.run(
        &[
            &[
                "aks",
                "migrate",
                "--yes",
                "-o",
                "json",
                "--concurrency",
                "8",
            ][..],
            &["--journal", journal.to_str().unwrap()],
            &flags,
        ]
        .concat(),
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "one cluster failed: {err}");
    assert!(
        err.contains("1 of 50 cluster(s) failed to migrate"),
        "{err}"
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(
        (&report["migrated"], &report["skipped"], &report["failed"]),
        (&json!(29), &json!(20), &json!(1)),
        "{report:#}"
    );
    assert_eq!(report["journal"], journal.to_str().unwrap());
    // Without a terminal, progress is plain timestamped lines on stderr.
    let done_lines: Vec<&str> = err
        .lines()
        .filter(|line| line.ends_with(": migrated"))
        .collect();
    assert_eq!(done_lines.len(), 29, "{err}");
    assert!(
        done_lines.iter().all(|line| line.starts_with("20")
            && line.contains("Z [")
            && line.contains("/50] fleet-")),
        "{err}"
    );
    let results = by_name(&report["clusters"]);
    let failed: Vec<&Value> = results
        .values()
        .filter(|r| r["result"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    let failed_name = failed[0]["name"].as_str().unwrap().to_string();
    assert_eq!(failed[0]["error"]["code"], "InjectedMigrationFailure");
    assert_eq!(failed[0]["error"]["message"], "the control plane said no");

    let after = state(&cloud);
    for (_, name, kind, _) in &fleet {
        let row = &results[name];
        let aad = &after[name]["properties"]["aadProfile"];
        match kind {
            Kind::Legacy if *name == failed_name => {
                assert_eq!(after[name]["properties"]["provisioningState"], "Failed");
            }
            Kind::Legacy => {
                assert_eq!(row["result"], "migrated", "{row}");
                assert_eq!(aad["managed"], true, "{name}: {aad}");
                assert_eq!(
                    aad["adminGroupObjectIDs"],
                    json!([cloud.ready().admin_group_id, OTHER_GROUP])
                );
                assert_eq!(aad["tenantID"], NEW_TENANT);
                assert!(aad.get("serverAppID").is_none_or(Value::is_null), "{aad}");
                assert_eq!(after[name]["properties"]["provisioningState"], "Succeeded");
            }
            Kind::Managed => {
                assert_eq!(row["result"], "skipped");
                assert_eq!(row["reason"], "already managed");
                assert_eq!(
                    aad["adminGroupObjectIDs"],
                    json!([OTHER_GROUP]),
                    "untouched"
                );
            }
            Kind::LegacyWithoutRbac => {
                assert_eq!(row["result"], "skipped");
                assert!(
                    row["reason"]
                        .as_str()
                        .unwrap()
                        .contains("Kubernetes RBAC disabled")
                );
                assert_eq!(aad["serverAppID"], LEGACY_SERVER_APP, "untouched");
            }
        }
    }

    // Throttled writes were slowed down, not failed; every legacy cluster got exactly one accepted PUT.
    let requests = cloud.requests();
    let throttled = requests
        .iter()
        .filter(|r| r["method"] == "PUT" && r["status"] == 429)
        .count();
    assert!(throttled > 0, "the small bucket made ARM answer 429");
    let puts = accepted_puts(&cloud);
    assert_eq!(puts.len(), 30, "{puts:?}");
    assert!(puts.values().all(|count| *count == 1), "{puts:?}");
    for put in requests.iter().filter(|r| r["method"] == "PUT") {
        assert!(!put["body"].to_string().contains("serverApp"), "{put}");
    }

    // The secret appears nowhere; the journal records every cluster.
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    for text in [
        &String::from_utf8_lossy(&output.stdout).to_string(),
        &err,
        &journal_text,
    ] {
        assert!(!text.contains(LEGACY_SECRET));
        assert!(!text.contains("serverAppSecret"));
    }
    let lines = journal_lines(&journal);
    assert_eq!(lines[0]["type"], "run");
    assert_eq!(lines.iter().filter(|l| l["type"] == "plan").count(), 50);
    let finals = lines
        .iter()
        .filter(|l| {
            l["type"] == "state"
                && ["migrated", "skipped", "failed"].contains(&l["state"].as_str().unwrap())
        })
        .count();
    assert_eq!(finals, 50);
    // The run kept several clusters in flight at once and never more than --concurrency (how fast a fleet goes is
    // bench.sh's, not a wall-clock limit here): a cluster is in flight from its `putting` line to its last line.
    let (mut in_flight, mut most) = (std::collections::BTreeSet::new(), 0);
    for line in lines.iter().filter(|l| l["type"] == "state") {
        let id = line["id"].as_str().unwrap();
        match line["state"].as_str().unwrap() {
            "putting" | "accepted" => {
                in_flight.insert(id);
            }
            _ => {
                in_flight.remove(id);
            }
        }
        most = most.max(in_flight.len());
    }
    assert!(
        (2..=8).contains(&most),
        "at most {most} cluster(s) in flight"
    );
}

#[test]
fn a_killed_run_resumes_from_its_journal_without_migrating_twice() {
    let cloud = cloud();
    let mut fleet: Vec<(String, String, Kind, bool)> = (0..12)
        .map(|i| {
            (
                "fleet-a".to_string(),
                format!("k{i:02}"),
                Kind::Legacy,
                false,
            )
        })
        .collect();
    fleet.push(("fleet-b".into(), "m00".into(), Kind::Managed, false));
    seed(&cloud, &fleet);
    cloud.management(
        "PUT",
        "lro",
        Some(json!({"polls": 1, "retry_after_seconds": 1, "retry_after_ms": 50, "min_duration_ms": 1200})),
    );
    cloud.clear_requests();
    let journal = cloud.dir().join("killed.jsonl");
    let group = cloud.ready().admin_group_id.clone();

    let mut child = cloud
        .std_command()
        .args([
            "aks",
            "migrate",
            "--yes",
            "-o",
            "json",
            "--concurrency",
            "4",
            "--aad-admin-group-object-ids",
            &group,
            "--journal",
            journal.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("aksctl starts");
    // Kill it once some clusters are in flight (their PUT accepted, not finished).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lines = journal_lines(&journal);
        let accepted = lines.iter().filter(|l| l["state"] == "accepted").count();
        if accepted >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no cluster got in flight");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let before: Vec<Value> = journal_lines(&journal);
    let finished_before = before.iter().filter(|l| l["state"] == "migrated").count();
    assert!(finished_before < 12, "killed mid-way");

    let output = resume_migration(&cloud, &journal);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (&report["migrated"], &report["skipped"], &report["failed"]),
        (&json!(12), &json!(1), &json!(0)),
        "{report:#}"
    );
    let results = by_name(&report["clusters"]);
    assert_eq!(results["m00"]["reason"], "already managed");

    let after = state(&cloud);
    for (_, name, _, _) in fleet.iter().filter(|c| c.2 == Kind::Legacy) {
        let aad = &after[name]["properties"]["aadProfile"];
        assert_eq!(aad["managed"], true, "{name}");
        assert_eq!(aad["adminGroupObjectIDs"], json!([group]));
        assert_eq!(after[name]["properties"]["provisioningState"], "Succeeded");
    }
    let puts = accepted_puts(&cloud);
    assert_eq!(puts.len(), 12, "{puts:?}");
    assert!(
        puts.values().all(|count| *count == 1),
        "nothing migrated twice: {puts:?}"
    );
    let lines = journal_lines(&journal);
    assert!(lines.iter().any(|l| l["type"] == "resume"));
}

#[test]
fn a_running_operation_is_waited_for_and_ids_select_clusters() {
    let cloud = cloud();
    seed(
        &cloud,
        &[
            ("fleet-a".into(), "busy".into(), Kind::Legacy, true),
            ("fleet-b".into(), "other".into(), Kind::Legacy, true),
        ],
    );
    cloud.management(
        "PUT",
        "lro",
        Some(json!({"polls": 1, "retry_after_seconds": 1, "retry_after_ms": 50, "min_duration_ms": 1000})),
    );
    cloud.run_ok(&[
        "aks",
        "update",
        "-g",
        "fleet-a",
        "-n",
        "busy",
        "--tags",
        "owner=ops",
        "--no-wait",
    ]);
    let ids = cloud.dir().join("ids.txt");
    let id = format!(
        "/subscriptions/{}/resourceGroups/fleet-a/providers/Microsoft.ContainerService/managedClusters/busy",
        cloud.ready().subscription_id
    );
    std::fs::write(&ids, format!("# the busy one\n{id}\n")).unwrap();
    let group = cloud.ready().admin_group_id.clone();
    let report = cloud.run_json(&[
        "aks",
        "migrate",
        "--from-file",
        ids.to_str().unwrap(),
        "--aad-admin-group-object-ids",
        &group,
        "--yes",
        "-o",
        "json",
    ]);
    assert_eq!(report["migrated"], 1, "{report:#}");
    assert_eq!(
        report["clusters"].as_array().unwrap().len(),
        1,
        "only --from-file's cluster"
    );
    let journal = report["journal"].as_str().unwrap();
    assert!(
        Path::new(journal).starts_with(cloud.config_dir().join("migrations")),
        "{journal}"
    );

    let requests = cloud.requests();
    assert!(
        !requests.iter().any(|r| r["status"] == 409),
        "the migration waited for the update instead of conflicting with it"
    );
    assert_eq!(
        accepted_puts(&cloud)["busy"],
        2,
        "the update's PUT and the migration's"
    );
    let after = state(&cloud);
    assert_eq!(
        after["busy"]["tags"],
        json!({"owner": "ops"}),
        "read after the update finished"
    );
    assert_eq!(after["busy"]["properties"]["aadProfile"]["managed"], true);
    assert_eq!(
        after["other"]["properties"]["aadProfile"]["serverAppID"],
        LEGACY_SERVER_APP
    );
}

/// A legacy AAD cluster (Kubernetes RBAC on, Standard tier) with local accounts disabled.
fn hardened() -> Value {
    let mut body = body(Kind::Legacy, false);
    body["properties"]["disableLocalAccounts"] = json!(true);
    body
}

fn cluster_id(cloud: &TestCloud, group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{name}",
        cloud.ready().subscription_id
    )
}

/// Every cluster of the subscription as ARM lists it (`nextLink` followed), by name.
fn arm_clusters(cloud: &TestCloud) -> BTreeMap<String, Value> {
    let mut clusters = BTreeMap::new();
    let mut next = Some(format!(
        "/subscriptions/{}/providers/Microsoft.ContainerService/managedClusters?api-version=2026-08-01",
        cloud.ready().subscription_id
    ));
    while let Some(target) = next {
        let page = cloud.arm("GET", &target, None);
        assert_eq!(page.status, 200, "{}", page.body);
        for cluster in page.body["value"].as_array().unwrap() {
            clusters.insert(
                cluster["name"].as_str().unwrap().to_string(),
                cluster.clone(),
            );
        }
        next = page.body["nextLink"].as_str().map(str::to_string);
    }
    clusters
}

/// The groups with at least one member in the emulator's directory (service principals' and users' groups).
fn groups_with_members(cloud: &TestCloud) -> Vec<String> {
    let directory = &cloud.management("GET", "state", None)["directory"];
    let mut groups: Vec<String> = ["service_principals", "users"]
        .iter()
        .flat_map(|kind| directory[*kind].as_array().cloned().unwrap_or_default())
        .flat_map(|principal| principal["groups"].as_array().cloned().unwrap_or_default())
        .filter_map(|group| group.as_str().map(str::to_ascii_lowercase))
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

/// Whether an ARM cluster lacks an admin path (docs/lockout.md): on AKS-managed Entra integration, local accounts
/// disabled and no admin group with a member (a migration does not enable Azure RBAC). A legacy AAD cluster is not
/// judged by this rule: it keeps the access it had (the held-back ones are also compared with their state before).
fn locked_out(cluster: &Value, populated: &[String]) -> bool {
    let properties = &cluster["properties"];
    properties["aadProfile"]["managed"] == true
        && properties["disableLocalAccounts"] == true
        && !properties["aadProfile"]["adminGroupObjectIDs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|group| populated.contains(&group.to_ascii_lowercase()))
}

fn count_requests(requests: &[Value], method: &str, path_end: &str) -> usize {
    requests
        .iter()
        .filter(|r| {
            r["method"] == method && r["path"].as_str().unwrap_or_default().ends_with(path_end)
        })
        .count()
}

#[test]
fn a_wave_of_500_with_empty_admin_groups_ends_with_no_cluster_locked_out() {
    let cloud = cloud();
    // Operations finish at their first status poll.
    cloud.management(
        "PUT",
        "lro",
        Some(json!({"polls": 0, "retry_after_seconds": 1, "retry_after_ms": 1})),
    );
    let caller = object_id(&cloud, &cloud.ready().client_id);
    let other = object_id(&cloud, &cloud.ready().nonadmin_client_id);
    // ops (100 clusters): the caller is a member; apps (350): only someone else; two empty groups (50).
    let ops = group_with(&cloud, "wave-ops", &[&caller]);
    let apps = group_with(&cloud, "wave-apps", &[&other]);
    let empty = [
        group_with(&cloud, "wave-empty-1", &[]),
        group_with(&cloud, "wave-empty-2", &[]),
    ];
    let group_of = |i: usize| -> &str {
        match i {
            _ if i % 10 == 7 => &empty[(i / 10) % 2],
            _ if i.is_multiple_of(5) => &ops,
            _ => &apps,
        }
    };
    let names: Vec<(String, String)> = (0..500)
        .map(|i| {
            (
                if i % 2 == 0 { "fleet-a" } else { "fleet-b" }.to_string(),
                format!("w{i:03}"),
            )
        })
        .collect();
    let bodies: Vec<(String, String, Value)> = names
        .iter()
        .map(|(group, name)| (group.clone(), name.clone(), hardened()))
        .collect();
    seed_bodies(&cloud, &bodies);
    let wave: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, (group, name))| {
            json!({"id": cluster_id(&cloud, group, name), "adminGroupObjectIds": [group_of(i)]})
        })
        .collect();
    let file = cloud.dir().join("wave.json");
    std::fs::write(&file, serde_json::to_string(&wave).unwrap()).unwrap();
    let from_file = [
        "aks",
        "migrate",
        "--from-file",
        file.to_str().unwrap(),
        "-o",
        "json",
    ];

    // The plan: the 50 clusters of the empty groups are held back, with the reason; nothing is written.
    cloud.clear_requests();
    let planned = cloud
        .command()
        .args(from_file)
        .arg("--dry-run")
        .output()
        .unwrap();
    let err = stderr(&planned);
    assert!(planned.status.success(), "{err}");
    assert!(
        err.contains("50 cluster(s) are held back: they would have no admin path after migration"),
        "{err}"
    );
    let plan = by_name(&serde_json::from_slice(&planned.stdout).unwrap());
    assert_eq!(plan.len(), 500);
    for (i, (_, name)) in names.iter().enumerate() {
        let row = &plan[name];
        assert_eq!(row["adminGroupObjectIds"], json!([group_of(i)]), "{row}");
        if i % 10 == 7 {
            assert_eq!(row["action"], "skip", "{row}");
            let reason = row["reason"].as_str().unwrap();
            assert!(
                reason.starts_with(&format!(
                    "no admin path after migration: local accounts disabled; admin group '{}' has no members",
                    group_of(i)
                )),
                "{reason}"
            );
            assert!(reason.contains("--allow-lockout"), "{reason}");
        } else {
            assert_eq!(row["action"], "migrate", "{row}");
        }
    }
    let requests = cloud.requests();
    assert_only_reads(&requests);
    assert_eq!(
        count_requests(&requests, "GET", "/members"),
        4,
        "each admin group read once"
    );

    // The run.
    let before = arm_clusters(&cloud);
    cloud.clear_requests();
    let started = Instant::now();
    let output = cloud
        .command()
        .args(from_file)
        .args(["--yes", "--concurrency", "25"])
        .timeout(Duration::from_secs(240))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let err = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "held-back clusters are not failures: {err}"
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let verified = (0..500).filter(|i| group_of(*i) == ops).count();
    let not_member = (0..500).filter(|i| group_of(*i) == apps).count();
    assert_eq!(verified + not_member, 450);
    assert_eq!(
        (
            &report["migrated"],
            &report["skipped"],
            &report["failed"],
            &report["heldBack"]
        ),
        (&json!(450), &json!(50), &json!(0), &json!(50)),
        "{report:#}"
    );
    assert_eq!(
        report["adminAccess"],
        json!({"verified": verified, "notVerified": not_member, "failed": 0})
    );
    let results = by_name(&report["clusters"]);
    for (i, (_, name)) in names.iter().enumerate() {
        let row = &results[name];
        match group_of(i) {
            group if group == ops => {
                assert_eq!(
                    (&row["result"], &row["adminAccess"]),
                    (&json!("migrated"), &json!("verified")),
                    "{row}"
                );
                assert!(row.get("adminAccessDetail").is_none(), "{row}");
            }
            group if group == apps => {
                assert_eq!(row["adminAccess"], "not-verified", "{row}");
                assert_eq!(
                    row["adminAccessDetail"],
                    "caller is not a member of the admin group"
                );
            }
            _ => {
                assert_eq!(row["result"], "skipped", "{row}");
                assert!(
                    row["reason"].as_str().unwrap().contains("has no members"),
                    "{row}"
                );
                assert!(row.get("adminAccess").is_none(), "{row}");
            }
        }
    }

    // ARM's view: no cluster lacks an admin path; the held-back ones are untouched legacy clusters.
    let populated = groups_with_members(&cloud);
    let after = arm_clusters(&cloud);
    assert_eq!(after.len(), 500);
    let lacking: Vec<&String> = after
        .iter()
        .filter(|(_, cluster)| locked_out(cluster, &populated))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        lacking,
        Vec::<&String>::new(),
        "clusters without an admin path"
    );
    for (i, (_, name)) in names.iter().enumerate() {
        let aad = &after[name]["properties"]["aadProfile"];
        if i % 10 == 7 {
            assert_eq!(after[name], before[name], "{name} untouched");
            assert_eq!(aad["serverAppID"], LEGACY_SERVER_APP, "{name}: {aad}");
        } else {
            assert_eq!(aad["managed"], true, "{name}: {aad}");
            assert_eq!(aad["adminGroupObjectIDs"], json!([group_of(i)]), "{name}");
        }
    }

    // The API server was asked once per cluster whose admin group holds the caller; each group read once.
    let requests = cloud.requests();
    let reviews: Vec<&Value> = requests
        .iter()
        .filter(|r| {
            r["server"] == "kubernetes"
                && r["path"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("/selfsubjectaccessreviews")
        })
        .collect();
    assert_eq!(reviews.len(), verified);
    assert!(reviews.iter().all(|r| r["status"] == 201), "{reviews:?}");
    assert!(
        reviews
            .iter()
            .all(|r| r["body"]["spec"]["resourceAttributes"]["verb"] == "*"
                && r["body"]["spec"]["resourceAttributes"]["resource"] == "*"),
        "{:?}",
        reviews.first()
    );
    assert_eq!(
        count_requests(&requests, "GET", "/members"),
        4,
        "each admin group read once"
    );
    assert_eq!(accepted_puts(&cloud).len(), 450);
    assert!(elapsed < Duration::from_secs(150), "took {elapsed:?}");
}

#[test]
fn allow_lockout_migrates_held_back_clusters_and_admin_access_is_never_pretended() {
    let cloud = cloud();
    let caller = object_id(&cloud, &cloud.ready().client_id);
    let ops = group_with(&cloud, "ops", &[&caller]);
    let empty = group_with(&cloud, "empty", &[]);
    let gone = "0f0f0f0f-1111-2222-3333-444444444444";
    let clusters = [
        ("h-empty", empty.as_str()),
        ("h-gone", gone),
        ("h-ok", ops.as_str()),
        ("h-down", ops.as_str()),
    ];
    let bodies: Vec<(String, String, Value)> = clusters
        .iter()
        .map(|(name, _)| ("fleet-a".to_string(), name.to_string(), hardened()))
        .collect();
    seed_bodies(&cloud, &bodies);
    let wave: Vec<Value> = clusters
        .iter()
        .map(|(name, group)| json!({"id": cluster_id(&cloud, "fleet-a", name), "adminGroupObjectIds": group}))
        .collect();
    let file = cloud.dir().join("wave.json");
    std::fs::write(&file, serde_json::to_string(&wave).unwrap()).unwrap();
    let from_file = ["aks", "migrate", "--from-file", file.to_str().unwrap()];

    // The table plan shows the skip and what is missing.
    let table = cloud.run_ok(&[&from_file[..], &["--dry-run"]].concat());
    let row_of = |name: &str| {
        table
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap()
            .to_string()
    };
    assert!(row_of("h-empty").contains("skip"), "{table}");
    assert!(
        row_of("h-empty").contains(&format!("admin group '{empty}' has no members")),
        "{table}"
    );
    assert!(
        row_of("h-gone").contains(&format!("admin group '{gone}' does not exist")),
        "{table}"
    );
    assert!(row_of("h-ok").contains("migrate"), "{table}");

    // --allow-lockout: migrated anyway, and the plan says so.
    let plan = cloud.run_json(
        &[
            &from_file[..],
            &["--dry-run", "--allow-lockout", "-o", "json"],
        ]
        .concat(),
    );
    let plan = by_name(&plan);
    for name in ["h-empty", "h-gone"] {
        assert_eq!(plan[name]["action"], "migrate", "{}", plan[name]);
        let warnings = plan[name]["warnings"].to_string();
        assert!(
            warnings.contains("no admin path after migration"),
            "{warnings}"
        );
        assert!(
            warnings.contains("migrated anyway (--allow-lockout)"),
            "{warnings}"
        );
    }

    // The API server of h-down is out: its admin access cannot be verified, and the report says why.
    cloud.management(
        "PUT",
        "clusters/fleet-a/h-down/api-server",
        Some(json!({"available": false})),
    );
    let output = cloud.run(&[&from_file[..], &["--allow-lockout", "--yes", "-o", "json"]].concat());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (&report["migrated"], &report["heldBack"]),
        (&json!(4), &json!(0)),
        "{report:#}"
    );
    let results = by_name(&report["clusters"]);
    assert_eq!(results["h-ok"]["adminAccess"], "verified");
    for name in ["h-empty", "h-gone"] {
        assert_eq!(results[name]["adminAccess"], "not-verified");
        assert_eq!(
            results[name]["adminAccessDetail"],
            "caller is not a member of the admin group"
        );
    }
    assert_eq!(results["h-down"]["adminAccess"], "not-verified");
    let detail = results["h-down"]["adminAccessDetail"].as_str().unwrap();
    assert!(
        detail.contains("did not answer a SelfSubjectAccessReview") && detail.contains("503"),
        "{detail}"
    );
    let after = arm_clusters(&cloud);
    for (name, group) in clusters {
        let aad = &after[name]["properties"]["aadProfile"];
        assert_eq!(
            (&aad["managed"], &aad["adminGroupObjectIDs"]),
            (&json!(true), &json!([group])),
            "{name}"
        );
    }
}

/// `aks migrate --resume JOURNAL --yes -o json`: the process's output.
fn resume_migration(cloud: &TestCloud, journal: &Path) -> std::process::Output {
    cloud.run(&[
        "aks",
        "migrate",
        "--resume",
        journal.to_str().unwrap(),
        "--yes",
        "-o",
        "json",
    ])
}

/// `aks migrate` of cluster `name` in fleet-a to admin group `group`, journaled to `journal`; the JSON report.
fn migrate_journaled(cloud: &TestCloud, name: &str, group: &str, journal: &Path) -> Value {
    cloud.run_json(&[
        "aks",
        "migrate",
        "--ids",
        &cluster_id(cloud, "fleet-a", name),
        "--aad-admin-group-object-ids",
        group,
        "--journal",
        journal.to_str().unwrap(),
        "--yes",
        "-o",
        "json",
    ])
}

/// A cluster finished before `--resume` keeps the admin access verdict its run journaled: the resumed report says
/// it without asking the API server again, and a journal from before the verdict was kept reports none.
#[test]
fn a_resumed_run_reports_the_journaled_admin_access_without_asking_again() {
    let cloud = cloud();
    let caller = object_id(&cloud, &cloud.ready().client_id);
    let ops = group_with(&cloud, "ops", &[&caller]);
    seed_bodies(
        &cloud,
        &[("fleet-a".to_string(), "v-1".to_string(), hardened())],
    );
    let journal = cloud.dir().join("verified.jsonl");
    let first = migrate_journaled(&cloud, "v-1", &ops, &journal);
    assert_eq!(first["clusters"][0]["adminAccess"], "verified", "{first:#}");
    let migrated = journal_lines(&journal)
        .into_iter()
        .find(|line| line["state"] == "migrated")
        .expect("a migrated line");
    assert_eq!(migrated["adminAccess"], "verified", "{migrated}");

    let resume = |path: &Path| {
        cloud.clear_requests();
        let output = resume_migration(&cloud, path);
        assert!(output.status.success(), "{}", stderr(&output));
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let reviews = cloud
            .requests()
            .iter()
            .filter(|r| r["server"] == "kubernetes")
            .count();
        (report, reviews)
    };
    let (report, reviews) = resume(&journal);
    assert_eq!(report["migrated"], 1, "{report:#}");
    assert_eq!(
        report["clusters"][0]["adminAccess"], "verified",
        "{report:#}"
    );
    assert_eq!(reviews, 0, "the API server is not asked again");

    // A journal written before verdicts were kept: the resumed report claims nothing.
    let older = cloud.dir().join("older.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    std::fs::write(&older, text.replace(r#","adminAccess":"verified""#, "")).unwrap();
    let (report, reviews) = resume(&older);
    assert_eq!(report["migrated"], 1, "{report:#}");
    assert!(
        report["clusters"][0].get("adminAccess").is_none(),
        "{report:#}"
    );
    assert_eq!(reviews, 0);
}

#[test]
fn a_resumed_run_checks_again_before_its_put() {
    let cloud = cloud();
    let caller = object_id(&cloud, &cloud.ready().client_id);
    let ops = group_with(&cloud, "ops", &[&caller]);
    let bodies: Vec<(String, String, Value)> = ["r-1", "r-2"]
        .iter()
        .map(|name| ("fleet-a".to_string(), name.to_string(), hardened()))
        .collect();
    seed_bodies(&cloud, &bodies);
    let journal = cloud.dir().join("first.jsonl");
    let first = migrate_journaled(&cloud, "r-1", &ops, &journal);
    assert_eq!(first["migrated"], 1, "{first:#}");
    assert_eq!(first["clusters"][0]["adminAccess"], "verified");

    // A run interrupted before r-2's PUT: the first run's header and r-2 planned as r-1 was (ops had a member).
    let lines: Vec<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let plan_line = lines
        .iter()
        .find(|line| line.contains(r#""type":"plan""#))
        .unwrap();
    assert!(plan_line.contains(r#""action":"migrate""#), "{plan_line}");
    let interrupted = cloud.dir().join("interrupted.jsonl");
    std::fs::write(
        &interrupted,
        format!("{}\n{}\n", lines[0], plan_line.replace("r-1", "r-2")),
    )
    .unwrap();

    // The group is deleted meanwhile: the worker's check holds r-2 back, and no PUT is sent.
    cloud.run_ok(&["ad", "group", "delete", "-g", &ops]);
    cloud.clear_requests();
    let output = resume_migration(&cloud, &interrupted);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (&report["migrated"], &report["skipped"], &report["heldBack"]),
        (&json!(0), &json!(1), &json!(1)),
        "{report:#}"
    );
    let reason = report["clusters"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "no admin path after migration: local accounts disabled; admin group '{ops}' does not exist"
        )),
        "{reason}"
    );
    assert!(accepted_puts(&cloud).is_empty(), "no PUT");
    let after = arm_clusters(&cloud);
    assert_eq!(
        after["r-2"]["properties"]["aadProfile"]["serverAppID"],
        LEGACY_SERVER_APP
    );
    let last = journal_lines(&interrupted).pop().unwrap();
    assert_eq!(
        (&last["state"], &last["reason"]),
        (&json!("skipped"), &json!(reason))
    );
}

/// A dry run sends nothing to ARM but reads.
fn assert_only_reads(requests: &[Value]) {
    assert!(
        requests
            .iter()
            .filter(|r| r["path"]
                .as_str()
                .unwrap_or_default()
                .starts_with("/subscriptions"))
            .all(|r| r["method"] == "GET"),
        "a dry run only reads"
    );
}
