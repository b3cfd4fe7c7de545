//! `aksctl emulator serve`: the embedded local cloud, reached through [`LocalCloud`]; `aksctl emulator seed`: a
//! client of a running emulator's management API (`POST /_emulator/seed`, crates/aks-emulator/README.md).

use std::io::Read as _;
use std::path::Path;

use aks_model::validation;
use serde_json::{Value, json};
use url::Url;

use crate::args::{EmulatorSeedArgs, EmulatorServeArgs};
use crate::context::{Context, user_agent};
use crate::error::CliError;
use crate::output::TableLayout;
use crate::{EmulatorServeSettings, LocalCloud};

/// Serve until interrupted; the ready record is the first and only stdout line.
pub fn serve(
    args: &EmulatorServeArgs,
    context: &Context,
    local_cloud: &dyn LocalCloud,
) -> Result<(), CliError> {
    let settings = EmulatorServeSettings {
        port: args.port,
        state_file: args.state.clone(),
        data_dir: args
            .data_dir
            .clone()
            .unwrap_or_else(|| context.store.dir.join("emulator")),
        lro_polls: args.lro_polls,
        retry_after_seconds: args.retry_after,
    };
    let mut printed = Ok(());
    let mut on_ready = |line: &str| printed = context.printer.stdout(&format!("{line}\n"));
    local_cloud
        .serve(settings, &mut on_ready)
        .map_err(CliError::message)?;
    printed
}

/// The location of resource groups `--legacy-cluster` creates.
const LEGACY_LOCATION: &str = "eastus";

/// `RG/NAME`, split and validated: a value of another shape is a usage error, an invalid name a validation one.
fn legacy_cluster_name(value: &str) -> Result<(String, String), CliError> {
    let parts: Vec<&str> = value.split('/').collect();
    let [group, name] = parts[..] else {
        return Err(CliError::Usage(format!(
            "argument --legacy-cluster: expected RG/NAME (a resource group and a cluster name), got '{value}'"
        )));
    };
    if group.is_empty() || name.is_empty() {
        return Err(CliError::Usage(format!(
            "argument --legacy-cluster: expected RG/NAME (a resource group and a cluster name), got '{value}'"
        )));
    }
    validation::resource_group_name("--legacy-cluster", group)?;
    validation::cluster_name("--legacy-cluster", name)?;
    Ok((group.to_owned(), name.to_owned()))
}

/// The management URL with a trailing slash, so `seed` joins under it.
fn management_url(value: &str) -> Result<Url, CliError> {
    let with_slash = if value.ends_with('/') {
        value.to_owned()
    } else {
        format!("{value}/")
    };
    match Url::parse(&with_slash) {
        Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(url),
        Ok(_) | Err(_) => Err(CliError::Usage(format!(
            "argument --management: '{value}' is not an http(s) URL; pass the `management` field of the \
             `aksctl emulator serve` ready line, e.g. https://127.0.0.1:PORT/_emulator/"
        ))),
    }
}

/// The seed document in FILE (`-`: standard input): a JSON object.
fn read_seed_file(path: &Path) -> Result<serde_json::Map<String, Value>, CliError> {
    let (shown, text) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| CliError::Io {
                action: "reading the seed document from",
                path: "standard input".into(),
                source,
            })?;
        ("standard input".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
            action: "reading the seed document",
            path: path.display().to_string(),
            source,
        })?;
        (path.display().to_string(), text)
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(document)) => Ok(document),
        Ok(_) => Err(CliError::message(format!(
            "{shown} is not a seed document: expected a JSON object with \"resource_groups\" and \"clusters\""
        ))),
        Err(error) => Err(CliError::message(format!("{shown} is not JSON: {error}"))),
    }
}

/// A legacy-AAD cluster body: its own server and client applications (fresh ids), Kubernetes RBAC on.
fn legacy_cluster_body(tenant_id: &str) -> Value {
    json!({
        "location": LEGACY_LOCATION,
        "sku": {"name": "Base", "tier": "Free"},
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "kubernetesVersion": "1.32",
            "enableRBAC": true,
            "aadProfile": {
                "clientAppID": uuid::Uuid::new_v4().to_string(),
                "serverAppID": uuid::Uuid::new_v4().to_string(),
                "serverAppSecret": uuid::Uuid::new_v4().simple().to_string(),
                "tenantID": tenant_id,
            },
            "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "vmSize": "Standard_DS2_v2",
                                   "mode": "System", "osType": "Linux"}]
        }
    })
}

