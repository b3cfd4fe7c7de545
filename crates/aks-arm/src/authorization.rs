//! `Microsoft.Authorization` role assignments and role definitions: the requests `az role assignment …` and
//! `az role definition list` send (docs/az-behaviour.md, "Role assignments"), with az's api-versions and its
//! query order (`api-version` first, then `$filter` percent-encoded as Python's `quote(safe='')` does).
//!
//! Bodies stay JSON values: az prints what ARM answers, keeping fields aksctl does not know.

use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::graph::encode_query_value;
use crate::{ArmClient, ArmError};
use aks_model::{ROLE_ASSIGNMENTS_API_VERSION, ROLE_DEFINITIONS_API_VERSION};

/// The provider path segment of both collections.
const PROVIDER: &str = "providers/Microsoft.Authorization";

impl ArmClient {
    /// `{scope}/providers/Microsoft.Authorization/{collection}[/{name}]?api-version=…[&$filter=…]`; `scope` and
    /// `name` are ids as typed (`/subscriptions/…`), joined verbatim as az's SDK does (`skip_quote`).
    fn authorization_url(
        &self,
        scope: &str,
        collection: &str,
        name: Option<&str>,
        api_version: &str,
        filter: Option<&str>,
    ) -> Url {
        let scope = scope.trim_end_matches('/');
        let mut path = format!("{scope}/{PROVIDER}/{collection}");
        if let Some(name) = name {
            path.push('/');
            path.push_str(name);
        }
        path.push_str(&format!("?api-version={api_version}"));
        if let Some(filter) = filter {
            path.push_str(&format!("&$filter={}", encode_query_value(filter)));
        }
        self.url(&path)
    }

    /// An id (`/subscriptions/…/roleAssignments/{name}`) with `?api-version=`.
    fn id_url(&self, id: &str, api_version: &str) -> Url {
        self.url(&format!("{id}?api-version={api_version}"))
    }

    /// `GET {scope}/providers/Microsoft.Authorization/{collection}[?$filter=…]`, every page.
    async fn list_collection(
        &self,
        scope: &str,
        collection: &str,
        api_version: &str,
        filter: Option<&str>,
    ) -> Result<Vec<Value>, ArmError> {
        let url = self.authorization_url(scope, collection, None, api_version, filter);
        self.list_all(url).await
    }

    /// `GET {scope}/providers/Microsoft.Authorization/roleAssignments[?$filter=…]`, every page.
    pub async fn list_role_assignments(
        &self,
        scope: &str,
        filter: Option<&str>,
    ) -> Result<Vec<Value>, ArmError> {
        self.list_collection(
            scope,
            "roleAssignments",
            ROLE_ASSIGNMENTS_API_VERSION,
            filter,
        )
        .await
    }

    /// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}` with `body`; the assignment ARM
    /// answers (201 new).
    pub async fn create_role_assignment(
        &self,
        scope: &str,
        name: &str,
        body: &Value,
    ) -> Result<Value, ArmError> {
        let url = self.authorization_url(
            scope,
            "roleAssignments",
            Some(name),
            ROLE_ASSIGNMENTS_API_VERSION,
            None,
        );
        Ok(self.send(Method::PUT, url, Some(body)).await?.body)
    }

    /// `DELETE {id}` of a role assignment (200 with the assignment, or 204 when it was already gone).
    pub async fn delete_role_assignment_by_id(&self, id: &str) -> Result<(), ArmError> {
        let url = self.id_url(id, ROLE_ASSIGNMENTS_API_VERSION);
        self.send(Method::DELETE, url, None).await.map(drop)
    }

    /// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions[?$filter=…]`, every page.
    pub async fn list_role_definitions(
        &self,
        scope: &str,
        filter: Option<&str>,
    ) -> Result<Vec<Value>, ArmError> {
        self.list_collection(
            scope,
            "roleDefinitions",
            ROLE_DEFINITIONS_API_VERSION,
            filter,
        )
        .await
    }

    /// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{name}`.
    pub async fn get_role_definition(&self, scope: &str, name: &str) -> Result<Value, ArmError> {
        let url = self.authorization_url(
            scope,
            "roleDefinitions",
            Some(name),
            ROLE_DEFINITIONS_API_VERSION,
            None,
        );
        Ok(self.send(Method::GET, url, None).await?.body)
    }

    /// `GET {id}` of a role definition (`…/providers/Microsoft.Authorization/roleDefinitions/{guid}`).
    pub async fn get_role_definition_by_id(&self, id: &str) -> Result<Value, ArmError> {
        let url = self.id_url(id, ROLE_DEFINITIONS_API_VERSION);
        Ok(self.send(Method::GET, url, None).await?.body)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aks_identity::credential::{AccessToken, Secret, StaticTokenSource};

    use crate::{ArmClientOptions, Cloud, RetryPolicy};

    use super::*;

    fn client() -> ArmClient {
        let mut cloud = Cloud::builtin("AzureCloud").unwrap();
        cloud.resource_manager = Url::parse("https://127.0.0.1:8443/").unwrap();
        let token = AccessToken {
            token: Secret::new("t"),
            expires_on: time::OffsetDateTime::now_utc(),
        };
        ArmClient::new(ArmClientOptions {
            cloud,
            http: reqwest::Client::new(),
            credential: Arc::new(StaticTokenSource::new(token, "static")),
            retry: RetryPolicy::default(),
            command_name: None,
            parameter_set_name: None,
        })
    }

    #[test]
    fn urls_as_az_sends_them() {
        let arm = client();
        let scope = "/subscriptions/s/resourceGroups/rg";
        assert_eq!(
            arm.authorization_url(
                scope,
                "roleAssignments",
                None,
                ROLE_ASSIGNMENTS_API_VERSION,
                Some("atScope() and assignedTo('x')")
            )
            .as_str(),
            "https://127.0.0.1:8443/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/\
             roleAssignments?api-version=2022-04-01&$filter=atScope%28%29%20and%20assignedTo%28%27x%27%29"
        );
        assert_eq!(
            arm.authorization_url(
                "/subscriptions/s/",
                "roleDefinitions",
                None,
                ROLE_DEFINITIONS_API_VERSION,
                Some("roleName eq 'Azure Kubernetes Service Cluster Admin Role'")
            )
            .as_str(),
            "https://127.0.0.1:8443/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions\
             ?api-version=2022-05-01-preview&$filter=roleName%20eq%20%27Azure%20Kubernetes%20Service%20Cluster\
             %20Admin%20Role%27"
        );
        assert_eq!(
            arm.id_url(
                "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/n",
                ROLE_ASSIGNMENTS_API_VERSION
            )
            .as_str(),
            "https://127.0.0.1:8443/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/n\
             ?api-version=2022-04-01"
        );
    }
}
