//! Theme asset rules: announce → upload → complete (the original's presigned flow, with the
//! server itself as the upload target), or one raw-body upload; type checked by magic bytes;
//! soft delete; images served to the tenant or through short-lived signed URLs.

use super::image::{self, ImageInfo};
use super::store::{DELETED, PENDING, READY, ThemeStore, theme_asset};
use crate::app::AppState;
use crate::auth::Principal;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::objects::Objects;
use crate::pagination::{Cursor, PageRequest};
use crate::secrets_crypto::SecretsCrypto;
use axum::http::StatusCode;
use botmox_contract::ListMeta;
use botmox_contract::error_code::VALIDATION_ERROR;
use botmox_contract::themes::{
    CompleteUploadRequest, PresignUploadRequest, PresignUploadResponse, ThemeAsset,
    ThemeAssetDeleted, ThemeAssetList,
};
use bytes::Bytes;
use serde_json::json;
use std::sync::Arc;

pub const NOT_FOUND: &str = "THEME_ASSET_NOT_FOUND";
/// How long an announced upload may take.
const UPLOAD_WINDOW_MS: i64 = 600_000;
/// Lifetime of a signed image URL.
const IMAGE_URL_TTL_MS: i64 = 300_000;
const MAX_DIMENSION: u32 = 8192;
const SIGN_PURPOSE: &str = "theme-asset-image";

pub struct ThemeService {
    store: ThemeStore,
    objects: Objects,
    crypto: Arc<SecretsCrypto>,
    max_bytes: usize,
    public_url: String,
}

/// Object store paths: lower-case letters, digits, `.`, `_`, `-`; `background.png` if nothing
/// is left (the original's rule).
pub fn sanitize_filename(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut collapsed = String::new();
    for c in out.chars() {
        if !(c == '-' && collapsed.ends_with('-')) {
            collapsed.push(c);
        }
    }
    let trimmed = collapsed.trim_matches('-').trim_start_matches('.');
    if trimmed.is_empty() {
        "background.png".to_owned()
    } else {
        trimmed.chars().take(120).collect()
    }
}

fn parse_id(id: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| ApiError::bad_request("THEME_ASSET_INVALID_ID", "Asset id must be a UUID"))
}

fn not_found() -> ApiError {
    ApiError::not_found(NOT_FOUND, "Theme asset not found")
}

fn deleted() -> ApiError {
    ApiError::conflict("ASSET_DELETED", "Theme asset was deleted")
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "THEME_ASSET_TOO_LARGE",
        format!("Images may be at most {max} bytes"),
    )
}

/// Checks uploaded bytes: a PNG, JPEG or WebP (by content), of the expected type when one was
/// announced, no larger than 8192 px a side.
fn inspect(bytes: &[u8], expected: Option<&str>) -> ApiResult<ImageInfo> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "THEME_ASSET_EMPTY",
            "The upload is empty",
        ));
    }
    let info = image::detect(bytes).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "THEME_ASSET_UNSUPPORTED_TYPE",
            "Only PNG, JPEG and WebP images are accepted",
        )
    })?;
    if let Some(expected) = expected
        && expected != info.mime
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "THEME_ASSET_TYPE_MISMATCH",
            format!("The file is {} but {expected} was announced", info.mime),
        ));
    }
    if let Some((w, h)) = info.size
        && (w == 0 || h == 0 || w > MAX_DIMENSION || h > MAX_DIMENSION)
    {
        return Err(ApiError::bad_request(
            "THEME_ASSET_INVALID_DIMENSIONS",
            format!("Images must be 1–{MAX_DIMENSION} px a side (got {w}×{h})"),
        )
        .with_details(json!({ "width": w, "height": h })));
    }
    Ok(info)
}

fn dims(info: &ImageInfo) -> (Option<i32>, Option<i32>) {
    match info.size {
        Some((w, h)) => (i32::try_from(w).ok(), i32::try_from(h).ok()),
        None => (None, None),
    }
}

