//! The credential chain other Azure SDKs use, narrowed by `AZURE_TOKEN_CREDENTIALS`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use azure_core::cloud::CustomConfiguration;
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzurePipelinesCredential,
    AzurePipelinesCredentialOptions, ClientAssertionCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};

use super::azure::{AzureCredential, Factory, Failure};
use super::client::{ClientCredential, ClientProof};
use super::shared_login::{SharedLoginCredential, SharedLoginSelection, process_config_dir};
use super::spec::{CredentialSpec, ManagedIdentityFactory, ManagedIdentityId};
use super::{AccessToken, CredentialError, Secret, TokenSource};
use crate::azure_cli::AzureConfigDir;
use crate::certificate::{ClientCertificate, SendChain};

/// The variable that narrows the chain: `dev`, `prod`, or one credential name (as in the other Azure SDKs).
pub const TOKEN_CREDENTIALS_ENV: &str = "AZURE_TOKEN_CREDENTIALS";

const ENVIRONMENT: &str = "EnvironmentCredential";
const WORKLOAD: &str = "WorkloadIdentityCredential";
const MANAGED: &str = "ManagedIdentityCredential";
const AZURE_CLI: &str = "AzureCliCredential";

/// Which credentials `AZURE_TOKEN_CREDENTIALS` allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Selection {
    /// Unset: every credential; managed identity only through App Service variables (never IMDS).
    All,
    /// `dev`: developer tools (Azure CLI).
    Dev,
    /// `prod`: environment, workload identity, managed identity (IMDS allowed).
    Prod,
    /// One credential by name (`ManagedIdentityCredential` allows IMDS).
    Only(&'static str),
}

impl Selection {
    fn parse(value: Option<&str>) -> Result<Selection, CredentialError> {
        let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
            return Ok(Selection::All);
        };
        if value.eq_ignore_ascii_case("dev") {
            return Ok(Selection::Dev);
        }
        if value.eq_ignore_ascii_case("prod") {
            return Ok(Selection::Prod);
        }
        [ENVIRONMENT, WORKLOAD, MANAGED, AZURE_CLI]
            .into_iter()
            .find(|name| name.eq_ignore_ascii_case(value))
            .map(Selection::Only)
            .ok_or_else(|| CredentialError::InvalidSetting {
                variable: TOKEN_CREDENTIALS_ENV.into(),
                reason: format!(
                    "{value:?} is not one of dev, prod, {ENVIRONMENT}, {WORKLOAD}, {MANAGED}, {AZURE_CLI}"
                ),
            })
    }

    fn allows(self, name: &str) -> bool {
        match self {
            Selection::All => true,
            Selection::Dev => name == AZURE_CLI,
            Selection::Prod => name != AZURE_CLI,
            Selection::Only(only) => only == name,
        }
    }

    fn allows_imds(self) -> bool {
        matches!(self, Selection::Prod | Selection::Only(MANAGED))
    }
}

/// Where a managed identity token comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ManagedSource {
    /// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`.
    AppService,
    /// 169.254.169.254, only when explicitly selected.
    Imds,
}

/// A credential the environment configures.
#[derive(Clone, Debug, PartialEq)]
enum Planned {
    EnvironmentSecret {
        tenant_id: String,
        client_id: String,
        secret: Secret,
    },
    EnvironmentCertificate {
        tenant_id: String,
        client_id: String,
        path: PathBuf,
        /// `AZURE_CLIENT_CERTIFICATE_PASSWORD`: opens a PFX file.
        password: Option<Secret>,
        /// `x5c` in the assertion: `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN` (`1` or `true`, as azidentity reads
        /// it), or kubelogin's `spn` mode.
        send_chain: SendChain,
    },
    WorkloadIdentity {
        tenant_id: String,
        client_id: String,
        token_file: PathBuf,
    },
    ManagedIdentity {
        source: ManagedSource,
        client_id: Option<String>,
    },
    /// A user-assigned managed identity named by its Azure resource id (kubelogin `--identity-resource-id`) or
    /// its object id (`az login --identity --object-id`).
    ManagedIdentityNamed { id: ManagedIdentityId },
    AzurePipelines {
        tenant_id: String,
        client_id: String,
        service_connection_id: String,
        system_access_token: Secret,
    },
    /// The login shared with az (read natively), with `az` itself for what cannot be read natively.
    AzureCli {
        /// az's configuration directory.
        config_dir: PathBuf,
        /// `az` on PATH.
        az: Option<PathBuf>,
        /// `--subscription`/`--tenant` (kubelogin's `azurecli` flags); the default account otherwise.
        selection: SharedLoginSelection,
    },
}

