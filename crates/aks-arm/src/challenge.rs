//! ARM's Conditional Access claims challenge: a `401` whose `WWW-Authenticate` is `Bearer realm="",
//! authorization_uri="https://login…/<tenant>/oauth2/authorize", error="insufficient_claims", claims="<base64>"`
//! (<https://learn.microsoft.com/entra/identity-platform/claims-challenge>). A new token from the same refresh
//! token cannot satisfy it, so the client reports it instead of retrying: the decoded challenge and the commands
//! that sign in again with it, as the Azure CLI builds them (Azure/azure-cli:
//! `src/azure-cli-core/azure/cli/core/auth/util.py` `_generate_login_command`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};

/// A claims challenge read from a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsChallenge {
    /// The challenge, decoded (JSON such as `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`).
    pub claims: String,
    /// The tenant of `authorization_uri` (its first path segment), when it names one.
    pub tenant: Option<String>,
}

impl ClaimsChallenge {
    /// The challenge in `headers`, when a `Bearer` challenge says `error="insufficient_claims"` and carries
    /// `claims` that decode (base64, standard or URL-safe, padded or not) to UTF-8.
    pub fn from_headers(headers: &HeaderMap) -> Option<ClaimsChallenge> {
        headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(ClaimsChallenge::from_header)
    }

    fn from_header(value: &str) -> Option<ClaimsChallenge> {
        let rest = value.trim().strip_prefix("Bearer")?;
        let params = auth_params(rest);
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        if param("error") != Some("insufficient_claims") {
            return None;
        }
        let encoded = param("claims")?.trim().trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded.replace('+', "-").replace('/', "_"))
            .ok()?;
        let claims = String::from_utf8(bytes).ok()?;
        let tenant = param("authorization_uri")
            .and_then(|uri| url::Url::parse(uri).ok())
            .and_then(|uri| {
                uri.path_segments()?
                    .next()
                    .filter(|segment| !segment.is_empty())
                    .map(str::to_owned)
            });
        Some(ClaimsChallenge { claims, tenant })
    }

    /// The Azure CLI's advice for it: `az logout`, then `az login --tenant "<t>" --scope "<s>" --claims-challenge
    /// "<standard base64 of the claims>"`.
    pub fn login_command(&self, scope: &str) -> String {
        let mut login = vec!["az login".to_owned()];
        if let Some(tenant) = &self.tenant {
            login.push(format!("--tenant \"{tenant}\""));
        }
        login.push(format!("--scope \"{scope}\""));
        login.push(format!(
            "--claims-challenge \"{}\"",
            STANDARD.encode(self.claims.as_bytes())
        ));
        format!("az logout\n{}", login.join(" "))
    }
}

/// The `name=value` / `name="value"` pairs of a challenge's parameters (RFC 7235 §2.1), in order.
fn auth_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim_start_matches([' ', ',']);
    while let Some(equals) = rest.find('=') {
        let name = rest[..equals].trim().to_owned();
        rest = rest[equals + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut text = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((index, character)) = chars.next() {
                match character {
                    '\\' => text.extend(chars.next().map(|(_, escaped)| escaped)),
                    '"' => {
                        end = index + 1;
                        break;
                    }
                    other => text.push(other),
                }
            }
            value = text;
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        params.push((name, value));
        rest = rest.trim_start_matches([' ', ',']);
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const CHALLENGE: &str = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn arms_challenge_is_decoded_with_its_tenant() {
        let value = format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/authorize", error="insufficient_claims", claims="{}""#,
            STANDARD.encode(CHALLENGE)
        );
        let challenge = ClaimsChallenge::from_headers(&headers(&value)).unwrap();
        assert_eq!(challenge.claims, CHALLENGE);
        assert_eq!(
            challenge.tenant.as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(
            challenge.login_command("https://management.core.windows.net//.default"),
            format!(
                "az logout\naz login --tenant \"72f988bf-86f1-41af-91ab-2d7cd011db47\" --scope \
                 \"https://management.core.windows.net//.default\" --claims-challenge \"{}\"",
                STANDARD.encode(CHALLENGE)
            )
        );
        // URL-safe and unpadded encodings decode too.
        let value = format!(
            r#"Bearer error="insufficient_claims", claims="{}""#,
            URL_SAFE_NO_PAD.encode(CHALLENGE)
        );
        let challenge = ClaimsChallenge::from_headers(&headers(&value)).unwrap();
        assert_eq!(challenge.claims, CHALLENGE);
        assert_eq!(challenge.tenant, None);
    }

    #[test]
    fn other_challenges_are_not_claims_challenges() {
        for value in [
            r#"Bearer realm="", error="invalid_token", error_description="expired""#,
            r#"Bearer error="insufficient_claims""#,
            r#"Bearer error="insufficient_claims", claims="%%%""#,
            r#"Basic realm="x""#,
        ] {
            assert_eq!(
                ClaimsChallenge::from_headers(&headers(value)),
                None,
                "{value}"
            );
        }
        assert_eq!(ClaimsChallenge::from_headers(&HeaderMap::new()), None);
        assert_eq!(
            auth_params(r#" a="x\"y", b=2 ,c="""#),
            [
                ("a".to_owned(), "x\"y".to_owned()),
                ("b".to_owned(), "2".to_owned()),
                ("c".to_owned(), String::new())
            ]
        );
    }
}
