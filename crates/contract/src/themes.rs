//! Theme assets: background images of the theme editor.

use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Largest upload the request types accept; the server may be configured lower.
pub const MAX_ASSET_BYTES: u64 = 20_971_520;

/// A background image.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ThemeAsset {
    pub id: String,
    pub object_key: String,
    pub filename: String,
    /// `image/png`, `image/jpeg` or `image/webp`.
    pub mime_type: String,
    pub size_bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// `pending` (upload announced), `ready` or `deleted`.
    pub status: String,
    /// Short-lived signed URL of the image (ready assets only); an authenticated
    /// `GET /theme-assets/{id}/image` works too.
    pub image_url: Option<String>,
    pub image_url_expires_at_ms: Option<i64>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /theme-assets`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ThemeAssetList {
    pub generated_at_ms: i64,
    pub items: Vec<ThemeAsset>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct PresignUploadRequest {
    #[garde(custom(crate::validation::not_blank), length(max = 255))]
    pub filename: String,
    /// `image/png`, `image/jpeg` or `image/webp`.
    #[garde(pattern("^image/(png|jpeg|webp)$"))]
    pub mime_type: String,
    #[garde(range(min = 1, max = MAX_ASSET_BYTES))]
    pub size_bytes: u64,
}

/// Where and how to upload the announced image.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PresignUploadResponse {
    pub asset_id: String,
    pub object_key: String,
    /// `PUT` the raw image bytes here (with the bearer token), then call `/theme-assets/complete`.
    pub upload_url: String,
    pub upload_method: String,
    pub expires_at_ms: i64,
    pub expires_in_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct CompleteUploadRequest {
    #[garde(length(min = 1, max = 128))]
    pub asset_id: String,
    #[garde(inner(range(min = 1, max = 8192)))]
    #[serde(default)]
    pub width: Option<i32>,
    #[garde(inner(range(min = 1, max = 8192)))]
    #[serde(default)]
    pub height: Option<i32>,
}

/// Query of the one-step raw-body upload `POST /theme-assets/upload`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectUploadQuery {
    /// Original file name (default `background`).
    #[garde(inner(length(min = 1, max = 255)))]
    #[serde(default)]
    pub filename: Option<String>,
}

/// Query of `GET /theme-assets/{id}/image` when opened through a signed URL.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// Expiry of the signed URL (epoch ms).
    #[garde(skip)]
    #[serde(default)]
    pub expires: Option<i64>,
    /// Signature of the URL.
    #[garde(inner(length(max = 128)))]
    #[serde(default)]
    pub sig: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ThemeAssetDeleted {
    pub id: String,
    pub status: String,
}
