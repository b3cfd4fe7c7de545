//! The command tree, az's flag names and short aliases. These structs hold no logic: their doc comments are the
//! help text, and `settings` turns them into what commands run with.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod deferred;
pub use deferred::Deferred;

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

/// `--query` is compiled while parsing, as az does (its `jmespath_type`): a bad expression is a usage error
/// (exit 2) before any request is sent, not a failure after a write.
fn jmespath_query(value: &str) -> Result<String, String> {
    jmespath::compile(value)
        .map(|_| value.to_owned())
        .map_err(|error| format!("invalid jmespath_type value: '{value}' ({error})"))
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
    #[arg(long, global = true, value_name = "JMESPATH", value_parser = jmespath_query)]
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
    Group(Deferred<GroupCommand>),
    /// Manage Azure Kubernetes Services.
    #[command(subcommand)]
    Aks(Deferred<AksCommand>),
    /// Manage registered Azure clouds.
    #[command(subcommand)]
    Cloud(Deferred<CloudCommand>),
    /// Manage Azure subscription information.
    #[command(subcommand)]
    Account(Deferred<AccountCommand>),
    /// Log in to Azure: a browser sign-in by default, into the Azure CLI's own files (`AZURE_CONFIG_DIR`), so
    /// az and aksctl share the login.
    ///
    /// Examples:
    ///
    ///   aksctl login
    ///   aksctl login --use-device-code
    ///   aksctl login --use-paste-back        (SSH, WSL, containers: open the URL anywhere, paste the redirect)
    ///   aksctl login --tenant contoso.onmicrosoft.com --allow-no-subscriptions
    ///   aksctl login --service-principal -u APP_ID -p SECRET_OR_PEM_PATH --tenant TENANT_ID
    ///   aksctl login --service-principal -u APP_ID --certificate cert.pem --tenant TENANT_ID
    #[command(verbatim_doc_comment)]
    Login(Deferred<LoginArgs>),
    /// Log out to remove access to Azure subscriptions (az logout: the account's tokens and profile entries).
    Logout(Deferred<LogoutArgs>),
    /// Run the local cloud emulator (ARM, Entra and Kubernetes API on 127.0.0.1).
    #[command(subcommand)]
    Emulator(Deferred<EmulatorCommand>),
    /// kubelogin mode: Azure/kubelogin 0.2.19's commands (get-token, convert-kubeconfig, remove-cache-dir, …).
    ///
    /// The same as running this binary under the name `kubelogin` (a symlink or copy). See `aksctl kubelogin --help`.
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Kubelogin(KubeloginArgs),
    /// Show aksctl's version, the API versions it speaks, the kubelogin release it follows and kubectl's version.
    ///
    /// kubectl's client version is read with `kubectl version --client -o json` run against a throw-away kubeconfig and home directory, so no cluster is contacted. `aksctl --version` prints aksctl's version alone.
    ///
    /// Examples:
    ///
    ///   aksctl version
    ///   aksctl version -o table
    #[command(verbatim_doc_comment)]
    Version,
    /// Print a shell completion script, or the manual page, generated from the command definitions.
    ///
    /// Examples:
    ///
    ///   Load completions into the current bash session (add the line to ~/.bashrc to keep them):
    ///     source <(aksctl completion bash)
    ///
    ///   zsh (a directory on $fpath), fish, PowerShell:
    ///     aksctl completion zsh > "${fpath[1]}/_aksctl"
    ///     aksctl completion fish > ~/.config/fish/completions/aksctl.fish
    ///     aksctl completion powershell | Out-String | Invoke-Expression
    ///
    ///   The manual page, or one page per command in a directory:
    ///     aksctl completion man > aksctl.1 && man ./aksctl.1
    ///     aksctl completion man --dir /usr/local/share/man/man1
    #[command(verbatim_doc_comment)]
    Completion(Deferred<CompletionArgs>),
    /// Manage Microsoft Entra ID (Azure Active Directory) Graph entities needed for Role Based Access Control.
    #[command(subcommand)]
    Ad(Deferred<AdCommand>),
    /// Manage Azure role-based access control (Azure RBAC): role assignments and role definitions.
    #[command(subcommand)]
    Role(Deferred<RoleCommand>),
    /// Check a cluster and the current kubeconfig: kubectl and kubelogin, the sign-in, Entra integration.
    ///
    /// No az equivalent. Each check is pass, warn or fail, with the fix to apply. kubectl is only asked for its
    /// client version, in isolation (a throw-away kubeconfig and home directory); no cluster is contacted.
    /// Exits 1 when any check fails.
    ///
    /// Examples:
    ///
    ///   aksctl doctor -g MyResourceGroup -n MyManagedCluster
    ///   aksctl doctor -g MyResourceGroup -n MyManagedCluster -o json
    #[command(verbatim_doc_comment)]
    Doctor(DoctorArgs),
}

