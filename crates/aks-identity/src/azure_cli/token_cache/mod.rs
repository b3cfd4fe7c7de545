//! MSAL's token cache (`msal_token_cache.json`) as MSAL Python 1.39 writes it: five sections of entries keyed by
//! MSAL's recipes, every time a string of epoch seconds, unknown sections, entries and fields kept
//! (AzureAD/microsoft-authentication-library-for-python: `msal/token_cache.py`, `msal/application.py`). See
//! docs/azure-cli-files.md.
//!
//! [`model`] holds the tree; [`keys`] the key recipes; [`search`] MSAL's lookups (by scanning entries, never by
//! key alone); [`add`] what MSAL stores for a token response; [`remove`] what `az logout` deletes.

pub mod add;
pub mod keys;
pub mod model;
pub mod remove;
pub mod search;

pub use add::{Grant, TokenResponse};
pub use model::{AZURE_CLI_CLIENT_ID, Section, TokenCache};
pub use search::{AccessTokenQuery, CachedAccessToken, CachedAccount, CachedRefreshToken};

#[cfg(test)]
mod tests;
