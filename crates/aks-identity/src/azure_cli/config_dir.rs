//! The Azure CLI's configuration directory (`AZURE_CONFIG_DIR`, else `~/.azure`), its active cloud and the
//! `clouds.config` default subscription (Azure/azure-cli: `src/azure-cli-core/azure/cli/core/_environment.py`,
//! `cloud.py`; microsoft/knack: `knack/config.py`). See docs/azure-cli-files.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::environment::{Environment, non_empty, parse_bool};
use super::error::FileError;
use super::files::{read_optional, write_atomic};
use super::ini::IniDocument;

/// The cloud az uses when nothing names one.
pub const DEFAULT_CLOUD: &str = "AzureCloud";

/// The files of the directory that aksctl reads or writes (names fixed by az).
pub mod file_names {
    /// The subscriptions and their users.
    pub const PROFILE: &str = "azureProfile.json";
    /// knack's settings (`[cloud] name`, `[core] …`).
    pub const CONFIG: &str = "config";
    /// One section per cloud; `subscription` is its default.
    pub const CLOUDS: &str = "clouds.config";
    /// MSAL's token cache, plaintext.
    pub const TOKEN_CACHE: &str = "msal_token_cache.json";
    /// MSAL's token cache, encrypted (DPAPI on Windows).
    pub const TOKEN_CACHE_ENCRYPTED: &str = "msal_token_cache.bin";
    /// Service-principal credentials, plaintext.
    pub const SERVICE_PRINCIPALS: &str = "service_principal_entries.json";
    /// Service-principal credentials, encrypted.
    pub const SERVICE_PRINCIPALS_ENCRYPTED: &str = "service_principal_entries.bin";
    /// ADAL-era token file that `az logout` and `az account clear` delete.
    pub const ADAL_TOKENS: &str = "accessTokens.json";
}

/// The directory could not be located.
#[derive(Debug, thiserror::Error)]
pub enum ConfigDirError {
    /// Neither `AZURE_CONFIG_DIR` nor a home directory (`HOME`, `USERPROFILE`) is set.
    #[error(
        "cannot locate the Azure CLI's configuration directory: AZURE_CONFIG_DIR and HOME are both unset"
    )]
    NoHomeDirectory,
}

/// The Azure CLI's configuration directory and the settings that decide which of its files count.
#[derive(Clone)]
pub struct AzureConfigDir {
    path: PathBuf,
    environment: Arc<dyn Environment>,
}

