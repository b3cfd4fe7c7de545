//! Fault injection on the emulator's main server (ARM and Entra; not the management API, not the Kubernetes
//! endpoints): rules that make requests matching a method and a path pattern answer an error status, a raw body,
//! a dropped connection, or the normal answer after a delay, a given number of times. Rules are added through
//! `POST /_emulator/faults` (see [`crate::management`] and the crate README); `POST /_emulator/tokens/expire`
//! is a shortcut for a rule answering `401 ExpiredAuthenticationToken` on ARM.
//!
//! Rules are checked in the order they were added; the first live one that matches is used and its count
//! goes down by one. A faulted request never reaches the emulated service (nothing is written), and its
//! request-log entry carries `"fault": <rule id>` (a dropped connection is logged with `"status": null`).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aks_model::ArmErrorBody;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::http::{Ctx, Destination, JSON_CONTENT_TYPE, arm_error, set};
use crate::state::{SharedState, rfc3339_now};

/// Which part of the main server a rule applies to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Service {
    /// Every request of the main server.
    #[default]
    Any,
    /// ARM only (`/subscriptions…`, `/providers…`, `/tenants…`, `/metadata/endpoints`).
    Arm,
    /// Everything else (Entra, managed identity, OIDC).
    Entra,
}

/// One fault rule, as posted to `POST /_emulator/faults` and listed by `GET /_emulator/faults`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultRule {
    /// Assigned by the emulator (ignored on input).
    #[serde(default)]
    pub id: u64,
    /// HTTP method, case-insensitive; `*` (the default) matches any.
    #[serde(default = "any_method")]
    pub method: String,
    /// Path pattern, matched case-insensitively against the raw request path (no query); `*` matches any run
    /// of characters, `/` included (`*/managedClusters/*`, `*/oauth2/v2.0/token`). Default `*`.
    #[serde(default = "any_path")]
    pub path: String,
    /// `any` (default), `arm` or `entra`.
    #[serde(default)]
    pub service: Service,
    /// How many matching requests get the fault (default 1); counts down to 0, then the rule is spent.
    #[serde(default = "one")]
    pub times: u32,
    /// Wait this long before answering (alone: then answer normally).
    #[serde(default)]
    pub delay_ms: u64,
    /// Abort the answer: headers may go out, the body never completes (HTTP/2 `RST_STREAM`, HTTP/1.1 a closed
    /// connection).
    #[serde(default)]
    pub drop: bool,
    /// Answer this status with an ARM error body (`code`, `message`; defaults per status: 401
    /// `ExpiredAuthenticationToken`, 409 `OperationNotAllowed`, 429 `TooManyRequests`, 500
    /// `InternalServerError`, 503 `ServiceUnavailable`, else `EmulatorInjectedFault`), or the status of `body`.
    #[serde(default)]
    pub status: Option<u16>,
    /// The ARM error code of a status fault.
    #[serde(default)]
    pub code: Option<String>,
    /// The ARM error message of a status fault.
    #[serde(default)]
    pub message: Option<String>,
    /// `Retry-After` seconds on the answer (429 and 503 get 1 unless given).
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Answer exactly this body instead (status `status`, default 200): a JSON string is sent as its raw text
    /// (so it may be invalid JSON), anything else as JSON.
    #[serde(default)]
    pub body: Option<Value>,
    /// With `body`: send it this many times in a row (an enormous answer without posting one). Default 1.
    #[serde(default = "one")]
    pub repeat: u32,
    /// With `body`: the `Content-Type` (default JSON).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Requests that got this fault so far (output only).
    #[serde(default)]
    pub hits: u32,
}

fn any_method() -> String {
    "*".into()
}

fn any_path() -> String {
    "*".into()
}

fn one() -> u32 {
    1
}

