//! `aksctl cloud register|set|list|show|unregister` (az cloud ...).

use aks_arm::Cloud;
use serde_json::{Value, json};
use url::Url;

use crate::args::{CloudNameArgs, CloudRegisterArgs, CloudShowArgs};
use crate::context::{Context, user_agent};
use crate::error::CliError;
use crate::output::TableLayout;

fn view(cloud: &Cloud, active: bool) -> Value {
    json!({
        "endpoints": {
            "activeDirectory": cloud.authority_host.as_str().trim_end_matches('/'),
            "activeDirectoryResourceId": cloud.arm_audience,
            "resourceManager": cloud.resource_manager.as_str(),
            "microsoftGraphResourceId": cloud.microsoft_graph.as_ref().map(Url::as_str),
        },
        "isActive": active,
        "name": cloud.name,
        "profile": "latest",
    })
}

fn parse_url(flag: &str, value: &str) -> Result<Url, CliError> {
    let url = Url::parse(value).map_err(|error| {
        CliError::message(format!("{flag} value \"{value}\" is not a URL: {error}"))
    })?;
    if url.scheme() != "https" {
        return Err(CliError::message(format!(
            "{flag} value \"{value}\" must be an https:// URL"
        )));
    }
    Ok(url)
}

/// `cloud register`: discover the endpoints from `{arm}metadata/endpoints` like az, or take them from flags.
pub async fn register(args: CloudRegisterArgs, context: &Context) -> Result<(), CliError> {
    let mut config = context.config()?;
    if config.cloud(&args.name).is_some() {
        return Err(CliError::message(format!(
            "The cloud '{}' is already registered.",
            args.name
        )));
    }
    let mut resource_manager = parse_url(
        "--endpoint-resource-manager",
        &args.endpoint_resource_manager,
    )?;
    if !resource_manager.path().ends_with('/') {
        resource_manager.set_path(&format!("{}/", resource_manager.path()));
    }
    let mut cloud = if args.skip_endpoint_discovery {
        let authority = args.endpoint_active_directory.as_deref().ok_or_else(|| {
            CliError::message(
                "--endpoint-active-directory is required with --skip-endpoint-discovery",
            )
        })?;
        let audience = args.endpoint_active_directory_resource_id.clone().ok_or_else(|| {
            CliError::message("--endpoint-active-directory-resource-id is required with --skip-endpoint-discovery")
        })?;
        Cloud {
            name: args.name.clone(),
            resource_manager,
            authority_host: parse_url("--endpoint-active-directory", authority)?,
            arm_audience: audience,
            microsoft_graph: None,
            kubelogin_environment: "AzurePublicCloud".to_string(),
        }
    } else {
        let http = aks_arm::http_client(&user_agent())?;
        aks_arm::discover_cloud(&http, &args.name, &resource_manager).await?
    };
    if let Some(authority) = &args.endpoint_active_directory {
        cloud.authority_host = parse_url("--endpoint-active-directory", authority)?;
    }
    if let Some(audience) = &args.endpoint_active_directory_resource_id {
        cloud.arm_audience = audience.clone();
    }
    if let Some(graph) = &args.endpoint_microsoft_graph_resource_id {
        cloud.microsoft_graph = Some(parse_url("--endpoint-microsoft-graph-resource-id", graph)?);
    }
    config.clouds.push(cloud);
    context.store.save(&config)?;
    Ok(())
}

/// `cloud set`.
pub fn set(args: CloudNameArgs, context: &Context) -> Result<(), CliError> {
    let mut config = context.config()?;
    let cloud = config.cloud(&args.name).ok_or_else(|| {
        CliError::message(format!("The cloud '{}' is not registered.", args.name))
    })?;
    config.active_cloud = Some(cloud.name.clone());
    context.store.save(&config)?;
    context
        .printer
        .warning(&format!("Switched active cloud to '{}'.", cloud.name));
    Ok(())
}

/// `cloud list`.
pub fn list(context: &Context) -> Result<(), CliError> {
    let config = context.config()?;
    let active = config.active().name;
    let mut clouds = Cloud::builtins();
    clouds.extend(config.clouds.iter().cloned());
    let views = clouds
        .iter()
        .map(|cloud| view(cloud, cloud.name == active))
        .collect();
    context
        .printer
        .data(&Value::Array(views), TableLayout::Auto)
}

/// `cloud show`.
pub fn show(args: CloudShowArgs, context: &Context) -> Result<(), CliError> {
    let config = context.config()?;
    let active = config.active();
    let cloud = match &args.name {
        Some(name) => config
            .cloud(name)
            .ok_or_else(|| CliError::message(format!("The cloud '{name}' is not registered.")))?,
        None => active.clone(),
    };
    context
        .printer
        .data(&view(&cloud, cloud.name == active.name), TableLayout::Auto)
}

/// `cloud unregister`: only registered (not built-in, not active) clouds.
pub fn unregister(args: CloudNameArgs, context: &Context) -> Result<(), CliError> {
    let mut config = context.config()?;
    if Cloud::builtin(&args.name).is_some() {
        return Err(CliError::message(format!(
            "Cannot unregister the built-in cloud '{}'.",
            args.name
        )));
    }
    if config.active().name.eq_ignore_ascii_case(&args.name) {
        return Err(CliError::message(format!(
            "The cloud '{}' is in use. Switch to another cloud with `aksctl cloud set` first.",
            args.name
        )));
    }
    let before = config.clouds.len();
    config
        .clouds
        .retain(|cloud| !cloud.name.eq_ignore_ascii_case(&args.name));
    if config.clouds.len() == before {
        return Err(CliError::message(format!(
            "The cloud '{}' is not registered.",
            args.name
        )));
    }
    config.subscriptions.remove(&args.name);
    context.store.save(&config)?;
    Ok(())
}
