//! Provisioning rules: tenant-scoped unattend profiles (one default per tenant), config ISO
//! generation with a per-VM token, and the VM-facing token checks and progress log.

use botmox_contract::error_code::VALIDATION_ERROR;
use std::time::Duration;

use super::store::{ACTIVE, EXPIRED, ProvisioningStore, REVOKED, USED, profile, progress, token};
use super::{PLAYBOOK_YML, PayloadFile, ProvisioningError, build_payload_with};
use crate::auth::Principal;
use crate::auth::token::{constant_time_eq, generate_opaque, hash_opaque};
use crate::config::Config;
use crate::db::Db;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::objects::{ObjectStream, Objects};
use crate::pagination::{Cursor, PageRequest};
use crate::playbooks::PlaybookService;
use crate::ratelimit::FixedWindow;
use axum::http::StatusCode;
use botmox_contract::ListMeta;
use botmox_contract::provisioning::{ProvisionVm, UnattendProfileConfig};
use botmox_contract::provisioning_api::{
    FINAL_STEP, GenerateIsoRequest, GeneratedIso, ProgressEvent, ProgressStatus,
    ProvisioningProgress, ProvisioningTokenRecord, ReportProgressRequest, TokenValidation,
    UnattendProfile, UnattendProfileCreateRequest, UnattendProfileUpdateRequest,
    ValidateTokenRequest, is_vm_uuid,
};
use bytes::Bytes;
use rand::Rng;
use serde_json::json;
use url::Url;

pub const PROFILE_NOT_FOUND: &str = "UNATTEND_PROFILE_NOT_FOUND";
pub const INVALID_PROFILE_ID: &str = "PROVISIONING_INVALID_PROFILE_ID";
pub const INVALID_VM_UUID: &str = "PROVISIONING_INVALID_VM_UUID";
pub const INVALID_TOKEN_ID: &str = "PROVISIONING_INVALID_TOKEN_ID";
pub const TOKEN_NOT_FOUND: &str = "PROVISIONING_TOKEN_NOT_FOUND";
pub const VM_NOT_FOUND: &str = "PROVISIONING_VM_NOT_FOUND";
const GENERATE_CODE: &str = "PROVISIONING_INVALID_GENERATE_BODY";
/// Prefix of provisioning tokens, so they are recognisable in a leak scan.
pub const TOKEN_PREFIX: &str = "bmp_";
/// Object keys of the next-stage binaries START.ps1 runs, published by the operator.
pub const BOOTSTRAP_DOWNLOADER_KEY: &str = "bootstrap/downloader.exe";
pub const SETUP_APP_KEY: &str = "apps/winsible-setup.exe";
/// Route the agent downloads a VM's ISO from.
pub const ISO_ROUTE: &str = "/api/v1/provisioning/isos";

pub struct ProvisioningService {
    store: ProvisioningStore,
    objects: Objects,
    token_ttl: Duration,
    public_url: Option<String>,
    limiter: FixedWindow,
    playbooks: PlaybookService,
    presign_ttl: Duration,
}

fn profile_to_wire(row: profile::Model) -> ApiResult<UnattendProfile> {
    let config: UnattendProfileConfig = serde_json::from_str(&row.config)
        .map_err(|e| anyhow::anyhow!("stored unattend profile {} is unreadable: {e}", row.id))?;
    Ok(UnattendProfile {
        id: row.id,
        name: row.name,
        is_default: row.is_default,
        config,
        created_by: row.created_by,
        created_at: to_rfc3339(row.created_at),
        updated_at: to_rfc3339(row.updated_at),
    })
}

/// The status a token has now: an `active` row past its expiry reads as `expired`.
fn effective_status(row: &token::Model, now: i64) -> &str {
    if row.status == ACTIVE && row.expires_at <= now {
        EXPIRED
    } else {
        row.status.as_str()
    }
}

