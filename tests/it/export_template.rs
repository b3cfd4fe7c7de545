//! `aks create|update --export-template FILE`: the ARM deployment template instead of the PUT (nothing written to
//! ARM), and the emulator's deployments API deploying it to the same cluster a direct `aks create` makes.

use aks_test_support::{ArmAnswer, TestCloud};
use serde_json::{Value, json};

use crate::{cloud, stderr};

const DEPLOYMENTS_API: &str = "2024-11-01";

fn group(cloud: &TestCloud, name: &str) {
    cloud.run_json(&["group", "create", "--name", name, "--location", "eastus"]);
}

/// `aks create` with the guide's AAD flags and no SSH key, plus `extra`.
fn create_args<'a>(cloud: &'a TestCloud, name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "aks",
        "create",
        "-g",
        "rg",
        "-n",
        name,
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &cloud.ready().admin_group_id,
        "--no-ssh-key",
    ];
    args.extend_from_slice(extra);
    args
}

/// Requests in the log with this method whose path contains `fragment` (case-insensitive).
fn requests(cloud: &TestCloud, method: &str, fragment: &str) -> Vec<Value> {
    let fragment = fragment.to_ascii_lowercase();
    cloud
        .requests()
        .into_iter()
        .filter(|r| {
            r["method"] == method
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.to_ascii_lowercase().contains(&fragment))
        })
        .collect()
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text}", path.display()))
}

fn deployment_path(cloud: &TestCloud, name: &str) -> String {
    format!(
        "subscriptions/{}/resourcegroups/rg/providers/Microsoft.Resources/deployments/{name}?api-version={DEPLOYMENTS_API}",
        cloud.ready().subscription_id
    )
}

fn cluster_path(cloud: &TestCloud, name: &str) -> String {
    format!(
        "subscriptions/{}/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}?api-version=2026-08-01",
        cloud.ready().subscription_id
    )
}

/// PUT a deployment of `template` (Incremental) with these parameter values.
fn deploy(cloud: &TestCloud, name: &str, template: &Value, parameters: Value) -> ArmAnswer {
    cloud.arm(
        "PUT",
        &deployment_path(cloud, name),
        Some(json!({"properties": {"mode": "Incremental", "template": template, "parameters": parameters}})),
    )
}

