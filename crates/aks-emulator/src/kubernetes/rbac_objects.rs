//! RBAC objects (`rbac.authorization.k8s.io/v1` roles, rolebindings, clusterroles, clusterrolebindings): the
//! built-in ones and those created through the API, stored per cluster; create (JSON, or the protobuf kubectl
//! `create rolebinding|…` sends), get, list (a `Table` for kubectl) and delete.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::builtin;
use super::protobuf::{self, Field, OBJECT_META, Schema};
use super::request::ResourceAttributes;
use super::types::{RBAC_GROUP, ResourceType};
use super::view::ClusterView;
use super::wire::{self, Object, age_of, column, status};
use crate::http::{Ctx, json};
use crate::state::{ClusterKey, SharedState};

/// The four RBAC kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Role,
    ClusterRole,
    RoleBinding,
    ClusterRoleBinding,
}

impl Kind {
    fn of(plural: &str) -> Option<Kind> {
        match plural {
            "roles" => Some(Kind::Role),
            "clusterroles" => Some(Kind::ClusterRole),
            "rolebindings" => Some(Kind::RoleBinding),
            "clusterrolebindings" => Some(Kind::ClusterRoleBinding),
            _ => None,
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Role => "roles",
            Kind::ClusterRole => "clusterroles",
            Kind::RoleBinding => "rolebindings",
            Kind::ClusterRoleBinding => "clusterrolebindings",
        }
    }

    fn resource_type(self) -> &'static ResourceType {
        ResourceType::find(RBAC_GROUP, self.plural()).expect("RBAC types are served")
    }

    fn is_binding(self) -> bool {
        matches!(self, Kind::RoleBinding | Kind::ClusterRoleBinding)
    }

    fn schema(self) -> &'static Schema {
        if self.is_binding() { BINDING } else { ROLE }
    }
}

/// `rbacv1.PolicyRule`.
const POLICY_RULE: &Schema = &[
    (1, Field::Texts("verbs")),
    (2, Field::Texts("apiGroups")),
    (3, Field::Texts("resources")),
    (4, Field::Texts("resourceNames")),
    (5, Field::Texts("nonResourceURLs")),
];
/// `rbacv1.Role` and `ClusterRole` (field 3, `aggregationRule`, is not read).
const ROLE: &Schema = &[
    (1, Field::Message("metadata", OBJECT_META)),
    (2, Field::Messages("rules", POLICY_RULE)),
];
const SUBJECT: &Schema = &[
    (1, Field::Text("kind")),
    (2, Field::Text("apiGroup")),
    (3, Field::Text("name")),
    (4, Field::Text("namespace")),
];
const ROLE_REF: &Schema = &[
    (1, Field::Text("apiGroup")),
    (2, Field::Text("kind")),
    (3, Field::Text("name")),
];
/// `rbacv1.RoleBinding` and `ClusterRoleBinding`.
const BINDING: &Schema = &[
    (1, Field::Message("metadata", OBJECT_META)),
    (2, Field::Messages("subjects", SUBJECT)),
    (3, Field::Message("roleRef", ROLE_REF)),
];

/// The store key of an object.
fn key(kind: Kind, namespace: &str, name: &str) -> String {
    format!("{}/{namespace}/{name}", kind.plural())
}

fn builtins(view: &ClusterView, kind: Kind) -> Vec<Value> {
    match kind {
        Kind::ClusterRole => builtin::cluster_roles(view),
        Kind::ClusterRoleBinding => builtin::cluster_role_bindings(view),
        Kind::Role | Kind::RoleBinding => Vec::new(),
    }
}

/// Every object of `kind` (built-in first), in `namespace` when given.
pub(super) fn all(view: &ClusterView, kind: Kind, namespace: Option<&str>) -> Vec<Value> {
    let prefix = match namespace {
        Some(namespace) => format!("{}/{namespace}/", kind.plural()),
        None => format!("{}/", kind.plural()),
    };
    let mut out = builtins(view, kind);
    out.extend(
        view.objects
            .range(prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .map(|(_, object)| object.clone()),
    );
    out
}

/// One object by namespace (`""` for cluster-scoped kinds) and name.
pub(super) fn find(view: &ClusterView, kind: Kind, namespace: &str, name: &str) -> Option<Value> {
    let builtin = match kind {
        Kind::ClusterRole => builtin::cluster_role(view, name),
        Kind::ClusterRoleBinding | Kind::Role | Kind::RoleBinding => builtins(view, kind)
            .into_iter()
            .find(|object| object["metadata"]["name"] == name),
    };
    builtin.or_else(|| view.objects.get(&key(kind, namespace, name)).cloned())
}

/// Serve a request on an RBAC resource (already authorized).
pub(super) fn serve(
    state: &SharedState,
    cluster: &ClusterKey,
    view: &ClusterView,
    ctx: &Ctx,
    request: &ResourceAttributes,
) -> Response {
    let Some(kind) = Kind::of(&request.resource) else {
        return wire::not_found();
    };
    let resource = kind.resource_type();
    let namespace = request.namespace.as_str();
    let scoped = (!namespace.is_empty()).then_some(namespace);
    match request.verb.as_str() {
        "list" => wire::list(
            ctx,
            resource,
            columns(kind),
            rows(kind, all(view, kind, scoped)),
        ),
        "get" => wire::get(resource, rows(kind, all(view, kind, scoped)), &request.name),
        "create" => create(state, cluster, view, ctx, kind, namespace),
        "delete" => delete(state, cluster, view, kind, namespace, &request.name),
        _ => wire::method_not_allowed(),
    }
}

fn bad_request(message: &str) -> Response {
    status(StatusCode::BAD_REQUEST, "BadRequest", message, None)
}

/// The 422 of an object that fails validation.
fn invalid(kind: Kind, name: &str, causes: &[(&str, &str)]) -> Response {
    let text: Vec<String> = causes
        .iter()
        .map(|(field, message)| format!("{field}: {message}"))
        .collect();
    let causes: Vec<Value> = causes
        .iter()
        .map(|(field, message)| json!({"reason": "FieldValueRequired", "message": message, "field": field}))
        .collect();
    let resource = kind.resource_type();
    status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid",
        &format!(
            "{}.{RBAC_GROUP} \"{name}\" is invalid: {}",
            resource.kind,
            text.join(", ")
        ),
        Some(json!({"name": name, "group": RBAC_GROUP, "kind": resource.kind, "causes": causes})),
    )
}

