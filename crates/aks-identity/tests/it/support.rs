//! Shared set-up: the emulator in-process, a client that trusts its CA, and an Azure config dir.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aks_emulator::{Emulator, EmulatorOptions, ReadyRecord};
use aks_identity::azure_cli::AzureConfigDir;
use aks_identity::azure_cli::environment::Environment;
use aks_identity::azure_cli::token_cache::AZURE_CLI_CLIENT_ID;
use aks_identity::test_support::{ARM_SCOPE, AzUserLogin, record_az_user_login};
use serde_json::{Map, Value};

/// The emulator on port 0 and a reqwest client that trusts only its CA.
pub struct Cloud {
    pub emulator: Emulator,
    pub client: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Cloud {
    pub fn start() -> Cloud {
        let data = tempfile::tempdir().unwrap();
        let emulator = Emulator::start(EmulatorOptions::new(data.path())).expect("emulator starts");
        let ca = std::fs::read(&emulator.ready().ca_cert_file).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
            .build()
            .unwrap();
        Cloud {
            emulator,
            client,
            _data: data,
        }
    }

    pub fn ready(&self) -> &ReadyRecord {
        self.emulator.ready()
    }

    /// The requests the emulator logged (secrets redacted by the emulator).
    pub async fn requests(&self) -> Vec<serde_json::Value> {
        let url = format!("{}requests", self.ready().management);
        let answer: serde_json::Value = self
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer.as_array().cloned().unwrap_or_default()
    }
}

/// An environment made of the given pairs.
pub fn environment(pairs: &[(&str, &str)]) -> Arc<dyn Environment> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(move |name: &str| map.get(name).cloned())
}

/// `directory` as az's config dir, with no settings from the environment.
pub fn config_dir(directory: &Path) -> AzureConfigDir {
    AzureConfigDir::at(directory, environment(&[]))
}

/// `bin/<tool>` of the az venv (`AZ_VENV`, default `<workspace>/target/az-venv`: az 2.91, MSAL Python 1.39,
/// msal-extensions 1.3.1), or `None` with a note when it is not installed; under `CI=true` a missing venv fails.
///
/// The venv counts as installed when `bin/az` is there, whatever `tool` is: `bin/az` comes with the azure-cli
/// package, which pip installs after the packages it depends on (MSAL and msal-extensions among them), while
/// `bin/python` exists from the moment the venv is created. A `python` of an interrupted install would fail the
/// tests on `import msal` instead of skipping them. `ensure_az_venv` of `scripts/lib.sh` looks for the same file.
pub fn az_venv_tool(tool: &str) -> Option<PathBuf> {
    let venv = std::env::var_os("AZ_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/az-venv"));
    let path = venv.join("bin").join(tool);
    if venv.join("bin").join("az").exists() && path.exists() {
        return Some(path);
    }
    let message = format!(
        "the az venv is missing or incomplete at {} (az 2.91, MSAL Python 1.39, msal-extensions 1.3.1): create it with \
         `bash scripts/az-conformance.sh`, or point AZ_VENV at one",
        venv.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("skipped: {message}");
    None
}

/// Sign the emulator's seeded user in with a password grant and record it as az would: MSAL's entries in the cache
/// of `directory`, and the profile entry of the emulator's subscription in `cloud_name`. Returns the token answer.
pub async fn sign_in_user(
    cloud: &Cloud,
    directory: &AzureConfigDir,
    cloud_name: &str,
) -> Map<String, Value> {
    let ready = cloud.ready();
    let url = format!(
        "{}{}/oauth2/v2.0/token",
        ready.authority_host, ready.tenant_id
    );
    let scope = format!("{ARM_SCOPE} openid profile offline_access");
    let form = [
        ("grant_type", "password"),
        ("client_id", AZURE_CLI_CLIENT_ID),
        ("username", ready.user_name.as_str()),
        ("password", ready.user_password.as_str()),
        ("scope", scope.as_str()),
        ("client_info", "1"),
    ];
    let answer = cloud.client.post(url).form(&form).send().await.unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
    let body: Map<String, Value> = answer.json().await.unwrap();
    let login = AzUserLogin {
        environment: "127.0.0.1",
        tenant_id: &ready.tenant_id,
        user_name: &ready.user_name,
        subscription_id: &ready.subscription_id,
        cloud_name,
    };
    record_az_user_login(directory, &login, &body);
    body
}
