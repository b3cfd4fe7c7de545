//! `aksctl aks create|show|list|delete` (az aks ..., docs/az-behaviour.md "aks create"); `aks create
//! --export-template` writes the create PUT as an ARM template instead (see `export_template`).

use aks_arm::{ArmClient, PollStatus, Poller};
use aks_model::{
    AadProfile, AgentPoolProfile, LinuxProfile, ManagedCluster, ManagedClusterIdentity,
    ManagedClusterProperties, ManagedClusterSku, SshConfiguration, SshPublicKey, az_view,
    validation,
};
use serde_json::{Value, json};

use crate::args::{AksCreateArgs, AksDeleteArgs, AksListArgs, ClusterArgs, Tier};
use crate::context::Context;
use crate::error::CliError;
use crate::output::TableLayout;
use crate::progress::Spinner;
use crate::ssh;

fn view(cluster: &Value) -> Value {
    az_view::managed_cluster(cluster)
}

/// Check `-g` and `-n`.
pub fn validate_cluster_args(cluster: &ClusterArgs) -> Result<(), CliError> {
    if cluster.name.is_empty() {
        return Err(CliError::message("--name has no value"));
    }
    validation::resource_group_name("--resource-group", &cluster.resource_group)?;
    validation::cluster_name("--name", &cluster.name)?;
    Ok(())
}

/// Wait for an LRO with a spinner showing its status; the final resource body.
pub async fn wait_with_spinner(poller: Poller) -> Result<Option<Value>, CliError> {
    let spinner = Spinner::start("Running ..");
    let result = poller
        .wait_with(&mut |status: &PollStatus| {
            if let PollStatus::InProgress { status, .. } = status {
                spinner.set_message(format!("Running .. ({status})"));
            }
        })
        .await;
    spinner.finish();
    Ok(result?)
}

/// `--aad-admin-group-object-ids` and `--aad-tenant-id`, checked as GUIDs (`aks create` and `aks update`).
pub struct AadIds {
    /// The admin groups (`""` is an empty list, as in az).
    pub admin_groups: Option<Vec<String>>,
    /// The tenant.
    pub tenant_id: Option<String>,
}

/// Split and check the AAD id flags; each bad value is an error naming its flag.
pub fn aad_ids(admin_groups: Option<&str>, tenant_id: Option<&str>) -> Result<AadIds, CliError> {
    Ok(AadIds {
        admin_groups: admin_groups
            .map(|ids| validation::guid_list("--aad-admin-group-object-ids", ids))
            .transpose()?,
        tenant_id: tenant_id
            .map(|id| validation::guid("--aad-tenant-id", id))
            .transpose()?,
    })
}

/// The `aks create` request body, as az 2.91 builds it (docs/az-behaviour.md, "aks create").
fn create_body(
    args: &AksCreateArgs,
    location: String,
    subscription: &str,
    ssh_key: Option<String>,
) -> Result<ManagedCluster, CliError> {
    let aad_profile = if args.enable_aad {
        let AadIds {
            admin_groups,
            tenant_id,
        } = aad_ids(
            args.aad_admin_group_object_ids.as_deref(),
            args.aad_tenant_id.as_deref(),
        )?;
        Some(AadProfile::managed(
            args.enable_azure_rbac,
            admin_groups,
            tenant_id,
        ))
    } else {
        None
    };
    let kubernetes_version = args.kubernetes_version.clone().unwrap_or_default();
    let pool = system_pool(args, &kubernetes_version);
    let mut properties = ManagedClusterProperties {
        kubernetes_version: Some(kubernetes_version),
        dns_prefix: Some(args.dns_name_prefix.clone().unwrap_or_else(|| {
            validation::default_dns_prefix(
                &args.cluster.name,
                &args.cluster.resource_group,
                subscription,
            )
        })),
        enable_rbac: Some(!args.disable_rbac),
        disable_local_accounts: Some(args.disable_local_accounts),
        aad_profile,
        agent_pool_profiles: Some(vec![pool]),
        linux_profile: ssh_key.map(|key| LinuxProfile {
            admin_username: args.admin_username.clone(),
            ssh: SshConfiguration {
                public_keys: vec![SshPublicKey {
                    key_data: key,
                    ..SshPublicKey::default()
                }],
                ..SshConfiguration::default()
            },
            ..LinuxProfile::default()
        }),
        ..ManagedClusterProperties::default()
    };
    for (key, value) in [
        (
            "networkProfile",
            json!({"loadBalancerSku": "standard", "outboundType": "loadBalancer"}),
        ),
        ("addonProfiles", json!({})),
        ("storageProfile", json!({})),
        ("bootstrapProfile", json!({"artifactSource": "Direct"})),
    ] {
        properties.extra.insert(key.to_string(), value);
    }
    let tier = match args.tier.unwrap_or(Tier::Free) {
        Tier::Free => "Free",
        Tier::Standard => "Standard",
        Tier::Premium => "Premium",
    };
    Ok(ManagedCluster {
        location,
        tags: super::parse_tags(&args.tags),
        sku: Some(ManagedClusterSku {
            name: Some("Base".into()),
            tier: Some(tier.into()),
            ..ManagedClusterSku::default()
        }),
        identity: Some(ManagedClusterIdentity {
            identity_type: Some("SystemAssigned".into()),
            ..ManagedClusterIdentity::default()
        }),
        properties,
        ..ManagedCluster::default()
    })
}

