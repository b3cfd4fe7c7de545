//! `aksctl cloud register|set|list|show|unregister` (az cloud ...).

use aks_arm::Cloud;
use aks_identity::azure_cli::clouds;
use aks_identity::azure_cli::profile::{self, CloudSubscription};
use serde_json::{Value, json};
use url::Url;

use super::account::shared_error;
use crate::args::{CloudCommand, CloudNameArgs, CloudRegisterArgs, CloudShowArgs};
use crate::context::{Context, user_agent};
use crate::error::CliError;
use crate::output::TableLayout;

/// Run a `cloud` command; only `register` may make a request (its endpoint discovery).
pub async fn run(command: CloudCommand, context: &Context) -> Result<(), CliError> {
    match command {
        CloudCommand::Register(args) => register(args, context).await,
        CloudCommand::Set(args) => set(args, context),
        CloudCommand::List => list(context),
        CloudCommand::Show(args) => show(args, context),
        CloudCommand::Unregister(args) => unregister(args, context),
    }
}

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

/// `cloud register`: discover the endpoints from `{arm}metadata/endpoints` like az, or take them from flags. The
/// cloud is registered with az too (its `clouds.config` section, with az's keys), so both tools know it.
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
    let (mut cloud, mut az_keys) = if args.skip_endpoint_discovery {
        (from_flags(&args, resource_manager)?, Vec::new())
    } else {
        let http = aks_arm::http_client(&user_agent())?;
        let metadata = aks_arm::fetch_cloud_metadata(&http, &resource_manager).await?;
        let url = aks_arm::metadata_url(&resource_manager);
        let cloud = aks_arm::cloud_from_metadata(&args.name, &resource_manager, &metadata, &url)?;
        let metadata = serde_json::to_value(&metadata).expect("metadata is JSON");
        (cloud, clouds::keys_from_metadata(&metadata))
    };
    if args.skip_endpoint_discovery {
        set_key(
            &mut az_keys,
            "endpoint_resource_manager",
            &args.endpoint_resource_manager,
        );
    }
    if let Some(authority) = &args.endpoint_active_directory {
        cloud.authority_host = parse_url("--endpoint-active-directory", authority)?;
        set_key(&mut az_keys, "endpoint_active_directory", authority);
    }
    if let Some(audience) = &args.endpoint_active_directory_resource_id {
        cloud.arm_audience = audience.clone();
        set_key(
            &mut az_keys,
            "endpoint_active_directory_resource_id",
            audience,
        );
    }
    if let Some(graph) = &args.endpoint_microsoft_graph_resource_id {
        cloud.microsoft_graph = Some(parse_url("--endpoint-microsoft-graph-resource-id", graph)?);
        set_key(&mut az_keys, "endpoint_microsoft_graph_resource_id", graph);
    }
    context
        .azure_config_dir()?
        .register_cloud(&cloud.name, &az_keys)
        .map_err(shared_error)?;
    config.clouds.push(cloud);
    context.store.save(&config)?;
    Ok(())
}

/// The cloud of `--skip-endpoint-discovery`: every endpoint from the flags.
fn from_flags(args: &CloudRegisterArgs, resource_manager: Url) -> Result<Cloud, CliError> {
    let authority = args.endpoint_active_directory.as_deref().ok_or_else(|| {
        CliError::message("--endpoint-active-directory is required with --skip-endpoint-discovery")
    })?;
    let audience = args.endpoint_active_directory_resource_id.clone().ok_or_else(|| {
        CliError::message(
            "--endpoint-active-directory-resource-id is required with --skip-endpoint-discovery",
        )
    })?;
    Ok(Cloud {
        name: args.name.clone(),
        resource_manager,
        authority_host: parse_url("--endpoint-active-directory", authority)?,
        arm_audience: audience,
        microsoft_graph: None,
        kubelogin_environment: "AzurePublicCloud".to_string(),
    })
}

