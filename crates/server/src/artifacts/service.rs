//! Artifact rules: releases (unique per scope and version), streamed and verified uploads,
//! assignments, lease-gated download resolution with an audit row for every attempt, and
//! the server's own signed download URLs.

use super::signed_url::{Grant, Refusal, UrlSigner};
use super::store::{ArtifactStore, AuditFilter, ReleaseFilter, assignment, audit, release};
use crate::auth::{AuthService, Principal};
use crate::config::Config;
use crate::db::Db;
use crate::db::time::{now_ms, opt_rfc3339, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::licenses::LicenseService;
use crate::licenses::service::normalize_module;
use crate::objects::{ObjectStream, Objects};
use crate::pagination::{Cursor, PageRequest};
use crate::vms::service::normalize_uuid;
use axum::http::StatusCode;
use botmox_contract::ListMeta;
use botmox_contract::artifacts::{
    AssignRequest, AssignmentListQuery, AssignmentRecord, AuditListQuery, DEFAULT_CHANNEL,
    DownloadAuditRecord, EffectiveAssignment, ReleaseCreateRequest, ReleaseListQuery,
    ReleaseRecord, ResolveDownloadRequest, ResolveDownloadResponse,
};
use botmox_contract::error_code::VALIDATION_ERROR;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub mod code {
    pub const RELEASE_NOT_FOUND: &str = "ARTIFACT_RELEASE_NOT_FOUND";
    pub const RELEASE_EXISTS: &str = "ARTIFACT_RELEASE_EXISTS";
    pub const RELEASE_INACTIVE: &str = "ARTIFACT_RELEASE_INACTIVE";
    pub const SCOPE_MISMATCH: &str = "ARTIFACT_SCOPE_MISMATCH";
    pub const RESOLUTION_NOT_FOUND: &str = "ARTIFACT_RESOLUTION_NOT_FOUND";
    pub const ASSIGNMENT_NOT_FOUND: &str = "ARTIFACT_ASSIGNMENT_NOT_FOUND";
    pub const BINARY_EXISTS: &str = "ARTIFACT_BINARY_EXISTS";
    pub const BINARY_MISSING: &str = "ARTIFACT_BINARY_MISSING";
    pub const SIZE_MISMATCH: &str = "ARTIFACT_SIZE_MISMATCH";
    pub const CHECKSUM_MISMATCH: &str = "ARTIFACT_CHECKSUM_MISMATCH";
    pub const TOO_LARGE: &str = "ARTIFACT_TOO_LARGE";
    pub const UPLOAD_INTERRUPTED: &str = "ARTIFACT_UPLOAD_INTERRUPTED";
    pub const DOWNLOAD_SIGNATURE_INVALID: &str = "ARTIFACT_DOWNLOAD_SIGNATURE_INVALID";
    pub const DOWNLOAD_EXPIRED: &str = "ARTIFACT_DOWNLOAD_EXPIRED";
    pub const INVALID_ID: &str = "ARTIFACT_INVALID_ID";
}

const URL_KEY_NAME: &str = "artifact_download_hs256";
pub const DEFAULT_USER_KEY: &str = "__default__";
/// Parts of an upload in flight at once (each up to 5 MiB).
const UPLOAD_CONCURRENCY: usize = 2;

fn release_not_found() -> ApiError {
    ApiError::not_found(code::RELEASE_NOT_FOUND, "Artifact release not found")
}

fn unprocessable(code: &'static str, msg: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg)
}

/// Lower-cased user id, or the tenant-default key.
pub fn user_key(user_id: Option<&str>) -> String {
    match user_id.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => u.to_lowercase(),
        None => DEFAULT_USER_KEY.to_owned(),
    }
}

fn norm(v: &str) -> String {
    v.trim().to_lowercase()
}

/// Who asked, from where: the context every audit row records.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    pub principal: &'a Principal,
    pub ip: String,
    /// Base of this server's own download URLs, e.g. `https://botmox.example.com`.
    pub base_url: String,
}

pub struct ArtifactService {
    store: ArtifactStore,
    objects: Objects,
    licenses: Arc<LicenseService>,
    signer: UrlSigner,
    url_ttl: Duration,
    max_bytes: i64,
}

