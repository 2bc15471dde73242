//! The audit layer on guarded routes: runs after the identity guard, so the principal is
//! known, and records every mutating `/api/v1` request once the response is ready.

use super::store::audit_log;
use crate::app::AppState;
use crate::auth::Principal;
use crate::db::time::now_ms;
use crate::error::payload_too_large;
use crate::observability::RequestId;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::time::Instant;

/// Keys listed in a body shape.
const MAX_KEYS: usize = 20;
/// Largest response read back to find the id of a created object.
const MAX_RESPONSE_PEEK: u64 = 64 * 1024;

pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let mutating = matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let principal = request.extensions().get::<Principal>().cloned();
    // Heartbeats are liveness signals sent every few seconds by every agent, not changes an
    // operator made; recording them would drown the log.
    let path = request.uri().path();
    let recorded = mutating && path.starts_with("/api/v1") && path != "/api/v1/agents/heartbeat";
    let (Some(principal), true) = (principal, recorded) else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let (mut parts, body) = request.into_parts();
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let path = parts.uri.path().to_owned();
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
    let mut target_id = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .ok()
        .and_then(|params| target_from_params(&params));

    let (shape, body) = if is_json(&parts.headers) {
        match axum::body::to_bytes(body, state.config.max_body_bytes).await {
            Ok(bytes) => (json_shape(&bytes), Body::from(bytes)),
            Err(_) => return payload_too_large().into_response(),
        }
    } else {
        (binary_shape(&parts.headers), body)
    };

    let mut response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    if target_id.is_none() && method == Method::POST && status.is_success() {
        let (found, rebuilt) = created_id(response).await;
        target_id = found;
        response = rebuilt;
    }

    state.audit.record(audit_log::Model {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: principal.tenant_id.clone(),
        at: now_ms(),
        actor_uid: principal.uid.clone(),
        actor_email: principal.email.clone(),
        auth_kind: principal.kind.as_str().to_owned(),
        actor_roles: principal.roles.join(","),
        method: method.as_str().to_owned(),
        route,
        path,
        target_id,
        status: i32::from(status.as_u16()),
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        request_id,
        body_shape: shape.to_string(),
    });
    response
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("application/json") || ct.contains("+json")
        })
}

/// The id-like path parameter (`id`, `agent_id`, `vmUuid`, …), else all parameters joined
/// (`settings/{path}/{*rest}` → `theme/visual`).
fn target_from_params(params: &RawPathParams) -> Option<String> {
    let all: Vec<(&str, &str)> = params.iter().collect();
    let id_like = |k: &str| {
        let k = k.to_ascii_lowercase();
        k == "id" || k.ends_with("id") || k.ends_with("uuid")
    };
    if let Some((_, v)) = all.iter().find(|(k, _)| id_like(k)) {
        return Some(truncate(v));
    }
    if all.is_empty() {
        return None;
    }
    Some(truncate(
        &all.iter().map(|(_, v)| *v).collect::<Vec<_>>().join("/"),
    ))
}

fn truncate(value: &str) -> String {
    value.chars().take(256).collect()
}

/// What the body looked like, never what it said.
pub fn json_shape(bytes: &Bytes) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return json!({ "type": "empty" });
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            keys.truncate(MAX_KEYS);
            json!({ "type": "object", "keys": keys, "key_count": map.len() })
        }
        Ok(Value::Array(items)) => json!({ "type": "array", "length": items.len() }),
        Ok(Value::String(_)) => json!({ "type": "string" }),
        Ok(Value::Number(_)) => json!({ "type": "number" }),
        Ok(Value::Bool(_)) => json!({ "type": "boolean" }),
        Ok(Value::Null) => json!({ "type": "null" }),
        Err(_) => json!({ "type": "invalid_json", "bytes": bytes.len() }),
    }
}

fn binary_shape(headers: &HeaderMap) -> Value {
    let bytes = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match bytes {
        None | Some(0) => json!({ "type": "empty" }),
        Some(n) => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|ct| ct.split(';').next().unwrap_or_default().trim().to_owned());
            json!({ "type": "binary", "bytes": n, "content_type": content_type })
        }
    }
}

/// Reads `data.id` (or `data.asset_id`) from a small JSON creation response and puts the
/// body back.
async fn created_id(response: Response) -> (Option<String>, Response) {
    let small = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .is_some_and(|n| n <= MAX_RESPONSE_PEEK);
    if !small || !is_json(response.headers()) {
        return (None, response);
    }
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return (None, Response::from_parts(parts, Body::empty())),
    };
    let id = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
        let data = v.get("data")?;
        data.get("id")
            .or_else(|| data.get("asset_id"))
            .and_then(Value::as_str)
            .map(truncate)
    });
    (id, Response::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_name_keys_and_sizes_but_never_values() {
        let shape = json_shape(&Bytes::from_static(
            br#"{"password":"hunter2","email":"a@b.c"}"#,
        ));
        assert_eq!(
            shape,
            json!({"type":"object","keys":["email","password"],"key_count":2})
        );
        assert!(!shape.to_string().contains("hunter2"));
        assert_eq!(
            json_shape(&Bytes::from_static(b"[1,2,3]")),
            json!({"type":"array","length":3})
        );
        assert_eq!(json_shape(&Bytes::new()), json!({"type":"empty"}));
        let many: serde_json::Map<String, Value> =
            (0..30).map(|i| (format!("k{i:02}"), json!(i))).collect();
        let shape = json_shape(&Bytes::from(Value::Object(many).to_string()));
        assert_eq!(shape["keys"].as_array().map(Vec::len), Some(20));
        assert_eq!(shape["key_count"], 30);
    }
}
