//! `aksctl aks access check` (docs/azure-rbac.md, "Checking your access"): who the signed-in credential is, its
//! transitive groups, what Azure RBAC lets it do with the cluster (ARM's `Microsoft.Authorization/permissions`),
//! local accounts, admin group membership and what the cluster's API server lets it do
//! (SelfSubjectAccessReviews with a token for the AKS server application). `--wait` re-checks with back-off.

use std::time::{Duration, Instant};

use aks_arm::ArmClient;
use aks_arm::graph::GraphClient;
use aks_model::{AKS_SERVER_APP_ID, Permission};
use base64::Engine as _;
use serde_json::{Value, json};

use super::aks::validate_cluster_args;
use crate::args::AccessCheckArgs;
use crate::context::{Context, user_agent};
use crate::error::CliError;
use crate::output::TableLayout;
use crate::progress::Spinner;

const USER_ACTION: &str =
    "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action";
const ADMIN_ACTION: &str =
    "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action";
/// The questions asked of the API server: (verb, resource, namespaced). Only what the emulated API server serves.
const KUBERNETES_CHECKS: &[(&str, &str, bool)] = &[
    ("get", "pods", true),
    ("list", "pods", true),
    ("create", "pods", true),
    ("delete", "pods", true),
    ("get", "services", true),
    ("list", "services", true),
    ("create", "services", true),
    ("delete", "services", true),
    ("get", "nodes", false),
    ("list", "nodes", false),
];
/// The first pause of `--wait` and the longest.
const FIRST_PAUSE: Duration = Duration::from_secs(2);
const LONGEST_PAUSE: Duration = Duration::from_secs(30);

/// Who the credential is, from its ARM token's claims.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Identity {
    /// `user` or `servicePrincipal`.
    pub(super) kind: &'static str,
    pub(super) object_id: String,
    pub(super) tenant: String,
    pub(super) name: String,
}

impl Identity {
    /// The user name AKS's authenticator gives Kubernetes: the `upn` of a user, else the object id.
    fn kubernetes_user(&self) -> &str {
        if self.kind == "user" {
            &self.name
        } else {
            &self.object_id
        }
    }
}

/// One question for a SelfSubjectAccessReview: verb, resource and namespace (`None`: cluster-wide).
pub(super) type Question = (&'static str, &'static str, Option<String>);

/// One SelfSubjectAccessReview's answer.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct KubernetesCheck {
    verb: &'static str,
    resource: &'static str,
    namespace: Option<String>,
    pub(super) allowed: bool,
}

/// Everything one round of checks found.
#[derive(Debug, Clone)]
struct Report {
    identity: Identity,
    groups: Vec<String>,
    cluster_id: String,
    list_user: bool,
    list_admin: bool,
    /// `None` when the principal may not read the cluster (nor, then, its settings).
    local_accounts: Option<bool>,
    admin_groups: Option<Vec<String>>,
    azure_rbac: bool,
    aad: bool,
    kubernetes: Vec<KubernetesCheck>,
}

impl Report {
    /// Whether a group of the principal is an admin group; `None` when that cannot be told (the cluster is
    /// unreadable and the principal is in some group).
    fn admin_group(&self) -> Option<bool> {
        if self.groups.is_empty() {
            return Some(false);
        }
        let admin_groups = self.admin_groups.as_ref()?;
        Some(self.groups.iter().any(|group| {
            admin_groups
                .iter()
                .any(|admin| admin.eq_ignore_ascii_case(group))
        }))
    }

    /// Whether the principal can reach the cluster as a user: it may list the user credential and, on an Entra
    /// cluster, the API server allows it at least one of the checked requests.
    fn reachable(&self) -> bool {
        self.list_user && (!self.aad || self.kubernetes.iter().any(|check| check.allowed))
    }

