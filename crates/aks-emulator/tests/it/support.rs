//! Start an emulator on port 0 and talk to it with reqwest, trusting only its CA.

use aks_emulator::{Emulator, EmulatorOptions, LroPacing};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const MANAGEMENT_SCOPE: &str = "https://management.core.windows.net//.default";
pub const CLUSTERS_API: &str = "2026-08-01";
pub const GROUPS_API: &str = "2024-11-01";

pub struct Env {
    pub emulator: Emulator,
    pub client: reqwest::Client,
    /// Kept alive so the data directory outlives the emulator.
    _dir: tempfile::TempDir,
    token: std::sync::OnceLock<String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn client_trusting(ca_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem).unwrap()])
        .no_proxy()
        .build()
        .unwrap()
}

/// Fast pacing for tests: one InProgress answer, no wait hints.
pub fn fast_pacing() -> LroPacing {
    LroPacing {
        polls: 1,
        retry_after_seconds: 0,
        retry_after_ms: None,
        min_duration_ms: 0,
    }
}

pub fn start() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut options = EmulatorOptions::new(dir.path().join("data"));
    options.lro = fast_pacing();
    start_with(options, dir)
}

pub fn start_with(options: EmulatorOptions, dir: tempfile::TempDir) -> Env {
    let emulator = Emulator::start(options).unwrap();
    let ca = std::fs::read(&emulator.ready().ca_cert_file).unwrap();
    Env {
        emulator,
        client: client_trusting(&ca),
        _dir: dir,
        token: std::sync::OnceLock::new(),
    }
}

impl Env {
    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.emulator.port())
    }

    pub fn sub(&self) -> String {
        self.emulator.ready().subscription_id.clone()
    }

    pub fn cluster_path(&self, group: &str, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{name}",
            self.sub()
        )
    }

    pub fn group_path(&self, group: &str) -> String {
        format!("/subscriptions/{}/resourcegroups/{group}", self.sub())
    }

    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let url = format!("{}{}", self.base(), path_and_query);
        let mut request = self.client.request(method, url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn token_for(&self, client_id: &str, secret: &str, scope: &str) -> Answer {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.base(),
            self.emulator.ready().tenant_id
        );
        let response = self
            .client
            .post(url)
            .form(&[
                ("client_id", client_id),
                ("client_secret", secret),
                ("grant_type", "client_credentials"),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn token(&self) -> String {
        if let Some(token) = self.token.get() {
            return token.clone();
        }
        let ready = self.emulator.ready();
        let answer = self
            .token_for(&ready.client_id, &ready.client_secret, MANAGEMENT_SCOPE)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let token = answer.body["access_token"].as_str().unwrap().to_string();
        let _ = self.token.set(token.clone());
        token
    }

    /// An authenticated ARM call; `path` without query, `api` is the api-version.
    pub async fn arm(&self, method: Method, path: &str, api: &str, body: Option<&Value>) -> Answer {
        let token = self.token().await;
        self.arm_as(&token, method, path, api, body).await
    }

    /// An ARM call with the given access token; `path` may carry a query, `api` is the api-version.
    pub async fn arm_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        api: &str,
        body: Option<&Value>,
    ) -> Answer {
        let separator = if path.contains('?') { '&' } else { '?' };
        self.send(
            method,
            &format!("{path}{separator}api-version={api}"),
            &[("authorization", &format!("Bearer {token}"))],
            body,
        )
        .await
    }

    pub async fn manage(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        self.send(method, &format!("/_emulator/{path}"), &[], body)
            .await
    }

    pub async fn create_group(&self, group: &str, location: &str) {
        let answer = self
            .arm(
                Method::PUT,
                &self.group_path(group),
                GROUPS_API,
                Some(&json!({"location": location})),
            )
            .await;
        assert!(answer.status.is_success(), "{}", answer.text);
    }

    /// PUT a cluster and drive its operation to the end through the status URL; returns the PUT answer.
    pub async fn put_cluster_and_wait(&self, group: &str, name: &str, body: &Value) -> Answer {
        let answer = self
            .arm(
                Method::PUT,
                &self.cluster_path(group, name),
                CLUSTERS_API,
                Some(body),
            )
            .await;
        assert!(answer.status.is_success(), "{}", answer.text);
        self.wait(&answer).await;
        answer
    }

    /// Poll the Azure-AsyncOperation URL of an answer until it is terminal; returns the final status body.
    pub async fn wait(&self, answer: &Answer) -> Value {
        let url = answer.header("azure-asyncoperation").unwrap().to_string();
        let path = url.strip_prefix(&self.base()).unwrap().to_string();
        let token = self.token().await;
        for _ in 0..20 {
            let status = self
                .send(
                    Method::GET,
                    &path,
                    &[("authorization", &format!("Bearer {token}"))],
                    None,
                )
                .await;
            assert_eq!(status.status, StatusCode::OK, "{}", status.text);
            if status.body["status"] != "InProgress" {
                return status.body;
            }
        }
        panic!("operation never finished");
    }

    /// The kubeconfig text from a credential answer.
    pub fn kubeconfig_of(answer: &Answer) -> String {
        use base64::Engine as _;
        let value = answer.body["kubeconfigs"][0]["value"].as_str().unwrap();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(value)
                .unwrap(),
        )
        .unwrap()
    }
}

/// az's `aks create --enable-aad` body (docs/az-behaviour.md), with a marker unknown property.
pub fn aad_create_body(location: &str, dns_prefix: &str) -> Value {
    json!({
        "location": location,
        "properties": {
            "agentPoolProfiles": [{"name": "nodepool1", "orchestratorVersion": "", "vmSize": "", "osType": "Linux",
                "enableNodePublicIP": false, "count": 3, "enableAutoScaling": false, "scaleSetPriority": "Regular",
                "nodeTaints": [], "upgradeSettings": {}, "type": "VirtualMachineScaleSets", "mode": "System"}],
            "kubernetesVersion": "",
            "dnsPrefix": dns_prefix,
            "disableLocalAccounts": false,
            "enableRBAC": true,
            "linuxProfile": {"adminUsername": "azureuser", "ssh": {"publicKeys": [{"keyData": "ssh-rsa AAAA test"}]}},
            "networkProfile": {"loadBalancerSku": "standard", "outboundType": "loadBalancer"},
            "addonProfiles": {},
            "aadProfile": {"managed": true, "enableAzureRBAC": false,
                           "adminGroupObjectIDs": ["99999999-aaaa-bbbb-cccc-dddddddddddd"]},
            "storageProfile": {},
            "bootstrapProfile": {"artifactSource": "Direct"},
            "futureProperty": {"kept": [1, 2, 3]}
        },
        "identity": {"type": "SystemAssigned"},
        "sku": {"name": "Base", "tier": "Free"}
    })
}

/// A cluster body without AAD.
pub fn plain_body(location: &str, dns_prefix: &str) -> Value {
    let mut body = aad_create_body(location, dns_prefix);
    body["properties"]
        .as_object_mut()
        .unwrap()
        .remove("aadProfile");
    body
}
