//! Authentication requests and responses.

use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    #[garde(email, length(max = 320))]
    pub email: String,
    #[garde(length(min = 1, max = 1024))]
    #[schema(format = Password)]
    pub password: String,
}

/// A freshly issued session: a short-lived access JWT and a rotating refresh token.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_at: String,
    pub user: WhoAmI,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("user", &self.user)
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    #[garde(length(min = 1, max = 512))]
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest { refresh_token: <redacted> }")
    }
}

#[derive(Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct LogoutRequest {
    /// The session's refresh token; its whole rotation family is revoked.
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for LogoutRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogoutRequest { refresh_token: <redacted> }")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogoutResponse {
    pub revoked: bool,
}

/// The caller as the server sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct WhoAmI {
    pub uid: String,
    pub email: String,
    pub roles: Vec<String>,
    pub tenant_id: String,
    /// `session`, `api_token`, `external`, `agent` or `shadow`.
    pub auth_kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VerifyResponse {
    pub valid: bool,
}

/// A user of the caller's tenant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserRecord {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct ApiTokenCreateRequest {
    #[garde(custom(crate::validation::not_blank), length(max = 200))]
    pub name: String,
    /// Roles the token carries; a subset of `admin|infra|api|user`.
    #[garde(length(min = 1, max = 4), inner(pattern(r"^(admin|infra|api|user)$")))]
    pub roles: Vec<String>,
    /// Lifetime in days; omitted = never expires.
    #[garde(inner(range(min = 1, max = 3650)))]
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// An API token's metadata. The token itself is only in [`ApiTokenCreated`].
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiTokenRecord {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub roles: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiTokenCreated {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub record: ApiTokenRecord,
}

impl std::fmt::Debug for ApiTokenCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiTokenCreated")
            .field("token", &"<redacted>")
            .field("record", &self.record)
            .finish()
    }
}

/// Acknowledges a revocation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Revoked {
    pub id: String,
    pub revoked: bool,
}
