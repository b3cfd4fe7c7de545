//! Azure RBAC on ARM's request path: credential listing and resource writes need the caller's role
//! assignments (direct or through nested groups, inherited from subscription and resource group), with ARM's
//! 403 text, AKS's local-accounts refusal after it, filtered lists and the propagation delay (docs/azure-rbac.md).

use aks_emulator::{SUBSCRIPTION_ID, TENANT_ID};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::authorization::{
    ASSIGNMENTS_API, CLUSTER_ADMIN, CLUSTER_USER, NONADMIN_OBJECT_ID, READER, assign,
    assignment_path, dev_token, nonadmin_token, on_assignment, subscription_scope,
};
use crate::directory::password_grant;
use crate::support::{CLUSTERS_API, Env, GROUPS_API, start};

const DEV_USER_OBJECT_ID: &str = "2b2b2b2b-1111-2222-3333-999999999999";
const MSI_OBJECT_ID: &str = "1d1d1d1d-1111-2222-3333-777777777777";

/// Seed resource groups `rg-a` and `rg-b` with an AAD cluster each (`aks-a`, `aks-b`) and `locked` in `rg-a`
/// (local accounts disabled).
async fn seed_clusters(env: &Env) {
    let cluster = |group: &str, name: &str, disable_local: bool| {
        json!({"resource_group": group, "name": name, "body": {"location": "eastus",
            "properties": {"dnsPrefix": name, "disableLocalAccounts": disable_local, "aadProfile": {"managed": true}}}})
    };
    let seeded = env
        .manage(
            Method::POST,
            "seed",
            Some(&json!({
                "resource_groups": [{"name": "rg-a", "location": "eastus"}, {"name": "rg-b", "location": "eastus"}],
                "clusters": [cluster("rg-a", "aks-a", false), cluster("rg-b", "aks-b", false),
                    cluster("rg-a", "locked", true)]
            })),
        )
        .await;
    assert_eq!(seeded.status, StatusCode::OK, "{}", seeded.text);
}

fn credential_path(env: &Env, group: &str, name: &str, kind: &str) -> String {
    format!("{}/{kind}", env.cluster_path(group, name))
}

async fn list_credential(
    env: &Env,
    token: &str,
    group: &str,
    name: &str,
    kind: &str,
) -> crate::support::Answer {
    env.arm_as(
        token,
        Method::POST,
        &credential_path(env, group, name, kind),
        CLUSTERS_API,
        None,
    )
    .await
}

/// A request on cluster `group`/`name` with `token`.
async fn cluster_as(
    env: &Env,
    token: &str,
    method: Method,
    group: &str,
    name: &str,
) -> crate::support::Answer {
    env.arm_as(
        token,
        method,
        &env.cluster_path(group, name),
        CLUSTERS_API,
        None,
    )
    .await
}

