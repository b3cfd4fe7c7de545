//! Parsing and writing: round trips of az-, AKS- and kubectl-written files, quoting, errors, accessors.

use crate::support::{fixture, parse, yaml_via_json};
use aks_kubeconfig::{ContextRef, Field, Kubeconfig, KubeconfigError};

fn assert_round_trip(text: &str) -> (Kubeconfig, String) {
    let document = parse(text);
    let written = document.to_yaml();
    let reread = parse(&written);
    assert_eq!(
        reread, document,
        "parse → to_yaml → parse changed the document:\n{written}"
    );
    assert_eq!(reread.to_yaml(), written, "to_yaml is not a fixed point");
    (document, written)
}

#[test]
fn every_fixture_round_trips() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut count = 0;
    for entry in std::fs::read_dir(directory).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") {
            assert_round_trip(&fixture(&name));
            count += 1;
        }
    }
    assert!(count >= 2);
}

#[test]
fn to_yaml_writes_the_sorted_json_value() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for entry in std::fs::read_dir(directory).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") {
            let document = parse(&fixture(&name));
            assert_eq!(document.to_yaml(), yaml_via_json(&document), "{name}");
        }
    }
}

#[test]
fn an_unknown_key_equal_to_a_modelled_key_wins() {
    let mut document = parse(&fixture("aks-exec.yaml"));
    document.other.insert(
        "current-context".to_owned(),
        serde_json::json!("from-other"),
    );
    if let Some(Some(cluster)) = document
        .clusters
        .as_mut()
        .and_then(|list| list.first_mut())
        .map(|entry| entry.cluster.as_mut())
    {
        cluster.other.insert(
            "server".to_owned(),
            serde_json::json!({"b": 1, "a": [true, null]}),
        );
    }
    let written = document.to_yaml();
    assert_eq!(written, yaml_via_json(&document));
    assert!(
        written.contains("current-context: from-other\n"),
        "{written}"
    );
    assert!(
        written.contains("    server:\n      a:\n      - true\n      - null\n      b: 1\n"),
        "{written}"
    );
}

#[test]
fn a_repeated_key_is_an_error() {
    let error = Kubeconfig::parse("current-context: a\ncurrent-context: b\n").unwrap_err();
    assert!(error.detail().contains("duplicate"), "{}", error.detail());
}

#[test]
fn aks_exec_kubeconfig_round_trips() {
    let (document, written) = assert_round_trip(&fixture("aks-exec.yaml"));
    let exec = document
        .user_exec("clusterUser_rg1_aks1")
        .expect("exec user");
    assert_eq!(exec.env, Field::Null, "env: null must survive");
    assert_eq!(exec.provide_cluster_info, Field::Present(false));
    assert_eq!(exec.command.as_ref().map(String::as_str), Some("kubelogin"));
    assert_eq!(
        exec.install_hint.as_ref().map(String::as_str),
        Some(
            "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n\
             To learn more, please go to https://aka.ms/aks/kubelogin\n"
        )
    );
    assert_eq!(exec.args.as_ref().map(Vec::len), Some(11));
    for expected in [
        "      env: null\n",
        "      provideClusterInfo: false\n",
        "preferences: {}\n",
        "current-context: aks1\n",
    ] {
        assert!(
            written.contains(expected),
            "missing {expected:?} in:\n{written}"
        );
    }
    // Long base64 stays on one plain line (prefer_block_scalars: false).
    let ca_line = written
        .lines()
        .find(|line| line.contains("certificate-authority-data"))
        .expect("ca line");
    assert!(ca_line.len() > 1400 && !ca_line.ends_with('>') && !ca_line.ends_with('|'));
}

