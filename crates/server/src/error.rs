//! `ApiError`: the one error type handlers return, rendered as the error envelope.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use botmox_contract::error_code as code;
use botmox_contract::{ApiErrorBody, ErrorEnvelope};
use serde_json::{Value, json};
use std::borrow::Cow;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A failure the client caused or must know about: rendered with its own status and code.
    #[error("{code}: {message}")]
    Client {
        status: StatusCode,
        code: Cow<'static, str>,
        message: Cow<'static, str>,
        details: Option<Value>,
    },
    /// Over a rate limit: 429 with `Retry-After` and `X-RateLimit-*`.
    #[error("rate limited")]
    RateLimited(crate::ratelimit::Decision),
    /// Anything else: logged with its cause, rendered as a bare `INTERNAL_ERROR`.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        ApiError::Client {
            status,
            code: code.into(),
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, value: Value) -> Self {
        if let ApiError::Client { details, .. } = &mut self {
            *details = Some(value);
        }
        self
    }

    pub fn bad_request(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code::FORBIDDEN, message)
    }

    pub fn not_found(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn rate_limited(decision: crate::ratelimit::Decision) -> Self {
        ApiError::RateLimited(decision)
    }

    /// A validation failure with per-field messages.
    pub fn validation(code: impl Into<Cow<'static, str>>, report: &garde::Report) -> Self {
        let fields = botmox_contract::validation::field_errors(report);
        Self::bad_request(code, "Request validation failed")
            .with_details(json!({ "fields": fields }))
    }

    /// A validation failure found by a service rule, in the same shape as [`Self::validation`].
    pub fn invalid_fields(
        code: impl Into<Cow<'static, str>>,
        fields: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Self {
        Self::bad_request(code, "Request validation failed")
            .with_details(json!({ "fields": fields }))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Client { status, .. } => *status,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            ApiError::Client { code, .. } => code,
            ApiError::RateLimited(_) => code::RATE_LIMITED,
            ApiError::Internal(_) => code::INTERNAL_ERROR,
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::Internal(anyhow::Error::new(err).context("database"))
    }
}

/// Renders any error envelope; used by fallbacks and middleware outside handlers too.
pub fn envelope_response(
    status: StatusCode,
    code: &str,
    message: &str,
    details: Option<Value>,
) -> Response {
    let body = ErrorEnvelope {
        success: false,
        error: ApiErrorBody {
            code: code.to_owned(),
            message: message.to_owned(),
            details,
        },
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Client {
                status,
                code,
                message,
                details,
            } => envelope_response(status, &code, &message, details),
            ApiError::RateLimited(decision) => {
                let mut response = envelope_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    code::RATE_LIMITED,
                    "Too many requests. Please try again later.",
                    None,
                );
                let headers = response.headers_mut();
                decision.apply_headers(headers);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(decision.reset_secs));
                response
            }
            ApiError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error");
                envelope_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code::INTERNAL_ERROR,
                    "Internal server error",
                    None,
                )
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::UNSUPPORTED_MEDIA_TYPE,
                "Expected a request with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                payload_too_large()
            }
            JsonRejection::JsonDataError(e) => {
                ApiError::bad_request(code::VALIDATION_ERROR, e.body_text())
            }
            other => ApiError::bad_request(code::BAD_REQUEST, other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(code::VALIDATION_ERROR, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(code::BAD_REQUEST, rejection.body_text())
    }
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        code::PAYLOAD_TOO_LARGE,
        "Request body is too large",
    )
}