impl Planned {
    fn describe(&self) -> String {
        match self {
            Planned::EnvironmentSecret {
                tenant_id,
                client_id,
                ..
            } => format!(
                "{ENVIRONMENT} (client secret) for client {client_id} in tenant {tenant_id}"
            ),
            Planned::EnvironmentCertificate {
                tenant_id,
                client_id,
                path,
                send_chain,
                ..
            } => format!(
                "{ENVIRONMENT} (client certificate {}{}) for client {client_id} in tenant {tenant_id}",
                path.display(),
                match send_chain {
                    SendChain::Yes => ", sending its chain as x5c",
                    SendChain::Leaf => ", sending it as x5c",
                    SendChain::No => "",
                }
            ),
            Planned::WorkloadIdentity {
                tenant_id,
                client_id,
                ..
            } => format!("{WORKLOAD} for client {client_id} in tenant {tenant_id}"),
            Planned::ManagedIdentity { source, client_id } => {
                let source = match source {
                    ManagedSource::AppService => "App Service",
                    ManagedSource::Imds => "IMDS",
                };
                match client_id {
                    Some(id) => format!("{MANAGED} ({source}) for client {id}"),
                    None => format!("{MANAGED} ({source}, system-assigned)"),
                }
            }
            Planned::ManagedIdentityNamed { id } => {
                let (kind, id) = id.parts();
                format!("{MANAGED} for {kind} {id}")
            }
            Planned::AzurePipelines {
                tenant_id,
                client_id,
                service_connection_id,
                ..
            } => format!(
                "AzurePipelinesCredential (service connection {service_connection_id}) for client {client_id} in \
                 tenant {tenant_id}"
            ),
            Planned::AzureCli { config_dir, az, .. } => format!(
                "{AZURE_CLI} (the login shared with az in {}{})",
                config_dir.display(),
                match az {
                    Some(az) => format!(", else {}", az.display()),
                    None => String::new(),
                }
            ),
        }
    }
}

impl Planned {
    /// The identity part of cache keys (see [`TokenSource::identity`]); `certificate` is the loaded certificate
    /// of [`Planned::EnvironmentCertificate`].
    fn identity(&self, certificate: Option<&ClientCertificate>) -> String {
        match self {
            Planned::EnvironmentSecret {
                tenant_id,
                client_id,
                secret,
            } => format!(
                "client-secret|{tenant_id}|{client_id}|{}",
                super::fingerprint("client-secret", secret.expose().as_bytes())
            ),
            Planned::EnvironmentCertificate {
                tenant_id,
                client_id,
                send_chain,
                ..
            } => format!(
                "client-certificate|{tenant_id}|{client_id}|{}|{send_chain:?}",
                certificate
                    .map(ClientCertificate::thumbprint)
                    .unwrap_or_default()
            ),
            Planned::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            } => format!(
                "workload-identity|{tenant_id}|{client_id}|{}",
                token_file.display()
            ),
            Planned::ManagedIdentity { source, client_id } => format!(
                "managed-identity|{source:?}|{}",
                client_id.as_deref().unwrap_or("system-assigned")
            ),
            Planned::ManagedIdentityNamed { id } => {
                let (kind, id) = id.parts();
                format!("managed-identity-{kind}|{id}")
            }
            Planned::AzurePipelines {
                tenant_id,
                client_id,
                service_connection_id,
                ..
            } => format!("azure-pipelines|{tenant_id}|{client_id}|{service_connection_id}"),
            // Worked out from az's files when the credential is built (see shared_login.rs).
            Planned::AzureCli { .. } => String::new(),
        }
    }
}

/// azidentity's EnvironmentCredential sends the certificate chain (`x5c`) when this is `1` or `true` (any case).
const SEND_CERTIFICATE_CHAIN_ENV: &str = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN";

/// azidentity's reading of [`SEND_CERTIFICATE_CHAIN_ENV`]: `v == "1" || strings.ToLower(v) == "true"`.
fn send_certificate_chain(value: Option<&str>) -> SendChain {
    match value {
        Some(value) if value == "1" || value.eq_ignore_ascii_case("true") => SendChain::Yes,
        _ => SendChain::No,
    }
}

/// The credentials to try, in order, and why the others were skipped.
#[derive(Debug, Default)]
struct Plan {
    candidates: Vec<Planned>,
    skipped: Vec<String>,
}

/// The environment as the chain reads it: a variable's value, `None` when unset or blank.
type Variables<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// One credential of the chain as the environment configures it, or why it is skipped (after its name).
type Step = Result<Planned, String>;

fn plan(env: &dyn Fn(&str) -> Option<String>) -> Result<Plan, CredentialError> {
    let var = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let selection = Selection::parse(var(TOKEN_CREDENTIALS_ENV).as_deref())?;
    let steps: [(&str, &dyn Fn() -> Step); 4] = [
        (ENVIRONMENT, &|| environment_step(&var)),
        (WORKLOAD, &|| workload_identity_step(&var)),
        (MANAGED, &|| managed_identity_step(&var, selection)),
        (AZURE_CLI, &|| azure_cli_step(&var)),
    ];
    let mut plan = Plan::default();
    for (name, step) in steps {
        if selection.allows(name) {
            match step() {
                Ok(planned) => plan.candidates.push(planned),
                Err(reason) => plan.skipped.push(format!("{name}: {reason}")),
            }
        }
    }
    Ok(plan)
}

