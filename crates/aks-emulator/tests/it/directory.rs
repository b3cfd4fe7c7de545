//! The directory: more than one person (`POST /_emulator/users`, the seeded `dev@emulator.local`), a second
//! tenant with a guest, ARM's `GET /tenants`, Graph users, the `organizations`/`common` authorities az and MSAL
//! use by default, and the device-code verification page.

use aks_emulator::{ADMIN_GROUP_ID, DEV_USER_NAME, SUBSCRIPTION_ID, TENANT_ID};
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::authorize::{AZURE_CLI_CLIENT, REDIRECT, authorize_in, parameters, pkce};
use crate::grants::{claims_of, post_form};
use crate::support::{Answer, Env, MANAGEMENT_SCOPE, start};

pub(crate) const USER_SCOPE: &str =
    "https://management.core.windows.net//.default offline_access openid profile";

/// `grant_type=password` for a user at `/{tenant}/oauth2/v2.0/token`.
pub(crate) async fn password_grant(env: &Env, tenant: &str, user: &str, password: &str) -> Answer {
    post_form(
        env,
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[
            ("grant_type", "password"),
            ("client_id", AZURE_CLI_CLIENT),
            ("username", user),
            ("password", password),
            ("scope", USER_SCOPE),
        ],
    )
    .await
}

/// `grant_type=refresh_token` at `/{tenant}/oauth2/v2.0/token`.
pub(crate) async fn refresh_grant(env: &Env, tenant: &str, refresh_token: &str) -> Answer {
    post_form(
        env,
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", AZURE_CLI_CLIENT),
            ("refresh_token", refresh_token),
            ("scope", USER_SCOPE),
        ],
    )
    .await
}

/// Start a device-code sign-in at `/{tenant}`, with extra form fields (e.g. `claims`).
pub(crate) async fn device_code_at(env: &Env, tenant: &str, extra: &[(&str, &str)]) -> Answer {
    let mut form = vec![("client_id", AZURE_CLI_CLIENT), ("scope", USER_SCOPE)];
    form.extend_from_slice(extra);
    post_form(env, &format!("/{tenant}/oauth2/v2.0/devicecode"), &form).await
}

/// One device-code poll at `/{tenant}`.
pub(crate) async fn device_poll(env: &Env, tenant: &str, device_code: &str) -> Answer {
    post_form(
        env,
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", AZURE_CLI_CLIENT),
            ("device_code", device_code),
        ],
    )
    .await
}

/// Approve a device code through the management API as `user`.
pub(crate) async fn approve(env: &Env, user_code: &str, user: &str) -> Answer {
    env.manage(
        Method::POST,
        "devicecode/approve",
        Some(&json!({"user_code": user_code, "user": user})),
    )
    .await
}

/// An interactive sign-in at `organizations` (`/authorize` with PKCE and these parameters, then the code
/// redeemed for ARM).
pub(crate) async fn interactive_sign_in(env: &Env, overrides: &[(&str, &str)]) -> Answer {
    let verifier = pkce();
    let authorized = authorize_in(env, "organizations", &parameters(&verifier, overrides)).await;
    assert_eq!(
        authorized.status,
        StatusCode::FOUND,
        "{}",
        authorized.location
    );
    post_form(
        env,
        "/organizations/oauth2/v2.0/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", AZURE_CLI_CLIENT),
            ("code", &authorized.query["code"]),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier.verifier),
            ("scope", MANAGEMENT_SCOPE),
        ],
    )
    .await
}

pub(crate) fn access_claims(answer: &Answer) -> Value {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    claims_of(answer.body["access_token"].as_str().unwrap())
}

fn client_info(answer: &Answer) -> Value {
    let encoded = answer.body["client_info"].as_str().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap()
}

async fn arm_as(env: &Env, token: &str, path: &str) -> Answer {
    env.send(
        Method::GET,
        &format!("{path}?api-version=2022-12-01"),
        &[("authorization", &format!("Bearer {token}"))],
        None,
    )
    .await
}

