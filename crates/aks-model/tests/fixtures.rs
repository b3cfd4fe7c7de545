//! Outside truth for the model: the ARM spec examples and the bodies in az's recorded traffic parse into the
//! typed model and serialize back without losing or changing anything.

use std::path::PathBuf;

use aks_model::{CredentialResults, ManagedCluster, ResourceGroup, az_view};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn assert_round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(
    what: &str,
    body: &Value,
) -> T {
    let typed: T = serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(&back, body, "{what} changed on a round trip");
    typed
}

#[test]
fn arm_spec_examples_round_trip() {
    let dir = fixtures().join("arm-examples");
    let mut clusters = 0;
    for name in [
        "ManagedClustersCreate_UpdateWithEnableAzureRBAC.json",
        "ManagedClustersGet.json",
    ] {
        let example: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        if let Some(request) = example["parameters"].get("parameters") {
            assert_round_trip::<ManagedCluster>(&format!("{name} request"), request);
            clusters += 1;
        }
        for (status, response) in example["responses"].as_object().unwrap() {
            if let Some(body) = response.get("body") {
                let cluster: ManagedCluster = assert_round_trip(&format!("{name} {status}"), body);
                assert!(cluster.properties.provisioning_state.is_some());
                clusters += 1;
            }
        }
    }
    assert!(clusters >= 4, "only {clusters} cluster bodies found");
    for name in [
        "ManagedClustersListClusterUserCredentials.json",
        "ManagedClustersListClusterAdminCredentials.json",
    ] {
        let example: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        let body = &example["responses"]["200"]["body"];
        let results: CredentialResults = assert_round_trip(name, body);
        assert_eq!(results.kubeconfigs.len(), 1);
    }
}

#[test]
fn the_azure_rbac_example_reads_as_managed_aad() {
    let text = std::fs::read_to_string(
        fixtures().join("arm-examples/ManagedClustersCreate_UpdateWithEnableAzureRBAC.json"),
    )
    .unwrap();
    let example: Value = serde_json::from_str(&text).unwrap();
    let cluster: ManagedCluster =
        serde_json::from_value(example["responses"]["200"]["body"].clone()).unwrap();
    let aad = cluster.properties.aad_profile.as_ref().unwrap();
    assert!(aad.is_managed());
    assert_eq!(aad.enable_azure_rbac, Some(true));
    assert_eq!(aad.admin_group_object_ids, Some(None), "explicit null kept");
    let view = az_view::managed_cluster(&example["responses"]["200"]["body"]);
    assert_eq!(view["aadProfile"]["enableAzureRbac"], Value::Bool(true));
    assert_eq!(view["aadProfile"]["adminGroupObjectIDs"], Value::Null);
    assert_eq!(
        view["aadProfile"]["tenantId"],
        Value::String("tenantID".into())
    );
    assert_eq!(view["enableRbac"], Value::Bool(true));
    assert_eq!(view["resourceGroup"], Value::String("rg1".into()));
}

/// Every JSON body az sent or received for clusters and resource groups in the recordings.
#[test]
fn az_recorded_bodies_round_trip() {
    let dir = fixtures().join("az-recordings");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let recording: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (index, interaction) in recording["interactions"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let uri = interaction["request"]["uri"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let what = format!(
                "{} #{index} {uri}",
                path.file_name().unwrap().to_string_lossy()
            );
            let mut bodies = Vec::new();
            if let Some(text) = interaction["response"]["body"]["string"].as_str() {
                bodies.push(text.to_string());
            }
            if let Some(text) = interaction["request"]["body"].as_str() {
                bodies.push(text.to_string());
            }
            for text in bodies {
                let Ok(body) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let path_only = uri.split('?').next().unwrap_or_default();
                if path_only.contains("/managedclusters/")
                    && !path_only.contains("/list")
                    && body.get("properties").is_some()
                {
                    assert_round_trip::<ManagedCluster>(&what, &body);
                    seen += 1;
                } else if path_only.ends_with(&format!(
                    "/resourcegroups/{}",
                    path_only.rsplit('/').next().unwrap_or_default()
                )) && body.get("location").is_some()
                {
                    assert_round_trip::<ResourceGroup>(&what, &body);
                    seen += 1;
                }
            }
        }
    }
    assert!(seen >= 10, "only {seen} bodies checked");
}
