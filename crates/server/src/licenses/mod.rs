//! Licenses, entitlements and execution leases under `/api/v1/license/...`.

pub mod service;
pub mod store;
pub mod token;

pub use service::LicenseService;

use crate::app::AppState;
use crate::auth::principal::Admin;
use crate::auth::{Principal, Require};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ValidJson, ValidQuery};
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use botmox_contract::licenses::{
    EntitlementListQuery, EntitlementPutRequest, EntitlementRecord, LeaseHeartbeat,
    LeaseHeartbeatRequest, LeaseIssued, LeaseListQuery, LeaseRecord, LeaseRequest,
    LeaseRevokeRequest, LeaseRevoked, LicenseCreateRequest, LicenseListQuery, LicenseRecord,
    LicenseUpdateRequest,
};
use botmox_contract::secrets::Deleted;
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use service::code;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(lease))
        .routes(routes!(heartbeat))
        .routes(routes!(revoke))
        .routes(routes!(list_leases))
        .routes(routes!(list_licenses, create_license))
        .routes(routes!(get_license, update_license, delete_license))
        .routes(routes!(list_entitlements))
        .routes(routes!(
            get_entitlement,
            put_entitlement,
            delete_entitlement
        ))
}

/// Ids in paths: 1..=200 characters after trimming, no control characters.
fn path_id(raw: &str, code: &'static str) -> ApiResult<String> {
    let v = raw.trim();
    if v.is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            code,
            "id must be 1 to 200 characters",
        ));
    }
    Ok(v.to_owned())
}

