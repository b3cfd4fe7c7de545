//! The Microsoft identity platform's token endpoints as form POSTs: client credentials (secret or certificate
//! assertion), device code, ROPC, refresh token and authorization code, on the v2.0 endpoints (`scope=`) and the
//! v1 ones (`resource=`, kubelogin's `--legacy`).
//!
//! Every refusal becomes an [`EntraError`] whose message is Entra's `AADSTSnnnnn: …` line; the trace and
//! correlation ids Entra appends to `error_description` (after `\r\n`) are kept for `--debug` only. Error bodies
//! are read into owned strings: Entra escapes those line breaks, which a borrowed `&str` cannot hold.
//! Protocol: <https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow>,
//! `v2-oauth2-device-code`, `v2-oauth2-auth-code-flow`, `reference-error-codes`.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;

use crate::certificate::{ClientCertificate, SendChain};
use crate::secret::Secret;

/// The OAuth scopes a user sign-in adds so that Entra returns a refresh token and an id token.
pub const USER_SCOPES: &str = "offline_access openid profile";
/// The device-code grant type.
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The client assertion type of certificate assertions.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Where token requests go: an authority host (`https://login.microsoftonline.com`) and the HTTP client.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint<'a> {
    /// The HTTP client.
    pub http: &'a reqwest::Client,
    /// The authority host; a trailing `/` is ignored.
    pub authority: &'a str,
}

/// What a token is for: v2.0 scopes, or a v1 resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience<'a> {
    /// v2.0: the `scope` form field (space-separated).
    Scope(&'a str),
    /// v1 (`--legacy`): the `resource` form field.
    Resource(&'a str),
}

impl Audience<'_> {
    fn is_legacy(self) -> bool {
        matches!(self, Audience::Resource(_))
    }

    /// The form field that names the audience, with [`USER_SCOPES`] added for user sign-ins on v2.0.
    fn field(self, user: bool) -> (&'static str, String) {
        match self {
            Audience::Scope(scope) if user => ("scope", format!("{scope} {USER_SCOPES}")),
            Audience::Scope(scope) => ("scope", scope.to_owned()),
            Audience::Resource(resource) => ("resource", resource.to_owned()),
        }
    }
}

impl Endpoint<'_> {
    /// `{authority}/{tenant}/oauth2/v2.0/<name>`, or the v1 `{authority}/{tenant}/oauth2/<name>`.
    pub fn url(&self, tenant_id: &str, legacy: bool, name: &str) -> String {
        let authority = self.authority.trim_end_matches('/');
        if legacy {
            format!("{authority}/{tenant_id}/oauth2/{name}")
        } else {
            format!("{authority}/{tenant_id}/oauth2/v2.0/{name}")
        }
    }
}

/// A token answer.
#[derive(Clone, PartialEq)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: Secret,
    /// When it expires.
    pub expires_on: OffsetDateTime,
    /// A refresh token (user grants with `offline_access`).
    pub refresh_token: Option<Secret>,
    /// The id token (user grants with `openid`), a JWT about the user.
    pub id_token: Option<Secret>,
    /// `client_info` (base64url JSON `{"uid","utid"}`), when asked with `client_info=1`.
    pub client_info: Option<String>,
    /// The scopes granted.
    pub scope: Option<String>,
    /// `foci` (the family of client ids), when the client is in one.
    pub foci: Option<String>,
    /// Seconds the token may be used past `expires_in` during an outage.
    pub ext_expires_in: Option<i64>,
    /// Seconds after which a refresh is advised.
    pub refresh_in: Option<i64>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_on", &self.expires_on)
            .field("scope", &self.scope)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("has_id_token", &self.id_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Entra's refusal: `error`, the `AADSTSnnnnn: …` line of `error_description`, and what clients act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct EntraError {
    /// The endpoint that refused.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The OAuth error (`invalid_client`, `invalid_grant`, `authorization_pending`, …), or `HTTP <status>` when
    /// the body is not an OAuth error.
    pub error: String,
    /// The first line of `error_description` (`AADSTS7000215: Invalid client secret provided.`).
    pub description: String,
    /// `error_codes` (`[7000215]`).
    pub codes: Vec<i64>,
    /// `suberror` (`basic_action`, `token_expired`, …).
    pub suberror: Option<String>,
    /// A claims challenge (JSON) that an interactive sign-in must satisfy.
    pub claims: Option<String>,
    /// The rest of `error_description`, `trace_id` and `correlation_id`, for `--debug`.
    pub trace: String,
}

