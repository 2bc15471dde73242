//! VM registry: which VMs exist, who owns them, and whether they may run licensed modules.

use crate::rules;
use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

pub const VM_STATUSES: [&str; 3] = ["active", "paused", "revoked"];

fn vm_status(value: &str, _ctx: &()) -> garde::Result {
    rules::one_of(value, &VM_STATUSES)
}

/// Register a VM or update its registration (upsert on `vm_uuid`, which is lower-cased).
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct VmRegisterRequest {
    #[garde(custom(rules::vm_uuid))]
    pub vm_uuid: String,
    /// Owner; defaults to the caller. Another user's id needs role infra, admin or api.
    #[garde(inner(custom(rules::name200)))]
    #[serde(default)]
    pub user_id: Option<String>,
    #[garde(inner(length(max = 200)))]
    #[serde(default)]
    pub vm_name: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub project_id: Option<String>,
    /// `active` (default), `paused` or `revoked`.
    #[garde(inner(custom(vm_status)))]
    #[serde(default)]
    pub status: Option<String>,
    #[garde(inner(custom(rules::small_object)))]
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

impl crate::validation::Input for VmRegisterRequest {
    const INVALID_CODE: &'static str = "VM_REGISTER_INVALID_BODY";
}

/// Change a VM's status.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct VmStatusRequest {
    /// `active`, `paused` or `revoked`.
    #[garde(custom(vm_status))]
    pub status: String,
}

impl crate::validation::Input for VmStatusRequest {
    const INVALID_CODE: &'static str = "VM_STATUS_INVALID_BODY";
}

/// A registered VM.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VmRecord {
    pub tenant_id: String,
    pub vm_uuid: String,
    pub user_id: String,
    pub vm_name: String,
    pub project_id: String,
    pub status: String,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /vm`: newest registrations first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VmListQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    /// 1..=500, default 50.
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only VMs with this status.
    #[garde(inner(custom(vm_status)))]
    #[serde(default)]
    pub status: Option<String>,
    /// Only VMs of this owner (operators; other callers only ever see their own).
    #[garde(inner(length(max = 200)))]
    #[serde(default)]
    pub user_id: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub project_id: Option<String>,
}

impl crate::validation::Input for VmListQuery {
    const INVALID_CODE: &'static str = "VM_LIST_INVALID_QUERY";
}

impl VmListQuery {
    pub fn page(&self) -> crate::pagination::PageQuery {
        crate::pagination::PageQuery {
            cursor: self.cursor.clone(),
            limit: self.limit,
        }
    }
}
