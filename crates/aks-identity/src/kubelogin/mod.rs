//! Tokens for kubelogin's `get-token` (docs/kubelogin.md, "get-token"): one [`Login`] per login mode, acquired with
//! [`acquire`], refreshed with [`refresh`], and kept between processes in a [`TokenCache`].
//!
//! Service principals, workload identity, managed identity and Azure Pipelines reuse the azure_identity
//! credentials of [`crate::credential`]; the user flows azure_identity 1.0 lacks (device code, ROPC, interactive
//! authorization code with PKCE on a loopback redirect, refresh tokens) and the `--legacy` v1 flows are form POSTs
//! to Entra here; `azurecli` and `azd` run the tools. Nothing here prints: the device-code message and the
//! browser URL go to callbacks.

mod cache;
pub(crate) mod interactive;
mod tools;

use std::fmt;
use std::path::PathBuf;

use time::OffsetDateTime;

use crate::credential::{
    AccessToken, CredentialError, CredentialSpec, ManagedIdentityId, Secret, SharedLoginSelection,
    TokenSource,
};
use crate::entra::{self, Audience, Endpoint, EntraError, RequestError, TokenResponse};
use crate::hints::Flow;

pub use cache::{CachedToken, EntryLock, LockError, TokenCache};

/// A token kubelogin hands to kubectl, with the refresh token of user sign-ins.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenSet {
    /// The access token (redacted in `Debug`).
    pub access_token: Secret,
    /// When it expires.
    pub expires_on: OffsetDateTime,
    /// A refresh token (device code, ROPC and interactive sign-ins).
    pub refresh_token: Option<Secret>,
}

/// A token from a credential: no refresh token.
impl From<AccessToken> for TokenSet {
    fn from(token: AccessToken) -> TokenSet {
        TokenSet {
            access_token: token.token,
            expires_on: token.expires_on,
            refresh_token: None,
        }
    }
}

impl TokenSet {
    /// Whether the access token expires within `margin` from now.
    pub fn expires_within(&self, margin: time::Duration) -> bool {
        self.expires_on <= OffsetDateTime::now_utc() + margin
    }
}

/// How to sign in: kubelogin's login modes with the values each needs (docs/kubelogin.md, "Credential per mode").
/// Secrets are redacted in `Debug`.
#[derive(Clone, Debug, PartialEq)]
pub enum Login {
    /// `devicecode`: the OAuth device authorization grant (`--legacy`: the v1 endpoint with `resource=`).
    DeviceCode {
        /// Public client id.
        client_id: String,
        /// Tenant.
        tenant_id: String,
        /// `--legacy`.
        legacy: bool,
    },
    /// `interactive`: authorization code with PKCE, redirected to a loopback listener.
    Interactive {
        /// Public client id.
        client_id: String,
        /// Tenant.
        tenant_id: String,
        /// `--redirect-url` (its port is where the listener binds; default `http://localhost:<any port>`).
        redirect_url: Option<String>,
        /// `--login-hint`.
        login_hint: Option<String>,
    },
    /// `spn` with `--client-secret`.
    ServicePrincipalSecret {
        /// Client id.
        client_id: String,
        /// Tenant.
        tenant_id: String,
        /// The secret.
        secret: Secret,
        /// `--legacy`: v1 endpoint, `resource=<server-id>`.
        legacy: bool,
    },
    /// `spn` with `--client-certificate` (PEM, or PKCS#12/PFX).
    ServicePrincipalCertificate {
        /// Client id.
        client_id: String,
        /// Tenant.
        tenant_id: String,
        /// The PEM or PFX file.
        path: PathBuf,
        /// `--client-certificate-password`: opens a PFX file (unused for PEM, as in kubelogin).
        password: Option<Secret>,
        /// `--legacy`.
        legacy: bool,
    },
    /// `ropc`: user name and password.
    Ropc {
        /// Public client id.
        client_id: String,
        /// Tenant.
        tenant_id: String,
        /// User principal name.
        username: String,
        /// Password.
        password: Secret,
        /// `--legacy`.
        legacy: bool,
    },
    /// `msi`: managed identity (App Service endpoint when `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` are set, else IMDS).
    ManagedIdentity {
        /// `--client-id` or `--identity-resource-id`; `None` = system-assigned.
        id: Option<ManagedIdentityId>,
    },
    /// `azurecli`: `az account get-access-token`.
    AzureCli {
        /// `--tenant-id`.
        tenant_id: Option<String>,
        /// `--subscription`.
        subscription: Option<String>,
    },
    /// `azd`: `azd auth token`.
    AzureDeveloperCli {
        /// `--tenant-id`.
        tenant_id: Option<String>,
    },
    /// `workloadidentity`: a federated token file as client assertion.
    WorkloadIdentity {
        /// Client id.
        client_id: String,
        /// Tenant.
        tenant_id: String,
        /// The federated token file.
        token_file: PathBuf,
    },
    /// `azurepipelines`: an Azure Pipelines service connection.
    AzurePipelines {
        /// Client id.
        client_id: String,
        /// Tenant.
        tenant_id: String,
        /// Service connection id.
        service_connection_id: String,
        /// `SYSTEM_ACCESSTOKEN`.
        system_access_token: Secret,
    },
}

