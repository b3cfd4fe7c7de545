//! The Kubernetes RBAC authorizer (`kubernetes/kubernetes: plugin/pkg/auth/authorizer/rbac/rbac.go`): a request
//! is allowed when a ClusterRoleBinding, or a RoleBinding in the request's namespace, binds a subject matching the
//! caller (User by username, Group by group, ServiceAccount by `system:serviceaccount:{ns}:{name}`) to a role
//! with a rule covering it; otherwise it is denied with no reason (docs/kubernetes-rbac.md).

use serde_json::{Value, json};

use super::authn::Caller;
use super::rbac_objects::{self, Kind};
use super::request::{Attributes, ResourceAttributes};
use super::view::ClusterView;

/// An authorizer's answer.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Decision {
    pub allowed: bool,
    /// An explicit denial (Azure RBAC's), which a SelfSubjectAccessReview reports as `denied: true`.
    pub denied: bool,
    /// Why (RBAC names the binding that allowed; a denial has no reason).
    pub reason: String,
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn covers(list: &Value, wanted: &str) -> bool {
    strings(list)
        .iter()
        .any(|item| *item == "*" || *item == wanted)
}

/// Whether a resource rule covers `pods`, `pods/log`, `*`, or `*/log` for a subresource request.
fn covers_resource(list: &Value, attributes: &ResourceAttributes) -> bool {
    let wanted = attributes.resource_path();
    strings(list).iter().any(|item| {
        *item == "*"
            || *item == wanted
            || (!attributes.subresource.is_empty()
                && *item == format!("*/{}", attributes.subresource))
    })
}

/// Whether one policy rule allows the request (`rbac/v1.PolicyRule` matching, `rbac.go: RuleAllows`).
pub(super) fn rule_allows(rule: &Value, attributes: &Attributes) -> bool {
    match attributes {
        Attributes::Resource(resource) => {
            let names = strings(&rule["resourceNames"]);
            covers(&rule["verbs"], &resource.verb)
                && covers(&rule["apiGroups"], &resource.group)
                && covers_resource(&rule["resources"], resource)
                && (names.is_empty() || names.contains(&resource.name.as_str()))
        }
        Attributes::NonResource { verb, path } => {
            covers(&rule["verbs"], verb)
                && strings(&rule["nonResourceURLs"]).iter().any(|url| {
                    *url == "*"
                        || url == path
                        || url
                            .strip_suffix('*')
                            .is_some_and(|prefix| path.starts_with(prefix))
                })
        }
    }
}

/// The subject of a binding that matches the caller, if any (`rbac.go: appliesTo`).
fn matching_subject<'a>(binding: &'a Value, caller: &Caller, namespace: &str) -> Option<&'a Value> {
    binding["subjects"].as_array()?.iter().find(|subject| {
        let name = subject["name"].as_str().unwrap_or_default();
        match subject["kind"].as_str().unwrap_or_default() {
            "User" => name == caller.username,
            "Group" => caller.groups.iter().any(|group| group == name),
            "ServiceAccount" => {
                let ns = subject["namespace"]
                    .as_str()
                    .filter(|ns| !ns.is_empty())
                    .unwrap_or(namespace);
                caller.username == format!("system:serviceaccount:{ns}:{name}")
            }
            _ => false,
        }
    })
}

/// A binding that applies to the caller, with the rules of its role.
pub(super) struct Grant {
    /// `ClusterRoleBinding "x"` or `RoleBinding "x/ns"`.
    pub binding: String,
    /// `ClusterRole "view"` or `Role "x"`.
    pub role: String,
    /// `Group "…"`, as RBAC's reason names the matching subject.
    pub subject: String,
    pub rules: Vec<Value>,
}

fn grant(
    view: &ClusterView,
    binding: &Value,
    caller: &Caller,
    namespace: &str,
    label: String,
) -> Option<Grant> {
    let subject = matching_subject(binding, caller, namespace)?;
    let role_kind = binding["roleRef"]["kind"].as_str().unwrap_or_default();
    let role_name = binding["roleRef"]["name"].as_str().unwrap_or_default();
    let role = match role_kind {
        "ClusterRole" => rbac_objects::find(view, Kind::ClusterRole, "", role_name),
        "Role" => rbac_objects::find(view, Kind::Role, namespace, role_name),
        _ => None,
    }?;
    Some(Grant {
        binding: label,
        role: format!("{role_kind} \"{role_name}\""),
        subject: format!(
            "{} \"{}\"",
            subject["kind"].as_str().unwrap_or_default(),
            subject["name"].as_str().unwrap_or_default()
        ),
        rules: role["rules"].as_array().cloned().unwrap_or_default(),
    })
}

/// Every grant that applies to the caller for requests in `namespace` (`""`: cluster-wide only).
pub(super) fn grants(view: &ClusterView, caller: &Caller, namespace: &str) -> Vec<Grant> {
    let mut out: Vec<Grant> = rbac_objects::all(view, Kind::ClusterRoleBinding, None)
        .iter()
        .filter_map(|binding| {
            let name = binding["metadata"]["name"].as_str().unwrap_or_default();
            grant(
                view,
                binding,
                caller,
                namespace,
                format!("ClusterRoleBinding \"{name}\""),
            )
        })
        .collect();
    if !namespace.is_empty() {
        for binding in rbac_objects::all(view, Kind::RoleBinding, Some(namespace)) {
            let name = binding["metadata"]["name"].as_str().unwrap_or_default();
            let label = format!("RoleBinding \"{name}/{namespace}\"");
            out.extend(grant(view, &binding, caller, namespace, label));
        }
    }
    out
}

