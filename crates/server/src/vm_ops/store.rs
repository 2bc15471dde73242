//! SQL of the command bus. This is the hot path, so it is sqlx with hand-written statements:
//! one string where both dialects agree, two side by side where they do not (the claim).
//! Every state change and its event row are written in one transaction.

use crate::db::Db;
use crate::db::dual::{Bind, Placeholders};
use crate::db::time::{opt_rfc3339, to_rfc3339};
use botmox_contract::vm_ops::CommandRecord;
use serde_json::Value;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommandRow {
    pub id: String,
    pub tenant_id: String,
    pub agent_id: String,
    pub command_type: String,
    pub payload: String,
    pub status: String,
    pub result: Option<String>,
    pub error_message: Option<String>,
    pub queued_at: i64,
    pub dispatched_at: Option<i64>,
    pub started_at: Option<i64>,
    pub last_progress_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub created_by: Option<String>,
    pub creator_privileged: bool,
    pub idempotency_key: Option<String>,
    pub lease_epoch: i64,
    pub requeue_count: i64,
    pub progress: Option<i64>,
    pub progress_message: Option<String>,
    pub cancel_requested_at: Option<i64>,
    pub updated_at: i64,
}

impl CommandRow {
    pub fn record(&self) -> CommandRecord {
        CommandRecord {
            id: self.id.clone(),
            tenant_id: self.tenant_id.clone(),
            agent_id: self.agent_id.clone(),
            command_type: self.command_type.clone(),
            payload: serde_json::from_str(&self.payload).unwrap_or(Value::Null),
            status: self.status.clone(),
            queued_at: to_rfc3339(self.queued_at),
            dispatched_at: opt_rfc3339(self.dispatched_at),
            started_at: opt_rfc3339(self.started_at),
            completed_at: opt_rfc3339(self.completed_at),
            expires_at: opt_rfc3339(self.expires_at),
            result: self
                .result
                .as_deref()
                .map(|r| serde_json::from_str(r).unwrap_or(Value::Null)),
            error_message: self.error_message.clone(),
            created_by: self.created_by.clone(),
            idempotency_key: self.idempotency_key.clone(),
            lease_epoch: self.lease_epoch,
            requeue_count: self.requeue_count,
            progress: self.progress,
            progress_message: self.progress_message.clone(),
            cancel_requested_at: opt_rfc3339(self.cancel_requested_at),
            updated_at: to_rfc3339(self.updated_at),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub tenant_id: String,
    pub agent_id: String,
    pub command_id: String,
    pub created_by: Option<String>,
    pub payload: String,
    pub created_at: i64,
}

/// A conditional update: `SET …` applied to rows matching `WHERE …`, both with binds.
#[derive(Default)]
pub struct Change {
    pub set: Vec<(&'static str, Bind)>,
    /// Extra raw assignments (e.g. `lease_epoch = lease_epoch + 1`).
    pub set_raw: Vec<&'static str>,
    pub conditions: Vec<(String, Vec<Bind>)>,
    pub limit_ids: Option<Vec<String>>,
}

impl Change {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, col: &'static str, value: Bind) -> Self {
        self.set.push((col, value));
        self
    }

    pub fn raw(mut self, expr: &'static str) -> Self {
        self.set_raw.push(expr);
        self
    }

    /// A condition with `?` marks for its binds, in order.
    pub fn when(mut self, cond: &str, binds: Vec<Bind>) -> Self {
        self.conditions.push((cond.to_owned(), binds));
        self
    }

    fn sql(&self) -> (String, Vec<Bind>) {
        let mut p = Placeholders::default();
        let mut binds = Vec::new();
        let mut sets: Vec<String> = Vec::new();
        for (col, v) in &self.set {
            sets.push(format!("{col} = {}", p.mark()));
            binds.push(v.clone());
        }
        sets.extend(self.set_raw.iter().map(|s| (*s).to_owned()));
        let mut wheres: Vec<String> = Vec::new();
        for (cond, cb) in &self.conditions {
            wheres.push(format!("({})", p.number(cond)));
            binds.extend(cb.iter().cloned());
        }
        if let Some(ids) = &self.limit_ids {
            let marks: Vec<String> = ids
                .iter()
                .map(|id| {
                    binds.push(Bind::Text(id.clone()));
                    p.mark()
                })
                .collect();
            wheres.push(format!("id IN ({})", marks.join(", ")));
        }
        (
            format!(
                "UPDATE agent_commands SET {} WHERE {} RETURNING *",
                sets.join(", "),
                wheres.join(" AND ")
            ),
            binds,
        )
    }
}

/// Filter of a command list page.
pub struct ListFilter<'a> {
    pub tenant_id: &'a str,
    pub agent_id: Option<&'a str>,
    pub status: Option<&'a str>,
    pub command_type: Option<&'a str>,
    pub created_by: Option<&'a str>,
    pub after: Option<(i64, String)>,
    pub limit: u64,
}

/// Filter of an event read.
pub struct EventFilter<'a> {
    pub tenant_id: Option<&'a str>,
    pub after_id: i64,
    pub up_to: Option<i64>,
    pub limit: i64,
}

