//! Registering a cloud from its ARM endpoint: az's `cloud register --endpoint-resource-manager URL` reads
//! `{URL}metadata/endpoints` and builds a [`Cloud`] from it (docs/arm-aks-api.md, "Clouds and the metadata
//! endpoint").

use url::Url;

use crate::ArmError;
use crate::cloud::Cloud;
use crate::error::truncate_text;

/// Build a [`Cloud`] from the metadata document az's `cloud register --endpoint-resource-manager URL` reads.
///
/// Pure part of [`discover_cloud`]: `resourceManager` (else `resource_manager`), `authentication.loginEndpoint`
/// (authority host), `authentication.audiences[0]` (ARM audience), `microsoftGraphResourceId`.
pub fn cloud_from_metadata(
    name: &str,
    resource_manager: &Url,
    metadata: &aks_model::CloudMetadata,
    source: &Url,
) -> Result<Cloud, ArmError> {
    let bad = |reason: String| ArmError::Cloud {
        url: source.to_string(),
        reason,
    };
    let arm = if metadata.resource_manager.is_empty() {
        resource_manager.clone()
    } else {
        Url::parse(&metadata.resource_manager).map_err(|error| {
            bad(format!(
                "resourceManager {:?} is not a URL: {error}",
                metadata.resource_manager
            ))
        })?
    };
    let login = &metadata.authentication.login_endpoint;
    if login.is_empty() {
        return Err(bad("authentication.loginEndpoint is missing".into()));
    }
    let authority_host = Url::parse(login).map_err(|error| {
        bad(format!(
            "authentication.loginEndpoint {login:?} is not a URL: {error}"
        ))
    })?;
    let arm_audience = metadata
        .authentication
        .audiences
        .first()
        .filter(|audience| !audience.is_empty())
        .cloned()
        .ok_or_else(|| bad("authentication.audiences is empty".into()))?;
    let microsoft_graph = metadata
        .microsoft_graph_resource_id
        .as_deref()
        .filter(|graph| !graph.is_empty())
        .and_then(|graph| Url::parse(graph).ok());
    Ok(Cloud {
        name: name.to_owned(),
        resource_manager: arm,
        authority_host,
        arm_audience,
        microsoft_graph,
        kubelogin_environment: "AzurePublicCloud".into(),
    })
}

/// The metadata URL az reads for a resource manager endpoint: `{URL}metadata/endpoints?api-version=2022-09-01`.
pub fn metadata_url(resource_manager: &Url) -> Url {
    let mut base = resource_manager.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let mut url = base
        .join("metadata/endpoints")
        .expect("a relative path joins onto an http(s) URL");
    url.query_pairs_mut()
        .append_pair("api-version", aks_model::CLOUD_METADATA_API_VERSION);
    url
}

