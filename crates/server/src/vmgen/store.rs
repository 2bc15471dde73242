//! SQL of the VM generator. Every state change of a leased job is fenced by the job's lease
//! epoch and written together with its progress event, in one transaction.
//!
//! Progress events go into the fleet's one durable event log (`command_events`, the table the
//! vm-ops SSE stream replays and tails), so any node's stream shows them.

use crate::db::Db;
use crate::db::dual::{Bind, Placeholders};
use serde_json::Value;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub tenant_id: String,
    pub created_by: String,
    /// Roles of the creator when the job was made, comma-separated; the runner acts with them.
    pub creator_roles: String,
    pub agent_id: String,
    /// The validated create request, as JSON.
    pub request: String,
    /// The server's URL as the creating request reached it (provisioning falls back to it).
    pub request_url: Option<String>,
    pub status: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub lease_epoch: i64,
    pub cancel_requested_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub id: String,
    pub job_id: String,
    pub tenant_id: String,
    pub idx: i64,
    pub name: String,
    pub status: String,
    pub vmid: Option<i64>,
    pub vm_uuid: Option<String>,
    pub ip: Option<String>,
    pub token_id: Option<String>,
    pub current_step: Option<String>,
    pub error: Option<String>,
    /// JSON array of `VmGenStep`.
    pub steps: String,
    pub updated_at: i64,
}

/// A progress event for the shared event log.
#[derive(Debug, Clone)]
pub struct Event {
    pub tenant_id: String,
    pub agent_id: String,
    /// The job id: SSE's `command_id` filter selects one job's events.
    pub subject: String,
    pub created_by: String,
    pub payload: Value,
}

pub struct ListFilter<'a> {
    pub tenant_id: &'a str,
    pub created_by: Option<&'a str>,
    pub status: Option<&'a str>,
    pub after: Option<(i64, String)>,
    pub limit: u64,
}

#[derive(Clone)]
pub struct VmGenStore {
    db: Db,
}

const EVENT_SQL: &str = "INSERT INTO command_events (tenant_id, agent_id, command_id, created_by, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// Writes one event inside the caller's transaction.
macro_rules! write_event {
    ($tx:expr, $ev:expr, $now:expr) => {
        sqlx::query(EVENT_SQL)
            .bind(&$ev.tenant_id)
            .bind(&$ev.agent_id)
            .bind(&$ev.subject)
            .bind(&$ev.created_by)
            .bind($ev.payload.to_string())
            .bind($now)
            .execute(&mut *$tx)
            .await
    };
}

const ITEM_INSERT: &str = "INSERT INTO vmgen_items (id, job_id, tenant_id, idx, name, status, vmid, vm_uuid, ip, token_id, current_step, error, steps, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

