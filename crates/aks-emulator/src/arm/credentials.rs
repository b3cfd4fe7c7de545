//! `listClusterUserCredential` / `listClusterAdminCredential` and the kubeconfig text they carry
//! (docs/arm-aks-api.md; docs/az-behaviour.md).
//!
//! The kubeconfig is written from a template, as AKS-like block YAML with keys in AKS's order. Its `server` is
//! always the cluster's local Kubernetes endpoint (`https://127.0.0.1:<port>`), never a public name.

use aks_model::{
    AKS_CLIENT_APP_ID, AKS_SERVER_APP_ID, AadMode, ArmErrorBody, CredentialResult,
    CredentialResults,
};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;

use super::existing_group;
use super::managed_clusters::{DEFAULT_KUBERNETES_VERSION, cluster_not_found, major_minor};
use crate::TENANT_ID;
use crate::http::{Ctx, arm_error, json};
use crate::state::{ClusterRecord, SharedState, Subscription, cluster_key};

/// The user entry of a kubeconfig.
pub(crate) enum KubeconfigUser<'a> {
    /// kubelogin exec plugin (`format=exec`).
    Exec {
        /// `--server-id`.
        server_id: &'a str,
        /// `--client-id`.
        client_id: &'a str,
        /// `--tenant-id`.
        tenant_id: &'a str,
        /// Where kubelogin signs in: the emulator's own authority host and the CA that signs it.
        sign_in: &'a SignInEnvironment,
    },
    /// Legacy `azure` auth-provider (`format=azure`).
    AuthProvider {
        /// `apiserver-id`.
        apiserver_id: &'a str,
        /// `client-id`.
        client_id: &'a str,
        /// `tenant-id`.
        tenant_id: &'a str,
        /// Managed AAD writes `config-mode: '1'`; legacy AAD does not.
        config_mode: bool,
    },
    /// Client certificate and static token (admin, or a cluster without AAD).
    ClientCertificate {
        /// PEM certificate.
        cert_pem: &'a str,
        /// PEM key.
        key_pem: &'a str,
        /// Bearer token.
        token: &'a str,
    },
}

/// The `env` of an emulator cluster's exec user: kubectl sets these for kubelogin, so `kubectl get nodes` signs
/// in at the emulator (not at `login.microsoftonline.com`, which `--environment AzurePublicCloud` names) and
/// trusts its CA with nothing set in the operator's shell. AKS's exec format allows `env` (client-go
/// `ExecConfig.Env`); aksctl's kubelogin mode reads `AZURE_AUTHORITY_HOST` for every login mode and
/// `REQUESTS_CA_BUNDLE` as its other commands do (docs/offline-rehearsal.md).
pub(crate) struct SignInEnvironment {
    /// `AZURE_AUTHORITY_HOST`: `https://127.0.0.1:P/`.
    pub authority_host: String,
    /// `REQUESTS_CA_BUNDLE`: the emulator's `ca.pem`.
    pub ca_cert_file: String,
}

impl SignInEnvironment {
    /// The emulator's authority host and CA file.
    pub(crate) fn of(state: &SharedState) -> SignInEnvironment {
        SignInEnvironment {
            authority_host: format!("{}/", state.base_url()),
            ca_cert_file: state.0.ca_cert_file.display().to_string(),
        }
    }

