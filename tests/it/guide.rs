//! The guide's first half as aksctl commands: group create → aks create --enable-aad → get-credentials.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};

use crate::{cloud, create_aad_cluster, stderr};

#[test]
fn group_create_prints_the_group_like_az() {
    let cloud = cloud();
    let group = cloud.run_json(&[
        "group",
        "create",
        "--name",
        "myResourceGroup",
        "--location",
        "centralus",
    ]);
    let subscription = &cloud.ready().subscription_id;
    assert_eq!(
        group,
        json!({
            "id": format!("/subscriptions/{subscription}/resourceGroups/myResourceGroup"),
            "location": "centralus",
            "managedBy": null,
            "name": "myResourceGroup",
            "properties": {"provisioningState": "Succeeded"},
            "tags": null,
            "type": "Microsoft.Resources/resourceGroups"
        })
    );
    let puts: Vec<Value> = cloud
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "PUT")
        .collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(
        puts[0]["body"],
        json!({"location": "centralus"}),
        "the same body az sends"
    );
}

#[test]
fn aks_create_with_managed_aad_as_in_the_guide() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    cloud.run_json(&[
        "group",
        "create",
        "--name",
        "myResourceGroup",
        "--location",
        "centralus",
    ]);
    cloud.clear_requests();
    let output = cloud.run(&[
        "aks",
        "create",
        "--resource-group",
        "myResourceGroup",
        "--name",
        "myManagedCluster",
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &ready.admin_group_id,
        "--aad-tenant-id",
        &ready.tenant_id,
        "--generate-ssh-keys",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let cluster: Value = serde_json::from_slice(&output.stdout).unwrap();

    // Field by field, in az's shape.
    assert_eq!(cluster["name"], "myManagedCluster");
    assert_eq!(cluster["resourceGroup"], "myResourceGroup");
    assert_eq!(cluster["location"], "centralus");
    assert_eq!(cluster["provisioningState"], "Succeeded");
    assert_eq!(cluster["enableRbac"], true);
    assert_eq!(cluster["disableLocalAccounts"], false);
    assert_eq!(
        cluster["aadProfile"],
        json!({
            "adminGroupObjectIDs": [ready.admin_group_id],
            "clientAppId": null,
            "enableAzureRbac": false,
            "managed": true,
            "serverAppId": null,
            "serverAppSecret": null,
            "tenantId": ready.tenant_id
        })
    );
    assert!(
        cluster["fqdn"]
            .as_str()
            .unwrap()
            .ends_with(".hcp.centralus.azmk8s.io"),
        "{}",
        cluster["fqdn"]
    );
    assert_eq!(
        cluster["nodeResourceGroup"],
        "MC_myResourceGroup_myManagedCluster_centralus"
    );
    assert_eq!(cluster["sku"], json!({"name": "Base", "tier": "Free"}));
    assert_eq!(cluster["identity"]["type"], "SystemAssigned");
    assert!(
        cluster["id"]
            .as_str()
            .unwrap()
            .ends_with("/managedClusters/myManagedCluster")
    );
    let keys: Vec<&String> = cluster.as_object().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys sorted like az");

    // The SSH key pair was generated where az puts it, and az's warning was printed.
    let public_key = fs::read_to_string(cloud.home().join(".ssh/id_rsa.pub")).unwrap();
    assert!(public_key.starts_with("ssh-rsa "));
    let private_mode = fs::metadata(cloud.home().join(".ssh/id_rsa"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(private_mode, 0o600);
    assert!(
        stderr(&output).contains("WARNING: SSH key files '"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        cluster["linuxProfile"]["ssh"]["publicKeys"][0]["keyData"],
        public_key.trim()
    );

    // The wire sequence and PUT body az sends (docs/az-behaviour.md, "The requests az makes" and "aks create").
    let requests = cloud.requests();
    let calls: Vec<String> = requests
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap().to_ascii_lowercase()
            )
        })
        .collect();
    let cluster_path = format!(
        "/subscriptions/{}/resourcegroups/myresourcegroup/providers/microsoft.containerservice/managedclusters/mymanagedcluster",
        ready.subscription_id
    );
    assert_eq!(
        calls.first().unwrap(),
        &format!("GET {cluster_path}"),
        "existence check first: {calls:?}"
    );
    assert!(calls.contains(&format!("PUT {cluster_path}")), "{calls:?}");
    assert!(
        calls.iter().any(|c| c.contains("/operations/")),
        "polled the async operation: {calls:?}"
    );
    assert_eq!(
        calls.last().unwrap(),
        &format!("GET {cluster_path}"),
        "final GET: {calls:?}"
    );
    let put = requests.iter().find(|r| r["method"] == "PUT").unwrap();
    let body = &put["body"];
    assert_eq!(
        body["properties"]["aadProfile"],
        json!({"managed": true, "enableAzureRBAC": false, "adminGroupObjectIDs": [ready.admin_group_id], "tenantID": ready.tenant_id})
    );
    assert_eq!(body["location"], "centralus");
    assert_eq!(body["identity"], json!({"type": "SystemAssigned"}));
    assert_eq!(body["sku"], json!({"name": "Base", "tier": "Free"}));
    assert_eq!(body["properties"]["enableRBAC"], true);
    assert_eq!(body["properties"]["disableLocalAccounts"], false);
    assert_eq!(
        body["properties"]["dnsPrefix"],
        format!("myManagedC-myResourceGroup-{}", &ready.subscription_id[..6])
    );
    assert_eq!(
        body["properties"]["agentPoolProfiles"][0]["name"],
        "nodepool1"
    );
    assert_eq!(body["properties"]["agentPoolProfiles"][0]["count"], 3);
    assert_eq!(body["properties"]["agentPoolProfiles"][0]["mode"], "System");
}

#[test]
fn aks_create_without_a_tenant_gets_the_subscription_tenant() {
    let cloud = cloud();
    let cluster = create_aad_cluster(&cloud, "rg1", "c1");
    assert_eq!(
        cluster["aadProfile"]["tenantId"],
        cloud.ready().tenant_id.as_str()
    );
    let put = cloud
        .requests()
        .into_iter()
        .find(|r| r["method"] == "PUT" && r["path"].as_str().unwrap().contains("managedClusters"))
        .unwrap();
    assert!(
        put["body"]["properties"]["aadProfile"]
            .get("tenantID")
            .is_none(),
        "az leaves tenantID to the server"
    );
    assert!(
        put["body"]["properties"].get("linuxProfile").is_none(),
        "--no-ssh-key"
    );
}

const UNRELATED: &str = "apiVersion: v1
clusters:
- cluster:
    server: https://127.0.0.1:1
    extensions:
    - name: team
      extension: {owner: platform}
  name: other
contexts:
- context:
    cluster: other
    namespace: \"yes\"
    user: other-user
  name: other
current-context: other
kind: Config
preferences: {}
users:
- name: other-user
  user:
    token: \"0123\"
x-unknown-top-level: {keep: me}
";

fn parse(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

fn named<'a>(doc: &'a Value, key: &str, name: &str) -> Option<&'a Value> {
    doc[key].as_array()?.iter().find(|e| e["name"] == name)
}

