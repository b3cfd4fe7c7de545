//! The command tree, az's flag names and short aliases. These structs hold no logic: their doc comments are the
//! help text, and `settings` turns them into what commands run with.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// aksctl: AKS clusters with AKS-managed Microsoft Entra integration, az-compatible, in one fast binary.
#[derive(Debug, Parser)]
#[command(
    name = "aksctl",
    version,
    propagate_version = true,
    max_term_width = 120
)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command group.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, anywhere on the command line (as az does).
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Name or ID of subscription. You can configure the default subscription using `aksctl account set -s NAME_OR_ID`.
    #[arg(long, global = true, value_name = "SUBSCRIPTION")]
    pub subscription: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum)]
    pub output: Option<OutputFormat>,
    /// JMESPath query string. See http://jmespath.org/ for more information and examples.
    #[arg(long, global = true, value_name = "JMESPATH")]
    pub query: Option<String>,
    /// Only show errors, suppressing warnings.
    #[arg(long, global = true)]
    pub only_show_errors: bool,
    /// Increase logging verbosity to show all debug logs.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Increase logging verbosity. Use --debug for full debug logs.
    #[arg(long, global = true)]
    pub verbose: bool,
}

/// az's output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// JSON, keys sorted, indented by 2.
    Json,
    /// Coloured JSON.
    Jsonc,
    /// YAML.
    Yaml,
    /// Coloured YAML.
    Yamlc,
    /// A human-readable table.
    Table,
    /// Tab-separated values.
    Tsv,
    /// No output.
    None,
}

/// Top-level command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage resource groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage Azure Kubernetes Services.
    #[command(subcommand)]
    Aks(AksCommand),
    /// Manage registered Azure clouds.
    #[command(subcommand)]
    Cloud(CloudCommand),
    /// Manage Azure subscription information.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Run the local cloud emulator (ARM, Entra and Kubernetes API on 127.0.0.1).
    #[command(subcommand)]
    Emulator(EmulatorCommand),
}

/// `aksctl group ...`
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a new resource group.
    ///
    /// Example: aksctl group create --name myResourceGroup --location centralus
    Create(GroupCreateArgs),
    /// Get a resource group.
    Show(GroupNameArgs),
    /// List resource groups.
    List,
    /// Delete a resource group.
    Delete(GroupDeleteArgs),
}

/// `group create` flags.
#[derive(Debug, Args)]
pub struct GroupCreateArgs {
    /// Name of the new resource group.
    #[arg(
        long = "name",
        short = 'n',
        visible_alias = "resource-group",
        short_alias = 'g'
    )]
    pub name: String,
    /// Location. Values from: `az account list-locations`.
    #[arg(long, short = 'l')]
    pub location: String,
    /// Space-separated tags: key[=value] [key[=value] ...]. Use "" to clear existing tags.
    #[arg(long, num_args = 0..)]
    pub tags: Option<Vec<String>>,
    /// The ID of the resource that manages this resource group.
    #[arg(long)]
    pub managed_by: Option<String>,
}

/// A resource group name.
#[derive(Debug, Args)]
pub struct GroupNameArgs {
    /// Name of resource group.
    #[arg(
        long = "name",
        short = 'n',
        visible_alias = "resource-group",
        short_alias = 'g'
    )]
    pub name: String,
}

/// `group delete` flags.
#[derive(Debug, Args)]
pub struct GroupDeleteArgs {
    /// Name of resource group.
    #[arg(
        long = "name",
        short = 'n',
        visible_alias = "resource-group",
        short_alias = 'g'
    )]
    pub name: String,
    /// Do not prompt for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Do not wait for the long-running operation to finish.
    #[arg(long)]
    pub no_wait: bool,
}

