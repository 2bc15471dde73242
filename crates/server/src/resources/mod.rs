//! Resources a bot uses — licenses, proxies, subscriptions — with expiry tracking, filters,
//! stats and assignment to bots.

pub mod expiry;
pub mod service;
pub mod store;

pub use service::{BotDirectory, BotLinkChanges, BotLinks, HeldResource, ResourcesService};

use crate::app::AppState;
use crate::auth::Require;
use crate::auth::principal::Member;
use crate::error::{ApiError, ApiResult};
use crate::extract::{RawBody, ValidQuery, json_body};
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use botmox_contract::fields::{Deleted, is_valid_id};
use botmox_contract::resources::{
    AssignRequest, LicenseWrite, ProxyWrite, ResourceKind, ResourceListQuery, ResourceRecord,
    ResourceStats, ResourceWrite, SubscriptionWrite, UnassignRequest,
};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use service::{RESOURCES_INVALID_ID, RESOURCES_INVALID_KIND};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Schemas referenced only from path parameters, which utoipa does not collect itself.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(ResourceKind)))]
struct ParamSchemas;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<ParamSchemas as utoipa::OpenApi>::openapi())
        .routes(routes!(stats))
        .routes(routes!(list_resources, create_resource))
        .routes(routes!(
            get_resource,
            patch_resource,
            put_resource,
            delete_resource
        ))
        .routes(routes!(assign))
        .routes(routes!(unassign))
}

fn kind(raw: &str) -> ApiResult<ResourceKind> {
    ResourceKind::parse(raw).ok_or_else(|| {
        ApiError::bad_request(
            RESOURCES_INVALID_KIND,
            format!("Unknown resource kind {raw:?}: use licenses, proxies or subscriptions"),
        )
    })
}

fn path(raw_kind: &str, id: &str) -> ApiResult<ResourceKind> {
    let k = kind(raw_kind)?;
    if !is_valid_id(id) {
        return Err(ApiError::bad_request(
            RESOURCES_INVALID_ID,
            "Resource id must be letters, digits, '.', '_', ':' or '-' (at most 128)",
        ));
    }
    Ok(k)
}

fn write_body(kind: ResourceKind, body: &[u8]) -> ApiResult<ResourceWrite> {
    Ok(match kind {
        ResourceKind::Licenses => ResourceWrite::License(json_body::<LicenseWrite>(body, false)?),
        ResourceKind::Proxies => ResourceWrite::Proxy(json_body::<ProxyWrite>(body, false)?),
        ResourceKind::Subscriptions => {
            ResourceWrite::Subscription(json_body::<SubscriptionWrite>(body, false)?)
        }
    })
}

