//! Long-running operations: starting them, advancing them on every read (operation status, operation result,
//! or the resource itself), their headers and status answers (docs/arm-aks-api.md; docs/az-behaviour.md).

use aks_model::{ArmErrorBody, ArmErrorDetail};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::http::{Ctx, arm_error, empty, json, set};
use crate::state::{
    ClusterKey, Operation, OperationKind, Outcome, SharedState, Store, Subscription, now_ms,
    public_view, random_guid, rfc3339_now,
};

/// The api-version AKS puts on its own polling URLs (docs/arm-aks-api.md).
pub(super) const POLLING_API_VERSION: &str = "2016-03-30";

/// Start an operation with the store's current pacing; the next injected failure (if any) is consumed by the
/// caller and passed as `injected`. Returns the operation id.
pub(super) fn start(
    store: &mut Store,
    kind: OperationKind,
    location: &str,
    cluster: Option<ClusterKey>,
    injected: Option<ArmErrorDetail>,
) -> String {
    let id = random_guid();
    let (injected, canceled) = match injected {
        Some(error) => (Some(error), false),
        None => match store.cancel_next.take() {
            Some(error) => (Some(error), true),
            None => (None, false),
        },
    };
    let operation = Operation {
        id: id.clone(),
        kind,
        location: location.to_string(),
        cluster,
        started_ms: now_ms(),
        start_time: rfc3339_now(),
        polls_seen: 0,
        pacing: store.lro.clone(),
        injected,
        canceled,
        outcome: None,
    };
    store.operations.insert(id.clone(), operation);
    id
}

/// One read of an operation: either count another `InProgress` answer or complete it (applying its effect on
/// the cluster). Returns whether the store changed; a no-op for unknown or finished operations.
pub(crate) fn advance(state: &SharedState, store: &mut Store, id: &str) -> bool {
    let Some(operation) = store.operations.get_mut(id) else {
        return false;
    };
    if operation.outcome.is_some() {
        return false;
    }
    let elapsed = now_ms().saturating_sub(operation.started_ms);
    if operation.polls_seen < operation.pacing.polls || elapsed < operation.pacing.min_duration_ms {
        operation.polls_seen += 1;
        return true;
    }
    let end_time = rfc3339_now();
    let outcome = match operation.injected.clone() {
        Some(error) if operation.canceled => Outcome::Canceled { end_time, error },
        Some(error) => Outcome::Failed { end_time, error },
        None => Outcome::Succeeded { end_time },
    };
    let succeeded = matches!(outcome, Outcome::Succeeded { .. });
    let operation_outcome = outcome.clone();
    operation.outcome = Some(outcome);
    let kind = operation.kind;
    let cluster = operation.cluster.clone();
    tracing::info!(operation = %id, ?kind, succeeded, "operation finished");

    if let Some(key) = cluster {
        if kind == OperationKind::Delete && succeeded {
            if store.clusters.remove(&key).is_some() {
                state.stop_kubernetes_endpoint(&key);
            }
        } else if let Some(record) = store.clusters.get_mut(&key)
            && record.operation.as_deref() == Some(id)
        {
            record.operation = None;
            if record.api_server.migration_outage {
                record.api_server.migration_outage = false;
                record.api_server.unavailable = false;
            }
            let state = match &operation_outcome {
                Outcome::Succeeded { .. } => "Succeeded",
                Outcome::Canceled { .. } => "Canceled",
                Outcome::Failed { .. } => "Failed",
            };
            set_provisioning_state(&mut record.cluster, state);
        }
    }
    true
}

/// Set the cluster's and its agent pools' provisioning state.
pub(crate) fn set_provisioning_state(cluster: &mut aks_model::ManagedCluster, value: &str) {
    cluster.properties.provisioning_state = Some(value.to_string());
    if let Some(pools) = cluster.properties.agent_pool_profiles.as_mut() {
        for pool in pools {
            pool.extra.insert("provisioningState".into(), json!(value));
        }
    }
}

/// `Azure-AsyncOperation`, `Location` and `Retry-After` of a cluster operation in `subscription`.
pub(super) fn operation_headers(
    state: &SharedState,
    subscription: &Subscription,
    headers: &mut HeaderMap,
    location: &str,
    id: &str,
    retry_after_seconds: u64,
) {
    let base = format!(
        "{}/subscriptions/{}/providers/Microsoft.ContainerService/locations/{location}",
        state.base_url(),
        subscription.id()
    );
    set(
        headers,
        "azure-asyncoperation",
        &format!("{base}/operations/{id}?api-version={POLLING_API_VERSION}"),
    );
    set(
        headers,
        "location",
        &format!("{base}/operationresults/{id}?api-version={POLLING_API_VERSION}"),
    );
    set(headers, "retry-after", &retry_after_seconds.to_string());
}

