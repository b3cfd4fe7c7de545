//! The typed ARM operations `az aks` and `az group` need, on top of [`ArmClient::send`]: reads (one answer or every
//! `nextLink` page), writes, and long-running operations started with [`ArmClient::begin`] and followed by a
//! [`Poller`] (docs/arm-aks-api.md, "Operations" and "Long-running operations").

use aks_model::{
    CredentialResults, MANAGED_CLUSTERS_API_VERSION, ManagedCluster, RESOURCE_GROUPS_API_VERSION,
    ResourceGroup, SUBSCRIPTIONS_API_VERSION, Subscription,
};
use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use crate::ArmError;
use crate::client::{ArmClient, decode};
use crate::poller::Poller;

/// A bound on `nextLink` pages, against servers that link in circles.
const MAX_PAGES: usize = 10_000;

/// One page of a list answer.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(default)]
    next_link: Option<String>,
}

impl ArmClient {
    async fn get_typed<T: DeserializeOwned>(&self, url: Url) -> Result<T, ArmError> {
        let response = self.send(Method::GET, url.clone(), None).await?;
        decode(&url, response.body)
    }

    /// GET `url` and every `nextLink` after it.
    async fn list_all<T: DeserializeOwned>(&self, url: Url) -> Result<Vec<T>, ArmError> {
        let mut items = Vec::new();
        let mut next = Some(url);
        let mut pages = 0;
        while let Some(url) = next.take() {
            let page: Page<T> = self.get_typed(url.clone()).await?;
            items.extend(page.value);
            pages += 1;
            next = match page.next_link.filter(|link| !link.is_empty()) {
                Some(link) if pages < MAX_PAGES => {
                    Some(url.join(&link).map_err(|error| ArmError::Cloud {
                        url: url.to_string(),
                        reason: format!("nextLink {link:?} is not a URL: {error}"),
                    })?)
                }
                _ => None,
            };
        }
        Ok(items)
    }

    /// `GET /subscriptions` (api-version 2022-12-01), following `nextLink`.
    pub async fn list_subscriptions(&self) -> Result<Vec<Subscription>, ArmError> {
        let url = self.resource_url(
            &["subscriptions"],
            &[("api-version", SUBSCRIPTIONS_API_VERSION)],
        );
        self.list_all(url).await
    }

    fn resource_group_url(&self, subscription: &str, name: &str) -> Url {
        self.resource_url(
            &["subscriptions", subscription, "resourcegroups", name],
            &[("api-version", RESOURCE_GROUPS_API_VERSION)],
        )
    }

    /// `PUT /subscriptions/{sub}/resourcegroups/{name}` (lower-case like az; 200 or 201, not an LRO).
    pub async fn create_or_update_resource_group(
        &self,
        subscription: &str,
        name: &str,
        body: &ResourceGroup,
    ) -> Result<ResourceGroup, ArmError> {
        let url = self.resource_group_url(subscription, name);
        let body = serde_json::to_value(body).expect("a resource group serializes");
        let response = self.send(Method::PUT, url.clone(), Some(&body)).await?;
        decode(&url, response.body)
    }

    /// `GET /subscriptions/{sub}/resourcegroups/{name}`.
    pub async fn get_resource_group(
        &self,
        subscription: &str,
        name: &str,
    ) -> Result<ResourceGroup, ArmError> {
        self.get_typed(self.resource_group_url(subscription, name))
            .await
    }

    /// `GET /subscriptions/{sub}/resourcegroups`, following `nextLink`.
    pub async fn list_resource_groups(
        &self,
        subscription: &str,
    ) -> Result<Vec<ResourceGroup>, ArmError> {
        let url = self.resource_url(
            &["subscriptions", subscription, "resourcegroups"],
            &[("api-version", RESOURCE_GROUPS_API_VERSION)],
        );
        self.list_all(url).await
    }

    /// `DELETE /subscriptions/{sub}/resourcegroups/{name}`: 202 + `Location`, polled until done.
    pub async fn delete_resource_group(
        &self,
        subscription: &str,
        name: &str,
    ) -> Result<Poller, ArmError> {
        let url = self.resource_group_url(subscription, name);
        self.begin(Method::DELETE, url, None).await
    }

