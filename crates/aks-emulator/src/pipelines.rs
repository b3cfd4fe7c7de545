//! Azure Pipelines' OIDC token endpoint, the other half of workload identity federation for a pipeline's
//! service connection (kubelogin `-l azurepipelines`; azidentity's and azure_identity's
//! `AzurePipelinesCredential`).
//!
//! In a pipeline job, Azure DevOps gives the job `SYSTEM_ACCESSTOKEN` (a job-scoped bearer token) and
//! `SYSTEM_OIDCREQUESTURI` (`https://dev.azure.com/{org}/{projectId}/_apis/distributedtask/hubs/build/plans/
//! {planId}/jobs/{jobId}/oidctoken`). The credential POSTs to that URL with `?api-version=7.1&serviceConnectionId=
//! {id}`, `Authorization: Bearer <SYSTEM_ACCESSTOKEN>` and `X-TFS-FedAuthRedirect: Suppress`, and gets
//! `{"oidcToken": <JWT>}`: an ID token with `iss` = the organization's issuer (`https://vstoken.dev.azure.com/
//! {organizationId}`), `sub` = `sc://{org}/{project}/{service connection name}` and `aud` =
//! `api://AzureADTokenExchange`, which Entra accepts as a client assertion for the app that has a federated
//! credential with that issuer and subject.
//!
//! Here:
//!
//! * `POST /_emulator/pipelines/jobs` (management API) starts a "job" and answers the variables a pipeline task
//!   would set (`SYSTEM_ACCESSTOKEN`, `SYSTEM_OIDCREQUESTURI`, `AZURESUBSCRIPTION_SERVICE_CONNECTION_ID`,
//!   `AZURESUBSCRIPTION_CLIENT_ID`, `AZURESUBSCRIPTION_TENANT_ID`). Like creating a workload-identity service
//!   connection in Azure DevOps, it also gives the connection's app (default: the admin service principal) the
//!   federated credential for the connection's issuer and subject.
//! * `POST /pipelines/{org}/{projectId}/_apis/distributedtask/hubs/build/plans/{planId}/jobs/{jobId}/oidctoken`
//!   checks the bearer token (signed by the emulator for that plan and job, not expired, naming the service
//!   connection) and answers the ID token, signed with the emulator's token key.
//! * `GET /pipelines/{organizationId}/.well-known/openid-configuration` and `…/.well-known/jwks`: the issuer's
//!   discovery documents.
//!
//! The job token is a JWT the emulator signs and checks, so nothing is stored per job and a restart with the
//! same state file keeps it valid. Error bodies (`TF400813`, unknown service connection) are the emulator's own
//! approximation of Azure DevOps'.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Ctx, json, unsupported};
use crate::state::{
    FEDERATED_AUDIENCE, FederatedCredential, PIPELINES_ORGANIZATION_ID as ORGANIZATION_ID,
    SharedState, random_guid,
};
use crate::{ADMIN_CLIENT_ID, TENANT_ID};

/// The emulated Azure DevOps organization's name.
pub(crate) const ORGANIZATION: &str = "emulator";
/// The emulated project's name (in subjects).
pub(crate) const PROJECT: &str = "aksctl";
/// The project's id (in `SYSTEM_OIDCREQUESTURI`).
pub(crate) const PROJECT_ID: &str = "4f4f4f4f-1111-2222-3333-aaaaaaaaaaaa";
/// The default service connection id.
pub(crate) const SERVICE_CONNECTION_ID: &str = "5a5a5a5a-1111-2222-3333-bbbbbbbbbbbb";
/// The default service connection name (in subjects).
pub(crate) const SERVICE_CONNECTION_NAME: &str = "aks-service-connection";
/// How long a job token lives by default, seconds.
const JOB_LIFETIME: i64 = 3600;
/// How long an ID token lives, seconds.
const ID_TOKEN_LIFETIME: i64 = 600;

/// The subject of a service connection's ID tokens.
pub(crate) fn subject(service_connection_name: &str) -> String {
    format!("sc://{ORGANIZATION}/{PROJECT}/{service_connection_name}")
}

