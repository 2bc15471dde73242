//! IP quality checks through IPQualityScore.

use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const MAX_BATCH: usize = 10;

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct IpqsCheckRequest {
    #[garde(length(max = 64))]
    pub ip: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct IpqsBatchRequest {
    /// 1 to 10 addresses.
    #[garde(inner(length(max = 64)))]
    pub ips: Vec<String>,
}

/// `GET /ipqs/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IpqsStatus {
    /// False only when `settings/api_keys.ipqs.enabled` is false.
    pub enabled: bool,
    /// An API key is available (from settings or `IPQS_API_KEY`).
    pub configured: bool,
    /// `settings`, `env` or null.
    pub source: Option<String>,
}

/// The quality report of one address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IpqsResult {
    pub ip: String,
    pub success: bool,
    /// 0 (clean) to 100 (certain fraud).
    pub fraud_score: i64,
    pub country_code: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub isp: Option<String>,
    pub organization: Option<String>,
    pub asn: Option<i64>,
    pub host: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub zip_code: Option<String>,
    pub timezone: Option<String>,
    pub connection_type: Option<String>,
    pub abuse_velocity: Option<String>,
    pub vpn: bool,
    pub active_vpn: bool,
    pub proxy: bool,
    pub tor: bool,
    pub active_tor: bool,
    pub bot_status: bool,
    pub recent_abuse: bool,
    pub mobile: bool,
    /// When the upstream answered (RFC 3339).
    pub checked_at: String,
    /// Served from this tenant's cache.
    pub cached: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IpqsBatchItem {
    pub ip: String,
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<IpqsResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IpqsBatchResponse {
    pub results: Vec<IpqsBatchItem>,
}
