//! Reading the audit log: an admin's view of their own tenant, filtered and paged.

use super::store::{AuditFilter, AuditStore, audit_log};
use crate::auth::Principal;
use crate::db::Db;
use crate::db::time::to_rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use botmox_contract::ListMeta;
use botmox_contract::audit::{AuditActor, AuditEntry, AuditQuery};
use botmox_contract::error_code::VALIDATION_ERROR;
use botmox_contract::pagination::PageQuery;

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

/// Entries of the caller's tenant, newest first. The caller's role is checked by the handler.
pub async fn list(
    db: &Db,
    admin: &Principal,
    query: AuditQuery,
) -> ApiResult<(Vec<AuditEntry>, ListMeta)> {
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
    let rows = AuditStore::new(db.clone())
        .list(
            &admin.tenant_id,
            &filter,
            &page,
            page.after_ms(VALIDATION_ERROR)?.as_ref(),
        )
        .await?;
    let (rows, meta) = page.finish(rows, |r| Cursor {
        key: serde_json::json!(r.at),
        id: r.id.clone(),
    });
    Ok((rows.into_iter().map(entry).collect(), meta))
}
