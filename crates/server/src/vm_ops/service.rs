//! Command bus rules: who may queue what for which agent, validated transitions fenced by the
//! lease epoch, cancellation, hand-out, reconciliation after reconnects, and the sweeper.

use super::committer::{Committer, Inserted};
use super::store::{Change, CommandRow, CommandStore, ListFilter};
use crate::agents::AgentsService;
use crate::agents::store::agent;
use crate::auth::principal::{AuthKind, Principal};
use crate::bus::Bus;
use crate::config::VmOpsConfig;
use crate::db::dual::Bind;
use crate::db::time::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use botmox_contract::ListMeta;
use botmox_contract::vm_ops::{CommandRecord, READ_ONLY_TYPES};
use serde_json::{Value, json};
use std::sync::Arc;

const NOT_FOUND: &str = "VM_OPS_COMMAND_NOT_FOUND";
/// Identical read-only commands within this window are answered with the first one.
const READ_ONLY_DEDUPE_MS: i64 = 10_000;
const MAX_ERROR_LEN: usize = 2000;

fn key_reused() -> ApiError {
    ApiError::conflict(
        "IDEMPOTENCY_KEY_REUSED",
        "This idempotency key was used for a different command",
    )
}

pub fn not_found() -> ApiError {
    ApiError::not_found(NOT_FOUND, "Command not found")
}

/// What a caller asks to enqueue.
pub struct Enqueue {
    pub agent_id: String,
    pub command_type: String,
    pub payload: serde_json::Map<String, Value>,
    pub expires_in_seconds: u32,
    pub idempotency_key: Option<String>,
    pub queue_if_offline: bool,
}