/// `aksctl role ...` (az role; docs/az-behaviour.md, "Role assignments").
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Manage role assignments.
    #[command(subcommand)]
    Assignment(RoleAssignmentCommand),
    /// Manage role definitions.
    #[command(subcommand)]
    Definition(RoleDefinitionCommand),
}

/// `aksctl role assignment ...`
#[derive(Debug, Subcommand)]
pub enum RoleAssignmentCommand {
    /// Create a new role assignment for a user, group, or service principal.
    ///
    /// Examples:
    ///
    ///   Give the non-admin service principal admin credentials of a cluster (the guide's troubleshooting path):
    ///     aksctl role assignment create --assignee <app-id> \
    ///         --role "Azure Kubernetes Service Cluster Admin Role" --scope <cluster-resource-id>
    ///   By object id, without asking Microsoft Graph:
    ///     aksctl role assignment create --assignee-object-id <object-id> --assignee-principal-type Group \
    ///         --role "Azure Kubernetes Service Cluster User Role" --scope <cluster-resource-id>
    ///
    /// Exit codes: 2 for a missing --role or --scope; 1 for an unknown role, an assignee Graph does not
    /// know, an invalid scope or an ARM refusal (nothing is created then).
    #[command(verbatim_doc_comment)]
    Create(RoleAssignmentCreateArgs),
    /// List role assignments.
    ///
    /// By default, only assignments scoped to the current subscription are displayed. To view assignments
    /// scoped by resource or group, use `--all`.
    ///
    /// Examples:
    ///
    ///   aksctl role assignment list --scope <cluster-resource-id> -o table
    ///   aksctl role assignment list --all --assignee <app-id>
    #[command(verbatim_doc_comment)]
    List(RoleAssignmentListArgs),
    /// Delete role assignments.
    ///
    /// Examples:
    ///
    ///   aksctl role assignment delete --assignee <app-id> \
    ///       --role "Azure Kubernetes Service Cluster Admin Role" --scope <cluster-resource-id>
    ///   aksctl role assignment delete --ids <assignment-id> [<assignment-id> ...]
    #[command(verbatim_doc_comment)]
    Delete(RoleAssignmentDeleteArgs),
}

/// `aksctl role definition ...`
#[derive(Debug, Subcommand)]
pub enum RoleDefinitionCommand {
    /// List role definitions.
    ///
    /// Examples:
    ///
    ///   aksctl role definition list --name "Azure Kubernetes Service Cluster Admin Role"
    ///   aksctl role definition list --custom-role-only -o table
    #[command(verbatim_doc_comment)]
    List(RoleDefinitionListArgs),
    /// Get the details of a role definition (`--scope` and `--name`, or `--id`).
    Show(RoleDefinitionShowArgs),
}

/// Principal types a role assignment may name (az's `--assignee-principal-type` choices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrincipalType {
    /// A group of another tenant.
    #[value(name = "ForeignGroup")]
    ForeignGroup,
    /// A Microsoft Entra group.
    #[value(name = "Group")]
    Group,
    /// A service principal (an application or a managed identity).
    #[value(name = "ServicePrincipal")]
    ServicePrincipal,
    /// A user.
    #[value(name = "User")]
    User,
}

