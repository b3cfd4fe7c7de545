use serde::{Deserialize, Serialize};

use crate::Extra;

/// `listClusterUserCredential` / `listClusterAdminCredential` answer (docs/arm-aks-api.md, "Credentials").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CredentialResults {
    /// The kubeconfigs; az takes the first.
    #[serde(default)]
    pub kubeconfigs: Vec<CredentialResult>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One kubeconfig: `value` is the base64 of the whole kubeconfig YAML.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CredentialResult {
    /// `clusterUser`, `clusterAdmin`, ...
    #[serde(default)]
    pub name: String,
    /// Base64 of the kubeconfig YAML. Holds secrets for admin credentials: never logged.
    #[serde(default)]
    pub value: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl std::fmt::Debug for CredentialResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialResult")
            .field("name", &self.name)
            .field(
                "value",
                &format_args!("<redacted {} bytes>", self.value.len()),
            )
            .finish_non_exhaustive()
    }
}
