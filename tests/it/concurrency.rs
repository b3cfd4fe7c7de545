//! Many aksctl processes writing one kubeconfig at once (issue: reliability, point 1).

use std::fs;

use serde_json::Value;

use crate::{cloud, stderr};

#[test]
fn parallel_get_credentials_keep_every_context() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "-n", "rg1", "-l", "eastus"]);
    const CLUSTERS: usize = 32;
    let names: Vec<String> = (0..CLUSTERS).map(|i| format!("c{i:02}")).collect();
    // Seed the clusters (already Succeeded) through the emulator's management API.
    let clusters: Vec<Value> = names
        .iter()
        .map(|name| {
            serde_json::json!({"resource_group": "rg1", "name": name, "body": {
                "location": "eastus",
                "properties": {"dnsPrefix": name, "enableRBAC": true, "kubernetesVersion": "1.32",
                    "aadProfile": {"managed": true, "adminGroupObjectIDs": [cloud.ready().admin_group_id]},
                    "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "mode": "System"}]}
            }})
        })
        .collect();
    cloud.management(
        "POST",
        "seed",
        Some(serde_json::json!({"clusters": clusters})),
    );
    let kubeconfig = cloud.dir().join("shared-kubeconfig");
    let unrelated = "apiVersion: v1\nclusters:\n- cluster: {server: 'https://127.0.0.1:1'}\n  name: keep\ncontexts:\n- context: {cluster: keep, user: keep}\n  name: keep\ncurrent-context: keep\nkind: Config\npreferences: {}\nusers:\n- name: keep\n  user: {token: keep-token}\n";
    fs::write(&kubeconfig, unrelated).unwrap();
    let file = kubeconfig.to_str().unwrap().to_string();
    let children: Vec<_> = names
        .iter()
        .map(|name| {
            let mut command = cloud.std_command();
            command.args([
                "aks",
                "get-credentials",
                "-g",
                "rg1",
                "-n",
                name,
                "--file",
                &file,
            ]);
            command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().expect("spawn aksctl")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let doc: Value =
        serde_saphyr::from_str(&fs::read_to_string(&kubeconfig).unwrap()).expect("valid YAML");
    let contexts: Vec<&str> = doc["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in &names {
        assert!(
            contexts.contains(&name.as_str()),
            "context {name} lost: {contexts:?}"
        );
    }
    assert_eq!(contexts.len(), CLUSTERS + 1);
    assert_eq!(doc["users"].as_array().unwrap().len(), CLUSTERS + 1);
    let keep = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "keep")
        .unwrap();
    assert_eq!(
        keep["user"]["token"], "keep-token",
        "the unrelated user is untouched"
    );
    assert!(
        !cloud.dir().join("shared-kubeconfig.lock").exists(),
        "the lock file is removed"
    );
}
