//! `az logout` and `az account clear` on the shared files (Azure/azure-cli:
//! `command_modules/profile/custom.py` `logout`/`account_clear`, `core/_profile.py` `logout`/`logout_all`,
//! `core/auth/identity.py`). MSAL's cache and the service-principal store are cleaned before the profile, so a
//! failure leaves the profile pointing at what is still there.

use super::cache_file::update_token_cache;
use super::config_dir::{AzureConfigDir, file_names};
use super::files::remove_if_present;
use super::profile::{ProfileError, update_profile};
use super::service_principal::remove_entries;
use super::storage::{service_principal_storage, token_cache_storage};
use super::token_cache::AZURE_CLI_CLIENT_ID;

/// What a logout removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogoutReport {
    /// Token-cache entries.
    pub token_cache_entries: usize,
    /// Service-principal entries.
    pub service_principal_entries: usize,
    /// `azureProfile.json` entries.
    pub profile_entries: usize,
}

/// `az logout --username <user>` (a UPN or a service principal's client id; az tries both) for the cloud whose
/// authority host is `environment` (e.g. `login.microsoftonline.com`). No new default subscription is chosen.
pub fn logout(
    directory: &AzureConfigDir,
    user: &str,
    environment: &str,
) -> Result<LogoutReport, ProfileError> {
    let mut report = LogoutReport::default();
    let cache = token_cache_storage(directory)?;
    report.token_cache_entries = update_token_cache(&cache, |cache| {
        cache.remove_user(environment, user, AZURE_CLI_CLIENT_ID)
            + cache.remove_service_principal_tokens(environment, user)
    })?;
    report.service_principal_entries =
        remove_entries(&service_principal_storage(directory)?, user)?;
    report.profile_entries = update_profile(directory, |profile| Ok(profile.remove_user(user)))?;
    remove_if_present(&directory.file(file_names::ADAL_TOKENS))?;
    Ok(report)
}

/// `az account clear`: no subscriptions (`installationId` kept), and the token cache, the service-principal
/// entries (plaintext and encrypted) and the ADAL-era token file deleted.
pub fn clear(directory: &AzureConfigDir) -> Result<(), ProfileError> {
    update_profile(directory, |profile| {
        profile.clear();
        Ok(())
    })?;
    for name in [
        file_names::TOKEN_CACHE,
        file_names::TOKEN_CACHE_ENCRYPTED,
        file_names::SERVICE_PRINCIPALS,
        file_names::SERVICE_PRINCIPALS_ENCRYPTED,
        file_names::ADAL_TOKENS,
    ] {
        remove_if_present(&directory.file(name))?;
    }
    Ok(())
}
