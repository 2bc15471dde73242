//! Extractors that turn bad input into the error envelope: malformed JSON is a 400
//! `BAD_REQUEST`, an oversized body 413, and a body or query that parses but breaks a rule a
//! 400 with the type's own code and per-field details.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use botmox_contract::validation::Input;
use serde::de::DeserializeOwned;

/// A JSON body, parsed and validated.
pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Input,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) =
            axum::Json::<T>::from_request(req, state)
                .await
                .map_err(|rejection| match ApiError::from(rejection) {
                    // Wrong types or missing fields are the endpoint's validation failure.
                    ApiError::Client { code, message, .. }
                        if code == botmox_contract::error_code::VALIDATION_ERROR =>
                    {
                        ApiError::bad_request(T::INVALID_CODE, message)
                    }
                    other => other,
                })?;
        value
            .validate()
            .map_err(|report| ApiError::validation(T::INVALID_CODE, &report))?;
        Ok(ValidJson(value))
    }
}

/// Parses and validates a JSON body whose type is only known inside the handler (e.g. it
/// depends on a path segment), with the same errors as [`ValidJson`]. An empty body is read
/// (or `null`) as `{}` when `empty_is_object` (endpoints whose body is optional).
pub fn json_body<T>(bytes: &[u8], empty_is_object: bool) -> Result<T, ApiError>
where
    T: DeserializeOwned + Input,
{
    let bytes =
        if empty_is_object && (bytes.trim_ascii().is_empty() || bytes.trim_ascii() == b"null") {
            b"{}".as_slice()
        } else {
            bytes
        };
    let axum::Json(value) = axum::Json::<T>::from_bytes(bytes).map_err(|rejection| {
        match ApiError::from(rejection) {
            ApiError::Client { code, message, .. }
                if code == botmox_contract::error_code::VALIDATION_ERROR =>
            {
                ApiError::bad_request(T::INVALID_CODE, message)
            }
            other => other,
        }
    })?;
    value
        .validate()
        .map_err(|report| ApiError::validation(T::INVALID_CODE, &report))?;
    Ok(value)
}

/// A request body kept as bytes for [`json_body`]; an oversized body is a 413 envelope.
pub struct RawBody(pub bytes::Bytes);

impl<S> FromRequest<S> for RawBody
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        bytes::Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    crate::error::payload_too_large()
                } else {
                    ApiError::bad_request(
                        botmox_contract::error_code::BAD_REQUEST,
                        rejection.body_text(),
                    )
                }
            })
    }
}

/// A query string, parsed and validated.
pub struct ValidQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Input,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| {
                    ApiError::bad_request(T::INVALID_CODE, rejection.body_text())
                })?;
        value
            .validate()
            .map_err(|report| ApiError::validation(T::INVALID_CODE, &report))?;
        Ok(ValidQuery(value))
    }
}

/// A body that may be empty: empty means `T::default()`, otherwise it must be valid JSON of
/// `T` (used by action endpoints whose body is optional).
pub fn optional_json<T>(body: &[u8]) -> Result<T, ApiError>
where
    T: DeserializeOwned + Input + Default,
{
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value: T = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(T::INVALID_CODE, e.to_string()))?;
    value
        .validate()
        .map_err(|report| ApiError::validation(T::INVALID_CODE, &report))?;
    Ok(value)
}
