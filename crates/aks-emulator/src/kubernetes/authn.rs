//! Authentication, as AKS does it (the guard authenticator for Entra tokens, client certificates and the static
//! token for local accounts):
//! * the admin client certificate (any client certificate signed by the cluster CA: the TLS layer verified it)
//!   and the admin kubeconfig's static `token` are `system:masters`, unless the cluster has
//!   `disableLocalAccounts: true`;
//! * on AAD clusters, Entra bearer tokens signed by the emulator key (RS256 with its `kid`; `alg: none`, HMAC and
//!   foreign keys are refused), `aud` = the AKS server app (`6dae42f8-…`, also `spn:6dae42f8-…`; a legacy
//!   cluster's `serverAppID`), `iss` = `https://sts.windows.net/{tenant}/` or the v2 form, inside `nbf`..`exp`.
//!   The identity is guard's (`kubeguard/guard: auth/providers/azure/azure.go`): username = the `upn` claim, else
//!   the `oid` claim (service principals, managed identities, guests); groups = the `groups` claim's object ids
//!   plus `system:authenticated`; `extra.oid` = the object id;
//! * anything else is refused (a 401 `Status`, docs/kubectl-wire.md).

use aks_model::{AKS_SERVER_APP_ID, AadMode};
use serde_json::{Map, Value, json};

use super::view::ClusterView;
use crate::TENANT_ID;
use crate::entra::{self, TokenProblem};
use crate::http::Ctx;
use crate::state::SharedState;

/// Who is calling, once authenticated: Kubernetes' `user.Info`.
pub(super) struct Caller {
    pub username: String,
    pub uid: Option<String>,
    pub groups: Vec<String>,
    pub extra: Map<String, Value>,
}

impl Caller {
    pub(super) fn local_admin(username: &str) -> Caller {
        Caller {
            username: username.to_string(),
            uid: None,
            groups: vec!["system:masters".into(), "system:authenticated".into()],
            extra: Map::new(),
        }
    }
}

