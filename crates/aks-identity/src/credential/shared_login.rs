//! The Azure CLI's login, read natively: `az login` (or `aksctl login`) leaves the account in az's
//! `AZURE_CONFIG_DIR`; tokens come from its MSAL cache, or its refresh token redeemed at Entra, with no az process.
//! A managed-identity login asks the managed-identity endpoint itself. Only where the files cannot be read
//! natively (an encrypted cache, an identity chosen by object id) does it run `az account get-access-token`, and
//! says so at debug level.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::client::{ClientCredential, ClientProof};
use super::spec::{ManagedIdentityFactory, ManagedIdentityId};
use super::{AccessToken, CredentialError, TokenSource};
use crate::azure_cli::error::FileError;
use crate::azure_cli::service_principal::{ServicePrincipalCredential, ServicePrincipalEntry};
use crate::azure_cli::silent::cached_user_token;
use crate::azure_cli::{
    AzureConfigDir, LoginRequest, ProcessEnvironment, Profile, SharedLogin, SilentError,
    SilentOutcome, SilentTokenRequest, acquire_token_silently, resolve_login,
};
use crate::certificate::{ClientCertificate, SendChain};

/// The name azidentity gives the Azure CLI credential; kept for messages and `AZURE_TOKEN_CREDENTIALS`.
pub(crate) const NAME: &str = "AzureCliCredential";

/// Which shared login to use: az's default account, or the one `--subscription` names, in `--tenant`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedLoginSelection {
    /// `--subscription`: an id or name in az's profile.
    pub subscription: Option<String>,
    /// `--tenant`: the tenant to authenticate to, for the same account.
    pub tenant: Option<String>,
}

/// Tokens from the login shared with az.
pub(crate) struct SharedLoginCredential {
    directory: AzureConfigDir,
    selection: SharedLoginSelection,
    /// The cloud whose profile entries count (aksctl's active cloud); `None`: az's active cloud.
    cloud: Option<String>,
    authority: String,
    http: reqwest::Client,
    /// Worked out from az's files on the first [`TokenSource::identity`] (a cache key asks for it before any
    /// token is fetched, and gets the same value for the write after the fetch), not when the credential is
    /// built: kubelogin's `azurecli` mode keys its cache with [`shared_login_identity`] and never asks again.
    identity: OnceLock<String>,
    /// `az` as a process, for what cannot be read natively.
    az: Option<Arc<dyn TokenSource>>,
    /// Builds the managed-identity credential of `az login --identity`.
    managed_identity: ManagedIdentityFactory,
}

impl std::fmt::Debug for SharedLoginCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLoginCredential")
            .field("directory", &self.directory)
            .field("selection", &self.selection)
            .finish_non_exhaustive()
    }
}

impl SharedLoginCredential {
    /// The shared login in `config_dir` (settings from the process environment); `az` runs the Azure CLI when
    /// the files cannot be read natively.
    pub(crate) fn new(
        config_dir: PathBuf,
        selection: SharedLoginSelection,
        cloud: Option<String>,
        authority: &str,
        http: reqwest::Client,
        az: Option<Arc<dyn TokenSource>>,
        managed_identity: ManagedIdentityFactory,
    ) -> SharedLoginCredential {
        let directory = AzureConfigDir::at(config_dir, Arc::new(ProcessEnvironment));
        let authority = authority.trim_end_matches('/').to_owned();
        SharedLoginCredential {
            directory,
            selection,
            cloud,
            authority,
            http,
            identity: OnceLock::new(),
            az,
            managed_identity,
        }
    }

    fn request<'a>(&'a self, scopes: &'a [String]) -> SilentTokenRequest<'a> {
        SilentTokenRequest {
            login: login_request(&self.selection, &self.authority, self.cloud.as_deref()),
            scopes,
            claims_challenge: None,
        }
    }

    fn unavailable(&self, message: impl Into<String>) -> CredentialError {
        CredentialError::Unavailable {
            credential: self.describe(),
            message: message.into(),
        }
    }

    /// `az account get-access-token`, when the files cannot be read natively.
    async fn ask_az(&self, scope: &str, why: &str) -> Result<AccessToken, CredentialError> {
        match &self.az {
            Some(az) => {
                tracing::debug!(reason = why, "asking the Azure CLI for the token");
                az.token(scope).await
            }
            None => Err(self.unavailable(format!("{why}, and `az` is not on PATH"))),
        }
    }

    async fn service_principal(
        &self,
        login: crate::azure_cli::login::ServicePrincipalLogin,
        scope: &str,
    ) -> Result<AccessToken, CredentialError> {
        let credential = service_principal_source(
            &login.entry,
            &login.authority.host_url,
            &login.authority.tenant,
            &self.http,
            self.describe(),
            TokenSource::identity(self),
        )?;
        credential.token(scope).await
    }
}

