//! The self reviews: `kubectl auth whoami` (SelfSubjectReview, `authentication.k8s.io/v1`) and `kubectl auth
//! can-i` (SelfSubjectAccessReview; `--list`: SelfSubjectRulesReview, `authorization.k8s.io/v1`). kubectl 1.32
//! posts them as protobuf (docs/kubernetes-rbac.md); JSON is read too; the answers are JSON, which kubectl takes.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::authn::Caller;
use super::protobuf::{self, Field, OBJECT_META, Schema};
use super::rbac::{self, Decision};
use super::request::{Attributes, ResourceAttributes};
use super::view::ClusterView;
use super::wire::status;
use crate::http::{Ctx, json};

/// `authorizationv1.ResourceAttributes` (fieldSelector and labelSelector, 8 and 9, are not read).
const RESOURCE_ATTRIBUTES: &Schema = &[
    (1, Field::Text("namespace")),
    (2, Field::Text("verb")),
    (3, Field::Text("group")),
    (4, Field::Text("version")),
    (5, Field::Text("resource")),
    (6, Field::Text("subresource")),
    (7, Field::Text("name")),
];
const NON_RESOURCE_ATTRIBUTES: &Schema = &[(1, Field::Text("path")), (2, Field::Text("verb"))];
const ACCESS_SPEC: &Schema = &[
    (1, Field::Message("resourceAttributes", RESOURCE_ATTRIBUTES)),
    (
        2,
        Field::Message("nonResourceAttributes", NON_RESOURCE_ATTRIBUTES),
    ),
];
const ACCESS_REVIEW: &Schema = &[
    (1, Field::Message("metadata", OBJECT_META)),
    (2, Field::Message("spec", ACCESS_SPEC)),
];
const RULES_REVIEW: &Schema = &[
    (1, Field::Message("metadata", OBJECT_META)),
    (2, Field::Message("spec", &[(1, Field::Text("namespace"))])),
];

/// The posted review, as JSON.
fn review_body(ctx: &Ctx, schema: &Schema) -> Result<Value, Response> {
    let parsed = if protobuf::is_protobuf(ctx.header("content-type")) {
        protobuf::decode_object(&ctx.body, schema)
    } else {
        serde_json::from_slice(&ctx.body)
            .map_err(|error| format!("the request body is not JSON: {error}"))
    };
    parsed.map_err(|error| status(StatusCode::BAD_REQUEST, "BadRequest", &error, None))
}

/// The 201 answer to a review: `kind`, `apiVersion`, empty metadata, then `fields` (`spec`, `status`).
fn created(kind: &str, api_version: &str, fields: Value) -> Response {
    let mut review =
        json!({"kind": kind, "apiVersion": api_version, "metadata": {"creationTimestamp": null}});
    if let (Value::Object(review), Value::Object(fields)) = (&mut review, fields) {
        review.extend(fields);
    }
    json(StatusCode::CREATED, &review)
}

/// `POST …/selfsubjectreviews`: the caller's user info (the body says nothing else).
pub(super) fn self_subject_review(caller: &Caller) -> Response {
    let mut user_info = json!({
        "username": caller.username,
        "groups": caller.groups,
    });
    if let Some(uid) = &caller.uid {
        user_info["uid"] = json!(uid);
    }
    if !caller.extra.is_empty() {
        user_info["extra"] = Value::Object(caller.extra.clone());
    }
    created(
        "SelfSubjectReview",
        "authentication.k8s.io/v1",
        json!({
            "status": {"userInfo": user_info},
        }),
    )
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_default().to_string()
}

/// The attributes a SelfSubjectAccessReview's spec asks about.
fn attributes_of(spec: &Value) -> Option<Attributes> {
    if let Some(resource) = spec
        .get("resourceAttributes")
        .filter(|value| value.is_object())
    {
        return Some(Attributes::Resource(ResourceAttributes {
            verb: text(resource, "verb"),
            group: text(resource, "group"),
            version: text(resource, "version"),
            resource: text(resource, "resource"),
            subresource: text(resource, "subresource"),
            namespace: text(resource, "namespace"),
            name: text(resource, "name"),
        }));
    }
    let path = spec
        .get("nonResourceAttributes")
        .filter(|value| value.is_object())?;
    Some(Attributes::NonResource {
        verb: text(path, "verb"),
        path: text(path, "path"),
    })
}

