//! [`ArmClient`]: the ordered policy pipeline (per-call → retry → per-try → logging → transport); the typed
//! operations built on it are in `operations.rs` (docs/arm-aks-api.md, "Long-running operations", "Errors", "Throttling"; docs/style.md,
//! "Layers").

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use url::Url;

use crate::challenge::ClaimsChallenge;
use crate::error::{is_certificate_error, parse_error_body};
use crate::redact::{redact_body, redact_headers};
use crate::transport::{Transport, TransportRequest, TransportResponse};
use crate::{ArmError, Cloud};
use aks_identity::credential::TokenSource;

/// Statuses the retry policy retries (docs/arm-aks-api.md, "Request and response headers", "Throttling").
pub const RETRYABLE_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// How ARM calls are retried: exponential backoff from `base_delay` unless the answer says how long to wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try (default 4).
    pub max_retries: u32,
    /// First backoff when the answer has no retry header (default 0.8 s, doubling).
    pub base_delay: Duration,
    /// Longest single wait (default 60 s), also for server-given delays.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt + 1` when the server gave no delay: `base_delay · 2^attempt · jitter`
    /// (jitter in 0.8..1.2), at most `max_delay`.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let factor = 2f64.powi(attempt.min(30) as i32) * jitter.clamp(0.5, 1.5);
        self.base_delay.mul_f64(factor).min(self.max_delay)
    }
}

/// A jitter factor in 0.8..1.2 (from a random uuid; no extra RNG dependency).
fn jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u16;
    0.8 + 0.4 * (f64::from(bits) / f64::from(u16::MAX))
}

/// The delay a response asks for: `retry-after-ms`, then `x-ms-retry-after-ms` (milliseconds), then `Retry-After`
/// (seconds, or an HTTP date). Zero or unparsable values count as absent (as in azure-core; docs/arm-aks-api.md,
/// "Throttling").
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(delay) = text(name)
            .and_then(|value| value.parse::<f64>().ok())
            .and_then(|ms| seconds_to_duration(ms / 1000.0))
        {
            return Some(delay);
        }
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return seconds_to_duration(seconds);
    }
    let date =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = date - time::OffsetDateTime::now_utc();
    seconds_to_duration(wait.as_seconds_f64())
}

/// A number of seconds as a `Duration`: `None` unless positive, finite and at least a nanosecond; saturating
/// for huge values (a `Retry-After: 1e300` from a hostile server made `Duration::from_secs_f64` panic). Callers
/// cap the result.
fn seconds_to_duration(seconds: f64) -> Option<Duration> {
    if !(seconds.is_finite() && seconds > 0.0) {
        return None;
    }
    Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)).filter(|d| !d.is_zero())
}

/// An ARM answer with a 2xx status.
#[derive(Clone)]
pub struct ArmResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The JSON body; `Null` when empty.
    pub body: serde_json::Value,
}

impl fmt::Debug for ArmResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut body = self.body.clone();
        crate::redact::redact_json(&mut body);
        f.debug_struct("ArmResponse")
            .field("status", &self.status)
            .field("headers", &redact_headers(&self.headers))
            .field("body", &body)
            .finish()
    }
}

impl ArmResponse {
    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// What an [`ArmClient`] is built from.
#[derive(Clone)]
pub struct ArmClientOptions {
    /// The cloud: ARM endpoint and token scope.
    pub cloud: Cloud,
    /// The HTTP client (see [`crate::http_client`]).
    pub http: reqwest::Client,
    /// Where bearer tokens come from.
    pub credential: Arc<dyn TokenSource>,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Sent as the `CommandName` header, like az (`aks get-credentials`).
    pub command_name: Option<String>,
    /// Sent as the `ParameterSetName` header, like az: the option names typed (`-g -n --admin`); `None` or empty
    /// sends none.
    pub parameter_set_name: Option<String>,
}

impl fmt::Debug for ArmClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArmClientOptions")
            .field("cloud", &self.cloud.name)
            .field("credential", &self.credential.describe())
            .field("retry", &self.retry)
            .field("command_name", &self.command_name)
            .field("parameter_set_name", &self.parameter_set_name)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Inner {
    cloud: Cloud,
    scope: String,
    transport: Arc<dyn Transport>,
    credential: Arc<dyn TokenSource>,
    retry: RetryPolicy,
    command_name: Option<HeaderValue>,
    parameter_set_name: Option<HeaderValue>,
    /// Set on every try after the pipeline's own headers, replacing them (see [`ArmClient::with_headers`]).
    headers: HeaderMap,
}

/// The ARM REST client. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct ArmClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArmClient")
            .field("cloud", &self.inner.cloud.name)
            .field("credential", &self.inner.credential.describe())
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
const COMMAND_NAME: HeaderName = HeaderName::from_static("commandname");
const PARAMETER_SET_NAME: HeaderName = HeaderName::from_static("parametersetname");
const TOKEN_REJECTIONS: [&str; 2] = ["InvalidAuthenticationToken", "ExpiredAuthenticationToken"];

impl ArmClient {
    /// A client over `options.http`.
    pub fn new(options: ArmClientOptions) -> ArmClient {
        let transport: Arc<dyn Transport> = Arc::new(options.http.clone());
        ArmClient::with_transport(options, transport)
    }

