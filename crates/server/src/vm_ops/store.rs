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

pub(crate) fn event_values(rows: &[CommandRow], now: i64) -> (String, Vec<Bind>) {
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

    /// Commands holding any of these idempotency keys, by key.
    pub async fn by_idempotency_keys(
        &self,
        tenant: &str,
        keys: &[&str],
    ) -> Result<std::collections::HashMap<String, CommandRow>, sqlx::Error> {
        let mut found = std::collections::HashMap::new();
        for chunk in keys.chunks(500) {
            let mut p = Placeholders::default();
            let mut binds = vec![Bind::Text(tenant.to_owned())];
            let first = p.mark();
            let marks: Vec<String> = chunk
                .iter()
                .map(|k| {
                    binds.push(Bind::Text((*k).to_owned()));
                    p.mark()
                })
                .collect();
            let sql = format!(
                "SELECT * FROM agent_commands WHERE tenant_id = {first} AND idempotency_key IN ({})",
                marks.join(", ")
            );
            let rows = crate::with_pool!(self.db, |pool| {
                crate::bind_all!(
                    sqlx::query_as::<_, CommandRow>(sqlx::AssertSqlSafe(sql.clone())),
                    binds.clone()
                )
                .fetch_all(pool)
                .await
            })?;
            for r in rows {
                if let Some(k) = r.idempotency_key.clone() {
                    found.insert(k, r);
                }
            }
        }
        Ok(found)
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
