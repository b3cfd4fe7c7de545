//! The top of the emulator: the one fallback handler of the main server, which parses the request, lets injected
//! faults answer first, hands it to the service that owns its first path segment, adds the common headers and
//! records the request log.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::Response;

use crate::http::{Ctx, Destination, finish, unsupported};
use crate::state::SharedState;
use crate::{arm, entra, faults, graph, management, pipelines, request_log};

/// Largest request body accepted (ARM's own limit is 4 MB for most resources).
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The single fallback handler of the emulator router.
pub(crate) async fn dispatch(State(state): State<SharedState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => Bytes::new(),
    };
    let mut ctx = Ctx::new(parts.method, &parts.uri, parts.headers, body);
    ctx.origin = state.base_url().to_string();
    // Injected faults (`/_emulator/faults`) come first; a faulted request never reaches its service.
    let management = ctx.destination() == Some(Destination::Management);
    if !management && let Some(mut response) = faults::intercept(&state, &ctx).await {
        finish(&ctx, &mut response);
        return response;
    }
    let mut response = route(&state, &ctx);
    finish(&ctx, &mut response);
    if !management {
        request_log::record(&state, "arm", &ctx, response.status());
    }
    response
}

fn route(state: &SharedState, ctx: &Ctx) -> Response {
    match ctx.destination() {
        Some(Destination::Management) => management::route(state, ctx),
        Some(Destination::InstanceMetadata) => entra::instance_metadata_identity(state, ctx),
        Some(Destination::Arm) => arm::route(state, ctx),
        Some(Destination::Graph) => graph::route(state, ctx),
        Some(Destination::Pipelines) => pipelines::route(state, ctx),
        Some(Destination::Entra) => entra::route(state, ctx),
        None => unsupported(ctx),
    }
}
