//! Playbooks: YAML provisioning recipes per tenant, checked before they are stored.

pub mod service;
pub mod store;
pub mod validate;

pub use service::PlaybookService;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::{ValidJson, ValidQuery};
use crate::pagination::PageRequest;
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use botmox_contract::pagination::PageQuery;
use botmox_contract::playbooks::{
    Playbook, PlaybookCreateRequest, PlaybookDeleted, PlaybookUpdateRequest,
    PlaybookValidateRequest, PlaybookValidation,
};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_playbooks, create_playbook))
        .routes(routes!(validate_playbook))
        .routes(routes!(get_playbook, update_playbook, delete_playbook))
}

fn service(state: &AppState) -> PlaybookService {
    PlaybookService::new(state.db.clone())
}

/// Playbooks of the caller's tenant, most recently updated first.
#[utoipa::path(get, path = "/api/v1/playbooks", tag = "playbooks",
    params(PageQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<Playbook>>),
        (status = 400, description = "VALIDATION_ERROR (cursor, limit)", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_playbooks(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<Playbook>>>> {
    let page = PageRequest::from_query(&query)?;
    let (rows, meta) = service(&state).list(&principal, &page).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Create a playbook; the content must pass the checker. `is_default: true` takes the flag
/// from the others.
#[utoipa::path(post, path = "/api/v1/playbooks", tag = "playbooks",
    request_body = PlaybookCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<Playbook>),
        (status = 400, description = "PLAYBOOK_INVALID_CREATE_BODY / BAD_REQUEST", body = ErrorEnvelope),
        (status = 409, description = "PLAYBOOK_NAME_CONFLICT", body = ErrorEnvelope),
        (status = 422, description = "INVALID_PLAYBOOK (details: {errors:[{path,message}], warnings})", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_playbook(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<PlaybookCreateRequest>,
) -> ApiResult<(StatusCode, Ok<Playbook>)> {
    Ok(response::created(
        service(&state).create(&principal, body).await?,
    ))
}

/// Check playbook content without storing it.
#[utoipa::path(post, path = "/api/v1/playbooks/validate", tag = "playbooks",
    request_body = PlaybookValidateRequest,
    responses(
        (status = 200, body = SuccessEnvelope<PlaybookValidation>),
        (status = 400, description = "PLAYBOOK_INVALID_VALIDATE_BODY", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn validate_playbook(
    State(state): State<AppState>,
    _principal: Principal,
    ValidJson(body): ValidJson<PlaybookValidateRequest>,
) -> ApiResult<Ok<PlaybookValidation>> {
    Ok(response::ok(service(&state).validate(&body.content)))
}

/// One playbook.
#[utoipa::path(get, path = "/api/v1/playbooks/{id}", tag = "playbooks",
    params(("id" = String, Path, description = "playbook id")),
    responses(
        (status = 200, body = SuccessEnvelope<Playbook>),
        (status = 400, description = "PLAYBOOK_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "PLAYBOOK_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_playbook(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<Playbook>> {
    Ok(response::ok(service(&state).get(&principal, &id).await?))
}

/// Change a playbook's name, content or default flag.
#[utoipa::path(put, path = "/api/v1/playbooks/{id}", tag = "playbooks",
    params(("id" = String, Path, description = "playbook id")),
    request_body = PlaybookUpdateRequest,
    responses(
        (status = 200, body = SuccessEnvelope<Playbook>),
        (status = 400, description = "PLAYBOOK_INVALID_ID / PLAYBOOK_INVALID_UPDATE_BODY", body = ErrorEnvelope),
        (status = 404, description = "PLAYBOOK_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "PLAYBOOK_NAME_CONFLICT", body = ErrorEnvelope),
        (status = 422, description = "INVALID_PLAYBOOK (details: {errors, warnings})", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn update_playbook(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<PlaybookUpdateRequest>,
) -> ApiResult<Ok<Playbook>> {
    Ok(response::ok(
        service(&state).update(&principal, &id, body).await?,
    ))
}

/// Delete a playbook.
#[utoipa::path(delete, path = "/api/v1/playbooks/{id}", tag = "playbooks",
    params(("id" = String, Path, description = "playbook id")),
    responses(
        (status = 200, body = SuccessEnvelope<PlaybookDeleted>),
        (status = 400, description = "PLAYBOOK_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "PLAYBOOK_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_playbook(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<PlaybookDeleted>> {
    service(&state).delete(&principal, &id).await?;
    Ok(response::ok(PlaybookDeleted { id, deleted: true }))
}
