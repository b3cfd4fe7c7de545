//! The login shared with the Azure CLI: az 2.91's own files in `AZURE_CONFIG_DIR`, read and written natively.
//!
//! - [`config_dir`] locates the directory, the active cloud and `clouds.config`; [`clouds`] writes az's
//!   registered clouds and its active cloud;
//! - [`profile`] reads and writes `azureProfile.json` (subscriptions, users, the default);
//! - [`token_cache`] is MSAL's token cache (`msal_token_cache.json`) with MSAL Python's keys and search rules,
//!   kept behind a [`storage`] trait and written under msal-extensions' [`lock`];
//! - [`service_principal`] reads and writes `service_principal_entries.json`;
//! - [`logout`] does what `az logout` and `az account clear` do to these files;
//! - [`login`] picks the login az would use, and [`silent`] gets its token as `az account get-access-token`
//!   does (cache, else a refresh at Entra).
//!
//! The facts these modules rely on, with public sources, are in docs/azure-cli-files.md.

pub mod cache_file;
pub mod claims;
pub mod clouds;
pub mod config_dir;
pub mod environment;
pub mod error;
pub mod files;
pub mod ini;
pub mod lock;
pub mod login;
pub mod logout;
pub mod profile;
pub mod python_json;
pub mod secret;
pub mod service_principal;
pub mod silent;
pub mod silent_error;
pub mod storage;
pub mod token_cache;

pub use crate::entra::EntraError;
pub use config_dir::{AzureConfigDir, ConfigDirError};
pub use environment::{Environment, ProcessEnvironment};
pub use error::FileError;
pub use login::{LoginRequest, SharedLogin, resolve_login};
pub use profile::{Profile, ProfileError, SubscriptionRecord};
pub use secret::Secret;
pub use silent::{SilentOutcome, SilentToken, SilentTokenRequest, acquire_token_silently};
pub use silent_error::SilentError;