impl ThemeService {
    pub fn new(state: &AppState) -> Self {
        Self {
            store: ThemeStore::new(state.db.clone()),
            objects: state.objects.clone(),
            crypto: state.crypto.clone(),
            max_bytes: state.config.theme_asset_max_bytes,
            public_url: state.config.public_url.clone().unwrap_or_default(),
        }
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    fn signed_url(&self, row: &theme_asset::Model, now: i64) -> (String, i64) {
        let expires = now + IMAGE_URL_TTL_MS;
        let sig = self.crypto.sign(
            SIGN_PURPOSE,
            &format!("{}|{}|{expires}", row.tenant_id, row.id),
        );
        (
            format!(
                "{}/api/v1/theme-assets/{}/image?expires={expires}&sig={sig}",
                self.public_url, row.id
            ),
            expires,
        )
    }

    fn to_wire(&self, row: theme_asset::Model, now: i64) -> ThemeAsset {
        let (image_url, image_url_expires_at_ms) = if row.status == READY {
            let (url, exp) = self.signed_url(&row, now);
            (Some(url), Some(exp))
        } else {
            (None, None)
        };
        ThemeAsset {
            image_url,
            image_url_expires_at_ms,
            id: row.id,
            object_key: row.object_key,
            filename: row.filename,
            mime_type: row.mime_type,
            size_bytes: row.size_bytes,
            width: row.width,
            height: row.height,
            status: row.status,
            created_by: row.created_by,
            created_at: to_rfc3339(row.created_at),
            updated_at: to_rfc3339(row.updated_at),
        }
    }

    fn new_row(
        &self,
        principal: &Principal,
        filename: &str,
        mime: &str,
        size: i64,
        now: i64,
    ) -> theme_asset::Model {
        let id = uuid::Uuid::now_v7().to_string();
        let filename = sanitize_filename(filename);
        let tenant_dir = sanitize_filename(&principal.tenant_id);
        theme_asset::Model {
            object_key: format!("theme-assets/{tenant_dir}/{id}-{filename}"),
            id,
            tenant_id: principal.tenant_id.clone(),
            created_by: principal.uid.clone(),
            filename,
            mime_type: mime.to_owned(),
            size_bytes: size,
            width: None,
            height: None,
            status: PENDING.to_owned(),
            created_at: now,
            updated_at: now,
        }
    }

    async fn find(&self, principal: &Principal, id: &str) -> ApiResult<theme_asset::Model> {
        let id = parse_id(id)?;
        self.store
            .get(&principal.tenant_id, &id)
            .await?
            .ok_or_else(not_found)
    }

    pub async fn list(
        &self,
        principal: &Principal,
        page: &PageRequest,
    ) -> ApiResult<(ThemeAssetList, ListMeta)> {
        let rows = self
            .store
            .list(
                &principal.tenant_id,
                page,
                page.after_ms(VALIDATION_ERROR)?.as_ref(),
            )
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.updated_at),
            id: r.id.clone(),
        });
        let now = now_ms();
        Ok((
            ThemeAssetList {
                generated_at_ms: now,
                items: rows.into_iter().map(|r| self.to_wire(r, now)).collect(),
            },
            meta,
        ))
    }

    pub async fn get(&self, principal: &Principal, id: &str) -> ApiResult<ThemeAsset> {
        let row = self.find(principal, id).await?;
        if row.status == DELETED {
            return Err(not_found());
        }
        Ok(self.to_wire(row, now_ms()))
    }

    /// Announces an upload: a pending asset and where to `PUT` its bytes.
    pub async fn presign(
        &self,
        principal: &Principal,
        req: PresignUploadRequest,
    ) -> ApiResult<PresignUploadResponse> {
        if usize::try_from(req.size_bytes).unwrap_or(usize::MAX) > self.max_bytes {
            return Err(too_large(self.max_bytes));
        }
        let now = now_ms();
        let size = i64::try_from(req.size_bytes).unwrap_or(i64::MAX);
        let row = self.new_row(principal, &req.filename, &req.mime_type, size, now);
        self.store.insert(row.clone()).await?;
        Ok(PresignUploadResponse {
            upload_url: format!("{}/api/v1/theme-assets/{}/content", self.public_url, row.id),
            upload_method: "PUT".to_owned(),
            asset_id: row.id,
            object_key: row.object_key,
            expires_at_ms: now + UPLOAD_WINDOW_MS,
            expires_in_seconds: (UPLOAD_WINDOW_MS / 1000) as u64,
        })
    }

    /// Stores the bytes of an announced upload; the asset stays pending until `complete`.
    pub async fn upload_content(
        &self,
        principal: &Principal,
        id: &str,
        bytes: Bytes,
    ) -> ApiResult<ThemeAsset> {
        let mut row = self.find(principal, id).await?;
        match row.status.as_str() {
            DELETED => return Err(deleted()),
            PENDING => {}
            _ => {
                return Err(ApiError::conflict(
                    "THEME_ASSET_NOT_PENDING",
                    "This asset's image was already uploaded",
                ));
            }
        }
        let now = now_ms();
        if now > row.created_at + UPLOAD_WINDOW_MS {
            return Err(ApiError::new(
                StatusCode::GONE,
                "THEME_ASSET_UPLOAD_EXPIRED",
                "The upload window of this asset has passed; announce it again",
            ));
        }
        let info = inspect(&bytes, Some(&row.mime_type))?;
        self.objects.put(&row.object_key, bytes.clone()).await?;
        (row.width, row.height) = dims(&info);
        row.size_bytes = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        row.updated_at = now;
        if !self.store.save_if(&row, PENDING).await? {
            return Err(deleted());
        }
        Ok(self.to_wire(row, now))
    }

    /// Marks an uploaded asset ready; sizes given here win over those read from the image.
    pub async fn complete(
        &self,
        principal: &Principal,
        req: CompleteUploadRequest,
    ) -> ApiResult<ThemeAsset> {
        let id = uuid::Uuid::parse_str(req.asset_id.trim()).map_err(|_| not_found())?;
        let mut row = self
            .store
            .get(&principal.tenant_id, &id.to_string())
            .await?
            .ok_or_else(not_found)?;
        if row.status == DELETED {
            return Err(deleted());
        }
        let bytes = self.objects.get(&row.object_key).await.map_err(|_| {
            ApiError::conflict(
                "THEME_ASSET_NOT_UPLOADED",
                "Upload the image to upload_url before completing",
            )
        })?;
        let info = inspect(&bytes, Some(&row.mime_type))?;
        let (w, h) = dims(&info);
        let from = row.status.clone();
        row.width = req.width.or(w).or(row.width);
        row.height = req.height.or(h).or(row.height);
        row.size_bytes = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        row.status = READY.to_owned();
        let now = now_ms();
        row.updated_at = now.max(row.updated_at + 1);
        if !self.store.save_if(&row, &from).await? {
            return Err(deleted());
        }
        Ok(self.to_wire(row, now))
    }

    /// One-step upload: the body is the image; the asset is ready at once.
    pub async fn upload_direct(
        &self,
        principal: &Principal,
        filename: Option<&str>,
        declared: Option<&str>,
        bytes: Bytes,
    ) -> ApiResult<ThemeAsset> {
        if bytes.len() > self.max_bytes {
            return Err(too_large(self.max_bytes));
        }
        // A declared image type must match the content; a generic one says nothing.
        let declared = declared.filter(|d| d.starts_with("image/"));
        let info = inspect(&bytes, declared)?;
        let now = now_ms();
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let mut row = self.new_row(
            principal,
            filename.unwrap_or("background"),
            info.mime,
            size,
            now,
        );
        self.objects.put(&row.object_key, bytes).await?;
        (row.width, row.height) = dims(&info);
        row.status = READY.to_owned();
        self.store.insert(row.clone()).await?;
        Ok(self.to_wire(row, now))
    }

    /// Soft delete: the record stays (`deleted`), the bytes go.
    pub async fn delete(&self, principal: &Principal, id: &str) -> ApiResult<ThemeAssetDeleted> {
        let mut row = self.find(principal, id).await?;
        if row.status == DELETED {
            return Err(deleted());
        }
        let from = row.status.clone();
        row.status = DELETED.to_owned();
        row.updated_at = now_ms().max(row.updated_at + 1);
        if !self.store.save_if(&row, &from).await? {
            return Err(deleted());
        }
        if let Err(err) = self.objects.delete(&row.object_key).await {
            // A pending asset may have no object; anything else is only wasted space.
            tracing::debug!(error = %format!("{err:#}"), asset = %row.id, "theme asset object not removed");
        }
        Ok(ThemeAssetDeleted {
            id: row.id,
            status: DELETED.to_owned(),
        })
    }

    /// The image of a ready asset, for a caller of its tenant or a valid signed URL.
    pub async fn image(
        &self,
        id: &str,
        caller: Option<&Principal>,
        signed: Option<(i64, &str)>,
    ) -> ApiResult<(String, Bytes)> {
        let id = parse_id(id)?;
        let row = match (caller, signed) {
            (Some(principal), _) => self.store.get(&principal.tenant_id, &id).await?,
            (None, Some((expires, sig))) => {
                if expires < now_ms() {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "THEME_ASSET_URL_EXPIRED",
                        "This image link has expired",
                    ));
                }
                let row = self.store.get_any_tenant(&id).await?;
                let valid = row.as_ref().is_some_and(|r| {
                    self.crypto.verify(
                        SIGN_PURPOSE,
                        &format!("{}|{}|{expires}", r.tenant_id, r.id),
                        sig,
                    )
                });
                if !valid {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "THEME_ASSET_URL_INVALID",
                        "This image link is not valid",
                    ));
                }
                row
            }
            (None, None) => {
                return Err(ApiError::unauthorized(
                    botmox_contract::error_code::INVALID_OR_MISSING_BEARER_TOKEN,
                    "Invalid or missing bearer token",
                ));
            }
        };
        let row = row.filter(|r| r.status == READY).ok_or_else(not_found)?;
        let bytes = self.objects.get(&row.object_key).await?;
        Ok((row.mime_type, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_sanitised_like_the_original() {
        assert_eq!(
            sanitize_filename("My Background!!.PNG"),
            "my-background-.png"
        );
        assert!(!sanitize_filename("../../etc/passwd").contains('/'));
        assert_eq!(sanitize_filename("???"), "background.png");
        assert_eq!(sanitize_filename("a  b"), "a-b");
    }

    #[test]
    fn uploads_are_judged_by_content() {
        assert!(inspect(&image::samples::png(10, 10), Some(image::PNG)).is_ok());
        let err = inspect(&image::samples::png(10, 10), Some(image::JPEG)).expect_err("mismatch");
        assert_eq!(err.code(), "THEME_ASSET_TYPE_MISMATCH");
        let err = inspect(b"GIF89a....", None).expect_err("gif");
        assert_eq!(err.code(), "THEME_ASSET_UNSUPPORTED_TYPE");
        let err = inspect(&image::samples::png(9000, 10), None).expect_err("too wide");
        assert_eq!(err.code(), "THEME_ASSET_INVALID_DIMENSIONS");
    }
}
