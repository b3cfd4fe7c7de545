//! Why the shared login gave no token. Messages are az's where az has one.

use super::error::FileError;
use super::profile::ProfileError;
use crate::entra::EntraError;

/// The shared login could not produce a token.
#[derive(Debug, thiserror::Error)]
pub enum SilentError {
    /// A file could not be read or written (an encrypted cache: the caller falls back to running az).
    #[error(transparent)]
    File(#[from] FileError),
    /// No usable profile entry (az's messages: `Please run 'az login' to setup account.`, …).
    #[error(transparent)]
    Account(ProfileError),
    /// `--subscription` and `--tenant` together.
    #[error("Please specify only one of subscription and tenant, not both")]
    SubscriptionAndTenant,
    /// The profile's user has no MSAL account in this cloud.
    #[error("User '{0}' does not exist in MSAL token cache. Run `az login`.")]
    UserNotInCache(String),
    /// The profile's service principal has no stored credential.
    #[error(
        "Could not retrieve credential from local cache for service principal {0}. Run `az login` for this service principal."
    )]
    ServicePrincipalNotStored(String),
    /// No access token and no refresh token to redeem.
    #[error("Can't find token from MSAL cache.\nTo re-authenticate, please run:\naz login")]
    NoToken,
    /// Entra refused the refresh token (boxed: it carries the whole answer).
    #[error(transparent)]
    Entra(Box<EntraError>),
    /// The authority host is not a URL.
    #[error("the authority host {0} is not an https URL")]
    BadAuthority(String),
    /// The token request did not get an answer.
    #[error("token request to {url} failed")]
    Http {
        /// The token endpoint.
        url: String,
        /// What reqwest said.
        #[source]
        source: reqwest::Error,
    },
    /// The answer was neither a token nor Entra's error shape.
    #[error("unexpected answer from {url}: {problem}")]
    BadAnswer {
        /// The token endpoint.
        url: String,
        /// What was wrong (status, shape).
        problem: String,
    },
}

impl From<EntraError> for SilentError {
    fn from(error: EntraError) -> Self {
        SilentError::Entra(Box::new(error))
    }
}

impl From<ProfileError> for SilentError {
    fn from(error: ProfileError) -> Self {
        match error {
            ProfileError::File(error) => SilentError::File(error),
            other => SilentError::Account(other),
        }
    }
}
