//! The emulator's state: identity (CA, token key, secrets), the Entra directory, resource groups, clusters and
//! operations; loading and atomically saving the state file.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use aks_model::{ArmErrorDetail, ManagedCluster};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::pki::{self, CaMaterial, LeafMaterial};
use crate::{
    ADMIN_CLIENT_ID, ADMIN_GROUP_ID, ADMIN_USER_NAME, CERT_CLIENT_ID, DEV_USER_NAME, EmulatorError,
    EmulatorOptions, LroPacing, MSI_CLIENT_ID, NONADMIN_CLIENT_ID, ReadyRecord, SUBSCRIPTION_ID,
    TENANT_ID,
};

/// The id of the emulated Azure Pipelines organization (the last segment of its issuer).
pub(crate) const PIPELINES_ORGANIZATION_ID: &str = "3e3e3e3e-1111-2222-3333-999999999999";
mod kube_endpoint;
mod role_assignments;
mod service_data;
pub(crate) mod subscriptions;
mod write_buckets;

pub(crate) use kube_endpoint::KubeEndpoint;
pub(crate) use role_assignments::{
    CONTRIBUTOR_ROLE_GUID, OWNER_ROLE_GUID, RoleAssignment, RoleAssignments, rfc3339_7_now,
};
pub(crate) use service_data::ServiceData;
pub(crate) use subscriptions::Subscription;
pub(crate) use write_buckets::WriteBuckets;
pub use write_buckets::WriteThrottle;

/// Object id of the admin service principal.
pub(crate) const ADMIN_OBJECT_ID: &str = "1a1a1a1a-1111-2222-3333-444444444444";
/// Object id of the non-admin service principal.
pub(crate) const NONADMIN_OBJECT_ID: &str = "1b1b1b1b-1111-2222-3333-555555555555";
/// Object id of the certificate-credential service principal.
pub(crate) const CERT_OBJECT_ID: &str = "1c1c1c1c-1111-2222-3333-666666666666";
/// Object id of the managed identity.
pub(crate) const MSI_OBJECT_ID: &str = "1d1d1d1d-1111-2222-3333-777777777777";
/// Object id of the seeded user.
pub(crate) const ADMIN_USER_OBJECT_ID: &str = "2a2a2a2a-1111-2222-3333-888888888888";
/// Object id of the seeded user in no group.
pub(crate) const DEV_USER_OBJECT_ID: &str = "2b2b2b2b-1111-2222-3333-999999999999";
/// Display name of the home tenant.
pub(crate) const HOME_TENANT_NAME: &str = "Emulated Tenant";
/// Default (initial) domain of the home tenant, the domain of the seeded users.
pub(crate) const HOME_TENANT_DOMAIN: &str = "emulator.local";
/// Display name (and resource name) of the seeded managed identity.
pub(crate) const MSI_NAME: &str = "aksctl-emulator-identity";
/// Service-account subject of the seeded federated credential on the admin service principal.
pub(crate) const FEDERATED_SUBJECT: &str = "system:serviceaccount:default:workload-identity-sa";
/// Audience federated tokens must carry (Entra's default for workload identity).
pub(crate) const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";
/// File in `data_dir` holding the certificate and RSA key of the certificate-credential service principal.
pub(crate) const CERT_FILE_NAME: &str = "cert-client.pem";
/// Default page size of list answers.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;
/// The request log keeps at most this many entries (oldest dropped first).
const REQUEST_LOG_LIMIT: usize = 20_000;
/// Version of the state file format.
const STATE_FORMAT: u32 = 1;

/// Lower-cased (resource group, cluster name): clusters are case-insensitive keys.
pub(crate) type ClusterKey = (String, String);

/// The key of cluster `name` in resource group `resource_group` of `subscription`, for names as written in a
/// request.
pub(crate) fn cluster_key(
    subscription: &Subscription,
    resource_group: &str,
    name: &str,
) -> ClusterKey {
    (subscription.group_key(resource_group), name.to_lowercase())
}

/// A random lower-case hex string of `len` characters (at most 32 per uuid).
pub(crate) fn random_hex(len: usize) -> String {
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(len);
    out
}

/// A random password that meets Entra's complexity rules.
pub(crate) fn new_password() -> String {
    format!("Emu-{}!", random_hex(24))
}

/// A random GUID string.
pub(crate) fn random_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// RFC 3339 UTC time, as ARM writes `startTime` / `endTime`.
pub(crate) fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Keys and secrets that make tokens and kubeconfigs valid across restarts.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Identity {
    /// The CA of the ARM/Entra HTTPS server (`data_dir/ca.pem`).
    pub ca: CaMaterial,
    /// PKCS#8 PEM RSA key that signs tokens.
    pub signing_key_pem: String,
    /// The `kid` of that key.
    pub signing_kid: String,
}

