//! The VM generator's runner: on every node, claims unfinished jobs under a lease (a fenced
//! epoch; a node that loses it stops writing) and walks each VM through its steps, one
//! vm-ops command per step.
//!
//! Resuming is by construction: a step's command id is written before it is waited on, and
//! every command is enqueued with an idempotency key naming the item and step, so a node that
//! takes over (or a restarted server) waits on the same command instead of queueing another.

use super::service::{VmGenService, creator, job_event, steps_of};
use super::store::{Event, ItemRow, JobRow};
use crate::auth::principal::Principal;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::ApiError;
use crate::vm_ops::service::Enqueue;
use base64::Engine;
use botmox_contract::provisioning::ProvisionIp;
use botmox_contract::provisioning_api::GenerateIsoRequest;
use botmox_contract::vm_ops::{CommandRecord, is_terminal};
use botmox_contract::vmgen::{VmGenJobCreateRequest, VmGenStep};
use botmox_contract::vms::VmRegisterRequest;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;

/// How long a claim holds without renewal; a crashed node's jobs move on after this.
const LEASE_MS: i64 = 30_000;
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// Other nodes' new jobs are found by this poll (this node's wake it at once).
const POLL: Duration = Duration::from_secs(2);
const MAX_JOBS_PER_NODE: usize = 4;
/// Commands for an agent that is offline wait this long in the queue.
const COMMAND_TTL_S: u32 = 3600;
/// Safety re-read of a waited-on command, should a wake-up be lost.
const RECHECK: Duration = Duration::from_secs(15);
/// Proxmox tasks (clone of a large disk) may take a while; the agent waits for them.
const TASK_TIMEOUT_MS: u64 = 1_200_000;

/// Why a job stopped before its end.
#[derive(Debug)]
enum Halt {
    /// Shutdown or lost lease: leave the job to whoever holds it next.
    Stopped,
    /// The operator cancelled the job.
    Cancelled,
}

/// How a step ended when it did not succeed.
enum StepFail {
    Halt(Halt),
    Failed(String),
}

impl From<Halt> for StepFail {
    fn from(h: Halt) -> Self {
        StepFail::Halt(h)
    }
}

type StepResult<T> = Result<T, StepFail>;

/// Starts this node's runner; it ends when `stop` fires.
pub fn spawn(svc: Arc<VmGenService>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut running: JoinSet<()> = JoinSet::new();
        loop {
            while running.len() < MAX_JOBS_PER_NODE && !*stop.borrow() {
                let now = now_ms();
                match svc
                    .store
                    .claim(svc.bus.node_id(), now, now + LEASE_MS)
                    .await
                {
                    Ok(Some(job)) => {
                        running.spawn(run_job(svc.clone(), job, stop.clone()));
                    }
                    Ok(None) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "claiming a VM generator job failed");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = svc.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = stop.changed() => break,
            }
        }
        // Jobs see the same stop signal and end at their next wait.
        while running.join_next().await.is_some() {}
    });
}

/// Resolves when `rx` holds true (or its sender is gone).
async fn fired(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

async fn run_job(svc: Arc<VmGenService>, job: JobRow, stop: watch::Receiver<bool>) {
    let (lost_tx, lost) = watch::channel(false);
    let renew = {
        let svc = svc.clone();
        let (id, epoch) = (job.id.clone(), job.lease_epoch);
        let mut stop = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(RENEW_EVERY) => {}
                    _ = fired(&mut stop) => return,
                }
                match svc.store.renew(&id, epoch, now_ms() + LEASE_MS).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job_id = %id, "VM generator job lease lost; stopping here");
                        let _ = lost_tx.send(true);
                        return;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "renewing a VM generator lease failed")
                    }
                }
            }
        })
    };
    let req: VmGenJobCreateRequest = match serde_json::from_str(&job.request) {
        Ok(r) => r,
        Err(err) => {
            tracing::error!(job_id = %job.id, error = %err, "unreadable VM generator job");
            let ev = job_event(&job, "failed", None);
            let _ = svc
                .store
                .finish(&job.id, job.lease_epoch, "failed", now_ms(), &ev)
                .await;
            renew.abort();
            return;
        }
    };
    let runner = JobRunner {
        principal: creator(&job),
        svc,
        job,
        req,
        stop,
        lost,
    };
    match runner.run().await {
        Ok(()) | Err(Halt::Cancelled) => {}
        Err(Halt::Stopped) => {
            tracing::info!(job_id = %runner.job.id, "VM generator job paused; it resumes where it stopped")
        }
    }
    renew.abort();
}

