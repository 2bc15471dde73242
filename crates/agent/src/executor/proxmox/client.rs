//! Proxmox VE REST client: ticket login (cookie `PVEAuthCookie` + `CSRFPreventionToken` on
//! writes) or an API token header; one session per target.

use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::ProxmoxTarget;
use crate::executor::ExecError;
use crate::secret::Secret;

use super::tls;

const SESSION_TTL: Duration = Duration::from_secs(90 * 60);

struct Ticket {
    ticket: Secret,
    csrf: Secret,
    at: Instant,
}

pub struct ProxmoxClient {
    base: String,
    username: String,
    password: Option<Secret>,
    api_token: Option<(String, Secret)>,
    http: reqwest::Client,
    session: Mutex<Option<Ticket>>,
}

impl std::fmt::Debug for ProxmoxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxmoxClient")
            .field("base", &self.base)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl ProxmoxClient {
    pub fn new(target: &ProxmoxTarget) -> anyhow::Result<Self> {
        let http = tls::client_builder(target)?
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .context("building the Proxmox HTTP client")?;
        let api_token = match (&target.token_id, &target.token_secret) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
            _ => None,
        };
        Ok(Self {
            base: format!("{}/api2/json", target.url.trim_end_matches('/')),
            username: target.full_username(),
            password: target.password.clone(),
            api_token,
            http,
            session: Mutex::new(None),
        })
    }

    /// Logs in (ticket mode); `force` ignores a cached ticket. No-op with an API token.
    pub async fn login(&self, force: bool) -> Result<(), ExecError> {
        if self.api_token.is_some() {
            // Prove the token works.
            self.request(Method::GET, "/version", &[]).await?;
            return Ok(());
        }
        let mut slot = self.session.lock().await;
        if !force && slot.as_ref().is_some_and(|t| t.at.elapsed() < SESSION_TTL) {
            return Ok(());
        }
        *slot = Some(self.fresh_ticket().await?);
        Ok(())
    }

    async fn fresh_ticket(&self) -> Result<Ticket, ExecError> {
        let password = self
            .password
            .as_ref()
            .map(Secret::expose)
            .unwrap_or_default();
        let resp = self
            .http
            .post(format!("{}/access/ticket", self.base))
            .form(&[("username", self.username.as_str()), ("password", password)])
            .send()
            .await
            .map_err(|e| ExecError::new("PROXMOX_UNREACHABLE", format!("Proxmox login: {e}")))?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 401 || status == 403 {
            return Err(ExecError::new(
                "PROXMOX_AUTH_FAILED",
                format!(
                    "Proxmox authentication failed (HTTP {status}). Possible wrong username/password."
                ),
            ));
        }
        let ticket = body["data"]["ticket"].as_str().filter(|_| status < 400);
        let Some(ticket) = ticket else {
            return Err(ExecError::new(
                "PROXMOX_AUTH_FAILED",
                format!("Proxmox login failed (HTTP {status})"),
            ));
        };
        Ok(Ticket {
            ticket: Secret::new(ticket),
            csrf: Secret::new(
                body["data"]["CSRFPreventionToken"]
                    .as_str()
                    .unwrap_or_default(),
            ),
            at: Instant::now(),
        })
    }

    /// One API call; `params` go in the query for GET/DELETE and as a form otherwise.
    /// Returns `data`. A 401 with a ticket logs in again and retries once.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        params: &[(String, String)],
    ) -> Result<Value, ExecError> {
        let in_query = method == Method::GET || method == Method::DELETE;
        self.send(method, path, &|req| {
            if in_query {
                if params.is_empty() {
                    req
                } else {
                    req.query(params)
                }
            } else {
                req.form(params)
            }
        })
        .await
    }

    /// `POST /nodes/{node}/storage/{storage}/upload` (multipart, the file part named
    /// `filename`); returns the upload task's UPID.
    pub async fn upload(
        &self,
        node: &str,
        storage: &str,
        content: &str,
        filename: &str,
        bytes: bytes::Bytes,
    ) -> Result<Value, ExecError> {
        let path = format!(
            "/nodes/{}/storage/{}/upload",
            super::enc(node),
            super::enc(storage)
        );
        self.send(Method::POST, &path, &|req| {
            // With a length, so the body is not sent chunked (pveproxy wants Content-Length).
            let part = reqwest::multipart::Part::stream_with_length(
                reqwest::Body::from(bytes.clone()),
                bytes.len() as u64,
            )
            .file_name(filename.to_owned())
            .mime_str("application/octet-stream")
            .unwrap_or_else(|_| reqwest::multipart::Part::bytes(Vec::new()));
            let form = reqwest::multipart::Form::new()
                .text("content", content.to_owned())
                .part("filename", part);
            req.multipart(form)
        })
        .await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        attach: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Send + Sync),
    ) -> Result<Value, ExecError> {
        let mut retried = false;
        loop {
            let mut req = attach(
                self.http
                    .request(method.clone(), format!("{}{path}", self.base)),
            );
            if let Some((id, secret)) = &self.api_token {
                req = req.header(
                    "Authorization",
                    format!("PVEAPIToken={id}={}", secret.expose()),
                );
            } else {
                let mut slot = self.session.lock().await;
                if slot.as_ref().is_none_or(|t| t.at.elapsed() >= SESSION_TTL) {
                    *slot = Some(self.fresh_ticket().await?);
                }
                if let Some(t) = slot.as_ref() {
                    req = req.header("Cookie", format!("PVEAuthCookie={}", t.ticket.expose()));
                    if method != Method::GET {
                        req = req.header("CSRFPreventionToken", t.csrf.expose());
                    }
                }
            }
            let resp = req.send().await.map_err(|e| {
                ExecError::new(
                    "PROXMOX_UNREACHABLE",
                    format!("Proxmox API {method} {path}: {e}"),
                )
            })?;
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            if status == 401 && !retried && self.api_token.is_none() {
                retried = true;
                *self.session.lock().await = None;
                continue;
            }
            if status >= 400 {
                return Err(ExecError::new(
                    "PROXMOX_API_ERROR",
                    format!("Proxmox API {method} {path} failed (HTTP {status}): {text}"),
                ));
            }
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return Ok(body.get("data").cloned().unwrap_or(body));
        }
    }
}

/// The first UPID inside a value (string, array or object), depth ≤ 6.
pub fn extract_upid(v: &Value) -> Option<String> {
    fn walk(v: &Value, depth: u8) -> Option<String> {
        if depth > 6 {
            return None;
        }
        match v {
            Value::String(s) => {
                let s = s.trim();
                if let Some(i) = s.find("UPID:") {
                    let rest = &s[i..];
                    let end = rest
                        .find(|c: char| c.is_whitespace() || c == '\'' || c == '"')
                        .unwrap_or(rest.len());
                    Some(rest[..end].to_owned())
                } else if s.is_empty() {
                    None
                } else {
                    Some(s.to_owned())
                }
            }
            Value::Array(a) => a.iter().find_map(|x| walk(x, depth + 1)),
            Value::Object(o) => [
                "upid", "UPID", "task", "taskId", "task_id", "id", "value", "data", "result",
            ]
            .iter()
            .find_map(|k| o.get(*k).and_then(|x| walk(x, depth + 1))),
            _ => None,
        }
    }
    walk(v, 0)
}
