//! `aksctl aks update` (az aks update, the Microsoft Entra subset): GET the cluster, check the flags against it
//! with az's messages, change the fetched object, PUT it back whole, wait, GET and print it
//! (docs/az-behaviour.md, "aks update").
//!
//! Like az, the same `--enable-aad` path serves a non-AAD cluster and a legacy AAD cluster: the `aadProfile` is
//! replaced by `{managed: true}` (so the legacy client/server application ids and secret are dropped), then the tenant,
//! admin groups and Azure RBAC flags are applied. Every property we do not model is sent back as it was read. Nothing
//! here can ask for a downgrade to legacy AAD or for disabling managed AAD (docs/arm-aks-api.md, "Managed AAD rules").

use aks_model::{AadMode, AadProfile, ManagedCluster};
use serde_json::{Map, Value};

use super::aks::{self, AadIds};
use super::lockout;
use crate::args::AksUpdateArgs;
use crate::context::Context;
use crate::error::CliError;

/// az's reconcile prompt when no update flag is given (knack's `prompt_y_n` with default "n").
const RECONCILE_PROMPT: &str =
    "No argument specified to update. Would you like to reconcile to current settings? (y/N): ";

/// The options `aks update` takes besides `-g`/`-n`, listed by the no-argument error as az lists its parameters.
const UPDATE_OPTIONS: &[&str] = &[
    "--tags",
    "--disable-local-accounts",
    "--enable-local-accounts",
    "--enable-aad",
    "--aad-tenant-id",
    "--aad-admin-group-object-ids",
    "--enable-azure-rbac",
    "--disable-azure-rbac",
    "--no-wait",
    "--yes",
];

/// What one `aks update` asks for, with the ids already checked as GUIDs.
#[derive(Debug, Default, Clone)]
pub(super) struct Changes {
    enable_aad: bool,
    admin_groups: Option<Vec<String>>,
    tenant_id: Option<String>,
    enable_azure_rbac: bool,
    disable_azure_rbac: bool,
    disable_local_accounts: bool,
    enable_local_accounts: bool,
    tags: Option<Map<String, Value>>,
}

impl Changes {
    /// What `aks update --enable-aad [--aad-admin-group-object-ids …] [--aad-tenant-id …]` asks for: the change
    /// `aks migrate` applies to each legacy AAD cluster.
    pub(super) fn enable_managed_aad(
        admin_groups: Option<Vec<String>>,
        tenant_id: Option<String>,
    ) -> Changes {
        Changes {
            enable_aad: true,
            admin_groups,
            tenant_id,
            ..Changes::default()
        }
    }

    /// The changes `args` ask for. Every field of [`AksUpdateArgs`] is named here, every field of [`Changes`] in
    /// [`Changes::any`] and [`apply`], so a new `aks update` flag does not compile until each step decides what it
    /// means (its name in the no-argument message, [`UPDATE_OPTIONS`], is checked by a unit test).
    fn from_args(args: &AksUpdateArgs) -> Result<Changes, CliError> {
        let AksUpdateArgs {
            // Read by `update` itself: which cluster, whether to ask or wait, where to write a template.
            cluster: _,
            yes: _,
            no_wait: _,
            export_template: _,
            enable_aad,
            aad_admin_group_object_ids,
            aad_tenant_id,
            enable_azure_rbac,
            disable_azure_rbac,
            disable_local_accounts,
            enable_local_accounts,
            tags,
        } = args;
        let AadIds {
            admin_groups,
            tenant_id,
        } = aks::aad_ids(
            aad_admin_group_object_ids.as_deref(),
            aad_tenant_id.as_deref(),
        )?;
        Ok(Changes {
            enable_aad: *enable_aad,
            admin_groups,
            tenant_id,
            enable_azure_rbac: *enable_azure_rbac,
            disable_azure_rbac: *disable_azure_rbac,
            disable_local_accounts: *disable_local_accounts,
            enable_local_accounts: *enable_local_accounts,
            tags: super::parse_tags(tags),
        })
    }

