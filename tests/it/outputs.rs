//! Output formats, query, and the token cache across invocations.

use crate::{assert_output_snapshot, cloud, create_aad_cluster};

#[test]
fn table_tsv_query_and_none() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    let table = cloud.run_ok(&["aks", "show", "-g", "rg1", "-n", "c1", "-o", "table"]);
    assert_output_snapshot!(&cloud, "aks-show-table", table);
    let tsv = cloud.run_ok(&["aks", "show", "-g", "rg1", "-n", "c1", "-o", "tsv"]);
    assert_output_snapshot!(&cloud, "aks-show-tsv", tsv);
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
    assert_output_snapshot!(&cloud, "group-show-yaml", yaml);
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
    // `account` works on az's files: sign the test's service principal in first, as with az.
    crate::login::login_service_principal(&cloud);
    let account = cloud.run_json(&["account", "show"]);
    assert_eq!(account["id"], cloud.ready().subscription_id.as_str());
    assert_eq!(account["tenantId"], cloud.ready().tenant_id.as_str());
    // As in az: `account show` names the cloud `environmentName`, `account list` names it `cloudName`.
    assert_eq!(account["environmentName"], "Emulator");
    assert!(account.get("cloudName").is_none(), "{account}");
    let accounts = cloud.run_json(&["account", "list"]);
    assert_eq!(accounts[0]["cloudName"], "Emulator");
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
    assert_output_snapshot!(&cloud, "aks-show-yaml", &yaml);
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

/// knack's automatic table headers for a JSON result, written out from its rules (microsoft/knack:
/// knack/output.py `_auto_table_item`): each object's keys sorted, without id/type/etag and without null, list
/// and object values, first letter upper-cased; headers in order of first appearance over the rows.
fn knack_auto_headers(value: &serde_json::Value) -> Vec<String> {
    let rows: Vec<&serde_json::Value> = match value {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut headers: Vec<String> = Vec::new();
    for row in rows {
        let mut keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        keys.sort();
        for key in keys {
            let cell = &row[key.as_str()];
            if ["id", "type", "etag"].contains(&key.as_str())
                || cell.is_null()
                || cell.is_array()
                || cell.is_object()
            {
                continue;
            }
            let header = key[..1].to_uppercase() + &key[1..];
            if !headers.contains(&header) {
                headers.push(header);
            }
        }
    }
    headers
}

fn table_headers(table: &str) -> Vec<String> {
    table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Every command with an az counterpart prints az 2.91's table: the transformer's columns where az has one,
/// knack's automatic table everywhere else (`group show` is `Location  Name`, not the `group list` columns).
#[test]
fn every_command_prints_the_table_az_prints() {
    let cloud = cloud();
    crate::login::login_service_principal(&cloud);
    let transformers: [(&[&str], &[&str]); 3] = [
        (&["group", "list"], &["Name", "Location", "Status"]),
        (
            &["aks", "list"],
            &[
                "Name",
                "Location",
                "ResourceGroup",
                "KubernetesVersion",
                "CurrentKubernetesVersion",
                "ProvisioningState",
                "Fqdn",
            ],
        ),
        (
            &["account", "list"],
            &[
                "Name",
                "CloudName",
                "SubscriptionId",
                "TenantId",
                "State",
                "IsDefault",
            ],
        ),
    ];
    let group = cloud.run_ok(&[
        "group", "create", "-n", "rg1", "-l", "eastus", "-o", "table",
    ]);
    assert_eq!(
        group,
        "Location    Name\n----------  ------\neastus      rg1\n"
    );
    let show = cloud.run_ok(&["group", "show", "-n", "rg1", "-o", "table"]);
    assert_eq!(
        show, group,
        "group show has no transformer, like group create"
    );
    let admin = cloud.ready().admin_group_id.clone();
    let automatic: Vec<Vec<&str>> = vec![
        vec![
            "aks",
            "create",
            "-g",
            "rg1",
            "-n",
            "c1",
            "--enable-aad",
            "--aad-admin-group-object-ids",
            &admin,
            "--no-ssh-key",
        ],
        vec![
            "aks",
            "update",
            "-g",
            "rg1",
            "-n",
            "c1",
            "--enable-azure-rbac",
        ],
        vec!["account", "show"],
        vec!["cloud", "show"],
        vec!["cloud", "list"],
        vec![
            "ad",
            "group",
            "create",
            "--display-name",
            "team",
            "--mail-nickname",
            "team",
        ],
        vec!["ad", "group", "show", "-g", "team"],
        vec!["ad", "group", "list"],
        vec![
            "ad",
            "group",
            "member",
            "check",
            "-g",
            "team",
            "--member-id",
            &admin,
        ],
    ];
    for args in &automatic {
        let table = cloud.run_ok(&[&args[..], &["-o", "table"]].concat());
        // The same command again (a read) or its read counterpart gives the JSON the table was made from.
        let json_args: Vec<&str> = match args[..2] {
            ["aks", "create"] | ["aks", "update"] => vec!["aks", "show", "-g", "rg1", "-n", "c1"],
            ["ad", "group"] if args[2] == "create" => vec!["ad", "group", "show", "-g", "team"],
            _ => args.clone(),
        };
        let value = cloud.run_json(&json_args);
        let expected = knack_auto_headers(&value);
        assert!(!expected.is_empty(), "{args:?}");
        assert_eq!(table_headers(&table), expected, "{args:?}:\n{table}");
        if args.contains(&"check") {
            assert_eq!(table, "Value\n-------\nFalse\n");
        }
    }
    for (args, expected) in transformers {
        let table = cloud.run_ok(&[args, &["-o", "table"]].concat());
        assert_eq!(table_headers(&table), expected, "{args:?}:\n{table}");
        assert_output_snapshot!(&cloud, format!("{}-table", args.join("-")), table);
    }
}