/// Evaluate a request with Kubernetes RBAC.
pub(super) fn authorize(view: &ClusterView, caller: &Caller, attributes: &Attributes) -> Decision {
    let namespace = match attributes {
        Attributes::Resource(resource) => resource.namespace.as_str(),
        Attributes::NonResource { .. } => "",
    };
    for grant in grants(view, caller, namespace) {
        if grant.rules.iter().any(|rule| rule_allows(rule, attributes)) {
            return Decision {
                allowed: true,
                denied: false,
                reason: format!(
                    "RBAC: allowed by {} of {} to {}",
                    grant.binding, grant.role, grant.subject
                ),
            };
        }
    }
    Decision {
        allowed: false,
        denied: false,
        reason: String::new(),
    }
}

/// The 403 message and `details` for a denied request (`k8s.io/apiserver: responsewriters/errors.go`
/// `forbiddenMessage`, apimachinery `NewForbidden`); a non-empty `reason` is appended after `: `.
pub(super) fn forbidden_message(
    user: &str,
    attributes: &Attributes,
    reason: &str,
) -> (String, Value) {
    let (mut message, details) = match attributes {
        Attributes::Resource(resource) => {
            let qualified = if resource.group.is_empty() {
                resource.resource.clone()
            } else {
                format!("{}.{}", resource.resource, resource.group)
            };
            let subject = if resource.name.is_empty() {
                qualified
            } else {
                format!("{qualified} \"{}\"", resource.name)
            };
            let scope = if resource.namespace.is_empty() {
                "at the cluster scope".to_string()
            } else {
                format!("in the namespace \"{}\"", resource.namespace)
            };
            let mut details = json!({});
            if !resource.name.is_empty() {
                details["name"] = json!(resource.name);
            }
            if !resource.group.is_empty() {
                details["group"] = json!(resource.group);
            }
            details["kind"] = json!(resource.resource);
            (
                format!(
                    "{subject} is forbidden: User \"{user}\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
                    resource.verb,
                    resource.resource_path(),
                    resource.group
                ),
                details,
            )
        }
        Attributes::NonResource { verb, path } => (
            format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
            json!({}),
        ),
    };
    if !reason.is_empty() {
        message.push_str(": ");
        message.push_str(reason);
    }
    (message, details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubernetes::request::tests::resource;

    #[test]
    fn rules_match_verbs_groups_resources_names_and_urls() {
        let rule =
            json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "pods/log"]});
        assert!(rule_allows(&rule, &resource("list", "", "pods", "dev", "")));
        assert!(!rule_allows(
            &rule,
            &resource("delete", "", "pods", "dev", "p")
        ));
        assert!(!rule_allows(
            &rule,
            &resource("list", "apps", "pods", "dev", "")
        ));
        assert!(!rule_allows(
            &rule,
            &resource("list", "", "services", "dev", "")
        ));
        let Attributes::Resource(mut log) = resource("get", "", "pods", "dev", "p") else {
            unreachable!()
        };
        log.subresource = "log".into();
        assert!(rule_allows(&rule, &Attributes::Resource(log.clone())));
        log.subresource = "exec".into();
        assert!(!rule_allows(&rule, &Attributes::Resource(log)));

        let named = json!({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"], "resourceNames": ["a"]});
        assert!(rule_allows(
            &named,
            &resource("get", "apps", "deployments", "x", "a")
        ));
        assert!(!rule_allows(
            &named,
            &resource("get", "apps", "deployments", "x", "b")
        ));
        assert!(!rule_allows(
            &named,
            &resource("get", "apps", "deployments", "x", "")
        ));

        let urls = json!({"verbs": ["get"], "nonResourceURLs": ["/api", "/apis/*"]});
        let path = |verb: &str, path: &str| Attributes::NonResource {
            verb: verb.into(),
            path: path.into(),
        };
        assert!(rule_allows(&urls, &path("get", "/api")));
        assert!(rule_allows(
            &urls,
            &path("get", "/apis/rbac.authorization.k8s.io/v1")
        ));
        assert!(!rule_allows(&urls, &path("get", "/api/v1")));
        assert!(!rule_allows(&urls, &path("post", "/api")));
        assert!(!rule_allows(&rule, &path("get", "/api")));
    }

    #[test]
    fn denials_read_like_the_api_server() {
        let (message, details) = forbidden_message(
            "dev@emulator.local",
            &resource("list", "", "pods", "default", ""),
            "",
        );
        assert_eq!(
            message,
            "pods is forbidden: User \"dev@emulator.local\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        );
        assert_eq!(details, json!({"kind": "pods"}));
        let (message, details) = forbidden_message(
            "u",
            &resource(
                "delete",
                "rbac.authorization.k8s.io",
                "clusterroles",
                "",
                "view",
            ),
            "why",
        );
        assert_eq!(
            message,
            "clusterroles.rbac.authorization.k8s.io \"view\" is forbidden: User \"u\" cannot delete resource \"clusterroles\" in API group \"rbac.authorization.k8s.io\" at the cluster scope: why"
        );
        assert_eq!(
            details,
            json!({"name": "view", "group": "rbac.authorization.k8s.io", "kind": "clusterroles"})
        );
        let (message, _) = forbidden_message(
            "u",
            &Attributes::NonResource {
                verb: "get".into(),
                path: "/metrics".into(),
            },
            "",
        );
        assert_eq!(
            message,
            "forbidden: User \"u\" cannot get path \"/metrics\""
        );
    }
}
