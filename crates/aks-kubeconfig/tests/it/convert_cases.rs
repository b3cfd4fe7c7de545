//! kubelogin's own conversion test table (`TestConvert`, 69 cases) from
//! `tests/fixtures/kubelogin-convert/cases.json`, run against [`convert`] in memory and against
//! [`convert_explicit_file`] through a YAML file (docs/kubelogin.md; the fixture README describes the format).

use aks_kubeconfig::{
    ConvertOptions, Field, Kubeconfig, LoginMode, User, convert, convert_explicit_file,
};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

fn cases_file() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/kubelogin-convert/cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("cases.json is JSON")
}

/// The user body of `input_user` as kubeconfig JSON (null installHint/apiVersion are left out, as upstream
/// builds them).
fn input_user(case: &Value) -> Value {
    let input = &case["input_user"];
    match case["input_user_kind"].as_str().unwrap() {
        "auth-provider" => {
            let provider = &input["auth_provider"];
            json!({"auth-provider": {"name": provider["name"], "config": provider["config"]}})
        }
        "exec" => {
            let exec = input["exec"].as_object().unwrap();
            let mut body = Map::new();
            for (key, value) in exec {
                if !value.is_null() {
                    body.insert(key.clone(), value.clone());
                }
            }
            json!({ "exec": body })
        }
        other => panic!("unknown input_user_kind {other}"),
    }
}

/// The two-cluster document of `kubeconfig_layout`, both users holding `user`.
fn layout_document(layout: &Value, user: &Value) -> Kubeconfig {
    let names: Vec<&str> = layout["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    let clusters: Vec<Value> = names
        .iter()
        .map(
            |name| json!({"name": name, "cluster": {"server": layout["clusters"][name]["server"]}}),
        )
        .collect();
    let contexts: Vec<Value> = names
        .iter()
        .map(|name| {
            let context = &layout["contexts"][name];
            json!({"name": name, "context": {"cluster": context["cluster"], "user": context["user"]}})
        })
        .collect();
    let users: Vec<Value> = names
        .iter()
        .map(|name| json!({"name": name, "user": user}))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "contexts": contexts,
        "users": users,
        "current-context": layout["current_context"],
    }))
    .expect("layout builds a kubeconfig")
}

/// `flags` as options: every listed flag counts as given.
fn options_from(flags: &Map<String, Value>) -> ConvertOptions {
    let mut options = ConvertOptions::default();
    for (flag, value) in flags {
        let text = value.as_str().expect("flag values are strings").to_owned();
        let boolean = || match text.as_str() {
            "true" => true,
            "false" => false,
            other => panic!("--{flag}: not a boolean: {other}"),
        };
        match flag.as_str() {
            "login" => options.login = Some(text.parse::<LoginMode>().unwrap()),
            "server-id" => options.server_id = Some(text),
            "client-id" => options.client_id = Some(text),
            "tenant-id" => options.tenant_id = Some(text),
            "environment" => options.environment = Some(text),
            "client-secret" => options.client_secret = Some(text),
            "client-certificate" => options.client_certificate = Some(text),
            "client-certificate-password" => options.client_certificate_password = Some(text),
            "username" => options.username = Some(text),
            "password" => options.password = Some(text),
            "identity-resource-id" => options.identity_resource_id = Some(text),
            "authority-host" => options.authority_host = Some(text),
            "federated-token-file" => options.federated_token_file = Some(text),
            "token-cache-dir" => options.token_cache_dir = Some(text),
            "cache-dir" => options.cache_dir = Some(text),
            "subscription" => options.subscription = Some(text),
            "pop-claims" => options.pop_claims = Some(text),
            "redirect-url" => options.redirect_url = Some(text),
            "login-hint" => options.login_hint = Some(text),
            "context" => options.context = Some(text),
            "azure-config-dir" => options.azure_config_dir = Some(text),
            "legacy" => options.is_legacy = Some(boolean()),
            "pop-enabled" => options.pop_enabled = Some(boolean()),
            "disable-environment-override" => {
                options.disable_environment_override = Some(boolean())
            }
            other => panic!("unmapped flag --{other}"),
        }
    }
    // The cases run with no environment (fixture README): applying an empty one must change nothing.
    let applied = options.clone().with_environment(&|_| None);
    assert_eq!(applied, options);
    applied
}

fn user<'a>(config: &'a Kubeconfig, name: &str) -> &'a User {
    config.named_user(name).unwrap().user.as_ref().unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap().to_owned())
        .collect()
}