impl FaultRule {
    /// A rule answering `status` with an ARM error `code` on every path of `service`, `times` times.
    pub(crate) fn status(service: Service, times: u32, status: u16, code: &str) -> FaultRule {
        FaultRule {
            id: 0,
            method: any_method(),
            path: any_path(),
            service,
            times,
            delay_ms: 0,
            drop: false,
            status: Some(status),
            code: Some(code.into()),
            message: None,
            retry_after: None,
            body: None,
            repeat: 1,
            content_type: None,
            hits: 0,
        }
    }

    /// Check what a rule asks for before storing it.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(status) = self.status
            && StatusCode::from_u16(status).is_err()
        {
            return Err(format!("status {status} is not an HTTP status"));
        }
        if self.status.is_none() && self.body.is_none() && !self.drop && self.delay_ms == 0 {
            return Err("a fault needs one of status, body, drop or delay_ms".into());
        }
        if self.drop && (self.status.is_some() || self.body.is_some()) {
            return Err("drop cannot be combined with status or body".into());
        }
        if self.repeat == 0 {
            return Err("repeat must be at least 1".into());
        }
        if self.path.is_empty() || self.method.is_empty() {
            return Err("method and path must not be empty".into());
        }
        Ok(())
    }

    fn matches(&self, ctx: &Ctx) -> bool {
        if self.times == 0 {
            return false;
        }
        if self.method != "*" && !self.method.eq_ignore_ascii_case(ctx.method.as_str()) {
            return false;
        }
        let arm = is_arm(ctx);
        match self.service {
            Service::Any => {}
            Service::Arm if !arm => return false,
            Service::Entra if arm => return false,
            _ => {}
        }
        glob_match(
            &self.path.to_ascii_lowercase(),
            &ctx.path.to_ascii_lowercase(),
        )
    }
}

/// Whether a request of the main server is for ARM (as the router sends it).
fn is_arm(ctx: &Ctx) -> bool {
    ctx.destination() == Some(Destination::Arm)
}

/// `*` matches any run of characters (`/` included); everything else matches itself.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern = pattern.as_bytes();
    let text = text.as_bytes();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// The fault rules, in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
    next_id: u64,
}

impl Faults {
    /// Add a rule (after [`FaultRule::validate`]); returns it with its id.
    pub(crate) fn add(&mut self, mut rule: FaultRule) -> FaultRule {
        self.next_id += 1;
        rule.id = self.next_id;
        rule.hits = 0;
        self.rules.push(rule.clone());
        rule
    }

    /// Every rule, spent ones included (`times` is what is left).
    pub(crate) fn list(&self) -> &[FaultRule] {
        &self.rules
    }

    /// Remove every rule.
    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// Remove one rule; whether it existed.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|rule| rule.id != id);
        before != self.rules.len()
    }

    /// The first live rule matching `ctx`, counted as used.
    fn take(&mut self, ctx: &Ctx) -> Option<FaultRule> {
        let rule = self.rules.iter_mut().find(|rule| rule.matches(ctx))?;
        rule.times -= 1;
        rule.hits += 1;
        Some(rule.clone())
    }
}

/// Apply the first matching fault to a main-server request: `None` lets the request through (after any
/// delay); `Some` is the faulted answer, already logged.
pub(crate) async fn intercept(state: &SharedState, ctx: &Ctx) -> Option<Response> {
    let rule = state.store().services.get_mut::<Faults>().take(ctx)?;
    tracing::info!(rule = rule.id, method = %ctx.method, path = %ctx.path, "injecting a fault");
    if rule.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
    }
    let response = if rule.drop {
        let mut response = Response::new(Body::new(Aborted));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        );
        response
    } else if let Some(body) = &rule.body {
        raw_answer(&rule, body)
    } else if let Some(status) = rule.status {
        if is_arm(ctx) {
            error_answer(&rule, status)
        } else {
            entra_error_answer(ctx, &rule, status)
        }
    } else {
        return None;
    };
    let status = (!rule.drop).then(|| response.status().as_u16());
    let mut entry = json!({
        "time": rfc3339_now(),
        "server": "arm",
        "method": ctx.method.as_str(),
        "path": ctx.path,
        "query": ctx.raw_query,
        "status": status,
        "fault": rule.id,
    });
    if matches!(ctx.method.as_str(), "PUT" | "POST" | "PATCH") {
        entry["body"] = Value::String(format!("<{} bytes, not read: fault>", ctx.body.len()));
    }
    state.store().record(entry);
    Some(response)
}