/// An agent's report on a command.
#[derive(Debug, Clone)]
pub struct Report {
    pub status: String,
    pub lease_epoch: i64,
    /// `Some(None)` = an explicit JSON null.
    pub result: Option<Option<Value>>,
    pub error_message: Option<String>,
    pub progress: Option<i64>,
    pub message: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepCounts {
    pub queued_expired: usize,
    pub running_expired: usize,
    pub requeued: usize,
    pub dead_lettered: usize,
}

pub struct VmOpsService {
    store: CommandStore,
    committer: Committer,
    agents: Arc<AgentsService>,
    bus: Arc<Bus>,
    cfg: VmOpsConfig,
}

/// Statuses a command may move to `to` from (besides staying where it is).
fn sources(to: &str) -> &'static [&'static str] {
    match to {
        "running" => &["dispatched"],
        "succeeded" | "failed" | "expired" | "cancelled" => &["dispatched", "running"],
        _ => &[],
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Canonical JSON (sorted keys) so equal payloads compare equal.
fn stable(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", json!(k), stable(&map[*k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(stable).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Applies an agent's report to a command row it holds locked. `Ok(false)`: repeating the
/// current status, nothing to write. `caller_agent` is the reporting agent (agent tokens).
pub(crate) fn apply_report(
    row: &mut CommandRow,
    caller_agent: Option<&str>,
    r: &Report,
    now: i64,
) -> ApiResult<bool> {
    if caller_agent.is_some_and(|a| a != row.agent_id) {
        return Err(ApiError::forbidden("Command belongs to another agent"));
    }
    if r.lease_epoch != row.lease_epoch {
        return Err(ApiError::conflict(
            "STALE_LEASE",
            format!(
                "Lease epoch {} is stale; the command was handed out again (epoch {})",
                r.lease_epoch, row.lease_epoch
            ),
        ));
    }
    let progress_only = r.status == "running" && row.status == "running";
    if row.status == r.status && !progress_only {
        return Ok(false);
    }
    if !progress_only && !sources(&r.status).contains(&row.status.as_str()) {
        return Err(ApiError::conflict(
            "INVALID_TRANSITION",
            format!("A {} command cannot become {}", row.status, r.status),
        ));
    }
    row.status.clone_from(&r.status);
    row.updated_at = now;
    if r.status == "running" {
        row.started_at = Some(row.started_at.unwrap_or(now));
        row.last_progress_at = Some(now);
        if let Some(p) = r.progress {
            row.progress = Some(p.clamp(0, 100));
        }
        if let Some(m) = &r.message {
            row.progress_message = Some(truncate(m, 1000));
        }
    } else {
        row.completed_at = Some(now);
        if let Some(result) = &r.result {
            row.result = Some(match result {
                Some(v) => v.to_string(),
                None => "null".to_owned(),
            });
        }
        if let Some(e) = r.error_message.as_deref().filter(|e| !e.trim().is_empty()) {
            row.error_message = Some(truncate(e, MAX_ERROR_LEN));
        }
        if r.status == "succeeded" {
            row.progress = Some(100);
        }
    }
    Ok(true)
}

impl VmOpsService {
    pub fn new(
        store: CommandStore,
        agents: Arc<AgentsService>,
        bus: Arc<Bus>,
        cfg: VmOpsConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            committer: Committer::start(store.clone(), bus.clone()),
            store,
            agents,
            bus,
            cfg,
        })
    }

    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    pub fn agents(&self) -> &Arc<AgentsService> {
        &self.agents
    }

    pub fn store(&self) -> &CommandStore {
        &self.store
    }

    // ---- enqueue ----

    /// Queues a command; returns it and whether an earlier identical request was replayed.
    pub async fn enqueue(
        &self,
        caller: &Principal,
        req: Enqueue,
    ) -> ApiResult<(CommandRecord, bool)> {
        self.enqueue_many(caller, vec![req])
            .await?
            .pop()
            .unwrap_or_else(|| Err(ApiError::Internal(anyhow::anyhow!("no enqueue outcome"))))
    }

    /// The rules an item must pass before it is queued: the agent exists, the caller may
    /// command it, it is active, and online unless the item may wait for it.
    fn admit(
        &self,
        caller: &Principal,
        agent: Option<&agent::Model>,
        req: &Enqueue,
    ) -> ApiResult<()> {
        let agent =
            agent.ok_or_else(|| ApiError::not_found("AGENT_NOT_FOUND", "Agent not found"))?;
        if !caller.is_privileged() {
            match agent.owner_user_id.as_deref() {
                None => {
                    return Err(ApiError::new(
                        axum::http::StatusCode::FORBIDDEN,
                        "AGENT_OWNER_UNASSIGNED",
                        "Agent has no owner; only admin or infra may command it",
                    ));
                }
                Some(owner) if owner != caller.uid => {
                    return Err(ApiError::new(
                        axum::http::StatusCode::FORBIDDEN,
                        "AGENT_OWNER_MISMATCH",
                        "Agent belongs to another user",
                    ));
                }
                Some(_) => {}
            }
        }
        match agent.status.as_str() {
            "revoked" => {
                return Err(ApiError::conflict(
                    "AGENT_REVOKED",
                    "Agent has been revoked",
                ));
            }
            "pending" => {
                return Err(ApiError::conflict(
                    "AGENT_NOT_ACTIVE",
                    "Agent has not completed pairing",
                ));
            }
            _ => {}
        }
        if !req.queue_if_offline && !self.agents.is_online(agent) {
            return Err(ApiError::conflict(
                "AGENT_OFFLINE",
                "Agent is offline; set queue_if_offline to queue the command until it connects",
            ));
        }
        Ok(())
    }

    /// Queues many commands with the rules of one, item by item: each answers with its
    /// command (and whether an earlier identical request was replayed) or its own error.
    /// The accepted ones are written in one transaction and announced with one wake-up.
    pub async fn enqueue_many(
        &self,
        caller: &Principal,
        reqs: Vec<Enqueue>,
    ) -> ApiResult<Vec<ApiResult<(CommandRecord, bool)>>> {
        /// Where an item's answer comes from.
        enum Slot {
            Done(Box<ApiResult<(CommandRecord, bool)>>),
            /// Row `i` of this batch, inserted for this item.
            Insert(usize),
            /// Row `i` of this batch answers this item as a replay.
            Replay(usize),
        }
        if caller.kind == AuthKind::Agent {
            return Err(ApiError::forbidden("Agent tokens cannot queue commands"));
        }
        let tenant = caller.tenant_id.as_str();
        let mut agent_ids: Vec<&str> = reqs.iter().map(|r| r.agent_id.as_str()).collect();
        agent_ids.sort_unstable();
        agent_ids.dedup();
        let agents = self.agents.find_many(tenant, &agent_ids).await?;
        let keys: Vec<&str> = reqs
            .iter()
            .filter_map(|r| r.idempotency_key.as_deref())
            .collect();
        let known = self
            .store
            .by_idempotency_keys(tenant, &keys)
            .await
            .map_err(db)?;
        let privileged = caller.is_privileged();
        let now = now_ms();
        let mut rows: Vec<CommandRow> = Vec::new();
        // Canonical payloads of this batch's read-only rows, by row index.
        let mut read_only: Vec<(usize, String)> = Vec::new();
        let mut slots = Vec::with_capacity(reqs.len());
        for req in &reqs {
            if let Err(e) = self.admit(caller, agents.get(&req.agent_id), req) {
                slots.push(Slot::Done(Box::new(Err(e))));
                continue;
            }
            if let Some(key) = &req.idempotency_key {
                if let Some(existing) = known.get(key) {
                    slots.push(Slot::Done(Box::new(self.replay(
                        existing.clone(),
                        req,
                        caller,
                    ))));
                    continue;
                }
                if let Some(i) = rows
                    .iter()
                    .position(|r| r.idempotency_key.as_deref() == Some(key.as_str()))
                {
                    let same = rows[i].agent_id == req.agent_id
                        && rows[i].command_type == req.command_type;
                    slots.push(if same {
                        Slot::Replay(i)
                    } else {
                        Slot::Done(Box::new(Err(key_reused())))
                    });
                    continue;
                }
            }
            let payload = Value::Object(req.payload.clone());
            let ro = READ_ONLY_TYPES.contains(&req.command_type.as_str());
            let wanted = ro.then(|| stable(&payload));
            if let Some(wanted) = &wanted {
                if let Some((i, _)) = read_only.iter().find(|(i, p)| {
                    p == wanted
                        && rows[*i].agent_id == req.agent_id
                        && rows[*i].command_type == req.command_type
                }) {
                    slots.push(Slot::Replay(*i));
                    continue;
                }
                let recent = self
                    .store
                    .recent_of_type(
                        tenant,
                        &req.agent_id,
                        &req.command_type,
                        now - READ_ONLY_DEDUPE_MS,
                    )
                    .await
                    .map_err(db)?;
                if let Some(same) = recent.into_iter().find(|r| {
                    (privileged || r.created_by.as_deref() == Some(caller.uid.as_str()))
                        && serde_json::from_str::<Value>(&r.payload)
                            .is_ok_and(|p| stable(&p) == *wanted)
                }) {
                    slots.push(Slot::Done(Box::new(Ok((same.record(), true)))));
                    continue;
                }
            }
            if let Some(wanted) = wanted {
                read_only.push((rows.len(), wanted));
            }
            slots.push(Slot::Insert(rows.len()));
            rows.push(CommandRow {
                id: uuid::Uuid::now_v7().to_string(),
                tenant_id: caller.tenant_id.clone(),
                agent_id: req.agent_id.clone(),
                command_type: req.command_type.clone(),
                payload: payload.to_string(),
                status: "queued".to_owned(),
                result: None,
                error_message: None,
                queued_at: now,
                dispatched_at: None,
                started_at: None,
                last_progress_at: None,
                completed_at: None,
                expires_at: Some(now + i64::from(req.expires_in_seconds) * 1000),
                created_by: Some(caller.uid.clone()),
                creator_privileged: privileged,
                idempotency_key: req.idempotency_key.clone(),
                lease_epoch: 0,
                requeue_count: 0,
                progress: None,
                progress_message: None,
                cancel_requested_at: None,
                updated_at: now,
            });
        }
        let inserted = if rows.is_empty() {
            Vec::new()
        } else {
            self.committer.insert(rows).await?
        };
        Ok(slots
            .into_iter()
            .zip(&reqs)
            .map(|(slot, req)| match slot {
                Slot::Done(res) => *res,
                Slot::Insert(i) => match &inserted[i] {
                    Inserted::New(row) => Ok((row.record(), false)),
                    // Two requests with one idempotency key raced: the loser answers with
                    // the winner.
                    Inserted::Existing(row) => self.replay(row.clone(), req, caller),
                },
                Slot::Replay(i) => match &inserted[i] {
                    Inserted::New(row) | Inserted::Existing(row) => Ok((row.record(), true)),
                },
            })
            .collect())
    }

    fn replay(
        &self,
        existing: CommandRow,
        req: &Enqueue,
        caller: &Principal,
    ) -> ApiResult<(CommandRecord, bool)> {
        if existing.agent_id != req.agent_id || existing.command_type != req.command_type {
            return Err(key_reused());
        }
        if !caller.is_privileged() && existing.created_by.as_deref() != Some(caller.uid.as_str()) {
            return Err(key_reused());
        }
        Ok((existing.record(), true))
    }

    // ---- reads ----

    fn may_see(caller: &Principal, row: &CommandRow) -> bool {
        match caller.kind {
            AuthKind::Agent => caller.agent_id.as_deref() == Some(row.agent_id.as_str()),
            _ => caller.is_privileged() || row.created_by.as_deref() == Some(caller.uid.as_str()),
        }
    }

    pub async fn get(&self, caller: &Principal, id: &str) -> ApiResult<CommandRecord> {
        let row = self
            .store
            .get(&caller.tenant_id, id.trim())
            .await
            .map_err(db)?
            .ok_or_else(not_found)?;
        if !Self::may_see(caller, &row) {
            return Err(not_found());
        }
        Ok(row.record())
    }

    pub async fn list(
        &self,
        caller: &Principal,
        agent_id: Option<&str>,
        status: Option<&str>,
        command_type: Option<&str>,
        page: &PageRequest,
    ) -> ApiResult<(Vec<CommandRecord>, ListMeta)> {
        let agent_id = match caller.kind {
            AuthKind::Agent => {
                if agent_id.is_some_and(|a| Some(a) != caller.agent_id.as_deref()) {
                    return Err(ApiError::forbidden("Command belongs to another agent"));
                }
                caller.agent_id.as_deref()
            }
            _ => agent_id,
        };
        let created_by = (caller.kind != AuthKind::Agent && !caller.is_privileged())
            .then_some(caller.uid.as_str());
        let after = page.after_ms("VM_OPS_INVALID_LIST_QUERY")?;
        let rows = self
            .store
            .list(ListFilter {
                tenant_id: &caller.tenant_id,
                agent_id,
                status,
                command_type,
                created_by,
                after,
                limit: page.fetch(),
            })
            .await
            .map_err(db)?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.queued_at),
            id: r.id.clone(),
        });
        Ok((rows.iter().map(CommandRow::record).collect(), meta))
    }

    // ---- cancellation ----

    pub async fn cancel(&self, caller: &Principal, id: &str) -> ApiResult<CommandRecord> {
        if caller.kind == AuthKind::Agent {
            return Err(ApiError::forbidden(
                "Agents report cancellation through a result",
            ));
        }
        let row = self
            .store
            .get(&caller.tenant_id, id.trim())
            .await
            .map_err(db)?
            .ok_or_else(not_found)?;
        if !Self::may_see(caller, &row) {
            return Err(not_found());
        }
        let now = now_ms();
        match row.status.as_str() {
            "queued" | "dispatched" => {
                let changed = self
                    .store
                    .apply(
                        Change::new()
                            .set("status", Bind::Text("cancelled".into()))
                            .set("completed_at", Bind::Int(now))
                            .set("cancel_requested_at", Bind::Int(now))
                            .set(
                                "error_message",
                                Bind::Text(format!("Cancelled by {}", caller.uid)),
                            )
                            .set("updated_at", Bind::Int(now))
                            .when(
                                "id = ? AND status = ?",
                                vec![Bind::Text(row.id.clone()), Bind::Text(row.status.clone())],
                            ),
                        now,
                    )
                    .await
                    .map_err(db)?;
                match changed.into_iter().next() {
                    Some(done) => {
                        self.bus.events_written().await;
                        if row.status == "dispatched" {
                            // It may already be on its way to the agent.
                            self.bus
                                .cancel(&row.agent_id, &row.id, row.lease_epoch)
                                .await;
                        }
                        Ok(done.record())
                    }
                    // It moved on meanwhile (claimed or acked): decide again on its new state.
                    None => Box::pin(self.cancel(caller, id)).await,
                }
            }
            "running" => {
                let changed = self
                    .store
                    .apply(
                        Change::new()
                            .set("cancel_requested_at", Bind::Int(now))
                            .set("updated_at", Bind::Int(now))
                            .when(
                                "id = ? AND status = 'running' AND cancel_requested_at IS NULL",
                                vec![Bind::Text(row.id.clone())],
                            ),
                        now,
                    )
                    .await
                    .map_err(db)?;
                self.bus.events_written().await;
                self.bus
                    .cancel(&row.agent_id, &row.id, row.lease_epoch)
                    .await;
                Ok(changed.into_iter().next().unwrap_or(row).record())
            }
            "cancelled" => Ok(row.record()),
            other => Err(ApiError::conflict(
                "INVALID_TRANSITION",
                format!("A {other} command cannot be cancelled"),
            )),
        }
    }

    // ---- agent reports ----

    /// Applies an agent's ack, progress or result. The lease epoch fences out stale holders;
    /// repeating the current status is a no-op that answers with the stored command.
    pub async fn report(
        &self,
        caller: &Principal,
        id: &str,
        r: Report,
    ) -> ApiResult<CommandRecord> {
        self.report_later(caller, id, r).await
    }

    /// [`Self::report`], submitted now and answered after the commit; reports submitted one
    /// after another are applied in that order.
    pub fn report_later(
        &self,
        caller: &Principal,
        id: &str,
        r: Report,
    ) -> impl Future<Output = ApiResult<CommandRecord>> + Send + 'static {
        let pending = (caller.kind == AuthKind::Agent || caller.is_privileged()).then(|| {
            let agent = (caller.kind == AuthKind::Agent)
                .then(|| caller.agent_id.as_deref().unwrap_or_default());
            self.committer
                .report(&caller.tenant_id, agent, id.trim(), r)
        });
        async move {
            match pending {
                Some(fut) => fut.await.map(|row| row.record()),
                None => Err(ApiError::forbidden(
                    "Only the agent holding a command reports on it",
                )),
            }
        }
    }

    // ---- hand-out ----

    /// Hands out up to `n` queued commands to an agent; nothing for a revoked or inactive one.
    pub async fn claim(
        &self,
        tenant: &str,
        agent_id: &str,
        n: u32,
    ) -> ApiResult<Vec<CommandRecord>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let Some(agent) = self.agents.find(tenant, agent_id).await? else {
            return Ok(Vec::new());
        };
        self.claim_for(&agent, n).await
    }

    pub async fn claim_for(&self, agent: &agent::Model, n: u32) -> ApiResult<Vec<CommandRecord>> {
        self.claim_later(agent, n).await
    }

    /// [`Self::claim_for`] as an owned future (sessions keep reading while it runs).
    pub fn claim_later(
        &self,
        agent: &agent::Model,
        n: u32,
    ) -> impl Future<Output = ApiResult<Vec<CommandRecord>>> + Send + 'static {
        let pending = (agent.status == "active" && n > 0).then(|| {
            self.committer.claim(
                &agent.tenant_id,
                &agent.id,
                agent.owner_user_id.as_deref(),
                n,
            )
        });
        async move {
            match pending {
                Some(fut) => Ok(fut.await?.iter().map(CommandRow::record).collect()),
                None => Ok(Vec::new()),
            }
        }
    }

    /// After a reconnect: commands handed to this agent before `before` that it does not hold
    /// were lost on the way (queued again) or lost while running (failed).
    pub async fn reconcile(
        &self,
        caller: &Principal,
        holding: &[(String, i64)],
        before: i64,
    ) -> ApiResult<(Vec<String>, Vec<String>)> {
        let Some(agent_id) = caller.agent_id.clone() else {
            return Err(ApiError::forbidden("Only agents reconcile"));
        };
        let held = |r: &CommandRow| {
            holding
                .iter()
                .any(|(id, e)| *id == r.id && *e == r.lease_epoch)
        };
        let candidates = self
            .store
            .select_where(
                "tenant_id = ? AND agent_id = ? AND status IN ('dispatched', 'running') AND dispatched_at < ?",
                vec![Bind::Text(caller.tenant_id.clone()), Bind::Text(agent_id.clone()), Bind::Int(before)],
                1000,
            )
            .await
            .map_err(db)?;
        let now = now_ms();
        let (mut requeued, mut failed) = (Vec::new(), Vec::new());
        for r in candidates.iter().filter(|r| !held(r)) {
            let change = if r.status == "dispatched" {
                Change::new()
                    .set("status", Bind::Text("queued".into()))
                    .set("dispatched_at", Bind::OptInt(None))
                    .set("updated_at", Bind::Int(now))
            } else {
                Change::new()
                    .set("status", Bind::Text("failed".into()))
                    .set("completed_at", Bind::Int(now))
                    .set(
                        "error_message",
                        Bind::Text(
                            "Agent reconnected without this command; it was lost while running"
                                .into(),
                        ),
                    )
                    .set("updated_at", Bind::Int(now))
            };
            let change = change.when(
                "id = ? AND status = ? AND lease_epoch = ?",
                vec![
                    Bind::Text(r.id.clone()),
                    Bind::Text(r.status.clone()),
                    Bind::Int(r.lease_epoch),
                ],
            );
            if !self.store.apply(change, now).await.map_err(db)?.is_empty() {
                if r.status == "dispatched" {
                    requeued.push(r.id.clone());
                } else {
                    failed.push(r.id.clone());
                }
            }
        }
        if !requeued.is_empty() || !failed.is_empty() {
            tracing::warn!(agent_id = %agent_id, requeued = requeued.len(), failed = failed.len(), "reconciled commands after reconnect");
            self.bus.wake(std::slice::from_ref(&agent_id)).await;
        }
        Ok((requeued, failed))
    }

    // ---- sweeper ----

    /// One pass of the reliability sweep over every tenant; safe to run on every node (each
    /// change is a compare-and-set on the status it expects).
    pub async fn sweep(&self) -> ApiResult<SweepCounts> {
        let now = now_ms();
        let running_cut = now - self.cfg.running_max.as_millis() as i64;
        let dispatched_cut = now - self.cfg.dispatched_max.as_millis() as i64;
        let max = i64::from(self.cfg.dispatch_max_requeues);
        let dispatched_ms = self.cfg.dispatched_max.as_millis();
        let mut counts = SweepCounts::default();

        let expired = self
            .store
            .apply(
                Change::new()
                    .set("status", Bind::Text("expired".into()))
                    .set("completed_at", Bind::Int(now))
                    .set(
                        "error_message",
                        Bind::Text("Command expired before agent pickup".into()),
                    )
                    .set("updated_at", Bind::Int(now))
                    .when(
                        "status = 'queued' AND expires_at IS NOT NULL AND expires_at <= ?",
                        vec![Bind::Int(now)],
                    ),
                now,
            )
            .await
            .map_err(db)?;
        counts.queued_expired = expired.len();

        let stale_running = self
            .store
            .apply(
                Change::new()
                    .set("status", Bind::Text("expired".into()))
                    .set("completed_at", Bind::Int(now))
                    .set("error_message", Bind::Text("Command lease expired by reliability sweep".into()))
                    .set("updated_at", Bind::Int(now))
                    .when(
                        "status = 'running' AND COALESCE(last_progress_at, started_at, dispatched_at, queued_at) < ?",
                        vec![Bind::Int(running_cut)],
                    ),
                now,
            )
            .await
            .map_err(db)?;
        counts.running_expired = stale_running.len();

        let requeued = self
            .store
            .apply(
                Change::new()
                    .set("status", Bind::Text("queued".into()))
                    .set("dispatched_at", Bind::OptInt(None))
                    .set(
                        "error_message",
                        Bind::Text(format!(
                            "Requeued: not acknowledged within {dispatched_ms} ms"
                        )),
                    )
                    .set("updated_at", Bind::Int(now))
                    .raw("requeue_count = requeue_count + 1")
                    .when(
                        "status = 'dispatched' AND dispatched_at < ? AND requeue_count < ?",
                        vec![Bind::Int(dispatched_cut), Bind::Int(max)],
                    ),
                now,
            )
            .await
            .map_err(db)?;
        counts.requeued = requeued.len();

        let dead = self
            .store
            .apply(
                Change::new()
                    .set("status", Bind::Text("dead_letter".into()))
                    .set("completed_at", Bind::Int(now))
                    .set(
                        "error_message",
                        Bind::Text(format!(
                            "Dead-lettered after {max} requeues: not acknowledged within {dispatched_ms} ms"
                        )),
                    )
                    .set("updated_at", Bind::Int(now))
                    .when(
                        "status = 'dispatched' AND dispatched_at < ? AND requeue_count >= ?",
                        vec![Bind::Int(dispatched_cut), Bind::Int(max)],
                    ),
                now,
            )
            .await
            .map_err(db)?;
        counts.dead_lettered = dead.len();

        if counts != SweepCounts::default() {
            let mut agents: Vec<String> = requeued.iter().map(|r| r.agent_id.clone()).collect();
            agents.sort();
            agents.dedup();
            if agents.is_empty() {
                self.bus.events_written().await;
            } else {
                self.bus.wake(&agents).await;
            }
            tracing::warn!(
                queued_expired = counts.queued_expired,
                running_expired = counts.running_expired,
                dispatched_requeued = counts.requeued,
                dispatched_dead_lettered = counts.dead_lettered,
                running_max_ms = self.cfg.running_max.as_millis() as u64,
                dispatched_max_ms = dispatched_ms as u64,
                max_requeues = max,
                expired_ids = ?expired.iter().chain(stale_running.iter()).map(|r| r.id.as_str()).collect::<Vec<_>>(),
                requeued_ids = ?requeued.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
                dead_letter_ids = ?dead.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
                "reliability sweep changed commands"
            );
        }
        Ok(counts)
    }
}

fn db(err: sqlx::Error) -> ApiError {
    ApiError::Internal(anyhow::Error::new(err).context("command store"))
}
