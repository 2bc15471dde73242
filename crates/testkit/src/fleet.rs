//! Simulated agents speaking the real WebSocket protocol, for tests and the fleet benchmarks.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One agent connection. Frames that a `expect` call skips stay buffered for later calls.
pub struct SimAgent {
    ws: Ws,
    pub agent_id: String,
    buffered: VecDeque<Value>,
    pub closed: bool,
}

/// `http://host:port` → `ws://host:port/api/v1/agents/ws?<query>`.
pub fn ws_url(base: &str, query: &str) -> String {
    let base = base
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    if query.is_empty() {
        format!("{base}/api/v1/agents/ws")
    } else {
        format!("{base}/api/v1/agents/ws?{query}")
    }
}

impl SimAgent {
    /// Connects with the token in the Authorization header and waits for `connected`.
    pub async fn connect(base: &str, token: &str, query: &str) -> anyhow::Result<Self> {
        let mut req = ws_url(base, query).into_client_request()?;
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        let mut agent = Self {
            ws,
            agent_id: String::new(),
            buffered: VecDeque::new(),
            closed: false,
        };
        let hello = agent.expect("connected", Duration::from_secs(10)).await?;
        agent.agent_id = hello["agent_id"].as_str().unwrap_or_default().to_owned();
        Ok(agent)
    }

    /// Tries to connect and returns the HTTP status of a refused handshake.
    pub async fn refused_status(base: &str, token: Option<&str>, query: &str) -> Option<u16> {
        let mut req = ws_url(base, query).into_client_request().ok()?;
        if let Some(t) = token {
            req.headers_mut()
                .insert("authorization", format!("Bearer {t}").parse().ok()?);
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok(_) => None,
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Some(resp.status().as_u16()),
            Err(_) => Some(0),
        }
    }

    pub async fn send(&mut self, value: Value) -> anyhow::Result<()> {
        self.ws
            .send(Message::Text(value.to_string().into()))
            .await?;
        Ok(())
    }

    pub async fn send_raw(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.send(Message::Text(text.to_owned().into())).await?;
        Ok(())
    }

    /// The next JSON frame (buffered first); `None` when the socket closed.
    pub async fn next(&mut self, timeout: Duration) -> anyhow::Result<Option<Value>> {
        if let Some(v) = self.buffered.pop_front() {
            return Ok(Some(v));
        }
        self.read(timeout).await
    }

    async fn read(&mut self, timeout: Duration) -> anyhow::Result<Option<Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| anyhow::anyhow!("no frame within {timeout:?}"))?;
            match msg {
                Some(Ok(Message::Text(t))) => return Ok(Some(serde_json::from_str(t.as_str())?)),
                Some(Ok(Message::Close(_))) | None => {
                    self.closed = true;
                    return Ok(None);
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    self.closed = true;
                    return Err(e.into());
                }
            }
        }
    }

    /// Waits for a frame of this `type`, keeping the others for later.
    pub async fn expect(&mut self, ty: &str, timeout: Duration) -> anyhow::Result<Value> {
        if let Some(pos) = self.buffered.iter().position(|v| v["type"] == ty)
            && let Some(v) = self.buffered.remove(pos)
        {
            return Ok(v);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await? {
                Some(v) if v["type"] == ty => return Ok(v),
                Some(v) => self.buffered.push_back(v),
                None => anyhow::bail!("socket closed while waiting for {ty}"),
            }
        }
    }

    /// Waits for the socket to close, returning the frames that came before.
    pub async fn until_closed(&mut self, timeout: Duration) -> anyhow::Result<Vec<Value>> {
        let mut seen: Vec<Value> = self.buffered.drain(..).collect();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await {
                Ok(Some(v)) => seen.push(v),
                Ok(None) | Err(_) if self.closed => return Ok(seen),
                Ok(None) => return Ok(seen),
                Err(e) => return Err(e),
            }
        }
    }

    pub async fn ack(&mut self, command: &Value) -> anyhow::Result<()> {
        self.send(json!({
            "type": "agent.command.ack",
            "command_id": command["id"],
            "agent_id": self.agent_id,
            "lease_epoch": command["lease_epoch"],
        }))
        .await
    }

    pub async fn result(
        &mut self,
        command: &Value,
        status: &str,
        result: Value,
    ) -> anyhow::Result<()> {
        self.send(json!({
            "type": "agent.command.result",
            "command_id": command["id"],
            "agent_id": self.agent_id,
            "lease_epoch": command["lease_epoch"],
            "status": status,
            "result": result,
        }))
        .await
    }

    /// Sends an ack and a success result for `command` in one write (answers not awaited).
    pub async fn ack_and_succeed(&mut self, command: &Value, result: Value) -> anyhow::Result<()> {
        let ack = json!({
            "type": "agent.command.ack",
            "command_id": command["id"],
            "agent_id": self.agent_id,
            "lease_epoch": command["lease_epoch"],
        });
        let done = json!({
            "type": "agent.command.result",
            "command_id": command["id"],
            "agent_id": self.agent_id,
            "lease_epoch": command["lease_epoch"],
            "status": "succeeded",
            "result": result,
        });
        self.ws.feed(Message::Text(ack.to_string().into())).await?;
        self.ws.feed(Message::Text(done.to_string().into())).await?;
        self.ws.flush().await?;
        Ok(())
    }

    /// Acks, then reports success with `{"echo": payload}`; returns the command.
    pub async fn run_next(&mut self, timeout: Duration) -> anyhow::Result<Value> {
        let assigned = self.expect("agent.command.assigned", timeout).await?;
        let command = assigned["command"].clone();
        anyhow::ensure!(
            command.is_object(),
            "assigned without a command: {assigned}"
        );
        self.ack(&command).await?;
        self.expect("agent.command.ack", timeout).await?;
        self.result(&command, "succeeded", json!({"echo": command["payload"]}))
            .await?;
        self.expect("agent.command.result", timeout).await?;
        Ok(command)
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
