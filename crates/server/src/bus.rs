//! The fleet bus: wakes the right agent sessions when something happens to their commands,
//! on this node directly and on every other node through PostgreSQL `LISTEN/NOTIFY`.
//!
//! Messages are hints, never data: a woken session always re-reads the database, so a lost or
//! duplicated message costs a query, not a command.

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Notify;

pub const CHANNEL: &str = "botmox_bus";
/// NOTIFY payloads must stay under 8000 bytes; agent ids are 36 characters.
const AGENTS_PER_MESSAGE: usize = 150;

/// What a live agent session is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The operator cancelled a command this agent holds.
    Cancel {
        command_id: String,
        lease_epoch: i64,
    },
    /// The agent was revoked: close the session.
    Revoked,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Message {
    /// Sending node; a node ignores its own messages (it acted locally already).
    n: String,
    /// `wake`, `events`, `revoke` or `cancel`.
    k: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    a: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<i64>,
}

/// What a session is told through the bus: wake-ups, and the rare signals. One small
/// allocation per session (a channel would allocate a block of slots up front).
#[derive(Default)]
pub struct Mailbox {
    pub wake: Notify,
    signaled: Notify,
    signals: std::sync::Mutex<std::collections::VecDeque<Signal>>,
}

impl Mailbox {
    fn post(&self, signal: Signal) {
        if let Ok(mut q) = self.signals.lock() {
            q.push_back(signal);
        }
        self.signaled.notify_one();
        self.wake.notify_one();
    }

    /// The next signal, in the order they were posted.
    pub async fn signal(&self) -> Signal {
        loop {
            if let Some(s) = self.signals.lock().ok().and_then(|mut q| q.pop_front()) {
                return s;
            }
            self.signaled.notified().await;
        }
    }
}

struct Entry {
    id: u64,
    mailbox: Arc<Mailbox>,
}

type RevokeHook = Box<dyn Fn(&str) + Send + Sync>;

pub struct Bus {
    node_id: String,
    revoke_hooks: std::sync::RwLock<Vec<RevokeHook>>,
    sessions: DashMap<String, Vec<Entry>>,
    events: Arc<Notify>,
    pg: Option<sqlx::PgPool>,
    next_id: AtomicU64,
}

/// A registered session; unregisters itself when dropped.
pub struct Registration {
    bus: Arc<Bus>,
    agent_id: String,
    id: u64,
    pub mailbox: Arc<Mailbox>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(mut list) = self.bus.sessions.get_mut(&self.agent_id) {
            list.retain(|e| e.id != self.id);
            let empty = list.is_empty();
            drop(list);
            if empty {
                self.bus
                    .sessions
                    .remove_if(&self.agent_id, |_, l| l.is_empty());
            }
        }
    }
}

impl Bus {
    pub fn new(pg: Option<sqlx::PgPool>) -> Arc<Self> {
        Arc::new(Self {
            node_id: uuid::Uuid::new_v4().simple().to_string(),
            revoke_hooks: std::sync::RwLock::new(Vec::new()),
            sessions: DashMap::new(),
            events: Arc::new(Notify::new()),
            pg,
            next_id: AtomicU64::new(1),
        })
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Registers a session (WebSocket or long-poll waiter) of an agent on this node.
    pub fn register(self: &Arc<Self>, agent_id: &str) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mailbox = Arc::new(Mailbox::default());
        self.sessions
            .entry(agent_id.to_owned())
            .or_default()
            .push(Entry {
                id,
                mailbox: mailbox.clone(),
            });
        Registration {
            bus: self.clone(),
            agent_id: agent_id.to_owned(),
            id,
            mailbox,
        }
    }

    /// Sessions of this agent on this node.
    pub fn local_sessions(&self, agent_id: &str) -> usize {
        self.sessions.get(agent_id).map(|l| l.len()).unwrap_or(0)
    }

    pub fn local_session_total(&self) -> usize {
        self.sessions.iter().map(|l| l.len()).sum()
    }

    /// The notifier the event-log tailer waits on.
    pub fn events_notify(&self) -> Arc<Notify> {
        self.events.clone()
    }

    fn wake_local(&self, agents: &[String]) {
        for agent in agents {
            if let Some(list) = self.sessions.get(agent) {
                for e in list.iter() {
                    e.mailbox.wake.notify_one();
                }
            }
        }
        self.events.notify_one();
    }

    fn wake_all_local(&self) {
        for list in self.sessions.iter() {
            for e in list.iter() {
                e.mailbox.wake.notify_one();
            }
        }
        self.events.notify_one();
    }

    /// Runs `hook` with the agent id whenever an agent is revoked on any node (caches use it).
    pub fn on_revoke(&self, hook: impl Fn(&str) + Send + Sync + 'static) {
        if let Ok(mut hooks) = self.revoke_hooks.write() {
            hooks.push(Box::new(hook));
        }
    }

    fn run_revoke_hooks(&self, agent: &str) {
        if let Ok(hooks) = self.revoke_hooks.read() {
            for h in hooks.iter() {
                h(agent);
            }
        }
    }

    fn signal_local(&self, agent: &str, signal: Signal) {
        if let Some(list) = self.sessions.get(agent) {
            for e in list.iter() {
                e.mailbox.post(signal.clone());
            }
        }
    }

