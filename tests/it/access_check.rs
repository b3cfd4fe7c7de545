//! `aksctl aks access check`: the admin reaches the cluster, the non-admin service principal is told which role
//! it lacks, `--wait` outlasts a role assignment's propagation delay, a malformed duration is a usage error.

use std::process::Output;

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::kubelogin::kubectl;
use crate::{assert_output_snapshot, cloud, create_aad_cluster, stderr};

/// The seeded non-admin service principal's object id.
const NONADMIN_OBJECT_ID: &str = "1b1b1b1b-1111-2222-3333-555555555555";
/// The seeded admin service principal's object id.
const ADMIN_OBJECT_ID: &str = "1a1a1a1a-1111-2222-3333-444444444444";
/// The object ids the snapshots show by name.
const KNOWN_IDS: &[(&str, &str)] = &[
    (ADMIN_OBJECT_ID, "admin-object-id"),
    (NONADMIN_OBJECT_ID, "nonadmin-object-id"),
];
/// "Azure Kubernetes Service Cluster User Role".
const CLUSTER_USER_ROLE: &str = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f";
/// "Azure Kubernetes Service RBAC Cluster Admin".
const RBAC_CLUSTER_ADMIN: &str = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b";

/// `aksctl aks access check -g rg1 -n c1`, not yet run.
fn check_command(cloud: &TestCloud) -> std::process::Command {
    let mut command = cloud.std_command();
    command.args(["aks", "access", "check", "-g", "rg1", "-n", "c1"]);
    command
}

/// The check as the seeded admin.
fn check(cloud: &TestCloud, extra: &[&str]) -> Output {
    check_command(cloud).args(extra).output().unwrap()
}

/// The check as the seeded non-admin service principal, `-o json`.
fn check_as_nonadmin(cloud: &TestCloud, extra: &[&str]) -> Output {
    let ready = cloud.ready();
    check_command(cloud)
        .env("AZURE_CLIENT_ID", &ready.nonadmin_client_id)
        .env("AZURE_CLIENT_SECRET", &ready.nonadmin_client_secret)
        .args(["-o", "json"])
        .args(extra)
        .output()
        .unwrap()
}

fn report(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}\n{}", stderr(output)))
}

fn cluster_id(cloud: &TestCloud) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1",
        cloud.ready().subscription_id
    )
}

/// The seeded admin assigns `role` (a built-in role's GUID) to the non-admin service principal on the cluster.
fn assign_to_nonadmin(cloud: &TestCloud, role: &str) {
    let id = cluster_id(cloud);
    let answer = cloud.arm(
        "PUT",
        &format!("{id}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01", uuid_for(role)),
        Some(json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}", cloud.ready().subscription_id),
            "principalId": NONADMIN_OBJECT_ID,
            "principalType": "ServicePrincipal",
        }})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
}

/// A role assignment name per role: the role's GUID with its first block replaced.
fn uuid_for(role: &str) -> String {
    format!("5d2a1f7e{}", &role[8..])
}

