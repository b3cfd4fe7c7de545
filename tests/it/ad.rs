//! `aksctl ad group …` against the emulator's Microsoft Graph v1.0 (docs/graph-groups.md): az's flows, requests,
//! outputs, messages and exit codes, and group memberships reaching the `groups` claim of tokens.

use std::process::Output;

use aks_test_support::TestCloud;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::{cloud, object_id, stderr};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Graph requests of the log: `METHOD path?query`.
fn graph_requests(cloud: &TestCloud) -> Vec<String> {
    cloud
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().starts_with("/v1.0/"))
        .map(|r| {
            let query = r["query"].as_str().unwrap_or_default();
            format!(
                "{} {}{}{}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap(),
                if query.is_empty() { "" } else { "?" },
                query
            )
        })
        .collect()
}

/// Run and expect failure with this exit code; returns stderr.
fn fails(cloud: &TestCloud, args: &[&str], code: i32) -> String {
    let output = cloud.run(args);
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

#[test]
fn az_group_flow_create_show_members_list_delete() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let nonadmin = object_id(&cloud, &ready.nonadmin_client_id);
    let admin = object_id(&cloud, &ready.client_id);
    cloud.clear_requests();

    // create: the pre-check GET, then POST; the created object with @odata.context.
    let created = cloud.run_json(&[
        "ad",
        "group",
        "create",
        "--display-name",
        "Dev Team",
        "--mail-nickname",
        "devteam",
    ]);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["displayName"], "Dev Team");
    assert_eq!(created["mailNickname"], "devteam");
    assert_eq!(created["securityEnabled"], true);
    assert_eq!(created["mailEnabled"], false);
    assert!(
        created["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/v1.0/$metadata#groups/$entity")
    );
    assert!(
        created["securityIdentifier"]
            .as_str()
            .unwrap()
            .starts_with("S-1-12-1-")
    );
    assert_eq!(
        graph_requests(&cloud),
        [
            "GET /v1.0/groups?$filter=displayName%20eq%20%27Dev%20Team%27%20and%20mailNickname%20eq%20%27devteam%27",
            "POST /v1.0/groups",
        ]
    );
    let post = cloud
        .requests()
        .into_iter()
        .find(|r| r["method"] == "POST" && r["path"] == "/v1.0/groups")
        .unwrap();
    assert_eq!(
        post["body"],
        json!({"displayName": "Dev Team", "mailNickname": "devteam", "mailEnabled": false, "securityEnabled": true})
    );

    // create again: the existing group (a list item, no @odata.context) and a warning, no POST.
    cloud.clear_requests();
    let output = cloud.run(&[
        "ad",
        "group",
        "create",
        "--display-name",
        "Dev Team",
        "--mail-nickname",
        "devteam",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "WARNING: A group with the same display name and mail nickname already exists, returning.\n"
    );
    let again: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(again["id"], id.as_str());
    assert!(again.get("@odata.context").is_none());
    assert_eq!(graph_requests(&cloud).len(), 1);

    // show by exact name, by a case-insensitive prefix, by id; --query id -o tsv.
    let shown = cloud.run_json(&["ad", "group", "show", "-g", "Dev Team"]);
    assert_eq!(shown["id"], id.as_str());
    assert!(shown.get("@odata.context").is_some());
    cloud.clear_requests();
    let tsv = cloud.run_ok(&[
        "ad", "group", "show", "--group", "dev", "--query", "id", "-o", "tsv",
    ]);
    assert_eq!(tsv, format!("{id}\n"));
    assert_eq!(
        graph_requests(&cloud),
        [
            "GET /v1.0/groups?$filter=displayName%20eq%20%27dev%27".to_string(),
            "GET /v1.0/groups?$filter=startswith%28displayName%2C%27dev%27%29".to_string(),
            format!("GET /v1.0/groups/{id}"),
        ]
    );

    // member add: 204, nothing printed; the @odata.id names the directory object on the Graph origin.
    cloud.clear_requests();
    let output = cloud.run(&[
        "ad",
        "group",
        "member",
        "add",
        "-g",
        &id,
        "--member-id",
        &nonadmin,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    let add = cloud
        .requests()
        .into_iter()
        .find(|r| r["method"] == "POST")
        .unwrap();
    assert_eq!(add["path"], format!("/v1.0/groups/{id}/members/$ref"));
    assert_eq!(
        add["body"]["@odata.id"],
        format!("{}v1.0/directoryObjects/{nonadmin}", ready.resource_manager)
    );
    // ... and it is not idempotent.
    let error = fails(
        &cloud,
        &[
            "ad",
            "group",
            "member",
            "add",
            "-g",
            "Dev Team",
            "--member-id",
            &nonadmin,
        ],
        1,
    );
    assert_eq!(
        error,
        "ERROR: One or more added object references already exist for the following modified properties: 'members'.\n"
    );

    // member check: exactly az's output, true and false.
    cloud.clear_requests();
    let checked = cloud.run_ok(&[
        "ad",
        "group",
        "member",
        "check",
        "-g",
        "Dev Team",
        "--member-id",
        &nonadmin,
    ]);
    assert_eq!(checked, "{\n  \"value\": true\n}\n");
    assert!(graph_requests(&cloud).last().unwrap().ends_with(&format!(
        "POST /v1.0/directoryObjects/{nonadmin}/checkMemberGroups"
    )));
    let checked = cloud.run_ok(&[
        "ad",
        "group",
        "member",
        "check",
        "-g",
        &id,
        "--member-id",
        &admin,
    ]);
    assert_eq!(checked, "{\n  \"value\": false\n}\n");

    // member list: the directory objects with @odata.type.
    let members = cloud.run_json(&["ad", "group", "member", "list", "-g", "Dev Team"]);
    let members = members.as_array().unwrap();
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(
        members[0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );
    assert_eq!(members[0]["id"], nonadmin.as_str());
    assert_eq!(members[0]["appId"], ready.nonadmin_client_id.as_str());
    let seeded = cloud.run_json(&["ad", "group", "member", "list", "-g", &ready.admin_group_id]);
    assert!(
        seeded
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["@odata.type"] == "#microsoft.graph.user")
    );

    // list: everything, by prefix, by filter, both; paging followed.
    cloud.run_json(&[
        "ad",
        "group",
        "create",
        "--display-name",
        "QA Team",
        "--mail-nickname",
        "qateam",
        "--description",
        "Quality people",
    ]);
    cloud.management("PUT", "page-size", Some(json!({"page_size": 1})));
    cloud.clear_requests();
    let all = cloud.run_json(&["ad", "group", "list"]);
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["aks-cluster-admins", "Dev Team", "QA Team"]);
    assert_eq!(
        graph_requests(&cloud),
        [
            "GET /v1.0/groups",
            "GET /v1.0/groups?$skiptoken=1",
            "GET /v1.0/groups?$skiptoken=2"
        ]
    );
    cloud.management("PUT", "page-size", Some(json!({"page_size": 100})));
    let by_prefix = cloud.run_json(&["ad", "group", "list", "--display-name", "Dev"]);
    assert_eq!(by_prefix.as_array().unwrap().len(), 1);
    let by_filter = cloud.run_json(&[
        "ad",
        "group",
        "list",
        "--filter",
        "mailNickname eq 'qateam'",
    ]);
    assert_eq!(by_filter[0]["description"], "Quality people");
    let none = cloud.run_ok(&[
        "ad",
        "group",
        "list",
        "--filter",
        "mailNickname eq 'qateam'",
        "--display-name",
        "Dev",
    ]);
    assert_eq!(none, "[]\n");
    let error = fails(
        &cloud,
        &["ad", "group", "list", "--filter", "displayName eq"],
        1,
    );
    assert!(error.starts_with("ERROR: Invalid filter clause"), "{error}");

    // delete: nothing printed; then show is 404 → exit 3, delete again → exit 1.
    cloud.clear_requests();
    assert_eq!(
        cloud.run_ok(&["ad", "group", "delete", "-g", "Dev Team"]),
        ""
    );
    assert_eq!(
        graph_requests(&cloud).last().unwrap(),
        &format!("DELETE /v1.0/groups/{id}")
    );
    let message = format!(
        "ERROR: Resource '{id}' does not exist or one of its queried reference-property objects are not present.\n"
    );
    assert_eq!(
        fails(&cloud, &["ad", "group", "show", "-g", &id], 3),
        message
    );
    assert_eq!(
        fails(&cloud, &["ad", "group", "delete", "-g", &id], 1),
        message
    );
    assert_eq!(
        fails(&cloud, &["ad", "group", "member", "list", "-g", &id], 1),
        message
    );
}

#[test]
fn name_resolution_and_graph_errors_exit_like_az() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    assert_eq!(
        fails(&cloud, &["ad", "group", "show", "-g", "Nope"], 1),
        "ERROR: No group matches the name of 'Nope'\n"
    );
    for _ in 0..2 {
        cloud.run_json(&[
            "ad",
            "group",
            "create",
            "--display-name",
            "Twin",
            "--mail-nickname",
            "twin",
            "--force",
        ]);
    }
    assert_eq!(
        fails(&cloud, &["ad", "group", "show", "-g", "Twin"], 1),
        "ERROR: More than one group match the name of 'Twin'\n"
    );
    assert_eq!(
        fails(&cloud, &["ad", "group", "delete", "-g", "Tw"], 1),
        "ERROR: More than one group match the name of 'Tw'\n"
    );
    let error = fails(
        &cloud,
        &[
            "ad",
            "group",
            "create",
            "--display-name",
            "Twin",
            "--mail-nickname",
            "twin",
        ],
        1,
    );
    assert!(
        error.contains("There is more than one group with the same display and nick names"),
        "{error}"
    );
    // A Graph error answer to the name lookup exits 2 (az validates arguments with it).
    let error = fails(&cloud, &["ad", "group", "show", "-g", "O'Neil"], 2);
    assert!(error.starts_with("ERROR: Invalid filter clause"), "{error}");
    // Unknown member.
    let unknown = "aaaaaaaa-0000-4000-8000-000000000001";
    assert_eq!(
        fails(
            &cloud,
            &[
                "ad",
                "group",
                "member",
                "add",
                "-g",
                &ready.admin_group_id,
                "--member-id",
                unknown
            ],
            1
        ),
        format!(
            "ERROR: Resource '{unknown}' does not exist or one of its queried reference-property objects are not present.\n"
        )
    );
    assert!(
        fails(
            &cloud,
            &[
                "ad",
                "group",
                "member",
                "check",
                "-g",
                &ready.admin_group_id,
                "--member-id",
                unknown
            ],
            1
        )
        .contains("does not exist")
    );
    // A principal without Group.ReadWrite.All: 403 → exit 1 with Graph's message.
    let output = cloud
        .command()
        .env("AZURE_CLIENT_ID", &ready.nonadmin_client_id)
        .env("AZURE_CLIENT_SECRET", &ready.nonadmin_client_secret)
        .args([
            "ad",
            "group",
            "create",
            "--display-name",
            "X",
            "--mail-nickname",
            "x",
            "--force",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "ERROR: Insufficient privileges to complete the operation.\n"
    );
    // Usage errors exit 2.
    let output = cloud.run(&["ad", "group", "show"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn graph_tokens_have_their_own_cache_entry_and_scope() {
    let cloud = cloud();
    cloud.run_json(&["group", "list"]);
    cloud.clear_requests();
    cloud.run_json(&["ad", "group", "list"]);
    cloud.run_json(&["ad", "group", "list"]);
    let tokens: Vec<Value> = cloud
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().ends_with("/token"))
        .collect();
    assert_eq!(
        tokens.len(),
        1,
        "one Graph token, then the cache: {tokens:?}"
    );
    assert_eq!(
        tokens[0]["body"]["scope"],
        format!("{}/.default", cloud.ready().resource_manager)
    );
    let cached = std::fs::read_dir(cloud.config_dir().join("tokens"))
        .unwrap()
        .count();
    assert_eq!(cached, 2, "an ARM entry and a Graph entry");
}

/// The claims of the JWT in an ExecCredential.
fn claims(exec_credential: &str) -> Value {
    let value: Value = serde_json::from_str(exec_credential).unwrap();
    let token = value["status"]["token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn a_new_group_as_cluster_admin_group_reaches_the_groups_claim() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let nonadmin = object_id(&cloud, &ready.nonadmin_client_id);
    let group = cloud.run_json(&[
        "ad",
        "group",
        "create",
        "--display-name",
        "myAKSAdminGroup",
        "--mail-nickname",
        "myAKSAdminGroup",
    ]);
    let group_id = group["id"].as_str().unwrap().to_string();
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    let cluster = cloud.run_json(&[
        "aks",
        "create",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &group_id,
        "--no-ssh-key",
    ]);
    assert_eq!(
        cluster["aadProfile"]["adminGroupObjectIDs"],
        json!([group_id])
    );

    let token = |cache: &str| {
        let output = cloud
            .command()
            .env("AZURE_AUTHORITY_HOST", &ready.authority_host)
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_CLIENT_SECRET")
            .args([
                "kubelogin",
                "get-token",
                "--server-id",
                "6dae42f8-4368-4678-94ff-3960e28e3630",
                "-l",
                "spn",
                "--client-id",
                &ready.nonadmin_client_id,
                "--client-secret",
                &ready.nonadmin_client_secret,
                "-t",
                &ready.tenant_id,
                "--cache-dir",
            ])
            .arg(cloud.dir().join(cache))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        claims(&stdout(&output))
    };
    let before = token("before");
    assert_eq!(before["groups"], json!([]));

    cloud.run_ok(&[
        "ad",
        "group",
        "member",
        "add",
        "-g",
        "myAKSAdminGroup",
        "--member-id",
        &nonadmin,
    ]);
    let after = token("after");
    assert_eq!(after["oid"], nonadmin.as_str());
    assert_eq!(after["groups"], json!([group_id]));

    // Deleting the group takes it out of the claim again.
    cloud.run_ok(&["ad", "group", "delete", "-g", &group_id]);
    assert_eq!(token("deleted")["groups"], json!([]));
}

/// `<sandbox>/bin` with `kubelogin` as a link to aksctl, for kubectl's exec plugin.
fn kubelogin_bin(cloud: &TestCloud) -> std::path::PathBuf {
    let bin = cloud.dir().join("bin");
    if !bin.join("kubelogin").exists() {
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_aksctl"), bin.join("kubelogin")).unwrap();
    }
    bin
}

/// Real kubectl on `kubeconfig` (a 127.0.0.1 server) with nothing from the host: sandbox HOME and KUBECACHEDIR,
/// kubelogin from the sandbox, the emulator as authority and its CA trusted, signed in as this service principal.
fn kubectl_as(
    cloud: &TestCloud,
    kubeconfig: &std::path::Path,
    client_id: &str,
    client_secret: &str,
    args: &[&str],
) -> Output {
    std::process::Command::new("kubectl")
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:/usr/local/bin:/usr/bin:/bin",
                kubelogin_bin(cloud).display()
            ),
        )
        .env("HOME", cloud.home())
        .env("KUBECACHEDIR", cloud.dir().join("kube-cache"))
        .env("KUBECONFIG", kubeconfig)
        .env("AZURE_AUTHORITY_HOST", &cloud.ready().authority_host)
        .env("REQUESTS_CA_BUNDLE", &cloud.ready().ca_cert_file)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("RUST_BACKTRACE", "0")
        .env("AAD_SERVICE_PRINCIPAL_CLIENT_ID", client_id)
        .env("AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", client_secret)
        .stdin(std::process::Stdio::null())
        .args(args)
        .output()
        .expect("kubectl runs")
}

#[test]
fn nested_group_members_are_cluster_admins_like_in_entra() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let nonadmin = object_id(&cloud, &ready.nonadmin_client_id);
    let create = |name: &str| {
        cloud.run_json(&[
            "ad",
            "group",
            "create",
            "--display-name",
            name,
            "--mail-nickname",
            name,
        ])["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // A is the cluster's admin group; B is a member of A; the non-admin service principal is a member of B.
    let admins = create("aks-admins");
    let team = create("platform-team");
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    cloud.run_json(&[
        "aks",
        "create",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &admins,
        "--no-ssh-key",
    ]);
    for (group, member) in [("aks-admins", &team), ("platform-team", &nonadmin)] {
        cloud.run_ok(&[
            "ad",
            "group",
            "member",
            "add",
            "-g",
            group,
            "--member-id",
            member,
        ]);
    }
    // A cycle (A in B as well) must not hang anything.
    cloud.run_ok(&[
        "ad",
        "group",
        "member",
        "add",
        "-g",
        "platform-team",
        "--member-id",
        &admins,
    ]);

    // The token carries both groups: the direct one first, then the one reached through it.
    let output = cloud
        .command()
        .env("AZURE_AUTHORITY_HOST", &ready.authority_host)
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .args([
            "kubelogin",
            "get-token",
            "--server-id",
            "6dae42f8-4368-4678-94ff-3960e28e3630",
            "-l",
            "spn",
            "--client-id",
            &ready.nonadmin_client_id,
            "--client-secret",
            &ready.nonadmin_client_secret,
            "-t",
            &ready.tenant_id,
            "--cache-dir",
        ])
        .arg(cloud.dir().join("token-cache"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let token = claims(&stdout(&output));
    assert_eq!(token["oid"], nonadmin.as_str());
    assert_eq!(token["groups"], json!([team, admins]));

    // az's check is Graph's checkMemberGroups, which is transitive: true for the nested member.
    cloud.clear_requests();
    let checked = cloud.run_ok(&[
        "ad",
        "group",
        "member",
        "check",
        "-g",
        "aks-admins",
        "--member-id",
        &nonadmin,
    ]);
    assert_eq!(checked, "{\n  \"value\": true\n}\n");
    assert!(
        graph_requests(&cloud).contains(&format!(
            "POST /v1.0/directoryObjects/{nonadmin}/checkMemberGroups"
        )),
        "{:?}",
        graph_requests(&cloud)
    );
    // member list is Graph's /members: direct members only.
    let members = cloud.run_json(&["ad", "group", "member", "list", "-g", "aks-admins"]);
    let ids: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [team.as_str()]);
    assert_eq!(members[0]["@odata.type"], "#microsoft.graph.group");

    // Real kubectl as the nested member: cluster-admin through A.
    let kubeconfig = cloud.dir().join("c1.kubeconfig");
    cloud.run_ok(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--file",
        kubeconfig.to_str().unwrap(),
    ]);
    cloud.run_ok(&[
        "kubelogin",
        "convert-kubeconfig",
        "-l",
        "spn",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    let output = kubectl_as(
        &cloud,
        &kubeconfig,
        &ready.nonadmin_client_id,
        &ready.nonadmin_client_secret,
        &["get", "nodes", "-o", "name"],
    );
    assert!(output.status.success(), "kubectl: {}", stderr(&output));
    assert!(
        stdout(&output).starts_with("node/aks-nodepool1-"),
        "{}",
        stdout(&output)
    );

    // B deleted: the member is out of A too; its next token has neither, and kubectl is forbidden.
    cloud.run_ok(&["ad", "group", "delete", "-g", &team]);
    std::fs::remove_dir_all(cloud.dir().join("kube-cache")).ok();
    let output = kubectl_as(
        &cloud,
        &kubeconfig,
        &ready.nonadmin_client_id,
        &ready.nonadmin_client_secret,
        &["get", "nodes", "-o", "name"],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot list resource \"nodes\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn graph_requests_carry_azs_headers() {
    let cloud = cloud();
    let nonadmin = object_id(&cloud, &cloud.ready().nonadmin_client_id);
    cloud.run_json(&[
        "ad",
        "group",
        "create",
        "--display-name",
        "Dev Team",
        "--mail-nickname",
        "devteam",
    ]);
    cloud.run_ok(&["ad", "group", "list"]);
    cloud.run_ok(&[
        "ad",
        "group",
        "member",
        "check",
        "-g",
        "Dev Team",
        "--member-id",
        &nonadmin,
        "-o",
        "json",
    ]);
    let graph: Vec<Value> = cloud
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().starts_with("/v1.0/"))
        .collect();
    assert_eq!(graph.len(), 5, "{graph:#?}");
    let mut request_ids = Vec::new();
    for request in &graph {
        let headers = &request["headers"];
        let what = format!("{} {}: {headers}", request["method"], request["path"]);
        assert_eq!(headers["accept"], "*/*", "{what}");
        assert_eq!(headers["accept-encoding"], "gzip, deflate", "{what}");
        assert_eq!(
            headers["user-agent"],
            format!("aksctl/{}", env!("CARGO_PKG_VERSION")),
            "{what}"
        );
        assert_eq!(headers["authorization"], "REDACTED", "{what}");
        let request_id = headers["x-ms-client-request-id"].as_str().unwrap();
        assert!(
            request_id.len() == 36 && request_id.matches('-').count() == 4,
            "{what}"
        );
        request_ids.push(request_id.to_string());
        let with_body = request["method"] == "POST";
        assert_eq!(
            headers.get("content-type").and_then(Value::as_str),
            with_body.then_some("application/json"),
            "{what}"
        );
        for forbidden in ["consistencylevel", "connection"] {
            assert!(headers.get(forbidden).is_none(), "{what}");
        }
    }
    request_ids.dedup();
    assert_eq!(request_ids.len(), graph.len(), "a new request id each time");
    let header = |index: usize, name: &str| graph[index]["headers"].get(name).cloned();
    // create: the pre-check GET and the POST.
    assert_eq!(header(0, "commandname"), Some(json!("ad group create")));
    assert_eq!(
        header(0, "parametersetname"),
        Some(json!("--display-name --mail-nickname"))
    );
    assert_eq!(header(1, "commandname"), Some(json!("ad group create")));
    // list: no options typed, no ParameterSetName.
    assert_eq!(header(2, "commandname"), Some(json!("ad group list")));
    assert_eq!(header(2, "parametersetname"), None);
    // member check: the name lookup and checkMemberGroups; global options count too, as in az.
    for index in [3, 4] {
        assert_eq!(
            header(index, "commandname"),
            Some(json!("ad group member check"))
        );
        assert_eq!(
            header(index, "parametersetname"),
            Some(json!("-g --member-id -o"))
        );
    }
    assert!(
        graph[4]["path"]
            .as_str()
            .unwrap()
            .ends_with("/checkMemberGroups")
    );
}
