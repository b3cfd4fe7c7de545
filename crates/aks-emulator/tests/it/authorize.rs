//! Interactive sign-in: `GET /{tenant}/oauth2/v2.0/authorize` with PKCE on a loopback redirect, the
//! `authorization_code` grant, their OAuth/Entra errors, and the management API's approve/decline controls.

use std::collections::HashMap;

use aks_emulator::{ADMIN_GROUP_ID, TENANT_ID};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::grants::{claims_of, post_form, token_path};
use crate::support::{Answer, Env, start};

pub(crate) const AKS_CLIENT: &str = "80faf920-1908-4b52-b5ef-a8e7bedfc67a";
pub(crate) const AZURE_CLI_CLIENT: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const SERVER_ID: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";
pub(crate) const REDIRECT: &str = "http://localhost:43111";

/// A client that trusts only the emulator CA and does not follow redirects (the loopback target is not there).
pub(crate) fn no_redirects(env: &Env) -> reqwest::Client {
    let ca = std::fs::read(&env.emulator.ready().ca_cert_file).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

pub(crate) struct Pkce {
    pub(crate) verifier: String,
    pub(crate) challenge: String,
}

pub(crate) fn pkce() -> Pkce {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

/// The authorize parameters kubelogin sends, with `overrides` replacing (or, with "", removing) some.
pub(crate) fn parameters<'a>(
    pkce: &'a Pkce,
    overrides: &[(&'a str, &'a str)],
) -> Vec<(&'a str, String)> {
    let mut parameters: Vec<(&str, String)> = vec![
        ("client_id", AKS_CLIENT.into()),
        ("response_type", "code".into()),
        ("redirect_uri", REDIRECT.into()),
        ("response_mode", "query".into()),
        (
            "scope",
            format!("{SERVER_ID}/.default offline_access openid profile"),
        ),
        ("state", "st-1".into()),
        ("code_challenge", pkce.challenge.clone()),
        ("code_challenge_method", "S256".into()),
        ("prompt", "select_account".into()),
    ];
    for (name, value) in overrides {
        parameters.retain(|(key, _)| key != name);
        if !value.is_empty() {
            parameters.push((name, (*value).to_string()));
        }
    }
    parameters
}

/// Authorize parameters replaced (or removed, with "") in one case.
type Overrides<'a> = &'a [(&'a str, &'a str)];

pub(crate) struct Authorized {
    pub(crate) status: StatusCode,
    /// The `Location` query, when it is a redirect.
    pub(crate) query: HashMap<String, String>,
    pub(crate) location: String,
    pub(crate) body: Value,
}

pub(crate) async fn authorize_in(
    env: &Env,
    tenant: &str,
    parameters: &[(&str, String)],
) -> Authorized {
    let response = no_redirects(env)
        .get(format!("{}/{tenant}/oauth2/v2.0/authorize", env.base()))
        .query(parameters)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let query = url::Url::parse(&location)
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    Authorized {
        status,
        query,
        location,
        body,
    }
}

async fn authorize(env: &Env, parameters: &[(&str, String)]) -> Authorized {
    authorize_in(env, TENANT_ID, parameters).await
}

async fn redeem(env: &Env, form: &[(&str, &str)]) -> Answer {
    post_form(env, &token_path(), form).await
}

fn refused(answer: &Answer, error: &str, code: u64) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    assert_eq!(answer.body["error"], error, "{}", answer.text);
    assert_eq!(answer.body["error_codes"][0], code, "{}", answer.text);
    assert!(
        answer.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}: ")),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn a_code_is_redeemed_once_with_its_client_redirect_and_pkce_verifier() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let pkce = pkce();
    let signed_in = authorize(
        &env,
        &parameters(&pkce, &[("login_hint", &ready.user_name)]),
    )
    .await;
    assert_eq!(signed_in.status, StatusCode::FOUND, "{:?}", signed_in.body);
    assert!(
        signed_in
            .location
            .starts_with(&format!("{REDIRECT}/?code=")),
        "{}",
        signed_in.location
    );
    assert_eq!(signed_in.query["state"], "st-1");
    assert!(signed_in.query.contains_key("session_state"));
    let code = signed_in.query["code"].as_str();
    let verifier = pkce.verifier.as_str();
    let scope = format!("{SERVER_ID}/.default offline_access openid profile");
    let form = |code, verifier, redirect, client| {
        vec![
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
            ("scope", scope.as_str()),
        ]
    };

    // Wrong verifier, another redirect URI, another client: refused, and the code stays redeemable.
    let other = "a".repeat(43);
    refused(
        &redeem(&env, &form(code, &other, REDIRECT, AKS_CLIENT)).await,
        "invalid_grant",
        501481,
    );
    let mut without_verifier = form(code, verifier, REDIRECT, AKS_CLIENT);
    without_verifier.retain(|(key, _)| *key != "code_verifier");
    refused(
        &redeem(&env, &without_verifier).await,
        "invalid_grant",
        501481,
    );
    let mismatch = redeem(
        &env,
        &form(code, verifier, "http://localhost:43112", AKS_CLIENT),
    )
    .await;
    refused(&mismatch, "invalid_grant", 500112);
    assert!(
        mismatch.body["error_description"]
            .as_str()
            .unwrap()
            .contains(
                "'http://localhost:43112' does not match the reply address 'http://localhost:43111'"
            ),
        "{}",
        mismatch.text
    );
    refused(
        &redeem(&env, &form(code, verifier, REDIRECT, AZURE_CLI_CLIENT)).await,
        "invalid_grant",
        70000,
    );
    refused(
        &redeem(
            &env,
            &form("1.AQnot-a-code", verifier, REDIRECT, AKS_CLIENT),
        )
        .await,
        "invalid_grant",
        70000,
    );

    // The right verifier: the user's tokens, as the other user grants give them.
    let tokens = redeem(&env, &form(code, verifier, REDIRECT, AKS_CLIENT)).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    for field in ["access_token", "refresh_token", "id_token", "client_info"] {
        assert!(tokens.body[field].is_string(), "{field}: {}", tokens.text);
    }
    let access = claims_of(tokens.body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], SERVER_ID);
    assert_eq!(access["upn"], ready.user_name.as_str());
    assert_eq!(access["appid"], AKS_CLIENT);
    assert_eq!(access["idtyp"], "user");
    assert!(
        access["groups"]
            .as_array()
            .unwrap()
            .contains(&json!(ADMIN_GROUP_ID)),
        "{access}"
    );
    let id = claims_of(tokens.body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], AKS_CLIENT);
    assert_eq!(id["preferred_username"], ready.user_name.as_str());

    // Single use.
    refused(
        &redeem(&env, &form(code, verifier, REDIRECT, AKS_CLIENT)).await,
        "invalid_grant",
        54005,
    );
    // The refresh token works like any other user refresh token.
    let refreshed = redeem(
        &env,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", AKS_CLIENT),
            (
                "refresh_token",
                tokens.body["refresh_token"].as_str().unwrap(),
            ),
            ("scope", &format!("{SERVER_ID}/.default")),
        ],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    // The v1 endpoint does not take codes.
    let v1 = env
        .client
        .post(format!("{}/{TENANT_ID}/oauth2/token", env.base()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", AKS_CLIENT),
            ("code", code),
            ("resource", SERVER_ID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(v1.status(), StatusCode::BAD_REQUEST);

    // Neither the code nor the verifier reaches the request log.
    let log = env.manage(Method::GET, "requests", None).await.text;
    assert!(log.contains("authorization_code"), "{log}");
    assert!(!log.contains(code) && !log.contains(verifier), "{log}");
}

#[tokio::test]
async fn bad_authorization_requests_are_refused_without_or_with_a_redirect() {
    let env = start();
    let pkce = pkce();
    // Never redirected: unknown tenant, unknown client, missing or non-loopback redirect URI.
    let unknown_tenant = authorize_in(&env, "contoso.example", &parameters(&pkce, &[])).await;
    assert_eq!(unknown_tenant.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown_tenant.body["error_codes"][0], 90002);
    let unknown_client = authorize(
        &env,
        &parameters(
            &pkce,
            &[("client_id", "11111111-2222-3333-4444-555555555555")],
        ),
    )
    .await;
    assert_eq!(unknown_client.status, StatusCode::BAD_REQUEST);
    assert!(unknown_client.location.is_empty());
    assert_eq!(unknown_client.body["error"], "unauthorized_client");
    assert_eq!(unknown_client.body["error_codes"][0], 700016);
    for redirect in [
        "https://evil.example/cb",
        "https://localhost:43111",
        "http://10.1.2.3:80/",
    ] {
        let refused = authorize(&env, &parameters(&pkce, &[("redirect_uri", redirect)])).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{redirect}");
        assert!(refused.location.is_empty(), "{redirect}");
        assert_eq!(refused.body["error"], "invalid_request");
        assert_eq!(refused.body["error_codes"][0], 50011, "{redirect}");
    }
    let no_redirect = authorize(&env, &parameters(&pkce, &[("redirect_uri", "")])).await;
    assert_eq!(no_redirect.body["error_codes"][0], 900144);
    let fragment = authorize(&env, &parameters(&pkce, &[("response_mode", "fragment")])).await;
    assert_eq!(fragment.status, StatusCode::BAD_REQUEST);
    assert!(fragment.location.is_empty());

    // Redirected with an OAuth error and the state.
    let cases: [(Overrides, &str, &str); 6] = [
        (
            &[("code_challenge", "")],
            "invalid_request",
            "AADSTS900144: ",
        ),
        (
            &[("code_challenge_method", "plain")],
            "invalid_request",
            "The local cloud emulator requires code_challenge_method=S256",
        ),
        (
            &[("code_challenge", "short")],
            "invalid_request",
            "AADSTS501491: ",
        ),
        (&[("scope", "")], "invalid_request", "AADSTS900144: "),
        (
            &[("response_type", "token")],
            "unsupported_response_type",
            "AADSTS700054: ",
        ),
        (
            &[("login_hint", "nobody@emulator.local")],
            "access_denied",
            "AADSTS50034: The user account nobody@emulator.local does not exist",
        ),
    ];
    for (overrides, error, description) in cases {
        let answer = authorize(&env, &parameters(&pkce, overrides)).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{overrides:?}");
        assert!(answer.location.starts_with(REDIRECT), "{}", answer.location);
        assert_eq!(answer.query["error"], error, "{overrides:?}");
        assert!(
            answer.query["error_description"].starts_with(description),
            "{overrides:?}: {}",
            answer.query["error_description"]
        );
        assert_eq!(answer.query["state"], "st-1");
        assert!(!answer.query.contains_key("code"));
    }
}

#[tokio::test]
async fn the_management_api_declines_or_approves_the_next_sign_in() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let pkce = pkce();
    let declined = env.manage(Method::POST, "authorize/decline", None).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.text);
    let approved = env
        .manage(
            Method::POST,
            "authorize/approve",
            Some(&json!({"user": ready.user_name})),
        )
        .await;
    assert_eq!(approved.body["user"], ready.user_name.as_str());
    let unknown = env
        .manage(
            Method::POST,
            "authorize/approve",
            Some(&json!({"user": "nobody@emulator.local"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);

    // Oldest first: the decline, then the approval (whatever the hint), then the default sign-in.
    let first = authorize(&env, &parameters(&pkce, &[])).await;
    assert_eq!(first.query["error"], "access_denied");
    assert_eq!(first.query["error_subcode"], "cancel");
    assert!(
        first.query["error_description"].starts_with("AADSTS65004: User declined"),
        "{}",
        first.query["error_description"]
    );
    assert_eq!(first.query["state"], "st-1");
    let second = authorize(
        &env,
        &parameters(&pkce, &[("login_hint", "nobody@emulator.local")]),
    )
    .await;
    assert!(second.query.contains_key("code"), "{}", second.location);
    let third = authorize(&env, &parameters(&pkce, &[])).await;
    let tokens = redeem(
        &env,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", AKS_CLIENT),
            ("code", &third.query["code"]),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &pkce.verifier),
        ],
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    // Without a scope in the redemption, the one asked at /authorize.
    let access = claims_of(tokens.body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], SERVER_ID);
    assert_eq!(access["upn"], ready.user_name.as_str());
}

/// The hidden inputs of a `form_post` page and its form's action, character references decoded.
fn posted_form(page: &str) -> (String, HashMap<String, String>) {
    let decode = |text: &str| {
        text.replace("&#13;", "\r")
            .replace("&#10;", "\n")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let between = |text: &str, start: &str| {
        let rest = &text[text.find(start).unwrap() + start.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    };
    let action = decode(&between(
        page,
        "<form method=\"POST\" name=\"hiddenform\" action=\"",
    ));
    let inputs = page
        .split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            (
                decode(&between(input, "name=\"")),
                decode(&between(input, "value=\"")),
            )
        })
        .collect();
    (action, inputs)
}

#[tokio::test]
async fn form_post_answers_with_a_page_that_posts_the_code_or_the_refusal_to_the_redirect_uri() {
    let env = start();
    let pkce = pkce();
    let form_post = parameters(&pkce, &[("response_mode", "form_post")]);
    let url = format!("{}/{TENANT_ID}/oauth2/v2.0/authorize", env.base());
    let response = no_redirects(&env)
        .get(&url)
        .query(&form_post)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none());
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("document.forms[0].submit()"), "{page}");
    let (action, inputs) = posted_form(&page);
    assert_eq!(action, REDIRECT);
    assert_eq!(inputs["state"], "st-1");
    assert!(inputs.contains_key("session_state"));
    let scope = format!("{SERVER_ID}/.default offline_access openid profile");
    let answer = redeem(
        &env,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", AKS_CLIENT),
            ("code", &inputs["code"]),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &pkce.verifier),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);

    // A refusal goes the same way, its multi-line description kept whole.
    env.manage(Method::POST, "authorize/decline", None).await;
    let page = no_redirects(&env)
        .get(&url)
        .query(&form_post)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, inputs) = posted_form(&page);
    assert_eq!(inputs["error"], "access_denied");
    assert_eq!(inputs["state"], "st-1");
    let description = &inputs["error_description"];
    assert!(description.starts_with("AADSTS65004: "), "{description:?}");
    assert!(description.contains("\r\nTrace ID: "), "{description:?}");
    assert!(
        !page.contains("\r\nTrace ID"),
        "line breaks are character references"
    );
}
