//! Workspace: notes, calendar events and kanban tasks under `/api/v1/workspace/{kind}`, kind
//! one of `notes`, `calendar`, `kanban` (anything else: 400 `WORKSPACE_INVALID_KIND`).
//! Every object belongs to the caller's tenant; another tenant's is a 404.

mod calendar;
mod kanban;
mod notes;
pub mod service;
pub mod store;

pub use service::WorkspaceService;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ValidJson, ValidQuery};
use crate::path_id::{IdCode, PathId};
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use botmox_contract::workspace::{
    CalendarEventCreateRequest, CalendarEventPatchRequest, CalendarEventRecord, CalendarListQuery,
    Deleted, KanbanListQuery, KanbanMoveRequest, KanbanTaskCreateRequest, KanbanTaskPatchRequest,
    KanbanTaskRecord, NoteCreateRequest, NoteListQuery, NotePatchRequest, NoteRecord,
    NoteReplaceRequest, WORKSPACE_INVALID_ID, WORKSPACE_INVALID_KIND,
};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Path ids of workspace objects.
pub struct WorkspaceIds;
impl IdCode for WorkspaceIds {
    const CODE: &'static str = WORKSPACE_INVALID_ID;
}
type Id = PathId<WorkspaceIds>;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notes, create_note))
        .routes(routes!(get_note, patch_note, replace_note, delete_note))
        .routes(routes!(list_events, create_event))
        .routes(routes!(get_event, patch_event, delete_event))
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(get_task, patch_task, delete_task))
        .routes(routes!(move_task))
        // The known kinds are static routes and win; any other kind lands here.
        .route("/api/v1/workspace/{kind}", axum::routing::any(invalid_kind))
        .route(
            "/api/v1/workspace/{kind}/{id}",
            axum::routing::any(invalid_kind),
        )
}

fn service(state: &AppState) -> WorkspaceService {
    WorkspaceService::new(state.db.clone())
}

async fn invalid_kind() -> ApiError {
    ApiError::bad_request(
        WORKSPACE_INVALID_KIND,
        "Workspace kind must be one of: notes, calendar, kanban",
    )
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// A note with its revision as the `ETag`.
fn with_etag(status: StatusCode, note: NoteRecord) -> impl IntoResponse {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", note.revision)) {
        headers.insert(header::ETAG, v);
    }
    (status, headers, response::ok(note))
}

// ---------------------------------------------------------------- notes