/// Checks one converted document against the case; returns the first mismatch.
fn check_result(
    case: &Value,
    original: &Kubeconfig,
    result: &Kubeconfig,
    converted: Option<&[String]>,
) -> Result<(), String> {
    let expected = &case["expected"];
    let users_converted = strings(&case["users_converted"]);
    if let Some(converted) = converted
        && converted != users_converted.as_slice()
    {
        return Err(format!(
            "converted users {converted:?}, expected {users_converted:?}"
        ));
    }
    for name in strings(&case["users_unchanged"]) {
        if user(result, &name) != user(original, &name) {
            return Err(format!("user {name} changed: {:?}", user(result, &name)));
        }
        if let Some(exec) = expected.get("exec_unchanged") {
            let actual = user(result, &name).exec.as_ref().ok_or("exec missing")?;
            if actual.command.as_ref().map(String::as_str) != exec["command"].as_str()
                || actual.args.as_ref() != Some(&strings(&exec["args"]))
                || actual.install_hint.as_ref().map(String::as_str) != exec["installHint"].as_str()
            {
                return Err(format!("user {name}: exec changed: {actual:?}"));
            }
        }
    }
    for name in &users_converted {
        let want = &expected["exec"];
        let body = user(result, name);
        let exec = body.exec.as_ref().ok_or(format!("{name}: no exec"))?;
        let args = exec.args.as_ref().cloned().unwrap_or_default();
        let emitted = strings(&want["args_in_emitted_order"]);
        if args != emitted {
            return Err(format!("{name}: args {args:?}, expected {emitted:?}"));
        }
        // The upstream assertion, too: same length, every element present, args[0] == get-token.
        let unordered = strings(&want["args_unordered"]);
        if args.len() != unordered.len()
            || unordered.iter().any(|item| !args.contains(item))
            || args[0] != "get-token"
        {
            return Err(format!("{name}: args {args:?} vs unordered {unordered:?}"));
        }
        if exec.command.as_ref().map(String::as_str) != want["command"].as_str() {
            return Err(format!("{name}: command {:?}", exec.command));
        }
        if exec.api_version.as_ref().map(String::as_str) != want["apiVersion"].as_str() {
            return Err(format!("{name}: apiVersion {:?}", exec.api_version));
        }
        if exec.install_hint.as_ref().map(String::as_str) != want["installHint"].as_str() {
            return Err(format!("{name}: installHint {:?}", exec.install_hint));
        }
        let env: Vec<(String, String)> = exec
            .env
            .as_ref()
            .into_iter()
            .flatten()
            .map(|var| {
                (
                    var.name.as_ref().cloned().unwrap_or_default(),
                    var.value.as_ref().cloned().unwrap_or_default(),
                )
            })
            .collect();
        let want_env: Vec<(String, String)> = want["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|var| {
                (
                    var["name"].as_str().unwrap().to_owned(),
                    var["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        if env != want_env {
            return Err(format!("{name}: env {env:?}, expected {want_env:?}"));
        }
        // client-go writes an empty env as `env: null` and always writes provideClusterInfo.
        if want_env.is_empty() && !exec.env.is_null() {
            return Err(format!("{name}: empty env should be null: {:?}", exec.env));
        }
        if exec.provide_cluster_info != Field::Present(false) || !exec.interactive_mode.is_absent()
        {
            return Err(format!(
                "{name}: provideClusterInfo/interactiveMode {exec:?}"
            ));
        }
        if expected["auth_provider_removed"] == json!(true) && !body.auth_provider.is_absent() {
            return Err(format!("{name}: auth-provider kept"));
        }
    }
    Ok(())
}

fn run_in_memory(layout: &Value, case: &Value) -> Result<(), String> {
    let original = layout_document(layout, &input_user(case));
    let options = options_from(case["flags"].as_object().unwrap());
    let mut config = original.clone();
    let outcome = convert(&mut config, &options);
    match (case["expected"]["error"].as_str(), outcome) {
        (Some(want), Err(error)) if error.to_string() == want => {
            if config != original {
                return Err("document changed despite the error".into());
            }
            Ok(())
        }
        (Some(want), Err(error)) => Err(format!("error {error:?}, expected {want:?}")),
        (Some(want), Ok(names)) => Err(format!("converted {names:?}, expected error {want:?}")),
        (None, Err(error)) => Err(format!("unexpected error: {error}")),
        (None, Ok(names)) => check_result(case, &original, &config, Some(&names)),
    }
}

fn run_through_file(layout: &Value, case: &Value) -> Result<(), String> {
    let original = layout_document(layout, &input_user(case));
    let options = options_from(case["flags"].as_object().unwrap());
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    let text = original.to_yaml();
    std::fs::write(&path, &text).unwrap();
    let outcome = convert_explicit_file(&path, &options);
    let after = std::fs::read_to_string(&path).unwrap();
    match (case["expected"]["error"].as_str(), outcome) {
        (Some(want), Err(error)) if error.to_string() == want => {
            if after != text {
                return Err("file changed despite the error".into());
            }
            Ok(())
        }
        (Some(want), other) => Err(format!("{other:?}, expected error {want:?}")),
        (None, Err(error)) => Err(format!("unexpected error: {error}")),
        (None, Ok(report)) => {
            let names: Vec<String> = report.converted.iter().map(|u| u.name.clone()).collect();
            if names.is_empty() != report.written.is_empty() {
                return Err(format!("written {:?} for {names:?}", report.written));
            }
            if names.is_empty() && after != text {
                return Err("file rewritten although nothing was converted".into());
            }
            let reread = Kubeconfig::parse(&after).unwrap().unwrap();
            // Reading the original back gives the same document as the in-memory one.
            let original = Kubeconfig::parse(&text).unwrap().unwrap();
            check_result(case, &original, &reread, Some(&names))
        }
    }
}

#[test]
fn all_upstream_cases_in_memory_and_through_files() {
    let file = cases_file();
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 69, "the fixture holds kubelogin's 69 cases");
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        if let Err(problem) = run_in_memory(&file["kubeconfig_layout"], case) {
            failures.push(format!("[memory] {name}: {problem}"));
        }
        if let Err(problem) = run_through_file(&file["kubeconfig_layout"], case) {
            failures.push(format!("[file] {name}: {problem}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} case runs failed:\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n")
    );
}
