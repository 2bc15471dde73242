//! Tenant licenses, per-user module entitlements and execution leases (short-lived signed
//! tokens that let a runner in a VM use a module).

use crate::rules;
use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

pub const LICENSE_TYPES: [&str; 2] = ["subscription", "perpetual"];
pub const LICENSE_STATUSES: [&str; 3] = ["active", "expired", "revoked"];
pub const LEASE_STATUSES: [&str; 3] = ["active", "revoked", "expired"];

fn valid_license_type(value: &str, _ctx: &()) -> garde::Result {
    rules::one_of(value, &LICENSE_TYPES)
}
fn license_status(value: &str, _ctx: &()) -> garde::Result {
    rules::one_of(value, &LICENSE_STATUSES)
}
fn lease_status(value: &str, _ctx: &()) -> garde::Result {
    rules::one_of(value, &LEASE_STATUSES)
}

// ---- leases ----

/// Ask for an execution lease for `module` on a registered VM.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct LeaseRequest {
    #[garde(custom(rules::vm_uuid))]
    pub vm_uuid: String,
    /// The user the lease is for; defaults to the caller. Another user needs role infra,
    /// admin or api.
    #[garde(inner(custom(rules::name200)))]
    #[serde(default)]
    pub user_id: Option<String>,
    #[garde(custom(rules::name200))]
    pub agent_id: String,
    #[garde(custom(rules::name200))]
    pub runner_id: String,
    #[garde(custom(rules::slug))]
    pub module: String,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub version: Option<String>,
}

impl crate::validation::Input for LeaseRequest {
    const INVALID_CODE: &'static str = "INVALID_REQUEST_BODY";
}

/// A freshly issued lease. `token` is an HS256 JWT; present it to resolve downloads.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct LeaseIssued {
    pub lease_id: String,
    pub token: String,
    pub expires_at: String,
    /// Lifetime of the token; heartbeat before it ends to extend the lease.
    pub ttl_seconds: u64,
    pub tenant_id: String,
    pub user_id: String,
    pub vm_uuid: String,
    pub module: String,
    pub license_id: String,
}

impl std::fmt::Debug for LeaseIssued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseIssued")
            .field("lease_id", &self.lease_id)
            .field("token", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct LeaseHeartbeatRequest {
    #[garde(custom(rules::name200))]
    pub lease_id: String,
}

impl crate::validation::Input for LeaseHeartbeatRequest {
    const INVALID_CODE: &'static str = "INVALID_REQUEST_BODY";
}

/// The extended lease: a new token with the new expiry (the old token keeps its own,
/// earlier expiry).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct LeaseHeartbeat {
    pub lease_id: String,
    pub status: String,
    pub token: String,
    pub expires_at: String,
    pub last_heartbeat_at: String,
}

impl std::fmt::Debug for LeaseHeartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseHeartbeat")
            .field("lease_id", &self.lease_id)
            .field("token", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct LeaseRevokeRequest {
    #[garde(custom(rules::name200))]
    pub lease_id: String,
    #[garde(inner(custom(rules::text500)))]
    #[serde(default)]
    pub reason: Option<String>,
}

impl crate::validation::Input for LeaseRevokeRequest {
    const INVALID_CODE: &'static str = "INVALID_REQUEST_BODY";
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeaseRevoked {
    pub lease_id: String,
    pub status: String,
    pub revoked_at: String,
}

/// A lease as stored. `status` is `expired` once `expires_at` has passed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeaseRecord {
    pub lease_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub vm_uuid: String,
    pub module: String,
    pub version: Option<String>,
    pub agent_id: String,
    pub runner_id: String,
    pub license_id: String,
    pub status: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_heartbeat_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
}

/// `GET /license/leases`: newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaseListQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    /// `active`, `revoked` or `expired`.
    #[garde(inner(custom(lease_status)))]
    #[serde(default)]
    pub status: Option<String>,
    #[garde(inner(length(max = 128)))]
    #[serde(default)]
    pub vm_uuid: Option<String>,
    /// Only this user's leases (admins; other callers only ever see their own).
    #[garde(inner(length(max = 200)))]
    #[serde(default)]
    pub user_id: Option<String>,
}

impl crate::validation::Input for LeaseListQuery {
    const INVALID_CODE: &'static str = "LICENSE_INVALID_QUERY";
}

// ---- licenses ----

/// Grant a license: to one user, or to the whole tenant when `user_id` is absent.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct LicenseCreateRequest {
    #[garde(inner(custom(rules::name200)))]
    #[serde(default)]
    pub user_id: Option<String>,
    /// `subscription` (needs `expires_at`) or `perpetual` (has none).
    #[serde(rename = "type")]
    #[garde(custom(valid_license_type))]
    pub license_type: String,
    /// `active` (default), `expired` or `revoked`.
    #[garde(inner(custom(license_status)))]
    #[serde(default)]
    pub status: Option<String>,
    /// RFC 3339.
    #[garde(skip)]
    #[serde(default)]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    #[garde(inner(custom(rules::small_object)))]
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

impl crate::validation::Input for LicenseCreateRequest {
    const INVALID_CODE: &'static str = "LICENSE_INVALID_BODY";
}

/// Change a license; absent fields keep their value. `expires_at: null` clears the expiry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct LicenseUpdateRequest {
    #[serde(rename = "type", default)]
    #[garde(inner(custom(valid_license_type)))]
    pub license_type: Option<String>,
    #[garde(inner(custom(license_status)))]
    #[serde(default)]
    pub status: Option<String>,
    /// RFC 3339; `null` clears it (perpetual licenses).
    #[garde(skip)]
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Option<chrono::DateTime<chrono::Utc>>>,
    #[garde(inner(custom(rules::small_object)))]
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

impl crate::validation::Input for LicenseUpdateRequest {
    const INVALID_CODE: &'static str = "LICENSE_INVALID_BODY";
}

/// Tells "absent" (`None`) from "explicitly null" (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }

    pub fn serialize<T: Serialize, S: Serializer>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// A license. `active` says whether it currently satisfies the lease gate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LicenseRecord {
    pub id: String,
    pub tenant_id: String,
    /// `null`: the license covers every user of the tenant.
    pub user_id: Option<String>,
    #[serde(rename = "type")]
    pub license_type: String,
    pub status: String,
    pub active: bool,
    pub expires_at: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LicenseListQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    #[garde(inner(length(max = 200)))]
    #[serde(default)]
    pub user_id: Option<String>,
    #[garde(inner(custom(license_status)))]
    #[serde(default)]
    pub status: Option<String>,
}

impl crate::validation::Input for LicenseListQuery {
    const INVALID_CODE: &'static str = "LICENSE_INVALID_QUERY";
}

// ---- entitlements ----

/// The modules a user may lease; `"*"` allows every module.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct EntitlementPutRequest {
    #[garde(length(max = 500), inner(custom(entitlement_module)))]
    pub modules: Vec<String>,
}

fn entitlement_module(value: &str, ctx: &()) -> garde::Result {
    if value.trim() == "*" {
        return Ok(());
    }
    rules::slug(value, ctx)
}

impl crate::validation::Input for EntitlementPutRequest {
    const INVALID_CODE: &'static str = "ENTITLEMENT_INVALID_BODY";
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EntitlementRecord {
    pub tenant_id: String,
    pub user_id: String,
    pub modules: Vec<String>,
    pub updated_by: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntitlementListQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
}

impl crate::validation::Input for EntitlementListQuery {
    const INVALID_CODE: &'static str = "LICENSE_INVALID_QUERY";
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
page_of!(LeaseListQuery, LicenseListQuery, EntitlementListQuery);