/// An Entra service principal (application + its object).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct ServicePrincipal {
    /// Application (client) id.
    pub app_id: String,
    /// Object id (`oid` in tokens).
    pub object_id: String,
    /// Display name.
    pub display_name: String,
    /// Client secret. Never logged.
    pub secret: String,
    /// Object ids of the groups it is a member of.
    pub groups: Vec<String>,
    /// PEM certificates whose keys may sign client assertions (certificate credentials).
    #[serde(default)]
    pub certificates: Vec<String>,
    /// Federated identity credentials: tokens from `issuer` about `subject` are accepted as assertions.
    #[serde(default)]
    pub federated_credentials: Vec<FederatedCredential>,
    /// A managed identity (tokens only through the managed-identity endpoints, never with a secret).
    #[serde(default)]
    pub managed_identity: bool,
    /// Subject Name/Issuer trust: certificates with one of these subjects issued by its CA may sign assertions
    /// sent with their chain (`x5c`) without being registered.
    #[serde(default)]
    pub trusted_subjects: Vec<TrustedSubject>,
}

/// A trusted certificate subject of an application (Entra's `trustedCertificateSubjects`, with the CA given
/// directly instead of Entra's list of trusted authorities).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct TrustedSubject {
    /// `CN=..., O=...` (any order).
    pub subject: String,
    /// The PEM certificate of the CA that must have issued the leaf (directly or through `x5c`).
    pub issuer_ca_pem: String,
}

impl ServicePrincipal {
    fn new(app_id: &str, object_id: &str, display_name: &str, groups: Vec<String>) -> Self {
        ServicePrincipal {
            app_id: app_id.into(),
            object_id: object_id.into(),
            display_name: display_name.into(),
            secret: format!("emu-{}", random_hex(32)),
            groups,
            certificates: Vec::new(),
            federated_credentials: Vec::new(),
            managed_identity: false,
            trusted_subjects: Vec::new(),
        }
    }
}

/// A federated identity credential of an application (workload identity federation).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct FederatedCredential {
    /// The token issuer (`iss`), compared exactly.
    pub issuer: String,
    /// The token subject (`sub`), compared exactly.
    pub subject: String,
    /// Accepted audiences (`aud`); Entra's default is `api://AzureADTokenExchange`.
    #[serde(default = "default_federated_audiences")]
    pub audiences: Vec<String>,
}

fn default_federated_audiences() -> Vec<String> {
    vec![FEDERATED_AUDIENCE.to_string()]
}

/// An Entra user (for the password, device-code and refresh-token grants).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct User {
    /// User principal name, e.g. `admin@emulator.local`.
    pub user_principal_name: String,
    /// The user's home tenant.
    #[serde(default = "home_tenant_id")]
    pub tenant_id: String,
    /// Object id (`oid` in tokens).
    pub object_id: String,
    /// Display name (`name` in tokens).
    pub display_name: String,
    /// Password. Never logged.
    pub password: String,
    /// Object ids of the groups the user is a member of.
    pub groups: Vec<String>,
}

fn home_tenant_id() -> String {
    TENANT_ID.to_string()
}

/// An Entra tenant (directory) of the emulator: the home tenant of the seeded identities, or one created with
/// `POST /_emulator/tenants`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Tenant {
    /// Tenant id (a GUID).
    pub tenant_id: String,
    /// Display name.
    pub display_name: String,
    /// Default (initial) domain, e.g. `emulator.local`; an authority may name the tenant by it.
    pub default_domain: String,
    /// Users of other tenants invited as guests.
    #[serde(default)]
    pub guests: Vec<Guest>,
}

/// A guest (B2B) account: a user of another tenant with an object of its own in this one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Guest {
    /// The user's object id in its home tenant.
    pub home_object_id: String,
    /// The guest object's id in this tenant (`oid` in this tenant's tokens).
    pub object_id: String,
}

/// An Entra group.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Group {
    /// Object id.
    pub object_id: String,
    /// Display name.
    pub display_name: String,
    /// `mailNickname` (Graph groups created through `POST /v1.0/groups`; seeded groups have none).
    #[serde(default)]
    pub mail_nickname: Option<String>,
    /// `description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `createdDateTime` (RFC 3339).
    #[serde(default)]
    pub created: Option<String>,
    /// Object ids of the groups this group is a member of (nested groups).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The emulated Entra directory.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Directory {
    /// Service principals.
    pub service_principals: Vec<ServicePrincipal>,
    /// Groups.
    pub groups: Vec<Group>,
    /// Users.
    #[serde(default)]
    pub users: Vec<User>,
    /// Tenants: the home tenant first, then those created through the management API.
    #[serde(default)]
    pub tenants: Vec<Tenant>,
    /// Certificate and RSA key of the certificate-credential service principal ([`CERT_CLIENT_ID`]).
    #[serde(default)]
    pub cert_client: Option<LeafMaterial>,
    /// The secret the App Service managed-identity endpoint wants in `X-IDENTITY-HEADER`.
    #[serde(default)]
    pub identity_header: String,
}