/// The audience of job tokens (`SYSTEM_ACCESSTOKEN`), which only this module accepts.
fn job_audience(state: &SharedState) -> String {
    format!("{}/pipelines", state.base_url())
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// Routes under `/pipelines/`.
pub(crate) fn route(state: &SharedState, ctx: &Ctx) -> Response {
    let segments: Vec<&str> = ctx.segments.iter().map(String::as_str).collect();
    match (&ctx.method, segments.as_slice()) {
        (
            &Method::POST,
            [
                "pipelines",
                organization,
                project,
                "_apis",
                "distributedtask",
                "hubs",
                "build",
                "plans",
                plan,
                "jobs",
                job,
                "oidctoken",
            ],
        ) => oidc_token(state, ctx, organization, project, plan, job),
        (
            &Method::GET,
            [
                "pipelines",
                organization,
                ".well-known",
                "openid-configuration",
            ],
        ) if *organization == ORGANIZATION_ID => {
            let issuer = state.pipelines_issuer();
            json(
                StatusCode::OK,
                &json!({
                    "issuer": issuer,
                    "jwks_uri": format!("{issuer}/.well-known/jwks"),
                    "subject_types_supported": ["public"],
                    "response_types_supported": ["id_token"],
                    "claims_supported": ["sub", "aud", "exp", "iat", "iss", "nbf"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "scopes_supported": ["openid"],
                }),
            )
        }
        (&Method::GET, ["pipelines", organization, ".well-known", "jwks"])
            if *organization == ORGANIZATION_ID =>
        {
            json(StatusCode::OK, &crate::entra::jwks(state))
        }
        _ => unsupported(ctx),
    }
}

/// Azure DevOps' answer to a request without a usable bearer token (with `X-TFS-FedAuthRedirect: Suppress`).
fn unauthorized(reason: &str) -> Response {
    tracing::info!(reason, "refused a pipelines OIDC token request");
    json(
        StatusCode::UNAUTHORIZED,
        &json!({
            "$id": "1",
            "innerException": null,
            "message": "TF400813: The user '' is not authorized to access this resource.",
            "typeName": "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
            "typeKey": "UnauthorizedRequestException",
            "errorCode": 0,
            "eventId": 3000,
        }),
    )
}

fn bad_request(status: StatusCode, type_key: &str, message: String) -> Response {
    json(
        status,
        &json!({
            "$id": "1",
            "innerException": null,
            "message": message,
            "typeName": format!("Microsoft.TeamFoundation.DistributedTask.WebApi.{type_key}, Microsoft.TeamFoundation.DistributedTask.WebApi"),
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000,
        }),
    )
}

/// `POST …/plans/{plan}/jobs/{job}/oidctoken?api-version=…&serviceConnectionId=…`.
fn oidc_token(
    state: &SharedState,
    ctx: &Ctx,
    organization: &str,
    project: &str,
    plan: &str,
    job: &str,
) -> Response {
    let Some(token) = ctx.bearer_token() else {
        return unauthorized("no bearer token");
    };
    let audience = job_audience(state);
    let claims = match crate::entra::verify(state, token, &[audience.as_str()]) {
        Ok(claims) => claims,
        Err(problem) => return unauthorized(&format!("job token refused: {problem:?}")),
    };
    if claims["plan"] != plan
        || claims["job"] != job
        || organization != ORGANIZATION
        || !project.eq_ignore_ascii_case(PROJECT_ID)
    {
        return unauthorized("the job token is for another organization, project, plan or job");
    }
    if ctx.query("api-version").is_none_or(str::is_empty) {
        return bad_request(
            StatusCode::BAD_REQUEST,
            "VssVersionNotSpecifiedException",
            "No api-version was supplied for the POST request. An api-version must be supplied."
                .into(),
        );
    }
    let Some(connection_id) = ctx.query("serviceConnectionId").filter(|id| !id.is_empty()) else {
        return bad_request(
            StatusCode::BAD_REQUEST,
            "ArgumentNullException",
            "Value cannot be null.\r\nParameter name: serviceConnectionId".into(),
        );
    };
    let Some(name) = claims["connections"]
        .as_object()
        .and_then(|connections| {
            connections
                .iter()
                .find(|(id, _)| id.eq_ignore_ascii_case(connection_id))
        })
        .and_then(|(_, name)| name.as_str())
    else {
        // Invented text: Azure DevOps' exact message for a connection the job may not use is not public.
        return bad_request(
            StatusCode::NOT_FOUND,
            "ServiceEndpointNotFoundException",
            format!(
                "Service connection {connection_id} was not found or the pipeline is not authorized to use it."
            ),
        );
    };
    let issued = now();
    let id_token = json!({
        "jti": random_guid(),
        "sub": subject(name),
        "aud": FEDERATED_AUDIENCE,
        "iss": state.pipelines_issuer(),
        "nbf": issued,
        "iat": issued,
        "exp": issued + ID_TOKEN_LIFETIME,
    });
    match crate::entra::sign(state, &id_token) {
        Ok(signed) => json(StatusCode::OK, &json!({"oidcToken": signed})),
        Err(error) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"message": format!("cannot sign the ID token: {error}")}),
        ),
    }
}