impl Login {
    /// Whether acquiring needs an HTTP client (everything but `azd`).
    pub fn uses_http(&self) -> bool {
        !matches!(self, Login::AzureDeveloperCli { .. })
    }

    /// Who a token of this login belongs to, for the token cache's key (see
    /// [`TokenSource::identity`](crate::credential::TokenSource::identity)): secrets, passwords and certificate
    /// files enter as fingerprints; `azurecli` is the login shared with az as its files say now. `None`: tokens
    /// are not cached, because whose they are cannot be told without running the tool (`azd`, as kubelogin).
    pub fn identity(&self, authority_host: &str) -> Option<String> {
        use crate::credential::fingerprint;
        Some(match self {
            Login::DeviceCode {
                client_id,
                tenant_id,
                legacy,
            } => format!("devicecode|{tenant_id}|{client_id}|{legacy}"),
            Login::Interactive {
                client_id,
                tenant_id,
                login_hint,
                ..
            } => format!(
                "interactive|{tenant_id}|{client_id}|{}",
                login_hint.as_deref().unwrap_or_default().to_lowercase()
            ),
            Login::ServicePrincipalSecret {
                client_id,
                tenant_id,
                secret,
                legacy,
            } => format!(
                "client-secret|{tenant_id}|{client_id}|{legacy}|{}",
                fingerprint("client-secret", secret.expose().as_bytes())
            ),
            Login::ServicePrincipalCertificate {
                client_id,
                tenant_id,
                path,
                password,
                legacy,
            } => format!(
                "client-certificate|{tenant_id}|{client_id}|{legacy}|{}|{}",
                fingerprint("certificate-file", &std::fs::read(path).unwrap_or_default()),
                fingerprint(
                    "certificate-password",
                    password
                        .as_ref()
                        .map(Secret::expose)
                        .unwrap_or_default()
                        .as_bytes()
                )
            ),
            Login::Ropc {
                client_id,
                tenant_id,
                username,
                password,
                legacy,
            } => format!(
                "ropc|{tenant_id}|{client_id}|{legacy}|{}|{}",
                username.to_lowercase(),
                fingerprint("password", password.expose().as_bytes())
            ),
            Login::ManagedIdentity { id } => format!("msi|{id:?}"),
            Login::AzureCli {
                tenant_id,
                subscription,
            } => crate::credential::shared_login_identity(
                &SharedLoginSelection {
                    subscription: subscription.clone(),
                    tenant: tenant_id.clone(),
                },
                authority_host,
            ),
            Login::AzureDeveloperCli { .. } => return None,
            Login::WorkloadIdentity {
                client_id,
                tenant_id,
                token_file,
            } => format!(
                "workload-identity|{tenant_id}|{client_id}|{}",
                token_file.display()
            ),
            Login::AzurePipelines {
                client_id,
                tenant_id,
                service_connection_id,
                ..
            } => format!("azure-pipelines|{tenant_id}|{client_id}|{service_connection_id}"),
        })
    }