/// Notes of the tenant: pinned first, then most recently updated.
#[utoipa::path(get, path = "/api/v1/workspace/notes", tag = "workspace", operation_id = "workspace_list_notes",
    params(NoteListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<NoteRecord>>, description = "meta: next_cursor, total, limit"),
        (status = 400, description = "WORKSPACE_INVALID_LIST_QUERY", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_notes(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<NoteListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<NoteRecord>>>> {
    let (rows, meta) = service(&state).list_notes(&principal, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Create a note (revision 1). Calendar event ids must exist in the tenant.
#[utoipa::path(post, path = "/api/v1/workspace/notes", tag = "workspace", operation_id = "workspace_create_note",
    request_body = NoteCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<NoteRecord>, headers(("ETag" = String, description = "\"<revision>\""))),
        (status = 400, description = "WORKSPACE_INVALID_BODY (details.fields) / BAD_REQUEST", body = ErrorEnvelope),
        (status = 409, description = "WORKSPACE_CONFLICT (the id is taken)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_note(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<NoteCreateRequest>,
) -> ApiResult<impl IntoResponse> {
    let note = service(&state).create_note(&principal, body).await?;
    Ok(with_etag(StatusCode::CREATED, note))
}

/// One note.
#[utoipa::path(get, path = "/api/v1/workspace/notes/{id}", tag = "workspace", operation_id = "workspace_get_note",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<NoteRecord>, headers(("ETag" = String, description = "\"<revision>\""))),
        (status = 400, description = "WORKSPACE_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_note(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
) -> ApiResult<impl IntoResponse> {
    let note = service(&state).get_note(&principal, &id).await?;
    Ok(with_etag(StatusCode::OK, note))
}

/// Change some fields of a note (autosave). Needs a precondition: the `If-Match: <revision>`
/// header (wins when present), else `expected_revision`, else `expected_updated_at` in the body.
#[utoipa::path(patch, path = "/api/v1/workspace/notes/{id}", tag = "workspace", operation_id = "workspace_patch_note",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "revision the change is based on, e.g. \"3\"; * overwrites any")),
    request_body = NotePatchRequest,
    responses(
        (status = 200, body = SuccessEnvelope<NoteRecord>, headers(("ETag" = String, description = "\"<revision>\""))),
        (status = 400, description = "WORKSPACE_INVALID_ID / WORKSPACE_INVALID_BODY", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "WORKSPACE_CONFLICT: stale precondition; details.current is the stored note; nothing changed", body = ErrorEnvelope),
        (status = 428, description = "WORKSPACE_PRECONDITION_REQUIRED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_note(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
    headers: HeaderMap,
    ValidJson(body): ValidJson<NotePatchRequest>,
) -> ApiResult<impl IntoResponse> {
    let note = service(&state)
        .patch_note(&principal, &id, if_match(&headers), body)
        .await?;
    Ok(with_etag(StatusCode::OK, note))
}

/// Replace a note whole (omitted fields become empty). Same preconditions as PATCH.
#[utoipa::path(put, path = "/api/v1/workspace/notes/{id}", tag = "workspace", operation_id = "workspace_replace_note",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "revision the change is based on")),
    request_body = NoteReplaceRequest,
    responses(
        (status = 200, body = SuccessEnvelope<NoteRecord>, headers(("ETag" = String, description = "\"<revision>\""))),
        (status = 400, description = "WORKSPACE_INVALID_ID / WORKSPACE_INVALID_BODY", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "WORKSPACE_CONFLICT (details.current)", body = ErrorEnvelope),
        (status = 428, description = "WORKSPACE_PRECONDITION_REQUIRED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn replace_note(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
    headers: HeaderMap,
    ValidJson(body): ValidJson<NoteReplaceRequest>,
) -> ApiResult<impl IntoResponse> {
    let note = service(&state)
        .replace_note(&principal, &id, if_match(&headers), body)
        .await?;
    Ok(with_etag(StatusCode::OK, note))
}

/// Delete a note with its tags and links; `If-Match` makes it conditional.
#[utoipa::path(delete, path = "/api/v1/workspace/notes/{id}", tag = "workspace", operation_id = "workspace_delete_note",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "optional revision")),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "WORKSPACE_INVALID_ID / WORKSPACE_INVALID_BODY (bad If-Match)", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "WORKSPACE_CONFLICT", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_note(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
    headers: HeaderMap,
) -> ApiResult<Ok<Deleted>> {
    Ok(response::ok(
        service(&state)
            .delete_note(&principal, &id, if_match(&headers))
            .await?,
    ))
}

// ---------------------------------------------------------------- calendar

/// Events overlapping `[from, to]` (either bound optional), by start time.
#[utoipa::path(get, path = "/api/v1/workspace/calendar", tag = "workspace", operation_id = "workspace_list_events",
    params(CalendarListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<CalendarEventRecord>>, description = "meta: next_cursor, total, limit"),
        (status = 400, description = "WORKSPACE_INVALID_LIST_QUERY", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_events(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<CalendarListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<CalendarEventRecord>>>> {
    let (rows, meta) = service(&state).list_events(&principal, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Create an event. Linked notes must exist in the tenant.
#[utoipa::path(post, path = "/api/v1/workspace/calendar", tag = "workspace", operation_id = "workspace_create_event",
    request_body = CalendarEventCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<CalendarEventRecord>),
        (status = 400, description = "WORKSPACE_INVALID_BODY (details.fields)", body = ErrorEnvelope),
        (status = 409, description = "WORKSPACE_CONFLICT (the id is taken)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_event(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<CalendarEventCreateRequest>,
) -> ApiResult<(StatusCode, Ok<CalendarEventRecord>)> {
    Ok(response::created(
        service(&state).create_event(&principal, body).await?,
    ))
}

/// One event.
#[utoipa::path(get, path = "/api/v1/workspace/calendar/{id}", tag = "workspace", operation_id = "workspace_get_event",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<CalendarEventRecord>),
        (status = 400, description = "WORKSPACE_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_event(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
) -> ApiResult<Ok<CalendarEventRecord>> {
    Ok(response::ok(
        service(&state).get_event(&principal, &id).await?,
    ))
}

/// Change some fields of an event. A new `start` alone keeps the duration; `date` makes it
/// an all-day event on that day.
#[utoipa::path(patch, path = "/api/v1/workspace/calendar/{id}", tag = "workspace", operation_id = "workspace_patch_event",
    params(("id" = String, Path)),
    request_body = CalendarEventPatchRequest,
    responses(
        (status = 200, body = SuccessEnvelope<CalendarEventRecord>),
        (status = 400, description = "WORKSPACE_INVALID_ID / WORKSPACE_INVALID_BODY", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_event(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
    ValidJson(body): ValidJson<CalendarEventPatchRequest>,
) -> ApiResult<Ok<CalendarEventRecord>> {
    Ok(response::ok(
        service(&state).patch_event(&principal, &id, body).await?,
    ))
}

/// Delete an event (notes' links to it go too).
#[utoipa::path(delete, path = "/api/v1/workspace/calendar/{id}", tag = "workspace", operation_id = "workspace_delete_event",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "WORKSPACE_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_event(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
) -> ApiResult<Ok<Deleted>> {
    Ok(response::ok(
        service(&state).delete_event(&principal, &id).await?,
    ))
}

// ---------------------------------------------------------------- kanban

/// Tasks by column (`todo`, `in_progress`, `done`), then position; `status` filters one column.
#[utoipa::path(get, path = "/api/v1/workspace/kanban", tag = "workspace", operation_id = "workspace_list_tasks",
    params(KanbanListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<KanbanTaskRecord>>, description = "meta: next_cursor, total, limit"),
        (status = 400, description = "WORKSPACE_INVALID_LIST_QUERY", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_tasks(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<KanbanListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<KanbanTaskRecord>>>> {
    let (rows, meta) = service(&state).list_tasks(&principal, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Create a task at the end of its column, or at `order`.
#[utoipa::path(post, path = "/api/v1/workspace/kanban", tag = "workspace", operation_id = "workspace_create_task",
    request_body = KanbanTaskCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<KanbanTaskRecord>),
        (status = 400, description = "WORKSPACE_INVALID_BODY (details.fields)", body = ErrorEnvelope),
        (status = 409, description = "WORKSPACE_CONFLICT (the id is taken)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_task(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<KanbanTaskCreateRequest>,
) -> ApiResult<(StatusCode, Ok<KanbanTaskRecord>)> {
    Ok(response::created(
        service(&state).create_task(&principal, body).await?,
    ))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/workspace/kanban/{id}", tag = "workspace", operation_id = "workspace_get_task",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<KanbanTaskRecord>),
        (status = 400, description = "WORKSPACE_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_task(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
) -> ApiResult<Ok<KanbanTaskRecord>> {
    Ok(response::ok(
        service(&state).get_task(&principal, &id).await?,
    ))
}

/// Change some fields of a task; a new `status`/`order` moves it like `/move`.
#[utoipa::path(patch, path = "/api/v1/workspace/kanban/{id}", tag = "workspace", operation_id = "workspace_patch_task",
    params(("id" = String, Path)),
    request_body = KanbanTaskPatchRequest,
    responses(
        (status = 200, body = SuccessEnvelope<KanbanTaskRecord>),
        (status = 400, description = "WORKSPACE_INVALID_ID / WORKSPACE_INVALID_BODY", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_task(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
    ValidJson(body): ValidJson<KanbanTaskPatchRequest>,
) -> ApiResult<Ok<KanbanTaskRecord>> {
    Ok(response::ok(
        service(&state).patch_task(&principal, &id, body).await?,
    ))
}

/// Move a task to `position` (0-based; past the end or absent = last) in `column`. Both
/// columns are renumbered 0..n-1 in one transaction.
#[utoipa::path(post, path = "/api/v1/workspace/kanban/{id}/move", tag = "workspace", operation_id = "workspace_move_task",
    params(("id" = String, Path)),
    request_body = KanbanMoveRequest,
    responses(
        (status = 200, body = SuccessEnvelope<KanbanTaskRecord>),
        (status = 400, description = "WORKSPACE_INVALID_ID / WORKSPACE_INVALID_BODY", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn move_task(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
    ValidJson(body): ValidJson<KanbanMoveRequest>,
) -> ApiResult<Ok<KanbanTaskRecord>> {
    Ok(response::ok(
        service(&state).move_task(&principal, &id, body).await?,
    ))
}

/// Delete a task; its column closes the gap.
#[utoipa::path(delete, path = "/api/v1/workspace/kanban/{id}", tag = "workspace", operation_id = "workspace_delete_task",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "WORKSPACE_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "WORKSPACE_ENTITY_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_task(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
) -> ApiResult<Ok<Deleted>> {
    Ok(response::ok(
        service(&state).delete_task(&principal, &id).await?,
    ))
}
