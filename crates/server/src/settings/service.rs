//! Settings rules: reads and writes by path, shape checks, secrets sealed at rest and masked
//! on read, and the typed look-ups other domains use (Proxmox defaults, the IPQS key).

use super::path;
use super::schema::{self, STORAGE_POLICY};
use super::store::{SettingsStore, settings_node};
use super::tree;
use crate::auth::Principal;
use crate::config::Secret;
use crate::db::Db;
use crate::db::time::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::secrets_crypto::SecretsCrypto;
use axum::http::StatusCode;
use botmox_contract::settings::{NotificationEventsSettings, StoragePolicyUpdate};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Largest serialized top-level node.
const MAX_NODE_BYTES: usize = 2 * 1024 * 1024;
/// Optimistic write attempts before giving up with 409.
const WRITE_ATTEMPTS: usize = 8;

/// Top-level keys holding credentials or policy: only `admin`/`infra` may change them.
const PRIVILEGED_KEYS: [&str; 2] = ["api_keys", "storage_policy"];

/// Proxmox connection defaults from `settings/vmgenerator.proxmox` (`Secret` redacts the
/// password in debug output).
#[derive(Debug, Clone, Default)]
pub struct ProxmoxDefaults {
    pub url: Option<String>,
    pub username: Option<String>,
    pub node: Option<String>,
    pub password: Option<Secret>,
}

/// The IPQS key and switch from `settings/api_keys.ipqs`.
#[derive(Debug, Clone, Default)]
pub struct IpqsSettings {
    pub api_key: Option<Secret>,
    /// `None` when never set.
    pub enabled: Option<bool>,
}

pub struct SettingsService {
    store: SettingsStore,
    crypto: Arc<SecretsCrypto>,
}

/// The associated data every sealed value of a tenant is bound to.
fn context(tenant: &str) -> String {
    format!("settings:{tenant}")
}

fn parse_node(row: &settings_node::Model) -> ApiResult<Value> {
    serde_json::from_str(&row.data).map_err(|e| {
        ApiError::Internal(anyhow::anyhow!(
            "settings node {}/{} is not JSON: {e}",
            row.tenant_id,
            row.key
        ))
    })
}

impl SettingsService {
    pub fn new(db: Db, crypto: Arc<SecretsCrypto>) -> Arc<Self> {
        Arc::new(Self {
            store: SettingsStore::new(db),
            crypto,
        })
    }

    // ---- reads ----

    /// The value at `raw_path` (the whole tree for the root), secrets masked; `null` when
    /// nothing is stored there.
    pub async fn read(&self, principal: &Principal, raw_path: &str) -> ApiResult<Value> {
        let segments = path::parse(raw_path)?;
        let tenant = &principal.tenant_id;
        let ctx = context(tenant);
        let Some((head, rest)) = segments.split_first() else {
            let mut tree = Map::new();
            for row in self.store.nodes(tenant).await? {
                tree.insert(row.key.clone(), parse_node(&row)?);
            }
            // Masked as one object, so a secret-named top-level key is masked too.
            return Ok(tree::masked(&Value::Object(tree), &self.crypto, &ctx));
        };
        let Some(node) = self.stored(tenant, head).await? else {
            return Ok(Value::Null);
        };
        Ok(tree::get_at(&node, rest)
            .map(|v| self.shown(v, &segments, &ctx))
            .unwrap_or(Value::Null))
    }

    /// A value as clients see it; a secret read at its own path is masked too.
    fn shown(&self, value: &Value, segments: &[String], ctx: &str) -> Value {
        match segments.last() {
            Some(last) if tree::is_secret_key(last) => {
                tree::masked(&json!({ last: value }), &self.crypto, ctx)
                    .get(last.as_str())
                    .cloned()
                    .unwrap_or(Value::Null)
            }
            _ => tree::masked(value, &self.crypto, ctx),
        }
    }

    async fn stored(&self, tenant: &str, key: &str) -> ApiResult<Option<Value>> {
        match self.store.node(tenant, key).await? {
            Some(row) => Ok(Some(parse_node(&row)?)),
            None => Ok(None),
        }
    }

    // ---- writes ----

    /// Writes `payload` at `raw_path` (PUT and PATCH alike: objects merge shallowly, anything
    /// else replaces) and returns the new value there, secrets masked.
    pub async fn write(
        &self,
        principal: &Principal,
        raw_path: &str,
        payload: Value,
    ) -> ApiResult<Value> {
        let segments = path::parse(raw_path)?;
        if segments.is_empty() {
            return self.write_root(principal, payload).await;
        }
        gate(principal, &segments[0])?;
        let stored = self.commit(principal, &segments, payload, false).await?;
        let ctx = context(&principal.tenant_id);
        Ok(tree::get_at(&stored, &segments[1..])
            .map(|v| self.shown(v, &segments, &ctx))
            .unwrap_or(Value::Null))
    }

