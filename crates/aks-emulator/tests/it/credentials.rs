//! Credentials (kubeconfig text) and the per-cluster Kubernetes endpoint.

use aks_emulator::TENANT_ID;
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{CLUSTERS_API, Env, aad_create_body, client_trusting, plain_body, start};

const SERVER_ID: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";
const CLIENT_ID: &str = "80faf920-1908-4b52-b5ef-a8e7bedfc67a";

async fn credential(env: &Env, name: &str, action: &str, query: &str) -> crate::support::Answer {
    env.arm(
        Method::POST,
        &format!("{}/{action}{query}", env.cluster_path("rg1", name)),
        CLUSTERS_API,
        None,
    )
    .await
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

fn server_of(config: &Value) -> String {
    config["clusters"][0]["cluster"]["server"]
        .as_str()
        .unwrap()
        .to_string()
}

fn ca_of(config: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(
            config["clusters"][0]["cluster"]["certificate-authority-data"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
}

#[tokio::test]
async fn user_credentials_in_exec_azure_and_default_formats() {
    let env = start();
    env.create_group("rg1", "centralus").await;
    env.put_cluster_and_wait("rg1", "c1", &aad_create_body("centralus", "c1"))
        .await;

    let exec = credential(&env, "c1", "listClusterUserCredential", "?format=exec").await;
    assert_eq!(exec.status, StatusCode::OK, "{}", exec.text);
    assert_eq!(exec.body["kubeconfigs"][0]["name"], "clusterUser");
    let text = Env::kubeconfig_of(&exec);
    assert!(
        text.starts_with("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: "),
        "{text}"
    );
    let config = yaml(&text);
    assert_eq!(config["clusters"][0]["name"], "c1");
    assert!(server_of(&config).starts_with("https://127.0.0.1:"));
    assert_eq!(
        config["contexts"][0],
        json!({"context": {"cluster": "c1", "user": "clusterUser_rg1_c1"}, "name": "c1"})
    );
    assert_eq!(config["current-context"], "c1");
    assert_eq!(config["kind"], "Config");
    assert_eq!(config["preferences"], json!({}));
    let user = &config["users"][0];
    assert_eq!(user["name"], "clusterUser_rg1_c1");
    let exec_user = &user["user"]["exec"];
    assert_eq!(
        exec_user["apiVersion"],
        "client.authentication.k8s.io/v1beta1"
    );
    assert_eq!(exec_user["command"], "kubelogin");
    assert_eq!(
        exec_user["args"],
        json!([
            "get-token",
            "--environment",
            "AzurePublicCloud",
            "--server-id",
            SERVER_ID,
            "--client-id",
            CLIENT_ID,
            "--tenant-id",
            TENANT_ID,
            "--login",
            "devicecode"
        ])
    );
    // kubectl hands kubelogin the emulator's authority and CA: no sign-in leaves the machine.
    let ready = env.emulator.ready();
    assert_eq!(
        exec_user["env"],
        json!([
            {"name": "AZURE_AUTHORITY_HOST", "value": ready.authority_host},
            {"name": "REQUESTS_CA_BUNDLE", "value": ready.ca_cert_file},
        ])
    );
    assert_eq!(exec_user["provideClusterInfo"], false);
    assert!(text.contains("      installHint: |2\n\n        kubelogin is not installed"));
    assert!(
        String::from_utf8(ca_of(&config))
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );

    let default = credential(&env, "c1", "listClusterUserCredential", "").await;
    assert_eq!(
        Env::kubeconfig_of(&default),
        text,
        "exec is the default on 1.32"
    );

    let public = credential(
        &env,
        "c1",
        "listClusterUserCredential",
        "?server-fqdn=public&format=exec",
    )
    .await;
    assert_eq!(
        server_of(&yaml(&Env::kubeconfig_of(&public))),
        server_of(&config)
    );

    let azure = credential(&env, "c1", "listClusterUserCredential", "?format=azure").await;
    let azure_text = Env::kubeconfig_of(&azure);
    let provider = &yaml(&azure_text)["users"][0]["user"]["auth-provider"];
    assert_eq!(provider["name"], "azure");
    assert_eq!(
        provider["config"],
        json!({"apiserver-id": SERVER_ID, "client-id": CLIENT_ID, "config-mode": "1",
               "environment": "AzurePublicCloud", "tenant-id": TENANT_ID})
    );
    assert!(azure_text.contains("        config-mode: '1'\n"));

    let unknown = credential(&env, "c1", "listClusterUserCredential", "?format=yaml").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body["error"]["code"], "BadRequest");

    let missing = credential(&env, "nope", "listClusterUserCredential", "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["code"], "ResourceNotFound");
    assert_eq!(
        missing.body["error"]["message"],
        "The Resource 'Microsoft.ContainerService/managedClusters/nope' under resource group 'rg1' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    );
}

#[tokio::test]
async fn legacy_old_plain_and_admin_credentials() {
    let env = start();
    let seeded = env
        .manage(
            Method::POST,
            "seed",
            Some(&json!({
                "resource_groups": [{"name": "rg1", "location": "eastus"}],
                "clusters": [
                    {"resource_group": "rg1", "name": "legacy", "body": {
                        "location": "eastus",
                        "properties": {"kubernetesVersion": "1.32", "dnsPrefix": "legacy",
                            "aadProfile": {"clientAppID": "client-app", "serverAppID": "server-app",
                                           "serverAppSecret": "hunter2", "tenantID": TENANT_ID}}}},
                    {"resource_group": "rg1", "name": "old", "body": {
                        "location": "eastus",
                        "properties": {"kubernetesVersion": "1.23.12", "dnsPrefix": "old",
                            "aadProfile": {"managed": true}}}},
                    {"resource_group": "rg1", "name": "locked", "body": {
                        "location": "eastus",
                        "properties": {"dnsPrefix": "locked", "disableLocalAccounts": true,
                            "aadProfile": {"managed": true}}}}
                ]
            })),
        )
        .await;
    assert_eq!(seeded.status, StatusCode::OK, "{}", seeded.text);
    env.put_cluster_and_wait("rg1", "plain", &plain_body("eastus", "plain"))
        .await;

    let legacy = credential(&env, "legacy", "listClusterUserCredential", "?format=azure").await;
    let text = Env::kubeconfig_of(&legacy);
    let provider = &yaml(&text)["users"][0]["user"]["auth-provider"];
    assert_eq!(
        provider["config"],
        json!({"apiserver-id": "server-app", "client-id": "client-app",
               "environment": "AzurePublicCloud", "tenant-id": TENANT_ID})
    );
    assert!(!text.contains("config-mode"));

    let old = credential(&env, "old", "listClusterUserCredential", "").await;
    let old_config = yaml(&Env::kubeconfig_of(&old));
    assert_eq!(
        old_config["users"][0]["user"]["auth-provider"]["name"], "azure",
        "azure is the default below 1.24"
    );

    let plain = credential(&env, "plain", "listClusterUserCredential", "?format=exec").await;
    let plain_user = &yaml(&Env::kubeconfig_of(&plain))["users"][0];
    assert_eq!(plain_user["name"], "clusterUser_rg1_plain");
    assert!(plain_user["user"]["client-certificate-data"].is_string());
    assert!(plain_user["user"]["client-key-data"].is_string());
    assert!(plain_user["user"].get("exec").is_none());

    let admin = credential(&env, "plain", "listClusterAdminCredential", "").await;
    assert_eq!(admin.status, StatusCode::OK);
    assert_eq!(admin.body["kubeconfigs"][0]["name"], "clusterAdmin");
    let admin_config = yaml(&Env::kubeconfig_of(&admin));
    assert_eq!(admin_config["contexts"][0]["name"], "plain");
    assert_eq!(
        admin_config["contexts"][0]["context"]["user"],
        "clusterAdmin_rg1_plain"
    );
    let admin_user = &admin_config["users"][0]["user"];
    assert!(admin_user["token"].is_string());
    assert!(admin_user["client-certificate-data"].is_string());

    let refused = credential(&env, "locked", "listClusterAdminCredential", "").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body["error"]["code"], "BadRequest");
    assert_eq!(
        refused.body["error"]["message"],
        "Getting static credential is not allowed because this cluster is set to disable local accounts."
    );
}

#[tokio::test]
async fn kubernetes_endpoint_serves_version_over_the_cluster_ca() {
    let env = start();
    env.create_group("rg1", "centralus").await;
    env.put_cluster_and_wait("rg1", "kube", &plain_body("centralus", "kube"))
        .await;
    let admin = credential(&env, "kube", "listClusterAdminCredential", "").await;
    let config = yaml(&Env::kubeconfig_of(&admin));
    let server = server_of(&config);
    let client = client_trusting(&ca_of(&config));
    let anonymous = client
        .get(format!("{server}/version?timeout=5s"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers().get("cache-control").unwrap(),
        "no-cache, private"
    );
    let admin_token = config["users"][0]["user"]["token"].as_str().unwrap();
    let version = client
        .get(format!("{server}/version?timeout=5s"))
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(version.status(), StatusCode::OK);
    assert_eq!(
        version.headers().get("cache-control").unwrap(),
        "no-cache, private"
    );
    let body: Value = version.json().await.unwrap();
    assert_eq!(body["major"], "1");
    assert_eq!(body["minor"], "32");
    assert_eq!(body["gitVersion"], "v1.32.4");

    // The admin client certificate is signed by the cluster CA.
    let decode = |key: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(config["users"][0]["user"][key].as_str().unwrap())
            .unwrap()
    };
    let mut identity_pem = decode("client-certificate-data");
    identity_pem.extend(decode("client-key-data"));
    let mtls = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca_of(&config)).unwrap()])
        .identity(reqwest::Identity::from_pem(&identity_pem).unwrap())
        .no_proxy()
        .build()
        .unwrap();
    let nodes = mtls
        .get(format!("{server}/api/v1/nodes"))
        .send()
        .await
        .unwrap();
    assert_eq!(nodes.status(), StatusCode::OK);
    let nodes: Value = nodes.json().await.unwrap();
    assert_eq!(nodes["kind"], "NodeList");
    assert_eq!(nodes["items"].as_array().unwrap().len(), 3);
    let other = mtls
        .get(format!("{server}/apis/apps/v1/deployments/x/y"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let status: Value = other.json().await.unwrap();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "NotFound");
    assert_eq!(status["code"], 404);

    // Deleting the cluster stops its endpoint.
    let deleted = env
        .arm(
            Method::DELETE,
            &env.cluster_path("rg1", "kube"),
            CLUSTERS_API,
            None,
        )
        .await;
    env.wait(&deleted).await;
    let fresh = client_trusting(&ca_of(&config));
    let mut refused = false;
    for _ in 0..20 {
        if fresh.get(format!("{server}/version")).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refused, "the endpoint of a deleted cluster still answers");
}
