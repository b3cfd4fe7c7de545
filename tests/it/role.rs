//! `aksctl role assignment create|list|delete` and `role definition list|show` against the emulator
//! (docs/az-behaviour.md, "Role assignments"): az's requests, outputs, messages and exit codes, and the guide's
//! "Troubleshoot access issues" path end to end.

use std::process::Output;

use aks_test_support::TestCloud;
use serde_json::Value;

use crate::{assert_output_snapshot, cloud, create_aad_cluster, stderr};

const CLUSTER_ADMIN_ROLE: &str = "Azure Kubernetes Service Cluster Admin Role";

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Run and expect failure with this exit code, nothing on stdout; returns stderr.
fn fails(cloud: &TestCloud, args: &[&str], code: i32) -> String {
    let output = cloud
        .command()
        .env("RUST_BACKTRACE", "0")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(code),
        "aksctl {}: stdout {} stderr {}",
        args.join(" "),
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(stdout(&output), "", "errors leave stdout empty");
    stderr(&output)
}

/// Requests that would change role assignments.
fn assignment_writes(cloud: &TestCloud) -> Vec<String> {
    cloud
        .requests()
        .iter()
        .filter(|r| {
            r["method"] != "GET"
                && r["path"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("/providers/Microsoft.Authorization/roleAssignments")
        })
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect()
}

#[test]
fn bad_input_is_refused_before_any_write() {
    let cloud = cloud();
    let subscription = cloud.ready().subscription_id.clone();
    let nonadmin = cloud.ready().nonadmin_client_id.clone();
    let scope = format!("/subscriptions/{subscription}");
    cloud.clear_requests();
    let create = |extra: &[&str]| {
        let mut args = vec!["role", "assignment", "create", "--role", "Reader"];
        args.extend_from_slice(extra);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>, code: i32| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&cloud, &args, code)
    };
    // A missing required flag is a parse error (exit 2), as argparse's.
    assert!(run(create(&["--assignee", &nonadmin]), 2).contains("--scope"));
    for (extra, message) in [
        (
            vec!["--scope", &scope],
            "usage error: --assignee STRING | --assignee-object-id GUID",
        ),
        (
            vec![
                "--scope",
                &scope,
                "--assignee",
                "x",
                "--assignee-object-id",
                &nonadmin,
            ],
            "usage error: --assignee STRING | --assignee-object-id GUID",
        ),
        (
            vec![
                "--scope",
                &scope,
                "--assignee",
                &nonadmin,
                "--assignee-principal-type",
                "User",
            ],
            "usage error: --assignee-object-id GUID --assignee-principal-type TYPE",
        ),
        (
            vec!["--scope", "", "--assignee", &nonadmin],
            "usage error: --scope can't be an empty string. Either omit it or provide a non-empty string.",
        ),
        (
            vec![
                "--scope",
                &scope,
                "--assignee",
                &nonadmin,
                "--condition-version",
                "2.0",
            ],
            "usage error: When --condition-version is set, --condition must be set as well.",
        ),
        (
            vec!["--scope", &scope, "--assignee", "nobody@emulator.local"],
            "Cannot find user or service principal in graph database for 'nobody@emulator.local'. If the assignee \
             is an appId, make sure the corresponding service principal is created with 'az ad sp create --id \
             nobody@emulator.local'.",
        ),
        (
            vec![
                "--scope",
                &format!("{scope}/resourceGroups/"),
                "--assignee",
                &nonadmin,
            ],
            "Invalid scope. Please use --help to view the valid format.",
        ),
    ] {
        let text = run(create(&extra), 1);
        assert_eq!(text, format!("ERROR: {message}\n"), "{extra:?}");
    }
    let text = fails(&cloud, &["role", "assignment", "delete"], 1);
    assert_eq!(
        text,
        "ERROR: Please provide at least one of these arguments: --ids, --assignee, --assignee-object-id, --role, \
         --resource-group, --scope\n"
    );
    let text = fails(
        &cloud,
        &["role", "assignment", "delete", "--assignee", ""],
        1,
    );
    assert!(
        text.contains("--assignee can't be an empty string"),
        "{text}"
    );
    let text = fails(
        &cloud,
        &["role", "assignment", "list", "--all", "-g", "rg"],
        1,
    );
    assert_eq!(
        text,
        "ERROR: group or scope are not required when --all is used\n"
    );
    let text = fails(
        &cloud,
        &["role", "assignment", "list", "-g", "rg", "--scope", &scope],
        1,
    );
    assert_eq!(
        text,
        "ERROR: Resource group \"rg\" is redundant because scope is supplied\n"
    );
    assert_eq!(assignment_writes(&cloud), Vec::<String>::new());
}