    fn managed_cluster_url(
        &self,
        subscription: &str,
        group: &str,
        name: &str,
        action: Option<&str>,
    ) -> Url {
        let mut segments = vec![
            "subscriptions",
            subscription,
            "resourceGroups",
            group,
            "providers",
            "Microsoft.ContainerService",
            "managedClusters",
            name,
        ];
        segments.extend(action);
        self.resource_url(&segments, &[("api-version", MANAGED_CLUSTERS_API_VERSION)])
    }

    /// `GET …/managedClusters/{name}`.
    pub async fn get_managed_cluster(
        &self,
        subscription: &str,
        group: &str,
        name: &str,
    ) -> Result<ManagedCluster, ArmError> {
        self.get_typed(self.managed_cluster_url(subscription, group, name, None))
            .await
    }

    /// `GET /subscriptions/{sub}[/resourceGroups/{group}]/providers/Microsoft.ContainerService/managedClusters`,
    /// following `nextLink`.
    pub async fn list_managed_clusters(
        &self,
        subscription: &str,
        group: Option<&str>,
    ) -> Result<Vec<ManagedCluster>, ArmError> {
        let mut segments = vec!["subscriptions", subscription];
        if let Some(group) = group {
            segments.extend(["resourceGroups", group]);
        }
        segments.extend(["providers", "Microsoft.ContainerService", "managedClusters"]);
        let url = self.resource_url(&segments, &[("api-version", MANAGED_CLUSTERS_API_VERSION)]);
        self.list_all(url).await
    }

    /// `PUT …/managedClusters/{name}`: 201/200 + `Azure-AsyncOperation`; the poller follows it.
    pub async fn begin_create_or_update_managed_cluster(
        &self,
        subscription: &str,
        group: &str,
        name: &str,
        body: &ManagedCluster,
    ) -> Result<Poller, ArmError> {
        let url = self.managed_cluster_url(subscription, group, name, None);
        let body = serde_json::to_value(body).expect("a managed cluster serializes");
        self.begin(Method::PUT, url, Some(&body)).await
    }

    /// `DELETE …/managedClusters/{name}`: 202 + `Azure-AsyncOperation`/`Location`, or 204 when absent.
    pub async fn begin_delete_managed_cluster(
        &self,
        subscription: &str,
        group: &str,
        name: &str,
    ) -> Result<Poller, ArmError> {
        let url = self.managed_cluster_url(subscription, group, name, None);
        self.begin(Method::DELETE, url, None).await
    }

    /// `POST …/managedClusters/{name}/listClusterUserCredential?api-version=…[&server-fqdn=public][&format=…]`
    /// (no body; the query order is az's).
    pub async fn list_cluster_user_credentials(
        &self,
        subscription: &str,
        group: &str,
        name: &str,
        format: Option<&str>,
        public_fqdn: bool,
    ) -> Result<CredentialResults, ArmError> {
        let mut url =
            self.managed_cluster_url(subscription, group, name, Some("listClusterUserCredential"));
        {
            let mut pairs = url.query_pairs_mut();
            if public_fqdn {
                pairs.append_pair("server-fqdn", "public");
            }
            if let Some(format) = format {
                pairs.append_pair("format", format);
            }
        }
        let response = self.send(Method::POST, url.clone(), None).await?;
        decode(&url, response.body)
    }

    /// `POST …/managedClusters/{name}/listClusterAdminCredential?api-version=…[&server-fqdn=public]`.
    pub async fn list_cluster_admin_credentials(
        &self,
        subscription: &str,
        group: &str,
        name: &str,
        public_fqdn: bool,
    ) -> Result<CredentialResults, ArmError> {
        let mut url = self.managed_cluster_url(
            subscription,
            group,
            name,
            Some("listClusterAdminCredential"),
        );
        if public_fqdn {
            url.query_pairs_mut().append_pair("server-fqdn", "public");
        }
        let response = self.send(Method::POST, url.clone(), None).await?;
        decode(&url, response.body)
    }

    /// Send the first request of a long-running operation and wrap the answer in a [`Poller`].
    pub async fn begin(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<Poller, ArmError> {
        let initial = self.send(method.clone(), url.clone(), body).await?;
        Ok(Poller::new(self.clone(), method, url, initial))
    }
}