impl fmt::Display for EntraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.description.starts_with("AADSTS") {
            f.write_str(&self.description)
        } else if self.description.is_empty() {
            f.write_str(&self.error)
        } else {
            write!(f, "{}: {}", self.error, self.description)
        }
    }
}

impl EntraError {
    /// Whether Entra's `error_codes` hold `code` (e.g. 50076) or the description starts with `AADSTS<code>`.
    pub fn has_code(&self, code: i64) -> bool {
        self.codes.contains(&code) || self.description.starts_with(&format!("AADSTS{code}:"))
    }

    /// Read a refusal from its status and body: an OAuth error object, else the status and the body's text.
    pub fn from_body(url: &str, status: u16, body: &[u8]) -> EntraError {
        EntraError::parse(url, status, body).unwrap_or_else(|| {
            let text: String = String::from_utf8_lossy(body).chars().take(1024).collect();
            EntraError {
                url: url.to_owned(),
                status,
                error: format!("HTTP {status}"),
                description: text.trim().to_owned(),
                codes: Vec::new(),
                suberror: None,
                claims: None,
                trace: String::new(),
            }
        })
    }

    /// The refusal in `body` when it is Entra's OAuth error object (`error`, `error_description`, …).
    pub fn parse(url: &str, status: u16, body: &[u8]) -> Option<EntraError> {
        #[derive(Deserialize, Default)]
        struct Body {
            #[serde(default)]
            error: String,
            #[serde(default)]
            error_description: String,
            #[serde(default)]
            error_codes: Vec<i64>,
            #[serde(default)]
            suberror: Option<String>,
            #[serde(default)]
            claims: Option<String>,
            #[serde(default)]
            trace_id: Option<String>,
            #[serde(default)]
            correlation_id: Option<String>,
        }
        let parsed: Body = serde_json::from_slice(body).ok()?;
        if parsed.error.is_empty() {
            return None;
        }
        let mut lines = parsed.error_description.lines();
        let description = lines.next().unwrap_or_default().trim().to_owned();
        let mut trace: Vec<String> = lines.map(|line| line.trim().to_owned()).collect();
        trace.extend(parsed.trace_id.map(|id| format!("trace_id: {id}")));
        trace.extend(
            parsed
                .correlation_id
                .map(|id| format!("correlation_id: {id}")),
        );
        trace.retain(|line| !line.is_empty());
        Some(EntraError {
            url: url.to_owned(),
            status,
            error: parsed.error,
            description,
            codes: parsed.error_codes,
            suberror: parsed.suberror.filter(|value| !value.is_empty()),
            claims: parsed.claims.filter(|value| !value.is_empty()),
            trace: trace.join("; "),
        })
    }
}

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Entra refused (boxed: the error path is cold and the `Ok` values are small).
    #[error(transparent)]
    Refused(Box<EntraError>),
    /// No HTTP answer.
    #[error("{url}: {}", crate::error_chain(source))]
    Transport {
        /// The endpoint.
        url: String,
        /// What reqwest reported.
        #[source]
        source: reqwest::Error,
    },
    /// A 2xx answer that is not a token answer.
    #[error("unexpected answer from {url}: {detail}")]
    Decode {
        /// The endpoint.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// A device code expired before it was approved.
    #[error("the device code expired before the sign-in was completed")]
    DeviceCodeExpired,
    /// A client assertion could not be signed.
    #[error("client assertion for {url}: {detail}")]
    Assertion {
        /// The endpoint.
        url: String,
        /// What went wrong.
        detail: String,
    },
}

impl From<EntraError> for RequestError {
    fn from(error: EntraError) -> RequestError {
        RequestError::Refused(Box::new(error))
    }
}

impl RequestError {
    /// Whether the endpoint answered 408, 429 or 5xx (worth a retry with backoff).
    pub fn is_transient(&self) -> bool {
        matches!(self, RequestError::Refused(error)
            if error.status == 408 || error.status == 429 || (500..600).contains(&error.status))
    }
}

/// A number that Entra sends as a JSON number (v2) or a string (v1).
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Text(String),
}

