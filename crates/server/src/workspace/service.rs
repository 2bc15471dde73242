//! The workspace service and what its three kinds share: errors, paging, id choice. The
//! rules of each kind live in `notes.rs`, `calendar.rs` and `kanban.rs`.

use crate::db::Db;
use crate::error::ApiError;
use crate::pagination::{Cursor, PageRequest};
use botmox_contract::pagination::DEFAULT_LIMIT;
use botmox_contract::rules;
use botmox_contract::workspace::{
    WORKSPACE_CONFLICT, WORKSPACE_ENTITY_NOT_FOUND, WORKSPACE_INVALID_BODY,
    WORKSPACE_INVALID_LIST_QUERY,
};
use sea_orm::{DbErr, SqlErr};
use serde_json::json;
use uuid::Uuid;

pub struct WorkspaceService {
    pub(super) db: Db,
}

impl WorkspaceService {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

pub(super) fn not_found(what: &str) -> ApiError {
    ApiError::not_found(WORKSPACE_ENTITY_NOT_FOUND, format!("{what} not found"))
}

/// A 400 `WORKSPACE_INVALID_BODY` naming one field, shaped like garde's failures.
pub(super) fn field_error(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(WORKSPACE_INVALID_BODY, "Request validation failed")
        .with_details(json!({ "fields": { field: [message.into()] } }))
}

pub(super) fn empty_patch() -> ApiError {
    ApiError::bad_request(
        WORKSPACE_INVALID_BODY,
        "Payload must contain at least one field",
    )
}

pub(super) fn list_query_error(field: &str, message: &str) -> ApiError {
    ApiError::bad_request(WORKSPACE_INVALID_LIST_QUERY, "Invalid list query")
        .with_details(json!({ "fields": { field: [message] } }))
}

/// The page size and the decoded cursor; `decode` turns the cursor into the kind's key.
pub(super) fn page<K>(
    cursor: Option<&str>,
    limit: Option<u32>,
    decode: impl Fn(&Cursor) -> Option<K>,
) -> Result<(PageRequest, Option<K>), ApiError> {
    let bad = || list_query_error("cursor", "is not a cursor this list issued");
    let after = cursor.map(Cursor::decode).transpose().map_err(|_| bad())?;
    let key = match &after {
        Some(c) => Some(decode(c).ok_or_else(bad)?),
        None => None,
    };
    Ok((
        PageRequest {
            limit: limit.unwrap_or(DEFAULT_LIMIT),
            after,
        },
        key,
    ))
}

/// The client's id (trimmed) or a fresh UUID v7.
pub(super) fn choose_id(requested: Option<&str>) -> String {
    requested
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned)
}

pub(super) fn id_in_use(what: &str) -> ApiError {
    ApiError::conflict(
        WORKSPACE_CONFLICT,
        format!("A {what} with this id already exists"),
    )
}

/// An insert that hit an existing id becomes a 409; anything else stays a database error.
pub(super) fn id_taken(err: DbErr, what: &str) -> ApiError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => id_in_use(what),
        _ => err.into(),
    }
}

/// A link insert that lost a race with a delete (foreign key) becomes the same 400 a
/// missing id gets up front.
pub(super) fn link_gone(err: DbErr, field: &str) -> ApiError {
    match err.sql_err() {
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            field_error(field, "refers to an id that does not exist")
        }
        _ => err.into(),
    }
}

/// Fails with a field error unless every id exists.
pub(super) fn require_all(
    field: &str,
    wanted: &[String],
    found: &[String],
) -> Result<(), ApiError> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !found.contains(w))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(field_error(
            field,
            format!("unknown id(s) in this tenant: {}", missing.join(", ")),
        ))
    }
}

pub(super) fn trimmed(value: Option<&str>) -> String {
    value.map(str::trim).unwrap_or_default().to_owned()
}

pub(super) fn ids(values: Option<&[String]>) -> Vec<String> {
    values.map(rules::normalize_ids).unwrap_or_default()
}

/// A timestamp strictly after `previous`, so `updated_at` alone identifies a version.
pub(super) fn next_update_ms(previous: i64) -> i64 {
    crate::db::time::now_ms().max(previous + 1)
}
