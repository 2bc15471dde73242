//! Group commit for the command bus. Inserts, agent reports (ack, progress, result) and
//! hand-outs that arrive while one transaction runs are gathered and written by the next one,
//! together with their event rows and a single NOTIFY. Every caller is answered only after
//! that transaction committed, so nothing is acknowledged that a crash could lose.
//!
//! Rules stay those of one command at a time: report rows are read locked (`FOR UPDATE` on
//! PostgreSQL; SQLite's write lock is taken at `BEGIN IMMEDIATE`) and the reports are applied
//! to them in arrival order, so an ack and a result of one command in the same round behave
//! exactly as two separate transactions would.

use super::service::{Report, apply_report, not_found};
use super::store::{CommandRow, CommandStore, event_values};
use crate::bus::Bus;
use crate::db::Backend;
use crate::db::dual::{Bind, Placeholders};
use crate::db::time::now_ms;
use crate::error::{ApiError, ApiResult};
use botmox_contract::vm_ops::is_terminal;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Jobs taken into one transaction at most.
const MAX_JOBS: usize = 2048;
/// Rows per multi-row statement (keeps binds far below both databases' limits).
const CHUNK: usize = 200;
/// Whole-round attempts before each job is retried on its own (deadlocks, lost connections).
const ATTEMPTS: usize = 2;

/// What became of a command offered for insertion.
pub enum Inserted {
    New(CommandRow),
    /// Its idempotency key was taken (by an earlier request or a concurrent one): the holder.
    Existing(CommandRow),
}

struct InsertJob {
    rows: Vec<CommandRow>,
    reply: oneshot::Sender<ApiResult<Vec<Inserted>>>,
}

struct ReportJob {
    tenant: String,
    /// The reporting agent (agent tokens); `None` for privileged users.
    caller_agent: Option<String>,
    id: String,
    report: Report,
    reply: oneshot::Sender<ApiResult<CommandRow>>,
}

struct ClaimJob {
    tenant: String,
    agent_id: String,
    owner: Option<String>,
    n: u32,
    reply: oneshot::Sender<ApiResult<Vec<CommandRow>>>,
}

enum Job {
    Insert(InsertJob),
    Report(ReportJob),
    Claim(ClaimJob),
}

impl Job {
    /// The caller went away (an abandoned long-poll): nothing is done for it.
    fn abandoned(&self) -> bool {
        match self {
            Job::Insert(j) => j.reply.is_closed(),
            Job::Report(j) => j.reply.is_closed(),
            Job::Claim(j) => j.reply.is_closed(),
        }
    }

    fn fail(self, err: &str) {
        let e = || ApiError::Internal(anyhow::anyhow!("command store: {err}"));
        match self {
            Job::Insert(j) => drop(j.reply.send(Err(e()))),
            Job::Report(j) => drop(j.reply.send(Err(e()))),
            Job::Claim(j) => drop(j.reply.send(Err(e()))),
        }
    }
}

/// Results of one round, in job order.
struct Outcome {
    inserted: Vec<Vec<Inserted>>,
    reports: Vec<ApiResult<CommandRow>>,
    claims: Vec<Vec<CommandRow>>,
    /// Agents whose sessions should look again (new commands, freed slots).
    wake: Vec<String>,
    events: bool,
}

/// PostgreSQL commits several rounds at once (its own group commit merges their flushes), so
/// jobs are spread over lanes by agent: one agent's reports and hand-outs always share a lane
/// and keep their order, and different agents' rounds never wait for each other. SQLite has
/// one writer, so one lane.
const PG_LANES: usize = 4;

#[derive(Clone)]
pub struct Committer {
    lanes: Vec<mpsc::UnboundedSender<Job>>,
}

fn gone() -> ApiError {
    ApiError::Internal(anyhow::anyhow!("command committer stopped"))
}

async fn answer<T>(rx: oneshot::Receiver<ApiResult<T>>) -> ApiResult<T> {
    rx.await.unwrap_or_else(|_| Err(gone()))
}