/// `aksctl aks ...`
#[derive(Debug, Subcommand)]
pub enum AksCommand {
    /// Create a new managed Kubernetes cluster.
    ///
    /// Example (the guide): aksctl aks create -g myResourceGroup -n myManagedCluster --enable-aad
    /// --aad-admin-group-object-ids <id> [--aad-tenant-id <id>] --generate-ssh-keys
    Create(Box<AksCreateArgs>),
    /// Update a managed Kubernetes cluster.
    ///
    /// Changes Microsoft Entra (AAD) integration, Azure RBAC, local accounts and tags. When called with no
    /// optional arguments this asks whether to reconcile the cluster to its current settings.
    ///
    /// Examples:
    ///
    ///   Update a AKS-managed AAD cluster with tenant ID or admin group object IDs:
    ///     aksctl aks update -g MyResourceGroup -n MyManagedCluster --aad-admin-group-object-ids <id-1,id-2> --aad-tenant-id <id>
    ///
    ///   Migrate a AKS AAD-Integrated cluster or a non-AAD cluster to a AKS-managed AAD cluster:
    ///     aksctl aks update -g MyResourceGroup -n MyManagedCluster --enable-aad --aad-admin-group-object-ids <id-1,id-2> --aad-tenant-id <id>
    ///
    ///   Enable Azure RBAC in a managed AAD cluster:
    ///     aksctl aks update -g MyResourceGroup -n MyManagedCluster --enable-azure-rbac
    ///
    ///   Enable managed AAD and Azure RBAC in a non-AAD cluster:
    ///     aksctl aks update -g MyResourceGroup -n MyManagedCluster --enable-aad --enable-azure-rbac
    ///
    ///   Disable Azure RBAC in a managed AAD cluster:
    ///     aksctl aks update -g MyResourceGroup -n MyManagedCluster --disable-azure-rbac
    ///
    ///   Disable local accounts (static credentials) of a managed AAD cluster:
    ///     aksctl aks update -g MyResourceGroup -n MyManagedCluster --disable-local-accounts
    ///
    /// Managed AAD cannot be disabled once enabled, cannot be downgraded to legacy AAD, and needs Kubernetes RBAC.
    #[command(verbatim_doc_comment)]
    Update(Box<AksUpdateArgs>),
    /// Show the details for a managed Kubernetes cluster.
    Show(ClusterArgs),
    /// List managed Kubernetes clusters.
    List(AksListArgs),
    /// Delete a managed Kubernetes cluster.
    Delete(AksDeleteArgs),
    /// Get access credentials for a managed Kubernetes cluster.
    ///
    /// Example (the guide): aksctl aks get-credentials --resource-group myResourceGroup --name myManagedCluster
    /// [--format exec|azure]
    GetCredentials(GetCredentialsArgs),
}

/// A cluster: `-g` and `-n`.
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Name of resource group.
    #[arg(long, short = 'g')]
    pub resource_group: String,
    /// Name of the managed cluster.
    #[arg(long, short = 'n')]
    pub name: String,
}

/// `aks list` flags.
#[derive(Debug, Args)]
pub struct AksListArgs {
    /// Name of resource group. When omitted, clusters of the whole subscription are listed.
    #[arg(long, short = 'g')]
    pub resource_group: Option<String>,
}

/// `aks delete` flags.
#[derive(Debug, Args)]
pub struct AksDeleteArgs {
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Do not prompt for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Do not wait for the long-running operation to finish.
    #[arg(long)]
    pub no_wait: bool,
}

/// The pricing tier of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Tier {
    /// Free tier.
    Free,
    /// Standard tier (uptime SLA).
    Standard,
    /// Premium tier (long-term support).
    Premium,
}

