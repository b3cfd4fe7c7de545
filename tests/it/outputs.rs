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

/// `-o yaml` is PyYAML's `safe_dump(default_flow_style=False, allow_unicode=True)` (the emitter's data test holds
/// it to PyYAML's own output; scripts/az-conformance.sh to real az's): sorted keys, block style, lists at their
/// key's indentation, YAML 1.1 look-alikes quoted; it reads back as the JSON document. `yamlc` is the same text
/// in a pipe and coloured on a terminal.
#[test]
fn yaml_like_pyyaml_and_yamlc_coloured_only_on_a_terminal() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    let json = cloud.run_json(&["aks", "show", "-g", "rg1", "-n", "c1"]);
    let yaml = cloud.run_ok(&["aks", "show", "-g", "rg1", "-n", "c1", "-o", "yaml"]);
    let parsed: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(parsed, json, "{yaml}");
    let top_level: Vec<&str> = yaml
        .lines()
        .filter(|line| !line.starts_with([' ', '-']))
        .map(|line| line.split(':').next().unwrap())
        .collect();
    let mut sorted = top_level.clone();
    sorted.sort_unstable();
    assert_eq!(top_level, sorted, "keys sorted");
    let group = cloud.ready().admin_group_id.clone();
    assert!(
        yaml.contains(&format!(
            "aadProfile:\n  adminGroupObjectIDs:\n  - {group}\n"
        )),
        "{yaml}"
    );
    assert!(yaml.contains("\nagentPoolProfiles:\n- "), "{yaml}");
    assert!(yaml.ends_with('\n') && !yaml.ends_with("\n\n"));
    // YAML 1.1 look-alikes are quoted, numbers and booleans are not.
    let query = cloud.run_ok(&[
        "aks",
        "show",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--query",
        "{a: 'yes', b: '0123', c: `1.5`, d: `true`, e: `[]`, f: `{}`, g: null, h: ': x'}",
        "-o",
        "yaml",
    ]);
    assert_eq!(
        query,
        "a: 'yes'\nb: '0123'\nc: 1.5\nd: true\ne: []\nf: {}\ng: null\nh: ': x'\n"
    );

    // yamlc in a pipe: exactly yaml.
    let yamlc = cloud.run_ok(&["aks", "show", "-g", "rg1", "-n", "c1", "-o", "yamlc"]);
    assert_eq!(yamlc, yaml);
    // yamlc on a terminal (util-linux `script`): coloured keys and values, the same text without the colours.
    let binary = env!("CARGO_BIN_EXE_aksctl");
    let command_line = format!("{binary} group show -n rg1 -o yamlc");
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
    let screen = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
    assert!(output.status.success(), "{screen}");
    assert!(
        screen.contains("\u{1b}[36mname\u{1b}[0m: \u{1b}[32mrg1\u{1b}[0m\n"),
        "{screen:?}"
    );
    let plain = cloud.run_ok(&["group", "show", "-n", "rg1", "-o", "yaml"]);
    let mut uncoloured = screen.clone();
    for code in [
        "\u{1b}[36m",
        "\u{1b}[32m",
        "\u{1b}[34m",
        "\u{1b}[35m",
        "\u{1b}[0m",
    ] {
        uncoloured = uncoloured.replace(code, "");
    }
    assert_eq!(uncoloured, plain);
}