/// `role assignment create` flags.
#[derive(Debug, Args)]
pub struct RoleAssignmentCreateArgs {
    /// Role name or id.
    #[arg(long)]
    pub role: String,
    /// Scope at which the role assignment applies to, e.g. /subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333,
    /// /subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/myGroup, or a resource id.
    #[arg(long)]
    pub scope: String,
    /// Represent a user or service principal. Supported format: object id, user sign-in name, or service principal
    /// name.
    #[arg(long)]
    pub assignee: Option<String>,
    /// Use this parameter instead of '--assignee' to bypass Graph API invocation in case of insufficient
    /// privileges. This parameter only works with object ids for users, groups, service principals, and managed
    /// identities.
    #[arg(long)]
    pub assignee_object_id: Option<String>,
    /// Use with --assignee-object-id to avoid errors caused by propagation latency in Microsoft Graph.
    #[arg(long, value_enum, ignore_case = true)]
    pub assignee_principal_type: Option<PrincipalType>,
    /// Description of role assignment.
    #[arg(long)]
    pub description: Option<String>,
    /// Condition under which the user can be granted permission.
    #[arg(long)]
    pub condition: Option<String>,
    /// Version of the condition syntax. If --condition is specified without --condition-version, default to 2.0.
    #[arg(long)]
    pub condition_version: Option<String>,
    /// A GUID for the role assignment. It must be unique and different for each role assignment. If omitted, a
    /// new GUID is generated.
    #[arg(long, short = 'n')]
    pub name: Option<String>,
}

/// The selectors `role assignment list` and `delete` share.
#[derive(Debug, Args)]
pub struct RoleAssignmentFilterArgs {
    /// Represent a user, group, or service principal. Supported format: object id, user sign-in name, or service
    /// principal name.
    #[arg(long)]
    pub assignee: Option<String>,
    /// Use this parameter instead of '--assignee' to bypass Graph API invocation in case of insufficient
    /// privileges.
    #[arg(long)]
    pub assignee_object_id: Option<String>,
    /// Role name or id.
    #[arg(long)]
    pub role: Option<String>,
    /// Scope at which the role assignment applies to.
    #[arg(long)]
    pub scope: Option<String>,
    /// Use it only if the role or assignment was added at the level of a resource group.
    #[arg(long, short = 'g')]
    pub resource_group: Option<String>,
    /// Include assignments applied on parent scopes.
    #[arg(long)]
    pub include_inherited: bool,
}

/// `role assignment list` flags.
#[derive(Debug, Args)]
pub struct RoleAssignmentListArgs {
    /// Which assignments.
    #[command(flatten)]
    pub filter: RoleAssignmentFilterArgs,
    /// Show all assignments under the current subscription.
    #[arg(long)]
    pub all: bool,
    /// Include extra assignments to the groups of which the user is a member (transitively).
    #[arg(long)]
    pub include_groups: bool,
    /// Fill principalName property with the principal's display name: true (default) or false.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub fill_principal_name: Option<String>,
    /// Fill roleDefinitionName property with the role's name: true (default) or false.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub fill_role_definition_name: Option<String>,
}

