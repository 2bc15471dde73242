//! Playbook rules: tenant-scoped CRUD, unique names, one default per tenant, and content
//! that must pass the checker before it is stored.

use super::store::{PlaybookStore, is_name_conflict, playbook};
use super::validate;
use crate::auth::Principal;
use crate::db::Db;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use axum::http::StatusCode;
use botmox_contract::ListMeta;
use botmox_contract::error_code::VALIDATION_ERROR;
use botmox_contract::playbooks::{
    Playbook, PlaybookCreateRequest, PlaybookUpdateRequest, PlaybookValidation,
};
use rand::Rng;
use serde_json::json;

pub const NOT_FOUND: &str = "PLAYBOOK_NOT_FOUND";

pub struct PlaybookService {
    store: PlaybookStore,
}

fn to_wire(row: playbook::Model) -> Playbook {
    Playbook {
        id: row.id,
        name: row.name,
        is_default: row.is_default,
        content: row.content,
        created_by: row.created_by,
        created_at: to_rfc3339(row.created_at),
        updated_at: to_rfc3339(row.updated_at),
    }
}

/// Ids keep the original form `playbook-<base36 ms>-<6 random base36>`.
fn new_id(now: i64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = u64::try_from(now).unwrap_or_default();
    let mut time = Vec::new();
    while n > 0 {
        time.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    time.reverse();
    let mut rng = rand::rng();
    let tail: String = (0..6)
        .map(|_| DIGITS[rng.random_range(0..36)] as char)
        .collect();
    format!("playbook-{}-{tail}", String::from_utf8_lossy(&time))
}

/// Ids are short tokens of letters, digits, `-` and `_`.
pub fn check_id(id: &str) -> ApiResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "PLAYBOOK_INVALID_ID",
            "Playbook id must be 1–128 letters, digits, '-' or '_'",
        ))
    }
}

fn rejected(report: PlaybookValidation) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_PLAYBOOK",
        "Playbook YAML validation failed",
    )
    .with_details(json!({ "errors": report.errors, "warnings": report.warnings }))
}

fn name_taken(name: &str) -> ApiError {
    ApiError::conflict(
        "PLAYBOOK_NAME_CONFLICT",
        format!("A playbook named {name:?} already exists"),
    )
}

fn check_content(content: &str) -> ApiResult<()> {
    let report = validate::validate(content);
    if report.valid {
        Ok(())
    } else {
        Err(rejected(report))
    }
}

impl PlaybookService {
    pub fn new(db: Db) -> Self {
        Self {
            store: PlaybookStore::new(db),
        }
    }

    pub fn validate(&self, content: &str) -> PlaybookValidation {
        validate::validate(content)
    }

    pub async fn list(
        &self,
        principal: &Principal,
        page: &PageRequest,
    ) -> ApiResult<(Vec<Playbook>, ListMeta)> {
        let rows = self
            .store
            .list(
                &principal.tenant_id,
                page,
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
            )
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.updated_at),
            id: r.id.clone(),
        });
        Ok((rows.into_iter().map(to_wire).collect(), meta))
    }

    async fn find(&self, principal: &Principal, id: &str) -> ApiResult<playbook::Model> {
        check_id(id)?;
        self.store
            .get(&principal.tenant_id, id)
            .await?
            .ok_or_else(|| ApiError::not_found(NOT_FOUND, "Playbook not found"))
    }

    pub async fn get(&self, principal: &Principal, id: &str) -> ApiResult<Playbook> {
        Ok(to_wire(self.find(principal, id).await?))
    }

    pub async fn create(
        &self,
        principal: &Principal,
        req: PlaybookCreateRequest,
    ) -> ApiResult<Playbook> {
        check_content(&req.content)?;
        let now = now_ms();
        let row = playbook::Model {
            id: new_id(now),
            tenant_id: principal.tenant_id.clone(),
            created_by: principal.uid.clone(),
            name: req.name.trim().to_owned(),
            is_default: req.is_default.unwrap_or(false),
            content: req.content,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert(row.clone()).await {
            Ok(()) => Ok(to_wire(row)),
            Err(err) if is_name_conflict(&err) => Err(name_taken(&row.name)),
            Err(err) => Err(err.into()),
        }
    }

    /// Changes the given fields; `is_default: false` unsets the flag (the original could not).
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        req: PlaybookUpdateRequest,
    ) -> ApiResult<Playbook> {
        if req.is_empty() {
            return Err(ApiError::bad_request(
                "PLAYBOOK_INVALID_UPDATE_BODY",
                "Payload must contain at least one field",
            ));
        }
        let mut row = self.find(principal, id).await?;
        if let Some(content) = req.content {
            check_content(&content)?;
            row.content = content;
        }
        if let Some(name) = req.name {
            row.name = name.trim().to_owned();
        }
        if let Some(flag) = req.is_default {
            row.is_default = flag;
        }
        // Strictly increasing, so the list order always reflects the latest change.
        row.updated_at = now_ms().max(row.updated_at + 1);
        match self.store.update(row.clone()).await {
            Ok(()) => Ok(to_wire(row)),
            Err(err) if is_name_conflict(&err) => Err(name_taken(&row.name)),
            Err(err) => Err(err.into()),
        }
    }

    pub async fn delete(&self, principal: &Principal, id: &str) -> ApiResult<()> {
        check_id(id)?;
        if self.store.delete(&principal.tenant_id, id).await? {
            Ok(())
        } else {
            Err(ApiError::not_found(NOT_FOUND, "Playbook not found"))
        }
    }

    /// The playbook provisioning uses: the one asked for, else the tenant's default.
    pub async fn for_provisioning(
        &self,
        tenant: &str,
        id: Option<&str>,
    ) -> ApiResult<Option<Playbook>> {
        let row = match id {
            Some(id) => self.store.get(tenant, id).await?,
            None => self.store.default_for(tenant).await?,
        };
        Ok(row.map(to_wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_the_original_form() {
        let id = new_id(1_700_000_000_000);
        assert!(id.starts_with("playbook-"), "{id}");
        assert_eq!(id.split('-').count(), 3);
        assert!(check_id(&id).is_ok());
        assert!(check_id("bad id").is_err());
        assert!(check_id("").is_err());
    }
}