pub(crate) async fn graph_token(env: &Env) -> String {
    let ready = env.emulator.ready();
    let answer = env
        .token_for(
            &ready.client_id,
            &ready.client_secret,
            &format!("{}/.default", env.base()),
        )
        .await;
    answer.body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn added_users_and_the_seeded_developer_sign_in_with_their_own_groups() {
    let env = start();
    let ready = env.emulator.ready().clone();
    assert_eq!(ready.dev_user_name, DEV_USER_NAME);
    let dev = password_grant(&env, TENANT_ID, DEV_USER_NAME, &ready.dev_user_password).await;
    let claims = access_claims(&dev);
    assert_eq!(claims["upn"], DEV_USER_NAME);
    assert_eq!(claims["groups"], json!([]));
    assert_eq!(claims["tid"], TENANT_ID);

    let added = env
        .manage(
            Method::POST,
            "users",
            Some(
                &json!({"userPrincipalName": "ops@emulator.local", "groups": [ADMIN_GROUP_ID],
                "displayName": "Ops Person"}),
            ),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let id = added.body["id"].as_str().unwrap().to_string();
    let password = added.body["password"].as_str().unwrap().to_string();
    assert!(password.len() >= 16, "{password}");
    let ops =
        access_claims(&password_grant(&env, TENANT_ID, "ops@emulator.local", &password).await);
    assert_eq!(ops["oid"], id);
    assert_eq!(ops["name"], "Ops Person");
    assert_eq!(ops["groups"], json!([ADMIN_GROUP_ID]));

    // A given password is used and not echoed.
    let given = env
        .manage(
            Method::POST,
            "users",
            Some(&json!({"userPrincipalName": "qa@emulator.local", "password": "Given-Pa55!"})),
        )
        .await;
    assert_eq!(given.status, StatusCode::OK, "{}", given.text);
    assert!(given.body.get("password").is_none(), "{}", given.text);
    access_claims(&password_grant(&env, TENANT_ID, "qa@emulator.local", "Given-Pa55!").await);

    // Graph: the user by id and by name, and as a member of the admin group.
    let graph = graph_token(&env).await;
    let bearer = format!("Bearer {graph}");
    for key in [id.as_str(), "ops@emulator.local"] {
        let user = env
            .send(
                Method::GET,
                &format!("/v1.0/users/{key}"),
                &[("authorization", &bearer)],
                None,
            )
            .await;
        assert_eq!(user.status, StatusCode::OK, "{}", user.text);
        assert_eq!(user.body["id"], id);
        assert_eq!(user.body["userPrincipalName"], "ops@emulator.local");
    }
    let missing = env
        .send(
            Method::GET,
            "/v1.0/users/nobody@emulator.local",
            &[("authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["code"], "Request_ResourceNotFound");
    let members = env
        .send(
            Method::GET,
            &format!("/v1.0/groups/{ADMIN_GROUP_ID}/members"),
            &[("authorization", &bearer)],
            None,
        )
        .await;
    assert!(
        members.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|member| member["id"] == id)
    );

    for (body, expected) in [
        (
            json!({"userPrincipalName": "ops@emulator.local"}),
            "a user 'ops@emulator.local' already exists",
        ),
        (
            json!({"userPrincipalName": "no-domain"}),
            "userPrincipalName 'no-domain' is not of the form alias@domain",
        ),
        (
            json!({"userPrincipalName": "x@emulator.local", "groups": ["00000000-0000-0000-0000-000000000001"]}),
            "no group '00000000-0000-0000-0000-000000000001'",
        ),
        (
            json!({"userPrincipalName": "y@emulator.local", "tenantId": "11111111-2222-3333-4444-555555555555"}),
            "no tenant '11111111-2222-3333-4444-555555555555'",
        ),
    ] {
        let refused = env.manage(Method::POST, "users", Some(&body)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(refused.body["error"]["message"], expected);
    }
}

#[tokio::test]
async fn a_guest_signs_in_to_a_second_tenant_with_its_guest_object_there() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let created = env
        .manage(
            Method::POST,
            "tenants",
            Some(&json!({"displayName": "Partner", "defaultDomain": "partner.example"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let partner = created.body["tenantId"].as_str().unwrap().to_string();
    let invited = env
        .manage(
            Method::POST,
            &format!("tenants/{partner}/guests"),
            Some(&json!({"userPrincipalName": DEV_USER_NAME})),
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.text);
    let guest_id = invited.body["id"].as_str().unwrap().to_string();

    // By id and by default domain: that tenant's tid, the guest object's oid, the home account in client_info.
    for authority in [partner.as_str(), "partner.example"] {
        let answer = password_grant(&env, authority, DEV_USER_NAME, &ready.dev_user_password).await;
        let claims = access_claims(&answer);
        assert_eq!(claims["tid"], partner, "{authority}");
        assert_eq!(claims["oid"], guest_id);
        assert_eq!(claims["upn"], DEV_USER_NAME);
        let home = client_info(&answer);
        assert_eq!(home["utid"], TENANT_ID);
        assert_ne!(home["uid"], guest_id);
        let id_token = claims_of(answer.body["id_token"].as_str().unwrap());
        assert_eq!(id_token["tid"], partner);
        assert_eq!(id_token["oid"], guest_id);
    }
    // The home refresh token works in the other tenant.
    let home = password_grant(&env, TENANT_ID, DEV_USER_NAME, &ready.dev_user_password).await;
    let home_claims = access_claims(&home);
    let refreshed =
        refresh_grant(&env, &partner, home.body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(access_claims(&refreshed)["tid"], partner);

    // The admin is not a guest there.
    let outsider = password_grant(&env, &partner, &ready.user_name, &ready.user_password).await;
    assert_eq!(
        outsider.status,
        StatusCode::BAD_REQUEST,
        "{}",
        outsider.text
    );
    assert_eq!(outsider.body["error"], "invalid_grant");
    assert_eq!(outsider.body["error_codes"], json!([50020]));

    // ARM: the tenants each caller can reach, and the subscription only from its own tenant.
    let home_token = home.body["access_token"].as_str().unwrap();
    let tenants = arm_as(&env, home_token, "/tenants").await;
    assert_eq!(tenants.status, StatusCode::OK, "{}", tenants.text);
    assert_eq!(
        tenants.body["value"][0],
        json!({"id": format!("/tenants/{TENANT_ID}"), "tenantId": TENANT_ID, "tenantCategory": "Home",
            "countryCode": "US", "displayName": "Emulated Tenant", "domains": ["emulator.local"],
            "defaultDomain": "emulator.local", "tenantType": "AAD"})
    );
    assert_eq!(tenants.body["value"][1]["tenantId"], partner);
    assert_eq!(tenants.body["value"][1]["defaultDomain"], "partner.example");
    assert_eq!(tenants.body["value"][1]["displayName"], "Partner");
    let admin = password_grant(&env, TENANT_ID, &ready.user_name, &ready.user_password).await;
    let admin_tenants = arm_as(
        &env,
        admin.body["access_token"].as_str().unwrap(),
        "/tenants",
    )
    .await;
    assert_eq!(admin_tenants.body["value"].as_array().unwrap().len(), 1);
    let guest_token = refreshed.body["access_token"].as_str().unwrap();
    let guest_subscriptions = arm_as(&env, guest_token, "/subscriptions").await;
    assert_eq!(
        guest_subscriptions.body["value"],
        json!([]),
        "{}",
        guest_subscriptions.text
    );
    let home_subscriptions = arm_as(&env, home_token, "/subscriptions").await;
    assert_eq!(
        home_subscriptions.body["value"][0]["subscriptionId"],
        SUBSCRIPTION_ID
    );
    let wrong_tenant = arm_as(
        &env,
        guest_token,
        &format!("/subscriptions/{SUBSCRIPTION_ID}"),
    )
    .await;
    assert_eq!(wrong_tenant.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_tenant.body["error"]["code"],
        "InvalidAuthenticationTokenTenant"
    );
    assert_ne!(home_claims["oid"], guest_id);

    // Bad input: a second tenant with the same domain, an unknown tenant, an unknown user.
    let again = env
        .manage(
            Method::POST,
            "tenants",
            Some(&json!({"defaultDomain": "PARTNER.example"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text);
    let nowhere = env
        .manage(
            Method::POST,
            "tenants/11111111-2222-3333-4444-555555555555/guests",
            Some(&json!({"userPrincipalName": DEV_USER_NAME})),
        )
        .await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND, "{}", nowhere.text);
    let nobody = env
        .manage(
            Method::POST,
            &format!("tenants/{partner}/guests"),
            Some(&json!({"userPrincipalName": "nobody@emulator.local"})),
        )
        .await;
    assert_eq!(
        nobody.body["error"]["message"],
        "no user 'nobody@emulator.local' in the directory"
    );
}

#[tokio::test]
async fn organizations_and_common_sign_users_in_to_their_home_tenant() {
    let env = start();
    let ready = env.emulator.ready().clone();
    for authority in ["organizations", "common", "emulator.local", TENANT_ID] {
        let discovery = env
            .send(
                Method::GET,
                &format!("/{authority}/v2.0/.well-known/openid-configuration"),
                &[],
                None,
            )
            .await;
        assert_eq!(
            discovery.status,
            StatusCode::OK,
            "{authority}: {}",
            discovery.text
        );
        assert_eq!(
            discovery.body["device_authorization_endpoint"],
            format!("{}/{authority}/oauth2/v2.0/devicecode", env.base())
        );
        let v1 = env
            .send(
                Method::GET,
                &format!("/{authority}/.well-known/openid-configuration"),
                &[],
                None,
            )
            .await;
        assert_eq!(v1.status, StatusCode::OK, "{authority}: {}", v1.text);
    }
    let consumers = env
        .send(
            Method::GET,
            "/consumers/v2.0/.well-known/openid-configuration",
            &[],
            None,
        )
        .await;
    assert_eq!(consumers.status, StatusCode::BAD_REQUEST);
    assert_eq!(consumers.body["error_codes"], json!([90002]));

    // Device code at `organizations`, approved for the developer: exactly one pending entry meanwhile.
    let started = device_code_at(&env, "organizations", &[]).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    let user_code = started.body["user_code"].as_str().unwrap().to_string();
    let page = format!("{}/devicelogin", env.base());
    assert_eq!(started.body["verification_uri"], page);
    assert_eq!(
        started.body["message"],
        format!(
            "To sign in, use a web browser to open the page {page} and enter the code {user_code} to authenticate."
        )
    );
    let listed = env.manage(Method::GET, "devicecode", None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "{}", listed.text);
    assert_eq!(listed.body[0]["user_code"], user_code);
    let unknown = approve(&env, &user_code, "nobody@emulator.local").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.body["error"]["message"],
        "no user 'nobody@emulator.local' in the directory"
    );
    assert_eq!(
        approve(&env, &user_code, DEV_USER_NAME).await.status,
        StatusCode::OK
    );
    let device_code = started.body["device_code"].as_str().unwrap();
    let tokens = device_poll(&env, "organizations", device_code).await;
    let claims = access_claims(&tokens);
    assert_eq!(
        (claims["tid"].as_str(), claims["upn"].as_str()),
        (Some(TENANT_ID), Some(DEV_USER_NAME))
    );
    assert_eq!(
        env.manage(Method::GET, "devicecode", None).await.body,
        json!([])
    );
    // The v1 device-code endpoint names the same page.
    let v1 = post_form(
        &env,
        "/common/oauth2/devicecode",
        &[
            ("client_id", AZURE_CLI_CLIENT),
            ("resource", "https://management.core.windows.net/"),
        ],
    )
    .await;
    assert_eq!(v1.body["verification_url"], page, "{}", v1.text);

    // /authorize at `organizations`, redeemed there: the home tenant.
    let redeemed = interactive_sign_in(
        &env,
        &[
            ("login_hint", DEV_USER_NAME),
            ("client_id", AZURE_CLI_CLIENT),
        ],
    )
    .await;
    let claims = access_claims(&redeemed);
    assert_eq!(
        (claims["tid"].as_str(), claims["upn"].as_str()),
        (Some(TENANT_ID), Some(DEV_USER_NAME))
    );
    assert_eq!(ready.tenant_id, TENANT_ID);
}

#[tokio::test]
async fn a_device_code_for_a_tenant_is_approved_only_by_its_users() {
    let env = start();
    let created = env.manage(Method::POST, "tenants", None).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let other = created.body["tenantId"].as_str().unwrap().to_string();
    let started = device_code_at(&env, &other, &[]).await;
    let user_code = started.body["user_code"].as_str().unwrap();
    let refused = approve(&env, user_code, DEV_USER_NAME).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.body["error"]["message"],
        format!(
            "user '{DEV_USER_NAME}' has no account in the tenant of the device-code sign-in with user code '{user_code}'"
        )
    );
    // Still pending; a user of that tenant approves it.
    let member = env
        .manage(
            Method::POST,
            "users",
            Some(&json!({"userPrincipalName": "someone@other.example", "tenantId": other})),
        )
        .await;
    assert_eq!(member.status, StatusCode::OK, "{}", member.text);
    assert_eq!(
        approve(&env, user_code, "someone@other.example")
            .await
            .status,
        StatusCode::OK
    );
    let tokens = device_poll(&env, &other, started.body["device_code"].as_str().unwrap()).await;
    let claims = access_claims(&tokens);
    assert_eq!(claims["tid"], other);
    assert_eq!(claims["oid"], member.body["id"]);
    assert_eq!(client_info(&tokens)["utid"], other);
}

#[tokio::test]
async fn the_verification_page_approves_with_a_password_or_declines() {
    let env = start();
    let ready = env.emulator.ready().clone();
    let page = env.send(Method::GET, "/devicelogin", &[], None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    for field in [
        "name=\"otc\"",
        "name=\"username\"",
        "name=\"password\"",
        "value=\"approve\"",
        "value=\"decline\"",
    ] {
        assert!(page.text.contains(field), "{field}: {}", page.text);
    }
    let submit = |form: Vec<(&'static str, String)>| {
        let client = env.client.clone();
        let url = format!("{}/devicelogin", env.base());
        async move {
            let response = client.post(url).form(&form).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };

    let started = device_code_at(&env, "organizations", &[]).await;
    let user_code = started.body["user_code"].as_str().unwrap().to_string();
    let (status, text) = submit(vec![
        ("otc", user_code.clone()),
        ("username", DEV_USER_NAME.into()),
        ("password", "wrong".into()),
        ("action", "approve".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text.contains("Your account or password is incorrect."),
        "{text}"
    );
    let device_code = started.body["device_code"].as_str().unwrap();
    assert_eq!(
        device_poll(&env, "organizations", device_code).await.body["error"],
        "authorization_pending"
    );
    let (status, text) = submit(vec![
        ("otc", user_code.to_lowercase()),
        ("username", DEV_USER_NAME.into()),
        ("password", ready.dev_user_password.clone()),
        ("action", "approve".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("dev@emulator.local signed in."), "{text}");
    let log = env.manage(Method::GET, "requests", None).await;
    assert!(log.text.contains("/devicelogin"));
    assert!(
        !log.text.contains(&ready.dev_user_password),
        "the password reached the request log"
    );
    assert_eq!(
        access_claims(&device_poll(&env, "organizations", device_code).await)["upn"],
        DEV_USER_NAME
    );

    let declined = device_code_at(&env, "organizations", &[]).await;
    let (status, _) = submit(vec![
        ("otc", declined.body["user_code"].as_str().unwrap().into()),
        ("action", "decline".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::OK);
    let refused = device_poll(
        &env,
        "organizations",
        declined.body["device_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(refused.body["error"], "authorization_declined");
    let (status, text) = submit(vec![
        ("otc", "<script>".into()),
        ("action", "decline".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text.contains("&lt;script&gt;") && !text.contains("<script>"),
        "{text}"
    );
}
