//! The agent WebSocket `/api/v1/agents/ws`: one session per socket. Commands are pushed as
//! soon as they are queued (or handed out on `next_command` in pull mode), reports are applied
//! in order, and a ping every interval detects half-open sockets.

use super::service::{Report, VmOpsService};
use crate::agents::store::agent;
use crate::auth::principal::{AuthKind, Principal};
use crate::bus::Signal;
use crate::db::dual::Bind;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::ApiError;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use botmox_contract::agent_ws::{Inbound, Outbound};
use botmox_contract::vm_ops::CommandRecord;
use futures::future::OptionFuture;
use futures::stream::FuturesOrdered;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub const PING_INTERVAL: Duration = Duration::from_secs(20);
/// Every this many pings the session re-checks the queue and its holdings even without a
/// wake-up (every 60 s): a safety net only, since LISTEN/NOTIFY (and a full wake after a
/// listener reconnect) deliver every change. One timer per session serves both.
const RECHECK_EVERY_PINGS: u32 = 3;
const MAX_INFLIGHT: u32 = 64;
/// Reports of one socket waiting for their commit before the socket is read further.
const MAX_PENDING_REPLIES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Push,
    Pull,
}

pub struct SessionParams {
    pub principal: Principal,
    pub agent: agent::Model,
    pub mode: Mode,
    pub max_inflight: u32,
}

impl SessionParams {
    pub fn clamp_inflight(v: Option<u32>) -> u32 {
        v.unwrap_or(1).clamp(1, MAX_INFLIGHT)
    }
}

fn ts() -> String {
    to_rfc3339(now_ms())
}

fn frame(out: &Outbound) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(out).unwrap_or_default(),
    ))
}

fn error_frame(code: &str, message: &str, request_id: Option<String>) -> Message {
    frame(&Outbound::Error {
        code: code.to_owned(),
        message: message.to_owned(),
        ts: ts(),
        request_id,
    })
}

fn api_error_frame(err: &ApiError, request_id: Option<String>) -> Message {
    match err {
        ApiError::Client { code, message, .. } => error_frame(code, message, request_id),
        ApiError::RateLimited(_) => error_frame("RATE_LIMITED", "Too many requests", request_id),
        ApiError::Internal(e) => {
            tracing::error!(error = %format!("{e:#}"), "websocket handler failed");
            error_frame("INTERNAL_ERROR", "Internal server error", request_id)
        }
    }
}

/// A report's answer on its way: the frame to send once committed, and the command it
/// finished (its slot frees up).
struct Step {
    frame: Message,
    finished: Option<String>,
}

type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;

struct Session {
    svc: Arc<VmOpsService>,
    p: SessionParams,
    out: mpsc::Sender<Message>,
    /// Reports submitted and not yet committed, answered in order.
    replies: FuturesOrdered<Pending<Step>>,
    /// Push mode: the hand-out in progress, how many it asked for, and whether a wake-up
    /// came meanwhile.
    claiming: Option<Pending<Result<Vec<CommandRecord>, ApiError>>>,
    claim_room: u32,
    claim_again: bool,
    /// Commands this session handed out and that are not finished: id → lease epoch.
    inflight: HashMap<String, i64>,
    /// Pull mode: the pending `next_command` and its deadline.
    pull: Option<(Option<String>, Instant)>,
    connected_at: i64,
}