    /// A client over another [`Transport`] (`options.http` is not used for ARM calls).
    pub fn with_transport(options: ArmClientOptions, transport: Arc<dyn Transport>) -> ArmClient {
        let header = |value: Option<&str>| {
            value
                .filter(|value| !value.is_empty())
                .and_then(|value| HeaderValue::from_str(value).ok())
        };
        let command_name = header(options.command_name.as_deref());
        let parameter_set_name = header(options.parameter_set_name.as_deref());
        ArmClient {
            inner: Arc::new(Inner {
                scope: options.cloud.arm_scope(),
                cloud: options.cloud,
                transport,
                credential: options.credential,
                retry: options.retry,
                command_name,
                parameter_set_name,
                headers: HeaderMap::new(),
            }),
        }
    }

    /// The same client, also sending `headers` on every try; each replaces the pipeline's header of that name
    /// (the Graph client's `Accept: */*`, as az's raw requests send it).
    pub fn with_headers(self, headers: HeaderMap) -> ArmClient {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.headers = headers;
        ArmClient {
            inner: Arc::new(inner),
        }
    }

    /// The cloud this client talks to.
    pub fn cloud(&self) -> &Cloud {
        &self.inner.cloud
    }

    /// The credential this client signs requests with.
    pub fn credential(&self) -> &Arc<dyn TokenSource> {
        &self.inner.credential
    }

    /// `resource_manager` joined with `path_and_query`, which starts with `/` (a base path is kept).
    pub fn url(&self, path_and_query: &str) -> Url {
        let base = self
            .inner
            .cloud
            .resource_manager
            .as_str()
            .trim_end_matches('/');
        let joined = format!("{base}/{}", path_and_query.trim_start_matches('/'));
        Url::parse(&joined).unwrap_or_else(|_| {
            self.inner
                .cloud
                .resource_manager
                .join(path_and_query)
                .unwrap_or_else(|_| self.inner.cloud.resource_manager.clone())
        })
    }

    /// A URL from raw path segments (each percent-encoded) and query pairs.
    pub(crate) fn resource_url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.inner.cloud.resource_manager.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("the resource manager URL is http(s)");
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        url
    }

    /// Send one ARM request through the pipeline:
    ///
    /// * per-call: the JSON body is serialized once;
    /// * retry: 408/429/500/502/503/504 and connection failures (not TLS certificate errors) are retried up to
    ///   `retry.max_retries` times, waiting `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After` when given,
    ///   else exponential backoff, never longer than `retry.max_delay`;
    /// * per-try: a bearer token for `cloud.arm_scope()`, a fresh `x-ms-client-request-id`, `Accept`,
    ///   `Content-Type` on bodies, `CommandName`;
    /// * logging (tracing, debug): method, URL, status, elapsed, request id, headers and bodies with secrets
    ///   redacted.
    ///
    /// A 401 `InvalidAuthenticationToken`/`ExpiredAuthenticationToken` is retried once with a freshly acquired
    /// token, unless it is a claims challenge ([`ArmError::ClaimsChallenge`]: a silent token cannot satisfy it).
    /// Other non-2xx answers become [`ArmError::Service`].
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<ArmResponse, ArmError> {
        let body = body.map(|body| serde_json::to_vec(body).expect("a JSON value serializes"));
        let mut attempt = 0u32;
        let mut token_refreshed = false;
        let mut use_fresh_token = false;
        loop {
            let request = Try {
                method: &method,
                url: &url,
                request_id: uuid::Uuid::new_v4().to_string(),
                attempt,
            };
            let token_is_fresh = std::mem::take(&mut use_fresh_token);
            let headers = self
                .headers(token_is_fresh, &request, body.is_some())
                .await?;
            let next = match self.execute(&request, headers, body.clone()).await {
                Err((error, elapsed)) => self.after_transport_error(&request, error, elapsed),
                Ok(response) => self.after_answer(&request, response, token_refreshed),
            };
            match next {
                Next::Done(response) => return Ok(response),
                Next::Fail(error) => return Err(error),
                Next::Retry(delay) => {
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                }
                Next::FreshToken => {
                    token_refreshed = true;
                    use_fresh_token = true;
                }
            }
        }
    }

