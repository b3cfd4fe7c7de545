//! kubelogin's remaining get-token modes end to end (issue #4): `spn` with PKCS#12 (PFX) certificates, the same
//! files for aksctl's own CI sign-in (`AZURE_CLIENT_CERTIFICATE_PATH` + `AZURE_CLIENT_CERTIFICATE_PASSWORD`),
//! `azurepipelines` against the emulator's Azure Pipelines OIDC endpoint, and `azd` through a stand-in `azd`
//! (the Azure Developer CLI cannot be installed from the registries this machine reaches). The real binary as
//! `kubelogin`, the emulator over TLS on 127.0.0.1, and real kubectl with a sandboxed HOME and KUBECACHEDIR.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::kubelogin::{
    SERVER_ID, claims, cluster_kubeconfig, convert, credential, exec_args, get_token, kubectl,
    kubelogin_bin, run, stdout, token_requests,
};
use crate::{cloud, stderr};

const OPENSSL: &str = "/usr/bin/openssl";
/// The PFX password of the tests (never expected in any output).
const PASSWORD: &str = "Pfx-pa55word-7f3a";

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new(OPENSSL)
        .current_dir(dir)
        .args(args)
        .env("RANDFILE", dir.join(".rnd"))
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        stderr(&output)
    );
}

/// A new RSA key and self-signed certificate in `<sandbox>/pfx/{key,cert}.pem`, registered as a certificate
/// credential of the certificate service principal (as the seeded PEM one is).
fn certificate_for_cert_client(cloud: &TestCloud) -> PathBuf {
    let dir = cloud.dir().join("pfx");
    fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-nodes",
            "-subj",
            "/CN=aksctl-pfx-test",
        ],
    );
    let certificate = fs::read_to_string(dir.join("cert.pem")).unwrap();
    cloud.management(
        "POST",
        &format!("apps/{}/certificates", cloud.ready().cert_client_id),
        Some(json!({"certificate": certificate})),
    );
    dir
}

/// `openssl pkcs12 -export` of the key and certificate in `dir` into `name`, with extra options.
fn pfx(dir: &Path, name: &str, password: &str, options: &[&str]) -> PathBuf {
    let passout = format!("pass:{password}");
    let mut args = vec![
        "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-out", name, "-passout",
        &passout,
    ];
    args.extend_from_slice(options);
    openssl(dir, &args);
    dir.join(name)
}

fn assert_cert_client_token(cloud: &TestCloud, output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {} {}",
        stderr(output),
        stdout(output)
    );
    let value = credential(output);
    let claims = claims(&value);
    assert_eq!(claims["aud"], SERVER_ID, "{what}");
    assert_eq!(
        claims["appid"],
        cloud.ready().cert_client_id.as_str(),
        "{what}"
    );
    assert_eq!(claims["appidacr"], "2", "{what}: a certificate sign-in");
}

/// Exit 1, nothing on stdout, exactly one `Error: ` line, and no secret on stderr.
fn assert_failed(output: &Output, secrets: &[&str]) -> String {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    assert!(output.stdout.is_empty(), "{}", stdout(output));
    let text = stderr(output);
    for secret in secrets {
        assert!(!text.contains(secret), "a secret leaked: {text}");
    }
    text
}