impl Committer {
    /// Starts the writer task; it ends when the last handle is dropped.
    pub fn start(store: CommandStore, bus: Arc<Bus>) -> Self {
        let n = match store.db().backend {
            Backend::Postgres => PG_LANES,
            Backend::Sqlite => 1,
        };
        let lanes = (0..n)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(run(store.clone(), bus.clone(), rx));
                tx
            })
            .collect();
        Self { lanes }
    }

    fn lane(&self, key: &str) -> &mpsc::UnboundedSender<Job> {
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        &self.lanes[(hash % self.lanes.len() as u64) as usize]
    }

    /// Inserts queued commands (skipping taken idempotency keys) and their first events.
    pub async fn insert(&self, rows: Vec<CommandRow>) -> ApiResult<Vec<Inserted>> {
        let (reply, rx) = oneshot::channel();
        let key = rows.first().map(|r| r.agent_id.clone()).unwrap_or_default();
        self.lane(&key)
            .send(Job::Insert(InsertJob { rows, reply }))
            .map_err(|_| gone())?;
        answer(rx).await
    }

    /// Applies an agent report; the future resolves after the commit. Submission happens at
    /// the call, so reports of one caller are applied in the order of the calls.
    pub fn report(
        &self,
        tenant: &str,
        caller_agent: Option<&str>,
        id: &str,
        report: Report,
    ) -> impl Future<Output = ApiResult<CommandRow>> + Send + 'static {
        let (reply, rx) = oneshot::channel();
        let sent = self
            .lane(caller_agent.unwrap_or(id))
            .send(Job::Report(ReportJob {
                tenant: tenant.to_owned(),
                caller_agent: caller_agent.map(str::to_owned),
                id: id.to_owned(),
                report,
                reply,
            }));
        async move {
            sent.map_err(|_| gone())?;
            answer(rx).await
        }
    }

    /// Hands out up to `n` queued commands of one agent (oldest first, new lease epochs).
    pub fn claim(
        &self,
        tenant: &str,
        agent_id: &str,
        owner: Option<&str>,
        n: u32,
    ) -> impl Future<Output = ApiResult<Vec<CommandRow>>> + Send + 'static {
        let (reply, rx) = oneshot::channel();
        let sent = self.lane(agent_id).send(Job::Claim(ClaimJob {
            tenant: tenant.to_owned(),
            agent_id: agent_id.to_owned(),
            owner: owner.map(str::to_owned),
            n,
            reply,
        }));
        async move {
            sent.map_err(|_| gone())?;
            answer(rx).await
        }
    }
}

async fn run(store: CommandStore, bus: Arc<Bus>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_JOBS {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        jobs.retain(|j| !j.abandoned());
        if jobs.is_empty() {
            continue;
        }
        if let Err(jobs) = settle(&store, &bus, jobs, ATTEMPTS).await {
            // One bad job must not fail its neighbours: each gets a round of its own.
            for job in jobs {
                if let Err(failed) = settle(&store, &bus, vec![job], 1).await {
                    for job in failed {
                        job.fail("writing the command failed");
                    }
                }
            }
        }
    }
}

/// Runs one round for `jobs` (retrying it whole) and answers them; gives them back on failure.
async fn settle(
    store: &CommandStore,
    bus: &Bus,
    jobs: Vec<Job>,
    attempts: usize,
) -> Result<(), Vec<Job>> {
    let mut inserts = Vec::new();
    let mut reports = Vec::new();
    let mut claims = Vec::new();
    for job in jobs {
        match job {
            Job::Insert(j) => inserts.push(j),
            Job::Report(j) => reports.push(j),
            Job::Claim(j) => claims.push(j),
        }
    }
    let mut last_err = None;
    for _ in 0..attempts {
        match round(store, bus, &inserts, &reports, &claims).await {
            Ok(out) => {
                bus.committed(&out.wake, out.events);
                for (job, res) in inserts.into_iter().zip(out.inserted) {
                    let _ = job.reply.send(Ok(res));
                }
                for (job, res) in reports.into_iter().zip(out.reports) {
                    let _ = job.reply.send(res);
                }
                for (job, res) in claims.into_iter().zip(out.claims) {
                    let _ = job.reply.send(Ok(res));
                }
                return Ok(());
            }
            Err(err) => last_err = Some(err),
        }
    }
    if let Some(err) = last_err {
        tracing::warn!(error = %err, inserts = inserts.len(), reports = reports.len(), claims = claims.len(), "command round failed");
    }
    Err(inserts
        .into_iter()
        .map(Job::Insert)
        .chain(reports.into_iter().map(Job::Report))
        .chain(claims.into_iter().map(Job::Claim))
        .collect())
}

