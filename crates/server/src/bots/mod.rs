//! Bots: CRUD, lifecycle (transitions, ban/unban, archive) with its log, weekly schedule,
//! links to a VM and to resources, and the fleet health summary.

pub mod lifecycle;
pub mod schedule;
pub mod service;
pub mod store;

pub use service::BotsService;

use crate::app::AppState;
use crate::auth::Require;
use crate::auth::principal::Member;
use crate::error::{ApiError, ApiResult};
use crate::extract::{RawBody, ValidJson, ValidQuery, json_body};
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use botmox_contract::bots::{
    ArchiveRequest, BanRequest, BannedState, BotLifecycle, BotListQuery, BotRecord, BotSchedule,
    BotWrite, BotsSummary, ScheduleInput, StageTransition, TransitionRequest,
};
use botmox_contract::fields::{Deleted, is_valid_id};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const BOT_NOT_FOUND: &str = "BOT_NOT_FOUND";
pub const BOT_ALREADY_EXISTS: &str = "BOT_ALREADY_EXISTS";
pub const BOT_CONCURRENT_UPDATE: &str = "BOT_CONCURRENT_UPDATE";
pub const BOTS_INVALID_ID: &str = "BOTS_INVALID_ID";
pub const BOTS_INVALID_LIST_QUERY: &str = "BOTS_INVALID_LIST_QUERY";
pub const BOTS_INVALID_MUTATION_BODY: &str = "BOTS_INVALID_MUTATION_BODY";
pub const BOTS_INVALID_SCHEDULE_BODY: &str = "BOTS_INVALID_SCHEDULE_BODY";
pub const BOTS_TRANSITION_VALIDATION_FAILED: &str = "BOTS_TRANSITION_VALIDATION_FAILED";
pub const BOTS_UNBAN_VALIDATION_FAILED: &str = "BOTS_UNBAN_VALIDATION_FAILED";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_bots, create_bot))
        .routes(routes!(summary))
        .routes(routes!(get_bot, patch_bot, put_bot, delete_bot))
        .routes(routes!(get_lifecycle))
        .routes(routes!(get_transitions))
        .routes(routes!(get_is_banned))
        .routes(routes!(transition))
        .routes(routes!(ban))
        .routes(routes!(unban))
        .routes(routes!(archive))
        .routes(routes!(unarchive))
        .routes(routes!(get_schedule, put_schedule))
}

fn bot_id(raw: &str) -> ApiResult<&str> {
    if is_valid_id(raw) {
        Ok(raw)
    } else {
        Err(ApiError::bad_request(
            BOTS_INVALID_ID,
            "Bot id must be letters, digits, '.', '_', ':' or '-' (at most 128)",
        ))
    }
}

