//! `aksctl aks update`: enabling managed Entra on existing clusters, migrating legacy AAD, Azure RBAC and local
//! accounts, and az's refusals (docs/az-behaviour.md, "aks update").

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::{cloud, create_aad_cluster, stderr};

/// A legacy AAD cluster's application ids (clientAppID, serverAppID).
const LEGACY_CLIENT_APP: &str = "11111111-2222-3333-4444-000000000002";
const LEGACY_SERVER_APP: &str = "11111111-2222-3333-4444-000000000001";
const LEGACY_SECRET: &str = "legacy-secret-value";

/// Another admin group and tenant for the update flags.
const OTHER_GROUP: &str = "12345678-aaaa-bbbb-cccc-000000000001";

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// A cluster body as a client would PUT it, with Kubernetes RBAC on and no AAD.
fn cluster_body(extra_properties: Value) -> Value {
    let mut body = json!({
        "location": "eastus",
        "sku": {"name": "Base", "tier": "Free"},
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "kubernetesVersion": "1.32",
            "enableRBAC": true,
            "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "vmSize": "Standard_DS2_v2",
                                   "mode": "System", "osType": "Linux"}]
        }
    });
    for (key, value) in extra_properties.as_object().unwrap() {
        body["properties"][key] = value.clone();
    }
    body
}

/// Seed a cluster (and its group) through the management API, stored as is.
fn seed(cloud: &TestCloud, group: &str, name: &str, body: Value) {
    cloud.management(
        "POST",
        "seed",
        Some(json!({
            "resource_groups": [{"name": group, "location": "eastus"}],
            "clusters": [{"resource_group": group, "name": name, "body": body}]
        })),
    );
}

/// The cluster as ARM's GET returns it (the emulator's public view of its state).
fn arm_body(cloud: &TestCloud, name: &str) -> Value {
    cloud.management("GET", "state", None)["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("cluster {name} in the emulator state"))["body"]
        .clone()
}

fn puts(cloud: &TestCloud) -> Vec<Value> {
    cloud
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "PUT")
        .collect()
}

fn remove(value: &mut Value, keys: &[&str]) {
    if let Some(map) = value.as_object_mut() {
        for key in keys {
            map.remove(*key);
        }
    }
}

/// What the SDK's serializer leaves out of a PUT body (read-only in the spec; docs/az-behaviour.md "aks update").
fn without_read_only(mut cluster: Value) -> Value {
    remove(&mut cluster, &["id", "name", "type", "systemData", "eTag"]);
    remove(&mut cluster["identity"], &["principalId", "tenantId"]);
    let properties = &mut cluster["properties"];
    remove(
        properties,
        &[
            "provisioningState",
            "powerState",
            "currentKubernetesVersion",
            "fqdn",
            "azurePortalFQDN",
            "privateFQDN",
            "maxAgentPools",
            "resourceUID",
        ],
    );
    remove(&mut properties["oidcIssuerProfile"], &["issuerURL"]);
    for pool in properties["agentPoolProfiles"].as_array_mut().unwrap() {
        remove(
            pool,
            &[
                "currentOrchestratorVersion",
                "provisioningState",
                "eTag",
                "nodeImageVersion",
            ],
        );
    }
    cluster
}

/// `value` without the given `properties` keys.
fn without_properties(mut value: Value, keys: &[&str]) -> Value {
    remove(&mut value["properties"], keys);
    value
}

/// Run `aks update` and require success; the printed cluster.
fn update(cloud: &TestCloud, name: &str, flags: &[&str]) -> (Value, String) {
    let mut args = vec!["aks", "update", "-g", "rg1", "-n", name];
    args.extend_from_slice(flags);
    let output = cloud.run(&args);
    assert!(
        output.status.success(),
        "aksctl {} failed: {}",
        args.join(" "),
        stderr(&output)
    );
    let printed = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("stdout is not JSON ({e}): {}", stdout(&output));
    });
    (printed, stderr(&output))
}

