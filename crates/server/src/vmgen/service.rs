//! VM generator rules: who may start a job for which agent, what a job looks like on the wire,
//! cancellation, and the tenant and ownership fences (another tenant's or, for a
//! non-privileged caller, another user's job is a 404).

use super::store::{Event, ItemRow, JobRow, ListFilter, VmGenStore};
use crate::agents::AgentsService;
use crate::auth::principal::{AuthKind, Principal};
use crate::bus::Bus;
use crate::db::time::{now_ms, opt_rfc3339, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use crate::playbooks::PlaybookService;
use crate::provisioning::ProvisioningService;
use crate::vm_ops::VmOpsService;
use crate::vm_ops::events::EventLog;
use crate::vms::VmService;
use axum::http::StatusCode;
use botmox_contract::ListMeta;
use botmox_contract::vmgen::{
    STEPS, VmGenCounts, VmGenItem, VmGenJob, VmGenJobCreateRequest, VmGenJobListQuery, VmGenStep,
};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::Notify;

pub const JOB_NOT_FOUND: &str = "VMGEN_JOB_NOT_FOUND";
const INVALID_BODY: &str = "VMGEN_INVALID_JOB_BODY";

pub fn not_found() -> ApiError {
    ApiError::not_found(JOB_NOT_FOUND, "VM generator job not found")
}

pub(crate) fn db(err: sqlx::Error) -> ApiError {
    ApiError::Internal(anyhow::Error::new(err).context("vm generator store"))
}

pub struct VmGenService {
    pub(crate) store: VmGenStore,
    pub(crate) agents: Arc<AgentsService>,
    pub(crate) vm_ops: Arc<VmOpsService>,
    pub(crate) events: Arc<EventLog>,
    pub(crate) provisioning: Arc<ProvisioningService>,
    pub(crate) vms: VmService,
    pub(crate) playbooks: PlaybookService,
    pub(crate) bus: Arc<Bus>,
    /// Wakes this node's runner when a job is queued here.
    pub(crate) wake: Arc<Notify>,
}

/// The identity a job acts with: its creator, with the roles they had when they created it.
pub(crate) fn creator(job: &JobRow) -> Principal {
    Principal {
        kind: AuthKind::Session,
        uid: job.created_by.clone(),
        email: String::new(),
        tenant_id: job.tenant_id.clone(),
        roles: job
            .creator_roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        token_id: None,
        token_exp: None,
        agent_id: None,
    }
}

pub(crate) fn steps_of(row: &ItemRow) -> Vec<VmGenStep> {
    serde_json::from_str(&row.steps).unwrap_or_default()
}

fn item_to_wire(row: &ItemRow) -> VmGenItem {
    VmGenItem {
        id: row.id.clone(),
        index: u32::try_from(row.idx).unwrap_or_default(),
        name: row.name.clone(),
        status: row.status.clone(),
        vmid: row.vmid.and_then(|v| u32::try_from(v).ok()),
        vm_uuid: row.vm_uuid.clone(),
        ip: row.ip.clone(),
        token_id: row.token_id.clone(),
        current_step: row.current_step.clone(),
        error: row.error.clone(),
        steps: steps_of(row),
        updated_at: to_rfc3339(row.updated_at),
    }
}

fn job_to_wire(row: &JobRow, counts: VmGenCounts, items: Option<Vec<VmGenItem>>) -> VmGenJob {
    let request: Value = serde_json::from_str(&row.request).unwrap_or(Value::Null);
    let num = |k: &str| request[k].as_u64().and_then(|v| u32::try_from(v).ok());
    VmGenJob {
        id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        agent_id: row.agent_id.clone(),
        node: request["node"].as_str().unwrap_or_default().to_owned(),
        template_vmid: num("template_vmid").unwrap_or_default(),
        count: num("count").unwrap_or_default(),
        name_prefix: request["name_prefix"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        status: row.status.clone(),
        request,
        created_by: row.created_by.clone(),
        created_at: to_rfc3339(row.created_at),
        updated_at: to_rfc3339(row.updated_at),
        started_at: opt_rfc3339(row.started_at),
        finished_at: opt_rfc3339(row.finished_at),
        cancel_requested_at: opt_rfc3339(row.cancel_requested_at),
        counts,
        items,
    }
}

fn count_into(counts: &mut VmGenCounts, status: &str, n: u32) {
    match status {
        "queued" => counts.queued += n,
        "running" => counts.running += n,
        "succeeded" => counts.succeeded += n,
        "failed" => counts.failed += n,
        "cancelled" => counts.cancelled += n,
        _ => {}
    }
}

pub(crate) fn counts_of(items: &[ItemRow]) -> VmGenCounts {
    let mut c = VmGenCounts::default();
    for it in items {
        count_into(&mut c, &it.status, 1);
    }
    c
}

/// A job-level event (`vmgen.job`).
pub(crate) fn job_event(job: &JobRow, status: &str, counts: Option<&VmGenCounts>) -> Event {
    Event {
        tenant_id: job.tenant_id.clone(),
        agent_id: job.agent_id.clone(),
        subject: job.id.clone(),
        created_by: job.created_by.clone(),
        payload: json!({
            "event_type": "vmgen.job",
            "job_id": job.id,
            "status": status,
            "counts": counts,
        }),
    }
}

impl VmGenService {
    pub fn may_see(caller: &Principal, job: &JobRow) -> bool {
        caller.is_privileged() || job.created_by == caller.uid
    }

    /// Checks the request against the tenant (agent, profile, playbook) and queues the job.
    pub async fn create(
        &self,
        caller: &Principal,
        mut req: VmGenJobCreateRequest,
        request_url: Option<String>,
    ) -> ApiResult<VmGenJob> {
        if caller.kind == AuthKind::Agent {
            return Err(ApiError::forbidden("Agent tokens cannot start jobs"));
        }
        let bad = req.cross_check();
        if !bad.is_empty() {
            return Err(ApiError::invalid_fields(INVALID_BODY, &bad));
        }
        req.agent_id = req.agent_id.trim().to_owned();
        req.profile_id = req.profile_id.trim().to_owned();
        self.check_agent(caller, &req.agent_id).await?;
        self.provisioning
            .get_profile(caller, &req.profile_id)
            .await?;
        if let Some(id) = req.playbook_id.as_deref() {
            self.playbooks.get(caller, id.trim()).await?;
        }
        let now = now_ms();
        let job = JobRow {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: caller.tenant_id.clone(),
            created_by: caller.uid.clone(),
            creator_roles: caller.roles.join(","),
            agent_id: req.agent_id.clone(),
            request: serde_json::to_string(&req).map_err(anyhow::Error::from)?,
            request_url,
            status: "queued".to_owned(),
            lease_owner: None,
            lease_until: None,
            lease_epoch: 0,
            cancel_requested_at: None,
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
        };
        let steps: Vec<VmGenStep> = STEPS
            .iter()
            .map(|s| VmGenStep {
                name: (*s).to_owned(),
                status: "pending".to_owned(),
                ..VmGenStep::default()
            })
            .collect();
        let steps = serde_json::to_string(&steps).map_err(anyhow::Error::from)?;
        let items: Vec<ItemRow> = (0..req.count)
            .map(|i| ItemRow {
                id: uuid::Uuid::now_v7().to_string(),
                job_id: job.id.clone(),
                tenant_id: job.tenant_id.clone(),
                idx: i64::from(i),
                name: req.name_of(i),
                status: "queued".to_owned(),
                vmid: None,
                vm_uuid: None,
                ip: req.ip_of(i),
                token_id: None,
                current_step: None,
                error: None,
                steps: steps.clone(),
                updated_at: now,
            })
            .collect();
        let counts = counts_of(&items);
        self.store
            .insert(&job, &items, &job_event(&job, "queued", Some(&counts)))
            .await
            .map_err(db)?;
        self.bus.events_written().await;
        self.wake.notify_one();
        Ok(job_to_wire(&job, counts, None))
    }

    /// The same rules the command bus applies at enqueue, checked up front so a job that could
    /// never run is refused with the reason instead of failing item by item.
    async fn check_agent(&self, caller: &Principal, agent_id: &str) -> ApiResult<()> {
        let agent = self
            .agents
            .find(&caller.tenant_id, agent_id)
            .await?
            .ok_or_else(|| ApiError::not_found("AGENT_NOT_FOUND", "Agent not found"))?;
        if !caller.is_privileged() {
            match agent.owner_user_id.as_deref() {
                None => {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "AGENT_OWNER_UNASSIGNED",
                        "Agent has no owner; only admin or infra may command it",
                    ));
                }
                Some(owner) if owner != caller.uid => {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "AGENT_OWNER_MISMATCH",
                        "Agent belongs to another user",
                    ));
                }
                Some(_) => {}
            }
        }
        match agent.status.as_str() {
            "revoked" => Err(ApiError::conflict(
                "AGENT_REVOKED",
                "Agent has been revoked",
            )),
            "pending" => Err(ApiError::conflict(
                "AGENT_NOT_ACTIVE",
                "Agent has not completed pairing",
            )),
            _ => Ok(()),
        }
    }

    async fn visible_job(&self, caller: &Principal, id: &str) -> ApiResult<JobRow> {
        let id = id.trim();
        if uuid::Uuid::try_parse(id).is_err() {
            return Err(not_found());
        }
        let job = self
            .store
            .job(&caller.tenant_id, id)
            .await
            .map_err(db)?
            .ok_or_else(not_found)?;
        if !Self::may_see(caller, &job) {
            return Err(not_found());
        }
        Ok(job)
    }

    pub async fn get(&self, caller: &Principal, id: &str) -> ApiResult<VmGenJob> {
        let job = self.visible_job(caller, id).await?;
        let items = self.store.items(&job.id).await.map_err(db)?;
        Ok(job_to_wire(
            &job,
            counts_of(&items),
            Some(items.iter().map(item_to_wire).collect()),
        ))
    }

    pub async fn list(
        &self,
        caller: &Principal,
        q: &VmGenJobListQuery,
    ) -> ApiResult<(Vec<VmGenJob>, ListMeta)> {
        let page = PageRequest::from_query(&q.page())?;
        let after = page.after_ms("VMGEN_INVALID_LIST_QUERY")?;
        let created_by = (!caller.is_privileged()).then_some(caller.uid.as_str());
        let rows = self
            .store
            .list(ListFilter {
                tenant_id: &caller.tenant_id,
                created_by,
                status: q.status.as_deref(),
                after,
                limit: page.fetch(),
            })
            .await
            .map_err(db)?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.created_at),
            id: r.id.clone(),
        });
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let counts = self.store.counts(&ids).await.map_err(db)?;
        let jobs = rows
            .iter()
            .map(|r| {
                let mut c = VmGenCounts::default();
                for (job, status, n) in &counts {
                    if *job == r.id {
                        count_into(&mut c, status, u32::try_from(*n).unwrap_or_default());
                    }
                }
                job_to_wire(r, c, None)
            })
            .collect();
        Ok((jobs, meta))
    }

    /// Asks a job to stop: a queued job ends at once; a running one stops before its next
    /// step (its in-flight command is cancelled). A finished job is a 409.
    pub async fn cancel(&self, caller: &Principal, id: &str) -> ApiResult<VmGenJob> {
        let job = self.visible_job(caller, id).await?;
        if !matches!(job.status.as_str(), "queued" | "running") {
            return Err(ApiError::conflict(
                "VMGEN_JOB_FINISHED",
                format!("The job is {} and cannot be cancelled", job.status),
            ));
        }
        let now = now_ms();
        let ev = job_event(&job, "cancelling", None);
        self.store
            .request_cancel(&job.tenant_id, &job.id, now, &ev)
            .await
            .map_err(db)?;
        self.bus.events_written().await;
        self.get(caller, &job.id).await
    }
}

impl VmGenService {
    /// On shutdown: hands this node's jobs back so the next node (or the next start) resumes
    /// them at once rather than after the lease lapses.
    pub async fn release_leases(&self) {
        match self.store.release(self.bus.node_id()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "released VM generator jobs for another node"),
            Err(err) => tracing::warn!(error = %err, "releasing VM generator jobs failed"),
        }
    }
}