    /// A root write sets each top-level key it names; all are checked before any is stored.
    async fn write_root(&self, principal: &Principal, payload: Value) -> ApiResult<Value> {
        let map = match payload {
            Value::Object(map) if !map.is_empty() => map,
            _ => {
                return Err(ApiError::bad_request(
                    schema::GENERIC,
                    "Payload must be an object with at least one field",
                ));
            }
        };
        for key in map.keys() {
            path::segment_ok(key).map_err(|reason| {
                ApiError::bad_request("SETTINGS_INVALID_PATH", "Invalid settings path")
                    .with_details(json!({ "path": key, "reason": reason }))
            })?;
            gate(principal, key)?;
        }
        let tenant = &principal.tenant_id;
        // Check everything first, so a bad key leaves the tree untouched. A root write
        // replaces each named key (nothing to merge with), but masks echoed back still keep
        // the stored secrets.
        for (key, value) in &map {
            let current = self.stored(tenant, key).await?;
            self.prepare(
                principal,
                std::slice::from_ref(key),
                value.clone(),
                None,
                current.as_ref(),
            )?;
        }
        for (key, value) in map {
            self.commit(principal, &[key], value, true).await?;
        }
        self.read(principal, "").await
    }

    /// Read, compute, store if unchanged meanwhile; retried on a concurrent write.
    async fn commit(
        &self,
        principal: &Principal,
        segments: &[String],
        payload: Value,
        replace: bool,
    ) -> ApiResult<Value> {
        let tenant = &principal.tenant_id;
        let key = &segments[0];
        for _ in 0..WRITE_ATTEMPTS {
            let row = self.store.node(tenant, key).await?;
            let current = row.as_ref().map(parse_node).transpose()?;
            // A replacing write still keeps secrets echoed back as masks.
            let existing_for_secrets = current.clone();
            let base = if replace { None } else { current };
            let next = self.prepare(
                principal,
                segments,
                payload.clone(),
                base,
                existing_for_secrets.as_ref(),
            )?;
            let data = serde_json::to_string(&next).map_err(anyhow::Error::from)?;
            if data.len() > MAX_NODE_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "SETTINGS_NODE_TOO_LARGE",
                    format!("Settings under {key:?} would exceed 2 MiB"),
                ));
            }
            let now = now_ms();
            let written = match &row {
                Some(r) => {
                    self.store
                        .update(tenant, key, r.version, data, &principal.uid, now)
                        .await?
                }
                None => {
                    self.store
                        .insert(tenant, key, data, &principal.uid, now)
                        .await?
                }
            };
            if written {
                return Ok(next);
            }
        }
        Err(ApiError::conflict(
            "SETTINGS_CONFLICT",
            "Settings changed concurrently too often; try again",
        ))
    }

    /// Computes the new top-level node: secrets sealed, payload merged in at the path, the
    /// storage policy completed, and every typed node concerned checked.
    fn prepare(
        &self,
        principal: &Principal,
        segments: &[String],
        payload: Value,
        current: Option<Value>,
        existing_for_secrets: Option<&Value>,
    ) -> ApiResult<Value> {
        let names: Vec<&str> = segments.iter().map(String::as_str).collect();
        let rest = &segments[1..];
        let ctx = context(&principal.tenant_id);
        // A secret written at its own path (`api_keys/ipqs/api_key` = "…") is sealed like a
        // field of its parent object.
        let last = segments.last().map(String::as_str).unwrap_or_default();
        let sealed = if tree::is_secret_key(last) {
            let here = existing_for_secrets.and_then(|node| tree::get_at(node, rest));
            let parent = here.map(|v| json!({ last: v }));
            let wrapped = json!({ last: payload });
            tree::seal_payload(wrapped, parent.as_ref(), &self.crypto, &ctx, last)
                .map(|mut v| v.get_mut(last).map(Value::take).unwrap_or(Value::Null))
        } else {
            let existing_at = existing_for_secrets.and_then(|node| tree::get_at(node, rest));
            tree::seal_payload(payload, existing_at, &self.crypto, &ctx, "")
        }
        .map_err(|(field, message)| {
            let field = if field.is_empty() {
                "_".to_owned()
            } else {
                field
            };
            ApiError::bad_request(schema::code_for(&names), "Invalid settings value")
                .with_details(json!({ "fields": { field: [message] } }))
        })?;
        let mut next = tree::set_at(current, rest, sealed);
        let view = tree::validation_view(&next);
        check_path(&names, &view)?;
        if names[0] == "storage_policy" {
            next = storage_policy(&view, &principal.uid)?;
        }
        Ok(next)
    }

    // ---- typed look-ups for other domains ----

    /// `vmgenerator.proxmox.{url,username,node,password}` of a tenant.
    pub async fn proxmox_defaults(&self, tenant: &str) -> ApiResult<ProxmoxDefaults> {
        let Some(node) = self.stored(tenant, "vmgenerator").await? else {
            return Ok(ProxmoxDefaults::default());
        };
        let text = |field: &str| {
            node.get("proxmox")
                .and_then(|p| p.get(field))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(ProxmoxDefaults {
            url: text("url"),
            username: text("username"),
            node: text("node"),
            password: tree::open_at(
                &node,
                &["proxmox".to_owned(), "password".to_owned()],
                &self.crypto,
                &context(tenant),
            ),
        })
    }

    /// The IPQS API key (decrypted) and its switch.
    pub async fn ipqs_settings(&self, tenant: &str) -> ApiResult<IpqsSettings> {
        let Some(node) = self.stored(tenant, "api_keys").await? else {
            return Ok(IpqsSettings::default());
        };
        Ok(IpqsSettings {
            api_key: tree::open_at(
                &node,
                &["ipqs".to_owned(), "api_key".to_owned()],
                &self.crypto,
                &context(tenant),
            )
            .filter(|s| !s.is_empty()),
            enabled: node
                .get("ipqs")
                .and_then(|i| i.get("enabled"))
                .and_then(Value::as_bool),
        })
    }

    /// Which notification events are switched on (absent = off).
    pub async fn notification_events(&self, tenant: &str) -> ApiResult<NotificationEventsSettings> {
        let node = self.stored(tenant, "notifications").await?;
        Ok(node
            .as_ref()
            .and_then(|n| n.get("events"))
            .and_then(|e| serde_json::from_value(e.clone()).ok())
            .unwrap_or_default())
    }
}

