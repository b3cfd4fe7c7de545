//! Output formats, query, and the token cache across invocations.

use crate::{cloud, create_aad_cluster};

#[test]
fn table_tsv_query_and_none() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    let table = cloud.run_ok(&["aks", "show", "-g", "rg1", "-n", "c1", "-o", "table"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    let headers: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        headers,
        [
            "Name",
            "Location",
            "ResourceGroup",
            "KubernetesVersion",
            "CurrentKubernetesVersion",
            "ProvisioningState",
            "Fqdn"
        ]
    );
    assert!(lines[1].chars().all(|c| c == '-' || c == ' '));
    assert!(lines[2].starts_with("c1      eastus      rg1"), "{table}");
    let group_table = cloud.run_ok(&["group", "list", "-o", "table"]);
    assert_eq!(
        group_table
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["Name", "Location", "Status"]
    );
    let managed = cloud.run_ok(&[
        "aks",
        "show",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--query",
        "aadProfile.managed",
        "-o",
        "tsv",
    ]);
    assert_eq!(
        managed, "true\n",
        "a top-level boolean prints lower-case in tsv"
    );
    let names = cloud.run_json(&["aks", "list", "--query", "[].name"]);
    assert_eq!(names, serde_json::json!(["c1"]));
    assert_eq!(
        cloud.run_ok(&["aks", "show", "-g", "rg1", "-n", "c1", "-o", "none"]),
        ""
    );
    let yaml = cloud.run_ok(&["group", "show", "-n", "rg1", "-o", "yaml"]);
    assert!(yaml.contains("name: rg1"), "{yaml}");
}

#[test]
fn a_second_command_reuses_the_cached_token() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "-n", "rg1", "-l", "eastus"]);
    cloud.run_json(&["group", "show", "-n", "rg1"]);
    let token_requests = cloud
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/oauth2/v2.0/token"))
        .count();
    assert_eq!(token_requests, 1, "signed in once for two commands");
    let cache = cloud.config_dir().join("tokens");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for entry in std::fs::read_dir(&cache).unwrap() {
        assert_eq!(
            entry.unwrap().metadata().unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn cloud_and_account_commands() {
    let cloud = cloud();
    let shown = cloud.run_json(&["cloud", "show"]);
    assert_eq!(shown["name"], "Emulator");
    assert_eq!(shown["isActive"], true);
    assert_eq!(
        shown["endpoints"]["resourceManager"],
        cloud.ready().resource_manager.as_str()
    );
    let clouds = cloud.run_json(&["cloud", "list"]);
    let names: Vec<&str> = clouds
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"AzureCloud")
            && names.contains(&"AzureUSGovernment")
            && names.contains(&"AzureChinaCloud")
    );
    let account = cloud.run_json(&["account", "show"]);
    assert_eq!(account["id"], cloud.ready().subscription_id.as_str());
    assert_eq!(account["tenantId"], cloud.ready().tenant_id.as_str());
    cloud.run_ok(&[
        "account",
        "set",
        "--subscription",
        &cloud.ready().subscription_id,
    ]);
    let output = cloud
        .command()
        .args(["group", "list"])
        .env(
            "AZURE_SUBSCRIPTION_ID",
            "11111111-1111-1111-1111-111111111111",
        )
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "unknown subscription: {}",
        crate::stderr(&output)
    );
}

/// The LRO spinner draws on a terminal and never in a pipe (or a CI log).
#[test]
fn spinner_only_on_a_terminal() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "-n", "rg1", "-l", "eastus"]);
    // Keep each create running for a few polls so the spinner has time to draw.
    cloud.management(
        "PUT",
        "lro",
        Some(serde_json::json!({"polls": 4, "retry_after_seconds": 1, "retry_after_ms": 300})),
    );
    // Through a pipe: no spinner, no control characters on stderr.
    let piped = cloud.run(&[
        "aks",
        "create",
        "-g",
        "rg1",
        "-n",
        "piped",
        "--no-ssh-key",
        "-o",
        "none",
    ]);
    assert!(piped.status.success(), "{}", crate::stderr(&piped));
    let text = crate::stderr(&piped);
    assert!(
        !text.contains("Running") && !text.contains('\u{1b}'),
        "{text:?}"
    );

    // Under a pseudo-terminal (util-linux `script`): the spinner with the operation shows on the terminal.
    let binary = env!("CARGO_BIN_EXE_aksctl");
    let command_line = format!("{binary} aks create -g rg1 -n onterminal --no-ssh-key -o none");
    let mut terminal = std::process::Command::new("script");
    terminal.args(["-qec", &command_line, "/dev/null"]);
    for (key, value) in cloud.std_command().get_envs() {
        match value {
            Some(value) => terminal.env(key, value),
            None => terminal.env_remove(key),
        };
    }
    terminal.env_remove("NO_COLOR");
    let output = terminal.output().expect("script runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(
        screen.contains("Running .."),
        "spinner expected on a terminal: {screen:?}"
    );
}
