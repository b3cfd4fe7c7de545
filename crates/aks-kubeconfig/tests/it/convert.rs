//! kubelogin conversion beyond its own test table: environment overrides, the modes and errors the table does
//! not cover, and which users count as Azure users (kubelogin.md §1.3, §2).

use crate::support::parse;
use aks_kubeconfig::{
    ConvertError, ConvertOptions, Field, Kubeconfig, LoginMode, convert, is_azure_user,
};

const DOCUMENT: &str = r#"apiVersion: v1
kind: Config
contexts:
- name: one
  context: {cluster: c, user: exec-user}
- name: no-user
  context: {cluster: c}
users:
- name: exec-user
  user:
    exec:
      command: KubeLogin.exe
      args: [get-token, --login=spn, --server-id, server, --client-id, client, --tenant-id, tenant, --cache-dir, '', --token-cache-dir, /old/cache, --client-secret, old-secret]
- name: provider-user
  user:
    auth-provider:
      name: azure
      config: {apiserver-id: server, client-id: client, tenant-id: tenant}
- name: other-user
  user:
    exec: {command: gke-gcloud-auth-plugin}
"#;

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .rev()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

fn args(config: &Kubeconfig, user: &str) -> Vec<String> {
    config
        .user_exec(user)
        .unwrap()
        .args
        .as_ref()
        .unwrap()
        .clone()
}

#[test]
fn azure_users_are_recognized_by_provider_name_or_command() {
    let config = parse(DOCUMENT);
    let azure = |name: &str| is_azure_user(config.named_user(name).unwrap().user.as_ref().unwrap());
    assert!(azure("exec-user"), "command matched case-insensitively");
    assert!(azure("provider-user"));
    assert!(!azure("other-user"));
}

#[test]
fn old_values_come_from_exact_tokens_and_flag_only_values_are_dropped() {
    let mut config = parse(DOCUMENT);
    let options = ConvertOptions {
        login: Some(LoginMode::ServicePrincipal),
        context: Some("one".into()),
        ..ConvertOptions::default()
    };
    assert_eq!(convert(&mut config, &options).unwrap(), ["exec-user"]);
    // `--login=spn` is not recognized (nor needed); an empty --cache-dir falls back to --token-cache-dir; the
    // old secret is not carried over.
    assert_eq!(
        args(&config, "exec-user"),
        [
            "get-token",
            "--login",
            "spn",
            "--server-id",
            "server",
            "--cache-dir",
            "/old/cache",
            "--client-id",
            "client",
            "--tenant-id",
            "tenant",
        ]
    );
    assert_eq!(
        config
            .user_exec("exec-user")
            .unwrap()
            .command
            .as_ref()
            .unwrap(),
        "kubelogin"
    );
}

#[test]
fn a_context_without_a_user_selects_every_user() {
    let mut config = parse(DOCUMENT);
    let options = ConvertOptions {
        login: Some(LoginMode::AzureCli),
        context: Some("no-user".into()),
        ..ConvertOptions::default()
    };
    assert_eq!(
        convert(&mut config, &options).unwrap(),
        ["exec-user", "provider-user"]
    );
}

#[test]
fn environment_replaces_given_flags_and_the_login_method() {
    let mut config = parse(DOCUMENT);
    let options = ConvertOptions {
        login: Some(LoginMode::DeviceCode),
        client_id: Some("flag-client".into()),
        client_secret: Some("flag-secret".into()),
        ..ConvertOptions::default()
    }
    .with_environment(&env_of(&[
        ("AAD_LOGIN_METHOD", "spn"),
        ("AZURE_CLIENT_ID", "env-client"),
        ("AZURE_CLIENT_SECRET", "env-secret"),
        ("AZURE_TENANT_ID", "env-tenant-not-written"),
    ]));
    convert(&mut config, &options).unwrap();
    assert_eq!(
        args(&config, "provider-user"),
        [
            "get-token",
            "--login",
            "spn",
            "--server-id",
            "server",
            "--client-id",
            "env-client",
            "--tenant-id",
            "tenant",
            "--client-secret",
            "env-secret",
            "--legacy",
        ]
    );
}

