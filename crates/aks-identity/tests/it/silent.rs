//! The silent token path against the emulator's Entra: a user signed in (ROPC, stored as MSAL stores it), then
//! tokens from the cache, a refresh for another scope, and Entra's refusal as a typed error.

use aks_identity::azure_cli::cache_file::{load_token_cache, update_token_cache};
use aks_identity::azure_cli::login::LoginRequest;
use aks_identity::azure_cli::profile::{SubscriptionRecord, merge_login_subscriptions};
use aks_identity::azure_cli::silent::{
    SilentOutcome, SilentToken, SilentTokenRequest, acquire_token_silently,
};
use aks_identity::azure_cli::storage::{CacheStorage, token_cache_storage};
use aks_identity::azure_cli::token_cache::{AZURE_CLI_CLIENT_ID, Section};
use aks_identity::azure_cli::{AzureConfigDir, SilentError};
use aks_identity::test_support::ARM_SCOPE as ARM;
use serde_json::json;

use crate::support::{Cloud, config_dir, sign_in_user};

const GRAPH: &str = "https://graph.microsoft.com/.default";

/// The emulator, and a config dir where its seeded user is signed in.
async fn signed_in() -> (Cloud, tempfile::TempDir, AzureConfigDir) {
    let cloud = Cloud::start();
    let azure = tempfile::tempdir().unwrap();
    let directory = config_dir(azure.path());
    sign_in_user(&cloud, &directory, "AzureCloud").await;
    (cloud, azure, directory)
}

async fn token(
    cloud: &Cloud,
    directory: &AzureConfigDir,
    scope: &str,
) -> Result<SilentToken, SilentError> {
    let scopes = vec![scope.to_string()];
    let request = SilentTokenRequest {
        login: LoginRequest {
            subscription: None,
            tenant: None,
            authority_host: &cloud.ready().authority_host,
            cloud: None,
        },
        scopes: &scopes,
        claims_challenge: None,
    };
    match acquire_token_silently(directory, &cloud.client, &request).await? {
        SilentOutcome::Token(token) => Ok(token),
        other => panic!("a user login gives a token, not {other:?}"),
    }
}

#[tokio::test]
async fn cached_token_then_a_refresh_stored_as_msal_does() {
    let cloud = Cloud::start();
    let azure = tempfile::tempdir().unwrap();
    let directory = config_dir(azure.path());
    assert_eq!(
        token(&cloud, &directory, ARM)
            .await
            .unwrap_err()
            .to_string(),
        "Please run 'az login' to setup account."
    );
    let signed_in = sign_in_user(&cloud, &directory, "AzureCloud").await;
    let ready = cloud.ready();

    let arm = token(&cloud, &directory, ARM).await.unwrap();
    assert!(arm.from_cache);
    assert_eq!(
        arm.access_token.expose(),
        signed_in["access_token"].as_str().unwrap()
    );
    assert_eq!(
        arm.identity.tenant_id.as_deref(),
        Some(ready.tenant_id.as_str())
    );
    assert_eq!(arm.identity.username, ready.user_name);
    assert_eq!(arm.subscription.id, ready.subscription_id);

    let storage = token_cache_storage(&directory).unwrap();
    let old_refresh = load_token_cache(&storage)
        .unwrap()
        .entries(Section::RefreshToken)
        .next()
        .unwrap()["secret"]
        .clone();
    let graph = token(&cloud, &directory, GRAPH).await.unwrap();
    assert!(!graph.from_cache);
    assert_ne!(graph.access_token.expose(), arm.access_token.expose());
    assert_eq!(graph.identity.object_id, arm.identity.object_id);
    assert_eq!(graph.identity.home_account_id, arm.identity.home_account_id);

    let cache = load_token_cache(&storage).unwrap();
    assert_eq!(cache.entries(Section::AccessToken).count(), 2);
    assert_eq!(
        cache.entries(Section::Account).count(),
        1,
        "no Account on refresh"
    );
    let refresh: Vec<_> = cache.entries(Section::RefreshToken).collect();
    assert_eq!(refresh.len(), 1, "the refresh token is updated in place");
    assert_ne!(
        refresh[0]["secret"], old_refresh,
        "with the new one Entra returned"
    );
    assert!(token(&cloud, &directory, GRAPH).await.unwrap().from_cache);

    let redeemed = cloud.requests().await.into_iter().rev().find(|request| {
        request["path"]
            .as_str()
            .is_some_and(|path| path.ends_with("/oauth2/v2.0/token"))
    });
    let redeemed = redeemed.expect("the refresh was sent");
    assert_eq!(redeemed["body"]["grant_type"], "refresh_token");
    assert_eq!(redeemed["body"]["client_id"], AZURE_CLI_CLIENT_ID);
    assert_eq!(redeemed["body"]["client_info"], "1");
    assert_eq!(
        redeemed["body"]["scope"],
        format!("{GRAPH} openid profile offline_access")
    );
    assert_eq!(
        redeemed["body"]["claims"],
        r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#
    );
    let (uid, utid) = arm.identity.home_account_id.split_once('.').unwrap();
    assert_eq!(
        redeemed["headers"]["x-anchormailbox"],
        format!("Oid:{uid}@{utid}")
    );
}