fn insert_sql(rows: &[CommandRow]) -> (String, Vec<Bind>) {
    let mut p = Placeholders::default();
    let mut binds = Vec::with_capacity(rows.len() * 11);
    let mut tuples = Vec::with_capacity(rows.len());
    for r in rows {
        let m: Vec<String> = (0..11).map(|_| p.mark()).collect();
        tuples.push(format!(
            "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, 0, {})",
            m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], m[10], m[6]
        ));
        binds.extend([
            Bind::Text(r.id.clone()),
            Bind::Text(r.tenant_id.clone()),
            Bind::Text(r.agent_id.clone()),
            Bind::Text(r.command_type.clone()),
            Bind::Text(r.payload.clone()),
            Bind::Text(r.status.clone()),
            Bind::Int(r.queued_at),
            Bind::OptInt(r.expires_at),
            Bind::OptText(r.created_by.clone()),
            Bind::Bool(r.creator_privileged),
            Bind::OptText(r.idempotency_key.clone()),
        ]);
    }
    (
        format!(
            "INSERT INTO agent_commands (id, tenant_id, agent_id, command_type, payload, status, \
             queued_at, expires_at, created_by, creator_privileged, idempotency_key, lease_epoch, \
             requeue_count, updated_at) VALUES {} ON CONFLICT DO NOTHING RETURNING id",
            tuples.join(", ")
        ),
        binds,
    )
}

fn select_ids_sql(ids: &[&str], backend: Backend) -> (String, Vec<Bind>) {
    let mut p = Placeholders::default();
    let marks: Vec<String> = ids.iter().map(|_| p.mark()).collect();
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    (
        format!(
            "SELECT * FROM agent_commands WHERE id IN ({}) ORDER BY id{lock}",
            marks.join(", ")
        ),
        ids.iter().map(|id| Bind::Text((*id).to_owned())).collect(),
    )
}

/// One statement writing the report columns of many rows (both dialects know
/// `WITH … AS (VALUES …) UPDATE … FROM`).
fn update_sql(rows: &[&CommandRow]) -> (String, Vec<Bind>) {
    let mut p = Placeholders::default();
    let mut binds = Vec::with_capacity(rows.len() * 11);
    let mut tuples = Vec::with_capacity(rows.len());
    for r in rows {
        let types = [
            "TEXT", "BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "TEXT",
            "TEXT", "BIGINT",
        ];
        let cells: Vec<String> = types
            .iter()
            .map(|t| format!("CAST({} AS {t})", p.mark()))
            .collect();
        tuples.push(format!("({})", cells.join(", ")));
        binds.extend([
            Bind::Text(r.id.clone()),
            Bind::Int(r.lease_epoch),
            Bind::Text(r.status.clone()),
            Bind::OptInt(r.started_at),
            Bind::OptInt(r.last_progress_at),
            Bind::OptInt(r.progress),
            Bind::OptText(r.progress_message.clone()),
            Bind::OptInt(r.completed_at),
            Bind::OptText(r.result.clone()),
            Bind::OptText(r.error_message.clone()),
            Bind::Int(r.updated_at),
        ]);
    }
    (
        format!(
            "WITH v (id, lease_epoch, status, started_at, last_progress_at, progress, \
             progress_message, completed_at, result, error_message, updated_at) AS (VALUES {}) \
             UPDATE agent_commands SET status = v.status, started_at = v.started_at, \
             last_progress_at = v.last_progress_at, progress = v.progress, \
             progress_message = v.progress_message, completed_at = v.completed_at, \
             result = v.result, error_message = v.error_message, updated_at = v.updated_at \
             FROM v WHERE agent_commands.id = v.id AND agent_commands.lease_epoch = v.lease_epoch",
            tuples.join(", ")
        ),
        binds,
    )
}

/// One agent's share of the round's hand-outs (sessions of one agent are merged).
struct Want<'a> {
    tenant: &'a str,
    agent_id: &'a str,
    owner: Option<&'a str>,
    n: i64,
}

