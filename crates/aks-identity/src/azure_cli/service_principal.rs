//! `service_principal_entries.json`: the credentials of service principals signed in with
//! `az login --service-principal` (Azure/azure-cli: `auth/identity.py` `ServicePrincipalStore`,
//! `ServicePrincipalAuth`; `auth/persistence.py` `SecretStore`). A JSON list written with `json.dumps(indent=4)`
//! under msal-extensions' lock. See docs/azure-cli-files.md.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::FileError;
use super::python_json::{Layout, to_python_json};
use super::secret::Secret;
use super::storage::{CacheStorage, Change, locked_update, read_stored_json};

/// How a service principal proves itself: exactly one of these per entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServicePrincipalCredential {
    /// `client_secret`.
    Secret(Secret),
    /// `certificate`: an absolute path to a PEM with the private key; `use_cert_sn_issuer` sends the x5c chain.
    Certificate {
        /// The PEM file.
        path: PathBuf,
        /// Subject name + issuer authentication.
        use_cert_sn_issuer: bool,
    },
    /// `client_assertion`: a federated token.
    Assertion(Secret),
}

/// One entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePrincipalEntry {
    /// The app (client) id.
    pub client_id: String,
    /// The tenant it signed in to.
    pub tenant: String,
    /// Its credential.
    pub credential: ServicePrincipalCredential,
}

impl ServicePrincipalEntry {
    /// The entry as az persists it: `client_id`, `tenant`, then the credential's keys.
    pub fn to_value(&self) -> Value {
        let mut object = Map::new();
        object.insert("client_id".into(), self.client_id.clone().into());
        object.insert("tenant".into(), self.tenant.clone().into());
        match &self.credential {
            ServicePrincipalCredential::Secret(secret) => {
                object.insert("client_secret".into(), secret.expose().into());
            }
            ServicePrincipalCredential::Certificate {
                path,
                use_cert_sn_issuer,
            } => {
                object.insert(
                    "certificate".into(),
                    path.to_string_lossy().into_owned().into(),
                );
                if *use_cert_sn_issuer {
                    object.insert("use_cert_sn_issuer".into(), true.into());
                }
            }
            ServicePrincipalCredential::Assertion(assertion) => {
                object.insert("client_assertion".into(), assertion.expose().into());
            }
        }
        Value::Object(object)
    }

    /// Read one entry of the file at `path`.
    pub fn from_value(path: &Path, value: &Value) -> Result<ServicePrincipalEntry, FileError> {
        let shape = |problem: &str| FileError::Shape {
            path: path.to_path_buf(),
            problem: problem.to_string(),
        };
        let object = value
            .as_object()
            .ok_or_else(|| shape("an entry is not an object"))?;
        let field = |name: &str| {
            object
                .get(name)
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty())
        };
        let client_id = field("client_id").ok_or_else(|| shape("an entry has no client_id"))?;
        let tenant = field("tenant").ok_or_else(|| shape("an entry has no tenant"))?;
        let credentials = [
            field("client_secret")
                .map(|secret| ServicePrincipalCredential::Secret(Secret::new(secret))),
            field("certificate").map(|certificate| ServicePrincipalCredential::Certificate {
                path: PathBuf::from(certificate),
                use_cert_sn_issuer: object.get("use_cert_sn_issuer").and_then(Value::as_bool)
                    == Some(true),
            }),
            field("client_assertion")
                .map(|assertion| ServicePrincipalCredential::Assertion(Secret::new(assertion))),
        ];
        let mut present = credentials.into_iter().flatten();
        let (Some(credential), None) = (present.next(), present.next()) else {
            return Err(shape(&format!(
                "the entry of {client_id} must have exactly one of client_secret, certificate, client_assertion"
            )));
        };
        Ok(ServicePrincipalEntry {
            client_id: client_id.to_string(),
            tenant: tenant.to_string(),
            credential,
        })
    }
}

/// The list in the file (a missing or empty file is an empty list).
fn entries_of(path: &Path, value: Option<Value>) -> Result<Vec<Value>, FileError> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(entries)) => Ok(entries),
        Some(_) => Err(FileError::Shape {
            path: path.to_path_buf(),
            problem: "the top level is not a list".into(),
        }),
    }
}

/// Every entry.
pub fn load_entries(storage: &dyn CacheStorage) -> Result<Vec<ServicePrincipalEntry>, FileError> {
    let path = storage.location();
    entries_of(path, read_stored_json(storage)?)?
        .iter()
        .map(|entry| ServicePrincipalEntry::from_value(path, entry))
        .collect()
}

/// az's `load_entry`: the entry of `client_id` for `tenant`, else its first entry for any tenant (az then warns
/// that it assumes an app credential), else `None`.
pub fn find_entry(
    storage: &dyn CacheStorage,
    client_id: &str,
    tenant: &str,
) -> Result<Option<ServicePrincipalEntry>, FileError> {
    let matched: Vec<ServicePrincipalEntry> = load_entries(storage)?
        .into_iter()
        .filter(|entry| entry.client_id == client_id)
        .collect();
    let with_tenant = matched.iter().find(|entry| entry.tenant == tenant).cloned();
    Ok(with_tenant.or_else(|| matched.into_iter().next()))
}