/// az's one system node pool `nodepool1`, with the defaults az sends.
fn system_pool(args: &AksCreateArgs, kubernetes_version: &str) -> AgentPoolProfile {
    let mut pool = AgentPoolProfile {
        name: "nodepool1".to_string(),
        count: Some(i64::from(args.node_count)),
        vm_size: Some(args.node_vm_size.clone().unwrap_or_default()),
        os_type: Some("Linux".to_string()),
        mode: Some("System".to_string()),
        orchestrator_version: Some(kubernetes_version.to_owned()),
        ..AgentPoolProfile::default()
    };
    for (key, value) in [
        ("enableNodePublicIP", json!(false)),
        ("enableAutoScaling", json!(false)),
        ("scaleSetPriority", json!("Regular")),
        ("nodeTaints", json!([])),
        ("upgradeSettings", json!({})),
        ("type", json!("VirtualMachineScaleSets")),
        ("enableEncryptionAtHost", json!(false)),
        ("enableUltraSSD", json!(false)),
        ("enableFIPS", json!(false)),
    ] {
        pool.extra.insert(key.to_string(), value);
    }
    pool
}

/// az ignores `--aad-admin-group-object-ids` and `--aad-tenant-id` without `--enable-aad` and creates a cluster
/// without Entra integration; aksctl does the same but says so (the warning, or `None` when nothing is ignored).
fn ignored_aad_flags_warning(args: &AksCreateArgs) -> Option<String> {
    if args.enable_aad {
        return None;
    }
    let ignored: Vec<&str> = [
        (
            "--aad-admin-group-object-ids",
            &args.aad_admin_group_object_ids,
        ),
        ("--aad-tenant-id", &args.aad_tenant_id),
    ]
    .into_iter()
    .filter(|(_, value)| value.is_some())
    .map(|(flag, _)| flag)
    .collect();
    if ignored.is_empty() {
        return None;
    }
    Some(format!(
        "{} {} ignored without --enable-aad: the cluster is created without Microsoft Entra integration. Add --enable-aad to create it with AKS-managed Entra integration, or enable it later with 'aksctl aks update --enable-aad'.",
        ignored.join(" and "),
        if ignored.len() == 1 { "is" } else { "are" }
    ))
}

