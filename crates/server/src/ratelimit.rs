//! Fixed-window rate limits with exact `X-RateLimit-*` figures: the general API budgets (per
//! client IP and per principal) as middleware, and a limiter value services use for login and
//! pairing.
//!
//! Fixed windows (rather than GCRA) because operators and the agent read `Remaining` and
//! `Reset` literally, and those are exact here.

use crate::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dashmap::DashMap;
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets (at least 1).
    pub reset_secs: u64,
}

impl Decision {
    pub fn apply_headers(&self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_secs));
    }

    pub fn into_error(self) -> Response {
        ApiError::rate_limited(self).into_response()
    }
}

/// Counts hits per key in windows of fixed length.
pub struct FixedWindow {
    limit: u32,
    window: Duration,
    buckets: DashMap<String, (Instant, u32)>,
    last_sweep: std::sync::Mutex<Instant>,
}

impl FixedWindow {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            buckets: DashMap::new(),
            last_sweep: std::sync::Mutex::new(Instant::now()),
        }
    }

    pub fn unlimited(&self) -> bool {
        self.limit == 0
    }

    pub fn check(&self, key: &str) -> Decision {
        let now = Instant::now();
        self.sweep(now);
        let mut entry = self.buckets.entry(key.to_owned()).or_insert((now, 0));
        let (start, count) = *entry;
        let (start, count) = if now.duration_since(start) >= self.window {
            (now, 0)
        } else {
            (start, count)
        };
        let allowed = count < self.limit;
        let count = if allowed { count + 1 } else { count };
        *entry = (start, count);
        let left = self.window.saturating_sub(now.duration_since(start));
        Decision {
            allowed,
            limit: self.limit,
            remaining: self.limit.saturating_sub(count),
            reset_secs: left.as_secs_f64().ceil().max(1.0) as u64,
        }
    }

    /// Drops expired buckets now and then so memory stays bounded by active keys.
    fn sweep(&self, now: Instant) {
        let interval = (self.window / 2).max(Duration::from_secs(10));
        let Ok(mut last) = self.last_sweep.try_lock() else {
            return;
        };
        if now.duration_since(*last) < interval {
            return;
        }
        *last = now;
        drop(last);
        let window = self.window;
        self.buckets
            .retain(|_, (start, _)| now.duration_since(*start) < window);
    }
}

/// The API-wide budgets.
pub struct ApiLimits {
    pub per_ip: FixedWindow,
    pub per_principal: FixedWindow,
    pub trust_forwarded_for: bool,
}

pub type SharedLimits = Arc<ApiLimits>;

/// The client address: the socket peer, or the first `X-Forwarded-For` hop when trusted.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trust_forwarded: bool) -> String {
    if trust_forwarded
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return ip.to_string();
    }
    peer.map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Paths the agent's command bus polls constantly; they are not budgeted.
fn exempt(method: &Method, path: &str) -> bool {
    method == Method::OPTIONS
        || path.starts_with("/api/v1/health")
        || path == "/metrics"
        || path == "/api/v1/auth/verify"
        || path == "/api/v1/agents/heartbeat"
        || path == "/api/v1/agents/ws"
        || path.starts_with("/api/v1/vm-ops/commands/next")
        || path == "/api/v1/vm-ops/events"
}

pub async fn middleware(
    State(limits): State<SharedLimits>,
    request: Request,
    next: Next,
) -> Response {
    if exempt(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let headers = request.headers();
    let mut tightest: Option<Decision> = None;
    if !limits.per_ip.unlimited() {
        let ip = client_ip(headers, peer, limits.trust_forwarded_for);
        let d = limits.per_ip.check(&format!("ip:{ip}"));
        if !d.allowed {
            return d.into_error();
        }
        tightest = Some(d);
    }
    if !limits.per_principal.unlimited()
        && let Some(auth) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
    {
        let bearer = crate::auth::token::strip_bearer(auth);
        // Agent tokens drive the command bus and are not budgeted.
        if !bearer.is_empty() && !bearer.starts_with(crate::auth::token::AGENT_TOKEN_PREFIX) {
            let key = format!(
                "auth:{}",
                hex::encode(&Sha256::digest(bearer.as_bytes())[..16])
            );
            let d = limits.per_principal.check(&key);
            if !d.allowed {
                return d.into_error();
            }
            if tightest.is_none_or(|t| d.remaining < t.remaining) {
                tightest = Some(d);
            }
        }
    }
    let mut response = next.run(request).await;
    // A tighter limit inside (login, pairing) has already set its own figures.
    if let Some(d) = tightest
        && !response.headers().contains_key("x-ratelimit-limit")
    {
        d.apply_headers(response.headers_mut());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_its_limit_then_refuses() {
        let fw = FixedWindow::new(3, Duration::from_secs(60));
        let seen: Vec<(bool, u32)> = (0..4)
            .map(|_| {
                let d = fw.check("k");
                (d.allowed, d.remaining)
            })
            .collect();
        assert_eq!(seen, vec![(true, 2), (true, 1), (true, 0), (false, 0)]);
        assert!(fw.check("other").allowed, "keys are independent");
    }

    #[test]
    fn a_new_window_starts_fresh() {
        let fw = FixedWindow::new(1, Duration::from_millis(20));
        assert!(fw.check("k").allowed);
        assert!(!fw.check("k").allowed);
        std::thread::sleep(Duration::from_millis(25));
        assert!(fw.check("k").allowed);
    }
}
