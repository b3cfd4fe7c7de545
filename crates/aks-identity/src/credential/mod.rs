//! Tokens for ARM: the credential chain other Azure SDKs use (environment service principal, workload identity,
//! managed identity, Azure CLI), built on azure_identity 1.0 with our reqwest client as transport, and an on-disk
//! token cache so a second aksctl process does not sign in again.

mod azure;
pub(crate) mod cache;
mod chain;
mod client;
mod shared_login;
mod spec;

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::certificate::CertificateError;

pub use cache::{CachedTokenSource, REFRESH_MARGIN};
pub(crate) use chain::find_on_path;
pub use chain::{
    TOKEN_CREDENTIALS_ENV, credential, default_chain, default_chain_in_cloud, shared_login,
};
pub use shared_login::{
    SharedLoginSelection, managed_identity_id, service_principal_source, shared_login_cached_token,
    shared_login_identity,
};
pub use spec::{CredentialSpec, ManagedIdentityId};

pub use crate::secret::{Secret, fingerprint};

/// A bearer token and when it expires.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessToken {
    /// The token (redacted in `Debug`).
    pub token: Secret,
    /// When the token expires.
    pub expires_on: OffsetDateTime,
}

impl AccessToken {
    /// Whether the token expires within `margin` from now.
    pub fn expires_within(&self, margin: time::Duration) -> bool {
        self.expires_on <= OffsetDateTime::now_utc() + margin
    }
}

/// Something that hands out bearer tokens for a scope.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A token for `scope` (e.g. `https://management.core.windows.net//.default`); may come from a cache.
    async fn token(&self, scope: &str) -> Result<AccessToken, CredentialError>;

    /// A newly acquired token, bypassing every cache (used once after ARM rejects a token with 401
    /// `InvalidAuthenticationToken`/`ExpiredAuthenticationToken`). Defaults to [`TokenSource::token`].
    async fn fresh_token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        self.token(scope).await
    }

    /// Who this source signs in as, for logs and errors, e.g.
    /// `EnvironmentCredential (client secret) for client 0a0a… in tenant 72f9…`. Never contains a secret.
    fn describe(&self) -> String;

    /// The identity a token from this source belongs to, for cache keys: authority, tenant, client and account,
    /// with secrets, passwords and certificates entering only as [`fingerprint`]s. It is worked out when the
    /// source is built (an `az login`/`logout`, an account switch or a changed secret gives a new value), so a
    /// cached token is only ever served to the identity that earned it.
    fn identity(&self) -> String;
}

/// A fixed token (tests, or a token handed over by the user). Never refreshes.
#[derive(Clone, Debug)]
pub struct StaticTokenSource {
    token: AccessToken,
    description: String,
}

impl StaticTokenSource {
    /// A source that always answers `token`.
    pub fn new(token: AccessToken, description: impl Into<String>) -> StaticTokenSource {
        StaticTokenSource {
            token,
            description: description.into(),
        }
    }
}

#[async_trait]
impl TokenSource for StaticTokenSource {
    async fn token(&self, _scope: &str) -> Result<AccessToken, CredentialError> {
        Ok(self.token.clone())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn identity(&self) -> String {
        format!("static|{}", self.description)
    }
}

/// Why no token could be had. Messages carry Entra's error code and description (e.g. `AADSTS7000215`), never a
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// Nothing in the environment says how to sign in.
    #[error(
        "no Azure credential is configured; tried:\n{}\nhint: set AZURE_CLIENT_ID, AZURE_TENANT_ID and \
         AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) for a service principal, or run `az login`",
        tried.iter().map(|line| format!("  {line}")).collect::<Vec<_>>().join("\n")
    )]
    NotConfigured {
        /// One line per credential: what it needs and what was missing.
        tried: Vec<String>,
    },
    /// An environment variable has a value we cannot use.
    #[error("{variable}: {reason}")]
    InvalidSetting {
        /// The variable.
        variable: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The credential cannot be used here (az not signed in, no managed identity endpoint, ...); the chain moves on.
    #[error("{credential}: {message}")]
    Unavailable {
        /// The credential's description.
        credential: String,
        /// What happened.
        message: String,
    },
    /// The identity provider refused (bad secret, unknown client, ...).
    #[error("{credential}: {message}")]
    Authentication {
        /// The credential's description.
        credential: String,
        /// Entra's error code and description, or the transport error.
        message: String,
    },
    /// The client certificate could not be used.
    #[error("client certificate {}: {reason}", path.display())]
    Certificate {
        /// The certificate file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Every credential in the chain was unavailable.
    #[error(
        "no credential in the chain could get a token:\n{}",
        attempts.iter().map(|error| format!("  {error}")).collect::<Vec<_>>().join("\n")
    )]
    ChainExhausted {
        /// What each credential said.
        attempts: Vec<CredentialError>,
    },
}

impl From<CertificateError> for CredentialError {
    fn from(error: CertificateError) -> CredentialError {
        CredentialError::Certificate {
            path: error.path,
            reason: error.reason,
        }
    }
}

impl CredentialError {
    /// Whether the chain should try its next credential after this error.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, CredentialError::Unavailable { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_debug_or_display() {
        let token = AccessToken {
            token: Secret::new("eyJ0eXAiOiJKV1QiLCJhbGciOi.super-secret"),
            expires_on: OffsetDateTime::now_utc(),
        };
        let debug = format!("{token:?} {:?} {}", token.token, token.token);
        assert!(!debug.contains("super-secret"), "{debug}");
        assert!(debug.contains("<redacted>"));
        let source = StaticTokenSource::new(token.clone(), "static");
        assert!(!format!("{source:?}").contains("super-secret"));
        assert_eq!(
            token.token.expose(),
            "eyJ0eXAiOiJKV1QiLCJhbGciOi.super-secret"
        );
    }

    #[test]
    fn not_configured_lists_what_was_tried_and_how_to_fix_it() {
        let error = CredentialError::NotConfigured {
            tried: vec!["EnvironmentCredential: AZURE_CLIENT_ID is not set".into()],
        };
        let text = error.to_string();
        assert!(
            text.contains("  EnvironmentCredential: AZURE_CLIENT_ID is not set"),
            "{text}"
        );
        assert!(text.contains("hint: "), "{text}");
    }
}