    fn to_json(&self) -> Value {
        let kubernetes: Vec<Value> = self
            .kubernetes
            .iter()
            .map(|check| {
                json!({
                    "verb": check.verb,
                    "resource": check.resource,
                    "namespace": check.namespace,
                    "allowed": check.allowed,
                })
            })
            .collect();
        json!({
            "identity": {
                "type": self.identity.kind,
                "objectId": self.identity.object_id,
                "tenantId": self.identity.tenant,
                "name": self.identity.name,
            },
            "groups": self.groups,
            "azure": {
                "listClusterUserCredential": self.list_user,
                "listClusterAdminCredential": self.list_admin,
            },
            "localAccounts": self.local_accounts,
            "adminGroup": self.admin_group(),
            "kubernetes": kubernetes,
        })
    }
}

/// `aks access check`.
pub async fn check(args: AccessCheckArgs, context: &Context) -> Result<(), CliError> {
    let wait = args.wait.as_deref().map(parse_duration).transpose()?;
    validate_cluster_args(&args.cluster)?;
    let arm = context.arm("aks access check")?;
    let subscription = context.subscription_id(&arm).await?;
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut spinner: Option<Spinner> = None;
    let report = loop {
        let (group, name) = (&args.cluster.resource_group, &args.cluster.name);
        let report = probe(&arm, &subscription, (group, name, &args.namespace), context).await?;
        let left = wait.map(|wait| wait.saturating_sub(started.elapsed()));
        match left {
            Some(left) if !report.reachable() && !left.is_zero() => {
                let progress = spinner.get_or_insert_with(|| Spinner::start("Waiting for access"));
                progress.set_message(format!(
                    "Waiting for access: {}; next check in {}s",
                    problem(&report, &args.namespace).0,
                    pause.min(left).as_secs()
                ));
                tokio::time::sleep(pause.min(left)).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            _ => break report,
        }
    };
    if let Some(spinner) = spinner {
        spinner.finish();
    }
    context.printer.data(&report.to_json(), TableLayout::Auto)?;
    if report.reachable() {
        return Ok(());
    }
    let (reason, fix) = problem(&report, &args.namespace);
    Err(CliError::message(format!("{reason}\nTo fix it: {fix}")))
}

/// What `doctor` shows of the check (namespace `default`): whether the signed-in principal can reach the cluster
/// as a user, what it may do, and when it cannot, why and the fix.
pub(super) struct Finding {
    pub reachable: bool,
    pub detail: String,
    pub fix: String,
}

/// One round of the check for `doctor`.
pub(super) async fn finding(
    context: &Context,
    group: &str,
    name: &str,
) -> Result<Finding, CliError> {
    let arm = context.arm("doctor")?;
    let subscription = context.subscription_id(&arm).await?;
    let report = probe(&arm, &subscription, (group, name, "default"), context).await?;
    let allowed = report
        .kubernetes
        .iter()
        .filter(|check| check.allowed)
        .count();
    let yes_no = |value: bool| if value { "yes" } else { "no" };
    let summary = format!(
        "list user credential: {}, list admin credential: {}, Kubernetes requests allowed: {allowed} of {}",
        yes_no(report.list_user),
        yes_no(report.list_admin),
        report.kubernetes.len()
    );
    if report.reachable() {
        return Ok(Finding {
            reachable: true,
            detail: summary,
            fix: String::new(),
        });
    }
    let (reason, fix) = problem(&report, "default");
    Ok(Finding {
        reachable: false,
        detail: format!("{summary}; {reason}"),
        fix,
    })
}

/// One round: identity, groups, the cluster, Azure permissions and, when the user credential may be listed on an
/// Entra cluster, the API server's answers.
async fn probe(
    arm: &ArmClient,
    subscription: &str,
    (group, name, namespace): (&str, &str, &str),
    context: &Context,
) -> Result<Report, CliError> {
    let identity = signed_in(arm).await?;
    let groups = member_groups(arm, &identity.object_id, context).await?;
    // A principal with no role may not read the cluster; its permissions there can still be asked.
    let cluster = match arm.get_managed_cluster(subscription, group, name).await {
        Ok(cluster) => Some(serde_json::to_value(&cluster).unwrap_or(Value::Null)),
        Err(error) if error.code() == Some("AuthorizationFailed") => None,
        Err(error) => return Err(error.into()),
    };
    let cluster_id = format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{name}"
    );
    let permissions = arm.list_permissions(&cluster_id).await?;
    let properties = cluster.as_ref().map(|cluster| &cluster["properties"]);
    let aad_profile = properties.map(|properties| &properties["aadProfile"]);
    let mut report = Report {
        identity,
        groups,
        list_user: grants(&permissions, USER_ACTION),
        list_admin: grants(&permissions, ADMIN_ACTION),
        local_accounts: properties.map(|p| p["disableLocalAccounts"] != Value::Bool(true)),
        admin_groups: aad_profile.map(|aad| strings(&aad["adminGroupObjectIDs"])),
        azure_rbac: aad_profile.is_some_and(|aad| aad["enableAzureRBAC"] == Value::Bool(true)),
        // Unknown (the cluster is unreadable): ask the API server as on an Entra cluster.
        aad: aad_profile.is_none_or(Value::is_object),
        cluster_id,
        kubernetes: Vec::new(),
    };
    if report.list_user && report.aad {
        let questions = questions(namespace);
        report.kubernetes = ask_api_server(arm, subscription, (group, name), &questions).await?;
    }
    Ok(report)
}

