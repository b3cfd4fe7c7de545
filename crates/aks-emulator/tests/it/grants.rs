//! Entra grants for kubelogin's login modes: certificate and federated client assertions, password, refresh
//! token, device code and managed identity; their tokens against a cluster's Kubernetes endpoint.

use aks_emulator::{ADMIN_GROUP_ID, TENANT_ID};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kubernetes::{AKS_SCOPE, cluster, private_key_pem};
use crate::support::{Answer, Env, aad_create_body, start};

const AKS_CLIENT: &str = "80faf920-1908-4b52-b5ef-a8e7bedfc67a";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(crate) async fn post_form(env: &Env, path: &str, form: &[(&str, &str)]) -> Answer {
    let response = env
        .client
        .post(format!("{}{path}", env.base()))
        .form(form)
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

pub(crate) fn token_path() -> String {
    format!("/{TENANT_ID}/oauth2/v2.0/token")
}

pub(crate) fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn error_code(answer: &Answer) -> u64 {
    answer.body["error_codes"][0].as_u64().unwrap_or_default()
}

/// A certificate client assertion (docs/entra-protocols.md) signed with `key_pem`.
fn assertion(key_pem: &str, client_id: &str, audience: &str, lifetime: i64) -> String {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.x5t = Some("dGh1bWJwcmludA".into());
    jsonwebtoken::encode(
        &header,
        &json!({"aud": audience, "iss": client_id, "sub": client_id, "jti": "1", "nbf": now - 5, "exp": now + lifetime}),
        &jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn assertion_grant(env: &Env, client_id: &str, assertion: &str) -> Answer {
    post_form(
        env,
        &token_path(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("scope", AKS_SCOPE),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn certificate_assertions_authenticate_apps() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let pem = std::fs::read_to_string(&ready.cert_file).unwrap();
    assert!(pem.contains("-----BEGIN CERTIFICATE-----"));
    let key = private_key_pem(&pem);
    let audience = format!("{}{}", env.base(), token_path());

    let ok = assertion_grant(
        &env,
        &ready.cert_client_id,
        &assertion(&key, &ready.cert_client_id, &audience, 600),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let claims = claims_of(ok.body["access_token"].as_str().unwrap());
    assert_eq!(claims["appid"], ready.cert_client_id);
    assert_eq!(claims["appidacr"], "2");
    assert_eq!(claims["aud"], "6dae42f8-4368-4678-94ff-3960e28e3630");
    assert_eq!(claims["groups"], json!([ADMIN_GROUP_ID]));

    for (what, token, code) in [
        (
            "wrong audience",
            assertion(
                &key,
                &ready.cert_client_id,
                "https://login.microsoftonline.com/x/oauth2/v2.0/token",
                600,
            ),
            700023,
        ),
        (
            "expired",
            assertion(&key, &ready.cert_client_id, &audience, -60),
            700024,
        ),
        (
            "issuer is another app",
            assertion(&key, &ready.client_id, &audience, 600),
            700021,
        ),
    ] {
        let refused = assertion_grant(&env, &ready.cert_client_id, &token).await;
        assert_eq!(
            refused.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            refused.text
        );
        assert_eq!(refused.body["error"], "invalid_client", "{what}");
        assert_eq!(error_code(&refused), code, "{what}: {}", refused.text);
    }
    // The non-admin app has no certificate until one is registered.
    let other = assertion(&key, &ready.nonadmin_client_id, &audience, 600);
    let refused = assertion_grant(&env, &ready.nonadmin_client_id, &other).await;
    assert_eq!(error_code(&refused), 700027, "{}", refused.text);
    let certificate = &pem[..pem.find("-----BEGIN PRIVATE KEY-----").unwrap()];
    let registered = env
        .send(
            Method::POST,
            &format!("/_emulator/apps/{}/certificates", ready.nonadmin_client_id),
            &[],
            Some(&json!({"certificate": certificate})),
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.text);
    let accepted = assertion_grant(&env, &ready.nonadmin_client_id, &other).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    assert_eq!(
        claims_of(accepted.body["access_token"].as_str().unwrap())["groups"],
        json!([])
    );
    let bad = env
        .send(
            Method::POST,
            &format!("/_emulator/apps/{}/certificates", ready.client_id),
            &[],
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The request log never shows the assertion.
    let log = env.manage(Method::GET, "requests", None).await;
    assert!(
        !log.text.contains(&other),
        "the assertion leaked into the request log"
    );
}

#[tokio::test]
async fn federated_tokens_from_the_emulator_issuer_are_workload_identity_assertions() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let minted = env
        .manage(Method::POST, "federated-token", Some(&json!({})))
        .await;
    assert_eq!(minted.status, StatusCode::OK, "{}", minted.text);
    assert_eq!(minted.body["issuer"], ready.oidc_issuer);
    assert_eq!(minted.body["subject"], ready.federated_subject);
    let token = minted.body["token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["aud"], json!(["api://AzureADTokenExchange"]));
    assert_eq!(claims["kubernetes.io"]["namespace"], "default");

    let ok = assertion_grant(&env, &ready.client_id, token).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(
        claims_of(ok.body["access_token"].as_str().unwrap())["appid"],
        ready.client_id
    );

    let other_subject = env
        .manage(
            Method::POST,
            "federated-token",
            Some(&json!({"subject": "system:serviceaccount:x:y"})),
        )
        .await;
    let refused = assertion_grant(
        &env,
        &ready.client_id,
        other_subject.body["token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(error_code(&refused), 700213, "{}", refused.text);
    let other_audience = env
        .manage(
            Method::POST,
            "federated-token",
            Some(&json!({"audience": "api://other"})),
        )
        .await;
    let refused = assertion_grant(
        &env,
        &ready.client_id,
        other_audience.body["token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(error_code(&refused), 700212, "{}", refused.text);
    let expired = env
        .manage(
            Method::POST,
            "federated-token",
            Some(&json!({"expires_in": -60})),
        )
        .await;
    let refused = assertion_grant(
        &env,
        &ready.client_id,
        expired.body["token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(error_code(&refused), 700024, "{}", refused.text);
    let no_credential = assertion_grant(&env, &ready.nonadmin_client_id, token).await;
    assert_eq!(error_code(&no_credential), 700211, "{}", no_credential.text);

    // A credential added through the management API.
    let added = env
        .send(
            Method::POST,
            &format!(
                "/_emulator/apps/{}/federated-credentials",
                ready.nonadmin_client_id
            ),
            &[],
            Some(&json!({"issuer": ready.oidc_issuer, "subject": "system:serviceaccount:x:y"})),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let accepted = assertion_grant(
        &env,
        &ready.nonadmin_client_id,
        other_subject.body["token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);

    let discovery = env
        .send(
            Method::GET,
            "/oidc/.well-known/openid-configuration",
            &[],
            None,
        )
        .await;
    assert_eq!(discovery.body["issuer"], ready.oidc_issuer);
}

async fn password_grant(env: &Env, user: &str, password: &str, scope: &str) -> Answer {
    post_form(
        env,
        &token_path(),
        &[
            ("grant_type", "password"),
            ("client_id", AKS_CLIENT),
            ("username", user),
            ("password", password),
            ("scope", scope),
            ("client_info", "1"),
        ],
    )
    .await
}

#[tokio::test]
async fn password_and_refresh_token_grants_give_user_tokens() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let scope = format!("{AKS_SCOPE} openid profile offline_access");
    let ok = password_grant(&env, &ready.user_name, &ready.user_password, &scope).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["scope"], AKS_SCOPE);
    assert!(ok.body["id_token"].is_string() && ok.body["client_info"].is_string());
    let claims = claims_of(ok.body["access_token"].as_str().unwrap());
    assert_eq!(claims["upn"], "admin@emulator.local");
    assert_eq!(claims["scp"], "user_impersonation");
    assert_eq!(claims["appid"], AKS_CLIENT);
    assert_eq!(claims["groups"], json!([ADMIN_GROUP_ID]));
    assert!(claims["oid"].is_string() && claims["name"].is_string());

    let wrong = password_grant(&env, &ready.user_name, "wrong", &scope).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.body["error"], "invalid_grant");
    assert_eq!(error_code(&wrong), 50126);
    let nobody = password_grant(&env, "nobody@emulator.local", "x", &scope).await;
    assert_eq!(error_code(&nobody), 50034);

    let refresh_token = ok.body["refresh_token"].as_str().unwrap();
    let refreshed = post_form(
        &env,
        &token_path(),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", AKS_CLIENT),
            ("refresh_token", refresh_token),
            (
                "scope",
                "https://management.core.windows.net//.default offline_access",
            ),
        ],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    let claims = claims_of(refreshed.body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "https://management.core.windows.net/");
    assert_eq!(claims["upn"], "admin@emulator.local");
    assert!(refreshed.body["refresh_token"].is_string());
    // Another client cannot redeem it; a refresh token is no access token.
    let stolen = post_form(
        &env,
        &token_path(),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
            ("refresh_token", refresh_token),
        ],
    )
    .await;
    assert_eq!(stolen.body["error"], "invalid_grant");
    let endpoint = cluster(&env, "users", &aad_create_body("centralus", "users")).await;
    let (status, _) = endpoint
        .get("/version", Some(refresh_token), "application/json")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let user_token = ok.body["access_token"].as_str().unwrap();
    let (status, nodes) = endpoint
        .get("/api/v1/nodes", Some(user_token), "application/json")
        .await;
    assert_eq!(status, StatusCode::OK, "{nodes}");
    let review = endpoint
        .client()
        .post(format!(
            "{}/apis/authentication.k8s.io/v1/selfsubjectreviews",
            endpoint.server
        ))
        .bearer_auth(user_token)
        .send()
        .await
        .unwrap();
    let review: Value = review.json().await.unwrap();
    assert_eq!(
        review["status"]["userInfo"]["username"],
        "admin@emulator.local"
    );
}

async fn start_device_code(env: &Env) -> Answer {
    post_form(
        env,
        &format!("/{TENANT_ID}/oauth2/v2.0/devicecode"),
        &[
            ("client_id", AKS_CLIENT),
            ("scope", &format!("{AKS_SCOPE} offline_access openid")),
        ],
    )
    .await
}

async fn poll(env: &Env, device_code: &str) -> Answer {
    post_form(
        env,
        &token_path(),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", AKS_CLIENT),
            ("device_code", device_code),
        ],
    )
    .await
}

#[tokio::test]
async fn device_code_sign_ins_wait_for_approval() {
    let env = start();
    let started = start_device_code(&env).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    for field in ["device_code", "user_code", "verification_uri", "message"] {
        assert!(started.body[field].is_string(), "{field}");
    }
    assert!(started.body["expires_in"].is_u64() && started.body["interval"].is_u64());
    let user_code = started.body["user_code"].as_str().unwrap();
    assert!(
        started.body["message"]
            .as_str()
            .unwrap()
            .contains(user_code)
    );
    let device_code = started.body["device_code"].as_str().unwrap();

    let pending = poll(&env, device_code).await;
    assert_eq!(pending.status, StatusCode::BAD_REQUEST);
    assert_eq!(pending.body["error"], "authorization_pending");
    assert_eq!(error_code(&pending), 70016);
    let listed = env.manage(Method::GET, "devicecode", None).await;
    assert_eq!(listed.body[0]["user_code"], user_code);
    assert!(!listed.text.contains(device_code));

    let approved = env
        .manage(
            Method::POST,
            "devicecode/approve",
            Some(&json!({"user_code": user_code, "user": "admin@emulator.local"})),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    let tokens = poll(&env, device_code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(
        claims_of(tokens.body["access_token"].as_str().unwrap())["upn"],
        "admin@emulator.local"
    );
    assert!(tokens.body["refresh_token"].is_string());
    let again = poll(&env, device_code).await;
    assert_eq!(again.body["error"], "invalid_grant");

    let declined = start_device_code(&env).await;
    let decline = env
        .manage(
            Method::POST,
            "devicecode/decline",
            Some(&json!({"user_code": declined.body["user_code"]})),
        )
        .await;
    assert_eq!(decline.status, StatusCode::OK);
    let refused = poll(&env, declined.body["device_code"].as_str().unwrap()).await;
    assert_eq!(refused.body["error"], "authorization_declined");
    let unknown = env
        .manage(
            Method::POST,
            "devicecode/approve",
            Some(&json!({"user_code": "NOPE"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn managed_identity_endpoints_answer_app_service_and_imds_shapes() {
    let env = start();
    let ready = env.emulator.ready().clone();
    assert_eq!(ready.identity_endpoint, format!("{}/msi/token", env.base()));
    let query = "?api-version=2019-08-01&resource=6dae42f8-4368-4678-94ff-3960e28e3630";
    let ok = env
        .send(
            Method::GET,
            &format!("/msi/token{query}"),
            &[("X-IDENTITY-HEADER", &ready.identity_header)],
            None,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["client_id"], ready.msi_client_id);
    assert_eq!(ok.body["resource"], "6dae42f8-4368-4678-94ff-3960e28e3630");
    assert!(
        ok.body["expires_on"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    let token = ok.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims_of(&token)["groups"], json!([ADMIN_GROUP_ID]));

    let missing = env
        .send(Method::GET, &format!("/msi/token{query}"), &[], None)
        .await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    let wrong = env
        .send(
            Method::GET,
            &format!("/msi/token{query}"),
            &[("X-IDENTITY-HEADER", "nope")],
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unknown = env
        .send(
            Method::GET,
            &format!("/msi/token{query}&client_id=00000000-0000-0000-0000-000000000001"),
            &[("X-IDENTITY-HEADER", &ready.identity_header)],
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);

    let imds = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/";
    let no_header = env.send(Method::GET, imds, &[], None).await;
    assert_eq!(no_header.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_header.body["error"], "invalid_request");
    let ok = env
        .send(Method::GET, imds, &[("Metadata", "true")], None)
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["resource"], "https://management.azure.com/");
    assert_eq!(ok.body["expires_in"], "3599");
    // The IMDS route does not shadow ARM's cloud metadata.
    let endpoints = env
        .send(
            Method::GET,
            "/metadata/endpoints?api-version=2022-09-01",
            &[],
            None,
        )
        .await;
    assert_eq!(endpoints.status, StatusCode::OK);

    let endpoint = cluster(&env, "msi", &aad_create_body("centralus", "msi")).await;
    let (status, _) = endpoint
        .get("/api/v1/nodes", Some(&token), "application/json")
        .await;
    assert_eq!(status, StatusCode::OK);
}
