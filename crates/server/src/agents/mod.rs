//! Agents: pairing, registration (code or quick-pair), heartbeats, listing, revocation and
//! token rotation.

pub mod service;
pub mod store;

pub use service::AgentsService;

use crate::app::AppState;
use crate::auth::principal::{Operator, Principal, Privileged, Require};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ValidJson, ValidQuery};
use crate::pagination::PageRequest;
use crate::ratelimit::client_ip;
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use botmox_contract::agents::{
    AgentListQuery, AgentRecord, AgentRegistered, AgentTokenRotated, HeartbeatAck,
    HeartbeatRequest, PairingCreateRequest, PairingCreated, QuickPairRequest, RegisterRequest,
    RevokeRequest,
};
use botmox_contract::pagination::PageQuery;
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(quick_pair))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_pairing))
        .routes(routes!(heartbeat))
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(revoke))
        .routes(routes!(rotate_token))
}

/// The server's own URL as the caller reached it (behind a proxy: its forwarded headers).
fn request_url(headers: &HeaderMap) -> Option<String> {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let host = first("x-forwarded-host").or_else(|| first(header::HOST.as_str()))?;
    let proto = first("x-forwarded-proto").unwrap_or_else(|| "http".to_owned());
    Some(format!("{proto}://{host}"))
}

/// Create a single-use pairing code for a new agent (roles api, admin, infra).
#[utoipa::path(post, path = "/api/v1/agents/pairings", tag = "agents",
    request_body = PairingCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<PairingCreated>),
        (status = 400, description = "AGENTS_PAIRING_INVALID_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (role, or owner override without admin/infra)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_pairing(
    State(state): State<AppState>,
    caller: Require<Operator>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<PairingCreateRequest>,
) -> ApiResult<(StatusCode, Ok<PairingCreated>)> {
    let created = state
        .agents
        .create_pairing(&caller, &body, request_url(&headers))
        .await?;
    Ok(response::created(created))
}

/// Redeem a pairing code; returns the agent and its token (shown once). Public.
#[utoipa::path(post, path = "/api/v1/agents/register", tag = "agents",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = SuccessEnvelope<AgentRegistered>),
        (status = 400, description = "AGENTS_REGISTER_INVALID_BODY", body = ErrorEnvelope),
        (status = 404, description = "PAIRING_NOT_FOUND", body = ErrorEnvelope),
        (status = 410, description = "PAIRING_EXPIRED", body = ErrorEnvelope),
        (status = 429, description = "RATE_LIMITED", body = ErrorEnvelope),
    ))]
async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Ok<AgentRegistered>)> {
    let ip = client_ip(
        &headers,
        Some(peer),
        state.config.rate_limit.trust_forwarded_for,
    );
    let by = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(raw) => state.auth.authenticate(raw).await,
        None => None,
    };
    let done = state.agents.register(&body, by.as_ref(), &ip).await?;
    Ok(response::created(done))
}

/// Sign in with a Bot-Mox login and pair in one step (what the agent's `pair --login` uses).
#[utoipa::path(post, path = "/api/v1/agents/quick-pair", tag = "agents",
    request_body = QuickPairRequest,
    responses(
        (status = 201, body = SuccessEnvelope<AgentRegistered>),
        (status = 400, description = "AGENTS_QUICK_PAIR_INVALID_BODY", body = ErrorEnvelope),
        (status = 401, description = "INVALID_CREDENTIALS", body = ErrorEnvelope),
        (status = 429, description = "RATE_LIMITED", body = ErrorEnvelope),
    ))]
async fn quick_pair(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<QuickPairRequest>,
) -> ApiResult<(StatusCode, Ok<AgentRegistered>)> {
    let ip = client_ip(
        &headers,
        Some(peer),
        state.config.rate_limit.trust_forwarded_for,
    );
    Ok(response::created(
        state.agents.quick_pair(&body, &ip).await?,
    ))
}

/// An agent reports that it is alive.
#[utoipa::path(post, path = "/api/v1/agents/heartbeat", tag = "agents",
    request_body = HeartbeatRequest,
    responses(
        (status = 200, body = SuccessEnvelope<HeartbeatAck>),
        (status = 400, description = "AGENTS_HEARTBEAT_INVALID_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (another agent's id)", body = ErrorEnvelope),
        (status = 404, description = "AGENT_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "AGENT_REVOKED / AGENT_NOT_ACTIVE", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn heartbeat(
    State(state): State<AppState>,
    caller: Principal,
    ValidJson(body): ValidJson<HeartbeatRequest>,
) -> ApiResult<Ok<HeartbeatAck>> {
    Ok(response::ok(
        state
            .agents
            .heartbeat(&caller, &body.agent_id, body.metadata.as_ref())
            .await?,
    ))
}

/// Agents of the tenant (non-privileged callers see the ones they own), newest first.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents",
    params(AgentListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<AgentRecord>>),
        (status = 400, description = "AGENTS_LIST_INVALID_QUERY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    caller: Principal,
    ValidQuery(q): ValidQuery<AgentListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<AgentRecord>>>> {
    let page = PageRequest::from_query(&PageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
    })
    .map_err(|_| {
        ApiError::bad_request(
            "AGENTS_LIST_INVALID_QUERY",
            "cursor is not one this server issued",
        )
    })?;
    let (rows, meta) = state
        .agents
        .list(&caller, q.status.as_deref(), &page)
        .await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// One agent (owner or admin/infra).
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<AgentRecord>),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "AGENT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_one(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<AgentRecord>> {
    Ok(response::ok(state.agents.get(&caller, &id).await?))
}

/// Revoke an agent (admin/infra): its tokens stop working and its socket closes at once.
#[utoipa::path(post, path = "/api/v1/agents/{id}/revoke", tag = "agents",
    params(("id" = String, Path)),
    request_body(content = Option<RevokeRequest>),
    responses(
        (status = 200, body = SuccessEnvelope<AgentRecord>),
        (status = 403, description = "FORBIDDEN", body = ErrorEnvelope),
        (status = 404, description = "AGENT_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "ALREADY_REVOKED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn revoke(
    State(state): State<AppState>,
    caller: Require<Privileged>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Ok<AgentRecord>> {
    let req: RevokeRequest = crate::extract::optional_json(&body)?;
    Ok(response::ok(
        state
            .agents
            .revoke(&caller, &id, req.reason.as_deref())
            .await?,
    ))
}

/// The agent renews its own token; the previous one stops working.
#[utoipa::path(post, path = "/api/v1/agents/{id}/token/rotate", tag = "agents",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<AgentTokenRotated>),
        (status = 403, description = "FORBIDDEN (not this agent's own token)", body = ErrorEnvelope),
        (status = 409, description = "AGENT_REVOKED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn rotate_token(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<AgentTokenRotated>> {
    Ok(response::ok(state.agents.rotate_token(&caller, &id).await?))
}