/// Who the ARM credential is (from its token's claims).
pub(super) async fn signed_in(arm: &ArmClient) -> Result<Identity, CliError> {
    let token = arm.credential().token(&arm.cloud().arm_scope()).await?;
    identity(token.token.expose())
}

/// Ask the cluster's API server `questions` as the signed-in principal: its address and CA from the cluster user
/// kubeconfig, a token for the AKS server application, one SelfSubjectAccessReview each.
pub(super) async fn ask_api_server(
    arm: &ArmClient,
    subscription: &str,
    (group, name): (&str, &str),
    questions: &[Question],
) -> Result<Vec<KubernetesCheck>, CliError> {
    let kubeconfig = arm
        .list_cluster_user_credentials(subscription, group, name, None, false)
        .await?;
    let first = kubeconfig.kubeconfigs.first().map(|k| k.value.clone());
    let endpoint = api_server(first.as_deref().unwrap_or_default())?;
    let token = arm
        .credential()
        .token(&format!("{AKS_SERVER_APP_ID}/.default"))
        .await?;
    access_reviews(&endpoint, token.token.expose(), questions).await
}

/// The identity in an access token's claims (no signature check: only to say who signed in).
fn identity(token: &str) -> Result<Identity, CliError> {
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload.trim_end_matches('='))
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .ok_or_else(|| {
            CliError::message(
                "The credential's access token is not a JWT: cannot tell who signed in.",
            )
        })?;
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_owned);
    let user_name = text("upn").or_else(|| text("unique_name"));
    let is_user = text("idtyp").map_or(user_name.is_some(), |kind| kind == "user");
    let name = if is_user {
        user_name
    } else {
        text("app_displayname").or_else(|| text("appid"))
    };
    Ok(Identity {
        kind: if is_user { "user" } else { "servicePrincipal" },
        object_id: text("oid").unwrap_or_default(),
        tenant: text("tid").unwrap_or_default(),
        name: name.unwrap_or_default(),
    })
}

