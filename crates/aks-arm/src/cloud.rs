//! Azure clouds: the three built into az, and clouds registered from `{arm}/metadata/endpoints`.

use serde::{Deserialize, Serialize};
use url::Url;

/// One Azure cloud: where ARM and Entra live and which audience ARM tokens carry.
///
/// The built-in clouds carry az's endpoints (`az cloud show`); custom clouds come from
/// [`discover_cloud`](crate::discover_cloud) (docs/arm-aks-api.md, "Clouds and the metadata endpoint").
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Cloud {
    /// az's cloud name, e.g. `AzureCloud`.
    pub name: String,
    /// The ARM endpoint, e.g. `https://management.azure.com/`.
    pub resource_manager: Url,
    /// The Entra authority host (az's `endpoint_active_directory`), e.g. `https://login.microsoftonline.com/`.
    pub authority_host: Url,
    /// The ARM token audience (az's `active_directory_resource_id`), e.g. `https://management.core.windows.net/`.
    pub arm_audience: String,
    /// The Microsoft Graph endpoint, when the cloud has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microsoft_graph: Option<Url>,
    /// kubelogin's `--environment` value: `AzurePublicCloud`, `AzureUSGovernmentCloud`, `AzureChinaCloud`
    /// (custom clouds: `AzurePublicCloud`).
    pub kubelogin_environment: String,
}

fn parse(url: &str) -> Url {
    Url::parse(url).expect("built-in cloud URLs are valid")
}

impl Cloud {
    /// The name of the default cloud.
    pub const DEFAULT: &'static str = "AzureCloud";

    /// A built-in cloud by name (case-insensitive): `AzureCloud`, `AzureUSGovernment`, `AzureChinaCloud`.
    pub fn builtin(name: &str) -> Option<Cloud> {
        Cloud::builtins()
            .into_iter()
            .find(|cloud| cloud.name.eq_ignore_ascii_case(name))
    }

    /// The clouds az knows without registration, with az's endpoints.
    pub fn builtins() -> Vec<Cloud> {
        vec![
            Cloud {
                name: "AzureCloud".into(),
                resource_manager: parse("https://management.azure.com/"),
                authority_host: parse("https://login.microsoftonline.com/"),
                arm_audience: "https://management.core.windows.net/".into(),
                microsoft_graph: Some(parse("https://graph.microsoft.com/")),
                kubelogin_environment: "AzurePublicCloud".into(),
            },
            Cloud {
                name: "AzureUSGovernment".into(),
                resource_manager: parse("https://management.usgovcloudapi.net/"),
                authority_host: parse("https://login.microsoftonline.us/"),
                arm_audience: "https://management.core.usgovcloudapi.net/".into(),
                microsoft_graph: Some(parse("https://graph.microsoft.us/")),
                kubelogin_environment: "AzureUSGovernmentCloud".into(),
            },
            Cloud {
                name: "AzureChinaCloud".into(),
                resource_manager: parse("https://management.chinacloudapi.cn/"),
                authority_host: parse("https://login.chinacloudapi.cn/"),
                arm_audience: "https://management.core.chinacloudapi.cn/".into(),
                microsoft_graph: Some(parse("https://microsoftgraph.chinacloudapi.cn/")),
                kubelogin_environment: "AzureChinaCloud".into(),
            },
        ]
    }

    /// The scope for ARM tokens: `{arm_audience}/.default`, e.g. `https://management.core.windows.net//.default`
    /// (the double slash is what az sends, docs/arm-aks-api.md "Clouds and the metadata endpoint").
    pub fn arm_scope(&self) -> String {
        format!("{}/.default", self.arm_audience)
    }

    /// The authority host without a trailing slash, as azure_identity and MSAL join it.
    pub fn authority(&self) -> String {
        self.authority_host
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_have_az_endpoints_and_scopes() {
        let public = Cloud::builtin("azurecloud").unwrap();
        assert_eq!(public.name, "AzureCloud");
        assert_eq!(
            public.arm_scope(),
            "https://management.core.windows.net//.default"
        );
        assert_eq!(public.authority(), "https://login.microsoftonline.com");
        assert_eq!(
            Cloud::builtin("AzureUSGovernment")
                .unwrap()
                .kubelogin_environment,
            "AzureUSGovernmentCloud"
        );
        assert_eq!(
            Cloud::builtin("AzureChinaCloud")
                .unwrap()
                .resource_manager
                .as_str(),
            "https://management.chinacloudapi.cn/"
        );
        assert!(Cloud::builtin("Nope").is_none());
    }
}