/// PostgreSQL: every agent's oldest eligible commands in one statement; SKIP LOCKED lets
/// other nodes' claimers take different rows instead of waiting.
fn claim_many_pg(wants: &[Want<'_>], now: i64) -> (String, Vec<Bind>) {
    let mut p = Placeholders::default();
    let now_mark = p.mark();
    let mut binds = vec![Bind::Int(now)];
    let mut tuples = Vec::with_capacity(wants.len());
    for w in wants {
        tuples.push(format!(
            "(CAST({} AS TEXT), CAST({} AS TEXT), CAST({} AS TEXT), CAST({} AS BIGINT))",
            p.mark(),
            p.mark(),
            p.mark(),
            p.mark()
        ));
        binds.extend([
            Bind::Text(w.tenant.to_owned()),
            Bind::Text(w.agent_id.to_owned()),
            Bind::OptText(w.owner.map(str::to_owned)),
            Bind::Int(w.n),
        ]);
    }
    (
        format!(
            "WITH want (tenant_id, agent_id, owner, n) AS (VALUES {}), \
             picked AS (SELECT q.id FROM want CROSS JOIN LATERAL ( \
                SELECT c.id FROM agent_commands c WHERE c.tenant_id = want.tenant_id \
                AND c.agent_id = want.agent_id AND c.status = 'queued' \
                AND (c.expires_at IS NULL OR c.expires_at > {now_mark}) \
                AND (c.creator_privileged OR c.created_by = want.owner) \
                ORDER BY c.queued_at, c.id LIMIT want.n FOR UPDATE SKIP LOCKED) AS q) \
             UPDATE agent_commands AS c SET status = 'dispatched', dispatched_at = {now_mark}, \
             lease_epoch = c.lease_epoch + 1, updated_at = {now_mark} \
             FROM picked WHERE c.id = picked.id RETURNING c.*",
            tuples.join(", ")
        ),
        binds,
    )
}

/// SQLite: one writer at a time, so the plain subquery is already exclusive.
const CLAIM_SQLITE: &str = "UPDATE agent_commands SET status = 'dispatched', dispatched_at = $3, \
    lease_epoch = lease_epoch + 1, updated_at = $3 \
    WHERE id IN (SELECT id FROM agent_commands WHERE tenant_id = $1 AND agent_id = $2 AND status = 'queued' \
          AND (expires_at IS NULL OR expires_at > $3) AND (creator_privileged OR created_by = $4) \
          ORDER BY queued_at, id LIMIT $5) RETURNING *";

/// One transaction for the whole round.
async fn round(
    store: &CommandStore,
    bus: &Bus,
    inserts: &[InsertJob],
    reports: &[ReportJob],
    claims: &[ClaimJob],
) -> Result<Outcome, sqlx::Error> {
    let db = store.db();
    let backend = db.backend;
    let now = now_ms();
    let begin = match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    // Merge the hand-outs per agent (two sockets of one agent share the rows fairly).
    let mut wants: Vec<Want<'_>> = Vec::new();
    for c in claims {
        match wants
            .iter_mut()
            .find(|w| w.agent_id == c.agent_id && w.tenant == c.tenant)
        {
            Some(w) => w.n += i64::from(c.n),
            None => wants.push(Want {
                tenant: &c.tenant,
                agent_id: &c.agent_id,
                owner: c.owner.as_deref(),
                n: i64::from(c.n),
            }),
        }
    }
    let mut out = Outcome {
        inserted: Vec::with_capacity(inserts.len()),
        reports: Vec::with_capacity(reports.len()),
        claims: Vec::with_capacity(claims.len()),
        wake: Vec::new(),
        events: false,
    };
    crate::with_pool!(db, |pool| {
        let mut tx = pool.begin_with(begin).await?;
        let mut events: Vec<CommandRow> = Vec::new();

        // 1. New commands.
        let all: Vec<&CommandRow> = inserts.iter().flat_map(|j| j.rows.iter()).collect();
        let mut fresh: std::collections::HashSet<String> = std::collections::HashSet::new();
        for chunk in all.chunks(CHUNK) {
            let owned: Vec<CommandRow> = chunk.iter().map(|r| (*r).clone()).collect();
            let (sql, binds) = insert_sql(&owned);
            let ids: Vec<String> = crate::bind_all!(
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)),
                binds
            )
            .fetch_all(&mut *tx)
            .await?;
            fresh.extend(ids);
        }
        for job in inserts {
            let mut res = Vec::with_capacity(job.rows.len());
            for r in &job.rows {
                if fresh.contains(&r.id) {
                    events.push(r.clone());
                    out.wake.push(r.agent_id.clone());
                    res.push(Inserted::New(r.clone()));
                    continue;
                }
                // Not inserted: its key is taken, or this very row is there already (a retry
                // after a commit whose answer was lost).
                let existing = match &r.idempotency_key {
                    Some(key) => {
                        sqlx::query_as::<_, CommandRow>(
                            "SELECT * FROM agent_commands WHERE tenant_id = $1 AND idempotency_key = $2",
                        )
                        .bind(&r.tenant_id)
                        .bind(key)
                        .fetch_optional(&mut *tx)
                        .await?
                    }
                    None => None,
                };
                match existing {
                    Some(e) if e.id != r.id => res.push(Inserted::Existing(e)),
                    _ => res.push(Inserted::New(r.clone())),
                }
            }
            out.inserted.push(res);
        }

        // 2. Reports, applied in arrival order to the locked rows.
        if !reports.is_empty() {
            let mut ids: Vec<&str> = reports.iter().map(|r| r.id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut rows: HashMap<String, CommandRow> = HashMap::with_capacity(ids.len());
            for chunk in ids.chunks(CHUNK * 4) {
                let (sql, binds) = select_ids_sql(chunk, backend);
                let got = crate::bind_all!(
                    sqlx::query_as::<_, CommandRow>(sqlx::AssertSqlSafe(sql)),
                    binds
                )
                .fetch_all(&mut *tx)
                .await?;
                rows.extend(got.into_iter().map(|r| (r.id.clone(), r)));
            }
            let mut changed: Vec<String> = Vec::new();
            for job in reports {
                let res = match rows.get_mut(&job.id) {
                    Some(row) if row.tenant_id == job.tenant => {
                        match apply_report(row, job.caller_agent.as_deref(), &job.report, now) {
                            Ok(true) => {
                                events.push(row.clone());
                                if !changed.contains(&row.id) {
                                    changed.push(row.id.clone());
                                }
                                if is_terminal(&row.status) {
                                    // A slot freed up: the agent's sessions may take more.
                                    out.wake.push(row.agent_id.clone());
                                }
                                Ok(row.clone())
                            }
                            Ok(false) => Ok(row.clone()),
                            Err(e) => Err(e),
                        }
                    }
                    _ => Err(not_found()),
                };
                out.reports.push(res);
            }
            let changed_rows: Vec<&CommandRow> =
                changed.iter().filter_map(|id| rows.get(id)).collect();
            for chunk in changed_rows.chunks(CHUNK) {
                let (sql, binds) = update_sql(chunk);
                crate::bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), binds)
                    .execute(&mut *tx)
                    .await?;
            }
        }

        // 3. Hand-outs.
        if !wants.is_empty() {
            let mut got: Vec<CommandRow> = Vec::new();
            match backend {
                Backend::Postgres => {
                    for chunk in wants.chunks(CHUNK) {
                        let (sql, binds) = claim_many_pg(chunk, now);
                        got.extend(
                            crate::bind_all!(
                                sqlx::query_as::<_, CommandRow>(sqlx::AssertSqlSafe(sql)),
                                binds
                            )
                            .fetch_all(&mut *tx)
                            .await?,
                        );
                    }
                }
                Backend::Sqlite => {
                    for w in &wants {
                        got.extend(
                            sqlx::query_as::<_, CommandRow>(CLAIM_SQLITE)
                                .bind(w.tenant)
                                .bind(w.agent_id)
                                .bind(now)
                                .bind(w.owner)
                                .bind(w.n)
                                .fetch_all(&mut *tx)
                                .await?,
                        );
                    }
                }
            }
            got.sort_by(|a, b| (a.queued_at, &a.id).cmp(&(b.queued_at, &b.id)));
            events.extend(got.iter().cloned());
            let mut by_agent: HashMap<&str, std::collections::VecDeque<CommandRow>> =
                HashMap::new();
            for r in &got {
                by_agent
                    .entry(r.agent_id.as_str())
                    .or_default()
                    .push_back(r.clone());
            }
            for c in claims {
                let mine = by_agent.get_mut(c.agent_id.as_str());
                let mut share = Vec::new();
                if let Some(q) = mine {
                    while share.len() < c.n as usize {
                        match q.pop_front() {
                            Some(r) => share.push(r),
                            None => break,
                        }
                    }
                }
                out.claims.push(share);
            }
        }

        // 4. Event rows, then one message for the other nodes, delivered at commit.
        for chunk in events.chunks(CHUNK) {
            let (sql, binds) = event_values(chunk, now);
            crate::bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), binds)
                .execute(&mut *tx)
                .await?;
        }
        out.wake.sort_unstable();
        out.wake.dedup();
        out.events = !events.is_empty();
        if backend == Backend::Postgres {
            for payload in bus.remote_payloads(&out.wake, out.events) {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(crate::bus::CHANNEL)
                    .bind(payload)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(out)
}