    /// Per-try headers: a bearer token (freshly acquired when the last one was rejected), a new client request id,
    /// `Accept`, `Content-Type` on bodies, `CommandName`, `ParameterSetName`, then the client's own headers.
    async fn headers(
        &self,
        fresh_token: bool,
        request: &Try<'_>,
        has_body: bool,
    ) -> Result<HeaderMap, ArmError> {
        let token = if fresh_token {
            self.inner.credential.fresh_token(&self.inner.scope).await?
        } else {
            self.inner.credential.token(&self.inner.scope).await?
        };
        let mut headers = HeaderMap::new();
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.token.expose()))
            .map_err(
                |_| aks_identity::credential::CredentialError::Authentication {
                    credential: self.inner.credential.describe(),
                    message: "the token is not a valid header value".into(),
                },
            )?;
        authorization.set_sensitive(true);
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(
            CLIENT_REQUEST_ID,
            HeaderValue::from_str(&request.request_id).expect("a uuid is a header value"),
        );
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if has_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(command) = &self.inner.command_name {
            headers.insert(COMMAND_NAME, command.clone());
        }
        if let Some(names) = &self.inner.parameter_set_name {
            headers.insert(PARAMETER_SET_NAME, names.clone());
        }
        for (name, value) in &self.inner.headers {
            headers.insert(name.clone(), value.clone());
        }
        Ok(headers)
    }

    /// One try through the transport, logged (redacted) before and after; a transport error comes back with the
    /// time it took.
    async fn execute(
        &self,
        request: &Try<'_>,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
    ) -> Result<TransportResponse, (reqwest::Error, Duration)> {
        let Try {
            method,
            url,
            request_id,
            attempt,
        } = request;
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(
                target: "aks_arm::http",
                %method, %url, request_id = %request_id, attempt,
                "request\n{}{}",
                redact_headers(&headers),
                body.as_deref().map(|body| format!("\n{}", redact_body(body))).unwrap_or_default()
            );
        }
        let started = Instant::now();
        let result = self
            .inner
            .transport
            .execute(TransportRequest {
                method: (*method).clone(),
                url: (*url).clone(),
                headers,
                body,
            })
            .await;
        let elapsed = started.elapsed();
        let response = result.map_err(|error| (error, elapsed))?;
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(
                target: "aks_arm::http",
                %method, %url, status = response.status, request_id = %request_id,
                elapsed_ms = elapsed.as_millis() as u64,
                "response\n{}\n{}",
                redact_headers(&response.headers),
                redact_body(&response.body)
            );
        }
        Ok(response)
    }

    /// Retry: connection failures and resets (and, for GET/HEAD, lost answers) are tried again with backoff; a
    /// certificate or request-building error is final.
    fn after_transport_error(
        &self,
        request: &Try<'_>,
        error: reqwest::Error,
        elapsed: Duration,
    ) -> Next {
        let Try { method, url, .. } = request;
        let attempt = request.attempt;
        let retry = &self.inner.retry;
        let retryable = is_retryable_transport_error(&error)
            || (is_safe_method(method) && is_lost_answer(&error));
        tracing::debug!(
            target: "aks_arm::http",
            %method, %url, request_id = %request.request_id, elapsed_ms = elapsed.as_millis() as u64,
            retryable, "transport error: {}", crate::error::error_chain(&error)
        );
        if retryable && attempt < retry.max_retries {
            let delay = retry.backoff(attempt, jitter());
            tracing::debug!(target: "aks_arm::http", delay_ms = delay.as_millis() as u64, attempt = attempt + 1, "retrying");
            return Next::Retry(delay);
        }
        Next::Fail(ArmError::Transport {
            method: method.to_string(),
            url: url.to_string(),
            source: error,
        })
    }

    /// What an HTTP answer means: 2xx is the response; a claims challenge is final; a rejected token is retried
    /// once with a fresh one; 408/429/5xx are retried after `Retry-After` or backoff; anything else is
    /// [`ArmError::Service`].
    fn after_answer(
        &self,
        request: &Try<'_>,
        response: TransportResponse,
        token_refreshed: bool,
    ) -> Next {
        let Try { method, url, .. } = request;
        let attempt = request.attempt;
        let retry = &self.inner.retry;
        let status = response.status;
        if (200..300).contains(&status) {
            return match decode_answer(url, response) {
                Ok(response) => Next::Done(response),
                Err(error) => Next::Fail(error),
            };
        }
        if status == 401
            && let Some(challenge) = ClaimsChallenge::from_headers(&response.headers)
        {
            tracing::debug!(target: "aks_arm::http", claims = %challenge.claims, "claims challenge; not retried");
            return Next::Fail(ArmError::ClaimsChallenge {
                method: method.to_string(),
                url: url.to_string(),
                login_command: challenge.login_command(&self.inner.scope),
                claims: challenge.claims,
            });
        }
        let (code, message, target) = parse_error_body(status, &response.body);
        if status == 401 && !token_refreshed && TOKEN_REJECTIONS.contains(&code.as_str()) {
            tracing::debug!(target: "aks_arm::http", %code, "token rejected; retrying once with a fresh token");
            return Next::FreshToken;
        }
        if RETRYABLE_STATUSES.contains(&status) && attempt < retry.max_retries {
            let delay = retry_after(&response.headers)
                .unwrap_or_else(|| retry.backoff(attempt, jitter()))
                .min(retry.max_delay);
            tracing::debug!(target: "aks_arm::http", status, delay_ms = delay.as_millis() as u64, attempt = attempt + 1, "retrying");
            return Next::Retry(delay);
        }
        let request_id = response
            .headers
            .get("x-ms-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .or(Some(request.request_id.clone()));
        Next::Fail(ArmError::Service {
            method: method.to_string(),
            url: url.to_string(),
            status,
            code,
            message,
            target,
            request_id,
        })
    }
}