/// The object a create request carries, as JSON.
fn body_object(ctx: &Ctx, kind: Kind) -> Result<Value, String> {
    if protobuf::is_protobuf(ctx.header("content-type")) {
        protobuf::decode_object(&ctx.body, kind.schema())
    } else {
        serde_json::from_slice(&ctx.body)
            .map_err(|error| format!("the request body is not JSON: {error}"))
    }
}

/// What is wrong with a role or binding (`pkg/apis/rbac/validation`), if anything.
fn validation_errors(kind: Kind, object: &Value) -> Vec<(&'static str, &'static str)> {
    let mut causes = Vec::new();
    if object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        causes.push((
            "metadata.name",
            "Required value: name or generateName is required",
        ));
    }
    if kind.is_binding() {
        let role_kind = object["roleRef"]["kind"].as_str().unwrap_or_default();
        let allowed = if kind == Kind::RoleBinding {
            &["Role", "ClusterRole"][..]
        } else {
            &["ClusterRole"][..]
        };
        if !allowed.contains(&role_kind) {
            causes.push(("roleRef.kind", "Unsupported value: the role kind must be Role or ClusterRole (ClusterRole for a ClusterRoleBinding)"));
        }
        if object["roleRef"]["name"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            causes.push(("roleRef.name", "Required value"));
        }
        let subjects = object["subjects"].as_array().cloned().unwrap_or_default();
        if subjects.iter().any(|subject| {
            !matches!(
                subject["kind"].as_str(),
                Some("User" | "Group" | "ServiceAccount")
            ) || subject["name"].as_str().unwrap_or_default().is_empty()
        }) {
            causes.push(("subjects", "Unsupported value: each subject needs kind User, Group or ServiceAccount and a name"));
        }
    }
    causes
}

fn create(
    state: &SharedState,
    cluster: &ClusterKey,
    view: &ClusterView,
    ctx: &Ctx,
    kind: Kind,
    namespace: &str,
) -> Response {
    let mut object = match body_object(ctx, kind) {
        Ok(object) if object.is_object() => object,
        Ok(_) => return bad_request("the request body is not an object"),
        Err(error) => return bad_request(&error),
    };
    let resource = kind.resource_type();
    if object["kind"]
        .as_str()
        .is_some_and(|sent| sent != resource.kind)
    {
        return bad_request(&format!(
            "the object's kind {} is not {} (posted to {})",
            object["kind"], resource.kind, resource.plural
        ));
    }
    let sent_namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
    if resource.namespaced && !sent_namespace.is_empty() && sent_namespace != namespace {
        return bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        );
    }
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let causes = validation_errors(kind, &object);
    if !causes.is_empty() {
        return invalid(kind, &name, &causes);
    }
    if find(view, kind, namespace, &name).is_some() {
        return status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            &format!("{} \"{name}\" already exists", resource.qualified()),
            Some(wire::details(resource, Some(&name))),
        );
    }
    let metadata = &mut object["metadata"];
    if resource.namespaced {
        metadata["namespace"] = json!(namespace);
    }
    metadata["uid"] = json!(crate::state::random_guid());
    metadata["resourceVersion"] = json!(crate::state::now_ms().to_string());
    metadata["creationTimestamp"] = json!(crate::state::rfc3339_now());
    object = resource.typed(object);
    let mut store = state.store();
    let Some(record) = store.clusters.get_mut(cluster) else {
        return wire::not_found();
    };
    record
        .kube_objects
        .insert(key(kind, namespace, &name), object.clone());
    state.save_or_log(&store);
    json(StatusCode::CREATED, &object)
}

