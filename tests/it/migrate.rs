//! `aksctl aks migrate`: a 50-cluster fleet (legacy, managed and RBAC-disabled legacy clusters in two groups,
//! listed in pages) with ARM write throttling and a failing operation; and a run killed with SIGKILL, then
//! resumed from its journal without migrating any cluster twice.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::{assert_output_snapshot, cloud, stderr};

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
    let groups: Vec<Value> = ["fleet-a", "fleet-b"]
        .iter()
        .map(|name| json!({"name": name, "location": "eastus"}))
        .collect();
    let clusters: Vec<Value> = clusters
        .iter()
        .map(|(group, name, kind, free)| {
            json!({"resource_group": group, "name": name, "body": body(*kind, *free)})
        })
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

    let output = cloud.run(&[
        "aks",
        "migrate",
        "--resume",
        journal.to_str().unwrap(),
        "--yes",
        "-o",
        "json",
    ]);
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