/// A service principal's tokens from its stored entry (`service_principal_entries.json`): client credentials with
/// its secret, certificate file or federated token, at `authority` in `tenant`.
pub fn service_principal_source(
    entry: &ServicePrincipalEntry,
    authority: &str,
    tenant: &str,
    http: &reqwest::Client,
    description: String,
    identity: String,
) -> Result<Arc<dyn TokenSource>, CredentialError> {
    let proof = match &entry.credential {
        ServicePrincipalCredential::Secret(secret) => ClientProof::Secret(secret.clone()),
        ServicePrincipalCredential::Assertion(assertion) => {
            ClientProof::Assertion(assertion.clone())
        }
        ServicePrincipalCredential::Certificate {
            path,
            use_cert_sn_issuer,
        } => {
            let certificate = ClientCertificate::load(path, None)?;
            let send_chain = if *use_cert_sn_issuer {
                SendChain::Yes
            } else {
                SendChain::No
            };
            ClientProof::Certificate(Arc::new(certificate), send_chain)
        }
    };
    Ok(Arc::new(ClientCredential {
        description,
        identity,
        tenant_id: tenant.to_owned(),
        client_id: entry.client_id.clone(),
        proof,
        authority: authority.trim_end_matches('/').to_owned(),
        http: http.clone(),
    }))
}

/// Which identity an `az login --identity` entry is, from az's `assignedIdentityInfo` (`MSI`, `MSIClient-<id>`,
/// `MSIResource-<id>`, `MSIObject-<id>`; Azure/azure-cli `core/_profile.py` `MsiAccountTypes`); Cloud Shell's is
/// az's own: the reason is given.
pub fn managed_identity_id(
    entry: &crate::azure_cli::SubscriptionRecord,
) -> Result<Option<ManagedIdentityId>, String> {
    let info = entry
        .user
        .extra
        .get("assignedIdentityInfo")
        .and_then(|info| info.as_str())
        .unwrap_or("MSI");
    if info == "MSI" {
        return Ok(None);
    }
    if let Some(id) = info.strip_prefix("MSIClient-") {
        return Ok(Some(ManagedIdentityId::ClientId(id.to_owned())));
    }
    if let Some(id) = info.strip_prefix("MSIResource-") {
        return Ok(Some(ManagedIdentityId::ResourceId(id.to_owned())));
    }
    if let Some(id) = info.strip_prefix("MSIObject-") {
        return Ok(Some(ManagedIdentityId::ObjectId(id.to_owned())));
    }
    Err(format!(
        "the shared login is the managed identity {info:?}, which only az can ask for"
    ))
}

/// az's configuration directory from the process environment (`AZURE_CONFIG_DIR`, else `~/.azure`).
pub(crate) fn process_config_dir() -> Option<PathBuf> {
    AzureConfigDir::locate(Arc::new(ProcessEnvironment))
        .ok()
        .map(|dir| dir.path().to_owned())
}

/// Which login of az's files `selection` names, at `authority` (no trailing `/`), in `cloud` (`None`: az's
/// active cloud).
fn login_request<'a>(
    selection: &'a SharedLoginSelection,
    authority: &'a str,
    cloud: Option<&'a str>,
) -> LoginRequest<'a> {
    LoginRequest {
        subscription: selection.subscription.as_deref(),
        tenant: selection.tenant.as_deref(),
        authority_host: authority,
        cloud,
    }
}

/// What [`shared_login`](super::shared_login) would serve for `scope` from az's MSAL cache alone, with no
/// request and no HTTP client: the access token of the person the files name (their account, tenant and az's
/// client), valid beyond MSAL's margin. `None` whenever the full credential must decide (a service principal or
/// managed identity, no such token, a token due for refresh, files it cannot read): it then runs and reports.
pub fn shared_login_cached_token(
    selection: &SharedLoginSelection,
    authority: &str,
    scope: &str,
) -> Option<AccessToken> {
    let directory = AzureConfigDir::at(process_config_dir()?, Arc::new(ProcessEnvironment));
    let request = login_request(selection, authority.trim_end_matches('/'), None);
    let SharedLogin::User(login) = resolve_login(&directory, &request).ok()? else {
        return None;
    };
    let token = cached_user_token(&directory, &login, &[scope.to_owned()]).ok()??;
    tracing::debug!(
        credential = NAME,
        user = %token.identity.username,
        from_cache = true,
        "token from the shared login, read from az's cache before any HTTP client"
    );
    Some(AccessToken {
        token: token.access_token,
        expires_on: OffsetDateTime::from_unix_timestamp(token.expires_on).ok()?,
    })
}