/// The sorted names a list answers to `token` (status 200 required).
async fn listed(env: &Env, token: &str, path: &str, api: &str) -> Vec<String> {
    let answer = env.arm_as(token, Method::GET, path, api, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let mut names: Vec<String> = answer.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn refusal(client: &str, object_id: &str, action: &str, scope: &str) -> serde_json::Value {
    json!({"error": {"code": "AuthorizationFailed", "message": format!(
        "The client '{client}' with object id '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
    )}})
}

const USER_ACTION: &str =
    "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action";
const ADMIN_ACTION: &str =
    "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action";

#[tokio::test]
async fn credential_listing_needs_a_role_and_follows_assignments() {
    let env = start();
    seed_clusters(&env).await;
    let token = nonadmin_token(&env).await;
    let cluster = env.cluster_path("rg-a", "aks-a");

    // No role: ARM's 403, naming the service principal by its object id.
    let refused = list_credential(&env, &token, "rg-a", "aks-a", "listClusterUserCredential").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(
        refused.body,
        refusal(
            NONADMIN_OBJECT_ID,
            NONADMIN_OBJECT_ID,
            USER_ACTION,
            &cluster
        )
    );

    // The Cluster User Role on the cluster: user credentials, not admin ones, and only on that cluster.
    let name = "8a000000-0000-4000-8000-000000000001";
    let created = assign(&env, &cluster, name, NONADMIN_OBJECT_ID, CLUSTER_USER).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let user = list_credential(&env, &token, "rg-a", "aks-a", "listClusterUserCredential").await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.text);
    let admin = list_credential(&env, &token, "rg-a", "aks-a", "listClusterAdminCredential").await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN, "{}", admin.text);
    assert_eq!(
        admin.body,
        refusal(
            NONADMIN_OBJECT_ID,
            NONADMIN_OBJECT_ID,
            ADMIN_ACTION,
            &cluster
        )
    );
    let other = list_credential(&env, &token, "rg-b", "aks-b", "listClusterUserCredential").await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);

    // The guide's troubleshooting path: the Cluster Admin Role gives admin credentials; deleting it takes them away.
    let admin_name = "8a000000-0000-4000-8000-000000000002";
    let created = assign(
        &env,
        &cluster,
        admin_name,
        NONADMIN_OBJECT_ID,
        CLUSTER_ADMIN,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let admin = list_credential(&env, &token, "rg-a", "aks-a", "listClusterAdminCredential").await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text);
    assert_eq!(admin.body["kubeconfigs"][0]["name"], "clusterAdmin");
    let deleted = on_assignment(&env, Method::DELETE, &cluster, admin_name).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    let admin = list_credential(&env, &token, "rg-a", "aks-a", "listClusterAdminCredential").await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN, "{}", admin.text);

    // Local accounts disabled: a caller without the action gets 403 first, an authorised one AKS's 400.
    let locked = env.cluster_path("rg-a", "locked");
    let refused =
        list_credential(&env, &token, "rg-a", "locked", "listClusterAdminCredential").await;
    assert_eq!(
        refused.body,
        refusal(
            NONADMIN_OBJECT_ID,
            NONADMIN_OBJECT_ID,
            ADMIN_ACTION,
            &locked
        )
    );
    let owner = env
        .arm(
            Method::POST,
            &credential_path(&env, "rg-a", "locked", "listClusterAdminCredential"),
            CLUSTERS_API,
            None,
        )
        .await;
    assert_eq!(owner.status, StatusCode::BAD_REQUEST, "{}", owner.text);
    assert_eq!(
        owner.body,
        json!({"error": {"code": "BadRequest", "message": "Getting static credential is not allowed because this cluster is set to disable local accounts."}})
    );
}

