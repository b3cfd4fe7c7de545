//! `--export-template FILE` of `aks create` and `aks update`: instead of the PUT, write the ARM deployment template
//! that creates the same cluster (the PUT body az would send, as one `Microsoft.ContainerService/managedClusters`
//! resource), for teams that deploy through templates.
//!
//! The template has two parameters, `clusterName` and `location`, defaulting to the command's values; every other
//! value is the literal of the PUT body, with strings that look like template expressions (`[…]`) escaped as
//! `[[…]` so ARM keeps them as text.

use aks_kubeconfig::SymlinkPolicy;
use aks_model::{MANAGED_CLUSTER_TYPE, MANAGED_CLUSTERS_API_VERSION, ManagedCluster};
use serde_json::{Map, Value, json};

use crate::args::ClusterArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::paths::expand_user;

/// The deployment template schema (resource-group deployments).
pub const DEPLOYMENT_TEMPLATE_SCHEMA: &str =
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";

/// Escape a string ARM would evaluate as an expression (`[…]` → `[[…]`), in every string value.
fn escape_expressions(value: &mut Value) {
    match value {
        Value::String(text) if text.starts_with('[') && text.ends_with(']') => {
            text.insert(0, '[');
        }
        Value::Array(items) => items.iter_mut().for_each(escape_expressions),
        Value::Object(map) => map.values_mut().for_each(escape_expressions),
        _ => {}
    }
}

/// The deployment template for a cluster PUT body: `clusterName` and `location` parameters defaulting to `name`
/// and the body's location, and the body as a managedClusters resource.
pub(super) fn template(body: &ManagedCluster, name: &str) -> Value {
    let mut resource = match serde_json::to_value(body) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for read_only in ["id", "name", "type", "location"] {
        resource.remove(read_only);
    }
    let mut resource = Value::Object(resource);
    escape_expressions(&mut resource);
    let mut addressed = json!({
        "type": MANAGED_CLUSTER_TYPE,
        "apiVersion": MANAGED_CLUSTERS_API_VERSION,
        "name": "[parameters('clusterName')]",
        "location": "[parameters('location')]",
    });
    if let (Value::Object(addressed), Value::Object(rest)) = (&mut addressed, resource) {
        addressed.extend(rest);
    }
    json!({
        "$schema": DEPLOYMENT_TEMPLATE_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            "clusterName": {
                "type": "string",
                "defaultValue": name,
                "metadata": {"description": "The name of the managed cluster."},
            },
            "location": {
                "type": "string",
                "defaultValue": body.location,
                "metadata": {"description": "The location of the managed cluster."},
            },
        },
        "resources": [addressed],
    })
}

/// Write the template for `body` to `target` atomically (`-`: stdout) and say where it went on stderr.
pub(super) fn export(
    body: &ManagedCluster,
    cluster: &ClusterArgs,
    target: &str,
    context: &Context,
) -> Result<(), CliError> {
    let template = template(body, &cluster.name);
    let mut text = serde_json::to_string_pretty(&template).map_err(|error| {
        CliError::message(format!("cannot serialize the deployment template: {error}"))
    })?;
    text.push('\n');
    let deploy_hint = |file: &str| {
        format!(
            "deploy it with: az deployment group create --resource-group {} --template-file {file}",
            cluster.resource_group
        )
    };
    if target == "-" {
        context.printer.stdout(&text)?;
        context.printer.warning(&format!(
            "Wrote the ARM deployment template of cluster '{}' to standard output; nothing was sent to Azure ({})",
            cluster.name,
            deploy_hint("<file>")
        ));
        return Ok(());
    }
    let path = expand_user(target);
    aks_kubeconfig::write_atomic(&path, text.as_bytes(), SymlinkPolicy::Follow).map_err(
        |error| {
            CliError::message(format!(
                "cannot write the deployment template to {}: {error}",
                path.display()
            ))
        },
    )?;
    context.printer.warning(&format!(
        "Wrote the ARM deployment template of cluster '{}' to {}; nothing was sent to Azure ({})",
        cluster.name,
        path.display(),
        deploy_hint(&path.display().to_string())
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_becomes_a_parameterized_resource() {
        let body: ManagedCluster = serde_json::from_value(json!({
            "location": "eastus",
            "tags": {"note": "[not an expression]", "plain": "x"},
            "sku": {"name": "Base", "tier": "Free"},
            "properties": {"dnsPrefix": "c1-rg-000000", "aadProfile": {"managed": true}},
        }))
        .unwrap();
        let template = template(&body, "c1");
        assert_eq!(template["$schema"], DEPLOYMENT_TEMPLATE_SCHEMA);
        assert_eq!(template["contentVersion"], "1.0.0.0");
        assert_eq!(template["parameters"]["clusterName"]["defaultValue"], "c1");
        assert_eq!(template["parameters"]["location"]["defaultValue"], "eastus");
        assert_eq!(
            template["resources"],
            json!([{
                "type": "Microsoft.ContainerService/managedClusters",
                "apiVersion": "2026-08-01",
                "name": "[parameters('clusterName')]",
                "location": "[parameters('location')]",
                "tags": {"note": "[[not an expression]", "plain": "x"},
                "sku": {"name": "Base", "tier": "Free"},
                "properties": {"dnsPrefix": "c1-rg-000000", "aadProfile": {"managed": true}},
            }])
        );
    }
}