/// Set one of az's `clouds.config` keys, keeping them in az's (alphabetical) order.
fn set_key(keys: &mut Vec<(String, String)>, key: &str, value: &str) {
    keys.retain(|(existing, _)| existing != key);
    keys.push((key.to_owned(), value.to_owned()));
    keys.sort();
}

/// az's keys for a cloud aksctl knows only from its own configuration (registered before aksctl wrote az's
/// `clouds.config`): the endpoints aksctl keeps.
fn keys_from_cloud(cloud: &Cloud) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    set_key(
        &mut keys,
        "endpoint_active_directory",
        cloud.authority_host.as_str(),
    );
    set_key(
        &mut keys,
        "endpoint_active_directory_resource_id",
        &cloud.arm_audience,
    );
    set_key(&mut keys, "endpoint_management", &cloud.arm_audience);
    set_key(
        &mut keys,
        "endpoint_resource_manager",
        cloud.resource_manager.as_str(),
    );
    if let Some(graph) = &cloud.microsoft_graph {
        set_key(
            &mut keys,
            "endpoint_microsoft_graph_resource_id",
            graph.as_str(),
        );
    }
    keys
}

/// `cloud set`: aksctl's active cloud and az's (`config` `[cloud] name`), so both tools use the same logins.
pub fn set(args: CloudNameArgs, context: &Context) -> Result<(), CliError> {
    let mut config = context.config()?;
    let cloud = config.cloud(&args.name).ok_or_else(|| {
        CliError::message(format!("The cloud '{}' is not registered.", args.name))
    })?;
    let directory = context.azure_config_dir()?;
    if Cloud::builtin(&cloud.name).is_none()
        && !directory
            .has_registered_cloud(&cloud.name)
            .map_err(shared_error)?
    {
        directory
            .register_cloud(&cloud.name, &keys_from_cloud(&cloud))
            .map_err(shared_error)?;
    }
    // az does nothing, and says nothing, when the cloud is already its active one.
    let switching = directory.active_cloud().map_err(shared_error)? != cloud.name;
    if switching {
        directory
            .set_active_cloud(&cloud.name)
            .map_err(shared_error)?;
    }
    config.active_cloud = Some(cloud.name.clone());
    context.store.save(&config)?;
    if switching {
        let printer = &context.printer;
        printer.warning(&format!("Switched active cloud to '{}'.", cloud.name));
        switch_subscription(&directory, &cloud.name, printer)?;
    }
    Ok(())
}

/// az's default-subscription switch after `cloud set`, with az's warnings.
fn switch_subscription(
    directory: &aks_identity::azure_cli::AzureConfigDir,
    cloud: &str,
    printer: &crate::output::Printer,
) -> Result<(), CliError> {
    match profile::switch_cloud_subscription(directory, cloud).map_err(shared_error)? {
        CloudSubscription::Switched(record) => printer.warning(&format!(
            "Active subscription switched to '{} ({})'.",
            record.name, record.id
        )),
        CloudSubscription::Failed(error) => {
            printer.warning(&error.to_string());
            printer.warning(
                "Unable to automatically switch the active subscription. Use 'az account set'.",
            );
        }
        CloudSubscription::NoLogin => {
            printer.warning("Use 'az login' to log in to this cloud.");
            printer.warning("Use 'az account set' to set the active subscription.");
        }
    }
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
    let directory = context.azure_config_dir()?;
    if directory
        .active_cloud()
        .map_err(shared_error)?
        .eq_ignore_ascii_case(&args.name)
    {
        context.printer.warning(&format!(
            "The cloud '{}' is az's active cloud: it stays registered with az; run `az cloud set` to another cloud, then `az cloud unregister --name {}`.",
            args.name, args.name
        ));
    } else {
        directory
            .unregister_cloud(&args.name)
            .map_err(shared_error)?;
    }
    context.store.save(&config)?;
    Ok(())
}