fn token_to_wire(row: &token::Model, now: i64) -> ProvisioningTokenRecord {
    ProvisioningTokenRecord {
        id: row.id.clone(),
        vm_uuid: row.vm_uuid.clone(),
        status: effective_status(row, now).to_owned(),
        issued_at: to_rfc3339(row.issued_at),
        expires_at: to_rfc3339(row.expires_at),
        used_at: row.used_at.map(to_rfc3339),
        revoked_at: row.revoked_at.map(to_rfc3339),
    }
}

fn progress_to_wire(row: progress::Model) -> ProgressEvent {
    ProgressEvent {
        id: row.id,
        vm_uuid: row.vm_uuid,
        token_id: row.token_id,
        step: row.step,
        status: ProgressStatus::parse(&row.status).unwrap_or(ProgressStatus::Pending),
        message: row.message,
        progress: row.progress.and_then(|p| u8::try_from(p).ok()),
        details: serde_json::from_str(&row.details).unwrap_or_else(|_| json!({})),
        created_at: to_rfc3339(row.created_at),
    }
}

/// Profile ids are `profile-<uuid>`.
fn check_profile_id(id: &str) -> ApiResult<()> {
    let ok = id
        .strip_prefix("profile-")
        .is_some_and(|rest| uuid::Uuid::try_parse(rest).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            INVALID_PROFILE_ID,
            "Profile id must be profile-<uuid>",
        ))
    }
}

fn profile_not_found() -> ApiError {
    ApiError::not_found(PROFILE_NOT_FOUND, "Unattend profile not found")
}

/// VM UUIDs are compared lower-cased (the VM registry keeps them that way).
pub fn normalize_vm_uuid(raw: &str) -> ApiResult<String> {
    let value = raw.trim().to_ascii_lowercase();
    if is_vm_uuid(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_request(
            INVALID_VM_UUID,
            "VM UUID must be 1 to 64 letters, digits or '-'",
        ))
    }
}

fn token_invalid() -> ApiError {
    ApiError::unauthorized("TOKEN_INVALID", "Provisioning token is invalid")
}

/// The generator's refusals as client errors.
fn generation_error(err: ProvisioningError) -> ApiError {
    match err {
        ProvisioningError::InvalidProfile(fields) => {
            let fields: serde_json::Map<String, serde_json::Value> = fields
                .into_iter()
                .map(|(k, v)| (format!("profile_config.{k}"), json!(v)))
                .collect();
            ApiError::bad_request(GENERATE_CODE, "The unattend profile is invalid")
                .with_details(json!({ "fields": fields }))
        }
        ProvisioningError::InvalidVm(fields) => {
            ApiError::bad_request(GENERATE_CODE, "The VM target is invalid")
                .with_details(json!({ "fields": fields }))
        }
        ProvisioningError::PublicUrl(why) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "PROVISIONING_PUBLIC_URL_UNUSABLE",
            format!(
                "VMs cannot reach the server at {why}; set BOTMOX_PUBLIC_URL to an address they can reach"
            ),
        ),
        ProvisioningError::Resolved { .. }
        | ProvisioningError::MissingSequence
        | ProvisioningError::MissingStaticIp => {
            ApiError::bad_request(GENERATE_CODE, err.to_string())
        }
        other => ApiError::Internal(anyhow::anyhow!("provisioning payload: {other}")),
    }
}

impl ProvisioningService {
    pub fn new(db: Db, objects: Objects, config: &Config) -> Self {
        Self {
            store: ProvisioningStore::new(db.clone()),
            playbooks: PlaybookService::new(db),
            presign_ttl: config.artifacts.url_ttl,
            objects,
            token_ttl: config.provisioning.token_ttl,
            public_url: config.public_url.clone(),
            limiter: FixedWindow::new(
                config.provisioning.per_ip_per_minute,
                Duration::from_secs(60),
            ),
        }
    }

    // ---- profiles ----

