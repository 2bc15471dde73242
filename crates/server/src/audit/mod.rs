//! The audit log: every authenticated mutating request (`POST`/`PUT`/`PATCH`/`DELETE` under
//! `/api/v1`) is recorded by [`middleware::record`] and read back by tenant admins.

pub mod middleware;
pub mod sink;
pub mod store;

pub use sink::AuditSink;

use crate::app::AppState;
use crate::auth::Require;
use crate::auth::principal::Admin;
use crate::db::time::to_rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::extract::ValidQuery;
use crate::pagination::{Cursor, PageRequest};
use axum::Json;
use axum::extract::State;
use botmox_contract::audit::{AuditActor, AuditEntry, AuditQuery};
use botmox_contract::pagination::PageQuery;
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use store::{AuditFilter, AuditStore, audit_log};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

const INVALID_QUERY: &str = "AUDIT_INVALID_QUERY";

fn parse_time(field: &str, raw: Option<&str>) -> ApiResult<Option<i64>> {
    raw.map(|value| {
        chrono::DateTime::parse_from_rfc3339(value.trim())
            .map(|t| t.timestamp_millis())
            .map_err(|_| {
                ApiError::bad_request(INVALID_QUERY, "Request validation failed").with_details(
                    serde_json::json!({ "fields": { field: ["must be an RFC 3339 time"] } }),
                )
            })
    })
    .transpose()
}

fn entry(row: audit_log::Model) -> AuditEntry {
    AuditEntry {
        at: to_rfc3339(row.at),
        actor: AuditActor {
            uid: row.actor_uid,
            email: row.actor_email,
            auth_kind: row.auth_kind,
            roles: crate::auth::store::split_roles(&row.actor_roles),
        },
        body_shape: serde_json::from_str(&row.body_shape).unwrap_or_default(),
        id: row.id,
        tenant_id: row.tenant_id,
        method: row.method,
        route: row.route,
        path: row.path,
        target_id: row.target_id,
        status: row.status,
        duration_ms: row.duration_ms,
        request_id: row.request_id,
    }
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
    let page = PageRequest::from_query(&PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    })?;
    let filter = AuditFilter {
        actor: query.actor.map(|a| a.trim().to_owned()),
        method: query.method.map(|m| m.to_ascii_uppercase()),
        route: query.route,
        status: query.status.map(i32::from),
        from_ms: parse_time("from", query.from.as_deref())?,
        to_ms: parse_time("to", query.to.as_deref())?,
    };
    let rows = AuditStore::new(state.db.clone())
        .list(&admin.tenant_id, &filter, &page)
        .await?;
    let (rows, meta) = page.finish(rows, |r| Cursor {
        key: serde_json::json!(r.at),
        id: r.id.clone(),
    });
    Ok(Json(SuccessEnvelope::with_meta(
        rows.into_iter().map(entry).collect(),
        meta,
    )))
}
