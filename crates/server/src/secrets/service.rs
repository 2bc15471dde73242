//! Vault rules: secrets are stored as the client's ciphertext only; rotation bumps the
//! material version; bindings point a scope's field at a secret of the same tenant.

use super::envelope::Envelope;
use super::store::{SecretStore, binding, secret};
use crate::auth::{AuthService, Principal};
use crate::config::Config;
use crate::db::Db;
use crate::db::time::{now_ms, opt_rfc3339, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use botmox_contract::ListMeta;
use botmox_contract::error_code::VALIDATION_ERROR;
use botmox_contract::rules::blank_as_none;
use botmox_contract::secrets::{
    BindingCreateRequest, BindingListQuery, BindingRecord, DEFAULT_ALG, DEFAULT_KIND,
    EnvelopeRotated, SecretCreateRequest, SecretListQuery, SecretMaterial, SecretMeta,
    SecretRotateRequest,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

pub mod code {
    pub const SECRET_NOT_FOUND: &str = "SECRET_NOT_FOUND";
    pub const INVALID_ID: &str = "SECRETS_INVALID_ID";
    pub const BINDING_NOT_FOUND: &str = "SECRETS_BINDING_NOT_FOUND";
}

fn not_found() -> ApiError {
    ApiError::not_found(code::SECRET_NOT_FOUND, "Secret not found")
}

pub struct SecretService {
    store: SecretStore,
    envelope: Arc<Envelope>,
}

impl SecretService {
    pub async fn new(db: Db, config: &Config, auth: &AuthService) -> anyhow::Result<Arc<Self>> {
        let store = SecretStore::new(db);
        let envelope = Envelope::new(store.clone(), &config.master_key, auth).await?;
        Ok(Arc::new(Self { store, envelope }))
    }

    /// Server-side encryption for other domains: `encrypt`/`decrypt` on this.
    pub fn envelope(&self) -> &Arc<Envelope> {
        &self.envelope
    }

    pub async fn create(&self, p: &Principal, req: &SecretCreateRequest) -> ApiResult<SecretMeta> {
        let now = now_ms();
        let row = secret::Model {
            id: format!("sec-{}", Uuid::now_v7()),
            tenant_id: p.tenant_id.clone(),
            label: req.label.trim().to_owned(),
            kind: req
                .kind
                .as_deref()
                .map(|k| k.trim().to_lowercase())
                .unwrap_or_else(|| DEFAULT_KIND.to_owned()),
            labels: serde_json::to_string(&req.labels.clone().unwrap_or_default())
                .map_err(anyhow::Error::from)?,
            ciphertext: req.ciphertext.clone(),
            nonce: req.nonce.clone(),
            alg: req
                .alg
                .as_deref()
                .map(|a| a.trim().to_owned())
                .unwrap_or_else(|| DEFAULT_ALG.to_owned()),
            key_id: req.key_id.trim().to_owned(),
            aad_meta: json_object(req.aad_meta.as_ref()),
            material_version: 1,
            created_by: p.uid.clone(),
            created_at: now,
            updated_at: now,
            rotated_at: None,
        };
        self.store.insert(row.clone()).await?;
        Ok(meta(&row))
    }

    async fn get_row(&self, p: &Principal, id: &str) -> ApiResult<secret::Model> {
        self.store
            .get(&p.tenant_id, id)
            .await?
            .ok_or_else(not_found)
    }

    pub async fn meta(&self, p: &Principal, id: &str) -> ApiResult<SecretMeta> {
        Ok(meta(&self.get_row(p, id).await?))
    }

    /// Metadata and ciphertext, for the client to decrypt.
    pub async fn material(&self, p: &Principal, id: &str) -> ApiResult<SecretMaterial> {
        let row = self.get_row(p, id).await?;
        Ok(SecretMaterial {
            meta: meta(&row),
            ciphertext: row.ciphertext,
            nonce: row.nonce,
        })
    }

    pub async fn rotate(
        &self,
        p: &Principal,
        id: &str,
        req: &SecretRotateRequest,
    ) -> ApiResult<SecretMeta> {
        let cur = self.get_row(p, id).await?;
        let now = now_ms();
        let row = secret::Model {
            ciphertext: req.ciphertext.clone(),
            nonce: req.nonce.clone(),
            alg: req
                .alg
                .as_deref()
                .map(|a| a.trim().to_owned())
                .unwrap_or(cur.alg.clone()),
            key_id: req.key_id.trim().to_owned(),
            aad_meta: req
                .aad_meta
                .as_ref()
                .map(|m| json_object(Some(m)))
                .unwrap_or(cur.aad_meta.clone()),
            rotated_at: Some(now),
            updated_at: now,
            ..cur
        };
        if !self.store.rotate(&row).await? {
            return Err(not_found());
        }
        Ok(meta(&self.get_row(p, id).await?))
    }

    pub async fn delete(&self, p: &Principal, id: &str) -> ApiResult<()> {
        if !self.store.delete(&p.tenant_id, id).await? {
            return Err(not_found());
        }
        Ok(())
    }

    pub async fn list(
        &self,
        p: &Principal,
        q: &SecretListQuery,
    ) -> ApiResult<(Vec<SecretMeta>, ListMeta)> {
        let page = PageRequest::from_query(&q.page())?;
        let kind = blank_as_none(&q.kind).map(|k| k.to_lowercase());
        let rows = self
            .store
            .list(
                &p.tenant_id,
                kind.as_deref(),
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
                page.fetch(),
            )
            .await?;
        let (rows, meta_) = page.finish(rows, |r| Cursor {
            key: json!(r.created_at),
            id: r.id.clone(),
        });
        Ok((rows.iter().map(meta).collect(), meta_))
    }

    // ---- bindings ----

    /// Binds a secret of the tenant (else `SECRET_NOT_FOUND`); returns the binding and
    /// whether it was new.
    pub async fn bind(
        &self,
        p: &Principal,
        req: &BindingCreateRequest,
    ) -> ApiResult<(BindingRecord, bool)> {
        let secret_ref = req.secret_ref.trim();
        self.get_row(p, secret_ref).await?;
        let scope_type = req.scope_type.trim().to_lowercase();
        let scope_id = req.scope_id.trim().to_owned();
        let field = req.field_name.trim().to_owned();
        let existing = self
            .store
            .binding_for(&p.tenant_id, &scope_type, &scope_id, &field)
            .await?;
        let now = now_ms();
        self.store
            .upsert_binding(binding::Model {
                id: existing
                    .as_ref()
                    .map(|b| b.id.clone())
                    .unwrap_or_else(|| format!("bind-{}", Uuid::now_v7())),
                tenant_id: p.tenant_id.clone(),
                scope_type: scope_type.clone(),
                scope_id: scope_id.clone(),
                field_name: field.clone(),
                secret_ref: secret_ref.to_owned(),
                created_at: existing.as_ref().map(|b| b.created_at).unwrap_or(now),
                updated_at: now,
            })
            .await?;
        let saved = self
            .store
            .binding_for(&p.tenant_id, &scope_type, &scope_id, &field)
            .await?
            .ok_or_else(|| anyhow::anyhow!("binding vanished after upsert"))?;
        Ok((binding_record(saved), existing.is_none()))
    }

    pub async fn unbind(&self, p: &Principal, id: &str) -> ApiResult<()> {
        if !self.store.delete_binding(&p.tenant_id, id).await? {
            return Err(ApiError::not_found(
                code::BINDING_NOT_FOUND,
                "Binding not found",
            ));
        }
        Ok(())
    }

    pub async fn bindings(
        &self,
        p: &Principal,
        q: &BindingListQuery,
    ) -> ApiResult<(Vec<BindingRecord>, ListMeta)> {
        let page = PageRequest::from_query(&q.page())?;
        let scope_type = blank_as_none(&q.scope_type).map(|s| s.to_lowercase());
        let scope_id = blank_as_none(&q.scope_id);
        let rows = self
            .store
            .bindings(
                &p.tenant_id,
                scope_type.as_deref(),
                scope_id.as_deref(),
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
                page.fetch(),
            )
            .await?;
        let (rows, meta_) = page.finish(rows, |r| Cursor {
            key: json!(r.created_at),
            id: r.id.clone(),
        });
        Ok((rows.into_iter().map(binding_record).collect(), meta_))
    }

    /// Rotates the server-side envelope keys (see [`Envelope::rotate`]).
    pub async fn rotate_envelope(&self) -> ApiResult<EnvelopeRotated> {
        let (active_key_id, rewrapped) = self.envelope.rotate().await?;
        Ok(EnvelopeRotated {
            active_key_id,
            master_key_id: self.envelope.master_key_id().await,
            rewrapped,
        })
    }
}

fn json_object(m: Option<&serde_json::Map<String, serde_json::Value>>) -> String {
    m.map(|m| serde_json::Value::Object(m.clone()).to_string())
        .unwrap_or_else(|| "{}".to_owned())
}

fn meta(row: &secret::Model) -> SecretMeta {
    SecretMeta {
        id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        label: row.label.clone(),
        kind: row.kind.clone(),
        labels: serde_json::from_str::<BTreeMap<String, String>>(&row.labels).unwrap_or_default(),
        alg: row.alg.clone(),
        key_id: row.key_id.clone(),
        material_version: row.material_version,
        aad_meta: serde_json::from_str(&row.aad_meta).unwrap_or_else(|_| json!({})),
        created_by: row.created_by.clone(),
        rotated_at: opt_rfc3339(row.rotated_at),
        created_at: to_rfc3339(row.created_at),
        updated_at: to_rfc3339(row.updated_at),
    }
}

fn binding_record(b: binding::Model) -> BindingRecord {
    BindingRecord {
        id: b.id,
        tenant_id: b.tenant_id,
        scope_type: b.scope_type,
        scope_id: b.scope_id,
        secret_ref: b.secret_ref,
        field_name: b.field_name,
        created_at: to_rfc3339(b.created_at),
        updated_at: to_rfc3339(b.updated_at),
    }
}
