//! IPQS rules: which key to use (settings first, then `IPQS_API_KEY`), address checks, the
//! per-tenant cache, and mapping the provider's report to ours.

use super::provider::{IpqsProvider, ProviderError};
use super::store::{IpqsStore, ipqs_cache};
use crate::auth::Principal;
use crate::config::{IpqsConfig, Secret};
use crate::db::Db;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::settings::SettingsService;
use axum::http::StatusCode;
use botmox_contract::error_code;
use botmox_contract::ipqs::{IpqsBatchItem, IpqsBatchResponse, IpqsResult, IpqsStatus, MAX_BATCH};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;

pub const API_ERROR: &str = "IPQS_API_ERROR";
const INVALID_IP: &str = "Invalid IP address format";

pub struct IpqsService {
    provider: Arc<dyn IpqsProvider>,
    settings: Arc<SettingsService>,
    store: IpqsStore,
    env_key: Secret,
    ttl_ms: i64,
}

/// Canonical form of an address (so `::1` and `0:0::1` share a cache entry).
pub fn parse_ip(raw: &str) -> ApiResult<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(ApiError::bad_request(
            error_code::BAD_REQUEST,
            "IP address is required",
        ));
    }
    raw.parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| ApiError::bad_request(error_code::BAD_REQUEST, INVALID_IP))
}

fn text(report: &Value, key: &str) -> Option<String> {
    match report.get(key)? {
        Value::String(s) if !s.trim().is_empty() && s != "N/A" => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn flag(report: &Value, key: &str) -> bool {
    report.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn int(report: &Value, key: &str) -> Option<i64> {
    match report.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// IPQualityScore's field names (`ISP`, `ASN`, …) to ours.
pub fn map_report(ip: &str, report: &Value, checked_at: i64) -> IpqsResult {
    IpqsResult {
        ip: ip.to_owned(),
        success: true,
        fraud_score: int(report, "fraud_score").unwrap_or(0).clamp(0, 100),
        country_code: text(report, "country_code"),
        region: text(report, "region"),
        city: text(report, "city"),
        isp: text(report, "ISP").or_else(|| text(report, "isp")),
        organization: text(report, "organization"),
        asn: int(report, "ASN").or_else(|| int(report, "asn")),
        host: text(report, "host"),
        latitude: report.get("latitude").and_then(Value::as_f64),
        longitude: report.get("longitude").and_then(Value::as_f64),
        zip_code: text(report, "zip_code"),
        timezone: text(report, "timezone"),
        connection_type: text(report, "connection_type"),
        abuse_velocity: text(report, "abuse_velocity"),
        vpn: flag(report, "vpn"),
        active_vpn: flag(report, "active_vpn"),
        proxy: flag(report, "proxy"),
        tor: flag(report, "tor"),
        active_tor: flag(report, "active_tor"),
        bot_status: flag(report, "bot_status"),
        recent_abuse: flag(report, "recent_abuse"),
        mobile: flag(report, "mobile"),
        checked_at: to_rfc3339(checked_at),
        cached: false,
    }
}

fn upstream_error(err: &ProviderError) -> ApiError {
    tracing::warn!(error = %err, "IPQS lookup failed");
    ApiError::new(StatusCode::BAD_GATEWAY, API_ERROR, err.to_string())
}

impl IpqsService {
    pub fn new(
        db: Db,
        settings: Arc<SettingsService>,
        provider: Arc<dyn IpqsProvider>,
        config: &IpqsConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            provider,
            settings,
            store: IpqsStore::new(db),
            env_key: config.api_key.clone(),
            ttl_ms: i64::try_from(config.cache_ttl.as_millis()).unwrap_or(i64::MAX),
        })
    }

    /// `(enabled, key, source)`: the settings key wins over the environment's.
    async fn credentials(
        &self,
        tenant: &str,
    ) -> ApiResult<(bool, Option<Secret>, Option<&'static str>)> {
        let settings = self.settings.ipqs_settings(tenant).await?;
        let enabled = settings.enabled != Some(false);
        let (key, source) = match settings.api_key {
            Some(key) => (Some(key), Some("settings")),
            None if !self.env_key.is_empty() => (Some(self.env_key.clone()), Some("env")),
            None => (None, None),
        };
        Ok((enabled, key, source))
    }

    /// Drops expired cache entries (they are never served, only taking space).
    pub async fn purge_expired(&self) -> ApiResult<u64> {
        Ok(self.store.purge_expired(now_ms()).await?)
    }

    pub async fn status(&self, principal: &Principal) -> ApiResult<IpqsStatus> {
        let (enabled, key, source) = self.credentials(&principal.tenant_id).await?;
        Ok(IpqsStatus {
            enabled,
            configured: key.is_some(),
            source: source.map(str::to_owned),
        })
    }

    async fn key(&self, tenant: &str) -> ApiResult<Secret> {
        let (enabled, key, _) = self.credentials(tenant).await?;
        let key = key.ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "IPQS_NOT_CONFIGURED",
                "No IPQS API key: set settings/api_keys.ipqs.api_key or IPQS_API_KEY",
            )
        })?;
        if !enabled {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "IPQS_DISABLED",
                "IPQS checks are disabled in settings/api_keys",
            ));
        }
        Ok(key)
    }

    /// A cached report, or a fresh one from the provider (then cached).
    async fn lookup(
        &self,
        tenant: &str,
        key: &Secret,
        ip: &str,
    ) -> Result<IpqsResult, ProviderOrDb> {
        let now = now_ms();
        if self.ttl_ms > 0
            && let Some(row) = self.store.fresh(tenant, ip, now).await?
            && let Ok(mut result) = serde_json::from_str::<IpqsResult>(&row.result)
        {
            result.cached = true;
            return Ok(result);
        }
        let report = self
            .provider
            .lookup(key, ip)
            .await
            .map_err(ProviderOrDb::Provider)?;
        let result = map_report(ip, &report, now);
        if self.ttl_ms > 0 {
            let stored = serde_json::to_string(&result).map_err(|e| ProviderOrDb::Db(e.into()))?;
            self.store
                .put(ipqs_cache::Model {
                    tenant_id: tenant.to_owned(),
                    ip: ip.to_owned(),
                    result: stored,
                    checked_at: now,
                    expires_at: now.saturating_add(self.ttl_ms),
                })
                .await?;
        }
        Ok(result)
    }

    pub async fn check(&self, principal: &Principal, raw_ip: &str) -> ApiResult<IpqsResult> {
        let ip = parse_ip(raw_ip)?;
        let key = self.key(&principal.tenant_id).await?;
        self.lookup(&principal.tenant_id, &key, &ip)
            .await
            .map_err(|e| match e {
                ProviderOrDb::Provider(p) => upstream_error(&p),
                ProviderOrDb::Db(d) => ApiError::Internal(d),
            })
    }

    /// Up to ten addresses at once; each gets its own result or error.
    pub async fn check_batch(
        &self,
        principal: &Principal,
        ips: &[String],
    ) -> ApiResult<IpqsBatchResponse> {
        if ips.is_empty() {
            return Err(ApiError::bad_request(
                error_code::BAD_REQUEST,
                "Array of IP addresses is required",
            ));
        }
        if ips.len() > MAX_BATCH {
            return Err(ApiError::bad_request(
                error_code::BAD_REQUEST,
                "Maximum 10 IPs per batch request",
            ));
        }
        // A batch of nothing but malformed addresses is answered item by item without the
        // provider, so bad input never turns into IPQS_NOT_CONFIGURED.
        let key = if ips.iter().any(|raw| parse_ip(raw).is_ok()) {
            self.key(&principal.tenant_id).await?
        } else {
            Secret::new(String::new())
        };
        let tenant = principal.tenant_id.as_str();
        let jobs = ips.iter().map(|raw| {
            let key = &key;
            async move {
                let shown = raw.trim().to_owned();
                let Ok(ip) = parse_ip(raw) else {
                    return Ok(IpqsBatchItem {
                        ip: shown,
                        success: false,
                        data: None,
                        error: Some(INVALID_IP.to_owned()),
                        code: Some(error_code::BAD_REQUEST.to_owned()),
                    });
                };
                match self.lookup(tenant, key, &ip).await {
                    Ok(result) => Ok(IpqsBatchItem {
                        ip: shown,
                        success: true,
                        data: Some(result),
                        error: None,
                        code: None,
                    }),
                    Err(ProviderOrDb::Provider(err)) => {
                        tracing::warn!(error = %err, "IPQS lookup failed");
                        Ok(IpqsBatchItem {
                            ip: shown,
                            success: false,
                            data: None,
                            error: Some(err.to_string()),
                            code: Some(API_ERROR.to_owned()),
                        })
                    }
                    Err(ProviderOrDb::Db(err)) => Err(ApiError::Internal(err)),
                }
            }
        });
        let results = futures::future::join_all(jobs)
            .await
            .into_iter()
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(IpqsBatchResponse { results })
    }
}

