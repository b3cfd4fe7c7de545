//! `aksctl doctor`: checks of a cluster and the current kubeconfig, against the emulator, with a fake `kubectl`
//! script (so the checks do not depend on the kubectl installed here) and `kubelogin` as a link to aksctl, on a
//! PATH of their own.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::{cloud, stderr};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `<sandbox>/<name>` with an executable `kubectl` printing this client version (and recording its
/// kubeconfig and `HOME`, with shell builtins only: PATH holds nothing else), and, if asked, `kubelogin` linked to aksctl.
fn tools(cloud: &TestCloud, name: &str, kubectl_minor: &str, kubelogin: bool) -> PathBuf {
    let bin = cloud.dir().join(name);
    std::fs::create_dir_all(&bin).unwrap();
    let record = cloud.dir().join(format!("{name}-kubectl-env"));
    let script = bin.join("kubectl");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             printf 'args=%s\\nHOME=%s\\n' \"$*\" \"$HOME\" > '{record}'\n\
             while IFS= read -r line; do printf '%s\\n' \"$line\"; done < \"$KUBECONFIG\" >> '{record}'\n\
             echo '{{\"clientVersion\":{{\"major\":\"1\",\"minor\":\"{kubectl_minor}\",\"gitVersion\":\"v1.{kubectl_minor}.2\"}}}}'\n",
            record = record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    if kubelogin {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_aksctl"), bin.join("kubelogin")).unwrap();
    }
    bin
}

fn doctor(cloud: &TestCloud, bin: &Path, args: &[&str]) -> Output {
    cloud
        .command()
        .env("PATH", bin)
        .env_remove("AZURE_AUTHORITY_HOST")
        .args(["doctor", "-g", "rg1", "-n", "c1"])
        .args(args)
        .output()
        .unwrap()
}

/// The `-o json` report, by check name.
fn report(output: &Output) -> Vec<Value> {
    let value: Value =
        serde_json::from_str(&stdout(output)).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)));
    let checks = value.as_array().unwrap().clone();
    for check in &checks {
        let keys: Vec<&String> = check.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["check", "detail", "fix", "status"], "{check}");
    }
    checks
}

fn find<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|check| check["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {checks:?}"))
}

#[test]
fn healthy_managed_cluster_passes() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    cloud.run_json(&[
        "aks",
        "create",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &ready.admin_group_id,
        "--disable-local-accounts",
        "--no-ssh-key",
    ]);
    cloud.run_ok(&["aks", "get-credentials", "-g", "rg1", "-n", "c1"]);
    let bin = tools(&cloud, "bin", "32", true);

    let output = doctor(&cloud, &bin, &[]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    for line in text.lines().take_while(|line| !line.is_empty()) {
        assert!(line.starts_with("PASS  "), "{text}");
    }
    assert!(
        text.ends_with(" passed, 0 warning(s), 0 failed\n"),
        "{text}"
    );
    assert!(
        text.contains(&ready.tenant_id),
        "the tenant is named: {text}"
    );
    assert!(
        text.contains("(this aksctl, running as kubelogin)"),
        "{text}"
    );

    let output = doctor(&cloud, &bin, &["-o", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let checks = report(&output);
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "credential",
            "cluster",
            "aad-mode",
            "local-accounts",
            "azure-rbac",
            "kubernetes-version",
            "admin-groups",
            "access",
            "kubeconfig",
            "auth-provider",
            "kubelogin",
            "sign-in",
            "kubectl"
        ]
    );
    let access = find(&checks, "access");
    assert_eq!(access["status"], "pass", "{access}");
    assert_eq!(
        access["detail"],
        "list user credential: yes, list admin credential: yes, Kubernetes requests allowed: 18 of 18"
    );
    assert!(
        checks
            .iter()
            .all(|c| c["status"] == "pass" && c["fix"].is_null())
    );
    let credential = find(&checks, "credential")["detail"].as_str().unwrap();
    assert!(credential.contains(&ready.client_id), "{credential}");
    let admin = find(&checks, "admin-groups")["detail"].as_str().unwrap();
    assert!(admin.contains("is a member of"), "{admin}");
    assert!(
        find(&checks, "kubeconfig")["detail"]
            .as_str()
            .unwrap()
            .contains("exec plugin `kubelogin")
    );

    // kubectl ran in isolation: a throw-away kubeconfig whose only server is https://127.0.0.1:0.
    let record = std::fs::read_to_string(cloud.dir().join("bin-kubectl-env")).unwrap();
    assert!(
        record.starts_with("args=version --client -o json\n"),
        "{record}"
    );
    assert!(record.contains("server: https://127.0.0.1:0"), "{record}");
    assert!(
        !record.contains(&format!("HOME={}\n", cloud.home().display())),
        "{record}"
    );
}