#[test]
fn non_aad_cluster_gets_managed_aad_with_azs_put_body() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    cloud.run_json(&["group", "create", "-n", "rg1", "-l", "eastus"]);
    cloud.run_json(&["aks", "create", "-g", "rg1", "-n", "c1", "--no-ssh-key"]);
    let before = arm_body(&cloud, "c1");
    assert!(before["properties"].get("aadProfile").is_none());
    cloud.clear_requests();

    let (cluster, warnings) = update(
        &cloud,
        "c1",
        &[
            "--enable-aad",
            "--aad-admin-group-object-ids",
            &ready.admin_group_id,
            "--aad-tenant-id",
            &ready.tenant_id,
        ],
    );
    assert_eq!(warnings, "", "az prints nothing for a non-AAD cluster");
    assert_eq!(
        cluster["aadProfile"],
        json!({
            "adminGroupObjectIDs": [ready.admin_group_id],
            "clientAppId": null,
            "enableAzureRbac": null,
            "managed": true,
            "serverAppId": null,
            "serverAppSecret": null,
            "tenantId": ready.tenant_id
        })
    );
    assert_eq!(cluster["provisioningState"], "Succeeded");
    assert_eq!(cluster["name"], "c1");
    assert_eq!(cluster["resourceGroup"], "rg1");

    // GET → PUT → poll → GET, as az (docs/az-behaviour.md, "The requests az makes").
    let requests = cloud.requests();
    let calls: Vec<String> = requests
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    let cluster_call = |method: &str, call: &String| {
        call.starts_with(&format!("{method} /subscriptions/"))
            && call.to_ascii_lowercase().ends_with("/managedclusters/c1")
    };
    assert!(cluster_call("GET", &calls[0]), "{calls:?}");
    assert!(cluster_call("PUT", &calls[1]), "{calls:?}");
    assert!(calls[2].contains("/operations/"), "{calls:?}");
    assert!(cluster_call("GET", calls.last().unwrap()), "{calls:?}");
    assert_eq!(calls.iter().filter(|c| c.starts_with("PUT")).count(), 1);

    let put = &requests[1]["body"];
    assert_eq!(
        put["properties"]["aadProfile"],
        json!({"managed": true, "adminGroupObjectIDs": [ready.admin_group_id], "tenantID": ready.tenant_id}),
        "az's aadProfile, no enableAzureRBAC"
    );
    assert_eq!(
        without_properties(put.clone(), &["aadProfile"]),
        without_properties(without_read_only(before), &["aadProfile"]),
        "everything else is the GET'd cluster minus read-only fields"
    );
}

#[test]
fn unknown_properties_survive_an_update() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let mut body = cluster_body(json!({
        "nodeProvisioningProfile": {"mode": "Auto", "defaultNodePools": "None"},
        "futureThing": {"x": 1, "nested": {"list": [1, 2, 3]}},
        "networkProfile": {"networkPlugin": "azure", "futureNetworkField": "kept"},
        "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "vmSize": "Standard_DS2_v2",
                               "mode": "System", "osType": "Linux",
                               "gpuProfile": {"driver": "Install"}}]
    }));
    body["futureTopLevel"] = json!({"y": true});
    seed(&cloud, "rg1", "c1", body);
    let before_raw = arm_body(&cloud, "c1");
    let shown_before = cloud.run_json(&["aks", "show", "-g", "rg1", "-n", "c1"]);
    // Like az, `aks show` prints the SDK model's attributes only; the unknown property lives on in ARM.
    assert!(shown_before.get("futureThing").is_none());
    assert_eq!(
        before_raw["properties"]["futureThing"],
        json!({"x": 1, "nested": {"list": [1, 2, 3]}})
    );
    cloud.clear_requests();

    update(
        &cloud,
        "c1",
        &[
            "--enable-aad",
            "--aad-admin-group-object-ids",
            &ready.admin_group_id,
        ],
    );
    let put = &puts(&cloud)[0]["body"];
    assert_eq!(
        put["properties"]["futureThing"],
        json!({"x": 1, "nested": {"list": [1, 2, 3]}})
    );
    assert_eq!(
        put["properties"]["nodeProvisioningProfile"],
        json!({"mode": "Auto", "defaultNodePools": "None"})
    );
    assert_eq!(
        put["properties"]["networkProfile"]["futureNetworkField"],
        "kept"
    );
    assert_eq!(put["futureTopLevel"], json!({"y": true}));
    assert_eq!(
        put["properties"]["agentPoolProfiles"][0]["gpuProfile"],
        json!({"driver": "Install"})
    );

    // GET again: everything but the AAD profile is as before, through ARM and through az's view.
    let after_raw = arm_body(&cloud, "c1");
    assert_eq!(
        without_properties(after_raw, &["aadProfile"]),
        without_properties(before_raw, &["aadProfile"])
    );
    let mut shown_after = cloud.run_json(&["aks", "show", "-g", "rg1", "-n", "c1"]);
    let mut shown_before = shown_before;
    assert_eq!(shown_before["aadProfile"], Value::Null);
    assert_eq!(shown_after["aadProfile"]["managed"], true);
    remove(&mut shown_before, &["aadProfile"]);
    remove(&mut shown_after, &["aadProfile"]);
    assert_eq!(shown_after, shown_before);
}

