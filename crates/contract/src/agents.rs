//! Agents: pairing, registration, heartbeats, records.

use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::validation::Input;

pub const AGENT_STATUSES: [&str; 4] = ["pending", "active", "offline", "revoked"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct PairingCreateRequest {
    #[garde(inner(custom(crate::validation::not_blank), length(max = 200)))]
    #[serde(default)]
    pub name: Option<String>,
    /// Minutes until the code expires, 5..=1440 (default 15).
    #[garde(inner(range(min = 5, max = 1440)))]
    #[serde(default)]
    pub expires_in_minutes: Option<u32>,
    /// Pair on behalf of another user (admin/infra only).
    #[garde(inner(custom(crate::validation::not_blank), length(max = 200)))]
    #[serde(default)]
    pub owner_user_id: Option<String>,
}
impl Input for PairingCreateRequest {
    const INVALID_CODE: &'static str = "AGENTS_PAIRING_INVALID_BODY";
}

/// Proxmox hints carried in a pairing bundle (never secrets).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ProxmoxDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// The decoded `pairing_bundle`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PairingBundle {
    pub v: u32,
    pub pairing_code: String,
    pub server_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxmox: Option<ProxmoxDefaults>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct PairingCreated {
    pub id: String,
    pub tenant_id: String,
    pub owner_user_id: String,
    pub name: String,
    pub status: String,
    /// Single-use; shown once.
    pub pairing_code: String,
    pub pairing_expires_at: String,
    pub pairing_bundle: String,
    pub pairing_uri: String,
    pub pairing_url: Option<String>,
    pub server_url: Option<String>,
    pub proxmox_defaults: Option<ProxmoxDefaults>,
    pub created_at: String,
}

impl std::fmt::Debug for PairingCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingCreated")
            .field("id", &self.id)
            .field("pairing_code", &"<redacted>")
            .finish()
    }
}

fn capabilities_ok(value: &Option<Vec<String>>, _: &()) -> garde::Result {
    if let Some(items) = value {
        if items.len() > 50 {
            return Err(garde::Error::new("at most 50 capabilities"));
        }
        if items.iter().any(|c| c.trim().is_empty() || c.len() > 200) {
            return Err(garde::Error::new("capabilities must be 1..200 characters"));
        }
    }
    Ok(())
}

#[derive(Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct RegisterRequest {
    #[garde(length(min = 1, max = 200))]
    pub pairing_code: String,
    #[garde(inner(custom(crate::validation::not_blank), length(max = 200)))]
    #[serde(default)]
    pub machine_name: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub version: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub platform: Option<String>,
    #[garde(custom(capabilities_ok))]
    #[serde(default)]
    pub capabilities: Option<Vec<String>>,
}
impl Input for RegisterRequest {
    const INVALID_CODE: &'static str = "AGENTS_REGISTER_INVALID_BODY";
}
impl std::fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegisterRequest { pairing_code: <redacted>, .. }")
    }
}

#[derive(Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct QuickPairRequest {
    #[garde(length(min = 1, max = 320))]
    pub login: String,
    #[garde(length(min = 1, max = 512))]
    pub password: String,
    #[garde(inner(custom(crate::validation::not_blank), length(max = 200)))]
    #[serde(default)]
    pub machine_name: Option<String>,
    #[garde(inner(custom(crate::validation::not_blank), length(max = 200)))]
    #[serde(default)]
    pub name: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub version: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub platform: Option<String>,
    #[garde(custom(capabilities_ok))]
    #[serde(default)]
    pub capabilities: Option<Vec<String>>,
}
impl Input for QuickPairRequest {
    const INVALID_CODE: &'static str = "AGENTS_QUICK_PAIR_INVALID_BODY";
}
impl std::fmt::Debug for QuickPairRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuickPairRequest")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An agent as operators see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgentRecord {
    pub id: String,
    pub tenant_id: String,
    pub owner_user_id: Option<String>,
    pub name: String,
    pub status: String,
    /// Active and seen within the last 120 s.
    pub online: bool,
    pub version: Option<String>,
    pub platform: Option<String>,
    pub capabilities: Vec<String>,
    pub paired_at: Option<String>,
    pub last_seen_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoke_reason: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub created_at: String,
    pub updated_at: String,
}

/// Registration result: the agent and its token (shown once).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct AgentRegistered {
    #[serde(flatten)]
    pub agent: AgentRecord,
    pub agent_token: String,
    pub agent_token_expires_at: String,
}

impl std::fmt::Debug for AgentRegistered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentRegistered")
            .field("agent", &self.agent)
            .field("agent_token", &"<redacted>")
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct AgentTokenRotated {
    pub agent_id: String,
    pub agent_token: String,
    pub agent_token_expires_at: String,
}

impl std::fmt::Debug for AgentTokenRotated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTokenRotated")
            .field("agent_id", &self.agent_id)
            .field("agent_token", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct HeartbeatRequest {
    #[garde(custom(crate::validation::not_blank), length(max = 200))]
    pub agent_id: String,
    #[garde(inner(length(min = 1, max = 100)))]
    #[serde(default)]
    pub status: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Map<String, Value>>,
}
impl Input for HeartbeatRequest {
    const INVALID_CODE: &'static str = "AGENTS_HEARTBEAT_INVALID_BODY";
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatAck {
    pub id: String,
    pub status: String,
    pub last_seen_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentListQuery {
    /// `pending`, `active`, `offline` or `revoked`.
    #[garde(inner(pattern(r"^(pending|active|offline|revoked)$")))]
    #[serde(default)]
    pub status: Option<String>,
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
}
impl Input for AgentListQuery {
    const INVALID_CODE: &'static str = "AGENTS_LIST_INVALID_QUERY";
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct RevokeRequest {
    #[garde(inner(length(max = 500)))]
    #[serde(default)]
    pub reason: Option<String>,
}
impl Input for RevokeRequest {
    const INVALID_CODE: &'static str = "AGENTS_REVOKE_INVALID_BODY";
}
