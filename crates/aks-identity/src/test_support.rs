//! For tests only (cargo feature `test-support`, enabled by this crate's and the workspace's dev-dependencies): a
//! user's `az login` written into az's files, so that tests of the shared login start from the state az leaves.

use serde_json::{Map, Value, json};

use crate::azure_cli::AzureConfigDir;
use crate::azure_cli::cache_file::update_token_cache;
use crate::azure_cli::profile::{SubscriptionRecord, merge_login_subscriptions};
use crate::azure_cli::storage::token_cache_storage;
use crate::azure_cli::token_cache::{AZURE_CLI_CLIENT_ID, Grant, TokenResponse};

/// The ARM scope az asks for.
pub const ARM_SCOPE: &str = "https://management.core.windows.net//.default";

/// Who signed in, and where, for [`record_az_user_login`].
#[derive(Clone, Copy, Debug)]
pub struct AzUserLogin<'a> {
    /// MSAL's `environment` of the cache entries: the authority's host (`127.0.0.1` for the emulator).
    pub environment: &'a str,
    /// The tenant (MSAL's `realm`, the profile's `tenantId` and `homeTenantId`).
    pub tenant_id: &'a str,
    /// The user's name.
    pub user_name: &'a str,
    /// The subscription the profile entry is for (named `Emulator`, the default).
    pub subscription_id: &'a str,
    /// The cloud of the profile entry (`environmentName`, e.g. `AzureCloud`).
    pub cloud_name: &'a str,
}

/// Record `body` — the token endpoint's answer to a password grant by az's client id for [`ARM_SCOPE`] — as az
/// does: MSAL's entries in the token cache of `directory`, and the profile entry of the subscription as the
/// default. Panics on any failure (tests only).
pub fn record_az_user_login(
    directory: &AzureConfigDir,
    login: &AzUserLogin<'_>,
    body: &Map<String, Value>,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64;
    let requested = vec![ARM_SCOPE.to_owned()];
    let storage = token_cache_storage(directory).expect("az's token cache");
    update_token_cache(&storage, |cache| {
        cache.add(
            &TokenResponse {
                client_id: AZURE_CLI_CLIENT_ID,
                environment: login.environment,
                realm: login.tenant_id,
                requested_scopes: &requested,
                grant: Grant::Password,
                username: Some(login.user_name),
                body,
            },
            now,
        )
    })
    .expect("MSAL's entries written");
    let record: SubscriptionRecord = serde_json::from_value(json!({
        "id": login.subscription_id, "name": "Emulator", "state": "Enabled",
        "user": {"name": login.user_name, "type": "user"}, "isDefault": true,
        "tenantId": login.tenant_id, "environmentName": login.cloud_name,
        "homeTenantId": login.tenant_id, "managedByTenants": [],
    }))
    .expect("a profile entry");
    merge_login_subscriptions(directory, &[record], None).expect("the profile entry written");
}