/// Run a refused update: exit 1, exactly `message` on stderr, nothing on stdout, and no PUT.
fn assert_refused(cloud: &TestCloud, name: &str, flags: &[&str], message: &str) {
    cloud.clear_requests();
    let mut args = vec!["aks", "update", "-g", "rg1", "-n", name];
    args.extend_from_slice(flags);
    let output = cloud.run(&args);
    assert_eq!(
        output.status.code(),
        Some(1),
        "aksctl {}: {}",
        args.join(" "),
        stderr(&output)
    );
    assert_eq!(stderr(&output), format!("ERROR: {message}\n"), "{args:?}");
    assert_eq!(stdout(&output), "");
    assert!(puts(cloud).is_empty(), "no PUT for {args:?}");
}

#[test]
fn refusals_use_azs_messages_and_send_no_put() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "managed");
    cloud.run_json(&["aks", "create", "-g", "rg1", "-n", "plain", "--no-ssh-key"]);
    seed(
        &cloud,
        "rg1",
        "norbac",
        cluster_body(json!({"enableRBAC": false})),
    );
    let tenant = cloud.ready().tenant_id.clone();

    assert_refused(
        &cloud,
        "managed",
        &["--enable-aad"],
        "Cannot specify \"--enable-aad\" if managed AAD is already enabled",
    );
    assert_refused(
        &cloud,
        "plain",
        &["--aad-tenant-id", &tenant],
        "Cannot specify \"--aad-tenant-id\" if managed AAD is not enabled",
    );
    assert_refused(
        &cloud,
        "plain",
        &["--aad-admin-group-object-ids", OTHER_GROUP],
        "Cannot specify \"--aad-admin-group-object-ids\" if managed AAD is not enabled",
    );
    assert_refused(
        &cloud,
        "plain",
        &["--enable-azure-rbac"],
        "Cannot specify \"--enable-azure-rbac\" if managed AAD is not enabled",
    );
    assert_refused(
        &cloud,
        "plain",
        &["--disable-azure-rbac"],
        "Cannot specify \"--disable-azure-rbac\" if managed AAD is not enabled",
    );
    assert_refused(
        &cloud,
        "managed",
        &["--enable-azure-rbac", "--disable-azure-rbac"],
        "Cannot specify \"--enable-azure-rbac\" and \"--disable-azure-rbac\" at the same time",
    );
    assert_refused(
        &cloud,
        "managed",
        &["--disable-local-accounts", "--enable-local-accounts"],
        "Cannot specify --disable-local-accounts and --enable-local-accounts at the same time.",
    );
    assert_refused(
        &cloud,
        "norbac",
        &["--enable-aad", "--aad-admin-group-object-ids", OTHER_GROUP],
        "Cannot specify \"--enable-aad\" for cluster 'norbac': it has Kubernetes RBAC disabled, and clusters without Kubernetes RBAC enabled aren't supported with AKS-managed Microsoft Entra integration.",
    );
    assert_refused(
        &cloud,
        "plain",
        &["--enable-aad", "--aad-admin-group-object-ids", "not-a-guid"],
        "--aad-admin-group-object-ids value \"not-a-guid\" is not a valid GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
    );

    // No update flag and no terminal: az's RequiredArgumentMissingError, before any request to the cluster.
    assert_refused(
        &cloud,
        "plain",
        &[],
        "Please specify one or more of \"--tags\" or \"--disable-local-accounts\" or \"--enable-local-accounts\" or \"--enable-aad\" or \"--aad-tenant-id\" or \"--aad-admin-group-object-ids\" or \"--enable-azure-rbac\" or \"--disable-azure-rbac\" or \"--no-wait\" or \"--yes\".",
    );
    assert!(
        cloud
            .requests()
            .iter()
            .all(|r| !r["path"].as_str().unwrap().contains("managedClusters")),
        "no cluster request without an update flag"
    );

    // The clusters are unchanged.
    assert_eq!(
        arm_body(&cloud, "plain")["properties"].get("aadProfile"),
        None
    );
    assert_eq!(
        arm_body(&cloud, "norbac")["properties"].get("aadProfile"),
        None
    );

    // A missing cluster is az's ResourceNotFound, exit 3.
    let output = cloud.run(&["aks", "update", "-g", "rg1", "-n", "nope", "--enable-aad"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
}

fn credentials(cloud: &TestCloud, name: &str, format: &str, debug: bool) -> (Value, String) {
    let mut args = vec![
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        name,
        "--format",
        format,
        "-f",
        "-",
    ];
    if debug {
        args.push("--debug");
    }
    let output = cloud.run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let all = format!("{}{}", stdout(&output), stderr(&output));
    let kubeconfig: Value = serde_saphyr::from_str(&stdout(&output)).unwrap();
    let user = kubeconfig["users"][0]["user"].clone();
    (user, all)
}

#[test]
fn legacy_aad_cluster_migrates_to_managed_without_leaking_the_secret() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    seed(
        &cloud,
        "rg1",
        "legacy",
        cluster_body(json!({
            "aadProfile": {
                "clientAppID": LEGACY_CLIENT_APP,
                "serverAppID": LEGACY_SERVER_APP,
                "serverAppSecret": LEGACY_SECRET,
                "tenantID": ready.tenant_id
            }
        })),
    );
    let mut printed = String::new();

    // Before: the legacy azure auth-provider, with the cluster's own server application.
    let (user, all) = credentials(&cloud, "legacy", "azure", true);
    printed.push_str(&all);
    let provider = &user["auth-provider"];
    assert_eq!(provider["name"], "azure");
    assert_eq!(provider["config"]["apiserver-id"], LEGACY_SERVER_APP);
    assert_eq!(provider["config"]["client-id"], LEGACY_CLIENT_APP);
    assert!(
        provider["config"].get("config-mode").is_none(),
        "{provider}"
    );

    let shown = cloud.run(&["aks", "show", "-g", "rg1", "-n", "legacy", "--debug"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    printed.push_str(&stdout(&shown));
    printed.push_str(&stderr(&shown));
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["aadProfile"]["serverAppId"], LEGACY_SERVER_APP);
    assert_eq!(shown["aadProfile"]["serverAppSecret"], Value::Null);

    // Migrate: az's command from the guide.
    cloud.clear_requests();
    let output = cloud.run(&[
        "aks",
        "update",
        "-g",
        "rg1",
        "-n",
        "legacy",
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &ready.admin_group_id,
        "--aad-tenant-id",
        &ready.tenant_id,
        "--debug",
    ]);
    printed.push_str(&stdout(&output));
    printed.push_str(&stderr(&output));
    assert!(output.status.success(), "{}", stderr(&output));
    let cluster: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        cluster["aadProfile"],
        json!({
            "adminGroupObjectIDs": [ready.admin_group_id],
            "clientAppId": null,
            "enableAzureRbac": null,
            "managed": true,
            "serverAppId": null,
            "serverAppSecret": null,
            "tenantId": ready.tenant_id
        })
    );
    let warnings = stderr(&output);
    for expected in [
        "WARNING: Cluster 'legacy' is on the Free tier: its API server may see downtime during the migration from legacy AAD to AKS-managed Microsoft Entra integration.\n",
        "WARNING: The migration to AKS-managed Microsoft Entra integration changes the content of the kubeconfig: existing kubeconfig entries for cluster 'legacy' stop working.\n",
        "WARNING: Merge the new credentials with: aksctl aks get-credentials --resource-group rg1 --name legacy --overwrite-existing\n",
    ] {
        assert!(warnings.contains(expected), "{expected}\nin\n{warnings}");
    }
    let put = &puts(&cloud)[0]["body"];
    assert_eq!(
        put["properties"]["aadProfile"],
        json!({"managed": true, "adminGroupObjectIDs": [ready.admin_group_id], "tenantID": ready.tenant_id}),
        "the legacy ids and secret are dropped"
    );

    // After: exec (kubelogin) by default, and the managed AAD server application in the azure format.
    let (user, all) = credentials(&cloud, "legacy", "exec", true);
    printed.push_str(&all);
    assert_eq!(user["exec"]["command"], "kubelogin");
    let args: Vec<&str> = user["exec"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let server_id = args.iter().position(|a| *a == "--server-id").unwrap();
    assert_eq!(args[server_id + 1], "6dae42f8-4368-4678-94ff-3960e28e3630");
    let (user, all) = credentials(&cloud, "legacy", "azure", false);
    printed.push_str(&all);
    assert_eq!(
        user["auth-provider"]["config"]["apiserver-id"],
        "6dae42f8-4368-4678-94ff-3960e28e3630"
    );
    assert_eq!(user["auth-provider"]["config"]["config-mode"], "1");

    assert!(
        printed.contains("DEBUG") || printed.contains("debug"),
        "--debug logged something"
    );
    assert!(
        !printed.contains(LEGACY_SECRET),
        "the legacy secret was printed"
    );
    assert!(
        !cloud
            .requests()
            .iter()
            .any(|r| r.to_string().contains(LEGACY_SECRET)),
        "the legacy secret was sent"
    );
}

#[test]
fn azure_rbac_and_local_account_flags_change_exactly_their_fields() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");

    let cases: &[(&[&str], &str, Value)] = &[
        (
            &["--enable-azure-rbac"],
            "aadProfile",
            json!({"enableAzureRBAC": true}),
        ),
        (
            &["--disable-azure-rbac"],
            "aadProfile",
            json!({"enableAzureRBAC": false}),
        ),
        (
            &["--disable-local-accounts"],
            "disableLocalAccounts",
            json!(true),
        ),
        (
            &["--enable-local-accounts"],
            "disableLocalAccounts",
            json!(false),
        ),
        (
            &["--aad-admin-group-object-ids", OTHER_GROUP],
            "aadProfile",
            json!({"adminGroupObjectIDs": [OTHER_GROUP]}),
        ),
    ];
    for (flags, property, change) in cases {
        let before = arm_body(&cloud, "c1");
        cloud.clear_requests();
        let (printed, warnings) = update(&cloud, "c1", flags);
        assert_eq!(warnings, "", "{flags:?}");
        let put = &puts(&cloud)[0]["body"];
        let mut expected = without_read_only(before.clone());
        let mut after_expected = before.clone();
        if *property == "aadProfile" {
            for (key, value) in change.as_object().unwrap() {
                expected["properties"]["aadProfile"][key] = value.clone();
                after_expected["properties"]["aadProfile"][key] = value.clone();
            }
        } else {
            expected["properties"][*property] = change.clone();
            after_expected["properties"][*property] = change.clone();
        }
        assert_eq!(put, &expected, "PUT body for {flags:?}");
        assert_eq!(
            arm_body(&cloud, "c1"),
            after_expected,
            "only {property} changed for {flags:?}"
        );
        assert_eq!(printed["provisioningState"], "Succeeded");
    }
    let shown = cloud.run_json(&["aks", "show", "-g", "rg1", "-n", "c1"]);
    assert_eq!(
        shown["aadProfile"]["adminGroupObjectIDs"],
        json!([OTHER_GROUP])
    );
    assert_eq!(shown["aadProfile"]["enableAzureRbac"], false);
    assert_eq!(shown["disableLocalAccounts"], false);

    // Tags, and `--no-wait`: the PUT is sent, nothing is printed and nothing is polled.
    cloud.clear_requests();
    let output = cloud.run(&[
        "aks",
        "update",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--tags",
        "env=prod",
        "team",
        "--no-wait",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    let requests = cloud.requests();
    assert_eq!(requests.last().unwrap()["method"], "PUT", "no polling");
    assert_eq!(
        requests.last().unwrap()["body"]["tags"],
        json!({"env": "prod", "team": ""})
    );
}

/// kubectl with the cluster's admin kubeconfig (servers are the emulator's 127.0.0.1 endpoints), isolated caches.
fn kubectl_version(cloud: &TestCloud, kubeconfig: &std::path::Path) -> std::process::Output {
    std::process::Command::new("kubectl")
        .args(["version", "-o", "json", "--kubeconfig"])
        .arg(kubeconfig)
        .env("HOME", cloud.home())
        .env("KUBECACHEDIR", cloud.dir().join("kube-cache"))
        .output()
        .expect("kubectl runs")
}

#[test]
fn a_free_tier_api_server_is_down_while_its_legacy_migration_runs() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    seed(
        &cloud,
        "rg1",
        "legacy",
        cluster_body(json!({
            "aadProfile": {"clientAppID": LEGACY_CLIENT_APP, "serverAppID": LEGACY_SERVER_APP,
                           "serverAppSecret": LEGACY_SECRET, "tenantID": ready.tenant_id}
        })),
    );
    let kubeconfig = cloud.dir().join("admin.kubeconfig");
    let path = kubeconfig.to_str().unwrap();
    cloud.run_ok(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "legacy",
        "--admin",
        "--file",
        path,
    ]);
    assert!(
        kubectl_version(&cloud, &kubeconfig).status.success(),
        "the API server answers before the migration"
    );

    // Keep the operation running for a while: 20 InProgress answers before it completes.
    cloud.management(
        "PUT",
        "lro",
        Some(json!({"polls": 20, "retry_after_seconds": 1, "retry_after_ms": 20})),
    );
    cloud.run_ok(&[
        "aks",
        "update",
        "-g",
        "rg1",
        "-n",
        "legacy",
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &ready.admin_group_id,
        "--no-wait",
    ]);
    let during = kubectl_version(&cloud, &kubeconfig);
    assert!(
        !during.status.success(),
        "the Free-tier API server is down during the migration"
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&during.stdout),
        String::from_utf8_lossy(&during.stderr)
    );
    assert!(
        text.contains("503") || text.contains("ServiceUnavailable") || text.contains("unavailable"),
        "{text}"
    );

    // Let the operation finish (each read of the cluster counts a poll): the API server comes back.
    for _ in 0..30 {
        if cloud.run_json(&["aks", "show", "-g", "rg1", "-n", "legacy"])["provisioningState"]
            == "Succeeded"
        {
            break;
        }
    }
    assert!(
        kubectl_version(&cloud, &kubeconfig).status.success(),
        "the API server is back after the migration"
    );
}

