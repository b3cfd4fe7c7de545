//! aksctl's own configuration: the active cloud, registered clouds and default subscriptions, in
//! `$AKSCTL_CONFIG_DIR` (else `~/.aksctl`), files 0600 in a 0700 directory, written atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Cloud;

/// The environment variable that moves the configuration directory.
pub const CONFIG_DIR_ENV: &str = "AKSCTL_CONFIG_DIR";
const CONFIG_FILE: &str = "config.json";
const TOKEN_CACHE_DIR: &str = "tokens";

/// Errors reading or writing the configuration (and setting up HTTP trust).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither `$AKSCTL_CONFIG_DIR` nor a home directory is known.
    #[error("no home directory for the aksctl configuration\nhint: set {CONFIG_DIR_ENV}")]
    NoHome,
    /// A file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `write`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid JSON of the expected shape.
    #[error("parse {}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A CA bundle named by an environment variable could not be read or parsed.
    #[error("{variable}={}: {reason}", path.display())]
    CaBundle {
        /// `REQUESTS_CA_BUNDLE` or `SSL_CERT_FILE`.
        variable: &'static str,
        /// The path it names.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("build the HTTP client: {}", aks_identity::error_chain(source))]
    HttpClient {
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// The TLS settings of the HTTP client could not be built.
    #[error("set up TLS for the HTTP client: {reason}")]
    TlsSetup {
        /// rustls's error.
        reason: String,
    },
}

/// Where the configuration lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigStore {
    /// The configuration directory.
    pub dir: PathBuf,
}

impl ConfigStore {
    /// `$AKSCTL_CONFIG_DIR`, else `~/.aksctl` (`std::env::home_dir`).
    pub fn from_env() -> Result<ConfigStore, ConfigError> {
        if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|dir| !dir.is_empty()) {
            return Ok(ConfigStore::at(dir));
        }
        let home = std::env::home_dir().ok_or(ConfigError::NoHome)?;
        Ok(ConfigStore::at(home.join(".aksctl")))
    }

    /// A store in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> ConfigStore {
        ConfigStore { dir: dir.into() }
    }

    /// The configuration file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    /// Read the configuration; a missing file is the default configuration.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let path = self.path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config::default());
            }
            Err(source) => {
                return Err(ConfigError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Config::default());
        }
        serde_json::from_slice(&bytes).map_err(|source| ConfigError::Parse { path, source })
    }

    /// Write the configuration atomically (file 0600, directory 0700).
    pub fn save(&self, config: &Config) -> Result<(), ConfigError> {
        let path = self.path();
        let mut bytes = serde_json::to_vec_pretty(config).expect("the configuration serializes");
        bytes.push(b'\n');
        write(&path, &bytes)
    }

    /// The token cache directory (`tokens/` inside the configuration directory).
    pub fn token_cache_dir(&self) -> PathBuf {
        self.dir.join(TOKEN_CACHE_DIR)
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    aks_identity::files::write_private_atomic(path, bytes).map_err(|source| ConfigError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}

/// The stored configuration.
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// The active cloud's name (`az cloud set`); `None` means `AzureCloud`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_cloud: Option<String>,
    /// Registered (custom) clouds (`az cloud register`).
    pub clouds: Vec<Cloud>,
    /// Cloud name → default subscription id (`az account set`).
    pub subscriptions: BTreeMap<String, String>,
}

impl Config {
    /// A cloud by name (case-insensitive): built-ins first, then registered clouds.
    pub fn cloud(&self, name: &str) -> Option<Cloud> {
        Cloud::builtin(name).or_else(|| {
            self.clouds
                .iter()
                .find(|cloud| cloud.name.eq_ignore_ascii_case(name))
                .cloned()
        })
    }

    /// The active cloud; `AzureCloud` when none is set or the set one is unknown.
    pub fn active(&self) -> Cloud {
        if let Some(name) = &self.active_cloud {
            if let Some(cloud) = self.cloud(name) {
                return cloud;
            }
            tracing::debug!(cloud = %name, "active cloud is not known; using AzureCloud");
        }
        Cloud::builtin(Cloud::DEFAULT).expect("AzureCloud is built in")
    }

    /// The default subscription of a cloud (case-insensitive cloud name).
    pub fn subscription(&self, cloud: &str) -> Option<&str> {
        self.subscriptions
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(cloud))
            .map(|(_, id)| id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom() -> Cloud {
        Cloud {
            name: "LocalCloud".into(),
            resource_manager: url::Url::parse("https://127.0.0.1:8443/").unwrap(),
            authority_host: url::Url::parse("https://127.0.0.1:8443/").unwrap(),
            arm_audience: "https://management.core.windows.net/".into(),
            microsoft_graph: None,
            kubelogin_environment: "AzurePublicCloud".into(),
        }
    }

    #[test]
    fn missing_file_is_default_and_save_round_trips_privately() {
        let temp = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(temp.path().join("nested/.aksctl"));
        assert_eq!(store.load().unwrap(), Config::default());
        let mut config = Config {
            active_cloud: Some("localcloud".into()),
            clouds: vec![custom()],
            ..Config::default()
        };
        config.subscriptions.insert(
            "LocalCloud".into(),
            "00000000-0000-0000-0000-0000000000aa".into(),
        );
        store.save(&config).unwrap();
        store.save(&config).unwrap();
        assert_eq!(store.load().unwrap(), config);
        assert_eq!(store.load().unwrap().active().name, "LocalCloud");
        assert_eq!(
            config.subscription("localcloud"),
            Some("00000000-0000-0000-0000-0000000000aa")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&store.path()), 0o600);
            assert_eq!(mode(&store.dir), 0o700);
        }
        let leftovers: Vec<_> = std::fs::read_dir(&store.dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("config.json")]);
    }

    #[test]
    fn active_defaults_to_azure_cloud_and_lookup_is_case_insensitive() {
        let config = Config::default();
        assert_eq!(config.active().name, "AzureCloud");
        let config = Config {
            active_cloud: Some("gone".into()),
            ..Config::default()
        };
        assert_eq!(config.active().name, "AzureCloud");
        assert_eq!(
            config.cloud("azurechinacloud").unwrap().name,
            "AzureChinaCloud"
        );
    }

    #[test]
    fn corrupt_file_names_the_path() {
        let temp = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(temp.path());
        std::fs::write(store.path(), "{not json").unwrap();
        let error = store.load().unwrap_err().to_string();
        assert!(error.contains("config.json"), "{error}");
    }
}
