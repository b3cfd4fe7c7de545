//! `aksctl role assignment create|list|delete` and `role definition list|show` against the emulator
//! (docs/az-behaviour.md, "Role assignments"): az's requests, outputs, messages and exit codes, and the guide's
//! "Troubleshoot access issues" path end to end.

use std::process::Output;

use aks_test_support::TestCloud;

use crate::{cloud, create_aad_cluster, stderr};

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
