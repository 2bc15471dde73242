//! Success responses in the envelope.

use axum::Json;
use axum::http::StatusCode;
use botmox_contract::SuccessEnvelope;

pub type Ok<T> = Json<SuccessEnvelope<T>>;

pub fn ok<T>(data: T) -> Ok<T> {
    Json(SuccessEnvelope::new(data))
}

pub fn created<T>(data: T) -> (StatusCode, Ok<T>) {
    (StatusCode::CREATED, ok(data))
}

pub fn accepted<T>(data: T) -> (StatusCode, Ok<T>) {
    (StatusCode::ACCEPTED, ok(data))
}
