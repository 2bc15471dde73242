//! The checks behind the health endpoints.

use crate::app::AppState;
use crate::db::time::{now_ms, to_rfc3339};
use botmox_contract::health::{CheckResult, HealthSummary, Liveness, Readiness};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

pub fn summary(state: &AppState) -> HealthSummary {
    HealthSummary {
        service: "botmox".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        timestamp: to_rfc3339(now_ms()),
        data_backend: state.db.backend.name().to_owned(),
        object_store: state.objects.kind.to_owned(),
        uptime_seconds: state.started.elapsed().as_secs(),
    }
}

pub fn live() -> Liveness {
    Liveness {
        status: "live".to_owned(),
        timestamp: to_rfc3339(now_ms()),
    }
}

/// Runs one probe with a deadline and times it.
async fn check<F>(timeout: Duration, probe: F) -> CheckResult
where
    F: Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, probe).await;
    let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    let reason = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(format!("{err:#}")),
        Err(_) => Some(format!("no answer within {} ms", timeout.as_millis())),
    };
    CheckResult {
        ready: reason.is_none(),
        required: true,
        latency_ms,
        reason,
    }
}

fn verdict(checks: BTreeMap<String, CheckResult>) -> Readiness {
    let ready = checks.values().all(|c| c.ready || !c.required);
    if !ready {
        let failed: Vec<_> = checks
            .iter()
            .filter(|(_, c)| !c.ready)
            .map(|(name, c)| format!("{name}: {}", c.reason.as_deref().unwrap_or("failed")))
            .collect();
        tracing::warn!(failed = ?failed, "readiness check failed");
    }
    Readiness {
        status: if ready { "ready" } else { "not-ready" }.to_owned(),
        ready,
        checks,
        timestamp: to_rfc3339(now_ms()),
    }
}

pub async fn ready(state: &AppState) -> Readiness {
    let timeout = state.config.readiness_timeout;
    let (database, objects) = tokio::join!(
        check(timeout, state.db.ping()),
        check(timeout, state.objects.probe())
    );
    verdict(BTreeMap::from([
        ("database".to_owned(), database),
        ("object_store".to_owned(), objects),
    ]))
}

pub async fn startup(state: &AppState) -> Readiness {
    let timeout = state.config.readiness_timeout;
    let migrations = check(timeout, async {
        anyhow::ensure!(
            state.db.migrations_applied().await?,
            "migrations are pending"
        );
        Ok(())
    })
    .await;
    // The configuration was validated before the server started; reaching here proves it.
    let config = CheckResult {
        ready: true,
        required: true,
        latency_ms: 0.0,
        reason: None,
    };
    verdict(BTreeMap::from([
        ("migrations".to_owned(), migrations),
        ("config".to_owned(), config),
    ]))
}
