//! Managed clusters: the PUT → operation → GET life cycle, AKS rules, failures and deletes.

use aks_emulator::{ADMIN_GROUP_ID, TENANT_ID};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{CLUSTERS_API, Env, aad_create_body, plain_body, start};

async fn env_with_group() -> Env {
    let env = start();
    env.create_group("rg1", "centralus").await;
    env
}

#[tokio::test]
async fn create_runs_an_operation_then_succeeds_with_server_fields() {
    let env = env_with_group().await;
    env.manage(
        Method::PUT,
        "lro",
        Some(&json!({"polls": 1, "retry_after_seconds": 1, "retry_after_ms": 50})),
    )
    .await;
    let path = env.cluster_path("rg1", "c1");
    let body = aad_create_body("centralus", "c1-rg1-000000");
    let created = env.arm(Method::PUT, &path, CLUSTERS_API, Some(&body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let async_url = created.header("azure-asyncoperation").unwrap().to_string();
    let prefix = format!(
        "{}/subscriptions/{}/providers/Microsoft.ContainerService/locations/centralus/operations/",
        env.base(),
        env.sub()
    );
    assert!(async_url.starts_with(&prefix), "{async_url}");
    assert!(async_url.ends_with("?api-version=2016-03-30"));
    let location = created.header("location").unwrap();
    assert!(
        location.contains("/locations/centralus/operationresults/"),
        "{location}"
    );
    assert_eq!(created.header("retry-after"), Some("1"));
    assert_eq!(created.body["properties"]["provisioningState"], "Creating");

    let status_path = async_url.strip_prefix(&env.base()).unwrap().to_string();
    let auth = format!("Bearer {}", env.token().await);
    let running = env
        .send(Method::GET, &status_path, &[("authorization", &auth)], None)
        .await;
    assert_eq!(running.status, StatusCode::OK);
    assert_eq!(running.body["status"], "InProgress");
    assert!(running.body["startTime"].is_string());
    assert_eq!(running.header("retry-after"), Some("1"));
    assert_eq!(running.header("retry-after-ms"), Some("50"));

    // A second write while the operation runs is refused.
    let busy = env.arm(Method::PUT, &path, CLUSTERS_API, Some(&body)).await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert_eq!(busy.body["error"]["code"], "OperationNotAllowed");
    assert_eq!(
        busy.body["error"]["message"],
        "Operation is not allowed: Another operation (Creating) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"
    );

    let done = env
        .send(Method::GET, &status_path, &[("authorization", &auth)], None)
        .await;
    assert_eq!(done.body["status"], "Succeeded");
    assert!(done.body["endTime"].is_string());
    assert_eq!(
        done.body["name"],
        status_path
            .rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
    );

    let got = env.arm(Method::GET, &path, CLUSTERS_API, None).await;
    assert_eq!(got.status, StatusCode::OK);
    let cluster = &got.body;
    let properties = &cluster["properties"];
    assert_eq!(
        cluster["id"],
        format!(
            "/subscriptions/{}/resourcegroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1",
            env.sub()
        )
    );
    assert_eq!(cluster["name"], "c1");
    assert_eq!(
        cluster["type"],
        "Microsoft.ContainerService/ManagedClusters"
    );
    assert_eq!(properties["provisioningState"], "Succeeded");
    assert_eq!(properties["kubernetesVersion"], "1.32");
    assert_eq!(properties["currentKubernetesVersion"], "1.32.4");
    let fqdn = properties["fqdn"].as_str().unwrap();
    assert!(
        fqdn.starts_with("c1-rg1-000000-") && fqdn.ends_with(".hcp.centralus.azmk8s.io"),
        "{fqdn}"
    );
    assert!(
        properties["azurePortalFQDN"]
            .as_str()
            .unwrap()
            .ends_with(".portal.hcp.centralus.azmk8s.io")
    );
    assert_eq!(properties["nodeResourceGroup"], "MC_rg1_c1_centralus");
    assert_eq!(properties["powerState"], json!({"code": "Running"}));
    assert_eq!(properties["maxAgentPools"], 100);
    assert_eq!(properties["supportPlan"], "KubernetesOfficial");
    assert_eq!(properties["oidcIssuerProfile"]["enabled"], false);
    assert_eq!(properties["networkProfile"]["networkPlugin"], "azure");
    assert_eq!(properties["networkProfile"]["dnsServiceIP"], "10.0.0.10");
    assert_eq!(properties["networkProfile"]["ipFamilies"], json!(["IPv4"]));
    assert!(properties["resourceUID"].is_string());
    let pool = &properties["agentPoolProfiles"][0];
    assert_eq!(pool["vmSize"], "Standard_DS2_v2");
    assert_eq!(pool["count"], 3);
    assert_eq!(pool["orchestratorVersion"], "1.32");
    assert_eq!(pool["currentOrchestratorVersion"], "1.32.4");
    assert_eq!(pool["osDiskSizeGB"], 128);
    assert_eq!(pool["maxPods"], 250);
    assert_eq!(pool["provisioningState"], "Succeeded");
    assert_eq!(cluster["sku"], json!({"name": "Base", "tier": "Free"}));
    assert_eq!(cluster["identity"]["tenantId"], TENANT_ID);
    assert!(cluster["identity"]["principalId"].is_string());
    let kubelet = &properties["identityProfile"]["kubeletidentity"];
    assert_eq!(
        kubelet["resourceId"],
        format!(
            "/subscriptions/{}/resourcegroups/MC_rg1_c1_centralus/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool",
            env.sub()
        )
    );
    assert!(kubelet["clientId"].is_string() && kubelet["objectId"].is_string());
    assert_eq!(properties["aadProfile"]["tenantID"], TENANT_ID);
    assert_eq!(
        properties["aadProfile"]["adminGroupObjectIDs"],
        json!([ADMIN_GROUP_ID])
    );
    assert_eq!(properties["enableRBAC"], true);
    assert_eq!(properties["disableLocalAccounts"], false);
    assert_eq!(
        properties["futureProperty"],
        json!({"kept": [1, 2, 3]}),
        "unknown properties round-trip"
    );

    // Update: az sends back what it got; server fields stay the server's.
    let mut update = got.body.clone();
    update["properties"]["fqdn"] = json!("evil.example.com");
    update["tags"] = json!({"env": "test"});
    let updated = env
        .arm(Method::PUT, &path, CLUSTERS_API, Some(&update))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["properties"]["provisioningState"], "Updating");
    assert_eq!(updated.body["properties"]["fqdn"], fqdn);
    assert_eq!(
        updated.body["properties"]["resourceUID"],
        properties["resourceUID"]
    );
    assert_eq!(updated.body["tags"], json!({"env": "test"}));
    let busy = env.arm(Method::DELETE, &path, CLUSTERS_API, None).await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert!(
        busy.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("(Updating)")
    );

    // The operation-result URL answers 202 while running, then the resource.
    let result_path = updated
        .header("location")
        .unwrap()
        .strip_prefix(&env.base())
        .unwrap()
        .to_string();
    let pending = env
        .send(Method::GET, &result_path, &[("authorization", &auth)], None)
        .await;
    assert_eq!(pending.status, StatusCode::ACCEPTED);
    assert!(pending.header("location").is_some());
    let final_answer = env
        .send(Method::GET, &result_path, &[("authorization", &auth)], None)
        .await;
    assert_eq!(final_answer.status, StatusCode::OK);
    assert_eq!(
        final_answer.body["properties"]["provisioningState"],
        "Succeeded"
    );
}

#[tokio::test]
async fn reading_the_cluster_advances_its_operation() {
    let env = env_with_group().await;
    let path = env.cluster_path("rg1", "polled");
    let created = env
        .arm(
            Method::PUT,
            &path,
            CLUSTERS_API,
            Some(&plain_body("centralus", "polled")),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let first = env.arm(Method::GET, &path, CLUSTERS_API, None).await;
    assert_eq!(first.body["properties"]["provisioningState"], "Creating");
    let second = env.arm(Method::GET, &path, CLUSTERS_API, None).await;
    assert_eq!(second.body["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn delete_runs_an_operation_and_the_cluster_goes_away() {
    let env = env_with_group().await;
    env.put_cluster_and_wait("rg1", "doomed", &plain_body("centralus", "doomed"))
        .await;
    let path = env.cluster_path("rg1", "Doomed");
    let deleted = env.arm(Method::DELETE, &path, CLUSTERS_API, None).await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    assert!(deleted.header("location").is_some());
    let deleting = env.arm(Method::GET, &path, CLUSTERS_API, None).await;
    assert_eq!(deleting.body["properties"]["provisioningState"], "Deleting");
    let status = env.wait(&deleted).await;
    assert_eq!(status["status"], "Succeeded");
    let gone = env.arm(Method::GET, &path, CLUSTERS_API, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body["error"]["code"], "ResourceNotFound");
    let absent = env.arm(Method::DELETE, &path, CLUSTERS_API, None).await;
    assert_eq!(absent.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn injected_failure_ends_the_next_operation() {
    let env = env_with_group().await;
    let injected = env
        .manage(
            Method::POST,
            "lro/fail-next",
            Some(&json!({"code": "CreateVMSSAgentPoolFailed", "message": "Injected failure."})),
        )
        .await;
    assert_eq!(injected.status, StatusCode::OK);
    let created = env
        .arm(
            Method::PUT,
            &env.cluster_path("rg1", "broken"),
            CLUSTERS_API,
            Some(&plain_body("centralus", "broken")),
        )
        .await;
    let status = env.wait(&created).await;
    assert_eq!(status["status"], "Failed");
    assert_eq!(
        status["error"],
        json!({"code": "CreateVMSSAgentPoolFailed", "message": "Injected failure."})
    );
    let got = env
        .arm(
            Method::GET,
            &env.cluster_path("rg1", "broken"),
            CLUSTERS_API,
            None,
        )
        .await;
    assert_eq!(got.body["properties"]["provisioningState"], "Failed");
    // Only one operation fails.
    let retried = env
        .arm(
            Method::PUT,
            &env.cluster_path("rg1", "broken"),
            CLUSTERS_API,
            Some(&plain_body("centralus", "broken")),
        )
        .await;
    assert_eq!(retried.status, StatusCode::OK);
    assert_eq!(env.wait(&retried).await["status"], "Succeeded");
}

async fn expect_error(
    env: &Env,
    name: &str,
    body: &Value,
    status: StatusCode,
    code: &str,
    message: Option<&str>,
    target: Option<&str>,
) {
    let answer = env
        .arm(
            Method::PUT,
            &env.cluster_path("rg1", name),
            CLUSTERS_API,
            Some(body),
        )
        .await;
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.body["error"]["code"], code, "{}", answer.text);
    if let Some(message) = message {
        assert_eq!(answer.body["error"]["message"], message);
    }
    if let Some(target) = target {
        assert_eq!(answer.body["error"]["target"], target);
    }
}

#[tokio::test]
async fn aks_rules_are_enforced() {
    let env = env_with_group().await;
    env.put_cluster_and_wait(
        "rg1",
        "managed",
        &aad_create_body("centralus", "managed-dns"),
    )
    .await;
    let current = env
        .arm(
            Method::GET,
            &env.cluster_path("rg1", "managed"),
            CLUSTERS_API,
            None,
        )
        .await
        .body;

    let mut dns = current.clone();
    dns["properties"]["dnsPrefix"] = json!("other");
    expect_error(
        &env,
        "managed",
        &dns,
        StatusCode::BAD_REQUEST,
        "PropertyChangeNotAllowed",
        Some("Changing property 'dnsPrefix' is not allowed."),
        Some("properties.dnsPrefix"),
    )
    .await;

    let mut disable = current.clone();
    disable["properties"]["aadProfile"]["managed"] = json!(false);
    expect_error(
        &env,
        "managed",
        &disable,
        StatusCode::BAD_REQUEST,
        "PropertyChangeNotAllowed",
        Some("Changing property 'aadProfile.managed' is not allowed."),
        Some("properties.aadProfile.managed"),
    )
    .await;
    let mut absent = current.clone();
    absent["properties"]
        .as_object_mut()
        .unwrap()
        .remove("aadProfile");
    expect_error(
        &env,
        "managed",
        &absent,
        StatusCode::BAD_REQUEST,
        "PropertyChangeNotAllowed",
        None,
        None,
    )
    .await;

    let mut legacy = current.clone();
    legacy["properties"]["aadProfile"] = json!({"clientAppID": "c", "serverAppID": "s", "serverAppSecret": "x", "tenantID": TENANT_ID});
    expect_error(
        &env,
        "managed",
        &legacy,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        None,
        None,
    )
    .await;

    let mut no_rbac = aad_create_body("centralus", "norbac");
    no_rbac["properties"]["enableRBAC"] = json!(false);
    expect_error(
        &env,
        "norbac",
        &no_rbac,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        None,
        Some("properties.enableRBAC"),
    )
    .await;

    let mut azure_rbac = plain_body("centralus", "azrbac");
    azure_rbac["properties"]["aadProfile"] = json!({"enableAzureRBAC": true});
    expect_error(
        &env,
        "azrbac",
        &azure_rbac,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        None,
        None,
    )
    .await;

    let mut local = plain_body("centralus", "local");
    local["properties"]["disableLocalAccounts"] = json!(true);
    expect_error(&env, "local", &local, StatusCode::BAD_REQUEST, "BadRequest",
        Some("Since kubernetes version 1.25, disableLocalAccounts can only be set on Azure AD integration enabled cluster. Please integrate your cluster with AAD."), None).await;

    expect_error(
        &env,
        "-bad-",
        &plain_body("centralus", "x"),
        StatusCode::BAD_REQUEST,
        "InvalidResourceName",
        None,
        Some("resourceName"),
    )
    .await;
    let mut nowhere = plain_body("centralus", "x");
    nowhere["location"] = json!("");
    expect_error(
        &env,
        "nowhere",
        &nowhere,
        StatusCode::BAD_REQUEST,
        "LocationRequired",
        None,
        Some("location"),
    )
    .await;

    let lost = env
        .arm(
            Method::PUT,
            &env.cluster_path("nogroup", "c"),
            CLUSTERS_API,
            Some(&plain_body("centralus", "c")),
        )
        .await;
    assert_eq!(lost.status, StatusCode::NOT_FOUND);
    assert_eq!(lost.body["error"]["code"], "ResourceGroupNotFound");

    // Legacy AAD is accepted, and its secret is never answered.
    let mut legacy_create = plain_body("centralus", "legacy");
    legacy_create["properties"]["aadProfile"] = json!({"clientAppID": "client-app", "serverAppID": "server-app", "serverAppSecret": "hunter2-legacy", "tenantID": TENANT_ID});
    let created = env
        .put_cluster_and_wait("rg1", "legacy", &legacy_create)
        .await;
    assert!(!created.text.contains("hunter2-legacy"));
    let got = env
        .arm(
            Method::GET,
            &env.cluster_path("rg1", "legacy"),
            CLUSTERS_API,
            None,
        )
        .await;
    assert_eq!(
        got.body["properties"]["aadProfile"]["serverAppID"],
        "server-app"
    );
    assert!(!got.text.contains("hunter2-legacy"));
    let listed = env
        .arm(
            Method::GET,
            &format!(
                "/subscriptions/{}/providers/Microsoft.ContainerService/managedClusters",
                env.sub()
            ),
            CLUSTERS_API,
            None,
        )
        .await;
    assert!(!listed.text.contains("hunter2-legacy"));
    let state = env.manage(Method::GET, "state", None).await;
    assert!(!state.text.contains("hunter2-legacy"));

    // A legacy cluster can move to managed AAD (az aks update --enable-aad).
    let mut upgrade = got.body.clone();
    upgrade["properties"]["aadProfile"] =
        json!({"managed": true, "adminGroupObjectIDs": [ADMIN_GROUP_ID]});
    let upgraded = env
        .arm(
            Method::PUT,
            &env.cluster_path("rg1", "legacy"),
            CLUSTERS_API,
            Some(&upgrade),
        )
        .await;
    assert_eq!(upgraded.status, StatusCode::OK, "{}", upgraded.text);
    assert_eq!(
        upgraded.body["properties"]["aadProfile"]["tenantID"],
        TENANT_ID
    );
}
