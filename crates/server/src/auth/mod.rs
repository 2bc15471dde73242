//! Authentication: sessions (login, refresh, logout), identity (whoami, verify), users and API
//! tokens of the caller's tenant.

pub mod external;
pub mod guard;
pub mod password;
pub mod principal;
pub mod service;
pub mod store;
pub mod token;

pub use principal::{Principal, Require};
pub use service::AuthService;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ValidJson;
use crate::ratelimit::client_ip;
use crate::response::{self, Ok};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use botmox_contract::auth::{
    ApiTokenCreateRequest, ApiTokenCreated, ApiTokenRecord, LoginRequest, LogoutRequest,
    LogoutResponse, RefreshRequest, Revoked, TokenPair, UserRecord, VerifyResponse, WhoAmI,
};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope, error_code};
use principal::{Admin, AuthKind};
use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes that need no identity.
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
}

/// Routes behind the guard.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(whoami))
        .routes(routes!(verify))
        .routes(routes!(list_users))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// Exchange email and password for an access token and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = SuccessEnvelope<TokenPair>),
        (status = 400, description = "VALIDATION_ERROR / BAD_REQUEST", body = ErrorEnvelope),
        (status = 401, description = "INVALID_CREDENTIALS", body = ErrorEnvelope),
        (status = 429, description = "RATE_LIMITED (5 attempts per minute per IP and email)", body = ErrorEnvelope),
    ))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<LoginRequest>,
) -> ApiResult<Ok<TokenPair>> {
    let ip = client_ip(
        &headers,
        Some(peer),
        state.config.rate_limit.trust_forwarded_for,
    );
    Ok(response::ok(
        state.auth.login(&body.email, &body.password, &ip).await?,
    ))
}

/// Rotate a refresh token: the old one stops working; presenting it again revokes the session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = SuccessEnvelope<TokenPair>),
        (status = 400, description = "VALIDATION_ERROR", body = ErrorEnvelope),
        (status = 401, description = "INVALID_REFRESH_TOKEN / REFRESH_TOKEN_REUSED", body = ErrorEnvelope),
    ))]
async fn refresh(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<RefreshRequest>,
) -> ApiResult<Ok<TokenPair>> {
    Ok(response::ok(state.auth.refresh(&body.refresh_token).await?))
}

/// End the session: the access token is revoked, and the refresh token's family when given.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    request_body(content = Option<LogoutRequest>, description = "optional; an empty body is accepted"),
    responses(
        (status = 200, body = SuccessEnvelope<LogoutResponse>),
        (status = 400, description = "INVALID_REFRESH_TOKEN / BAD_REQUEST", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    body: axum::body::Bytes,
) -> ApiResult<Ok<LogoutResponse>> {
    let req: LogoutRequest = crate::extract::optional_json(&body)?;
    let revoked = state
        .auth
        .logout(&principal, req.refresh_token.as_deref())
        .await?;
    Ok(response::ok(LogoutResponse { revoked }))
}

/// `whoami` and `verify` re-check the token themselves: the shadow identity is not enough.
fn real_identity(principal: Principal) -> ApiResult<Principal> {
    if principal.kind == AuthKind::Shadow {
        return Err(ApiError::unauthorized(
            error_code::MISSING_BEARER_TOKEN,
            "Missing bearer token",
        ));
    }
    Ok(principal)
}

/// The caller's identity.
#[utoipa::path(get, path = "/api/v1/auth/whoami", tag = "auth",
    responses(
        (status = 200, body = SuccessEnvelope<WhoAmI>),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN / MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn whoami(principal: Principal) -> ApiResult<Ok<WhoAmI>> {
    Ok(response::ok(real_identity(principal)?.whoami()))
}

/// Whether the presented token is valid.
#[utoipa::path(get, path = "/api/v1/auth/verify", tag = "auth",
    responses(
        (status = 200, body = SuccessEnvelope<VerifyResponse>),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN / MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn verify(principal: Principal) -> ApiResult<Ok<VerifyResponse>> {
    real_identity(principal)?;
    Ok(response::ok(VerifyResponse { valid: true }))
}

/// Users of the caller's tenant (admin).
#[utoipa::path(get, path = "/api/v1/auth/users", tag = "auth",
    responses(
        (status = 200, body = SuccessEnvelope<Vec<UserRecord>>),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_users(
    State(state): State<AppState>,
    admin: Require<Admin>,
) -> ApiResult<Ok<Vec<UserRecord>>> {
    Ok(response::ok(
        state.auth.list_users(Some(&admin.tenant_id)).await?,
    ))
}

/// API tokens of the caller's tenant (admin); the secrets themselves are never returned.
#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth",
    responses(
        (status = 200, body = SuccessEnvelope<Vec<ApiTokenRecord>>),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_tokens(
    State(state): State<AppState>,
    admin: Require<Admin>,
) -> ApiResult<Ok<Vec<ApiTokenRecord>>> {
    Ok(response::ok(
        state.auth.list_api_tokens(Some(&admin.tenant_id)).await?,
    ))
}

/// Issue an API token in the caller's tenant (admin). The token is shown once.
#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "auth",
    request_body = ApiTokenCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<ApiTokenCreated>),
        (status = 400, description = "VALIDATION_ERROR", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_token(
    State(state): State<AppState>,
    admin: Require<Admin>,
    ValidJson(body): ValidJson<ApiTokenCreateRequest>,
) -> ApiResult<(StatusCode, Ok<ApiTokenCreated>)> {
    let created = state
        .auth
        .issue_api_token(&admin.tenant_id, &admin.uid, &body)
        .await?;
    Ok(response::created(created))
}

/// Revoke an API token of the caller's tenant (admin).
#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", tag = "auth",
    params(("id" = String, Path, description = "token id")),
    responses(
        (status = 200, body = SuccessEnvelope<Revoked>),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
        (status = 404, description = "API_TOKEN_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    admin: Require<Admin>,
    Path(id): Path<String>,
) -> ApiResult<Ok<Revoked>> {
    state
        .auth
        .revoke_api_token(&id, Some(&admin.tenant_id))
        .await?;
    Ok(response::ok(Revoked { id, revoked: true }))
}
