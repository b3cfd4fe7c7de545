//! Signing a person in as `az login` does, into az's own files: a browser sign-in (authorization code + PKCE on
//! a loopback listener), the device-code flow, or a paste-back of the redirect URL when no browser can reach the
//! machine. The answer is stored in MSAL's token cache under az's client id with MSAL Python's key recipes
//! (Azure/azure-cli: `core/_profile.py` `Profile.login`, `core/auth/identity.py`; MSAL Python:
//! `msal/application.py`, `msal/token_cache.py`). See docs/login.md.
//!
//! Nothing here prints: messages go through the caller's callbacks.

pub mod authorize;
pub mod tenant_token;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::azure_cli::AzureConfigDir;
use crate::azure_cli::cache_file::update_token_cache;
use crate::azure_cli::claims::{claim, id_token_claims};
use crate::azure_cli::error::FileError;
use crate::azure_cli::storage::token_cache_storage;
use crate::azure_cli::token_cache::{AZURE_CLI_CLIENT_ID, Grant, TokenResponse as CacheEntry};
use crate::entra::{self, Audience, Endpoint, RequestError, TokenResponse};

use authorize::{AuthorizeParameters, ResponseMode, authorize_request, code_from_redirect};

/// Why a sign-in failed. Entra's refusals show its `AADSTSnnnnn:` line; secrets never appear.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Entra refused, did not answer, or the device code expired.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// az's files could not be read or written (a corrupt cache is named and left alone).
    #[error(transparent)]
    File(#[from] FileError),
    /// The loopback listener failed.
    #[error("{0}")]
    Listener(String),
    /// The browser came back with an error (e.g. the person declined).
    #[error("{0}")]
    Refused(String),
    /// A pasted redirect URL whose `state` is not this sign-in's.
    #[error(
        "the pasted URL does not belong to this sign-in (state mismatch): paste the address the browser shows after opening the URL printed above"
    )]
    StateMismatch,
    /// A pasted text that is not a redirect URL with a code.
    #[error("the pasted text {0:?} is not the redirect URL (http://localhost/?code=...&state=...)")]
    BadRedirect(String),
    /// Nothing was pasted.
    #[error("no redirect URL was pasted (standard input ended)")]
    NothingPasted,
    /// The authority host does not make a URL.
    #[error("the authority {0} is not a URL")]
    BadAuthority(String),
    /// The answer names no account (no `client_info` and no id token).
    #[error(
        "the token answer names no account (no client_info or id token), so the login cannot be stored"
    )]
    NoAccount,
}

/// How the person proves who they are.
pub enum SignInFlow<'a> {
    /// Open a browser on the authorize URL; the redirect comes to a loopback listener.
    Browser {
        /// Opens the URL (`$BROWSER`, the platform opener); also tells the person (stderr).
        open_browser: &'a (dyn Fn(&str) + Send + Sync),
    },
    /// The device-code flow; the message goes through [`UserSignIn::prompt`].
    DeviceCode,
    /// Show the authorize URL, then read the redirect URL the person pastes.
    PasteBack {
        /// Reads one pasted line (`None`: input ended).
        read_redirect: &'a (dyn Fn() -> Option<String> + Send + Sync),
    },
}

/// What a user sign-in needs.
#[derive(Clone, Copy)]
pub struct UserSignIn<'a> {
    /// The HTTP client.
    pub http: &'a reqwest::Client,
    /// The cloud's authority host, e.g. `https://login.microsoftonline.com`.
    pub authority_host: &'a str,
    /// The tenant path segment: `organizations`, or a tenant id.
    pub tenant: &'a str,
    /// The resource scopes, e.g. `https://management.core.windows.net//.default`.
    pub scopes: &'a [String],
    /// `--username`: `login_hint` for the browser.
    pub login_hint: Option<&'a str>,
    /// Shows a message to the person (stderr).
    pub prompt: &'a (dyn Fn(&str) + Send + Sync),
}

/// Who signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    /// The id token's `preferred_username` (else `upn`).
    pub username: String,
    /// MSAL's `<uid>.<utid>`.
    pub home_account_id: String,
}

/// az's redirect URI for a paste-back: nothing listens there, the person copies the address.
const PASTE_BACK_REDIRECT: &str = "http://localhost";