    /// Whether signing in asks a person (device code, browser): such sign-ins run under the cache entry's
    /// lock, so that many processes started at once prompt once. `--legacy` device code is not cached by
    /// kubelogin either, but aksctl caches it, so it takes the lock too.
    pub fn prompts(&self) -> bool {
        matches!(self, Login::DeviceCode { .. } | Login::Interactive { .. })
    }

    /// The flow whose [`crate::hints::next_step`] wording fits this login's refusals.
    pub fn hint_flow(&self) -> Option<Flow> {
        match self {
            Login::DeviceCode { .. } => Some(Flow::KubeloginDeviceCode),
            Login::Interactive { .. } => Some(Flow::KubeloginInteractive),
            Login::AzureCli { .. } => Some(Flow::SharedLogin),
            _ => None,
        }
    }

    /// The client and tenant of a flow that can use a refresh token.
    fn refreshable(&self) -> Option<(&str, &str, bool)> {
        match self {
            Login::DeviceCode {
                client_id,
                tenant_id,
                legacy,
            }
            | Login::Ropc {
                client_id,
                tenant_id,
                legacy,
                ..
            } => Some((client_id, tenant_id, *legacy)),
            Login::Interactive {
                client_id,
                tenant_id,
                ..
            } => Some((client_id, tenant_id, false)),
            _ => None,
        }
    }
}

/// Why no token could be had. Messages follow kubelogin's where it has one (`client ID cannot be empty`, …).
#[derive(Debug, thiserror::Error)]
pub enum KubeloginError {
    /// A required value is empty (kubelogin's `<what> cannot be empty`).
    #[error("{0} cannot be empty")]
    Empty(&'static str),
    /// An azure_identity credential failed.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// A token request failed (Entra's refusal, no answer, an answer that is not a token).
    #[error(transparent)]
    Request(#[from] RequestError),
    /// `az` or `azd` failed.
    #[error("{tool}: {message}")]
    Tool {
        /// `AzureCLICredential` or `AzureDeveloperCLICredential`, as azidentity names them.
        tool: &'static str,
        /// What happened.
        message: String,
    },
    /// The interactive sign-in failed (listener, redirect, state mismatch).
    #[error("interactive sign-in: {0}")]
    Interactive(String),
}

impl KubeloginError {
    /// Entra's refusal, when that is what failed.
    pub fn entra(&self) -> Option<&EntraError> {
        match self {
            KubeloginError::Request(RequestError::Refused(error)) => Some(error),
            _ => None,
        }
    }
}

/// What every flow needs besides the [`Login`].
pub struct Acquire<'a> {
    /// The Entra authority host, e.g. `https://login.microsoftonline.com/`.
    pub authority_host: &'a str,
    /// `--server-id` (the scope is [`scope`] of it).
    pub server_id: &'a str,
    /// The HTTP client ([`crate::http_client`]); `None` only for logins without [`Login::uses_http`].
    pub http: Option<&'a reqwest::Client>,
    /// Shows the device-code message (kubelogin prints it to stderr).
    pub prompt: &'a (dyn Fn(&str) + Send + Sync),
    /// Opens the interactive sign-in URL (a browser, or a message saying where to go).
    pub open_browser: &'a (dyn Fn(&str) + Send + Sync),
    /// A claims challenge (JSON) from Entra's refusal of a silent request, which the interactive sign-in sends
    /// as its `claims` parameter so that the new token satisfies it.
    pub claims: Option<&'a str>,
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("authority_host", &self.authority_host)
            .field("server_id", &self.server_id)
            .finish_non_exhaustive()
    }
}

impl<'a> Acquire<'a> {
    fn authority(&self) -> &str {
        self.authority_host.trim_end_matches('/')
    }

