//! The core-group objects the endpoint serves (read-only): nodes (from the agent pools), namespaces, pods (none)
//! and services (`default/kubernetes`), with their `Table` columns as kubectl prints them.

use aks_model::AgentPoolProfile;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::types::ResourceType;
use super::view::ClusterView;
use super::wire::{self, Object, age_of, column, rfc3339_of_ms, stable_hash, stable_uid};
use crate::http::Ctx;

/// `GET` of a core resource: one object by name, else the (namespace's) list.
pub(super) fn read(
    view: &ClusterView,
    ctx: &Ctx,
    resource: &ResourceType,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Response {
    let objects = objects(view, resource.plural, namespace);
    match name {
        Some(name) => wire::get(resource, objects, name),
        None => wire::list(ctx, resource, columns(resource.plural), objects),
    }
}

/// A VM scale set instance suffix: six base-36 digits (`000000`, `00000a`, …).
fn instance_suffix(mut index: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(index % 36) as usize];
        index /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cluster's nodes: `count` per agent pool, named like `aks-nodepool1-12345678-vmss000000`, all Ready.
fn nodes(view: &ClusterView) -> Vec<Object> {
    let stopped = view
        .cluster
        .properties
        .power_state
        .as_ref()
        .and_then(|power| power.code.as_deref())
        == Some("Stopped");
    if stopped {
        return Vec::new();
    }
    let created = rfc3339_of_ms(view.created_ms);
    let age = age_of(view.created_ms);
    let cluster_version = view.version();
    let digits = stable_hash(&format!(
        "{}/{}",
        view.resource_group.to_lowercase(),
        view.name.to_lowercase()
    )) % 100_000_000;
    let mut out = Vec::new();
    let mut address = 4u32;
    for pool in view.cluster.properties.agent_pool_profiles.iter().flatten() {
        let version = pool
            .current_orchestrator_version
            .clone()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| cluster_version.clone());
        let windows = pool
            .os_type
            .as_deref()
            .is_some_and(|os| os.eq_ignore_ascii_case("windows"));
        let vm_size = pool.vm_size.clone().unwrap_or_default();
        let (os_image, kernel, os) = if windows {
            (
                "Windows Server 2022 Datacenter",
                "10.0.20348.2762",
                "windows",
            )
        } else {
            ("Ubuntu 22.04.5 LTS", "5.15.0-1079-azure", "linux")
        };
        for index in 0..pool.count.unwrap_or(0).max(0) as u64 {
            let name = format!(
                "aks-{}-{digits:08}-vmss{}",
                pool.name,
                instance_suffix(index)
            );
            let ip = format!("10.224.{}.{}", address / 250, address % 250);
            address += 1;
            let labels = node_labels(view, pool, &name, os, &vm_size);
            let metadata = json!({
                "name": name,
                "uid": stable_uid(&name),
                "resourceVersion": "1",
                "creationTimestamp": created,
                "labels": labels,
            });
            let object = json!({
                "metadata": metadata,
                "spec": {"providerID": format!("azure:///subscriptions/{}/resourceGroups/mc_{}_{}_{}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-{}-{digits:08}-vmss/virtualMachines/{index}", crate::SUBSCRIPTION_ID, view.resource_group.to_lowercase(), view.name.to_lowercase(), view.cluster.location, pool.name)},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": created, "lastTransitionTime": created}],
                    "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                    "nodeInfo": {"kubeletVersion": format!("v{version}"), "osImage": os_image, "kernelVersion": kernel,
                                 "containerRuntimeVersion": "containerd://1.7.25-1", "operatingSystem": os, "architecture": "amd64"},
                },
            });
            let cells = vec![
                json!(name),
                json!("Ready"),
                json!("<none>"),
                json!(age),
                json!(format!("v{version}")),
                json!(ip),
                json!("<none>"),
                json!(os_image),
                json!(kernel),
                json!("containerd://1.7.25-1"),
            ];
            out.push(Object {
                metadata,
                object,
                cells,
                labels,
            });
        }
    }
    out
}

