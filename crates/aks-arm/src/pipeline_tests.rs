//! The pipeline and the poller against a scripted in-memory transport (no network).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;
use time::OffsetDateTime;

use crate::transport::{Transport, TransportRequest, TransportResponse};
use crate::*;
use aks_identity::credential::{AccessToken, CredentialError, Secret, TokenSource};

#[derive(Debug, Default)]
struct Scripted {
    responses: Mutex<VecDeque<TransportResponse>>,
    requests: Mutex<Vec<TransportRequest>>,
}

impl Scripted {
    fn new(responses: Vec<TransportResponse>) -> Arc<Scripted> {
        Arc::new(Scripted {
            responses: Mutex::new(responses.into()),
            requests: Mutex::default(),
        })
    }

    fn requests(&self) -> Vec<TransportRequest> {
        self.requests.lock().unwrap().clone()
    }

    fn lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|request| format!("{} {}", request.method, request.url))
            .collect()
    }
}

#[async_trait]
impl Transport for Scripted {
    async fn execute(
        &self,
        request: TransportRequest,
    ) -> Result<TransportResponse, reqwest::Error> {
        self.requests.lock().unwrap().push(request);
        Ok(self
            .responses
            .lock()
            .unwrap()
            .pop_front()
            .expect("the script has an answer for every request"))
    }
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> TransportResponse {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    TransportResponse {
        status,
        headers: map,
        body: body.as_bytes().to_vec(),
    }
}

#[derive(Debug, Default)]
struct Tokens {
    cached: AtomicUsize,
    fresh: AtomicUsize,
}

#[async_trait]
impl TokenSource for Tokens {
    async fn token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        assert_eq!(scope, "https://management.core.windows.net//.default");
        let n = self.cached.fetch_add(1, Ordering::SeqCst);
        Ok(AccessToken {
            token: Secret::new(format!("cached-token-{n}")),
            expires_on: OffsetDateTime::now_utc() + time::Duration::hours(1),
        })
    }

    async fn fresh_token(&self, _scope: &str) -> Result<AccessToken, CredentialError> {
        let n = self.fresh.fetch_add(1, Ordering::SeqCst);
        Ok(AccessToken {
            token: Secret::new(format!("fresh-token-{n}")),
            expires_on: OffsetDateTime::now_utc() + time::Duration::hours(1),
        })
    }

    fn describe(&self) -> String {
        "test tokens".into()
    }

    fn identity(&self) -> String {
        "pipeline-test".into()
    }
}

fn cloud() -> Cloud {
    Cloud {
        name: "LocalCloud".into(),
        resource_manager: url::Url::parse("https://127.0.0.1:8443/").unwrap(),
        authority_host: url::Url::parse("https://127.0.0.1:8443/").unwrap(),
        arm_audience: "https://management.core.windows.net/".into(),
        microsoft_graph: None,
        kubelogin_environment: "AzurePublicCloud".into(),
    }
}

fn options(tokens: Arc<Tokens>) -> ArmClientOptions {
    ArmClientOptions {
        cloud: cloud(),
        http: reqwest::Client::new(),
        credential: tokens,
        retry: RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        },
        command_name: Some("aks get-credentials".into()),
        parameter_set_name: Some("-g -n".into()),
    }
}

fn scripted_client(responses: Vec<TransportResponse>) -> (ArmClient, Arc<Scripted>, Arc<Tokens>) {
    let transport = Scripted::new(responses);
    let tokens = Arc::new(Tokens::default());
    let client = ArmClient::with_transport(options(tokens.clone()), transport.clone());
    (client, transport, tokens)
}

const SUB: &str = "00000000-0000-0000-0000-0000000000aa";
const MC: &str = "https://127.0.0.1:8443/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters";
const OP: &str = "https://127.0.0.1:8443/subscriptions/00000000-0000-0000-0000-0000000000aa/providers/Microsoft.ContainerService/locations/centralus/operations/op1?api-version=2016-03-30";

