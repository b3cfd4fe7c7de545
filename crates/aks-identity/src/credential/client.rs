//! A service principal's own token (client credentials with a secret or a certificate assertion), requested
//! natively through [`crate::entra`], so a refusal reads as Entra's `AADSTSnnnnn: …` line.

use std::sync::Arc;

use async_trait::async_trait;

use super::azure::{TRANSIENT_BACKOFF, TRANSIENT_RETRIES};
use super::{AccessToken, CredentialError, Secret, TokenSource};
use crate::certificate::{ClientCertificate, SendChain};
use crate::entra::{self, Audience, ClientAuth, Endpoint, RequestError};

/// How the service principal proves itself.
#[derive(Clone, Debug)]
pub(crate) enum ClientProof {
    /// A client secret.
    Secret(Secret),
    /// A certificate (PEM or PFX, already loaded) and whether `x5c` is sent.
    Certificate(Arc<ClientCertificate>, SendChain),
    /// A federated token used as the client assertion.
    Assertion(Secret),
}

/// A service principal signing in with client credentials.
#[derive(Debug)]
pub(crate) struct ClientCredential {
    pub(crate) description: String,
    pub(crate) identity: String,
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) proof: ClientProof,
    pub(crate) authority: String,
    pub(crate) http: reqwest::Client,
}

impl ClientCredential {
    async fn request(&self, scope: &str) -> Result<AccessToken, RequestError> {
        let endpoint = Endpoint {
            http: &self.http,
            authority: &self.authority,
        };
        let auth = match &self.proof {
            ClientProof::Secret(secret) => ClientAuth::Secret(secret),
            ClientProof::Certificate(certificate, send_chain) => {
                ClientAuth::Certificate(certificate, *send_chain)
            }
            ClientProof::Assertion(assertion) => ClientAuth::Assertion(assertion),
        };
        let answer = entra::client_credentials(
            endpoint,
            &self.client_id,
            &self.tenant_id,
            auth,
            Audience::Scope(scope),
        )
        .await?;
        Ok(AccessToken {
            token: answer.access_token,
            expires_on: answer.expires_on,
        })
    }
}

#[async_trait]
impl TokenSource for ClientCredential {
    async fn token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        tracing::debug!(credential = %self.description, scope, "requesting a token");
        let mut attempt = 0u32;
        loop {
            match self.request(scope).await {
                Ok(token) => {
                    tracing::debug!(credential = %self.description, expires_on = %token.expires_on, "got a token");
                    return Ok(token);
                }
                Err(error) if attempt < TRANSIENT_RETRIES && error.is_transient() => {
                    attempt += 1;
                    tracing::debug!(credential = %self.description, %error, attempt, "token endpoint busy; retrying");
                    tokio::time::sleep(TRANSIENT_BACKOFF * 2u32.pow(attempt - 1)).await;
                }
                Err(error) => {
                    let credential = self.description.clone();
                    let message = error.to_string();
                    tracing::debug!(%credential, error = %message, "token request failed");
                    return Err(match error {
                        RequestError::Transport { .. } => CredentialError::Unavailable {
                            credential,
                            message,
                        },
                        _ => CredentialError::Authentication {
                            credential,
                            message,
                        },
                    });
                }
            }
        }
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn identity(&self) -> String {
        self.identity.clone()
    }
}
