//! Which login az would use for a command: the profile entry (the default of the active cloud, or the one
//! `--subscription` names), its tenant (`--tenant` overrides it, not the user), and that user's MSAL account or
//! that service principal's stored credential (Azure/azure-cli: `core/_profile.py` `get_raw_token`,
//! `get_login_credentials`; `core/auth/msal_credentials.py` `UserCredential`). See docs/azure-cli-files.md.

use crate::secret::fingerprint;

use super::cache_file::load_token_cache;
use super::config_dir::AzureConfigDir;
use super::error::FileError;
use super::files::read_optional;
use super::profile::{Profile, SubscriptionRecord, UserKind};
use super::service_principal::{ServicePrincipalCredential, ServicePrincipalEntry, find_entry};
use super::silent_error::SilentError;
use super::storage::{service_principal_storage, token_cache_storage};
use super::token_cache::{AZURE_CLI_CLIENT_ID, CachedAccount};

/// `user.name` of az's managed-identity entries.
const MANAGED_IDENTITY_USERS: [&str; 2] = ["systemAssignedIdentity", "userAssignedIdentity"];

/// What picks the login.
#[derive(Clone, Copy, Debug)]
pub struct LoginRequest<'a> {
    /// `--subscription` (id or name); `None`: the default of the active cloud.
    pub subscription: Option<&'a str>,
    /// `--tenant`: the tenant to authenticate to, for the same user.
    pub tenant: Option<&'a str>,
    /// The cloud's authority host, e.g. `https://login.microsoftonline.com`.
    pub authority_host: &'a str,
    /// The cloud whose entries count (`environmentName`); `None`: az's active cloud (`config` `[cloud] name`).
    /// aksctl passes its own active cloud, so both tools' commands act on the login of the cloud they talk to.
    pub cloud: Option<&'a str>,
}

/// The authority a login talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    /// `https://host[:port]`, without a trailing slash.
    pub host_url: String,
    /// MSAL's `environment`: the host name, lower-cased, without the port.
    pub environment: String,
    /// The tenant path segment.
    pub tenant: String,
}

impl Authority {
    /// The v2.0 token endpoint of the tenant.
    pub fn token_endpoint(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.host_url, self.tenant)
    }
}

/// A person signed in with `az login` (or `aksctl login`).
#[derive(Clone, Debug)]
pub struct UserLogin {
    /// The profile entry.
    pub subscription: SubscriptionRecord,
    /// Where tokens come from.
    pub authority: Authority,
    /// The MSAL account of `subscription.user.name`.
    pub account: CachedAccount,
}

/// A service principal signed in with `az login --service-principal`.
#[derive(Clone, Debug)]
pub struct ServicePrincipalLogin {
    /// The profile entry.
    pub subscription: SubscriptionRecord,
    /// Where tokens come from.
    pub authority: Authority,
    /// Its stored credential (the caller signs in with it).
    pub entry: ServicePrincipalEntry,
}

/// The login shared with az.
#[derive(Clone, Debug)]
pub enum SharedLogin {
    /// A person.
    User(UserLogin),
    /// A service principal.
    ServicePrincipal(ServicePrincipalLogin),
    /// `az login --identity`: the caller asks the managed-identity endpoint (`user.assignedIdentityInfo` says
    /// which identity).
    ManagedIdentity(SubscriptionRecord),
}

impl SharedLogin {
    /// The profile entry.
    pub fn subscription(&self) -> &SubscriptionRecord {
        match self {
            SharedLogin::User(login) => &login.subscription,
            SharedLogin::ServicePrincipal(login) => &login.subscription,
            SharedLogin::ManagedIdentity(subscription) => subscription,
        }
    }