struct JobRunner {
    svc: Arc<VmGenService>,
    job: JobRow,
    req: VmGenJobCreateRequest,
    principal: Principal,
    stop: watch::Receiver<bool>,
    lost: watch::Receiver<bool>,
}

/// One VM's state while it is worked on.
struct Item {
    row: ItemRow,
    steps: Vec<VmGenStep>,
}

impl Item {
    fn step(&self, name: &str) -> Option<&VmGenStep> {
        self.steps.iter().find(|s| s.name == name)
    }

    fn step_mut(&mut self, name: &str) -> &mut VmGenStep {
        if let Some(i) = self.steps.iter().position(|s| s.name == name) {
            return &mut self.steps[i];
        }
        self.steps.push(VmGenStep {
            name: name.to_owned(),
            status: "pending".to_owned(),
            ..VmGenStep::default()
        });
        let last = self.steps.len() - 1;
        &mut self.steps[last]
    }

    fn done(&self, name: &str) -> bool {
        self.step(name)
            .is_some_and(|s| matches!(s.status.as_str(), "succeeded" | "skipped"))
    }

    fn vmid(&self) -> Result<i64, StepFail> {
        self.row
            .vmid
            .ok_or_else(|| StepFail::Failed("the VM id is unknown (clone did not finish)".into()))
    }
}

fn value_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// The `uuid=` of a Proxmox `smbios1` value, lower-cased.
pub fn smbios_uuid(config: &Value) -> Option<String> {
    config["smbios1"]
        .as_str()?
        .split(',')
        .find_map(|kv| kv.trim().strip_prefix("uuid="))
        .map(|u| u.trim().to_ascii_lowercase())
        .filter(|u| !u.is_empty())
}

/// Size of a Proxmox volume string's `size=` in GiB (rounded up).
fn size_gib(volume: &str) -> Option<u64> {
    let raw = volume
        .split(',')
        .find_map(|kv| kv.trim().strip_prefix("size="))?;
    let (num, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit() && c != '.')?);
    let n: f64 = num.parse().ok()?;
    let bytes = n * match unit.to_ascii_uppercase().as_str() {
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0f64.powi(4),
        "P" => 1024.0f64.powi(5),
        _ => return None,
    };
    Some((bytes / 1024.0f64.powi(3)).ceil() as u64)
}