#[test]
fn spn_with_pfx_certificates_modern_legacy_and_without_a_password() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let dir = certificate_for_cert_client(&cloud);
    let spn = [
        "-l",
        "spn",
        "--client-id",
        ready.cert_client_id.as_str(),
        "-t",
        ready.tenant_id.as_str(),
    ];

    // OpenSSL 3's default (PBES2: PBKDF2 + AES-256-CBC, HMAC-SHA256 MAC), path and password as flags, with
    // klog -v 10 (every debug log of aksctl and azure_identity).
    let modern = pfx(&dir, "modern.pfx", PASSWORD, &[]);
    let mut args = spn.to_vec();
    args.extend([
        "--client-certificate",
        modern.to_str().unwrap(),
        "--client-certificate-password",
        PASSWORD,
        "-v",
        "10",
    ]);
    cloud.clear_requests();
    let output = get_token(&cloud, "modern", &args, &[]);
    assert_cert_client_token(&cloud, &output, "modern.pfx");
    assert!(
        !stderr(&output).contains(PASSWORD),
        "the password is not logged: {}",
        stderr(&output)
    );
    let issued = token_requests(&cloud);
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(
        issued[0]["body"]["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(
        issued[0]["body"]["client_id"],
        ready.cert_client_id.as_str()
    );

    // The legacy encryption Windows and Key Vault exports use (PBE-SHA1-3DES, SHA-1 MAC: what Go's
    // x/crypto/pkcs12 in kubelogin reads), through kubelogin's own variables.
    let legacy = pfx(
        &dir,
        "legacy.pfx",
        PASSWORD,
        &[
            "-certpbe",
            "PBE-SHA1-3DES",
            "-keypbe",
            "PBE-SHA1-3DES",
            "-macalg",
            "sha1",
        ],
    );
    let output = get_token(
        &cloud,
        "legacy",
        &spn,
        &[
            (
                "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE",
                legacy.to_str().unwrap(),
            ),
            (
                "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD",
                PASSWORD,
            ),
        ],
    );
    assert_cert_client_token(&cloud, &output, "legacy.pfx");

    // `openssl pkcs12 -legacy` (RC2-40 certificates, 3DES key) named .p12, through the azidentity variables,
    // which override the flags given (kubelogin's UpdateFromEnv runs after flag parsing).
    let rc2 = pfx(&dir, "rc2.p12", PASSWORD, &["-legacy"]);
    let mut args = spn.to_vec();
    args.extend([
        "--client-certificate",
        "/nonexistent/overridden.pfx",
        "--client-certificate-password",
        "overridden",
    ]);
    let output = get_token(
        &cloud,
        "rc2",
        &args,
        &[
            ("AZURE_CLIENT_CERTIFICATE_PATH", rc2.to_str().unwrap()),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", PASSWORD),
        ],
    );
    assert_cert_client_token(&cloud, &output, "rc2.p12");

    // No password: an empty-password file, and one with neither encryption nor MAC.
    let empty = pfx(&dir, "empty.pfx", "", &[]);
    let plain = pfx(
        &dir,
        "plain.pfx",
        "",
        &["-keypbe", "NONE", "-certpbe", "NONE", "-nomac"],
    );
    for (name, file) in [("empty", &empty), ("plain", &plain)] {
        let mut args = spn.to_vec();
        args.extend(["--client-certificate", file.to_str().unwrap()]);
        let output = get_token(&cloud, name, &args, &[]);
        assert_cert_client_token(&cloud, &output, name);
    }

    // kubectl get nodes through the PFX: the exec plugin reads the certificate and password from the
    // environment kubectl passes on.
    let kubeconfig = cluster_kubeconfig(&cloud, "pfx1", "exec");
    convert(&cloud, &kubeconfig, &["-l", "spn"]);
    let mut command = kubectl(&cloud, &kubeconfig);
    command
        .args(["get", "nodes", "-o", "name"])
        .env("AAD_SERVICE_PRINCIPAL_CLIENT_ID", &ready.cert_client_id)
        .env("AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE", &modern)
        .env(
            "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD",
            PASSWORD,
        );
    let output = run(command);
    assert!(output.status.success(), "kubectl: {}", stderr(&output));
    assert!(
        stdout(&output).starts_with("node/aks-nodepool1-"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn wrong_or_missing_pfx_passwords_and_encrypted_pem_keys_fail_naming_the_file() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let dir = certificate_for_cert_client(&cloud);
    let modern = pfx(&dir, "modern.pfx", PASSWORD, &[]);
    let legacy = pfx(
        &dir,
        "legacy.pfx",
        PASSWORD,
        &[
            "-certpbe",
            "PBE-SHA1-3DES",
            "-keypbe",
            "PBE-SHA1-3DES",
            "-macalg",
            "sha1",
        ],
    );
    let spn = |file: &Path, password: Option<&str>| {
        let mut args = vec![
            "-l".to_owned(),
            "spn".into(),
            "--client-id".into(),
            ready.cert_client_id.clone(),
            "-t".into(),
            ready.tenant_id.clone(),
            "--client-certificate".into(),
            file.display().to_string(),
            "-v".into(),
            "10".into(),
        ];
        if let Some(password) = password {
            args.extend(["--client-certificate-password".into(), password.to_owned()]);
        }
        args
    };
    cloud.clear_requests();
    for file in [&modern, &legacy] {
        let args = spn(file, Some("Wrong-pa55-9c1d"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = get_token(&cloud, "wrong", &args, &[]);
        let text = assert_failed(&output, &[PASSWORD, "Wrong-pa55-9c1d"]);
        let expected = format!(
            "Error: failed to create azidentity credential: client certificate {}: cannot open the PKCS#12 (PFX) \
             file: the password is wrong (decryption password incorrect)\n",
            file.display()
        );
        assert!(text.ends_with(&expected), "{text}");
    }
    // A protected file without a password says which flag or variable carries it.
    let args = spn(&modern, None);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = assert_failed(&get_token(&cloud, "none", &args, &[]), &[PASSWORD]);
    assert!(
        text.contains(&format!(
            "client certificate {}: cannot open the PKCS#12 (PFX) file: it is protected by a password and none was \
             given\nhint: pass it with --client-certificate-password",
            modern.display()
        )),
        "{text}"
    );
    assert!(
        token_requests(&cloud).is_empty(),
        "nothing is sent to Entra when the certificate cannot be read"
    );

    // A PEM file whose key is encrypted: kubelogin (and azidentity) read only unencrypted PEM keys, whatever
    // the password; the error names the file and says how to convert it.
    openssl(
        &dir,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "key.pem",
            "-out",
            "encrypted-key.pem",
            "-passout",
            &format!("pass:{PASSWORD}"),
        ],
    );
    let encrypted = dir.join("encrypted.pem");
    fs::write(
        &encrypted,
        fs::read_to_string(dir.join("encrypted-key.pem")).unwrap()
            + &fs::read_to_string(dir.join("cert.pem")).unwrap(),
    )
    .unwrap();
    let args = spn(&encrypted, Some(PASSWORD));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = assert_failed(&get_token(&cloud, "encrypted", &args, &[]), &[PASSWORD]);
    assert!(
        text.contains(&format!(
            "Error: failed to create azidentity credential: client certificate {}: the private key is encrypted \
             (ENCRYPTED PRIVATE KEY)",
            encrypted.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("\nhint: decrypt it with `openssl pkey"),
        "{text}"
    );

    // Not a certificate at all.
    let junk = dir.join("junk.pfx");
    fs::write(&junk, "just text").unwrap();
    let args = spn(&junk, None);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = assert_failed(&get_token(&cloud, "junk", &args, &[]), &[]);
    assert!(
        text.contains(&format!(
            "client certificate {}: neither a PEM file",
            junk.display()
        )),
        "{text}"
    );
}

#[test]
fn aksctl_signs_in_with_a_pfx_from_azure_client_certificate_path_and_password() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let dir = certificate_for_cert_client(&cloud);
    let modern = pfx(&dir, "ci.pfx", PASSWORD, &[]);
    let aksctl = |password: &str| {
        let mut command = cloud.std_command();
        command
            .env_remove("AZURE_CLIENT_SECRET")
            .env("AZURE_CLIENT_ID", &ready.cert_client_id)
            .env("AZURE_CLIENT_CERTIFICATE_PATH", &modern)
            .env("AZURE_CLIENT_CERTIFICATE_PASSWORD", password)
            .args(["group", "create", "-n", "rg-pfx", "-l", "eastus", "--debug"]);
        command.output().expect("aksctl runs")
    };
    cloud.clear_requests();
    let output = aksctl(PASSWORD);
    assert!(output.status.success(), "{}", stderr(&output));
    let group: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(group["name"], "rg-pfx");
    assert!(!stderr(&output).contains(PASSWORD), "{}", stderr(&output));
    let issued = token_requests(&cloud);
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(
        issued[0]["body"]["client_id"],
        ready.cert_client_id.as_str()
    );
    assert_eq!(
        issued[0]["body"]["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );

    let output = aksctl("Wrong-pa55-9c1d");
    let text = assert_failed(&output, &[PASSWORD, "Wrong-pa55-9c1d"]);
    assert!(
        text.contains(&format!(
            "client certificate {}: cannot open the PKCS#12 (PFX) file: the password is wrong",
            modern.display()
        )),
        "{text}"
    );
}

/// `POST /_emulator/pipelines/jobs`: the variables of one pipeline job.
fn pipeline_job(cloud: &TestCloud, body: Value) -> Value {
    cloud.management("POST", "pipelines/jobs", Some(body))
}

/// The environment an AzureCLI@2 task with a workload-identity service connection gives a script.
fn pipeline_env(job: &Value) -> Vec<(&'static str, String)> {
    let text = |key: &str| job[key].as_str().unwrap().to_owned();
    vec![
        ("SYSTEM_ACCESSTOKEN", text("system_access_token")),
        ("SYSTEM_OIDCREQUESTURI", text("oidc_request_uri")),
        (
            "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
            text("service_connection_id"),
        ),
        ("AZURESUBSCRIPTION_CLIENT_ID", text("client_id")),
        ("AZURESUBSCRIPTION_TENANT_ID", text("tenant_id")),
    ]
}

fn pipelines_get_token(cloud: &TestCloud, cache: &str, env: &[(&str, String)]) -> Output {
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    get_token(cloud, cache, &["-l", "azurepipelines"], &env)
}

#[test]
fn azurepipelines_gets_a_token_through_the_pipelines_oidc_endpoint_and_kubectl_works() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let job = pipeline_job(&cloud, json!({}));
    assert_eq!(job["client_id"], ready.client_id.as_str());
    assert_eq!(
        job["subject"],
        "sc://emulator/aksctl/aks-service-connection"
    );
    let env = pipeline_env(&job);

    cloud.clear_requests();
    let output = pipelines_get_token(&cloud, "pipelines", &env);
    let value = credential(&output);
    let claims = claims(&value);
    assert_eq!(claims["aud"], SERVER_ID);
    assert_eq!(claims["appid"], ready.client_id.as_str());
    assert_eq!(claims["appidacr"], "2", "a federated assertion");
    let text = stderr(&output);
    assert!(text.is_empty(), "{text}");

    // The credential asked the OIDC endpoint (Azure DevOps' protocol), then Entra with the ID token.
    let requests = cloud.requests();
    let oidc: Vec<&Value> = requests
        .iter()
        .filter(|request| {
            request["path"]
                .as_str()
                .unwrap_or_default()
                .ends_with("/oidctoken")
        })
        .collect();
    assert_eq!(oidc.len(), 1, "{requests:?}");
    assert_eq!(oidc[0]["method"], "POST");
    assert_eq!(oidc[0]["status"], 200);
    let query = oidc[0]["query"].as_str().unwrap();
    assert_eq!(
        query,
        format!(
            "api-version=7.1&serviceConnectionId={}",
            job["service_connection_id"].as_str().unwrap()
        )
    );
    let issued = token_requests(&cloud);
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0]["body"]["client_id"], ready.client_id.as_str());
    assert_eq!(
        issued[0]["body"]["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );

    // With every debug log (klog -v 10), no JWT reaches stderr: not SYSTEM_ACCESSTOKEN, not the ID token, not
    // the access token.
    let env_refs: Vec<(&str, &str)> = env
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let output = get_token(
        &cloud,
        "pipelines-debug",
        &["-l", "azurepipelines", "-v", "10"],
        &env_refs,
    );
    credential(&output);
    let text = stderr(&output);
    assert!(
        text.contains("requesting a token credential=AzurePipelinesCredential"),
        "{text}"
    );
    assert!(!text.contains("eyJ"), "a token leaked: {text}");

    // convert-kubeconfig -l azurepipelines, then kubectl runs get-token in the job's environment.
    let kubeconfig = cluster_kubeconfig(&cloud, "pipe1", "exec");
    convert(&cloud, &kubeconfig, &["-l", "azurepipelines"]);
    assert_eq!(
        exec_args(&kubeconfig),
        [
            "get-token",
            "--login",
            "azurepipelines",
            "--server-id",
            SERVER_ID,
            "--tenant-id",
            &ready.tenant_id
        ]
    );
    let mut command = kubectl(&cloud, &kubeconfig);
    command.args(["get", "nodes"]);
    for (name, value) in &env {
        command.env(name, value);
    }
    let output = run(command);
    assert!(output.status.success(), "kubectl: {}", stderr(&output));
    assert!(
        stdout(&output).contains("aks-nodepool1-"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn azurepipelines_failures_say_what_is_missing_or_refused() {
    let cloud = cloud();
    let job = pipeline_job(&cloud, json!({}));
    let access_token = job["system_access_token"].as_str().unwrap().to_owned();
    let env = pipeline_env(&job);
    let without = |name: &str| -> Vec<(&'static str, String)> {
        env.iter()
            .filter(|(variable, _)| *variable != name)
            .cloned()
            .collect()
    };
    let with = |name: &'static str, value: &str| -> Vec<(&'static str, String)> {
        let mut changed = without(name);
        changed.push((name, value.to_owned()));
        changed
    };
    let fails = |env: &[(&str, String)], expected: &str| {
        let output = pipelines_get_token(&cloud, "pipelines-errors", env);
        let text = assert_failed(&output, &[access_token.as_str()]);
        assert!(text.starts_with("Error: "), "{text}");
        assert!(text.contains(expected), "expected {expected:?} in {text}");
        text
    };

    // kubelogin's own check, before any request.
    fails(
        &without("SYSTEM_ACCESSTOKEN"),
        "failed to create azidentity credential: SYSTEM_ACCESSTOKEN environment variable not set",
    );
    fails(
        &without("SYSTEM_OIDCREQUESTURI"),
        "failed to create azidentity credential: failed to create azure pipelines credential: no value for \
         environment variable SYSTEM_OIDCREQUESTURI. This should be set by Azure Pipelines",
    );
    fails(
        &without("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"),
        "failed to create azidentity credential: failed to create azure pipelines credential: no service \
         connection ID specified",
    );

    // The OIDC endpoint refuses a token that is not the job's, and a connection the job may not use.
    let forged = format!("{}x", &access_token[..access_token.len() - 1]);
    fails(&with("SYSTEM_ACCESSTOKEN", &forged), "401");
    fails(
        &with(
            "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
            "00000000-0000-0000-0000-00000000beef",
        ),
        "404",
    );
    let expired = pipeline_job(&cloud, json!({"expires_in": -60}));
    fails(
        &with(
            "SYSTEM_ACCESSTOKEN",
            expired["system_access_token"].as_str().unwrap(),
        ),
        "401",
    );

    // Entra refuses an ID token whose subject no federated credential of the app names.
    let unfederated = pipeline_job(
        &cloud,
        json!({"service_connection_name": "not-federated", "without_federated_credential": true}),
    );
    let text = fails(&pipeline_env(&unfederated), "AADSTS700213");
    assert!(
        text.contains("sc://emulator/aksctl/not-federated"),
        "{text}"
    );
}

/// Install a stand-in `azd` in the sandbox's `bin`: it records its arguments and working directory in
/// `<sandbox>/azd-calls`, then does what `script` says.
fn install_azd(cloud: &TestCloud, script: &str) -> PathBuf {
    let bin = kubelogin_bin(cloud);
    let log = cloud.dir().join("azd-calls");
    fs::write(
        bin.join("azd"),
        format!(
            "#!/bin/sh\n{{ printf 'cwd=%s' \"$(pwd)\"; for arg in \"$@\"; do printf ' [%s]' \"$arg\"; done; echo; }} >> '{}'\n{script}",
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(bin.join("azd"), fs::Permissions::from_mode(0o755)).unwrap();
    log
}

/// A stand-in for `azd auth token -o json --no-prompt --scope S [--tenant-id T]` signed in as the admin service
/// principal: it gets a token for S from the emulator's Entra (client credentials with curl) and prints it in
/// azd's JSON shape, `{"token": "...", "expiresOn": "<RFC 3339, UTC, seconds>"}`.
fn azd_minting_from_the_emulator(cloud: &TestCloud) -> PathBuf {
    let ready = cloud.ready();
    install_azd(
        cloud,
        &format!(
            r#"scope=""; tenant="{tenant}"
while [ $# -gt 0 ]; do
  case "$1" in
    --scope) scope="$2"; shift 2 ;;
    --tenant-id) tenant="$2"; shift 2 ;;
    *) shift ;;
  esac
done
answer=$(/usr/bin/curl -s --cacert '{ca}' "{authority}$tenant/oauth2/v2.0/token" \
  --data-urlencode grant_type=client_credentials --data-urlencode client_id='{client_id}' \
  --data-urlencode client_secret="$AZD_STAND_IN_SECRET" --data-urlencode "scope=$scope")
token=$(printf '%s' "$answer" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
if [ -z "$token" ]; then echo "ERROR: fetching token: $answer" >&2; exit 1; fi
expires=$(date -u -d '+50 minutes' +%Y-%m-%dT%H:%M:%SZ)
printf '%s' "$expires" > '{expires_file}'
printf '{{\n  "token": "%s",\n  "expiresOn": "%s"\n}}\n' "$token" "$expires"
"#,
            tenant = ready.tenant_id,
            ca = ready.ca_cert_file,
            authority = ready.authority_host,
            client_id = ready.client_id,
            expires_file = cloud.dir().join("azd-expires").display(),
        ),
    )
}

fn calls(log: &Path) -> Vec<String> {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn azd_runs_azd_auth_token_as_azidentity_does_and_kubectl_works() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let log = azd_minting_from_the_emulator(&cloud);
    let secret = [("AZD_STAND_IN_SECRET", ready.client_secret.as_str())];

    let output = get_token(
        &cloud,
        "azd",
        &["-l", "azd", "--tenant-id", &ready.tenant_id],
        &secret,
    );
    let value = credential(&output);
    assert_eq!(claims(&value)["aud"], SERVER_ID);
    assert_eq!(claims(&value)["appid"], ready.client_id.as_str());
    // The expiry is azd's `expiresOn` (50 minutes), not the token's own `exp` (an hour).
    assert_eq!(
        value["status"]["expirationTimestamp"],
        fs::read_to_string(cloud.dir().join("azd-expires")).unwrap()
    );
    assert_eq!(
        calls(&log),
        [format!(
            "cwd=/bin [auth] [token] [-o] [json] [--no-prompt] [--scope] [{SERVER_ID}/.default] [--tenant-id] [{}]",
            ready.tenant_id
        )],
        "azidentity's command line, in /bin"
    );

    // No tenant: no --tenant-id (azd uses its own default).
    fs::remove_file(&log).unwrap();
    credential(&get_token(&cloud, "azd-no-tenant", &["-l", "azd"], &secret));
    assert_eq!(
        calls(&log),
        [format!(
            "cwd=/bin [auth] [token] [-o] [json] [--no-prompt] [--scope] [{SERVER_ID}/.default]"
        )]
    );

    // kubectl through a kubeconfig converted to azd.
    let kubeconfig = cluster_kubeconfig(&cloud, "azd1", "exec");
    convert(&cloud, &kubeconfig, &["-l", "azd"]);
    assert_eq!(
        exec_args(&kubeconfig),
        ["get-token", "--login", "azd", "--server-id", SERVER_ID]
    );
    fs::remove_file(&log).unwrap();
    let mut command = kubectl(&cloud, &kubeconfig);
    command
        .args(["get", "nodes", "-o", "name"])
        .env("AZD_STAND_IN_SECRET", &ready.client_secret);
    let output = run(command);
    assert!(output.status.success(), "kubectl: {}", stderr(&output));
    assert!(
        stdout(&output).starts_with("node/aks-nodepool1-"),
        "{}",
        stdout(&output)
    );
    assert_eq!(calls(&log).len(), 1, "azd ran once for the kubectl run");
}

#[test]
fn azd_missing_failing_or_not_signed_in_is_reported_as_azidentity_does() {
    let cloud = cloud();
    let fails = |cache: &str, expected: &str| {
        let output = get_token(&cloud, cache, &["-l", "azd"], &[]);
        let text = assert_failed(&output, &[]);
        assert_eq!(text, format!("Error: {expected}\n"));
    };

    // Not on PATH (the sandbox PATH is <sandbox>/bin:/usr/bin:/bin).
    fails(
        "azd-missing",
        "failed to get token: AzureDeveloperCLICredential: Azure Developer CLI not found on path",
    );

    // azd's own failure: its stderr is the message.
    install_azd(
        &cloud,
        "echo 'ERROR: fetching token: AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.' >&2\nexit 1\n",
    );
    fails(
        "azd-fails",
        "failed to get token: AzureDeveloperCLICredential: ERROR: fetching token: AADSTS50076: Due to a \
         configuration change made by your administrator, you must use multi-factor authentication.",
    );

    // Not signed in: azidentity's advice instead of azd's text.
    install_azd(
        &cloud,
        "echo 'ERROR: not logged in, run `azd auth login` to login' >&2\nexit 1\n",
    );
    fails(
        "azd-login",
        "failed to get token: AzureDeveloperCLICredential: please run \"azd auth login\" from a command prompt \
         to authenticate before using this credential",
    );

    // A shell's "not found" exit code.
    install_azd(&cloud, "exit 127\n");
    fails(
        "azd-127",
        "failed to get token: AzureDeveloperCLICredential: Azure Developer CLI not found on path",
    );

    // Output that is not azd's JSON.
    install_azd(&cloud, "echo 'Welcome to azd!'\n");
    let output = get_token(&cloud, "azd-garbage", &["-l", "azd"], &[]);
    let text = assert_failed(&output, &[]);
    assert!(
        text.starts_with(
            "Error: failed to get token: AzureDeveloperCLICredential: unexpected output of azd auth token: "
        ),
        "{text}"
    );
}

/// The DER of a PEM certificate file, as `x5c` carries it (standard base64), and its SHA-1 thumbprint as `x5t`
/// (base64url), both through openssl.
fn x5c_item_and_x5t(dir: &Path, pem: &str) -> (String, String) {
    use base64::Engine as _;
    let der = format!("{pem}.der");
    openssl(
        dir,
        &["x509", "-in", pem, "-outform", "DER", "-out", der.as_str()],
    );
    let output = Command::new(OPENSSL)
        .current_dir(dir)
        .args(["x509", "-in", pem, "-noout", "-fingerprint", "-sha1"])
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let hex = text.trim().rsplit('=').next().unwrap().replace(':', "");
    let sha1: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&hex[index..index + 2], 16).unwrap())
        .collect();
    (
        base64::engine::general_purpose::STANDARD.encode(fs::read(dir.join(der)).unwrap()),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1),
    )
}

/// A CA `<ca>.pem` (+ `<ca>.key`) and a leaf it issues with `subject`: `<leaf>.key`, `<leaf>.pem`, and
/// `<leaf>-with-chain.pem` (key, leaf, CA), made with /usr/bin/openssl in `dir`.
fn ca_and_leaf(dir: &Path, ca: &str, leaf: &str, subject: &str) -> PathBuf {
    let (ca_key, ca_pem) = (format!("{ca}.key"), format!("{ca}.pem"));
    let ca_subject = format!("/CN=aksctl {ca}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-keyout",
            &ca_key,
            "-out",
            &ca_pem,
            "-days",
            "2",
            "-nodes",
            "-subj",
            &ca_subject,
        ],
    );
    let (leaf_key, leaf_csr, leaf_pem) = (
        format!("{leaf}.key"),
        format!("{leaf}.csr"),
        format!("{leaf}.pem"),
    );
    openssl(
        dir,
        &[
            "req", "-newkey", "rsa:2048", "-keyout", &leaf_key, "-out", &leaf_csr, "-nodes",
            "-subj", subject,
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &leaf_csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &leaf_pem,
            "-days",
            "2",
            "-sha256",
        ],
    );
    let chain = dir.join(format!("{leaf}-with-chain.pem"));
    let text = [&leaf_key, &leaf_pem, &ca_pem]
        .iter()
        .map(|name| fs::read_to_string(dir.join(name)).unwrap())
        .collect::<String>();
    fs::write(&chain, text).unwrap();
    chain
}

/// The JOSE header of the client assertion of each token request in the log (the assertion itself is redacted).
fn assertion_headers(cloud: &TestCloud) -> Vec<Value> {
    token_requests(cloud)
        .iter()
        .filter(|request| request["body"]["client_assertion"].is_string())
        .map(|request| {
            assert_eq!(request["body"]["client_assertion"], "REDACTED");
            request["body"]["client_assertion_header"].clone()
        })
        .collect()
}

#[test]
fn spn_certificates_send_x5c_and_subject_name_issuer_trust_accepts_them() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let dir = cloud.dir().join("sni");
    fs::create_dir_all(&dir).unwrap();
    let subject = "/CN=aksctl-sni.contoso.test/O=Contoso";
    let chain_pem = ca_and_leaf(&dir, "ca", "leaf", subject);
    // A leaf with the same subject from another CA.
    let stranger_pem = ca_and_leaf(&dir, "other-ca", "stranger", subject);
    // The PFX of the leaf with its CA (`-certfile`).
    let passout = format!("pass:{PASSWORD}");
    openssl(
        &dir,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "leaf.key",
            "-in",
            "leaf.pem",
            "-certfile",
            "ca.pem",
            "-out",
            "leaf-with-chain.pfx",
            "-passout",
            &passout,
        ],
    );
    let chain_pfx = dir.join("leaf-with-chain.pfx");
    let (leaf_item, leaf_x5t) = x5c_item_and_x5t(&dir, "leaf.pem");

    // The app trusts the subject issued by the CA; the leaf's thumbprint is never registered.
    let trusted = cloud.management(
        "POST",
        &format!("apps/{}/trusted-subjects", ready.cert_client_id),
        Some(json!({
            "subject": "O=Contoso, CN=aksctl-sni.contoso.test",
            "issuer_ca_pem": fs::read_to_string(dir.join("ca.pem")).unwrap(),
        })),
    );
    assert_eq!(trusted["issuer"], "CN=aksctl ca", "{trusted}");
    assert_eq!(trusted["subject"], "O=Contoso, CN=aksctl-sni.contoso.test");

    let spn = [
        "-l",
        "spn",
        "--client-id",
        ready.cert_client_id.as_str(),
        "-t",
        ready.tenant_id.as_str(),
    ];

    // PEM (key, leaf, CA) and PFX (leaf + CA): x5c is the leaf alone, beside the leaf's x5t (kubelogin hands
    // azidentity only the certificate that matches the key); the emulator chains it to the trusted CA.
    for (name, file, password) in [
        ("pem", &chain_pem, None),
        ("pfx", &chain_pfx, Some(PASSWORD)),
    ] {
        cloud.clear_requests();
        let mut args = spn.to_vec();
        args.extend(["--client-certificate", file.to_str().unwrap()]);
        if let Some(password) = password {
            args.extend(["--client-certificate-password", password]);
        }
        let output = get_token(&cloud, &format!("sni-{name}"), &args, &[]);
        assert_cert_client_token(&cloud, &output, name);
        assert!(!stderr(&output).contains(PASSWORD), "{}", stderr(&output));
        let headers = assertion_headers(&cloud);
        assert_eq!(headers.len(), 1, "{name}: {headers:?}");
        assert_eq!(headers[0]["alg"], "RS256", "{name}");
        assert_eq!(headers[0]["x5t"], leaf_x5t.as_str(), "{name}");
        assert_eq!(
            headers[0]["x5c"],
            json!([leaf_item]),
            "{name}: the leaf only"
        );
    }

    // `--legacy` (ADAL on the v1 endpoint) sends x5c as well.
    cloud.clear_requests();
    let mut args = spn.to_vec();
    args.extend([
        "--legacy",
        "--client-certificate",
        chain_pem.to_str().unwrap(),
    ]);
    let output = get_token(&cloud, "sni-legacy", &args, &[]);
    assert!(output.status.success(), "legacy: {}", stderr(&output));
    let headers = assertion_headers(&cloud);
    assert_eq!(
        headers[0]["x5c"],
        json!([leaf_item]),
        "legacy: ADAL sends the leaf"
    );

    // The same subject from another CA: AADSTS700027, exit 1, nothing on stdout.
    cloud.clear_requests();
    let mut args = spn.to_vec();
    args.extend(["--client-certificate", stranger_pem.to_str().unwrap()]);
    let output = get_token(&cloud, "sni-stranger", &args, &[]);
    let text = assert_failed(&output, &[PASSWORD]);
    assert!(text.starts_with("Error: "), "{text}");
    assert!(
        text.contains("AADSTS700027")
            && text.contains(
                "The certificate with identifier used to sign the client assertion is not registered on \
                 application"
            ),
        "{text}"
    );
    assert_eq!(
        assertion_headers(&cloud)[0]["x5c"].as_array().map(Vec::len),
        Some(1),
        "the certificate was sent and refused"
    );
}

#[test]
fn aksctl_sends_the_chain_only_with_azure_client_send_certificate_chain() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let dir = cloud.dir().join("sni-env");
    fs::create_dir_all(&dir).unwrap();
    let chain_pem = ca_and_leaf(&dir, "ca", "leaf", "/CN=aksctl-ci.contoso.test");
    cloud.management(
        "POST",
        &format!("apps/{}/trusted-subjects", ready.cert_client_id),
        Some(json!({
            "subject": "CN=aksctl-ci.contoso.test",
            "issuer_ca_pem": fs::read_to_string(dir.join("ca.pem")).unwrap(),
        })),
    );
    let aksctl = |send_chain: Option<&str>| {
        let mut command = cloud.std_command();
        command
            .env_remove("AZURE_CLIENT_SECRET")
            .env_remove("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN")
            .env("RUST_BACKTRACE", "0")
            .env("AZURE_CLIENT_ID", &ready.cert_client_id)
            .env("AZURE_CLIENT_CERTIFICATE_PATH", &chain_pem)
            .args(["group", "create", "-n", "rg-sni", "-l", "eastus"]);
        if let Some(value) = send_chain {
            command.env("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", value);
        }
        command.output().expect("aksctl runs")
    };

    // azidentity's EnvironmentCredential default: x5t only, so Entra finds no registered certificate.
    cloud.clear_requests();
    let output = aksctl(None);
    let text = assert_failed(&output, &[]);
    assert!(
        text.contains("AADSTS700027") && text.contains("is not registered on application"),
        "{text}"
    );
    let headers = assertion_headers(&cloud);
    assert!(
        headers[0].get("x5c").is_none() && headers[0]["x5t"].is_string(),
        "{headers:?}"
    );

    // With AZURE_CLIENT_SEND_CERTIFICATE_CHAIN=true the chain goes along and Subject Name/Issuer trust applies.
    cloud.clear_requests();
    let output = aksctl(Some("true"));
    assert!(output.status.success(), "{}", stderr(&output));
    let group: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(group["name"], "rg-sni");
    let headers = assertion_headers(&cloud);
    assert_eq!(
        headers[0]["x5c"].as_array().map(Vec::len),
        Some(2),
        "{headers:?}"
    );
}
