//! [`GraphClient`]: the Microsoft Graph v1.0 calls `az ad group …` makes (docs/graph-groups.md), through the same
//! policy pipeline, credential and token cache as ARM, with the cloud's Graph endpoint as base and token audience.
//!
//! The base and the audience are one cloud setting, `microsoftGraphResourceId` (docs/graph-groups.md, "Where the calls
//! go"): requests go to that URL without its trailing `/`, then `/v1.0/...`; the token scope is the value verbatim +
//! `/.default` (`https://graph.microsoft.com//.default`, double slash as az sends it). Graph error bodies have ARM's
//! shape (`{"error": {"code", "message"}}`), so they arrive as [`ArmError::Service`]; az prints only their message.
//!
//! Headers (docs/graph-groups.md, "Headers"): az sends Graph calls through its raw-request path, not the ARM SDK, so
//! they carry `Accept: */*` (not ARM's `application/json`) and `ParameterSetName` (the option names typed) beside what
//! the ARM pipeline sends alike: `x-ms-client-request-id` (a new uuid per request), `CommandName`, `Authorization`,
//! `Content-Type: application/json` on bodies and `Accept-Encoding: gzip, deflate`. The `User-Agent` is aksctl's own,
//! as on ARM calls (az's names python and az).

use std::sync::Arc;

use reqwest::Method;
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, HeaderMap, HeaderValue};
use serde_json::{Value, json};
use url::Url;

use crate::{ArmClient, ArmClientOptions, ArmError, Cloud, RetryPolicy};
use aks_identity::credential::TokenSource;

/// A bound on `@odata.nextLink` pages, against servers that link in circles.
const MAX_PAGES: usize = 10_000;

/// The `Accept` header of az's Graph calls (python-requests' default).
pub const GRAPH_ACCEPT: &str = "*/*";

/// The `Accept-Encoding` header of az's Graph calls, spelled as python-requests does (reqwest's own is
/// `gzip,deflate`; its decompression follows the answer's `Content-Encoding` either way).
pub const GRAPH_ACCEPT_ENCODING: &str = "gzip, deflate";

/// The headers a Graph call sends beside the pipeline's: `Accept: */*` and `Accept-Encoding: gzip, deflate`.
fn graph_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static(GRAPH_ACCEPT));
    headers.insert(
        ACCEPT_ENCODING,
        HeaderValue::from_static(GRAPH_ACCEPT_ENCODING),
    );
    headers
}

/// A Microsoft Graph v1.0 client for groups and memberships. Cheap to clone.
#[derive(Clone, Debug)]
pub struct GraphClient {
    pipeline: ArmClient,
    base: Url,
}

impl GraphClient {
    /// A client for `cloud`'s Graph endpoint; `None` when the cloud has none (az: "The endpoint
    /// 'microsoft_graph_resource_id' for this cloud is not set but is used.").
    pub fn new(
        cloud: &Cloud,
        http: reqwest::Client,
        credential: Arc<dyn TokenSource>,
        command_name: Option<String>,
        parameter_set_name: Option<String>,
    ) -> Option<GraphClient> {
        let base = cloud.microsoft_graph.clone()?;
        // The pipeline sends to `resource_manager` and asks tokens for `{arm_audience}/.default`: for Graph both
        // are the Graph resource id.
        let graph_cloud = Cloud {
            resource_manager: base.clone(),
            arm_audience: base.as_str().to_owned(),
            ..cloud.clone()
        };
        let pipeline = ArmClient::new(ArmClientOptions {
            cloud: graph_cloud,
            http,
            credential,
            retry: RetryPolicy::default(),
            command_name,
            parameter_set_name,
        })
        .with_headers(graph_headers());
        Some(GraphClient { pipeline, base })
    }

