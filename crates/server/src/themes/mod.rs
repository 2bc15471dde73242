//! Theme assets: background images for the theme editor, stored in the object store.

pub mod image;
pub mod service;
pub mod store;

pub use service::ThemeService;

use crate::app::AppState;
use crate::auth::Principal;
use crate::auth::guard::shadow;
use crate::config::AuthMode;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ValidJson, ValidQuery};
use crate::pagination::PageRequest;
use crate::response::{self, Ok};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use botmox_contract::pagination::PageQuery;
use botmox_contract::themes::{
    CompleteUploadRequest, DirectUploadQuery, ImageQuery, PresignUploadRequest,
    PresignUploadResponse, ThemeAsset, ThemeAssetDeleted, ThemeAssetList,
};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use http_body_util::{BodyExt, Limited};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Signed image URLs are opened by `<img>` tags, which send no bearer token.
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_image))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_assets))
        .routes(routes!(presign_upload))
        .routes(routes!(complete_upload))
        .routes(routes!(upload_direct))
        .routes(routes!(get_asset, delete_asset))
        .routes(routes!(put_content))
}

/// Reads a raw body up to the configured limit (these routes bypass the JSON body limit).
async fn read_limited(body: Body, max: usize) -> ApiResult<Bytes> {
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "THEME_ASSET_TOO_LARGE",
            format!("Images may be at most {max} bytes"),
        )),
        Err(err) => Err(ApiError::bad_request(
            botmox_contract::error_code::BAD_REQUEST,
            format!("Reading the upload failed: {err}"),
        )),
    }
}

