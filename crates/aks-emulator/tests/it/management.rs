//! The management API: paging, the request log and its redaction, state-file restarts.

use aks_emulator::{EmulatorOptions, TENANT_ID};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::directory::{access_claims, password_grant};
use crate::support::{
    CLUSTERS_API, Env, aad_create_body, client_trusting, fast_pacing, start, start_with,
};

#[tokio::test]
async fn lists_are_paged_with_next_links() {
    let env = start();
    let clusters: Vec<Value> = (0..5)
        .map(|i| json!({"resource_group": "rg1", "name": format!("c{i}"), "body": {"location": "westus2", "properties": {"dnsPrefix": format!("c{i}")}}}))
        .collect();
    let seeded = env
        .manage(Method::POST, "seed", Some(&json!({"resource_groups": [{"name": "rg1", "location": "westus2"}], "clusters": clusters})))
        .await;
    assert_eq!(seeded.status, StatusCode::OK, "{}", seeded.text);
    assert_eq!(
        env.manage(Method::PUT, "page-size", Some(&json!({"page_size": 2})))
            .await
            .status,
        StatusCode::OK
    );

    let token = env.token().await;
    let auth = format!("Bearer {token}");
    let mut path = format!(
        "/subscriptions/{}/providers/Microsoft.ContainerService/managedClusters?api-version={CLUSTERS_API}",
        env.sub()
    );
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let page = env
            .send(Method::GET, &path, &[("authorization", &auth)], None)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        pages += 1;
        for cluster in page.body["value"].as_array().unwrap() {
            assert_eq!(cluster["properties"]["provisioningState"], "Succeeded");
            names.push(cluster["name"].as_str().unwrap().to_string());
        }
        match page.body["nextLink"].as_str() {
            Some(next) => {
                assert!(next.contains("$skipToken="), "{next}");
                path = next.strip_prefix(&env.base()).unwrap().to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["c0", "c1", "c2", "c3", "c4"]);

    let in_group = env
        .arm(Method::GET, &format!("/subscriptions/{}/resourceGroups/RG1/providers/microsoft.containerservice/managedclusters", env.sub()), CLUSTERS_API, None)
        .await;
    assert_eq!(in_group.body["value"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn request_log_counts_puts_and_redacts_secrets() {
    let env = start();
    env.create_group("rg1", "centralus").await;
    let mut body = aad_create_body("centralus", "logged");
    body["properties"]["aadProfile"] = json!({"clientAppID": "c", "serverAppID": "s", "serverAppSecret": "hunter2-in-log", "tenantID": TENANT_ID});
    env.put_cluster_and_wait("rg1", "logged", &body).await;

    let log = env.manage(Method::GET, "requests", None).await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(!log.text.contains("hunter2-in-log"), "{}", log.text);
    assert!(!log.text.contains(&env.emulator.ready().client_secret));
    let entries = log.body.as_array().unwrap();
    let puts: Vec<&Value> = entries
        .iter()
        .filter(|e| {
            e["method"] == "PUT"
                && e["path"]
                    .as_str()
                    .unwrap()
                    .ends_with("/managedClusters/logged")
        })
        .collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0]["status"], 201);
    assert_eq!(puts[0]["query"], format!("api-version={CLUSTERS_API}"));
    assert_eq!(
        puts[0]["body"]["properties"]["aadProfile"]["serverAppSecret"],
        "REDACTED"
    );
    let token_request = entries
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with("/oauth2/v2.0/token"))
        .unwrap();
    assert_eq!(token_request["body"]["client_secret"], "REDACTED");
    assert_eq!(token_request["body"]["grant_type"], "client_credentials");
    assert!(entries.iter().all(|e| e["time"].is_string()));

    assert_eq!(
        env.manage(Method::DELETE, "requests", None).await.status,
        StatusCode::NO_CONTENT
    );
    let cleared = env.manage(Method::GET, "requests", None).await;
    assert_eq!(cleared.body, json!([]));

    let pacing = env.manage(Method::GET, "lro", None).await;
    assert_eq!(pacing.body["polls"], 1);
    let unknown = env.manage(Method::GET, "nothing", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["error"]["code"], "EmulatorUnsupportedRoute");
}

#[tokio::test]
async fn a_restart_keeps_clusters_secrets_and_the_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state").join("emulator.json");
    let options = || {
        let mut options = EmulatorOptions::new(dir.path().join("data"));
        options.state_file = Some(state_file.clone());
        options.lro = fast_pacing();
        options
    };
    let first = start_with(options(), tempfile::tempdir().unwrap());
    first.create_group("rg1", "centralus").await;
    first
        .put_cluster_and_wait("rg1", "kept", &aad_create_body("centralus", "kept"))
        .await;
    let token = first.token().await;
    let ready = first.emulator.ready().clone();
    let admin = first
        .arm(
            Method::POST,
            &format!(
                "{}/listClusterAdminCredential",
                first.cluster_path("rg1", "kept")
            ),
            CLUSTERS_API,
            None,
        )
        .await;
    let kubeconfig = Env::kubeconfig_of(&admin);
    let added = first
        .manage(
            Method::POST,
            "users",
            Some(&json!({"userPrincipalName": "kept@emulator.local", "password": "Kept-Pa55!"})),
        )
        .await;
    let tenant = first
        .manage(
            Method::POST,
            "tenants",
            Some(&json!({"defaultDomain": "kept.example"})),
        )
        .await;
    let guest = first
        .manage(
            Method::POST,
            "tenants/kept.example/guests",
            Some(&json!({"userPrincipalName": "kept@emulator.local"})),
        )
        .await;
    assert_eq!(guest.status, StatusCode::OK, "{}", guest.text);
    let state_text = std::fs::read_to_string(&state_file).unwrap();
    assert!(state_text.contains("\"kept\""));
    drop(first);

    let second = start_with(options(), tempfile::tempdir().unwrap());
    assert_eq!(second.emulator.ready().client_secret, ready.client_secret);
    assert_eq!(
        second.emulator.ready().nonadmin_client_secret,
        ready.nonadmin_client_secret
    );
    // The seeded user, managed identity header and certificate survive too.
    let again = second.emulator.ready();
    assert_eq!(again.user_password, ready.user_password);
    assert_eq!(again.dev_user_password, ready.dev_user_password);
    // Added users, tenants and guests too: the guest signs in to the kept tenant with the same object id.
    let signed_in =
        password_grant(&second, "kept.example", "kept@emulator.local", "Kept-Pa55!").await;
    let claims = access_claims(&signed_in);
    assert_eq!(claims["tid"], tenant.body["tenantId"]);
    assert_eq!(claims["oid"], guest.body["id"]);
    assert_ne!(claims["oid"], added.body["id"]);
    assert_eq!(again.identity_header, ready.identity_header);
    assert_eq!(
        std::fs::read_to_string(&again.cert_file).unwrap(),
        std::fs::read_to_string(&ready.cert_file).unwrap()
    );
    let got = second
        .send(
            Method::GET,
            &format!(
                "{}?api-version={CLUSTERS_API}",
                second.cluster_path("rg1", "kept")
            ),
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await;
    assert_eq!(
        got.status,
        StatusCode::OK,
        "an old token stays valid: {}",
        got.text
    );
    assert_eq!(got.body["properties"]["provisioningState"], "Succeeded");

    // The old kubeconfig still reaches the cluster and trusts its CA.
    let config: Value = serde_saphyr::from_str(&kubeconfig).unwrap();
    let ca = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(
                config["clusters"][0]["cluster"]["certificate-authority-data"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap()
    };
    let server = config["clusters"][0]["cluster"]["server"].as_str().unwrap();
    let admin_token = config["users"][0]["user"]["token"].as_str().unwrap();
    let version = client_trusting(&ca)
        .get(format!("{server}/version"))
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(version.status(), StatusCode::OK);
}