fn operation_not_found(id: &str) -> Response {
    // Invented message: the wording real ARM uses for an unknown operation id was not verified.
    arm_error(
        StatusCode::NOT_FOUND,
        ArmErrorBody::new(
            "OperationNotFound",
            format!("The operation '{id}' could not be found."),
        ),
    )
}

/// Read an operation after advancing it, saving the state when it changed.
fn read(state: &SharedState, id: &str) -> Option<Operation> {
    let mut store = state.store();
    if advance(state, &mut store, id) {
        state.save_or_log(&store);
    }
    store.operations.get(id).cloned()
}

/// `GET …/locations/{location}/operations/{id}`: the async-operation status resource.
pub(super) fn status(state: &SharedState, id: &str) -> Response {
    let Some(operation) = read(state, id) else {
        return operation_not_found(id);
    };
    match &operation.outcome {
        None => {
            let mut response = json(
                StatusCode::OK,
                &json!({"name": operation.id, "status": "InProgress", "startTime": operation.start_time}),
            );
            let headers = response.headers_mut();
            set(
                headers,
                "retry-after",
                &operation.pacing.retry_after_seconds.to_string(),
            );
            if let Some(ms) = operation.pacing.retry_after_ms {
                set(headers, "retry-after-ms", &ms.to_string());
            }
            response
        }
        Some(Outcome::Succeeded { end_time }) => json(
            StatusCode::OK,
            &json!({"name": operation.id, "status": "Succeeded", "startTime": operation.start_time, "endTime": end_time}),
        ),
        Some(Outcome::Failed { end_time, error }) => json(
            StatusCode::OK,
            &json!({
                "name": operation.id, "status": "Failed", "startTime": operation.start_time, "endTime": end_time,
                "error": {"code": error.code, "message": error.message},
            }),
        ),
        Some(Outcome::Canceled { end_time, error }) => json(
            StatusCode::OK,
            &json!({
                "name": operation.id, "status": "Canceled", "startTime": operation.start_time, "endTime": end_time,
                "error": {"code": error.code, "message": error.message},
            }),
        ),
    }
}

fn still_running(ctx: &Ctx, state: &SharedState, operation: &Operation) -> Response {
    let mut response = empty(StatusCode::ACCEPTED);
    let headers = response.headers_mut();
    let location = format!("{}{}?{}", state.base_url(), ctx.path, ctx.raw_query);
    set(headers, "location", &location);
    set(
        headers,
        "retry-after",
        &operation.pacing.retry_after_seconds.to_string(),
    );
    response
}

/// `GET …/locations/{location}/operationresults/{id}`: 202 while running, then what the synchronous call
/// would have answered (the cluster for a PUT, 204 for a DELETE).
pub(super) fn result(state: &SharedState, ctx: &Ctx, id: &str) -> Response {
    let Some(operation) = read(state, id) else {
        return operation_not_found(id);
    };
    match &operation.outcome {
        None => still_running(ctx, state, &operation),
        Some(Outcome::Failed { error, .. }) | Some(Outcome::Canceled { error, .. }) => arm_error(
            StatusCode::BAD_REQUEST,
            ArmErrorBody::new(error.code.clone(), error.message.clone()),
        ),
        Some(Outcome::Succeeded { .. }) => match operation.kind {
            OperationKind::Delete | OperationKind::DeleteResourceGroup => {
                empty(StatusCode::NO_CONTENT)
            }
            OperationKind::Create | OperationKind::Update => {
                let store = state.store();
                match operation
                    .cluster
                    .as_ref()
                    .and_then(|key| store.clusters.get(key))
                {
                    Some(record) => json(StatusCode::OK, &public_view(&record.cluster)),
                    None => empty(StatusCode::NO_CONTENT),
                }
            }
        },
    }
}

/// `GET /subscriptions/{sub}/operationresults/{id}`: resource group deletion, 202 while running, then 200.
pub(super) fn resource_group_result(state: &SharedState, ctx: &Ctx, id: &str) -> Response {
    let Some(operation) = read(state, id) else {
        return operation_not_found(id);
    };
    match operation.outcome {
        None => still_running(ctx, state, &operation),
        Some(_) => empty(StatusCode::OK),
    }
}
