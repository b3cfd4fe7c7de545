//! The authorization request of a browser sign-in (authorization code + PKCE, RFC 7636) as MSAL Python builds it
//! for az (AzureAD/microsoft-authentication-library-for-python: `msal/oauth2cli/oauth2.py`
//! `initiate_auth_code_flow`), and reading the redirect a person pastes back (`--use-paste-back`).

use url::Url;

use super::SignInError;

/// One authorization request: what goes to `/authorize` and what the redirect must match.
#[derive(Clone, Debug)]
pub struct AuthorizeRequest {
    /// The URL the browser opens.
    pub url: Url,
    /// The `redirect_uri` sent (the token request repeats it).
    pub redirect_uri: String,
    /// The `state` the redirect must carry back.
    pub state: String,
    /// The PKCE verifier (the token request proves it).
    pub verifier: String,
}

/// What the authorize URL carries besides PKCE and `state`.
#[derive(Clone, Copy, Debug)]
pub struct AuthorizeParameters<'a> {
    /// `https://host/<tenant>/oauth2/v2.0/authorize`.
    pub endpoint: &'a str,
    /// The public client.
    pub client_id: &'a str,
    /// Where the browser is sent back to.
    pub redirect_uri: &'a str,
    /// The resource scopes (the OpenID scopes are added).
    pub scopes: &'a str,
    /// `--username`: sent as `login_hint`.
    pub login_hint: Option<&'a str>,
    /// `response_mode`: `form_post` for a loopback listener (as MSAL Python asks), `query` when the person
    /// copies the redirect URL from the address bar (paste-back).
    pub response_mode: ResponseMode,
}

/// How Entra returns the code to the redirect URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the redirect URL's query.
    Query,
    /// In a form the browser POSTs to the redirect URI.
    FormPost,
}

impl ResponseMode {
    fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::FormPost => "form_post",
        }
    }
}

/// Build the authorize URL with a fresh PKCE pair and `state`, with MSAL Python's parameters for az
/// (`client_info=1`, `prompt=select_account`) and the given `response_mode`.
pub fn authorize_request(
    parameters: &AuthorizeParameters<'_>,
) -> Result<AuthorizeRequest, SignInError> {
    let (verifier, challenge) = crate::kubelogin::interactive::pkce_pair();
    let state = uuid::Uuid::new_v4().simple().to_string();
    let mut url = Url::parse(parameters.endpoint)
        .map_err(|_| SignInError::BadAuthority(parameters.endpoint.to_owned()))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", parameters.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", parameters.redirect_uri)
            .append_pair(
                "scope",
                &format!("{} {}", parameters.scopes, crate::entra::USER_SCOPES),
            )
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("response_mode", parameters.response_mode.as_str())
            .append_pair("client_info", "1")
            .append_pair("prompt", "select_account");
        if let Some(hint) = parameters.login_hint.filter(|hint| !hint.is_empty()) {
            query.append_pair("login_hint", hint);
        }
    }
    Ok(AuthorizeRequest {
        url,
        redirect_uri: parameters.redirect_uri.to_owned(),
        state,
        verifier,
    })
}

/// The code of a pasted redirect URL (`http://localhost?code=…&state=…`): its `state` must be this request's,
/// and an `error` redirect is Entra's refusal (e.g. `access_denied` with AADSTS65004).
pub fn code_from_redirect(pasted: &str, expected_state: &str) -> Result<String, SignInError> {
    let pasted = pasted.trim();
    let url = Url::parse(pasted).map_err(|_| SignInError::BadRedirect(redact_code(pasted)))?;
    let query = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    if let Some(error) = query("error") {
        let description = query("error_description").unwrap_or_default();
        return Err(SignInError::Refused(format!("{error}: {description}")));
    }
    if query("state").as_deref() != Some(expected_state) {
        return Err(SignInError::StateMismatch);
    }
    query("code")
        .filter(|code| !code.is_empty())
        .ok_or_else(|| SignInError::BadRedirect(redact_code(pasted)))
}

/// A pasted text for an error message: everything after `code=` hidden.
fn redact_code(text: &str) -> String {
    match text.find("code=") {
        Some(index) => format!("{}code=<redacted>", &text[..index]),
        None => text.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AuthorizeRequest {
        authorize_request(&AuthorizeParameters {
            endpoint: "https://login.example/organizations/oauth2/v2.0/authorize",
            client_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
            redirect_uri: "http://localhost",
            scopes: "https://management.core.windows.net//.default",
            login_hint: Some("dev@example.com"),
            response_mode: ResponseMode::FormPost,
        })
        .unwrap()
    }

    #[test]
    fn the_authorize_url_has_pkce_state_and_msal_parameters() {
        let request = request();
        let pairs: std::collections::HashMap<String, String> =
            request.url.query_pairs().into_owned().collect();
        assert_eq!(pairs["state"], request.state);
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["client_info"], "1");
        assert_eq!(pairs["prompt"], "select_account");
        assert_eq!(pairs["response_mode"], "form_post");
        assert_eq!(pairs["login_hint"], "dev@example.com");
        assert_eq!(
            pairs["scope"],
            "https://management.core.windows.net//.default offline_access openid profile"
        );
        assert!(!request.url.as_str().contains(&request.verifier));
    }

    #[test]
    fn a_pasted_redirect_gives_its_code_only_with_the_right_state() {
        let request = request();
        let good = format!(
            "http://localhost/?code=abc&state={}&session_state=x",
            request.state
        );
        assert_eq!(code_from_redirect(&good, &request.state).unwrap(), "abc");
        let other = "http://localhost/?code=secret-code&state=another";
        let error = code_from_redirect(other, &request.state).unwrap_err();
        assert!(matches!(error, SignInError::StateMismatch));
        let refused = format!(
            "http://localhost/?error=access_denied&error_description=AADSTS65004%3A+User+declined&state={}",
            request.state
        );
        assert_eq!(
            code_from_redirect(&refused, &request.state)
                .unwrap_err()
                .to_string(),
            "access_denied: AADSTS65004: User declined"
        );
        let garbage = code_from_redirect("not a url code=secret", &request.state).unwrap_err();
        assert!(!garbage.to_string().contains("secret"), "{garbage}");
    }
}