#[tokio::test]
async fn per_try_headers_are_set_and_request_ids_are_fresh() {
    let (client, transport, _) = scripted_client(vec![
        answer(503, &[("retry-after-ms", "1")], ""),
        answer(200, &[], r#"{"name":"rg1","location":"eastus"}"#),
    ]);
    let body = json!({"location": "eastus"});
    let response = client
        .send(
            Method::PUT,
            client.url("/subscriptions/s/resourcegroups/rg1?api-version=x"),
            Some(&body),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body["name"], "rg1");
    let requests = transport.requests();
    assert_eq!(requests.len(), 2);
    let header = |index: usize, name: &str| {
        requests[index]
            .headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    assert_eq!(header(0, "authorization").unwrap(), "Bearer cached-token-0");
    assert_eq!(header(0, "accept").unwrap(), "application/json");
    assert_eq!(header(0, "content-type").unwrap(), "application/json");
    assert_eq!(header(0, "commandname").unwrap(), "aks get-credentials");
    assert_eq!(header(0, "parametersetname").unwrap(), "-g -n");
    let first = header(0, "x-ms-client-request-id").unwrap();
    let second = header(1, "x-ms-client-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(&first).is_ok());
    assert_ne!(first, second, "a fresh request id per try");
    assert_eq!(
        requests[0].body.as_deref(),
        Some(br#"{"location":"eastus"}"#.as_slice())
    );
    assert_eq!(
        requests[0].url.as_str(),
        "https://127.0.0.1:8443/subscriptions/s/resourcegroups/rg1?api-version=x"
    );
    // Debug output of requests never shows the bearer token.
    assert!(!format!("{:?}", requests[0]).contains("cached-token"));
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_error_is_reported() {
    let throttled = || {
        answer(
            429,
            &[("retry-after", "0"), ("x-ms-request-id", "req-9")],
            r#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#,
        )
    };
    let (client, transport, _) = scripted_client((0..5).map(|_| throttled()).collect());
    let error = client
        .send(
            Method::GET,
            client.url("/subscriptions?api-version=1"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(transport.requests().len(), 5, "1 try + 4 retries");
    match &error {
        ArmError::Service {
            status,
            code,
            request_id,
            ..
        } => {
            assert_eq!(*status, 429);
            assert_eq!(code, "TooManyRequests");
            assert_eq!(request_id.as_deref(), Some("req-9"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        error.az_text(),
        "(TooManyRequests) slow down\nCode: TooManyRequests\nMessage: slow down"
    );

    // 4xx other than 408/429 are not retried.
    let (client, transport, _) = scripted_client(vec![answer(
        404,
        &[],
        r#"{"error":{"code":"ResourceNotFound","message":"managedClusters/nope not found"}}"#,
    )]);
    let error = client
        .get_managed_cluster(SUB, "rg1", "nope")
        .await
        .unwrap_err();
    assert!(error.is_not_found());
    assert_eq!(transport.requests().len(), 1);
}

#[tokio::test]
async fn rejected_token_is_replaced_once() {
    let rejected = || {
        answer(
            401,
            &[],
            r#"{"error":{"code":"ExpiredAuthenticationToken","message":"The access token expiry UTC time is earlier than current UTC time."}}"#,
        )
    };
    let (client, transport, tokens) = scripted_client(vec![rejected(), answer(200, &[], "{}")]);
    client
        .send(
            Method::GET,
            client.url("/subscriptions?api-version=1"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(tokens.fresh.load(Ordering::SeqCst), 1);
    let requests = transport.requests();
    assert_eq!(
        requests[1].headers["authorization"].to_str().unwrap(),
        "Bearer fresh-token-0"
    );

    let (client, transport, tokens) = scripted_client(vec![rejected(), rejected()]);
    let error = client
        .send(
            Method::GET,
            client.url("/subscriptions?api-version=1"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ExpiredAuthenticationToken"));
    assert_eq!(transport.requests().len(), 2);
    assert_eq!(tokens.fresh.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn non_json_errors_and_empty_bodies() {
    let (client, _, _) = scripted_client(vec![
        answer(400, &[], "plain text failure"),
        answer(204, &[], ""),
    ]);
    let error = client
        .send(Method::GET, client.url("/x"), None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("Bad Request"));
    assert!(error.az_text().contains("Message: plain text failure"));
    let response = client
        .send(Method::DELETE, client.url("/x"), None)
        .await
        .unwrap();
    assert_eq!(response.body, serde_json::Value::Null);
}

#[tokio::test]
async fn create_follows_azure_async_operation_then_gets_the_resource() {
    let (client, transport, _) = scripted_client(vec![
        answer(
            201,
            &[("azure-asyncoperation", OP), ("retry-after", "1")],
            r#"{"name":"c1","properties":{"provisioningState":"Creating"}}"#,
        ),
        answer(
            200,
            &[("retry-after-ms", "5")],
            r#"{"name":"op1","status":"InProgress"}"#,
        ),
        answer(200, &[], r#"{"name":"op1","status":"Succeeded"}"#),
        answer(
            200,
            &[],
            r#"{"name":"c1","properties":{"provisioningState":"Succeeded"}}"#,
        ),
    ]);
    let cluster: aks_model::ManagedCluster =
        serde_json::from_value(json!({"location": "centralus"})).unwrap();
    let mut poller = client
        .begin_create_or_update_managed_cluster(SUB, "rg1", "c1", &cluster)
        .await
        .unwrap();
    assert_eq!(poller.initial().status, 201);
    assert_eq!(
        poller.next_delay(),
        Duration::ZERO,
        "the first poll is immediate"
    );
    let first = poller.poll().await.unwrap();
    assert!(matches!(&first, PollStatus::InProgress { status, .. } if status == "InProgress"));
    assert_eq!(
        poller.next_delay(),
        Duration::from_millis(5),
        "the status answer's retry-after-ms is honoured"
    );
    let mut seen = Vec::new();
    let result = poller
        .wait_with(&mut |status: &PollStatus| seen.push(status.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result["properties"]["provisioningState"], "Succeeded");
    assert_eq!(seen, [PollStatus::Succeeded]);
    assert_eq!(
        transport.lines(),
        vec![
            format!("PUT {MC}/c1?api-version=2026-08-01"),
            format!("GET {OP}"),
            format!("GET {OP}"),
            format!("GET {MC}/c1?api-version=2026-08-01"),
        ]
    );
}

#[tokio::test]
async fn failed_operation_becomes_operation_failed_with_az_text() {
    let (client, transport, _) = scripted_client(vec![
        answer(
            201,
            &[("azure-asyncoperation", OP)],
            r#"{"properties":{"provisioningState":"Creating"}}"#,
        ),
        answer(
            200,
            &[],
            r#"{"status":"Failed","error":{"code":"CreateVMSSAgentPoolFailed","message":"Fake failure."}}"#,
        ),
    ]);
    let cluster: aks_model::ManagedCluster =
        serde_json::from_value(json!({"location": "x"})).unwrap();
    let error = client
        .begin_create_or_update_managed_cluster(SUB, "rg1", "lrofail1", &cluster)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap_err();
    assert_eq!(
        error.az_text(),
        "(CreateVMSSAgentPoolFailed) Fake failure.\nCode: CreateVMSSAgentPoolFailed\nMessage: Fake failure."
    );
    assert!(matches!(error, ArmError::OperationFailed { ref status, .. } if status == "Failed"));
    assert_eq!(
        transport.requests().len(),
        2,
        "no final GET after a failure"
    );
}

#[tokio::test]
async fn delete_follows_location_and_returns_nothing() {
    let location =
        "https://127.0.0.1:8443/subscriptions/s/operationresults/op2?api-version=2024-11-01";
    let (client, transport, _) = scripted_client(vec![
        answer(202, &[("location", location), ("retry-after", "15")], ""),
        answer(202, &[("retry-after-ms", "1")], ""),
        answer(200, &[], ""),
    ]);
    let mut poller = client.delete_resource_group(SUB, "RG1").await.unwrap();
    assert_eq!(
        poller.resource_url().as_str(),
        format!(
            "https://127.0.0.1:8443/subscriptions/{SUB}/resourcegroups/RG1?api-version=2024-11-01"
        )
    );
    let first = poller.poll().await.unwrap();
    assert!(matches!(first, PollStatus::InProgress { .. }));
    assert_eq!(poller.next_delay(), Duration::from_millis(1));
    assert_eq!(poller.wait().await.unwrap(), None);
    assert_eq!(transport.requests().len(), 3);
}

#[tokio::test]
async fn without_headers_the_resource_provisioning_state_is_polled() {
    let (client, transport, _) = scripted_client(vec![
        answer(
            201,
            &[],
            r#"{"properties":{"provisioningState":"Creating"}}"#,
        ),
        answer(
            200,
            &[],
            r#"{"properties":{"provisioningState":"Creating"}}"#,
        ),
    ]);
    let cluster: aks_model::ManagedCluster =
        serde_json::from_value(json!({"location": "x"})).unwrap();
    let mut poller = client
        .begin_create_or_update_managed_cluster(SUB, "rg1", "lrobody1", &cluster)
        .await
        .unwrap();
    let status = poller.poll().await.unwrap();
    assert!(matches!(status, PollStatus::InProgress { ref status, .. } if status == "Creating"));
    assert_eq!(
        poller.next_delay(),
        DEFAULT_POLL_INTERVAL,
        "30 s without a retry header"
    );
    assert_eq!(transport.requests().len(), 2);

    // A synchronous answer needs no polling at all.
    let (client, transport, _) = scripted_client(vec![answer(
        200,
        &[],
        r#"{"name":"c","properties":{"provisioningState":"Succeeded"}}"#,
    )]);
    let poller = client
        .begin_create_or_update_managed_cluster(SUB, "rg1", "lrosync1", &cluster)
        .await
        .unwrap();
    assert!(poller.is_done());
    assert_eq!(poller.wait().await.unwrap().unwrap()["name"], "c");
    assert_eq!(transport.requests().len(), 1);

    // DELETE 204: done.
    let (client, _, _) = scripted_client(vec![answer(204, &[], "")]);
    let poller = client
        .begin_delete_managed_cluster(SUB, "rg1", "gone")
        .await
        .unwrap();
    assert!(poller.is_done());
}

#[tokio::test]
async fn lists_follow_next_link_and_credentials_use_az_query_order() {
    let next = format!("{MC}?api-version=2026-08-01&$skiptoken=abc");
    let (client, transport, _) = scripted_client(vec![
        answer(
            200,
            &[],
            &json!({"value": [{"name": "a", "location": "x"}], "nextLink": next}).to_string(),
        ),
        answer(200, &[], r#"{"value":[{"name":"b","location":"x"}]}"#),
        answer(
            200,
            &[],
            r#"{"kubeconfigs":[{"name":"clusterUser","value":"YQ=="}]}"#,
        ),
        answer(200, &[], r#"{"kubeconfigs":[]}"#),
    ]);
    let clusters = client
        .list_managed_clusters(SUB, Some("rg1"))
        .await
        .unwrap();
    assert_eq!(clusters.len(), 2);
    let credentials = client
        .list_cluster_user_credentials(SUB, "rg1", "c1", Some("exec"), true)
        .await
        .unwrap();
    assert_eq!(credentials.kubeconfigs[0].value, "YQ==");
    client
        .list_cluster_admin_credentials(SUB, "rg1", "c1", false)
        .await
        .unwrap();
    let lines = transport.lines();
    assert_eq!(lines[0], format!("GET {MC}?api-version=2026-08-01"));
    assert_eq!(lines[1], format!("GET {next}"));
    assert_eq!(
        lines[2],
        format!(
            "POST {MC}/c1/listClusterUserCredential?api-version=2026-08-01&server-fqdn=public&format=exec"
        )
    );
    assert_eq!(
        lines[3],
        format!("POST {MC}/c1/listClusterAdminCredential?api-version=2026-08-01")
    );
    assert!(
        transport.requests()[2].body.is_none(),
        "credential POSTs carry no body"
    );
    assert!(
        transport.requests()[2]
            .headers
            .get("content-type")
            .is_none()
    );
}

#[tokio::test]
async fn typed_resource_group_and_subscription_calls() {
    let (client, transport, _) = scripted_client(vec![
        answer(
            201,
            &[],
            r#"{"id":"/subscriptions/s/resourceGroups/rg1","name":"rg1","location":"centralus","properties":{"provisioningState":"Succeeded"}}"#,
        ),
        answer(
            200,
            &[],
            r#"{"value":[{"subscriptionId":"s","tenantId":"t","displayName":"Fake","state":"Enabled","id":"/subscriptions/s"}],"count":{"type":"Total","value":1}}"#,
        ),
    ]);
    let group = aks_model::ResourceGroup {
        location: "centralus".into(),
        ..Default::default()
    };
    let created = client
        .create_or_update_resource_group(SUB, "rg1", &group)
        .await
        .unwrap();
    assert_eq!(created.name.as_deref(), Some("rg1"));
    let subscriptions = client.list_subscriptions().await.unwrap();
    assert_eq!(subscriptions[0].display_name, "Fake");
    let lines = transport.lines();
    assert_eq!(
        lines[0],
        format!(
            "PUT https://127.0.0.1:8443/subscriptions/{SUB}/resourcegroups/rg1?api-version=2024-11-01"
        )
    );
    assert_eq!(
        lines[1],
        "GET https://127.0.0.1:8443/subscriptions?api-version=2022-12-01"
    );
    assert_eq!(
        transport.requests()[0].body.as_deref(),
        Some(br#"{"location":"centralus"}"#.as_slice())
    );
}

#[tokio::test]
async fn connection_failures_are_retried_then_reported_with_their_cause() {
    // Port 1 on loopback: nothing listens, so the connection is refused at once.
    let tokens = Arc::new(Tokens::default());
    let client = ArmClient::new(options(tokens.clone()));
    let url = url::Url::parse("http://127.0.0.1:1/subscriptions?api-version=1").unwrap();
    let error = client.send(Method::GET, url, None).await.unwrap_err();
    assert!(matches!(error, ArmError::Transport { .. }), "{error:?}");
    assert_eq!(tokens.cached.load(Ordering::SeqCst), 5, "1 try + 4 retries");
    let text = error.to_string();
    assert!(
        text.starts_with("GET http://127.0.0.1:1/subscriptions"),
        "{text}"
    );
    assert!(text.to_lowercase().contains("connect"), "{text}");
}

#[test]
fn debug_output_never_shows_tokens() {
    let tokens = Arc::new(Tokens::default());
    let options = options(tokens);
    let client = ArmClient::new(options.clone());
    let text = format!("{options:?} {client:?}");
    assert!(!text.contains("token-"), "{text}");
    assert!(text.contains("test tokens"));
}

#[test]
fn retry_headers_and_backoff() {
    let headers = |pairs: &[(&str, &str)]| answer(200, pairs, "").headers;
    assert_eq!(
        retry_after(&headers(&[("retry-after-ms", "250")])),
        Some(Duration::from_millis(250))
    );
    assert_eq!(
        retry_after(&headers(&[
            ("x-ms-retry-after-ms", "40"),
            ("retry-after", "9")
        ])),
        Some(Duration::from_millis(40))
    );
    assert_eq!(
        retry_after(&headers(&[("retry-after", "10")])),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        retry_after(&headers(&[("retry-after", "0")])),
        None,
        "0 is absent, as in azure-core"
    );
    assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    assert_eq!(retry_after(&headers(&[])), None);
    let future = (OffsetDateTime::now_utc() + time::Duration::seconds(30))
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap();
    let wait = retry_after(&headers(&[("retry-after", &future)])).unwrap();
    assert!(
        wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
        "{wait:?}"
    );

    let policy = RetryPolicy::default();
    assert_eq!(policy.max_retries, 4);
    assert_eq!(policy.backoff(0, 1.0), Duration::from_millis(800));
    assert_eq!(policy.backoff(2, 1.0), Duration::from_millis(3200));
    assert_eq!(policy.backoff(10, 1.0), Duration::from_secs(60));
}

#[test]
fn client_and_poller_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_sync<T: Send + Sync + Clone>() {}
    assert_sync::<ArmClient>();
    let (client, _, _) = scripted_client(vec![]);
    let future = client.get_managed_cluster(SUB, "rg1", "c1");
    assert_send(&future);
    let future = client.begin_delete_managed_cluster(SUB, "rg1", "c1");
    assert_send(&future);
    let poller = Poller::new(
        client.clone(),
        Method::DELETE,
        client.url("/x"),
        ArmResponse {
            status: 204,
            headers: HeaderMap::new(),
            body: serde_json::Value::Null,
        },
    );
    let future = poller.wait();
    assert_send(&future);
}