#[tokio::test]
async fn a_refused_refresh_is_entras_message_and_keeps_the_refresh_token() {
    let (cloud, _azure, directory) = signed_in().await;
    let storage = token_cache_storage(&directory).unwrap();
    // A refresh token Entra does not accept.
    update_token_cache(&storage, |cache| {
        let entry = cache.entries(Section::RefreshToken).next().unwrap().clone();
        let old = cache.refresh_tokens(
            "127.0.0.1",
            entry["home_account_id"].as_str().unwrap(),
            AZURE_CLI_CLIENT_ID,
        );
        cache.update_refresh_token(&old[0], "not-a-refresh-token", 1);
    })
    .unwrap();
    let error = token(&cloud, &directory, GRAPH).await.unwrap_err();
    let SilentError::Entra(entra) = &error else {
        panic!("a typed Entra error, not {error:?}");
    };
    assert_eq!(entra.error, "invalid_grant");
    assert!(entra.has_code(70000), "{:?}", entra.codes);
    assert_eq!(
        error.to_string(),
        "AADSTS70000: Provided grant is invalid or malformed."
    );
    assert!(
        entra.trace.contains("Trace ID") && !entra.description.contains("Trace ID"),
        "the trace ids are kept apart for --debug: {entra:?}"
    );
    assert!(!format!("{error:?}").contains("not-a-refresh-token"));
    let cache = load_token_cache(&storage).unwrap();
    assert_eq!(
        cache.entries(Section::RefreshToken).count(),
        1,
        "invalid_grant never deletes the refresh token"
    );
}

#[tokio::test]
async fn a_user_without_cache_entries_and_a_cache_without_tokens_get_azs_messages() {
    let (cloud, _azure, directory) = signed_in().await;
    let storage = token_cache_storage(&directory).unwrap();
    update_token_cache(&storage, |cache| {
        cache.remove_user("127.0.0.1", &cloud.ready().user_name, AZURE_CLI_CLIENT_ID)
    })
    .unwrap();
    assert_eq!(
        token(&cloud, &directory, ARM)
            .await
            .unwrap_err()
            .to_string(),
        format!(
            "User '{}' does not exist in MSAL token cache. Run `az login`.",
            cloud.ready().user_name
        )
    );
    sign_in_user(&cloud, &directory, "AzureCloud").await;
    // Only the Account is left: no access token, no refresh token.
    let accounts = load_token_cache(&storage).unwrap().as_map()["Account"].clone();
    std::fs::write(storage.location(), json!({"Account": accounts}).to_string()).unwrap();
    assert_eq!(
        token(&cloud, &directory, ARM)
            .await
            .unwrap_err()
            .to_string(),
        "Can't find token from MSAL cache.\nTo re-authenticate, please run:\naz login"
    );
    let scopes = vec![ARM.to_string()];
    let both = SilentTokenRequest {
        login: LoginRequest {
            subscription: Some(&cloud.ready().subscription_id),
            tenant: Some(&cloud.ready().tenant_id),
            authority_host: &cloud.ready().authority_host,
            cloud: None,
        },
        scopes: &scopes,
        claims_challenge: None,
    };
    let error = acquire_token_silently(&directory, &cloud.client, &both)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Please specify only one of subscription and tenant, not both"
    );
}

