//! azure_identity credentials as [`TokenSource`]s.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;

use super::{AccessToken, CredentialError, Secret, TokenSource};

/// Builds a new instance of an azure_identity credential (each instance has its own in-memory cache, so a new one
/// is the way to bypass it).
pub(crate) type Factory =
    Box<dyn Fn() -> azure_core::Result<Arc<dyn TokenCredential>> + Send + Sync>;

/// How failures of a credential count for the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Connection problems mean "not available here"; service refusals are authentication errors.
    ConnectionIsUnavailable,
    /// Every failure means "not available here" (Azure CLI: not installed, not signed in, too old).
    AlwaysUnavailable,
}

/// One azure_identity credential.
pub(crate) struct AzureCredential {
    description: String,
    identity: String,
    failure: Failure,
    factory: Factory,
    current: Mutex<Arc<dyn TokenCredential>>,
}

impl fmt::Debug for AzureCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureCredential")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl AzureCredential {
    /// Build the credential once now (construction errors surface at chain build time).
    pub(crate) fn new(
        description: String,
        identity: String,
        failure: Failure,
        factory: Factory,
    ) -> Result<AzureCredential, CredentialError> {
        let current = factory().map_err(|error| CredentialError::Unavailable {
            credential: description.clone(),
            message: crate::error_chain(&error),
        })?;
        Ok(AzureCredential {
            description,
            identity,
            failure,
            factory,
            current: Mutex::new(current),
        })
    }

    async fn get(
        &self,
        credential: Arc<dyn TokenCredential>,
        scope: &str,
    ) -> Result<AccessToken, CredentialError> {
        tracing::debug!(credential = %self.description, scope, "requesting a token");
        let mut attempt = 0u32;
        let result = loop {
            let result = credential.get_token(&[scope], None).await;
            match &result {
                Err(error) if attempt < TRANSIENT_RETRIES && transient_status(error).is_some() => {
                    let delay = TRANSIENT_BACKOFF * 2u32.pow(attempt);
                    attempt += 1;
                    tracing::debug!(credential = %self.description, status = ?transient_status(error), attempt, "token endpoint busy; retrying");
                    tokio::time::sleep(delay).await;
                }
                _ => break result,
            }
        };
        match result {
            Ok(token) => {
                tracing::debug!(credential = %self.description, expires_on = %token.expires_on, "got a token");
                Ok(AccessToken {
                    token: Secret::new(token.token.secret()),
                    expires_on: token.expires_on,
                })
            }
            Err(error) => {
                let message = crate::error_chain(&error);
                tracing::debug!(credential = %self.description, error = %message, "token request failed");
                let unavailable = match self.failure {
                    Failure::AlwaysUnavailable => true,
                    Failure::ConnectionIsUnavailable => is_connection_error(&error),
                };
                let credential = self.description.clone();
                Err(if unavailable {
                    CredentialError::Unavailable {
                        credential,
                        message,
                    }
                } else {
                    CredentialError::Authentication {
                        credential,
                        message,
                    }
                })
            }
        }
    }
}

/// Retries of a token request that the identity provider answered 408, 429 or 5xx (Entra's
/// `temporarily_unavailable`), with a backoff doubling from [`TRANSIENT_BACKOFF`].
pub(crate) const TRANSIENT_RETRIES: u32 = 3;
pub(crate) const TRANSIENT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(400);

/// The HTTP status of a token-endpoint answer worth retrying (408, 429, 5xx), if that is what failed.
fn transient_status(error: &azure_core::Error) -> Option<u16> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(azure) = error.downcast_ref::<azure_core::Error>()
            && let ErrorKind::HttpResponse { status, .. } = azure.kind()
        {
            let status = u16::from(*status);
            return (status == 408 || status == 429 || (500..600).contains(&status))
                .then_some(status);
        }
        current = error.source();
    }
    None
}

fn is_connection_error(error: &azure_core::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(azure) = error.downcast_ref::<azure_core::Error>()
            && matches!(azure.kind(), ErrorKind::Connection | ErrorKind::Io)
        {
            return true;
        }
        current = error.source();
    }
    false
}

#[async_trait]
impl TokenSource for AzureCredential {
    async fn token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        let credential = self.current.lock().expect("credential lock").clone();
        self.get(credential, scope).await
    }

    async fn fresh_token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        let credential = (self.factory)().map_err(|error| CredentialError::Unavailable {
            credential: self.description.clone(),
            message: crate::error_chain(&error),
        })?;
        *self.current.lock().expect("credential lock") = credential.clone();
        self.get(credential, scope).await
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn identity(&self) -> String {
        self.identity.clone()
    }
}
