//! The audit log: every authenticated mutating request (`POST`/`PUT`/`PATCH`/`DELETE` under
//! `/api/v1`) is recorded by [`middleware::record`] and read back by tenant admins.

pub mod middleware;
pub mod service;
pub mod sink;
pub mod store;

pub use sink::AuditSink;

use crate::app::AppState;
use crate::auth::Require;
use crate::auth::principal::Admin;
use crate::error::ApiResult;
use crate::extract::ValidQuery;
use axum::Json;
use axum::extract::State;
use botmox_contract::audit::{AuditEntry, AuditQuery};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Audit entries of the caller's tenant, newest first (admin).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<AuditEntry>>),
        (status = 400, description = "AUDIT_INVALID_QUERY / VALIDATION_ERROR (cursor)", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_audit(
    State(state): State<AppState>,
    admin: Require<Admin>,
    ValidQuery(query): ValidQuery<AuditQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<AuditEntry>>>> {
    let (entries, meta) = service::list(&state.db, &admin, query).await?;
    Ok(Json(SuccessEnvelope::with_meta(entries, meta)))
}