/// Poll the deployment's `Azure-AsyncOperation` URL to the end; the statuses seen, in order.
fn poll(cloud: &TestCloud, accepted: &ArmAnswer) -> Vec<Value> {
    let url = accepted
        .headers
        .get("azure-asyncoperation")
        .unwrap_or_else(|| panic!("no Azure-AsyncOperation: {accepted:?}"))
        .clone();
    let mut seen = Vec::new();
    for _ in 0..100 {
        let answer = cloud.arm("GET", &url, None);
        assert_eq!(answer.status, 200, "{answer:?}");
        let status = answer.body["status"].as_str().unwrap().to_string();
        seen.push(answer.body);
        if status != "Running" && status != "Accepted" {
            return seen;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("deployment still running: {seen:?}");
}

/// A cluster as ARM returns it, without what differs between two clusters made the same way: names, ids, the
/// DNS prefix and what derives from it, random identities and timestamps.
fn comparable(mut cluster: Value) -> Value {
    let object = cluster.as_object_mut().unwrap();
    for key in ["id", "name", "systemData", "eTag"] {
        object.remove(key);
    }
    if let Some(identity) = cluster["identity"].as_object_mut() {
        identity.remove("principalId");
    }
    let properties = cluster["properties"].as_object_mut().unwrap();
    for key in [
        "dnsPrefix",
        "fqdn",
        "azurePortalFQDN",
        "nodeResourceGroup",
        "resourceUID",
        "identityProfile",
    ] {
        properties.remove(key);
    }
    cluster
}

#[test]
fn create_export_writes_the_template_and_puts_nothing() {
    let cloud = cloud();
    group(&cloud, "rg");
    let file = cloud.dir().join("out").join("c1.json");
    cloud.clear_requests();

    let mut args = create_args(&cloud, "c1", &[]);
    let file_arg = file.display().to_string();
    args.extend(["--export-template", &file_arg]);
    let output = cloud.run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "Wrote the ARM deployment template of cluster 'c1' to {file_arg}"
        )),
        "{message}"
    );

    assert!(
        requests(&cloud, "PUT", "").is_empty(),
        "nothing is written to ARM"
    );
    assert_eq!(requests(&cloud, "GET", "/managedClusters/c1").len(), 1);
    assert!(
        cloud
            .run(&["aks", "show", "-g", "rg", "-n", "c1"])
            .status
            .code()
            == Some(3)
    );

    let template = read_json(&file);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        template["$schema"],
        "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
    );
    assert_eq!(template["contentVersion"], "1.0.0.0");
    assert_eq!(template["parameters"]["clusterName"]["defaultValue"], "c1");
    assert_eq!(template["parameters"]["clusterName"]["type"], "string");
    assert_eq!(template["parameters"]["location"]["defaultValue"], "eastus");
    let resources = template["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1);
    let resource = &resources[0];
    assert_eq!(
        resource["type"],
        "Microsoft.ContainerService/managedClusters"
    );
    assert_eq!(resource["apiVersion"], "2026-08-01");
    assert_eq!(resource["name"], "[parameters('clusterName')]");
    assert_eq!(resource["location"], "[parameters('location')]");
    assert_eq!(
        resource["properties"]["aadProfile"],
        json!({"managed": true, "adminGroupObjectIDs": [cloud.ready().admin_group_id], "enableAzureRBAC": false})
    );
    assert_eq!(resource["identity"], json!({"type": "SystemAssigned"}));
    assert_eq!(resource["sku"], json!({"name": "Base", "tier": "Free"}));
    assert!(resource["properties"].get("linuxProfile").is_none());
    assert_eq!(resource["properties"]["enableRBAC"], true);

    // "-" prints the same template on stdout.
    let mut args = create_args(&cloud, "c1", &[]);
    args.extend(["--export-template", "-"]);
    let printed: Value = serde_json::from_str(&cloud.run_ok(&args)).unwrap();
    assert_eq!(printed, template);

    // Validation still runs: no file, exit 1, az's message.
    let refused = cloud.dir().join("refused.json");
    let refused_arg = refused.display().to_string();
    let output = cloud.run(&[
        "aks",
        "create",
        "-g",
        "rg",
        "-n",
        "c1",
        "--enable-azure-rbac",
        "--no-ssh-key",
        "--export-template",
        &refused_arg,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--enable-azure-rbac can only be used together with --enable-aad")
    );
    assert!(!refused.exists());
    assert!(requests(&cloud, "PUT", "").is_empty());
}

#[test]
fn deploying_the_template_makes_the_cluster_a_direct_create_makes() {
    let cloud = cloud();
    group(&cloud, "rg");
    let mut args = create_args(&cloud, "c1", &[]);
    args.extend(["--export-template", "-"]);
    let template: Value = serde_json::from_str(&cloud.run_ok(&args)).unwrap();

    cloud.clear_requests();
    let accepted = deploy(
        &cloud,
        "d1",
        &template,
        json!({"clusterName": {"value": "c1"}}),
    );
    assert_eq!(accepted.status, 201, "{accepted:?}");
    assert_eq!(accepted.body["properties"]["provisioningState"], "Accepted");
    assert_eq!(accepted.body["type"], "Microsoft.Resources/deployments");
    assert_eq!(accepted.body["name"], "d1");
    assert!(
        accepted.headers["azure-asyncoperation"].contains("/deployments/d1/operationStatuses/"),
        "{accepted:?}"
    );
    let statuses = poll(&cloud, &accepted);
    assert_eq!(
        statuses.first().unwrap()["status"],
        "Running",
        "{statuses:?}"
    );
    assert_eq!(
        statuses.last().unwrap()["status"],
        "Succeeded",
        "{statuses:?}"
    );

    let deployment = cloud.arm("GET", &deployment_path(&cloud, "d1"), None);
    assert_eq!(deployment.status, 200);
    let properties = &deployment.body["properties"];
    assert_eq!(properties["provisioningState"], "Succeeded");
    assert_eq!(properties["mode"], "Incremental");
    assert_eq!(
        properties["parameters"],
        json!({"clusterName": {"type": "String", "value": "c1"},
               "location": {"type": "String", "value": "eastus"}})
    );
    let output_id = properties["outputResources"][0]["id"].as_str().unwrap();
    assert!(output_id.ends_with("/managedClusters/c1"), "{output_id}");
    assert!(
        requests(&cloud, "PUT", "/managedClusters/").is_empty(),
        "the client PUT only the deployment"
    );

    cloud.run_json(&create_args(&cloud, "c2", &[]));
    let deployed = cloud.arm("GET", &cluster_path(&cloud, "c1"), None);
    let direct = cloud.arm("GET", &cluster_path(&cloud, "c2"), None);
    assert_eq!(deployed.status, 200);
    assert_eq!(
        deployed.body["properties"]["provisioningState"],
        "Succeeded"
    );
    assert_eq!(
        deployed.body["properties"]["aadProfile"]["adminGroupObjectIDs"],
        json!([cloud.ready().admin_group_id])
    );
    assert_eq!(comparable(deployed.body), comparable(direct.body));

    // The deployment's cluster works like any other: Entra credentials for it.
    let kubeconfig = cloud.run_ok(&[
        "aks",
        "get-credentials",
        "-g",
        "rg",
        "-n",
        "c1",
        "--file",
        "-",
    ]);
    assert!(kubeconfig.contains("kubelogin"), "{kubeconfig}");
}

#[test]
fn update_export_gives_a_managed_aad_template_for_a_non_aad_cluster() {
    let cloud = cloud();
    group(&cloud, "rg");
    cloud.run_json(&["aks", "create", "-g", "rg", "-n", "plain", "--no-ssh-key"]);
    cloud.clear_requests();

    let output = cloud.run(&[
        "aks",
        "update",
        "-g",
        "rg",
        "-n",
        "plain",
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &cloud.ready().admin_group_id,
        "--export-template",
        "-",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("Wrote the ARM deployment template of cluster 'plain' to standard output"),
        "{}",
        stderr(&output)
    );
    let template: Value = serde_json::from_slice(&output.stdout).unwrap();
    let resource = &template["resources"][0];
    assert_eq!(
        resource["properties"]["aadProfile"],
        json!({"managed": true, "adminGroupObjectIDs": [cloud.ready().admin_group_id]})
    );
    assert_eq!(
        template["parameters"]["clusterName"]["defaultValue"],
        "plain"
    );
    for read_only in [
        "provisioningState",
        "fqdn",
        "powerState",
        "currentKubernetesVersion",
    ] {
        assert!(
            resource["properties"].get(read_only).is_none(),
            "{read_only}"
        );
    }
    assert_eq!(requests(&cloud, "GET", "/managedClusters/plain").len(), 1);
    assert!(
        requests(&cloud, "PUT", "").is_empty(),
        "nothing is written to ARM"
    );
    let shown = cloud.run_json(&["aks", "show", "-g", "rg", "-n", "plain"]);
    assert!(shown["aadProfile"].is_null(), "the cluster is unchanged");

    // Deploying it is the update.
    let accepted = deploy(&cloud, "enable-aad", &template, json!({}));
    assert_eq!(accepted.status, 201, "{accepted:?}");
    assert_eq!(
        poll(&cloud, &accepted).last().unwrap()["status"],
        "Succeeded"
    );
    let shown = cloud.run_json(&["aks", "show", "-g", "rg", "-n", "plain"]);
    assert_eq!(shown["aadProfile"]["managed"], true);
}

#[test]
fn unsupported_expressions_and_aks_rules_fail_the_deployment() {
    let cloud = cloud();
    group(&cloud, "rg");
    let mut args = create_args(&cloud, "c1", &[]);
    args.extend(["--export-template", "-"]);
    let template: Value = serde_json::from_str(&cloud.run_ok(&args)).unwrap();

    let mut unsupported = template.clone();
    let expression = "[concat(parameters('clusterName'), '-dns')]";
    unsupported["resources"][0]["properties"]["dnsPrefix"] = json!(expression);
    let refused = deploy(&cloud, "bad", &unsupported, json!({}));
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.body["error"]["code"], "InvalidTemplate");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(expression), "{message}");
    assert!(
        message.contains("resources[0].properties.dnsPrefix"),
        "{message}"
    );
    let recorded = cloud.arm("GET", &deployment_path(&cloud, "bad"), None);
    assert_eq!(recorded.body["properties"]["provisioningState"], "Failed");
    assert_eq!(
        recorded.body["properties"]["error"]["code"],
        "InvalidTemplate"
    );
    assert_eq!(
        cloud.arm("GET", &cluster_path(&cloud, "c1"), None).status,
        404
    );

    // An AKS rule the direct PUT enforces fails the deployment with the PUT's own error inside.
    let mut no_rbac = template.clone();
    no_rbac["resources"][0]["properties"]["enableRBAC"] = json!(false);
    let accepted = deploy(&cloud, "no-rbac", &no_rbac, json!({}));
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let last = poll(&cloud, &accepted).pop().unwrap();
    assert_eq!(last["status"], "Failed");
    assert_eq!(last["error"]["code"], "DeploymentFailed");
    assert_eq!(last["error"]["details"][0]["code"], "BadRequest");
    assert_eq!(
        last["error"]["details"][0]["target"],
        "properties.enableRBAC"
    );
    let failed = cloud.arm("GET", &deployment_path(&cloud, "no-rbac"), None);
    assert_eq!(failed.body["properties"]["provisioningState"], "Failed");
    assert_eq!(
        cloud.arm("GET", &cluster_path(&cloud, "c1"), None).status,
        404
    );

    // An unknown parameter is ARM's InvalidTemplate too.
    let unknown = deploy(&cloud, "unknown", &template, json!({"nope": {"value": 1}}));
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["error"]["code"], "InvalidTemplate");
}

