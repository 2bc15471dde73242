//! Where IP reports come from. The real provider is IPQualityScore's JSON API; tests point
//! `IPQS_BASE_URL` at a local fake.

use crate::config::Secret;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider answered `success: false` (bad key, quota, …).
    #[error("IPQS rejected the request: {0}")]
    Rejected(String),
    /// An answer that is not a report (HTTP error, not JSON).
    #[error("IPQS returned an invalid response: {0}")]
    Invalid(String),
    /// No answer (connection, timeout).
    #[error("IPQS could not be reached: {0}")]
    Unreachable(String),
}

#[async_trait::async_trait]
pub trait IpqsProvider: Send + Sync {
    /// The provider's raw JSON report of one address.
    async fn lookup(&self, api_key: &Secret, ip: &str) -> Result<Value, ProviderError>;
}

/// `GET {base}/api/json/ip/{key}/{ip}?strictness=1&allow_public_access_points=true&fast=true`.
pub struct HttpProvider {
    client: reqwest::Client,
    base_url: String,
}

impl HttpProvider {
    pub fn new(base_url: &str, timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .user_agent(concat!("botmox/", env!("CARGO_PKG_VERSION")))
                .build()?,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }
}

/// Keeps the key out of anything that may be logged or returned.
fn scrub(text: &str, key: &Secret) -> String {
    let text: String = text.chars().take(300).collect();
    if key.expose().is_empty() {
        text
    } else {
        text.replace(key.expose(), "****")
    }
}

#[async_trait::async_trait]
impl IpqsProvider for HttpProvider {
    async fn lookup(&self, api_key: &Secret, ip: &str) -> Result<Value, ProviderError> {
        let mut url = url::Url::parse(&self.base_url)
            .map_err(|e| ProviderError::Invalid(format!("bad base URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| ProviderError::Invalid("base URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(["api", "json", "ip", api_key.expose(), ip]);
        url.query_pairs_mut()
            .append_pair("strictness", "1")
            .append_pair("allow_public_access_points", "true")
            .append_pair("fast", "true");
        // The key is part of the URL: errors are reported without it.
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(ProviderError::Invalid(format!("HTTP {}", status.as_u16())));
        }
        let report: Value = serde_json::from_slice(&body)
            .map_err(|_| ProviderError::Invalid("the body is not JSON".into()))?;
        if !report.is_object() {
            return Err(ProviderError::Invalid("the body is not an object".into()));
        }
        if report.get("success").and_then(Value::as_bool) != Some(true) {
            let message = report
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(ProviderError::Rejected(scrub(message, api_key)));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scrubbed_from_messages() {
        let key = Secret::new("k3y-value");
        assert_eq!(scrub("bad key k3y-value given", &key), "bad key **** given");
    }
}
