//! Tokens for one tenant from a person's cached login (its refresh token redeemed against that tenant), as az's
//! login asks for each tenant `GET /tenants` lists before listing its subscriptions (Azure/azure-cli:
//! `core/_profile.py` `SubscriptionFinder.find_using_common_tenant`).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::azure_cli::cache_file::load_token_cache;
use crate::azure_cli::login::{UserLogin, authority_for};
use crate::azure_cli::profile::{
    ProfileUser, SubscriptionRecord, TENANT_LEVEL_ACCOUNT_NAME, UserKind,
};
use crate::azure_cli::silent::user_token;
use crate::azure_cli::storage::token_cache_storage;
use crate::azure_cli::{AzureConfigDir, SilentError};
use crate::credential::{AccessToken, CredentialError, TokenSource};

/// A person's tokens in one tenant, silently.
pub struct TenantTokenSource {
    directory: AzureConfigDir,
    http: reqwest::Client,
    login: UserLogin,
}

impl std::fmt::Debug for TenantTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantTokenSource")
            .field("user", &self.login.account.username)
            .field("tenant", &self.login.authority.tenant)
            .finish_non_exhaustive()
    }
}

impl TenantTokenSource {
    /// The account `home_account_id` of az's cache in `directory`, for `tenant` at `authority_host`.
    pub fn new(
        directory: AzureConfigDir,
        http: reqwest::Client,
        authority_host: &str,
        tenant: &str,
        home_account_id: &str,
    ) -> Result<TenantTokenSource, SilentError> {
        let authority = authority_for(authority_host, tenant)?;
        let cache = load_token_cache(&token_cache_storage(&directory)?)?;
        let account = cache
            .accounts(&authority.environment, None)
            .into_iter()
            .find(|account| account.home_account_id == home_account_id)
            .ok_or_else(|| SilentError::UserNotInCache(home_account_id.to_owned()))?;
        // The login is not a profile entry yet (the subscriptions are what it is used to find).
        let subscription = SubscriptionRecord {
            id: tenant.to_owned(),
            name: TENANT_LEVEL_ACCOUNT_NAME.to_owned(),
            state: "Enabled".to_owned(),
            user: ProfileUser {
                name: account.username.clone(),
                kind: UserKind::User,
                extra: Default::default(),
            },
            is_default: false,
            tenant_id: tenant.to_owned(),
            environment_name: String::new(),
            extra: Default::default(),
        };
        Ok(TenantTokenSource {
            directory,
            http,
            login: UserLogin {
                subscription,
                authority,
                account,
            },
        })
    }
}

#[async_trait]
impl TokenSource for TenantTokenSource {
    async fn token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        let scopes = [scope.to_owned()];
        let token = user_token(&self.directory, &self.http, &self.login, &scopes, None)
            .await
            .map_err(|error| CredentialError::Authentication {
                credential: self.describe(),
                message: error.to_string(),
            })?;
        Ok(AccessToken {
            token: token.access_token,
            expires_on: OffsetDateTime::from_unix_timestamp(token.expires_on)
                .unwrap_or_else(|_| OffsetDateTime::now_utc()),
        })
    }

    fn describe(&self) -> String {
        format!(
            "the login of {} in tenant {}",
            self.login.account.username, self.login.authority.tenant
        )
    }

    fn identity(&self) -> String {
        format!(
            "sign-in|{}|{}|{}",
            self.login.authority.host_url,
            self.login.authority.tenant,
            self.login.account.home_account_id
        )
    }
}