/// The variables of `names` that are not set, comma-separated.
fn missing(var: &Variables<'_>, names: &[&str]) -> String {
    names
        .iter()
        .filter(|name| var(name).is_none())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// 1. The environment's service principal: a client secret, else a certificate file.
fn environment_step(var: &Variables<'_>) -> Step {
    let secret = var("AZURE_CLIENT_SECRET");
    let certificate = var("AZURE_CLIENT_CERTIFICATE_PATH");
    match (
        var("AZURE_CLIENT_ID"),
        var("AZURE_TENANT_ID"),
        secret,
        certificate,
    ) {
        (Some(client_id), Some(tenant_id), Some(secret), _) => Ok(Planned::EnvironmentSecret {
            tenant_id,
            client_id,
            secret: Secret::new(secret),
        }),
        (Some(client_id), Some(tenant_id), None, Some(path)) => {
            Ok(Planned::EnvironmentCertificate {
                tenant_id,
                client_id,
                path: PathBuf::from(path),
                password: var("AZURE_CLIENT_CERTIFICATE_PASSWORD").map(Secret::new),
                send_chain: send_certificate_chain(var(SEND_CERTIFICATE_CHAIN_ENV).as_deref()),
            })
        }
        (_, _, secret, certificate) => {
            let mut needs = missing(var, &["AZURE_CLIENT_ID", "AZURE_TENANT_ID"]);
            if secret.is_none() && certificate.is_none() {
                if !needs.is_empty() {
                    needs.push_str(", ");
                }
                needs.push_str("AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH");
            }
            Err(format!("not set: {needs}"))
        }
    }
}

/// 2. Workload identity: a federated token file with the client and tenant.
fn workload_identity_step(var: &Variables<'_>) -> Step {
    let file = var("AZURE_FEDERATED_TOKEN_FILE");
    match (var("AZURE_CLIENT_ID"), var("AZURE_TENANT_ID"), file) {
        (Some(client_id), Some(tenant_id), Some(file)) => Ok(Planned::WorkloadIdentity {
            tenant_id,
            client_id,
            token_file: PathBuf::from(file),
        }),
        _ => {
            let names = [
                "AZURE_FEDERATED_TOKEN_FILE",
                "AZURE_CLIENT_ID",
                "AZURE_TENANT_ID",
            ];
            Err(format!("not set: {}", missing(var, &names)))
        }
    }
}

/// 3. Managed identity: App Service variables, or IMDS only when explicitly selected.
fn managed_identity_step(var: &Variables<'_>, selection: Selection) -> Step {
    let client_id = var("AZURE_CLIENT_ID");
    if var("IDENTITY_ENDPOINT").is_some() && var("IDENTITY_HEADER").is_some() {
        Ok(Planned::ManagedIdentity {
            source: ManagedSource::AppService,
            client_id,
        })
    } else if selection.allows_imds() {
        Ok(Planned::ManagedIdentity {
            source: ManagedSource::Imds,
            client_id,
        })
    } else {
        Err(format!(
            "IDENTITY_ENDPOINT and IDENTITY_HEADER are not set (the VM endpoint 169.254.169.254 is only used with \
             {TOKEN_CREDENTIALS_ENV}={MANAGED} or =prod)"
        ))
    }
}

/// 4. The Azure CLI: its files when someone is signed in, else `az` on PATH.
fn azure_cli_step(var: &Variables<'_>) -> Step {
    let az = var("PATH").and_then(|path| find_on_path("az", &path));
    let config_dir = azure_config_dir(var);
    let signed_in = config_dir
        .as_ref()
        .is_some_and(|dir| dir.join("azureProfile.json").is_file());
    if signed_in || az.is_some() {
        // Without HOME or AZURE_CONFIG_DIR only az itself can say who is signed in.
        return Ok(Planned::AzureCli {
            config_dir: config_dir.unwrap_or_default(),
            az,
            selection: SharedLoginSelection::default(),
        });
    }
    Err(format!(
        "not signed in (no {}) and `az` is not on PATH",
        config_dir
            .map(|dir| dir.join("azureProfile.json").display().to_string())
            .unwrap_or_else(|| "AZURE_CONFIG_DIR or HOME".into())
    ))
}

/// az's configuration directory as `var` sees the environment (see [`AzureConfigDir::locate`]).
fn azure_config_dir(var: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let snapshot: Vec<(&str, Option<String>)> = ["AZURE_CONFIG_DIR", "HOME", "USERPROFILE"]
        .into_iter()
        .map(|name| (name, var(name)))
        .collect();
    let environment = move |name: &str| {
        snapshot
            .iter()
            .find(|(key, _)| *key == name)
            .and_then(|(_, value)| value.clone())
    };
    AzureConfigDir::locate(Arc::new(environment))
        .ok()
        .map(|dir| dir.path().to_owned())
}

pub(crate) fn find_on_path(program: &str, path: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

/// The HTTP client, for the requests aksctl sends itself, and the same client as azure_identity's transport.
struct Transports {
    http: reqwest::Client,
    azure: Transport,
}

impl Transports {
    fn new(http: &reqwest::Client) -> Transports {
        Transports {
            http: http.clone(),
            azure: Transport::new(Arc::new(http.clone())),
        }
    }
}

/// `ClientOptions` for every azure_identity credential: our transport, no retries (a TLS mistake must fail in
/// milliseconds, not 82 s), the cloud's authority host.
fn client_options(authority: &str, transport: &Transport) -> ClientOptions {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = authority.to_owned();
    ClientOptions {
        transport: Some(transport.clone()),
        retry: RetryOptions::none(),
        cloud: Some(Arc::new(custom.into())),
        ..Default::default()
    }
}

fn build(
    planned: &Planned,
    authority: &str,
    cloud: Option<&str>,
    transports: &Transports,
) -> Result<Arc<dyn TokenSource>, CredentialError> {
    let description = planned.describe();
    let identity = planned.identity(None);
    let authority = authority.trim_end_matches('/').to_owned();
    let options = client_options(&authority, &transports.azure);
    let native = |tenant_id: String, client_id: String, proof: ClientProof, identity: String| {
        Arc::new(ClientCredential {
            description: description.clone(),
            identity,
            tenant_id,
            client_id,
            proof,
            authority: authority.clone(),
            http: transports.http.clone(),
        }) as Arc<dyn TokenSource>
    };
    let factory = match planned.clone() {
        Planned::EnvironmentSecret {
            tenant_id,
            client_id,
            secret,
        } => {
            let proof = ClientProof::Secret(secret);
            return Ok(native(tenant_id, client_id, proof, identity));
        }
        Planned::EnvironmentCertificate {
            tenant_id,
            client_id,
            path,
            password,
            send_chain,
        } => {
            let certificate = Arc::new(ClientCertificate::load(&path, password.as_ref())?);
            let identity = planned.identity(Some(&certificate));
            let proof = ClientProof::Certificate(certificate, send_chain);
            return Ok(native(tenant_id, client_id, proof, identity));
        }
        Planned::AzureCli {
            config_dir,
            az,
            selection,
        } => {
            let process = match az {
                Some(_) => {
                    Some(Arc::new(az_process(&description, &selection)?) as Arc<dyn TokenSource>)
                }
                None => None,
            };
            return Ok(Arc::new(SharedLoginCredential::new(
                config_dir,
                selection,
                cloud.map(str::to_owned),
                &authority,
                transports.http.clone(),
                process,
                managed_identity_factory(&authority, &transports.http),
            )));
        }
        Planned::WorkloadIdentity {
            tenant_id,
            client_id,
            token_file,
        } => workload_identity(tenant_id, client_id, token_file, options),
        Planned::ManagedIdentity { client_id, .. } => {
            managed_identity(client_id.map(UserAssignedId::ClientId), options)
        }
        Planned::ManagedIdentityNamed { id } => {
            let id = match id {
                ManagedIdentityId::ClientId(id) => UserAssignedId::ClientId(id),
                ManagedIdentityId::ResourceId(id) => UserAssignedId::ResourceId(id),
                ManagedIdentityId::ObjectId(id) => UserAssignedId::ObjectId(id),
            };
            managed_identity(Some(id), options)
        }
        Planned::AzurePipelines {
            tenant_id,
            client_id,
            service_connection_id,
            system_access_token,
        } => {
            let connection = (service_connection_id, system_access_token);
            azure_pipelines(tenant_id, client_id, connection, options)
        }
    };
    let failure = Failure::ConnectionIsUnavailable;
    Ok(Arc::new(AzureCredential::new(
        description,
        identity,
        failure,
        factory,
    )?))
}

// azure_identity's options structs are not `#[non_exhaustive]` and grow between releases (docs/rust-dependencies.md,
// "Azure and HTTP"), so every literal ends with `..Default::default()` even where it lists every field today.

/// azure_identity's WorkloadIdentityCredential for a federated token file.
#[allow(clippy::needless_update)]
fn workload_identity(
    tenant_id: String,
    client_id: String,
    token_file: PathBuf,
    client_options: ClientOptions,
) -> Factory {
    Box::new(move || {
        let options = WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                client_options: client_options.clone(),
                ..Default::default()
            },
            client_id: Some(client_id.clone()),
            tenant_id: Some(tenant_id.clone()),
            token_file_path: Some(token_file.clone()),
            ..Default::default()
        };
        let credential: Arc<dyn TokenCredential> = WorkloadIdentityCredential::new(Some(options))?;
        Ok(credential)
    })
}