impl Directory {
    fn seeded() -> Result<Directory, EmulatorError> {
        let mut directory = Directory {
            service_principals: vec![
                ServicePrincipal::new(
                    ADMIN_CLIENT_ID,
                    ADMIN_OBJECT_ID,
                    "aksctl-emulator-admin",
                    vec![ADMIN_GROUP_ID.into()],
                ),
                ServicePrincipal::new(
                    NONADMIN_CLIENT_ID,
                    NONADMIN_OBJECT_ID,
                    "aksctl-emulator-nonadmin",
                    Vec::new(),
                ),
            ],
            groups: vec![Group {
                object_id: ADMIN_GROUP_ID.into(),
                display_name: "aks-cluster-admins".into(),
                mail_nickname: None,
                description: None,
                created: None,
                groups: Vec::new(),
            }],
            users: Vec::new(),
            tenants: Vec::new(),
            cert_client: None,
            identity_header: String::new(),
        };
        directory.seed_identities()?;
        Ok(directory)
    }

    /// Add the identities newer emulator versions seed (certificate and federated credentials, the managed
    /// identity, the user) when a directory, possibly loaded from an older state file, lacks them.
    fn seed_identities(&mut self) -> Result<(), EmulatorError> {
        if self.cert_client.is_none() {
            self.cert_client = Some(pki::self_signed_rsa_client("aksctl-emulator-cert")?);
        }
        if self.service_principal(CERT_CLIENT_ID).is_none() {
            let mut principal = ServicePrincipal::new(
                CERT_CLIENT_ID,
                CERT_OBJECT_ID,
                "aksctl-emulator-cert",
                vec![ADMIN_GROUP_ID.into()],
            );
            if let Some(cert) = &self.cert_client {
                principal.certificates.push(cert.cert_pem.clone());
            }
            self.service_principals.push(principal);
        }
        if self.service_principal(MSI_CLIENT_ID).is_none() {
            let mut identity = ServicePrincipal::new(
                MSI_CLIENT_ID,
                MSI_OBJECT_ID,
                MSI_NAME,
                vec![ADMIN_GROUP_ID.into()],
            );
            identity.managed_identity = true;
            self.service_principals.push(identity);
        }
        if !self
            .tenants
            .iter()
            .any(|tenant| tenant.tenant_id.eq_ignore_ascii_case(TENANT_ID))
        {
            self.tenants.insert(
                0,
                Tenant {
                    tenant_id: TENANT_ID.into(),
                    display_name: HOME_TENANT_NAME.into(),
                    default_domain: HOME_TENANT_DOMAIN.into(),
                    guests: Vec::new(),
                },
            );
        }
        for (name, object_id, display_name, groups) in [
            (
                ADMIN_USER_NAME,
                ADMIN_USER_OBJECT_ID,
                "Emulator Admin",
                vec![ADMIN_GROUP_ID.to_string()],
            ),
            (
                DEV_USER_NAME,
                DEV_USER_OBJECT_ID,
                "Emulator Developer",
                Vec::new(),
            ),
        ] {
            if self.user(name).is_none() {
                self.users.push(User {
                    user_principal_name: name.into(),
                    tenant_id: TENANT_ID.into(),
                    object_id: object_id.into(),
                    display_name: display_name.into(),
                    password: new_password(),
                    groups,
                });
            }
        }
        if self.identity_header.is_empty() {
            self.identity_header = random_hex(32);
        }
        Ok(())
    }

    /// Give the admin service principal its federated credential for the emulator's OIDC issuer on this port
    /// (replacing the one of an earlier port, after a restart).
    fn seed_federated_credential(&mut self, issuer: &str) {
        let Some(admin) = self.service_principal_mut(ADMIN_CLIENT_ID) else {
            return;
        };
        admin.federated_credentials.retain(|credential| {
            !(credential.subject == FEDERATED_SUBJECT
                && credential.issuer.starts_with("https://127.0.0.1:")
                && credential.issuer.ends_with("/oidc"))
        });
        admin.federated_credentials.push(FederatedCredential {
            issuer: issuer.to_string(),
            subject: FEDERATED_SUBJECT.to_string(),
            audiences: default_federated_audiences(),
        });
    }

    /// The user with this user principal name (case-insensitive).
    pub fn user(&self, user_principal_name: &str) -> Option<&User> {
        self.users.iter().find(|user| {
            user.user_principal_name
                .eq_ignore_ascii_case(user_principal_name)
        })
    }

    /// The user with this object id.
    pub fn user_by_object_id(&self, object_id: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|user| user.object_id.eq_ignore_ascii_case(object_id))
    }

    /// The service principal with this client id (case-insensitive), mutable.
    pub fn service_principal_mut(&mut self, app_id: &str) -> Option<&mut ServicePrincipal> {
        self.service_principals
            .iter_mut()
            .find(|sp| sp.app_id.eq_ignore_ascii_case(app_id))
    }

    /// The service principal with this client id (case-insensitive).
    pub fn service_principal(&self, app_id: &str) -> Option<&ServicePrincipal> {
        self.service_principals
            .iter()
            .find(|sp| sp.app_id.eq_ignore_ascii_case(app_id))
    }

    /// Every group the direct memberships `direct` lead to through nested groups, as Entra's `groups` claim and
    /// Graph's `checkMemberGroups` count them: `direct` first (as stored), then the groups those are members of,
    /// breadth first, each once (ids compared case-insensitively, so membership cycles end).
    pub fn transitive_groups(&self, direct: &[String]) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        let mut next = 0;
        let mut pending: Vec<&String> = direct.iter().collect();
        loop {
            for id in pending.drain(..) {
                if !all.iter().any(|seen| seen.eq_ignore_ascii_case(id)) {
                    all.push(id.clone());
                }
            }
            let Some(id) = all.get(next) else {
                return all;
            };
            next += 1;
            if let Some(group) = self
                .groups
                .iter()
                .find(|group| group.object_id.eq_ignore_ascii_case(id))
            {
                pending.extend(group.groups.iter());
            }
        }
    }
}