fn bearer_token(ctx: &Ctx) -> Option<&str> {
    let value = ctx.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// Authenticate a request (see the module docs); the error is a short reason for the log, never the token.
pub(super) fn authenticate(
    state: &SharedState,
    view: &ClusterView,
    ctx: &Ctx,
    client_certificate: bool,
) -> Result<Caller, &'static str> {
    let local_accounts = view.cluster.properties.disable_local_accounts != Some(true);
    if client_certificate && local_accounts {
        return Ok(Caller::local_admin("masterclient"));
    }
    let Some(token) = bearer_token(ctx) else {
        return Err(if client_certificate {
            "client certificate with local accounts disabled"
        } else {
            "no credentials"
        });
    };
    if token == view.admin_token {
        return if local_accounts {
            Ok(Caller::local_admin("clusterAdmin"))
        } else {
            Err("static admin token with local accounts disabled")
        };
    }
    if !view.entra() {
        return Err("bearer token on a cluster without Entra integration");
    }
    let claims = verify_bearer(state, view, token)?;
    let object_id = claims["oid"].as_str().unwrap_or_default().to_string();
    let username = claims["upn"]
        .as_str()
        .filter(|upn| !upn.is_empty())
        .unwrap_or(object_id.as_str())
        .to_string();
    let token_groups: Vec<String> = claims["groups"]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .filter_map(|group| group.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut groups = token_groups;
    groups.push("system:authenticated".into());
    let mut extra = Map::new();
    if !object_id.is_empty() {
        extra.insert("oid".into(), json!([object_id]));
    }
    Ok(Caller {
        username,
        uid: (!object_id.is_empty()).then_some(object_id),
        groups,
        extra,
    })
}

/// Verify an Entra bearer token for this cluster: signature and key id, lifetime, audience and issuer.
pub(super) fn verify_bearer(
    state: &SharedState,
    view: &ClusterView,
    token: &str,
) -> Result<Value, &'static str> {
    let server_app = match view.cluster.aad_mode() {
        AadMode::Legacy => view
            .cluster
            .properties
            .aad_profile
            .as_ref()
            .and_then(|aad| aad.server_app_id.clone())
            .unwrap_or_default(),
        _ => AKS_SERVER_APP_ID.to_string(),
    };
    let spn = format!("spn:{server_app}");
    let claims = match entra::verify(state, token, &[server_app.as_str(), spn.as_str()]) {
        Ok(claims) => claims,
        Err(TokenProblem::Expired(_)) => return Err("expired token"),
        Err(TokenProblem::NotYetValid) => return Err("token not yet valid"),
        Err(TokenProblem::WrongAudience(_)) => return Err("token for another audience"),
        Err(TokenProblem::Invalid) => {
            return Err("invalid token (format, algorithm, key or signature)");
        }
    };
    let tenant = view
        .cluster
        .properties
        .aad_profile
        .as_ref()
        .and_then(|aad| aad.tenant_id.clone())
        .filter(|tenant| !tenant.is_empty())
        .unwrap_or_else(|| TENANT_ID.to_string());
    let issuer = claims["iss"].as_str().unwrap_or_default();
    let accepted = [
        format!("https://sts.windows.net/{tenant}/"),
        format!("https://login.microsoftonline.com/{tenant}/v2.0"),
        format!("{}/{tenant}/v2.0", state.base_url()),
    ];
    if !accepted
        .iter()
        .any(|accepted| accepted.eq_ignore_ascii_case(issuer))
    {
        return Err("token from another issuer");
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aad_view(tenant: Option<&str>) -> ClusterView {
        let mut aad = json!({"managed": true, "adminGroupObjectIDs": [crate::ADMIN_GROUP_ID]});
        if let Some(tenant) = tenant {
            aad["tenantID"] = json!(tenant);
        }
        ClusterView {
            cluster: serde_json::from_value(
                json!({"location": "centralus", "properties": {"aadProfile": aad}}),
            )
            .unwrap(),
            resource_group: "rg".into(),
            name: "c".into(),
            admin_token: "static".into(),
            kube_port: 1,
            created_ms: 0,
            objects: Default::default(),
        }
    }

    fn claims(now: u64) -> Value {
        json!({
            "aud": AKS_SERVER_APP_ID,
            "iss": format!("https://sts.windows.net/{TENANT_ID}/"),
            "iat": now, "nbf": now, "exp": now + 600,
            "oid": "o", "groups": [crate::ADMIN_GROUP_ID],
        })
    }

    #[test]
    fn every_bearer_token_rejection() {
        let dir = tempfile::tempdir().unwrap();
        let state = SharedState::new(&crate::EmulatorOptions::new(dir.path()), 1).unwrap();
        let view = aad_view(None);
        let now = jsonwebtoken::get_current_timestamp();
        let check = |claims: &Value| {
            verify_bearer(&state, &view, &entra::sign(&state, claims).unwrap()).map(|_| ())
        };
        assert_eq!(check(&claims(now)), Ok(()));
        let mut spn = claims(now);
        spn["aud"] = json!(format!("spn:{AKS_SERVER_APP_ID}"));
        assert_eq!(check(&spn), Ok(()));
        let mut v2 = claims(now);
        v2["iss"] = json!(format!(
            "https://login.microsoftonline.com/{TENANT_ID}/v2.0"
        ));
        assert_eq!(check(&v2), Ok(()));

        let mut wrong_audience = claims(now);
        wrong_audience["aud"] = json!("https://management.core.windows.net/");
        assert_eq!(check(&wrong_audience), Err("token for another audience"));
        let mut wrong_issuer = claims(now);
        wrong_issuer["iss"] =
            json!("https://sts.windows.net/00000000-0000-0000-0000-000000000000/");
        assert_eq!(check(&wrong_issuer), Err("token from another issuer"));
        let mut expired = claims(now);
        expired["exp"] = json!(now - 10);
        assert_eq!(check(&expired), Err("expired token"));
        let mut early = claims(now);
        early["nbf"] = json!(now + 300);
        assert_eq!(check(&early), Err("token not yet valid"));
        let mut no_expiry = claims(now);
        no_expiry.as_object_mut().unwrap().remove("exp");
        assert!(check(&no_expiry).is_err());

        // A cluster in another tenant wants that tenant's issuer.
        let other = aad_view(Some("11111111-2222-3333-4444-555555555555"));
        let token = entra::sign(&state, &claims(now)).unwrap();
        assert_eq!(
            verify_bearer(&state, &other, &token).map(|_| ()),
            Err("token from another issuer")
        );
    }
}