/// The largest disk of a config (`ide|sata|scsi|virtio<n>` with a size, not a CD-ROM).
pub fn primary_disk(config: &Value) -> Option<(String, u64)> {
    let obj = config.as_object()?;
    obj.iter()
        .filter(|(k, _)| {
            ["ide", "sata", "scsi", "virtio"].iter().any(|bus| {
                k.strip_prefix(bus)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .filter_map(|(k, v)| {
            let s = v.as_str()?;
            if s.contains("media=cdrom") {
                return None;
            }
            Some((k.clone(), size_gib(s)?))
        })
        .max_by_key(|(_, size)| *size)
}

impl JobRunner {
    fn halted(&self) -> Option<Halt> {
        (*self.stop.borrow() || *self.lost.borrow()).then_some(Halt::Stopped)
    }

    async fn cancel_requested(&self) -> bool {
        self.svc
            .store
            .cancel_requested(&self.job.id)
            .await
            .unwrap_or(false)
    }

    async fn run(&self) -> Result<(), Halt> {
        let rows = self.svc.store.items(&self.job.id).await.map_err(|err| {
            tracing::warn!(error = %err, "reading VM generator items failed");
            Halt::Stopped
        })?;
        self.emit(job_event(&self.job, "running", None)).await;
        let mut cancelled = false;
        for row in rows {
            if !matches!(row.status.as_str(), "queued" | "running") {
                continue;
            }
            if let Some(h) = self.halted() {
                return Err(h);
            }
            if self.cancel_requested().await {
                cancelled = true;
                break;
            }
            let steps = steps_of(&row);
            let mut item = Item { row, steps };
            match self.run_item(&mut item).await {
                Ok(()) => {}
                Err(Halt::Cancelled) => {
                    cancelled = true;
                    break;
                }
                Err(h) => return Err(h),
            }
        }
        if !cancelled && self.cancel_requested().await {
            cancelled = true;
        }
        let items = self.svc.store.items(&self.job.id).await.map_err(|err| {
            tracing::warn!(error = %err, "reading VM generator items failed");
            Halt::Stopped
        })?;
        let mut counts = super::service::counts_of(&items);
        let status = if cancelled {
            counts.cancelled += counts.queued + counts.running;
            counts.queued = 0;
            counts.running = 0;
            "cancelled"
        } else if counts.failed == 0 {
            "succeeded"
        } else if counts.succeeded == 0 {
            "failed"
        } else {
            "partially_failed"
        };
        let ev = job_event(&self.job, status, Some(&counts));
        match self
            .svc
            .store
            .finish(&self.job.id, self.job.lease_epoch, status, now_ms(), &ev)
            .await
        {
            Ok(true) => {
                self.svc.bus.events_written().await;
                tracing::info!(job_id = %self.job.id, status, "VM generator job finished");
                if cancelled {
                    Err(Halt::Cancelled)
                } else {
                    Ok(())
                }
            }
            Ok(false) => Err(Halt::Stopped),
            Err(err) => {
                tracing::warn!(error = %err, "finishing a VM generator job failed");
                Err(Halt::Stopped)
            }
        }
    }

    async fn emit(&self, ev: Event) {
        if let Err(err) = self.svc.store.append_event(&ev, now_ms()).await {
            tracing::warn!(error = %err, "writing a VM generator event failed");
        }
        self.svc.bus.events_written().await;
    }

    /// Writes the item (fenced by the lease) with a `vmgen.step` event about `step`.
    async fn save(&self, item: &mut Item, step: &str) -> Result<(), Halt> {
        item.row.steps = serde_json::to_string(&item.steps).unwrap_or_else(|_| "[]".into());
        item.row.updated_at = now_ms();
        item.row.current_step = Some(step.to_owned());
        let s = item.step(step).cloned().unwrap_or_default();
        let ev = Event {
            tenant_id: self.job.tenant_id.clone(),
            agent_id: self.job.agent_id.clone(),
            subject: self.job.id.clone(),
            created_by: self.job.created_by.clone(),
            payload: json!({
                "event_type": "vmgen.step",
                "job_id": self.job.id,
                "item_id": item.row.id,
                "index": item.row.idx,
                "name": item.row.name,
                "item_status": item.row.status,
                "step": step,
                "step_status": s.status,
                "command_id": s.command_id,
                "command_type": s.command_type,
                "vmid": item.row.vmid,
                "vm_uuid": item.row.vm_uuid,
                "ip": item.row.ip,
                "error": s.error,
            }),
        };
        match self
            .svc
            .store
            .save_item(self.job.lease_epoch, &item.row, &ev)
            .await
        {
            Ok(true) => {
                self.svc.bus.events_written().await;
                Ok(())
            }
            Ok(false) => Err(Halt::Stopped),
            Err(err) => {
                tracing::warn!(error = %err, "saving a VM generator item failed");
                Err(Halt::Stopped)
            }
        }
    }

    async fn set_step(
        &self,
        item: &mut Item,
        step: &str,
        status: &str,
        error: Option<String>,
    ) -> Result<(), Halt> {
        let now = to_rfc3339(now_ms());
        let s = item.step_mut(step);
        s.status = status.to_owned();
        if status == "running" {
            s.started_at.get_or_insert(now);
        } else if status != "pending" {
            s.finished_at = Some(now);
        }
        s.error = error;
        self.save(item, step).await
    }

    async fn run_item(&self, item: &mut Item) -> Result<(), Halt> {
        if item.row.status != "running" {
            item.row.status = "running".to_owned();
            self.save(item, "clone").await?;
        }
        let order: [&str; 8] = [
            "clone",
            "configure",
            "read_config",
            "resize_disk",
            "register",
            "provision",
            "attach_iso",
            "start",
        ];
        for step in order {
            if item.done(step) {
                continue;
            }
            if let Some(h) = self.halted() {
                return Err(h);
            }
            if self.cancel_requested().await {
                return self.end_item(item, step, "cancelled", None).await;
            }
            let outcome = match step {
                "clone" => self.clone_vm(item).await,
                "configure" => self.configure(item).await,
                "read_config" => self.read_config(item).await,
                "resize_disk" => self.resize_disk(item).await,
                "register" => self.register(item).await,
                "provision" => self.provision(item).await,
                "attach_iso" => self.attach_iso(item).await,
                _ => self.start(item).await,
            };
            match outcome {
                Ok(()) => {}
                Err(StepFail::Halt(Halt::Cancelled)) => {
                    return self.end_item(item, step, "cancelled", None).await;
                }
                Err(StepFail::Halt(h)) => return Err(h),
                Err(StepFail::Failed(msg)) => {
                    let msg = format!("{step}: {msg}");
                    return self.end_item(item, step, "failed", Some(msg)).await;
                }
            }
        }
        item.row.status = "succeeded".to_owned();
        item.row.error = None;
        self.save(item, "start").await
    }

    /// Ends an item at `step` with `status` (`failed` or `cancelled`).
    async fn end_item(
        &self,
        item: &mut Item,
        step: &str,
        status: &str,
        error: Option<String>,
    ) -> Result<(), Halt> {
        item.row.status = status.to_owned();
        item.row.error = error.clone();
        self.set_step(item, step, status, error).await?;
        if status == "cancelled" {
            Err(Halt::Cancelled)
        } else {
            Ok(())
        }
    }

    fn base_payload(&self, item: &Item) -> StepResult<Map<String, Value>> {
        let mut p = Map::new();
        p.insert("vmid".into(), json!(item.vmid()?));
        p.insert("node".into(), json!(self.req.node));
        Ok(p)
    }

    /// Enqueues the step's command (unless one is recorded already), records its id, waits
    /// for it and returns its result; a command that does not succeed fails the step.
    async fn command(
        &self,
        item: &mut Item,
        step: &str,
        command_type: &str,
        payload: Map<String, Value>,
        key_suffix: &str,
    ) -> StepResult<Value> {
        let recorded = item.step(step).and_then(|s| s.command_id.clone());
        let id = match recorded {
            Some(id) => id,
            None => {
                let enqueue = Enqueue {
                    agent_id: self.job.agent_id.clone(),
                    command_type: command_type.to_owned(),
                    payload,
                    expires_in_seconds: COMMAND_TTL_S,
                    idempotency_key: Some(format!("vmgen:{}:{step}{key_suffix}", item.row.id)),
                    queue_if_offline: true,
                };
                let (record, _) = self
                    .svc
                    .vm_ops
                    .enqueue(&self.principal, enqueue)
                    .await
                    .map_err(|e| StepFail::Failed(api_message(&e)))?;
                let s = item.step_mut(step);
                s.command_id = Some(record.id.clone());
                s.command_type = Some(command_type.to_owned());
                self.set_step(item, step, "running", None).await?;
                record.id
            }
        };
        let record = self.wait(&id).await?;
        if record.status == "succeeded" {
            return Ok(record.result.unwrap_or(Value::Null));
        }
        let why = record
            .error_message
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| format!("command {}", record.status));
        Err(StepFail::Failed(why))
    }

    /// Waits for a command to reach a terminal status, woken by the event log (any node's
    /// writes reach it through the tailer), with a slow re-read as a safety net.
    async fn wait(&self, id: &str) -> Result<CommandRecord, Halt> {
        let mut events = self.svc.events.subscribe();
        let mut stop = self.stop.clone();
        let mut lost = self.lost.clone();
        loop {
            let record = match self.svc.vm_ops.get(&self.principal, id).await {
                Ok(r) => r,
                Err(err) => {
                    tracing::warn!(error = %err, command_id = id, "reading a VM generator command failed");
                    return Err(Halt::Stopped);
                }
            };
            if is_terminal(&record.status) {
                return Ok(record);
            }
            if self.cancel_requested().await {
                // Best effort: a running command is asked to stop; the job does not wait.
                if let Err(err) = self.svc.vm_ops.cancel(&self.principal, id).await {
                    tracing::debug!(error = %err, "cancelling a VM generator command");
                }
                return Err(Halt::Cancelled);
            }
            let deadline = tokio::time::sleep(RECHECK);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    got = events.recv() => match got {
                        Ok(ev) if ev.command_id == id || ev.command_id == self.job.id => break,
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(_)) => break,
                        Err(broadcast::error::RecvError::Closed) => return Err(Halt::Stopped),
                    },
                    _ = &mut deadline => break,
                    _ = fired(&mut stop) => return Err(Halt::Stopped),
                    _ = fired(&mut lost) => return Err(Halt::Stopped),
                }
            }
        }
    }

    async fn clone_vm(&self, item: &mut Item) -> StepResult<()> {
        let mut p = Map::new();
        p.insert("templateVmId".into(), json!(self.req.template_vmid));
        if let Some(start) = self.req.start_vmid {
            p.insert(
                "newid".into(),
                json!(u64::from(start) + item.row.idx as u64),
            );
        }
        p.insert("name".into(), json!(item.row.name));
        p.insert("node".into(), json!(self.req.node));
        p.insert("full".into(), json!(true));
        if let Some(s) = &self.req.storage {
            p.insert("storage".into(), json!(s));
        }
        p.insert("timeoutMs".into(), json!(TASK_TIMEOUT_MS));
        let result = self.command(item, "clone", "proxmox.clone", p, "").await?;
        if let Some(exit) = result["exitstatus"].as_str()
            && exit != "OK"
        {
            return Err(StepFail::Failed(format!("Proxmox task failed: {exit}")));
        }
        let vmid = value_u64(&result["vmid"])
            .or_else(|| {
                self.req
                    .start_vmid
                    .map(|s| u64::from(s) + item.row.idx as u64)
            })
            .ok_or_else(|| StepFail::Failed("the clone result names no VM id".into()))?;
        item.row.vmid = i64::try_from(vmid).ok();
        self.set_step(item, "clone", "succeeded", None).await?;
        Ok(())
    }

    async fn configure(&self, item: &mut Item) -> StepResult<()> {
        let mut config = Map::new();
        if let Some(c) = self.req.cores {
            config.insert("cores".into(), json!(c));
        }
        if let Some(m) = self.req.memory_mb {
            config.insert("memory".into(), json!(m));
        }
        if let Some(b) = &self.req.network.bridge {
            config.insert("net0".into(), json!(format!("virtio,bridge={b}")));
        }
        if config.is_empty() {
            self.set_step(item, "configure", "skipped", None).await?;
            return Ok(());
        }
        let mut p = self.base_payload(item)?;
        p.insert("config".into(), Value::Object(config));
        p.insert("timeoutMs".into(), json!(TASK_TIMEOUT_MS));
        self.command(item, "configure", "proxmox.update-config", p, "")
            .await?;
        self.set_step(item, "configure", "succeeded", None).await?;
        Ok(())
    }

    /// The VM's config as the `read_config` command returned it.
    async fn config(&self, item: &mut Item) -> StepResult<Value> {
        let p = self.base_payload(item)?;
        self.command(item, "read_config", "proxmox.get-config", p, "")
            .await
    }

    async fn read_config(&self, item: &mut Item) -> StepResult<()> {
        let config = self.config(item).await?;
        let uuid = smbios_uuid(&config).ok_or_else(|| {
            StepFail::Failed(format!(
                "VM {} has no SMBIOS uuid in its config",
                item.row.vmid.unwrap_or_default()
            ))
        })?;
        item.row.vm_uuid = Some(uuid);
        self.set_step(item, "read_config", "succeeded", None)
            .await?;
        Ok(())
    }

    async fn resize_disk(&self, item: &mut Item) -> StepResult<()> {
        let Some(want) = self.req.disk_gib.map(u64::from) else {
            self.set_step(item, "resize_disk", "skipped", None).await?;
            return Ok(());
        };
        let config = self.config(item).await?;
        let Some((disk, have)) = primary_disk(&config) else {
            return Err(StepFail::Failed("the VM has no disk with a size".into()));
        };
        if want <= have {
            // Never shrink; an equal or larger disk already satisfies the request.
            self.set_step(item, "resize_disk", "skipped", None).await?;
            return Ok(());
        }
        let mut p = self.base_payload(item)?;
        p.insert("disk".into(), json!(disk));
        p.insert("size".into(), json!(format!("+{}G", want - have)));
        p.insert("timeoutMs".into(), json!(TASK_TIMEOUT_MS));
        self.command(item, "resize_disk", "proxmox.resize-disk", p, "")
            .await?;
        self.set_step(item, "resize_disk", "succeeded", None)
            .await?;
        Ok(())
    }

    async fn register(&self, item: &mut Item) -> StepResult<()> {
        self.set_step(item, "register", "running", None).await?;
        let uuid = item
            .row
            .vm_uuid
            .clone()
            .ok_or_else(|| StepFail::Failed("the VM's SMBIOS uuid is unknown".into()))?;
        let mut metadata = Map::new();
        metadata.insert("source".into(), json!("vm_generator"));
        metadata.insert("vmid".into(), json!(item.row.vmid));
        metadata.insert("node".into(), json!(self.req.node));
        metadata.insert("ip".into(), json!(item.row.ip));
        metadata.insert("agent_id".into(), json!(self.job.agent_id));
        metadata.insert("job_id".into(), json!(self.job.id));
        if let Some(pb) = &self.req.playbook_id {
            metadata.insert("playbook_id".into(), json!(pb));
        }
        let req = VmRegisterRequest {
            vm_uuid: uuid,
            user_id: None,
            vm_name: Some(item.row.name.clone()),
            project_id: self.req.project_id.clone(),
            status: Some("active".into()),
            metadata: Some(metadata),
        };
        self.svc
            .vms
            .register(&self.principal, &req)
            .await
            .map_err(|e| StepFail::Failed(api_message(&e)))?;
        self.set_step(item, "register", "succeeded", None).await?;
        Ok(())
    }

    /// Generates the provisioning payload (a fresh token) and has the agent write it as an
    /// ISO on the node. The files are never stored here: a resumed step that has no command
    /// yet generates them again (revoking the earlier token).
    async fn provision(&self, item: &mut Item) -> StepResult<()> {
        let recorded = item.step("provision").and_then(|s| s.command_id.clone());
        let vmid = item.vmid()?;
        if recorded.is_none() {
            let uuid = item
                .row
                .vm_uuid
                .clone()
                .ok_or_else(|| StepFail::Failed("the VM's SMBIOS uuid is unknown".into()))?;
            let ip = item
                .row
                .ip
                .clone()
                .ok_or_else(|| StepFail::Failed("the VM has no IP address".into()))?;
            let request = GenerateIsoRequest {
                vm_uuid: uuid,
                vm_name: Some(item.row.name.clone()),
                profile_id: Some(self.req.profile_id.clone()),
                profile_config: None,
                ip: Some(ProvisionIp {
                    address: ip,
                    netmask: self.req.network.prefix_length.to_string(),
                    gateway: self.req.network.gateway.clone(),
                    dns: self.req.network.dns.clone(),
                }),
                sequence: u32::try_from(item.row.idx + 1).ok(),
                playbook_id: self.req.playbook_id.clone(),
            };
            let (generated, files) = self
                .svc
                .provisioning
                .generate_with_files(&self.principal, request, self.job.request_url.clone())
                .await
                .map_err(|e| StepFail::Failed(api_message(&e)))?;
            if files.is_empty() {
                return Err(StepFail::Failed(
                    "the provisioning payload has no files".into(),
                ));
            }
            item.row.token_id = Some(generated.token_id.clone());
            let encoded: Map<String, Value> = files
                .iter()
                .map(|f| {
                    (
                        f.path.clone(),
                        json!(base64::engine::general_purpose::STANDARD.encode(&f.bytes)),
                    )
                })
                .collect();
            let mut p = self.base_payload(item)?;
            p.insert("files".into(), Value::Object(encoded));
            p.insert("isoName".into(), json!(format!("provision-{vmid}.iso")));
            // The same storage the attach step names.
            p.insert("isoStorage".into(), json!(self.req.iso_storage));
            // One key per token: a payload generated again must not replay the old command.
            let suffix = format!(":{}", generated.token_id);
            self.command(
                item,
                "provision",
                "proxmox.create-provision-iso",
                p,
                &suffix,
            )
            .await?;
        } else {
            self.command(
                item,
                "provision",
                "proxmox.create-provision-iso",
                Map::new(),
                "",
            )
            .await?;
        }
        self.set_step(item, "provision", "succeeded", None).await?;
        Ok(())
    }

    async fn attach_iso(&self, item: &mut Item) -> StepResult<()> {
        let vmid = item.vmid()?;
        let mut p = self.base_payload(item)?;
        p.insert(
            "isoPath".into(),
            json!(format!("{}:iso/provision-{vmid}.iso", self.req.iso_storage)),
        );
        self.command(item, "attach_iso", "proxmox.attach-cdrom", p, "")
            .await?;
        self.set_step(item, "attach_iso", "succeeded", None).await?;
        Ok(())
    }

    async fn start(&self, item: &mut Item) -> StepResult<()> {
        if !self.req.start_after {
            self.set_step(item, "start", "skipped", None).await?;
            return Ok(());
        }
        let mut p = self.base_payload(item)?;
        p.insert("timeoutMs".into(), json!(TASK_TIMEOUT_MS));
        self.command(item, "start", "proxmox.start", p, "").await?;
        self.set_step(item, "start", "succeeded", None).await?;
        Ok(())
    }
}

/// An error's message for an item's record (internal errors stay generic; they are logged).
fn api_message(err: &ApiError) -> String {
    match err {
        ApiError::Internal(e) => {
            tracing::warn!(error = %format!("{e:#}"), "VM generator step failed internally");
            "internal error".to_owned()
        }
        other => format!("{}: {}", other.code(), other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smbios_uuid_and_primary_disk_are_read_from_a_config() {
        let config = json!({
            "smbios1": "uuid=3F2B8C1E-1111-4222-8333-944455556666,manufacturer=QkVN",
            "scsi0": "local-lvm:vm-101-disk-0,size=32G",
            "ide2": "local:iso/win.iso,media=cdrom,size=5G",
            "sata1": "local-lvm:vm-101-disk-1,size=512M",
            "net0": "virtio=AA:BB:CC:DD:EE:FF,bridge=vmbr0",
        });
        assert_eq!(
            smbios_uuid(&config).as_deref(),
            Some("3f2b8c1e-1111-4222-8333-944455556666")
        );
        assert_eq!(primary_disk(&config), Some(("scsi0".to_owned(), 32)));
        assert_eq!(smbios_uuid(&json!({"smbios1": "manufacturer=x"})), None);
    }
}