    fn http(&self) -> &reqwest::Client {
        self.http
            .expect("an HTTP client is passed for every login that uses HTTP")
    }

    fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            http: self.http(),
            authority: self.authority(),
        }
    }

    /// The server's scope (v2.0), or the server id as a v1 resource (`--legacy`).
    fn audience<'s>(&self, scope: &'s str, legacy: bool) -> Audience<'s>
    where
        'a: 's,
    {
        if legacy {
            Audience::Resource(self.server_id)
        } else {
            Audience::Scope(scope)
        }
    }
}

impl From<TokenResponse> for TokenSet {
    fn from(response: TokenResponse) -> TokenSet {
        TokenSet {
            access_token: response.access_token,
            expires_on: response.expires_on,
            refresh_token: response.refresh_token,
        }
    }
}

/// kubelogin's `GetScope`: trim trailing `/`, then append `/.default` unless it is already there.
pub fn scope(server_id: &str) -> String {
    let trimmed = server_id.trim_end_matches('/');
    if trimmed.ends_with("/.default") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/.default")
    }
}

fn require(value: &str, what: &'static str) -> Result<(), KubeloginError> {
    if value.is_empty() {
        Err(KubeloginError::Empty(what))
    } else {
        Ok(())
    }
}

/// kubelogin's `--legacy` service principal: client credentials on the v1 endpoint with `resource=<server-id>`, as
/// ADAL asked for them.
async fn legacy_client_credentials(
    context: &Acquire<'_>,
    client_id: &str,
    tenant_id: &str,
    auth: entra::ClientAuth<'_>,
) -> Result<TokenSet, KubeloginError> {
    let scope = scope(context.server_id);
    let audience = context.audience(&scope, true);
    let answer =
        entra::client_credentials(context.endpoint(), client_id, tenant_id, auth, audience).await?;
    Ok(answer.into())
}

/// The client and tenant a mode signs in with, both required (kubelogin's option validation).
fn require_client(client_id: &str, tenant_id: &str) -> Result<(), KubeloginError> {
    require(client_id, "client ID")?;
    require(tenant_id, "tenant ID")
}

/// Sign in with `login` and get a token for `<server-id>/.default` (docs/kubelogin.md, "get-token", "Flow").
pub async fn acquire(login: &Login, context: &Acquire<'_>) -> Result<TokenSet, KubeloginError> {
    let scope = scope(context.server_id);
    match login.clone() {
        Login::DeviceCode {
            client_id,
            tenant_id,
            legacy,
        } => device_code(context, &scope, &client_id, &tenant_id, legacy).await,
        Login::Interactive {
            client_id,
            tenant_id,
            redirect_url,
            login_hint,
        } => {
            require_client(&client_id, &tenant_id)?;
            let (redirect_url, login_hint) = (redirect_url.as_deref(), login_hint.as_deref());
            interactive::sign_in(context, &client_id, &tenant_id, redirect_url, login_hint).await
        }
        Login::ServicePrincipalSecret {
            client_id,
            tenant_id,
            secret,
            legacy,
        } => {
            let client = (client_id, tenant_id);
            service_principal_secret(context, &scope, client, secret, legacy).await
        }
        Login::ServicePrincipalCertificate {
            client_id,
            tenant_id,
            path,
            password,
            legacy,
        } => {
            let client = (client_id, tenant_id);
            service_principal_certificate(context, &scope, client, path, password, legacy).await
        }
        Login::Ropc {
            client_id,
            tenant_id,
            username,
            password,
            legacy,
        } => {
            let client = (client_id, tenant_id);
            ropc(context, &scope, client, &username, &password, legacy).await
        }
        Login::ManagedIdentity { id } => {
            via_credential(context, &scope, CredentialSpec::ManagedIdentity { id }).await
        }
        Login::AzureCli {
            tenant_id,
            subscription,
        } => {
            let selection = SharedLoginSelection {
                subscription,
                tenant: tenant_id,
            };
            azure_cli(context, &scope, selection).await
        }
        Login::AzureDeveloperCli { tenant_id } => {
            tools::azure_developer_cli(&scope, tenant_id.as_deref()).await
        }
        Login::WorkloadIdentity {
            client_id,
            tenant_id,
            token_file,
        } => {
            require_client(&client_id, &tenant_id)?;
            if token_file.as_os_str().is_empty() {
                return Err(KubeloginError::Empty("federated token file"));
            }
            let spec = CredentialSpec::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            };
            via_credential(context, &scope, spec).await
        }
        Login::AzurePipelines {
            client_id,
            tenant_id,
            service_connection_id,
            system_access_token,
        } => {
            require_client(&client_id, &tenant_id)?;
            let spec = CredentialSpec::AzurePipelines {
                tenant_id,
                client_id,
                service_connection_id,
                system_access_token,
            };
            via_credential(context, &scope, spec).await
        }
    }
}

