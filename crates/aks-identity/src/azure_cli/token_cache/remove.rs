//! What `az logout` removes from MSAL's cache (Azure/azure-cli: `auth/identity.py` `logout_user`,
//! `logout_service_principal`; MSAL Python `application.py` `_sign_out`, `_forget_me`,
//! `remove_tokens_for_client`).
//!
//! One difference, on purpose: MSAL deletes an entry under the key its fields give, so an entry an older MSAL
//! wrote under another key survives a logout. Here every matching entry goes, whatever its key.

use serde_json::{Map, Value};

use super::model::{Section, TokenCache, text};

impl TokenCache {
    /// `az logout --username U` for the accounts of `environment` named `username` (any case): their refresh
    /// tokens of `client_id` or of its family (per its AppMetadata), all their access tokens (any client, any
    /// realm), their id tokens and their Account entries. AppMetadata stays. Returns how many entries went.
    pub fn remove_user(&mut self, environment: &str, username: &str, client_id: &str) -> usize {
        let accounts = self.accounts(environment, Some(username));
        let family = self
            .app_metadata(environment, client_id)
            .and_then(|metadata| text(metadata, "family_id"))
            .map(str::to_string);
        let mut removed = 0;
        for account in accounts {
            let owned = |entry: &Map<String, Value>| {
                text(entry, "environment") == Some(account.environment.as_str())
                    && text(entry, "home_account_id") == Some(account.home_account_id.as_str())
            };
            removed += self.remove_where(Section::RefreshToken, |entry| {
                owned(entry)
                    && (text(entry, "client_id") == Some(client_id)
                        || (family.is_some() && text(entry, "family_id") == family.as_deref()))
            });
            removed += self.remove_where(Section::AccessToken, owned);
            removed += self.remove_where(Section::IdToken, owned);
            removed += self.remove_where(Section::Account, owned);
        }
        removed
    }

    /// `az logout` of a service principal: its app-only access tokens (`client_id`, no account) in
    /// `environment`. Returns how many went.
    pub fn remove_service_principal_tokens(&mut self, environment: &str, client_id: &str) -> usize {
        let environment = environment.to_lowercase();
        self.remove_where(Section::AccessToken, |entry| {
            text(entry, "client_id") == Some(client_id)
                && text(entry, "environment") == Some(environment.as_str())
                && matches!(entry.get("home_account_id"), None | Some(Value::Null))
        })
    }
}