impl ArtifactService {
    pub async fn new(
        db: Db,
        config: &Config,
        auth: &AuthService,
        objects: &Objects,
        licenses: &Arc<LicenseService>,
    ) -> anyhow::Result<Arc<Self>> {
        let key = auth
            .server_key(URL_KEY_NAME, || crate::auth::token::generate_opaque(""))
            .await?;
        Ok(Arc::new(Self {
            store: ArtifactStore::new(db),
            objects: objects.clone(),
            licenses: licenses.clone(),
            signer: UrlSigner::new(key.as_bytes())?,
            url_ttl: config.artifacts.url_ttl,
            max_bytes: config.artifacts.max_bytes,
        }))
    }

    // ---- releases ----

    pub async fn create_release(
        &self,
        p: &Principal,
        req: &ReleaseCreateRequest,
    ) -> ApiResult<ReleaseRecord> {
        if req.size_bytes > self.max_bytes {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::TOO_LARGE,
                "size_bytes exceeds the largest accepted artifact",
            )
            .with_details(json!({ "max_bytes": self.max_bytes })));
        }
        let module = normalize_module(&req.module);
        let platform = norm(&req.platform);
        let channel = req
            .channel
            .as_deref()
            .map(norm)
            .unwrap_or_else(|| DEFAULT_CHANNEL.to_owned());
        let version = req.version.trim().to_owned();
        let duplicate = || {
            ApiError::conflict(
                code::RELEASE_EXISTS,
                "A release of this module, platform, channel and version already exists",
            )
        };
        if self
            .store
            .release_by_scope(&p.tenant_id, &module, &platform, &channel, &version)
            .await?
            .is_some()
        {
            return Err(duplicate());
        }
        let now = now_ms();
        let row = release::Model {
            id: Uuid::now_v7().to_string(),
            tenant_id: p.tenant_id.clone(),
            file_name: req
                .file_name
                .as_deref()
                .map(|f| f.trim().to_owned())
                .unwrap_or_else(|| format!("{module}-{version}.bin")),
            module,
            platform,
            channel,
            version,
            object_key: None,
            sha256: norm(&req.sha256),
            size_bytes: req.size_bytes,
            status: req
                .status
                .as_deref()
                .map(norm)
                .unwrap_or_else(|| "active".to_owned()),
            uploaded_at: None,
            created_by: p.uid.clone(),
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_release(row.clone()).await {
            Ok(()) => Ok(release_record(row)),
            // Lost a race with an identical release.
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                Err(duplicate())
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn release_or_404(&self, p: &Principal, id: &str) -> ApiResult<release::Model> {
        self.store
            .release(&p.tenant_id, id)
            .await?
            .ok_or_else(release_not_found)
    }

    pub async fn get_release(&self, p: &Principal, id: &str) -> ApiResult<ReleaseRecord> {
        Ok(release_record(self.release_or_404(p, id).await?))
    }

    pub async fn set_release_status(
        &self,
        p: &Principal,
        id: &str,
        status: &str,
    ) -> ApiResult<ReleaseRecord> {
        let cur = self.release_or_404(p, id).await?;
        let now = now_ms();
        let status = norm(status);
        self.store
            .set_release_status(&p.tenant_id, &cur.id, &status, now)
            .await?;
        Ok(release_record(release::Model {
            status,
            updated_at: now,
            ..cur
        }))
    }

    pub async fn list_releases(
        &self,
        p: &Principal,
        q: &ReleaseListQuery,
    ) -> ApiResult<(Vec<ReleaseRecord>, ListMeta)> {
        let page = PageRequest::from_query(&q.page())?;
        let present = |v: &Option<String>| v.as_deref().map(norm).filter(|s| !s.is_empty());
        let filter = ReleaseFilter {
            module: present(&q.module),
            platform: present(&q.platform),
            channel: present(&q.channel),
            status: present(&q.status),
        };
        let rows = self
            .store
            .releases(
                &p.tenant_id,
                &filter,
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
                page.fetch(),
            )
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.created_at),
            id: r.id.clone(),
        });
        Ok((rows.into_iter().map(release_record).collect(), meta))
    }

    /// Streams the body into the object store while hashing and counting it; never holds
    /// more than a few upload parts in memory. A body that is longer than declared is cut off
    /// as soon as it passes the declared size. On any mismatch the upload is aborted and the
    /// object deleted; on success the release records where its binary lives.
    pub async fn upload_binary<S, E>(
        &self,
        p: &Principal,
        id: &str,
        content_length: Option<u64>,
        body: S,
    ) -> ApiResult<ReleaseRecord>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let rel = self.release_or_404(p, id).await?;
        if rel.uploaded_at.is_some() {
            return Err(ApiError::conflict(
                code::BINARY_EXISTS,
                "The binary of this release was already uploaded; create a new release",
            ));
        }
        let declared = u64::try_from(rel.size_bytes).unwrap_or(0);
        if let Some(len) = content_length
            && len != declared
        {
            return Err(unprocessable(
                code::SIZE_MISMATCH,
                "Content-Length differs from the declared size_bytes",
            )
            .with_details(json!({ "declared_size": declared, "content_length": len })));
        }
        // A fresh key per attempt: a failed attempt can only ever delete its own object.
        let key = format!("artifacts/{}/{}/{}", rel.id, Uuid::now_v7(), rel.file_name);
        let mut upload = self.objects.upload(&key).await?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut body = body;
        let outcome: ApiResult<()> = loop {
            match body.next().await {
                None => break Ok(()),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, release_id = %rel.id, "artifact upload body failed");
                    break Err(ApiError::bad_request(
                        code::UPLOAD_INTERRUPTED,
                        "The upload body could not be read to the end",
                    ));
                }
                Some(Ok(chunk)) => {
                    size += chunk.len() as u64;
                    if size > declared {
                        break Err(unprocessable(
                            code::SIZE_MISMATCH,
                            "The body is longer than the declared size_bytes",
                        )
                        .with_details(json!({ "declared_size": declared })));
                    }
                    hasher.update(&chunk);
                    if let Err(e) = upload.wait_for_capacity(UPLOAD_CONCURRENCY).await {
                        break Err(anyhow::Error::new(e)
                            .context("uploading artifact part")
                            .into());
                    }
                    upload.put(chunk);
                }
            }
        };
        let outcome = outcome.and_then(|()| {
            if size != declared {
                return Err(unprocessable(
                    code::SIZE_MISMATCH,
                    "The body size differs from the declared size_bytes",
                )
                .with_details(json!({ "declared_size": declared, "received_size": size })));
            }
            let digest = hex::encode(hasher.finalize());
            if digest != rel.sha256 {
                return Err(unprocessable(
                    code::CHECKSUM_MISMATCH,
                    "The body's SHA-256 differs from the declared sha256",
                )
                .with_details(
                    json!({ "declared_sha256": rel.sha256, "received_sha256": digest }),
                ));
            }
            Ok(())
        });
        if let Err(err) = outcome {
            if let Err(e) = upload.abort().await {
                tracing::warn!(error = %e, key = %key, "aborting a failed artifact upload failed");
            }
            if let Err(e) = self.objects.delete_if_exists(&key).await {
                tracing::warn!(error = %format!("{e:#}"), key = %key, "deleting a failed artifact upload failed");
            }
            return Err(err);
        }
        upload
            .finish()
            .await
            .map_err(|e| anyhow::Error::new(e).context("completing artifact upload"))?;
        let now = now_ms();
        if !self
            .store
            .mark_uploaded(&p.tenant_id, &rel.id, &key, now)
            .await?
        {
            // A concurrent upload of the same release finished first.
            let _ = self.objects.delete_if_exists(&key).await;
            return Err(ApiError::conflict(
                code::BINARY_EXISTS,
                "The binary of this release was already uploaded; create a new release",
            ));
        }
        Ok(release_record(release::Model {
            object_key: Some(key),
            uploaded_at: Some(now),
            updated_at: now,
            ..rel
        }))
    }

    // ---- assignments ----

    /// Assigns a release to a user (or as the tenant default); returns it and whether it
    /// was new.
    pub async fn assign(
        &self,
        p: &Principal,
        req: &AssignRequest,
    ) -> ApiResult<(AssignmentRecord, bool)> {
        let rel = self.release_or_404(p, req.release_id.trim()).await?;
        let module = normalize_module(&req.module);
        let platform = norm(&req.platform);
        let channel = req
            .channel
            .as_deref()
            .map(norm)
            .unwrap_or_else(|| DEFAULT_CHANNEL.to_owned());
        if rel.module != module || rel.platform != platform || rel.channel != channel {
            return Err(ApiError::conflict(
                code::SCOPE_MISMATCH,
                "The release belongs to another module, platform or channel",
            )
            .with_details(json!({
                "release": {"module": rel.module, "platform": rel.platform, "channel": rel.channel},
                "requested": {"module": module, "platform": platform, "channel": channel},
            })));
        }
        let user_id = req
            .user_id
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        let key = user_key(user_id.as_deref());
        let existing = self
            .store
            .assignment_for(&p.tenant_id, &module, &platform, &channel, &key)
            .await?;
        let now = now_ms();
        let row = assignment::Model {
            id: existing
                .as_ref()
                .map(|e| e.id.clone())
                .unwrap_or_else(|| Uuid::now_v7().to_string()),
            tenant_id: p.tenant_id.clone(),
            module: module.clone(),
            platform: platform.clone(),
            channel: channel.clone(),
            user_key: key.clone(),
            user_id,
            release_id: rel.id,
            updated_by: p.uid.clone(),
            created_at: existing.as_ref().map(|e| e.created_at).unwrap_or(now),
            updated_at: now,
        };
        self.store.upsert_assignment(row).await?;
        let saved = self
            .store
            .assignment_for(&p.tenant_id, &module, &platform, &channel, &key)
            .await?
            .ok_or_else(|| anyhow::anyhow!("assignment vanished after upsert"))?;
        Ok((assignment_record(saved), existing.is_none()))
    }

    pub async fn effective(
        &self,
        p: &Principal,
        user_id: &str,
        module: &str,
        platform: &str,
        channel: &str,
    ) -> ApiResult<EffectiveAssignment> {
        let module = normalize_module(module);
        let (platform, channel) = (norm(platform), norm(channel));
        let user = self
            .store
            .assignment_for(
                &p.tenant_id,
                &module,
                &platform,
                &channel,
                &user_key(Some(user_id)),
            )
            .await?
            .map(assignment_record);
        let default = self
            .store
            .assignment_for(&p.tenant_id, &module, &platform, &channel, DEFAULT_USER_KEY)
            .await?
            .map(assignment_record);
        Ok(EffectiveAssignment {
            effective_assignment: user.clone().or_else(|| default.clone()),
            user_assignment: user,
            default_assignment: default,
        })
    }

    pub async fn delete_assignment(&self, p: &Principal, id: &str) -> ApiResult<()> {
        if !self.store.delete_assignment(&p.tenant_id, id).await? {
            return Err(ApiError::not_found(
                code::ASSIGNMENT_NOT_FOUND,
                "Assignment not found",
            ));
        }
        Ok(())
    }

    pub async fn list_assignments(
        &self,
        p: &Principal,
        q: &AssignmentListQuery,
    ) -> ApiResult<(Vec<AssignmentRecord>, ListMeta)> {
        let page = PageRequest::from_query(&q.page())?;
        let module = q
            .module
            .as_deref()
            .map(normalize_module)
            .filter(|s| !s.is_empty());
        let user = q
            .user_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|u| user_key(Some(u)));
        let rows = self
            .store
            .assignments(
                &p.tenant_id,
                module.as_deref(),
                user.as_deref(),
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
                page.fetch(),
            )
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.created_at),
            id: r.id.clone(),
        });
        Ok((rows.into_iter().map(assignment_record).collect(), meta))
    }

    // ---- resolve and download ----

    /// Resolves a download for a lease holder. Every attempt, whatever its outcome, leaves
    /// one audit row whose `reason` is the code the caller got.
    pub async fn resolve(
        &self,
        caller: &Caller<'_>,
        body: Result<ResolveDownloadRequest, ApiError>,
    ) -> ApiResult<ResolveDownloadResponse> {
        let p = caller.principal;
        let mut row = audit::Model {
            id: Uuid::now_v7().to_string(),
            tenant_id: p.tenant_id.clone(),
            actor_uid: Some(p.uid.clone()),
            request_ip: Some(caller.ip.clone()),
            ..Default::default()
        };
        let outcome = match body {
            Ok(req) => {
                row.vm_uuid = Some(normalize_uuid(&req.vm_uuid));
                row.module = Some(normalize_module(&req.module));
                row.platform = Some(norm(&req.platform));
                row.channel = Some(
                    req.channel
                        .as_deref()
                        .map(norm)
                        .unwrap_or_else(|| DEFAULT_CHANNEL.to_owned()),
                );
                self.resolve_checked(caller, &req, &mut row).await
            }
            Err(e) => Err(e),
        };
        row.created_at = now_ms();
        match &outcome {
            Ok(_) => {
                row.event_type = "resolve_success".to_owned();
                row.result = "allowed".to_owned();
                row.reason = "OK".to_owned();
                // No audit row, no URL.
                self.store.insert_audit(row).await?;
            }
            Err(e) => {
                let internal = e.status().is_server_error();
                row.event_type = if internal {
                    "resolve_error"
                } else {
                    "resolve_denied"
                }
                .to_owned();
                row.result = if internal { "error" } else { "denied" }.to_owned();
                row.reason = e.code().to_owned();
                if let Err(db) = self.store.insert_audit(row).await {
                    tracing::error!(error = %db, "recording a refused artifact resolve failed");
                }
            }
        }
        outcome
    }

    async fn resolve_checked(
        &self,
        caller: &Caller<'_>,
        req: &ResolveDownloadRequest,
        row: &mut audit::Model,
    ) -> ApiResult<ResolveDownloadResponse> {
        let p = caller.principal;
        let lease = match self
            .licenses
            .verify_for_download(p, &req.lease_token, &req.vm_uuid, &req.module)
            .await
        {
            Ok(l) => l,
            Err(rejection) => {
                row.lease_id = rejection.lease_id;
                row.user_id = rejection.user_id;
                return Err(rejection.error);
            }
        };
        row.lease_id = Some(lease.lease_id.clone());
        row.user_id = Some(lease.user_id.clone());
        let platform = row.platform.clone().unwrap_or_default();
        let channel = row.channel.clone().unwrap_or_default();
        let effective = self
            .effective(p, &lease.user_id, &lease.module, &platform, &channel)
            .await?
            .effective_assignment
            .ok_or_else(|| {
                ApiError::not_found(code::RESOLUTION_NOT_FOUND, "Artifact assignment not found")
            })?;
        row.release_id = Some(effective.release_id.clone());
        let rel = self
            .store
            .release(&p.tenant_id, &effective.release_id)
            .await?
            .ok_or_else(release_not_found)?;
        if rel.status != "active" {
            return Err(ApiError::conflict(
                code::RELEASE_INACTIVE,
                "The assigned release is not active",
            ));
        }
        let Some(object_key) = rel.object_key.clone().filter(|_| rel.uploaded_at.is_some()) else {
            return Err(ApiError::conflict(
                code::BINARY_MISSING,
                "The assigned release has no uploaded binary",
            ));
        };
        let now = now_ms();
        let expires_at = now + self.url_ttl.as_millis() as i64;
        let (download_url, storage) =
            match self.objects.presign_get(&object_key, self.url_ttl).await? {
                Some(url) => (url, "s3"),
                None => {
                    let token = self.signer.sign(&Grant {
                        tenant_id: rel.tenant_id.clone(),
                        release_id: rel.id.clone(),
                        object_key,
                        file_name: rel.file_name.clone(),
                        sha256: rel.sha256.clone(),
                        lease_id: lease.lease_id.clone(),
                        expires_at,
                    });
                    (
                        format!("{}/api/v1/artifacts/download/{token}", caller.base_url),
                        "embedded",
                    )
                }
            };
        row.url_expires_at = Some(expires_at);
        Ok(ResolveDownloadResponse {
            download_url,
            expires_at: to_rfc3339(expires_at),
            release_id: rel.id,
            version: rel.version,
            sha256: rel.sha256,
            size_bytes: rel.size_bytes,
            file_name: rel.file_name,
            module: rel.module,
            platform: rel.platform,
            channel: rel.channel,
            storage: storage.to_owned(),
        })
    }

    /// Signs a download URL token for a grant (also used by tests to build expired ones).
    pub fn sign_download(&self, grant: &Grant) -> String {
        self.signer.sign(grant)
    }

    /// Serves a download this server signed: the MAC first, then the expiry, then the
    /// object. Refusals of genuine tokens are audited; forged ones cannot name a tenant.
    pub async fn open_download(&self, token: &str, ip: &str) -> ApiResult<(Grant, ObjectStream)> {
        let now = now_ms();
        let grant = match self.signer.verify(token, now) {
            Ok(g) => g,
            Err(Refusal::BadSignature) => {
                tracing::warn!(%ip, "artifact download with an invalid signature refused");
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    code::DOWNLOAD_SIGNATURE_INVALID,
                    "Download link is invalid",
                ));
            }
            Err(Refusal::Expired(g)) => {
                let err = ApiError::new(
                    StatusCode::FORBIDDEN,
                    code::DOWNLOAD_EXPIRED,
                    "Download link has expired",
                );
                self.audit_download(&g, ip, Some(&err)).await;
                return Err(err);
            }
        };
        match self.objects.open_read(&grant.object_key).await? {
            Some(stream) => {
                self.audit_download(&grant, ip, None).await;
                Ok((grant, stream))
            }
            None => {
                let err = ApiError::not_found(code::BINARY_MISSING, "The artifact is gone");
                self.audit_download(&grant, ip, Some(&err)).await;
                Err(err)
            }
        }
    }

    async fn audit_download(&self, g: &Grant, ip: &str, err: Option<&ApiError>) {
        let row = audit::Model {
            id: Uuid::now_v7().to_string(),
            tenant_id: g.tenant_id.clone(),
            event_type: if err.is_some() {
                "download_denied"
            } else {
                "download_served"
            }
            .to_owned(),
            result: if err.is_some() { "denied" } else { "allowed" }.to_owned(),
            reason: err
                .map(|e| e.code().to_owned())
                .unwrap_or_else(|| "OK".to_owned()),
            lease_id: Some(g.lease_id.clone()),
            release_id: Some(g.release_id.clone()),
            request_ip: Some(ip.to_owned()),
            url_expires_at: Some(g.expires_at),
            created_at: now_ms(),
            ..Default::default()
        };
        if let Err(e) = self.store.insert_audit(row).await {
            tracing::error!(error = %e, "recording an artifact download failed");
        }
    }

    pub async fn list_audit(
        &self,
        p: &Principal,
        q: &AuditListQuery,
    ) -> ApiResult<(Vec<DownloadAuditRecord>, ListMeta)> {
        let page = PageRequest::from_query(&q.page())?;
        let present = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let filter = AuditFilter {
            result: present(&q.result),
            reason: present(&q.reason),
            vm_uuid: present(&q.vm_uuid).map(|v| normalize_uuid(&v)),
            lease_id: present(&q.lease_id),
        };
        let rows = self
            .store
            .audit(
                &p.tenant_id,
                &filter,
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
                page.fetch(),
            )
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.created_at),
            id: r.id.clone(),
        });
        Ok((rows.into_iter().map(audit_record).collect(), meta))
    }
}

