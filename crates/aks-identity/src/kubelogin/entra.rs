//! Form POSTs to Entra's token endpoints for the flows azure_identity 1.0 lacks: device code, ROPC, refresh
//! token, authorization code, and the v1 (`--legacy`, `resource=`) variants.

use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;

use super::{Acquire, KubeloginError, TokenSet, scope};
use crate::credential::Secret;
use crate::credential::certificate::{ClientCertificate, SendChain};

/// The OAuth scopes a user sign-in adds so that Entra returns a refresh token and an id token.
const USER_SCOPES: &str = "offline_access openid profile";
/// The device-code grant type.
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The client assertion type of certificate assertions.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `{authority}/{tenant}/oauth2/v2.0/<endpoint>` or the v1 `{authority}/{tenant}/oauth2/<endpoint>`.
fn endpoint(context: &Acquire<'_>, tenant_id: &str, legacy: bool, name: &str) -> String {
    if legacy {
        format!("{}/{tenant_id}/oauth2/{name}", context.authority())
    } else {
        format!("{}/{tenant_id}/oauth2/v2.0/{name}", context.authority())
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

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<Number>,
    expires_on: Option<Number>,
    refresh_token: Option<String>,
}

#[derive(Deserialize, Default)]
struct ErrorAnswer {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// The answer of one POST: a token set, or Entra's OAuth error code and description.
enum Posted {
    Token(TokenSet),
    Refused(ErrorAnswer),
}

async fn post(
    context: &Acquire<'_>,
    url: &str,
    form: &[(&str, &str)],
) -> Result<(u16, Vec<u8>), KubeloginError> {
    tracing::debug!(url, "POST to Entra");
    let response = context
        .http()
        .post(url)
        .header("Accept", "application/json")
        .form(form)
        .send()
        .await
        .map_err(|source| KubeloginError::Transport {
            url: url.to_owned(),
            source,
        })?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|source| KubeloginError::Transport {
            url: url.to_owned(),
            source,
        })?;
    tracing::debug!(url, status, "Entra answered");
    Ok((status, body.to_vec()))
}

async fn post_token(
    context: &Acquire<'_>,
    url: &str,
    form: &[(&str, &str)],
) -> Result<Posted, KubeloginError> {
    let (status, body) = post(context, url, form).await?;
    if !(200..300).contains(&status) {
        let mut refused: ErrorAnswer = serde_json::from_slice(&body).unwrap_or_default();
        if refused.error.is_empty() {
            refused.error = format!("HTTP {status}");
            refused.error_description = String::from_utf8_lossy(&body).chars().take(1024).collect();
        }
        return Ok(Posted::Refused(refused));
    }
    let answer: TokenAnswer =
        serde_json::from_slice(&body).map_err(|error| KubeloginError::Decode {
            url: url.to_owned(),
            detail: error.to_string(),
        })?;
    let Some(access_token) = answer.access_token.filter(|token| !token.is_empty()) else {
        return Err(KubeloginError::Decode {
            url: url.to_owned(),
            detail: "no access_token in the answer".into(),
        });
    };
    let now = OffsetDateTime::now_utc();
    let expires_on = match (
        answer.expires_on.as_ref().and_then(Number::value),
        answer.expires_in.as_ref().and_then(Number::value),
    ) {
        (Some(on), _) => OffsetDateTime::from_unix_timestamp(on).ok(),
        (None, Some(seconds)) => Some(now + time::Duration::seconds(seconds)),
        (None, None) => None,
    }
    .ok_or_else(|| KubeloginError::Decode {
        url: url.to_owned(),
        detail: "no expires_in or expires_on in the answer".into(),
    })?;
    Ok(Posted::Token(TokenSet {
        access_token: Secret::new(access_token),
        expires_on,
        refresh_token: answer.refresh_token.map(Secret::new),
    }))
}

fn refused(url: &str, answer: ErrorAnswer) -> KubeloginError {
    KubeloginError::Entra {
        url: url.to_owned(),
        error: answer.error,
        description: answer.error_description,
    }
}

async fn token(
    context: &Acquire<'_>,
    url: &str,
    form: &[(&str, &str)],
) -> Result<TokenSet, KubeloginError> {
    match post_token(context, url, form).await? {
        Posted::Token(token) => Ok(token),
        Posted::Refused(answer) => Err(refused(url, answer)),
    }
}

fn user_scope(server_id: &str) -> String {
    format!("{} {USER_SCOPES}", scope(server_id))
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

/// The device authorization grant: start, show the message, poll until approved, declined or expired.
pub(super) async fn device_code(
    context: &Acquire<'_>,
    client_id: &str,
    tenant_id: &str,
    legacy: bool,
) -> Result<TokenSet, KubeloginError> {
    let start_url = endpoint(context, tenant_id, legacy, "devicecode");
    let user_scope = user_scope(context.server_id);
    let start_form: Vec<(&str, &str)> = if legacy {
        vec![("client_id", client_id), ("resource", context.server_id)]
    } else {
        vec![("client_id", client_id), ("scope", &user_scope)]
    };
    let (status, body) = post(context, &start_url, &start_form).await?;
    if !(200..300).contains(&status) {
        let answer: ErrorAnswer = serde_json::from_slice(&body).unwrap_or_else(|_| ErrorAnswer {
            error: format!("HTTP {status}"),
            error_description: String::from_utf8_lossy(&body).chars().take(1024).collect(),
        });
        return Err(refused(&start_url, answer));
    }
    let answer: DeviceCodeAnswer =
        serde_json::from_slice(&body).map_err(|error| KubeloginError::Decode {
            url: start_url.clone(),
            detail: error.to_string(),
        })?;
    let message = answer.message.clone().unwrap_or_else(|| {
        format!(
            "To sign in, use a web browser to open the page {} and enter the code {} to authenticate.",
            answer.verification_uri.as_deref().unwrap_or("https://microsoft.com/devicelogin"),
            answer.user_code.as_deref().unwrap_or_default()
        )
    });
    (context.prompt)(&message);
    let mut interval = Duration::from_secs(
        answer
            .interval
            .as_ref()
            .and_then(Number::value)
            .unwrap_or(5)
            .clamp(1, 60) as u64,
    );
    let expires_in = answer
        .expires_in
        .as_ref()
        .and_then(Number::value)
        .unwrap_or(900)
        .max(1) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(expires_in);
    let token_url = endpoint(context, tenant_id, legacy, "token");
    let poll_form: Vec<(&str, &str)> = if legacy {
        vec![
            ("grant_type", "device_code"),
            ("client_id", client_id),
            ("code", &answer.device_code),
            ("resource", context.server_id),
        ]
    } else {
        vec![
            ("grant_type", DEVICE_CODE_GRANT),
            ("client_id", client_id),
            ("device_code", &answer.device_code),
        ]
    };
    loop {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() > deadline {
            return Err(KubeloginError::DeviceCodeExpired);
        }
        match post_token(context, &token_url, &poll_form).await? {
            Posted::Token(token) => return Ok(token),
            Posted::Refused(answer) if answer.error == "authorization_pending" => {}
            Posted::Refused(answer) if answer.error == "slow_down" => {
                interval += Duration::from_secs(5);
            }
            Posted::Refused(answer) if answer.error == "expired_token" => {
                return Err(KubeloginError::DeviceCodeExpired);
            }
            Posted::Refused(answer) => return Err(refused(&token_url, answer)),
        }
    }
}

/// Resource owner password credentials.
pub(super) async fn password(
    context: &Acquire<'_>,
    client_id: &str,
    tenant_id: &str,
    username: &str,
    password: &Secret,
    legacy: bool,
) -> Result<TokenSet, KubeloginError> {
    let url = endpoint(context, tenant_id, legacy, "token");
    let user_scope = user_scope(context.server_id);
    let mut form = vec![
        ("grant_type", "password"),
        ("client_id", client_id),
        ("username", username),
        ("password", password.expose()),
    ];
    if legacy {
        form.push(("resource", context.server_id));
    } else {
        form.push(("scope", &user_scope));
    }
    token(context, &url, &form).await
}

/// A new access token from a refresh token (the refresh token may be rotated).
pub(super) async fn refresh(
    context: &Acquire<'_>,
    client_id: &str,
    tenant_id: &str,
    refresh_token: &Secret,
    legacy: bool,
) -> Result<TokenSet, KubeloginError> {
    let url = endpoint(context, tenant_id, legacy, "token");
    let user_scope = user_scope(context.server_id);
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", refresh_token.expose()),
    ];
    if legacy {
        form.push(("resource", context.server_id));
    } else {
        form.push(("scope", &user_scope));
    }
    let mut token = token(context, &url, &form).await?;
    if token.refresh_token.is_none() {
        token.refresh_token = Some(refresh_token.clone());
    }
    Ok(token)
}

/// Redeem an authorization code (interactive sign-in) with its PKCE verifier.
pub(super) async fn authorization_code(
    context: &Acquire<'_>,
    client_id: &str,
    tenant_id: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<TokenSet, KubeloginError> {
    let url = endpoint(context, tenant_id, false, "token");
    let user_scope = user_scope(context.server_id);
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
        ("scope", user_scope.as_str()),
    ];
    token(context, &url, &form).await
}

/// How a confidential client proves itself on the v1 endpoint.
pub(super) enum ClientAuth<'a> {
    Secret(&'a Secret),
    Certificate(&'a ClientCertificate),
}

/// `--legacy` service principal: client credentials on the v1 endpoint with `resource=<server-id>`, so the token's
/// audience is `spn:<server-id>`-compatible as ADAL's was.
pub(super) async fn legacy_client_credentials(
    context: &Acquire<'_>,
    client_id: &str,
    tenant_id: &str,
    auth: ClientAuth<'_>,
) -> Result<TokenSet, KubeloginError> {
    let url = endpoint(context, tenant_id, true, "token");
    let assertion;
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("resource", context.server_id),
    ];
    match auth {
        ClientAuth::Secret(secret) => form.push(("client_secret", secret.expose())),
        ClientAuth::Certificate(certificate) => {
            assertion = certificate
                // ADAL's certificate secret (kubelogin `--legacy`) always sends `x5c` with `x5t`.
                .assertion(client_id, &url, OffsetDateTime::now_utc(), SendChain::Leaf)
                .map_err(|message| KubeloginError::Decode {
                    url: url.clone(),
                    detail: message,
                })?;
            form.push(("client_assertion_type", JWT_BEARER));
            form.push(("client_assertion", &assertion));
        }
    }
    token(context, &url, &form).await
}