/// A resource group.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ResourceGroupRecord {
    /// Name, in the case first used.
    pub name: String,
    /// Normalized location.
    pub location: String,
    /// Tags.
    #[serde(default)]
    pub tags: Option<serde_json::Map<String, Value>>,
    /// `managedBy`.
    #[serde(default)]
    pub managed_by: Option<String>,
}

/// A managed cluster and the material behind its Kubernetes endpoint.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct ClusterRecord {
    /// Resource group name, in the case first used.
    pub resource_group: String,
    /// Cluster name, in the case first used.
    pub name: String,
    /// The stored resource, including write-only secrets (`serverAppSecret`): use [`public_view`] for answers.
    pub cluster: ManagedCluster,
    /// The cluster's own CA.
    pub ca: CaMaterial,
    /// The admin client certificate (`clusterAdmin_*` users).
    pub admin: LeafMaterial,
    /// The static admin token.
    pub admin_token: String,
    /// Port of the Kubernetes endpoint on 127.0.0.1.
    pub kube_port: u16,
    /// The running operation, if any.
    #[serde(default)]
    pub operation: Option<String>,
    /// The state of the cluster's Kubernetes API server (outage flag, node creation time).
    #[serde(default)]
    pub api_server: ApiServerState,
    /// Kubernetes objects created through the cluster's API (RBAC roles and bindings), by
    /// `{resource}/{namespace}/{name}` (namespace empty for cluster-scoped objects), as JSON.
    #[serde(default)]
    pub kube_objects: BTreeMap<String, Value>,
}

/// What the Kubernetes endpoint of a cluster needs beyond the ARM resource.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ApiServerState {
    /// An API-server outage is in progress: every request answers 503 (for migrations and fault tests).
    #[serde(default)]
    pub unavailable: bool,
    /// The outage belongs to a running legacy → managed AAD migration of a Free-tier cluster: it ends with the
    /// operation (the guide warns that Free-tier API servers may be down during the migration).
    #[serde(default)]
    pub migration_outage: bool,
    /// When the cluster's nodes were created, ms since the epoch (their `creationTimestamp` and age).
    #[serde(default = "now_ms")]
    pub created_ms: u64,
}

impl Default for ApiServerState {
    fn default() -> Self {
        ApiServerState {
            unavailable: false,
            migration_outage: false,
            created_ms: now_ms(),
        }
    }
}

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum OperationKind {
    /// Cluster PUT that created it.
    Create,
    /// Cluster PUT on an existing cluster.
    Update,
    /// Cluster DELETE.
    Delete,
    /// Resource group DELETE.
    DeleteResourceGroup,
}

impl OperationKind {
    /// The transient provisioning state shown while it runs.
    pub fn running_state(self) -> &'static str {
        match self {
            OperationKind::Create => "Creating",
            OperationKind::Update => "Updating",
            OperationKind::Delete | OperationKind::DeleteResourceGroup => "Deleting",
        }
    }
}

/// How an operation ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Outcome {
    /// Succeeded at `end_time`.
    Succeeded {
        /// RFC 3339.
        end_time: String,
    },
    /// Failed at `end_time` with `error`.
    Failed {
        /// RFC 3339.
        end_time: String,
        /// The error.
        error: ArmErrorDetail,
    },
    /// Canceled at `end_time` with `error` (injected by `POST /_emulator/lro/cancel-next`).
    Canceled {
        /// RFC 3339.
        end_time: String,
        /// The error.
        error: ArmErrorDetail,
    },
}

/// A long-running operation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Operation {
    /// Operation id (a GUID).
    pub id: String,
    /// What it does.
    pub kind: OperationKind,
    /// Location segment of its URLs.
    pub location: String,
    /// The cluster it works on (`None` for resource group deletes).
    pub cluster: Option<ClusterKey>,
    /// Start, ms since the epoch.
    pub started_ms: u64,
    /// Start, RFC 3339.
    pub start_time: String,
    /// `InProgress` answers given so far.
    pub polls_seen: u32,
    /// Pacing captured at start.
    pub pacing: LroPacing,
    /// The error to end with (failure injection).
    pub injected: Option<ArmErrorDetail>,
    /// Whether `injected` ends the operation `Canceled` rather than `Failed`.
    #[serde(default)]
    pub canceled: bool,
    /// Set once terminal.
    pub outcome: Option<Outcome>,
}

