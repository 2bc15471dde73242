//! The vault: `/secrets` (client-encrypted secrets and their bindings) and the server-side
//! envelope encryption other domains use (`envelope`).

pub mod envelope;
pub mod service;
pub mod store;

pub use service::SecretService;

use crate::app::AppState;
use crate::auth::principal::Admin;
use crate::auth::{Principal, Require};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ValidJson, ValidQuery};
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use botmox_contract::secrets::{
    BindingCreateRequest, BindingListQuery, BindingRecord, Deleted, EnvelopeRotated,
    SecretCreateRequest, SecretListQuery, SecretMaterial, SecretMeta, SecretRotateRequest,
};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use service::code;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(list_bindings, bind))
        .routes(routes!(unbind))
        .routes(routes!(rotate_envelope))
        .routes(routes!(material, delete))
        .routes(routes!(meta))
        .routes(routes!(rotate))
}

fn path_id(raw: &str) -> ApiResult<String> {
    let v = raw.trim();
    if v.is_empty() || v.len() > 200 || v.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            code::INVALID_ID,
            "id must be 1 to 200 characters",
        ));
    }
    Ok(v.to_owned())
}

/// Store a client-encrypted secret. The server keeps the ciphertext as sent and never
/// sees the plaintext.
#[utoipa::path(post, path = "/api/v1/secrets", tag = "secrets",
    request_body = SecretCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<SecretMeta>),
        (status = 400, description = "SECRETS_INVALID_CREATE_BODY / BAD_REQUEST", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<SecretCreateRequest>,
) -> ApiResult<(StatusCode, Ok<SecretMeta>)> {
    Ok(response::created(
        state.secrets.create(&principal, &body).await?,
    ))
}

/// Secrets of the tenant (metadata only), newest first.
#[utoipa::path(get, path = "/api/v1/secrets", tag = "secrets",
    params(SecretListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<SecretMeta>>),
        (status = 400, description = "SECRETS_INVALID_LIST_QUERY", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<SecretListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<SecretMeta>>>> {
    let (rows, meta) = state.secrets.list(&principal, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// A secret's metadata and ciphertext, for the client to decrypt.
#[utoipa::path(get, path = "/api/v1/secrets/{id}", tag = "secrets",
    params(("id" = String, Path, description = "secret id")),
    responses(
        (status = 200, body = SuccessEnvelope<SecretMaterial>),
        (status = 400, description = "SECRETS_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "SECRET_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn material(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<SecretMaterial>> {
    let id = path_id(&id)?;
    Ok(response::ok(state.secrets.material(&principal, &id).await?))
}

/// A secret's metadata only.
#[utoipa::path(get, path = "/api/v1/secrets/{id}/meta", tag = "secrets",
    params(("id" = String, Path, description = "secret id")),
    responses(
        (status = 200, body = SuccessEnvelope<SecretMeta>),
        (status = 400, description = "SECRETS_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "SECRET_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn meta(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<SecretMeta>> {
    let id = path_id(&id)?;
    Ok(response::ok(state.secrets.meta(&principal, &id).await?))
}

/// Delete a secret and its bindings.
#[utoipa::path(delete, path = "/api/v1/secrets/{id}", tag = "secrets",
    params(("id" = String, Path, description = "secret id")),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "SECRETS_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "SECRET_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<Deleted>> {
    let id = path_id(&id)?;
    state.secrets.delete(&principal, &id).await?;
    Ok(response::ok(Deleted { id, deleted: true }))
}

/// Replace a secret's ciphertext; `material_version` goes up by one.
#[utoipa::path(post, path = "/api/v1/secrets/{id}/rotate", tag = "secrets",
    params(("id" = String, Path, description = "secret id")),
    request_body = SecretRotateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<SecretMeta>),
        (status = 400, description = "SECRETS_INVALID_ID / SECRETS_INVALID_ROTATE_BODY", body = ErrorEnvelope),
        (status = 404, description = "SECRET_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn rotate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<SecretRotateRequest>,
) -> ApiResult<(StatusCode, Ok<SecretMeta>)> {
    let id = path_id(&id)?;
    Ok(response::created(
        state.secrets.rotate(&principal, &id, &body).await?,
    ))
}

/// Bind a secret to a field of a bot, VM, agent or the tenant (upsert on scope and field).
/// 201 when new, 200 when an existing binding now points at this secret.
#[utoipa::path(post, path = "/api/v1/secrets/bindings", tag = "secrets",
    request_body = BindingCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<BindingRecord>),
        (status = 200, description = "existing binding updated", body = SuccessEnvelope<BindingRecord>),
        (status = 400, description = "SECRETS_INVALID_BINDING_CREATE_BODY", body = ErrorEnvelope),
        (status = 404, description = "SECRET_NOT_FOUND (secret_ref is not a secret of the tenant)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn bind(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<BindingCreateRequest>,
) -> ApiResult<(StatusCode, Ok<BindingRecord>)> {
    let (record, created) = state.secrets.bind(&principal, &body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, response::ok(record)))
}

/// Bindings of the tenant, newest first; filter by scope.
#[utoipa::path(get, path = "/api/v1/secrets/bindings", tag = "secrets",
    params(BindingListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<BindingRecord>>),
        (status = 400, description = "SECRETS_INVALID_BINDINGS_LIST_QUERY", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_bindings(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<BindingListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<BindingRecord>>>> {
    let (rows, meta) = state.secrets.bindings(&principal, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Remove a binding.
#[utoipa::path(delete, path = "/api/v1/secrets/bindings/{id}", tag = "secrets",
    params(("id" = String, Path, description = "binding id")),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "SECRETS_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "SECRETS_BINDING_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn unbind(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<Deleted>> {
    let id = path_id(&id)?;
    state.secrets.unbind(&principal, &id).await?;
    Ok(response::ok(Deleted { id, deleted: true }))
}

/// Rotate the server-side envelope keys (admin): every data key is re-wrapped under the
/// current master key (`BOTMOX_MASTER_KEY`; older ones in `BOTMOX_MASTER_KEY_PREVIOUS`
/// are only needed until this has run) and new values use a fresh data key.
#[utoipa::path(post, path = "/api/v1/secrets/envelope/rotate", tag = "secrets",
    responses(
        (status = 200, body = SuccessEnvelope<EnvelopeRotated>),
        (status = 403, description = "FORBIDDEN (admin only)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn rotate_envelope(
    State(state): State<AppState>,
    _admin: Require<Admin>,
) -> ApiResult<Ok<EnvelopeRotated>> {
    Ok(response::ok(state.secrets.rotate_envelope().await?))
}