#[tokio::test]
async fn assignments_are_inherited_from_subscription_and_resource_group() {
    let env = start();
    seed_clusters(&env).await;
    let token = dev_token(&env).await;
    let group_a = format!("{}/resourceGroups/rg-a", subscription_scope());

    // A user is named by its UPN.
    let refused = cluster_as(&env, &token, Method::GET, "rg-a", "aks-a").await;
    assert_eq!(
        refused.body,
        refusal(
            "dev@emulator.local",
            DEV_USER_OBJECT_ID,
            "Microsoft.ContainerService/managedClusters/read",
            &env.cluster_path("rg-a", "aks-a")
        )
    );
    // No role: the lists are empty rather than refused.
    let groups_path = format!("{}/resourcegroups", subscription_scope());
    let clusters_path = format!(
        "{}/providers/Microsoft.ContainerService/managedClusters",
        subscription_scope()
    );
    assert!(
        listed(&env, &token, &groups_path, GROUPS_API)
            .await
            .is_empty()
    );

    // Reader on rg-a: reads below it, no writes, nothing in rg-b; the lists show rg-a's share.
    let created = assign(
        &env,
        &group_a,
        "8b000000-0000-4000-8000-000000000001",
        DEV_USER_OBJECT_ID,
        READER,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let read = cluster_as(&env, &token, Method::GET, "rg-a", "aks-a").await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    let other = cluster_as(&env, &token, Method::GET, "rg-b", "aks-b").await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);
    let write = cluster_as(&env, &token, Method::DELETE, "rg-a", "aks-a").await;
    assert_eq!(write.status, StatusCode::FORBIDDEN, "{}", write.text);
    assert!(
        write.text.contains("managedClusters/delete"),
        "{}",
        write.text
    );
    assert_eq!(
        listed(&env, &token, &groups_path, GROUPS_API).await,
        ["rg-a"]
    );
    assert_eq!(
        listed(&env, &token, &clusters_path, CLUSTERS_API).await,
        ["aks-a", "locked"]
    );
    // Reader lists no credentials (`*/read` is not an `/action`).
    let credentials =
        list_credential(&env, &token, "rg-a", "aks-a", "listClusterUserCredential").await;
    assert_eq!(
        credentials.status,
        StatusCode::FORBIDDEN,
        "{}",
        credentials.text
    );

    // Reader on the subscription: rg-b's cluster too; a resource group write still needs more.
    let created = assign(
        &env,
        &subscription_scope(),
        "8b000000-0000-4000-8000-000000000002",
        DEV_USER_OBJECT_ID,
        READER,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let other = cluster_as(&env, &token, Method::GET, "rg-b", "aks-b").await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);
    let new_group = env
        .arm_as(
            &token,
            Method::PUT,
            &env.group_path("rg-c"),
            GROUPS_API,
            Some(&json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(
        new_group.status,
        StatusCode::FORBIDDEN,
        "{}",
        new_group.text
    );
    assert!(
        new_group
            .text
            .contains("Microsoft.Resources/subscriptions/resourceGroups/write"),
        "{}",
        new_group.text
    );
}

#[tokio::test]
async fn group_assignments_count_for_members_of_nested_groups() {
    let env = start();
    seed_clusters(&env).await;
    let graph = crate::directory::graph_token(&env).await;
    let bearer = format!("Bearer {graph}");
    let mut ids = Vec::new();
    for name in ["aks-users", "team-alpha"] {
        let group = env
            .send(Method::POST, "/v1.0/groups", &[("authorization", &bearer)],
                Some(&json!({"displayName": name, "mailNickname": name, "mailEnabled": false, "securityEnabled": true})))
            .await;
        assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
        ids.push(group.body["id"].as_str().unwrap().to_string());
    }
    // team-alpha is in aks-users; the user is in team-alpha; the role is on aks-users.
    let nested = env
        .send(Method::POST, &format!("/v1.0/groups/{}/members/$ref", ids[0]), &[("authorization", &bearer)],
            Some(&json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", ids[1])})))
        .await;
    assert_eq!(nested.status, StatusCode::NO_CONTENT, "{}", nested.text);
    let user = env
        .manage(Method::POST, "users", Some(&json!({"userPrincipalName": "alpha@emulator.local", "password": "Alpha-Pa55!", "groups": [ids[1]]})))
        .await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.text);
    let token = password_grant(&env, TENANT_ID, "alpha@emulator.local", "Alpha-Pa55!").await;
    let token = token.body["access_token"].as_str().unwrap().to_string();
    let refused = list_credential(&env, &token, "rg-b", "aks-b", "listClusterUserCredential").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let group_b = format!("{}/resourceGroups/rg-b", subscription_scope());
    let created = env
        .arm(
            Method::PUT,
            &assignment_path(&group_b, "8c000000-0000-4000-8000-000000000001"),
            ASSIGNMENTS_API,
            Some(&json!({"properties": {"roleDefinitionId": format!("/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{CLUSTER_USER}"),
                "principalId": ids[0], "principalType": "Group"}})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["properties"]["principalType"], "Group");
    // The same token works at once: ARM resolves membership itself, it does not read the token's groups.
    let allowed = list_credential(&env, &token, "rg-b", "aks-b", "listClusterUserCredential").await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text);
}

#[tokio::test]
async fn role_assignment_writes_need_authorization_write_at_the_assignment() {
    let env = start();
    seed_clusters(&env).await;
    // The managed identity is Contributor: everything but Microsoft.Authorization writes.
    let ready = env.emulator.ready();
    let msi = env
        .send(
            Method::GET,
            "/msi/token?api-version=2019-08-01&resource=https://management.core.windows.net/",
            &[("x-identity-header", &ready.identity_header)],
            None,
        )
        .await;
    assert_eq!(msi.status, StatusCode::OK, "{}", msi.text);
    let token = msi.body["access_token"].as_str().unwrap().to_string();
    let admin = list_credential(&env, &token, "rg-a", "aks-a", "listClusterAdminCredential").await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text);
    let cluster = env.cluster_path("rg-a", "aks-a");
    let path = assignment_path(&cluster, "8d000000-0000-4000-8000-000000000001");
    let body = json!({"properties": {"roleDefinitionId": format!("/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{CLUSTER_ADMIN}"),
        "principalId": NONADMIN_OBJECT_ID}});
    let refused = env
        .arm_as(&token, Method::PUT, &path, ASSIGNMENTS_API, Some(&body))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(
        refused.body,
        refusal(
            MSI_OBJECT_ID,
            MSI_OBJECT_ID,
            "Microsoft.Authorization/roleAssignments/write",
            &path
        )
    );
    // Reading assignments is allowed (`*` minus Authorization writes and deletes).
    let listed = env
        .arm_as(
            &token,
            Method::GET,
            &format!("{cluster}/providers/Microsoft.Authorization/roleAssignments"),
            ASSIGNMENTS_API,
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    // A principal without any role cannot even read them.
    let nonadmin = nonadmin_token(&env).await;
    let refused = env
        .arm_as(
            &nonadmin,
            Method::GET,
            &format!("{cluster}/providers/Microsoft.Authorization/roleAssignments"),
            ASSIGNMENTS_API,
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    // Sign-in look-ups stay open.
    for path in ["/subscriptions", "/tenants"] {
        let open = env
            .arm_as(&nonadmin, Method::GET, path, "2022-12-01", None)
            .await;
        assert_eq!(open.status, StatusCode::OK, "{path}: {}", open.text);
    }
}

#[tokio::test]
async fn new_assignments_count_after_the_propagation_delay() {
    let env = start();
    seed_clusters(&env).await;
    let switch = env
        .manage(
            Method::PUT,
            "authorization",
            Some(&json!({"propagationDelaySeconds": 2})),
        )
        .await;
    assert_eq!(switch.status, StatusCode::OK, "{}", switch.text);
    assert_eq!(switch.body, json!({"propagationDelaySeconds": 2}));
    let read = env.manage(Method::GET, "authorization", None).await;
    assert_eq!(read.body, json!({"propagationDelaySeconds": 2}));
    let token = nonadmin_token(&env).await;
    let cluster = env.cluster_path("rg-a", "aks-a");
    let started = std::time::Instant::now();
    let created = assign(
        &env,
        &cluster,
        "8e000000-0000-4000-8000-000000000001",
        NONADMIN_OBJECT_ID,
        CLUSTER_USER,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    // Listed at once, but not yet in force.
    let listed = env
        .arm(Method::GET, &format!("{cluster}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '{NONADMIN_OBJECT_ID}'"), ASSIGNMENTS_API, None)
        .await;
    assert_eq!(
        listed.body["value"].as_array().unwrap().len(),
        1,
        "{}",
        listed.text
    );
    let early = list_credential(&env, &token, "rg-a", "aks-a", "listClusterUserCredential").await;
    if started.elapsed() < std::time::Duration::from_millis(1800) {
        assert_eq!(early.status, StatusCode::FORBIDDEN, "{}", early.text);
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100).saturating_sub(started.elapsed()))
        .await;
    let later = list_credential(&env, &token, "rg-a", "aks-a", "listClusterUserCredential").await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.text);
    let bad = env
        .manage(
            Method::PUT,
            "authorization",
            Some(&json!({"propagationDelaySeconds": -1})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

#[tokio::test]
async fn assignments_survive_a_restart_and_older_state_files_get_the_seeded_ones() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state").join("emulator.json");
    let options = || {
        let mut options = aks_emulator::EmulatorOptions::new(dir.path().join("data"));
        options.state_file = Some(state_file.clone());
        options.lro = crate::support::fast_pacing();
        options
    };
    let first = crate::support::start_with(options(), tempfile::tempdir().unwrap());
    seed_clusters(&first).await;
    let cluster = first.cluster_path("rg-a", "aks-a");
    let name = "8f000000-0000-4000-8000-000000000001";
    let created = assign(&first, &cluster, name, NONADMIN_OBJECT_ID, CLUSTER_USER).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    drop(first);

    let second = crate::support::start_with(options(), tempfile::tempdir().unwrap());
    let kept = on_assignment(&second, Method::GET, &cluster, name).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
    assert_eq!(kept.body, {
        let mut expected = created.body.clone();
        expected["properties"]["createdBy"] = expected["properties"]["updatedBy"].clone();
        expected
    });
    let token = nonadmin_token(&second).await;
    let user = list_credential(
        &second,
        &token,
        "rg-a",
        "aks-a",
        "listClusterUserCredential",
    )
    .await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.text);
    drop(second);

    // A state file written before Azure RBAC has no assignments: the seeded ones come back, the admin is Owner.
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    assert!(
        state
            .as_object_mut()
            .unwrap()
            .remove("role_assignments")
            .is_some()
    );
    std::fs::write(&state_file, serde_json::to_vec(&state).unwrap()).unwrap();
    let third = crate::support::start_with(options(), tempfile::tempdir().unwrap());
    let listed = third
        .arm(
            Method::GET,
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments",
                subscription_scope()
            ),
            ASSIGNMENTS_API,
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let mut names: Vec<&str> = listed.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        (1..=4)
            .map(|n| format!("5eed0001-0000-4000-8000-00000000000{n}"))
            .collect::<Vec<_>>()
    );
}
