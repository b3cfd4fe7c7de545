//! Request plumbing shared by every service: the parsed request ([`Ctx`]), the common answer headers and
//! response builders. Routing is in `routing`, above the services.

use aks_model::ArmErrorBody;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

/// The JSON content type every body carries.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A request, parsed once.
pub(crate) struct Ctx {
    /// Method.
    pub method: Method,
    /// Raw path as sent.
    pub path: String,
    /// Raw query string ("" when absent).
    pub raw_query: String,
    /// Percent-decoded path segments.
    pub segments: Vec<String>,
    /// The same, lower-cased, for case-insensitive matching.
    pub lower: Vec<String>,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// `https://127.0.0.1:P` of the server that received it (empty for requests built inside the emulator),
    /// for links in answers such as Entra's `error_uri`.
    pub origin: String,
}

impl Ctx {
    pub(crate) fn new(
        method: Method,
        uri: &axum::http::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Ctx {
        let path = uri.path().to_string();
        let raw_query = uri.query().unwrap_or_default().to_string();
        let segments: Vec<String> = path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(percent_decode)
            .collect();
        let lower = segments.iter().map(|s| s.to_lowercase()).collect();
        let query = url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect();
        Ctx {
            method,
            path,
            raw_query,
            segments,
            lower,
            query,
            headers,
            body,
            origin: String::new(),
        }
    }

    /// A query parameter, name matched case-insensitively.
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The token of an `Authorization: Bearer …` (or `bearer …`) header, trimmed; `None` when there is no such
    /// header or the token is empty.
    pub(crate) fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
    }
}

/// The service of the main server a request is for, chosen by its first path segment. The one list of those
/// prefixes: the router dispatches on it and fault rules (`service: "arm"`) match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Destination {
    /// `/_emulator/…`: the management API.
    Management,
    /// `/metadata/identity/…`: the managed-identity endpoint of the instance metadata service.
    InstanceMetadata,
    /// `/metadata/…` (endpoints), `/subscriptions…`, `/providers…`, `/tenants…`: ARM.
    Arm,
    /// `/v1.0/…`: Microsoft Graph.
    Graph,
    /// `/pipelines/…`: Azure Pipelines' OIDC token endpoint.
    Pipelines,
    /// Any other first segment (a tenant, `common`, `oidc`, `msi`, …): Entra.
    Entra,
}

impl Ctx {
    /// Where the request goes; `None` for `/`.
    pub(crate) fn destination(&self) -> Option<Destination> {
        let second = self.lower.get(1).map(String::as_str);
        Some(match self.lower.first()?.as_str() {
            "_emulator" => Destination::Management,
            "metadata" if second == Some("identity") => Destination::InstanceMetadata,
            "metadata" | "subscriptions" | "providers" | "tenants" => Destination::Arm,
            "v1.0" => Destination::Graph,
            "pipelines" => Destination::Pipelines,
            _ => Destination::Entra,
        })
    }
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && index + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[index + 1]), hex(bytes[index + 2]))
        {
            out.push(high * 16 + low);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

/// Common headers of every answer: a fresh `x-ms-request-id` and the echoed `x-ms-client-request-id`.
pub(crate) fn finish(ctx: &Ctx, response: &mut Response) {
    let headers = response.headers_mut();
    set(
        headers,
        "x-ms-request-id",
        &uuid::Uuid::new_v4().to_string(),
    );
    if let Some(client_request_id) = ctx.headers.get("x-ms-client-request-id") {
        headers.insert(
            HeaderName::from_static("x-ms-client-request-id"),
            client_request_id.clone(),
        );
    }
    if let Some(correlation) = ctx.headers.get("x-ms-correlation-request-id") {
        headers.insert(
            HeaderName::from_static("x-ms-correlation-request-id"),
            correlation.clone(),
        );
    }
}

/// Set a header from text (ignoring values that are not valid header text, which we never build).
pub(crate) fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// An HTML page, never cached.
pub(crate) fn html_page(status: StatusCode, page: String) -> Response {
    let mut response = Response::new(Body::from(page));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    response
}

/// Text for HTML, escaped (`&`, `<`, `>`, `"`, `'`).
pub(crate) fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// An answer with no body.
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// An ARM error answer.
pub(crate) fn arm_error(status: StatusCode, body: ArmErrorBody) -> Response {
    json(status, &body)
}

/// `404 EmulatorUnsupportedRoute` naming method and path: the emulator fails loudly on what it does not do.
pub(crate) fn unsupported(ctx: &Ctx) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        ArmErrorBody::new(
            "EmulatorUnsupportedRoute",
            format!(
                "The local cloud emulator does not support {} {}",
                ctx.method, ctx.path
            ),
        ),
    )
}

/// A `400 BadRequest`-style answer for a body that is not the JSON we expect.
pub(crate) fn invalid_content(error: &serde_json::Error) -> Response {
    arm_error(
        StatusCode::BAD_REQUEST,
        ArmErrorBody::new(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{error}'."),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_decoded_and_lowered() {
        let uri: axum::http::Uri =
            "/subscriptions/S/resourceGroups/my%20rg/x?api-version=1&A=b%2Fc"
                .parse()
                .unwrap();
        let ctx = Ctx::new(Method::GET, &uri, HeaderMap::new(), Bytes::new());
        assert_eq!(ctx.segments[3], "my rg");
        assert_eq!(ctx.lower[2], "resourcegroups");
        assert_eq!(ctx.query("API-VERSION"), Some("1"));
        assert_eq!(ctx.query("a"), Some("b/c"));
        assert_eq!(percent_decode("100%"), "100%");
    }
}
