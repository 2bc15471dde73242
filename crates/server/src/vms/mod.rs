//! VM registry: `/vm/register`, `/vm/{uuid}/resolve`, `/vm`, `/vm/{uuid}/status`.

pub mod service;
pub mod store;

pub use service::VmService;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ValidJson, ValidQuery};
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use botmox_contract::vms::{VmListQuery, VmRecord, VmRegisterRequest, VmStatusRequest};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(list))
        .routes(routes!(resolve))
        .routes(routes!(set_status))
}

fn service(state: &AppState) -> VmService {
    VmService::new(state.db.clone())
}

/// Register a VM (upsert on the lower-cased `vm_uuid`). 201 when new, 200 when updated;
/// fields left out of an update keep their values.
#[utoipa::path(post, path = "/api/v1/vm/register", tag = "vms",
    request_body = VmRegisterRequest,
    responses(
        (status = 201, description = "registered", body = SuccessEnvelope<VmRecord>),
        (status = 200, description = "registration updated", body = SuccessEnvelope<VmRecord>),
        (status = 400, description = "VM_REGISTER_INVALID_BODY / BAD_REQUEST", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (user_id override is not allowed; only an operator can reactivate a revoked VM) / VM_OWNER_MISMATCH (registered to another user)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn register(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<VmRegisterRequest>,
) -> ApiResult<(StatusCode, Ok<VmRecord>)> {
    let (record, created) = service(&state).register(&principal, &body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, response::ok(record)))
}

/// VMs of the tenant, newest first. Operators (admin, infra, api) see every VM; other
/// callers only their own.
#[utoipa::path(get, path = "/api/v1/vm", tag = "vms",
    params(VmListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<VmRecord>>),
        (status = 400, description = "VM_LIST_INVALID_QUERY / VALIDATION_ERROR (bad cursor)", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<VmListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<VmRecord>>>> {
    let (rows, meta) = service(&state).list(&principal, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

fn path_uuid(raw: &str, code: &'static str) -> ApiResult<String> {
    service::valid_path_uuid(raw).ok_or_else(|| {
        ApiError::bad_request(
            code,
            "uuid must be 1 to 128 characters of letters, digits, ':', '_' and '-'",
        )
    })
}

/// A registered VM by its uuid (case-insensitive).
#[utoipa::path(get, path = "/api/v1/vm/{uuid}/resolve", tag = "vms",
    params(("uuid" = String, Path, description = "vm_uuid")),
    responses(
        (status = 200, body = SuccessEnvelope<VmRecord>),
        (status = 400, description = "VM_RESOLVE_INVALID_PATH", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 404, description = "VM_UUID_NOT_FOUND (also another user's VM for non-operators)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn resolve(
    State(state): State<AppState>,
    principal: Principal,
    Path(uuid): Path<String>,
) -> ApiResult<Ok<VmRecord>> {
    let uuid = path_uuid(&uuid, "VM_RESOLVE_INVALID_PATH")?;
    Ok(response::ok(
        service(&state).resolve(&principal, &uuid).await?,
    ))
}

/// Set a VM's status: `active`, `paused` or `revoked`. Leases are refused for VMs that are
/// not active.
#[utoipa::path(post, path = "/api/v1/vm/{uuid}/status", tag = "vms",
    params(("uuid" = String, Path, description = "vm_uuid")),
    request_body = VmStatusRequest,
    responses(
        (status = 200, body = SuccessEnvelope<VmRecord>),
        (status = 400, description = "VM_INVALID_ID / VM_STATUS_INVALID_BODY", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (only an operator can reactivate a revoked VM)", body = ErrorEnvelope),
        (status = 404, description = "VM_UUID_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn set_status(
    State(state): State<AppState>,
    principal: Principal,
    Path(uuid): Path<String>,
    ValidJson(body): ValidJson<VmStatusRequest>,
) -> ApiResult<Ok<VmRecord>> {
    let uuid = path_uuid(&uuid, "VM_INVALID_ID")?;
    Ok(response::ok(
        service(&state)
            .set_status(&principal, &uuid, &body.status)
            .await?,
    ))
}