/// One try of a request: what the per-try steps log and report.
struct Try<'a> {
    method: &'a Method,
    url: &'a Url,
    request_id: String,
    attempt: u32,
}

/// What the pipeline does after one try.
enum Next {
    Done(ArmResponse),
    Fail(ArmError),
    Retry(Duration),
    FreshToken,
}

/// A 2xx answer as an [`ArmResponse`]: an empty (or all-whitespace) body is `Null`, else it must be JSON.
fn decode_answer(url: &Url, response: TransportResponse) -> Result<ArmResponse, ArmError> {
    let body = if response.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&response.body).map_err(|source| ArmError::Decode {
            url: url.to_string(),
            source,
        })?
    };
    Ok(ArmResponse {
        status: response.status,
        headers: response.headers,
        body,
    })
}

/// Deserialize a response body, naming the URL on failure.
pub(crate) fn decode<T: DeserializeOwned>(
    url: &Url,
    body: serde_json::Value,
) -> Result<T, ArmError> {
    serde_json::from_value(body).map_err(|source| ArmError::Decode {
        url: url.to_string(),
        source,
    })
}

/// GET and HEAD change nothing, so an answer lost on the way back may be asked for again.
fn is_safe_method(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD
}

/// An answer that was cut off after the request went out (an HTTP/2 stream reset, a body that stopped): safe
/// to retry only for [`is_safe_method`], because a write may already have happened.
fn is_lost_answer(error: &reqwest::Error) -> bool {
    !(is_certificate_error(error) || error.is_builder() || error.is_redirect())
        && (error.is_request() || error.is_body() || error.is_decode())
}

/// Connection failures and resets are retried; TLS certificate problems and request-building errors are not.
fn is_retryable_transport_error(error: &reqwest::Error) -> bool {
    if is_certificate_error(error) || error.is_builder() || error.is_redirect() {
        return false;
    }
    if error.is_connect() || error.is_timeout() {
        return true;
    }
    let chain = crate::error::error_chain(error).to_ascii_lowercase();
    [
        "reset",
        "connection closed",
        "broken pipe",
        "incomplete message",
        "unexpected eof",
    ]
    .iter()
    .any(|needle| chain.contains(needle))
}
