//! The management API: paging, the request log and its redaction, state-file restarts.

use aks_emulator::{EmulatorOptions, TENANT_ID};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::authorization::{NONADMIN_OBJECT_ID, READER, assign, nonadmin_token};
use crate::directory::{access_claims, password_grant};
use crate::support::{
    CLUSTERS_API, Env, aad_create_body, client_trusting, fast_pacing, start, start_with,
};

/// Seed clusters `c0`..`c{count-1}` in `rg1` and set the page size of list answers.
async fn seed_clusters(env: &Env, count: usize, page_size: usize) {
    let clusters: Vec<Value> = (0..count)
        .map(|i| json!({"resource_group": "rg1", "name": format!("c{i}"), "body": {"location": "westus2", "properties": {"dnsPrefix": format!("c{i}")}}}))
        .collect();
    let seeded = env
        .manage(Method::POST, "seed", Some(&json!({"resource_groups": [{"name": "rg1", "location": "westus2"}], "clusters": clusters})))
        .await;
    assert_eq!(seeded.status, StatusCode::OK, "{}", seeded.text);
    let answer = env
        .manage(
            Method::PUT,
            "page-size",
            Some(&json!({"page_size": page_size})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

/// Follow a cluster list's `nextLink`s from `path` with `token`: the names of each page's clusters.
async fn cluster_pages(env: &Env, mut path: String, token: &str) -> Vec<Vec<String>> {
    let auth = format!("Bearer {token}");
    let mut pages = Vec::new();
    loop {
        let page = env
            .send(Method::GET, &path, &[("authorization", &auth)], None)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let mut names = Vec::new();
        for cluster in page.body["value"].as_array().unwrap() {
            assert_eq!(cluster["properties"]["provisioningState"], "Succeeded");
            names.push(cluster["name"].as_str().unwrap().to_string());
        }
        pages.push(names);
        match page.body["nextLink"].as_str() {
            Some(next) => {
                assert!(next.contains("$skipToken="), "{next}");
                path = next.strip_prefix(&env.base()).unwrap().to_string();
            }
            None => return pages,
        }
    }
}

#[tokio::test]
async fn lists_are_paged_with_next_links() {
    let env = start();
    seed_clusters(&env, 5, 2).await;
    let path = format!(
        "/subscriptions/{}/providers/Microsoft.ContainerService/managedClusters?api-version={CLUSTERS_API}",
        env.sub()
    );
    let pages = cluster_pages(&env, path, &env.token().await).await;
    assert_eq!(pages, [vec!["c0", "c1"], vec!["c2", "c3"], vec!["c4"]]);

    let in_group = env
        .arm(Method::GET, &format!("/subscriptions/{}/resourceGroups/RG1/providers/microsoft.containerservice/managedclusters", env.sub()), CLUSTERS_API, None)
        .await;
    assert_eq!(in_group.body["value"].as_array().unwrap().len(), 2);
}

/// A caller who may read some of the clusters gets pages of those alone: the page size, `$skipToken` and the last
/// page count the clusters it sees, not the ones it does not.
#[tokio::test]
async fn a_list_the_caller_partly_sees_is_paged_over_what_it_sees() {
    let env = start();
    seed_clusters(&env, 7, 3).await;
    let group = format!("/subscriptions/{}/resourceGroups/rg1", env.sub());
    for (i, name) in ["c1", "c2", "c4", "c6"].iter().enumerate() {
        let scope = format!("{group}/providers/Microsoft.ContainerService/managedClusters/{name}");
        let assignment = format!("00000000-0000-0000-0000-00000000a00{i}");
        let answer = assign(&env, &scope, &assignment, NONADMIN_OBJECT_ID, READER).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    }
    let path = format!(
        "{group}/providers/Microsoft.ContainerService/managedClusters?api-version={CLUSTERS_API}"
    );
    let pages = cluster_pages(&env, path, &nonadmin_token(&env).await).await;
    assert_eq!(pages, [vec!["c1", "c2", "c4"], vec!["c6"]]);
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
