//! Injected HTTP errors and the request log, applied before authentication so a test can make
//! any endpoint (login included) fail the way a broken or overloaded Proxmox would.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::Shared;

/// How many requests the log keeps.
const REQUEST_LOG_LIMIT: usize = 10_000;

/// Makes matching requests fail with `status` and `message` (rendered like a handler error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFault {
    /// `GET`, `POST`, …; `None` matches every method.
    pub method: Option<String>,
    /// Path below `/api2/json`, decoded; `*` matches any run of characters
    /// (`/nodes/pve/qemu/*/status/start`, `/cluster/*`).
    pub path: String,
    pub status: u16,
    pub message: String,
    /// How many requests to fail; `None` = until removed.
    pub times: Option<usize>,
}

impl HttpFault {
    pub fn new(method: Option<&str>, path: &str, status: u16, message: &str) -> Self {
        Self {
            method: method.map(str::to_ascii_uppercase),
            path: path.to_owned(),
            status,
            message: message.to_owned(),
            times: None,
        }
    }

    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && glob(&self.path, path)
    }
}

/// Handle for removing an injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultId(pub(crate) u64);

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// Decoded path including `/api2/json`.
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<(FaultId, HttpFault)>,
    next_id: u64,
}

impl Faults {
    pub(crate) fn add(&mut self, fault: HttpFault) -> FaultId {
        self.next_id += 1;
        let id = FaultId(self.next_id);
        self.rules.push((id, fault));
        id
    }

    pub(crate) fn remove(&mut self, id: FaultId) {
        self.rules.retain(|(rule, _)| *rule != id);
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// Consumes one use of the first matching rule.
    fn take(&mut self, method: &str, api_path: &str) -> Option<ApiError> {
        let index = self
            .rules
            .iter()
            .position(|(_, f)| f.matches(method, api_path))?;
        let fault = &mut self.rules[index].1;
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let error = ApiError::status(status, fault.message.clone());
        if let Some(left) = fault.times.as_mut() {
            *left = left.saturating_sub(1);
            if *left == 0 {
                self.rules.remove(index);
            }
        }
        Some(error)
    }
}

/// `*` matches any (possibly empty) run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = rest.split('*').collect();
    let Some((last, middle)) = pieces.split_last() else {
        return true;
    };
    for piece in middle {
        match remaining.find(piece) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

pub(crate) fn decode_path(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// Counts and logs every request, then fails it if an injected fault matches.
pub(crate) async fn middleware(
    State(shared): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_owned();
    let path = decode_path(req.uri().path());
    let query = req.uri().query().map(str::to_owned);
    let api_path = path.strip_prefix("/api2/json").unwrap_or(&path).to_owned();
    let injected = shared.lock().faults.take(&method, &api_path);
    let response = match injected {
        Some(error) => error.into_response(),
        None => next.run(req).await,
    };
    let status = response.status().as_u16();
    let mut world = shared.lock();
    world.request_total += 1;
    if world.requests.len() == REQUEST_LOG_LIMIT {
        world.requests.pop_front();
    }
    world.requests.push_back(RequestRecord {
        method,
        path,
        query,
        status,
    });
    response
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_wildcards() {
        assert!(glob("/nodes/pve/qemu", "/nodes/pve/qemu"));
        assert!(!glob("/nodes/pve/qemu", "/nodes/pve/qemu/100"));
        assert!(glob(
            "/nodes/*/qemu/*/status/start",
            "/nodes/pve/qemu/100/status/start"
        ));
        assert!(!glob(
            "/nodes/*/qemu/*/status/start",
            "/nodes/pve/qemu/100/status/stop"
        ));
        assert!(glob("/cluster/*", "/cluster/resources"));
        assert!(glob("*", "/anything"));
        assert!(!glob("/a*b", "/a"));
    }
}