/// A token from the credential azidentity would build for `spec` (kubelogin's `spn`, `msi`, `workloadidentity` and
/// `azurepipelines` modes).
async fn via_credential(
    context: &Acquire<'_>,
    scope: &str,
    spec: CredentialSpec,
) -> Result<TokenSet, KubeloginError> {
    let source = crate::credential::credential(spec, context.authority(), context.http())?;
    Ok(source.token(scope).await?.into())
}

/// kubelogin's `devicecode` mode: the device code flow at Entra, the code shown through the context's prompt.
async fn device_code(
    context: &Acquire<'_>,
    scope: &str,
    client_id: &str,
    tenant_id: &str,
    legacy: bool,
) -> Result<TokenSet, KubeloginError> {
    require_client(client_id, tenant_id)?;
    let audience = context.audience(scope, legacy);
    let endpoint = context.endpoint();
    let answer = entra::device_code(
        endpoint,
        client_id,
        tenant_id,
        audience,
        context.claims,
        context.prompt,
    );
    Ok(answer.await?.into())
}

/// kubelogin's `ropc` mode: the resource owner password grant at Entra. `client`: the client and tenant ids.
async fn ropc(
    context: &Acquire<'_>,
    scope: &str,
    (client_id, tenant_id): (String, String),
    username: &str,
    password: &Secret,
    legacy: bool,
) -> Result<TokenSet, KubeloginError> {
    require_client(&client_id, &tenant_id)?;
    require(username, "username")?;
    require(password.expose(), "password")?;
    let audience = context.audience(scope, legacy);
    let endpoint = context.endpoint();
    let answer = entra::password(
        endpoint, &client_id, &tenant_id, username, password, audience,
    );
    Ok(answer.await?.into())
}

/// kubelogin's `spn` mode with a client secret: azidentity's client secret credential, or with `--legacy` ADAL's
/// client credentials on the v1 endpoint. `client`: the client and tenant ids.
async fn service_principal_secret(
    context: &Acquire<'_>,
    scope: &str,
    (client_id, tenant_id): (String, String),
    secret: Secret,
    legacy: bool,
) -> Result<TokenSet, KubeloginError> {
    require_client(&client_id, &tenant_id)?;
    require(secret.expose(), "client secret")?;
    if legacy {
        let auth = entra::ClientAuth::Secret(&secret);
        return legacy_client_credentials(context, &client_id, &tenant_id, auth).await;
    }
    let spec = CredentialSpec::ClientSecret {
        tenant_id,
        client_id,
        secret,
    };
    via_credential(context, scope, spec).await
}