    /// Whether the change can take away an admin path (docs/lockout.md): it enables managed Entra integration,
    /// names admin groups or disables local accounts.
    fn touches_admin_paths(&self) -> bool {
        self.enable_aad || self.admin_groups.is_some() || self.disable_local_accounts
    }

    /// az's `check_raw_parameters`: a parameter counts when its value is truthy in Python, so `--tags ""` and
    /// `--aad-tenant-id ""` alone do not, while `--no-wait` and `--yes` do (checked by the caller).
    fn any(&self) -> bool {
        let Changes {
            enable_aad,
            admin_groups,
            tenant_id,
            enable_azure_rbac,
            disable_azure_rbac,
            disable_local_accounts,
            enable_local_accounts,
            tags,
        } = self;
        *enable_aad
            || admin_groups.as_ref().is_some_and(|g| !g.is_empty())
            || tenant_id.as_ref().is_some_and(|t| !t.is_empty())
            || *enable_azure_rbac
            || *disable_azure_rbac
            || *disable_local_accounts
            || *enable_local_accounts
            || tags.as_ref().is_some_and(|t| !t.is_empty())
    }
}

/// az's `RequiredArgumentMissingError` when there is nothing to update.
fn no_argument_error() -> CliError {
    let options: Vec<String> = UPDATE_OPTIONS
        .iter()
        .map(|option| format!("\"{option}\""))
        .collect();
    CliError::message(format!(
        "Please specify one or more of {}.",
        options.join(" or ")
    ))
}

fn not_managed(flag: &str) -> CliError {
    CliError::message(format!(
        "Cannot specify \"{flag}\" if managed AAD is not enabled"
    ))
}

/// A legacy AAD cluster being moved to managed AAD: what the warnings need.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LegacyMigration {
    free_tier: bool,
}

impl LegacyMigration {
    fn of(cluster: &ManagedCluster, changes: &Changes) -> Option<LegacyMigration> {
        (changes.enable_aad && cluster.aad_mode() == AadMode::Legacy).then(|| LegacyMigration {
            free_tier: is_free_tier(cluster),
        })
    }
}

/// Whether the cluster is on the Free tier (no tier counts as Free): its API server may see downtime during the
/// legacy → managed migration.
pub(super) fn is_free_tier(cluster: &ManagedCluster) -> bool {
    cluster
        .sku
        .as_ref()
        .and_then(|sku| sku.tier.as_deref())
        .is_none_or(|tier| tier.eq_ignore_ascii_case("Free"))
}