    fn variables(&self) -> [(&'static str, &str); 2] {
        [
            ("AZURE_AUTHORITY_HOST", &self.authority_host),
            ("REQUESTS_CA_BUNDLE", &self.ca_cert_file),
        ]
    }
}

/// A YAML scalar: plain when that reads back as the same string in YAML 1.1 and 1.2, else single-quoted.
fn scalar(text: &str) -> String {
    let plain_chars = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':'))
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || (c == '-' && text.len() > 1));
    let lower = text.to_ascii_lowercase();
    let special_word = matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~"
    );
    let numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '_' | ':'))
        || lower.starts_with("0x")
        || lower.starts_with("0o")
        || lower.starts_with("0b")
        || text.parse::<f64>().is_ok();
    if plain_chars && !special_word && !numeric && !text.contains(": ") {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

fn base64_text(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
}

/// The kubeconfig YAML for one cluster, context and user.
pub(crate) fn kubeconfig(
    cluster_name: &str,
    user_name: &str,
    ca_pem: &str,
    server: &str,
    user: &KubeconfigUser<'_>,
) -> String {
    let cluster = scalar(cluster_name);
    let user_scalar = scalar(user_name);
    let mut out = String::new();
    out.push_str("apiVersion: v1\n");
    out.push_str("clusters:\n");
    out.push_str("- cluster:\n");
    out.push_str(&format!(
        "    certificate-authority-data: {}\n",
        base64_text(ca_pem)
    ));
    out.push_str(&format!("    server: {server}\n"));
    out.push_str(&format!("  name: {cluster}\n"));
    out.push_str("contexts:\n");
    out.push_str("- context:\n");
    out.push_str(&format!("    cluster: {cluster}\n"));
    out.push_str(&format!("    user: {user_scalar}\n"));
    out.push_str(&format!("  name: {cluster}\n"));
    out.push_str(&format!("current-context: {cluster}\n"));
    out.push_str("kind: Config\n");
    out.push_str("preferences: {}\n");
    out.push_str("users:\n");
    out.push_str(&format!("- name: {user_scalar}\n"));
    out.push_str("  user:\n");
    match user {
        KubeconfigUser::Exec {
            server_id,
            client_id,
            tenant_id,
            sign_in,
        } => {
            out.push_str("    exec:\n");
            out.push_str("      apiVersion: client.authentication.k8s.io/v1beta1\n");
            out.push_str("      args:\n");
            for arg in [
                "get-token",
                "--environment",
                "AzurePublicCloud",
                "--server-id",
                server_id,
                "--client-id",
                client_id,
                "--tenant-id",
                tenant_id,
                "--login",
                "devicecode",
            ] {
                out.push_str(&format!("      - {}\n", scalar(arg)));
            }
            out.push_str("      command: kubelogin\n");
            out.push_str("      env:\n");
            for (name, value) in sign_in.variables() {
                out.push_str(&format!("      - name: {name}\n"));
                out.push_str(&format!("        value: {}\n", scalar(value)));
            }
            out.push_str("      installHint: |2\n");
            out.push('\n');
            out.push_str("        kubelogin is not installed which is required to connect to AAD enabled cluster.\n");
            out.push('\n');
            out.push_str("        To learn more, please go to https://aka.ms/aks/kubelogin\n");
            out.push_str("      provideClusterInfo: false\n");
        }
        KubeconfigUser::AuthProvider {
            apiserver_id,
            client_id,
            tenant_id,
            config_mode,
        } => {
            out.push_str("    auth-provider:\n");
            out.push_str("      config:\n");
            out.push_str(&format!("        apiserver-id: {}\n", scalar(apiserver_id)));
            out.push_str(&format!("        client-id: {}\n", scalar(client_id)));
            if *config_mode {
                out.push_str("        config-mode: '1'\n");
            }
            out.push_str("        environment: AzurePublicCloud\n");
            out.push_str(&format!("        tenant-id: {}\n", scalar(tenant_id)));
            out.push_str("      name: azure\n");
        }
        KubeconfigUser::ClientCertificate {
            cert_pem,
            key_pem,
            token,
        } => {
            out.push_str(&format!(
                "    client-certificate-data: {}\n",
                base64_text(cert_pem)
            ));
            out.push_str(&format!("    client-key-data: {}\n", base64_text(key_pem)));
            out.push_str(&format!("    token: {}\n", scalar(token)));
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Format {
    Azure,
    Exec,
}

fn answer(name: &str, kubeconfig: &str) -> Response {
    json(
        StatusCode::OK,
        &CredentialResults {
            kubeconfigs: vec![CredentialResult {
                name: name.to_string(),
                value: base64_text(kubeconfig),
                ..CredentialResult::default()
            }],
            ..CredentialResults::default()
        },
    )
}

fn find<'a>(
    store: &'a crate::state::Store,
    subscription: &Subscription,
    group: &str,
    name: &str,
) -> Result<&'a ClusterRecord, Response> {
    existing_group(store, subscription, group)?;
    store
        .clusters
        .get(&cluster_key(subscription, group, name))
        .ok_or_else(|| cluster_not_found(group, name))
}

fn server(record: &ClusterRecord) -> String {
    format!("https://127.0.0.1:{}", record.kube_port)
}

/// `POST …/listClusterUserCredential?format=azure|exec&server-fqdn=…`.
pub(super) fn user(
    state: &SharedState,
    ctx: &Ctx,
    subscription: &Subscription,
    group: &str,
    name: &str,
) -> Response {
    let format = match ctx.query("format") {
        None => None,
        Some(value) if value.eq_ignore_ascii_case("azure") => Some(Format::Azure),
        Some(value) if value.eq_ignore_ascii_case("exec") => Some(Format::Exec),
        Some(other) => {
            // Invented message: AKS's wording for an unknown format value was not verified.
            return arm_error(
                StatusCode::BAD_REQUEST,
                ArmErrorBody::new(
                    "BadRequest",
                    format!("Invalid format '{other}'. Allowed values are 'azure' and 'exec'."),
                )
                .with_target("format"),
            );
        }
    };
    let store = state.store();
    let record = match find(&store, subscription, group, name) {
        Ok(record) => record,
        Err(response) => return response,
    };
    let cluster = &record.cluster;
    let user_name = format!("clusterUser_{}_{}", record.resource_group, record.name);
    let server = server(record);
    let aad = cluster.properties.aad_profile.clone().unwrap_or_default();
    let tenant = aad
        .tenant_id
        .clone()
        .filter(|tenant| !tenant.is_empty())
        .unwrap_or_else(|| TENANT_ID.to_string());
    let version = cluster
        .kubernetes_version()
        .unwrap_or(DEFAULT_KUBERNETES_VERSION);
    let exec_by_default = major_minor(version).is_none_or(|v| v >= (1, 24));
    let format = format.unwrap_or(if exec_by_default {
        Format::Exec
    } else {
        Format::Azure
    });
    let (server_id, client_id, config_mode) = match cluster.aad_mode() {
        AadMode::Managed => (
            AKS_SERVER_APP_ID.to_string(),
            AKS_CLIENT_APP_ID.to_string(),
            true,
        ),
        AadMode::Legacy => (
            aad.server_app_id.clone().unwrap_or_default(),
            aad.client_app_id.clone().unwrap_or_default(),
            false,
        ),
        AadMode::None => {
            let text = kubeconfig(
                &record.name,
                &user_name,
                &record.ca.cert_pem,
                &server,
                &KubeconfigUser::ClientCertificate {
                    cert_pem: &record.admin.cert_pem,
                    key_pem: &record.admin.key_pem,
                    token: &record.admin_token,
                },
            );
            return answer("clusterUser", &text);
        }
    };
    let sign_in = SignInEnvironment::of(state);
    let user = match format {
        Format::Exec => KubeconfigUser::Exec {
            server_id: &server_id,
            client_id: &client_id,
            tenant_id: &tenant,
            sign_in: &sign_in,
        },
        Format::Azure => KubeconfigUser::AuthProvider {
            apiserver_id: &server_id,
            client_id: &client_id,
            tenant_id: &tenant,
            config_mode,
        },
    };
    let text = kubeconfig(
        &record.name,
        &user_name,
        &record.ca.cert_pem,
        &server,
        &user,
    );
    answer("clusterUser", &text)
}

/// `POST …/listClusterAdminCredential`: client certificate + token; refused with `disableLocalAccounts`.
pub(super) fn admin(
    state: &SharedState,
    subscription: &Subscription,
    group: &str,
    name: &str,
) -> Response {
    let store = state.store();
    let record = match find(&store, subscription, group, name) {
        Ok(record) => record,
        Err(response) => return response,
    };
    if record.cluster.properties.disable_local_accounts == Some(true) {
        return arm_error(
            StatusCode::BAD_REQUEST,
            ArmErrorBody::new(
                "BadRequest",
                "Getting static credential is not allowed because this cluster is set to disable local accounts.",
            ),
        );
    }
    let text = kubeconfig(
        &record.name,
        &format!("clusterAdmin_{}_{}", record.resource_group, record.name),
        &record.ca.cert_pem,
        &server(record),
        &KubeconfigUser::ClientCertificate {
            cert_pem: &record.admin.cert_pem,
            key_pem: &record.admin.key_pem,
            token: &record.admin_token,
        },
    );
    answer("clusterAdmin", &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_that_would_change_type_are_quoted() {
        assert_eq!(scalar("c1"), "c1");
        assert_eq!(scalar("clusterUser_rg1_c1"), "clusterUser_rg1_c1");
        assert_eq!(scalar("123"), "'123'");
        assert_eq!(scalar("yes"), "'yes'");
        assert_eq!(scalar("1e5"), "'1e5'");
        assert_eq!(scalar("rg(1)"), "'rg(1)'");
        assert_eq!(scalar("--tenant-id"), "--tenant-id");
        assert_eq!(scalar("-"), "'-'");
        assert_eq!(scalar("-12"), "'-12'");
        assert_eq!(
            scalar("6dae42f8-4368-4678-94ff-3960e28e3630"),
            "6dae42f8-4368-4678-94ff-3960e28e3630"
        );
    }

    #[test]
    fn exec_kubeconfig_matches_aks_text() {
        let text = kubeconfig(
            "c1",
            "clusterUser_rg1_c1",
            "PEM",
            "https://127.0.0.1:1234",
            &KubeconfigUser::Exec {
                server_id: AKS_SERVER_APP_ID,
                client_id: AKS_CLIENT_APP_ID,
                tenant_id: TENANT_ID,
                sign_in: &SignInEnvironment {
                    authority_host: "https://127.0.0.1:1234/".into(),
                    ca_cert_file: "/tmp/emulator dir/ca.pem".into(),
                },
            },
        );
        assert!(text.starts_with("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: UEVN\n    server: https://127.0.0.1:1234\n  name: c1\n"), "{text}");
        assert!(text.contains("      installHint: |2\n\n        kubelogin is not installed which is required to connect to AAD enabled cluster.\n\n        To learn more, please go to https://aka.ms/aks/kubelogin\n      provideClusterInfo: false\n"));
        let parsed: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let exec = &parsed["users"][0]["user"]["exec"];
        assert_eq!(exec["args"][1], "--environment");
        assert_eq!(exec["args"][8], TENANT_ID);
        assert_eq!(
            exec["env"],
            serde_json::json!([
                {"name": "AZURE_AUTHORITY_HOST", "value": "https://127.0.0.1:1234/"},
                {"name": "REQUESTS_CA_BUNDLE", "value": "/tmp/emulator dir/ca.pem"},
            ])
        );
        assert_eq!(exec["provideClusterInfo"], false);
        assert_eq!(
            exec["installHint"],
            "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\nTo learn more, please go to https://aka.ms/aks/kubelogin\n"
        );
    }
}