/// Everything mutable, behind one lock.
pub(crate) struct Store {
    /// The Entra directory.
    pub directory: Directory,
    /// Other subscriptions answered for (lower-case ids; `state/subscriptions.rs`).
    pub subscriptions: std::collections::BTreeSet<String>,
    /// Resource groups by lower-case name (`Subscription::group_key`).
    pub resource_groups: BTreeMap<String, ResourceGroupRecord>,
    /// Clusters by lower-case (group, name).
    pub clusters: BTreeMap<ClusterKey, ClusterRecord>,
    /// Operations by id.
    pub operations: BTreeMap<String, Operation>,
    /// Azure role assignments and their propagation delay.
    pub role_assignments: RoleAssignments,
    /// Current pacing for new operations.
    pub lro: LroPacing,
    /// Failure to inject into the next operation.
    pub fail_next: Option<ArmErrorDetail>,
    /// Error to end the next started operation `Canceled` with (`POST /_emulator/lro/cancel-next`).
    pub cancel_next: Option<ArmErrorDetail>,
    /// Page size of list answers.
    pub page_size: usize,
    /// ARM's write throttle per subscription (off unless configured).
    pub throttle: WriteBuckets,
    /// The request log (already redacted).
    pub requests: VecDeque<Value>,
    /// What each service keeps in memory only, by type (the types live in the services): fault rules,
    /// device-code and interactive sign-ins, Conditional Access switches, template deployments.
    pub services: ServiceData,
}

impl Store {
    /// Append to the request log.
    pub fn record(&mut self, entry: Value) {
        if self.requests.len() >= REQUEST_LOG_LIMIT {
            // A ring: a full log drops its oldest entry without moving the other 20,000.
            self.requests.pop_front();
        }
        self.requests.push_back(entry);
    }
}

#[derive(Serialize, Deserialize)]
struct Persisted {
    format: u32,
    identity: Identity,
    directory: Directory,
    resource_groups: Vec<ResourceGroupRecord>,
    clusters: Vec<ClusterRecord>,
    operations: Vec<Operation>,
    /// Absent in state files of emulators before Azure RBAC: those start with the seeded assignments.
    #[serde(default)]
    role_assignments: Option<Vec<RoleAssignment>>,
    /// The other subscriptions (`state/subscriptions.rs`), with their resource groups (their clusters say their
    /// subscription in their ids). Absent in older state files.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    subscriptions: BTreeMap<String, Vec<ResourceGroupRecord>>,
}

pub(crate) struct Inner {
    pub base_url: String,
    pub ca_cert_file: PathBuf,
    /// `data_dir/cert-client.pem`: certificate and key of the certificate-credential service principal.
    pub cert_file: PathBuf,
    pub identity: Identity,
    pub encoding_key: EncodingKey,
    pub decoding_key: DecodingKey,
    /// RSA modulus and exponent (base64url) for the JWKS.
    pub jwk_n: String,
    pub jwk_e: String,
    state_file: Option<PathBuf>,
    store: Mutex<Store>,
    kube: Mutex<HashMap<ClusterKey, KubeEndpoint>>,
    /// The claims of tokens whose signature `entra::verify` checked, by the token's SHA-256 (kept apart from the
    /// store: a request may verify its token while the store is locked).
    verified_tokens: Mutex<HashMap<[u8; 32], Value>>,
}

/// The emulator's shared state: cheap to clone, handed to [`crate::router`].
#[derive(Clone)]
pub struct SharedState(pub(crate) Arc<Inner>);

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedState")
            .field("base_url", &self.0.base_url)
            .finish_non_exhaustive()
    }
}

/// The token-signing keys of an identity, and the modulus and exponent its JWKS publishes.
struct SigningKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk_n: String,
    jwk_e: String,
}

impl SigningKeys {
    fn of(identity: &Identity) -> Result<SigningKeys, EmulatorError> {
        let encoding_key = EncodingKey::from_rsa_pem(identity.signing_key_pem.as_bytes())
            .map_err(|source| EmulatorError::SigningKey { source })?;
        let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(
            &encoding_key,
            jsonwebtoken::Algorithm::RS256,
        )
        .map_err(|source| EmulatorError::SigningKey { source })?;
        let (jwk_n, jwk_e) = match &jwk.algorithm {
            jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) => (rsa.n.clone(), rsa.e.clone()),
            _ => (String::new(), String::new()),
        };
        let decoding_key = DecodingKey::from_rsa_components(&jwk_n, &jwk_e)
            .map_err(|source| EmulatorError::SigningKey { source })?;
        Ok(SigningKeys {
            encoding: encoding_key,
            decoding: decoding_key,
            jwk_n,
            jwk_e,
        })
    }
}