/// Issue an execution lease. Checks, in order: VM registered, active and owned by the
/// lease's user; an active license (the user's or tenant-wide); the module entitled.
#[utoipa::path(post, path = "/api/v1/license/lease", tag = "licenses",
    request_body = LeaseRequest,
    responses(
        (status = 201, body = SuccessEnvelope<LeaseIssued>),
        (status = 400, description = "INVALID_REQUEST_BODY / BAD_REQUEST", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 403, description = "VM_INACTIVE / VM_OWNER_MISMATCH / LICENSE_INACTIVE / ENTITLEMENT_REQUIRED / MODULE_NOT_ALLOWED / FORBIDDEN (user_id override is not allowed)", body = ErrorEnvelope),
        (status = 404, description = "VM_NOT_REGISTERED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn lease(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<LeaseRequest>,
) -> ApiResult<(StatusCode, Ok<LeaseIssued>)> {
    Ok(response::created(
        state.licenses.issue(&principal, &body).await?,
    ))
}

/// Extend a live lease by the lease TTL; returns a token with the new expiry. The gate is
/// checked again.
#[utoipa::path(post, path = "/api/v1/license/heartbeat", tag = "licenses",
    request_body = LeaseHeartbeatRequest,
    responses(
        (status = 200, body = SuccessEnvelope<LeaseHeartbeat>),
        (status = 400, description = "INVALID_REQUEST_BODY", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 403, description = "LEASE_OWNER_MISMATCH / VM_INACTIVE / VM_OWNER_MISMATCH / LICENSE_INACTIVE / ENTITLEMENT_REQUIRED / MODULE_NOT_ALLOWED", body = ErrorEnvelope),
        (status = 404, description = "LEASE_NOT_FOUND / VM_NOT_REGISTERED", body = ErrorEnvelope),
        (status = 409, description = "LEASE_EXPIRED / LEASE_INACTIVE (revoked)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn heartbeat(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<LeaseHeartbeatRequest>,
) -> ApiResult<Ok<LeaseHeartbeat>> {
    Ok(response::ok(
        state.licenses.heartbeat(&principal, &body.lease_id).await?,
    ))
}

/// Revoke a lease (idempotent).
#[utoipa::path(post, path = "/api/v1/license/revoke", tag = "licenses",
    request_body = LeaseRevokeRequest,
    responses(
        (status = 200, body = SuccessEnvelope<LeaseRevoked>),
        (status = 400, description = "INVALID_REQUEST_BODY", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 403, description = "LEASE_OWNER_MISMATCH", body = ErrorEnvelope),
        (status = 404, description = "LEASE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<LeaseRevokeRequest>,
) -> ApiResult<Ok<LeaseRevoked>> {
    Ok(response::ok(
        state
            .licenses
            .revoke(&principal, &body.lease_id, body.reason.as_deref())
            .await?,
    ))
}

/// Leases, newest first. Operators (admin, infra, api) see the tenant's; others their own.
#[utoipa::path(get, path = "/api/v1/license/leases", tag = "licenses",
    params(LeaseListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<LeaseRecord>>),
        (status = 400, description = "LICENSE_INVALID_QUERY / VALIDATION_ERROR (bad cursor)", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_leases(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<LeaseListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<LeaseRecord>>>> {
    let (rows, meta) = state.licenses.list_leases(&principal, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Licenses of the tenant, newest first (admin).
#[utoipa::path(get, path = "/api/v1/license/licenses", tag = "licenses",
    params(LicenseListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<LicenseRecord>>),
        (status = 400, description = "LICENSE_INVALID_QUERY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_licenses(
    State(state): State<AppState>,
    admin: Require<Admin>,
    ValidQuery(q): ValidQuery<LicenseListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<LicenseRecord>>>> {
    let (rows, meta) = state.licenses.list_licenses(&admin, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Grant a license to a user, or to the whole tenant without `user_id` (admin).
#[utoipa::path(post, path = "/api/v1/license/licenses", tag = "licenses",
    request_body = LicenseCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<LicenseRecord>),
        (status = 400, description = "LICENSE_INVALID_BODY (e.g. a subscription without expires_at)", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_license(
    State(state): State<AppState>,
    admin: Require<Admin>,
    ValidJson(body): ValidJson<LicenseCreateRequest>,
) -> ApiResult<(StatusCode, Ok<LicenseRecord>)> {
    Ok(response::created(
        state.licenses.create_license(&admin, &body).await?,
    ))
}

/// One license (admin).
#[utoipa::path(get, path = "/api/v1/license/licenses/{id}", tag = "licenses",
    params(("id" = String, Path, description = "license id")),
    responses(
        (status = 200, body = SuccessEnvelope<LicenseRecord>),
        (status = 400, description = "LICENSE_INVALID_ID", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
        (status = 404, description = "LICENSE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_license(
    State(state): State<AppState>,
    admin: Require<Admin>,
    Path(id): Path<String>,
) -> ApiResult<Ok<LicenseRecord>> {
    let id = path_id(&id, code::INVALID_ID)?;
    Ok(response::ok(state.licenses.get_license(&admin, &id).await?))
}

/// Change a license's type, status, expiry or metadata (admin).
#[utoipa::path(patch, path = "/api/v1/license/licenses/{id}", tag = "licenses",
    params(("id" = String, Path, description = "license id")),
    request_body = LicenseUpdateRequest,
    responses(
        (status = 200, body = SuccessEnvelope<LicenseRecord>),
        (status = 400, description = "LICENSE_INVALID_ID / LICENSE_INVALID_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
        (status = 404, description = "LICENSE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn update_license(
    State(state): State<AppState>,
    admin: Require<Admin>,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<LicenseUpdateRequest>,
) -> ApiResult<Ok<LicenseRecord>> {
    let id = path_id(&id, code::INVALID_ID)?;
    Ok(response::ok(
        state.licenses.update_license(&admin, &id, &body).await?,
    ))
}

/// Delete a license (admin). Leases issued under it stop at their next heartbeat.
#[utoipa::path(delete, path = "/api/v1/license/licenses/{id}", tag = "licenses",
    params(("id" = String, Path, description = "license id")),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "LICENSE_INVALID_ID", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
        (status = 404, description = "LICENSE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_license(
    State(state): State<AppState>,
    admin: Require<Admin>,
    Path(id): Path<String>,
) -> ApiResult<Ok<Deleted>> {
    let id = path_id(&id, code::INVALID_ID)?;
    state.licenses.delete_license(&admin, &id).await?;
    Ok(response::ok(Deleted { id, deleted: true }))
}

/// Module entitlements of the tenant's users, by user id (admin).
#[utoipa::path(get, path = "/api/v1/license/entitlements", tag = "licenses",
    params(EntitlementListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<EntitlementRecord>>),
        (status = 400, description = "LICENSE_INVALID_QUERY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_entitlements(
    State(state): State<AppState>,
    admin: Require<Admin>,
    ValidQuery(q): ValidQuery<EntitlementListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<EntitlementRecord>>>> {
    let (rows, meta) = state.licenses.list_entitlements(&admin, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// A user's module entitlements (admin).
#[utoipa::path(get, path = "/api/v1/license/entitlements/{user_id}", tag = "licenses",
    params(("user_id" = String, Path, description = "user id")),
    responses(
        (status = 200, body = SuccessEnvelope<EntitlementRecord>),
        (status = 400, description = "ENTITLEMENT_INVALID_ID", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
        (status = 404, description = "ENTITLEMENT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_entitlement(
    State(state): State<AppState>,
    admin: Require<Admin>,
    Path(user_id): Path<String>,
) -> ApiResult<Ok<EntitlementRecord>> {
    let user_id = path_id(&user_id, code::ENTITLEMENT_INVALID_ID)?;
    Ok(response::ok(
        state.licenses.get_entitlement(&admin, &user_id).await?,
    ))
}

/// Set the modules a user may lease (`"*"` = all); replaces the previous list (admin).
#[utoipa::path(put, path = "/api/v1/license/entitlements/{user_id}", tag = "licenses",
    params(("user_id" = String, Path, description = "user id")),
    request_body = EntitlementPutRequest,
    responses(
        (status = 200, body = SuccessEnvelope<EntitlementRecord>),
        (status = 400, description = "ENTITLEMENT_INVALID_ID / ENTITLEMENT_INVALID_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_entitlement(
    State(state): State<AppState>,
    admin: Require<Admin>,
    Path(user_id): Path<String>,
    ValidJson(body): ValidJson<EntitlementPutRequest>,
) -> ApiResult<Ok<EntitlementRecord>> {
    let user_id = path_id(&user_id, code::ENTITLEMENT_INVALID_ID)?;
    Ok(response::ok(
        state
            .licenses
            .put_entitlement(&admin, &user_id, &body)
            .await?,
    ))
}

/// Remove a user's entitlements (admin): leases then fail with `ENTITLEMENT_REQUIRED`.
#[utoipa::path(delete, path = "/api/v1/license/entitlements/{user_id}", tag = "licenses",
    params(("user_id" = String, Path, description = "user id")),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "ENTITLEMENT_INVALID_ID", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
        (status = 404, description = "ENTITLEMENT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_entitlement(
    State(state): State<AppState>,
    admin: Require<Admin>,
    Path(user_id): Path<String>,
) -> ApiResult<Ok<Deleted>> {
    let user_id = path_id(&user_id, code::ENTITLEMENT_INVALID_ID)?;
    state.licenses.delete_entitlement(&admin, &user_id).await?;
    Ok(response::ok(Deleted {
        id: user_id,
        deleted: true,
    }))
}
