//! `interactive`: the authorization code flow with PKCE (RFC 7636), redirected to a loopback listener
//! (RFC 8252 §7.3), as azidentity's InteractiveBrowserCredential does.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use super::{Acquire, KubeloginError, TokenSet};
use crate::entra;

/// The page the browser shows after the redirect.
const DONE_PAGE: &str =
    "<html><body><p>Authentication complete. You can close this window.</p></body></html>";

/// A PKCE verifier (43 URL-safe characters from 32 random bytes) and its S256 challenge.
pub(crate) fn pkce_pair() -> (String, String) {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    let verifier = URL_SAFE_NO_PAD.encode(&bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The redirect URI and the port to listen on: `--redirect-url` (its host must be loopback), else
/// `http://localhost:<port>` on a port the system picks.
pub(crate) async fn listener(
    redirect_url: Option<&str>,
) -> Result<(TcpListener, String), KubeloginError> {
    let fail = |message: String| KubeloginError::Interactive(message);
    let wanted = match redirect_url.filter(|url| !url.is_empty()) {
        Some(text) => {
            let url = Url::parse(text)
                .map_err(|error| fail(format!("--redirect-url {text:?} is not a URL: {error}")))?;
            if !matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) {
                return Err(fail(format!(
                    "--redirect-url {text:?} must point at localhost for the loopback listener"
                )));
            }
            Some((url.port().unwrap_or(0), text.to_owned()))
        }
        None => None,
    };
    let port = wanted.as_ref().map_or(0, |(port, _)| *port);
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|error| fail(format!("cannot listen on 127.0.0.1:{port}: {error}")))?;
    let bound = listener
        .local_addr()
        .map_err(|error| fail(error.to_string()))?
        .port();
    let redirect = match wanted {
        Some((0, text)) => {
            let mut url = Url::parse(&text).map_err(|error| fail(error.to_string()))?;
            let _ = url.set_port(Some(bound));
            url.to_string()
        }
        Some((_, text)) => text,
        None => format!("http://localhost:{bound}"),
    };
    Ok((listener, redirect))
}

/// The largest request the listener reads (headers and a posted form).
const MAX_REQUEST: usize = 64 * 1024;