/// `aks create` flags (az-cli-aks.md §1.2).
#[derive(Debug, Args)]
pub struct AksCreateArgs {
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Location. Defaults to the location of the resource group.
    #[arg(long, short = 'l')]
    pub location: Option<String>,
    /// Enable managed AAD feature for cluster.
    #[arg(long)]
    pub enable_aad: bool,
    /// Comma-separated list of aad group object IDs that will be set as cluster admin.
    #[arg(long, value_name = "IDS")]
    pub aad_admin_group_object_ids: Option<String>,
    /// The ID of an Azure Active Directory tenant.
    #[arg(long, value_name = "ID")]
    pub aad_tenant_id: Option<String>,
    /// Enable Azure RBAC to control authorization checks on cluster.
    #[arg(long)]
    pub enable_azure_rbac: bool,
    /// Disable Kubernetes Role-Based Access Control.
    #[arg(long)]
    pub disable_rbac: bool,
    /// Enable Kubernetes Role-Based Access Control (the default).
    #[arg(long)]
    pub enable_rbac: bool,
    /// If set to true, getting static credential will be disabled for this cluster.
    #[arg(long)]
    pub disable_local_accounts: bool,
    /// Generate SSH public and private key files if missing. The keys will be stored in the ~/.ssh directory.
    #[arg(long)]
    pub generate_ssh_keys: bool,
    /// Public key path or key contents to install on node VMs for SSH access.
    #[arg(long, value_name = "KEY")]
    pub ssh_key_value: Option<String>,
    /// Do not use or create a local SSH key.
    #[arg(long, short = 'x')]
    pub no_ssh_key: bool,
    /// User account to create on node VMs for SSH access.
    #[arg(long, short = 'u', default_value = "azureuser")]
    pub admin_username: String,
    /// Version of Kubernetes to use for creating the cluster, such as "1.32.4" or "1.32".
    #[arg(long, short = 'k')]
    pub kubernetes_version: Option<String>,
    /// Number of nodes in the Kubernetes node pool.
    #[arg(long, short = 'c', default_value_t = 3)]
    pub node_count: u32,
    /// Size of Virtual Machines to create as Kubernetes nodes.
    #[arg(long, short = 's')]
    pub node_vm_size: Option<String>,
    /// Prefix for hostnames that are created. If not specified, generate a hostname using the managed cluster and
    /// resource group names.
    #[arg(long)]
    pub dns_name_prefix: Option<String>,
    /// Specify SKU tier for managed clusters.
    #[arg(long, value_enum, ignore_case = true)]
    pub tier: Option<Tier>,
    /// Space-separated tags: key[=value] [key[=value] ...].
    #[arg(long, num_args = 0..)]
    pub tags: Option<Vec<String>>,
    /// Do not prompt for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Do not wait for the long-running operation to finish.
    #[arg(long)]
    pub no_wait: bool,
}

/// `aks update` flags (az-cli-aks.md §1.3).
#[derive(Debug, Args)]
pub struct AksUpdateArgs {
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Enable managed AAD feature for cluster (also migrates a legacy AAD cluster).
    #[arg(long)]
    pub enable_aad: bool,
    /// Comma-separated list of aad group object IDs that will be set as cluster admin ("" clears the list).
    #[arg(long, value_name = "IDS")]
    pub aad_admin_group_object_ids: Option<String>,
    /// The ID of an Azure Active Directory tenant.
    #[arg(long, value_name = "ID")]
    pub aad_tenant_id: Option<String>,
    /// Enable Azure RBAC to control authorization checks on cluster.
    #[arg(long)]
    pub enable_azure_rbac: bool,
    /// Disable Azure RBAC to control authorization checks on cluster.
    #[arg(long)]
    pub disable_azure_rbac: bool,
    /// If set to true, getting static credential will be disabled for this cluster.
    #[arg(long)]
    pub disable_local_accounts: bool,
    /// If set to true, will enable getting static credential for this cluster.
    #[arg(long)]
    pub enable_local_accounts: bool,
    /// Space-separated tags: key[=value] [key[=value] ...]. Use "" to clear existing tags.
    #[arg(long, num_args = 0..)]
    pub tags: Option<Vec<String>>,
    /// Do not prompt for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Do not wait for the long-running operation to finish.
    #[arg(long)]
    pub no_wait: bool,
}