/// `aks create`: validate, refuse an existing cluster, take the group's location, PUT, wait, print.
pub async fn create(args: AksCreateArgs, context: &Context) -> Result<(), CliError> {
    validate_cluster_args(&args.cluster)?;
    if args.enable_azure_rbac && !args.enable_aad {
        return Err(CliError::message(
            "--enable-azure-rbac can only be used together with --enable-aad",
        ));
    }
    if args.enable_azure_rbac && args.disable_rbac {
        return Err(CliError::message(
            "--enable-azure-rbac cannot be used together with --disable-rbac",
        ));
    }
    if args.disable_rbac && args.enable_rbac {
        return Err(CliError::message(
            "specify either '--disable-rbac' or '--enable-rbac', not both.",
        ));
    }
    let location = args
        .location
        .as_deref()
        .map(|l| validation::location("--location", l))
        .transpose()?;
    if let Some(warning) = ignored_aad_flags_warning(&args) {
        context.printer.warning(&warning);
    }
    let ssh_key = ssh::resolve_key(
        args.no_ssh_key,
        args.ssh_key_value.as_deref(),
        args.generate_ssh_keys,
        &context.printer,
    )?;
    let arm = context.arm("aks create")?;
    let subscription = context.subscription_id(&arm).await?;
    let ClusterArgs {
        resource_group,
        name,
    } = &args.cluster;
    match arm
        .get_managed_cluster(&subscription, resource_group, name)
        .await
    {
        Ok(_) => {
            return Err(CliError::message(format!(
                "The cluster '{name}' under resource group '{resource_group}' already exists. Please use command 'aksctl aks update' to update the existing cluster, or select a different cluster name to create a new cluster."
            )));
        }
        Err(error) if error.is_not_found() => {
            tracing::debug!("cluster does not exist yet: {error}")
        }
        Err(error) => return Err(error.into()),
    }
    let location = match location {
        Some(location) => location,
        None => {
            arm.get_resource_group(&subscription, resource_group)
                .await?
                .location
        }
    };
    let body = create_body(&args, location, &subscription, ssh_key)?;
    if let Some(target) = &args.export_template {
        return super::export_template::export(&body, &args.cluster, target, context);
    }
    put_and_print(
        &arm,
        &subscription,
        &args.cluster,
        &body,
        args.no_wait,
        context,
    )
    .await
}

/// PUT a cluster, then (unless `--no-wait`) wait and print the final GET in az's shape.
pub async fn put_and_print(
    arm: &ArmClient,
    subscription: &str,
    cluster: &ClusterArgs,
    body: &ManagedCluster,
    no_wait: bool,
    context: &Context,
) -> Result<(), CliError> {
    let poller = arm
        .begin_create_or_update_managed_cluster(
            subscription,
            &cluster.resource_group,
            &cluster.name,
            body,
        )
        .await?;
    if no_wait {
        return Ok(());
    }
    let result = match wait_with_spinner(poller).await? {
        Some(value) => value,
        None => serde_json::to_value(
            arm.get_managed_cluster(subscription, &cluster.resource_group, &cluster.name)
                .await?,
        )
        .unwrap_or(Value::Null),
    };
    // az's `aks create` and `aks update` have no table transformer: knack's automatic table.
    context.printer.data(&view(&result), TableLayout::Auto)
}

/// `aks show`.
pub async fn show(args: ClusterArgs, context: &Context) -> Result<(), CliError> {
    validate_cluster_args(&args)?;
    let arm = context.arm("aks show")?;
    let subscription = context.subscription_id(&arm).await?;
    let cluster = arm
        .get_managed_cluster(&subscription, &args.resource_group, &args.name)
        .await?;
    context.printer.data(
        &view(&serde_json::to_value(cluster).unwrap_or(Value::Null)),
        TableLayout::ManagedCluster,
    )
}

/// `aks list`.
pub async fn list(args: AksListArgs, context: &Context) -> Result<(), CliError> {
    let arm = context.arm("aks list")?;
    let subscription = context.subscription_id(&arm).await?;
    let clusters = arm
        .list_managed_clusters(&subscription, args.resource_group.as_deref())
        .await?;
    let views = clusters
        .iter()
        .map(|c| view(&serde_json::to_value(c).unwrap_or(Value::Null)))
        .collect();
    context
        .printer
        .data(&Value::Array(views), TableLayout::ManagedCluster)
}

/// `aks delete`: confirm, DELETE, wait unless `--no-wait`; prints nothing.
pub async fn delete(args: AksDeleteArgs, context: &Context) -> Result<(), CliError> {
    validate_cluster_args(&args.cluster)?;
    super::confirm_or_yes(context, args.yes)?;
    let arm = context.arm("aks delete")?;
    let subscription = context.subscription_id(&arm).await?;
    let poller = arm
        .begin_delete_managed_cluster(
            &subscription,
            &args.cluster.resource_group,
            &args.cluster.name,
        )
        .await?;
    if !args.no_wait {
        wait_with_spinner(poller).await?;
    }
    Ok(())
}
