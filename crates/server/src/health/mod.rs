//! Health endpoints: summary, liveness, readiness (dependencies really checked) and startup.

mod service;

use crate::app::AppState;
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use botmox_contract::SuccessEnvelope;
use botmox_contract::health::{HealthSummary, Liveness, Readiness};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(startup))
}

/// Service summary.
#[utoipa::path(get, path = "/api/v1/health", tag = "health",
    responses((status = 200, body = SuccessEnvelope<HealthSummary>)))]
async fn summary(State(state): State<AppState>) -> Ok<HealthSummary> {
    response::ok(service::summary(&state))
}

/// The process is up.
#[utoipa::path(get, path = "/api/v1/health/live", tag = "health",
    responses((status = 200, body = SuccessEnvelope<Liveness>)))]
async fn live() -> Ok<Liveness> {
    response::ok(service::live())
}

/// Database and object store answer; 503 when a required check fails.
#[utoipa::path(get, path = "/api/v1/health/ready", tag = "health",
    responses(
        (status = 200, body = SuccessEnvelope<Readiness>),
        (status = 503, description = "a dependency is down; the body still lists every check", body = SuccessEnvelope<Readiness>),
    ))]
async fn ready(State(state): State<AppState>) -> (StatusCode, Ok<Readiness>) {
    with_status(service::ready(&state).await)
}

/// Migrations are applied and the configuration is valid.
#[utoipa::path(get, path = "/api/v1/health/startup", tag = "health",
    responses(
        (status = 200, body = SuccessEnvelope<Readiness>),
        (status = 503, body = SuccessEnvelope<Readiness>),
    ))]
async fn startup(State(state): State<AppState>) -> (StatusCode, Ok<Readiness>) {
    with_status(service::startup(&state).await)
}

fn with_status(r: Readiness) -> (StatusCode, Ok<Readiness>) {
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(SuccessEnvelope::new(r)))
}
