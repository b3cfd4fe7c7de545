//! The per-cluster Kubernetes endpoint: authentication, authorization and the API real kubectl 1.32 needs.
//!
//! kubectl always runs with `HOME` and `KUBECACHEDIR` in a temporary directory, on kubeconfigs whose server is
//! the emulator's 127.0.0.1 endpoint (docs/kubectl-wire.md: the dispatcher and discovery caches).

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{CLUSTERS_API, Env, aad_create_body, client_trusting, plain_body, start};

pub const AKS_SCOPE: &str = "6dae42f8-4368-4678-94ff-3960e28e3630/.default";
const KUBECTL: &str = "/usr/bin/kubectl";
const ADMIN_OBJECT_ID: &str = "1a1a1a1a-1111-2222-3333-444444444444";
const NONADMIN_OBJECT_ID: &str = "1b1b1b1b-1111-2222-3333-555555555555";

/// A cluster's Kubernetes endpoint: its server URL and CA.
pub struct Endpoint {
    pub server: String,
    pub ca_pem: Vec<u8>,
    /// The admin kubeconfig (client certificate + static token), when local accounts were enabled.
    pub admin_kubeconfig: Option<String>,
}

impl Endpoint {
    pub fn client(&self) -> reqwest::Client {
        client_trusting(&self.ca_pem)
    }