/// The principal's transitive groups (Graph `getMemberGroups`).
async fn member_groups(
    arm: &ArmClient,
    object_id: &str,
    context: &Context,
) -> Result<Vec<String>, CliError> {
    let http = aks_arm::http_client(&user_agent())?;
    let command = Some("aks access check".to_string());
    let graph = GraphClient::new(arm.cloud(), http, arm.credential().clone(), command, None);
    let Some(graph) = graph else {
        context
            .printer
            .warning("The cloud has no Microsoft Graph endpoint: groups are not checked.");
        return Ok(Vec::new());
    };
    Ok(graph.get_member_groups(object_id).await?)
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether one of the permission entries grants `action`: an `actions` pattern matches it and none of the same
/// entry's `notActions` does (docs/azure-rbac.md, "Evaluation").
fn grants(permissions: &[Permission], action: &str) -> bool {
    permissions.iter().any(|entry| entry.allows_action(action))
}

/// The API server's URL and CA (PEM) from a base64 kubeconfig.
struct ApiServer {
    url: String,
    ca_pem: Vec<u8>,
}

fn api_server(kubeconfig_base64: &str) -> Result<ApiServer, CliError> {
    let engine = base64::engine::general_purpose::STANDARD;
    let bad = |why: &str| CliError::message(format!("The cluster's user kubeconfig {why}."));
    let text = engine
        .decode(kubeconfig_base64.trim())
        .map_err(|_| bad("is not base64"))?;
    let text = String::from_utf8(text).map_err(|_| bad("is not UTF-8"))?;
    let config = aks_kubeconfig::Kubeconfig::parse(&text)
        .ok()
        .flatten()
        .ok_or_else(|| bad("cannot be parsed"))?
        .to_json_value();
    let cluster = &config["clusters"][0]["cluster"];
    let url = cluster["server"]
        .as_str()
        .ok_or_else(|| bad("has no server"))?;
    let ca_pem = cluster["certificate-authority-data"]
        .as_str()
        .and_then(|data| engine.decode(data.trim()).ok())
        .ok_or_else(|| bad("has no certificate-authority-data"))?;
    Ok(ApiServer {
        url: url.trim_end_matches('/').to_string(),
        ca_pem,
    })
}

/// The questions of [`KUBERNETES_CHECKS`], cluster-wide and (namespaced ones) in `namespace`.
fn questions(namespace: &str) -> Vec<Question> {
    let mut questions = Vec::new();
    for &(verb, resource, namespaced) in KUBERNETES_CHECKS {
        questions.push((verb, resource, None));
        if namespaced {
            questions.push((verb, resource, Some(namespace.to_string())));
        }
    }
    questions
}

/// One SelfSubjectAccessReview per question.
async fn access_reviews(
    server: &ApiServer,
    token: &str,
    questions: &[Question],
) -> Result<Vec<KubernetesCheck>, CliError> {
    let certificate = reqwest::Certificate::from_pem(&server.ca_pem)
        .map_err(|_| CliError::message("The cluster's CA certificate is not PEM."))?;
    // The cluster's CA alone, as kubectl trusts a kubeconfig's `certificate-authority-data` (client-go builds its
    // root pool from that data only): no system roots, which also spares loading and decoding them for every
    // cluster a fleet migration verifies.
    let client = reqwest::Client::builder()
        .user_agent(user_agent())
        .tls_certs_only([certificate])
        .build()
        .map_err(|error| CliError::message(format!("Cannot build an HTTP client: {error}")))?;
    let url = format!(
        "{}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        server.url
    );
    let mut checks = Vec::new();
    for (verb, resource, scope) in questions {
        let (verb, resource, scope) = (*verb, *resource, scope.as_deref());
        let body = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "namespace": scope.unwrap_or_default()}},
        });
        let failed = |why: String| {
            CliError::message(format!(
                "The API server {} did not answer a SelfSubjectAccessReview ({verb} {resource}): {why}",
                server.url
            ))
        };
        let response = client
            .post(&url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(|error| failed(aks_arm::error_chain(&error)))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(failed(format!(
                "{status} {}",
                answer["message"].as_str().unwrap_or_default()
            )));
        }
        checks.push(KubernetesCheck {
            verb,
            resource,
            namespace: scope.map(str::to_owned),
            allowed: answer["status"]["allowed"] == Value::Bool(true),
        });
    }
    Ok(checks)
}

