//! kubelogin mode: the real binary under the name `kubelogin` (a symlink), against the emulator's Entra and Kubernetes
//! endpoints, and driven by real kubectl (docs/kubelogin.md; docs/kubectl-wire.md "Exec credential plugin"). kubectl
//! always runs with HOME and KUBECACHEDIR in the sandbox, on kubeconfigs whose servers are 127.0.0.1.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aks_test_support::TestCloud;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::{cloud, create_aad_cluster, stderr};

/// The AKS AAD server application (docs/kubelogin.md, "Well-known values").
pub(crate) const SERVER_ID: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";
/// The AKS AAD public client application (docs/kubelogin.md, "Well-known values").
pub(crate) const AKS_CLIENT_ID: &str = "80faf920-1908-4b52-b5ef-a8e7bedfc67a";

/// `<sandbox>/bin` holding a `kubelogin` symlink to the aksctl binary.
pub(crate) fn kubelogin_bin(cloud: &TestCloud) -> PathBuf {
    let bin = cloud.dir().join("bin");
    let link = bin.join("kubelogin");
    if !link.exists() {
        fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_aksctl"), &link).unwrap();
    }
    bin
}

/// A clean environment for kubelogin and kubectl: the sandbox HOME and KUBECACHEDIR, `bin` first on PATH, the
/// emulator as authority host and its CA trusted; no Azure variables from the host.
pub(crate) fn sandboxed(cloud: &TestCloud, program: &Path) -> Command {
    let bin = kubelogin_bin(cloud);
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", cloud.home())
        .env("KUBECACHEDIR", cloud.dir().join("kube-cache"))
        .env("AZURE_AUTHORITY_HOST", &cloud.ready().authority_host)
        .env("REQUESTS_CA_BUNDLE", &cloud.ready().ca_cert_file)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null());
    command
}

pub(crate) fn kubelogin(cloud: &TestCloud) -> Command {
    let program = kubelogin_bin(cloud).join("kubelogin");
    sandboxed(cloud, &program)
}

pub(crate) fn kubectl(cloud: &TestCloud, kubeconfig: &Path) -> Command {
    let mut command = sandboxed(cloud, Path::new("/usr/bin/kubectl"));
    command.env("KUBECONFIG", kubeconfig);
    command
}

pub(crate) fn run(mut command: Command) -> Output {
    command.output().expect("the process runs")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A successful get-token: exactly one JSON line; returns the ExecCredential.
pub(crate) fn credential(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "get-token failed ({:?}): {}",
        output.status.code(),
        stderr(output)
    );
    let text = stdout(output);
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "{text:?}"
    );
    let value: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["kind", "apiVersion", "spec", "status"],
        "Go's field order"
    );
    assert_eq!(value["kind"], "ExecCredential");
    assert_eq!(value["spec"], json!({"interactive": false}));
    let expiry = value["status"]["expirationTimestamp"].as_str().unwrap();
    assert!(expiry.ends_with('Z') && expiry.len() == 20, "{expiry}");
    value
}