/// `role assignment delete` flags.
#[derive(Debug, Args)]
pub struct RoleAssignmentDeleteArgs {
    /// Space-separated role assignment ids.
    #[arg(long, num_args = 1..)]
    pub ids: Vec<String>,
    /// Which assignments.
    #[command(flatten)]
    pub filter: RoleAssignmentFilterArgs,
    /// Currently no-op.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// `role definition list` flags.
#[derive(Debug, Args)]
pub struct RoleDefinitionListArgs {
    /// A role's name (e.g. Reader) or its GUID.
    #[arg(long, short = 'n')]
    pub name: Option<String>,
    /// Scope at which the role definition applies to.
    #[arg(long)]
    pub scope: Option<String>,
    /// Use it only if the role was added at the level of a resource group.
    #[arg(long, short = 'g')]
    pub resource_group: Option<String>,
    /// Custom roles only (vs. built-in ones): true or false.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub custom_role_only: Option<String>,
}

/// `role definition show` flags.
#[derive(Debug, Args)]
pub struct RoleDefinitionShowArgs {
    /// Scope of the role definition.
    #[arg(long)]
    pub scope: Option<String>,
    /// The role definition's name (GUID).
    #[arg(long, short = 'n')]
    pub name: Option<String>,
    /// The fully qualified role definition id.
    #[arg(long)]
    pub id: Option<String>,
}

/// `aksctl ad ...`
#[derive(Debug, Subcommand)]
pub enum AdCommand {
    /// Manage Microsoft Entra groups.
    #[command(subcommand)]
    Group(AdGroupCommand),
}

/// `aksctl ad group ...` (az ad group; docs/graph-groups.md).
#[derive(Debug, Subcommand)]
pub enum AdGroupCommand {
    /// Create a group.
    ///
    /// Examples:
    ///
    ///   aksctl ad group create --display-name myAKSAdminGroup --mail-nickname myAKSAdminGroup
    #[command(verbatim_doc_comment)]
    Create(AdGroupCreateArgs),
    /// Get the details of a group.
    ///
    /// Example: aksctl ad group show -g "Dev Team" --query id -o tsv
    Show(AdGroupArgs),
    /// List groups in the directory.
    List(AdGroupListArgs),
    /// Delete a group.
    Delete(AdGroupArgs),
    /// Manage the members of a group.
    #[command(subcommand)]
    Member(AdGroupMemberCommand),
}

/// `aksctl ad group member ...`
#[derive(Debug, Subcommand)]
pub enum AdGroupMemberCommand {
    /// Add a member to a group.
    ///
    /// Example: aksctl ad group member add -g myAKSAdminGroup --member-id <object-id>
    Add(AdGroupMemberArgs),
    /// Get the members of a group.
    List(AdGroupArgs),
    /// Check if a member is in a group.
    Check(AdGroupMemberArgs),
}

/// `ad group create` flags.
#[derive(Debug, Args)]
pub struct AdGroupCreateArgs {
    /// Object's display name.
    #[arg(long)]
    pub display_name: String,
    /// Mail nickname.
    #[arg(long)]
    pub mail_nickname: String,
    /// Group description.
    #[arg(long)]
    pub description: Option<String>,
    /// Always create a new group instead of updating the one with same display and mail nickname.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub force: Option<String>,
}

/// A group: its object id or display name.
#[derive(Debug, Args)]
pub struct AdGroupArgs {
    /// Group's object id or display name (prefix also works if there is a unique match).
    #[arg(long, short = 'g')]
    pub group: String,
}

/// `ad group list` flags.
#[derive(Debug, Args)]
pub struct AdGroupListArgs {
    /// Object's display name or its prefix.
    #[arg(long)]
    pub display_name: Option<String>,
    /// OData filter, e.g. --filter "displayname eq 'test' and servicePrincipalType eq 'Application'".
    #[arg(long)]
    pub filter: Option<String>,
}

/// `ad group member add|check` flags.
#[derive(Debug, Args)]
pub struct AdGroupMemberArgs {
    /// Group's object id or display name (prefix also works if there is a unique match).
    #[arg(long, short = 'g')]
    pub group: String,
    /// The object ID of the contact, group, user, or service principal.
    #[arg(long)]
    pub member_id: String,
}

/// `doctor` flags.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output format (default for this command: one line per check for people; `-o json` for pipelines).
    #[arg(long, short = 'o', value_enum)]
    pub output: Option<OutputFormat>,
}

