//! The login shared with az under Conditional Access (issue #13 point 6): a user signed in as az records it (MSAL's
//! cache and the profile in `AZURE_CONFIG_DIR`, written with aks-identity's az file modules from a real emulator
//! token answer), then ARM's `insufficient_claims` challenge is reported with the decoded challenge and az's
//! sign-in commands instead of being retried, and a refused refresh token names `az login` / `aksctl login`.

use std::path::PathBuf;
use std::process::{Command, Output};

use aks_identity::azure_cli::AzureConfigDir;
use aks_identity::azure_cli::token_cache::AZURE_CLI_CLIENT_ID;
use aks_identity::test_support::{ARM_SCOPE, AzUserLogin, record_az_user_login};
use aks_test_support::TestCloud;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::{cloud, stderr};

/// The seeded user's ARM token answer (a password grant by az's client id), asked with curl trusting only the
/// emulator's CA.
fn password_grant(cloud: &TestCloud) -> Map<String, Value> {
    let ready = cloud.ready();
    let output = Command::new("/usr/bin/curl")
        .args(["-sS", "--noproxy", "*", "--cacert", &ready.ca_cert_file])
        .args(["-d", "grant_type=password", "-d"])
        .arg(format!("client_id={AZURE_CLI_CLIENT_ID}"))
        .arg("--data-urlencode")
        .arg(format!("username={}", ready.user_name))
        .arg("--data-urlencode")
        .arg(format!("password={}", ready.user_password))
        .arg("--data-urlencode")
        .arg(format!("scope={ARM_SCOPE} openid profile offline_access"))
        .args(["-d", "client_info=1"])
        .arg(format!(
            "{}{}/oauth2/v2.0/token",
            ready.authority_host, ready.tenant_id
        ))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `<sandbox>/azure` with the seeded user signed in as az records it for the cloud `environment`, and the access
/// token it holds. aksctl's commands read the entries of aksctl's active cloud (the sandbox's is `Emulator`);
/// kubelogin mode, like az, those of az's active cloud (`AzureCloud` when az's config names none).
fn az_signed_in(cloud: &TestCloud, environment: &str) -> (PathBuf, String) {
    let ready = cloud.ready();
    let path = cloud.dir().join("azure");
    let directory = AzureConfigDir::at(&path, std::sync::Arc::new(|_: &str| None));
    let body = password_grant(cloud);
    let login = AzUserLogin {
        environment: "127.0.0.1",
        tenant_id: &ready.tenant_id,
        user_name: &ready.user_name,
        subscription_id: &ready.subscription_id,
        cloud_name: environment,
    };
    record_az_user_login(&directory, &login, &body);
    (path, body["access_token"].as_str().unwrap().to_owned())
}

/// aksctl with no service principal in the environment, so that the chain takes the shared login in `azure`.
fn as_az_user(cloud: &TestCloud, azure: &PathBuf, args: &[&str]) -> Output {
    let mut command = cloud.std_command();
    command
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_TENANT_ID")
        .env("AZURE_CONFIG_DIR", azure)
        .env("AZURE_AUTHORITY_HOST", &cloud.ready().authority_host)
        .env("PATH", "/usr/bin:/bin")
        .args(args);
    command.output().unwrap()
}

#[test]
fn an_arm_claims_challenge_is_reported_with_the_challenge_and_azs_login_commands() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let (azure, access_token) = az_signed_in(&cloud, "Emulator");
    let output = as_az_user(&cloud, &azure, &["group", "list", "-o", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));

    cloud.management(
        "PUT",
        "conditional-access",
        Some(json!({"mfa_required": [ready.user_name]})),
    );
    cloud.clear_requests();
    let output = as_az_user(&cloud, &azure, &["group", "list", "-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    let text = stderr(&output);
    let challenge = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with(&format!(
            ": HTTP 401 (insufficient_claims) the access token lacks claims a Conditional Access policy \
             requires; claims challenge: {challenge}"
        )),
        "{text}"
    );
    assert!(lines[0].contains("GET https://127.0.0.1:"), "{text}");
    assert_eq!(
        &lines[1..],
        [
            "Run the command below to authenticate interactively; additional arguments may be added as needed:",
            "az logout",
            &format!(
                "az login --tenant \"{}\" --scope \"{ARM_SCOPE}\" --claims-challenge \"{}\"",
                ready.tenant_id,
                base64::engine::general_purpose::STANDARD.encode(challenge)
            ),
        ],
        "{text}"
    );
    assert!(!text.contains(&access_token), "{text}");
    let arm: Vec<Value> = cloud
        .requests()
        .into_iter()
        .filter(|request| {
            request["path"]
                .as_str()
                .is_some_and(|path| path.starts_with("/subscriptions/"))
        })
        .collect();
    assert_eq!(arm.len(), 1, "not retried: {arm:?}");
}

#[test]
fn a_refused_shared_login_refresh_token_names_az_login_and_aksctl_login() {
    let cloud = cloud();
    let (azure, access_token) = az_signed_in(&cloud, "AzureCloud");
    cloud.management(
        "PUT",
        "conditional-access",
        Some(json!({"refresh_tokens_expired": "all"})),
    );
    // kubelogin -l azurecli needs a token for the AKS server: a refresh, which Entra refuses.
    let output = as_az_user(
        &cloud,
        &azure,
        &[
            "kubelogin",
            "get-token",
            "-l",
            "azurecli",
            "--server-id",
            crate::kubelogin::SERVER_ID,
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("Error: failed to get token: "),
        "{text}"
    );
    assert!(
        lines[0].contains(": AADSTS700082: The refresh token has expired due to inactivity."),
        "{text}"
    );
    assert_eq!(
        lines[1..],
        [
            "hint: the saved sign-in is no longer valid; run `az login` (or `aksctl login`) to sign in again"
        ],
        "{text}"
    );
    assert!(!text.contains("Trace ID"), "{text}");
    assert!(
        !text.contains("eyJ") && !text.contains(&access_token),
        "{text}"
    );
}
