//! Structured logs (JSON by default, one line per event, filtered by `LOG_LEVEL`) and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, trace export over OTLP/HTTP.

use crate::config::{Config, LogFormat};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::OnceLock;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

fn tracer_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let endpoint = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("botmox")
                .build(),
        )
        .build())
}

/// Installs the global subscriber; a second call is a no-op.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match config.log_format {
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => fmt.compact().boxed(),
    };
    let otel = config.otlp_endpoint.as_deref().and_then(|endpoint| {
        match tracer_provider(endpoint) {
            Ok(provider) => {
                opentelemetry::global::set_text_map_propagator(
                    opentelemetry_sdk::propagation::TraceContextPropagator::new(),
                );
                let tracer = provider.tracer("botmox");
                let _ = PROVIDER.set(provider);
                // Spans are exported at info whatever the log level, so traces stay complete.
                Some(
                    tracing_opentelemetry::layer()
                        .with_tracer(tracer)
                        .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
                )
            }
            Err(err) => {
                // Logging is not up yet; stderr is the only place to say it.
                eprintln!("OTEL_EXPORTER_OTLP_ENDPOINT: trace export disabled: {err}");
                None
            }
        }
    });
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .try_init();
}

/// Whether spans are exported (and `traceparent` headers worth reading).
pub fn tracing_enabled() -> bool {
    PROVIDER.get().is_some()
}

/// Flushes exported spans before the process exits.
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get()
        && let Err(err) = provider.shutdown()
    {
        tracing::warn!(error = %err, "flushing traces failed");
    }
}
