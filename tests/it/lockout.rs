//! Lockout-proof `aks update` (docs/lockout.md): a change that would leave a cluster without an admin path stops
//! with an explanation, exit 1 and nothing written, unless `--yes`.

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::{cloud, object_id, stderr};

/// "Azure Kubernetes Service RBAC Cluster Admin" (built-in role definition name).
const RBAC_CLUSTER_ADMIN: &str = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b";

fn create_cluster(cloud: &TestCloud, name: &str, flags: &[&str]) {
    let mut args = vec!["aks", "create", "-g", "rg1", "-n", name, "--no-ssh-key"];
    args.extend_from_slice(flags);
    cloud.run_json(&args);
}

/// A security group created through Graph (`ad group create`); its object id.
pub(crate) fn create_group(cloud: &TestCloud, name: &str) -> String {
    let created = cloud.run_json(&[
        "ad",
        "group",
        "create",
        "--display-name",
        name,
        "--mail-nickname",
        name,
    ]);
    created["id"].as_str().unwrap().to_string()
}

/// A directory group with `members` (object ids) added through Graph (`ad group member add`).
pub(crate) fn group_with(cloud: &TestCloud, name: &str, members: &[&str]) -> String {
    let id = create_group(cloud, name);
    for member in members {
        cloud.run_ok(&[
            "ad",
            "group",
            "member",
            "add",
            "-g",
            &id,
            "--member-id",
            member,
        ]);
    }
    id
}

/// The cluster as ARM's GET answers it.
fn get(cloud: &TestCloud, name: &str) -> Value {
    let ready = cloud.ready();
    let answer = cloud.arm(
        "GET",
        &format!(
            "/subscriptions/{}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/{name}?api-version=2026-08-01",
            ready.subscription_id
        ),
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

fn puts(cloud: &TestCloud) -> usize {
    cloud
        .requests()
        .iter()
        .filter(|r| r["method"] == "PUT")
        .count()
}

fn update(cloud: &TestCloud, name: &str, flags: &[&str]) -> std::process::Output {
    let mut args = vec!["aks", "update", "-g", "rg1", "-n", name];
    args.extend_from_slice(flags);
    cloud.run(&args)
}

/// `update` refused: exit 1, the explanation naming `missing`, no PUT, the cluster as it was.
fn assert_refused(cloud: &TestCloud, name: &str, flags: &[&str], missing: &[&str]) {
    let before = get(cloud, name);
    cloud.clear_requests();
    let output = update(cloud, name, flags);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{flags:?}: {err}");
    assert!(
        err.contains(&format!(
            "This change would leave cluster '{name}' without an admin path:"
        )),
        "{err}"
    );
    for part in missing {
        assert!(err.contains(part), "{part:?} in {err}");
    }
    assert!(
        err.contains("Nothing was changed; pass --yes to make the change anyway."),
        "{err}"
    );
    assert_eq!(
        err.matches("without an admin path").count(),
        1,
        "explained once: {err}"
    );
    assert_eq!(output.stdout, b"", "nothing printed on stdout");
    assert_eq!(puts(cloud), 0, "no PUT for {flags:?}");
    assert_eq!(get(cloud, name), before, "cluster unchanged by {flags:?}");
}

fn assert_updated(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn enabling_aad_with_an_empty_admin_group_stops_unless_yes() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    create_cluster(&cloud, "c1", &[]);
    let empty = create_group(&cloud, "empty-admins");
    let flags = [
        "--enable-aad",
        "--aad-admin-group-object-ids",
        empty.as_str(),
        "--disable-local-accounts",
    ];
    assert_refused(
        &cloud,
        "c1",
        &flags,
        &[
            &format!("admin group '{empty}' has no members"),
            "local accounts would be disabled",
            &format!("aksctl ad group member add --group {empty} --member-id"),
        ],
    );
    assert!(get(&cloud, "c1")["properties"].get("aadProfile").is_none());

    // A group that does not exist is named as such.
    let unknown = "0f0f0f0f-1111-2222-3333-444444444444";
    assert_refused(
        &cloud,
        "c1",
        &[
            "--enable-aad",
            "--aad-admin-group-object-ids",
            unknown,
            "--disable-local-accounts",
        ],
        &[&format!("admin group '{unknown}' does not exist")],
    );

    // --yes: the explanation is a warning and the update is made.
    let mut with_yes = flags.to_vec();
    with_yes.push("--yes");
    let output = update(&cloud, "c1", &with_yes);
    assert!(
        stderr(&output).contains("without an admin path"),
        "{}",
        stderr(&output)
    );
    let printed = assert_updated(&output);
    assert_eq!(printed["aadProfile"]["managed"], true);
    let after = get(&cloud, "c1");
    assert_eq!(
        after["properties"]["aadProfile"]["adminGroupObjectIDs"],
        json!([empty])
    );
    assert_eq!(after["properties"]["disableLocalAccounts"], true);
}

#[test]
fn an_admin_group_with_a_member_or_local_accounts_keep_a_path() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    create_cluster(&cloud, "c1", &[]);
    create_cluster(&cloud, "c2", &[]);
    let member = object_id(&cloud, &ready.nonadmin_client_id);
    let ops = group_with(&cloud, "ops-admins", &[&member]);

    let output = update(
        &cloud,
        "c1",
        &[
            "--enable-aad",
            "--aad-admin-group-object-ids",
            &ops,
            "--disable-local-accounts",
        ],
    );
    assert_eq!(stderr(&output), "", "no lockout warning");
    assert_updated(&output);
    assert_eq!(
        get(&cloud, "c1")["properties"]["disableLocalAccounts"],
        true
    );

    // Local accounts left on: an empty group is no lockout, and nothing is asked of Graph or ARM's permissions.
    let empty = create_group(&cloud, "empty-admins");
    cloud.clear_requests();
    let output = update(
        &cloud,
        "c2",
        &["--enable-aad", "--aad-admin-group-object-ids", &empty],
    );
    assert_eq!(stderr(&output), "");
    assert_updated(&output);
    assert!(
        cloud.requests().iter().all(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            !path.contains("/v1.0/") && !path.contains("/permissions")
        }),
        "no lockout check requests: {:?}",
        cloud.requests()
    );
}

