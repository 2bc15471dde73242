//! Error codes shared by the server and its clients. Domains add their own codes beside their
//! handlers; the ones here are used across the whole API.

pub const BAD_REQUEST: &str = "BAD_REQUEST";
pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
pub const INVALID_OR_MISSING_BEARER_TOKEN: &str = "INVALID_OR_MISSING_BEARER_TOKEN";
pub const MISSING_BEARER_TOKEN: &str = "MISSING_BEARER_TOKEN";
pub const INVALID_CREDENTIALS: &str = "INVALID_CREDENTIALS";
pub const INVALID_REFRESH_TOKEN: &str = "INVALID_REFRESH_TOKEN";
pub const REFRESH_TOKEN_REUSED: &str = "REFRESH_TOKEN_REUSED";
pub const FORBIDDEN: &str = "FORBIDDEN";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
pub const CONFLICT: &str = "CONFLICT";
pub const RATE_LIMITED: &str = "RATE_LIMITED";
pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