fn gate(principal: &Principal, top_key: &str) -> ApiResult<()> {
    if PRIVILEGED_KEYS.contains(&top_key) && !principal.is_privileged() {
        return Err(ApiError::forbidden(format!(
            "Changing settings/{top_key} requires the admin or infra role"
        )));
    }
    Ok(())
}

/// Checks every typed node from the top-level key down to the written path, then every typed
/// node inside the written value.
fn check_path(path: &[&str], top: &Value) -> ApiResult<()> {
    for depth in 1..=path.len() {
        let prefix = &path[..depth];
        if let Some(rule) = schema::rule_for(prefix) {
            let node = prefix[1..]
                .iter()
                .try_fold(top, |n, seg| n.get(*seg))
                .unwrap_or(&Value::Null);
            rule.check(node)
                .map_err(|details| invalid(rule.code, details))?;
        }
    }
    let target = path[1..]
        .iter()
        .try_fold(top, |n, seg| n.get(*seg))
        .unwrap_or(&Value::Null);
    let mut owned: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
    check_inside(&mut owned, target)
}

/// Typed paths are at most four segments deep.
fn check_inside(path: &mut Vec<String>, value: &Value) -> ApiResult<()> {
    let Some(map) = value.as_object() else {
        return Ok(());
    };
    if path.len() >= 4 {
        return Ok(());
    }
    for (key, child) in map {
        path.push(key.clone());
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        if let Some(rule) = schema::rule_for(&names) {
            rule.check(child)
                .map_err(|details| invalid(rule.code, details))?;
        }
        check_inside(path, child)?;
        path.pop();
    }
    Ok(())
}

fn invalid(code: &'static str, details: Value) -> ApiError {
    ApiError::bad_request(code, "Invalid settings value").with_details(details)
}

/// The stored policy is always complete: defaults filled in, stamped with who changed it.
fn storage_policy(view: &Value, uid: &str) -> ApiResult<Value> {
    let update: StoragePolicyUpdate = serde_json::from_value(view.clone()).map_err(|e| {
        ApiError::bad_request(STORAGE_POLICY, "Invalid settings value")
            .with_details(json!({ "fields": { "_": [e.to_string()] } }))
    })?;
    Ok(json!({
        "secrets": "local-only",
        "operational": update.operational.unwrap_or_else(|| "local".to_owned()),
        "sync": { "enabled": update.sync.and_then(|s| s.enabled).unwrap_or(false) },
        "updated_at": now_ms(),
        "updated_by": uid,
    }))
}
