//! The swappable bottom of the pipeline: something that turns one request into one response.
//!
//! [`reqwest::Client`] is the real transport; tests (and an in-process emulator) can plug in their own.

use std::fmt;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::HeaderMap;
use url::Url;

/// One HTTP request, fully built by the pipeline (auth, request id and content headers included).
#[derive(Clone)]
pub struct TransportRequest {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL.
    pub url: Url,
    /// Headers; `Authorization` is marked sensitive.
    pub headers: HeaderMap,
    /// JSON body bytes, if any.
    pub body: Option<Vec<u8>>,
}

impl fmt::Debug for TransportRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &crate::redact::redact_headers(&self.headers))
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

/// One HTTP response, body read in full.
#[derive(Clone)]
pub struct TransportResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes (empty when there is none).
    pub body: Vec<u8>,
}

impl fmt::Debug for TransportResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportResponse")
            .field("status", &self.status)
            .field("headers", &crate::redact::redact_headers(&self.headers))
            .field("body", &crate::redact::redact_body(&self.body))
            .finish()
    }
}

/// Sends one request; no retries, no auth (the pipeline above does those).
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Send `request` and read the whole answer.
    async fn execute(&self, request: TransportRequest)
    -> Result<TransportResponse, reqwest::Error>;
}

#[async_trait]
impl Transport for reqwest::Client {
    async fn execute(
        &self,
        request: TransportRequest,
    ) -> Result<TransportResponse, reqwest::Error> {
        let mut builder = self
            .request(request.method, request.url)
            .headers(request.headers);
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        Ok(TransportResponse {
            status,
            headers,
            body,
        })
    }
}
