//! Prometheus metrics: request counts and latencies by route template, database pool gauges.

use crate::app::AppState;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder (installed once, shared by every server in the process).
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".to_owned()),
                    &buckets,
                )
                .map(|b| b.build_recorder());
            match recorder {
                Ok(recorder) => {
                    let handle = recorder.handle();
                    if metrics::set_global_recorder(recorder).is_err() {
                        tracing::warn!("a metrics recorder was already installed");
                    }
                    handle
                }
                Err(err) => {
                    tracing::error!(error = %err, "building the metrics recorder failed");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            }
        })
        .clone()
}

pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let (size, idle) = state.db.pool_stats();
    let backend = state.db.backend.name();
    metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "open")
        .set(f64::from(size));
    metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "idle")
        .set(idle as f64);
    metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "in_use")
        .set(f64::from(size).max(idle as f64) - idle as f64);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}