/// `POST …/selfsubjectaccessreviews`: whether the caller may do what the spec asks, by `authorize`.
pub(super) fn self_subject_access_review(
    ctx: &Ctx,
    authorize: impl Fn(&Attributes) -> Decision,
) -> Response {
    let review = match review_body(ctx, ACCESS_REVIEW) {
        Ok(review) => review,
        Err(response) => return response,
    };
    let spec = review.get("spec").cloned().unwrap_or(json!({}));
    let Some(attributes) = attributes_of(&spec) else {
        return status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified",
            None,
        );
    };
    let decision = authorize(&attributes);
    let mut answer = json!({"allowed": decision.allowed});
    if decision.denied {
        answer["denied"] = json!(true);
    }
    if !decision.reason.is_empty() {
        answer["reason"] = json!(decision.reason);
    }
    created(
        "SelfSubjectAccessReview",
        "authorization.k8s.io/v1",
        json!({
            "spec": spec,
            "status": answer,
        }),
    )
}

/// `POST …/selfsubjectrulesreviews`: the rules Kubernetes RBAC grants the caller in the namespace; with
/// `incomplete` and the webhook's note when another authorizer (Azure RBAC) also decides.
pub(super) fn self_subject_rules_review(
    ctx: &Ctx,
    view: &ClusterView,
    caller: &Caller,
    webhook: bool,
) -> Response {
    let review = match review_body(ctx, RULES_REVIEW) {
        Ok(review) => review,
        Err(response) => return response,
    };
    let namespace = review["spec"]["namespace"].as_str().unwrap_or_default();
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for grant in rbac::grants(view, caller, namespace) {
        for rule in grant.rules {
            let list = |field: &str| rule.get(field).cloned().unwrap_or(json!([]));
            if rule.get("nonResourceURLs").is_some() {
                non_resource_rules.push(
                    json!({"verbs": list("verbs"), "nonResourceURLs": list("nonResourceURLs")}),
                );
            } else {
                resource_rules.push(json!({
                    "verbs": list("verbs"),
                    "apiGroups": list("apiGroups"),
                    "resources": list("resources"),
                    "resourceNames": list("resourceNames"),
                }));
            }
        }
    }
    let mut answer = json!({
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": webhook,
    });
    if webhook {
        answer["evaluationError"] =
            json!("webhook authorizer does not support user rule resolution");
    }
    created(
        "SelfSubjectRulesReview",
        "authorization.k8s.io/v1",
        json!({
            "spec": {"namespace": namespace},
            "status": answer,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body kubectl 1.32.4 posts for `kubectl auth can-i list pods -n ns` (captured with `-v=9`).
    const KUBECTL_CAN_I: &[u8] = b"k8s\0\x0a\x32\x0a\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\
        \x12\x38\x0a\x10\x0a\x00\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x1a\x0a\x18\
        \x0a\x02ns\x12\x04list\x1a\x00\x22\x00\x2a\x04pods\x32\x00\x3a\x00\x1a\x08\x08\x00\x12\x00\x1a\x00\
        \x20\x00\x1a\x00\x22\x00";

    #[test]
    fn kubectls_protobuf_access_review_reads_as_attributes() {
        let review = protobuf::decode_object(KUBECTL_CAN_I, ACCESS_REVIEW).unwrap();
        assert_eq!(review["kind"], "SelfSubjectAccessReview");
        assert_eq!(
            attributes_of(&review["spec"]),
            Some(Attributes::Resource(ResourceAttributes {
                verb: "list".into(),
                resource: "pods".into(),
                namespace: "ns".into(),
                ..Default::default()
            }))
        );
        assert_eq!(attributes_of(&json!({})), None);
        assert_eq!(
            attributes_of(&json!({"nonResourceAttributes": {"path": "/api", "verb": "get"}})),
            Some(Attributes::NonResource {
                verb: "get".into(),
                path: "/api".into()
            })
        );
    }
}
