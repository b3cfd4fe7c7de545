//! `aksctl doctor -g RG -n NAME`: check a cluster and the current kubeconfig the way the kubelogin guide asks an
//! operator to, and say how to fix what is wrong. No az equivalent.
//!
//! Each check is pass, warn or fail with a detail and, unless it passes, the command that fixes it. People get one
//! block per check on stdout; `-o json` (or yaml, tsv, ...) prints a list of `{check, status, detail, fix}`. The
//! command exits 1 when any check fails.
//!
//! Nothing here contacts a Kubernetes API server: kubectl (and helm) are only asked for their client versions, in
//! a throw-away kubeconfig and home directory ([`kubectl_client_version`]).

mod authority;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aks_arm::Cloud;
use aks_arm::graph::GraphClient;
use aks_kubeconfig::{Kubeconfig, MergedKubeconfig};
use aks_model::{AadMode, ManagedCluster};
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use crate::args::{DoctorArgs, OutputFormat};
use crate::context::{Context, user_agent};
use crate::env_vars;
use crate::error::CliError;
use crate::output::TableLayout;

use super::version::{find_on_path, kubectl_client_version, major_minor};

/// The first Kubernetes version whose `get-credentials` writes exec (kubelogin) kubeconfigs by default.
const EXEC_DEFAULT_SINCE: (u64, u64) = (1, 24);
/// The oldest helm that runs exec credential plugins the way kubelogin needs (the guide's requirement).
const HELM_MINIMUM: (u64, u64) = (3, 3);
/// The command that converts kubeconfig users off the removed `azure` auth-provider.
const CONVERT_COMMAND: &str = "kubelogin convert-kubeconfig -l azurecli";
/// How long `helm version` may take.
const HELM_TIMEOUT: Duration = Duration::from_secs(10);

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
struct Check {
    check: &'static str,
    status: Status,
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn pass(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Who the credential chain signs in as.
#[derive(Debug, Default)]
struct Identity {
    description: String,
    tenant: Option<String>,
    object_id: Option<String>,
    name: Option<String>,
}

/// `aksctl doctor`.
pub async fn doctor(args: DoctorArgs, context: &Context) -> Result<(), CliError> {
    super::aks::validate_cluster_args(&args.cluster)?;
    let group = &args.cluster.resource_group;
    let name = &args.cluster.name;
    let mut checks = Vec::new();

    // Sign-in and the cluster.
    let cluster = match sign_in_and_get_cluster(context, group, name).await {
        Ok((identity, cluster, graph)) => {
            checks.push(credential_check(&identity));
            checks.extend(cluster_checks(&cluster, group, name));
            if cluster.aad_mode() == AadMode::Managed {
                checks.push(
                    admin_group_check(&cluster, &identity, graph.as_ref(), group, name).await,
                );
            }
            Some(cluster)
        }
        Err(Failure::Credential(detail)) => {
            checks.push(Check::fail(
                "credential",
                detail,
                "set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) \
                 for a service principal, or run `az login`",
            ));
            None
        }
        Err(Failure::Cluster(identity, detail)) => {
            checks.push(credential_check(&identity));
            checks.push(Check::fail(
                "cluster",
                detail,
                "check the names and the subscription: aksctl aks list -o table (active subscription: \
                 aksctl account show)",
            ));
            None
        }
    };

    // The kubeconfig kubectl would read.
    let kubeconfig = read_kubeconfig();
    checks.extend(kubeconfig_checks(
        &kubeconfig,
        cluster.as_ref(),
        group,
        name,
    ));
    if let Ok(config) = context.config() {
        checks.extend(sign_in_check(&kubeconfig, &config.active(), group, name));
    }

    // Local tools.
    checks.push(kubectl_check(cluster.as_ref(), name).await);
    if let Some(helm) = helm_check().await {
        checks.push(helm);
    }

    report(&args, context, &checks)?;
    if checks.iter().any(|check| check.status == Status::Fail) {
        let failed = checks
            .iter()
            .filter(|check| check.status == Status::Fail)
            .map(|check| check.check)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(CliError::message(format!(
            "doctor found problems: {failed}"
        )));
    }
    Ok(())
}

enum Failure {
    Credential(String),
    Cluster(Identity, String),
}

/// Sign in through the chain (an ARM token), read who that is from the token, and GET the cluster.
async fn sign_in_and_get_cluster(
    context: &Context,
    group: &str,
    name: &str,
) -> Result<(Identity, ManagedCluster, Option<GraphClient>), Failure> {
    let arm = context
        .arm("doctor")
        .map_err(|error| Failure::Credential(error.display_text()))?;
    let token = arm
        .credential()
        .token(&arm.cloud().arm_scope())
        .await
        .map_err(|error| Failure::Credential(error.to_string()))?;
    let claims = jwt_claims(token.token.expose()).unwrap_or(Value::Null);
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_owned);
    let identity = Identity {
        description: arm.credential().describe(),
        tenant: text("tid"),
        object_id: text("oid"),
        name: text("upn").or_else(|| text("unique_name")),
    };
    let graph = aks_arm::http_client(&user_agent()).ok().and_then(|http| {
        GraphClient::new(
            arm.cloud(),
            http,
            arm.credential().clone(),
            Some("doctor".into()),
            None,
        )
    });
    let subscription = match context.subscription_id(&arm).await {
        Ok(subscription) => subscription,
        Err(error) => return Err(Failure::Cluster(identity, error.display_text())),
    };
    match arm.get_managed_cluster(&subscription, group, name).await {
        Ok(cluster) => Ok((identity, cluster, graph)),
        Err(error) => Err(Failure::Cluster(
            identity,
            error.az_text().replace('\n', " "),
        )),
    }
}

/// The claims of a JWT (no signature check: only to say who signed in).
fn jwt_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn credential_check(identity: &Identity) -> Check {
    let mut detail = format!("{} signs in", identity.description);
    let mut about = Vec::new();
    if let Some(name) = &identity.name {
        about.push(name.clone());
    }
    if let Some(object_id) = &identity.object_id {
        about.push(format!("object id {object_id}"));
    }
    match &identity.tenant {
        Some(tenant) => about.push(format!("tenant {tenant}")),
        None => about.push("tenant unknown: the token is not a JWT".into()),
    }
    detail.push_str(&format!(" ({})", about.join(", ")));
    Check::pass("credential", detail)
}

fn update_command(group: &str, name: &str, flags: &str) -> String {
    format!("aksctl aks update -g {group} -n {name} {flags}")
}

/// AAD mode, local accounts, Azure RBAC and the Kubernetes version.
fn cluster_checks(cluster: &ManagedCluster, group: &str, name: &str) -> Vec<Check> {
    let mut checks = Vec::new();
    let version = cluster.kubernetes_version().unwrap_or_default().to_string();
    let state = cluster
        .properties
        .provisioning_state
        .clone()
        .unwrap_or_else(|| "unknown".into());
    checks.push(Check::pass(
        "cluster",
        format!("{name} in {group}: Kubernetes {version}, provisioningState {state}"),
    ));
    let aad = cluster.properties.aad_profile.as_ref();
    checks.push(match cluster.aad_mode() {
        AadMode::Managed => Check::pass(
            "aad-mode",
            format!(
                "AKS-managed Microsoft Entra integration (tenant {})",
                aad.and_then(|aad| aad.tenant_id.clone())
                    .unwrap_or_else(|| "of the subscription".into())
            ),
        ),
        AadMode::Legacy => Check::fail(
            "aad-mode",
            "legacy Azure AD integration (client and server applications): retired; kubelogin's azurecli and \
             devicecode modes need the server application id",
            update_command(
                group,
                name,
                "--enable-aad --aad-admin-group-object-ids <group-id>",
            ),
        ),
        AadMode::None => Check::warn(
            "aad-mode",
            "no Microsoft Entra integration: kubeconfigs carry static credentials",
            update_command(
                group,
                name,
                "--enable-aad --aad-admin-group-object-ids <group-id>",
            ),
        ),
    });
    let local_disabled = cluster.properties.disable_local_accounts == Some(true);
    checks.push(match (cluster.aad_mode(), local_disabled) {
        (_, true) => Check::pass(
            "local-accounts",
            "disabled: `get-credentials --admin` is refused, every user signs in through Entra",
        ),
        (AadMode::None, false) => Check::pass(
            "local-accounts",
            "enabled (the only way in without Entra integration)",
        ),
        (_, false) => Check::warn(
            "local-accounts",
            "enabled: `aksctl aks get-credentials --admin` gives static cluster-admin credentials that bypass Entra",
            update_command(group, name, "--disable-local-accounts"),
        ),
    });
    let azure_rbac = aad.and_then(|aad| aad.enable_azure_rbac) == Some(true);
    checks.push(if azure_rbac {
        Check::pass(
            "azure-rbac",
            "enabled: Azure role assignments (Azure Kubernetes Service RBAC roles) authorize Kubernetes requests",
        )
    } else if cluster.aad_mode() == AadMode::Managed {
        Check::pass(
            "azure-rbac",
            "disabled: admin groups and Kubernetes RoleBindings authorize requests",
        )
    } else {
        Check::pass("azure-rbac", "disabled")
    });
    checks.push(match major_minor(&version) {
        Some(current) if current >= EXEC_DEFAULT_SINCE => Check::pass(
            "kubernetes-version",
            format!("{version}: get-credentials writes exec (kubelogin) kubeconfigs by default"),
        ),
        Some(_) => Check::warn(
            "kubernetes-version",
            format!(
                "{version} is older than 1.24: get-credentials writes the removed azure auth-provider by default"
            ),
            format!(
                "upgrade the cluster to 1.24 or later; meanwhile: aksctl aks get-credentials -g {group} -n {name} \
                 --format exec"
            ),
        ),
        None => Check::warn(
            "kubernetes-version",
            format!("the cluster reports no usable Kubernetes version ({version:?})"),
            format!("aksctl aks show -g {group} -n {name} --query kubernetesVersion"),
        ),
    });
    checks
}

/// Whether the signed-in identity is in one of the cluster's admin groups, asked of Graph.
async fn admin_group_check(
    cluster: &ManagedCluster,
    identity: &Identity,
    graph: Option<&GraphClient>,
    group: &str,
    name: &str,
) -> Check {
    let groups: Vec<String> = cluster
        .properties
        .aad_profile
        .as_ref()
        .map(|aad| aad.admin_groups().to_vec())
        .unwrap_or_default();
    if groups.is_empty() {
        return Check::warn(
            "admin-groups",
            "no admin groups: only Kubernetes RoleBindings (or Azure RBAC) grant access",
            update_command(group, name, "--aad-admin-group-object-ids <group-id>"),
        );
    }
    let listed = groups.join(", ");
    let (Some(graph), Some(object_id)) = (graph, identity.object_id.as_deref()) else {
        return Check::warn(
            "admin-groups",
            format!(
                "admin groups {listed}; membership of the signed-in identity not checked (no Microsoft Graph endpoint or object id)"
            ),
            "aksctl ad group member check -g <group-id> --member-id <your-object-id>",
        );
    };
    match graph.check_member_groups(object_id, &groups).await {
        Ok(member_of) if !member_of.is_empty() => Check::pass(
            "admin-groups",
            format!(
                "admin groups {listed}; the signed-in identity ({object_id}) is a member of {}",
                member_of.join(", ")
            ),
        ),
        Ok(_) => Check::warn(
            "admin-groups",
            format!(
                "admin groups {listed}; the signed-in identity ({object_id}) is in none of them, so it needs a \
                 RoleBinding{} to do anything",
                if cluster
                    .properties
                    .aad_profile
                    .as_ref()
                    .and_then(|aad| aad.enable_azure_rbac)
                    == Some(true)
                {
                    " or an Azure role assignment"
                } else {
                    ""
                }
            ),
            format!(
                "aksctl ad group member add -g {} --member-id {object_id}",
                groups[0]
            ),
        ),
        Err(error) => Check::warn(
            "admin-groups",
            format!(
                "admin groups {listed}; membership not checked: {}",
                match &error {
                    aks_arm::ArmError::Service { message, .. } => message.clone(),
                    other => other.to_string(),
                }
            ),
            format!(
                "aksctl ad group member check -g {} --member-id {object_id}",
                groups[0]
            ),
        ),
    }
}

/// The files kubectl reads: the `KUBECONFIG` list, else `~/.kube/config`.
fn kubeconfig_paths() -> Vec<PathBuf> {
    if let Some(value) = std::env::var_os(env_vars::KUBECONFIG) {
        let paths = aks_kubeconfig::split_kubeconfig_env(&value);
        if !paths.is_empty() {
            return paths;
        }
    }
    vec![crate::paths::home().join(".kube").join("config")]
}

/// What was read of the kubeconfig.
struct KubeconfigView {
    paths: Vec<PathBuf>,
    merged: MergedKubeconfig,
    errors: Vec<String>,
}

fn read_kubeconfig() -> KubeconfigView {
    let paths = kubeconfig_paths();
    let mut documents: Vec<(PathBuf, Kubeconfig)> = Vec::new();
    let mut errors = Vec::new();
    for path in &paths {
        if !path.exists() {
            continue;
        }
        match aks_kubeconfig::load_file(path) {
            Ok(Some(document)) => documents.push((path.clone(), document)),
            Ok(None) => {}
            Err(error) => errors.push(aks_arm::error_chain(&error)),
        }
    }
    KubeconfigView {
        paths,
        merged: aks_kubeconfig::kubectl_merge(&documents),
        errors,
    }
}

fn is_kubelogin(command: &str) -> bool {
    Path::new(command)
        .file_stem()
        .is_some_and(|stem| stem == "kubelogin")
}

/// The current context, the auth-provider users, and kubelogin for exec users.
fn kubeconfig_checks(
    view: &KubeconfigView,
    cluster: Option<&ManagedCluster>,
    group: &str,
    name: &str,
) -> Vec<Check> {
    let config = &view.merged.config;
    let files = view
        .paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let get_credentials = format!("aksctl aks get-credentials -g {group} -n {name}");
    if !view.errors.is_empty() {
        return vec![Check::fail(
            "kubeconfig",
            format!("cannot read the kubeconfig: {}", view.errors.join("; ")),
            format!("repair or move the file, then: {get_credentials}"),
        )];
    }
    let azure_users: Vec<String> = config
        .user_names()
        .into_iter()
        .filter(|user| config.user_auth_provider_name(user) == Some("azure"))
        .collect();
    vec![
        current_context_check(config, name, &files, &get_credentials),
        auth_provider_check(&azure_users),
        kubelogin_check(config, cluster, &azure_users),
    ]
}

/// Whether the current context is this cluster's, and how its user signs in.
fn current_context_check(
    config: &Kubeconfig,
    name: &str,
    files: &str,
    get_credentials: &str,
) -> Check {
    let current = config.current_context().filter(|name| !name.is_empty());
    let current_ref = current.and_then(|context| config.context(context));
    let for_cluster: Vec<String> = config
        .context_names()
        .into_iter()
        .filter(|context| config.context(context).is_some_and(|c| c.cluster == *name))
        .collect();
    match (current, &current_ref) {
        (Some(context), Some(reference)) if reference.cluster == *name => {
            let user = &reference.user;
            let how = signs_in_with(config, user);
            Check::pass(
                "kubeconfig",
                format!(
                    "current context {context} ({files}) is this cluster; user {user} signs in with {how}"
                ),
            )
        }
        (Some(context), _) if !for_cluster.is_empty() => Check::warn(
            "kubeconfig",
            format!(
                "current context {context} is not this cluster; {} {} it",
                for_cluster.join(", "),
                if for_cluster.len() == 1 { "is" } else { "are" }
            ),
            format!("kubectl config use-context {}", for_cluster[0]),
        ),
        _ if !for_cluster.is_empty() => Check::warn(
            "kubeconfig",
            format!(
                "no current context; {} is this cluster",
                for_cluster.join(", ")
            ),
            format!("kubectl config use-context {}", for_cluster[0]),
        ),
        _ => Check::warn(
            "kubeconfig",
            format!("no context for cluster {name} in {files}"),
            get_credentials.to_owned(),
        ),
    }
}

/// How a kubeconfig user signs in: an exec plugin (with its `-l` mode), an auth-provider, or static credentials.
fn signs_in_with(config: &Kubeconfig, user: &str) -> String {
    match config.user_exec(user) {
        Some(exec) => {
            let command = exec.command.as_ref().cloned().unwrap_or_default();
            let args = exec.args.as_ref().cloned().unwrap_or_default();
            let mode = args
                .iter()
                .position(|arg| arg == "-l" || arg == "--login")
                .and_then(|index| args.get(index + 1))
                .map(|mode| format!(" -l {mode}"))
                .unwrap_or_default();
            format!("exec plugin `{command}{mode}`")
        }
        None => match config.user_auth_provider_name(user) {
            Some(provider) => format!("auth-provider `{provider}`"),
            None => "static credentials (client certificate or token)".into(),
        },
    }
}

/// The users still on the `azure` auth-provider kubectl removed.
fn auth_provider_check(azure_users: &[String]) -> Check {
    if azure_users.is_empty() {
        Check::pass(
            "auth-provider",
            "no user uses the removed `azure` auth-provider",
        )
    } else {
        Check::fail(
            "auth-provider",
            format!(
                "{} still {} the `azure` auth-provider, removed from kubectl in 1.26: kubectl cannot sign in",
                azure_users.join(", "),
                if azure_users.len() == 1 {
                    "uses"
                } else {
                    "use"
                }
            ),
            CONVERT_COMMAND,
        )
    }
}

/// kubelogin on PATH, required when exec users run it or auth-provider users must be converted to it.
fn kubelogin_check(
    config: &Kubeconfig,
    cluster: Option<&ManagedCluster>,
    azure_users: &[String],
) -> Check {
    let exec_users: Vec<String> = config
        .user_names()
        .into_iter()
        .filter(|user| {
            config
                .user_exec(user)
                .and_then(|exec| exec.command.as_ref())
                .is_some_and(|command| is_kubelogin(command))
        })
        .collect();
    let installed = find_on_path("kubelogin");
    let aad = cluster.is_some_and(|cluster| cluster.aad_mode() != AadMode::None);
    match installed {
        Some(path) => {
            let ours = std::env::current_exe()
                .ok()
                .and_then(|exe| std::fs::canonicalize(exe).ok());
            let is_aksctl = ours.is_some() && std::fs::canonicalize(&path).ok() == ours;
            Check::pass(
                "kubelogin",
                format!(
                    "{}{}",
                    path.display(),
                    if is_aksctl {
                        " (this aksctl, running as kubelogin)"
                    } else {
                        ""
                    }
                ),
            )
        }
        None if !exec_users.is_empty() || !azure_users.is_empty() => Check::fail(
            "kubelogin",
            format!(
                "kubelogin is not on PATH, but {} need{} it",
                exec_users
                    .iter()
                    .chain(azure_users)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if exec_users.len() + azure_users.len() == 1 {
                    "s"
                } else {
                    ""
                }
            ),
            "aksctl aks install-cli",
        ),
        None if aad => Check::warn(
            "kubelogin",
            "kubelogin is not on PATH; the exec kubeconfigs of Entra clusters run it",
            "aksctl aks install-cli",
        ),
        None => Check::pass("kubelogin", "not on PATH (not needed by this kubeconfig)"),
    }
}

/// Where the exec users of this cluster's contexts sign in, against the authority of the cloud that served the
/// cluster: a kubeconfig written for one cloud and used with another sends the sign-in (and, in `spn` mode, the
/// secret) to the wrong place. Nothing when no context of the cluster has a kubelogin exec user.
fn sign_in_check(view: &KubeconfigView, cloud: &Cloud, group: &str, name: &str) -> Option<Check> {
    use authority::{SignIn, Source};
    const CHECK: &str = "sign-in";
    if !view.errors.is_empty() {
        return None;
    }
    let config = &view.merged.config;
    let mut users: Vec<String> = Vec::new();
    for context in config.context_names() {
        if let Some(reference) = config.context(&context).filter(|c| c.cluster == *name)
            && !users.contains(&reference.user)
        {
            users.push(reference.user.clone());
        }
    }
    let expected = cloud.authority_host.as_str();
    let shell = |variable: &str| env_vars::get(variable);
    let mut passes = Vec::new();
    let mut shell_only = Vec::new();
    let mut failures = Vec::new();
    let mut first_mode = None;
    for user in &users {
        let Some(exec) = config.user_exec(user).filter(|exec| {
            exec.command
                .as_ref()
                .is_some_and(|command| is_kubelogin(command))
        }) else {
            continue;
        };
        match authority::exec_sign_in(exec, &shell) {
            None => {}
            Some(SignIn::Delegated(mode)) => passes.push(format!(
                "{user} (-l {mode}) gets its token from {}",
                if mode == aks_kubeconfig::LoginMode::Msi {
                    "the host's managed identity"
                } else {
                    "that tool's own sign-in"
                }
            )),
            Some(SignIn::Authority {
                mode,
                authority_host,
                source,
            }) => {
                let from = match &source {
                    Source::KubeconfigEnv => "AZURE_AUTHORITY_HOST in the exec env".to_owned(),
                    Source::Shell => "AZURE_AUTHORITY_HOST in this shell".to_owned(),
                    Source::Flag => "--authority-host".to_owned(),
                    Source::Environment(environment) => format!("--environment {environment}"),
                };
                if !authority::same_authority(&authority_host, expected) {
                    first_mode.get_or_insert(mode);
                    failures.push(format!("{user} would sign in at {authority_host} ({from})"));
                } else if source == Source::Shell {
                    first_mode.get_or_insert(mode);
                    shell_only.push(format!(
                        "{user} signs in at {authority_host} only while {from} is set"
                    ));
                } else {
                    passes.push(format!("{user} signs in at {authority_host} ({from})"));
                }
            }
        }
    }
    let served = format!(
        "{name} is served by cloud {}, whose authority is {expected}",
        cloud.name
    );
    let fix = || sign_in_fix(cloud, first_mode, group, name);
    if !failures.is_empty() {
        Some(Check::fail(
            CHECK,
            format!("{}, but {served}", failures.join("; ")),
            fix(),
        ))
    } else if !shell_only.is_empty() {
        Some(Check::warn(
            CHECK,
            format!("{}; {served}", shell_only.join("; ")),
            fix(),
        ))
    } else if passes.is_empty() {
        None
    } else {
        Some(Check::pass(
            CHECK,
            format!("{}; {served}", passes.join("; ")),
        ))
    }
}

/// How to make a kubeconfig's exec users sign in at `cloud`.
fn sign_in_fix(
    cloud: &Cloud,
    mode: Option<aks_kubeconfig::LoginMode>,
    group: &str,
    name: &str,
) -> String {
    if Cloud::builtin(&cloud.name).is_some() {
        format!(
            "kubelogin convert-kubeconfig -l {} -e {}, or: aksctl aks get-credentials -g {group} -n {name} \
             --overwrite-existing",
            mode.unwrap_or(aks_kubeconfig::LoginMode::DeviceCode),
            cloud.kubelogin_environment
        )
    } else {
        format!(
            "aksctl aks get-credentials -g {group} -n {name} --overwrite-existing (an emulator cluster's \
             kubeconfig sets AZURE_AUTHORITY_HOST in the exec env), or add `env: [{{name: AZURE_AUTHORITY_HOST, \
             value: {}}}]` to the user's exec section",
            cloud.authority_host
        )
    }
}

/// kubectl on PATH, and its client version within one minor version of the cluster's.
async fn kubectl_check(cluster: Option<&ManagedCluster>, name: &str) -> Check {
    let Some(kubectl) = find_on_path("kubectl") else {
        return Check::fail(
            "kubectl",
            "kubectl is not on PATH",
            "install kubectl from https://kubernetes.io/docs/tasks/tools/ or your package manager",
        );
    };
    let version = match kubectl_client_version(&kubectl).await {
        Ok(version) => version,
        Err(error) => {
            return Check::warn(
                "kubectl",
                error,
                format!("check {} (`kubectl version --client`)", kubectl.display()),
            );
        }
    };
    let cluster_version = cluster
        .and_then(ManagedCluster::kubernetes_version)
        .unwrap_or_default()
        .to_string();
    let (Some(client), Some(server)) = (version.major_minor, major_minor(&cluster_version)) else {
        return Check::pass(
            "kubectl",
            format!(
                "{} at {} (skew against the cluster not checked)",
                version.git_version,
                kubectl.display()
            ),
        );
    };
    let supported = format!(
        "{}{}.{} or {}.{}",
        server
            .1
            .checked_sub(1)
            .map(|minor| format!("{}.{minor}, ", server.0))
            .unwrap_or_default(),
        server.0,
        server.1,
        server.0,
        server.1 + 1
    );
    if client.0 == server.0 && client.1.abs_diff(server.1) <= 1 {
        Check::pass(
            "kubectl",
            format!(
                "{} at {} is within one minor version of {name} (Kubernetes {cluster_version})",
                version.git_version,
                kubectl.display()
            ),
        )
    } else {
        Check::fail(
            "kubectl",
            format!(
                "{} at {} is {}.{}, more than one minor version from {name} (Kubernetes {cluster_version})",
                version.git_version,
                kubectl.display(),
                client.0,
                client.1
            ),
            format!("install kubectl {supported} (https://kubernetes.io/docs/tasks/tools/)"),
        )
    }
}

/// helm ≥ 3.3, when helm is on PATH (`helm version --short` in a throw-away home and kubeconfig).
async fn helm_check() -> Option<Check> {
    let helm = find_on_path("helm")?;
    let sandbox = match tempfile::Builder::new().prefix("aksctl-helm-").tempdir() {
        Ok(sandbox) => sandbox,
        Err(error) => {
            return Some(Check::warn(
                "helm",
                format!("cannot create a temporary directory to run helm in: {error}"),
                "check TMPDIR",
            ));
        }
    };
    let mut command = tokio::process::Command::new(&helm);
    command
        .args(["version", "--short"])
        .env(env_vars::KUBECONFIG, sandbox.path().join("kubeconfig"))
        .env("HOME", sandbox.path())
        .env("HELM_CONFIG_HOME", sandbox.path().join("config"))
        .env("HELM_CACHE_HOME", sandbox.path().join("cache"))
        .env("HELM_DATA_HOME", sandbox.path().join("data"))
        .current_dir(sandbox.path())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(HELM_TIMEOUT, command.output()).await {
        Ok(Ok(output)) if output.status.success() => output,
        Ok(Ok(output)) => {
            return Some(Check::warn(
                "helm",
                format!(
                    "{} version --short failed ({}): {}",
                    helm.display(),
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
                format!("check {}", helm.display()),
            ));
        }
        Ok(Err(error)) => {
            return Some(Check::warn(
                "helm",
                format!("cannot run {}: {error}", helm.display()),
                format!("check {}", helm.display()),
            ));
        }
        Err(_) => {
            return Some(Check::warn(
                "helm",
                format!("{} version --short did not answer in time", helm.display()),
                format!("check {}", helm.display()),
            ));
        }
    };
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Some(match major_minor(&text) {
        Some(version) if version >= HELM_MINIMUM => {
            Check::pass("helm", format!("{text} at {}", helm.display()))
        }
        Some(_) => Check::fail(
            "helm",
            format!(
                "{text} at {} is older than 3.3, which is needed for exec (kubelogin) kubeconfigs",
                helm.display()
            ),
            "install helm 3.3 or later (https://helm.sh/docs/intro/install/)",
        ),
        None => Check::warn(
            "helm",
            format!("{} printed no version ({text:?})", helm.display()),
            format!("check {}", helm.display()),
        ),
    })
}

/// Lines for people (default, or `-o table`), az's formats otherwise.
fn report(args: &DoctorArgs, context: &Context, checks: &[Check]) -> Result<(), CliError> {
    match args.output {
        None | Some(OutputFormat::Table) => context.printer.stdout(&human(checks)),
        Some(format) => {
            let value = serde_json::to_value(checks).unwrap_or(Value::Null);
            context
                .printer
                .with_format(format)
                .data(&value, TableLayout::Auto)
        }
    }
}

fn human(checks: &[Check]) -> String {
    let width = checks
        .iter()
        .map(|check| check.check.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for check in checks {
        out.push_str(&format!(
            "{}  {:<width$}  {}\n",
            check.status.label(),
            check.check,
            check.detail
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("      {:<width$}  fix: {fix}\n", ""));
        }
    }
    let count = |status: Status| checks.iter().filter(|c| c.status == status).count();
    out.push_str(&format!(
        "\n{} passed, {} warning(s), {} failed\n",
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_report_has_fixes_and_a_summary() {
        let checks = vec![
            Check::pass("kubectl", "v1.32.4"),
            Check::fail("auth-provider", "user x uses azure", CONVERT_COMMAND),
        ];
        let text = human(&checks);
        assert!(text.contains("PASS  kubectl        v1.32.4\n"), "{text}");
        assert!(
            text.contains("FAIL  auth-provider  user x uses azure\n"),
            "{text}"
        );
        assert!(
            text.contains("fix: kubelogin convert-kubeconfig -l azurecli\n"),
            "{text}"
        );
        assert!(
            text.ends_with("1 passed, 0 warning(s), 1 failed\n"),
            "{text}"
        );
        let json = serde_json::to_value(&checks).unwrap();
        assert_eq!(json[1]["status"], "fail");
        assert_eq!(json[0]["fix"], Value::Null);
    }

    #[test]
    fn reads_jwt_claims() {
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"tid":"t","oid":"o"}"#);
        let claims = jwt_claims(&format!("h.{payload}.s")).unwrap();
        assert_eq!(claims["tid"], "t");
        assert!(jwt_claims("opaque").is_none());
    }

    #[test]
    fn kubelogin_commands() {
        assert!(is_kubelogin("kubelogin"));
        assert!(is_kubelogin("/usr/local/bin/kubelogin"));
        assert!(!is_kubelogin("aksctl"));
    }
}
