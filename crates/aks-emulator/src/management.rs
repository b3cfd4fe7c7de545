//! The management API: test controls under `/_emulator/`, no authentication (ADR 005 style: controls live
//! beside, not inside, the emulated services). Every body is JSON.
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /_emulator/requests` | JSON array of every request the ARM/Entra server and the Kubernetes endpoints handled: `time`, `server` (`arm` or `kubernetes`, plus `cluster`), `method`, `path`, `query` (raw), `status`, and for PUT/POST/PATCH the `body` (JSON, or a form as an object) with `serverAppSecret`, `client_secret`, `client_assertion`, tokens, passwords and secrets replaced by `"REDACTED"`. Management calls are not logged. |
//! | `DELETE /_emulator/requests` | clears the log (204) |
//! | `GET /_emulator/lro` | the current [`LroPacing`](crate::LroPacing) |
//! | `PUT /_emulator/lro` | replaces it (missing fields take their defaults); applies to operations started afterwards |
//! | `POST /_emulator/lro/fail-next` | body `{"code","message"}`: the next started cluster operation (PUT or DELETE) ends `Failed` with that error and the cluster's `provisioningState` becomes `Failed` |
//! | `PUT /_emulator/page-size` | body `{"page_size": N}` (N ≥ 1): page size of list answers (default 100) |
//! | `POST /_emulator/seed` | body `{"resource_groups":[{"name","location"}], "clusters":[{"resource_group","name","body":<ManagedCluster JSON>}]}`: stored as if created and already `Succeeded` (server fields filled as for a PUT, unknown properties kept, AKS rules not enforced; a missing group is created in the cluster's location). Answers the counts. |
//! | `GET /_emulator/state` | everything (groups, clusters with their Kubernetes ports, operations, directory, pacing), secrets redacted |
//!
//! Errors are `{"error":{"code":"EmulatorBadRequest","message":…}}` with status 400; unknown routes are
//! `404 EmulatorUnsupportedRoute`.

use aks_model::{ArmErrorBody, ArmErrorDetail};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::LroPacing;
use crate::arm::{SeedCluster, fill_server_fields_for_seed};
use crate::http::{Ctx, arm_error, empty, json, unsupported};
use crate::state::{ResourceGroupRecord, SharedState};

fn bad_request(message: impl Into<String>) -> Response {
    arm_error(
        StatusCode::BAD_REQUEST,
        ArmErrorBody::new("EmulatorBadRequest", message),
    )
}

fn parse<T: for<'de> Deserialize<'de>>(ctx: &Ctx) -> Result<T, Response> {
    serde_json::from_slice(&ctx.body).map_err(|error| {
        bad_request(format!(
            "invalid body for {} {}: {error}",
            ctx.method, ctx.path
        ))
    })
}

#[derive(Deserialize)]
struct FailNext {
    code: String,
    message: String,
}

#[derive(Deserialize)]
struct PageSize {
    page_size: usize,
}

#[derive(Deserialize)]
struct SeedGroup {
    name: String,
    location: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Seed {
    resource_groups: Vec<SeedGroup>,
    clusters: Vec<SeedCluster>,
}

impl Default for SeedCluster {
    fn default() -> Self {
        SeedCluster {
            resource_group: String::new(),
            name: String::new(),
            body: serde_json::Value::Null,
        }
    }
}

/// Handle `/_emulator/...`.
pub(crate) fn route(state: &SharedState, ctx: &Ctx) -> Response {
    let rest: Vec<&str> = ctx.lower[1..].iter().map(String::as_str).collect();
    match (&ctx.method, rest.as_slice()) {
        (&Method::GET, ["requests"]) => json(StatusCode::OK, &state.store().requests),
        (&Method::DELETE, ["requests"]) => {
            state.store().requests.clear();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::GET, ["lro"]) => json(StatusCode::OK, &state.store().lro),
        (&Method::PUT, ["lro"]) => match parse::<LroPacing>(ctx) {
            Ok(pacing) => {
                state.store().lro = pacing.clone();
                json(StatusCode::OK, &pacing)
            }
            Err(response) => response,
        },
        (&Method::POST, ["lro", "fail-next"]) => match parse::<FailNext>(ctx) {
            Ok(fail) => {
                let detail = ArmErrorDetail {
                    code: fail.code,
                    message: fail.message,
                    ..ArmErrorDetail::default()
                };
                state.store().fail_next = Some(detail.clone());
                json(StatusCode::OK, &json!({"fail_next": detail}))
            }
            Err(response) => response,
        },
        (&Method::PUT, ["page-size"]) => match parse::<PageSize>(ctx) {
            Ok(PageSize { page_size }) if page_size >= 1 => {
                state.store().page_size = page_size;
                json(StatusCode::OK, &json!({"page_size": page_size}))
            }
            Ok(_) => bad_request("page_size must be at least 1"),
            Err(response) => response,
        },
        (&Method::POST, ["seed"]) => match parse::<Seed>(ctx) {
            Ok(seed) => seed_state(state, seed),
            Err(response) => response,
        },
        (&Method::GET, ["state"]) => json(StatusCode::OK, &state.redacted_snapshot()),
        _ => unsupported(ctx),
    }
}

fn seed_state(state: &SharedState, seed: Seed) -> Response {
    let mut store = state.store();
    let groups = seed.resource_groups.len();
    let clusters = seed.clusters.len();
    for group in seed.resource_groups {
        let location = match aks_model::validation::location("location", &group.location) {
            Ok(location) => location,
            Err(error) => return bad_request(error.to_string()),
        };
        store
            .resource_groups
            .entry(group.name.to_lowercase())
            .or_insert(ResourceGroupRecord {
                name: group.name,
                location,
                tags: None,
                managed_by: None,
            });
    }
    for cluster in seed.clusters {
        if let Err(message) = fill_server_fields_for_seed(state, &mut store, cluster) {
            state.save_or_log(&store);
            return bad_request(message);
        }
    }
    state.save_or_log(&store);
    json(
        StatusCode::OK,
        &json!({"resource_groups": groups, "clusters": clusters}),
    )
}