#[test]
fn disabled_environment_override_is_written_for_spn_whenever_given() {
    let mut config = parse(DOCUMENT);
    let options = ConvertOptions {
        login: Some(LoginMode::ServicePrincipal),
        disable_environment_override: Some(false),
        context: Some("one".into()),
        ..ConvertOptions::default()
    };
    convert(&mut config, &options).unwrap();
    assert_eq!(
        args(&config, "exec-user").last().unwrap(),
        "--disable-environment-override"
    );
}

#[test]
fn msi_prefers_client_id_over_identity_resource_id() {
    let mut config = parse(DOCUMENT);
    let options = ConvertOptions {
        login: Some(LoginMode::Msi),
        client_id: Some("mi-client".into()),
        identity_resource_id: Some("/id".into()),
        ..ConvertOptions::default()
    };
    convert(&mut config, &options).unwrap();
    assert_eq!(
        args(&config, "provider-user")[5..],
        ["--client-id", "mi-client"]
    );
}

#[test]
fn azure_pipelines_needs_a_tenant_from_any_source() {
    let mut config = parse(DOCUMENT);
    let options = ConvertOptions {
        login: Some(LoginMode::AzurePipelines),
        azure_pipelines_service_connection_id: Some("conn".into()),
        ..ConvertOptions::default()
    };
    convert(&mut config, &options).unwrap();
    assert_eq!(
        args(&config, "provider-user")[5..],
        [
            "--tenant-id",
            "tenant",
            "--azure-pipelines-service-connection-id",
            "conn"
        ]
    );
    let mut config = parse(&DOCUMENT.replace(", tenant-id: tenant", ""));
    let before = config.clone();
    let error = convert(&mut config, &options).unwrap_err();
    assert_eq!(error.to_string(), "--tenant-id is required");
    assert_eq!(config, before, "nothing changed on error");
}

#[test]
fn missing_values_give_kubelogin_messages() {
    for (from, message) in [
        ("apiserver-id: server, ", "--server-id is required"),
        ("client-id: client, ", "--client-id is required"),
        (", tenant-id: tenant", "--tenant-id is required"),
    ] {
        let mut config = parse(&DOCUMENT.replace(from, ""));
        let options = ConvertOptions::default();
        let error = convert(&mut config, &options).unwrap_err();
        assert_eq!(error.to_string(), message);
        assert!(matches!(
            error,
            ConvertError::MissingArgument { ref user, .. } if user == "provider-user"
        ));
    }
}

#[test]
fn unsupported_login_from_environment_fails_validation() {
    let mut config = parse(DOCUMENT);
    let options =
        ConvertOptions::default().with_environment(&env_of(&[("AAD_LOGIN_METHOD", "manual")]));
    assert_eq!(
        convert(&mut config, &options).unwrap_err().to_string(),
        "'manual' is not a supported login method. Supported method is one of devicecode, interactive, spn, ropc, msi, azurecli, azd, workloadidentity, azurepipelines"
    );
}

#[test]
fn converted_exec_replaces_the_old_section_but_keeps_its_env() {
    let mut config = parse(
        r#"users:
- name: u
  user:
    token: keep
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: kubelogin
      args: [get-token, --server-id, s]
      env: [{name: A, value: b}]
      provideClusterInfo: true
      interactiveMode: Always
      x-unknown: dropped with the old section
"#,
    );
    let options = ConvertOptions {
        login: Some(LoginMode::AzureCli),
        ..ConvertOptions::default()
    };
    convert(&mut config, &options).unwrap();
    let user = config.named_user("u").unwrap().user.as_ref().unwrap();
    let exec = user.exec.as_ref().unwrap();
    assert_eq!(
        exec.api_version.as_ref().unwrap(),
        "client.authentication.k8s.io/v1beta1"
    );
    // kubelogin drops the old env; aksctl keeps it (an emulator cluster's AZURE_AUTHORITY_HOST lives there).
    let env = exec.env.as_ref().unwrap();
    assert_eq!(env.len(), 1);
    assert_eq!(env[0].name.as_ref().unwrap(), "A");
    assert_eq!(env[0].value.as_ref().unwrap(), "b");
    assert_eq!(exec.provide_cluster_info, Field::Present(false));
    assert!(exec.interactive_mode.is_absent());
    assert!(exec.other.is_empty());
    assert_eq!(user.other["token"], "keep");
}