/// Why the principal cannot reach the cluster as a user, and the command that grants it.
fn problem(report: &Report, namespace: &str) -> (String, String) {
    let id = &report.identity;
    let cluster = &report.cluster_id;
    if !report.list_user {
        return (
            format!(
                "'{}' ({}) may not list the cluster user credential: no role grants '{USER_ACTION}' over '{cluster}'.",
                id.name, id.object_id
            ),
            format!(
                "aksctl role assignment create --assignee {} --role \"Azure Kubernetes Service Cluster User Role\" --scope {cluster}",
                id.object_id
            ),
        );
    }
    let reason = format!(
        "The cluster's API server allows '{}' none of the checked requests (Kubernetes user \"{}\", namespace '{namespace}').",
        id.name,
        id.kubernetes_user()
    );
    let fix = if report.azure_rbac {
        format!(
            "aksctl role assignment create --assignee {} --role \"Azure Kubernetes Service RBAC Reader\" --scope {cluster}/namespaces/{namespace}",
            id.object_id
        )
    } else {
        format!(
            "kubectl create rolebinding {}-view --clusterrole=view --user={} --namespace {namespace}",
            short(&id.object_id),
            id.kubernetes_user()
        )
    };
    (reason, fix)
}

/// The first block of an object id, for a binding's name.
fn short(object_id: &str) -> &str {
    object_id.split('-').next().unwrap_or(object_id)
}

/// A Go-style duration as kubectl's `--timeout` takes it: one or more `<integer><unit>` with `h`, `m` or `s`
/// (`90s`, `2m`, `1h30m`); anything else is a usage error naming the value.
fn parse_duration(text: &str) -> Result<Duration, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "argument --wait: invalid duration '{text}': use a number with a unit, e.g. 90s, 2m or 1h"
        ))
    };
    let mut total = 0u64;
    let mut digits = String::new();
    for character in text.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
            continue;
        }
        let unit = match character {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let number: u64 = std::mem::take(&mut digits).parse().map_err(|_| bad())?;
        total = number
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(bad)?;
    }
    if text.is_empty() || !digits.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_go_style() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        for bad in ["", "2", "2x", "m", "1.5m", "-1s", "99999999999999999999h"] {
            let error = parse_duration(bad).unwrap_err();
            assert!(
                matches!(&error, CliError::Usage(text) if text.contains(&format!("'{bad}'"))),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn not_actions_subtract_only_from_their_own_entry() {
        let entry = |actions: &[&str], not: &[&str]| Permission {
            actions: actions.iter().map(|a| a.to_string()).collect(),
            not_actions: not.iter().map(|a| a.to_string()).collect(),
            ..Permission::default()
        };
        let reader_plus = [entry(&["*"], &[ADMIN_ACTION])];
        assert!(grants(&reader_plus, USER_ACTION));
        assert!(!grants(&reader_plus, ADMIN_ACTION));
        let two = [entry(&["*"], &[ADMIN_ACTION]), entry(&[ADMIN_ACTION], &[])];
        assert!(grants(&two, ADMIN_ACTION));
        assert!(!grants(&[], USER_ACTION));
    }

    #[test]
    fn no_groups_means_no_admin_group_even_when_the_cluster_is_unreadable() {
        let report = Report {
            identity: Identity {
                kind: "user",
                object_id: "o".into(),
                tenant: "t".into(),
                name: "n".into(),
            },
            groups: Vec::new(),
            cluster_id: "/c".into(),
            list_user: false,
            list_admin: false,
            local_accounts: None,
            admin_groups: None,
            azure_rbac: false,
            aad: true,
            kubernetes: Vec::new(),
        };
        assert_eq!(report.to_json()["adminGroup"], false);
    }
}