impl Number {
    fn value(&self) -> Option<i64> {
        match self {
            Number::Int(value) => Some(*value),
            Number::Text(text) => text.trim().parse().ok(),
        }
    }
}

fn number(value: &Option<Number>) -> Option<i64> {
    value.as_ref().and_then(Number::value)
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<Number>,
    expires_on: Option<Number>,
    ext_expires_in: Option<Number>,
    refresh_in: Option<Number>,
    refresh_token: Option<String>,
    id_token: Option<String>,
    client_info: Option<String>,
    scope: Option<String>,
    foci: Option<String>,
}

impl TokenAnswer {
    fn into_response(self, url: &str) -> Result<TokenResponse, RequestError> {
        let decode = |detail: &str| RequestError::Decode {
            url: url.to_owned(),
            detail: detail.to_owned(),
        };
        let access_token = self
            .access_token
            .filter(|token| !token.is_empty())
            .ok_or_else(|| decode("no access_token in the answer"))?;
        let now = OffsetDateTime::now_utc();
        let expires_on = match (number(&self.expires_on), number(&self.expires_in)) {
            (Some(on), _) => OffsetDateTime::from_unix_timestamp(on).ok(),
            (None, Some(seconds)) => Some(now + time::Duration::seconds(seconds)),
            (None, None) => None,
        }
        .ok_or_else(|| decode("no expires_in or expires_on in the answer"))?;
        Ok(TokenResponse {
            access_token: Secret::new(access_token),
            expires_on,
            refresh_token: self
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(Secret::new),
            id_token: self.id_token.filter(|t| !t.is_empty()).map(Secret::new),
            client_info: self.client_info,
            scope: self.scope,
            foci: self.foci,
            ext_expires_in: number(&self.ext_expires_in),
            refresh_in: number(&self.refresh_in),
        })
    }
}

/// POST a form; the status and body.
async fn post(
    endpoint: Endpoint<'_>,
    url: &str,
    form: &[(&str, &str)],
    headers: &[(&str, String)],
) -> Result<(u16, Vec<u8>), RequestError> {
    tracing::debug!(url, "POST to Entra");
    let transport = |source| RequestError::Transport {
        url: url.to_owned(),
        source,
    };
    let mut request = endpoint
        .http
        .post(url)
        .header("Accept", "application/json")
        .form(form);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(transport)?;
    tracing::debug!(url, status, "Entra answered");
    Ok((status, body.to_vec()))
}

/// POST a token request: the token, or Entra's refusal (logged with its trace ids at debug).
pub async fn request_token(
    endpoint: Endpoint<'_>,
    url: &str,
    form: &[(&str, &str)],
    headers: &[(&str, String)],
) -> Result<TokenResponse, RequestError> {
    let (status, body) = post(endpoint, url, form, headers).await?;
    if !(200..300).contains(&status) {
        let error = EntraError::from_body(url, status, &body);
        tracing::debug!(url, status, error = %error, trace = %error.trace, "Entra refused");
        return Err(error.into());
    }
    let answer: TokenAnswer =
        serde_json::from_slice(&body).map_err(|error| RequestError::Decode {
            url: url.to_owned(),
            detail: error.to_string(),
        })?;
    answer.into_response(url)
}