/// Counts per kind: by expiry status (`BOTMOX_EXPIRY_WARNING_DAYS`), by status, assigned or not.
#[utoipa::path(get, path = "/api/v1/resources/stats", tag = "resources",
    responses(
        (status = 200, body = SuccessEnvelope<ResourceStats>),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn stats(State(state): State<AppState>, p: Require<Member>) -> ApiResult<Ok<ResourceStats>> {
    Ok(response::ok(state.resources.stats(&p).await?))
}

/// One page of a kind's resources, newest first. Each carries `days_left` and
/// `expiry_status`; proxy passwords are masked for callers other than admin/infra.
#[utoipa::path(get, path = "/api/v1/resources/{kind}", tag = "resources",
    params(("kind" = ResourceKind, Path, description = "licenses | proxies | subscriptions"), ResourceListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<ResourceRecord>>),
        (status = 400, description = "RESOURCES_INVALID_KIND / RESOURCES_INVALID_LIST_QUERY", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_resources(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(raw_kind): Path<String>,
    ValidQuery(query): ValidQuery<ResourceListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<ResourceRecord>>>> {
    let k = kind(&raw_kind)?;
    let (rows, meta) = state.resources.list(&p, k, &query).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Create a resource. The body is the kind's: `LicenseWrite`, `ProxyWrite` or
/// `SubscriptionWrite`. `bot_ids` (licenses) or `bot_id` assign it at once.
#[utoipa::path(post, path = "/api/v1/resources/{kind}", tag = "resources",
    params(("kind" = ResourceKind, Path, description = "licenses | proxies | subscriptions")),
    request_body = ResourceWrite,
    responses(
        (status = 201, body = SuccessEnvelope<ResourceRecord>),
        (status = 400, description = "RESOURCES_INVALID_KIND / RESOURCES_INVALID_BODY (details.fields; unknown bots under bot_id/bot_ids) / BAD_REQUEST", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 409, description = "RESOURCE_ALREADY_EXISTS / RESOURCE_ASSIGNMENT_CONFLICT (the bot already holds another license or proxy)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_resource(
    State(state): State<AppState>,
    p: Require<Member>,
    Path(raw_kind): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Ok<ResourceRecord>)> {
    let write = write_body(kind(&raw_kind)?, &body)?;
    Ok(response::created(state.resources.create(&p, write).await?))
}

#[utoipa::path(get, path = "/api/v1/resources/{kind}/{id}", tag = "resources",
    params(("kind" = ResourceKind, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<ResourceRecord>),
        (status = 400, description = "RESOURCES_INVALID_KIND / RESOURCES_INVALID_ID", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "RESOURCE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_resource(
    State(state): State<AppState>,
    p: Require<Member>,
    Path((raw_kind, id)): Path<(String, String)>,
) -> ApiResult<Ok<ResourceRecord>> {
    let k = path(&raw_kind, &id)?;
    Ok(response::ok(state.resources.get(&p, k, &id).await?))
}

/// Change a resource: fields present are set, `null` clears, absent stay. `bot_ids` /
/// `bot_id` replace its assignments.
#[utoipa::path(patch, path = "/api/v1/resources/{kind}/{id}", tag = "resources",
    params(("kind" = ResourceKind, Path), ("id" = String, Path)),
    request_body = ResourceWrite,
    responses(
        (status = 200, body = SuccessEnvelope<ResourceRecord>),
        (status = 400, description = "RESOURCES_INVALID_KIND / RESOURCES_INVALID_ID / RESOURCES_INVALID_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "RESOURCE_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "RESOURCE_ASSIGNMENT_CONFLICT / RESOURCE_CONCURRENT_UPDATE", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_resource(
    State(state): State<AppState>,
    p: Require<Member>,
    Path((raw_kind, id)): Path<(String, String)>,
    RawBody(body): RawBody,
) -> ApiResult<Ok<ResourceRecord>> {
    let k = path(&raw_kind, &id)?;
    let write = write_body(k, &body)?;
    Ok(response::ok(state.resources.update(&p, &id, write).await?))
}

/// Same as PATCH (a merge, never an upsert), as in the original API.
#[utoipa::path(put, path = "/api/v1/resources/{kind}/{id}", tag = "resources",
    params(("kind" = ResourceKind, Path), ("id" = String, Path)),
    request_body = ResourceWrite,
    responses(
        (status = 200, body = SuccessEnvelope<ResourceRecord>),
        (status = 400, description = "RESOURCES_INVALID_KIND / RESOURCES_INVALID_ID / RESOURCES_INVALID_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "RESOURCE_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "RESOURCE_ASSIGNMENT_CONFLICT / RESOURCE_CONCURRENT_UPDATE", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_resource(
    state: State<AppState>,
    p: Require<Member>,
    path: Path<(String, String)>,
    body: RawBody,
) -> ApiResult<Ok<ResourceRecord>> {
    patch_resource(state, p, path, body).await
}

/// Delete a resource; its assignments go with it.
#[utoipa::path(delete, path = "/api/v1/resources/{kind}/{id}", tag = "resources",
    params(("kind" = ResourceKind, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "RESOURCES_INVALID_KIND / RESOURCES_INVALID_ID", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "RESOURCE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_resource(
    State(state): State<AppState>,
    p: Require<Member>,
    Path((raw_kind, id)): Path<(String, String)>,
) -> ApiResult<Ok<Deleted>> {
    let k = path(&raw_kind, &id)?;
    Ok(response::ok(state.resources.delete(&p, k, &id).await?))
}

/// Assign to a bot: a license gains the bot; a proxy or subscription moves to it.
#[utoipa::path(post, path = "/api/v1/resources/{kind}/{id}/assign", tag = "resources",
    params(("kind" = ResourceKind, Path), ("id" = String, Path)),
    request_body = AssignRequest,
    responses(
        (status = 200, body = SuccessEnvelope<ResourceRecord>),
        (status = 400, description = "RESOURCES_INVALID_KIND / RESOURCES_INVALID_ID / RESOURCES_INVALID_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "RESOURCE_NOT_FOUND / BOT_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "RESOURCE_ASSIGNMENT_CONFLICT (the bot already holds another license or proxy)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn assign(
    State(state): State<AppState>,
    p: Require<Member>,
    Path((raw_kind, id)): Path<(String, String)>,
    RawBody(body): RawBody,
) -> ApiResult<Ok<ResourceRecord>> {
    let k = path(&raw_kind, &id)?;
    let req: AssignRequest = json_body(&body, false)?;
    Ok(response::ok(
        state.resources.assign(&p, k, &id, &req.bot_id).await?,
    ))
}

/// Detach one bot (`bot_id`) or every bot (empty body); the resource stays.
#[utoipa::path(post, path = "/api/v1/resources/{kind}/{id}/unassign", tag = "resources",
    params(("kind" = ResourceKind, Path), ("id" = String, Path)),
    request_body(content = Option<UnassignRequest>, description = "optional; an empty body detaches every bot"),
    responses(
        (status = 200, body = SuccessEnvelope<ResourceRecord>),
        (status = 400, description = "RESOURCES_INVALID_KIND / RESOURCES_INVALID_ID / RESOURCES_INVALID_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
        (status = 404, description = "RESOURCE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn unassign(
    State(state): State<AppState>,
    p: Require<Member>,
    Path((raw_kind, id)): Path<(String, String)>,
    RawBody(body): RawBody,
) -> ApiResult<Ok<ResourceRecord>> {
    let k = path(&raw_kind, &id)?;
    let req: UnassignRequest = json_body(&body, true)?;
    Ok(response::ok(
        state
            .resources
            .unassign(&p, k, &id, req.bot_id.as_deref())
            .await?,
    ))
}
