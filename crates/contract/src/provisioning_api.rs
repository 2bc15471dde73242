//! The provisioning HTTP API: stored unattend profiles, ISO payload generation, and the
//! VM-facing token endpoints the bootstrap script calls.

use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::provisioning::{ProvisionIp, UnattendProfileConfig};
use crate::validation::Input;

/// Longest step name a VM may report.
pub const STEP_MAX: usize = 200;
/// Longest progress message.
pub const MESSAGE_MAX: usize = 2000;
/// Longest token accepted on the VM-facing endpoints (ours are 48 characters).
pub const TOKEN_MAX: usize = 512;
/// The step whose `completed` report ends provisioning and uses up the token.
pub const FINAL_STEP: &str = "completed";

// ---------------------------------------------------------------------------------------------
// Profiles

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnattendProfile {
    /// `profile-<uuid>`.
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub config: UnattendProfileConfig,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct UnattendProfileCreateRequest {
    #[garde(custom(crate::validation::not_blank), length(chars, max = 200))]
    pub name: String,
    #[garde(skip)]
    #[serde(default)]
    pub is_default: Option<bool>,
    #[garde(dive)]
    pub config: UnattendProfileConfig,
}

impl Input for UnattendProfileCreateRequest {
    const INVALID_CODE: &'static str = "PROVISIONING_INVALID_PROFILE_CREATE_BODY";
}

/// Every field optional, at least one required; `config` replaces the whole profile.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct UnattendProfileUpdateRequest {
    #[garde(inner(custom(crate::validation::not_blank), length(chars, max = 200)))]
    #[serde(default)]
    pub name: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    pub is_default: Option<bool>,
    #[garde(dive)]
    #[serde(default)]
    pub config: Option<UnattendProfileConfig>,
}

impl UnattendProfileUpdateRequest {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.is_default.is_none() && self.config.is_none()
    }
}

impl Input for UnattendProfileUpdateRequest {
    const INVALID_CODE: &'static str = "PROVISIONING_INVALID_PROFILE_UPDATE_BODY";
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnattendProfileDeleted {
    pub id: String,
    pub deleted: bool,
}

// ---------------------------------------------------------------------------------------------
// Payload generation

fn vm_uuid_text(value: &str, _: &()) -> garde::Result {
    if is_vm_uuid(value) {
        Ok(())
    } else {
        Err(garde::Error::new("must be 1 to 64 letters, digits or '-'"))
    }
}

/// The form of a VM UUID (the SMBIOS UUID Proxmox reports; any case).
pub fn is_vm_uuid(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Build the config ISO for one VM from a stored profile (`profile_id`) or an inline one
/// (`profile_config`, which wins when both are given).
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct GenerateIsoRequest {
    #[garde(custom(vm_uuid_text))]
    pub vm_uuid: String,
    #[garde(length(chars, max = 200))]
    #[serde(default)]
    pub vm_name: Option<String>,
    #[garde(inner(length(min = 1, max = 128)))]
    #[serde(default)]
    pub profile_id: Option<String>,
    #[garde(dive)]
    #[serde(default)]
    pub profile_config: Option<UnattendProfileConfig>,
    /// Static IPv4 settings; without them the VM keeps DHCP (unless the profile needs static).
    #[garde(dive)]
    #[serde(default)]
    pub ip: Option<ProvisionIp>,
    /// Position in a batch, for the `sequential` user name suffix.
    #[garde(skip)]
    #[serde(default)]
    pub sequence: Option<u32>,
    /// Playbook put on the ISO as `playbook.yml`; without it the tenant's default playbook
    /// (if any) is used.
    #[garde(inner(length(min = 1, max = 128)))]
    #[serde(default)]
    pub playbook_id: Option<String>,
}

impl Input for GenerateIsoRequest {
    const INVALID_CODE: &'static str = "PROVISIONING_INVALID_GENERATE_BODY";
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GeneratedIso {
    /// The provisioning token, shown once (it is also inside `provision.json` on the ISO).
    pub token: String,
    pub token_id: String,
    pub vm_uuid: String,
    pub iso_object_key: String,
    /// Where the agent downloads the ISO (authenticated).
    pub iso_url: String,
    /// Lower-case hex SHA-256 of the ISO.
    pub sha256: String,
    pub size: u64,
    /// File names on the ISO.
    pub files: Vec<String>,
    pub computer_name: String,
    pub username: String,
    /// The playbook on the ISO as `playbook.yml`, if any.
    pub playbook_id: Option<String>,
    pub expires_at: String,
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// A provisioning token as the UI sees it (never the secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProvisioningTokenRecord {
    pub id: String,
    pub vm_uuid: String,
    /// `active`, `used`, `expired` or `revoked`.
    pub status: String,
    pub issued_at: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct ValidateTokenRequest {
    #[garde(length(min = 1, max = TOKEN_MAX))]
    pub token: String,
    #[garde(custom(vm_uuid_text))]
    pub vm_uuid: String,
}

impl Input for ValidateTokenRequest {
    const INVALID_CODE: &'static str = "PROVISIONING_INVALID_VALIDATE_BODY";
}

/// What `START.ps1` reads: `valid`, and `bootstrap_url` (the next-stage downloader, when the
/// server offers one).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenValidation {
    pub valid: bool,
    pub vm_uuid: String,
    pub token_id: String,
    pub expires_at: String,
    pub bootstrap_url: Option<String>,
    pub app_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProgressStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

impl ProgressStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

fn step_text(value: &str, _: &()) -> garde::Result {
    let ok = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must be letters, digits, '_', '-', '.' or ':'",
        ))
    }
}

fn details_object(value: &Option<serde_json::Value>, _: &()) -> garde::Result {
    match value {
        None | Some(serde_json::Value::Object(_)) => Ok(()),
        Some(_) => Err(garde::Error::new("must be an object")),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct ReportProgressRequest {
    #[garde(length(min = 1, max = TOKEN_MAX))]
    pub token: String,
    #[garde(custom(vm_uuid_text))]
    pub vm_uuid: String,
    /// `windows_installed`, `downloader_ready`, `app_downloaded`, `playbook_running`,
    /// `completed`, or any other step name.
    #[garde(length(min = 1, max = STEP_MAX), custom(step_text))]
    pub step: String,
    #[garde(skip)]
    pub status: ProgressStatus,
    #[garde(inner(length(chars, max = MESSAGE_MAX)))]
    #[serde(default)]
    pub message: Option<String>,
    /// Percent done, 0–100.
    #[garde(inner(range(max = 100)))]
    #[serde(default)]
    pub progress: Option<u8>,
    /// Free-form object (what the bootstrap sends).
    #[garde(custom(details_object))]
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl Input for ReportProgressRequest {
    const INVALID_CODE: &'static str = "PROVISIONING_INVALID_REPORT_BODY";
}

/// One progress report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgressEvent {
    pub id: String,
    pub vm_uuid: String,
    pub token_id: String,
    pub step: String,
    pub status: ProgressStatus,
    pub message: Option<String>,
    pub progress: Option<u8>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub created_at: String,
}

/// A VM's provisioning so far.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProvisioningProgress {
    pub vm_uuid: String,
    /// `not_started` (token issued, nothing reported), `pending`, `running`, `completed` or
    /// `failed`: the status of the latest report.
    pub state: String,
    /// The latest reported step.
    pub current_step: Option<String>,
    /// Reports, oldest first.
    pub events: Vec<ProgressEvent>,
    /// The VM's latest token.
    pub token: Option<ProvisioningTokenRecord>,
    pub updated_at: String,
}
