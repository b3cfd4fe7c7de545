//! Shared set-up: the emulator in-process, a client that trusts its CA, and an Azure config dir.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use aks_emulator::{Emulator, EmulatorOptions, ReadyRecord};
use aks_identity::azure_cli::AzureConfigDir;
use aks_identity::azure_cli::environment::Environment;

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