/// azure_identity's ManagedIdentityCredential: the system-assigned identity, or the user-assigned one `id` names.
#[allow(clippy::needless_update)]
fn managed_identity(id: Option<UserAssignedId>, client_options: ClientOptions) -> Factory {
    Box::new(move || {
        let options = ManagedIdentityCredentialOptions {
            user_assigned_id: id.clone(),
            client_options: client_options.clone(),
            ..Default::default()
        };
        let credential: Arc<dyn TokenCredential> = ManagedIdentityCredential::new(Some(options))?;
        Ok(credential)
    })
}

/// azure_identity's AzurePipelinesCredential for a service connection and the pipeline's `System.AccessToken`
/// (`connection`).
#[allow(clippy::needless_update)]
fn azure_pipelines(
    tenant_id: String,
    client_id: String,
    (service_connection_id, system_access_token): (String, Secret),
    client_options: ClientOptions,
) -> Factory {
    Box::new(move || {
        let options = AzurePipelinesCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                client_options: client_options.clone(),
                ..Default::default()
            },
            ..Default::default()
        };
        let credential: Arc<dyn TokenCredential> = AzurePipelinesCredential::new(
            tenant_id.clone(),
            client_id.clone(),
            &service_connection_id,
            azure_core::credentials::Secret::new(system_access_token.expose().to_owned()),
            Some(options),
        )?;
        Ok(credential)
    })
}