/// The Graph requests of the log: `METHOD path?query`.
fn graph_requests(cloud: &TestCloud) -> Vec<String> {
    cloud
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().starts_with("/v1.0/"))
        .map(|r| {
            format!(
                "{} {}?{}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap(),
                r["query"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn assignees_resolve_through_graph_as_az_asks() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let scope = format!("/subscriptions/{}/resourceGroups/", ready.subscription_id);
    // The scope is checked after the assignee is resolved, so each run stops there, having asked Graph only.
    for (assignee, expected) in [
        (
            ready.user_name.clone(),
            vec![format!(
                "GET /v1.0/users?$filter=userPrincipalName%20eq%20%27{}%27",
                ready.user_name.replace('@', "%40")
            )],
        ),
        (
            ready.nonadmin_client_id.clone(),
            vec![format!(
                "GET /v1.0/servicePrincipals?$filter=servicePrincipalNames%2Fany%28c%3Ac%20eq%20%27{}%27%29",
                ready.nonadmin_client_id
            )],
        ),
        (
            ready.admin_group_id.clone(),
            vec![
                format!(
                    "GET /v1.0/servicePrincipals?$filter=servicePrincipalNames%2Fany%28c%3Ac%20eq%20%27{}%27%29",
                    ready.admin_group_id
                ),
                "POST /v1.0/directoryObjects/getByIds?".to_string(),
            ],
        ),
    ] {
        cloud.clear_requests();
        let text = fails(
            &cloud,
            &[
                "role",
                "assignment",
                "create",
                "--role",
                "Reader",
                "--scope",
                &scope,
                "--assignee",
                &assignee,
            ],
            1,
        );
        assert!(text.contains("Invalid scope."), "{assignee}: {text}");
        assert_eq!(graph_requests(&cloud), expected, "{assignee}");
    }
}

/// The object id of a seeded service principal, from the emulator's state.
fn object_id(cloud: &TestCloud, app_id: &str) -> String {
    cloud.management("GET", "state", None)["directory"]["service_principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["app_id"] == app_id)
        .unwrap_or_else(|| panic!("service principal {app_id}"))["object_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `role assignment create --assignee <non-admin appId> --role ROLE --scope SCOPE` as the admin; its output.
fn grant_nonadmin(cloud: &TestCloud, role: &str, scope: &str) -> Value {
    let nonadmin = cloud.ready().nonadmin_client_id.clone();
    cloud.run_json(&[
        "role",
        "assignment",
        "create",
        "--assignee",
        &nonadmin,
        "--role",
        role,
        "--scope",
        scope,
    ])
}

/// Run as the seeded non-admin service principal.
fn as_nonadmin(cloud: &TestCloud, args: &[&str]) -> Output {
    cloud
        .command()
        .env("RUST_BACKTRACE", "0")
        .env("AZURE_CLIENT_ID", &cloud.ready().nonadmin_client_id)
        .env("AZURE_CLIENT_SECRET", &cloud.ready().nonadmin_client_secret)
        .args(args)
        .output()
        .unwrap()
}

/// Role assignment requests of the log: `METHOD path?query`.
fn assignment_requests(cloud: &TestCloud) -> Vec<String> {
    cloud
        .requests()
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap_or_default()
                .contains("/providers/Microsoft.Authorization/")
        })
        .map(|r| {
            format!(
                "{} {}?{}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap(),
                r["query"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// The guide's "Troubleshoot access issues": the non-admin principal is refused admin credentials; the admin
/// assigns it the Cluster Admin Role on the cluster; it now gets them; deleting the assignment takes them away.
#[test]
fn the_guides_troubleshooting_path() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    create_aad_cluster(&cloud, "rg1", "c1");
    let cluster_id = format!(
        "/subscriptions/{}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1",
        ready.subscription_id
    );
    let nonadmin_oid = object_id(&cloud, &ready.nonadmin_client_id);
    let admin_credentials = [
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--admin",
        "--file",
        "-",
    ];

    let refused = as_nonadmin(&cloud, &admin_credentials);
    let text = stderr(&refused);
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(
        text.contains("(AuthorizationFailed)")
            && text.contains(&format!(
                "does not have authorization to perform action \
                 'Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action' over scope \
                 '{cluster_id}'"
            )),
        "{text}"
    );
    assert_eq!(stdout(&refused), "");

    // The admin grants the role: a role name is looked up at the scope, then one PUT with az's body.
    cloud.clear_requests();
    let created = grant_nonadmin(&cloud, CLUSTER_ADMIN_ROLE, &cluster_id);
    let name = created["name"].as_str().unwrap().to_string();
    assert_eq!(created["principalId"], nonadmin_oid.as_str());
    assert_eq!(created["principalType"], "ServicePrincipal");
    assert_eq!(created["scope"], cluster_id.as_str());
    assert_eq!(created["resourceGroup"], "rg1");
    assert_eq!(
        created["roleDefinitionId"],
        format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
            ready.subscription_id
        )
    );
    assert_eq!(
        created["id"],
        format!("{cluster_id}/providers/Microsoft.Authorization/roleAssignments/{name}")
    );
    assert!(
        created.get("systemData").is_some_and(Value::is_null),
        "{created}"
    );
    assert_eq!(
        assignment_requests(&cloud),
        [
            format!(
                "GET {cluster_id}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-05-01-preview\
                 &$filter=roleName%20eq%20%27Azure%20Kubernetes%20Service%20Cluster%20Admin%20Role%27"
            ),
            format!(
                "PUT {}?api-version=2022-04-01",
                created["id"].as_str().unwrap()
            ),
        ]
    );

    // Creating it again is idempotent, as in az: the existing assignment, as `list` shows it.
    let again = cloud.run_json(&[
        "role",
        "assignment",
        "create",
        "--assignee-object-id",
        &nonadmin_oid,
        "--assignee-principal-type",
        "ServicePrincipal",
        "--role",
        CLUSTER_ADMIN_ROLE,
        "--scope",
        &cluster_id,
    ]);
    assert_eq!(again["name"], name.as_str());
    assert_eq!(again["principalName"], ready.nonadmin_client_id.as_str());

    let listed = cloud.run_json(&["role", "assignment", "list", "--scope", &cluster_id]);
    let items = listed.as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["roleDefinitionName"], CLUSTER_ADMIN_ROLE);
    assert_eq!(items[0]["principalName"], ready.nonadmin_client_id.as_str());
    assert!(
        items[0].get("condition").is_none(),
        "nulls are left out of list items"
    );
    let table = cloud.run_ok(&[
        "role",
        "assignment",
        "list",
        "--scope",
        &cluster_id,
        "-o",
        "table",
    ]);
    assert_output_snapshot!(&cloud, "role-assignment-list-table", table);

    let granted = as_nonadmin(&cloud, &admin_credentials);
    assert_eq!(granted.status.code(), Some(0), "{}", stderr(&granted));
    assert!(
        stdout(&granted).contains("clusterAdmin_rg1_c1"),
        "{}",
        stdout(&granted)
    );

    // Delete by the same selectors: nothing printed; then nothing left, and the non-admin is refused again.
    let deleted = cloud.run_ok(&[
        "role",
        "assignment",
        "delete",
        "--assignee",
        &ready.nonadmin_client_id,
        "--role",
        CLUSTER_ADMIN_ROLE,
        "--scope",
        &cluster_id,
    ]);
    assert_eq!(deleted, "");
    let listed = cloud.run_json(&["role", "assignment", "list", "--scope", &cluster_id]);
    assert_eq!(listed, serde_json::json!([]));
    let text = fails(
        &cloud,
        &[
            "role",
            "assignment",
            "delete",
            "--role",
            CLUSTER_ADMIN_ROLE,
            "--scope",
            &cluster_id,
        ],
        1,
    );
    assert_eq!(text, "ERROR: No matched assignments were found to delete\n");
    let refused = as_nonadmin(&cloud, &admin_credentials);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
}

#[test]
fn role_names_and_definitions_as_az_prints_them() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let scope = format!("/subscriptions/{}", ready.subscription_id);
    let text = fails(
        &cloud,
        &[
            "role",
            "assignment",
            "create",
            "--assignee",
            &ready.nonadmin_client_id,
            "--role",
            "Cluster Boss",
            "--scope",
            &scope,
        ],
        1,
    );
    assert_eq!(text, "ERROR: Role 'Cluster Boss' doesn't exist.\n");
    assert_eq!(assignment_writes(&cloud), Vec::<String>::new());

    let listed = cloud.run_json(&["role", "definition", "list", "--name", CLUSTER_ADMIN_ROLE]);
    let items = listed.as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    let definition = &items[0];
    assert_eq!(definition["name"], "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8");
    assert_eq!(definition["roleType"], "BuiltInRole");
    assert_eq!(
        definition["type"],
        "Microsoft.Authorization/roleDefinitions"
    );
    let actions = definition["permissions"][0]["actions"].as_array().unwrap();
    assert!(actions.contains(&Value::from(
        "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"
    )));
    // By GUID: no server filter, matched on the client.
    let by_guid = cloud.run_json(&[
        "role",
        "definition",
        "list",
        "--name",
        "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
    ]);
    assert_eq!(by_guid, listed);
    let custom = cloud.run_json(&["role", "definition", "list", "--custom-role-only"]);
    assert_eq!(custom, serde_json::json!([]));
    // show: by id, or by scope and GUID; az's usage errors otherwise.
    let id = definition["id"].as_str().unwrap();
    let shown = cloud.run_json(&["role", "definition", "show", "--id", id]);
    assert_eq!(&shown, definition);
    let shown = cloud.run_json(&[
        "role",
        "definition",
        "show",
        "--scope",
        &scope,
        "--name",
        "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
    ]);
    assert_eq!(&shown, definition);
    let text = fails(&cloud, &["role", "definition", "show"], 1);
    assert_eq!(
        text,
        "ERROR: Usage error: Provide --scope and --name, or --id\n"
    );
    let text = fails(
        &cloud,
        &["role", "definition", "show", "--scope", &scope],
        1,
    );
    assert_eq!(
        text,
        "ERROR: Usage error: Provide both --scope and --name\n"
    );
    let table = cloud.run_ok(&[
        "role",
        "definition",
        "list",
        "--name",
        "Reader",
        "-o",
        "table",
    ]);
    assert_output_snapshot!(&cloud, "role-definition-list-table", table);
}

#[test]
fn delete_by_ids_and_list_all_as_az_does() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    let scope = format!(
        "/subscriptions/{}/resourceGroups/rg1",
        ready.subscription_id
    );
    let created = grant_nonadmin(&cloud, "Reader", &scope);
    // --all lists the subscription's assignments of the principal, whatever their scope.
    let all = cloud.run_json(&[
        "role",
        "assignment",
        "list",
        "--all",
        "--assignee",
        &ready.nonadmin_client_id,
    ]);
    let ids: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &item["id"])
        .collect();
    assert_eq!(ids, [&created["id"]], "{all}");
    // At the subscription, without --include-inherited, an assignment of a resource group is not listed.
    let at_subscription = cloud.run_json(&[
        "role",
        "assignment",
        "list",
        "--assignee",
        &ready.nonadmin_client_id,
    ]);
    assert_eq!(at_subscription, serde_json::json!([]));

    let output = cloud
        .command()
        .env("RUST_BACKTRACE", "0")
        .args([
            "role",
            "assignment",
            "delete",
            "--ids",
            created["id"].as_str().unwrap(),
            "--role",
            "Reader",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "WARNING: option '--role' will be ignored due to use of '--ids'.\n"
    );
    let left = cloud.run_json(&["role", "assignment", "list", "-g", "rg1"]);
    assert_eq!(left, serde_json::json!([]));
}
