//! Kubernetes authorisation as AKS does it, through real kubectl 1.32 on 127.0.0.1 kubeconfigs: the identity
//! `kubectl auth whoami` shows, RBAC objects made with `kubectl create|apply|get|delete`, the 403 texts, and
//! `kubectl auth can-i` (protobuf on the wire) both ways.

use std::path::{Path, PathBuf};
use std::process::Output;

use aks_emulator::{ADMIN_GROUP_ID, TENANT_ID};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::authorize::AZURE_CLI_CLIENT;
use crate::directory::graph_token;
use crate::grants::post_form;
use crate::kubernetes::{AKS_SCOPE, Endpoint, KubectlHome, aks_token, cluster, kubectl_available};
use crate::support::{Env, aad_create_body, fast_pacing, start, start_with};

const NONADMIN_OBJECT_ID: &str = "1b1b1b1b-1111-2222-3333-555555555555";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An access token for the AKS server app for a directory user (the password grant, as `kubelogin -l ropc`).
async fn user_token(env: &Env, user: &str, password: &str) -> String {
    let answer = post_form(
        env,
        &format!("/{TENANT_ID}/oauth2/v2.0/token"),
        &[
            ("grant_type", "password"),
            ("client_id", AZURE_CLI_CLIENT),
            ("username", user),
            ("password", password),
            ("scope", AKS_SCOPE),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["access_token"].as_str().unwrap().to_string()
}

/// A new Entra group (through Graph, as the admin service principal) and a user in it with a known password.
async fn user_in_new_group(env: &Env, group: &str, user: &str) -> (String, String) {
    let bearer = format!("Bearer {}", graph_token(env).await);
    let created = env
        .send(
            Method::POST,
            "/v1.0/groups",
            &[("authorization", &bearer)],
            Some(&json!({"displayName": group, "mailNickname": group, "securityEnabled": true, "mailEnabled": false})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let group_id = created.body["id"].as_str().unwrap().to_string();
    let password = "Reader-Pa55!";
    let added = env
        .manage(
            Method::POST,
            "users",
            Some(&json!({"userPrincipalName": user, "password": password, "groups": [group_id]})),
        )
        .await;
    assert!(added.status.is_success(), "{}", added.text);
    (group_id, user_token(env, user, password).await)
}

/// Run kubectl and return (exit code, stdout, stderr).
fn run(home: &KubectlHome, kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = home.run(kubeconfig, args);
    (status.code().unwrap_or(-1), text(&stdout), text(&stderr))
}

/// `kubectl auth can-i …` prints `yes` and exits 0, or `no` and exits 1, as `allowed` says.
fn assert_can_i(home: &KubectlHome, kubeconfig: &Path, args: &[&str], allowed: bool) {
    let mut all = vec!["auth", "can-i"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(home, kubeconfig, &all);
    let expected = if allowed { ("yes", 0) } else { ("no", 1) };
    assert_eq!((stdout.trim(), code), expected, "{args:?}: {stderr}");
}

/// An AAD cluster with kubeconfigs for the admin service principal and for `dev@emulator.local` (in no group);
/// `None` when kubectl is not installed.
struct Cluster {
    env: Env,
    ready: aks_emulator::ReadyRecord,
    endpoint: Endpoint,
    home: KubectlHome,
    admin: PathBuf,
    dev: PathBuf,
}

async fn aad_cluster() -> Option<Cluster> {
    if !kubectl_available() {
        return None;
    }
    let env = start();
    let ready = env.emulator.ready().clone();
    let endpoint = cluster(&env, "rbac", &aad_create_body("centralus", "rbac")).await;
    let home = KubectlHome::new();
    let admin = home.token_kubeconfig(
        "admin",
        &endpoint,
        &aks_token(&env, &ready.client_id, &ready.client_secret).await,
    );
    let dev = home.token_kubeconfig(
        "dev",
        &endpoint,
        &user_token(&env, &ready.dev_user_name, &ready.dev_user_password).await,
    );
    Some(Cluster {
        env,
        ready,
        endpoint,
        home,
        admin,
        dev,
    })
}

#[tokio::test]
async fn whoami_shows_the_identity_aks_derives_for_users_and_service_principals() {
    let Some(Cluster {
        env,
        ready,
        endpoint,
        home,
        admin,
        ..
    }) = aad_cluster().await
    else {
        return;
    };
    let token = user_token(&env, &ready.user_name, &ready.user_password).await;
    let user = home.token_kubeconfig("user", &endpoint, &token);
    let (code, stdout, stderr) = run(&home, &user, &["auth", "whoami", "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let info = &serde_json::from_str::<Value>(&stdout).unwrap()["status"]["userInfo"];
    let oid = crate::grants::claims_of(&token)["oid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(info["username"], ready.user_name.as_str());
    assert_eq!(
        info["groups"],
        json!([ADMIN_GROUP_ID, "system:authenticated"])
    );
    assert_eq!(info["extra"], json!({"oid": [oid]}));

    let (code, stdout, _) = run(&home, &admin, &["auth", "whoami"]);
    assert_eq!(code, 0);
    let username = stdout
        .lines()
        .find(|line| line.starts_with("Username"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    assert_eq!(username, "1a1a1a1a-1111-2222-3333-444444444444");
}

#[tokio::test]
async fn a_group_bound_to_view_in_a_namespace_reads_there_and_nowhere_else() {
    let Some(Cluster {
        env,
        ready,
        endpoint,
        home,
        admin,
        dev,
    }) = aad_cluster().await
    else {
        return;
    };
    let (code, _, stderr) = run(&home, &dev, &["get", "pods"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr.trim_end(),
        format!(
            "Error from server (Forbidden): pods is forbidden: User \"{}\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
            ready.dev_user_name
        )
    );
    assert_can_i(&home, &dev, &["list", "pods"], false);

    let (group_id, token) = user_in_new_group(&env, "team-readers", "reader@emulator.local").await;
    let reader = home.token_kubeconfig("reader", &endpoint, &token);
    assert_can_i(&home, &reader, &["list", "pods", "-n", "team"], false);
    let group_flag = format!("--group={group_id}");
    let (code, stdout, stderr) = run(
        &home,
        &admin,
        &[
            "create",
            "rolebinding",
            "readers",
            "--clusterrole=view",
            &group_flag,
            "-n",
            "team",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "rolebinding.rbac.authorization.k8s.io/readers created"
    );
    let (code, _, stderr) = run(
        &home,
        &admin,
        &[
            "create",
            "rolebinding",
            "readers",
            "--clusterrole=view",
            &group_flag,
            "-n",
            "team",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        stderr.trim(),
        "error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io \"readers\" already exists"
    );

    let (code, stdout, stderr) = run(
        &home,
        &admin,
        &["get", "rolebindings", "-n", "team", "-o", "wide"],
    );
    assert_eq!(code, 0, "{stderr}");
    let row = stdout.lines().nth(1).unwrap_or_default().to_string();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..2], ["readers", "ClusterRole/view"], "{stdout}");
    assert!(row.contains(&group_id), "{stdout}");

    let (code, _, stderr) = run(&home, &reader, &["get", "pods", "-n", "team"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr.trim(), "No resources found in team namespace.");
    let (code, _, stderr) = run(&home, &reader, &["get", "pods", "-n", "default"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("pods is forbidden: User \"reader@emulator.local\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""),
        "{stderr}"
    );
    let (code, _, stderr) = run(&home, &reader, &["get", "pods", "-A"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("at the cluster scope"), "{stderr}");
    assert_can_i(&home, &reader, &["list", "pods", "-n", "team"], true);
    assert_can_i(&home, &reader, &["create", "pods", "-n", "team"], false);
    assert_can_i(&home, &reader, &["get", "secrets", "-n", "team"], false);
    assert_can_i(&home, &reader, &["list", "pods", "-n", "default"], false);
    let (code, _, stderr) = run(
        &home,
        &reader,
        &[
            "create",
            "rolebinding",
            "me",
            "--clusterrole=admin",
            &group_flag,
            "-n",
            "team",
        ],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("rolebindings.rbac.authorization.k8s.io is forbidden: User \"reader@emulator.local\" cannot create resource \"rolebindings\" in API group \"rbac.authorization.k8s.io\" in the namespace \"team\""), "{stderr}");
    let (code, stdout, stderr) = run(&home, &reader, &["auth", "can-i", "--list", "-n", "team"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("pods ") && line.contains("[get list watch]")),
        "{stdout}"
    );

    let (code, stdout, stderr) = run(
        &home,
        &admin,
        &["delete", "rolebinding", "readers", "-n", "team"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "rolebinding.rbac.authorization.k8s.io \"readers\" deleted"
    );
    assert_can_i(&home, &reader, &["list", "pods", "-n", "team"], false);
    assert_can_i(&home, &admin, &["delete", "nodes"], true);
}

#[tokio::test]
async fn a_clusterrolebinding_by_upn_and_applied_roles_by_object_id() {
    let Some(Cluster {
        env,
        ready,
        endpoint,
        home,
        admin,
        dev,
    }) = aad_cluster().await
    else {
        return;
    };
    let user_flag = format!("--user={}", ready.dev_user_name);
    let (code, stdout, stderr) = run(
        &home,
        &admin,
        &[
            "create",
            "clusterrolebinding",
            "dev-view",
            "--clusterrole=view",
            &user_flag,
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "clusterrolebinding.rbac.authorization.k8s.io/dev-view created"
    );
    let (code, _, stderr) = run(&home, &dev, &["get", "pods", "-A"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&home, &dev, &["get", "nodes"]);
    assert_eq!(code, 1);
    assert!(stderr.contains(&format!("nodes is forbidden: User \"{}\" cannot list resource \"nodes\" in API group \"\" at the cluster scope", ready.dev_user_name)), "{stderr}");
    assert_can_i(&home, &dev, &["get", "secrets", "-n", "default"], false);
    assert_can_i(&home, &dev, &["watch", "services", "-A"], true);

    let (code, stdout, _) = run(&home, &admin, &["get", "clusterrolebindings"]);
    assert_eq!(code, 0);
    for (name, role) in [
        ("aks-cluster-admin-binding-aad", "ClusterRole/cluster-admin"),
        ("dev-view", "ClusterRole/view"),
    ] {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(&format!("{name} ")) && line.contains(role)),
            "{stdout}"
        );
    }
    let (code, stdout, _) = run(&home, &admin, &["get", "clusterrole", "view", "-o", "json"]);
    assert_eq!(code, 0);
    let view: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(view["kind"], "ClusterRole");
    assert!(!view["rules"].as_array().unwrap().is_empty());

    // kubectl apply posts JSON: a Role and a RoleBinding of the non-admin service principal by object id (the
    // emulator serves no OpenAPI documents, so kubectl validation is off).
    let manifest = home.write_file(
        "role.yaml",
        &format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: svc-reader\n  namespace: apps\nrules:\n- apiGroups: [\"\"]\n  resources: [\"services\"]\n  verbs: [\"get\", \"list\"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: svc-reader\n  namespace: apps\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: svc-reader\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: {NONADMIN_OBJECT_ID}\n"
        ),
    );
    let (code, stdout, stderr) = run(
        &home,
        &admin,
        &[
            "apply",
            "--validate=false",
            "-f",
            manifest.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "role.rbac.authorization.k8s.io/svc-reader created\nrolebinding.rbac.authorization.k8s.io/svc-reader created"
    );
    let nonadmin = home.token_kubeconfig(
        "nonadmin",
        &endpoint,
        &aks_token(
            &env,
            &ready.nonadmin_client_id,
            &ready.nonadmin_client_secret,
        )
        .await,
    );
    let (code, _, stderr) = run(&home, &nonadmin, &["get", "services", "-n", "apps"]);
    assert_eq!(code, 0, "{stderr}");
    assert_can_i(&home, &nonadmin, &["list", "services", "-n", "apps"], true);
    assert_can_i(&home, &nonadmin, &["list", "pods", "-n", "apps"], false);
    assert_can_i(
        &home,
        &nonadmin,
        &["list", "services", "-n", "default"],
        false,
    );

    // kubectl create clusterrole posts its rules as protobuf too.
    let (code, stdout, stderr) = run(
        &home,
        &admin,
        &[
            "create",
            "clusterrole",
            "node-reader",
            "--verb=get,list",
            "--resource=nodes",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "clusterrole.rbac.authorization.k8s.io/node-reader created"
    );
    let (code, _, stderr) = run(
        &home,
        &admin,
        &[
            "create",
            "clusterrolebinding",
            "dev-nodes",
            "--clusterrole=node-reader",
            &user_flag,
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(&home, &dev, &["get", "nodes"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    assert_can_i(&home, &dev, &["delete", "nodes"], false);
}

/// POST a JSON object to the cluster's API with a bearer token.
async fn post(endpoint: &Endpoint, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
    let response = endpoint
        .client()
        .post(format!("{}{path}", endpoint.server))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn rbac_objects_survive_a_restart_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let options = || {
        let mut options = aks_emulator::EmulatorOptions::new(dir.path().join("data"));
        options.state_file = Some(dir.path().join("emulator.json"));
        options.lro = fast_pacing();
        options
    };
    let env = start_with(options(), tempfile::tempdir().unwrap());
    let ready = env.emulator.ready().clone();
    let endpoint = cluster(&env, "kept", &aad_create_body("centralus", "kept")).await;
    let token = aks_token(&env, &ready.client_id, &ready.client_secret).await;
    let bindings = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "ops-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": ADMIN_GROUP_ID}],
    });
    let (status, created) = post(&endpoint, bindings, &token, &binding).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["kind"], "ClusterRoleBinding");
    let (status, again) = post(&endpoint, bindings, &token, &binding).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(again["reason"], "AlreadyExists");
    assert_eq!(
        again["message"],
        "clusterrolebindings.rbac.authorization.k8s.io \"ops-view\" already exists"
    );
    let mut to_a_role = binding.clone();
    to_a_role["metadata"]["name"] = json!("bad");
    to_a_role["roleRef"]["kind"] = json!("Role");
    let (status, invalid) = post(&endpoint, bindings, &token, &to_a_role).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid["details"]["causes"][0]["field"], "roleRef.kind");
    let mut elsewhere = binding.clone();
    elsewhere["kind"] = json!("RoleBinding");
    elsewhere["metadata"]["namespace"] = json!("other");
    let (status, _) = post(
        &endpoint,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings",
        &token,
        &elsewhere,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, missing) = endpoint
        .get(
            &format!("{bindings}/nope"),
            Some(&token),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing["message"],
        "clusterrolebindings.rbac.authorization.k8s.io \"nope\" not found"
    );
    // A namespaced object is named only inside its namespace.
    let (status, _) = endpoint
        .get(
            "/apis/rbac.authorization.k8s.io/v1/rolebindings/readers",
            Some(&token),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let builtin = endpoint
        .client()
        .delete(format!(
            "{}/apis/rbac.authorization.k8s.io/v1/clusterroles/view",
            endpoint.server
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(builtin.status(), StatusCode::METHOD_NOT_ALLOWED);
    drop(env);

    let env = start_with(options(), tempfile::tempdir().unwrap());
    let token = aks_token(&env, &ready.client_id, &ready.client_secret).await;
    let (status, kept) = endpoint
        .get(
            &format!("{bindings}/ops-view"),
            Some(&token),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["metadata"]["uid"], created["metadata"]["uid"]);
}

/// AKS RBAC Reader (`Azure Kubernetes Service RBAC Reader`).
const AKS_RBAC_READER: &str = "7f6c6a51-bcf8-42ba-9220-52d62157d7db";

#[tokio::test]
async fn azure_rbac_clusters_also_ask_the_callers_role_assignments() {
    if !kubectl_available() {
        return;
    }
    let env = start();
    let ready = env.emulator.ready().clone();
    let mut body = aad_create_body("centralus", "azrbac");
    body["properties"]["aadProfile"]["enableAzureRBAC"] = json!(true);
    let endpoint = cluster(&env, "azrbac", &body).await;
    let home = KubectlHome::new();
    let token = user_token(&env, &ready.dev_user_name, &ready.dev_user_password).await;
    let oid = crate::grants::claims_of(&token)["oid"]
        .as_str()
        .unwrap()
        .to_string();
    let dev = home.token_kubeconfig("dev", &endpoint, &token);
    let denied = "User does not have access to the resource in Azure. Update role assignment to allow access.";
    let forbidden = |namespace: &str| {
        format!(
            "Error from server (Forbidden): pods is forbidden: User \"{}\" cannot list resource \"pods\" in API group \"\" in the namespace \"{namespace}\": {denied}",
            ready.dev_user_name
        )
    };
    let (code, _, stderr) = run(&home, &dev, &["get", "pods", "-n", "team"]);
    assert_eq!((code, stderr.trim_end()), (1, forbidden("team").as_str()));
    let (code, stdout, _) = run(
        &home,
        &dev,
        &["auth", "can-i", "list", "pods", "-n", "team"],
    );
    assert_eq!(
        (code, stdout.trim_end()),
        (1, format!("no - {denied}").as_str())
    );

    // AKS RBAC Reader on the namespace: reads there, nowhere else, and no secrets.
    let namespace = format!("{}/namespaces/team", env.cluster_path("rg1", "azrbac"));
    let assigned = crate::authorization::assign(
        &env,
        &namespace,
        "7a000000-0000-4000-8000-000000000001",
        &oid,
        AKS_RBAC_READER,
    )
    .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.text);
    let (code, _, stderr) = run(&home, &dev, &["get", "pods", "-n", "team"]);
    assert_eq!(code, 0, "{stderr}");
    assert_can_i(&home, &dev, &["list", "pods", "-n", "team"], true);
    assert_can_i(&home, &dev, &["watch", "services", "-n", "team"], true);
    let (code, _, stderr) = run(&home, &dev, &["get", "pods", "-n", "default"]);
    assert_eq!(
        (code, stderr.trim_end()),
        (1, forbidden("default").as_str())
    );
    let (code, _, stderr) = run(&home, &dev, &["get", "pods", "-A"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!("at the cluster scope: {denied}")),
        "{stderr}"
    );
    let (code, stdout, _) = run(
        &home,
        &dev,
        &["auth", "can-i", "get", "secrets", "-n", "team"],
    );
    assert_eq!(
        (code, stdout.trim_end()),
        (1, format!("no - {denied}").as_str())
    );

    // Kubernetes RBAC still counts: the admin group's binding needs no Azure role.
    let admin = home.token_kubeconfig(
        "admin",
        &endpoint,
        &user_token(&env, &ready.user_name, &ready.user_password).await,
    );
    let (code, _, stderr) = run(&home, &admin, &["get", "nodes"]);
    assert_eq!(code, 0, "{stderr}");
    // --list cannot enumerate Azure RBAC: kubectl warns that the list is incomplete.
    let (code, _, stderr) = run(&home, &dev, &["auth", "can-i", "--list", "-n", "team"]);
    assert_eq!(code, 0);
    assert!(
        stderr.contains("webhook authorizer does not support user rule resolution"),
        "{stderr}"
    );
}
