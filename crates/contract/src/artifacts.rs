//! Artifact releases (binaries of modules), their upload, per-user and tenant-default
//! assignments, lease-gated download resolution and its audit trail.

use crate::rules;
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const RELEASE_STATUSES: [&str; 4] = ["draft", "active", "disabled", "archived"];
pub const DEFAULT_CHANNEL: &str = "stable";
pub const DEFAULT_PLATFORM: &str = "windows";

fn release_status(value: &str, _ctx: &()) -> garde::Result {
    rules::one_of(value, &RELEASE_STATUSES)
}

fn sha256_hex(value: &str, _ctx: &()) -> garde::Result {
    let v = value.trim();
    if v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(garde::Error::new("must be 64 hexadecimal characters"))
    }
}

fn valid_file_name(value: &str, _ctx: &()) -> garde::Result {
    let v = value.trim();
    if v.is_empty() || v.len() > 200 {
        return Err(garde::Error::new("must be 1 to 200 characters"));
    }
    if v == "." || v == ".." {
        return Err(garde::Error::new("must be a file name"));
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
    {
        return Err(garde::Error::new(
            "may contain only letters, digits, '.', '_', '-' and '+'",
        ));
    }
    Ok(())
}

/// Declare a release. The binary is uploaded afterwards with
/// `PUT /artifacts/releases/{id}/binary`; it must match `sha256` and `size_bytes`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct ReleaseCreateRequest {
    #[garde(custom(rules::slug))]
    pub module: String,
    #[garde(custom(rules::slug))]
    pub platform: String,
    /// Default `stable`.
    #[garde(inner(custom(rules::slug)))]
    #[serde(default)]
    pub channel: Option<String>,
    #[garde(custom(rules::name100))]
    pub version: String,
    #[garde(custom(sha256_hex))]
    pub sha256: String,
    #[garde(range(min = 1))]
    pub size_bytes: i64,
    /// `draft`, `active` (default), `disabled` or `archived`.
    #[garde(inner(custom(release_status)))]
    #[serde(default)]
    pub status: Option<String>,
    /// Name offered to downloaders; default `<module>-<version>.bin`.
    #[garde(inner(custom(valid_file_name)))]
    #[serde(default)]
    pub file_name: Option<String>,
}