impl std::fmt::Debug for AzureConfigDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureConfigDir")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl AzureConfigDir {
    /// `AZURE_CONFIG_DIR` when set and non-empty (used as is, not `~`-expanded), else `<home>/.azure`.
    pub fn locate(environment: Arc<dyn Environment>) -> Result<AzureConfigDir, ConfigDirError> {
        let path = match non_empty(environment.as_ref(), "AZURE_CONFIG_DIR") {
            Some(directory) => PathBuf::from(directory),
            None => {
                let home = non_empty(environment.as_ref(), "HOME")
                    .or_else(|| non_empty(environment.as_ref(), "USERPROFILE"))
                    .ok_or(ConfigDirError::NoHomeDirectory)?;
                Path::new(&home).join(".azure")
            }
        };
        Ok(AzureConfigDir { path, environment })
    }

    /// A given directory, with settings from `environment`.
    pub fn at(path: impl Into<PathBuf>, environment: Arc<dyn Environment>) -> AzureConfigDir {
        AzureConfigDir {
            path: path.into(),
            environment,
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The environment the settings come from.
    pub fn environment(&self) -> &dyn Environment {
        self.environment.as_ref()
    }

    /// A knack setting: `AZURE_<SECTION>_<OPTION>` when set, else `[section] option` of `config`.
    pub fn setting(&self, section: &str, option: &str) -> Result<Option<String>, FileError> {
        let variable = format!(
            "AZURE_{}_{}",
            section.to_ascii_uppercase(),
            option.to_ascii_uppercase()
        );
        if let Some(value) = non_empty(self.environment(), &variable) {
            return Ok(Some(value));
        }
        Ok(self.read_ini(file_names::CONFIG)?.get(section, option))
    }

    /// The active cloud: `AZURE_CLOUD_NAME`, else `config` `[cloud] name`, else `AzureCloud`.
    pub fn active_cloud(&self) -> Result<String, FileError> {
        Ok(self
            .setting("cloud", "name")?
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| DEFAULT_CLOUD.to_string()))
    }

    /// Whether az keeps its token cache encrypted (`core.encrypt_token_cache`; on by default only on Windows).
    pub fn encrypts_token_cache(&self) -> Result<bool, FileError> {
        let configured = self.setting("core", "encrypt_token_cache")?;
        Ok(configured
            .as_deref()
            .and_then(parse_bool)
            .unwrap_or(cfg!(windows)))
    }

    /// Whether `az login` shows its subscription picker on a terminal (`core.login_experience_v2`, on unless set
    /// off; Azure/azure-cli: `command_modules/profile/custom.py` `login`).
    pub fn login_experience_v2(&self) -> Result<bool, FileError> {
        let configured = self.setting("core", "login_experience_v2")?;
        Ok(configured.as_deref().and_then(parse_bool).unwrap_or(true))
    }

    /// `clouds.config` `[<cloud>] subscription`.
    pub fn cloud_subscription(&self, cloud: &str) -> Result<Option<String>, FileError> {
        Ok(self
            .read_ini(file_names::CLOUDS)?
            .get(cloud, "subscription")
            .filter(|id| !id.is_empty()))
    }

    /// Write `clouds.config` `[<cloud>] subscription = <id>`, keeping the rest of the file.
    pub fn set_cloud_subscription(
        &self,
        cloud: &str,
        subscription_id: &str,
    ) -> Result<(), FileError> {
        let mut document = self.read_ini(file_names::CLOUDS)?;
        if document.get(cloud, "subscription").as_deref() == Some(subscription_id) {
            return Ok(());
        }
        document.set(cloud, "subscription", subscription_id);
        self.write_ini(file_names::CLOUDS, &document)
    }

    /// One of the directory's INI files (`config`, `clouds.config`); a missing file is an empty document.
    pub(crate) fn read_ini(&self, name: &str) -> Result<IniDocument, FileError> {
        let path = self.file(name);
        let bytes = read_optional(&path)?.unwrap_or_default();
        Ok(IniDocument::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// Replace one of the directory's INI files atomically.
    pub(crate) fn write_ini(&self, name: &str, document: &IniDocument) -> Result<(), FileError> {
        write_atomic(&self.file(name), document.to_text().as_bytes())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An environment made of the given pairs.
    pub(crate) fn environment(pairs: &[(&str, &str)]) -> Arc<dyn Environment> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Arc::new(move |name: &str| map.get(name).cloned())
    }

    #[test]
    fn directory_is_azure_config_dir_else_home_dot_azure() {
        let dir =
            AzureConfigDir::locate(environment(&[("AZURE_CONFIG_DIR", "~/x"), ("HOME", "/h")]))
                .unwrap();
        assert_eq!(dir.path(), Path::new("~/x"));
        let dir = AzureConfigDir::locate(environment(&[("AZURE_CONFIG_DIR", ""), ("HOME", "/h")]))
            .unwrap();
        assert_eq!(dir.path(), Path::new("/h/.azure"));
        assert!(matches!(
            AzureConfigDir::locate(environment(&[])),
            Err(ConfigDirError::NoHomeDirectory)
        ));
    }

    #[test]
    fn active_cloud_is_env_then_config_then_azure_cloud() {
        let temp = tempfile::tempdir().unwrap();
        let dir = AzureConfigDir::at(temp.path(), environment(&[]));
        assert_eq!(dir.active_cloud().unwrap(), "AzureCloud");
        std::fs::write(
            temp.path().join("config"),
            "[core]\nx = 1\n[cloud]\nname = AzureChinaCloud\n",
        )
        .unwrap();
        assert_eq!(dir.active_cloud().unwrap(), "AzureChinaCloud");
        let dir = AzureConfigDir::at(
            temp.path(),
            environment(&[("AZURE_CLOUD_NAME", "AzureUSGovernment")]),
        );
        assert_eq!(dir.active_cloud().unwrap(), "AzureUSGovernment");
    }

    #[test]
    fn encryption_follows_the_setting_and_the_platform_default() {
        let temp = tempfile::tempdir().unwrap();
        let dir = AzureConfigDir::at(temp.path(), environment(&[]));
        assert_eq!(dir.encrypts_token_cache().unwrap(), cfg!(windows));
        std::fs::write(
            temp.path().join("config"),
            "[core]\nencrypt_token_cache = yes\n",
        )
        .unwrap();
        assert!(dir.encrypts_token_cache().unwrap());
        let dir = AzureConfigDir::at(
            temp.path(),
            environment(&[("AZURE_CORE_ENCRYPT_TOKEN_CACHE", "off")]),
        );
        assert!(!dir.encrypts_token_cache().unwrap());
    }

    #[test]
    fn cloud_subscription_is_read_and_written_keeping_the_rest() {
        let temp = tempfile::tempdir().unwrap();
        let dir = AzureConfigDir::at(temp.path(), environment(&[]));
        assert_eq!(dir.cloud_subscription("AzureCloud").unwrap(), None);
        let original = "[AzureCloud]\n# mine\nsubscription = old\n\n[Custom]\nendpoint_resource_manager = https://x/\n";
        std::fs::write(temp.path().join("clouds.config"), original).unwrap();
        assert_eq!(
            dir.cloud_subscription("AzureCloud").unwrap().as_deref(),
            Some("old")
        );
        dir.set_cloud_subscription("AzureCloud", "new").unwrap();
        assert_eq!(
            std::fs::read_to_string(temp.path().join("clouds.config")).unwrap(),
            original.replace("= old", "= new")
        );
    }
}
