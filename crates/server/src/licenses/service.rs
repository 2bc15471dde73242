//! License rules: the lease gate (VM registered, active and owned; an active license; the
//! module entitled), lease issue, heartbeat, revoke and verification; admin management of
//! licenses and entitlements.

use super::store::{LeaseFilter, LicenseStore, entitlement, lease, license};
use super::token::{LEASE_ISSUER, LEASE_TYPE, LeaseClaims, LeaseKeys, TokenProblem};
use crate::auth::{AuthService, Principal};
use crate::config::Config;
use crate::db::Db;
use crate::db::time::{now_ms, opt_rfc3339, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use crate::vms::VmService;
use crate::vms::service::{STATUS_ACTIVE, is_operator, normalize_uuid};
use axum::http::StatusCode;
use botmox_contract::ListMeta;
use botmox_contract::error_code::VALIDATION_ERROR;
use botmox_contract::licenses::{
    EntitlementListQuery, EntitlementPutRequest, EntitlementRecord, LeaseHeartbeat, LeaseIssued,
    LeaseListQuery, LeaseRecord, LeaseRequest, LeaseRevoked, LicenseCreateRequest,
    LicenseListQuery, LicenseRecord, LicenseUpdateRequest,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub mod code {
    pub const INVALID_BODY: &str = "LICENSE_INVALID_BODY";
    pub const INVALID_ID: &str = "LICENSE_INVALID_ID";
    pub const LICENSE_NOT_FOUND: &str = "LICENSE_NOT_FOUND";
    pub const ENTITLEMENT_NOT_FOUND: &str = "ENTITLEMENT_NOT_FOUND";
    pub const ENTITLEMENT_INVALID_ID: &str = "ENTITLEMENT_INVALID_ID";
    pub const VM_NOT_REGISTERED: &str = "VM_NOT_REGISTERED";
    pub const VM_INACTIVE: &str = "VM_INACTIVE";
    pub const VM_OWNER_MISMATCH: &str = "VM_OWNER_MISMATCH";
    pub const LICENSE_INACTIVE: &str = "LICENSE_INACTIVE";
    pub const ENTITLEMENT_REQUIRED: &str = "ENTITLEMENT_REQUIRED";
    pub const MODULE_NOT_ALLOWED: &str = "MODULE_NOT_ALLOWED";
    pub const LEASE_NOT_FOUND: &str = "LEASE_NOT_FOUND";
    pub const LEASE_EXPIRED: &str = "LEASE_EXPIRED";
    pub const LEASE_INACTIVE: &str = "LEASE_INACTIVE";
    pub const LEASE_OWNER_MISMATCH: &str = "LEASE_OWNER_MISMATCH";
    pub const LEASE_TOKEN_INVALID: &str = "LEASE_TOKEN_INVALID";
    pub const VM_UUID_MISMATCH: &str = "VM_UUID_MISMATCH";
    pub const MODULE_MISMATCH: &str = "MODULE_MISMATCH";
}

const LEASE_KEY_NAME: &str = "license_lease_hs256";
const WILDCARD: &str = "*";

fn forbidden(code: &'static str, msg: &'static str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, msg)
}

fn lease_not_found() -> ApiError {
    ApiError::not_found(code::LEASE_NOT_FOUND, "Lease not found")
}

fn lease_expired() -> ApiError {
    ApiError::conflict(code::LEASE_EXPIRED, "Lease has expired")
}

fn lease_inactive() -> ApiError {
    ApiError::conflict(code::LEASE_INACTIVE, "Lease is no longer active")
}

/// Module names are compared trimmed and lower-cased.
pub fn normalize_module(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Whether a license satisfies the gate now.
fn license_active(l: &license::Model, now: i64) -> bool {
    l.status == "active"
        && match l.license_type.as_str() {
            "perpetual" => true,
            _ => l.expires_at.is_some_and(|e| e > now),
        }
}

/// What a verified lease allows: used by artifact downloads.
#[derive(Debug, Clone)]
pub struct VerifiedLease {
    pub lease_id: String,
    pub user_id: String,
    pub vm_uuid: String,
    pub module: String,
}

/// A lease problem found while verifying a token, with what was known at that point (so the
/// caller can audit it).
#[derive(Debug)]
pub struct LeaseRejection {
    pub error: ApiError,
    pub lease_id: Option<String>,
    pub user_id: Option<String>,
}

pub struct LicenseService {
    store: LicenseStore,
    vms: VmService,
    keys: LeaseKeys,
    ttl: Duration,
}

impl LicenseService {
    pub async fn new(db: Db, config: &Config, auth: &AuthService) -> anyhow::Result<Arc<Self>> {
        let secret = match &config.licenses.lease_secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => auth
                .server_key(LEASE_KEY_NAME, || crate::auth::token::generate_opaque(""))
                .await?
                .into_bytes(),
        };
        Ok(Arc::new(Self {
            store: LicenseStore::new(db.clone()),
            vms: VmService::new(db),
            keys: LeaseKeys::new(&secret),
            ttl: config.licenses.lease_ttl,
        }))
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    // ---- the gate ----

    /// Checks, in order: the VM is registered, active and `user_id`'s; an active license
    /// covers the user; the user is entitled to the module. Returns the license used.
    pub async fn gate(
        &self,
        tenant: &str,
        user_id: &str,
        vm_uuid: &str,
        module: &str,
        now: i64,
    ) -> ApiResult<String> {
        let vm =
            self.vms.lookup(tenant, vm_uuid).await?.ok_or_else(|| {
                ApiError::not_found(code::VM_NOT_REGISTERED, "VM is not registered")
            })?;
        if vm.status != STATUS_ACTIVE {
            return Err(forbidden(code::VM_INACTIVE, "VM is not active"));
        }
        if vm.user_id != user_id {
            return Err(forbidden(
                code::VM_OWNER_MISMATCH,
                "VM belongs to another user",
            ));
        }
        let mut covering: Vec<license::Model> = self
            .store
            .licenses_covering(tenant, user_id)
            .await?
            .into_iter()
            .filter(|l| license_active(l, now))
            .collect();
        // The user's own license before a tenant-wide one; perpetual before the longest
        // subscription.
        covering.sort_by_key(|l| {
            (
                l.user_id.is_none(),
                l.license_type != "perpetual",
                std::cmp::Reverse(l.expires_at.unwrap_or(i64::MAX)),
            )
        });
        let Some(license) = covering.into_iter().next() else {
            return Err(forbidden(
                code::LICENSE_INACTIVE,
                "Active subscription or perpetual license is required",
            ));
        };
        let Some(ent) = self.store.entitlement(tenant, user_id).await? else {
            return Err(forbidden(
                code::ENTITLEMENT_REQUIRED,
                "The user has no module entitlements",
            ));
        };
        let modules: Vec<String> = serde_json::from_str(&ent.modules).unwrap_or_default();
        if !modules.iter().any(|m| m == WILDCARD || m == module) {
            return Err(forbidden(
                code::MODULE_NOT_ALLOWED,
                "The user is not entitled to this module",
            ));
        }
        Ok(license.id)
    }

    // ---- leases ----

    fn sign(&self, row: &lease::Model) -> ApiResult<String> {
        Ok(self.keys.sign(&LeaseClaims {
            iss: LEASE_ISSUER.to_owned(),
            sub: row.runner_id.clone(),
            jti: row.id.clone(),
            typ: LEASE_TYPE.to_owned(),
            iat: now_ms() / 1000,
            // Floor, so the token never outlives the row.
            exp: row.expires_at / 1000,
            tenant_id: row.tenant_id.clone(),
            user_id: row.user_id.clone(),
            vm_uuid: row.vm_uuid.clone(),
            agent_id: row.agent_id.clone(),
            module: row.module.clone(),
            version: row.version.clone(),
            license_id: row.license_id.clone(),
        })?)
    }

    pub async fn issue(&self, p: &Principal, req: &LeaseRequest) -> ApiResult<LeaseIssued> {
        let user_id = match req.user_id.as_deref().map(str::trim) {
            Some(u) if u != p.uid => {
                if !is_operator(p) {
                    return Err(ApiError::forbidden("user_id override is not allowed"));
                }
                u.to_owned()
            }
            _ => p.uid.clone(),
        };
        let vm_uuid = normalize_uuid(&req.vm_uuid);
        let module = normalize_module(&req.module);
        let now = now_ms();
        let license_id = self
            .gate(&p.tenant_id, &user_id, &vm_uuid, &module, now)
            .await?;
        let row = lease::Model {
            id: Uuid::now_v7().to_string(),
            tenant_id: p.tenant_id.clone(),
            user_id,
            vm_uuid,
            module,
            version: req
                .version
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            agent_id: req.agent_id.trim().to_owned(),
            runner_id: req.runner_id.trim().to_owned(),
            license_id,
            status: "active".to_owned(),
            created_at: now,
            updated_at: now,
            expires_at: now + self.ttl.as_millis() as i64,
            last_heartbeat_at: None,
            revoked_at: None,
            revoked_by: None,
            revoke_reason: None,
        };
        let token = self.sign(&row)?;
        self.store.insert_lease(row.clone()).await?;
        Ok(LeaseIssued {
            lease_id: row.id,
            token,
            expires_at: to_rfc3339(row.expires_at),
            ttl_seconds: self.ttl.as_secs(),
            tenant_id: row.tenant_id,
            user_id: row.user_id,
            vm_uuid: row.vm_uuid,
            module: row.module,
            license_id: row.license_id,
        })
    }

    /// The lease, if the caller may act on it: its user or an operator.
    async fn owned_lease(&self, p: &Principal, id: &str) -> ApiResult<lease::Model> {
        let row = self
            .store
            .lease(&p.tenant_id, id.trim())
            .await?
            .ok_or_else(lease_not_found)?;
        if row.user_id != p.uid && !is_operator(p) {
            return Err(forbidden(
                code::LEASE_OWNER_MISMATCH,
                "Lease belongs to another user",
            ));
        }
        Ok(row)
    }

    /// Rejects a revoked or expired lease, recording expiry on the row.
    async fn ensure_live(&self, row: &lease::Model, now: i64) -> ApiResult<()> {
        match row.status.as_str() {
            "revoked" => Err(lease_inactive()),
            "expired" => Err(lease_expired()),
            _ if row.expires_at <= now => {
                self.store
                    .mark_expired(&row.tenant_id, &row.id, now)
                    .await?;
                Err(lease_expired())
            }
            _ => Ok(()),
        }
    }

    /// Extends a live lease by the TTL and hands out a token with the new expiry. The gate is
    /// checked again: a paused VM or a lapsed license stops the extension.
    pub async fn heartbeat(&self, p: &Principal, lease_id: &str) -> ApiResult<LeaseHeartbeat> {
        let row = self.owned_lease(p, lease_id).await?;
        let now = now_ms();
        self.ensure_live(&row, now).await?;
        self.gate(&row.tenant_id, &row.user_id, &row.vm_uuid, &row.module, now)
            .await?;
        let expires_at = now + self.ttl.as_millis() as i64;
        if !self
            .store
            .extend_lease(&row.tenant_id, &row.id, now, expires_at)
            .await?
        {
            // Revoked or expired meanwhile.
            let cur = self
                .store
                .lease(&row.tenant_id, &row.id)
                .await?
                .ok_or_else(lease_not_found)?;
            self.ensure_live(&cur, now).await?;
            return Err(lease_inactive());
        }
        let row = lease::Model {
            expires_at,
            last_heartbeat_at: Some(now),
            updated_at: now,
            ..row
        };
        Ok(LeaseHeartbeat {
            token: self.sign(&row)?,
            lease_id: row.id,
            status: "active".to_owned(),
            expires_at: to_rfc3339(expires_at),
            last_heartbeat_at: to_rfc3339(now),
        })
    }

    /// Revokes a lease; revoking a revoked lease changes nothing and answers the same.
    pub async fn revoke(
        &self,
        p: &Principal,
        lease_id: &str,
        reason: Option<&str>,
    ) -> ApiResult<LeaseRevoked> {
        let row = self.owned_lease(p, lease_id).await?;
        let now = now_ms();
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if row.status != "revoked" {
            self.store
                .revoke_lease(&row.tenant_id, &row.id, now, &p.uid, reason)
                .await?;
        }
        let cur = self
            .store
            .lease(&row.tenant_id, &row.id)
            .await?
            .ok_or_else(lease_not_found)?;
        Ok(LeaseRevoked {
            lease_id: cur.id,
            status: cur.status,
            revoked_at: to_rfc3339(cur.revoked_at.unwrap_or(now)),
        })
    }

    pub async fn list_leases(
        &self,
        p: &Principal,
        q: &LeaseListQuery,
    ) -> ApiResult<(Vec<LeaseRecord>, ListMeta)> {
        let page = PageRequest::from_query(&q.page())?;
        let now = now_ms();
        let mut filter = LeaseFilter {
            user_id: q
                .user_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            vm_uuid: q
                .vm_uuid
                .as_deref()
                .map(normalize_uuid)
                .filter(|s| !s.is_empty()),
            status: q.status.as_deref().map(|s| s.trim().to_lowercase()),
        };
        if !is_operator(p) {
            if filter.user_id.as_deref().is_some_and(|u| u != p.uid) {
                return Ok((
                    Vec::new(),
                    ListMeta {
                        limit: Some(page.limit),
                        ..ListMeta::default()
                    },
                ));
            }
            filter.user_id = Some(p.uid.clone());
        }
        let rows = self
            .store
            .leases(
                &p.tenant_id,
                &filter,
                now,
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
                page.fetch(),
            )
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.created_at),
            id: r.id.clone(),
        });
        Ok((
            rows.into_iter().map(|r| lease_record(r, now)).collect(),
            meta,
        ))
    }

    /// Verifies a lease token for a download: signature and expiry, the row (same tenant,
    /// active, unexpired), the caller (the lease's user or an operator), the VM and module
    /// it was issued for, and the gate again (VM still active and owned, license and
    /// entitlement still valid).
    pub async fn verify_for_download(
        &self,
        p: &Principal,
        token: &str,
        vm_uuid: &str,
        module: &str,
    ) -> Result<VerifiedLease, LeaseRejection> {
        let reject = |error: ApiError, claims: Option<&LeaseClaims>| LeaseRejection {
            error,
            lease_id: claims.map(|c| c.jti.clone()),
            user_id: claims.map(|c| c.user_id.clone()),
        };
        let claims = match self.keys.verify(token) {
            Ok(c) => c,
            Err(TokenProblem::Expired) => return Err(reject(lease_expired(), None)),
            Err(TokenProblem::Invalid) => {
                return Err(reject(
                    ApiError::unauthorized(code::LEASE_TOKEN_INVALID, "Lease token is invalid"),
                    None,
                ));
            }
        };
        if claims.tenant_id != p.tenant_id {
            return Err(reject(lease_not_found(), None));
        }
        let c = Some(&claims);
        let now = now_ms();
        let row = match self.store.lease(&p.tenant_id, &claims.jti).await {
            Ok(Some(row)) => row,
            Ok(None) => return Err(reject(lease_not_found(), c)),
            Err(e) => return Err(reject(e.into(), c)),
        };
        if let Err(e) = self.ensure_live(&row, now).await {
            return Err(reject(e, c));
        }
        if row.user_id != p.uid && !is_operator(p) {
            return Err(reject(
                forbidden(code::LEASE_OWNER_MISMATCH, "Lease belongs to another user"),
                c,
            ));
        }
        if row.vm_uuid != normalize_uuid(vm_uuid) {
            return Err(reject(
                forbidden(code::VM_UUID_MISMATCH, "Lease was issued for another VM"),
                c,
            ));
        }
        if row.module != normalize_module(module) {
            return Err(reject(
                forbidden(code::MODULE_MISMATCH, "Lease was issued for another module"),
                c,
            ));
        }
        if let Err(e) = self
            .gate(&row.tenant_id, &row.user_id, &row.vm_uuid, &row.module, now)
            .await
        {
            return Err(reject(e, c));
        }
        Ok(VerifiedLease {
            lease_id: row.id,
            user_id: row.user_id,
            vm_uuid: row.vm_uuid,
            module: row.module,
        })
    }

    // ---- licenses (admin) ----

    pub async fn create_license(
        &self,
        p: &Principal,
        req: &LicenseCreateRequest,
    ) -> ApiResult<LicenseRecord> {
        let license_type = req.license_type.trim().to_lowercase();
        let expires_at = req.expires_at.map(|t| t.timestamp_millis());
        check_expiry(&license_type, expires_at)?;
        let now = now_ms();
        let row = license::Model {
            id: Uuid::now_v7().to_string(),
            tenant_id: p.tenant_id.clone(),
            user_id: req.user_id.as_deref().map(str::trim).map(str::to_owned),
            license_type,
            status: req
                .status
                .as_deref()
                .map(|s| s.trim().to_lowercase())
                .unwrap_or_else(|| "active".to_owned()),
            expires_at,
            metadata: req
                .metadata
                .as_ref()
                .map(|m| serde_json::Value::Object(m.clone()).to_string())
                .unwrap_or_else(|| "{}".to_owned()),
            created_by: p.uid.clone(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_license(row.clone()).await?;
        Ok(license_record(row, now))
    }

    async fn license_or_404(&self, p: &Principal, id: &str) -> ApiResult<license::Model> {
        self.store
            .license(&p.tenant_id, id)
            .await?
            .ok_or_else(|| ApiError::not_found(code::LICENSE_NOT_FOUND, "License not found"))
    }

    pub async fn get_license(&self, p: &Principal, id: &str) -> ApiResult<LicenseRecord> {
        Ok(license_record(self.license_or_404(p, id).await?, now_ms()))
    }

    pub async fn update_license(
        &self,
        p: &Principal,
        id: &str,
        req: &LicenseUpdateRequest,
    ) -> ApiResult<LicenseRecord> {
        let cur = self.license_or_404(p, id).await?;
        let license_type = req
            .license_type
            .as_deref()
            .map(|t| t.trim().to_lowercase())
            .unwrap_or(cur.license_type.clone());
        let expires_at = match req.expires_at {
            Some(v) => v.map(|t| t.timestamp_millis()),
            None => cur.expires_at,
        };
        check_expiry(&license_type, expires_at)?;
        let now = now_ms();
        let row = license::Model {
            license_type,
            status: req
                .status
                .as_deref()
                .map(|s| s.trim().to_lowercase())
                .unwrap_or(cur.status.clone()),
            expires_at,
            metadata: req
                .metadata
                .as_ref()
                .map(|m| serde_json::Value::Object(m.clone()).to_string())
                .unwrap_or(cur.metadata.clone()),
            updated_at: now,
            ..cur
        };
        self.store.update_license(row.clone()).await?;
        Ok(license_record(row, now))
    }

    pub async fn delete_license(&self, p: &Principal, id: &str) -> ApiResult<()> {
        if !self.store.delete_license(&p.tenant_id, id).await? {
            return Err(ApiError::not_found(
                code::LICENSE_NOT_FOUND,
                "License not found",
            ));
        }
        Ok(())
    }

    pub async fn list_licenses(
        &self,
        p: &Principal,
        q: &LicenseListQuery,
    ) -> ApiResult<(Vec<LicenseRecord>, ListMeta)> {
        let page = PageRequest::from_query(&q.page())?;
        let user = q
            .user_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let status = q.status.as_deref().map(|s| s.trim().to_lowercase());
        let rows = self
            .store
            .licenses(
                &p.tenant_id,
                user,
                status.as_deref(),
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
                page.fetch(),
            )
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.created_at),
            id: r.id.clone(),
        });
        let now = now_ms();
        Ok((
            rows.into_iter().map(|r| license_record(r, now)).collect(),
            meta,
        ))
    }

    // ---- entitlements (admin) ----

    pub async fn put_entitlement(
        &self,
        p: &Principal,
        user_id: &str,
        req: &EntitlementPutRequest,
    ) -> ApiResult<EntitlementRecord> {
        let mut modules: Vec<String> = req.modules.iter().map(|m| normalize_module(m)).collect();
        modules.sort();
        modules.dedup();
        let row = entitlement::Model {
            tenant_id: p.tenant_id.clone(),
            user_id: user_id.to_owned(),
            modules: serde_json::to_string(&modules).map_err(anyhow::Error::from)?,
            updated_by: p.uid.clone(),
            updated_at: now_ms(),
        };
        self.store.put_entitlement(row.clone()).await?;
        Ok(entitlement_record(row))
    }

    pub async fn get_entitlement(
        &self,
        p: &Principal,
        user_id: &str,
    ) -> ApiResult<EntitlementRecord> {
        self.store
            .entitlement(&p.tenant_id, user_id)
            .await?
            .map(entitlement_record)
            .ok_or_else(|| {
                ApiError::not_found(code::ENTITLEMENT_NOT_FOUND, "The user has no entitlements")
            })
    }

    pub async fn delete_entitlement(&self, p: &Principal, user_id: &str) -> ApiResult<()> {
        if !self.store.delete_entitlement(&p.tenant_id, user_id).await? {
            return Err(ApiError::not_found(
                code::ENTITLEMENT_NOT_FOUND,
                "The user has no entitlements",
            ));
        }
        Ok(())
    }

    pub async fn list_entitlements(
        &self,
        p: &Principal,
        q: &EntitlementListQuery,
    ) -> ApiResult<(Vec<EntitlementRecord>, ListMeta)> {
        let page = PageRequest::from_query(&q.page())?;
        let rows = self
            .store
            .entitlements(
                &p.tenant_id,
                page.after.as_ref().map(|c| c.id.as_str()),
                page.fetch(),
            )
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(null),
            id: r.user_id.clone(),
        });
        Ok((rows.into_iter().map(entitlement_record).collect(), meta))
    }
}

