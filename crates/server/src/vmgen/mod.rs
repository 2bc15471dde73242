//! The VM generator as a durable server-side queue: `/vm-generator/jobs`. A job clones,
//! configures, registers and provisions a batch of VMs through an agent; the runner (one per
//! node, jobs leased) drives it, so closing the browser loses nothing.

pub mod runner;
pub mod service;
pub mod store;

pub use service::VmGenService;

use crate::app::AppState;
use crate::auth::principal::{Operator, Require};
use crate::error::ApiResult;
use crate::extract::{ValidJson, ValidQuery};
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use botmox_contract::vmgen::{VmGenJob, VmGenJobCreateRequest, VmGenJobListQuery};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one))
        .routes(routes!(cancel))
}

/// Builds the service and its wake-up.
pub fn service(
    db: crate::db::Db,
    agents: Arc<crate::agents::AgentsService>,
    vm_ops: Arc<crate::vm_ops::VmOpsService>,
    events: Arc<crate::vm_ops::events::EventLog>,
    provisioning: Arc<crate::provisioning::ProvisioningService>,
    bus: Arc<crate::bus::Bus>,
) -> Arc<VmGenService> {
    Arc::new(VmGenService {
        store: store::VmGenStore::new(db.clone()),
        agents,
        vm_ops,
        events,
        provisioning,
        vms: crate::vms::VmService::new(db.clone()),
        playbooks: crate::playbooks::PlaybookService::new(db),
        bus,
        wake: Arc::new(tokio::sync::Notify::new()),
    })
}

/// The server's URL as this request reached it: provisioning uses it when
/// `BOTMOX_PUBLIC_URL` is unset.
fn request_url(headers: &HeaderMap) -> Option<String> {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let host = first("x-forwarded-host").or_else(|| first(header::HOST.as_str()))?;
    let proto = first("x-forwarded-proto").unwrap_or_else(|| "http".to_owned());
    Some(format!("{proto}://{host}"))
}

/// Queue a VM generator job: `count` VMs cloned from `template_vmid` on `node` through the
/// agent, each configured, registered, given its provisioning ISO and optionally started.
/// Progress: `GET /vm-generator/jobs/{id}` and the `vmgen.job` / `vmgen.step` events of
/// `GET /vm-ops/events`.
#[utoipa::path(post, path = "/api/v1/vm-generator/jobs", tag = "vm-generator",
    request_body = VmGenJobCreateRequest,
    responses(
        (status = 202, description = "queued", body = SuccessEnvelope<VmGenJob>),
        (status = 400, description = "VMGEN_INVALID_JOB_BODY (details.fields) / PROVISIONING_INVALID_PROFILE_ID", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (role) / AGENT_OWNER_MISMATCH / AGENT_OWNER_UNASSIGNED", body = ErrorEnvelope),
        (status = 404, description = "AGENT_NOT_FOUND / UNATTEND_PROFILE_NOT_FOUND / PLAYBOOK_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "AGENT_REVOKED / AGENT_NOT_ACTIVE", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    caller: Require<Operator>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<VmGenJobCreateRequest>,
) -> ApiResult<(StatusCode, Ok<VmGenJob>)> {
    let job = state
        .vmgen
        .create(&caller, body, request_url(&headers))
        .await?;
    Ok(response::accepted(job))
}

/// Jobs of the tenant, newest first (callers without admin or infra see their own).
#[utoipa::path(get, path = "/api/v1/vm-generator/jobs", tag = "vm-generator",
    params(VmGenJobListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<VmGenJob>>),
        (status = 400, description = "VMGEN_INVALID_LIST_QUERY / VALIDATION_ERROR (bad cursor)", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (role)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    caller: Require<Operator>,
    ValidQuery(q): ValidQuery<VmGenJobListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<VmGenJob>>>> {
    let (rows, meta) = state.vmgen.list(&caller, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// One job with its items: per VM the status, every step (status, command id, error), the
/// VM id, SMBIOS uuid, IP and provisioning token id.
#[utoipa::path(get, path = "/api/v1/vm-generator/jobs/{id}", tag = "vm-generator",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<VmGenJob>),
        (status = 403, description = "FORBIDDEN (role)", body = ErrorEnvelope),
        (status = 404, description = "VMGEN_JOB_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_one(
    State(state): State<AppState>,
    caller: Require<Operator>,
    Path(id): Path<String>,
) -> ApiResult<Ok<VmGenJob>> {
    Ok(response::ok(state.vmgen.get(&caller, &id).await?))
}

/// Cancel a job: a queued job ends at once; a running one stops before its next step and its
/// in-flight command is cancelled. VMs already made stay.
#[utoipa::path(post, path = "/api/v1/vm-generator/jobs/{id}/cancel", tag = "vm-generator",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<VmGenJob>),
        (status = 403, description = "FORBIDDEN (role)", body = ErrorEnvelope),
        (status = 404, description = "VMGEN_JOB_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "VMGEN_JOB_FINISHED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn cancel(
    State(state): State<AppState>,
    caller: Require<Operator>,
    Path(id): Path<String>,
) -> ApiResult<Ok<VmGenJob>> {
    Ok(response::ok(state.vmgen.cancel(&caller, &id).await?))
}