/// A deployment belongs to its subscription: deployed into another subscription's group, its ids, its clusters and
/// its listing are that subscription's; the same names in the emulator's own subscription are another deployment
/// and another group; and deleting the other subscription's group drops its deployments, not the own group's.
#[test]
fn a_deployment_in_another_subscription_stays_there_and_goes_with_its_group() {
    const OTHER: &str = "00000000-0000-0000-0000-0000000000d1";
    let cloud = cloud();
    group(&cloud, "rg");
    cloud.management(
        "POST",
        "seed",
        Some(json!({"subscriptions": [OTHER],
                    "resource_groups": [{"subscription": OTHER, "name": "rg", "location": "eastus"}]})),
    );
    let mut args = create_args(&cloud, "c1", &[]);
    args.extend(["--export-template", "-"]);
    let template: Value = serde_json::from_str(&cloud.run_ok(&args)).unwrap();
    let own = cloud.ready().subscription_id.clone();
    let in_other = |path: String| path.replacen(&own, OTHER, 1);

    let body = |name: &str| {
        json!({"properties": {"mode": "Incremental", "template": template,
                              "parameters": {"clusterName": {"value": name}}}})
    };
    let accepted = cloud.arm(
        "PUT",
        &in_other(deployment_path(&cloud, "d1")),
        Some(body("x1")),
    );
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let id = accepted.body["id"].as_str().unwrap().to_ascii_lowercase();
    assert!(id.starts_with(&format!("/subscriptions/{OTHER}/")), "{id}");
    assert!(
        accepted.headers["azure-asyncoperation"].contains(OTHER),
        "{accepted:?}"
    );
    assert_eq!(
        poll(&cloud, &accepted).last().unwrap()["status"],
        "Succeeded"
    );
    let deployed = cloud.arm("GET", &in_other(deployment_path(&cloud, "d1")), None);
    let output = deployed.body["properties"]["outputResources"][0]["id"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        output.starts_with(&format!("/subscriptions/{OTHER}/")),
        "{output}"
    );
    assert_eq!(
        cloud
            .arm("GET", &in_other(cluster_path(&cloud, "x1")), None)
            .status,
        200
    );
    assert_eq!(
        cloud.arm("GET", &cluster_path(&cloud, "x1"), None).status,
        404
    );

    // The own subscription's group of the same name knows no deployment d1 until one is made there.
    let absent = cloud.arm("GET", &deployment_path(&cloud, "d1"), None);
    assert_eq!(absent.status, 404, "{absent:?}");
    assert_eq!(absent.body["error"]["code"], "DeploymentNotFound");
    let own_accepted = cloud.arm("PUT", &deployment_path(&cloud, "d1"), Some(body("y1")));
    assert_eq!(own_accepted.status, 201, "{own_accepted:?}");
    assert_eq!(
        poll(&cloud, &own_accepted).last().unwrap()["status"],
        "Succeeded"
    );
    let list = |path: String| {
        let answer = cloud.arm("GET", &path.replacen("/d1?", "?", 1), None);
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(in_other(deployment_path(&cloud, "d1"))),
        vec![id.clone()]
    );
    let own_ids = list(deployment_path(&cloud, "d1"));
    assert_eq!(own_ids.len(), 1, "{own_ids:?}");
    assert!(own_ids[0].starts_with(&format!("/subscriptions/{}/", own.to_ascii_lowercase())));

    // Deleting the other subscription's group drops its deployment; a new group of that name starts empty, and the
    // own group's deployment is still there.
    let group_path = format!("subscriptions/{OTHER}/resourcegroups/rg?api-version=2022-09-01");
    assert_eq!(cloud.arm("DELETE", &group_path, None).status, 202);
    let recreated = cloud.arm("PUT", &group_path, Some(json!({"location": "eastus"})));
    assert!(
        recreated.status == 201 || recreated.status == 200,
        "{recreated:?}"
    );
    assert!(list(in_other(deployment_path(&cloud, "d1"))).is_empty());
    assert_eq!(
        cloud
            .arm("GET", &deployment_path(&cloud, "d1"), None)
            .status,
        200
    );
}