/// `az cloud register --endpoint-resource-manager URL`: GET `{URL}metadata/endpoints?api-version=2022-09-01`
/// (a single object) and build the cloud from `resourceManager`, `authentication.loginEndpoint` (authority host),
/// `authentication.audiences[0]` (ARM audience) and `microsoftGraphResourceId`
/// (docs/arm-aks-api.md, "Clouds and the metadata endpoint").
///
/// Like az, the request carries no credentials.
pub async fn discover_cloud(
    http: &reqwest::Client,
    name: &str,
    resource_manager: &Url,
) -> Result<Cloud, ArmError> {
    let url = metadata_url(resource_manager);
    tracing::debug!(%url, "discovering cloud endpoints");
    let transport = |source| ArmError::Transport {
        method: "GET".into(),
        url: url.to_string(),
        source,
    };
    let response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    let body = response.bytes().await.map_err(transport)?;
    tracing::debug!(%url, status = status.as_u16(), bytes = body.len(), "cloud metadata answer");
    if !status.is_success() {
        return Err(ArmError::Cloud {
            url: url.to_string(),
            reason: format!(
                "HTTP {}: {}",
                status.as_u16(),
                truncate_text(&String::from_utf8_lossy(&body))
            ),
        });
    }
    let metadata: aks_model::CloudMetadata =
        serde_json::from_slice(&body).map_err(|source| ArmError::Decode {
            url: url.to_string(),
            source,
        })?;
    cloud_from_metadata(name, resource_manager, &metadata, &url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_keeps_base_path_and_adds_api_version() {
        let url = metadata_url(&Url::parse("https://127.0.0.1:8443").unwrap());
        assert_eq!(
            url.as_str(),
            "https://127.0.0.1:8443/metadata/endpoints?api-version=2022-09-01"
        );
        let url = metadata_url(&Url::parse("https://host/arm").unwrap());
        assert_eq!(
            url.as_str(),
            "https://host/arm/metadata/endpoints?api-version=2022-09-01"
        );
    }

    #[test]
    fn cloud_from_metadata_reads_az_fields() {
        let metadata: aks_model::CloudMetadata = serde_json::from_value(serde_json::json!({
            "name": "LocalCloud",
            "resourceManager": "https://127.0.0.1:8443/",
            "authentication": {"loginEndpoint": "https://127.0.0.1:8443/",
                               "audiences": ["https://management.core.windows.net/", "https://other/"],
                               "tenant": "common"},
            "microsoftGraphResourceId": "https://127.0.0.1:8443/graph/",
            "suffixes": {"storage": "core.windows.net"}
        }))
        .unwrap();
        let rm = Url::parse("https://127.0.0.1:8443/").unwrap();
        let cloud = cloud_from_metadata("Local", &rm, &metadata, &metadata_url(&rm)).unwrap();
        assert_eq!(cloud.name, "Local");
        assert_eq!(cloud.resource_manager, rm);
        assert_eq!(cloud.authority_host.as_str(), "https://127.0.0.1:8443/");
        assert_eq!(cloud.arm_audience, "https://management.core.windows.net/");
        assert_eq!(
            cloud.microsoft_graph.unwrap().as_str(),
            "https://127.0.0.1:8443/graph/"
        );
        assert_eq!(cloud.kubelogin_environment, "AzurePublicCloud");
        let round: Cloud = serde_json::from_str(
            &serde_json::to_string(&Cloud::builtin("AzureCloud").unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(round, Cloud::builtin("AzureCloud").unwrap());
    }

    /// A one-shot HTTP/1.1 server on 127.0.0.1 that answers one request with `body` and reports the request line.
    async fn serve_once(
        status: &'static str,
        body: &'static str,
    ) -> (Url, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let handle = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buffer = vec![0; 8192];
            let read = socket.read(&mut buffer).await.unwrap();
            let request = String::from_utf8_lossy(&buffer[..read]).into_owned();
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            request.lines().next().unwrap_or_default().to_owned()
        });
        (url, handle)
    }

    #[tokio::test]
    async fn discover_cloud_reads_the_metadata_endpoint() {
        let (url, server) = serve_once(
            "200 OK",
            r#"{"name":"Local","resourceManager":"https://127.0.0.1:8443/","authentication":{"loginEndpoint":"https://127.0.0.1:8443/","audiences":["https://management.core.windows.net/"]}}"#,
        )
        .await;
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let cloud = discover_cloud(&http, "LocalCloud", &url).await.unwrap();
        assert_eq!(
            server.await.unwrap(),
            "GET /metadata/endpoints?api-version=2022-09-01 HTTP/1.1"
        );
        assert_eq!(cloud.name, "LocalCloud");
        assert_eq!(cloud.resource_manager.as_str(), "https://127.0.0.1:8443/");

        let (url, _server) = serve_once("404 Not Found", r#"{"error":"nope"}"#).await;
        let error = discover_cloud(&http, "X", &url)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("HTTP 404") && error.contains("metadata/endpoints"),
            "{error}"
        );
    }

    #[test]
    fn cloud_from_metadata_rejects_missing_audience() {
        let metadata: aks_model::CloudMetadata = serde_json::from_value(serde_json::json!({
            "authentication": {"loginEndpoint": "https://login/", "audiences": []}
        }))
        .unwrap();
        let rm = Url::parse("https://arm/").unwrap();
        let error = cloud_from_metadata("X", &rm, &metadata, &metadata_url(&rm)).unwrap_err();
        assert!(error.to_string().contains("audiences"), "{error}");
    }
}
