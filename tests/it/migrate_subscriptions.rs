//! `aksctl aks migrate` over three subscriptions, each with its own write budget: every subscription runs its own
//! `--concurrency` clusters from the start (none waits behind another's queue), and every cluster is migrated
//! exactly once; a subscription ARM does not know stops the run before any write. The speed of a 5,000-cluster
//! fleet is measured by `scripts/bench.sh`, not here.

use std::collections::BTreeMap;

use aks_emulator::SUBSCRIPTION_ID;
use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::cloud;

const OTHERS: [&str; 2] = [
    "00000000-0000-0000-0000-0000000000b1",
    "00000000-0000-0000-0000-0000000000b2",
];
const CLUSTERS_PER_SUBSCRIPTION: usize = 4;

fn legacy(tenant: &str) -> Value {
    json!({
        "location": "eastus",
        "sku": {"name": "Base", "tier": "Standard"},
        "properties": {
            "kubernetesVersion": "1.32", "enableRBAC": true, "dnsPrefix": "legacy",
            "aadProfile": {"clientAppID": "11111111-2222-3333-4444-000000000002",
                           "serverAppID": "11111111-2222-3333-4444-000000000001",
                           "serverAppSecret": "legacy-secret", "tenantID": tenant},
            "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "mode": "System"}]
        }
    })
}

/// The subscription of a resource path or id (lower case).
fn subscription_of(path: &str) -> String {
    path.split('/')
        .nth(2)
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Seed the `extra` subscriptions, and in each of `fleets` a group `fleet` with `count` legacy clusters `c0`, `c1`, ….
fn seed_fleets(cloud: &TestCloud, extra: &[&str], fleets: &[impl AsRef<str>], count: usize) {
    let tenant = cloud.ready().tenant_id.clone();
    let mut clusters = Vec::new();
    let mut groups = Vec::new();
    for subscription in fleets.iter().map(AsRef::as_ref) {
        groups.push(json!({"subscription": subscription, "name": "fleet", "location": "eastus"}));
        clusters.extend((0..count).map(|index| {
            json!({"subscription": subscription, "resource_group": "fleet", "name": format!("c{index}"),
                   "body": legacy(&tenant)})
        }));
    }
    cloud.management(
        "POST",
        "seed",
        Some(json!({"subscriptions": extra, "resource_groups": groups, "clusters": clusters})),
    );
}

/// `aks migrate` of the group `fleet` in each of `subscriptions`, without asking, reporting JSON.
fn migrate_fleets<'a>(group: &'a str, subscriptions: &'a [impl AsRef<str>]) -> Vec<&'a str> {
    let mut args = vec![
        "aks",
        "migrate",
        "-g",
        "fleet",
        "--aad-admin-group-object-ids",
        group,
    ];
    for subscription in subscriptions {
        args.extend(["--subscription", subscription.as_ref()]);
    }
    args.extend(["--yes", "-o", "json"]);
    args
}

#[test]
fn each_subscription_runs_its_own_clusters_at_once_and_none_is_lost_or_migrated_twice() {
    let cloud = cloud();
    let subscriptions: Vec<String> = std::iter::once(SUBSCRIPTION_ID)
        .chain(OTHERS)
        .map(str::to_ascii_lowercase)
        .collect();
    // The same group and cluster names in every subscription: each subscription keeps its own.
    seed_fleets(&cloud, &OTHERS, &subscriptions, CLUSTERS_PER_SUBSCRIPTION);
    // A write budget of 2 per subscription (refilled 2 a second), and operations long enough that a subscription's
    // third cluster cannot start before its first two have run for half a second.
    cloud.management(
        "PUT",
        "throttle",
        Some(json!({"enabled": true, "capacity": 2, "refill_per_second": 2.0})),
    );
    cloud.management(
        "PUT",
        "lro",
        Some(json!({"polls": 0, "retry_after_seconds": 1, "retry_after_ms": 100, "min_duration_ms": 500})),
    );
    cloud.clear_requests();

    let group = cloud.ready().admin_group_id.clone();
    let mut args = migrate_fleets(&group, &subscriptions);
    args.extend(["--concurrency", "2"]);
    let report = cloud.run_json(&args);
    let rows = report["clusters"].as_array().unwrap();
    assert_eq!(rows.len(), 12, "{report:#}");
    assert!(
        rows.iter().all(|row| row["result"] == "migrated"),
        "{report:#}"
    );

    // The emulator's state: every cluster of every subscription is managed now.
    let state = cloud.management("GET", "state", None);
    let mut managed: BTreeMap<String, usize> = BTreeMap::new();
    for cluster in state["clusters"].as_array().unwrap() {
        let id = cluster["body"]["id"].as_str().unwrap();
        assert_eq!(
            cluster["body"]["properties"]["aadProfile"]["managed"], true,
            "{id}"
        );
        *managed.entry(subscription_of(id)).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = subscriptions
        .iter()
        .map(|s| (s.clone(), CLUSTERS_PER_SUBSCRIPTION))
        .collect();
    assert_eq!(managed, expected);

    // One accepted PUT per cluster (none lost, none twice), and the first six went two to each subscription: the
    // subscriptions started together, each up to its own --concurrency.
    let puts: Vec<String> = cloud
        .requests()
        .iter()
        .filter(|r| {
            r["method"] == "PUT"
                && (200..300).contains(&r["status"].as_u64().unwrap_or_default())
                && r["path"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("/managedClusters/")
        })
        .map(|r| r["path"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    let mut per_cluster: BTreeMap<&str, usize> = BTreeMap::new();
    for path in &puts {
        *per_cluster.entry(path).or_default() += 1;
    }
    assert_eq!(per_cluster.len(), 12, "{puts:#?}");
    assert!(per_cluster.values().all(|count| *count == 1), "{puts:#?}");
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    for path in &puts[..6] {
        *first.entry(subscription_of(path)).or_default() += 1;
    }
    let two_each: BTreeMap<String, usize> = subscriptions.iter().map(|s| (s.clone(), 2)).collect();
    assert_eq!(first, two_each, "{puts:#?}");
}

/// The subscriptions are listed side by side while planning; one ARM does not know fails the run with ARM's
/// message before anything is written, and the clusters of the others stay as they were.
#[test]
fn a_subscription_arm_does_not_know_fails_the_plan_before_any_write() {
    let cloud = cloud();
    seed_fleets(&cloud, &OTHERS[..1], &[SUBSCRIPTION_ID, OTHERS[0]], 2);
    cloud.clear_requests();

    let unknown = "00000000-0000-0000-0000-0000000000ff";
    let group = cloud.ready().admin_group_id.clone();
    let output = cloud.run(&migrate_fleets(
        &group,
        &[SUBSCRIPTION_ID, unknown, OTHERS[0]],
    ));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // az's exit code for what ARM does not find (docs/az-behaviour.md).
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("The subscription '{unknown}' could not be found.")),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no report without a plan");
    let writes: Vec<Value> = cloud
        .requests()
        .into_iter()
        .filter(|r| ["PUT", "PATCH", "DELETE"].contains(&r["method"].as_str().unwrap_or_default()))
        .collect();
    assert!(writes.is_empty(), "{writes:#?}");
    let state = cloud.management("GET", "state", None);
    for cluster in state["clusters"].as_array().unwrap() {
        let aad = &cluster["body"]["properties"]["aadProfile"];
        assert_ne!(aad["managed"], true, "{cluster:#}");
    }
}
