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
