//! Identities chosen explicitly (kubelogin's modes, `az login --identity`): data only, below the chain that
//! builds credentials from them and the shared login that reads them from az's files.

use std::path::PathBuf;
use std::sync::Arc;

use super::{CredentialError, Secret, TokenSource};

/// An identity chosen explicitly (kubelogin's `spn`, `workloadidentity`, `msi` and `azurepipelines` modes) rather
/// than discovered from the environment as [`default_chain`] does.
#[derive(Clone, Debug, PartialEq)]
pub enum CredentialSpec {
    /// A service principal with a client secret.
    ClientSecret {
        /// Tenant.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// The secret (redacted in `Debug`).
        secret: Secret,
    },
    /// A service principal with a certificate: a PEM file (RSA key + certificate) or a PKCS#12/PFX file.
    ClientCertificate {
        /// Tenant.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// The PEM or PFX file.
        path: PathBuf,
        /// The PFX password (redacted in `Debug`; not used for PEM files, as in kubelogin).
        password: Option<Secret>,
        /// Send the key's certificate in the assertion's `x5c` header for Entra's Subject Name/Issuer trust, as
        /// kubelogin's `spn` mode does (it sets azidentity's `SendCertificateChain` but hands it only the
        /// certificate that matches the key, so `x5c` is that one certificate).
        send_certificate_chain: bool,
    },
    /// Workload identity: a federated token file exchanged as a client assertion.
    WorkloadIdentity {
        /// Tenant.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// The federated (service account) token file, re-read for every request.
        token_file: PathBuf,
    },
    /// A managed identity: App Service (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`) when those are set, else the VM
    /// endpoint (IMDS, 169.254.169.254).
    ManagedIdentity {
        /// Which user-assigned identity; `None` = system-assigned.
        id: Option<ManagedIdentityId>,
    },
    /// An Azure Pipelines service connection (`SYSTEM_OIDCREQUESTURI` is read by azure_identity).
    AzurePipelines {
        /// Tenant.
        tenant_id: String,
        /// Application (client) id of the service connection's principal.
        client_id: String,
        /// The service connection id.
        service_connection_id: String,
        /// `SYSTEM_ACCESSTOKEN` (redacted in `Debug`).
        system_access_token: Secret,
    },
}

/// How a user-assigned managed identity is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManagedIdentityId {
    /// Its client id.
    ClientId(String),
    /// Its Azure resource id.
    ResourceId(String),
    /// Its object (principal) id: `object_id` on IMDS and App Service, as MSAL and azidentity send it.
    ObjectId(String),
}

impl ManagedIdentityId {
    /// What names the identity (`client`, `resource`, `object`) and the id.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            ManagedIdentityId::ClientId(id) => ("client", id),
            ManagedIdentityId::ResourceId(id) => ("resource", id),
            ManagedIdentityId::ObjectId(id) => ("object", id),
        }
    }
}

/// How the shared login builds the managed-identity credential of `az login --identity`: the chain hands it
/// down (its [`credential`](super::credential) with the chain's authority and HTTP client), so the shared login
/// needs nothing from the chain.
pub(crate) type ManagedIdentityFactory = Arc<
    dyn Fn(Option<ManagedIdentityId>) -> Result<Arc<dyn TokenSource>, CredentialError>
        + Send
        + Sync,
>;
