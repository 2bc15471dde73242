//! Field-level validation results in the shape the error envelope carries:
//! `details: {"fields": {"email": ["not a valid email address"]}}`.

use std::collections::BTreeMap;

/// Turns a garde report into `{field: [messages]}`; the root path is reported as `_`.
pub fn field_errors(report: &garde::Report) -> BTreeMap<String, Vec<String>> {
    let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, error) in report.iter() {
        // Fields named with raw identifiers (`r#type`) are reported by their wire name.
        let key = path.to_string().replace("r#", "");
        let key = if key.is_empty() { "_".to_owned() } else { key };
        fields
            .entry(key)
            .or_default()
            .push(error.message().to_string());
    }
    fields
}

/// Rejects strings that are empty after trimming (garde has no such rule built in).
pub fn not_blank(value: &str, _ctx: &()) -> garde::Result {
    if value.trim().is_empty() {
        return Err(garde::Error::new("must not be blank"));
    }
    Ok(())
}

/// A request body or query type: names the error code its validation failures carry.
pub trait Input: garde::Validate<Context = ()> {
    const INVALID_CODE: &'static str = crate::error_code::VALIDATION_ERROR;
}

impl Input for crate::auth::LoginRequest {}
impl Input for crate::auth::RefreshRequest {}
impl Input for crate::auth::LogoutRequest {}
impl Input for crate::auth::ApiTokenCreateRequest {}

impl Input for crate::settings::StoragePolicyUpdate {
    const INVALID_CODE: &'static str = "SETTINGS_INVALID_STORAGE_POLICY_BODY";
}
impl Input for crate::themes::PresignUploadRequest {
    const INVALID_CODE: &'static str = "THEME_ASSET_INVALID_PRESIGN_BODY";
}
impl Input for crate::themes::CompleteUploadRequest {
    const INVALID_CODE: &'static str = "THEME_ASSET_INVALID_COMPLETE_BODY";
}
impl Input for crate::themes::DirectUploadQuery {
    const INVALID_CODE: &'static str = "THEME_ASSET_INVALID_UPLOAD_QUERY";
}
impl Input for crate::themes::ImageQuery {
    const INVALID_CODE: &'static str = "THEME_ASSET_INVALID_IMAGE_QUERY";
}
impl Input for crate::playbooks::PlaybookCreateRequest {
    const INVALID_CODE: &'static str = "PLAYBOOK_INVALID_CREATE_BODY";
}
impl Input for crate::playbooks::PlaybookUpdateRequest {
    const INVALID_CODE: &'static str = "PLAYBOOK_INVALID_UPDATE_BODY";
}
impl Input for crate::playbooks::PlaybookValidateRequest {
    const INVALID_CODE: &'static str = "PLAYBOOK_INVALID_VALIDATE_BODY";
}
impl Input for crate::ipqs::IpqsCheckRequest {
    const INVALID_CODE: &'static str = "IPQS_INVALID_CHECK_BODY";
}
impl Input for crate::ipqs::IpqsBatchRequest {
    const INVALID_CODE: &'static str = "IPQS_INVALID_CHECK_BATCH_BODY";
}
impl Input for crate::names::WowNamesQuery {
    const INVALID_CODE: &'static str = "WOW_NAMES_INVALID_QUERY";
}
impl Input for crate::audit::AuditQuery {
    const INVALID_CODE: &'static str = "AUDIT_INVALID_QUERY";
}