/// Appends `entry` to the array `key` of the document (created when missing).
fn push_entry(
    document: &mut serde_json::Map<String, Value>,
    key: &str,
    entry: Value,
) -> Result<(), CliError> {
    match document
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(entries) => {
            entries.push(entry);
            Ok(())
        }
        _ => Err(CliError::message(format!(
            "the seed document's \"{key}\" is not a list"
        ))),
    }
}

/// One request to the management API; a non-2xx answer is an error carrying the emulator's message.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &Url,
    body: Option<&Value>,
) -> Result<Value, CliError> {
    let mut request = http.request(method.clone(), url.clone());
    if let Some(body) = body {
        request = request.json(body);
    }
    let unreachable = |error: reqwest::Error| {
        CliError::message(format!(
            "cannot reach the emulator at {url}: {}\nhint: is `aksctl emulator serve` running, and is its CA \
             (the ready line's ca_cert_file) in REQUESTS_CA_BUNDLE?",
            aks_arm::error_chain(&error)
        ))
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    let text = response.text().await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(CliError::message(format!(
            "the emulator refused {method} {url} ({status}): {}",
            text.trim()
        )));
    }
    serde_json::from_str(&text).map_err(|error| {
        CliError::message(format!(
            "{method} {url} answered something that is not JSON ({error}); is {url} an emulator's management URL?"
        ))
    })
}

/// `aksctl emulator seed [FILE|-] [--legacy-cluster RG/NAME]... --management URL`.
pub async fn seed(args: EmulatorSeedArgs, context: &Context) -> Result<(), CliError> {
    let management = management_url(&args.management)?;
    let legacy = args
        .legacy_clusters
        .iter()
        .map(|value| legacy_cluster_name(value))
        .collect::<Result<Vec<_>, _>>()?;
    let mut document = match &args.file {
        Some(path) => read_seed_file(path)?,
        None => serde_json::Map::new(),
    };
    let http = aks_arm::http_client(&user_agent())?;
    if !legacy.is_empty() {
        let state_url = management
            .join("state")
            .map_err(|e| CliError::message(e.to_string()))?;
        let state = call(&http, reqwest::Method::GET, &state_url, None).await?;
        let tenant_id = state["tenant_id"].as_str().unwrap_or_default().to_owned();
        for (group, name) in legacy {
            let listed = document
                .get("resource_groups")
                .and_then(Value::as_array)
                .is_some_and(|groups| {
                    groups.iter().any(|entry| {
                        entry["name"]
                            .as_str()
                            .is_some_and(|listed| listed.eq_ignore_ascii_case(&group))
                    })
                });
            if !listed {
                push_entry(
                    &mut document,
                    "resource_groups",
                    json!({"name": group, "location": LEGACY_LOCATION}),
                )?;
            }
            push_entry(
                &mut document,
                "clusters",
                json!({"resource_group": group, "name": name, "body": legacy_cluster_body(&tenant_id)}),
            )?;
        }
    }
    let seed_url = management
        .join("seed")
        .map_err(|e| CliError::message(e.to_string()))?;
    let answer = call(
        &http,
        reqwest::Method::POST,
        &seed_url,
        Some(&Value::Object(document)),
    )
    .await?;
    context.printer.data(&answer, TableLayout::Auto)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_cluster_values() {
        assert_eq!(
            legacy_cluster_name("rg1/c1").unwrap(),
            ("rg1".to_owned(), "c1".to_owned())
        );
        for bad in ["rg1", "rg1/", "/c1", "a/b/c", ""] {
            assert!(
                matches!(legacy_cluster_name(bad), Err(CliError::Usage(message)) if message.contains(&format!("'{bad}'"))),
                "{bad}"
            );
        }
        assert!(matches!(
            legacy_cluster_name("rg1/bad_name!"),
            Err(CliError::Validation(_))
        ));
    }

    #[test]
    fn management_urls_get_a_trailing_slash() {
        assert_eq!(
            management_url("https://127.0.0.1:5/_emulator")
                .unwrap()
                .join("seed")
                .unwrap()
                .as_str(),
            "https://127.0.0.1:5/_emulator/seed"
        );
        assert!(matches!(
            management_url("not a url"),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            management_url("ftp://x/"),
            Err(CliError::Usage(_))
        ));
    }

    #[test]
    fn legacy_bodies_are_legacy_aad_with_rbac() {
        let body = legacy_cluster_body("t");
        let aad = &body["properties"]["aadProfile"];
        assert_eq!(body["properties"]["enableRBAC"], true);
        assert_eq!(aad["tenantID"], "t");
        assert_ne!(aad["clientAppID"], aad["serverAppID"]);
        assert!(aad.get("managed").is_none());
    }
}
