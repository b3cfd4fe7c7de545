//! Test helpers for aksctl's end-to-end tests: start the local cloud on port 0, run the real `aksctl` binary
//! against it with an isolated home, config dir and kubeconfig, and read the emulator's request log.
//!
//! Not for production code (publish = false).

pub mod terminal;

use std::path::{Path, PathBuf};
use std::process::Output;

use aks_emulator::{Emulator, EmulatorOptions, LroPacing, ReadyRecord};
use serde_json::Value;
use tempfile::TempDir;

/// The local cloud plus a sandbox for one test.
pub struct TestCloud {
    emulator: Emulator,
    dir: TempDir,
    binary: PathBuf,
}

/// Fast LRO pacing for tests: one InProgress answer, 20 ms between polls.
pub fn fast_lro() -> LroPacing {
    LroPacing {
        polls: 1,
        retry_after_seconds: 1,
        retry_after_ms: Some(20),
        min_duration_ms: 0,
    }
}

impl TestCloud {
    /// Start the emulator (port 0) and register it as the active cloud for `binary` (pass
    /// `env!("CARGO_BIN_EXE_aksctl")`).
    pub fn start(binary: impl Into<PathBuf>) -> TestCloud {
        let dir = tempfile::Builder::new()
            .prefix("aksctl-test-")
            .tempdir()
            .expect("temp dir");
        let mut options = EmulatorOptions::new(dir.path().join("emulator"));
        options.lro = fast_lro();
        let emulator = Emulator::start(options).expect("emulator starts");
        std::fs::create_dir_all(dir.path().join("home")).expect("home dir");
        let cloud = TestCloud {
            emulator,
            dir,
            binary: binary.into(),
        };
        let register = cloud.run(&[
            "cloud",
            "register",
            "--name",
            "Emulator",
            "--endpoint-resource-manager",
            &cloud.ready().resource_manager,
        ]);
        assert!(
            register.status.success(),
            "cloud register failed: {}",
            String::from_utf8_lossy(&register.stderr)
        );
        let set = cloud.run(&["cloud", "set", "--name", "Emulator"]);
        assert!(
            set.status.success(),
            "cloud set failed: {}",
            String::from_utf8_lossy(&set.stderr)
        );
        cloud
    }

    /// The emulator's ready record (endpoints, ids, the seeded service principal).
    pub fn ready(&self) -> &ReadyRecord {
        self.emulator.ready()
    }

    /// The sandbox directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `$HOME` for commands.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `$AKSCTL_CONFIG_DIR` for commands.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// The default kubeconfig (`$HOME/.kube/config`).
    pub fn default_kubeconfig(&self) -> PathBuf {
        self.home().join(".kube").join("config")
    }