/// `aksctl kubelogin ARGS...`: everything after `kubelogin` goes to kubelogin mode unchanged.
#[derive(Debug, Args)]
pub struct KubeloginArgs {
    /// kubelogin's command line.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<std::ffi::OsString>,
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
    /// Examples:
    ///
    ///   The guide: a cluster with AKS-managed Microsoft Entra integration:
    ///     aksctl aks create -g myResourceGroup -n myManagedCluster --enable-aad --aad-admin-group-object-ids <id> [--aad-tenant-id <id>] --generate-ssh-keys
    ///
    ///   Create a kubernetes cluster with AKS-managed AAD integration:
    ///     aksctl aks create -g MyResourceGroup -n MyManagedCluster --enable-aad --aad-admin-group-object-ids <id-1,id-2> --aad-tenant-id <id>
    ///
    ///   Create a kubernetes cluster with Azure RBAC enabled:
    ///     aksctl aks create -g MyResourceGroup -n MyManagedCluster --enable-aad --enable-azure-rbac
    #[command(verbatim_doc_comment)]
    Create(Deferred<Box<AksCreateArgs>>),
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
    Update(Deferred<Box<AksUpdateArgs>>),
    /// Show the details for a managed Kubernetes cluster.
    Show(ClusterArgs),
    /// List managed Kubernetes clusters.
    List(AksListArgs),
    /// Delete a managed Kubernetes cluster.
    Delete(AksDeleteArgs),
    /// Install kubelogin (a link to aksctl, which runs as kubelogin under that name) and check kubectl.
    ///
    /// Downloads nothing. Creates DIR/kubelogin as a symbolic link to the running aksctl (a copy where links are not possible); a `kubelogin` that is already this aksctl is left as is, any other file is only replaced with --force.
    ///
    /// Reports on stderr whether DIR is on PATH, whether kubectl is installed and its client version, and with -g/-n whether that version is within one minor version of the cluster's Kubernetes version.
    ///
    /// Examples:
    ///
    ///   Install kubelogin into ~/.local/bin:
    ///     aksctl aks install-cli
    ///
    ///   Install it system-wide and check kubectl against a cluster:
    ///     sudo aksctl aks install-cli --install-location /usr/local/bin -g MyResourceGroup -n MyManagedCluster
    #[command(verbatim_doc_comment)]
    InstallCli(Deferred<InstallCliArgs>),
    /// Get access credentials for a managed Kubernetes cluster.
    ///
    /// Example (the guide): aksctl aks get-credentials --resource-group myResourceGroup --name myManagedCluster
    /// [--format exec|azure]
    GetCredentials(GetCredentialsArgs),
    /// Check what the signed-in principal may do with a managed Kubernetes cluster.
    ///
    /// Reports who you are (from the credential's token), your transitive Entra groups, whether you may list the
    /// user and admin credentials (Azure RBAC), whether local accounts are on, whether you are in an admin group,
    /// and what the cluster's API server lets you do (SelfSubjectAccessReviews cluster-wide and in --namespace).
    /// Exits 0 when you can reach the cluster as a user, 1 when not, naming the missing role or binding and the
    /// command that grants it. --wait re-checks with back-off until access appears (role propagation).
    ///
    /// Examples:
    ///
    ///   aksctl aks access check -g MyResourceGroup -n MyManagedCluster --namespace dev -o json
    ///   aksctl aks access check -g MyResourceGroup -n MyManagedCluster --wait 5m
    #[command(subcommand, verbatim_doc_comment)]
    Access(Deferred<AccessCommand>),
    /// Migrate a fleet of legacy AAD clusters to AKS-managed Microsoft Entra integration.
    ///
    /// Each cluster gets what `aks update --enable-aad` gives it. Clusters come from --ids,
    /// --from-file, or discovery in each --subscription (and --resource-group). --dry-run
    /// prints the plan; --yes skips the confirmation. Clusters are migrated --concurrency at a
    /// time, slowing down when ARM throttles; every step is recorded in a journal, --resume
    /// continues an interrupted run. A cluster that would have no admin path afterwards (local
    /// accounts disabled, no admin group with a member) is held back unless --allow-lockout.
    /// After each migration, the admin group's access is checked when you are a member of it.
    /// Ends with a report; exits 1 if any cluster failed or its admin access check failed.
    ///
    /// Examples:
    ///
    ///   Show what would happen in one resource group:
    ///     aksctl aks migrate -g MyResourceGroup --aad-admin-group-object-ids <id>
    ///       --aad-tenant-id <id> --dry-run
    ///
    ///   Migrate every legacy AAD cluster of two subscriptions, 20 at a time:
    ///     aksctl aks migrate --subscription <sub-1> --subscription <sub-2>
    ///       --aad-admin-group-object-ids <id> --concurrency 20 --yes
    ///
    ///   Continue after an interruption:
    ///     aksctl aks migrate --resume ~/.aksctl/migrations/<timestamp>.jsonl --yes
    #[command(verbatim_doc_comment)]
    Migrate(Box<AksMigrateArgs>),
}