impl SharedState {
    /// Load (from `options.state_file`, when it exists) or create the state for an emulator whose URLs use
    /// `port`, and write `data_dir/ca.pem`. Kubernetes endpoints are not started here.
    pub fn new(options: &EmulatorOptions, port: u16) -> Result<SharedState, EmulatorError> {
        std::fs::create_dir_all(&options.data_dir).map_err(|source| {
            EmulatorError::CreateDirectory {
                path: options.data_dir.clone(),
                source,
            }
        })?;
        let loaded = match &options.state_file {
            Some(path) if path.exists() => Some(load_state(path)?),
            _ => None,
        };
        let Persisted {
            identity,
            directory,
            resource_groups,
            clusters,
            operations,
            role_assignments: assignments,
            subscriptions: others,
            ..
        } = match loaded {
            Some(persisted) => persisted,
            None => Persisted::fresh()?,
        };
        let keys = SigningKeys::of(&identity)?;

        let mut directory = directory;
        directory.seed_identities()?;
        let base_url = format!("https://127.0.0.1:{port}");
        directory.seed_federated_credential(&format!("{base_url}/oidc"));

        let ca_cert_file = absolute(&options.data_dir.join("ca.pem"));
        write_atomic(&ca_cert_file, identity.ca.cert_pem.as_bytes())?;
        let cert_file = absolute(&options.data_dir.join(CERT_FILE_NAME));
        if let Some(cert) = &directory.cert_client {
            // It holds a private key: write_atomic's temporary file, renamed into place, is 0600 on Unix.
            write_atomic(
                &cert_file,
                format!("{}{}", cert.cert_pem, cert.key_pem).as_bytes(),
            )?;
        }

        let store = Store {
            directory,
            subscriptions: others.keys().map(|id| id.to_ascii_lowercase()).collect(),
            resource_groups: keyed_groups(resource_groups, others),
            clusters: keyed_clusters(clusters),
            operations: operations
                .into_iter()
                .map(|operation| (operation.id.clone(), operation))
                .collect(),
            role_assignments: match assignments {
                Some(assignments) => RoleAssignments {
                    assignments,
                    propagation_delay_seconds: 0,
                },
                None => RoleAssignments::seeded(),
            },
            lro: options.lro.clone(),
            fail_next: None,
            cancel_next: None,
            page_size: DEFAULT_PAGE_SIZE,
            throttle: WriteBuckets::new(options.throttle.clone()),
            requests: VecDeque::new(),
            services: ServiceData::default(),
        };
        let state = SharedState(Arc::new(Inner {
            base_url,
            ca_cert_file,
            cert_file,
            identity,
            encoding_key: keys.encoding,
            decoding_key: keys.decoding,
            jwk_n: keys.jwk_n,
            jwk_e: keys.jwk_e,
            state_file: options.state_file.clone(),
            store: Mutex::new(store),
            kube: Mutex::new(HashMap::new()),
            verified_tokens: Mutex::new(HashMap::new()),
        }));
        // A fresh state file is written at once, so the secrets in the ready record survive a crash.
        let store = state.store();
        state.save(&store)?;
        drop(store);
        Ok(state)
    }

    /// `https://127.0.0.1:P` (no trailing slash).
    pub(crate) fn base_url(&self) -> &str {
        &self.0.base_url
    }

    /// Lock the store. Never held across an await.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.0
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The claims of the tokens `entra::verify` checked, by the token's SHA-256.
    pub(crate) fn verified_tokens(&self) -> MutexGuard<'_, HashMap<[u8; 32], Value>> {
        self.0
            .verified_tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The ready record for these endpoints and credentials.
    pub(crate) fn ready(&self) -> ReadyRecord {
        let store = self.store();
        let secret_of = |app_id: &str| {
            store
                .directory
                .service_principal(app_id)
                .map(|sp| sp.secret.clone())
                .unwrap_or_default()
        };
        let root = format!("{}/", self.0.base_url);
        let password_of = |name: &str| {
            store
                .directory
                .user(name)
                .map(|user| user.password.clone())
                .unwrap_or_default()
        };
        ReadyRecord {
            resource_manager: root.clone(),
            authority_host: root.clone(),
            ca_cert_file: self.0.ca_cert_file.display().to_string(),
            tenant_id: TENANT_ID.into(),
            subscription_id: SUBSCRIPTION_ID.into(),
            client_id: ADMIN_CLIENT_ID.into(),
            client_secret: secret_of(ADMIN_CLIENT_ID),
            admin_group_id: ADMIN_GROUP_ID.into(),
            management: format!("{root}_emulator/"),
            nonadmin_client_id: NONADMIN_CLIENT_ID.into(),
            nonadmin_client_secret: secret_of(NONADMIN_CLIENT_ID),
            cert_client_id: CERT_CLIENT_ID.into(),
            cert_file: self.0.cert_file.display().to_string(),
            user_name: ADMIN_USER_NAME.into(),
            user_password: password_of(ADMIN_USER_NAME),
            dev_user_name: DEV_USER_NAME.into(),
            dev_user_password: password_of(DEV_USER_NAME),
            msi_client_id: MSI_CLIENT_ID.into(),
            identity_endpoint: format!("{root}msi/token"),
            identity_header: store.directory.identity_header.clone(),
            oidc_issuer: self.oidc_issuer(),
            federated_subject: FEDERATED_SUBJECT.into(),
        }
    }

    /// The emulator's own OIDC issuer for service-account tokens (`https://127.0.0.1:P/oidc`), the issuer of
    /// `POST /_emulator/federated-token` and of the seeded federated credential.
    pub(crate) fn oidc_issuer(&self) -> String {
        format!("{}/oidc", self.0.base_url)
    }