    pub async fn get(&self, path: &str, token: Option<&str>, accept: &str) -> (StatusCode, Value) {
        let mut request = self
            .client()
            .get(format!("{}{path}", self.server))
            .header("accept", accept);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        assert_eq!(
            response.headers().get("cache-control").unwrap(),
            "no-cache, private"
        );
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

/// Create a cluster in `rg1` and read its endpoint from the user (and, when allowed, admin) credentials.
pub async fn cluster(env: &Env, name: &str, body: &Value) -> Endpoint {
    if env
        .arm(Method::GET, &env.group_path("rg1"), "2024-11-01", None)
        .await
        .status
        != StatusCode::OK
    {
        env.create_group("rg1", "centralus").await;
    }
    env.put_cluster_and_wait("rg1", name, body).await;
    let user = env
        .arm(
            Method::POST,
            &format!(
                "{}/listClusterUserCredential",
                env.cluster_path("rg1", name)
            ),
            CLUSTERS_API,
            None,
        )
        .await;
    let config = yaml(&Env::kubeconfig_of(&user));
    let server = config["clusters"][0]["cluster"]["server"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(server.starts_with("https://127.0.0.1:"), "{server}");
    let ca_pem = base64::engine::general_purpose::STANDARD
        .decode(
            config["clusters"][0]["cluster"]["certificate-authority-data"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let admin = env
        .arm(
            Method::POST,
            &format!(
                "{}/listClusterAdminCredential",
                env.cluster_path("rg1", name)
            ),
            CLUSTERS_API,
            None,
        )
        .await;
    let admin_kubeconfig = (admin.status == StatusCode::OK).then(|| Env::kubeconfig_of(&admin));
    Endpoint {
        server,
        ca_pem,
        admin_kubeconfig,
    }
}

/// A client-credentials access token for the AKS server application.
pub async fn aks_token(env: &Env, client_id: &str, secret: &str) -> String {
    let answer = env.token_for(client_id, secret, AKS_SCOPE).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["access_token"].as_str().unwrap().to_string()
}

/// A temporary home for kubectl: `HOME`, `KUBECACHEDIR` and kubeconfig files.
pub struct KubectlHome {
    dir: tempfile::TempDir,
}

impl KubectlHome {
    pub fn new() -> KubectlHome {
        KubectlHome {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Write a kubeconfig whose user has a bearer token.
    pub fn token_kubeconfig(&self, file: &str, endpoint: &Endpoint, token: &str) -> PathBuf {
        let ca = base64::engine::general_purpose::STANDARD.encode(&endpoint.ca_pem);
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: emu\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\ncontexts:\n- name: emu\n  context:\n    cluster: emu\n    user: emu\ncurrent-context: emu\nusers:\n- name: emu\n  user:\n    token: {token}\n",
            endpoint.server
        );
        self.write(file, &text)
    }

    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let server = yaml(text)["clusters"][0]["cluster"]["server"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            server.starts_with("https://127.0.0.1:"),
            "kubectl only ever runs against the emulator: {server}"
        );
        self.write_file(file, text)
    }

    /// Write any file (a manifest) into the temporary directory.
    pub fn write_file(&self, file: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Run /usr/bin/kubectl on `kubeconfig` with an isolated HOME and cache.
    pub fn run(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        let home = self.dir.path().join("home");
        let cache = self.dir.path().join("cache");
        std::fs::create_dir_all(&home).unwrap();
        std::process::Command::new(KUBECTL)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env("KUBECACHEDIR", &cache)
            .env("KUBECONFIG", kubeconfig)
            .env("NO_PROXY", "127.0.0.1")
            .output()
            .expect("kubectl runs")
    }
}

/// The `PRIVATE KEY` block of a PEM file that also holds a certificate.
pub fn private_key_pem(pem: &str) -> String {
    let start = pem.find("-----BEGIN PRIVATE KEY-----").unwrap();
    let end = pem.find("-----END PRIVATE KEY-----").unwrap() + "-----END PRIVATE KEY-----".len();
    pem[start..end].to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn kubectl_available() -> bool {
    let available = Path::new(KUBECTL).exists();
    if !available {
        eprintln!("skipping: {KUBECTL} is not installed");
    }
    available
}

#[tokio::test]
async fn kubectl_uses_entra_tokens_and_admin_groups() {
    if !kubectl_available() {
        return;
    }
    let env = start();
    let ready = env.emulator.ready().clone();
    let endpoint = cluster(&env, "aad", &aad_create_body("centralus", "aad")).await;
    let home = KubectlHome::new();

    let admin = home.token_kubeconfig(
        "admin",
        &endpoint,
        &aks_token(&env, &ready.client_id, &ready.client_secret).await,
    );
    let nodes = home.run(&admin, &["get", "nodes"]);
    assert!(nodes.status.success(), "{}", text(&nodes.stderr));
    let stdout = text(&nodes.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("STATUS") && lines[0].contains("VERSION")
    );
    assert!(
        lines[1].starts_with("aks-nodepool1-") && lines[1].contains("vmss000000"),
        "{stdout}"
    );
    assert!(
        lines[1..]
            .iter()
            .all(|line| line.contains(" Ready ") && line.contains("v1.32."))
    );

    let wide = home.run(&admin, &["get", "nodes", "-o", "wide"]);
    assert!(
        text(&wide.stdout).contains("INTERNAL-IP"),
        "{}",
        text(&wide.stderr)
    );
    let names = home.run(&admin, &["get", "no", "-o", "name"]);
    assert_eq!(
        text(&names.stdout).lines().count(),
        3,
        "{}",
        text(&names.stderr)
    );

    let pods = home.run(&admin, &["get", "pods", "-A"]);
    assert!(pods.status.success(), "{}", text(&pods.stderr));
    assert!(text(&pods.stderr).contains("No resources found"));

    let version = home.run(&admin, &["version"]);
    assert!(version.status.success(), "{}", text(&version.stderr));
    assert!(
        text(&version.stdout).contains("Server Version: v1.32."),
        "{}",
        text(&version.stdout)
    );

    let whoami = home.run(&admin, &["auth", "whoami", "-o", "json"]);
    assert!(whoami.status.success(), "{}", text(&whoami.stderr));
    let review: Value = serde_json::from_slice(&whoami.stdout).unwrap();
    assert_eq!(review["status"]["userInfo"]["username"], ADMIN_OBJECT_ID);
    let groups = review["status"]["userInfo"]["groups"].as_array().unwrap();
    assert!(groups.contains(&json!(ready.admin_group_id)));
    assert!(groups.contains(&json!("system:authenticated")));

    let info = home.run(&admin, &["cluster-info"]);
    assert!(info.status.success(), "{}", text(&info.stderr));
    assert!(text(&info.stdout).contains(&endpoint.server));

    // The non-admin principal is authenticated but not authorized.
    let other = home.token_kubeconfig(
        "nonadmin",
        &endpoint,
        &aks_token(
            &env,
            &ready.nonadmin_client_id,
            &ready.nonadmin_client_secret,
        )
        .await,
    );
    let refused = home.run(&other, &["get", "nodes"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains(&format!(
            "Error from server (Forbidden): nodes is forbidden: User \"{NONADMIN_OBJECT_ID}\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        )),
        "{}",
        text(&refused.stderr)
    );
    let refused_pods = home.run(&other, &["get", "pods"]);
    assert!(
        text(&refused_pods.stderr).contains(&format!(
            "pods is forbidden: User \"{NONADMIN_OBJECT_ID}\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        )),
        "{}",
        text(&refused_pods.stderr)
    );
    let whoami = home.run(&other, &["auth", "whoami"]);
    assert!(whoami.status.success(), "{}", text(&whoami.stderr));
    assert!(text(&whoami.stdout).contains(NONADMIN_OBJECT_ID));
    let version = home.run(&other, &["version"]);
    assert!(version.status.success(), "{}", text(&version.stderr));

    // A token the cluster does not accept is a 401.
    let management = env.token().await;
    let wrong = home.token_kubeconfig("wrong", &endpoint, &management);
    let unauthorized = home.run(&wrong, &["get", "nodes"]);
    assert_eq!(unauthorized.status.code(), Some(1));
    assert!(
        text(&unauthorized.stderr).contains("error: You must be logged in to the server"),
        "{}",
        text(&unauthorized.stderr)
    );
}

#[tokio::test]
async fn kubectl_admin_certificate_works_until_local_accounts_are_disabled() {
    if !kubectl_available() {
        return;
    }
    let env = start();
    let body = aad_create_body("centralus", "local");
    let endpoint = cluster(&env, "local", &body).await;
    let home = KubectlHome::new();
    let admin = home.write("admin", endpoint.admin_kubeconfig.as_deref().unwrap());
    let nodes = home.run(&admin, &["get", "nodes"]);
    assert!(nodes.status.success(), "{}", text(&nodes.stderr));
    assert_eq!(text(&nodes.stdout).lines().count(), 4);
    let whoami = home.run(&admin, &["auth", "whoami", "-o", "json"]);
    let review: Value = serde_json::from_slice(&whoami.stdout).unwrap();
    assert!(
        review["status"]["userInfo"]["groups"]
            .as_array()
            .unwrap()
            .contains(&json!("system:masters"))
    );

    let mut disabled = body.clone();
    disabled["properties"]["disableLocalAccounts"] = json!(true);
    env.put_cluster_and_wait("rg1", "local", &disabled).await;
    let refused = home.run(&admin, &["get", "nodes"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("error: You must be logged in to the server"),
        "{}",
        text(&refused.stderr)
    );
}

#[tokio::test]
async fn bearer_tokens_are_refused_with_a_kubernetes_status() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let endpoint = cluster(&env, "aad", &aad_create_body("centralus", "aad")).await;
    let good = aks_token(&env, &ready.client_id, &ready.client_secret).await;
    let (status, _) = endpoint
        .get("/api/v1/nodes", Some(&good), "application/json")
        .await;
    assert_eq!(status, StatusCode::OK);

    let encode =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    let [header, payload, _] = <[&str; 3]>::try_from(good.split('.').collect::<Vec<_>>()).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let original_header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    let kid = original_header["kid"].as_str().unwrap();

    // alg none, with the same claims.
    let none = format!(
        "{}.{payload}.",
        encode(&json!({"alg": "none", "typ": "JWT"}))
    );
    // HS256 with our key id.
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(kid.to_string());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"not the key").unwrap(),
    )
    .unwrap();
    // RS256 with another RSA key (the certificate principal's) but our key id.
    let pem = std::fs::read_to_string(&ready.cert_file).unwrap();
    let mut rs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    rs_header.kid = Some(kid.to_string());
    let foreign = jsonwebtoken::encode(
        &rs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem(&pem).as_bytes()).unwrap(),
    )
    .unwrap();
    // A changed payload under the original signature.
    let mut tampered_claims = claims.clone();
    tampered_claims["groups"] = json!([]);
    let signature = good.rsplit('.').next().unwrap();
    let tampered = format!("{header}.{}.{signature}", encode(&tampered_claims));
    // The right key but the ARM audience; a federated (service-account) token; garbage.
    let wrong_audience = env.token().await;
    let federated = env
        .manage(Method::POST, "federated-token", Some(&json!({})))
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();

    for (what, token) in [
        ("alg none", none.as_str()),
        ("HS256", hs256.as_str()),
        ("foreign key", foreign.as_str()),
        ("tampered", tampered.as_str()),
        ("wrong audience", wrong_audience.as_str()),
        ("federated token", federated.as_str()),
        ("garbage", "not-a-jwt"),
    ] {
        let (status, body) = endpoint
            .get("/api/v1/nodes", Some(token), "application/json")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(
            body,
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}),
            "{what}"
        );
    }
    let (status, _) = endpoint.get("/version", None, "application/json").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous");

    // A cluster without Entra integration takes only admin credentials.
    let plain = cluster(&env, "plain", &plain_body("centralus", "plain")).await;
    let (status, _) = plain.get("/version", Some(&good), "application/json").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let admin_token = yaml(plain.admin_kubeconfig.as_deref().unwrap())["users"][0]["user"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = plain
        .get("/api/v1/nodes", Some(&admin_token), "application/json")
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_api_answers_tables_lists_objects_and_reviews() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let mut body = aad_create_body("centralus", "api");
    body["properties"]["agentPoolProfiles"][0]["count"] = json!(2);
    body["properties"]["agentPoolProfiles"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "user1", "count": 1, "mode": "User", "osType": "Linux"}));
    let endpoint = cluster(&env, "api", &body).await;
    let token = aks_token(&env, &ready.client_id, &ready.client_secret).await;
    let table_accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    let (status, table) = endpoint
        .get("/api/v1/nodes?limit=500", Some(&token), table_accept)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let first = rows[0]["cells"][0].as_str().unwrap().to_string();
    assert!(
        first.starts_with("aks-nodepool1-") && first.ends_with("-vmss000000"),
        "{first}"
    );
    assert_eq!(first.len(), "aks-nodepool1-12345678-vmss000000".len());
    assert!(
        rows[2]["cells"][0]
            .as_str()
            .unwrap()
            .starts_with("aks-user1-")
    );
    assert_eq!(rows[0]["cells"][1], "Ready");
    assert_eq!(rows[0]["object"]["kind"], "PartialObjectMetadata");

    let (_, list) = endpoint
        .get("/api/v1/nodes", Some(&token), "application/json")
        .await;
    assert_eq!(list["kind"], "NodeList");
    assert_eq!(list["items"][0]["metadata"]["name"], first.as_str());
    assert_eq!(list["items"][0]["status"]["conditions"][0]["type"], "Ready");
    assert_eq!(
        list["items"][0]["status"]["nodeInfo"]["kubeletVersion"],
        "v1.32.4"
    );
    let (_, selected) = endpoint
        .get(
            "/api/v1/nodes?labelSelector=agentpool%3Duser1",
            Some(&token),
            "application/json",
        )
        .await;
    assert_eq!(selected["items"].as_array().unwrap().len(), 1);

    let (status, node) = endpoint
        .get(
            &format!("/api/v1/nodes/{first}"),
            Some(&token),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(node["kind"], "Node");
    let (status, missing) = endpoint
        .get("/api/v1/nodes/nope", Some(&token), "application/json")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["message"], "nodes \"nope\" not found");

    let (_, pods) = endpoint
        .get(
            "/api/v1/namespaces/default/pods?limit=500",
            Some(&token),
            table_accept,
        )
        .await;
    assert_eq!(pods["kind"], "Table");
    assert_eq!(pods["rows"], json!([]));
    let (_, pods) = endpoint
        .get("/api/v1/pods", Some(&token), "application/json")
        .await;
    assert_eq!(pods["kind"], "PodList");
    let (_, services) = endpoint
        .get(
            "/api/v1/namespaces/kube-system/services?labelSelector=kubernetes.io%2Fcluster-service%3Dtrue",
            Some(&token),
            "application/json, */*",
        )
        .await;
    assert_eq!(services["kind"], "ServiceList");
    assert_eq!(services["items"], json!([]));
    let (_, namespaces) = endpoint
        .get("/api/v1/namespaces", Some(&token), table_accept)
        .await;
    assert_eq!(namespaces["rows"].as_array().unwrap().len(), 4);

    for (path, kind) in [
        ("/api", "APIVersions"),
        ("/apis", "APIGroupList"),
        ("/api/v1", "APIResourceList"),
        ("/apis/authentication.k8s.io/v1", "APIResourceList"),
    ] {
        let (status, body) = endpoint.get(path, Some(&token), "application/json").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body["kind"], kind, "{path}");
    }

    // kubectl 1.32 posts protobuf; the answer is JSON.
    let review = endpoint
        .client()
        .post(format!(
            "{}/apis/authentication.k8s.io/v1/selfsubjectreviews",
            endpoint.server
        ))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.kubernetes.protobuf")
        .body(b"k8s\0\n\x1c\n\x18authentication.k8s.io/v1".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(review.status(), StatusCode::CREATED);
    let review: Value = review.json().await.unwrap();
    assert_eq!(review["kind"], "SelfSubjectReview");
    assert_eq!(review["status"]["userInfo"]["uid"], ADMIN_OBJECT_ID);
    assert_eq!(
        review["status"]["userInfo"]["extra"]["oid"],
        json!([ADMIN_OBJECT_ID])
    );

    // Writes and watches fail loudly.
    let delete = endpoint
        .client()
        .delete(format!("{}/api/v1/nodes/{first}", endpoint.server))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = endpoint
        .get("/api/v1/deployments", Some(&token), "application/json")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_api_server_outage_answers_503() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let endpoint = cluster(&env, "down", &aad_create_body("centralus", "down")).await;
    let token = aks_token(&env, &ready.client_id, &ready.client_secret).await;
    let outage = env
        .manage(
            Method::PUT,
            "clusters/rg1/Down/api-server",
            Some(&json!({"available": false})),
        )
        .await;
    assert_eq!(outage.status, StatusCode::OK, "{}", outage.text);
    let (status, body) = endpoint
        .get("/version", Some(&token), "application/json")
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["reason"], "ServiceUnavailable");
    assert_eq!(body["code"], 503);
    let state = env.manage(Method::GET, "state", None).await;
    assert_eq!(state.body["clusters"][0]["api_server_available"], false);

    env.manage(
        Method::PUT,
        "clusters/rg1/down/api-server",
        Some(&json!({"available": true})),
    )
    .await;
    let (status, _) = endpoint
        .get("/version", Some(&token), "application/json")
        .await;
    assert_eq!(status, StatusCode::OK);
    let unknown = env
        .manage(
            Method::PUT,
            "clusters/rg1/nope/api-server",
            Some(&json!({"available": false})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