/// `aks migrate` flags (the fleet form of `aks update --enable-aad` on legacy AAD clusters).
#[derive(Debug, Args)]
pub struct AksMigrateArgs {
    /// Subscription to search (name or id); repeat for several. Default: the active subscription.
    #[arg(long, value_name = "SUBSCRIPTION", action = clap::ArgAction::Append)]
    pub subscription: Vec<String>,
    /// Only this resource group (in each subscription).
    #[arg(long, short = 'g')]
    pub resource_group: Option<String>,
    /// Cluster resource ids (space-separated or repeated) instead of discovery.
    #[arg(long, num_args = 1.., value_name = "ID")]
    pub ids: Vec<String>,
    /// A file of cluster resource ids: one per line (`#` comments allowed), or a JSON array of ids or of objects
    /// with an `id` (such as `aksctl aks list -o json`); an object's `adminGroupObjectIds` gives its cluster its
    /// own admin groups instead of --aad-admin-group-object-ids.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Comma-separated list of aad group object IDs that will be set as cluster admin.
    #[arg(long, value_name = "IDS")]
    pub aad_admin_group_object_ids: Option<String>,
    /// The ID of an Azure Active Directory tenant (default: the subscription's tenant).
    #[arg(long, value_name = "ID")]
    pub aad_tenant_id: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Clusters migrated at the same time in each subscription (ARM's write budget is per subscription).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub concurrency: u32,
    /// Journal file (JSON lines). Default: `$AKSCTL_CONFIG_DIR/migrations/<timestamp>.jsonl`.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Continue the run recorded in this journal (its clusters, groups and tenant); finished clusters are not
    /// touched again, in-flight ones are re-read.
    #[arg(long, value_name = "JOURNAL")]
    pub resume: Option<PathBuf>,
    /// Merge each migrated cluster's new user credentials into the kubeconfig (as `aks get-credentials
    /// --overwrite-existing`).
    #[arg(long)]
    pub refresh_credentials: bool,
    /// Kubeconfig file for --refresh-credentials (default: as `aks get-credentials`).
    #[arg(
        long,
        short = 'f',
        value_name = "FILE",
        requires = "refresh_credentials"
    )]
    pub file: Option<String>,
    /// Migrate clusters that would have no admin path afterwards (local accounts disabled and no admin group with
    /// a member); without it they are held back (plan action `skip`).
    #[arg(long)]
    pub allow_lockout: bool,
    /// Output format (default for this command: table).
    #[arg(long, short = 'o', value_enum)]
    pub output: Option<OutputFormat>,
    /// Do not prompt for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
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

/// `aks create` flags (docs/az-behaviour.md, "aks create").
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
    /// Write the ARM deployment template that creates this cluster (the body az would PUT) to FILE instead of
    /// creating it ("-" prints it to stdout). All checks still run; nothing is written to Azure.
    #[arg(long, value_name = "FILE")]
    pub export_template: Option<String>,
}

/// `aks update` flags (docs/az-behaviour.md, "aks update").
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
    /// Write the ARM deployment template of the updated cluster (the whole resource az would PUT) to FILE instead
    /// of updating it ("-" prints it to stdout). The cluster is read, nothing is written to Azure.
    #[arg(long, value_name = "FILE")]
    pub export_template: Option<String>,
}

/// `aksctl aks access ...`
#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Check your access to a managed Kubernetes cluster (see `aksctl aks access --help`).
    Check(AccessCheckArgs),
}

/// `aks access check` flags.
#[derive(Debug, Args)]
pub struct AccessCheckArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The namespace to check Kubernetes access in.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Re-check with back-off until access appears or this long has passed (e.g. 90s, 2m, 1h).
    #[arg(long)]
    pub wait: Option<String>,
}

/// `aks get-credentials` flags (docs/az-behaviour.md, "aks get-credentials").
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

/// `aksctl account ...` (az account, on az's own files).
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Set a subscription to be the current active subscription.
    Set(AccountSetArgs),
    /// Get the details of a subscription (default: the active one).
    Show(AccountSubscriptionArgs),
    /// Get a list of subscriptions for the logged in account (enabled ones of the active cloud unless --all).
    List(AccountListArgs),
    /// Clear all subscriptions from the CLI's local cache (az account clear).
    Clear,
    /// Get a token for utilities to access Azure.
    ///
    /// Examples:
    ///
    ///   aksctl account get-access-token
    ///   aksctl account get-access-token --resource https://graph.microsoft.com
    ///   aksctl account get-access-token --scope 6dae42f8-4368-4678-94ff-3960e28e3630/.default
    #[command(verbatim_doc_comment)]
    GetAccessToken(GetAccessTokenArgs),
}