#[test]
fn disabling_local_accounts_without_an_admin_group_or_role_is_refused() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    create_cluster(&cloud, "c1", &["--enable-aad"]);
    create_cluster(&cloud, "c2", &["--enable-aad", "--enable-azure-rbac"]);

    // The caller is Owner (it may list admin credentials), but with local accounts disabled AKS refuses them.
    assert_refused(
        &cloud,
        "c1",
        &["--disable-local-accounts"],
        &[
            "no admin group is named",
            "the cluster does not use Azure RBAC",
        ],
    );
    // On an Azure RBAC cluster the caller's permissions are read: Owner has no data actions.
    assert_refused(
        &cloud,
        "c2",
        &["--disable-local-accounts"],
        &[
            "you hold no role at the cluster with the Azure RBAC data action Microsoft.ContainerService/managedClusters/*",
            "aksctl role assignment create --role \"Azure Kubernetes Service RBAC Cluster Admin\"",
        ],
    );

    // Made an Azure RBAC cluster admin of c2, the caller keeps a path.
    let caller = object_id(&cloud, &ready.client_id);
    let cluster_id = format!(
        "/subscriptions/{}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c2",
        ready.subscription_id
    );
    let assigned = cloud.arm(
        "PUT",
        &format!(
            "{cluster_id}/providers/Microsoft.Authorization/roleAssignments/7a7a7a7a-0000-4000-8000-000000000001?api-version=2022-04-01"
        ),
        Some(json!({"properties": {
            "roleDefinitionId": format!(
                "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{RBAC_CLUSTER_ADMIN}",
                ready.subscription_id
            ),
            "principalId": caller,
            "principalType": "ServicePrincipal"
        }})),
    );
    assert_eq!(assigned.status, 201, "{}", assigned.body);
    cloud.clear_requests();
    let output = update(&cloud, "c2", &["--disable-local-accounts"]);
    assert_eq!(stderr(&output), "");
    assert_updated(&output);
    assert!(
        cloud.requests().iter().any(|r| r["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/c2/providers/Microsoft.Authorization/permissions"))),
        "permissions read at the cluster"
    );
    assert_eq!(
        get(&cloud, "c2")["properties"]["disableLocalAccounts"],
        true
    );
}