/// az's `save_entry`: replace the entry with the same (client_id, tenant), appended at the end.
pub fn save_entry(
    storage: &dyn CacheStorage,
    entry: &ServicePrincipalEntry,
) -> Result<(), FileError> {
    locked_update(storage, |current| {
        let mut entries = entries_of(storage.location(), current)?;
        entries.retain(|existing| {
            !(existing.get("client_id").and_then(Value::as_str) == Some(entry.client_id.as_str())
                && existing.get("tenant").and_then(Value::as_str) == Some(entry.tenant.as_str()))
        });
        entries.push(entry.to_value());
        Ok::<_, FileError>(Change {
            bytes: Some(to_python_json(&entries, Layout::Indent4)),
            result: (),
        })
    })
}

/// az's `remove_entry`: drop every entry of `client_id`; the file is rewritten only when one matched. Returns
/// how many went.
pub fn remove_entries(storage: &dyn CacheStorage, client_id: &str) -> Result<usize, FileError> {
    locked_update(storage, |current| {
        let mut entries = entries_of(storage.location(), current)?;
        let before = entries.len();
        entries.retain(|existing| {
            existing.get("client_id").and_then(Value::as_str) != Some(client_id)
        });
        let removed = before - entries.len();
        Ok::<_, FileError>(Change {
            bytes: (removed > 0).then(|| to_python_json(&entries, Layout::Indent4)),
            result: removed,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure_cli::storage::PlaintextFile;

    fn secret_entry(client_id: &str, tenant: &str, secret: &str) -> ServicePrincipalEntry {
        ServicePrincipalEntry {
            client_id: client_id.into(),
            tenant: tenant.into(),
            credential: ServicePrincipalCredential::Secret(Secret::new(secret)),
        }
    }

    #[test]
    fn entries_are_saved_as_az_saves_them_replaced_by_client_and_tenant() {
        let temp = tempfile::tempdir().unwrap();
        let storage = PlaintextFile::new(temp.path().join("service_principal_entries.json"));
        save_entry(&storage, &secret_entry("app1", "t1", "old")).unwrap();
        let certificate = ServicePrincipalEntry {
            client_id: "app2".into(),
            tenant: "t1".into(),
            credential: ServicePrincipalCredential::Certificate {
                path: "/home/u/cert.pem".into(),
                use_cert_sn_issuer: true,
            },
        };
        save_entry(&storage, &certificate).unwrap();
        save_entry(&storage, &secret_entry("app1", "t1", "new")).unwrap();
        save_entry(&storage, &secret_entry("app1", "t2", "other-tenant")).unwrap();
        // What `json.dumps(entries, indent=4)` gives for az's entries.
        let expected = "[\n    {\n        \"client_id\": \"app2\",\n        \"tenant\": \"t1\",\n        \"certificate\": \"/home/u/cert.pem\",\n        \"use_cert_sn_issuer\": true\n    },\n    {\n        \"client_id\": \"app1\",\n        \"tenant\": \"t1\",\n        \"client_secret\": \"new\"\n    },\n    {\n        \"client_id\": \"app1\",\n        \"tenant\": \"t2\",\n        \"client_secret\": \"other-tenant\"\n    }\n]";
        assert_eq!(
            std::fs::read_to_string(storage.location()).unwrap(),
            expected
        );
        assert_eq!(
            find_entry(&storage, "app1", "t2").unwrap().unwrap().tenant,
            "t2"
        );
        assert_eq!(
            find_entry(&storage, "app1", "t9").unwrap().unwrap().tenant,
            "t1",
            "else the first"
        );
        assert_eq!(find_entry(&storage, "app9", "t1").unwrap(), None);
        assert_eq!(
            find_entry(&storage, "app2", "t1").unwrap().unwrap(),
            certificate
        );
        assert_eq!(remove_entries(&storage, "app1").unwrap(), 2);
        assert_eq!(remove_entries(&storage, "app1").unwrap(), 0);
        assert_eq!(load_entries(&storage).unwrap(), [certificate]);
        assert!(
            !temp
                .path()
                .join("service_principal_entries.json.lockfile")
                .exists()
        );
        let torn = b"[\n    {\n        \"client_id\": \"app2\",";
        std::fs::write(storage.location(), torn).unwrap();
        let error = save_entry(&storage, &secret_entry("app3", "t1", "s")).unwrap_err();
        assert!(matches!(error, FileError::Corrupt { .. }), "{error}");
        assert_eq!(
            std::fs::read(storage.location()).unwrap(),
            torn,
            "never overwritten"
        );
    }

    #[test]
    fn an_entry_needs_exactly_one_credential_and_secrets_never_print() {
        let path = Path::new("/a/service_principal_entries.json");
        let two = serde_json::json!({"client_id": "a", "tenant": "t", "client_secret": "s", "client_assertion": "j"});
        let error = ServicePrincipalEntry::from_value(path, &two)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("/a/service_principal_entries.json") && error.contains("exactly one"),
            "{error}"
        );
        let none = serde_json::json!({"client_id": "a", "tenant": "t"});
        assert!(ServicePrincipalEntry::from_value(path, &none).is_err());
        let entry = secret_entry("a", "t", "hunter2-secret");
        let printed = format!("{entry:?}");
        assert!(
            !printed.contains("hunter2") && printed.contains("<redacted>"),
            "{printed}"
        );
    }
}