#[derive(Clone, Debug)]
pub struct CommandStore {
    db: Db,
}

const EVENT_INSERT: &str = "INSERT INTO command_events (tenant_id, agent_id, command_id, created_by, payload, created_at) VALUES ";

fn event_values(rows: &[CommandRow], now: i64) -> (String, Vec<Bind>) {
    let mut p = Placeholders::default();
    let mut binds = Vec::new();
    let mut tuples = Vec::new();
    for r in rows {
        let marks: Vec<String> = (0..6).map(|_| p.mark()).collect();
        tuples.push(format!("({})", marks.join(", ")));
        binds.push(Bind::Text(r.tenant_id.clone()));
        binds.push(Bind::Text(r.agent_id.clone()));
        binds.push(Bind::Text(r.id.clone()));
        binds.push(Bind::OptText(r.created_by.clone()));
        binds.push(Bind::Text(
            serde_json::to_string(&r.record()).unwrap_or_default(),
        ));
        binds.push(Bind::Int(now));
    }
    (format!("{EVENT_INSERT}{}", tuples.join(", ")), binds)
}

impl CommandStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Inserts a queued command and its first event.
    pub async fn insert(&self, row: &CommandRow, now: i64) -> Result<(), sqlx::Error> {
        const SQL: &str = "INSERT INTO agent_commands (id, tenant_id, agent_id, command_type, payload, status, \
            result, error_message, queued_at, dispatched_at, started_at, last_progress_at, completed_at, \
            expires_at, created_by, creator_privileged, idempotency_key, lease_epoch, requeue_count, progress, \
            progress_message, cancel_requested_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, \
            NULL, NULL, NULL, NULL, $8, $9, $10, $11, 0, 0, NULL, NULL, NULL, $7)";
        let (ev_sql, ev_binds) = event_values(std::slice::from_ref(row), now);
        crate::with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(SQL)
                .bind(&row.id)
                .bind(&row.tenant_id)
                .bind(&row.agent_id)
                .bind(&row.command_type)
                .bind(&row.payload)
                .bind(&row.status)
                .bind(row.queued_at)
                .bind(row.expires_at)
                .bind(&row.created_by)
                .bind(row.creator_privileged)
                .bind(&row.idempotency_key)
                .execute(&mut *tx)
                .await?;
            crate::bind_all!(
                sqlx::query(sqlx::AssertSqlSafe(ev_sql.clone())),
                ev_binds.clone()
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<CommandRow>, sqlx::Error> {
        const SQL: &str = "SELECT * FROM agent_commands WHERE tenant_id = $1 AND id = $2";
        crate::with_pool!(self.db, |pool| {
            sqlx::query_as::<_, CommandRow>(SQL)
                .bind(tenant)
                .bind(id)
                .fetch_optional(pool)
                .await
        })
    }

    pub async fn by_idempotency_key(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<CommandRow>, sqlx::Error> {
        const SQL: &str =
            "SELECT * FROM agent_commands WHERE tenant_id = $1 AND idempotency_key = $2";
        crate::with_pool!(self.db, |pool| {
            sqlx::query_as::<_, CommandRow>(SQL)
                .bind(tenant)
                .bind(key)
                .fetch_optional(pool)
                .await
        })
    }

    /// Recent commands of one type for one agent (read-only dedupe candidates).
    pub async fn recent_of_type(
        &self,
        tenant: &str,
        agent: &str,
        command_type: &str,
        since: i64,
    ) -> Result<Vec<CommandRow>, sqlx::Error> {
        const SQL: &str = "SELECT * FROM agent_commands WHERE tenant_id = $1 AND agent_id = $2 \
            AND command_type = $3 AND (queued_at >= $4 OR completed_at >= $4) \
            AND status IN ('queued', 'dispatched', 'running', 'succeeded') ORDER BY queued_at DESC LIMIT 20";
        crate::with_pool!(self.db, |pool| {
            sqlx::query_as::<_, CommandRow>(SQL)
                .bind(tenant)
                .bind(agent)
                .bind(command_type)
                .bind(since)
                .fetch_all(pool)
                .await
        })
    }

    pub async fn list(&self, f: ListFilter<'_>) -> Result<Vec<CommandRow>, sqlx::Error> {
        let mut p = Placeholders::default();
        let mut binds = vec![Bind::Text(f.tenant_id.to_owned())];
        let mut sql = format!(
            "SELECT * FROM agent_commands WHERE tenant_id = {}",
            p.mark()
        );
        for (col, v) in [
            ("agent_id", f.agent_id),
            ("status", f.status),
            ("command_type", f.command_type),
            ("created_by", f.created_by),
        ] {
            if let Some(v) = v {
                sql.push_str(&format!(" AND {col} = {}", p.mark()));
                binds.push(Bind::Text(v.to_owned()));
            }
        }
        if let Some((queued, id)) = f.after {
            let (a, b, c) = (p.mark(), p.mark(), p.mark());
            sql.push_str(&format!(
                " AND (queued_at < {a} OR (queued_at = {b} AND id < {c}))"
            ));
            binds.extend([Bind::Int(queued), Bind::Int(queued), Bind::Text(id)]);
        }
        sql.push_str(&format!(
            " ORDER BY queued_at DESC, id DESC LIMIT {}",
            p.mark()
        ));
        binds.push(Bind::Int(f.limit as i64));
        crate::with_pool!(self.db, |pool| {
            crate::bind_all!(
                sqlx::query_as::<_, CommandRow>(sqlx::AssertSqlSafe(sql.clone())),
                binds.clone()
            )
            .fetch_all(pool)
            .await
        })
    }

    /// Applies a conditional update and writes one event per changed row, atomically.
    pub async fn apply(&self, change: Change, now: i64) -> Result<Vec<CommandRow>, sqlx::Error> {
        let (sql, binds) = change.sql();
        crate::with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let rows = crate::bind_all!(
                sqlx::query_as::<_, CommandRow>(sqlx::AssertSqlSafe(sql.clone())),
                binds.clone()
            )
            .fetch_all(&mut *tx)
            .await?;
            if !rows.is_empty() {
                let (ev_sql, ev_binds) = event_values(&rows, now);
                crate::bind_all!(sqlx::query(sqlx::AssertSqlSafe(ev_sql)), ev_binds)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(rows)
        })
    }

    /// Hands out up to `limit` queued commands of one agent, oldest first, each with a new lease
    /// epoch. Only commands whose creator was privileged or still owns the agent qualify.
    pub async fn claim(
        &self,
        tenant: &str,
        agent: &str,
        owner: Option<&str>,
        limit: u32,
        now: i64,
    ) -> Result<Vec<CommandRow>, sqlx::Error> {
        // PostgreSQL: SKIP LOCKED lets concurrent claimers (two sockets, two nodes) take
        // different rows instead of queueing behind each other.
        const PG: &str = "UPDATE agent_commands AS c SET status = 'dispatched', dispatched_at = $3, \
            lease_epoch = c.lease_epoch + 1, updated_at = $3 \
            FROM (SELECT id FROM agent_commands WHERE tenant_id = $1 AND agent_id = $2 AND status = 'queued' \
                  AND (expires_at IS NULL OR expires_at > $3) AND (creator_privileged OR created_by = $4) \
                  ORDER BY queued_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) AS picked \
            WHERE c.id = picked.id RETURNING c.*";
        // SQLite: one writer at a time, so the plain subquery is already exclusive.
        const SQLITE: &str = "UPDATE agent_commands SET status = 'dispatched', dispatched_at = $3, \
            lease_epoch = lease_epoch + 1, updated_at = $3 \
            WHERE id IN (SELECT id FROM agent_commands WHERE tenant_id = $1 AND agent_id = $2 AND status = 'queued' \
                  AND (expires_at IS NULL OR expires_at > $3) AND (creator_privileged OR created_by = $4) \
                  ORDER BY queued_at, id LIMIT $5) RETURNING *";
        let sql = match self.db.backend {
            crate::db::Backend::Postgres => PG,
            crate::db::Backend::Sqlite => SQLITE,
        };
        let mut rows = crate::with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query_as::<_, CommandRow>(sql)
                .bind(tenant)
                .bind(agent)
                .bind(now)
                .bind(owner)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
            if !rows.is_empty() {
                let (ev_sql, ev_binds) = event_values(&rows, now);
                crate::bind_all!(sqlx::query(sqlx::AssertSqlSafe(ev_sql)), ev_binds)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(rows)
        })?;
        rows.sort_by(|a, b| (a.queued_at, &a.id).cmp(&(b.queued_at, &b.id)));
        Ok(rows)
    }

    /// Commands matching a raw condition (sweeper candidates), oldest first.
    pub async fn select_where(
        &self,
        cond: &str,
        binds: Vec<Bind>,
        limit: i64,
    ) -> Result<Vec<CommandRow>, sqlx::Error> {
        let mut p = Placeholders::default();
        let out = p.number(cond);
        let sql = format!(
            "SELECT * FROM agent_commands WHERE {out} ORDER BY queued_at LIMIT {}",
            p.mark()
        );
        let mut binds = binds;
        binds.push(Bind::Int(limit));
        crate::with_pool!(self.db, |pool| {
            crate::bind_all!(
                sqlx::query_as::<_, CommandRow>(sqlx::AssertSqlSafe(sql.clone())),
                binds.clone()
            )
            .fetch_all(pool)
            .await
        })
    }

    pub async fn events(&self, f: EventFilter<'_>) -> Result<Vec<EventRow>, sqlx::Error> {
        let mut p = Placeholders::default();
        let mut binds = vec![Bind::Int(f.after_id)];
        let mut sql = format!("SELECT * FROM command_events WHERE id > {}", p.mark());
        if let Some(up_to) = f.up_to {
            sql.push_str(&format!(" AND id <= {}", p.mark()));
            binds.push(Bind::Int(up_to));
        }
        if let Some(t) = f.tenant_id {
            sql.push_str(&format!(" AND tenant_id = {}", p.mark()));
            binds.push(Bind::Text(t.to_owned()));
        }
        sql.push_str(&format!(" ORDER BY id LIMIT {}", p.mark()));
        binds.push(Bind::Int(f.limit));
        crate::with_pool!(self.db, |pool| {
            crate::bind_all!(
                sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql.clone())),
                binds.clone()
            )
            .fetch_all(pool)
            .await
        })
    }

    pub async fn max_event_id(&self) -> Result<i64, sqlx::Error> {
        const SQL: &str = "SELECT COALESCE(MAX(id), 0) FROM command_events";
        crate::with_pool!(self.db, |pool| {
            sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await
        })
    }
}