    /// An `aksctl` process builder with the sandbox environment: signed in as the seeded service principal,
    /// trusting the emulator's CA through REQUESTS_CA_BUNDLE (CI's SSL_CERT_FILE is left alone), no colour, no
    /// backtraces.
    pub fn std_command(&self) -> std::process::Command {
        let ready = self.ready();
        let mut command = std::process::Command::new(&self.binary);
        for variable in [
            "AZURE_SUBSCRIPTION_ID",
            "KUBECONFIG",
            "AZURE_TOKEN_CREDENTIALS",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_CLIENT_CERTIFICATE_PATH",
            "AZURE_CLIENT_CERTIFICATE_PASSWORD",
            "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
            "IDENTITY_ENDPOINT",
            "IDENTITY_HEADER",
            "MSI_ENDPOINT",
            "AZURE_CORE_OUTPUT",
            "AZURE_CORE_ONLY_SHOW_ERRORS",
            // az's files are the sandbox's `~/.azure`, never the developer's.
            "AZURE_CONFIG_DIR",
            "AZURE_CLOUD_NAME",
        ] {
            command.env_remove(variable);
        }
        command
            .env("HOME", self.home())
            .env("AKSCTL_CONFIG_DIR", self.config_dir())
            .env("KUBECACHEDIR", self.dir.path().join("kube-cache"))
            .env("REQUESTS_CA_BUNDLE", &ready.ca_cert_file)
            .env("AZURE_CLIENT_ID", &ready.client_id)
            .env("AZURE_CLIENT_SECRET", &ready.client_secret)
            .env("AZURE_TENANT_ID", &ready.tenant_id)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "0");
        command
    }

    /// The same as an assert_cmd command, with a 60 s timeout against hangs.
    pub fn command(&self) -> assert_cmd::Command {
        let mut command = assert_cmd::Command::from_std(self.std_command());
        command.timeout(std::time::Duration::from_secs(60));
        command
    }

    /// Run `aksctl args...` and return its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("aksctl runs")
    }

    /// Run and require success; returns stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "aksctl {} failed ({:?}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 stdout")
    }

    /// Run and parse stdout as JSON.
    pub fn run_json(&self, args: &[&str]) -> Value {
        let stdout = self.run_ok(args);
        serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "stdout of aksctl {} is not JSON ({e}): {stdout}",
                args.join(" ")
            )
        })
    }

    /// A call to the emulator's management API (`/_emulator/...`).
    pub fn management(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!(
            "{}{}",
            self.ready().management,
            path.trim_start_matches('/')
        );
        let ca = std::fs::read(&self.ready().ca_cert_file).expect("CA file");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let certificate = reqwest::Certificate::from_pem(&ca).expect("CA PEM");
            let client = reqwest::Client::builder()
                .tls_certs_merge([certificate])
                .no_proxy()
                .build()
                .expect("client");
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let mut request = client.request(method, &url);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("management API answers");
            let status = response.status();
            let text = response.text().await.expect("body");
            assert!(status.is_success(), "{url}: {status} {text}");
            if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).expect("JSON body")
            }
        })
    }

    /// An authenticated ARM call as the seeded admin service principal (a client-credentials token from the
    /// emulator's Entra, then `Authorization: Bearer`). `target` is a path under `resource_manager` (with its
    /// `api-version`) or an absolute URL, e.g. an `Azure-AsyncOperation` URL to poll. Any status is returned.
    pub fn arm(&self, method: &str, target: &str, body: Option<Value>) -> ArmAnswer {
        let ready = self.ready();
        let url = if target.starts_with("https://") {
            target.to_string()
        } else {
            format!(
                "{}{}",
                ready.resource_manager,
                target.trim_start_matches('/')
            )
        };
        let token_url = format!(
            "{}{}/oauth2/v2.0/token",
            ready.authority_host, ready.tenant_id
        );
        let form = [
            ("client_id", ready.client_id.clone()),
            ("client_secret", ready.client_secret.clone()),
            ("grant_type", "client_credentials".to_string()),
            ("scope", "https://management.azure.com/.default".to_string()),
        ];
        let ca = std::fs::read(&ready.ca_cert_file).expect("CA file");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let certificate = reqwest::Certificate::from_pem(&ca).expect("CA PEM");
            let client = reqwest::Client::builder()
                .tls_certs_merge([certificate])
                .no_proxy()
                .build()
                .expect("client");
            let token: Value = client
                .post(&token_url)
                .form(&form)
                .send()
                .await
                .expect("token endpoint answers")
                .json()
                .await
                .expect("token JSON");
            let token = token["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("no access_token from {token_url}: {token}"));
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let mut request = client.request(method, &url).bearer_auth(token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("ARM answers");
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_string(),
                        value.to_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let text = response.text().await.expect("body");
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            ArmAnswer {
                status,
                headers,
                body,
            }
        })
    }

    /// The emulator's request log.
    pub fn requests(&self) -> Vec<Value> {
        self.management("GET", "requests", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Clear the emulator's request log.
    pub fn clear_requests(&self) {
        self.management("DELETE", "requests", None);
    }
}

/// An answer of [`TestCloud::arm`].
#[derive(Debug, Clone)]
pub struct ArmAnswer {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The JSON body (`null` when empty or not JSON).
    pub body: Value,
}

/// Replace every occurrence of the sandbox paths and ports in `text` with stable placeholders, for snapshots.
pub fn filter(text: &str, cloud: &TestCloud) -> String {
    let port = cloud.emulator.port().to_string();
    text.replace(&cloud.dir().display().to_string(), "[SANDBOX]")
        .replace(&format!("127.0.0.1:{port}"), "127.0.0.1:[PORT]")
}