/// The claims of the JWT in an ExecCredential.
pub(crate) fn claims(credential: &Value) -> Value {
    let token = credential["status"]["token"].as_str().unwrap();
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

pub(crate) fn token_requests(cloud: &TestCloud) -> Vec<Value> {
    cloud
        .requests()
        .into_iter()
        .filter(|request| {
            let path = request["path"].as_str().unwrap_or_default();
            path.contains("/oauth2/") || path.starts_with("/msi/")
        })
        .collect()
}

/// `aks get-credentials` for a new AAD cluster into `<sandbox>/<name>.kubeconfig`.
pub(crate) fn cluster_kubeconfig(cloud: &TestCloud, name: &str, format: &str) -> PathBuf {
    create_aad_cluster(cloud, &format!("rg-{name}"), name);
    let file = cloud.dir().join(format!("{name}.kubeconfig"));
    let output = cloud.run(&[
        "aks",
        "get-credentials",
        "-g",
        &format!("rg-{name}"),
        "-n",
        name,
        "--format",
        format,
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    file
}

pub(crate) fn exec_args(kubeconfig: &Path) -> Vec<String> {
    let config: Value = serde_saphyr::from_str(&fs::read_to_string(kubeconfig).unwrap()).unwrap();
    config["users"][0]["user"]["exec"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn convert(cloud: &TestCloud, kubeconfig: &Path, extra: &[&str]) {
    let mut command = kubelogin(cloud);
    command
        .args(["convert-kubeconfig", "--kubeconfig"])
        .arg(kubeconfig)
        .args(extra);
    let output = run(command);
    assert!(output.status.success(), "convert: {}", stderr(&output));
    assert!(output.stdout.is_empty());
}

#[test]
fn kubectl_get_nodes_with_an_spn_login_and_forbidden_for_a_non_member() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let kubeconfig = cluster_kubeconfig(&cloud, "aks1", "exec");
    convert(&cloud, &kubeconfig, &["-l", "spn"]);
    assert_eq!(
        exec_args(&kubeconfig),
        [
            "get-token",
            "--login",
            "spn",
            "--server-id",
            SERVER_ID,
            "--client-id",
            AKS_CLIENT_ID,
            "--tenant-id",
            &ready.tenant_id,
            "--environment",
            "AzurePublicCloud"
        ]
    );

    cloud.clear_requests();
    let mut command = kubectl(&cloud, &kubeconfig);
    command
        .args(["get", "nodes"])
        .env("AAD_SERVICE_PRINCIPAL_CLIENT_ID", &ready.client_id)
        .env("AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", &ready.client_secret);
    let output = run(command);
    assert!(output.status.success(), "kubectl: {}", stderr(&output));
    assert!(
        stdout(&output).contains("aks-nodepool1-"),
        "{}",
        stdout(&output)
    );
    // The kubeconfig's client id (the AKS public client) was replaced by the environment's.
    let issued = token_requests(&cloud);
    assert_eq!(
        issued.len(),
        1,
        "one sign-in for the whole kubectl run: {issued:?}"
    );
    assert_eq!(issued[0]["body"]["client_id"], ready.client_id.as_str());

    let mut command = kubectl(&cloud, &kubeconfig);
    command
        .args(["get", "nodes"])
        .env("AZURE_CLIENT_ID", &ready.nonadmin_client_id)
        .env("AZURE_CLIENT_SECRET", &ready.nonadmin_client_secret);
    let output = run(command);
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(
        text.contains("Forbidden") || text.contains("forbidden"),
        "{text}"
    );
    assert!(text.contains("cannot list resource \"nodes\""), "{text}");
}

#[test]
fn azure_format_kubeconfigs_work_after_conversion_with_spn_and_workload_identity() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let kubeconfig = cluster_kubeconfig(&cloud, "legacy1", "azure");
    let get_nodes = |kubeconfig: &Path, env: &[(&str, &str)]| {
        let mut command = kubectl(&cloud, kubeconfig);
        command.args(["get", "nodes", "-o", "name"]);
        for (name, value) in env {
            command.env(name, value);
        }
        run(command)
    };
    let spn_env = [
        ("AZURE_CLIENT_ID", ready.client_id.as_str()),
        ("AZURE_CLIENT_SECRET", ready.client_secret.as_str()),
    ];
    let output = get_nodes(&kubeconfig, &spn_env);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("The azure auth plugin has been removed"),
        "{}",
        stderr(&output)
    );

    convert(&cloud, &kubeconfig, &["-l", "spn"]);
    let output = get_nodes(&kubeconfig, &spn_env);
    assert!(output.status.success(), "kubectl: {}", stderr(&output));
    assert!(
        stdout(&output).starts_with("node/aks-"),
        "{}",
        stdout(&output)
    );

    // Workload identity: a federated token from the emulator's issuer in AZURE_FEDERATED_TOKEN_FILE.
    let kubeconfig = cloud.dir().join("legacy2.kubeconfig");
    let output = cloud.run(&[
        "aks",
        "get-credentials",
        "-g",
        "rg-legacy1",
        "-n",
        "legacy1",
        "--format",
        "azure",
        "--file",
        kubeconfig.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    convert(&cloud, &kubeconfig, &["-l", "workloadidentity"]);
    assert_eq!(
        exec_args(&kubeconfig),
        [
            "get-token",
            "--login",
            "workloadidentity",
            "--server-id",
            SERVER_ID
        ]
    );
    let federated = cloud.management("POST", "federated-token", Some(json!({})));
    let token_file = cloud.dir().join("federated-token");
    fs::write(&token_file, federated["token"].as_str().unwrap()).unwrap();
    let output = get_nodes(
        &kubeconfig,
        &[
            ("AZURE_CLIENT_ID", ready.client_id.as_str()),
            ("AZURE_TENANT_ID", ready.tenant_id.as_str()),
            ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
        ],
    );
    assert!(output.status.success(), "kubectl: {}", stderr(&output));
    assert!(stdout(&output).starts_with("node/aks-"));
}

/// get-token with `args` and `env`, in a fresh cache dir named `cache`.
pub(crate) fn get_token(
    cloud: &TestCloud,
    cache: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut command = kubelogin(cloud);
    command
        .args(["get-token", "--server-id", SERVER_ID, "--cache-dir"])
        .arg(cloud.dir().join(cache))
        .args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    run(command)
}

#[test]
fn get_token_in_every_mode_the_emulator_serves() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let tenant = ready.tenant_id.as_str();

    // spn with a secret, v1beta1 by default.
    let output = get_token(
        &cloud,
        "spn",
        &[
            "-l",
            "spn",
            "--client-id",
            &ready.client_id,
            "--client-secret",
            &ready.client_secret,
            "-t",
            tenant,
        ],
        &[],
    );
    let value = credential(&output);
    assert_eq!(value["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(claims(&value)["aud"], SERVER_ID);
    assert_eq!(claims(&value)["appid"], ready.client_id.as_str());

    // spn with a PEM certificate, and v1 asked for by kubectl.
    let output = get_token(
        &cloud,
        "cert",
        &["-l", "spn", "-t", tenant],
        &[
            ("AAD_SERVICE_PRINCIPAL_CLIENT_ID", &ready.cert_client_id),
            ("AZURE_CLIENT_CERTIFICATE_PATH", &ready.cert_file),
            (
                "KUBERNETES_EXEC_INFO",
                "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false}}\n",
            ),
        ],
    );
    let value = credential(&output);
    assert_eq!(value["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(claims(&value)["appid"], ready.cert_client_id.as_str());

    // workloadidentity.
    let federated = cloud.management("POST", "federated-token", Some(json!({})));
    let token_file = cloud.dir().join("federated-token");
    fs::write(&token_file, federated["token"].as_str().unwrap()).unwrap();
    let output = get_token(
        &cloud,
        "wi",
        &["-l", "workloadidentity"],
        &[
            ("AZURE_CLIENT_ID", &ready.client_id),
            ("AZURE_TENANT_ID", tenant),
            ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
        ],
    );
    assert_eq!(
        claims(&credential(&output))["appid"],
        ready.client_id.as_str()
    );

    // msi through the App Service endpoint.
    let output = get_token(
        &cloud,
        "msi",
        &["-l", "msi", "--client-id", &ready.msi_client_id],
        &[
            ("IDENTITY_ENDPOINT", &ready.identity_endpoint),
            ("IDENTITY_HEADER", &ready.identity_header),
        ],
    );
    assert_eq!(claims(&credential(&output))["aud"], SERVER_ID);
    assert!(
        cloud
            .requests()
            .iter()
            .any(|request| request["path"] == "/msi/token"),
        "the App Service endpoint was used"
    );

    // ropc with the seeded user.
    let output = get_token(
        &cloud,
        "ropc",
        &["-l", "ropc", "--client-id", AKS_CLIENT_ID, "-t", tenant],
        &[
            ("AAD_USER_PRINCIPAL_NAME", &ready.user_name),
            ("AAD_USER_PRINCIPAL_PASSWORD", &ready.user_password),
        ],
    );
    assert_eq!(
        claims(&credential(&output))["upn"],
        ready.user_name.as_str()
    );

    // A wrong secret: Entra's AADSTS code, exit 1, nothing on stdout.
    let output = get_token(
        &cloud,
        "bad",
        &[
            "-l",
            "spn",
            "--client-id",
            &ready.client_id,
            "--client-secret",
            "wrong",
            "-t",
            tenant,
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let text = stderr(&output);
    assert!(text.starts_with("Error: failed to get token: "), "{text}");
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(!text.contains("wrong\""), "{text}");
}

#[test]
fn azurecli_runs_az_once_then_serves_the_cache() {
    let cloud = cloud();
    let bin = kubelogin_bin(&cloud);
    let log = cloud.dir().join("az-args");
    let expires_on = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    fs::write(
        bin.join("az"),
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\necho '{{\"accessToken\":\"fake-az-token\",\"expiresOn\":\"2030-01-01 00:00:00.000000\",\"expires_on\":{expires_on},\"subscription\":\"s\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}'\n",
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(bin.join("az"), fs::Permissions::from_mode(0o755)).unwrap();
    for _ in 0..2 {
        let output = get_token(&cloud, "cli", &["-l", "azurecli", "-s", "my-sub"], &[]);
        let value = credential(&output);
        assert_eq!(value["status"]["token"], "fake-az-token");
    }
    let calls = fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [format!(
            "account get-access-token -o json --resource {SERVER_ID} --subscription my-sub"
        )],
        "az ran once; the second call was a cache hit"
    );

    // az missing from PATH and no login in az's files: az's own "not signed in" message, with no az process.
    fs::remove_file(bin.join("az")).unwrap();
    let output = get_token(&cloud, "cli2", &["-l", "azurecli"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("Please run 'az login' to setup account."),
        "{}",
        stderr(&output)
    );
}

#[test]
fn devicecode_prompts_on_stderr_until_approved_then_refreshes_silently() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let cache = cloud.dir().join("device");
    let start = || {
        let mut command = kubelogin(&cloud);
        command
            .args([
                "get-token",
                "--server-id",
                SERVER_ID,
                "--client-id",
                AKS_CLIENT_ID,
                "-t",
            ])
            .arg(&ready.tenant_id)
            .arg("--cache-dir")
            .arg(&cache)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.spawn().unwrap()
    };
    let child = start();
    let mut pending = Vec::new();
    for _ in 0..100 {
        pending = cloud
            .management("GET", "devicecode", None)
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !pending.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(pending.len(), 1, "one device-code sign-in started");
    let user_code = pending[0]["user_code"].as_str().unwrap().to_owned();
    cloud.management(
        "POST",
        "devicecode/approve",
        Some(json!({"user_code": user_code})),
    );
    let output = child.wait_with_output().unwrap();
    let value = credential(&output);
    assert_eq!(claims(&value)["upn"], ready.user_name.as_str());
    assert!(
        stderr(&output).contains(&format!(
            "To sign in, use a web browser to open the page {}devicelogin and enter the code {user_code} to authenticate.",
            ready.authority_host
        )),
        "{}",
        stderr(&output)
    );

    // A cache hit: no prompt, no request.
    cloud.clear_requests();
    let output = start().wait_with_output().unwrap();
    credential(&output);
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    assert!(cloud.requests().is_empty());

    // An access token near expiry is renewed with the refresh token: no prompt.
    let entry_path = fs::read_dir(&cache)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("aksctl-token-")
                && path
                    .extension()
                    .is_some_and(|extension| extension == "json")
        })
        .unwrap();
    let mut entry: Value = serde_json::from_slice(&fs::read(&entry_path).unwrap()).unwrap();
    assert!(entry["refresh_token"].is_string());
    entry["expires_on"] = json!(1_000_000_000);
    fs::write(&entry_path, serde_json::to_vec(&entry).unwrap()).unwrap();
    let output = start().wait_with_output().unwrap();
    credential(&output);
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    let grants: Vec<Value> = token_requests(&cloud)
        .iter()
        .map(|request| request["body"]["grant_type"].clone())
        .collect();
    assert_eq!(grants, [json!("refresh_token")]);
}

#[test]
fn cache_hits_send_nothing_remove_cache_dir_clears_and_concurrent_writers_leave_a_valid_file() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let spn = [
        "-l",
        "spn",
        "--client-id",
        ready.client_id.as_str(),
        "--client-secret",
        ready.client_secret.as_str(),
        "-t",
        ready.tenant_id.as_str(),
    ];
    let first = credential(&get_token(&cloud, "cache", &spn, &[]));
    cloud.clear_requests();
    let second = credential(&get_token(&cloud, "cache", &spn, &[]));
    assert_eq!(first["status"]["token"], second["status"]["token"]);
    // How fast a hit is belongs to bench.sh (the warm exec plugin); what a test can prove is that it sends nothing.
    assert!(cloud.requests().is_empty(), "a cache hit sends nothing");
    let dir = cloud.dir().join("cache");
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // remove-cache-dir clears it; the next get-token signs in again.
    let mut command = kubelogin(&cloud);
    command.args(["remove-cache-dir", "--cache-dir"]).arg(&dir);
    let output = run(command);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!dir.exists());
    credential(&get_token(&cloud, "cache", &spn, &[]));
    assert_eq!(token_requests(&cloud).len(), 1);

    // The deprecated remove-tokens says so and does the same.
    let mut command = kubelogin(&cloud);
    command
        .args(["remove-tokens", "--token-cache-dir"])
        .arg(&dir);
    let output = run(command);
    assert!(output.status.success());
    assert!(
        stderr(&output).contains(
            "Command \"remove-tokens\" is deprecated, remove-tokens is deprecated, use remove-cache-dir instead"
        ),
        "{}",
        stderr(&output)
    );
    assert!(!dir.exists());

    // 16 concurrent writers on an empty cache.
    let children: Vec<_> = (0..16)
        .map(|_| {
            let mut command = kubelogin(&cloud);
            command
                .args(["get-token", "--server-id", SERVER_ID, "--cache-dir"])
                .arg(&dir)
                .args(spn)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    for child in children {
        credential(&child.wait_with_output().unwrap());
    }
    let files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one entry, no temp files left: {files:?}");
    let entry: Value = serde_json::from_slice(&fs::read(&files[0]).unwrap()).unwrap();
    assert!(entry["access_token"].as_str().unwrap().starts_with("eyJ"));
    cloud.clear_requests();
    credential(&get_token(&cloud, "cache", &spn, &[]));
    assert!(cloud.requests().is_empty());
}

#[test]
fn errors_are_kubelogins_messages_with_exit_1() {
    let cloud = cloud();
    let check = |args: &[&str], env: &[(&str, &str)], expected: &str| {
        let mut command = kubelogin(&cloud);
        command.args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let output = run(command);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
        assert_eq!(stderr(&output), format!("Error: {expected}\n"), "{args:?}");
    };
    check(
        &["get-token", "--server-id", SERVER_ID, "-l", "magic"],
        &[],
        "'magic' is not a supported login method. Supported method is one of devicecode, interactive, spn, ropc, msi, azurecli, azd, workloadidentity, azurepipelines",
    );
    check(
        &["get-token", "--server-id", SERVER_ID],
        &[("AAD_LOGIN_METHOD", "nope")],
        "'nope' is not a supported login method. Supported method is one of devicecode, interactive, spn, ropc, msi, azurecli, azd, workloadidentity, azurepipelines",
    );
    check(&["get-token", "-l", "spn"], &[], "server-id is required");
    check(
        &[
            "get-token",
            "-l",
            "spn",
            "--server-id",
            SERVER_ID,
            "-t",
            "t",
        ],
        &[],
        "failed to create azidentity credential: client ID cannot be empty",
    );
    check(
        &["get-token", "--server-id", SERVER_ID, "--timeout", "0s"],
        &[],
        "timeout must be greater than 0",
    );
    check(
        &["frobnicate"],
        &[],
        "unknown command \"frobnicate\" for \"kubelogin\"\nRun 'kubelogin --help' for usage.",
    );
    check(
        &["get-token", "--server-id", SERVER_ID, "--nope"],
        &[],
        "unknown flag: --nope",
    );
    check(
        &[
            "convert-kubeconfig",
            "-l",
            "spn",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
        ],
        &[],
        "unable to load kubeconfig: cannot read /nonexistent/kubeconfig: No such file or directory (os error 2)",
    );
    check(
        &["get-token", "--server-id", SERVER_ID, "--pop-enabled"],
        &[],
        "if enabling pop token mode, please provide the pop-claims flag containing the PoP token claims as a comma-separated string: `u=popClaimHost,key1=val1`",
    );

    // An unknown KUBERNETES_EXEC_INFO apiVersion is refused after the token was had (as kubelogin does).
    let bin = kubelogin_bin(&cloud);
    fs::write(
        bin.join("az"),
        "#!/bin/sh\necho '{\"accessToken\":\"t\",\"expires_on\":4102444800}'\n",
    )
    .unwrap();
    fs::set_permissions(bin.join("az"), fs::Permissions::from_mode(0o755)).unwrap();
    check(
        &["get-token", "--server-id", SERVER_ID, "-l", "azurecli"],
        &[(
            "KUBERNETES_EXEC_INFO",
            "{\"apiVersion\":\"client.authentication.k8s.io/v2\"}",
        )],
        "api version: client.authentication.k8s.io/v2 is not supported",
    );
}

#[test]
fn aksctl_kubelogin_is_the_same_program() {
    let cloud = cloud();
    let version = run({
        let mut command = kubelogin(&cloud);
        command.arg("--version");
        command
    });
    assert!(version.status.success());
    assert!(stdout(&version).starts_with("kubelogin version\ngit hash: v0.2.19/"));
    let mut command = sandboxed(&cloud, Path::new(env!("CARGO_BIN_EXE_aksctl")));
    command.args(["kubelogin", "--version"]);
    let same = run(command);
    assert_eq!(stdout(&same), stdout(&version));
    let mut command = sandboxed(&cloud, Path::new(env!("CARGO_BIN_EXE_aksctl")));
    command.args(["kubelogin", "version"]);
    assert_eq!(stdout(&run(command)), stdout(&version));

    let mut command = sandboxed(&cloud, Path::new(env!("CARGO_BIN_EXE_aksctl")));
    command.args(["kubelogin", "get-token", "-l", "bogus", "--server-id", "x"]);
    let output = run(command);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("Error: 'bogus' is not a supported login method."));
}

#[test]
fn interactive_opens_the_authorize_url_and_redeems_the_loopback_code_with_pkce() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let seen = cloud.dir().join("browser-url");
    // A "browser" that follows the redirect straight back to the loopback listener with a code.
    let browser = cloud.dir().join("browser");
    fs::write(
        &browser,
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > '{}'\nredirect=$(printf '%s' \"$1\" | sed -n 's/.*[?&]redirect_uri=\\([^&]*\\).*/\\1/p' | sed 's/%3A/:/g; s/%2F/\\//g')\nstate=$(printf '%s' \"$1\" | sed -n 's/.*[?&]state=\\([^&]*\\).*/\\1/p')\n/usr/bin/curl -s \"$redirect/?code=the-code&state=$state\" > /dev/null\n",
            seen.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&browser, fs::Permissions::from_mode(0o755)).unwrap();
    cloud.clear_requests();
    let output = get_token(
        &cloud,
        "interactive",
        &[
            "-l",
            "interactive",
            "--client-id",
            AKS_CLIENT_ID,
            "-t",
            &ready.tenant_id,
            "--login-hint",
            &ready.user_name,
            "--timeout",
            "20s",
        ],
        &[("BROWSER", browser.to_str().unwrap())],
    );
    let url = url_query(&fs::read_to_string(&seen).unwrap());
    assert_eq!(url["client_id"], AKS_CLIENT_ID);
    assert_eq!(url["response_type"], "code");
    assert_eq!(url["code_challenge_method"], "S256");
    assert_eq!(url["code_challenge"].len(), 43);
    assert_eq!(url["login_hint"], ready.user_name);
    assert!(url["redirect_uri"].starts_with("http://localhost:"));
    assert!(url["scope"].starts_with(&format!("{SERVER_ID}/.default ")));
    // This "browser" forges a code the emulator never issued, so it is refused at redemption; the request shows
    // the loopback code and the PKCE verifier arrived (redacted in the log). The real flow through the emulator's
    // /authorize is in kubelogin_interactive.rs.
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Error: failed to authenticate: "),
        "{}",
        stderr(&output)
    );
    let redeemed = token_requests(&cloud);
    assert_eq!(redeemed.len(), 1, "{redeemed:?}");
    assert_eq!(redeemed[0]["body"]["grant_type"], "authorization_code");
    assert_eq!(
        redeemed[0]["body"]["redirect_uri"],
        url["redirect_uri"].as_str()
    );
    assert_eq!(redeemed[0]["body"]["code_verifier"], "REDACTED");
    assert_eq!(redeemed[0]["body"]["code"], "REDACTED");
}

/// The query of a URL as a map.
pub(crate) fn url_query(url: &str) -> std::collections::HashMap<String, String> {
    let query = url
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (decode(key), decode(value)))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