#[test]
fn get_credentials_exec_and_azure_merge_into_a_kubeconfig_with_other_clusters() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    let kubeconfig = cloud.dir().join("kube/config");
    fs::create_dir_all(kubeconfig.parent().unwrap()).unwrap();
    fs::write(&kubeconfig, UNRELATED).unwrap();
    fs::set_permissions(&kubeconfig, fs::Permissions::from_mode(0o600)).unwrap();
    let before = parse(UNRELATED);
    let file = kubeconfig.to_str().unwrap();

    let output = cloud.run(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--format",
        "exec",
        "--file",
        file,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        output.stdout.is_empty(),
        "get-credentials prints nothing on stdout"
    );
    assert!(
        stderr(&output).contains(&format!(
            "WARNING: Merged \"c1\" as current context in {file}"
        )),
        "{}",
        stderr(&output)
    );
    let after = parse(&fs::read_to_string(&kubeconfig).unwrap());
    for (key, name) in [
        ("clusters", "other"),
        ("contexts", "other"),
        ("users", "other-user"),
    ] {
        assert_eq!(
            named(&after, key, name),
            named(&before, key, name),
            "{key}/{name} untouched"
        );
    }
    assert_eq!(after["x-unknown-top-level"], json!({"keep": "me"}));
    assert_eq!(after["current-context"], "c1");
    let user = named(&after, "users", "clusterUser_rg1_c1").expect("user merged");
    let exec = &user["user"]["exec"];
    assert_eq!(exec["command"], "kubelogin");
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
    let args: Vec<&str> = exec["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "get-token",
            "--environment",
            "AzurePublicCloud",
            "--server-id",
            "6dae42f8-4368-4678-94ff-3960e28e3630",
            "--client-id",
            "80faf920-1908-4b52-b5ef-a8e7bedfc67a",
            "--tenant-id",
            cloud.ready().tenant_id.as_str(),
            "--login",
            "devicecode"
        ]
    );
    assert_eq!(
        fs::metadata(&kubeconfig).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The same cluster again in azure format: a different user under the same name is a conflict, like az.
    let conflict = cloud.run(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--format",
        "azure",
        "--file",
        file,
    ]);
    assert_eq!(conflict.status.code(), Some(1));
    assert!(
        stderr(&conflict).contains("ERROR: A different object named clusterUser_rg1_c1 already exists in users in your kubeconfig file."),
        "{}",
        stderr(&conflict)
    );
    assert_eq!(
        parse(&fs::read_to_string(&kubeconfig).unwrap()),
        after,
        "nothing written on a conflict"
    );

    let output = cloud.run(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--format",
        "azure",
        "--file",
        file,
        "--overwrite-existing",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let after = parse(&fs::read_to_string(&kubeconfig).unwrap());
    let provider = &named(&after, "users", "clusterUser_rg1_c1").unwrap()["user"]["auth-provider"];
    assert_eq!(provider["name"], "azure");
    assert_eq!(
        provider["config"]["apiserver-id"],
        "6dae42f8-4368-4678-94ff-3960e28e3630"
    );
    assert_eq!(
        provider["config"]["client-id"],
        "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
    );
    assert_eq!(provider["config"]["config-mode"], "1");
    assert_eq!(
        provider["config"]["tenant-id"],
        cloud.ready().tenant_id.as_str()
    );
    assert_eq!(
        named(&after, "clusters", "other"),
        named(&before, "clusters", "other")
    );
    assert_eq!(after["contexts"].as_array().unwrap().len(), 2);

    // Real kubectl reads the merged file (its server is the emulator's 127.0.0.1 Kubernetes endpoint).
    let kubectl = std::process::Command::new("kubectl")
        .args(["config", "view", "-o", "json", "--kubeconfig", file])
        .env("HOME", cloud.home())
        .env("KUBECACHEDIR", cloud.dir().join("kube-cache"))
        .output()
        .expect("kubectl runs");
    assert!(
        kubectl.status.success(),
        "kubectl config view: {}",
        stderr(&kubectl)
    );
    let view: Value = serde_json::from_slice(&kubectl.stdout).unwrap();
    let contexts: Vec<&str> = view["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(contexts, ["c1", "other"], "kubectl lists contexts by name");
    let in_file: Vec<&str> = after["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(in_file, ["other", "c1"], "az appends the new context");
    assert_eq!(view["current-context"], "c1");
    let server = view["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "c1")
        .unwrap()["cluster"]["server"]
        .clone();
    assert!(
        server.as_str().unwrap().starts_with("https://127.0.0.1:"),
        "{server}"
    );
}

#[test]
fn get_credentials_default_file_admin_context_and_stdout() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    // Default: ~/.kube/config, created 0600 with the parent directory.
    let output = cloud.run(&["aks", "get-credentials", "-g", "rg1", "-n", "c1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let path = cloud.default_kubeconfig();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let doc = parse(&fs::read_to_string(&path).unwrap());
    assert!(
        named(&doc, "users", "clusterUser_rg1_c1").unwrap()["user"]
            .get("exec")
            .is_some(),
        "exec is the default for AAD >= 1.24"
    );

    // --admin gets "-admin" appended to the context name by the client, like az.
    let output = cloud.run(&["aks", "get-credentials", "-g", "rg1", "-n", "c1", "--admin"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Merged \"c1-admin\" as current context"),
        "{}",
        stderr(&output)
    );
    let doc = parse(&fs::read_to_string(&path).unwrap());
    assert_eq!(doc["current-context"], "c1-admin");
    assert!(
        named(&doc, "users", "clusterAdmin_rg1_c1").unwrap()["user"]
            .get("client-certificate-data")
            .is_some()
    );

    // --context renames the context and the cluster, not the user.
    let output = cloud.run(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--context",
        "myctx",
        "--overwrite-existing",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let doc = parse(&fs::read_to_string(&path).unwrap());
    assert_eq!(
        named(&doc, "contexts", "myctx").unwrap()["context"]["cluster"],
        "myctx"
    );
    assert!(named(&doc, "clusters", "myctx").is_some());

    // KUBECONFIG's first entry replaces the default file.
    let first = cloud.dir().join("from-env");
    let output = cloud
        .command()
        .env(
            "KUBECONFIG",
            format!("{}:{}", first.display(), path.display()),
        )
        .args(["aks", "get-credentials", "-g", "rg1", "-n", "c1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(parse(&fs::read_to_string(&first).unwrap())["users"].is_array());

    // --file - prints the server's YAML and writes nothing.
    let before = fs::read(&path).unwrap();
    let stdout = cloud.run_ok(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--file",
        "-",
        "--format",
        "azure",
    ]);
    assert!(stdout.contains("auth-provider:"), "{stdout}");
    assert!(stdout.ends_with('\n'));
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn no_wait_show_list_and_delete() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "-n", "rg1", "-l", "westeurope"]);
    let stdout = cloud.run_ok(&[
        "aks",
        "create",
        "-g",
        "rg1",
        "-n",
        "c2",
        "--no-ssh-key",
        "--no-wait",
    ]);
    assert!(stdout.is_empty(), "--no-wait prints nothing: {stdout}");
    let shown = cloud.run_json(&["aks", "show", "-g", "rg1", "-n", "c2"]);
    assert_eq!(shown["name"], "c2");
    assert_eq!(
        shown["aadProfile"],
        Value::Null,
        "no --enable-aad, no aadProfile"
    );
    let listed = cloud.run_json(&["aks", "list", "-g", "rg1"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let everywhere = cloud.run_json(&["aks", "list"]);
    assert_eq!(everywhere.as_array().unwrap().len(), 1);
    // Wait for the create to finish (the emulator's state, polled; a create that never ends fails here), then
    // delete and wait.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let state =
            cloud.run_json(&["aks", "show", "-g", "rg1", "-n", "c2"])["provisioningState"].clone();
        if state == "Succeeded" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the --no-wait create never finished: {state}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let stdout = cloud.run_ok(&["aks", "delete", "-g", "rg1", "-n", "c2", "--yes"]);
    assert!(stdout.is_empty());
    let gone = cloud.run(&["aks", "show", "-g", "rg1", "-n", "c2"]);
    assert_eq!(gone.status.code(), Some(3), "{}", stderr(&gone));
}