#[tokio::test]
async fn a_service_principal_login_yields_its_entry_and_a_key_that_changes_with_the_secret() {
    use aks_identity::azure_cli::login::resolve_login;
    use aks_identity::azure_cli::service_principal::{
        ServicePrincipalCredential, ServicePrincipalEntry, save_entry,
    };
    use aks_identity::azure_cli::storage::service_principal_storage;
    use aks_identity::azure_cli::{Secret, SharedLogin};

    let cloud = Cloud::start();
    let ready = cloud.ready();
    let azure = tempfile::tempdir().unwrap();
    let directory = config_dir(azure.path());
    let record: SubscriptionRecord = serde_json::from_value(json!({
        "id": ready.subscription_id, "name": "Emulator", "state": "Enabled",
        "user": {"name": ready.client_id, "type": "servicePrincipal"}, "isDefault": true,
        "tenantId": ready.tenant_id, "environmentName": "AzureCloud",
    }))
    .unwrap();
    merge_login_subscriptions(&directory, &[record], None).unwrap();
    let request = LoginRequest {
        subscription: None,
        tenant: None,
        authority_host: &ready.authority_host,
        cloud: None,
    };
    let error = resolve_login(&directory, &request).unwrap_err();
    assert!(error.to_string().starts_with(&format!(
        "Could not retrieve credential from local cache for service principal {}.",
        ready.client_id
    )));

    let storage = service_principal_storage(&directory).unwrap();
    let mut entry = ServicePrincipalEntry {
        client_id: ready.client_id.clone(),
        tenant: ready.tenant_id.clone(),
        credential: ServicePrincipalCredential::Secret(Secret::new(ready.client_secret.clone())),
    };
    save_entry(&storage, &entry).unwrap();
    let key = |directory: &AzureConfigDir| {
        let SharedLogin::ServicePrincipal(login) = resolve_login(directory, &request).unwrap()
        else {
            panic!("a service principal login");
        };
        (
            login.entry.clone(),
            SharedLogin::ServicePrincipal(login).identity_key().unwrap(),
        )
    };
    let (found, first) = key(&directory);
    assert_eq!(found, entry);
    assert!(!first.contains(&ready.client_secret), "{first}");
    let printed = format!("{:?}", resolve_login(&directory, &request).unwrap());
    assert!(
        !printed.contains(&ready.client_secret) && printed.contains("<redacted>"),
        "{printed}"
    );
    assert!(
        first.contains(&ready.client_id) && first.contains(&ready.tenant_id),
        "{first}"
    );
    entry.credential = ServicePrincipalCredential::Secret(Secret::new("rotated"));
    save_entry(&storage, &entry).unwrap();
    let (_, rotated) = key(&directory);
    assert_ne!(
        first, rotated,
        "a changed secret is another identity for caches"
    );
    entry.credential = ServicePrincipalCredential::Certificate {
        path: ready.cert_file.clone().into(),
        use_cert_sn_issuer: false,
    };
    save_entry(&storage, &entry).unwrap();
    let (_, certificate) = key(&directory);
    assert_ne!(certificate, rotated);
    assert_eq!(
        key(&directory).1,
        certificate,
        "stable for the same certificate file"
    );
}