/// A lookup fails at the provider (reported to the caller) or in our database (a 500).
enum ProviderOrDb {
    Provider(ProviderError),
    Db(anyhow::Error),
}

impl From<sea_orm::DbErr> for ProviderOrDb {
    fn from(err: sea_orm::DbErr) -> Self {
        ProviderOrDb::Db(err.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn addresses_are_checked_and_canonicalised() {
        assert_eq!(parse_ip(" 8.8.8.8 ").expect("v4"), "8.8.8.8");
        assert_eq!(parse_ip("0:0::1").expect("v6"), "::1");
        for bad in ["999.1.1.1", "1.2.3", "01.2.3.4", "example.com"] {
            let err = parse_ip(bad).expect_err(bad);
            assert_eq!(err.code(), "BAD_REQUEST");
        }
        assert!(parse_ip("  ").is_err());
    }

    #[test]
    fn provider_fields_map_to_ours() {
        let report = json!({
            "success": true, "fraud_score": 87, "country_code": "DE", "region": "Berlin",
            "city": "Berlin", "ISP": "Example ISP", "organization": "Example Org", "ASN": 64500,
            "host": "h.example", "latitude": 52.5, "longitude": 13.4, "zip_code": "N/A",
            "timezone": "Europe/Berlin", "vpn": true, "proxy": true, "tor": false,
            "bot_status": true, "recent_abuse": true, "mobile": false,
            "connection_type": "Data Center", "abuse_velocity": "high"
        });
        let r = map_report("1.2.3.4", &report, 0);
        assert_eq!(r.fraud_score, 87);
        assert_eq!(r.isp.as_deref(), Some("Example ISP"));
        assert_eq!(r.asn, Some(64500));
        assert_eq!(r.zip_code, None);
        assert!(r.vpn && r.proxy && !r.tor && r.bot_status);
        assert_eq!(r.connection_type.as_deref(), Some("Data Center"));
    }
}