#[test]
fn output_sorts_keys_like_pyyaml_and_kubectl() {
    let (_, written) = assert_round_trip(&fixture("kubectl-written.yaml"));
    let top_level: Vec<&str> = written
        .lines()
        .filter(|line| !line.starts_with([' ', '-']))
        .map(|line| line.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(
        top_level,
        [
            "apiVersion",
            "clusters",
            "contexts",
            "current-context",
            "kind",
            "preferences",
            "users",
            "x-unknown-top-level"
        ]
    );
    // Inside entries, `cluster`/`context` come before `name`, and `name` before `user`.
    assert!(written.contains("- cluster:\n    certificate-authority-data:"));
    assert!(written.contains("- name: \"0123\"\n  user:\n"));
}

#[test]
fn kubectl_written_kubeconfig_keeps_unknown_fields_and_strings() {
    let (document, written) = assert_round_trip(&fixture("kubectl-written.yaml"));
    assert_eq!(
        document.context("dev"),
        Some(ContextRef {
            cluster: "emu".into(),
            user: "0123".into(),
            namespace: Some("yes".into()),
        })
    );
    assert_eq!(
        document.context_names(),
        ["dev", "日本語-context"].map(String::from)
    );
    assert_eq!(
        document.cluster_server("κλάστερ-ünïcødé"),
        Some("https://κλάστερ.example:443")
    );
    assert_eq!(document.user_auth_provider_name("legacy"), Some("azure"));
    let provider = document
        .named_user("legacy")
        .and_then(|user| user.user.as_ref())
        .and_then(|user| user.auth_provider.as_ref())
        .expect("auth provider");
    assert_eq!(provider.config_value("config-mode").as_deref(), Some("1"));
    assert!(document.other.contains_key("x-unknown-top-level"));
    let emu = document
        .named_cluster("emu")
        .and_then(|c| c.cluster.as_ref())
        .expect("emu");
    assert!(emu.other.contains_key("extensions"));

    for quoted in [
        "namespace: \"yes\"",
        "user: \"0123\"",
        "name: \"0123\"",
        "config-mode: \"1\"",
        "note: \"on\"",
    ] {
        assert!(
            written.contains(quoted),
            "missing {quoted:?} in:\n{written}"
        );
    }
    for tricky in [
        "on",
        "off",
        "y",
        "n",
        "~",
        "null",
        "1e3",
        "0x1F",
        "012",
        "2024-01-01",
        ".inf",
        "NO",
        "True",
        "",
        " lead",
        "yes",
        "1:20",
    ] {
        let double = format!("- \"{tricky}\"\n");
        let single = format!("- '{tricky}'\n");
        assert!(
            written.contains(&double) || written.contains(&single),
            "{tricky:?} is not quoted in:\n{written}"
        );
    }
    assert!(written.contains("日本語-context"), "UTF-8 is written as is");
}

#[test]
fn missing_null_and_empty_lists_stay_distinct() {
    let (document, written) =
        assert_round_trip("clusters: null\ncontexts: []\ncurrent-context: ''\n");
    assert_eq!(document.clusters, Field::Null);
    assert_eq!(document.contexts, Field::Present(Vec::new()));
    assert_eq!(document.users, Field::Absent);
    assert_eq!(document.current_context(), Some(""));
    assert_eq!(
        written,
        "clusters: null\ncontexts: []\ncurrent-context: \"\"\n"
    );
}

#[test]
fn empty_documents_parse_to_none() {
    for text in ["", "  \n\t\n", "# only a comment\n", "---\n", "null\n", "~"] {
        assert!(
            Kubeconfig::parse(text).expect("empty is fine").is_none(),
            "{text:?}"
        );
    }
}

#[test]
fn non_mapping_documents_are_errors() {
    for (text, found) in [
        ("- a\n- b\n", "a list"),
        ("5\n", "a number"),
        ("just text\n", "a string"),
        ("true\n", "a boolean"),
    ] {
        match Kubeconfig::parse(text) {
            Err(KubeconfigError::NotAMapping { found: actual }) => assert_eq!(actual, found),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn broken_yaml_is_an_error_with_a_position_and_no_snippet() {
    let error =
        Kubeconfig::parse("users:\n- name: a\n  user:\n    token: s3cr3t\n  { broken").unwrap_err();
    assert!(matches!(error, KubeconfigError::Yaml { .. }), "{error:?}");
    let detail = error.detail();
    assert!(detail.contains("line"), "{detail}");
    assert!(
        !detail.contains("s3cr3t"),
        "error text must not quote the file: {detail}"
    );
    assert_eq!(error.to_string(), "invalid kubeconfig yaml");
}

#[test]
fn wrong_types_in_modelled_keys_are_errors() {
    assert!(Kubeconfig::parse("clusters: 5\n").is_err());
    assert!(
        Kubeconfig::parse(
            "users:\n- name: u\n  user:\n    exec:\n      provideClusterInfo: maybe\n"
        )
        .is_err()
    );
}

#[test]
fn non_utf8_input_is_an_error_not_a_panic() {
    let error = Kubeconfig::parse_bytes(b"clusters:\n- name: \xff\xfe\n").unwrap_err();
    assert!(
        matches!(error, KubeconfigError::InvalidUtf8 { .. }),
        "{error:?}"
    );
    assert!(error.detail().contains("utf-8"));
}

#[test]
fn unquoted_scalars_in_string_fields_are_read_as_text() {
    let document = parse(
        "contexts:\n- name: 123\n  context:\n    cluster: true\n    user: 1.5\nusers:\n- name: u\n  user:\n    exec:\n      args: [get-token, --timeout, 60]\n",
    );
    assert_eq!(document.context_names(), ["123"]);
    let context = document.context("123").expect("context");
    assert_eq!(
        (context.cluster.as_str(), context.user.as_str()),
        ("true", "1.5")
    );
    let args = document
        .user_exec("u")
        .and_then(|exec| exec.args.as_ref())
        .expect("args");
    assert_eq!(args, &["get-token", "--timeout", "60"]);
}

#[test]
fn accessors_edit_the_document() {
    let mut document = parse(&fixture("aks-exec.yaml"));
    assert_eq!(document.current_context(), Some("aks1"));
    document.set_current_context("other");
    assert_eq!(document.current_context(), Some("other"));
    assert_eq!(document.cluster_names(), ["aks1"]);
    assert_eq!(document.user_names(), ["clusterUser_rg1_aks1"]);
    let user = document
        .named_user_mut("clusterUser_rg1_aks1")
        .expect("user");
    let exec = user
        .user
        .as_mut()
        .and_then(|body| body.exec.as_mut())
        .expect("exec");
    exec.args = Field::Present(vec![
        "get-token".into(),
        "--login".into(),
        "azurecli".into(),
    ]);
    let written = document.to_yaml();
    assert!(
        written.contains("  - get-token\n      - --login\n      - azurecli\n")
            || written.contains("- azurecli")
    );
    assert_eq!(parse(&written), document);
}

#[test]
fn debug_output_hides_secrets() {
    let mut document = parse(&fixture("kubectl-written.yaml"));
    let extra = parse(
        "users:\n- name: spn\n  user:\n    exec:\n      command: kubelogin\n      args: [get-token, --client-secret, hunter2, --password=pa55]\n      env:\n      - name: AZURE_CLIENT_SECRET\n        value: envsecret\n",
    );
    if let (Some(users), Some(more)) = (document.users.as_mut(), extra.users.into_option()) {
        users.extend(more);
    }
    let debug = format!("{document:?}");
    for secret in [
        "s3cr3t-t0ken",
        "a2V5",
        "Y2VydA==",
        "hunter2",
        "pa55",
        "envsecret",
        "72f988bf",
    ] {
        assert!(
            !debug.contains(secret),
            "{secret} leaked into Debug: {debug}"
        );
    }
    assert!(debug.contains("token"), "keys are still shown: {debug}");
    assert!(debug.contains("--client-secret"), "{debug}");
}