/// One request to the listener: its parameters, from the query of a `GET` or the
/// `application/x-www-form-urlencoded` body of a `POST` (Entra's `response_mode=form_post`).
async fn read_parameters(stream: &mut tokio::net::TcpStream) -> Vec<(String, String)> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut header_end = None;
    let mut wanted = usize::MAX;
    while buffer.len() < MAX_REQUEST && buffer.len() < wanted {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if header_end.is_none()
            && let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n")
        {
            header_end = Some(at + 4);
            wanted = at + 4 + content_length(&buffer[..at]);
        }
    }
    let Some(header_end) = header_end else {
        return Vec::new();
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]);
    let mut request_line = head.lines().next().unwrap_or_default().split_whitespace();
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or("/").to_owned();
    if method == "POST" {
        let body = &buffer[header_end.min(buffer.len())..buffer.len().min(wanted)];
        return url::form_urlencoded::parse(body).into_owned().collect();
    }
    Url::parse(&format!("http://localhost{target}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// The `Content-Length` of a request head (0 when absent).
fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

/// The `code` (or Entra's `error`) of the first redirect that carries one, in the query (`response_mode=query`)
/// or a posted form (`form_post`); answers every request.
pub(crate) async fn wait_for_code(
    listener: &TcpListener,
    state: &str,
) -> Result<String, KubeloginError> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|error| KubeloginError::Interactive(format!("accept: {error}")))?;
        let parameters = read_parameters(&mut stream).await;
        let query = |name: &str| {
            parameters
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let (code, error) = (query("code"), query("error"));
        if code.is_none() && error.is_none() {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            continue;
        }
        let outcome = if let Some(error) = error {
            let description = query("error_description").unwrap_or_default();
            Err(
                match query("error_subcode").filter(|subcode| !subcode.is_empty()) {
                    Some(subcode) => format!("{error} ({subcode}): {description}"),
                    None => format!("{error}: {description}"),
                },
            )
        } else if query("state").as_deref() != Some(state) {
            Err("the redirect's state does not match the request (possible cross-site request forgery)".to_owned())
        } else {
            Ok(code.unwrap_or_default())
        };
        let page = match &outcome {
            Ok(_) => DONE_PAGE.to_owned(),
            Err(message) => failed_page(message),
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        return outcome.map_err(KubeloginError::Interactive);
    }
}

/// The page the browser shows when the sign-in failed: what Entra said (never a code), HTML-escaped.
fn failed_page(message: &str) -> String {
    let mut escaped = String::with_capacity(message.len());
    for character in message.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    format!(
        "<html><body><p>Authentication failed. You can close this window and return to the application.</p><pre>{escaped}</pre></body></html>"
    )
}

/// Sign a user in through the browser and redeem the code.
pub(super) async fn sign_in(
    context: &Acquire<'_>,
    client_id: &str,
    tenant_id: &str,
    redirect_url: Option<&str>,
    login_hint: Option<&str>,
) -> Result<TokenSet, KubeloginError> {
    let (listener, redirect_uri) = listener(redirect_url).await?;
    let (verifier, challenge) = pkce_pair();
    let state = uuid::Uuid::new_v4().simple().to_string();
    let mut authorize = Url::parse(&format!(
        "{}/{tenant_id}/oauth2/v2.0/authorize",
        context.authority()
    ))
    .map_err(|error| KubeloginError::Interactive(format!("authority host: {error}")))?;
    {
        let mut query = authorize.query_pairs_mut();
        query
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair(
                "scope",
                &format!(
                    "{} offline_access openid profile",
                    super::scope(context.server_id)
                ),
            )
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(claims) = context.claims.filter(|claims| !claims.is_empty()) {
            query.append_pair("claims", claims);
        }
        match login_hint.filter(|hint| !hint.is_empty()) {
            Some(hint) => {
                query.append_pair("login_hint", hint);
            }
            None => {
                query.append_pair("prompt", "select_account");
            }
        }
    }
    tracing::debug!(redirect_uri, "waiting for the interactive sign-in redirect");
    (context.open_browser)(authorize.as_str());
    let code = wait_for_code(&listener, &state).await?;
    let scope = super::scope(context.server_id);
    Ok(entra::authorization_code(
        context.endpoint(),
        client_id,
        tenant_id,
        &code,
        &redirect_uri,
        &verifier,
        &scope,
    )
    .await?
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_s256_of_the_verifier() {
        let (verifier, challenge) = pkce_pair();
        assert_eq!(verifier.len(), 43);
        assert_eq!(
            challenge,
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
        );
        assert_ne!(pkce_pair().0, verifier);
    }

    #[tokio::test]
    async fn the_listener_takes_the_code_and_checks_state() {
        let (listener, redirect) = listener(None).await.unwrap();
        assert!(redirect.starts_with("http://localhost:"), "{redirect}");
        let port = listener.local_addr().unwrap().port();
        let client = tokio::spawn(async move {
            let send = |path: &'static str| async move {
                let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                stream
                    .write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
                    .await
                    .unwrap();
                let mut answer = String::new();
                stream.read_to_string(&mut answer).await.unwrap();
                answer
            };
            let favicon = send("/favicon.ico").await;
            let done = send("/?code=the-code&state=s1").await;
            (favicon, done)
        });
        let code = wait_for_code(&listener, "s1").await.unwrap();
        assert_eq!(code, "the-code");
        let (favicon, done) = client.await.unwrap();
        assert!(favicon.starts_with("HTTP/1.1 404"));
        assert!(done.contains("Authentication complete"));

        let (listener, _) = super::listener(Some("http://localhost:0/callback"))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            stream
                .write_all(b"GET /callback?code=x&state=wrong HTTP/1.1\r\n\r\n")
                .await
                .unwrap();
        });
        let error = wait_for_code(&listener, "s1")
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("state"), "{error}");
        let error = super::listener(Some("https://example.com/cb"))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("localhost"));
    }

    #[tokio::test]
    async fn a_posted_form_carries_the_code_even_when_its_body_arrives_late() {
        let (listener, _) = listener(None).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let browser = tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let body = "code=posted%2Bcode&state=s1&session_state=x";
            let head = format!(
                "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.flush().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            stream.write_all(body.as_bytes()).await.unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answer
        });
        assert_eq!(wait_for_code(&listener, "s1").await.unwrap(), "posted+code");
        assert!(browser.await.unwrap().contains("Authentication complete"));
    }

    #[tokio::test]
    async fn an_error_redirect_fails_the_sign_in_and_says_so_in_the_browser() {
        let (listener, _) = listener(None).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let browser = tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            stream
                .write_all(b"GET /?error=access_denied&error_subcode=cancel&error_description=AADSTS65004%3A+User+declined+%3Cb%3E&state=s1 HTTP/1.1\r\n\r\n")
                .await
                .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answer
        });
        let error = wait_for_code(&listener, "s1")
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "interactive sign-in: access_denied (cancel): AADSTS65004: User declined <b>"
        );
        let page = browser.await.unwrap();
        assert!(page.contains("Authentication failed"), "{page}");
        assert!(page.contains("User declined &lt;b&gt;"), "{page}");
        assert!(!page.contains("Authentication complete"), "{page}");
    }
}