    /// New commands or new states for these agents (and new events): wake their sessions
    /// everywhere. One NOTIFY per batch of agents.
    pub async fn wake(&self, agents: &[String]) {
        if agents.is_empty() {
            return self.events_written().await;
        }
        self.wake_local(agents);
        for chunk in agents.chunks(AGENTS_PER_MESSAGE) {
            self.send(Message {
                n: self.node_id.clone(),
                k: "wake".into(),
                a: chunk.to_vec(),
                c: None,
                e: None,
            })
            .await;
        }
    }

    /// New rows in the event log (e.g. after a claim): wakes event tailers everywhere.
    pub async fn events_written(&self) {
        self.events.notify_one();
        self.send(Message {
            n: self.node_id.clone(),
            k: "events".into(),
            a: vec![],
            c: None,
            e: None,
        })
        .await;
    }

    pub async fn revoke(&self, agent: &str) {
        self.run_revoke_hooks(agent);
        self.signal_local(agent, Signal::Revoked);
        self.send(Message {
            n: self.node_id.clone(),
            k: "revoke".into(),
            a: vec![agent.to_owned()],
            c: None,
            e: None,
        })
        .await;
    }

    pub async fn cancel(&self, agent: &str, command_id: &str, lease_epoch: i64) {
        let signal = Signal::Cancel {
            command_id: command_id.to_owned(),
            lease_epoch,
        };
        self.signal_local(agent, signal);
        self.send(Message {
            n: self.node_id.clone(),
            k: "cancel".into(),
            a: vec![agent.to_owned()],
            c: Some(command_id.to_owned()),
            e: Some(lease_epoch),
        })
        .await;
    }

    /// What the other nodes must hear after a write of this node's command committer: a wake
    /// for these agents (which implies new events), or just new events. Sent inside the
    /// committing transaction, so it is delivered exactly when the change is visible.
    pub fn remote_payloads(&self, agents: &[String], events: bool) -> Vec<String> {
        let msgs: Vec<Message> = if agents.is_empty() {
            if !events {
                return Vec::new();
            }
            vec![Message {
                n: self.node_id.clone(),
                k: "events".into(),
                a: vec![],
                c: None,
                e: None,
            }]
        } else {
            agents
                .chunks(AGENTS_PER_MESSAGE)
                .map(|chunk| Message {
                    n: self.node_id.clone(),
                    k: "wake".into(),
                    a: chunk.to_vec(),
                    c: None,
                    e: None,
                })
                .collect()
        };
        msgs.iter()
            .filter_map(|m| serde_json::to_string(m).ok())
            .collect()
    }

    /// The local half of [`Bus::remote_payloads`], once the transaction committed.
    pub fn committed(&self, agents: &[String], events: bool) {
        if !agents.is_empty() {
            self.wake_local(agents);
        } else if events {
            self.events.notify_one();
        }
    }

    async fn send(&self, msg: Message) {
        let Some(pool) = &self.pg else { return };
        let Ok(payload) = serde_json::to_string(&msg) else {
            return;
        };
        if let Err(err) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(pool)
            .await
        {
            // Other nodes fall back to their periodic re-checks.
            tracing::warn!(error = %err, "publishing a bus message failed");
        }
    }

    fn apply(&self, msg: Message) {
        if msg.n == self.node_id {
            return;
        }
        match msg.k.as_str() {
            "wake" => self.wake_local(&msg.a),
            "events" => self.events.notify_one(),
            "revoke" => {
                for a in &msg.a {
                    self.run_revoke_hooks(a);
                    self.signal_local(a, Signal::Revoked);
                }
            }
            "cancel" => {
                if let (Some(c), Some(e)) = (msg.c, msg.e) {
                    for a in &msg.a {
                        self.signal_local(
                            a,
                            Signal::Cancel {
                                command_id: c.clone(),
                                lease_epoch: e,
                            },
                        );
                    }
                }
            }
            other => tracing::debug!(kind = other, "unknown bus message"),
        }
    }

    /// Listens for other nodes' messages until `stop` fires (PostgreSQL only).
    pub fn spawn_listener(self: &Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(pool) = self.pg.clone() else { return };
        let bus = self.clone();
        tokio::spawn(async move {
            loop {
                let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(l) => l,
                    Err(err) => {
                        tracing::warn!(error = %err, "bus listener cannot connect; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                            _ = stop.changed() => return,
                        }
                    }
                };
                if let Err(err) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %err, "bus LISTEN failed; retrying");
                    continue;
                }
                // Anything sent while we were not listening is unknown: re-check everything.
                bus.wake_all_local();
                loop {
                    tokio::select! {
                        got = listener.try_recv() => match got {
                            Ok(Some(n)) => match serde_json::from_str::<Message>(n.payload()) {
                                Ok(msg) => bus.apply(msg),
                                Err(err) => tracing::debug!(error = %err, "malformed bus message"),
                            },
                            Ok(None) => {
                                tracing::warn!("bus listener lost its connection; reconnecting");
                                bus.wake_all_local();
                            }
                            Err(err) => {
                                tracing::warn!(error = %err, "bus listener failed; reconnecting");
                                break;
                            }
                        },
                        _ = stop.changed() => return,
                    }
                }
            }
        });
    }
}