/// The `ParameterSetName` az sent for `aks update` in its recording of this very scenario.
fn recorded_parameter_set_name() -> String {
    let recording = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/az-recordings/test_aks_create_nonaad_and_update_with_managed_aad.yaml"
    ))
    .unwrap();
    let lines: Vec<&str> = recording.lines().collect();
    let mut update_headers = lines
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| pair[0].trim() == "CommandName:" && pair[1].trim() == "- aks update")
        .map(|(index, _)| index);
    let start = update_headers.next().expect("an aks update request");
    let at = lines[start..]
        .iter()
        .position(|line| line.trim() == "ParameterSetName:")
        .expect("a ParameterSetName header")
        + start;
    lines[at + 1].trim().trim_start_matches("- ").to_string()
}

#[test]
fn arm_requests_carry_azs_command_and_parameter_set_names() {
    let cloud = cloud();
    let tenant = cloud.ready().tenant_id.clone();
    seed(&cloud, "rg1", "plain", cluster_body(json!({})));
    let expected = recorded_parameter_set_name();
    assert_eq!(
        expected,
        "--resource-group --name --enable-aad --aad-admin-group-object-ids --aad-tenant-id"
    );
    cloud.clear_requests();
    let output = cloud.run(&[
        "aks",
        "update",
        "--resource-group",
        "rg1",
        "--name",
        "plain",
        "--enable-aad",
        "--aad-admin-group-object-ids",
        OTHER_GROUP,
        "--aad-tenant-id",
        &tenant,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let arm: Vec<Value> = cloud
        .requests()
        .into_iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap_or_default()
                .starts_with("/subscriptions")
        })
        .collect();
    assert!(arm.len() >= 2, "a GET and a PUT at least: {arm:#?}");
    for request in &arm {
        let headers = &request["headers"];
        let what = format!("{} {}: {headers}", request["method"], request["path"]);
        assert_eq!(headers["commandname"], "aks update", "{what}");
        assert_eq!(headers["parametersetname"], expected.as_str(), "{what}");
    }
    // No option typed, no header (az's rule).
    cloud.clear_requests();
    cloud.run_ok(&["group", "list"]);
    let requests = cloud.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert!(
            request["headers"].get("parametersetname").is_none(),
            "{request}"
        );
    }
}