fn default_code(status: u16) -> &'static str {
    match status {
        401 => "ExpiredAuthenticationToken",
        409 => "OperationNotAllowed",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        503 => "ServiceUnavailable",
        _ => "EmulatorInjectedFault",
    }
}

fn default_message(status: u16) -> String {
    match status {
        401 => "The access token has expired (injected by the emulator).".into(),
        409 => "Operation is not allowed because there's an in progress operation (injected by the emulator)."
            .into(),
        429 => "Too many requests (injected by the emulator). Please try again later.".into(),
        _ => format!("Injected fault: HTTP {status} from the local cloud emulator."),
    }
}

fn retry_after_of(rule: &FaultRule, status: u16) -> Option<u64> {
    rule.retry_after
        .or_else(|| matches!(status, 429 | 503).then_some(1))
}

fn error_answer(rule: &FaultRule, status: u16) -> Response {
    let code = rule
        .code
        .clone()
        .unwrap_or_else(|| default_code(status).into());
    let message = rule
        .message
        .clone()
        .unwrap_or_else(|| default_message(status));
    let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = arm_error(status_code, ArmErrorBody::new(code.clone(), message));
    if let Some(seconds) = retry_after_of(rule, status) {
        set(response.headers_mut(), "retry-after", &seconds.to_string());
    }
    if status == 401 {
        set(
            response.headers_mut(),
            "www-authenticate",
            &format!(
                "Bearer authorization_uri=\"https://login.microsoftonline.com/{}\", error=\"invalid_token\", error_description=\"{code}\"",
                crate::TENANT_ID
            ),
        );
    }
    response
}

/// An Entra (OAuth 2.0) error answer: `error` (default per status: 400 `invalid_request`, 401
/// `invalid_client`, 429/503 `temporarily_unavailable`, else `server_error`) and the rest of Entra's error body
/// (`error_description` with an AADSTS code and the trace lines, `error_codes`, `trace_id`, ...).
fn entra_error_answer(ctx: &Ctx, rule: &FaultRule, status: u16) -> Response {
    let error = rule.code.clone().unwrap_or_else(|| {
        match status {
            400 => "invalid_request",
            401 => "invalid_client",
            429 | 503 => "temporarily_unavailable",
            _ => "server_error",
        }
        .into()
    });
    let (aadsts, default) = match status {
        429 => (
            90055,
            "The request was throttled (injected by the emulator).",
        ),
        503 => (
            90033,
            "A transient error has occurred. Please try again (injected by the emulator).",
        ),
        _ => (90000, "Injected fault from the local cloud emulator."),
    };
    let message = rule.message.clone().unwrap_or_else(|| default.into());
    let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response =
        crate::entra::entra_error_with(ctx, status_code, &error, aadsts, &message, json!({}));
    if let Some(seconds) = retry_after_of(rule, status) {
        set(response.headers_mut(), "retry-after", &seconds.to_string());
    }
    response
}