impl VmGenStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Inserts a queued job with its items and the job's first event.
    pub async fn insert(
        &self,
        job: &JobRow,
        items: &[ItemRow],
        ev: &Event,
    ) -> Result<(), sqlx::Error> {
        const SQL: &str = "INSERT INTO vmgen_jobs (id, tenant_id, created_by, creator_roles, agent_id, request, request_url, status, lease_owner, lease_until, lease_epoch, cancel_requested_at, created_at, updated_at, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, 0, NULL, $9, $9, NULL, NULL)";
        crate::with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(SQL)
                .bind(&job.id)
                .bind(&job.tenant_id)
                .bind(&job.created_by)
                .bind(&job.creator_roles)
                .bind(&job.agent_id)
                .bind(&job.request)
                .bind(&job.request_url)
                .bind(&job.status)
                .bind(job.created_at)
                .execute(&mut *tx)
                .await?;
            for it in items {
                sqlx::query(ITEM_INSERT)
                    .bind(&it.id)
                    .bind(&it.job_id)
                    .bind(&it.tenant_id)
                    .bind(it.idx)
                    .bind(&it.name)
                    .bind(&it.status)
                    .bind(it.vmid)
                    .bind(&it.vm_uuid)
                    .bind(&it.ip)
                    .bind(&it.token_id)
                    .bind(&it.current_step)
                    .bind(&it.error)
                    .bind(&it.steps)
                    .bind(it.updated_at)
                    .execute(&mut *tx)
                    .await?;
            }
            write_event!(tx, ev, job.created_at)?;
            tx.commit().await
        })
    }

    /// Appends one event on its own (e.g. a job starting).
    pub async fn append_event(&self, ev: &Event, now: i64) -> Result<(), sqlx::Error> {
        crate::with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            write_event!(tx, ev, now)?;
            tx.commit().await
        })
    }

    pub async fn job(&self, tenant: &str, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
        const SQL: &str = "SELECT * FROM vmgen_jobs WHERE tenant_id = $1 AND id = $2";
        crate::with_pool!(self.db, |pool| {
            sqlx::query_as::<_, JobRow>(SQL)
                .bind(tenant)
                .bind(id)
                .fetch_optional(pool)
                .await
        })
    }

    pub async fn items(&self, job_id: &str) -> Result<Vec<ItemRow>, sqlx::Error> {
        const SQL: &str = "SELECT * FROM vmgen_items WHERE job_id = $1 ORDER BY idx";
        crate::with_pool!(self.db, |pool| {
            sqlx::query_as::<_, ItemRow>(SQL)
                .bind(job_id)
                .fetch_all(pool)
                .await
        })
    }

    /// `(job_id, status, count)` of the items of these jobs.
    pub async fn counts(
        &self,
        job_ids: &[String],
    ) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        if job_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut p = Placeholders::default();
        let marks: Vec<String> = job_ids.iter().map(|_| p.mark()).collect();
        let sql = format!(
            "SELECT job_id, status, COUNT(*) FROM vmgen_items WHERE job_id IN ({}) GROUP BY job_id, status",
            marks.join(", ")
        );
        crate::with_pool!(self.db, |pool| {
            let mut q =
                sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql.clone()));
            for id in job_ids {
                q = q.bind(id);
            }
            q.fetch_all(pool).await
        })
    }

    pub async fn list(&self, f: ListFilter<'_>) -> Result<Vec<JobRow>, sqlx::Error> {
        let mut p = Placeholders::default();
        let mut binds = vec![Bind::Text(f.tenant_id.to_owned())];
        let mut sql = format!("SELECT * FROM vmgen_jobs WHERE tenant_id = {}", p.mark());
        for (col, v) in [("created_by", f.created_by), ("status", f.status)] {
            if let Some(v) = v {
                sql.push_str(&format!(" AND {col} = {}", p.mark()));
                binds.push(Bind::Text(v.to_owned()));
            }
        }
        if let Some((at, id)) = f.after {
            let (a, b, c) = (p.mark(), p.mark(), p.mark());
            sql.push_str(&format!(
                " AND (created_at < {a} OR (created_at = {b} AND id < {c}))"
            ));
            binds.extend([Bind::Int(at), Bind::Int(at), Bind::Text(id)]);
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT {}",
            p.mark()
        ));
        binds.push(Bind::Int(f.limit as i64));
        crate::with_pool!(self.db, |pool| {
            crate::bind_all!(
                sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql.clone())),
                binds.clone()
            )
            .fetch_all(pool)
            .await
        })
    }

    /// Takes the oldest unfinished job whose lease is free or lapsed: a new epoch, the lease
    /// until `until`. The outer condition repeats the inner one, so of two nodes racing for a
    /// job only one gets it.
    pub async fn claim(
        &self,
        node: &str,
        now: i64,
        until: i64,
    ) -> Result<Option<JobRow>, sqlx::Error> {
        const SQL: &str = "UPDATE vmgen_jobs SET lease_owner = $1, lease_until = $2, \
            lease_epoch = lease_epoch + 1, status = 'running', started_at = COALESCE(started_at, $3), updated_at = $3 \
            WHERE id = (SELECT id FROM vmgen_jobs WHERE status IN ('queued', 'running') \
                AND (lease_until IS NULL OR lease_until < $3) ORDER BY created_at, id LIMIT 1) \
            AND status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < $3) RETURNING *";
        crate::with_pool!(self.db, |pool| {
            sqlx::query_as::<_, JobRow>(SQL)
                .bind(node)
                .bind(until)
                .bind(now)
                .fetch_optional(pool)
                .await
        })
    }

    /// Extends a lease still held with this epoch; false when it was lost.
    pub async fn renew(&self, id: &str, epoch: i64, until: i64) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE vmgen_jobs SET lease_until = $1 WHERE id = $2 AND lease_epoch = $3 AND status = 'running' AND lease_owner IS NOT NULL";
        crate::with_pool!(self.db, |pool| {
            Ok(sqlx::query(SQL)
                .bind(until)
                .bind(id)
                .bind(epoch)
                .execute(pool)
                .await?
                .rows_affected()
                == 1)
        })
    }

    /// Gives up the leases this node holds (on shutdown), so another node or the next start
    /// picks the jobs up at once instead of after the lease runs out.
    pub async fn release(&self, node: &str) -> Result<u64, sqlx::Error> {
        const SQL: &str = "UPDATE vmgen_jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND status = 'running'";
        crate::with_pool!(self.db, |pool| {
            Ok(sqlx::query(SQL)
                .bind(node)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }

    /// Writes an item's state if the job is still leased with `epoch`; false when not.
    pub async fn save_item(
        &self,
        epoch: i64,
        it: &ItemRow,
        ev: &Event,
    ) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE vmgen_items SET status = $1, vmid = $2, vm_uuid = $3, ip = $4, token_id = $5, \
            current_step = $6, error = $7, steps = $8, updated_at = $9 \
            WHERE id = $10 AND EXISTS (SELECT 1 FROM vmgen_jobs WHERE id = $11 AND lease_epoch = $12 AND status = 'running')";
        crate::with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(SQL)
                .bind(&it.status)
                .bind(it.vmid)
                .bind(&it.vm_uuid)
                .bind(&it.ip)
                .bind(&it.token_id)
                .bind(&it.current_step)
                .bind(&it.error)
                .bind(&it.steps)
                .bind(it.updated_at)
                .bind(&it.id)
                .bind(&it.job_id)
                .bind(epoch)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                write_event!(tx, ev, it.updated_at)?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// Ends a leased job: its final status, items still open become `cancelled`.
    pub async fn finish(
        &self,
        id: &str,
        epoch: i64,
        status: &str,
        now: i64,
        ev: &Event,
    ) -> Result<bool, sqlx::Error> {
        const JOB: &str = "UPDATE vmgen_jobs SET status = $1, finished_at = $2, updated_at = $2, lease_owner = NULL, lease_until = NULL \
            WHERE id = $3 AND lease_epoch = $4 AND status = 'running'";
        const ITEMS: &str = "UPDATE vmgen_items SET status = 'cancelled', updated_at = $1 WHERE job_id = $2 AND status IN ('queued', 'running')";
        crate::with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(JOB)
                .bind(status)
                .bind(now)
                .bind(id)
                .bind(epoch)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                sqlx::query(ITEMS)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                write_event!(tx, ev, now)?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// Marks the job as asked to stop. A job nobody runs yet is cancelled on the spot (with
    /// its items); a running one is ended by its runner. Returns the job afterwards.
    pub async fn request_cancel(
        &self,
        tenant: &str,
        id: &str,
        now: i64,
        ev: &Event,
    ) -> Result<Option<JobRow>, sqlx::Error> {
        const MARK: &str = "UPDATE vmgen_jobs SET cancel_requested_at = COALESCE(cancel_requested_at, $1), updated_at = $1 \
            WHERE tenant_id = $2 AND id = $3 AND status IN ('queued', 'running')";
        const NOW: &str = "UPDATE vmgen_jobs SET status = 'cancelled', finished_at = $1 \
            WHERE tenant_id = $2 AND id = $3 AND status = 'queued'";
        const ITEMS: &str = "UPDATE vmgen_items SET status = 'cancelled', updated_at = $1 WHERE job_id = $2 AND status = 'queued'";
        const GET: &str = "SELECT * FROM vmgen_jobs WHERE tenant_id = $1 AND id = $2";
        crate::with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let marked = sqlx::query(MARK)
                .bind(now)
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let ended = sqlx::query(NOW)
                .bind(now)
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if ended == 1 {
                sqlx::query(ITEMS)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            if marked == 1 {
                let mut ev = ev.clone();
                if ended == 1
                    && let Some(o) = ev.payload.as_object_mut()
                {
                    o.insert("status".into(), Value::from("cancelled"));
                }
                write_event!(tx, ev, now)?;
            }
            let row = sqlx::query_as::<_, JobRow>(GET)
                .bind(tenant)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    pub async fn cancel_requested(&self, id: &str) -> Result<bool, sqlx::Error> {
        const SQL: &str = "SELECT cancel_requested_at FROM vmgen_jobs WHERE id = $1";
        crate::with_pool!(self.db, |pool| {
            let v: Option<Option<i64>> = sqlx::query_scalar(SQL)
                .bind(id)
                .fetch_optional(pool)
                .await?;
            Ok(v.flatten().is_some())
        })
    }
}
