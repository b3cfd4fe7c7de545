//! The Conditional Access and token-lifetime switches (`PUT /_emulator/conditional-access`), their exact Entra
//! error bodies, and ARM's claims challenge round trip.

use aks_emulator::{DEV_USER_NAME, TENANT_ID};
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::authorize::AZURE_CLI_CLIENT;
use crate::directory::{
    access_claims, approve, device_code_at, device_poll, interactive_sign_in, password_grant,
    refresh_grant,
};
use crate::support::{Answer, Env, start};

const CHALLENGE: &str = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;

async fn switches(env: &Env, body: Value) -> Answer {
    env.manage(Method::PUT, "conditional-access", Some(&body))
        .await
}

fn is_guid(text: &str) -> bool {
    uuid::Uuid::try_parse(text).is_ok() && text.len() == 36
}

/// Entra's error body: the fields, and `error_description` = `AADSTS<code>: <message>` + trace lines.
fn assert_entra_error(env: &Env, answer: &Answer, error: &str, code: u64, message: &str) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    let body = &answer.body;
    assert_eq!(body["error"], error, "{}", answer.text);
    assert_eq!(body["error_codes"], json!([code]));
    let trace = body["trace_id"].as_str().unwrap();
    let correlation = body["correlation_id"].as_str().unwrap();
    let timestamp = body["timestamp"].as_str().unwrap();
    assert!(is_guid(trace) && is_guid(correlation), "{}", answer.text);
    assert!(
        time::PrimitiveDateTime::parse(
            timestamp.trim_end_matches('Z'),
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")
        )
        .is_ok()
            && timestamp.ends_with('Z'),
        "{timestamp}"
    );
    assert_eq!(
        body["error_description"],
        format!(
            "AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"
        )
    );
    assert_eq!(
        body["error_uri"],
        format!("{}/error?code={code}", env.base())
    );
}

/// The message of an Entra error body (the AADSTS text without the code and trace lines).
fn message_of(answer: &Answer) -> String {
    let description = answer.body["error_description"].as_str().unwrap();
    let first = description.split("\r\n").next().unwrap();
    first.split_once(": ").unwrap().1.to_string()
}

async fn arm_as(env: &Env, token: &str) -> Answer {
    env.send(
        Method::GET,
        "/subscriptions?api-version=2022-12-01",
        &[("authorization", &format!("Bearer {token}"))],
        None,
    )
    .await
}