fn raw_answer(rule: &FaultRule, body: &Value) -> Response {
    let once = match body {
        Value::String(text) => text.as_bytes().to_vec(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    };
    let bytes: Bytes = once.repeat(rule.repeat as usize).into();
    let status = rule.status.unwrap_or(200);
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = rule.content_type.as_deref().unwrap_or(JSON_CONTENT_TYPE);
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    if let Some(seconds) = retry_after_of(rule, status) {
        set(response.headers_mut(), "retry-after", &seconds.to_string());
    }
    response
}

/// A response body that fails at once: hyper resets the stream (HTTP/2) or closes the connection (HTTP/1.1).
struct Aborted;

impl HttpBody for Aborted {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by an injected fault",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, Method};

    fn ctx(method: Method, path: &str) -> Ctx {
        let uri: axum::http::Uri = path.parse().unwrap();
        Ctx::new(method, &uri, HeaderMap::new(), Bytes::new())
    }

    #[test]
    fn globs_match_any_run_including_slashes_and_ignore_case() {
        assert!(glob_match("*", ""));
        assert!(glob_match(
            "*/managedclusters/*",
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/c1"
        ));
        assert!(!glob_match(
            "*/managedclusters/*",
            "/subscriptions/s/resourcegroups/rg"
        ));
        assert!(glob_match("/a/*/c", "/a/b/x/c"));
        assert!(!glob_match("/a/*/c", "/a/b/x/cd"));
        assert!(glob_match("a**b", "ab"));
        assert!(!glob_match("abc", "ab"));
    }

    #[test]
    fn rules_count_down_in_order_and_filter_method_and_service() {
        let mut faults = Faults::default();
        let mut put = FaultRule::status(Service::Any, 2, 429, "TooManyRequests");
        put.method = "put".into();
        put.path = "*/managedClusters/*".into();
        let put = faults.add(put);
        let arm = faults.add(FaultRule::status(
            Service::Arm,
            1,
            401,
            "ExpiredAuthenticationToken",
        ));
        let cluster = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1";
        assert_eq!(
            faults.take(&ctx(Method::GET, "/72f/oauth2/v2.0/token")),
            None
        );
        assert_eq!(faults.take(&ctx(Method::PUT, cluster)).unwrap().id, put.id);
        assert_eq!(faults.take(&ctx(Method::PUT, cluster)).unwrap().id, put.id);
        assert_eq!(faults.take(&ctx(Method::PUT, cluster)).unwrap().id, arm.id);
        assert_eq!(faults.take(&ctx(Method::PUT, cluster)), None);
        assert_eq!(faults.list()[0].hits, 2);
        assert_eq!(faults.list()[0].times, 0);
        assert!(faults.remove(put.id));
        assert!(!faults.remove(put.id));
        faults.clear();
        assert!(faults.list().is_empty());
    }

    #[test]
    fn validation_names_the_problem() {
        let mut rule = FaultRule::status(Service::Any, 1, 429, "x");
        assert_eq!(rule.validate(), Ok(()));
        rule.status = Some(1000);
        assert!(rule.validate().unwrap_err().contains("1000"));
        rule.status = None;
        rule.code = None;
        assert!(rule.validate().unwrap_err().contains("needs one of"));
        rule.drop = true;
        assert_eq!(rule.validate(), Ok(()));
        rule.body = Some(json!("{"));
        assert!(rule.validate().unwrap_err().contains("drop"));
        let parsed: Result<FaultRule, _> = serde_json::from_value(json!({"statuss": 500}));
        assert!(parsed.is_err(), "unknown fields are refused");
    }

    #[test]
    fn status_answers_carry_the_arm_code_and_retry_after() {
        let rule = FaultRule::status(Service::Any, 1, 429, "TooManyRequests");
        let response = error_answer(&rule, 429);
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "1");
        let response = error_answer(&FaultRule::status(Service::Arm, 1, 401, "x"), 401);
        assert!(response.headers().contains_key("www-authenticate"));
        let mut raw = FaultRule::status(Service::Any, 1, 200, "x");
        raw.body = Some(json!("ab"));
        raw.repeat = 3;
        let response = raw_answer(&raw, raw.body.as_ref().unwrap());
        assert_eq!(response.status(), 200);
        assert_eq!(response.body().size_hint().exact(), Some(6));
    }
}
