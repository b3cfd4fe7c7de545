//! The ARM pipeline on hostile answers: a scripted transport answers each request with a fuzzed status,
//! `Retry-After`, polling headers and body. Sending, error parsing (`parse_error_body`), typed decoding and the
//! long-running-operation poller must end (retries and polls are bounded) with a value or an error, never a
//! panic. Time is paused, so retry and poll waits pass at once.
#![no_main]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use aks_identity::credential::{AccessToken, Secret, StaticTokenSource};
use aks_arm::transport::{Transport, TransportRequest, TransportResponse};
use aks_arm::{ArmClient, ArmClientOptions, Cloud, RetryPolicy};
use async_trait::async_trait;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use reqwest::header::{HeaderMap, HeaderValue};

/// Never used (the transport is scripted), built once: a reqwest client loads the system roots.
static HTTP: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(reqwest::Client::new);

#[derive(Arbitrary, Debug)]
struct Answer {
    status: u16,
    /// Any text: `Retry-After: 1e300` once made the pipeline panic.
    retry_after: Option<String>,
    retry_after_ms: Option<String>,
    async_operation: bool,
    location: bool,
    body: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
struct Script {
    operation: u8,
    answers: Vec<Answer>,
}

#[derive(Debug)]
struct Scripted {
    answers: Mutex<VecDeque<TransportResponse>>,
}

#[async_trait]
impl Transport for Scripted {
    async fn execute(
        &self,
        _request: TransportRequest,
    ) -> Result<TransportResponse, reqwest::Error> {
        // Once the script is spent: 404, which ends every loop.
        Ok(self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(TransportResponse {
                status: 404,
                headers: HeaderMap::new(),
                body: br#"{"error":{"code":"ResourceNotFound","message":"end of script"}}"#.to_vec(),
            }))
    }
}

fn response(answer: Answer) -> TransportResponse {
    let mut headers = HeaderMap::new();
    let base = "https://management.azure.com/subscriptions/s/providers/Microsoft.ContainerService/locations/eastus";
    for (name, value) in [
        ("retry-after", &answer.retry_after),
        ("retry-after-ms", &answer.retry_after_ms),
    ] {
        if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, value);
        }
    }
    if answer.async_operation {
        headers.insert(
            "azure-asyncoperation",
            HeaderValue::from_str(&format!("{base}/operations/1?api-version=2016-03-30")).unwrap(),
        );
    }
    if answer.location {
        headers.insert(
            "location",
            HeaderValue::from_str(&format!("{base}/operationresults/1?api-version=2016-03-30")).unwrap(),
        );
    }
    TransportResponse {
        status: answer.status,
        headers,
        body: answer.body,
    }
}

fuzz_target!(|script: Script| {
    if script.answers.len() > 64 {
        return;
    }
    let transport = Arc::new(Scripted {
        answers: Mutex::new(script.answers.into_iter().map(response).collect()),
    });
    let token = AccessToken {
        token: Secret::new("fuzz-token"),
        expires_on: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    let cloud = Cloud::builtin(Cloud::DEFAULT).expect("the public cloud");
    let options = ArmClientOptions {
        cloud,
        http: HTTP.clone(),
        credential: Arc::new(StaticTokenSource::new(token, "fuzz")),
        retry: RetryPolicy::default(),
        command_name: None,
        parameter_set_name: None,
    };
    let client = ArmClient::with_transport(options, transport);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async move {
        match script.operation % 4 {
            0 => {
                let _ = client.get_managed_cluster("s", "rg", "c1").await;
            }
            1 => {
                let _ = client
                    .list_cluster_user_credentials("s", "rg", "c1", Some("exec"), false)
                    .await;
            }
            2 => {
                let body = aks_model::ManagedCluster::default();
                if let Ok(poller) = client
                    .begin_create_or_update_managed_cluster("s", "rg", "c1", &body)
                    .await
                {
                    let _ = poller.wait().await;
                }
            }
            _ => {
                if let Ok(poller) = client.begin_delete_managed_cluster("s", "rg", "c1").await {
                    let _ = poller.wait().await;
                }
            }
        }
    });
});