/// `az account get-access-token` as a process (azure_identity's AzureCliCredential), for what the shared login
/// cannot read natively.
fn az_process(
    description: &str,
    selection: &SharedLoginSelection,
) -> Result<AzureCredential, CredentialError> {
    let tenant = selection.tenant.clone();
    let subscription = selection.subscription.clone();
    AzureCredential::new(
        format!("{description}: az"),
        String::new(),
        Failure::AlwaysUnavailable,
        Box::new(move || {
            let options = AzureCliCredentialOptions {
                tenant_id: tenant.clone(),
                subscription: subscription.clone(),
                ..Default::default()
            };
            let credential: Arc<dyn TokenCredential> = AzureCliCredential::new(Some(options))?;
            Ok(credential)
        }),
    )
}

/// The chain other Azure SDKs use (docs/entra-protocols.md; docs/rust-dependencies.md, "Azure and HTTP"), each attempt
/// and skip logged at debug:
///
/// 1. environment service principal: `AZURE_CLIENT_ID` + `AZURE_TENANT_ID` + `AZURE_CLIENT_SECRET`, or
///    `AZURE_CLIENT_CERTIFICATE_PATH` (a PEM file with the RSA private key and the certificate, or a PKCS#12/PFX
///    file opened with `AZURE_CLIENT_CERTIFICATE_PASSWORD`);
/// 2. workload identity: `AZURE_FEDERATED_TOKEN_FILE` + `AZURE_CLIENT_ID` + `AZURE_TENANT_ID`;
/// 3. managed identity: App Service (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`); the VM endpoint (IMDS,
///    169.254.169.254) only with `AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential` or `=prod`, never probed
///    otherwise; `AZURE_CLIENT_ID` selects a user-assigned identity;
/// 4. Azure CLI (`az account get-access-token`) when `az` is on `PATH`.
///
/// `AZURE_TOKEN_CREDENTIALS` narrows it: `dev` (Azure CLI), `prod` (1–3), or one credential name. Every credential
/// uses `http` as its transport, no retries, and the cloud's `authority` host. Errors when nothing is configured,
/// listing what was tried and how to fix it. Credentials after the first are only tried when an earlier one is
/// unavailable (not signed in, endpoint unreachable), never after a refusal.
pub fn default_chain(
    authority: &str,
    http: &reqwest::Client,
) -> Result<Arc<dyn TokenSource>, CredentialError> {
    default_chain_in_cloud(None, authority, http)
}

/// [`default_chain`] whose shared login counts the profile entries of `cloud` (aksctl's active cloud) instead
/// of az's active cloud.
pub fn default_chain_in_cloud(
    cloud: Option<&str>,
    authority: &str,
    http: &reqwest::Client,
) -> Result<Arc<dyn TokenSource>, CredentialError> {
    chain_from(
        &|name| std::env::var(name).ok(),
        authority,
        cloud,
        &Transports::new(http),
    )
}

fn chain_from(
    env: &dyn Fn(&str) -> Option<String>,
    authority: &str,
    cloud: Option<&str>,
    transports: &Transports,
) -> Result<Arc<dyn TokenSource>, CredentialError> {
    let plan = plan(env)?;
    for skipped in &plan.skipped {
        tracing::debug!("credential skipped: {skipped}");
    }
    if plan.candidates.is_empty() {
        return Err(CredentialError::NotConfigured {
            tried: plan.skipped,
        });
    }
    let mut sources = Vec::with_capacity(plan.candidates.len());
    for planned in &plan.candidates {
        tracing::debug!(credential = %planned.describe(), "credential configured");
        sources.push(build(planned, authority, cloud, transports)?);
    }
    if sources.len() == 1 {
        return Ok(sources.remove(0));
    }
    Ok(Arc::new(ChainedTokenSource {
        sources,
        chosen: AtomicUsize::new(usize::MAX),
    }))
}