fn release_record(r: release::Model) -> ReleaseRecord {
    ReleaseRecord {
        uploaded: r.uploaded_at.is_some(),
        uploaded_at: opt_rfc3339(r.uploaded_at),
        id: r.id,
        tenant_id: r.tenant_id,
        module: r.module,
        platform: r.platform,
        channel: r.channel,
        version: r.version,
        object_key: r.object_key,
        sha256: r.sha256,
        size_bytes: r.size_bytes,
        status: r.status,
        file_name: r.file_name,
        created_by: r.created_by,
        created_at: to_rfc3339(r.created_at),
        updated_at: to_rfc3339(r.updated_at),
    }
}

fn assignment_record(a: assignment::Model) -> AssignmentRecord {
    AssignmentRecord {
        is_default: a.user_key == DEFAULT_USER_KEY,
        id: a.id,
        tenant_id: a.tenant_id,
        module: a.module,
        platform: a.platform,
        channel: a.channel,
        user_id: a.user_id,
        release_id: a.release_id,
        updated_by: a.updated_by,
        created_at: to_rfc3339(a.created_at),
        updated_at: to_rfc3339(a.updated_at),
    }
}

fn audit_record(a: audit::Model) -> DownloadAuditRecord {
    DownloadAuditRecord {
        id: a.id,
        tenant_id: a.tenant_id,
        event_type: a.event_type,
        result: a.result,
        reason: a.reason,
        lease_id: a.lease_id,
        user_id: a.user_id,
        actor_uid: a.actor_uid,
        vm_uuid: a.vm_uuid,
        module: a.module,
        platform: a.platform,
        channel: a.channel,
        release_id: a.release_id,
        request_ip: a.request_ip,
        url_expires_at: opt_rfc3339(a.url_expires_at),
        created_at: to_rfc3339(a.created_at),
    }
}