    pub async fn list_profiles(
        &self,
        principal: &Principal,
        page: &PageRequest,
    ) -> ApiResult<(Vec<UnattendProfile>, ListMeta)> {
        let rows = self
            .store
            .profiles(
                &principal.tenant_id,
                page,
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
            )
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.updated_at),
            id: r.id.clone(),
        });
        let rows = rows
            .into_iter()
            .map(profile_to_wire)
            .collect::<ApiResult<Vec<_>>>()?;
        Ok((rows, meta))
    }

    async fn find_profile(&self, principal: &Principal, id: &str) -> ApiResult<profile::Model> {
        check_profile_id(id)?;
        self.store
            .profile(&principal.tenant_id, id)
            .await?
            .ok_or_else(profile_not_found)
    }

    pub async fn get_profile(&self, principal: &Principal, id: &str) -> ApiResult<UnattendProfile> {
        profile_to_wire(self.find_profile(principal, id).await?)
    }

    pub async fn create_profile(
        &self,
        principal: &Principal,
        req: UnattendProfileCreateRequest,
    ) -> ApiResult<UnattendProfile> {
        let now = now_ms();
        let row = profile::Model {
            id: format!("profile-{}", uuid::Uuid::now_v7()),
            tenant_id: principal.tenant_id.clone(),
            created_by: principal.uid.clone(),
            name: req.name.trim().to_owned(),
            is_default: req.is_default.unwrap_or(false),
            config: serde_json::to_string(&req.config).map_err(anyhow::Error::from)?,
            created_at: now,
            updated_at: now,
        };
        self.store.save_profile(row.clone(), true).await?;
        profile_to_wire(row)
    }

    /// Replaces the given fields; `is_default: false` unsets the flag.
    pub async fn update_profile(
        &self,
        principal: &Principal,
        id: &str,
        req: UnattendProfileUpdateRequest,
    ) -> ApiResult<UnattendProfile> {
        check_profile_id(id)?;
        if req.is_empty() {
            return Err(ApiError::bad_request(
                "PROVISIONING_INVALID_PROFILE_UPDATE_BODY",
                "Payload must contain at least one field",
            ));
        }
        let mut row = self.find_profile(principal, id).await?;
        if let Some(name) = req.name {
            row.name = name.trim().to_owned();
        }
        if let Some(flag) = req.is_default {
            row.is_default = flag;
        }
        if let Some(config) = req.config {
            row.config = serde_json::to_string(&config).map_err(anyhow::Error::from)?;
        }
        // Strictly increasing, so the list order always reflects the latest change.
        row.updated_at = now_ms().max(row.updated_at + 1);
        self.store.save_profile(row.clone(), false).await?;
        profile_to_wire(row)
    }

    pub async fn delete_profile(&self, principal: &Principal, id: &str) -> ApiResult<()> {
        check_profile_id(id)?;
        if self.store.delete_profile(&principal.tenant_id, id).await? {
            Ok(())
        } else {
            Err(profile_not_found())
        }
    }

    // ---- generation ----

    /// Issues a token for the VM, builds its config ISO, stores it and returns where it is.
    /// A previous token of the same VM is revoked and its ISO deleted.
    pub async fn generate(
        &self,
        principal: &Principal,
        req: GenerateIsoRequest,
        request_url: Option<String>,
    ) -> ApiResult<GeneratedIso> {
        Ok(self
            .generate_with_files(principal, req, request_url)
            .await?
            .0)
    }

    /// [`Self::generate`], also handing back the files on the ISO (for callers that build the
    /// ISO elsewhere, e.g. the VM generator asking the agent to write it on the node).
    pub async fn generate_with_files(
        &self,
        principal: &Principal,
        req: GenerateIsoRequest,
        request_url: Option<String>,
    ) -> ApiResult<(GeneratedIso, Vec<super::PayloadFile>)> {
        let vm_uuid = req.vm_uuid.trim().to_ascii_lowercase();
        let config = match (req.profile_config, req.profile_id.as_deref()) {
            (Some(config), _) => config,
            (None, Some(id)) => {
                let row = self.find_profile(principal, id).await?;
                profile_to_wire(row)?.config
            }
            (None, None) => {
                return Err(ApiError::bad_request(
                    "PROVISIONING_PROFILE_SOURCE_REQUIRED",
                    "Either profile_id or profile_config is required",
                ));
            }
        };
        let base = self.public_url.clone().or(request_url).ok_or_else(|| {
            generation_error(ProvisioningError::PublicUrl(
                "an unknown address".to_owned(),
            ))
        })?;
        let public_url = Url::parse(&base)
            .map_err(|e| generation_error(ProvisioningError::PublicUrl(format!("{base} ({e})"))))?;
        let vm = ProvisionVm {
            vm_uuid: vm_uuid.clone(),
            vm_name: req
                .vm_name
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
            ip: req.ip,
            sequence: req.sequence,
        };

        let playbook = self.playbook(principal, req.playbook_id.as_deref()).await?;
        let extra = playbook
            .iter()
            .map(|p| PayloadFile {
                path: PLAYBOOK_YML.to_owned(),
                bytes: p.content.as_bytes().to_vec(),
            })
            .collect();

        let secret = generate_opaque(TOKEN_PREFIX);
        let now = now_ms();
        let seed: u64 = rand::rng().random();
        let payload = build_payload_with(
            &config,
            &vm,
            &secret,
            &public_url,
            seed,
            chrono::Utc::now(),
            extra,
        )
        .map_err(generation_error)?;

        let token_id = uuid::Uuid::now_v7().to_string();
        let key = format!(
            "provisioning/{}/{vm_uuid}/{token_id}.iso",
            hash_opaque(&principal.tenant_id)
                .get(..16)
                .unwrap_or_default()
        );
        let size = payload.iso_bytes.len() as u64;
        self.objects
            .put(&key, Bytes::from(payload.iso_bytes))
            .await?;
        let ttl_ms = i64::try_from(self.token_ttl.as_millis()).unwrap_or(i64::MAX);
        let row = token::Model {
            id: token_id.clone(),
            tenant_id: principal.tenant_id.clone(),
            vm_uuid: vm_uuid.clone(),
            created_by: principal.uid.clone(),
            token_hash: hash_opaque(&secret),
            status: ACTIVE.to_owned(),
            iso_object_key: key.clone(),
            sha256: payload.sha256.clone(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            issued_at: now,
            expires_at: now.saturating_add(ttl_ms),
            used_at: None,
            revoked_at: None,
        };
        let expires_at = row.expires_at;
        let replaced = match self.store.issue_token(row).await {
            Ok(replaced) => replaced,
            Err(err) => {
                // The ISO carries a token that was never stored: drop it.
                if let Err(e) = self.objects.delete_if_exists(&key).await {
                    tracing::warn!(error = %e, "dropping an orphaned provisioning ISO failed");
                }
                return Err(err.into());
            }
        };
        // The replaced ISOs carry revoked tokens; keeping them helps nobody.
        for old in replaced.iter().filter(|k| **k != key) {
            if let Err(e) = self.objects.delete_if_exists(old).await {
                tracing::warn!(error = %e, "deleting a replaced provisioning ISO failed");
            }
        }
        let files = payload.files;
        let generated = GeneratedIso {
            token: secret,
            token_id,
            iso_object_key: key,
            iso_url: format!("{ISO_ROUTE}/{vm_uuid}"),
            vm_uuid,
            sha256: payload.sha256,
            size,
            files: files.iter().map(|f| f.path.clone()).collect(),
            computer_name: payload.computer_name,
            username: payload.username,
            playbook_id: playbook.map(|p| p.id),
            expires_at: to_rfc3339(expires_at),
        };
        Ok((generated, files))
    }

    /// The playbook for the ISO: the one asked for (404 when it is not the tenant's), else the
    /// tenant's default; an empty playbook puts no file on the ISO.
    async fn playbook(
        &self,
        principal: &Principal,
        id: Option<&str>,
    ) -> ApiResult<Option<botmox_contract::playbooks::Playbook>> {
        if let Some(id) = id {
            crate::playbooks::service::check_id(id)?;
        }
        let found = self
            .playbooks
            .for_provisioning(&principal.tenant_id, id)
            .await?;
        if id.is_some() && found.is_none() {
            return Err(ApiError::not_found(
                crate::playbooks::service::NOT_FOUND,
                "Playbook not found",
            ));
        }
        Ok(found.filter(|p| !p.content.trim().is_empty()))
    }

    /// The VM's current ISO: `(file name, sha256, content)`.
    pub async fn iso(
        &self,
        principal: &Principal,
        vm_uuid: &str,
    ) -> ApiResult<(String, String, ObjectStream)> {
        let vm_uuid = normalize_vm_uuid(vm_uuid)?;
        let missing = || ApiError::not_found("PROVISIONING_ISO_NOT_FOUND", "No ISO for this VM");
        let row = self
            .store
            .latest_token(&principal.tenant_id, &vm_uuid)
            .await?
            .ok_or_else(missing)?;
        let object = self
            .objects
            .open_read(&row.iso_object_key)
            .await?
            .ok_or_else(missing)?;
        Ok((format!("provision-{vm_uuid}.iso"), row.sha256, object))
    }

    // ---- tokens (VM-facing) ----

    fn check_rate(&self, client_ip: &str) -> ApiResult<()> {
        if self.limiter.unlimited() {
            return Ok(());
        }
        let d = self.limiter.check(&format!("provision:{client_ip}"));
        if d.allowed {
            Ok(())
        } else {
            Err(ApiError::rate_limited(d))
        }
    }

    /// The live token row for `token` and `vm_uuid`, or the 401 that explains why not.
    async fn authenticate(&self, token: &str, vm_uuid: &str) -> ApiResult<token::Model> {
        let hash = hash_opaque(token);
        let row = self
            .store
            .token_by_hash(&hash)
            .await?
            .ok_or_else(token_invalid)?;
        // Found by hash; compare again in constant time so a collation quirk can never match
        // a different token.
        if !constant_time_eq(&row.token_hash, &hash) {
            return Err(token_invalid());
        }
        // A token bound to another VM is as good as no token.
        if row.vm_uuid != vm_uuid.trim().to_ascii_lowercase() {
            return Err(token_invalid());
        }
        let now = now_ms();
        match effective_status(&row, now) {
            ACTIVE => Ok(row),
            EXPIRED => {
                if row.status == ACTIVE
                    && let Err(e) = self.store.finish_token(&row.id, EXPIRED, now).await
                {
                    tracing::warn!(error = %e, "marking a provisioning token expired failed");
                }
                Err(ApiError::unauthorized(
                    "TOKEN_EXPIRED",
                    "Provisioning token has expired",
                ))
            }
            USED => Err(ApiError::unauthorized(
                "TOKEN_USED",
                "Provisioning token has already been used",
            )),
            REVOKED => Err(ApiError::unauthorized(
                "TOKEN_REVOKED",
                "Provisioning token has been revoked",
            )),
            _ => Err(token_invalid()),
        }
    }

    pub async fn validate_token(
        &self,
        req: &ValidateTokenRequest,
        client_ip: &str,
    ) -> ApiResult<TokenValidation> {
        self.check_rate(client_ip)?;
        let row = self.authenticate(&req.token, &req.vm_uuid).await?;
        Ok(TokenValidation {
            valid: true,
            vm_uuid: row.vm_uuid,
            token_id: row.id,
            expires_at: to_rfc3339(row.expires_at),
            bootstrap_url: self.presigned(BOOTSTRAP_DOWNLOADER_KEY).await?,
            app_url: self.presigned(SETUP_APP_KEY).await?,
        })
    }

    /// A short-lived presigned URL for a published next-stage binary; `None` when it is not
    /// published or objects are not on S3 (START.ps1 then ends after `windows_installed`).
    async fn presigned(&self, key: &str) -> ApiResult<Option<String>> {
        if !self.objects.can_presign() || !self.objects.exists(key).await? {
            return Ok(None);
        }
        Ok(self.objects.presign_get(key, self.presign_ttl).await?)
    }

    /// Appends a report; `completed`/`completed` uses the token up.
    pub async fn report_progress(
        &self,
        req: ReportProgressRequest,
        client_ip: &str,
    ) -> ApiResult<ProgressEvent> {
        self.check_rate(client_ip)?;
        let token = self.authenticate(&req.token, &req.vm_uuid).await?;
        let now = now_ms();
        let row = progress::Model {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: token.tenant_id.clone(),
            vm_uuid: token.vm_uuid.clone(),
            token_id: token.id.clone(),
            step: req.step,
            status: req.status.as_str().to_owned(),
            message: req.message,
            progress: req.progress.map(i32::from),
            details: req.details.unwrap_or_else(|| json!({})).to_string(),
            created_at: now,
        };
        self.store.add_progress(row.clone()).await?;
        if row.step == FINAL_STEP && req.status == ProgressStatus::Completed {
            self.store.finish_token(&token.id, USED, now).await?;
        }
        Ok(progress_to_wire(row))
    }

    // ---- tokens and progress (UI) ----

    pub async fn progress(
        &self,
        principal: &Principal,
        vm_uuid: &str,
    ) -> ApiResult<ProvisioningProgress> {
        let vm_uuid = normalize_vm_uuid(vm_uuid)?;
        let token = self
            .store
            .latest_token(&principal.tenant_id, &vm_uuid)
            .await?;
        let rows = self.store.progress(&principal.tenant_id, &vm_uuid).await?;
        if token.is_none() && rows.is_empty() {
            return Err(ApiError::not_found(
                VM_NOT_FOUND,
                "Nothing was provisioned for this VM",
            ));
        }
        let now = now_ms();
        let events: Vec<ProgressEvent> = rows.into_iter().map(progress_to_wire).collect();
        let last = events.last();
        Ok(ProvisioningProgress {
            vm_uuid,
            state: last
                .map(|e| e.status.as_str())
                .unwrap_or("not_started")
                .to_owned(),
            current_step: last.map(|e| e.step.clone()),
            updated_at: last
                .map(|e| e.created_at.clone())
                .or_else(|| token.as_ref().map(|t| to_rfc3339(t.issued_at)))
                .unwrap_or_else(|| to_rfc3339(now)),
            token: token.as_ref().map(|t| token_to_wire(t, now)),
            events,
        })
    }

    /// Revokes an active token; revoking a revoked one changes nothing.
    pub async fn revoke(
        &self,
        principal: &Principal,
        id: &str,
    ) -> ApiResult<ProvisioningTokenRecord> {
        if uuid::Uuid::try_parse(id).is_err() {
            return Err(ApiError::bad_request(
                INVALID_TOKEN_ID,
                "Token id must be a UUID",
            ));
        }
        let not_found = || ApiError::not_found(TOKEN_NOT_FOUND, "Provisioning token not found");
        let row = self
            .store
            .token(&principal.tenant_id, id)
            .await?
            .ok_or_else(not_found)?;
        let now = now_ms();
        match effective_status(&row, now) {
            ACTIVE => {
                self.store.finish_token(&row.id, REVOKED, now).await?;
            }
            REVOKED => {}
            other => {
                return Err(ApiError::conflict(
                    "PROVISIONING_TOKEN_NOT_ACTIVE",
                    format!("The token is {other} and cannot be revoked"),
                ));
            }
        }
        let row = self
            .store
            .token(&principal.tenant_id, id)
            .await?
            .ok_or_else(not_found)?;
        Ok(token_to_wire(&row, now))
    }
}
