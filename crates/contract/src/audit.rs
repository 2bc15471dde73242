//! The audit log of mutating API requests.

use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

fn mutating_method(value: &Option<String>, _ctx: &()) -> garde::Result {
    match value.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("POST" | "PUT" | "PATCH" | "DELETE") => Ok(()),
        Some(_) => Err(garde::Error::new("must be POST, PUT, PATCH or DELETE")),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditActor {
    pub uid: String,
    pub email: String,
    /// `session`, `api_token`, `external`, `agent` or `shadow`.
    pub auth_kind: String,
    pub roles: Vec<String>,
}

/// One mutating request: who, what, outcome. Bodies are described by their shape only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at: String,
    pub tenant_id: String,
    pub actor: AuditActor,
    pub method: String,
    /// Route template, e.g. `/api/v1/playbooks/{id}`.
    pub route: String,
    pub path: String,
    pub target_id: Option<String>,
    pub status: i32,
    pub duration_ms: i64,
    pub request_id: Option<String>,
    /// `{type:"object", keys:[…≤20]}`, `{type:"array", length}`, `{type:"binary", bytes}`,
    /// `{type:"empty"}`, or `{type:<scalar type>}`. Never values.
    #[schema(value_type = Object)]
    pub body_shape: Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    /// Actor uid or email (exact).
    #[garde(inner(length(min = 1, max = 320)))]
    #[serde(default)]
    pub actor: Option<String>,
    /// `POST`, `PUT`, `PATCH` or `DELETE` (any case).
    #[garde(custom(mutating_method))]
    #[serde(default)]
    pub method: Option<String>,
    /// Route template (exact), e.g. `/api/v1/playbooks/{id}`.
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub route: Option<String>,
    #[garde(inner(range(min = 100, max = 599)))]
    #[serde(default)]
    pub status: Option<u16>,
    /// Entries at or after this time (RFC 3339).
    #[garde(skip)]
    #[serde(default)]
    pub from: Option<String>,
    /// Entries before this time (RFC 3339).
    #[garde(skip)]
    #[serde(default)]
    pub to: Option<String>,
}