    /// The token scope: the Graph resource id verbatim + `/.default`.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.base.as_str())
    }

    /// The credential requests are signed with.
    pub fn credential(&self) -> &Arc<dyn TokenSource> {
        self.pipeline.credential()
    }

    /// `{G}/v1.0/{segments...}` (each segment percent-encoded as a path segment) with an optional raw query.
    fn url(&self, segments: &[&str], query: Option<&str>) -> Url {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("the Graph endpoint is an http(s) URL");
            path.pop_if_empty();
            path.push(aks_model::MICROSOFT_GRAPH_API_VERSION);
            path.extend(segments);
        }
        url.set_query(query);
        url
    }

    /// `{G}/v1.0/directoryObjects/{id}`: the `@odata.id` of a member (docs/graph-groups.md, "Requests per command").
    pub fn directory_object_url(&self, id: &str) -> String {
        self.url(&["directoryObjects", id], None).to_string()
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, ArmError> {
        Ok(self.pipeline.send(method, url, body).await?.body)
    }

    /// GET `url` and every `@odata.nextLink` after it (requested verbatim); the `value` arrays concatenated.
    async fn list_all(&self, url: Url) -> Result<Vec<Value>, ArmError> {
        let mut items = Vec::new();
        let mut next = Some(url);
        let mut pages = 0;
        while let Some(url) = next.take() {
            let page = self.send(Method::GET, url.clone(), None).await?;
            if let Some(Value::Array(values)) = page.get("value") {
                items.extend(values.iter().cloned());
            }
            pages += 1;
            next = match page.get("@odata.nextLink").and_then(Value::as_str) {
                Some(link) if !link.is_empty() && pages < MAX_PAGES => {
                    Some(url.join(link).map_err(|error| ArmError::Cloud {
                        url: url.to_string(),
                        reason: format!("@odata.nextLink {link:?} is not a URL: {error}"),
                    })?)
                }
                _ => None,
            };
        }
        Ok(items)
    }

    /// `GET /groups[?$filter=F]` and every page after it.
    pub async fn list_groups(&self, filter: Option<&str>) -> Result<Vec<Value>, ArmError> {
        let query = filter.map(|filter| format!("$filter={}", encode_query_value(filter)));
        self.list_all(self.url(&["groups"], query.as_deref())).await
    }

    /// `POST /groups` with `body`; the created group as Graph answers it.
    pub async fn create_group(&self, body: &Value) -> Result<Value, ArmError> {
        self.send(Method::POST, self.url(&["groups"], None), Some(body))
            .await
    }

    /// `GET /groups/{id}`.
    pub async fn get_group(&self, id: &str) -> Result<Value, ArmError> {
        self.send(Method::GET, self.url(&["groups", id], None), None)
            .await
    }

    /// `DELETE /groups/{id}` (204).
    pub async fn delete_group(&self, id: &str) -> Result<(), ArmError> {
        self.send(Method::DELETE, self.url(&["groups", id], None), None)
            .await
            .map(drop)
    }

    /// `POST /groups/{id}/members/$ref` with `{"@odata.id": odata_id}` (204).
    pub async fn add_member(&self, group_id: &str, odata_id: &str) -> Result<(), ArmError> {
        let body = json!({ "@odata.id": odata_id });
        self.send(
            Method::POST,
            self.url(&["groups", group_id, "members", "$ref"], None),
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// `GET /groups/{id}/members` and every page after it.
    pub async fn list_members(&self, group_id: &str) -> Result<Vec<Value>, ArmError> {
        self.list_all(self.url(&["groups", group_id, "members"], None))
            .await
    }

    /// `POST /directoryObjects/{member}/checkMemberGroups` with `{"groupIds": [...]}`: the given groups `member`
    /// belongs to (transitively), as Graph echoes them.
    pub async fn check_member_groups(
        &self,
        member_id: &str,
        group_ids: &[String],
    ) -> Result<Vec<String>, ArmError> {
        let body = json!({ "groupIds": group_ids });
        let answer = self
            .send(
                Method::POST,
                self.url(&["directoryObjects", member_id, "checkMemberGroups"], None),
                Some(&body),
            )
            .await?;
        Ok(answer
            .get("value")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// Percent-encode a query value with nothing safe but unreserved characters, as az (Python's `quote(safe='')`)
/// does: space `%20`, `'` `%27`, `(` `%28`, `,` `%2C` (docs/graph-groups.md, "Group name resolution").
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aks_identity::credential::{AccessToken, Secret, StaticTokenSource};

    fn client(graph: &str) -> GraphClient {
        let mut cloud = Cloud::builtin("AzureCloud").unwrap();
        cloud.microsoft_graph = Some(Url::parse(graph).unwrap());
        let token = AccessToken {
            token: Secret::new("t"),
            expires_on: time::OffsetDateTime::now_utc(),
        };
        GraphClient::new(
            &cloud,
            reqwest::Client::new(),
            Arc::new(StaticTokenSource::new(token, "static")),
            None,
            None,
        )
        .unwrap()
    }

    #[test]
    fn urls_and_scope_follow_the_graph_resource_id() {
        let public = client("https://graph.microsoft.com/");
        assert_eq!(public.scope(), "https://graph.microsoft.com//.default");
        assert_eq!(
            public.url(&["groups"], None).as_str(),
            "https://graph.microsoft.com/v1.0/groups"
        );
        let local = client("https://127.0.0.1:8443/msgraph/");
        assert_eq!(local.scope(), "https://127.0.0.1:8443/msgraph//.default");
        assert_eq!(
            local.directory_object_url("aaaaaaaa-0000-4000-8000-000000000001"),
            "https://127.0.0.1:8443/msgraph/v1.0/directoryObjects/aaaaaaaa-0000-4000-8000-000000000001"
        );
        assert_eq!(
            local
                .url(&["groups", "{78EF}", "members", "$ref"], None)
                .as_str(),
            "https://127.0.0.1:8443/msgraph/v1.0/groups/%7B78EF%7D/members/$ref"
        );
        let filter = format!(
            "$filter={}",
            encode_query_value("displayName eq 'Dev Team' and mailNickname eq 'devteam'")
        );
        assert_eq!(
            local.url(&["groups"], Some(&filter)).as_str(),
            "https://127.0.0.1:8443/msgraph/v1.0/groups?$filter=displayName%20eq%20%27Dev%20Team%27%20and%20mailNickname%20eq%20%27devteam%27"
        );
        assert_eq!(
            encode_query_value("startswith(displayName,'Dev')"),
            "startswith%28displayName%2C%27Dev%27%29"
        );
    }

    #[test]
    fn graph_headers_replace_the_arm_accept() {
        let headers = graph_headers();
        assert_eq!(headers[ACCEPT], "*/*");
        assert_eq!(headers[ACCEPT_ENCODING], "gzip, deflate");
    }

    #[test]
    fn no_graph_endpoint_no_client() {
        let mut cloud = Cloud::builtin("AzureCloud").unwrap();
        cloud.microsoft_graph = None;
        let token = AccessToken {
            token: Secret::new("t"),
            expires_on: time::OffsetDateTime::now_utc(),
        };
        assert!(
            GraphClient::new(
                &cloud,
                reqwest::Client::new(),
                Arc::new(StaticTokenSource::new(token, "static")),
                None,
                None
            )
            .is_none()
        );
    }
}