#[tokio::test]
async fn device_code_blocked_by_policy_refuses_after_approval_until_turned_off() {
    let env = start();
    let set = switches(&env, json!({"device_code_blocked": "all"})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["device_code_blocked"], "all");
    let read = env.manage(Method::GET, "conditional-access", None).await;
    assert_eq!(read.body, set.body);

    let started = device_code_at(&env, "organizations", &[]).await;
    let device_code = started.body["device_code"].as_str().unwrap();
    let pending = device_poll(&env, "organizations", device_code).await;
    assert_entra_error(
        &env,
        &pending,
        "authorization_pending",
        70016,
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    );
    approve(
        &env,
        started.body["user_code"].as_str().unwrap(),
        DEV_USER_NAME,
    )
    .await;
    let blocked = device_poll(&env, "organizations", device_code).await;
    assert_entra_error(
        &env,
        &blocked,
        "invalid_grant",
        53003,
        "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
    );
    assert!(blocked.body.get("access_token").is_none());
    // The error page the body links to.
    let page = env.send(Method::GET, "/error?code=53003", &[], None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("AADSTS53003"), "{}", page.text);

    // Per user: only the named user is blocked.
    switches(
        &env,
        json!({"device_code_blocked": ["admin@emulator.local"]}),
    )
    .await;
    let dev = device_code_at(&env, "organizations", &[]).await;
    approve(&env, dev.body["user_code"].as_str().unwrap(), DEV_USER_NAME).await;
    access_claims(
        &device_poll(
            &env,
            "organizations",
            dev.body["device_code"].as_str().unwrap(),
        )
        .await,
    );

    let off = switches(&env, json!({})).await;
    assert_eq!(off.body["device_code_blocked"], Value::Null);
    let after = device_code_at(&env, "organizations", &[]).await;
    approve(
        &env,
        after.body["user_code"].as_str().unwrap(),
        "admin@emulator.local",
    )
    .await;
    access_claims(
        &device_poll(
            &env,
            "organizations",
            after.body["device_code"].as_str().unwrap(),
        )
        .await,
    );

    for (body, expected) in [(
        json!({"mfa_required": ["nobody@emulator.local"]}),
        "no user 'nobody@emulator.local' in the directory",
    )] {
        let refused = switches(&env, body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(refused.body["error"]["message"], expected);
    }
    let unknown = switches(&env, json!({"mfa": "all"})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `mfa`"),
        "{}",
        unknown.text
    );
}

#[tokio::test]
async fn mfa_required_challenges_silent_grants_and_arm_until_an_interactive_sign_in_with_the_claims()
 {
    let env = start();
    let ready = env.emulator.ready().clone();
    let before = password_grant(&env, TENANT_ID, DEV_USER_NAME, &ready.dev_user_password).await;
    let old_token = before.body["access_token"].as_str().unwrap().to_string();
    let old_refresh = before.body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(arm_as(&env, &old_token).await.status, StatusCode::OK);

    switches(&env, json!({"mfa_required": [DEV_USER_NAME]})).await;
    let message = "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access 'https://management.core.windows.net/'.";
    for silent in [
        refresh_grant(&env, TENANT_ID, &old_refresh).await,
        password_grant(&env, TENANT_ID, DEV_USER_NAME, &ready.dev_user_password).await,
    ] {
        assert_entra_error(&env, &silent, "invalid_grant", 50076, message);
        assert_eq!(silent.body["suberror"], "basic_action");
        assert_eq!(silent.body["claims"], CHALLENGE);
    }
    // Other users are not concerned.
    access_claims(&password_grant(&env, TENANT_ID, &ready.user_name, &ready.user_password).await);

    // ARM challenges the token without the authentication context.
    let challenged = arm_as(&env, &old_token).await;
    assert_eq!(
        challenged.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        challenged.text
    );
    let header = challenged.header("www-authenticate").unwrap().to_string();
    let claims = header
        .split("claims=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert_eq!(
        header,
        format!(
            "Bearer realm=\"\", authorization_uri=\"{}/{TENANT_ID}/oauth2/authorize\", error=\"insufficient_claims\", claims=\"{claims}\"",
            env.base()
        )
    );
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(claims)
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), CHALLENGE);

    // An interactive sign-in that carries the challenge issues tokens that satisfy it.
    let redeemed = interactive_sign_in(
        &env,
        &[
            ("client_id", AZURE_CLI_CLIENT),
            ("login_hint", DEV_USER_NAME),
            ("claims", CHALLENGE),
        ],
    )
    .await;
    let claims = access_claims(&redeemed);
    assert_eq!(claims["acrs"], json!(["c1"]));
    assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
    let new_token = redeemed.body["access_token"].as_str().unwrap();
    assert_eq!(arm_as(&env, new_token).await.status, StatusCode::OK);
    // Its refresh token carries the MFA: silent renewal works again, with the claim.
    let renewed = refresh_grant(
        &env,
        TENANT_ID,
        redeemed.body["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(access_claims(&renewed)["acrs"], json!(["c1"]));

    // A device-code sign-in that asks for the claims satisfies them too.
    let started = device_code_at(&env, "organizations", &[("claims", CHALLENGE)]).await;
    approve(
        &env,
        started.body["user_code"].as_str().unwrap(),
        DEV_USER_NAME,
    )
    .await;
    let polled = device_poll(
        &env,
        "organizations",
        started.body["device_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(access_claims(&polled)["acrs"], json!(["c1"]));

    // Off again: the old refresh token and access token work.
    switches(&env, json!({"mfa_required": null})).await;
    access_claims(&refresh_grant(&env, TENANT_ID, &old_refresh).await);
    assert_eq!(arm_as(&env, &old_token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_tokens_expire_or_are_revoked_until_a_new_sign_in_or_the_switch_is_off() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let first = password_grant(&env, TENANT_ID, DEV_USER_NAME, &ready.dev_user_password).await;
    let old_refresh = first.body["refresh_token"].as_str().unwrap().to_string();

    switches(&env, json!({"refresh_tokens_expired": "all"})).await;
    let expired = refresh_grant(&env, TENANT_ID, &old_refresh).await;
    let message = message_of(&expired);
    assert_entra_error(&env, &expired, "invalid_grant", 700082, &message);
    let issued = message
        .strip_prefix("The refresh token has expired due to inactivity. The token was issued on ")
        .and_then(|rest| rest.strip_suffix(" and was inactive for 90.00:00:00."))
        .unwrap_or_else(|| panic!("{message}"));
    assert!(
        time::OffsetDateTime::parse(issued, &time::format_description::well_known::Rfc3339).is_ok(),
        "{issued}"
    );
    // A sign-in after the switch gets a refresh token that works.
    let fresh = password_grant(&env, TENANT_ID, DEV_USER_NAME, &ready.dev_user_password).await;
    access_claims(
        &refresh_grant(
            &env,
            TENANT_ID,
            fresh.body["refresh_token"].as_str().unwrap(),
        )
        .await,
    );

    switches(&env, json!({"refresh_tokens_revoked": [DEV_USER_NAME]})).await;
    let revoked = refresh_grant(&env, TENANT_ID, &old_refresh).await;
    let message = message_of(&revoked);
    assert_entra_error(&env, &revoked, "invalid_grant", 50173, &message);
    assert!(
        message.starts_with(
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '"
        ),
        "{message}"
    );
    assert!(message.contains(
        "and the TokensValidFrom date (before which tokens are not valid) for this user is '"
    ));
    // Another user's refresh token is not revoked.
    let admin = password_grant(&env, TENANT_ID, &ready.user_name, &ready.user_password).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    switches(&env, json!({"refresh_tokens_revoked": [DEV_USER_NAME]})).await;
    access_claims(
        &refresh_grant(
            &env,
            TENANT_ID,
            admin.body["refresh_token"].as_str().unwrap(),
        )
        .await,
    );

    switches(&env, json!({})).await;
    access_claims(&refresh_grant(&env, TENANT_ID, &old_refresh).await);
}

#[tokio::test]
async fn injected_entra_faults_have_entra_error_bodies() {
    let env = start();
    let rule = env
        .manage(
            Method::POST,
            "faults",
            Some(&json!({"service": "entra", "path": "*/oauth2/v2.0/token", "status": 400, "code": "invalid_grant", "message": "Injected."})),
        )
        .await;
    assert_eq!(rule.status, StatusCode::OK, "{}", rule.text);
    let ready = env.emulator.ready().clone();
    let answer = password_grant(&env, TENANT_ID, DEV_USER_NAME, &ready.dev_user_password).await;
    assert_entra_error(&env, &answer, "invalid_grant", 90000, "Injected.");
}
