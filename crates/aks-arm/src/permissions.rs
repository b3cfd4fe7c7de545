//! `GET {scope}/providers/Microsoft.Authorization/permissions`: the caller's own effective permissions at a scope
//! (Azure REST API reference, "Permissions - List For Resource":
//! <https://learn.microsoft.com/rest/api/authorization/permissions/list-for-resource>); whether they grant an
//! operation is [`Permission::allows_action`] / [`Permission::allows_data_action`].

use aks_model::{PERMISSIONS_API_VERSION, Permission};
use serde::Deserialize;

use crate::{ArmClient, ArmError};

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    value: Vec<Permission>,
}

impl ArmClient {
    /// `GET {scope}/providers/Microsoft.Authorization/permissions`: the caller's permissions at `scope` (a
    /// resource id as `/subscriptions/…`).
    pub async fn list_permissions(&self, scope: &str) -> Result<Vec<Permission>, ArmError> {
        let scope = scope.trim_end_matches('/');
        let url = self.url(&format!(
            "{scope}/providers/Microsoft.Authorization/permissions?api-version={PERMISSIONS_API_VERSION}"
        ));
        let response = self.send(reqwest::Method::GET, url.clone(), None).await?;
        let page: Page = crate::client::decode(&url, response.body)?;
        Ok(page.value)
    }
}
