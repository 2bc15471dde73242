//! The daemon: one connection task that keeps the socket up (back-off between attempts, never a
//! busy loop), runs assigned commands concurrently, reports progress and results, re-sends
//! undelivered results after a reconnect, heartbeats, renews the token and stops on revoke or a
//! shutdown signal.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use botmox_contract::agent_ws::{HeldCommand, Inbound, Outbound};
use botmox_contract::vm_ops::CommandRecord;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{debug, error, info, warn};

use crate::api::ServerApi;
use crate::backoff::Backoff;
use crate::config::{AgentConfig, Pairing};
use crate::executor::{CommandCtx, Dispatcher, ExecError, truncate_error};
use crate::transport::ws::{self, CLOSE_REVOKED, ConnectError, WsStream};

mod longpoll;
mod pending;

/// How the agent gets its commands (`BOTMOX_AGENT_TRANSPORT` or `AGENT_TRANSPORT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportMode {
    /// The WebSocket only.
    Ws,
    /// The WebSocket; HTTP long-poll while it cannot connect.
    Hybrid,
    /// HTTP long-poll only.
    LongPoll,
}

impl TransportMode {
    pub fn from_env() -> Self {
        let raw = std::env::var("BOTMOX_AGENT_TRANSPORT")
            .or_else(|_| std::env::var("AGENT_TRANSPORT"))
            .unwrap_or_default();
        Self::parse(&raw)
    }

    /// Anything unknown means `ws`.
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_lowercase().as_str() {
            "hybrid" => Self::Hybrid,
            "longpoll" | "long-poll" => Self::LongPoll,
            _ => Self::Ws,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Ws => "ws",
            Self::Hybrid => "hybrid",
            Self::LongPoll => "longpoll",
        }
    }
}

const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);
const PING_EVERY: Duration = Duration::from_secs(20);
/// No frame at all for this long: the socket is dead (half-open).
const SILENCE_LIMIT: Duration = Duration::from_secs(65);

/// Why `run` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Shutdown,
    Revoked,
    TokenRejected,
}

#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub max_inflight: u32,
    pub backoff: Backoff,
    /// How long a shutdown waits for running commands before failing them.
    pub shutdown_grace: Duration,
    pub transport: TransportMode,
}

