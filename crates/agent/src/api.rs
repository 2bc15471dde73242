//! The server's HTTP API as the agent uses it (envelope-aware).

use std::time::Duration;

use anyhow::Context;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{code}: {message} (HTTP {status})")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    #[error("NETWORK_ERROR: {0}")]
    Network(String),
}

impl ApiError {
    pub fn code(&self) -> &str {
        match self {
            Self::Server { code, .. } => code,
            Self::Network(_) => "NETWORK_ERROR",
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Server { status, .. } => Some(*status),
            Self::Network(_) => None,
        }
    }
}

pub struct ServerApi {
    base: String,
    token: Option<Secret>,
    http: reqwest::Client,
}

/// What register / quick-pair return.
#[derive(Debug, Clone, Deserialize)]
pub struct Paired {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub agent_token: String,
    #[serde(default)]
    pub agent_token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rotated {
    pub agent_token: String,
    #[serde(default)]
    pub agent_token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ServerApi {
    pub fn new(base: &str, token: Option<Secret>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("botmox-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http,
        })
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .header("accept", "application/json");
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose());
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ApiError::Network(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ApiError::Network(e.to_string()))?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if (200..300).contains(&status) && v["success"] != Value::Bool(false) {
            return Ok(v.get("data").cloned().unwrap_or(Value::Null));
        }
        let code = v["error"]["code"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                match status {
                    401 => "UNAUTHORIZED",
                    403 => "FORBIDDEN",
                    429 => "RATE_LIMITED",
                    _ => "API_ERROR",
                }
                .to_owned()
            });
        let message = v["error"]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("request failed (HTTP {status})"));
        Err(ApiError::Server {
            status,
            code,
            message,
        })
    }

    pub async fn register(&self, code: &str, machine_name: &str) -> Result<Paired, ApiError> {
        let v = self
            .call(
                Method::POST,
                "/api/v1/agents/register",
                Some(json!({
                    "pairing_code": code,
                    "machine_name": machine_name,
                    "version": env!("CARGO_PKG_VERSION"),
                    "platform": std::env::consts::OS,
                    "capabilities": ["proxmox"],
                })),
            )
            .await?;
        parse(v)
    }

    pub async fn quick_pair(
        &self,
        login: &str,
        password: &Secret,
        machine_name: &str,
    ) -> Result<Paired, ApiError> {
        let v = self
            .call(
                Method::POST,
                "/api/v1/agents/quick-pair",
                Some(json!({
                    "login": login,
                    "password": password.expose(),
                    "machine_name": machine_name,
                    "version": env!("CARGO_PKG_VERSION"),
                    "platform": std::env::consts::OS,
                    "capabilities": ["proxmox"],
                })),
            )
            .await?;
        parse(v)
    }

    pub async fn rotate(&self, agent_id: &str) -> Result<Rotated, ApiError> {
        let v = self
            .call(
                Method::POST,
                &format!("/api/v1/agents/{agent_id}/token/rotate"),
                Some(json!({})),
            )
            .await?;
        parse(v)
    }

    /// HTTP fallback for a result: `PATCH /vm-ops/commands/{id}`.
    pub async fn patch_command(&self, id: &str, body: Value) -> Result<Value, ApiError> {
        self.call(
            Method::PATCH,
            &format!("/api/v1/vm-ops/commands/{id}"),
            Some(body),
        )
        .await
    }

    pub async fn heartbeat(&self, agent_id: &str, metadata: Value) -> Result<Value, ApiError> {
        self.call(
            Method::POST,
            "/api/v1/agents/heartbeat",
            Some(json!({"agent_id": agent_id, "metadata": metadata})),
        )
        .await
    }

    /// Long-poll: the next command handed to this agent, or `None` after `timeout_ms`.
    pub async fn next_command(
        &self,
        agent_id: &str,
        timeout_ms: u64,
    ) -> Result<Option<botmox_contract::vm_ops::CommandRecord>, ApiError> {
        let id: String = url::form_urlencoded::byte_serialize(agent_id.as_bytes()).collect();
        let v = self
            .call(
                Method::GET,
                &format!("/api/v1/vm-ops/commands/next?agent_id={id}&timeout_ms={timeout_ms}"),
                None,
            )
            .await?;
        if v.is_null() {
            return Ok(None);
        }
        parse(v).map(Some)
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::Server {
        status: 200,
        code: "PARSE_ERROR".to_owned(),
        message: e.to_string(),
    })
}

/// This machine's name for the server.
pub fn machine_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "botmox-agent".to_owned())
}