fn delete(
    state: &SharedState,
    cluster: &ClusterKey,
    view: &ClusterView,
    kind: Kind,
    namespace: &str,
    name: &str,
) -> Response {
    let resource = kind.resource_type();
    if builtins(view, kind)
        .iter()
        .any(|object| object["metadata"]["name"] == name)
    {
        return status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!(
                "{} \"{name}\" is a default the cluster reconciles; the local cloud emulator does not delete it",
                resource.qualified()
            ),
            Some(wire::details(resource, Some(name))),
        );
    }
    let mut store = state.store();
    let removed = store
        .clusters
        .get_mut(cluster)
        .and_then(|record| record.kube_objects.remove(&key(kind, namespace, name)));
    let Some(removed) = removed else {
        return wire::object_not_found(resource, name);
    };
    state.save_or_log(&store);
    let mut details = wire::details(resource, Some(name));
    details["uid"] = removed["metadata"]["uid"].clone();
    json(
        StatusCode::OK,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
    )
}

fn columns(kind: Kind) -> Vec<Value> {
    if kind.is_binding() {
        vec![
            column("Name", "string", 0),
            column("Role", "string", 0),
            column("Age", "string", 0),
            column("Users", "string", 1),
            column("Groups", "string", 1),
            column("ServiceAccounts", "string", 1),
        ]
    } else {
        vec![column("Name", "string", 0), column("Created At", "date", 0)]
    }
}

/// The names of a binding's subjects of one kind, comma-separated (`namespace/name` for service accounts).
fn subjects_of(binding: &Value, kind: &str) -> String {
    let names: Vec<String> = binding["subjects"]
        .as_array()
        .map(|subjects| {
            subjects
                .iter()
                .filter(|subject| subject["kind"] == kind)
                .map(|subject| {
                    let name = subject["name"].as_str().unwrap_or_default();
                    match subject["namespace"].as_str() {
                        Some(namespace) if kind == "ServiceAccount" => {
                            format!("{namespace}/{name}")
                        }
                        _ => name.to_string(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    names.join(", ")
}

fn created_ms(object: &Value) -> u64 {
    object["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|text| {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
        })
        .map_or(0, |time| (time.unix_timestamp().max(0) as u64) * 1000)
}

/// Objects with their table cells.
fn rows(kind: Kind, objects: Vec<Value>) -> Vec<Object> {
    objects
        .into_iter()
        .map(|object| {
            let name = object["metadata"]["name"].clone();
            let cells = if kind.is_binding() {
                let role = format!(
                    "{}/{}",
                    object["roleRef"]["kind"].as_str().unwrap_or_default(),
                    object["roleRef"]["name"].as_str().unwrap_or_default()
                );
                vec![
                    name,
                    json!(role),
                    json!(age_of(created_ms(&object))),
                    json!(subjects_of(&object, "User")),
                    json!(subjects_of(&object, "Group")),
                    json!(subjects_of(&object, "ServiceAccount")),
                ]
            } else {
                vec![name, object["metadata"]["creationTimestamp"].clone()]
            };
            Object {
                metadata: object["metadata"].clone(),
                labels: object["metadata"]["labels"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                cells,
                object,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body kubectl 1.32.4 posts for `kubectl create rolebinding rb --clusterrole=view --group=g1 --user=u@x
    /// -n ns` (captured with `-v=9`).
    const KUBECTL_ROLEBINDING: &str = "6b387300 0a2b0a1c 72626163 2e617574 686f7269 7a617469 6f6e2e6b 38732e69 \
        6f2f7631 120b526f 6c654269 6e64696e 67129a01 0a140a02 72621200 1a026e73 22002a00 32003800 42001228 0a045573 \
        65721219 72626163 2e617574 686f7269 7a617469 6f6e2e6b 38732e69 6f1a0375 40782200 12280a05 47726f75 70121972 \
        6261632e 61757468 6f72697a 6174696f 6e2e6b38 732e696f 1a026731 22001a2e 0a197262 61632e61 7574686f 72697a61 \
        74696f6e 2e6b3873 2e696f12 0b436c75 73746572 526f6c65 1a047669 65771a00 2200";

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn kubectls_protobuf_rolebinding_reads_as_json() {
        let object = protobuf::decode_object(&hex(KUBECTL_ROLEBINDING), BINDING).unwrap();
        assert_eq!(
            object,
            json!({
                "kind": "RoleBinding",
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "metadata": {"name": "rb", "namespace": "ns"},
                "subjects": [
                    {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "u@x"},
                    {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "g1"},
                ],
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            })
        );
        assert!(validation_errors(Kind::RoleBinding, &object).is_empty());
        assert_eq!(subjects_of(&object, "Group"), "g1");
    }

    #[test]
    fn bindings_without_a_role_or_with_odd_subjects_are_invalid() {
        let object = json!({"metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "Robot", "name": "x"}]});
        let fields: Vec<&str> = validation_errors(Kind::ClusterRoleBinding, &object)
            .iter()
            .map(|(field, _)| *field)
            .collect();
        assert_eq!(fields, ["roleRef.kind", "subjects"]);
        assert_eq!(
            validation_errors(Kind::ClusterRole, &json!({"metadata": {}}))[0].0,
            "metadata.name"
        );
    }
}
