//! VM registry rules: owners, who may override them, and status changes.

use super::store::{VmFilter, VmStore, vm};
use crate::auth::Principal;
use crate::auth::principal::{ROLE_ADMIN, ROLE_API, ROLE_INFRA};
use crate::db::Db;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use axum::http::StatusCode;
use botmox_contract::ListMeta;
use botmox_contract::error_code::VALIDATION_ERROR;
use botmox_contract::vms::{VmListQuery, VmRecord, VmRegisterRequest};

pub const VM_UUID_NOT_FOUND: &str = "VM_UUID_NOT_FOUND";
pub const VM_OWNER_MISMATCH: &str = "VM_OWNER_MISMATCH";
pub const STATUS_REVOKED: &str = "revoked";
pub const STATUS_ACTIVE: &str = "active";

/// Fleet operators manage every VM of their tenant; other callers only their own.
pub fn is_operator(p: &Principal) -> bool {
    p.has_any_role(&[ROLE_ADMIN, ROLE_INFRA, ROLE_API])
}

/// VM ids are compared lower-cased everywhere.
pub fn normalize_uuid(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// A path `uuid`: non-empty, at most 128 characters of the `vm_uuid` alphabet.
pub fn valid_path_uuid(raw: &str) -> Option<String> {
    let v = raw.trim();
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'));
    ok.then(|| normalize_uuid(v))
}

#[derive(Clone, Debug)]
pub struct VmService {
    store: VmStore,
}

fn record(row: vm::Model) -> VmRecord {
    VmRecord {
        metadata: serde_json::from_str(&row.metadata).unwrap_or_else(|_| serde_json::json!({})),
        tenant_id: row.tenant_id,
        vm_uuid: row.vm_uuid,
        user_id: row.user_id,
        vm_name: row.vm_name,
        project_id: row.project_id,
        status: row.status,
        created_at: to_rfc3339(row.created_at),
        updated_at: to_rfc3339(row.updated_at),
    }
}

fn not_found() -> ApiError {
    ApiError::not_found(VM_UUID_NOT_FOUND, "VM is not registered")
}

impl VmService {
    pub fn new(db: Db) -> Self {
        Self {
            store: VmStore::new(db),
        }
    }

    /// Registers a VM or updates its registration. Returns the record and whether it was
    /// new. Fields left out of an update keep their values.
    pub async fn register(
        &self,
        p: &Principal,
        req: &VmRegisterRequest,
    ) -> ApiResult<(VmRecord, bool)> {
        let operator = is_operator(p);
        let owner = match req.user_id.as_deref().map(str::trim) {
            Some(u) if u != p.uid => {
                if !operator {
                    return Err(ApiError::forbidden("user_id override is not allowed"));
                }
                u.to_owned()
            }
            _ => p.uid.clone(),
        };
        let vm_uuid = normalize_uuid(&req.vm_uuid);
        let status = req.status.as_deref().map(|s| s.trim().to_lowercase());
        let existing = self.store.find(&p.tenant_id, &vm_uuid).await?;
        if let Some(cur) = &existing
            && !operator
        {
            if cur.user_id != p.uid {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    VM_OWNER_MISMATCH,
                    "VM is registered to another user",
                ));
            }
            if cur.status == STATUS_REVOKED
                && status.as_deref().is_some_and(|s| s != STATUS_REVOKED)
            {
                return Err(ApiError::forbidden(
                    "Only an operator can reactivate a revoked VM",
                ));
            }
        }
        let now = now_ms();
        let metadata = req
            .metadata
            .as_ref()
            .map(|m| serde_json::Value::Object(m.clone()).to_string());
        let row = match existing.clone() {
            Some(cur) => vm::Model {
                user_id: owner,
                vm_name: req
                    .vm_name
                    .as_deref()
                    .map(|s| s.trim().to_owned())
                    .unwrap_or(cur.vm_name),
                project_id: req
                    .project_id
                    .as_deref()
                    .map(|s| s.trim().to_owned())
                    .unwrap_or(cur.project_id),
                status: status.unwrap_or(cur.status),
                metadata: metadata.unwrap_or(cur.metadata),
                updated_at: now,
                ..cur
            },
            None => vm::Model {
                tenant_id: p.tenant_id.clone(),
                vm_uuid,
                user_id: owner,
                vm_name: req.vm_name.as_deref().unwrap_or_default().trim().to_owned(),
                project_id: req
                    .project_id
                    .as_deref()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                status: status.unwrap_or_else(|| STATUS_ACTIVE.to_owned()),
                metadata: metadata.unwrap_or_else(|| "{}".to_owned()),
                created_at: now,
                updated_at: now,
            },
        };
        self.store.upsert(row.clone()).await?;
        Ok((record(row), existing.is_none()))
    }

    /// A VM the caller may see: operators see every VM of the tenant, others their own.
    pub async fn resolve(&self, p: &Principal, vm_uuid: &str) -> ApiResult<VmRecord> {
        let row = self
            .store
            .find(&p.tenant_id, &normalize_uuid(vm_uuid))
            .await?
            .ok_or_else(not_found)?;
        if !is_operator(p) && row.user_id != p.uid {
            return Err(not_found());
        }
        Ok(record(row))
    }

    pub async fn list(
        &self,
        p: &Principal,
        q: &VmListQuery,
    ) -> ApiResult<(Vec<VmRecord>, ListMeta)> {
        let page = PageRequest::from_query(&q.page())?;
        let filter = VmFilter {
            owner: (!is_operator(p)).then(|| p.uid.clone()),
            user_id: q
                .user_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            status: q.status.as_deref().map(|s| s.trim().to_lowercase()),
            project_id: q
                .project_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        };
        let rows = self
            .store
            .list(
                &p.tenant_id,
                &filter,
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
                page.fetch(),
            )
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: serde_json::json!(r.created_at),
            id: r.vm_uuid.clone(),
        });
        Ok((rows.into_iter().map(record).collect(), meta))
    }

    /// Owners may pause and resume their VMs; only operators lift a revocation.
    pub async fn set_status(
        &self,
        p: &Principal,
        vm_uuid: &str,
        status: &str,
    ) -> ApiResult<VmRecord> {
        let cur = self.resolve(p, vm_uuid).await?;
        let status = status.trim().to_lowercase();
        if cur.status == STATUS_REVOKED && status != STATUS_REVOKED && !is_operator(p) {
            return Err(ApiError::forbidden(
                "Only an operator can reactivate a revoked VM",
            ));
        }
        let now = now_ms();
        if !self
            .store
            .set_status(&p.tenant_id, &cur.vm_uuid, &status, now)
            .await?
        {
            return Err(not_found());
        }
        Ok(VmRecord {
            status,
            updated_at: to_rfc3339(now),
            ..cur
        })
    }

    /// The registration of a VM, for other domains' checks (no visibility rules).
    pub async fn lookup(&self, tenant: &str, vm_uuid: &str) -> ApiResult<Option<VmRecord>> {
        Ok(self
            .store
            .find(tenant, &normalize_uuid(vm_uuid))
            .await?
            .map(record))
    }
}