/// `account show` flags.
#[derive(Debug, Args)]
pub struct AccountSubscriptionArgs {
    /// Name or ID of subscription.
    #[arg(
        long = "name",
        short = 'n',
        visible_alias = "subscription",
        short_alias = 's',
        value_name = "NAME_OR_ID"
    )]
    pub subscription: Option<String>,
}

/// `account list` flags.
#[derive(Debug, Args)]
pub struct AccountListArgs {
    /// List all subscriptions from all clouds, rather than just 'Enabled' ones.
    #[arg(long)]
    pub all: bool,
}

/// `account get-access-token` flags.
#[derive(Debug, Args)]
pub struct GetAccessTokenArgs {
    /// `--name`/`--subscription`/`-s`.
    #[command(flatten)]
    pub account: AccountSubscriptionArgs,
    /// Azure resource endpoints in AAD v1.0.
    #[arg(long, conflicts_with = "scope")]
    pub resource: Option<String>,
    /// Space-separated AAD scopes in AAD v2.0. Default to Azure Resource Manager.
    #[arg(long, num_args = 1..)]
    pub scope: Option<Vec<String>>,
    /// Tenant ID for which the token is acquired. Only available for user and service principal account, not for
    /// MSI or Cloud Shell account.
    #[arg(long, short = 't')]
    pub tenant: Option<String>,
}

/// `aksctl login` flags (az login).
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// User name, service principal client id, or managed identity id (with --identity, prefer --client-id).
    #[arg(long, short = 'u')]
    pub username: Option<String>,
    /// Credentials like a service principal secret, or the path of a PEM file with its certificate and key.
    #[arg(long, short = 'p')]
    pub password: Option<String>,
    /// Log in with a service principal.
    #[arg(long)]
    pub service_principal: bool,
    /// The Microsoft Entra tenant, as a tenant id or a domain (e.g. contoso.onmicrosoft.com).
    #[arg(long, short = 't')]
    pub tenant: Option<String>,
    /// Support access tenants without subscriptions. It's uncommon but useful to run tenant level commands.
    #[arg(long)]
    pub allow_no_subscriptions: bool,
    /// Use the device code flow instead of the browser.
    #[arg(long)]
    pub use_device_code: bool,
    /// No az equivalent: print the sign-in URL, open it in a browser anywhere, and paste the address the browser
    /// ends on (http://localhost/?code=...) back here. For SSH sessions, WSL and containers.
    #[arg(long, conflicts_with = "use_device_code")]
    pub use_paste_back: bool,
    /// Used in the /authorize request. It can cover only one static resource.
    #[arg(long)]
    pub scope: Option<String>,
    /// A PEM file with the service principal's certificate and private key (--service-principal).
    #[arg(long)]
    pub certificate: Option<PathBuf>,
    /// Use Subject Name + Issuer authentication in order to support automatic certificate rolls.
    #[arg(long)]
    pub use_cert_sn_issuer: bool,
    /// Use federated token that can be used for OIDC token exchange (--service-principal).
    #[arg(long)]
    pub federated_token: Option<String>,
    /// Log in using managed identity.
    #[arg(long)]
    pub identity: bool,
    /// The client id of a user-assigned identity (--identity).
    #[arg(long, requires = "identity")]
    pub client_id: Option<String>,
    /// The object id of a user-assigned identity (--identity).
    #[arg(long, requires = "identity")]
    pub object_id: Option<String>,
    /// The resource id of a user-assigned identity (--identity).
    #[arg(long, requires = "identity")]
    pub resource_id: Option<String>,
}

