//! The server-blind vault: clients encrypt secrets before sending them; the server keeps
//! only ciphertext, its metadata, and bindings of secrets to bots, VMs, agents or the tenant.

use crate::rules;
use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

pub const SCOPE_TYPES: [&str; 4] = ["bot", "vm", "agent", "tenant"];
pub const DEFAULT_ALG: &str = "AES-256-GCM";
pub const DEFAULT_KIND: &str = "generic";
/// Largest accepted ciphertext (as sent, e.g. base64).
pub const MAX_CIPHERTEXT: usize = 65_536;

fn valid_scope_type(value: &str, _ctx: &()) -> garde::Result {
    rules::one_of(value, &SCOPE_TYPES)
}

fn valid_labels(value: &BTreeMap<String, String>, _ctx: &()) -> garde::Result {
    if value.len() > 50 {
        return Err(garde::Error::new("at most 50 labels"));
    }
    for (k, v) in value {
        if k.trim().is_empty() || k.len() > 100 || v.len() > 200 {
            return Err(garde::Error::new(
                "label keys must be 1 to 100 characters and values at most 200",
            ));
        }
    }
    Ok(())
}

/// Store a client-encrypted secret.
#[derive(Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct SecretCreateRequest {
    /// Display name.
    #[garde(custom(rules::name200))]
    pub label: String,
    /// Free classification, e.g. `proxmox_password`, `api_key`; default `generic`.
    #[garde(inner(custom(rules::slug)))]
    #[serde(default)]
    pub kind: Option<String>,
    #[garde(inner(custom(valid_labels)))]
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Ciphertext as produced by the client (e.g. base64); never decrypted by the server.
    #[garde(length(min = 1, max = MAX_CIPHERTEXT))]
    pub ciphertext: String,
    #[garde(length(min = 1, max = 200))]
    pub nonce: String,
    /// Default `AES-256-GCM`.
    #[garde(inner(length(min = 1, max = 50)))]
    #[serde(default)]
    pub alg: Option<String>,
    /// Id of the client-side key that encrypted it.
    #[garde(custom(rules::name200))]
    pub key_id: String,
    #[garde(inner(custom(rules::small_object)))]
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub aad_meta: Option<Map<String, Value>>,
}

impl std::fmt::Debug for SecretCreateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCreateRequest")
            .field("label", &self.label)
            .field("ciphertext", &"<redacted>")
            .finish()
    }
}

impl crate::validation::Input for SecretCreateRequest {
    const INVALID_CODE: &'static str = "SECRETS_INVALID_CREATE_BODY";
}

/// Replace a secret's ciphertext (new material version).
#[derive(Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct SecretRotateRequest {
    #[garde(length(min = 1, max = MAX_CIPHERTEXT))]
    pub ciphertext: String,
    #[garde(length(min = 1, max = 200))]
    pub nonce: String,
    /// Default: the current algorithm.
    #[garde(inner(length(min = 1, max = 50)))]
    #[serde(default)]
    pub alg: Option<String>,
    #[garde(custom(rules::name200))]
    pub key_id: String,
    /// Replaces the current value when given.
    #[garde(inner(custom(rules::small_object)))]
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub aad_meta: Option<Map<String, Value>>,
}

impl std::fmt::Debug for SecretRotateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRotateRequest")
            .field("key_id", &self.key_id)
            .field("ciphertext", &"<redacted>")
            .finish()
    }
}

impl crate::validation::Input for SecretRotateRequest {
    const INVALID_CODE: &'static str = "SECRETS_INVALID_ROTATE_BODY";
}

/// What the server knows about a secret, without the ciphertext.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SecretMeta {
    pub id: String,
    pub tenant_id: String,
    pub label: String,
    pub kind: String,
    pub labels: BTreeMap<String, String>,
    pub alg: String,
    pub key_id: String,
    pub material_version: i32,
    #[schema(value_type = Object)]
    pub aad_meta: Value,
    pub created_by: String,
    pub rotated_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Metadata plus the ciphertext, for the client to decrypt.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretMaterial {
    #[serde(flatten)]
    pub meta: SecretMeta,
    pub ciphertext: String,
    pub nonce: String,
}

impl std::fmt::Debug for SecretMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretMaterial")
            .field("meta", &self.meta)
            .field("ciphertext", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SecretListQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub kind: Option<String>,
}

impl crate::validation::Input for SecretListQuery {
    const INVALID_CODE: &'static str = "SECRETS_INVALID_LIST_QUERY";
}

/// Bind a secret to a field of a bot, VM, agent or the tenant (upsert on scope + field).
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct BindingCreateRequest {
    /// `bot`, `vm`, `agent` or `tenant`.
    #[garde(custom(valid_scope_type))]
    pub scope_type: String,
    #[garde(custom(rules::name200))]
    pub scope_id: String,
    /// Id of a secret of the tenant.
    #[garde(custom(rules::name200))]
    pub secret_ref: String,
    #[garde(custom(rules::name200))]
    pub field_name: String,
}

impl crate::validation::Input for BindingCreateRequest {
    const INVALID_CODE: &'static str = "SECRETS_INVALID_BINDING_CREATE_BODY";
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BindingRecord {
    pub id: String,
    pub tenant_id: String,
    pub scope_type: String,
    pub scope_id: String,
    pub secret_ref: String,
    pub field_name: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Empty values count as absent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BindingListQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    #[garde(inner(custom(blank_or_scope_type)))]
    #[serde(default)]
    pub scope_type: Option<String>,
    #[garde(inner(length(max = 200)))]
    #[serde(default)]
    pub scope_id: Option<String>,
}

fn blank_or_scope_type(value: &str, ctx: &()) -> garde::Result {
    if value.trim().is_empty() {
        Ok(())
    } else {
        valid_scope_type(value, ctx)
    }
}

impl crate::validation::Input for BindingListQuery {
    const INVALID_CODE: &'static str = "SECRETS_INVALID_BINDINGS_LIST_QUERY";
}

/// Result of a key rotation of the server-side envelope encryption.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnvelopeRotated {
    /// The data key new encryptions use.
    pub active_key_id: String,
    /// Fingerprint of the master key that now wraps every data key.
    pub master_key_id: String,
    /// Data keys re-wrapped.
    pub rewrapped: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

macro_rules! page_of {
    ($($t:ty),*) => {$(
        impl $t {
            pub fn page(&self) -> crate::pagination::PageQuery {
                crate::pagination::PageQuery { cursor: self.cursor.clone(), limit: self.limit }
            }
        }
    )*};
}
page_of!(SecretListQuery, BindingListQuery);