pub async fn run(
    socket: WebSocket,
    svc: Arc<VmOpsService>,
    p: SessionParams,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut out_rx) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        // Frames queued together go out with one flush (one write on the socket).
        'out: while let Some(msg) = out_rx.recv().await {
            let mut closing = matches!(msg, Message::Close(_));
            if sink.feed(msg).await.is_err() {
                break;
            }
            while !closing {
                match out_rx.try_recv() {
                    Ok(msg) => {
                        closing = matches!(msg, Message::Close(_));
                        if sink.feed(msg).await.is_err() {
                            break 'out;
                        }
                    }
                    Err(_) => break,
                }
            }
            if sink.flush().await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let agent_id = p.agent.id.clone();
    let reg = svc.bus().register(&agent_id);
    svc.agents().touch(&agent_id, None);
    let mut s = Session {
        svc: svc.clone(),
        connected_at: now_ms(),
        out,
        inflight: HashMap::new(),
        pull: None,
        replies: FuturesOrdered::new(),
        claiming: None,
        claim_room: 0,
        claim_again: false,
        p,
    };
    tracing::info!(agent_id = %agent_id, mode = ?s.p.mode, max_inflight = s.p.max_inflight, "agent connected");
    s.send(frame(&Outbound::Connected {
        ts: ts(),
        transport: "ws".into(),
        agent_id: agent_id.clone(),
        mode: if s.p.mode == Mode::Push {
            "push"
        } else {
            "pull"
        }
        .into(),
        max_inflight: s.p.max_inflight,
    }))
    .await;
    // Anything queued while the agent was away goes out now.
    reg.mailbox.wake.notify_one();

    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let mut pings = 0u32;
    let mut last_heard = Instant::now();
    let reason = loop {
        let pull_deadline = s.pull.as_ref().map(|(_, d)| *d);
        tokio::select! {
            incoming = stream.next(), if s.replies.len() < MAX_PENDING_REPLIES => match incoming {
                Some(Ok(Message::Text(text))) => {
                    last_heard = Instant::now();
                    // Boxed: the rare paths (heartbeat, reconcile) hold large database
                    // futures that would otherwise sit in every idle session's task.
                    Box::pin(s.handle_text(text.as_str(), &reg.mailbox.wake)).await;
                }
                Some(Ok(Message::Binary(_))) => {
                    last_heard = Instant::now();
                    s.drain(&reg.mailbox.wake).await;
                    s.send(error_frame("INVALID_JSON", "Message must be valid JSON object", None)).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => last_heard = Instant::now(),
                Some(Ok(Message::Close(_))) | None => break "closed by agent",
                Some(Err(_)) => break "socket error",
            },
            Some(step) = s.replies.next(), if !s.replies.is_empty() => s.finish(step, &reg.mailbox.wake).await,
            Some(got) = OptionFuture::from(s.claiming.as_mut()), if s.claiming.is_some() => {
                s.claiming = None;
                s.claimed(got).await;
            }
            _ = reg.mailbox.wake.notified() => {
                // A full session may be holding slots for commands that moved on elsewhere.
                if s.p.mode == Mode::Push && s.inflight.len() as u32 >= s.p.max_inflight {
                    Box::pin(s.prune()).await;
                }
                if s.p.mode == Mode::Push {
                    s.start_claim();
                } else if let Err(err) = Box::pin(s.hand_out()).await {
                    s.send(api_error_frame(&err, None)).await;
                }
            }
            signal = reg.mailbox.signal() => match signal {
                Signal::Revoked => {
                    s.send(error_frame("AGENT_REVOKED", "Agent has been revoked", None)).await;
                    s.send(Message::Close(Some(CloseFrame { code: 4003, reason: Utf8Bytes::from_static("agent revoked") }))).await;
                    break "revoked";
                }
                Signal::Cancel { command_id, lease_epoch } => {
                    if s.inflight.get(&command_id).is_some_and(|e| *e == lease_epoch) {
                        s.send(frame(&Outbound::Cancel { ts: ts(), command_id, agent_id: agent_id.clone(), lease_epoch })).await;
                    }
                }
            },
            _ = async { if let Some(d) = pull_deadline { tokio::time::sleep_until(d).await } else { std::future::pending::<()>().await } } => {
                if let Some((request_id, _)) = s.pull.take() {
                    let _ = request_id;
                    s.send(frame(&Outbound::Assigned { ts: ts(), command: None })).await;
                }
            }
            _ = shutdown.changed() => {
                // 1012: the agent reconnects (to another node or after the restart).
                s.send(Message::Close(Some(CloseFrame { code: 1012, reason: Utf8Bytes::from_static("server restarting") }))).await;
                break "server shutting down";
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > PING_INTERVAL * 2 {
                    break "no pong: half-open socket";
                }
                if s.p.principal.token_exp.is_some_and(|exp| exp * 1000 <= now_ms()) {
                    s.send(error_frame("TOKEN_EXPIRED", "Agent token expired; rotate it and reconnect", None)).await;
                    break "token expired";
                }
                s.send(Message::Ping(bytes::Bytes::from_static(b"botmox"))).await;
                pings = pings.wrapping_add(1);
                if pings.is_multiple_of(RECHECK_EVERY_PINGS) {
                    svc.agents().touch(&agent_id, None);
                    Box::pin(s.prune()).await;
                    reg.mailbox.wake.notify_one();
                }
            }
        }
        if s.out.is_closed() {
            break "writer closed";
        }
    };
    tracing::info!(agent_id = %agent_id, reason, "agent disconnected");
    drop(reg);
    drop(s);
    let _ = writer.await;
}