/// The labels AKS puts on a node of `pool`.
fn node_labels(
    view: &ClusterView,
    pool: &AgentPoolProfile,
    name: &str,
    os: &str,
    vm_size: &str,
) -> Map<String, Value> {
    let mut labels = Map::new();
    for (key, value) in [
        ("agentpool", pool.name.as_str()),
        ("kubernetes.azure.com/agentpool", pool.name.as_str()),
        (
            "kubernetes.azure.com/cluster",
            &format!(
                "MC_{}_{}_{}",
                view.resource_group, view.name, view.cluster.location
            ),
        ),
        (
            "kubernetes.azure.com/mode",
            &pool
                .mode
                .clone()
                .unwrap_or_else(|| "System".into())
                .to_lowercase(),
        ),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/hostname", name),
        ("kubernetes.io/os", os),
        ("kubernetes.io/role", "agent"),
        ("node.kubernetes.io/instance-type", vm_size),
        (
            "topology.kubernetes.io/region",
            view.cluster.location.as_str(),
        ),
    ] {
        labels.insert(key.to_string(), Value::String(value.to_string()));
    }
    labels
}

/// The cluster's namespaces.
fn namespaces(view: &ClusterView) -> Vec<Object> {
    let created = rfc3339_of_ms(view.created_ms);
    let age = age_of(view.created_ms);
    ["default", "kube-node-lease", "kube-public", "kube-system"]
        .iter()
        .map(|name| {
            let mut labels = Map::new();
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
            let metadata = json!({
                "name": name,
                "uid": stable_uid(name),
                "resourceVersion": "1",
                "creationTimestamp": created,
                "labels": labels,
            });
            Object {
                object: json!({"metadata": metadata, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
                metadata,
                cells: vec![json!(name), json!("Active"), json!(age)],
                labels,
            }
        })
        .collect()
}

/// The cluster's services: only `default/kubernetes`.
fn services(view: &ClusterView, namespace: Option<&str>) -> Vec<Object> {
    if namespace.is_some_and(|namespace| namespace != "default") {
        return Vec::new();
    }
    let created = rfc3339_of_ms(view.created_ms);
    let age = age_of(view.created_ms);
    let mut labels = Map::new();
    labels.insert("component".into(), json!("apiserver"));
    labels.insert("provider".into(), json!("kubernetes"));
    let metadata = json!({
        "name": "kubernetes",
        "namespace": "default",
        "uid": stable_uid("default/kubernetes"),
        "resourceVersion": "1",
        "creationTimestamp": created,
        "labels": labels,
    });
    vec![Object {
        object: json!({
            "metadata": metadata,
            "spec": {"ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 443}],
                     "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "type": "ClusterIP", "sessionAffinity": "None"},
            "status": {"loadBalancer": {}},
        }),
        metadata,
        cells: vec![
            json!("kubernetes"),
            json!("ClusterIP"),
            json!("10.0.0.1"),
            json!("<none>"),
            json!("443/TCP"),
            json!(age),
            json!("<none>"),
        ],
        labels,
    }]
}

fn columns(resource: &str) -> Vec<Value> {
    match resource {
        "nodes" => vec![
            column("Name", "string", 0),
            column("Status", "string", 0),
            column("Roles", "string", 0),
            column("Age", "string", 0),
            column("Version", "string", 0),
            column("Internal-IP", "string", 1),
            column("External-IP", "string", 1),
            column("OS-Image", "string", 1),
            column("Kernel-Version", "string", 1),
            column("Container-Runtime", "string", 1),
        ],
        "pods" => vec![
            column("Name", "string", 0),
            column("Ready", "string", 0),
            column("Status", "string", 0),
            column("Restarts", "string", 0),
            column("Age", "string", 0),
            column("IP", "string", 1),
            column("Node", "string", 1),
            column("Nominated Node", "string", 1),
            column("Readiness Gates", "string", 1),
        ],
        "namespaces" => vec![
            column("Name", "string", 0),
            column("Status", "string", 0),
            column("Age", "string", 0),
        ],
        _ => vec![
            column("Name", "string", 0),
            column("Type", "string", 0),
            column("Cluster-IP", "string", 0),
            column("External-IP", "string", 0),
            column("Port(s)", "string", 0),
            column("Age", "string", 0),
            column("Selector", "string", 1),
        ],
    }
}

fn objects(view: &ClusterView, resource: &str, namespace: Option<&str>) -> Vec<Object> {
    match resource {
        "nodes" => nodes(view),
        "namespaces" => namespaces(view),
        "services" => services(view, namespace),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_suffixes_are_base_36() {
        assert_eq!(instance_suffix(0), "000000");
        assert_eq!(instance_suffix(10), "00000a");
        assert_eq!(instance_suffix(36), "000010");
    }
}
