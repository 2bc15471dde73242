//! HTTP long-poll: `GET /vm-ops/commands/next` for work, `PATCH /vm-ops/commands/{id}` to
//! claim (running), report progress and deliver results, `POST /agents/heartbeat` every 30 s.
//! Used alone (`longpoll`) or while the WebSocket is down (`hybrid`, until `until`).

use std::sync::Arc;
use std::time::Duration;

use botmox_contract::agent_ws::Inbound;
use botmox_contract::vm_ops::CommandRecord;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::{info, warn};

use super::{Disconnect, HEARTBEAT_EVERY, Session, result_refused, sleep_until_opt};
use crate::api::{ApiError, ServerApi};

/// How long the server holds one poll when nothing is queued.
const POLL_WAIT: Duration = Duration::from_secs(25);
/// Pause after a failed poll (server away, 5xx) before the next one.
const ERROR_PAUSE: Duration = Duration::from_millis(1_500);

type Poll = BoxFuture<'static, Result<Option<CommandRecord>, ApiError>>;

fn revoked(e: &ApiError) -> bool {
    e.code() == "AGENT_REVOKED" || e.status() == Some(403)
}

impl Session {
    pub(super) async fn longpoll(&mut self, until: Option<Instant>) -> Disconnect {
        let api = match ServerApi::new(&self.pairing.server_url, Some(self.pairing.token.clone())) {
            Ok(a) => Arc::new(a),
            Err(e) => return Disconnect::Lost(format!("{e:#}")),
        };
        if let Some(d) = self.deliver_pending_http(&api).await {
            return d;
        }
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        let mut poll: Option<Poll> = None;
        let mut paused_until: Option<Instant> = None;
        loop {
            if self.shutting_down.is_some() && self.held.is_empty() {
                if let Some(d) = self.deliver_pending_http(&api).await {
                    return d;
                }
                return Disconnect::Finished;
            }
            let now = Instant::now();
            let expired = until.is_some_and(|u| now >= u);
            if expired && poll.is_none() {
                return Disconnect::Lost("long-poll window over".to_owned());
            }
            if poll.is_none()
                && !expired
                && self.shutting_down.is_none()
                && paused_until.is_none_or(|p| now >= p)
                && self.held.len() < self.opts.max_inflight as usize
            {
                // In hybrid mode a poll never outlives the window, so the WebSocket is retried
                // on time without dropping a poll that may be handing us a command.
                let wait = until
                    .map(|u| u.saturating_duration_since(now))
                    .unwrap_or(POLL_WAIT)
                    .clamp(Duration::from_secs(1), POLL_WAIT);
                let api = Arc::clone(&api);
                let agent_id = self.pairing.agent_id.clone();
                poll = Some(Box::pin(async move {
                    api.next_command(&agent_id, wait.as_millis() as u64).await
                }));
                paused_until = None;
            }
            let grace = self.shutting_down;
            let wake = match (paused_until, until) {
                (Some(p), _) if poll.is_none() => Some(p),
                (_, Some(u)) if poll.is_none() => Some(u),
                _ => None,
            };
            tokio::select! {
                r = async { poll.as_mut().expect("guarded").await }, if poll.is_some() => {
                    poll = None;
                    match r {
                        Ok(Some(cmd)) => self.claim_http(&api, cmd).await,
                        Ok(None) => {}
                        Err(e) if revoked(&e) => return Disconnect::Revoked,
                        Err(e) if e.status() == Some(401) => return Disconnect::TokenRejected,
                        Err(e) => {
                            warn!(error = %e, "long-poll failed");
                            paused_until = Some(Instant::now() + ERROR_PAUSE);
                        }
                    }
                    if let Some(d) = self.deliver_pending_http(&api).await {
                        return d;
                    }
                }
                Some(ev) = self.events_rx.recv() => {
                    match self.on_event(ev) {
                        Some(Inbound::Progress { command_id, lease_epoch, progress, message, .. }) => {
                            let body = json!({"status": "running", "lease_epoch": lease_epoch, "progress": progress, "message": message.map(|m| m.chars().take(1000).collect::<String>())});
                            if let Err(e) = api.patch_command(&command_id, body).await {
                                warn!(command_id = %command_id, error = %e, "progress not delivered");
                            }
                        }
                        Some(Inbound::Result { .. }) => {
                            if let Some(d) = self.deliver_pending_http(&api).await {
                                return d;
                            }
                        }
                        _ => {}
                    }
                }
                _ = heartbeat.tick() => {
                    match api.heartbeat(&self.pairing.agent_id, Value::Object(self.heartbeat_metadata())).await {
                        Ok(_) => {}
                        Err(e) if revoked(&e) => return Disconnect::Revoked,
                        Err(e) if e.status() == Some(401) => return Disconnect::TokenRejected,
                        Err(e) => warn!(error = %e, "heartbeat failed"),
                    }
                    if let Some(d) = self.deliver_pending_http(&api).await {
                        return d;
                    }
                }
                _ = sleep_until_opt(wake) => {}
                changed = self.shutdown.changed(), if self.shutting_down.is_none() => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        self.begin_shutdown();
                    }
                }
                _ = sleep_until_opt(grace) => {
                    self.stop_running();
                    self.shutting_down = Some(Instant::now() + Duration::from_secs(10));
                }
            }
        }
    }

    /// Claims a handed-out command (`running`) and starts it; a refused claim skips it.
    async fn claim_http(&mut self, api: &ServerApi, cmd: CommandRecord) {
        if self.held.contains_key(&cmd.id) || self.pending.contains_key(&cmd.id) {
            return;
        }
        let body = json!({"status": "running", "lease_epoch": cmd.lease_epoch});
        match api.patch_command(&cmd.id, body).await {
            Ok(_) => self.start(cmd),
            Err(e) => {
                warn!(command_id = %cmd.id, error = %e, "could not claim the command; skipping it")
            }
        }
    }

    /// PATCHes every undelivered result; keeps those the server could not take now.
    async fn deliver_pending_http(&mut self, api: &ServerApi) -> Option<Disconnect> {
        if self.pending.is_empty() {
            return None;
        }
        let ids: Vec<String> = self.pending.keys().cloned().collect();
        let mut changed = false;
        let mut outcome = None;
        for id in ids {
            let Some(Inbound::Result {
                lease_epoch,
                status,
                result,
                error_message,
                ..
            }) = self.pending.get(&id).cloned()
            else {
                continue;
            };
            let body = json!({"status": status, "lease_epoch": lease_epoch, "result": result, "error_message": error_message});
            match api.patch_command(&id, body).await {
                Ok(_) => {
                    info!(command_id = %id, "result delivered over HTTP");
                    self.pending.remove(&id);
                    changed = true;
                }
                Err(e) if result_refused(&e) => {
                    warn!(command_id = %id, error = %e, "the server refused the result; dropping it");
                    self.pending.remove(&id);
                    changed = true;
                }
                Err(e) if revoked(&e) => {
                    outcome = Some(Disconnect::Revoked);
                    break;
                }
                Err(e) if e.status() == Some(401) => {
                    outcome = Some(Disconnect::TokenRejected);
                    break;
                }
                Err(e) => {
                    warn!(command_id = %id, error = %e, "result not delivered yet");
                    break;
                }
            }
        }
        if changed {
            self.save_pending();
        }
        outcome
    }
}