/// kubelogin's `spn` mode with a certificate file: azidentity's client certificate credential, or with `--legacy`
/// ADAL's client credentials on the v1 endpoint. `client`: the client and tenant ids.
async fn service_principal_certificate(
    context: &Acquire<'_>,
    scope: &str,
    (client_id, tenant_id): (String, String),
    path: PathBuf,
    password: Option<Secret>,
    legacy: bool,
) -> Result<TokenSet, KubeloginError> {
    require_client(&client_id, &tenant_id)?;
    if legacy {
        // ADAL's certificate secret (kubelogin `--legacy`) always sends `x5c` with `x5t`.
        let certificate = crate::certificate::ClientCertificate::load(&path, password.as_ref())
            .map_err(CredentialError::from)?;
        let auth =
            entra::ClientAuth::Certificate(&certificate, crate::certificate::SendChain::Leaf);
        return legacy_client_credentials(context, &client_id, &tenant_id, auth).await;
    }
    // kubelogin sets azidentity's SendCertificateChain (clientcertcredential.go): `x5c` with `x5t`.
    let spec = CredentialSpec::ClientCertificate {
        tenant_id,
        client_id,
        path,
        password,
        send_certificate_chain: true,
    };
    via_credential(context, scope, spec).await
}

/// kubelogin's `azurecli` mode: the login shared with az, read from its files, with `az` itself as the fallback.
async fn azure_cli(
    context: &Acquire<'_>,
    scope: &str,
    selection: SharedLoginSelection,
) -> Result<TokenSet, KubeloginError> {
    let az = tools::AzProcess::on_path(context.server_id, &selection)
        .map(|az| std::sync::Arc::new(az) as std::sync::Arc<dyn TokenSource>);
    let source =
        crate::credential::shared_login(selection, context.authority(), context.http(), az);
    Ok(source.token(scope).await?.into())
}

/// A token for `login` that needs no request, read before any HTTP client or async runtime exists: in the
/// `azurecli` mode, the access token az's MSAL cache holds for the person az's files name, as `az account
/// get-access-token` would serve it (see [`crate::credential::shared_login_cached_token`]). `None` for every
/// other login, and whenever [`acquire`] must decide.
pub fn cached(login: &Login, authority_host: &str, server_id: &str) -> Option<TokenSet> {
    let Login::AzureCli {
        tenant_id,
        subscription,
    } = login
    else {
        return None;
    };
    let selection = SharedLoginSelection {
        subscription: subscription.clone(),
        tenant: tenant_id.clone(),
    };
    let token = crate::credential::shared_login_cached_token(
        &selection,
        authority_host,
        &scope(server_id),
    )?;
    Some(token.into())
}

/// A new access token from a cached refresh token, for the user flows (device code, ROPC, interactive). `None`
/// when `login` has no refresh flow; an error when Entra refused (the caller signs in again).
pub async fn refresh(
    login: &Login,
    refresh_token: &Secret,
    context: &Acquire<'_>,
) -> Option<Result<TokenSet, KubeloginError>> {
    let (client_id, tenant_id, legacy) = login.refreshable()?;
    let scope = scope(context.server_id);
    let audience = context.audience(&scope, legacy);
    Some(
        entra::refresh(
            context.endpoint(),
            client_id,
            tenant_id,
            refresh_token,
            audience,
        )
        .await
        .map(TokenSet::from)
        .map_err(KubeloginError::from),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_follows_kubelogin_get_scope() {
        assert_eq!(
            scope("6dae42f8-4368-4678-94ff-3960e28e3630"),
            "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
        );
        assert_eq!(scope("https://x.example/"), "https://x.example/.default");
        assert_eq!(scope("api://a/.default"), "api://a/.default");
        assert_eq!(scope("api://a/.default/"), "api://a/.default");
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let login = Login::Ropc {
            client_id: "c".into(),
            tenant_id: "t".into(),
            username: "u".into(),
            password: Secret::new("hunter2"),
            legacy: false,
        };
        assert!(!format!("{login:?}").contains("hunter2"));
        let token = TokenSet {
            access_token: Secret::new("eyJ-secret"),
            expires_on: OffsetDateTime::now_utc(),
            refresh_token: Some(Secret::new("refresh-secret")),
        };
        let debug = format!("{token:?}");
        assert!(!debug.contains("eyJ-secret") && !debug.contains("refresh-secret"));
    }
}
