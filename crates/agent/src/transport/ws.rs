//! The agent WebSocket: `GET /api/v1/agents/ws?mode=push&max_inflight=N`, token in the
//! `Authorization` header (never in the URL), small explicit buffers.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::secret::Secret;

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Close code the server uses for a revoked agent.
pub const CLOSE_REVOKED: u16 = 4003;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The handshake was refused with 401/403: the token is no longer valid.
    #[error("the server refused the agent token (HTTP {0})")]
    Rejected(u16),
    #[error("{0}")]
    Failed(String),
}

/// `http(s)://host` → `ws(s)://host/api/v1/agents/ws?mode=push&max_inflight=N`.
pub fn ws_url(server_url: &str, max_inflight: u32) -> String {
    let base = server_url.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{base}/api/v1/agents/ws?mode=push&max_inflight={max_inflight}")
}

pub async fn connect(
    server_url: &str,
    token: &Secret,
    max_inflight: u32,
) -> Result<WsStream, ConnectError> {
    let mut req = ws_url(server_url, max_inflight)
        .into_client_request()
        .map_err(|e| ConnectError::Failed(e.to_string()))?;
    let auth = format!("Bearer {}", token.expose()).parse().map_err(|_| {
        ConnectError::Failed("the agent token is not a valid header value".to_owned())
    })?;
    req.headers_mut().insert("authorization", auth);
    if let Ok(id) = uuid::Uuid::new_v4().to_string().parse() {
        req.headers_mut().insert("x-request-id", id);
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(16 * 1024)
        .max_message_size(Some(16 * 1024 * 1024));
    let fut = tokio_tungstenite::connect_async_with_config(req, Some(config), true);
    match tokio::time::timeout(Duration::from_secs(10), fut).await {
        Err(_) => Err(ConnectError::Failed(
            "handshake timed out after 10s".to_owned(),
        )),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp))) => {
            let code = resp.status().as_u16();
            if code == 401 || code == 403 {
                Err(ConnectError::Rejected(code))
            } else {
                Err(ConnectError::Failed(format!(
                    "handshake refused with HTTP {code}"
                )))
            }
        }
        Ok(Err(e)) => Err(ConnectError::Failed(e.to_string())),
    }
}