/// Several sources tried in order; the first that works is kept for later calls.
#[derive(Debug)]
struct ChainedTokenSource {
    sources: Vec<Arc<dyn TokenSource>>,
    chosen: AtomicUsize,
}

impl ChainedTokenSource {
    async fn get(&self, scope: &str, fresh: bool) -> Result<AccessToken, CredentialError> {
        let chosen = self.chosen.load(Ordering::Relaxed);
        if let Some(source) = self.sources.get(chosen) {
            return if fresh {
                source.fresh_token(scope).await
            } else {
                source.token(scope).await
            };
        }
        let mut attempts = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            let result = if fresh {
                source.fresh_token(scope).await
            } else {
                source.token(scope).await
            };
            match result {
                Ok(token) => {
                    self.chosen.store(index, Ordering::Relaxed);
                    return Ok(token);
                }
                Err(error) if error.is_unavailable() => {
                    tracing::debug!("credential unavailable, trying the next: {error}");
                    attempts.push(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(CredentialError::ChainExhausted { attempts })
    }
}

#[async_trait]
impl TokenSource for ChainedTokenSource {
    async fn token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        self.get(scope, false).await
    }

    async fn fresh_token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        self.get(scope, true).await
    }

    fn identity(&self) -> String {
        // Any configured credential may be the one that answers, so a change in any of them is a new identity.
        self.sources
            .iter()
            .map(|source| source.identity())
            .collect::<Vec<_>>()
            .join(" then ")
    }

    fn describe(&self) -> String {
        match self.sources.get(self.chosen.load(Ordering::Relaxed)) {
            Some(source) => source.describe(),
            None => self
                .sources
                .iter()
                .map(|source| source.describe())
                .collect::<Vec<_>>()
                .join(", then "),
        }
    }
}

impl CredentialSpec {
    fn planned(self) -> Planned {
        match self {
            CredentialSpec::ClientSecret {
                tenant_id,
                client_id,
                secret,
            } => Planned::EnvironmentSecret {
                tenant_id,
                client_id,
                secret,
            },
            CredentialSpec::ClientCertificate {
                tenant_id,
                client_id,
                path,
                password,
                send_certificate_chain,
            } => Planned::EnvironmentCertificate {
                tenant_id,
                client_id,
                path,
                password,
                send_chain: if send_certificate_chain {
                    SendChain::Leaf
                } else {
                    SendChain::No
                },
            },
            CredentialSpec::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            } => Planned::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            },
            CredentialSpec::ManagedIdentity { id } => {
                let app_service = ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"]
                    .iter()
                    .all(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
                let source = if app_service {
                    ManagedSource::AppService
                } else {
                    ManagedSource::Imds
                };
                match id {
                    Some(
                        id @ (ManagedIdentityId::ResourceId(_) | ManagedIdentityId::ObjectId(_)),
                    ) => Planned::ManagedIdentityNamed { id },
                    Some(ManagedIdentityId::ClientId(client_id)) => Planned::ManagedIdentity {
                        source,
                        client_id: Some(client_id),
                    },
                    None => Planned::ManagedIdentity {
                        source,
                        client_id: None,
                    },
                }
            }
            CredentialSpec::AzurePipelines {
                tenant_id,
                client_id,
                service_connection_id,
                system_access_token,
            } => Planned::AzurePipelines {
                tenant_id,
                client_id,
                service_connection_id,
                system_access_token,
            },
        }
    }
}

/// One credential for an explicitly chosen identity, with `http` as transport, no retries and `authority_host`
/// (e.g. `https://login.microsoftonline.com/`) as the Entra authority. No cache: wrap it in
/// [`CachedTokenSource`](super::CachedTokenSource) or keep tokens yourself.
pub fn credential(
    spec: CredentialSpec,
    authority_host: &str,
    http: &reqwest::Client,
) -> Result<Arc<dyn TokenSource>, CredentialError> {
    build(
        &spec.planned(),
        authority_host,
        None,
        &Transports::new(http),
    )
}

fn managed_identity_factory(authority: &str, http: &reqwest::Client) -> ManagedIdentityFactory {
    let authority = authority.to_owned();
    let http = http.clone();
    Arc::new(move |id| credential(CredentialSpec::ManagedIdentity { id }, &authority, &http))
}

