//! Who is calling: the identity every service receives, and role gates handlers declare.

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use botmox_contract::auth::WhoAmI;
use botmox_contract::error_code;
use std::marker::PhantomData;

pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_INFRA: &str = "infra";
pub const ROLE_API: &str = "api";
pub const ROLE_USER: &str = "user";
pub const ROLE_AGENT: &str = "agent";

/// Roles a user or API token may hold.
pub const ASSIGNABLE_ROLES: [&str; 4] = [ROLE_ADMIN, ROLE_INFRA, ROLE_API, ROLE_USER];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// A user's access JWT from `/auth/login` or `/auth/refresh`.
    Session,
    /// A long-lived API token.
    ApiToken,
    /// A third-party (Supabase-style) JWT.
    External,
    /// An agent's token.
    Agent,
    /// No valid credentials, `AUTH_MODE=shadow`.
    Shadow,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Session => "session",
            AuthKind::ApiToken => "api_token",
            AuthKind::External => "external",
            AuthKind::Agent => "agent",
            AuthKind::Shadow => "shadow",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: AuthKind,
    /// User id, `apitoken:<id>` or `agent:<id>`.
    pub uid: String,
    pub email: String,
    /// Trimmed and lower-cased once, here.
    pub tenant_id: String,
    pub roles: Vec<String>,
    /// `jti` of a JWT or id of an API token.
    pub token_id: Option<String>,
    /// Expiry of the presented token (epoch seconds), when it has one.
    pub token_exp: Option<i64>,
    pub agent_id: Option<String>,
}

impl Principal {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    pub fn has_any_role(&self, roles: &[&str]) -> bool {
        roles.iter().any(|r| self.has_role(r))
    }

    /// `admin` or `infra`: may act on other users' objects inside the tenant.
    pub fn is_privileged(&self) -> bool {
        self.has_any_role(&[ROLE_ADMIN, ROLE_INFRA])
    }

    pub fn whoami(&self) -> WhoAmI {
        WhoAmI {
            uid: self.uid.clone(),
            email: self.email.clone(),
            roles: self.roles.clone(),
            tenant_id: self.tenant_id.clone(),
            auth_kind: self.kind.as_str().to_owned(),
        }
    }
}

/// Normalises a tenant id the one way the whole server uses.
pub fn normalize_tenant(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Extracts the caller; a route without an identity (should not happen behind the guard)
/// answers 401.
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::unauthorized(
                error_code::INVALID_OR_MISSING_BEARER_TOKEN,
                "Invalid or missing bearer token",
            )
        })
    }
}

/// A set of roles, any one of which opens a gate.
pub trait RoleSet: Send + Sync + 'static {
    const ROLES: &'static [&'static str];
}

/// Admins only.
pub struct Admin;
impl RoleSet for Admin {
    const ROLES: &'static [&'static str] = &[ROLE_ADMIN];
}

/// `admin` or `infra`.
pub struct Privileged;
impl RoleSet for Privileged {
    const ROLES: &'static [&'static str] = &[ROLE_ADMIN, ROLE_INFRA];
}

/// `api`, `admin` or `infra` (machine and operator callers).
pub struct Operator;
impl RoleSet for Operator {
    const ROLES: &'static [&'static str] = &[ROLE_API, ROLE_ADMIN, ROLE_INFRA];
}

/// Any member of a tenant (`admin`, `infra`, `api`, `user`); agents' tokens are kept out.
pub struct Member;
impl RoleSet for Member {
    const ROLES: &'static [&'static str] = &[ROLE_ADMIN, ROLE_INFRA, ROLE_API, ROLE_USER];
}

/// An agent's own token.
pub struct AgentRole;
impl RoleSet for AgentRole {
    const ROLES: &'static [&'static str] = &[ROLE_AGENT];
}

/// A handler argument that admits only callers holding one of `R::ROLES`; anyone else gets
/// 403 `FORBIDDEN`.
pub struct Require<R: RoleSet>(pub Principal, PhantomData<R>);

impl<R: RoleSet> std::ops::Deref for Require<R> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S: Send + Sync, R: RoleSet> FromRequestParts<S> for Require<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.has_any_role(R::ROLES) {
            Ok(Require(principal, PhantomData))
        } else {
            Err(ApiError::forbidden(format!(
                "This action requires one of the roles: {}",
                R::ROLES.join(", ")
            )))
        }
    }
}
