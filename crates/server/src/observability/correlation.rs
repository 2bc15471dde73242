//! `x-request-id`, `x-correlation-id` and `x-trace-id`: kept when the client sends them (trimmed,
//! bounded), generated otherwise, written back onto the request and echoed on the response.
//! One span per request carries the id, and the access log line and metrics are written here.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
pub const TRACE_ID: HeaderName = HeaderName::from_static("x-trace-id");

/// The request's id, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn incoming(request: &Request, name: &HeaderName) -> Option<HeaderValue> {
    let raw = request.headers().get(name)?.to_str().ok()?.trim();
    // Ids are echoed into logs and headers: only short, printable values are kept.
    if raw.is_empty() || raw.len() > 128 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    HeaderValue::from_str(raw).ok()
}

fn fresh() -> HeaderValue {
    HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

pub async fn middleware(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(3);
    for name in [REQUEST_ID, CORRELATION_ID, TRACE_ID] {
        let value = incoming(&request, &name).unwrap_or_else(fresh);
        request.headers_mut().insert(name.clone(), value.clone());
        ids.push((name, value));
    }
    let request_id = ids[0].1.to_str().unwrap_or_default().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        correlation_id = %ids[1].1.to_str().unwrap_or_default(),
        method = %method,
        route = route.as_deref().unwrap_or("unmatched"),
        tenant = tracing::field::Empty,
        user = tracing::field::Empty,
    );
    if super::logging::tracing_enabled() {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&HeaderCarrier(request.headers()))
        });
        let _ = span.set_parent(parent);
    }
    request.extensions_mut().insert(RequestId(request_id));
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).instrument(span.clone()).await;
    for (name, value) in ids {
        response.headers_mut().insert(name, value);
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let route_label = route.unwrap_or_else(|| "unmatched".to_owned());
    super::metrics::record_request(method.as_str(), &route_label, status, elapsed);
    span.in_scope(|| {
        let duration_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
        if status >= 500 {
            tracing::error!(status, duration_ms, path = %path, "request failed");
        } else {
            tracing::info!(status, duration_ms, path = %path, "request");
        }
    });
    response
}

/// Reads W3C trace context (`traceparent`, `tracestate`) from request headers.
struct HeaderCarrier<'a>(&'a axum::http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