#[test]
fn the_admin_reaches_the_cluster_with_everything_allowed() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    let output = check(&cloud, &["--namespace", "dev", "-o", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Who it is, the Azure actions, the cluster's settings and each Kubernetes check (pods and services: 4 verbs,
    // cluster-wide and in dev; nodes: get and list cluster-wide), all allowed.
    let text = String::from_utf8(output.stdout).unwrap();
    assert_output_snapshot!(&cloud, "access-check-admin-json", text, KNOWN_IDS);
}

#[test]
fn a_principal_without_a_role_is_told_which_role_grants_access() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    let output = check_as_nonadmin(&cloud, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = report(&output);
    // It may not read the cluster, so its settings are unknown (`localAccounts: null`); in no group, it is in no
    // admin group; no Kubernetes check runs without a credential.
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert_output_snapshot!(&cloud, "access-check-nonadmin-json", text, KNOWN_IDS);
    let id = cluster_id(&cloud);
    assert_eq!(
        stderr(&output),
        format!(
            "ERROR: '{app}' ({NONADMIN_OBJECT_ID}) may not list the cluster user credential: no role grants 'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action' over '{id}'.\n\
             To fix it: aksctl role assignment create --assignee {NONADMIN_OBJECT_ID} --role \"Azure Kubernetes Service Cluster User Role\" --scope {id}\n",
            app = report["identity"]["name"].as_str().unwrap(),
        )
    );
}

#[test]
fn wait_outlasts_the_propagation_of_a_new_role_assignment() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    cloud.run_json(&[
        "aks",
        "create",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--enable-aad",
        "--enable-azure-rbac",
        "--aad-admin-group-object-ids",
        &cloud.ready().admin_group_id,
        "--no-ssh-key",
    ]);
    cloud.management(
        "PUT",
        "authorization",
        Some(json!({"propagationDelaySeconds": 3})),
    );
    assign_to_nonadmin(&cloud, RBAC_CLUSTER_ADMIN);

    // Not yet: the assignment has not propagated.
    let early = check_as_nonadmin(&cloud, &[]);
    assert_eq!(early.status.code(), Some(1), "{}", stderr(&early));
    assert_eq!(report(&early)["azure"]["listClusterUserCredential"], false);

    let waited = check_as_nonadmin(&cloud, &["--wait", "40s"]);
    assert_eq!(waited.status.code(), Some(0), "{}", stderr(&waited));
    let report = report(&waited);
    assert_eq!(
        report["azure"],
        json!({"listClusterUserCredential": true, "listClusterAdminCredential": false})
    );
    assert_eq!(report["adminGroup"], false);
    let kubernetes = report["kubernetes"].as_array().unwrap();
    assert!(
        kubernetes.iter().all(|check| check["allowed"] == true),
        "{kubernetes:?}"
    );
    // stderr is not a terminal: no progress line.
    assert_eq!(stderr(&waited), "");
}

#[test]
fn a_malformed_wait_is_a_usage_error_naming_the_value() {
    let cloud = cloud();
    let output = check(&cloud, &["--wait", "2 minutes"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "ERROR: argument --wait: invalid duration '2 minutes': use a number with a unit, e.g. 90s, 2m or 1h\n"
    );
    assert!(cloud.requests().iter().all(|request| {
        !request["path"]
            .as_str()
            .unwrap_or_default()
            .contains("managedClusters")
    }));
}

#[test]
fn the_kubernetes_fix_is_a_rolebinding_that_kubectl_creates_and_that_works() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    assign_to_nonadmin(&cloud, CLUSTER_USER_ROLE);
    let denied = check_as_nonadmin(&cloud, &[]);
    assert_eq!(denied.status.code(), Some(1), "{}", stderr(&denied));
    let first = report(&denied);
    assert_eq!(
        first["azure"],
        json!({"listClusterUserCredential": true, "listClusterAdminCredential": false})
    );
    assert_eq!(first["localAccounts"], true);
    assert_eq!(first["adminGroup"], false);
    let kubernetes = first["kubernetes"].as_array().unwrap();
    assert_eq!(kubernetes.len(), 18);
    assert!(
        kubernetes.iter().all(|check| check["allowed"] == false),
        "{kubernetes:?}"
    );
    let text = stderr(&denied);
    let fix = format!(
        "kubectl create rolebinding 1b1b1b1b-view --clusterrole=view --user={NONADMIN_OBJECT_ID} --namespace default"
    );
    assert!(text.ends_with(&format!("\nTo fix it: {fix}\n")), "{text}");

    // The admin runs the fix with real kubectl and the admin kubeconfig (server 127.0.0.1).
    let admin_kubeconfig = cloud.dir().join("admin.kubeconfig");
    cloud.run_ok(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--admin",
        "--file",
        admin_kubeconfig.to_str().unwrap(),
    ]);
    let mut command = kubectl(&cloud, &admin_kubeconfig);
    command.args(fix.split(' ').skip(1));
    let output = command.output().unwrap();
    assert!(output.status.success(), "kubectl: {}", stderr(&output));

    let allowed = check_as_nonadmin(&cloud, &[]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
    let kubernetes = report(&allowed)["kubernetes"].as_array().unwrap().clone();
    let answer = |verb: &str, resource: &str, namespace: Value| {
        kubernetes
            .iter()
            .find(|c| c["verb"] == verb && c["resource"] == resource && c["namespace"] == namespace)
            .unwrap()["allowed"]
            .clone()
    };
    assert_eq!(answer("list", "pods", json!("default")), true);
    assert_eq!(answer("get", "services", json!("default")), true);
    assert_eq!(answer("create", "pods", json!("default")), false);
    assert_eq!(answer("list", "pods", Value::Null), false);
    assert_eq!(answer("list", "nodes", Value::Null), false);
}