/// [`TokenSource::identity`] of [`shared_login`](super::shared_login), without building it (a cache hit needs no HTTP client).
pub fn shared_login_identity(selection: &SharedLoginSelection, authority: &str) -> String {
    let config_dir = process_config_dir().unwrap_or_default();
    let directory = AzureConfigDir::at(config_dir, Arc::new(ProcessEnvironment));
    identity(&directory, selection, None, authority.trim_end_matches('/'))
}

/// The identity part of cache keys: az's selected profile entry (cloud, user, tenant, subscription) and, when
/// its account can be read, the login's own key (authority, tenant, client, home account id, or a service
/// principal's credential fingerprint). Anything that changes who signs in changes it.
fn identity(
    directory: &AzureConfigDir,
    selection: &SharedLoginSelection,
    cloud: Option<&str>,
    authority: &str,
) -> String {
    let active_cloud = match cloud {
        Some(cloud) => Ok(cloud.to_string()),
        None => directory.active_cloud(),
    };
    let entry = active_cloud
        .map_err(|error| error.to_string())
        .and_then(|cloud| {
            let profile = Profile::load(directory).map_err(|error| error.to_string())?;
            profile
                .subscription(&cloud, selection.subscription.as_deref())
                .map_err(|error| error.to_string())
        })
        .map(|entry| {
            format!(
                "{}|{:?}|{}|{}|{}",
                entry.environment_name,
                entry.user.kind,
                entry.user.name.to_lowercase(),
                entry.tenant_id,
                entry.id
            )
        })
        .unwrap_or_else(|error| format!("no-account: {error}"));
    let login = match resolve_login(directory, &login_request(selection, authority, cloud)) {
        Ok(login) => login
            .identity_key()
            .unwrap_or_else(|error| format!("unreadable: {error}")),
        Err(error) => format!("unresolved: {error}"),
    };
    format!(
        "azure-cli|{}|{entry}|{login}|tenant={}",
        directory.path().display(),
        selection.tenant.as_deref().unwrap_or_default()
    )
}

#[async_trait]
impl TokenSource for SharedLoginCredential {
    async fn token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        let scopes = [scope.to_owned()];
        let outcome =
            acquire_token_silently(&self.directory, &self.http, &self.request(&scopes)).await;
        match outcome {
            Ok(SilentOutcome::Token(token)) => {
                tracing::debug!(
                    credential = NAME,
                    user = %token.identity.username,
                    from_cache = token.from_cache,
                    "token from the shared login"
                );
                Ok(AccessToken {
                    token: token.access_token,
                    expires_on: OffsetDateTime::from_unix_timestamp(token.expires_on)
                        .unwrap_or_else(|_| OffsetDateTime::now_utc()),
                })
            }
            Ok(SilentOutcome::ServicePrincipal(login)) => {
                self.service_principal(login, scope).await
            }
            Ok(SilentOutcome::ManagedIdentity(entry)) => match managed_identity_id(&entry) {
                Ok(id) => {
                    let source = (self.managed_identity)(id)?;
                    source.token(scope).await
                }
                Err(why) => self.ask_az(scope, &why).await,
            },
            Err(SilentError::File(FileError::Encrypted { path })) => {
                let why = format!("az's token cache {} is encrypted", path.display());
                self.ask_az(scope, &why).await
            }
            Err(SilentError::Http { url, source }) => {
                Err(self.unavailable(format!("{url}: {}", crate::error_chain(&source))))
            }
            Err(SilentError::Entra(error)) => {
                // The next step for the refusals a person can act on (crate::hints), else a new sign-in.
                let next_step = crate::hints::Refusal::from_codes(&error.codes)
                    .map(|refusal| {
                        crate::hints::next_step(refusal, crate::hints::Flow::SharedLogin)
                    })
                    .unwrap_or("sign in again with `aksctl login` (or `az login`)");
                Err(CredentialError::Authentication {
                    credential: self.describe(),
                    message: format!("{error}\nhint: {next_step}"),
                })
            }
            // Not signed in as far as the files say: az, when installed, is the last resort (as the chain's
            // last credential), else the files' own message (`Please run 'az login' to setup account.`).
            Err(error) if self.az.is_some() => self.ask_az(scope, &error.to_string()).await,
            Err(error) => Err(self.unavailable(error.to_string())),
        }
    }

    fn describe(&self) -> String {
        format!(
            "{NAME} (the login shared with az in {})",
            self.directory.path().display()
        )
    }

    fn identity(&self) -> String {
        self.identity
            .get_or_init(|| {
                identity(
                    &self.directory,
                    &self.selection,
                    self.cloud.as_deref(),
                    &self.authority,
                )
            })
            .clone()
    }
}