/// `aksctl logout` flags.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Account user; if missing, logout the current active account.
    #[arg(long, short = 'u')]
    pub username: Option<String>,
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
    /// Serve the local cloud on 127.0.0.1. Prints one JSON line with its endpoints and credentials,
    /// then runs until interrupted.
    ///
    /// Exec kubeconfigs of its clusters set AZURE_AUTHORITY_HOST and REQUESTS_CA_BUNDLE for
    /// kubelogin, so kubectl signs in at the emulator with nothing exported.
    ///
    /// Examples:
    ///
    ///   aksctl emulator serve --data-dir /tmp/emulator > ready.json &
    ///
    ///   Seed it from another shell (legacy-AAD clusters, or a seed file), with the ready
    ///   line's `management` URL and its CA trusted:
    ///     export REQUESTS_CA_BUNDLE=/tmp/emulator/ca.pem
    ///     aksctl emulator seed --legacy-cluster myResourceGroup/myLegacyCluster \
    ///         --management https://127.0.0.1:PORT/_emulator/
    ///     aksctl emulator seed seed.json --management https://127.0.0.1:PORT/_emulator/
    #[command(verbatim_doc_comment)]
    Serve(EmulatorServeArgs),
    /// Seed a running emulator through its management API (`POST /_emulator/seed`).
    ///
    /// Resource groups and clusters are stored as if created and already Succeeded; AKS's rules
    /// are not enforced, so legacy or odd clusters can exist.
    ///
    /// FILE (`-`: standard input) is a seed document:
    ///   {"resource_groups": [{"name", "location"}],
    ///    "clusters": [{"resource_group", "name", "body": <ManagedCluster JSON>}]}
    /// Each --legacy-cluster RG/NAME adds a legacy-AAD cluster (its own server and client
    /// applications, Kubernetes RBAC on, Kubernetes 1.32, one node pool) in resource group RG,
    /// created in eastus if missing. The emulator's CA is trusted from REQUESTS_CA_BUNDLE or
    /// SSL_CERT_FILE, as by every other command. Prints the emulator's answer (what was seeded).
    ///
    /// Exit codes: 2 for a --legacy-cluster value that is not RG/NAME or a --management value
    /// that is not an http(s) URL; 1 for an invalid name, an unreadable FILE, a FILE that is not
    /// a JSON object, or an emulator that cannot be reached or refuses the seed (nothing is
    /// seeded then).
    ///
    /// Examples:
    ///
    ///   aksctl emulator seed --legacy-cluster myResourceGroup/myLegacyCluster \
    ///       --management https://127.0.0.1:PORT/_emulator/
    ///   aksctl emulator seed seed.json --management https://127.0.0.1:PORT/_emulator/
    ///   aksctl emulator seed - --legacy-cluster rg2/old --management URL < seed.json
    #[command(verbatim_doc_comment)]
    Seed(EmulatorSeedArgs),
}

/// `emulator seed` arguments.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["file", "legacy_clusters"])))]
pub struct EmulatorSeedArgs {
    /// A seed document to send (`-` reads standard input).
    #[arg(value_name = "FILE|-")]
    pub file: Option<PathBuf>,
    /// Add a legacy-AAD cluster NAME in resource group RG (created if missing). Repeatable.
    #[arg(long = "legacy-cluster", value_name = "RG/NAME")]
    pub legacy_clusters: Vec<String>,
    /// The emulator's management URL: the `management` field of `emulator serve`'s ready line.
    #[arg(long, value_name = "URL")]
    pub management: String,
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

/// `aks install-cli` flags.
#[derive(Debug, Args)]
pub struct InstallCliArgs {
    /// Directory to put `kubelogin` in (default: ~/.local/bin; created if missing).
    #[arg(long, value_name = "DIR")]
    pub install_location: Option<PathBuf>,
    /// Replace an existing `kubelogin` in the directory that is not this aksctl.
    #[arg(long)]
    pub force: bool,
    /// Resource group of a cluster to check kubectl's version against (with --name).
    #[arg(long, short = 'g', requires = "name")]
    pub resource_group: Option<String>,
    /// Name of a managed cluster to check kubectl's version against (with --resource-group).
    #[arg(long, short = 'n', requires = "resource_group")]
    pub name: Option<String>,
}

/// `completion` arguments.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete in, or `man` for the manual page.
    #[arg(value_enum)]
    pub shell: CompletionShell,
    /// With `man`: write one page per command into this directory and print their paths.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// What `completion` generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
    /// PowerShell.
    Powershell,
    /// The roff manual page (`man 1 aksctl`).
    Man,
}
