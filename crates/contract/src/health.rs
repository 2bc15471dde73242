//! Health endpoint bodies.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthSummary {
    pub service: String,
    pub version: String,
    pub timestamp: String,
    /// `sqlite` or `postgres`.
    pub data_backend: String,
    /// `local` or `s3`.
    pub object_store: String,
    pub uptime_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Liveness {
    pub status: String,
    pub timestamp: String,
}

/// Result of one dependency probe.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckResult {
    pub ready: bool,
    pub required: bool,
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `/health/ready` and `/health/startup`: 200 when every required check passes, else 503.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not-ready`.
    pub status: String,
    pub ready: bool,
    pub checks: BTreeMap<String, CheckResult>,
    pub timestamp: String,
}