    /// A stable identity key for caches, never secret: authority, tenant, client and `home_account_id` for a
    /// person; for a service principal the same with a SHA-256 of its secret, assertion or certificate file
    /// (so a rotated credential gets a new key); the identity info for a managed identity.
    pub fn identity_key(&self) -> Result<String, FileError> {
        Ok(match self {
            SharedLogin::User(login) => format!(
                "user|{}|{}|{AZURE_CLI_CLIENT_ID}|{}",
                login.authority.host_url, login.authority.tenant, login.account.home_account_id
            ),
            SharedLogin::ServicePrincipal(login) => format!(
                "sp|{}|{}|{}|{}",
                login.authority.host_url,
                login.authority.tenant,
                login.entry.client_id,
                credential_fingerprint(&login.entry.credential)?
            ),
            SharedLogin::ManagedIdentity(subscription) => format!(
                "msi|{}|{}",
                subscription.user.name,
                subscription
                    .user
                    .extra
                    .get("assignedIdentityInfo")
                    .and_then(|info| info.as_str())
                    .unwrap_or("MSI")
            ),
        })
    }
}

/// The [`fingerprint`] of what proves a service principal: the secret, the assertion, or the certificate file's
/// bytes (the same recipes as kubelogin's `spn` cache keys).
pub fn credential_fingerprint(
    credential: &ServicePrincipalCredential,
) -> Result<String, FileError> {
    Ok(match credential {
        ServicePrincipalCredential::Secret(secret) => {
            fingerprint("client-secret", secret.expose().as_bytes())
        }
        ServicePrincipalCredential::Assertion(assertion) => {
            fingerprint("client-assertion", assertion.expose().as_bytes())
        }
        ServicePrincipalCredential::Certificate { path, .. } => {
            let bytes = read_optional(path)?.ok_or_else(|| FileError::Read {
                path: path.clone(),
                source: std::io::ErrorKind::NotFound.into(),
            })?;
            fingerprint("certificate-file", &bytes)
        }
    })
}

/// The authority of `authority_host` for `tenant`.
pub fn authority_for(authority_host: &str, tenant: &str) -> Result<Authority, SilentError> {
    let url = reqwest::Url::parse(authority_host)
        .map_err(|_| SilentError::BadAuthority(authority_host.to_string()))?;
    let environment = url
        .host_str()
        .ok_or_else(|| SilentError::BadAuthority(authority_host.to_string()))?
        .to_lowercase();
    Ok(Authority {
        host_url: authority_host.trim_end_matches('/').to_string(),
        environment,
        tenant: tenant.to_string(),
    })
}

/// Resolve the login az would use: profile entry, tenant, then the user's MSAL account or the service
/// principal's stored entry.
pub fn resolve_login(
    directory: &AzureConfigDir,
    request: &LoginRequest<'_>,
) -> Result<SharedLogin, SilentError> {
    if request.subscription.is_some() && request.tenant.is_some() {
        return Err(SilentError::SubscriptionAndTenant);
    }
    let cloud = match request.cloud {
        Some(cloud) => cloud.to_string(),
        None => directory.active_cloud()?,
    };
    let subscription = Profile::load(directory)?.subscription(&cloud, request.subscription)?;
    let tenant = request
        .tenant
        .unwrap_or(&subscription.tenant_id)
        .to_string();
    let authority = authority_for(request.authority_host, &tenant)?;
    let user = subscription.user.name.clone();
    match subscription.user.kind {
        UserKind::User => {
            let cache = load_token_cache(&token_cache_storage(directory)?)?;
            let account = cache
                .accounts(&authority.environment, Some(&user))
                .into_iter()
                .next()
                .ok_or(SilentError::UserNotInCache(user))?;
            Ok(SharedLogin::User(UserLogin {
                subscription,
                authority,
                account,
            }))
        }
        UserKind::ServicePrincipal if MANAGED_IDENTITY_USERS.contains(&user.as_str()) => {
            Ok(SharedLogin::ManagedIdentity(subscription))
        }
        UserKind::ServicePrincipal => {
            let entry = find_entry(&service_principal_storage(directory)?, &user, &tenant)?
                .ok_or(SilentError::ServicePrincipalNotStored(user))?;
            Ok(SharedLogin::ServicePrincipal(ServicePrincipalLogin {
                subscription,
                authority,
                entry,
            }))
        }
    }
}
