//! The authentication guard in front of every protected route: resolves the bearer and applies
//! `AUTH_MODE`.

use super::principal::{AuthKind, Principal, ROLE_USER};
use crate::app::AppState;
use crate::config::AuthMode;
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use botmox_contract::error_code;

pub async fn require_identity(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let raw = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let principal = match state.auth.authenticate(raw).await {
        Some(p) => p,
        None => match state.config.auth_mode {
            AuthMode::Enforced => {
                return ApiError::unauthorized(
                    error_code::INVALID_OR_MISSING_BEARER_TOKEN,
                    "Invalid or missing bearer token",
                )
                .into_response();
            }
            AuthMode::Shadow => shadow(&state.config.shadow_tenant_id),
        },
    };
    let span = tracing::Span::current();
    span.record("tenant", principal.tenant_id.as_str());
    span.record("user", principal.uid.as_str());
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// The identity a request without valid credentials takes in shadow mode.
pub fn shadow(tenant: &str) -> Principal {
    Principal {
        kind: AuthKind::Shadow,
        uid: "shadow-user".to_owned(),
        email: "shadow-user@local".to_owned(),
        tenant_id: tenant.to_owned(),
        roles: vec![ROLE_USER.to_owned()],
        token_id: None,
        token_exp: None,
        agent_id: None,
    }
}