impl SessionOptions {
    pub fn from_env() -> Self {
        let grace = std::env::var("BOTMOX_AGENT_SHUTDOWN_GRACE_MS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(30_000);
        let inflight = std::env::var("BOTMOX_AGENT_MAX_INFLIGHT")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(4)
            .clamp(1, 64);
        Self {
            max_inflight: inflight,
            backoff: Backoff::from_env(),
            shutdown_grace: Duration::from_millis(grace),
            transport: TransportMode::from_env(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Cancelled,
    Shutdown,
}

struct Held {
    lease_epoch: i64,
    stop: watch::Sender<Option<Stop>>,
}

enum Event {
    Progress {
        command_id: String,
        lease_epoch: i64,
        progress: Option<i64>,
        message: String,
    },
    Done {
        command_id: String,
        lease_epoch: i64,
        status: &'static str,
        result: Option<Value>,
        error: Option<String>,
    },
}

enum Disconnect {
    Lost(String),
    Revoked,
    TokenRejected,
    Finished,
}

pub struct Session {
    config_path: PathBuf,
    pairing: Pairing,
    dispatcher: Dispatcher,
    opts: SessionOptions,
    held: HashMap<String, Held>,
    /// Results not yet confirmed by the server, by command id.
    pending: BTreeMap<String, Inbound>,
    /// request id of a sent result → command id.
    result_requests: HashMap<String, String>,
    events_tx: mpsc::UnboundedSender<Event>,
    events_rx: mpsc::UnboundedReceiver<Event>,
    shutdown: watch::Receiver<bool>,
    shutting_down: Option<Instant>,
    pending_path: PathBuf,
}

impl Session {
    pub fn new(
        config_path: PathBuf,
        pairing: Pairing,
        dispatcher: Dispatcher,
        opts: SessionOptions,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let pending_path = pending::path_for(&config_path);
        let pending = pending::load(&pending_path);
        if !pending.is_empty() {
            info!(
                count = pending.len(),
                "undelivered results from an earlier run will be re-sent"
            );
        }
        Self {
            pending_path,
            config_path,
            pairing,
            dispatcher,
            opts,
            held: HashMap::new(),
            pending,
            result_requests: HashMap::new(),
            events_tx,
            events_rx,
            shutdown,
            shutting_down: None,
        }
    }

    fn shutdown_requested(&self) -> bool {
        *self.shutdown.borrow()
    }

    fn begin_shutdown(&mut self) {
        if self.shutting_down.is_none() {
            info!(
                running = self.held.len(),
                "shutdown requested; finishing running commands"
            );
            self.shutting_down = Some(Instant::now() + self.opts.shutdown_grace);
        }
    }

    /// Grace period over: stop what still runs; those report `failed: agent shutting down`.
    fn stop_running(&mut self) {
        for (id, h) in &self.held {
            warn!(command_id = %id, "grace period over; stopping command");
            let _ = h.stop.send(Some(Stop::Shutdown));
        }
    }

    fn idle(&self) -> bool {
        self.held.is_empty() && self.pending.is_empty()
    }

    pub async fn run(mut self) -> anyhow::Result<Exit> {
        info!(agent_id = %self.pairing.agent_id, server = %self.pairing.server_url, "agent starting");
        let mut attempt: u32 = 0;
        loop {
            if self.shutdown_requested() {
                self.begin_shutdown();
            }
            if self.shutting_down.is_some() && self.held.is_empty() && self.pending.is_empty() {
                info!("agent stopped");
                return Ok(Exit::Shutdown);
            }
            match self.renew_token_if_due().await {
                Ok(()) => {}
                Err(Exit::Revoked) => return Ok(self.revoked()),
                Err(other) => return Ok(other),
            }
            if self.opts.transport == TransportMode::LongPoll {
                match self.longpoll(None).await {
                    Disconnect::Revoked => return Ok(self.revoked()),
                    Disconnect::TokenRejected => return Ok(Exit::TokenRejected),
                    Disconnect::Finished => {
                        info!("agent stopped");
                        return Ok(Exit::Shutdown);
                    }
                    Disconnect::Lost(_) => continue,
                }
            }
            let connected = ws::connect(
                &self.pairing.server_url,
                &self.pairing.token,
                self.opts.max_inflight,
            )
            .await;
            let reason = match connected {
                Ok(ws) => {
                    if attempt > 0 {
                        info!(reconnect_attempts = attempt, "WS transport recovered");
                    }
                    attempt = 0;
                    info!("WS transport connected");
                    match self.connected(ws).await {
                        Disconnect::Revoked => return Ok(self.revoked()),
                        Disconnect::TokenRejected => return Ok(Exit::TokenRejected),
                        Disconnect::Finished => {
                            info!("agent stopped");
                            return Ok(Exit::Shutdown);
                        }
                        Disconnect::Lost(why) => why,
                    }
                }
                Err(ConnectError::Rejected(code)) => {
                    error!(
                        http_status = code,
                        "the server rejected the agent token (revoked or expired); pair the agent again"
                    );
                    self.fail_pending_over_http().await;
                    return Ok(Exit::TokenRejected);
                }
                Err(ConnectError::Failed(why)) => why,
            };
            attempt = attempt.saturating_add(1);
            let delay = self.opts.backoff.delay(attempt);
            warn!(reconnect_attempt = attempt, delay_ms = delay.as_millis() as u64, error = %reason, "WS transport unavailable");
            if self.shutting_down.is_some() {
                // Do not keep the process alive for a server that is away: report over HTTP;
                // what still cannot be delivered stays in the file for the next start.
                self.fail_pending_over_http().await;
                if self.held.is_empty() {
                    info!(undelivered = self.pending.len(), "agent stopped");
                    return Ok(Exit::Shutdown);
                }
            }
            if self.opts.transport == TransportMode::Hybrid && self.shutting_down.is_none() {
                info!(
                    delay_ms = delay.as_millis() as u64,
                    "using HTTP long-poll until the next WebSocket attempt"
                );
                match self.longpoll(Some(Instant::now() + delay)).await {
                    Disconnect::Revoked => return Ok(self.revoked()),
                    Disconnect::TokenRejected => return Ok(Exit::TokenRejected),
                    Disconnect::Finished => {
                        info!("agent stopped");
                        return Ok(Exit::Shutdown);
                    }
                    Disconnect::Lost(_) => {}
                }
            } else {
                self.wait_offline(delay).await;
            }
        }
    }

    fn revoked(&mut self) -> Exit {
        error!(agent_id = %self.pairing.agent_id, "this agent has been revoked by the server; stopping. Pair it again to use it.");
        for h in self.held.values() {
            let _ = h.stop.send(Some(Stop::Shutdown));
        }
        Exit::Revoked
    }

    /// Sleeps the back-off delay while still collecting command events and watching for a
    /// shutdown (no busy loop).
    async fn wait_offline(&mut self, delay: Duration) {
        let until = Instant::now() + delay;
        loop {
            let grace = self.shutting_down;
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return,
                Some(ev) = self.events_rx.recv() => { self.on_event(ev); }
                changed = self.shutdown.changed(), if self.shutting_down.is_none() => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        self.begin_shutdown();
                    }
                    if self.idle() { return; }
                }
                _ = sleep_until_opt(grace) => { self.stop_running(); self.shutting_down = Some(Instant::now() + Duration::from_secs(3600)); }
            }
        }
    }

    /// Folds a command event into the state; returns the frame to send when connected.
    fn on_event(&mut self, ev: Event) -> Option<Inbound> {
        match ev {
            Event::Progress {
                command_id,
                lease_epoch,
                progress,
                message,
            } => Some(Inbound::Progress {
                request_id: None,
                command_id,
                agent_id: self.pairing.agent_id.clone(),
                lease_epoch,
                progress,
                message: Some(truncate_error(&message)),
            }),
            Event::Done {
                command_id,
                lease_epoch,
                status,
                result,
                error,
            } => {
                self.held.remove(&command_id);
                let msg = Inbound::Result {
                    request_id: Some(uuid::Uuid::new_v4().to_string()),
                    command_id: command_id.clone(),
                    agent_id: self.pairing.agent_id.clone(),
                    lease_epoch,
                    status: status.to_owned(),
                    result,
                    error_message: error,
                };
                self.pending.insert(command_id, msg.clone());
                self.save_pending();
                Some(msg)
            }
        }
    }

    async fn connected(&mut self, mut ws: WsStream) -> Disconnect {
        // Tell the server what we hold: running commands and undelivered results.
        let mut holding: Vec<HeldCommand> = self
            .held
            .iter()
            .map(|(id, h)| HeldCommand {
                command_id: id.clone(),
                lease_epoch: h.lease_epoch,
            })
            .collect();
        for msg in self.pending.values() {
            if let Inbound::Result {
                command_id,
                lease_epoch,
                ..
            } = msg
            {
                holding.push(HeldCommand {
                    command_id: command_id.clone(),
                    lease_epoch: *lease_epoch,
                });
            }
        }
        let sync = Inbound::Sync {
            request_id: Some(uuid::Uuid::new_v4().to_string()),
            holding,
        };
        if let Err(e) = send(&mut ws, &sync).await {
            return Disconnect::Lost(e);
        }
        let resend: Vec<Inbound> = self.pending.values().cloned().collect();
        if !resend.is_empty() {
            info!(count = resend.len(), "re-sending undelivered results");
        }
        for msg in resend {
            self.track_result(&msg);
            if let Err(e) = send(&mut ws, &msg).await {
                return Disconnect::Lost(e);
            }
        }
        if let Err(e) = send(&mut ws, &self.heartbeat()).await {
            return Disconnect::Lost(e);
        }
        let mut heartbeat =
            tokio::time::interval_at(Instant::now() + HEARTBEAT_EVERY, HEARTBEAT_EVERY);
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        let mut last_rx = Instant::now();
        loop {
            if self.shutting_down.is_some() && self.idle() {
                let _ = ws
                    .close(Some(CloseFrame {
                        code: CloseCode::Normal,
                        reason: "agent shutting down".into(),
                    }))
                    .await;
                return Disconnect::Finished;
            }
            let grace = self.shutting_down;
            tokio::select! {
                frame = ws.next() => {
                    last_rx = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            match serde_json::from_str::<Outbound>(text.as_str()) {
                                Ok(out) => {
                                    if let Some(d) = self.on_frame(&mut ws, out).await {
                                        return d;
                                    }
                                }
                                Err(e) => debug!(error = %e, "ignoring an unknown frame"),
                            }
                        }
                        Some(Ok(Message::Close(frame))) => {
                            if frame.as_ref().is_some_and(|f| u16::from(f.code) == CLOSE_REVOKED) {
                                return Disconnect::Revoked;
                            }
                            return Disconnect::Lost(format!("closed by the server ({:?})", frame.map(|f| u16::from(f.code))));
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Disconnect::Lost(e.to_string()),
                        None => return Disconnect::Lost("connection closed".to_owned()),
                    }
                }
                Some(ev) = self.events_rx.recv() => {
                    if let Some(msg) = self.on_event(ev) {
                        self.track_result(&msg);
                        if let Err(e) = send(&mut ws, &msg).await {
                            return Disconnect::Lost(e);
                        }
                    }
                }
                _ = heartbeat.tick() => {
                    if last_rx.elapsed() > SILENCE_LIMIT {
                        return Disconnect::Lost("no frame from the server for 65s".to_owned());
                    }
                    if let Err(e) = send(&mut ws, &self.heartbeat()).await {
                        return Disconnect::Lost(e);
                    }
                    match self.renew_token_if_due().await {
                        Ok(()) => {}
                        Err(Exit::Revoked) => return Disconnect::Revoked,
                        Err(_) => {}
                    }
                }
                _ = ping.tick() => {
                    if let Err(e) = ws.send(Message::Ping(Vec::new().into())).await {
                        return Disconnect::Lost(e.to_string());
                    }
                }
                changed = self.shutdown.changed(), if self.shutting_down.is_none() => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        self.begin_shutdown();
                    }
                }
                _ = sleep_until_opt(grace) => {
                    self.stop_running();
                    // Stopped commands report at once; a second deadline only guards delivery.
                    self.shutting_down = Some(Instant::now() + Duration::from_secs(10));
                    if self.held.is_empty() {
                        // Undelivered results after the grace period: they stay in the file
                        // and go out on the next start.
                        warn!(count = self.pending.len(), "results not confirmed before shutdown; kept for the next start");
                        self.pending.clear();
                    }
                }
            }
        }
    }

    fn track_result(&mut self, msg: &Inbound) {
        if let Inbound::Result {
            request_id: Some(rid),
            command_id,
            ..
        } = msg
        {
            self.result_requests.insert(rid.clone(), command_id.clone());
        }
    }

    fn heartbeat(&self) -> Inbound {
        Inbound::Heartbeat {
            request_id: Some(uuid::Uuid::new_v4().to_string()),
            agent_id: Some(self.pairing.agent_id.clone()),
            status: Some("active".to_owned()),
            metadata: Some(self.heartbeat_metadata()),
        }
    }

    fn heartbeat_metadata(&self) -> serde_json::Map<String, Value> {
        json!({
            "transport_mode": self.opts.transport.name(),
            "version": env!("CARGO_PKG_VERSION"),
            "running_commands": self.held.len(),
            "undelivered_results": self.pending.len(),
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    async fn on_frame(&mut self, ws: &mut WsStream, out: Outbound) -> Option<Disconnect> {
        match out {
            Outbound::Assigned {
                command: Some(cmd), ..
            } => {
                let cmd = *cmd;
                if self.shutting_down.is_some() {
                    // Not acked: the server hands it out again after the lease runs out.
                    info!(command_id = %cmd.id, "shutting down; not taking the command");
                    return None;
                }
                if self.held.contains_key(&cmd.id) || self.pending.contains_key(&cmd.id) {
                    return None;
                }
                let ack = Inbound::Ack {
                    request_id: Some(uuid::Uuid::new_v4().to_string()),
                    command_id: cmd.id.clone(),
                    agent_id: self.pairing.agent_id.clone(),
                    lease_epoch: cmd.lease_epoch,
                };
                if let Err(e) = send(ws, &ack).await {
                    return Some(Disconnect::Lost(e));
                }
                self.start(cmd);
            }
            Outbound::Assigned { command: None, .. } => {}
            Outbound::Cancel {
                command_id,
                lease_epoch,
                ..
            } => {
                if let Some(h) = self
                    .held
                    .get(&command_id)
                    .filter(|h| h.lease_epoch == lease_epoch)
                {
                    info!(command_id = %command_id, "cancel requested");
                    let _ = h.stop.send(Some(Stop::Cancelled));
                }
            }
            Outbound::Result {
                command_id, status, ..
            } => {
                debug!(command_id = %command_id, status = %status, "result confirmed");
                if self.pending.remove(&command_id).is_some() {
                    self.save_pending();
                }
            }
            Outbound::Error {
                code,
                message,
                request_id,
                ..
            } => {
                if code == "AGENT_REVOKED" {
                    return Some(Disconnect::Revoked);
                }
                let about = request_id.and_then(|r| self.result_requests.remove(&r));
                match about {
                    Some(command_id)
                        if !matches!(
                            code.as_str(),
                            "INTERNAL_ERROR" | "RATE_LIMITED" | "SERVICE_UNAVAILABLE"
                        ) =>
                    {
                        warn!(command_id = %command_id, code = %code, message = %message, "the server refused the result; dropping it");
                        self.pending.remove(&command_id);
                        self.save_pending();
                    }
                    _ => warn!(code = %code, message = %message, "server error frame"),
                }
            }
            Outbound::Synced {
                requeued, failed, ..
            } => {
                if !requeued.is_empty() || !failed.is_empty() {
                    info!(?requeued, ?failed, "sync reconciled");
                }
            }
            Outbound::Connected {
                mode, max_inflight, ..
            } => {
                debug!(mode = %mode, max_inflight, "server hello");
            }
            Outbound::Ack { .. } | Outbound::Progress { .. } | Outbound::Heartbeat { .. } => {}
        }
        None
    }

    /// Runs the command on its own task; the outcome comes back as an event.
    fn start(&mut self, cmd: CommandRecord) {
        let (stop_tx, mut stop_rx) = watch::channel(None);
        self.held.insert(
            cmd.id.clone(),
            Held {
                lease_epoch: cmd.lease_epoch,
                stop: stop_tx,
            },
        );
        let tx = self.events_tx.clone();
        let dispatcher = self.dispatcher.clone();
        tokio::spawn(async move {
            let id = cmd.id.clone();
            let epoch = cmd.lease_epoch;
            info!(command_id = %id, command_type = %cmd.command_type, "executing command");
            let progress_tx = tx.clone();
            let pid = id.clone();
            let ctx = CommandCtx::new(
                &id,
                Arc::new(move |progress, message| {
                    let _ = progress_tx.send(Event::Progress {
                        command_id: pid.clone(),
                        lease_epoch: epoch,
                        progress,
                        message,
                    });
                }),
            );
            let expired = cmd
                .expires_at
                .as_deref()
                .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
                .is_some_and(|e| e < chrono::Utc::now() - chrono::Duration::seconds(5));
            let outcome: Result<Value, (Option<Stop>, ExecError)> = if expired {
                Err((
                    None,
                    ExecError::new("COMMAND_EXPIRED", "Command expired before execution"),
                ))
            } else {
                tokio::select! {
                    r = dispatcher.run(&ctx, &cmd.command_type, &cmd.payload) => r.map_err(|e| (None, e)),
                    stop = wait_stop(&mut stop_rx) => Err((Some(stop), match stop {
                        Stop::Cancelled => ExecError::new("CANCELLED", "cancelled by operator"),
                        Stop::Shutdown => ExecError::new("AGENT_SHUTDOWN", "agent shutting down"),
                    })),
                }
            };
            let ev = match outcome {
                Ok(result) => {
                    info!(command_id = %id, "command succeeded");
                    Event::Done {
                        command_id: id,
                        lease_epoch: epoch,
                        status: "succeeded",
                        result: Some(result),
                        error: None,
                    }
                }
                Err((stop, e)) => {
                    warn!(command_id = %id, code = %e.code, error = %truncate_error(&e.message), "command failed");
                    Event::Done {
                        command_id: id,
                        lease_epoch: epoch,
                        status: if stop == Some(Stop::Cancelled) {
                            "cancelled"
                        } else {
                            "failed"
                        },
                        result: None,
                        error: Some(e.to_wire()),
                    }
                }
            };
            let _ = tx.send(ev);
        });
    }

    /// Renews the token when less than 10% of its lifetime is left and saves it.
    async fn renew_token_if_due(&mut self) -> Result<(), Exit> {
        if !self.pairing.token_needs_renewal(chrono::Utc::now()) {
            return Ok(());
        }
        let api = match ServerApi::new(&self.pairing.server_url, Some(self.pairing.token.clone())) {
            Ok(a) => a,
            Err(e) => {
                warn!(error = %e, "token renewal: no HTTP client");
                return Ok(());
            }
        };
        match api.rotate(&self.pairing.agent_id).await {
            Ok(rotated) => {
                self.pairing.token = crate::secret::Secret::new(rotated.agent_token);
                self.pairing.token_issued_at = chrono::Utc::now();
                self.pairing.token_expires_at = rotated.agent_token_expires_at;
                let saved = AgentConfig::load(&self.config_path).and_then(|mut cfg| {
                    cfg.agent = Some(self.pairing.clone());
                    cfg.save(&self.config_path)
                });
                match saved {
                    Ok(()) => {
                        info!(expires_at = ?self.pairing.token_expires_at, "agent token renewed")
                    }
                    Err(e) => {
                        error!(error = %format!("{e:#}"), "agent token renewed but the config could not be saved")
                    }
                }
                Ok(())
            }
            Err(e) if e.code() == "AGENT_REVOKED" => Err(Exit::Revoked),
            Err(e) if e.status() == Some(401) => Err(Exit::TokenRejected),
            Err(e) => {
                warn!(error = %e, "token renewal failed; will retry");
                Ok(())
            }
        }
    }

    /// Without a socket: report undelivered results with `PATCH /vm-ops/commands/{id}`.
    async fn fail_pending_over_http(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let Ok(api) = ServerApi::new(&self.pairing.server_url, Some(self.pairing.token.clone()))
        else {
            return;
        };
        let pending = std::mem::take(&mut self.pending);
        for (id, msg) in pending {
            if let Inbound::Result {
                lease_epoch,
                status,
                result,
                error_message,
                ..
            } = &msg
            {
                let status = if status == "cancelled" {
                    "failed"
                } else {
                    status.as_str()
                };
                let body = json!({"status": status, "lease_epoch": lease_epoch, "result": result, "error_message": error_message});
                match api.patch_command(&id, body).await {
                    Ok(_) => info!(command_id = %id, "result delivered over HTTP"),
                    Err(e) if result_refused(&e) => {
                        warn!(command_id = %id, error = %e, "the server refused the result; dropping it");
                    }
                    Err(e) => {
                        warn!(command_id = %id, error = %e, "result not delivered over HTTP");
                        self.pending.insert(id, msg);
                    }
                }
            }
        }
        self.save_pending();
    }

    fn save_pending(&self) {
        pending::save(&self.pending_path, &self.pending);
    }
}

/// The server will never take this result (the command moved on or is gone).
fn result_refused(e: &crate::api::ApiError) -> bool {
    matches!(
        e.code(),
        "STALE_LEASE"
            | "INVALID_TRANSITION"
            | "VM_OPS_COMMAND_NOT_FOUND"
            | "VM_OPS_INVALID_UPDATE_BODY"
    ) || e.status() == Some(404)
}

async fn wait_stop(rx: &mut watch::Receiver<Option<Stop>>) -> Stop {
    loop {
        if let Some(s) = *rx.borrow_and_update() {
            return s;
        }
        if rx.changed().await.is_err() {
            // The session is gone: treat as shutdown.
            return Stop::Shutdown;
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn send(ws: &mut WsStream, msg: &Inbound) -> Result<(), String> {
    let text = serde_json::to_string(msg).map_err(|e| e.to_string())?;
    ws.send(Message::Text(text.into()))
        .await
        .map_err(|e| e.to_string())
}
