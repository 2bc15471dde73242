//! IPQS: IP quality reports (fraud score, VPN/proxy/Tor flags, location) from IPQualityScore,
//! cached per tenant.

pub mod provider;
pub mod service;
pub mod store;

pub use service::IpqsService;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::ValidJson;
use crate::response::{self, Ok};
use axum::extract::State;
use botmox_contract::ipqs::{
    IpqsBatchRequest, IpqsBatchResponse, IpqsCheckRequest, IpqsResult, IpqsStatus,
};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(check))
        .routes(routes!(check_batch))
}

/// Whether checks can run: a key is configured and checks are not switched off.
#[utoipa::path(get, path = "/api/v1/ipqs/status", tag = "ipqs",
    responses(
        (status = 200, body = SuccessEnvelope<IpqsStatus>),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn status(State(state): State<AppState>, principal: Principal) -> ApiResult<Ok<IpqsStatus>> {
    Ok(response::ok(state.ipqs.status(&principal).await?))
}

/// Report on one IPv4 or IPv6 address (served from the tenant's cache while fresh).
#[utoipa::path(post, path = "/api/v1/ipqs/check", tag = "ipqs",
    request_body = IpqsCheckRequest,
    responses(
        (status = 200, body = SuccessEnvelope<IpqsResult>),
        (status = 400, description = "IPQS_INVALID_CHECK_BODY / BAD_REQUEST (\"IP address is required\", \"Invalid IP address format\")", body = ErrorEnvelope),
        (status = 502, description = "IPQS_API_ERROR (the provider failed or refused)", body = ErrorEnvelope),
        (status = 503, description = "IPQS_NOT_CONFIGURED / IPQS_DISABLED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn check(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<IpqsCheckRequest>,
) -> ApiResult<Ok<IpqsResult>> {
    Ok(response::ok(state.ipqs.check(&principal, &body.ip).await?))
}

/// Reports on up to 10 addresses; each result says whether it succeeded.
#[utoipa::path(post, path = "/api/v1/ipqs/check-batch", tag = "ipqs",
    request_body = IpqsBatchRequest,
    responses(
        (status = 200, body = SuccessEnvelope<IpqsBatchResponse>),
        (status = 400, description = "IPQS_INVALID_CHECK_BATCH_BODY / BAD_REQUEST (\"Array of IP addresses is required\", \"Maximum 10 IPs per batch request\")", body = ErrorEnvelope),
        (status = 503, description = "IPQS_NOT_CONFIGURED / IPQS_DISABLED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn check_batch(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<IpqsBatchRequest>,
) -> ApiResult<Ok<IpqsBatchResponse>> {
    Ok(response::ok(
        state.ipqs.check_batch(&principal, &body.ips).await?,
    ))
}