/// Change the fetched cluster as az's `AKSManagedClusterUpdateDecorator` does, in its order (`update_tags`, …,
/// `update_disable_local_accounts`, …, `update_aad_profile`), raising its messages; then drop the read-only
/// fields. `name` is only for messages.
pub(super) fn apply(
    mut cluster: ManagedCluster,
    changes: &Changes,
    name: &str,
) -> Result<ManagedCluster, CliError> {
    let Changes {
        enable_aad,
        admin_groups,
        tenant_id,
        enable_azure_rbac,
        disable_azure_rbac,
        disable_local_accounts,
        enable_local_accounts,
        tags,
    } = changes;
    if let Some(tags) = tags {
        cluster.tags = Some(tags.clone());
    }

    if *disable_local_accounts && *enable_local_accounts {
        return Err(CliError::message(
            "Cannot specify --disable-local-accounts and --enable-local-accounts at the same time.",
        ));
    }
    if *disable_local_accounts {
        cluster.properties.disable_local_accounts = Some(true);
    }
    if *enable_local_accounts {
        cluster.properties.disable_local_accounts = Some(false);
    }

    if *enable_aad {
        if cluster.aad_mode() == AadMode::Managed {
            return Err(CliError::message(
                "Cannot specify \"--enable-aad\" if managed AAD is already enabled",
            ));
        }
        if !cluster.rbac_enabled() {
            // Not an az check (ARM refuses it); the wording is the AKS documentation's limitation.
            return Err(CliError::message(format!(
                "Cannot specify \"--enable-aad\" for cluster '{name}': it has Kubernetes RBAC disabled, and clusters without Kubernetes RBAC enabled aren't supported with AKS-managed Microsoft Entra integration."
            )));
        }
        cluster.properties.aad_profile = Some(AadProfile {
            managed: Some(true),
            ..AadProfile::default()
        });
    }
    let managed = cluster.aad_mode() == AadMode::Managed;
    // az skips these checks for empty values and then crashes on a missing profile; any given value is checked.
    if tenant_id.is_some() && !managed {
        return Err(not_managed("--aad-tenant-id"));
    }
    if admin_groups.is_some() && !managed {
        return Err(not_managed("--aad-admin-group-object-ids"));
    }
    if *enable_azure_rbac {
        if !managed {
            return Err(not_managed("--enable-azure-rbac"));
        }
        if *disable_azure_rbac {
            return Err(CliError::message(
                "Cannot specify \"--enable-azure-rbac\" and \"--disable-azure-rbac\" at the same time",
            ));
        }
    }
    if *disable_azure_rbac && !managed {
        return Err(not_managed("--disable-azure-rbac"));
    }
    if let Some(profile) = cluster.properties.aad_profile.as_mut() {
        if let Some(tenant) = tenant_id {
            profile.tenant_id = Some(tenant.clone());
        }
        if let Some(groups) = admin_groups {
            profile.admin_group_object_ids = Some(Some(groups.clone()));
        }
        if *enable_azure_rbac {
            profile.enable_azure_rbac = Some(true);
        }
        if *disable_azure_rbac {
            profile.enable_azure_rbac = Some(false);
        }
    }

    drop_read_only(&mut cluster);
    Ok(cluster)
}

fn remove_keys(value: Option<&mut Value>, keys: &[&str]) {
    if let Some(Value::Object(map)) = value {
        for key in keys {
            map.remove(*key);
        }
    }
}

/// Drop what the SDK's serializer leaves out of a PUT body because the spec marks it read-only
/// (azure-mgmt-containerservice models, as the recorded update bodies show: docs/az-behaviour.md "aks update").
/// Everything else, modelled or not, is sent back as read.
fn drop_read_only(cluster: &mut ManagedCluster) {
    cluster.id = None;
    cluster.name = None;
    cluster.resource_type = None;
    for key in ["systemData", "eTag"] {
        cluster.extra.remove(key);
    }
    if let Some(identity) = cluster.identity.as_mut() {
        identity.principal_id = None;
        identity.tenant_id = None;
        if let Some(Value::Object(identities)) = identity.extra.get_mut("userAssignedIdentities") {
            for value in identities.values_mut() {
                remove_keys(Some(value), &["principalId", "clientId"]);
            }
        }
    }
    let properties = &mut cluster.properties;
    properties.provisioning_state = None;
    properties.power_state = None;
    properties.current_kubernetes_version = None;
    properties.fqdn = None;
    properties.azure_portal_fqdn = None;
    properties.private_fqdn = None;
    for key in ["maxAgentPools", "resourceUID"] {
        properties.extra.remove(key);
    }
    remove_keys(
        properties.extra.get_mut("oidcIssuerProfile"),
        &["issuerURL"],
    );
    remove_keys(properties.extra.get_mut("status"), &["provisioningError"]);
    if let Some(Value::Object(addons)) = properties.extra.get_mut("addonProfiles") {
        for addon in addons.values_mut() {
            remove_keys(Some(addon), &["identity"]);
        }
    }
    for pool in properties.agent_pool_profiles.iter_mut().flatten() {
        pool.current_orchestrator_version = None;
        for key in ["provisioningState", "eTag", "nodeImageVersion"] {
            pool.extra.remove(key);
        }
    }
}

