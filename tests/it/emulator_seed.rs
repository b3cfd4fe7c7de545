//! `aksctl emulator seed`: seeding a running emulator through its management API without curl, including the
//! `--legacy-cluster RG/NAME` shortcut for legacy-AAD clusters, and its refusals of bad input.

use std::io::Write as _;
use std::process::{Output, Stdio};

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::{cloud, stderr};

fn seed(cloud: &TestCloud, args: &[&str]) -> Output {
    cloud
        .command()
        .args(["emulator", "seed"])
        .args(args)
        .args(["--management", &cloud.ready().management])
        .output()
        .unwrap()
}

fn clusters(cloud: &TestCloud) -> Vec<Value> {
    cloud.management("GET", "state", None)["clusters"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn legacy_clusters_are_seeded_in_groups_created_when_missing() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    cloud.run_json(&[
        "group",
        "create",
        "--name",
        "existing",
        "--location",
        "westeurope",
    ]);
    let output = seed(
        &cloud,
        &[
            "--legacy-cluster",
            "rg-legacy/old1",
            "--legacy-cluster",
            "rg-legacy/old2",
            "--legacy-cluster",
            "existing/old3",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer, json!({"clusters": 3, "resource_groups": 2}));

    // The group that existed keeps its location; the missing one was created.
    let group = cloud.run_json(&["group", "show", "--name", "existing"]);
    assert_eq!(group["location"], "westeurope");
    let group = cloud.run_json(&["group", "show", "--name", "rg-legacy"]);
    assert_eq!(group["location"], "eastus");

    let show = cloud.run_json(&["aks", "show", "-g", "rg-legacy", "-n", "old1"]);
    assert_eq!(show["provisioningState"], "Succeeded");
    assert_eq!(show["enableRbac"], true);
    let aad = &show["aadProfile"];
    assert!(aad["managed"].is_null() || aad["managed"] == false, "{aad}");
    assert_eq!(aad["tenantId"], ready.tenant_id.as_str());
    let server_app = aad["serverAppId"].as_str().unwrap();
    assert_eq!(server_app.len(), 36, "{aad}");
    assert_ne!(aad["clientAppId"], aad["serverAppId"]);
    let other = cloud.run_json(&["aks", "show", "-g", "rg-legacy", "-n", "old2"]);
    assert_ne!(other["aadProfile"]["serverAppId"], aad["serverAppId"]);

    // A legacy cluster as the guide's migration section expects: the auth-provider names its own server app.
    let kubeconfig = cloud.run_ok(&[
        "aks",
        "get-credentials",
        "-g",
        "rg-legacy",
        "-n",
        "old1",
        "--format",
        "azure",
        "--file",
        "-",
    ]);
    assert!(
        kubeconfig.contains(&format!("apiserver-id: {server_app}")),
        "{kubeconfig}"
    );
    assert!(
        !kubeconfig.contains("config-mode"),
        "legacy AAD: {kubeconfig}"
    );
}

#[test]
fn a_seed_file_or_standard_input_is_sent_as_is() {
    let cloud = cloud();
    let file = cloud.dir().join("seed.json");
    std::fs::write(
        &file,
        json!({
            "resource_groups": [{"name": "rg1", "location": "centralus"}],
            "clusters": [{"resource_group": "rg1", "name": "plain", "body": {
                "location": "centralus",
                "properties": {"kubernetesVersion": "1.31", "enableRBAC": true,
                               "agentPoolProfiles": [{"name": "pool1", "count": 2, "mode": "System"}]}
            }}]
        })
        .to_string(),
    )
    .unwrap();
    let output = seed(
        &cloud,
        &[file.to_str().unwrap(), "--legacy-cluster", "rg1/old"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        serde_json::from_slice::<Value>(&output.stdout).unwrap(),
        json!({"clusters": 2, "resource_groups": 1})
    );
    let plain = cloud.run_json(&["aks", "show", "-g", "rg1", "-n", "plain"]);
    assert_eq!(plain["kubernetesVersion"], "1.31");
    assert!(plain["aadProfile"].is_null());

    let mut child = cloud
        .std_command()
        .args([
            "emulator",
            "seed",
            "-",
            "--management",
            &cloud.ready().management,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"resource_groups": [{"name": "from-stdin", "location": "eastus"}]}"#)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    cloud.run_json(&["group", "show", "--name", "from-stdin"]);
}

#[test]
fn bad_input_is_refused_with_the_value_named_and_nothing_seeded() {
    let cloud = cloud();
    let not_json = cloud.dir().join("not.json");
    std::fs::write(&not_json, "resource_groups: []\n").unwrap();
    let a_list = cloud.dir().join("list.json");
    std::fs::write(&a_list, "[]").unwrap();
    let missing = cloud.dir().join("missing.json");
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (
            vec!["--legacy-cluster", "just-a-name"],
            2,
            "'just-a-name'".into(),
        ),
        (vec!["--legacy-cluster", "rg/a/b"], 2, "'rg/a/b'".into()),
        (
            vec!["--legacy-cluster", "rg1/bad_name!"],
            1,
            "bad_name!".into(),
        ),
        (vec![], 2, "--legacy-cluster".into()),
        (
            vec![not_json.to_str().unwrap()],
            1,
            format!("{} is not JSON", not_json.display()),
        ),
        (
            vec![a_list.to_str().unwrap()],
            1,
            "is not a seed document".into(),
        ),
        (
            vec![missing.to_str().unwrap()],
            1,
            missing.display().to_string(),
        ),
    ];
    for (args, code, named) in cases {
        let output = seed(&cloud, &args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(&named),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }

    let output = cloud
        .command()
        .args([
            "emulator",
            "seed",
            "--legacy-cluster",
            "rg1/c1",
            "--management",
            "127.0.0.1:1",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("'127.0.0.1:1'"),
        "{}",
        stderr(&output)
    );

    let output = cloud
        .command()
        .args(["emulator", "seed", "--legacy-cluster", "rg1/c1"])
        .args(["--management", "https://127.0.0.1:1/_emulator/"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("cannot reach the emulator at https://127.0.0.1:1/_emulator/state"),
        "{}",
        stderr(&output)
    );

    // The emulator's own refusal (a cluster entry without a body) comes back as exit 1 with its message.
    let bad_location = cloud.dir().join("no-body.json");
    std::fs::write(
        &bad_location,
        r#"{"clusters": [{"resource_group": "rg9", "name": "c9"}]}"#,
    )
    .unwrap();
    let output = seed(&cloud, &[bad_location.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("the emulator refused POST"),
        "{}",
        stderr(&output)
    );

    assert!(clusters(&cloud).is_empty());
}
