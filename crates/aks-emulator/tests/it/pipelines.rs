//! The Azure Pipelines OIDC endpoint (`pipelines.rs`): a job from the management API, the wire protocol of
//! `AzurePipelinesCredential` (POST, `api-version`, `serviceConnectionId`, bearer `SYSTEM_ACCESSTOKEN`,
//! `{"oidcToken"}`), the issuer's discovery documents, and the ID token as a federated assertion at Entra.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kubernetes::AKS_SCOPE;
use crate::support::{Answer, Env, start};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn job(env: &Env, body: Value) -> Value {
    let answer = env
        .manage(Method::POST, "pipelines/jobs", Some(&body))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// POST the job's OIDC request URI as azure_identity does.
async fn oidc(env: &Env, uri: &str, query: &str, bearer: Option<&str>) -> Answer {
    let mut request = env
        .client
        .post(format!("{uri}{query}"))
        .header("X-TFS-FedAuthRedirect", "Suppress")
        .header("Content-Length", "0");
    if let Some(bearer) = bearer {
        request = request.header("Authorization", format!("Bearer {bearer}"));
    }
    let response = request.send().await.unwrap();
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

async fn assertion_grant(env: &Env, client_id: &str, assertion: &str) -> Answer {
    let response = env
        .client
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            env.base(),
            env.emulator.ready().tenant_id
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("scope", AKS_SCOPE),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
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

#[tokio::test]
async fn a_job_gets_an_id_token_that_entra_accepts_for_the_service_connection() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let job = job(&env, json!({})).await;
    assert_eq!(job["client_id"], ready.client_id);
    assert_eq!(job["tenant_id"], ready.tenant_id);
    let issuer = format!(
        "{}/pipelines/3e3e3e3e-1111-2222-3333-999999999999",
        env.base()
    );
    assert_eq!(job["issuer"], issuer);
    let uri = job["oidc_request_uri"].as_str().unwrap();
    assert!(
        uri.starts_with(&format!(
            "{}/pipelines/emulator/4f4f4f4f-1111-2222-3333-aaaaaaaaaaaa/_apis/distributedtask/hubs/build/plans/",
            env.base()
        )) && uri.ends_with("/oidctoken"),
        "{uri}"
    );
    let access_token = job["system_access_token"].as_str().unwrap();
    let connection = job["service_connection_id"].as_str().unwrap();
    let query = format!("?api-version=7.1&serviceConnectionId={connection}");

    let answer = oidc(&env, uri, &query, Some(access_token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let keys: Vec<&String> = answer.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["oidcToken"]);
    let id_token = answer.body["oidcToken"].as_str().unwrap();
    let claims = claims_of(id_token);
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["sub"], "sc://emulator/aksctl/aks-service-connection");
    assert_eq!(claims["aud"], "api://AzureADTokenExchange");
    assert!(claims["exp"].as_i64().unwrap() > claims["nbf"].as_i64().unwrap());

    // Entra takes it as a federated assertion of the connection's app.
    let granted = assertion_grant(&env, &ready.client_id, id_token).await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
    let access = claims_of(granted.body["access_token"].as_str().unwrap());
    assert_eq!(access["appid"], ready.client_id);
    assert_eq!(access["appidacr"], "2");
    // ...and only for that app.
    let other = assertion_grant(&env, &ready.nonadmin_client_id, id_token).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "{}", other.text);
    assert_eq!(other.body["error_codes"][0], 700211, "{}", other.text);

    // The issuer's discovery documents point at the emulator's signing key.
    let discovery = env
        .send(
            Method::GET,
            "/pipelines/3e3e3e3e-1111-2222-3333-999999999999/.well-known/openid-configuration",
            &[],
            None,
        )
        .await;
    assert_eq!(discovery.body["issuer"], issuer);
    let jwks_path = discovery.body["jwks_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches(&env.base())
        .to_owned();
    let jwks = env.send(Method::GET, &jwks_path, &[], None).await;
    let kid = jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap();
    assert_eq!(jwks.body["keys"][0]["kid"], kid.as_str());
}

#[tokio::test]
async fn the_oidc_endpoint_refuses_other_jobs_tokens_connections_and_bad_requests() {
    let env = start();
    let first = job(&env, json!({})).await;
    let second = job(
        &env,
        json!({"service_connection_id": "6b6b6b6b-0000-0000-0000-000000000001", "service_connection_name": "other"}),
    )
    .await;
    let uri = first["oidc_request_uri"].as_str().unwrap();
    let token = first["system_access_token"].as_str().unwrap();
    let query = "?api-version=7.1&serviceConnectionId=5a5a5a5a-1111-2222-3333-bbbbbbbbbbbb";

    // No bearer, another job's bearer, an expired job: 401 TF400813.
    let expired = job(&env, json!({"expires_in": -5})).await;
    for bearer in [
        None,
        Some(second["system_access_token"].as_str().unwrap()),
        Some("not-a-jwt"),
    ] {
        let answer = oidc(&env, uri, query, bearer).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
        assert!(
            answer.body["message"]
                .as_str()
                .unwrap()
                .starts_with("TF400813")
        );
    }
    let answer = oidc(
        &env,
        expired["oidc_request_uri"].as_str().unwrap(),
        query,
        expired["system_access_token"].as_str(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);

    // The second job's connection is not the first job's.
    let answer = oidc(
        &env,
        uri,
        "?api-version=7.1&serviceConnectionId=6b6b6b6b-0000-0000-0000-000000000001",
        Some(token),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    // Missing api-version or serviceConnectionId.
    let answer = oidc(
        &env,
        uri,
        "?serviceConnectionId=5a5a5a5a-1111-2222-3333-bbbbbbbbbbbb",
        Some(token),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    let answer = oidc(&env, uri, "?api-version=7.1", Some(token)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    // GET is not the protocol.
    let path = uri.trim_start_matches(&env.base()).to_owned();
    let answer = env
        .send(Method::GET, &format!("{path}{query}"), &[], None)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    assert_eq!(answer.body["error"]["code"], "EmulatorUnsupportedRoute");

    // A job for an unknown app is refused by the management API.
    let answer = env
        .manage(
            Method::POST,
            "pipelines/jobs",
            Some(&json!({"client_id": "99999999-0000-0000-0000-000000000000"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
}