/// One page of bots, newest first. Archived bots are listed only with
/// `include_archived=true` or `status=archived`. Account passwords are masked for callers
/// other than admin/infra.
#[utoipa::path(get, path = "/api/v1/bots", tag = "bots",
    params(BotListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<BotRecord>>),
        (status = 400, description = "BOTS_INVALID_LIST_QUERY", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_bots(
    State(state): State<AppState>,
    p: Require<Member>,
    ValidQuery(query): ValidQuery<BotListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<BotRecord>>>> {
    let (rows, meta) = state.bots.list(&p, &query).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Create a bot. `license_id`, `proxy_id`, `subscription_ids` must name resources of the
/// tenant (else 400 with the field); a proxy or subscription held by another bot is a 409.
#[utoipa::path(post, path = "/api/v1/bots", tag = "bots",
    request_body = BotWrite,
    responses(
        (status = 201, body = SuccessEnvelope<BotRecord>),
        (status = 400, description = "BOTS_INVALID_MUTATION_BODY (details.fields) / BAD_REQUEST", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 409, description = "BOT_ALREADY_EXISTS / RESOURCE_ASSIGNMENT_CONFLICT", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_bot(
    State(state): State<AppState>,
    p: Require<Member>,
    ValidJson(body): ValidJson<BotWrite>,
) -> ApiResult<(StatusCode, Ok<BotRecord>)> {
    Ok(response::created(state.bots.create(&p, body).await?))
}

/// Fleet health: bots per status, and bots of the active fleet (neither banned nor archived)
/// whose license, proxy or subscription expires within `BOTMOX_EXPIRY_WARNING_DAYS`, has
/// expired, or is missing.
#[utoipa::path(get, path = "/api/v1/bots/summary", tag = "bots",
    responses(
        (status = 200, body = SuccessEnvelope<BotsSummary>),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn summary(State(state): State<AppState>, p: Require<Member>) -> ApiResult<Ok<BotsSummary>> {
    Ok(response::ok(state.bots.summary(&p).await?))
}

#[utoipa::path(get, path = "/api/v1/bots/{id}", tag = "bots",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<BotRecord>),
        (status = 400, description = "BOTS_INVALID_ID", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_bot(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
) -> ApiResult<Ok<BotRecord>> {
    Ok(response::ok(state.bots.get(&p, bot_id(&id)?).await?))
}

/// Change a bot: fields present are set, `null` clears, absent stay; sub-objects are
/// replaced whole. A different `status` is a lifecycle transition (same rules and log as
/// `/lifecycle/transition`).
#[utoipa::path(patch, path = "/api/v1/bots/{id}", tag = "bots",
    params(("id" = String, Path)),
    request_body = BotWrite,
    responses(
        (status = 200, body = SuccessEnvelope<BotRecord>),
        (status = 400, description = "BOTS_INVALID_ID / BOTS_INVALID_MUTATION_BODY / BOTS_TRANSITION_VALIDATION_FAILED", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "RESOURCE_ASSIGNMENT_CONFLICT / BOT_CONCURRENT_UPDATE", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_bot(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<BotWrite>,
) -> ApiResult<Ok<BotRecord>> {
    Ok(response::ok(
        state.bots.update(&p, bot_id(&id)?, body).await?,
    ))
}

/// Same as PATCH (a merge, never an upsert), like the original API's PUTs.
#[utoipa::path(put, path = "/api/v1/bots/{id}", tag = "bots",
    params(("id" = String, Path)),
    request_body = BotWrite,
    responses(
        (status = 200, body = SuccessEnvelope<BotRecord>),
        (status = 400, description = "BOTS_INVALID_ID / BOTS_INVALID_MUTATION_BODY / BOTS_TRANSITION_VALIDATION_FAILED", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "RESOURCE_ASSIGNMENT_CONFLICT / BOT_CONCURRENT_UPDATE", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_bot(
    state: State<AppState>,
    p: Require<Member>,
    id: Path<String>,
    body: ValidJson<BotWrite>,
) -> ApiResult<Ok<BotRecord>> {
    patch_bot(state, p, id, body).await
}

/// Delete a bot with its lifecycle log; its resources stay, unassigned.
#[utoipa::path(delete, path = "/api/v1/bots/{id}", tag = "bots",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "BOTS_INVALID_ID", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_bot(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
) -> ApiResult<Ok<Deleted>> {
    Ok(response::ok(state.bots.delete(&p, bot_id(&id)?).await?))
}

/// The lifecycle state, stage transitions and the whole lifecycle log, oldest first.
#[utoipa::path(get, path = "/api/v1/bots/{id}/lifecycle", tag = "bots",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<BotLifecycle>),
        (status = 400, description = "BOTS_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_lifecycle(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
) -> ApiResult<Ok<BotLifecycle>> {
    Ok(response::ok(state.bots.lifecycle(&p, bot_id(&id)?).await?))
}

#[utoipa::path(get, path = "/api/v1/bots/{id}/lifecycle/transitions", tag = "bots",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<StageTransition>>),
        (status = 400, description = "BOTS_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_transitions(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
) -> ApiResult<Ok<Vec<StageTransition>>> {
    Ok(response::ok(
        state
            .bots
            .lifecycle(&p, bot_id(&id)?)
            .await?
            .stage_transitions,
    ))
}

#[utoipa::path(get, path = "/api/v1/bots/{id}/lifecycle/is-banned", tag = "bots",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<BannedState>),
        (status = 400, description = "BOTS_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_is_banned(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
) -> ApiResult<Ok<BannedState>> {
    Ok(response::ok(state.bots.is_banned(&p, bot_id(&id)?).await?))
}

/// Move a bot to `offline|prepare|leveling|profession|farming`. The current status again
/// changes nothing. Refused (`BOTS_TRANSITION_VALIDATION_FAILED`): `banned`/`archived` as
/// targets, and any move out of `banned` (unban) or `archived` (unarchive).
#[utoipa::path(post, path = "/api/v1/bots/{id}/lifecycle/transition", tag = "bots",
    params(("id" = String, Path)),
    request_body = TransitionRequest,
    responses(
        (status = 200, body = SuccessEnvelope<BotRecord>),
        (status = 400, description = "BOTS_INVALID_ID / BOTS_INVALID_TRANSITION_BODY / BOTS_TRANSITION_VALIDATION_FAILED", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "BOT_CONCURRENT_UPDATE", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn transition(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<TransitionRequest>,
) -> ApiResult<Ok<BotRecord>> {
    Ok(response::ok(
        state.bots.transition(&p, bot_id(&id)?, body).await?,
    ))
}

/// Ban a bot; it remembers the status it had, which unban restores. Banning a banned bot
/// replaces the ban details.
#[utoipa::path(post, path = "/api/v1/bots/{id}/lifecycle/ban", tag = "bots",
    params(("id" = String, Path)),
    request_body = BanRequest,
    responses(
        (status = 200, body = SuccessEnvelope<BotRecord>),
        (status = 400, description = "BOTS_INVALID_ID / BOTS_INVALID_BAN_BODY / BOTS_TRANSITION_VALIDATION_FAILED (archived)", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn ban(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<BanRequest>,
) -> ApiResult<Ok<BotRecord>> {
    Ok(response::ok(state.bots.ban(&p, bot_id(&id)?, body).await?))
}

/// Restore a banned bot to the status it had before the ban (`offline` if unknown). Any
/// body is ignored.
#[utoipa::path(post, path = "/api/v1/bots/{id}/lifecycle/unban", tag = "bots",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<BotRecord>),
        (status = 400, description = "BOTS_INVALID_ID / BOTS_UNBAN_VALIDATION_FAILED (not banned)", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn unban(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
) -> ApiResult<Ok<BotRecord>> {
    Ok(response::ok(state.bots.unban(&p, bot_id(&id)?).await?))
}

/// Archive a bot (any status, banned included); it is hidden from lists by default and
/// frozen until unarchived. Archiving an archived bot changes nothing.
#[utoipa::path(post, path = "/api/v1/bots/{id}/lifecycle/archive", tag = "bots",
    params(("id" = String, Path)),
    request_body(content = Option<ArchiveRequest>, description = "optional"),
    responses(
        (status = 200, body = SuccessEnvelope<BotRecord>),
        (status = 400, description = "BOTS_INVALID_ID / BOTS_INVALID_ARCHIVE_BODY", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn archive(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Ok<BotRecord>> {
    let id = bot_id(&id)?;
    let req: ArchiveRequest = json_body(&body, true)?;
    Ok(response::ok(state.bots.archive(&p, id, req).await?))
}

/// Restore an archived bot to the status it had before (banned stays banned).
#[utoipa::path(post, path = "/api/v1/bots/{id}/lifecycle/unarchive", tag = "bots",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<BotRecord>),
        (status = 400, description = "BOTS_INVALID_ID / BOTS_TRANSITION_VALIDATION_FAILED (not archived)", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn unarchive(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
) -> ApiResult<Ok<BotRecord>> {
    Ok(response::ok(state.bots.unarchive(&p, bot_id(&id)?).await?))
}

/// The weekly schedule (every day off when none was saved).
#[utoipa::path(get, path = "/api/v1/bots/{id}/schedule", tag = "bots",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<BotSchedule>),
        (status = 400, description = "BOTS_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_schedule(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
) -> ApiResult<Ok<BotSchedule>> {
    Ok(response::ok(state.bots.schedule(&p, bot_id(&id)?).await?))
}

/// Replace the weekly schedule. Every broken rule is reported under `details.fields`
/// (e.g. `days.1.sessions.2`: overlaps, `days.1.sessions.0.start`: not `HH:MM`).
#[utoipa::path(put, path = "/api/v1/bots/{id}/schedule", tag = "bots",
    params(("id" = String, Path)),
    request_body = ScheduleInput,
    responses(
        (status = 200, body = SuccessEnvelope<BotSchedule>),
        (status = 400, description = "BOTS_INVALID_ID / BOTS_INVALID_SCHEDULE_BODY", body = ErrorEnvelope),
        (status = 404, description = "BOT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_schedule(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<ScheduleInput>,
) -> ApiResult<Ok<BotSchedule>> {
    Ok(response::ok(
        state.bots.put_schedule(&p, bot_id(&id)?, body).await?,
    ))
}