/// How a confidential client proves itself.
#[derive(Clone, Copy, Debug)]
pub enum ClientAuth<'a> {
    /// A client secret.
    Secret(&'a Secret),
    /// A certificate: a signed client assertion, with `x5c` as `send_chain` says.
    Certificate(&'a ClientCertificate, SendChain),
    /// A ready client assertion (a federated token, as `az login --federated-token` stores it).
    Assertion(&'a Secret),
}

/// The client-credentials grant (a service principal's own token).
pub async fn client_credentials(
    endpoint: Endpoint<'_>,
    client_id: &str,
    tenant_id: &str,
    auth: ClientAuth<'_>,
    audience: Audience<'_>,
) -> Result<TokenResponse, RequestError> {
    let url = endpoint.url(tenant_id, audience.is_legacy(), "token");
    let (field, value) = audience.field(false);
    let assertion;
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        (field, value.as_str()),
    ];
    match auth {
        ClientAuth::Secret(secret) => form.push(("client_secret", secret.expose())),
        ClientAuth::Certificate(certificate, send_chain) => {
            assertion = certificate
                .assertion(client_id, &url, OffsetDateTime::now_utc(), send_chain)
                .map_err(|detail| RequestError::Assertion {
                    url: url.clone(),
                    detail,
                })?;
            form.push(("client_assertion_type", JWT_BEARER));
            form.push(("client_assertion", &assertion));
        }
        ClientAuth::Assertion(token) => {
            form.push(("client_assertion_type", JWT_BEARER));
            form.push(("client_assertion", token.expose()));
        }
    }
    request_token(endpoint, &url, &form, &[]).await
}

/// Resource owner password credentials.
pub async fn password(
    endpoint: Endpoint<'_>,
    client_id: &str,
    tenant_id: &str,
    username: &str,
    password: &Secret,
    audience: Audience<'_>,
) -> Result<TokenResponse, RequestError> {
    let url = endpoint.url(tenant_id, audience.is_legacy(), "token");
    let (field, value) = audience.field(true);
    let form = [
        ("grant_type", "password"),
        ("client_id", client_id),
        ("username", username),
        ("password", password.expose()),
        (field, value.as_str()),
    ];
    request_token(endpoint, &url, &form, &[]).await
}

/// A new access token from a refresh token. The refresh token may be rotated; when Entra sends none, the one
/// given is kept.
pub async fn refresh(
    endpoint: Endpoint<'_>,
    client_id: &str,
    tenant_id: &str,
    refresh_token: &Secret,
    audience: Audience<'_>,
) -> Result<TokenResponse, RequestError> {
    let url = endpoint.url(tenant_id, audience.is_legacy(), "token");
    let (field, value) = audience.field(true);
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", refresh_token.expose()),
        (field, value.as_str()),
    ];
    let mut token = request_token(endpoint, &url, &form, &[]).await?;
    if token.refresh_token.is_none() {
        token.refresh_token = Some(refresh_token.clone());
    }
    Ok(token)
}

/// Redeem an authorization code with its PKCE verifier.
pub async fn authorization_code(
    endpoint: Endpoint<'_>,
    client_id: &str,
    tenant_id: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    scope: &str,
) -> Result<TokenResponse, RequestError> {
    let url = endpoint.url(tenant_id, false, "token");
    let (field, value) = Audience::Scope(scope).field(true);
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
        (field, value.as_str()),
        ("client_info", "1"),
    ];
    request_token(endpoint, &url, &form, &[]).await
}

#[derive(Deserialize)]
struct DeviceCodeAnswer {
    device_code: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    user_code: Option<String>,
    #[serde(default, alias = "verification_url")]
    verification_uri: Option<String>,
    #[serde(default)]
    expires_in: Option<Number>,
    #[serde(default)]
    interval: Option<Number>,
}

/// The device authorization grant: start, show the message through `prompt`, poll until approved, declined or
/// expired (RFC 8628: `authorization_pending` waits, `slow_down` adds 5 s). A claims challenge goes in the
/// `devicecode` request and the polls, as MSAL's `initiate_device_flow(claims_challenge=…)` sends it
/// (AzureAD/microsoft-authentication-library-for-python: `msal/application.py`).
pub async fn device_code(
    endpoint: Endpoint<'_>,
    client_id: &str,
    tenant_id: &str,
    audience: Audience<'_>,
    claims: Option<&str>,
    prompt: &(dyn Fn(&str) + Send + Sync),
) -> Result<TokenResponse, RequestError> {
    let legacy = audience.is_legacy();
    let start_url = endpoint.url(tenant_id, legacy, "devicecode");
    let (field, value) = audience.field(true);
    let claims = claims.filter(|claims| !claims.is_empty());
    let mut start_form = vec![("client_id", client_id), (field, value.as_str())];
    start_form.extend(claims.map(|claims| ("claims", claims)));
    let (status, body) = post(endpoint, &start_url, &start_form, &[]).await?;
    if !(200..300).contains(&status) {
        return Err(EntraError::from_body(&start_url, status, &body).into());
    }
    let answer: DeviceCodeAnswer =
        serde_json::from_slice(&body).map_err(|error| RequestError::Decode {
            url: start_url.clone(),
            detail: error.to_string(),
        })?;
    prompt(&device_code_message(&answer));
    let token_url = endpoint.url(tenant_id, legacy, "token");
    let mut poll_form: Vec<(&str, &str)> = match audience {
        Audience::Resource(resource) => vec![
            ("grant_type", "device_code"),
            ("client_id", client_id),
            ("code", &answer.device_code),
            ("resource", resource),
        ],
        Audience::Scope(_) => vec![
            ("grant_type", DEVICE_CODE_GRANT),
            ("client_id", client_id),
            ("device_code", &answer.device_code),
            ("client_info", "1"),
        ],
    };
    poll_form.extend(claims.map(|claims| ("claims", claims)));
    poll_device_code(endpoint, &token_url, &poll_form, &answer).await
}

