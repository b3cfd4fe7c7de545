//! Cloud metadata (`/metadata/endpoints`), tenants and subscriptions, as az reads them when it registers a cloud
//! and signs in (Azure/azure-cli: `src/azure-cli-core/azure/cli/core/_profile.py`, `cloud.py`).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::http::{Ctx, json};
use crate::state::SharedState;
use crate::{SUBSCRIPTION_DISPLAY_NAME, SUBSCRIPTION_ID, TENANT_ID};

/// `GET /metadata/endpoints?api-version=2022-09-01`: one object (a one-element array for 2019-05-01), with
/// every field az reads when it registers a cloud.
pub(super) fn metadata(state: &SharedState, ctx: &Ctx) -> Response {
    let root = format!("{}/", state.base_url());
    let cloud = json!({
        "name": "LocalEmulator",
        "resourceManager": root,
        "authentication": {
            "loginEndpoint": root,
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "microsoftGraphResourceId": root,
        "graph": root,
        "graphAudience": root,
        "portal": root,
        "gallery": root,
        "media": root,
        "batch": root,
        "sqlManagement": root,
        "vmImageAliasDoc": format!("{root}_emulator/vm-image-aliases.json"),
        "activeDirectoryDataLake": root,
        "suffixes": {
            "storage": "core.emulator.local",
            "keyVaultDns": ".vault.emulator.local",
            "sqlServerHostname": ".database.emulator.local",
            "acrLoginServer": ".azurecr.emulator.local",
            "azureDataLakeStoreFileSystem": "azuredatalakestore.emulator.local",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.emulator.local",
        },
    });
    if ctx.query("api-version") == Some("2019-05-01") {
        json(StatusCode::OK, &Value::Array(vec![cloud]))
    } else {
        json(StatusCode::OK, &cloud)
    }
}

fn subscription() -> Value {
    json!({
        "id": format!("/subscriptions/{SUBSCRIPTION_ID}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": {},
        "subscriptionId": SUBSCRIPTION_ID,
        "tenantId": TENANT_ID,
        "displayName": SUBSCRIPTION_DISPLAY_NAME,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    })
}

/// `GET /subscriptions`: the subscription, to a caller of its tenant (others see none).
pub(super) fn list(caller: &Value) -> Response {
    let value = if caller["tid"]
        .as_str()
        .is_some_and(|tid| tid.eq_ignore_ascii_case(TENANT_ID))
    {
        vec![subscription()]
    } else {
        Vec::new()
    };
    let count = value.len();
    json(
        StatusCode::OK,
        &json!({"value": value, "count": {"type": "Total", "value": count}}),
    )
}

/// `GET /tenants`: the tenants the caller can reach, as ARM answers them (a user: its home tenant and those it
/// is a guest in; an application: the home tenant).
pub(super) fn tenants(state: &SharedState, caller: &Value) -> Response {
    let store = state.store();
    let directory = &store.directory;
    let user = (caller["idtyp"] == "user")
        .then(|| caller["oid"].as_str())
        .flatten()
        .and_then(|oid| directory.user_by_any_object_id(oid));
    let tenants: Vec<&crate::state::Tenant> = match user {
        Some(user) => directory.tenants_of(user),
        None => directory.tenant(TENANT_ID).into_iter().collect(),
    };
    let value: Vec<Value> = tenants
        .into_iter()
        .map(|tenant| {
            json!({
                "id": format!("/tenants/{}", tenant.tenant_id),
                "tenantId": tenant.tenant_id,
                "tenantCategory": "Home",
                "countryCode": "US",
                "displayName": tenant.display_name,
                "domains": [tenant.default_domain],
                "defaultDomain": tenant.default_domain,
                "tenantType": "AAD",
            })
        })
        .collect();
    json(StatusCode::OK, &json!({"value": value}))
}

/// `GET /subscriptions/{sub}` (the id was checked by the caller).
pub(super) fn get() -> Response {
    json(StatusCode::OK, &subscription())
}