/// Background images of the caller's tenant (not deleted), most recently updated first.
#[utoipa::path(get, path = "/api/v1/theme-assets", tag = "themes",
    params(PageQuery),
    responses(
        (status = 200, body = SuccessEnvelope<ThemeAssetList>),
        (status = 400, description = "VALIDATION_ERROR (cursor, limit)", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_assets(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> ApiResult<Json<SuccessEnvelope<ThemeAssetList>>> {
    let page = PageRequest::from_query(&query)?;
    let (list, meta) = ThemeService::new(&state).list(&principal, &page).await?;
    Ok(Json(SuccessEnvelope::with_meta(list, meta)))
}

/// Announce an upload: creates a pending asset and returns where to `PUT` its bytes
/// (valid 10 minutes), then call `/theme-assets/complete`.
#[utoipa::path(post, path = "/api/v1/theme-assets/presign-upload", tag = "themes",
    request_body = PresignUploadRequest,
    responses(
        (status = 201, body = SuccessEnvelope<PresignUploadResponse>),
        (status = 400, description = "THEME_ASSET_INVALID_PRESIGN_BODY", body = ErrorEnvelope),
        (status = 413, description = "THEME_ASSET_TOO_LARGE", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn presign_upload(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<PresignUploadRequest>,
) -> ApiResult<(StatusCode, Ok<PresignUploadResponse>)> {
    Ok(response::created(
        ThemeService::new(&state).presign(&principal, body).await?,
    ))
}

/// Upload the bytes of an announced asset (raw body: the PNG, JPEG or WebP file).
#[utoipa::path(put, path = "/api/v1/theme-assets/{id}/content", tag = "themes",
    params(("id" = String, Path, description = "asset id")),
    request_body(content = String, content_type = "application/octet-stream", description = "the image file"),
    responses(
        (status = 200, description = "the asset, still pending", body = SuccessEnvelope<ThemeAsset>),
        (status = 400, description = "THEME_ASSET_INVALID_ID / THEME_ASSET_EMPTY / THEME_ASSET_INVALID_DIMENSIONS", body = ErrorEnvelope),
        (status = 404, description = "THEME_ASSET_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "ASSET_DELETED / THEME_ASSET_NOT_PENDING", body = ErrorEnvelope),
        (status = 410, description = "THEME_ASSET_UPLOAD_EXPIRED", body = ErrorEnvelope),
        (status = 413, description = "THEME_ASSET_TOO_LARGE", body = ErrorEnvelope),
        (status = 415, description = "THEME_ASSET_UNSUPPORTED_TYPE / THEME_ASSET_TYPE_MISMATCH", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_content(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Ok<ThemeAsset>> {
    let service = ThemeService::new(&state);
    let bytes = read_limited(body, service.max_bytes()).await?;
    Ok(response::ok(
        service.upload_content(&principal, &id, bytes).await?,
    ))
}

/// Mark an uploaded asset ready.
#[utoipa::path(post, path = "/api/v1/theme-assets/complete", tag = "themes",
    request_body = CompleteUploadRequest,
    responses(
        (status = 200, description = "the asset, ready, with a signed image_url", body = SuccessEnvelope<ThemeAsset>),
        (status = 400, description = "THEME_ASSET_INVALID_COMPLETE_BODY", body = ErrorEnvelope),
        (status = 404, description = "THEME_ASSET_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "ASSET_DELETED / THEME_ASSET_NOT_UPLOADED", body = ErrorEnvelope),
        (status = 415, description = "THEME_ASSET_UNSUPPORTED_TYPE / THEME_ASSET_TYPE_MISMATCH", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn complete_upload(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<CompleteUploadRequest>,
) -> ApiResult<Ok<ThemeAsset>> {
    Ok(response::ok(
        ThemeService::new(&state).complete(&principal, body).await?,
    ))
}

/// Upload an image in one request (raw body); the asset is ready at once. The type comes
/// from the content; a `Content-Type: image/…` header must agree with it.
#[utoipa::path(post, path = "/api/v1/theme-assets/upload", tag = "themes",
    params(DirectUploadQuery),
    request_body(content = String, content_type = "application/octet-stream", description = "the image file"),
    responses(
        (status = 201, body = SuccessEnvelope<ThemeAsset>),
        (status = 400, description = "THEME_ASSET_INVALID_UPLOAD_QUERY / THEME_ASSET_EMPTY / THEME_ASSET_INVALID_DIMENSIONS", body = ErrorEnvelope),
        (status = 413, description = "THEME_ASSET_TOO_LARGE", body = ErrorEnvelope),
        (status = 415, description = "THEME_ASSET_UNSUPPORTED_TYPE / THEME_ASSET_TYPE_MISMATCH", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn upload_direct(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ValidQuery(query): ValidQuery<DirectUploadQuery>,
    body: Body,
) -> ApiResult<(StatusCode, Ok<ThemeAsset>)> {
    let service = ThemeService::new(&state);
    let bytes = read_limited(body, service.max_bytes()).await?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    Ok(response::created(
        service
            .upload_direct(
                &principal,
                query.filename.as_deref(),
                declared.as_deref(),
                bytes,
            )
            .await?,
    ))
}

/// One asset.
#[utoipa::path(get, path = "/api/v1/theme-assets/{id}", tag = "themes",
    params(("id" = String, Path, description = "asset id")),
    responses(
        (status = 200, body = SuccessEnvelope<ThemeAsset>),
        (status = 400, description = "THEME_ASSET_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "THEME_ASSET_NOT_FOUND (also when deleted)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_asset(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<ThemeAsset>> {
    Ok(response::ok(
        ThemeService::new(&state).get(&principal, &id).await?,
    ))
}

/// Soft-delete an asset (its record stays with status `deleted`; the image is removed).
#[utoipa::path(delete, path = "/api/v1/theme-assets/{id}", tag = "themes",
    params(("id" = String, Path, description = "asset id")),
    responses(
        (status = 200, body = SuccessEnvelope<ThemeAssetDeleted>),
        (status = 400, description = "THEME_ASSET_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "THEME_ASSET_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "ASSET_DELETED (already deleted)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_asset(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<ThemeAssetDeleted>> {
    Ok(response::ok(
        ThemeService::new(&state).delete(&principal, &id).await?,
    ))
}

/// The image bytes of a ready asset: with a bearer token of the asset's tenant, or through the
/// signed `image_url` (`expires` + `sig`, valid 5 minutes).
#[utoipa::path(get, path = "/api/v1/theme-assets/{id}/image", tag = "themes",
    params(("id" = String, Path, description = "asset id"), ImageQuery),
    responses(
        (status = 200, description = "the image", content_type = "image/png"),
        (status = 400, description = "THEME_ASSET_INVALID_ID / THEME_ASSET_INVALID_IMAGE_QUERY", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN (no token and no signature)", body = ErrorEnvelope),
        (status = 403, description = "THEME_ASSET_URL_INVALID / THEME_ASSET_URL_EXPIRED", body = ErrorEnvelope),
        (status = 404, description = "THEME_ASSET_NOT_FOUND", body = ErrorEnvelope),
    ),
    security((), ("bearer" = [])))]
async fn get_image(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ValidQuery(query): ValidQuery<ImageQuery>,
) -> ApiResult<Response> {
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let signed = match (query.expires, query.sig.as_deref()) {
        (Some(expires), Some(sig)) => Some((expires, sig)),
        _ => None,
    };
    let mut caller = if raw.is_empty() {
        None
    } else {
        state.auth.authenticate(raw).await
    };
    if caller.is_none() && signed.is_none() {
        if !raw.is_empty() && state.config.auth_mode == AuthMode::Enforced {
            return Err(ApiError::unauthorized(
                botmox_contract::error_code::INVALID_OR_MISSING_BEARER_TOKEN,
                "Invalid or missing bearer token",
            ));
        }
        if state.config.auth_mode == AuthMode::Shadow {
            caller = Some(shadow(&state.config.shadow_tenant_id));
        }
    }
    let (mime, bytes) = ThemeService::new(&state)
        .image(&id, caller.as_ref(), signed)
        .await?;
    let content_type = HeaderValue::from_str(&mime)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("inline"),
            ),
        ],
        bytes,
    )
        .into_response())
}
