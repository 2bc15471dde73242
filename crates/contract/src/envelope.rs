//! The JSON envelope every REST response uses.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"success":true,"data":…,"meta"?:…}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SuccessEnvelope<T> {
    pub success: bool,
    pub data: T,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<ListMeta>,
}

impl<T> SuccessEnvelope<T> {
    pub fn new(data: T) -> Self {
        Self {
            success: true,
            data,
            meta: None,
        }
    }

    pub fn with_meta(data: T, meta: ListMeta) -> Self {
        Self {
            success: true,
            data,
            meta: Some(meta),
        }
    }
}

/// Paging information of a list response.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ListMeta {
    /// Opaque cursor for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `{"success":false,"error":{…}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    pub success: bool,
    pub error: ApiErrorBody,
}

/// The error object: a stable `UPPER_SNAKE` code, a human message, optional details.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}