/// Subscriptions need an expiry; perpetual licenses have none.
fn check_expiry(license_type: &str, expires_at: Option<i64>) -> ApiResult<()> {
    let problem = match (license_type, expires_at) {
        ("subscription", None) => "a subscription needs expires_at",
        ("perpetual", Some(_)) => "a perpetual license has no expires_at",
        _ => return Ok(()),
    };
    Err(
        ApiError::bad_request(code::INVALID_BODY, "Request validation failed")
            .with_details(json!({ "fields": { "expires_at": [problem] } })),
    )
}

fn license_record(row: license::Model, now: i64) -> LicenseRecord {
    LicenseRecord {
        active: license_active(&row, now),
        metadata: serde_json::from_str(&row.metadata).unwrap_or_else(|_| json!({})),
        id: row.id,
        tenant_id: row.tenant_id,
        user_id: row.user_id,
        license_type: row.license_type,
        status: row.status,
        expires_at: opt_rfc3339(row.expires_at),
        created_by: row.created_by,
        created_at: to_rfc3339(row.created_at),
        updated_at: to_rfc3339(row.updated_at),
    }
}

fn entitlement_record(row: entitlement::Model) -> EntitlementRecord {
    EntitlementRecord {
        modules: serde_json::from_str(&row.modules).unwrap_or_default(),
        tenant_id: row.tenant_id,
        user_id: row.user_id,
        updated_by: row.updated_by,
        updated_at: to_rfc3339(row.updated_at),
    }
}

fn lease_record(row: lease::Model, now: i64) -> LeaseRecord {
    let status = if row.status == "active" && row.expires_at <= now {
        "expired".to_owned()
    } else {
        row.status
    };
    LeaseRecord {
        lease_id: row.id,
        tenant_id: row.tenant_id,
        user_id: row.user_id,
        vm_uuid: row.vm_uuid,
        module: row.module,
        version: row.version,
        agent_id: row.agent_id,
        runner_id: row.runner_id,
        license_id: row.license_id,
        status,
        created_at: to_rfc3339(row.created_at),
        expires_at: to_rfc3339(row.expires_at),
        last_heartbeat_at: opt_rfc3339(row.last_heartbeat_at),
        revoked_at: opt_rfc3339(row.revoked_at),
        revoked_by: row.revoked_by,
        revoke_reason: row.revoke_reason,
    }
}