/// The body of `POST /_emulator/pipelines/jobs`; every field is optional.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct JobRequest {
    /// The app of the service connection (default: the admin service principal).
    client_id: Option<String>,
    /// Default [`SERVICE_CONNECTION_ID`].
    service_connection_id: Option<String>,
    /// Default [`SERVICE_CONNECTION_NAME`].
    service_connection_name: Option<String>,
    /// Lifetime of the job token in seconds (default 3600; negative = already expired).
    expires_in: Option<i64>,
    /// Do not give the app the federated credential (a connection whose app registration lacks it).
    without_federated_credential: bool,
}

fn management_error(status: StatusCode, message: String) -> Response {
    crate::http::arm_error(
        status,
        aks_model::ArmErrorBody::new(
            if status == StatusCode::NOT_FOUND {
                "EmulatorNotFound"
            } else {
                "EmulatorBadRequest"
            },
            message,
        ),
    )
}

/// `/_emulator/pipelines/...` (management API).
pub(crate) fn manage(state: &SharedState, ctx: &Ctx) -> Response {
    let segments: Vec<&str> = ctx.lower.iter().map(String::as_str).collect();
    match (&ctx.method, segments.as_slice()) {
        (&Method::POST, ["_emulator", "pipelines", "jobs"]) => {
            let request = if ctx.body.is_empty() {
                JobRequest::default()
            } else {
                match serde_json::from_slice::<JobRequest>(&ctx.body) {
                    Ok(request) => request,
                    Err(error) => {
                        return management_error(
                            StatusCode::BAD_REQUEST,
                            format!("invalid body for {} {}: {error}", ctx.method, ctx.path),
                        );
                    }
                }
            };
            start_job(state, request)
        }
        _ => unsupported(ctx),
    }
}

fn start_job(state: &SharedState, request: JobRequest) -> Response {
    let client_id = request
        .client_id
        .unwrap_or_else(|| ADMIN_CLIENT_ID.to_string());
    let connection_id = request
        .service_connection_id
        .unwrap_or_else(|| SERVICE_CONNECTION_ID.to_string());
    let connection_name = request
        .service_connection_name
        .unwrap_or_else(|| SERVICE_CONNECTION_NAME.to_string());
    let issuer = state.pipelines_issuer();
    let subject = subject(&connection_name);
    {
        let mut store = state.store();
        let Some(principal) = store.directory.service_principal_mut(&client_id) else {
            return management_error(
                StatusCode::NOT_FOUND,
                format!("no application with client id '{client_id}'"),
            );
        };
        let credential = FederatedCredential {
            issuer: issuer.clone(),
            subject: subject.clone(),
            audiences: vec![FEDERATED_AUDIENCE.to_string()],
        };
        if !request.without_federated_credential
            && !principal.federated_credentials.contains(&credential)
        {
            principal.federated_credentials.push(credential);
            state.save_or_log(&store);
        }
    }
    let plan = random_guid();
    let job = random_guid();
    let issued = now();
    let expires_on = issued + request.expires_in.unwrap_or(JOB_LIFETIME);
    let not_before = issued.min(expires_on - 1);
    let mut connections = serde_json::Map::new();
    connections.insert(connection_id.clone(), Value::String(connection_name));
    let claims = json!({
        "iss": format!("{}/pipelines", state.base_url()),
        "aud": job_audience(state),
        "nbf": not_before,
        "iat": not_before,
        "exp": expires_on,
        "jti": random_guid(),
        "scp": "app_token",
        "plan": plan,
        "job": job,
        "connections": connections,
    });
    let token = match crate::entra::sign(state, &claims) {
        Ok(token) => token,
        Err(error) => {
            return management_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot sign the job token: {error}"),
            );
        }
    };
    json(
        StatusCode::OK,
        &json!({
            "system_access_token": token,
            "oidc_request_uri": format!(
                "{}/pipelines/{ORGANIZATION}/{PROJECT_ID}/_apis/distributedtask/hubs/build/plans/{plan}/jobs/{job}/oidctoken",
                state.base_url()
            ),
            "service_connection_id": connection_id,
            "client_id": client_id,
            "tenant_id": TENANT_ID,
            "issuer": issuer,
            "subject": subject,
            "expires_on": expires_on,
        }),
    )
}
