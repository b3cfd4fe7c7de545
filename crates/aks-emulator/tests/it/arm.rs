//! ARM basics: metadata, authentication, subscriptions, common headers, resource groups.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{GROUPS_API, start};

#[tokio::test]
async fn cloud_metadata_needs_no_token() {
    let env = start();
    let answer = env
        .send(
            Method::GET,
            "/metadata/endpoints?api-version=2022-09-01",
            &[],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let root = format!("{}/", env.base());
    assert_eq!(answer.body["name"], "LocalEmulator");
    assert_eq!(answer.body["resourceManager"], root);
    assert_eq!(answer.body["authentication"]["loginEndpoint"], root);
    assert_eq!(
        answer.body["authentication"]["audiences"][0],
        "https://management.core.windows.net/"
    );
    for key in [
        "storage",
        "keyVaultDns",
        "sqlServerHostname",
        "acrLoginServer",
        "azureDataLakeStoreFileSystem",
        "azureDataLakeAnalyticsCatalogAndJob",
    ] {
        assert!(answer.body["suffixes"][key].is_string(), "{key}");
    }
    let old = env
        .send(
            Method::GET,
            "/metadata/endpoints?api-version=2019-05-01",
            &[],
            None,
        )
        .await;
    assert!(old.body.is_array());
}

#[tokio::test]
async fn arm_refuses_missing_bad_and_misaddressed_tokens() {
    let env = start();
    let sub = env.sub();
    let missing = env
        .send(
            Method::GET,
            "/subscriptions?api-version=2022-12-01",
            &[],
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.body["error"]["code"], "AuthenticationFailed");
    assert_eq!(
        missing.body["error"]["message"],
        "Authentication failed. The 'Authorization' header is missing."
    );
    let challenge = missing.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with(&format!("Bearer authorization_uri=\"{}/", env.base())),
        "{challenge}"
    );
    assert!(challenge.contains("error=\"invalid_token\""));

    let garbage = env
        .send(
            Method::GET,
            "/subscriptions?api-version=2022-12-01",
            &[("authorization", "Bearer not.a.jwt")],
            None,
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(garbage.body["error"]["code"], "InvalidAuthenticationToken");

    let ready = env.emulator.ready().clone();
    let aks_token = env
        .token_for(
            &ready.client_id,
            &ready.client_secret,
            "6dae42f8-4368-4678-94ff-3960e28e3630/.default",
        )
        .await;
    let wrong_audience = env
        .send(
            Method::GET,
            "/subscriptions?api-version=2022-12-01",
            &[(
                "authorization",
                &format!(
                    "Bearer {}",
                    aks_token.body["access_token"].as_str().unwrap()
                ),
            )],
            None,
        )
        .await;
    assert_eq!(wrong_audience.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_audience.body["error"]["code"],
        "InvalidAuthenticationTokenAudience"
    );

    let token = env.token().await;
    let no_version = env
        .send(
            Method::GET,
            &format!("/subscriptions/{sub}"),
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await;
    assert_eq!(no_version.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        no_version.body["error"]["code"],
        "MissingApiVersionParameter"
    );
    assert_eq!(
        no_version.body["error"]["message"],
        "The api-version query parameter (?api-version=) is required for all requests."
    );
}

#[tokio::test]
async fn subscriptions_headers_and_unsupported_routes() {
    let env = start();
    let token = env.token().await;
    let answer = env
        .send(
            Method::GET,
            "/subscriptions?api-version=2022-12-01",
            &[
                ("authorization", &format!("Bearer {token}")),
                (
                    "x-ms-client-request-id",
                    "11111111-2222-3333-4444-555555555555",
                ),
            ],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["count"], json!({"type": "Total", "value": 1}));
    let subscription = &answer.body["value"][0];
    assert_eq!(subscription["subscriptionId"], env.sub());
    assert_eq!(subscription["displayName"], "Emulated Subscription");
    assert_eq!(subscription["state"], "Enabled");
    assert_eq!(
        answer.header("x-ms-client-request-id"),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert!(answer.header("x-ms-request-id").is_some());
    assert!(
        answer
            .header("x-ms-ratelimit-remaining-subscription-reads")
            .is_some()
    );

    let unknown = env
        .arm(
            Method::GET,
            "/subscriptions/11111111-0000-0000-0000-000000000000/resourcegroups",
            GROUPS_API,
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["error"]["code"], "SubscriptionNotFound");
    assert_eq!(
        unknown.body["error"]["message"],
        "The subscription '11111111-0000-0000-0000-000000000000' could not be found."
    );

    let unsupported = env
        .arm(
            Method::PATCH,
            &format!("/subscriptions/{}/resourcegroups/rg1", env.sub()),
            GROUPS_API,
            None,
        )
        .await;
    assert_eq!(unsupported.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unsupported.body["error"]["code"],
        "EmulatorUnsupportedRoute"
    );
    assert_eq!(
        unsupported.body["error"]["message"],
        format!(
            "The local cloud emulator does not support PATCH /subscriptions/{}/resourcegroups/rg1",
            env.sub()
        )
    );
    let elsewhere = env.send(Method::GET, "/nothing/here", &[], None).await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    assert_eq!(elsewhere.body["error"]["code"], "EmulatorUnsupportedRoute");
}

#[tokio::test]
async fn resource_groups_create_update_get_and_delete() {
    let env = start();
    let path = env.group_path("MyGroup");
    let created = env
        .arm(
            Method::PUT,
            &path,
            GROUPS_API,
            Some(&json!({"location": "centralus", "tags": {"a": "b"}})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(
        created.body,
        json!({
            "id": format!("/subscriptions/{}/resourceGroups/MyGroup", env.sub()),
            "name": "MyGroup",
            "type": "Microsoft.Resources/resourceGroups",
            "location": "centralus",
            "tags": {"a": "b"},
            "properties": {"provisioningState": "Succeeded"}
        })
    );
    assert!(
        created
            .header("x-ms-ratelimit-remaining-subscription-writes")
            .is_some()
    );
    let again = env
        .arm(
            Method::PUT,
            &env.group_path("mygroup"),
            GROUPS_API,
            Some(&json!({"location": "centralus"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["name"], "MyGroup", "the case first used is kept");

    let moved = env
        .arm(
            Method::PUT,
            &path,
            GROUPS_API,
            Some(&json!({"location": "westus"})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::CONFLICT);
    assert_eq!(moved.body["error"]["code"], "InvalidResourceGroupLocation");
    assert_eq!(
        moved.body["error"]["message"],
        "Invalid resource group location 'westus'. The Resource group already exists in location 'centralus'."
    );

    let upper = format!("/subscriptions/{}/resourceGroups/MYGROUP", env.sub());
    let got = env.arm(Method::GET, &upper, GROUPS_API, None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["name"], "MyGroup");
    assert_eq!(
        env.arm(Method::HEAD, &path, GROUPS_API, None).await.status,
        StatusCode::NO_CONTENT
    );
    let listed = env
        .arm(
            Method::GET,
            &format!("/subscriptions/{}/resourcegroups", env.sub()),
            GROUPS_API,
            None,
        )
        .await;
    assert_eq!(listed.body["value"][0]["name"], "MyGroup");

    let deleted = env.arm(Method::DELETE, &path, GROUPS_API, None).await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    let location = deleted.header("location").unwrap().to_string();
    assert!(
        location.starts_with(&format!(
            "{}/subscriptions/{}/operationresults/",
            env.base(),
            env.sub()
        )),
        "{location}"
    );
    assert!(location.ends_with(&format!("?api-version={GROUPS_API}")));
    let poll_path = location.strip_prefix(&env.base()).unwrap().to_string();
    let token = env.token().await;
    let auth = format!("Bearer {token}");
    let first = env
        .send(Method::GET, &poll_path, &[("authorization", &auth)], None)
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let second = env
        .send(Method::GET, &poll_path, &[("authorization", &auth)], None)
        .await;
    assert_eq!(second.status, StatusCode::OK);

    let gone = env.arm(Method::GET, &path, GROUPS_API, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body["error"]["code"], "ResourceGroupNotFound");
    assert_eq!(
        gone.body["error"]["message"],
        "Resource group 'MyGroup' could not be found."
    );
    assert_eq!(
        env.arm(Method::HEAD, &path, GROUPS_API, None).await.status,
        StatusCode::NOT_FOUND
    );
    let missing = env.arm(Method::DELETE, &path, GROUPS_API, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