impl Session {
    /// Queues a frame for the writer; the future holds no borrow of the session (whose
    /// pending futures are `Send` but not `Sync`).
    fn send(&self, msg: Message) -> impl Future<Output = ()> + Send + 'static {
        let out = self.out.clone();
        async move {
            let _ = out.send(msg).await;
        }
    }

    fn own(&self, agent_id: Option<&str>) -> bool {
        agent_id.is_none_or(|a| a.trim().is_empty() || a == self.p.agent.id)
    }

    /// Push mode: asks for as many commands as there is room for, unless a hand-out is on
    /// its way already (then it asks again when that one is back).
    fn start_claim(&mut self) {
        if self.claiming.is_some() {
            self.claim_again = true;
            return;
        }
        let room = self
            .p
            .max_inflight
            .saturating_sub(self.inflight.len() as u32);
        self.claim_again = false;
        if room == 0 {
            return;
        }
        self.claim_room = room;
        self.claiming = Some(Box::pin(self.svc.claim_later(&self.p.agent, room)));
    }

    /// A push-mode hand-out came back: send it, and ask again while the queue may hold more.
    async fn claimed(&mut self, got: Result<Vec<CommandRecord>, ApiError>) {
        match got {
            Ok(commands) => {
                let full = commands.len() as u32 >= self.claim_room;
                for command in commands {
                    self.inflight
                        .insert(command.id.clone(), command.lease_epoch);
                    self.send(frame(&Outbound::Assigned {
                        ts: ts(),
                        command: Some(Box::new(command)),
                    }))
                    .await;
                }
                if full || self.claim_again {
                    self.start_claim();
                }
            }
            Err(err) => self.send(api_error_frame(&err, None)).await,
        }
    }

    /// A report committed: answer it, and free the slot of a finished command.
    async fn finish(&mut self, step: Step, wake: &tokio::sync::Notify) {
        if let Some(id) = step.finished {
            self.inflight.remove(&id);
            wake.notify_one();
        }
        self.send(step.frame).await;
    }

    /// Answers every report still on its way (before a message that is answered directly).
    async fn drain(&mut self, wake: &tokio::sync::Notify) {
        while let Some(step) = self.replies.next().await {
            self.finish(step, wake).await;
        }
    }

    /// Answers a message that is not one of the protocol's with the reason.
    async fn refuse(&mut self, text: &str) {
        let value: Value = match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return self
                    .send(error_frame(
                        "INVALID_JSON",
                        "Message must be valid JSON object",
                        None,
                    ))
                    .await;
            }
        };
        let request_id = value
            .get("request_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let reason = match serde_json::from_value::<Inbound>(value) {
            Ok(_) => "unexpected".to_owned(),
            Err(err) => err.to_string(),
        };
        self.send(error_frame(
            "INVALID_MESSAGE",
            &format!("Unsupported message payload: {reason}"),
            request_id,
        ))
        .await;
    }

    /// Submits a report now and queues its answer behind the earlier ones.
    fn pipeline(
        &mut self,
        principal: &Principal,
        command_id: String,
        report: Report,
        request_id: Option<String>,
        answer: impl FnOnce(CommandRecord) -> Outbound + Send + 'static,
    ) {
        let is_result = report.status != "running";
        let fut = self.svc.report_later(principal, &command_id, report);
        self.replies.push_back(Box::pin(async move {
            match fut.await {
                Ok(done) => Step {
                    frame: frame(&answer(done)),
                    finished: is_result.then_some(command_id),
                },
                // A stale or finished command no longer occupies a slot here.
                Err(err) => Step {
                    frame: api_error_frame(&err, request_id),
                    finished: is_result.then_some(command_id),
                },
            }
        }));
    }

    /// Hands out what this session has room for; keeps claiming until a claim comes back
    /// short so no wake-up is lost.
    async fn hand_out(&mut self) -> Result<(), ApiError> {
        loop {
            let room = match (self.p.mode, &self.pull) {
                (Mode::Push, _) => self
                    .p
                    .max_inflight
                    .saturating_sub(self.inflight.len() as u32),
                (Mode::Pull, Some(_)) => 1,
                (Mode::Pull, None) => 0,
            };
            if room == 0 {
                return Ok(());
            }
            let got = self.svc.claim_for(&self.p.agent, room).await?;
            let short = (got.len() as u32) < room;
            for command in got {
                self.inflight
                    .insert(command.id.clone(), command.lease_epoch);
                if self.p.mode == Mode::Pull {
                    self.pull = None;
                }
                self.send(frame(&Outbound::Assigned {
                    ts: ts(),
                    command: Some(Box::new(command)),
                }))
                .await;
            }
            if short {
                return Ok(());
            }
        }
    }

    /// Forgets handed-out commands that finished or moved on without this session hearing
    /// (cancelled, requeued by the sweeper, reconciled), in one query.
    async fn prune(&mut self) {
        if self.inflight.is_empty() {
            return;
        }
        let ids: Vec<String> = self.inflight.keys().cloned().collect();
        let marks = vec!["?"; ids.len()].join(", ");
        let mut binds = vec![Bind::Text(self.p.agent.tenant_id.clone())];
        binds.extend(ids.into_iter().map(Bind::Text));
        let cond = format!("tenant_id = ? AND id IN ({marks})");
        match self
            .svc
            .store()
            .select_where(&cond, binds, MAX_INFLIGHT as i64)
            .await
        {
            Ok(rows) => self.inflight.retain(|id, epoch| {
                rows.iter().any(|r| {
                    r.id == *id
                        && r.lease_epoch == *epoch
                        && matches!(r.status.as_str(), "dispatched" | "running")
                })
            }),
            Err(err) => tracing::warn!(error = %err, "checking handed-out commands failed"),
        }
    }

    async fn handle_text(&mut self, text: &str, wake: &tokio::sync::Notify) {
        let msg: Inbound = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(_) => {
                self.drain(wake).await;
                return self.refuse(text).await;
            }
        };
        // Reports are answered after their commit, in order; anything else is answered
        // directly, so the reports before it are answered first.
        let pipelined = match &msg {
            Inbound::Ack { agent_id, .. } | Inbound::Progress { agent_id, .. } => {
                self.own(Some(agent_id))
            }
            Inbound::Result {
                agent_id, status, ..
            } => {
                self.own(Some(agent_id))
                    && matches!(
                        status.as_str(),
                        "succeeded" | "failed" | "expired" | "cancelled"
                    )
            }
            _ => false,
        };
        if !pipelined {
            self.drain(wake).await;
        }
        let principal = self.p.principal.clone();
        match msg {
            Inbound::Heartbeat {
                request_id,
                agent_id,
                status,
                metadata,
            } => {
                if !self.own(agent_id.as_deref()) {
                    return self
                        .send(error_frame(
                            "FORBIDDEN",
                            "An agent may only send its own heartbeat",
                            request_id,
                        ))
                        .await;
                }
                match self
                    .svc
                    .agents()
                    .heartbeat(&principal, &self.p.agent.id, metadata.as_ref())
                    .await
                {
                    Ok(ack) => {
                        self.send(frame(&Outbound::Heartbeat {
                            ts: ts(),
                            request_id,
                            agent_id: ack.id,
                            status: status.unwrap_or(ack.status),
                            metadata,
                        }))
                        .await
                    }
                    Err(err) => self.send(api_error_frame(&err, request_id)).await,
                }
            }
            Inbound::NextCommand {
                request_id,
                agent_id,
                timeout_ms,
            } => {
                if !self.own(agent_id.as_deref()) {
                    return self
                        .send(error_frame(
                            "FORBIDDEN",
                            "Command belongs to another agent",
                            request_id,
                        ))
                        .await;
                }
                match self.p.mode {
                    Mode::Pull => {
                        let wait = Duration::from_millis(
                            timeout_ms.unwrap_or(25_000).clamp(1_000, 120_000),
                        );
                        self.pull = Some((request_id, Instant::now() + wait));
                        wake.notify_one();
                    }
                    // Push mode hands out on its own; answer so a polling agent is not stuck.
                    Mode::Push => {
                        wake.notify_one();
                        self.send(frame(&Outbound::Assigned {
                            ts: ts(),
                            command: None,
                        }))
                        .await;
                    }
                }
            }
            Inbound::Ack {
                request_id,
                command_id,
                agent_id,
                lease_epoch,
            } => {
                if !self.own(Some(&agent_id)) {
                    return self
                        .send(error_frame(
                            "FORBIDDEN",
                            "Command belongs to another agent",
                            request_id,
                        ))
                        .await;
                }
                let report = Report {
                    status: "running".into(),
                    lease_epoch,
                    result: None,
                    error_message: None,
                    progress: None,
                    message: None,
                };
                let rid = request_id.clone();
                self.pipeline(&principal, command_id.clone(), report, rid, move |_| {
                    Outbound::Ack {
                        ts: ts(),
                        request_id,
                        command_id,
                        agent_id,
                    }
                });
            }
            Inbound::Progress {
                request_id,
                command_id,
                agent_id,
                lease_epoch,
                progress,
                message,
            } => {
                if !self.own(Some(&agent_id)) {
                    return self
                        .send(error_frame(
                            "FORBIDDEN",
                            "Command belongs to another agent",
                            request_id,
                        ))
                        .await;
                }
                let report = Report {
                    status: "running".into(),
                    lease_epoch,
                    result: None,
                    error_message: None,
                    progress,
                    message: message.clone(),
                };
                let rid = request_id.clone();
                self.pipeline(&principal, command_id.clone(), report, rid, move |_| {
                    Outbound::Progress {
                        ts: ts(),
                        request_id,
                        command_id,
                        agent_id,
                        progress,
                        message,
                    }
                });
            }
            Inbound::Result {
                request_id,
                command_id,
                agent_id,
                lease_epoch,
                status,
                result,
                error_message,
            } => {
                if !self.own(Some(&agent_id)) {
                    return self
                        .send(error_frame(
                            "FORBIDDEN",
                            "Command belongs to another agent",
                            request_id,
                        ))
                        .await;
                }
                if !matches!(
                    status.as_str(),
                    "succeeded" | "failed" | "expired" | "cancelled"
                ) {
                    return self
                        .send(error_frame(
                            "INVALID_MESSAGE",
                            "status must be succeeded, failed, expired or cancelled",
                            request_id,
                        ))
                        .await;
                }
                let report = Report {
                    status: status.clone(),
                    lease_epoch,
                    result: Some(result),
                    error_message,
                    progress: None,
                    message: None,
                };
                let rid = request_id.clone();
                self.pipeline(&principal, command_id.clone(), report, rid, move |done| {
                    Outbound::Result {
                        ts: ts(),
                        request_id,
                        command_id,
                        agent_id,
                        status: done.status,
                    }
                });
            }
            Inbound::Sync {
                request_id,
                holding,
            } => {
                let held: Vec<(String, i64)> = holding
                    .iter()
                    .map(|h| (h.command_id.clone(), h.lease_epoch))
                    .collect();
                for (id, epoch) in &held {
                    self.inflight.insert(id.clone(), *epoch);
                }
                match self
                    .svc
                    .reconcile(&principal, &held, self.connected_at)
                    .await
                {
                    Ok((requeued, failed)) => {
                        self.send(frame(&Outbound::Synced {
                            ts: ts(),
                            request_id,
                            requeued,
                            failed,
                        }))
                        .await;
                        self.prune().await;
                        wake.notify_one();
                    }
                    Err(err) => self.send(api_error_frame(&err, request_id)).await,
                }
            }
        }
    }
}

/// Only agent tokens open a session (never the shadow identity).
pub fn agent_principal(p: Option<Principal>) -> Option<Principal> {
    p.filter(|p| p.kind == AuthKind::Agent && p.agent_id.is_some())
}

#[cfg(test)]
mod tests {
    /// Size of the future an async fn returns, without calling it.
    fn future_size<A, B, C, D, F: std::future::Future>(_: impl FnOnce(A, B, C, D) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn an_idle_session_stays_small() {
        // Every connected agent holds one of these for as long as it is connected: the rare,
        // database-heavy paths are boxed so they do not inflate it.
        let size = future_size(super::run);
        // About 4.4 KiB in an unoptimised build.
        assert!(size < 6 * 1024, "session future is {size} bytes");
    }
}