impl crate::validation::Input for ReleaseCreateRequest {
    const INVALID_CODE: &'static str = "INVALID_REQUEST_BODY";
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct ReleaseUpdateRequest {
    #[garde(custom(release_status))]
    pub status: String,
}

impl crate::validation::Input for ReleaseUpdateRequest {
    const INVALID_CODE: &'static str = "INVALID_REQUEST_BODY";
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReleaseRecord {
    pub id: String,
    pub tenant_id: String,
    pub module: String,
    pub platform: String,
    pub channel: String,
    pub version: String,
    /// Where the binary lives in the object store (chosen by the server at upload).
    pub object_key: Option<String>,
    pub sha256: String,
    pub size_bytes: i64,
    pub status: String,
    pub file_name: String,
    /// Whether the binary has been uploaded and verified.
    pub uploaded: bool,
    pub uploaded_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReleaseListQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub module: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub platform: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub channel: Option<String>,
    #[garde(inner(custom(release_status)))]
    #[serde(default)]
    pub status: Option<String>,
}

impl crate::validation::Input for ReleaseListQuery {
    const INVALID_CODE: &'static str = "INVALID_QUERY_PARAMS";
}

/// Assign a release to a user, or as the tenant default when `user_id` is absent.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct AssignRequest {
    #[garde(inner(custom(rules::name200)))]
    #[serde(default)]
    pub user_id: Option<String>,
    #[garde(custom(rules::slug))]
    pub module: String,
    #[garde(custom(rules::slug))]
    pub platform: String,
    #[garde(inner(custom(rules::slug)))]
    #[serde(default)]
    pub channel: Option<String>,
    #[garde(custom(rules::name200))]
    pub release_id: String,
}

impl crate::validation::Input for AssignRequest {
    const INVALID_CODE: &'static str = "INVALID_REQUEST_BODY";
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AssignmentRecord {
    pub id: String,
    pub tenant_id: String,
    pub module: String,
    pub platform: String,
    pub channel: String,
    /// `null` for the tenant default.
    pub user_id: Option<String>,
    pub release_id: String,
    pub is_default: bool,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /artifacts/assign/{user_id}/{module}`: empty values count as absent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EffectiveAssignmentQuery {
    /// Default `windows`.
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub platform: Option<String>,
    /// Default `stable`.
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub channel: Option<String>,
}

impl crate::validation::Input for EffectiveAssignmentQuery {
    const INVALID_CODE: &'static str = "INVALID_QUERY_PARAMS";
}

/// The user's own assignment wins over the tenant default.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EffectiveAssignment {
    pub user_assignment: Option<AssignmentRecord>,
    pub default_assignment: Option<AssignmentRecord>,
    pub effective_assignment: Option<AssignmentRecord>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssignmentListQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub module: Option<String>,
    /// A user's id, or `__default__` for tenant defaults.
    #[garde(inner(length(max = 200)))]
    #[serde(default)]
    pub user_id: Option<String>,
}

impl crate::validation::Input for AssignmentListQuery {
    const INVALID_CODE: &'static str = "INVALID_QUERY_PARAMS";
}

/// Exchange a valid execution lease for a short-lived download URL of the assigned release.
#[derive(Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct ResolveDownloadRequest {
    #[garde(length(min = 1, max = 4096))]
    pub lease_token: String,
    #[garde(custom(rules::vm_uuid))]
    pub vm_uuid: String,
    #[garde(custom(rules::slug))]
    pub module: String,
    #[garde(custom(rules::slug))]
    pub platform: String,
    #[garde(inner(custom(rules::slug)))]
    #[serde(default)]
    pub channel: Option<String>,
}

impl std::fmt::Debug for ResolveDownloadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolveDownloadRequest")
            .field("lease_token", &"<redacted>")
            .field("vm_uuid", &self.vm_uuid)
            .field("module", &self.module)
            .finish()
    }
}

impl crate::validation::Input for ResolveDownloadRequest {
    const INVALID_CODE: &'static str = "INVALID_REQUEST_BODY";
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResolveDownloadResponse {
    /// A presigned S3 GET URL, or a URL of this server signed by it (embedded storage).
    pub download_url: String,
    pub expires_at: String,
    pub release_id: String,
    pub version: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub file_name: String,
    pub module: String,
    pub platform: String,
    pub channel: String,
    /// `s3` or `embedded`.
    pub storage: String,
}

/// One resolve or download attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DownloadAuditRecord {
    pub id: String,
    pub tenant_id: String,
    /// `resolve_success`, `resolve_denied`, `resolve_error`, `download_served` or
    /// `download_denied`.
    pub event_type: String,
    /// `allowed`, `denied` or `error`.
    pub result: String,
    /// `OK` or the error code the caller got.
    pub reason: String,
    pub lease_id: Option<String>,
    pub user_id: Option<String>,
    pub actor_uid: Option<String>,
    pub vm_uuid: Option<String>,
    pub module: Option<String>,
    pub platform: Option<String>,
    pub channel: Option<String>,
    pub release_id: Option<String>,
    pub request_ip: Option<String>,
    pub url_expires_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    #[garde(inner(length(max = 20)))]
    #[serde(default)]
    pub result: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub reason: Option<String>,
    #[garde(inner(length(max = 128)))]
    #[serde(default)]
    pub vm_uuid: Option<String>,
    #[garde(inner(length(max = 200)))]
    #[serde(default)]
    pub lease_id: Option<String>,
}

impl crate::validation::Input for AuditListQuery {
    const INVALID_CODE: &'static str = "INVALID_QUERY_PARAMS";
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
page_of!(ReleaseListQuery, AssignmentListQuery, AuditListQuery);

/// Raw bytes of a binary (`application/octet-stream`), for the OpenAPI document.
#[derive(Debug, Clone, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(pub Vec<u8>);