/// Tokens from the login shared with az in the process environment's `AZURE_CONFIG_DIR` (kubelogin's
/// `azurecli`), with `az` as the process to fall back on.
pub fn shared_login(
    selection: SharedLoginSelection,
    authority: &str,
    http: &reqwest::Client,
    az: Option<Arc<dyn TokenSource>>,
) -> Arc<dyn TokenSource> {
    let config_dir = process_config_dir().unwrap_or_default();
    Arc::new(SharedLoginCredential::new(
        config_dir,
        selection,
        None,
        authority,
        http.clone(),
        az,
        managed_identity_factory(authority, http),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    use azure_core::http::{AsyncRawResponse, HttpClient, Request, StatusCode, headers::Headers};

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn kinds(plan: &Plan) -> Vec<String> {
        plan.candidates.iter().map(Planned::describe).collect()
    }

    const SP: [(&str, &str); 3] = [
        ("AZURE_CLIENT_ID", "0a0a0a0a-1111-2222-3333-444444444444"),
        ("AZURE_TENANT_ID", "72f988bf-0000-0000-0000-000000000001"),
        ("AZURE_CLIENT_SECRET", "fake-secret-value"),
    ];

    #[test]
    fn nothing_configured_lists_every_credential_and_never_imds() {
        let plan = plan(&env(&[("PATH", "/nonexistent")])).unwrap();
        assert!(plan.candidates.is_empty());
        let text = plan.skipped.join("\n");
        for name in [ENVIRONMENT, WORKLOAD, MANAGED, AZURE_CLI] {
            assert!(text.contains(name), "{text}");
        }
        let error = chain_from(
            &env(&[("PATH", "/nonexistent")]),
            "https://login.microsoftonline.com/",
            None,
            &Transports::new(&reqwest::Client::new()),
        )
        .unwrap_err();
        assert!(matches!(error, CredentialError::NotConfigured { .. }));
    }

    #[test]
    fn environment_secret_comes_first_and_description_has_no_secret() {
        let plan = plan(&env(&SP)).unwrap();
        let described = kinds(&plan);
        assert_eq!(
            described,
            vec![
                "EnvironmentCredential (client secret) for client 0a0a0a0a-1111-2222-3333-444444444444 in tenant \
                 72f988bf-0000-0000-0000-000000000001"
            ]
        );
        assert!(!format!("{plan:?}").contains("fake-secret-value"));
    }

    #[test]
    fn certificate_workload_app_service_and_imds_selection() {
        let mut vars = vec![
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", "/x/cert.pem"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
        ];
        let described = kinds(&plan(&env(&vars)).unwrap());
        assert_eq!(described.len(), 2, "{described:?}");
        assert!(described[0].contains("client certificate /x/cert.pem"));
        assert!(described[1].starts_with(WORKLOAD));

        vars.push(("IDENTITY_ENDPOINT", "https://127.0.0.1:1/msi/token"));
        vars.push(("IDENTITY_HEADER", "h"));
        let described = kinds(&plan(&env(&vars)).unwrap());
        assert_eq!(
            described[2],
            "ManagedIdentityCredential (App Service) for client c"
        );

        // IMDS only when asked for.
        let described = kinds(&plan(&env(&[])).unwrap());
        assert!(described.is_empty());
        let described = kinds(
            &plan(&env(&[(
                TOKEN_CREDENTIALS_ENV,
                "managedidentitycredential",
            )]))
            .unwrap(),
        );
        assert_eq!(
            described,
            vec!["ManagedIdentityCredential (IMDS, system-assigned)"]
        );
        let described = kinds(&plan(&env(&[(TOKEN_CREDENTIALS_ENV, "prod")])).unwrap());
        assert_eq!(
            described,
            vec!["ManagedIdentityCredential (IMDS, system-assigned)"]
        );
    }

    #[test]
    fn token_credentials_narrows_and_rejects_unknown_values() {
        let temp = tempfile::tempdir().unwrap();
        let az = temp.path().join("az");
        std::fs::write(&az, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = temp.path().to_str().unwrap().to_owned();
        let mut vars: Vec<(&str, &str)> = SP.to_vec();
        vars.push(("PATH", &path));
        assert_eq!(kinds(&plan(&env(&vars)).unwrap()).len(), 2);
        vars.push((TOKEN_CREDENTIALS_ENV, "dev"));
        let described = kinds(&plan(&env(&vars)).unwrap());
        assert_eq!(described.len(), 1);
        assert!(
            described[0].starts_with("AzureCliCredential ("),
            "{described:?}"
        );
        vars.pop();
        vars.push((TOKEN_CREDENTIALS_ENV, "EnvironmentCredential"));
        assert_eq!(kinds(&plan(&env(&vars)).unwrap()).len(), 1);
        vars.pop();
        vars.push((TOKEN_CREDENTIALS_ENV, "bogus"));
        let error = plan(&env(&vars)).unwrap_err().to_string();
        assert!(error.starts_with("AZURE_TOKEN_CREDENTIALS:"), "{error}");
    }

    /// Transports whose azure_identity side is `fake` (nothing leaves the test).
    fn fake_transports(fake: Arc<dyn HttpClient>) -> Transports {
        Transports {
            http: reqwest::Client::new(),
            azure: Transport::new(fake),
        }
    }

    #[test]
    fn the_certificate_chain_is_sent_only_as_azidentity_reads_the_variable() {
        // azidentity's EnvironmentCredential: `v == "1" || strings.ToLower(v) == "true"`.
        for (value, sent) in [
            (Some("1"), true),
            (Some("true"), true),
            (Some("TRUE"), true),
            (Some("yes"), false),
            (Some("0"), false),
            (Some("false"), false),
            (None, false),
        ] {
            let mut vars = vec![
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_CERTIFICATE_PATH", "/x/cert.pem"),
            ];
            if let Some(value) = value {
                vars.push(("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", value));
            }
            let plan = plan(&env(&vars)).unwrap();
            let expected = if sent { SendChain::Yes } else { SendChain::No };
            assert!(
                matches!(&plan.candidates[0], Planned::EnvironmentCertificate { send_chain, .. } if *send_chain == expected),
                "{value:?}: {plan:?}"
            );
            assert_eq!(
                kinds(&plan)[0].contains("sending its chain as x5c"),
                sent,
                "{value:?}"
            );
        }
    }

    /// A fake IMDS: answers every request in-process (nothing leaves the test), records URLs and headers.
    #[derive(Debug, Default)]
    struct FakeImds {
        seen: Mutex<Vec<(String, Option<String>)>>,
    }

    #[async_trait]
    impl HttpClient for FakeImds {
        async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
            let metadata = request
                .headers()
                .get_optional_str(&azure_core::http::headers::HeaderName::from_static(
                    "metadata",
                ))
                .map(str::to_owned);
            self.seen
                .lock()
                .unwrap()
                .push((request.url().to_string(), metadata));
            let expires_on =
                (time::OffsetDateTime::now_utc() + time::Duration::hours(1)).unix_timestamp();
            let body = format!(
                r#"{{"access_token":"imds-token","expires_on":"{expires_on}","expires_in":"3600","resource":"6dae42f8-4368-4678-94ff-3960e28e3630","token_type":"Bearer"}}"#
            );
            Ok(AsyncRawResponse::from_bytes(
                StatusCode::Ok,
                Headers::new(),
                body.into_bytes(),
            ))
        }
    }

    #[tokio::test]
    async fn explicit_managed_identity_without_app_service_uses_the_imds_shape() {
        if std::env::var_os("IDENTITY_ENDPOINT").is_some()
            || std::env::var_os("MSI_ENDPOINT").is_some()
        {
            return; // azure_identity would pick another source from this process's environment
        }
        let fake = Arc::new(FakeImds::default());
        let planned = CredentialSpec::ManagedIdentity {
            id: Some(ManagedIdentityId::ClientId("uami-client".into())),
        }
        .planned();
        assert_eq!(
            planned.describe(),
            "ManagedIdentityCredential (IMDS) for client uami-client"
        );
        let source = build(
            &planned,
            "https://login.microsoftonline.com/",
            None,
            &fake_transports(fake.clone()),
        )
        .unwrap();
        let token = source
            .token("6dae42f8-4368-4678-94ff-3960e28e3630/.default")
            .await
            .unwrap();
        assert_eq!(token.token.expose(), "imds-token");
        let seen = fake.seen.lock().unwrap();
        let (url, metadata) = seen.last().unwrap();
        let url = url::Url::parse(url).unwrap();
        assert_eq!(url.host_str(), Some("169.254.169.254"));
        assert_eq!(url.path(), "/metadata/identity/oauth2/token");
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(query["resource"], "6dae42f8-4368-4678-94ff-3960e28e3630");
        assert_eq!(query["client_id"], "uami-client");
        assert_eq!(metadata.as_deref(), Some("true"));
    }

    #[derive(Debug)]
    struct Scripted {
        name: &'static str,
        unavailable: bool,
        calls: AtomicUsize,
    }

    #[async_trait]
    impl TokenSource for Scripted {
        async fn token(&self, _scope: &str) -> Result<AccessToken, CredentialError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.unavailable {
                Err(CredentialError::Unavailable {
                    credential: self.name.into(),
                    message: "not signed in".into(),
                })
            } else {
                Ok(AccessToken {
                    token: Secret::new(self.name),
                    expires_on: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
                })
            }
        }

        fn describe(&self) -> String {
            self.name.into()
        }

        fn identity(&self) -> String {
            self.name.into()
        }
    }

    #[tokio::test]
    async fn chain_moves_past_unavailable_and_remembers_the_winner() {
        let first = Arc::new(Scripted {
            name: "first",
            unavailable: true,
            calls: AtomicUsize::new(0),
        });
        let second = Arc::new(Scripted {
            name: "second",
            unavailable: false,
            calls: AtomicUsize::new(0),
        });
        let chain = ChainedTokenSource {
            sources: vec![first.clone(), second.clone()],
            chosen: AtomicUsize::new(usize::MAX),
        };
        assert_eq!(chain.describe(), "first, then second");
        assert_eq!(chain.token("s").await.unwrap().token.expose(), "second");
        assert_eq!(chain.token("s").await.unwrap().token.expose(), "second");
        assert_eq!(first.calls.load(Ordering::SeqCst), 1);
        assert_eq!(chain.describe(), "second");
    }
}