impl UserSignIn<'_> {
    fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            http: self.http,
            authority: self.authority_host,
        }
    }

    fn authorize_endpoint(&self) -> String {
        self.endpoint().url(self.tenant, false, "authorize")
    }

    fn scope(&self) -> String {
        self.scopes.join(" ")
    }

    async fn redeem(
        &self,
        code: &str,
        request: &authorize::AuthorizeRequest,
    ) -> Result<TokenResponse, SignInError> {
        Ok(entra::authorization_code(
            self.endpoint(),
            AZURE_CLI_CLIENT_ID,
            self.tenant,
            code,
            &request.redirect_uri,
            &request.verifier,
            &self.scope(),
        )
        .await?)
    }

    async fn browser(
        &self,
        open_browser: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<TokenResponse, SignInError> {
        use crate::kubelogin::interactive::{listener, wait_for_code};
        let (listener, redirect_uri) = listener(None)
            .await
            .map_err(|error| SignInError::Listener(error.to_string()))?;
        let request = self
            .parameters(&redirect_uri, ResponseMode::FormPost)
            .request()?;
        (self.prompt)(&format!(
            "A web browser has been opened at {}. Please continue the login in the web browser. If no web browser is available or if the web browser fails to open, use device code flow with `aksctl login --use-device-code`.",
            self.authorize_endpoint()
        ));
        open_browser(request.url.as_str());
        let code = wait_for_code(&listener, &request.state)
            .await
            .map_err(|error| SignInError::Refused(error.to_string()))?;
        self.redeem(&code, &request).await
    }

    async fn paste_back(
        &self,
        read_redirect: &(dyn Fn() -> Option<String> + Send + Sync),
    ) -> Result<TokenResponse, SignInError> {
        // The pasted address must carry the code: `query`.
        let request = self
            .parameters(PASTE_BACK_REDIRECT, ResponseMode::Query)
            .request()?;
        (self.prompt)(&format!(
            "Open this URL in a browser on any device and sign in:\n{}\nThe browser then fails to load a http://localhost/... page: copy that page's full address from the address bar, paste it here and press Enter.",
            request.url
        ));
        let pasted = read_redirect().ok_or(SignInError::NothingPasted)?;
        let code = code_from_redirect(&pasted, &request.state)?;
        self.redeem(&code, &request).await
    }

    fn parameters<'p>(
        &'p self,
        redirect_uri: &'p str,
        response_mode: ResponseMode,
    ) -> AuthorizeParametersOwned<'p> {
        AuthorizeParametersOwned {
            endpoint: self.authorize_endpoint(),
            scopes: self.scope(),
            redirect_uri,
            login_hint: self.login_hint,
            response_mode,
        }
    }
}

/// [`AuthorizeParameters`] with owned URL and scope text.
struct AuthorizeParametersOwned<'a> {
    endpoint: String,
    scopes: String,
    redirect_uri: &'a str,
    login_hint: Option<&'a str>,
    response_mode: ResponseMode,
}

impl AuthorizeParametersOwned<'_> {
    fn request(&self) -> Result<authorize::AuthorizeRequest, SignInError> {
        authorize_request(&AuthorizeParameters {
            endpoint: &self.endpoint,
            client_id: AZURE_CLI_CLIENT_ID,
            redirect_uri: self.redirect_uri,
            scopes: &self.scopes,
            login_hint: self.login_hint,
            response_mode: self.response_mode,
        })
    }
}

/// Sign a person in with `flow` and store the answer in az's token cache in `directory` (Account, IdToken,
/// RefreshToken, AccessToken, AppMetadata, realm = the tenant segment signed in to).
pub async fn sign_in_user(
    directory: &AzureConfigDir,
    request: &UserSignIn<'_>,
    flow: SignInFlow<'_>,
) -> Result<SignedIn, SignInError> {
    let (token, grant) = match flow {
        SignInFlow::Browser { open_browser } => (
            request.browser(open_browser).await?,
            Grant::AuthorizationCode,
        ),
        SignInFlow::PasteBack { read_redirect } => (
            request.paste_back(read_redirect).await?,
            Grant::AuthorizationCode,
        ),
        SignInFlow::DeviceCode => {
            let scope = request.scope();
            let token = entra::device_code(
                request.endpoint(),
                AZURE_CLI_CLIENT_ID,
                request.tenant,
                Audience::Scope(&scope),
                None,
                request.prompt,
            )
            .await?;
            (token, Grant::DeviceCode)
        }
    };
    store(directory, request, &token, grant)
}

/// The answer as the JSON body MSAL stores (secrets stay inside the cache file).
fn answer_body(token: &TokenResponse, now: i64) -> Map<String, Value> {
    let mut body = Map::new();
    let mut put = |key: &str, value: Value| {
        body.insert(key.to_owned(), value);
    };
    put("token_type", "Bearer".into());
    put("access_token", token.access_token.expose().into());
    put(
        "expires_in",
        (token.expires_on.unix_timestamp() - now).max(0).into(),
    );
    if let Some(refresh_token) = &token.refresh_token {
        put("refresh_token", refresh_token.expose().into());
    }
    if let Some(id_token) = &token.id_token {
        put("id_token", id_token.expose().into());
    }
    for (key, value) in [
        ("client_info", &token.client_info),
        ("scope", &token.scope),
        ("foci", &token.foci),
    ] {
        if let Some(value) = value {
            put(key, value.clone().into());
        }
    }
    if let Some(seconds) = token.ext_expires_in {
        put("ext_expires_in", seconds.into());
    }
    if let Some(seconds) = token.refresh_in {
        put("refresh_in", seconds.into());
    }
    body
}

fn store(
    directory: &AzureConfigDir,
    request: &UserSignIn<'_>,
    token: &TokenResponse,
    grant: Grant,
) -> Result<SignedIn, SignInError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    let environment =
        crate::azure_cli::login::authority_for(request.authority_host, request.tenant)
            .map_err(|_| SignInError::BadAuthority(request.authority_host.to_owned()))?
            .environment;
    let body = answer_body(token, now);
    let claims = token
        .id_token
        .as_ref()
        .map(|id_token| id_token_claims(id_token.expose()))
        .unwrap_or_default();
    let username = claim(&claims, "preferred_username")
        .or(claim(&claims, "upn"))
        .unwrap_or_default()
        .to_owned();
    let storage = token_cache_storage(directory)?;
    let home = update_token_cache(&storage, |cache| {
        cache.add(
            &CacheEntry {
                client_id: AZURE_CLI_CLIENT_ID,
                environment: &environment,
                realm: request.tenant,
                requested_scopes: request.scopes,
                grant,
                username: None,
                body: &body,
            },
            now,
        )
    })?;
    let home_account_id = home.ok_or(SignInError::NoAccount)?;
    Ok(SignedIn {
        username,
        home_account_id,
    })
}
