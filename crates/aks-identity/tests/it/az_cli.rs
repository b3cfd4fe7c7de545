//! The real az 2.91 and aksctl on one `AZURE_CONFIG_DIR`, against the emulator: `az login --service-principal`
//! writes the files and we read them (active cloud, default subscription, the service principal's entry); we write
//! a user's login and `az account show` / `az account get-access-token` use it.
//!
//! az must run inside `unshare -n` (it calls Microsoft hosts otherwise), and then the emulator must listen inside
//! that network namespace too: the test runs itself again inside `unshare -n` (environment `AKS_IDENTITY_IN_NETNS`)
//! and does the work there, with the emulator in-process.

use std::path::Path;
use std::process::Command;

use aks_identity::azure_cli::cache_file::load_token_cache;
use aks_identity::azure_cli::login::{LoginRequest, SharedLogin, resolve_login};
use aks_identity::azure_cli::profile::{Profile, UserKind};
use aks_identity::azure_cli::service_principal::ServicePrincipalCredential;
use aks_identity::azure_cli::storage::token_cache_storage;
use aks_identity::azure_cli::token_cache::Section;
use aks_identity::azure_cli::{AzureConfigDir, Secret};
use serde_json::{Value, json};

use crate::support::{Cloud, az_venv_tool, config_dir, sign_in_user};

const IN_NETNS: &str = "AKS_IDENTITY_IN_NETNS";

#[test]
fn az_itself_reads_our_files_and_we_read_its() {
    let Some(az) = az_venv_tool("az") else { return };
    if std::env::var_os(IN_NETNS).is_some() {
        return in_the_namespace(&az);
    }
    let output = Command::new("unshare")
        .arg("-n")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "az_cli::az_itself_reads_our_files_and_we_read_its",
            "--nocapture",
        ])
        .env(IN_NETNS, "1")
        .env("AZ_VENV", az.parent().unwrap().parent().unwrap())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("unshare runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "inside unshare -n:\n{text}");
    assert!(
        text.contains("1 passed"),
        "the test ran inside the namespace:\n{text}"
    );
}

/// `az ARGS` with this config dir and the emulator's CA; its stdout, which must be a success.
fn run_az(az: &Path, home: &Path, ca: &str, arguments: &[&str]) -> String {
    let output = Command::new(az)
        .args(arguments)
        .env("HOME", home.join("home"))
        .env("AZURE_CONFIG_DIR", home.join("azure"))
        .env("REQUESTS_CA_BUNDLE", ca)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
        .env("AZURE_CORE_SURVEY_MESSAGE", "false")
        .env("AZURE_CORE_NO_COLOR", "true")
        .env("AZURE_CORE_INSTANCE_DISCOVERY", "false")
        .output()
        .expect("az runs");
    assert!(
        output.status.success(),
        "az {arguments:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn in_the_namespace(az: &Path) {
    let status = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .unwrap();
    assert!(status.success(), "loopback up");
    let cloud = Cloud::start();
    let ready = cloud.ready().clone();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("home")).unwrap();
    std::fs::create_dir_all(home.path().join("azure")).unwrap();
    // Keep az from checking PyPI for updates.
    let version_check = format!(
        "\u{feff}{{\"versions\": {{\"azure-cli\": {{\"local\": \"2.91.0\"}}, \"core\": {{\"local\": \"2.91.0\"}}, \"telemetry\": {{\"local\": \"1.1.0\"}}}}, \"update_time\": \"{}\"}}",
        time_now_for_az()
    );
    std::fs::write(home.path().join("azure/versionCheck.json"), version_check).unwrap();
    let ca = ready.ca_cert_file.as_str();
    let az_run = |arguments: &[&str]| run_az(az, home.path(), ca, arguments);

    az_login_is_read_by_us(&cloud, &az_run, &home.path().join("azure"));
    our_login_is_used_by_az(&cloud, &az_run, &home.path().join("azure"));
}

/// `az login --service-principal` writes the cloud, the profile, `clouds.config` and the entry; we read them.
fn az_login_is_read_by_us(cloud: &Cloud, az_run: &dyn Fn(&[&str]) -> String, azure: &Path) {
    let ready = cloud.ready();
    az_run(&[
        "cloud",
        "register",
        "-n",
        "Local",
        "--endpoint-resource-manager",
        &ready.resource_manager,
    ]);
    az_run(&["cloud", "set", "-n", "Local"]);
    az_run(&[
        "login",
        "--service-principal",
        "-u",
        &ready.client_id,
        "-p",
        &ready.client_secret,
        "--tenant",
        &ready.tenant_id,
    ]);

    let directory = config_dir(azure);
    assert_eq!(directory.active_cloud().unwrap(), "Local");
    assert_eq!(
        directory.cloud_subscription("Local").unwrap().as_deref(),
        Some(ready.subscription_id.as_str())
    );
    let profile = Profile::load(&directory).unwrap();
    let default = profile.subscription("Local", None).unwrap();
    assert_eq!(
        (default.id.as_str(), default.user.name.as_str()),
        (ready.subscription_id.as_str(), ready.client_id.as_str())
    );
    assert_eq!(default.user.kind, UserKind::ServicePrincipal);
    let request = LoginRequest {
        subscription: None,
        tenant: None,
        authority_host: &ready.authority_host,
        cloud: None,
    };
    let SharedLogin::ServicePrincipal(login) = resolve_login(&directory, &request).unwrap() else {
        panic!("az's login is a service principal");
    };
    assert_eq!(
        login.entry.credential,
        ServicePrincipalCredential::Secret(Secret::new(ready.client_secret.clone()))
    );
    assert_eq!(login.authority.tenant, ready.tenant_id);
}

/// We write a user's login; `az account show` and `az account get-access-token` use it.
fn our_login_is_used_by_az(cloud: &Cloud, az_run: &dyn Fn(&[&str]) -> String, azure: &Path) {
    let ready = cloud.ready();
    let directory = config_dir(azure);
    let access_token = sign_in_user_now(cloud, &directory);
    let shown: Value = serde_json::from_str(&az_run(&["account", "show", "-o", "json"])).unwrap();
    assert_eq!(
        shown["user"],
        json!({"name": ready.user_name, "type": "user"}),
        "{shown}"
    );
    assert_eq!(shown["id"], ready.subscription_id);
    let token: Value =
        serde_json::from_str(&az_run(&["account", "get-access-token", "-o", "json"])).unwrap();
    assert_eq!(
        token["accessToken"], access_token,
        "az served the token we stored: {token}"
    );
    assert_eq!(token["tenant"], ready.tenant_id);
    // az kept our entries (and may have rewritten the file): still readable, still ours.
    let cache = load_token_cache(&token_cache_storage(&directory).unwrap()).unwrap();
    assert_eq!(cache.accounts("127.0.0.1", Some(&ready.user_name)).len(), 1);
    assert!(cache.entries(Section::RefreshToken).count() >= 1);
}

/// [`sign_in_user`] from a synchronous test; the access token.
fn sign_in_user_now(cloud: &Cloud, directory: &AzureConfigDir) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = runtime.block_on(sign_in_user(cloud, directory, "Local"));
    body["access_token"].as_str().unwrap().to_string()
}

/// az's `update_time` format (`%Y-%m-%d %H:%M:%S.%f`, UTC).
fn time_now_for_az() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second].000000");
    time::OffsetDateTime::now_utc().format(&format).unwrap()
}
