//! Entra: discovery, JWKS, client-credential tokens and their errors.

use aks_emulator::{ADMIN_GROUP_ID, TENANT_ID};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{MANAGEMENT_SCOPE, start};

#[tokio::test]
async fn discovery_points_at_the_emulator() {
    let env = start();
    let answer = env
        .send(
            Method::GET,
            &format!("/{TENANT_ID}/v2.0/.well-known/openid-configuration"),
            &[],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(answer.header("x-ms-request-id").is_some());
    let base = env.base();
    assert_eq!(
        answer.body["token_endpoint"],
        format!("{base}/{TENANT_ID}/oauth2/v2.0/token")
    );
    assert_eq!(
        answer.body["jwks_uri"],
        format!("{base}/{TENANT_ID}/discovery/v2.0/keys")
    );
    assert!(answer.body["authorization_endpoint"].is_string());
    assert!(answer.body["device_authorization_endpoint"].is_string());
    let common = env
        .send(
            Method::GET,
            "/common/v2.0/.well-known/openid-configuration",
            &[],
            None,
        )
        .await;
    assert_eq!(common.status, StatusCode::OK);
    let keys = env
        .send(Method::GET, "/common/discovery/keys", &[], None)
        .await;
    assert_eq!(keys.body["keys"][0]["kty"], "RSA");
    assert_eq!(keys.body["keys"][0]["use"], "sig");
    assert_eq!(keys.body["keys"][0]["alg"], "RS256");
}

async fn decode_with_jwks(env: &crate::support::Env, token: &str) -> Value {
    let jwks = env
        .send(
            Method::GET,
            &format!("/{TENANT_ID}/discovery/v2.0/keys"),
            &[],
            None,
        )
        .await;
    let key = &jwks.body["keys"][0];
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().unwrap(),
        key["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn client_credentials_token_verifies_against_jwks() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let answer = env
        .token_for(&ready.client_id, &ready.client_secret, MANAGEMENT_SCOPE)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 3599);
    assert_eq!(answer.body["ext_expires_in"], 3599);
    let claims = decode_with_jwks(&env, answer.body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["aud"], "https://management.core.windows.net/");
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{TENANT_ID}/")
    );
    assert_eq!(claims["tid"], TENANT_ID);
    assert_eq!(claims["appid"], ready.client_id);
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["sub"], claims["oid"]);
    assert!(claims["iat"].is_u64() && claims["nbf"].is_u64() && claims["exp"].is_u64());
    assert!(
        claims["groups"]
            .as_array()
            .unwrap()
            .contains(&Value::from(ADMIN_GROUP_ID))
    );

    // The AKS server application scope gives the bare GUID audience.
    let aks = env
        .token_for(
            &ready.client_id,
            &ready.client_secret,
            "6dae42f8-4368-4678-94ff-3960e28e3630/.default",
        )
        .await;
    let claims = decode_with_jwks(&env, aks.body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["aud"], "6dae42f8-4368-4678-94ff-3960e28e3630");

    // The non-admin principal is in no group.
    let other = env
        .token_for(
            &ready.nonadmin_client_id,
            &ready.nonadmin_client_secret,
            MANAGEMENT_SCOPE,
        )
        .await;
    let claims = decode_with_jwks(&env, other.body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["appid"], ready.nonadmin_client_id);
    assert_eq!(claims["groups"], serde_json::json!([]));
}

#[tokio::test]
async fn http_basic_client_authentication_works() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let response = env
        .client
        .post(format!("{}/{TENANT_ID}/oauth2/v2.0/token", env.base()))
        .basic_auth(&ready.client_id, Some(&ready.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", MANAGEMENT_SCOPE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_errors_are_entra_shaped() {
    let env = start();
    let ready = env.emulator.ready().clone();

    let bad_secret = env
        .token_for(&ready.client_id, "wrong", MANAGEMENT_SCOPE)
        .await;
    assert_eq!(bad_secret.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad_secret.body["error"], "invalid_client");
    assert_eq!(bad_secret.body["error_codes"], serde_json::json!([7000215]));
    let description = bad_secret.body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with("AADSTS7000215: Invalid client secret provided."),
        "{description}"
    );
    assert!(description.contains(&format!("for a secret added to app '{}'.", ready.client_id)));
    assert!(description.contains("\r\nTrace ID: ") && description.contains("\r\nCorrelation ID: "));
    assert!(bad_secret.body["trace_id"].is_string());
    assert!(bad_secret.body["correlation_id"].is_string());
    assert!(bad_secret.body["timestamp"].is_string());

    let unknown = env
        .token_for(
            "12345678-0000-0000-0000-000000000000",
            "x",
            MANAGEMENT_SCOPE,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body["error"], "unauthorized_client");
    assert!(
        unknown.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700016: Application with identifier '12345678-0000-0000-0000-000000000000' was not found in the directory")
    );

    let grant = env
        .client
        .post(format!("{}/{TENANT_ID}/oauth2/v2.0/token", env.base()))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
            ),
            ("client_id", ready.client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), StatusCode::BAD_REQUEST);
    let body: Value = grant.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    assert_eq!(body["error_codes"], serde_json::json!([70003]));

    let tenant = env
        .client
        .post(format!("{}/not-a-tenant/oauth2/v2.0/token", env.base()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(tenant.status(), StatusCode::BAD_REQUEST);
    let body: Value = tenant.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS90002: Tenant 'not-a-tenant' not found.")
    );
}