    /// The issuer of the emulated Azure Pipelines organization's ID tokens:
    /// `https://127.0.0.1:P/pipelines/{organizationId}` (Azure DevOps: `https://vstoken.dev.azure.com/{organizationId}`).
    /// They are signed with the emulator's key, so Entra verifies them as federated assertions.
    pub(crate) fn pipelines_issuer(&self) -> String {
        format!("{}/pipelines/{PIPELINES_ORGANIZATION_ID}", self.0.base_url)
    }

    /// Mark the API server of cluster `key` available or not (an outage answers 503 to every Kubernetes request).
    /// Returns false when there is no such cluster. For migrations and fault tests.
    pub(crate) fn set_api_server_available(&self, key: &ClusterKey, available: bool) -> bool {
        let mut store = self.store();
        let Some(record) = store.clusters.get_mut(key) else {
            return false;
        };
        record.api_server.unavailable = !available;
        self.save_or_log(&store);
        true
    }

    /// Whether the API server of cluster `key` is up (false for an unknown cluster).
    pub(crate) fn api_server_available(&self, key: &ClusterKey) -> bool {
        self.store()
            .clusters
            .get(key)
            .is_some_and(|record| !record.api_server.unavailable)
    }

    /// TLS configuration of the ARM/Entra server: a fresh leaf signed by the persisted CA.
    pub(crate) fn main_tls_config(&self) -> Result<Arc<rustls::ServerConfig>, EmulatorError> {
        let leaf = pki::server_leaf(&self.0.identity.ca, &[])?;
        pki::server_tls_config("the emulator", &leaf, &self.0.identity.ca, None)
    }

    /// Save the state file (if any) atomically. Called with the store locked, after every mutation.
    pub(crate) fn save(&self, store: &Store) -> Result<(), EmulatorError> {
        let Some(path) = &self.0.state_file else {
            return Ok(());
        };
        let persisted = Persisted {
            format: STATE_FORMAT,
            identity: self.0.identity.clone(),
            directory: store.directory.clone(),
            resource_groups: groups_of(store, &Subscription::own()),
            clusters: store.clusters.values().cloned().collect(),
            operations: store.operations.values().cloned().collect(),
            role_assignments: Some(store.role_assignments.assignments.clone()),
            subscriptions: store
                .subscriptions
                .iter()
                .map(|subscription| {
                    let groups = groups_of(store, &Subscription::of(Some(subscription)));
                    (subscription.clone(), groups)
                })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&persisted).map_err(|source| {
            EmulatorError::SerializeState {
                path: path.clone(),
                source,
            }
        })?;
        write_atomic(path, &bytes)
    }

    /// Save, logging (not returning) a failure: used from request handlers.
    pub(crate) fn save_or_log(&self, store: &Store) {
        if let Err(error) = self.save(store) {
            tracing::error!(error = %error, "cannot save the emulator state file");
        }
    }

    /// Keep the handle of cluster `key`'s running Kubernetes endpoint (started by `kubernetes`); stops the one
    /// it replaces.
    pub(crate) fn insert_kubernetes_endpoint(&self, key: ClusterKey, endpoint: KubeEndpoint) {
        let previous = self
            .0
            .kube
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key, endpoint);
        if let Some(previous) = previous {
            previous.stop();
        }
    }

    /// Stop the Kubernetes endpoint of a deleted cluster.
    pub(crate) fn stop_kubernetes_endpoint(&self, key: &ClusterKey) {
        let endpoint = self
            .0
            .kube
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
        if let Some(endpoint) = endpoint {
            endpoint.stop();
        }
    }

    /// Stop every Kubernetes endpoint (emulator shutdown).
    pub(crate) fn stop_kubernetes_endpoints(&self) {
        let endpoints: Vec<KubeEndpoint> = self
            .0
            .kube
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .drain()
            .map(|(_, endpoint)| endpoint)
            .collect();
        for endpoint in endpoints {
            endpoint.stop();
        }
    }

    /// Everything, with secrets redacted (`GET /_emulator/state`); `faults` is the fault rules as the `faults`
    /// module lists them.
    pub(crate) fn redacted_snapshot(&self, faults: Value) -> Value {
        let store = self.store();
        let clusters: Vec<Value> = store
            .clusters
            .values()
            .map(|record| {
                json!({
                    "resource_group": record.resource_group,
                    "name": record.name,
                    "kube_port": record.kube_port,
                    "kube_server": format!("https://127.0.0.1:{}", record.kube_port),
                    "operation": record.operation,
                    "ca_cert_pem": record.ca.cert_pem,
                    "admin_token": "REDACTED",
                    "api_server_available": !record.api_server.unavailable,
                    "body": public_view(&record.cluster),
                })
            })
            .collect();
        let service_principals: Vec<Value> = store
            .directory
            .service_principals
            .iter()
            .map(|sp| {
                json!({
                    "app_id": sp.app_id, "object_id": sp.object_id, "display_name": sp.display_name,
                    "secret": "REDACTED", "groups": sp.groups, "certificates": sp.certificates.len(),
                    "federated_credentials": sp.federated_credentials,
                    "managed_identity": sp.managed_identity,
                    "trusted_subjects": sp.trusted_subjects.iter().map(|trusted| &trusted.subject).collect::<Vec<_>>(),
                })
            })
            .collect();
        let users: Vec<Value> = store
            .directory
            .users
            .iter()
            .map(|user| {
                json!({
                    "user_principal_name": user.user_principal_name, "tenant_id": user.tenant_id, "object_id": user.object_id,
                    "display_name": user.display_name, "password": "REDACTED", "groups": user.groups,
                })
            })
            .collect();
        let groups: Vec<Value> = store
            .directory
            .groups
            .iter()
            .map(|group| json!({"object_id": group.object_id, "display_name": group.display_name}))
            .collect();
        json!({
            "base_url": self.0.base_url,
            "tenant_id": TENANT_ID,
            "subscription_id": SUBSCRIPTION_ID,
            "signing_kid": self.0.identity.signing_kid,
            "ca_cert_file": self.0.ca_cert_file.display().to_string(),
            "directory": {"service_principals": service_principals, "groups": groups, "users": users,
                "tenants": store.directory.tenants},
            "resource_groups": store.resource_groups.values().collect::<Vec<_>>(),
            "clusters": clusters,
            "operations": store.operations.values().collect::<Vec<_>>(),
            "role_assignments": store.role_assignments.assignments,
            "propagation_delay_seconds": store.role_assignments.propagation_delay_seconds,
            "lro": store.lro,
            "fail_next": store.fail_next,
            "cancel_next": store.cancel_next,
            "faults": faults,
            "page_size": store.page_size,
        })
    }
}