/// `aks get-credentials` flags (az-cli-aks.md §1.4).
#[derive(Debug, Args)]
pub struct GetCredentialsArgs {
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Get cluster administrator credentials. Default: cluster user credentials. On clusters with Microsoft Entra
    /// integration, this bypasses Entra authentication.
    #[arg(long, short = 'a')]
    pub admin: bool,
    /// Kubernetes configuration file to update. Use "-" to print YAML to stdout instead.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<String>,
    /// If specified, overwrite the default context name. The `--admin` parameter takes precedence over `--context`.
    #[arg(long)]
    pub context: Option<String>,
    /// Overwrite any existing cluster entry with the same name.
    #[arg(long)]
    pub overwrite_existing: bool,
    /// Get private clusters credential with server address to be public fqdn.
    #[arg(long)]
    pub public_fqdn: bool,
    /// Specify the format of the returned credential. Available values are ["exec", "azure"]. Only take effect
    /// when requesting clusterUser credential of AAD clusters.
    #[arg(long)]
    pub format: Option<String>,
}

/// `aksctl cloud ...`
#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// Register a cloud.
    ///
    /// Example: aksctl cloud register --name MyCloud --endpoint-resource-manager https://127.0.0.1:8443/
    Register(CloudRegisterArgs),
    /// Set the active cloud.
    Set(CloudNameArgs),
    /// List registered clouds.
    List,
    /// Get the details of a registered cloud (default: the active one).
    Show(CloudShowArgs),
    /// Unregister a cloud.
    Unregister(CloudNameArgs),
}

/// `cloud register` flags.
#[derive(Debug, Args)]
pub struct CloudRegisterArgs {
    /// Name of a registered cloud.
    #[arg(long, short = 'n')]
    pub name: String,
    /// The resource management endpoint; other endpoints are discovered from `{URL}metadata/endpoints`.
    #[arg(long)]
    pub endpoint_resource_manager: String,
    /// Do not discover endpoints; take them from the flags.
    #[arg(long)]
    pub skip_endpoint_discovery: bool,
    /// The Active Directory login endpoint (authority host).
    #[arg(long)]
    pub endpoint_active_directory: Option<String>,
    /// The resource ID to obtain AD tokens for ARM (the token audience).
    #[arg(long)]
    pub endpoint_active_directory_resource_id: Option<String>,
    /// The Microsoft Graph endpoint.
    #[arg(long)]
    pub endpoint_microsoft_graph_resource_id: Option<String>,
}

/// A cloud name.
#[derive(Debug, Args)]
pub struct CloudNameArgs {
    /// Name of a registered cloud.
    #[arg(long, short = 'n')]
    pub name: String,
}

/// `cloud show` flags.
#[derive(Debug, Args)]
pub struct CloudShowArgs {
    /// Name of a registered cloud (default: the active cloud).
    #[arg(long, short = 'n')]
    pub name: Option<String>,
}

/// `aksctl account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Set a subscription to be the current active subscription.
    Set(AccountSetArgs),
    /// Get the details of a subscription (default: the active one).
    Show,
    /// List the subscriptions the credential can see.
    List,
}

/// `account set` flags.
#[derive(Debug, Args)]
pub struct AccountSetArgs {
    /// Name or ID of subscription.
    #[arg(
        long = "name",
        short = 'n',
        visible_alias = "subscription",
        short_alias = 's',
        value_name = "NAME_OR_ID"
    )]
    pub subscription: String,
}

/// `aksctl emulator ...`
#[derive(Debug, Subcommand)]
pub enum EmulatorCommand {
    /// Serve the local cloud on 127.0.0.1. Prints one JSON line with its endpoints and credentials, then runs until
    /// interrupted.
    Serve(EmulatorServeArgs),
}

/// `emulator serve` flags.
#[derive(Debug, Args, Clone)]
pub struct EmulatorServeArgs {
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Persist state to this JSON file and load it at start.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Directory for the CA certificate and other files (default: a directory under the config dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// InProgress answers before a long-running operation completes.
    #[arg(long, default_value_t = 1)]
    pub lro_polls: u32,
    /// Retry-After seconds on long-running operation answers.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
}
