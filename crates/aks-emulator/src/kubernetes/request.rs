//! A request as the authorizer sees it: Kubernetes' request attributes (`k8s.io/apiserver:
//! pkg/endpoints/request/requestinfo.go`): a resource request (verb, API group, resource, subresource,
//! namespace, name) or a non-resource request (lower-case HTTP method and path).

use axum::http::Method;

use crate::http::Ctx;

/// The attributes of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Attributes {
    /// `/api/v1/…` or `/apis/{group}/{version}/…` naming a resource.
    Resource(ResourceAttributes),
    /// Anything else: discovery, `/version`, `/healthz`, unknown paths.
    NonResource {
        /// `get`, `post`, `put`, `patch`, `delete`, `head`, …
        verb: String,
        path: String,
    },
}

/// The attributes of a resource request (also what a SelfSubjectAccessReview asks about).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ResourceAttributes {
    pub verb: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    /// `""` for cluster-scoped and all-namespaces requests.
    pub namespace: String,
    /// `""` for collections.
    pub name: String,
}

impl ResourceAttributes {
    /// `pods` or `pods/log`, as RBAC rules name it.
    pub(super) fn resource_path(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// The verb of a resource request (Kubernetes' mapping of HTTP methods).
fn resource_verb(method: &Method, named: bool, ctx: &Ctx) -> &'static str {
    let watch = ctx.query("watch").is_some_and(|w| w == "true" || w == "1");
    match *method {
        Method::GET | Method::HEAD if watch => "watch",
        Method::GET | Method::HEAD if named => "get",
        Method::GET | Method::HEAD => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => "unknown",
    }
}

impl Attributes {
    /// Classify a request by its path and method.
    pub(super) fn of(ctx: &Ctx) -> Attributes {
        let segments: Vec<&str> = ctx.segments.iter().map(String::as_str).collect();
        let (group, version, rest) = match segments.as_slice() {
            ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
            ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
            _ => {
                return Attributes::NonResource {
                    verb: ctx.method.as_str().to_lowercase(),
                    path: ctx.path.clone(),
                };
            }
        };
        let (namespace, parts) = match rest {
            ["namespaces", namespace, resource, parts @ ..] => (*namespace, {
                let mut all = vec![*resource];
                all.extend_from_slice(parts);
                all
            }),
            _ => ("", rest.to_vec()),
        };
        let resource = parts.first().copied().unwrap_or_default();
        let name = parts.get(1).copied().unwrap_or_default();
        Attributes::Resource(ResourceAttributes {
            verb: resource_verb(&ctx.method, !name.is_empty(), ctx).to_string(),
            group: group.to_string(),
            version: version.to_string(),
            resource: resource.to_string(),
            subresource: parts
                .get(2..)
                .map(|rest| rest.join("/"))
                .unwrap_or_default(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn attributes(method: Method, path: &str) -> Attributes {
        let uri: axum::http::Uri = path.parse().unwrap();
        Attributes::of(&Ctx::new(
            method,
            &uri,
            Default::default(),
            Default::default(),
        ))
    }

    /// A resource request's attributes in `v1` (for this module's tests and the authorizer's).
    pub(in crate::kubernetes) fn resource(
        verb: &str,
        group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Attributes {
        Attributes::Resource(ResourceAttributes {
            verb: verb.into(),
            group: group.into(),
            version: "v1".into(),
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
            ..Default::default()
        })
    }

    #[test]
    fn paths_and_methods_become_request_attributes() {
        assert_eq!(
            attributes(Method::GET, "/api/v1/namespaces/dev/pods?limit=500"),
            resource("list", "", "pods", "dev", "")
        );
        assert_eq!(
            attributes(Method::GET, "/api/v1/pods?watch=true"),
            resource("watch", "", "pods", "", "")
        );
        assert_eq!(
            attributes(Method::GET, "/api/v1/namespaces/dev"),
            resource("get", "", "namespaces", "", "dev")
        );
        assert_eq!(
            attributes(
                Method::POST,
                "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings"
            ),
            resource(
                "create",
                "rbac.authorization.k8s.io",
                "rolebindings",
                "dev",
                ""
            )
        );
        assert_eq!(
            attributes(
                Method::DELETE,
                "/apis/rbac.authorization.k8s.io/v1/clusterroles/x"
            ),
            resource(
                "delete",
                "rbac.authorization.k8s.io",
                "clusterroles",
                "",
                "x"
            )
        );
        let Attributes::Resource(log) = attributes(Method::GET, "/api/v1/namespaces/a/pods/p/log")
        else {
            panic!("a resource request");
        };
        assert_eq!(log.resource_path(), "pods/log");
        for path in [
            "/version",
            "/api",
            "/apis",
            "/api/v1",
            "/apis/apps/v1",
            "/healthz",
        ] {
            assert_eq!(
                attributes(Method::GET, path),
                Attributes::NonResource {
                    verb: "get".into(),
                    path: path.into()
                },
                "{path}"
            );
        }
    }
}