/// A cluster as answered: write-only secrets removed (`serverAppSecret`, `servicePrincipalProfile.secret`,
/// `windowsProfile.adminPassword`).
pub(crate) fn public_view(cluster: &ManagedCluster) -> ManagedCluster {
    let mut view = cluster.clone();
    if let Some(aad) = view.properties.aad_profile.as_mut() {
        aad.server_app_secret = None;
    }
    for (profile, key) in [
        ("servicePrincipalProfile", "secret"),
        ("windowsProfile", "adminPassword"),
    ] {
        if let Some(Value::Object(map)) = view.properties.extra.get_mut(profile) {
            map.remove(key);
        }
    }
    view
}

impl Persisted {
    /// The state of an emulator with no state file yet: a new CA and token-signing key, the seeded directory.
    fn fresh() -> Result<Persisted, EmulatorError> {
        Ok(Persisted {
            format: STATE_FORMAT,
            identity: Identity {
                ca: pki::new_ca("aksctl emulator CA")?,
                signing_key_pem: pki::new_rsa_key()?,
                signing_kid: format!("emu-{}", random_hex(16)),
            },
            directory: Directory::seeded()?,
            resource_groups: Vec::new(),
            clusters: Vec::new(),
            operations: Vec::new(),
            role_assignments: None,
            subscriptions: BTreeMap::new(),
        })
    }
}

/// The resource groups of `subscription`, as the state file keeps them.
fn groups_of(store: &Store, subscription: &Subscription) -> Vec<ResourceGroupRecord> {
    store
        .resource_groups
        .iter()
        .filter(|(key, _)| subscription.owns_group_key(key))
        .map(|(_, group)| group.clone())
        .collect()
}

/// The emulator's own resource groups and those of the other subscriptions, by their store key.
fn keyed_groups(
    own: Vec<ResourceGroupRecord>,
    others: BTreeMap<String, Vec<ResourceGroupRecord>>,
) -> BTreeMap<String, ResourceGroupRecord> {
    own.into_iter()
        .map(|group| (None, group))
        .chain(others.into_iter().flat_map(|(subscription, groups)| {
            groups
                .into_iter()
                .map(move |group| (Some(subscription.clone()), group))
        }))
        .map(|(subscription, group)| {
            let key = Subscription::of(subscription.as_deref()).group_key(&group.name);
            (key, group)
        })
        .collect()
}

/// Clusters by their store key; a cluster's subscription is the one its id names.
fn keyed_clusters(clusters: Vec<ClusterRecord>) -> BTreeMap<ClusterKey, ClusterRecord> {
    clusters
        .into_iter()
        .map(|record| {
            let subscription = record
                .cluster
                .id
                .as_deref()
                .and_then(|id| id.split('/').nth(2));
            let key = cluster_key(
                &Subscription::of(subscription),
                &record.resource_group,
                &record.name,
            );
            (key, record)
        })
        .collect()
}

fn load_state(path: &Path) -> Result<Persisted, EmulatorError> {
    let bytes = std::fs::read(path).map_err(|source| EmulatorError::ReadState {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| EmulatorError::ParseState {
        path: path.to_path_buf(),
        source,
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Write a file atomically: a temporary file in the same directory, synced, then renamed over the target.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EmulatorError> {
    let write_error = |source: std::io::Error| EmulatorError::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&directory).map_err(|source| EmulatorError::CreateDirectory {
        path: directory.clone(),
        source,
    })?;
    let mut file = tempfile::NamedTempFile::new_in(&directory).map_err(write_error)?;
    file.write_all(bytes).map_err(write_error)?;
    file.as_file().sync_all().map_err(write_error)?;
    file.persist(path)
        .map_err(|error| write_error(error.error))?;
    Ok(())
}