/// `aks update`; with `--export-template` the checked PUT body is written as an ARM template instead of sent.
pub async fn update(args: AksUpdateArgs, context: &Context) -> Result<(), CliError> {
    aks::validate_cluster_args(&args.cluster)?;
    let changes = Changes::from_args(&args)?;
    // az checks the raw parameters before it fetches the cluster; without a terminal it cannot ask.
    if !changes.any() && !args.no_wait && !args.yes {
        match context.printer.confirm(RECONCILE_PROMPT) {
            Some(true) => {}
            Some(false) | None => return Err(no_argument_error()),
        }
    }
    let arm = context.arm("aks update")?;
    let subscription = context.subscription_id(&arm).await?;
    let resource_group = &args.cluster.resource_group;
    let name = &args.cluster.name;
    let fetched = arm
        .get_managed_cluster(&subscription, resource_group, name)
        .await?;
    let migration = LegacyMigration::of(&fetched, &changes);
    let cluster_id = fetched.id.clone().unwrap_or_else(|| {
        format!(
            "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.ContainerService/managedClusters/{name}"
        )
    });
    let body = apply(fetched, &changes, name)?;
    if let Some(migration) = &migration {
        tracing::info!(cluster = %name, "migrating legacy AAD to AKS-managed Microsoft Entra integration");
        if migration.free_tier {
            context.printer.warning(&format!(
                "Cluster '{name}' is on the Free tier: its API server may see downtime during the migration from legacy AAD to AKS-managed Microsoft Entra integration."
            ));
        }
    }
    if let Some(target) = &args.export_template {
        return super::export_template::export(&body, &args.cluster, target, context);
    }
    if changes.touches_admin_paths() {
        let lockout = lockout::check(&body, &cluster_id, name, &arm, || {
            super::ad::graph(context, "aks update")
        })
        .await?;
        lockout::confirm(lockout.as_ref(), args.yes, &context.printer)?;
    }
    aks::put_and_print(
        &arm,
        &subscription,
        &args.cluster,
        &body,
        args.no_wait,
        context,
    )
    .await?;
    if migration.is_some() {
        context.printer.warning(&format!(
            "The migration to AKS-managed Microsoft Entra integration changes the content of the kubeconfig: existing kubeconfig entries for cluster '{name}' stop working."
        ));
        context.printer.warning(&format!(
            "Merge the new credentials with: aksctl aks get-credentials --resource-group {resource_group} --name {name} --overwrite-existing"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cluster(value: Value) -> ManagedCluster {
        serde_json::from_value(value).unwrap()
    }

    fn non_aad() -> ManagedCluster {
        cluster(json!({
            "id": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
            "name": "c",
            "type": "Microsoft.ContainerService/ManagedClusters",
            "location": "eastus",
            "eTag": "e1",
            "systemData": {"createdBy": "x"},
            "sku": {"name": "Base", "tier": "Free"},
            "identity": {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"},
            "properties": {
                "provisioningState": "Succeeded",
                "powerState": {"code": "Running"},
                "kubernetesVersion": "1.32",
                "currentKubernetesVersion": "1.32.4",
                "dnsPrefix": "c-rg-000000",
                "fqdn": "c.hcp.eastus.azmk8s.io",
                "azurePortalFQDN": "c.portal.hcp.eastus.azmk8s.io",
                "maxAgentPools": 100,
                "resourceUID": "uid",
                "enableRBAC": true,
                "disableLocalAccounts": false,
                "oidcIssuerProfile": {"enabled": true, "issuerURL": "https://issuer"},
                "identityProfile": {"kubeletidentity": {"clientId": "k"}},
                "futureThing": {"x": 1},
                "agentPoolProfiles": [{
                    "name": "nodepool1", "count": 3, "orchestratorVersion": "1.32",
                    "currentOrchestratorVersion": "1.32.4", "provisioningState": "Succeeded",
                    "nodeImageVersion": "img", "powerState": {"code": "Running"}
                }]
            }
        }))
    }

    fn legacy() -> ManagedCluster {
        let mut c = non_aad();
        c.properties.aad_profile = Some(AadProfile {
            client_app_id: Some("client".into()),
            server_app_id: Some("server".into()),
            tenant_id: Some("legacy-tenant".into()),
            admin_group_object_ids: Some(None),
            ..AadProfile::default()
        });
        c
    }

    fn managed() -> ManagedCluster {
        let mut c = non_aad();
        c.properties.aad_profile = Some(AadProfile::managed(false, Some(vec!["g".into()]), None));
        c
    }

    fn message(result: Result<ManagedCluster, CliError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn enable_aad_sends_the_whole_object_without_read_only_fields() {
        let changes = Changes {
            enable_aad: true,
            admin_groups: Some(vec!["g1".into()]),
            ..Changes::default()
        };
        let body = serde_json::to_value(apply(non_aad(), &changes, "c").unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "location": "eastus",
                "sku": {"name": "Base", "tier": "Free"},
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "kubernetesVersion": "1.32",
                    "dnsPrefix": "c-rg-000000",
                    "enableRBAC": true,
                    "disableLocalAccounts": false,
                    "aadProfile": {"managed": true, "adminGroupObjectIDs": ["g1"]},
                    "oidcIssuerProfile": {"enabled": true},
                    "identityProfile": {"kubeletidentity": {"clientId": "k"}},
                    "futureThing": {"x": 1},
                    "agentPoolProfiles": [{
                        "name": "nodepool1", "count": 3, "orchestratorVersion": "1.32",
                        "powerState": {"code": "Running"}
                    }]
                }
            })
        );
    }

    /// az's own update bodies (recordings of `az aks update --enable-aad`): from the GET before, our PUT body is
    /// the one az sent, for a non-AAD and a legacy AAD cluster.
    #[test]
    fn put_bodies_match_azs_recordings() {
        for recording in [
            include_str!(
                "../../../../tests/fixtures/az-recordings/test_aks_create_nonaad_and_update_with_managed_aad.yaml"
            ),
            include_str!(
                "../../../../tests/fixtures/az-recordings/test_aks_create_aadv1_and_update_with_managed_aad.yaml"
            ),
        ] {
            let recording: Value = serde_saphyr::from_str(recording).unwrap();
            let interactions = recording["interactions"].as_array().unwrap();
            let is_get = |i: &Value| {
                i["request"]["method"] == "GET"
                    && !i["request"]["uri"]
                        .as_str()
                        .unwrap()
                        .contains("/operations/")
            };
            let put_at = interactions
                .iter()
                .position(|i| {
                    i["request"]["method"] == "PUT"
                        && i["request"]["headers"]["CommandName"][0] == "aks update"
                })
                .unwrap();
            let get = interactions[..put_at]
                .iter()
                .rev()
                .find(|i| is_get(i))
                .unwrap();
            let fetched: Value =
                serde_json::from_str(get["response"]["body"]["string"].as_str().unwrap()).unwrap();
            let sent: Value =
                serde_json::from_str(interactions[put_at]["request"]["body"].as_str().unwrap())
                    .unwrap();
            let aad = &sent["properties"]["aadProfile"];
            let changes = Changes {
                enable_aad: true,
                admin_groups: serde_json::from_value(aad["adminGroupObjectIDs"].clone()).unwrap(),
                tenant_id: aad["tenantID"].as_str().map(str::to_string),
                ..Changes::default()
            };
            let body = apply(cluster(fetched), &changes, "cliakstest000001").unwrap();
            assert_eq!(serde_json::to_value(body).unwrap(), sent);
        }
    }

    #[test]
    fn legacy_migration_drops_the_legacy_profile() {
        let changes = Changes {
            enable_aad: true,
            tenant_id: Some("t2".into()),
            ..Changes::default()
        };
        let before = legacy();
        assert_eq!(
            LegacyMigration::of(&before, &changes),
            Some(LegacyMigration { free_tier: true })
        );
        let body = apply(before, &changes, "c").unwrap();
        assert_eq!(
            serde_json::to_value(body.properties.aad_profile).unwrap(),
            json!({"managed": true, "tenantID": "t2"})
        );
        assert_eq!(LegacyMigration::of(&non_aad(), &changes), None);
    }

    #[test]
    fn az_messages() {
        let enable = Changes {
            enable_aad: true,
            ..Changes::default()
        };
        assert_eq!(
            message(apply(managed(), &enable, "c")),
            "Cannot specify \"--enable-aad\" if managed AAD is already enabled"
        );
        for (changes, flag) in [
            (
                Changes {
                    tenant_id: Some("t".into()),
                    ..Changes::default()
                },
                "--aad-tenant-id",
            ),
            (
                Changes {
                    admin_groups: Some(vec![]),
                    ..Changes::default()
                },
                "--aad-admin-group-object-ids",
            ),
            (
                Changes {
                    enable_azure_rbac: true,
                    disable_azure_rbac: true,
                    ..Changes::default()
                },
                "--enable-azure-rbac",
            ),
            (
                Changes {
                    disable_azure_rbac: true,
                    ..Changes::default()
                },
                "--disable-azure-rbac",
            ),
        ] {
            for cluster in [non_aad(), legacy()] {
                assert_eq!(
                    message(apply(cluster, &changes, "c")),
                    format!("Cannot specify \"{flag}\" if managed AAD is not enabled")
                );
            }
        }
        let both_rbac = Changes {
            enable_azure_rbac: true,
            disable_azure_rbac: true,
            ..Changes::default()
        };
        assert_eq!(
            message(apply(managed(), &both_rbac, "c")),
            "Cannot specify \"--enable-azure-rbac\" and \"--disable-azure-rbac\" at the same time"
        );
        let both_local = Changes {
            enable_local_accounts: true,
            disable_local_accounts: true,
            ..Changes::default()
        };
        assert_eq!(
            message(apply(managed(), &both_local, "c")),
            "Cannot specify --disable-local-accounts and --enable-local-accounts at the same time."
        );
        let mut no_rbac = non_aad();
        no_rbac.properties.enable_rbac = Some(false);
        assert!(message(apply(no_rbac, &enable, "c")).contains("Kubernetes RBAC"));
    }

    #[test]
    fn flags_change_only_their_fields() {
        let changes = Changes {
            enable_azure_rbac: true,
            disable_local_accounts: true,
            ..Changes::default()
        };
        let body = apply(managed(), &changes, "c").unwrap();
        let aad = body.properties.aad_profile.as_ref().unwrap();
        assert_eq!(aad.enable_azure_rbac, Some(true));
        assert_eq!(aad.admin_groups(), ["g".to_string()]);
        assert_eq!(body.properties.disable_local_accounts, Some(true));
    }

    #[test]
    fn no_argument_message_lists_the_options() {
        assert!(!Changes::default().any());
        let empty = Changes {
            tags: Some(Map::new()),
            tenant_id: Some(String::new()),
            ..Changes::default()
        };
        assert!(!empty.any(), "empty values are falsy for az");
        assert_eq!(
            no_argument_error().to_string(),
            "Please specify one or more of \"--tags\" or \"--disable-local-accounts\" or \"--enable-local-accounts\" or \"--enable-aad\" or \"--aad-tenant-id\" or \"--aad-admin-group-object-ids\" or \"--enable-azure-rbac\" or \"--disable-azure-rbac\" or \"--no-wait\" or \"--yes\"."
        );
    }

    /// The no-argument message lists every update flag: the options of `AksUpdateArgs` except which cluster
    /// (`-g`/`-n`) and `--export-template` (an aksctl addition az does not list), each once.
    #[test]
    fn update_options_are_the_update_flags() {
        use clap::Args;
        let command = AksUpdateArgs::augment_args(clap::Command::new("update"));
        let mut flags: Vec<String> = command
            .get_arguments()
            .filter_map(|arg| arg.get_long())
            .filter(|long| !["resource-group", "name", "export-template"].contains(long))
            .map(|long| format!("--{long}"))
            .collect();
        let mut listed: Vec<String> = UPDATE_OPTIONS.iter().map(|o| o.to_string()).collect();
        flags.sort();
        listed.sort();
        assert_eq!(listed, flags);
    }
}