#[test]
fn legacy_cluster_with_azure_auth_provider_fails_with_the_convert_command() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    cloud.management(
        "POST",
        "seed",
        Some(json!({
            "resource_groups": [{"name": "rg1", "location": "eastus"}],
            "clusters": [{"resource_group": "rg1", "name": "c1", "body": {
                "location": "eastus",
                "properties": {
                    "kubernetesVersion": "1.32",
                    "enableRBAC": true,
                    "aadProfile": {
                        "clientAppID": "11111111-2222-3333-4444-555555555555",
                        "serverAppID": "66666666-7777-8888-9999-000000000000",
                        "serverAppSecret": "legacy-secret",
                        "tenantID": ready.tenant_id
                    },
                    "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "mode": "System", "osType": "Linux"}]
                }
            }}]
        })),
    );
    cloud.run_ok(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--format",
        "azure",
    ]);
    let bin = tools(&cloud, "bin", "32", true);

    let output = doctor(&cloud, &bin, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("FAIL  aad-mode "), "{text}");
    assert!(
        text.contains("fix: aksctl aks update -g rg1 -n c1 --enable-aad --aad-admin-group-object-ids <group-id>"),
        "{text}"
    );
    assert!(text.contains("FAIL  auth-provider "), "{text}");
    assert!(
        text.contains("fix: kubelogin convert-kubeconfig -l azurecli\n"),
        "{text}"
    );
    assert_eq!(
        stderr(&output),
        "ERROR: doctor found problems: aad-mode, auth-provider\n"
    );
    assert!(!text.contains("legacy-secret"));

    // The fix works: after the conversion, only the cluster's own problem is left.
    let converted = cloud
        .command()
        .args(["kubelogin", "convert-kubeconfig", "-l", "azurecli"])
        .output()
        .unwrap();
    assert!(converted.status.success(), "{}", stderr(&converted));
    let output = doctor(&cloud, &bin, &["-o", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let checks = report(&output);
    assert_eq!(find(&checks, "auth-provider")["status"], "pass");
    assert_eq!(find(&checks, "aad-mode")["status"], "fail");
    assert!(
        find(&checks, "kubeconfig")["detail"]
            .as_str()
            .unwrap()
            .contains("exec plugin `kubelogin -l azurecli`")
    );
}

#[test]
fn an_exec_user_that_would_sign_in_at_another_cloud_fails_with_the_fix() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    crate::create_aad_cluster(&cloud, "rg1", "c1");
    cloud.run_ok(&["aks", "get-credentials", "-g", "rg1", "-n", "c1"]);
    let bin = tools(&cloud, "bin", "32", true);
    let sign_in = |output: &Output| find(&report(output), "sign-in").clone();

    // The emulator's kubeconfig pins kubelogin to the emulator's authority.
    let output = doctor(&cloud, &bin, &["-o", "json"]);
    let check = sign_in(&output);
    assert_eq!(check["status"], "pass", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains(&format!(
            "signs in at {} (AZURE_AUTHORITY_HOST in the exec env)",
            ready.authority_host
        )),
        "{check}"
    );

    // The same user without its env entries: `--environment AzurePublicCloud` sends it to the public cloud.
    let path = cloud.default_kubeconfig();
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("      env:\n").expect("an env section");
    let end = text[start..].find("      installHint:").unwrap() + start;
    std::fs::write(
        &path,
        format!("{}      env: null\n{}", &text[..start], &text[end..]),
    )
    .unwrap();
    let output = doctor(&cloud, &bin, &["-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("sign-in"), "{}", stderr(&output));
    let check = sign_in(&output);
    assert_eq!(check["status"], "fail", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains(
            "clusterUser_rg1_c1 would sign in at https://login.microsoftonline.com/ (--environment AzurePublicCloud)"
        ),
        "{detail}"
    );
    assert!(
        detail.contains(&format!("whose authority is {}", ready.authority_host)),
        "{detail}"
    );
    let fix = check["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("aksctl aks get-credentials -g rg1 -n c1 --overwrite-existing"),
        "{fix}"
    );

    // With AZURE_AUTHORITY_HOST in this shell it works, but only here: a warning.
    let output = cloud
        .command()
        .env("PATH", &bin)
        .env("AZURE_AUTHORITY_HOST", &ready.authority_host)
        .args(["doctor", "-g", "rg1", "-n", "c1", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(sign_in(&output)["status"], "warn");

    // The fix restores the env entries.
    cloud.run_ok(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--overwrite-existing",
    ]);
    let output = doctor(&cloud, &bin, &["-o", "json"]);
    assert_eq!(sign_in(&output)["status"], "pass");
}

#[test]
fn old_kubectl_and_missing_kubelogin_fail() {
    let cloud = cloud();
    crate::create_aad_cluster(&cloud, "rg1", "c1");
    cloud.run_ok(&["aks", "get-credentials", "-g", "rg1", "-n", "c1"]);
    let bin = tools(&cloud, "old-bin", "28", false);

    let output = doctor(&cloud, &bin, &["-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let checks = report(&output);
    let kubectl = find(&checks, "kubectl");
    assert_eq!(kubectl["status"], "fail");
    assert!(
        kubectl["detail"].as_str().unwrap().contains("v1.28.2"),
        "{kubectl}"
    );
    assert!(
        kubectl["fix"]
            .as_str()
            .unwrap()
            .contains("1.31, 1.32 or 1.33"),
        "{kubectl}"
    );
    let kubelogin = find(&checks, "kubelogin");
    assert_eq!(kubelogin["status"], "fail");
    assert_eq!(kubelogin["fix"], "aksctl aks install-cli");
    // Local accounts are still enabled on this cluster: a warning, not a failure.
    assert_eq!(find(&checks, "local-accounts")["status"], "warn");

    // No kubectl at all; an unknown cluster.
    let empty = cloud.dir().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let output = cloud
        .command()
        .env("PATH", &empty)
        .args(["doctor", "-g", "rg1", "-n", "nope", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let checks = report(&output);
    assert_eq!(find(&checks, "cluster")["status"], "fail");
    assert_eq!(find(&checks, "kubectl")["status"], "fail");
    assert_eq!(find(&checks, "credential")["status"], "pass");
}

#[test]
fn helm_is_checked_only_when_installed_and_must_be_3_3_or_later() {
    let cloud = cloud();
    crate::create_aad_cluster(&cloud, "rg1", "c1");
    cloud.run_ok(&["aks", "get-credentials", "-g", "rg1", "-n", "c1"]);
    let helm_check = |name: &str, version: Option<&str>| {
        let bin = tools(&cloud, name, "32", true);
        if let Some(version) = version {
            let script = bin.join("helm");
            std::fs::write(&script, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let output = doctor(&cloud, &bin, &["-o", "json"]);
        let checks = report(&output);
        let helm = checks
            .iter()
            .find(|check| check["check"] == "helm")
            .cloned();
        (output.status.code(), helm)
    };

    let (_, helm) = helm_check("no-helm", None);
    assert_eq!(helm, None, "no helm on PATH, no helm check");

    let (_, helm) = helm_check("new-helm", Some("v3.14.4+g81c902a"));
    let helm = helm.expect("a helm check");
    assert_eq!(helm["status"], "pass", "{helm}");
    assert!(
        helm["detail"]
            .as_str()
            .unwrap()
            .starts_with("v3.14.4+g81c902a at "),
        "{helm}"
    );

    let (code, helm) = helm_check("old-helm", Some("v3.2.4+g0ad800e"));
    let helm = helm.expect("a helm check");
    assert_eq!(helm["status"], "fail", "{helm}");
    assert!(
        helm["detail"].as_str().unwrap().contains("older than 3.3"),
        "{helm}"
    );
    assert!(
        helm["fix"].as_str().unwrap().contains("helm 3.3 or later"),
        "{helm}"
    );
    assert_eq!(code, Some(1), "a failed check fails the run");
}