fn device_code_message(answer: &DeviceCodeAnswer) -> String {
    answer.message.clone().unwrap_or_else(|| {
        format!(
            "To sign in, use a web browser to open the page {} and enter the code {} to authenticate.",
            answer
                .verification_uri
                .as_deref()
                .unwrap_or("https://microsoft.com/devicelogin"),
            answer.user_code.as_deref().unwrap_or_default()
        )
    })
}

async fn poll_device_code(
    endpoint: Endpoint<'_>,
    token_url: &str,
    poll_form: &[(&str, &str)],
    answer: &DeviceCodeAnswer,
) -> Result<TokenResponse, RequestError> {
    let mut interval =
        Duration::from_secs(number(&answer.interval).unwrap_or(5).clamp(1, 60) as u64);
    let expires_in = number(&answer.expires_in).unwrap_or(900).max(1) as u64;
    // One poll after the code's lifetime, so that Entra's own `expired_token` answer (AADSTS70020) is what the
    // person sees; the local deadline only stops a server that never says so.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(expires_in) + interval;
    loop {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() > deadline {
            return Err(RequestError::DeviceCodeExpired);
        }
        match request_token(endpoint, token_url, poll_form, &[]).await {
            Ok(token) => return Ok(token),
            Err(RequestError::Refused(error)) if error.error == "authorization_pending" => {}
            Err(RequestError::Refused(error)) if error.error == "slow_down" => {
                interval += Duration::from_secs(5);
            }
            // `expired_token` (AADSTS70020), `authorization_declined` and the rest end the flow with Entra's line.
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_show_the_aadsts_line_and_keep_trace_ids_for_debug() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: 7d3f\r\nCorrelation ID: 9a1b\r\nTimestamp: 2026-12-06 21:00:00Z","error_codes":[7000215],"timestamp":"2026-12-06 21:00:00Z","trace_id":"7d3f","correlation_id":"9a1b","error_uri":"https://login.microsoftonline.com/error?code=7000215"}"#;
        let error = EntraError::from_body("https://login/t/oauth2/v2.0/token", 401, body);
        assert_eq!(
            error.to_string(),
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the \
             client secret value."
        );
        assert_eq!(error.error, "invalid_client");
        assert!(error.has_code(7000215));
        assert!(error.trace.contains("Trace ID: 7d3f"), "{}", error.trace);
        assert!(
            error.trace.contains("correlation_id: 9a1b"),
            "{}",
            error.trace
        );
    }

    #[test]
    fn claims_challenges_and_suberrors_are_kept() {
        let body = br#"{"error":"interaction_required","error_description":"AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication.\r\nTrace ID: a","error_codes":[50076],"suberror":"basic_action","claims":"{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"p1\"]}}}"}"#;
        let error = EntraError::from_body("u", 400, body);
        assert!(error.has_code(50076));
        assert_eq!(error.suberror.as_deref(), Some("basic_action"));
        assert!(error.claims.as_deref().unwrap().contains("capolids"));
    }

    #[test]
    fn bodies_that_are_not_oauth_errors_keep_status_and_text() {
        let error = EntraError::from_body("u", 502, b"<html>Bad Gateway</html>");
        assert_eq!(error.to_string(), "HTTP 502: <html>Bad Gateway</html>");
        assert!(RequestError::from(error).is_transient());
    }

    #[test]
    fn audiences_name_their_form_field() {
        assert_eq!(
            Audience::Scope("s/.default").field(true),
            ("scope", format!("s/.default {USER_SCOPES}"))
        );
        assert_eq!(
            Audience::Scope("s/.default").field(false),
            ("scope", "s/.default".to_owned())
        );
        assert_eq!(
            Audience::Resource("r").field(true),
            ("resource", "r".to_owned())
        );
    }
}
