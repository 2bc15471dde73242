//! `/vms`: the VM generator. A form queues a job (a durable server-side queue: closing the tab
//! loses nothing), the jobs list and a job's per-VM step progress refresh live from the
//! `vmgen.*` and command events, the registered VMs can be started, stopped or shut down
//! (vm-ops commands), and each VM's provisioning progress has its own view.

use crate::auth::principal::Operator;
use crate::pagination::PageRequest;
use crate::vm_ops::service::Enqueue;
use crate::web::render::{self, FlashFragment, WebError};
use crate::web::{Crumb, PageCtx, Shell};
use askama::Template;
use axum::extract::{Form, Path};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use botmox_contract::provisioning_api::ProvisioningProgress;
use botmox_contract::vmgen::{
    VmGenItem, VmGenJob, VmGenJobCreateRequest, VmGenJobListQuery, VmGenNetwork, VmGenStep,
};
use botmox_contract::vms::{VmListQuery, VmRecord};
use serde::Deserialize;

const JOBS_SHOWN: u32 = 20;
const VMS_SHOWN: u32 = 200;
const POWER_ACTIONS: [&str; 3] = ["start", "stop", "shutdown"];

/// The page's live-update script: one event stream re-dispatched on `<body>` as `vmgen`.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("vms.js"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "vms.html")]
struct VmsPage {
    shell: Shell,
    events_url: String,
    can_create: bool,
    agents: Vec<(String, String)>,
    profiles: Vec<(String, String, bool)>,
    playbooks: Vec<(String, String)>,
    jobs: JobRows,
    vms: VmRows,
}

#[derive(Template)]
#[template(path = "vms_jobs.html")]
struct JobRows {
    jobs: Vec<VmGenJob>,
}

pub struct VmRow {
    pub vm: VmRecord,
    pub vmid: String,
    /// Power actions need the agent and vmid the generator recorded.
    pub controllable: bool,
}

#[derive(Template)]
#[template(path = "vms_list.html")]
struct VmRows {
    rows: Vec<VmRow>,
    can_control: bool,
}

/// The page's event stream, starting after the newest event it was rendered with (replay
/// needs a positive id; an empty log has nothing to miss).
fn events_url(ctx: &PageCtx, job: Option<&str>) -> String {
    let mut url = format!(
        "/ui/events?last_event_id={}",
        ctx.app.events.high_water().max(1)
    );
    if let Some(id) = job {
        url.push_str("&command_id=");
        url.push_str(id);
    }
    url
}

fn page_of(limit: u32) -> PageRequest {
    PageRequest { limit, after: None }
}

async fn jobs_of(ctx: &PageCtx) -> Result<JobRows, WebError> {
    let q = VmGenJobListQuery {
        limit: Some(JOBS_SHOWN),
        ..VmGenJobListQuery::default()
    };
    let (jobs, _) = ctx.app.vmgen.list(&ctx.principal, &q).await?;
    Ok(JobRows { jobs })
}

fn meta_str(vm: &VmRecord, key: &str) -> Option<String> {
    match &vm.metadata[key] {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn vms_of(ctx: &PageCtx) -> Result<VmRows, WebError> {
    let q = VmListQuery {
        limit: Some(VMS_SHOWN),
        ..VmListQuery::default()
    };
    let (vms, _) = crate::vms::VmService::new(ctx.app.db.clone())
        .list(&ctx.principal, &q)
        .await?;
    Ok(VmRows {
        rows: vms
            .into_iter()
            .map(|vm| {
                let vmid = meta_str(&vm, "vmid").unwrap_or_default();
                let controllable = !vmid.is_empty() && meta_str(&vm, "agent_id").is_some();
                VmRow {
                    vm,
                    vmid,
                    controllable,
                }
            })
            .collect(),
        can_control: ctx
            .principal
            .has_any_role(<Operator as crate::auth::principal::RoleSet>::ROLES),
    })
}

async fn full_page(ctx: &PageCtx) -> Result<Response, WebError> {
    let can_create = ctx
        .principal
        .has_any_role(<Operator as crate::auth::principal::RoleSet>::ROLES);
    let (agents, _) = ctx
        .app
        .agents
        .list(&ctx.principal, Some("active"), &page_of(500))
        .await?;
    let (profiles, _) = ctx
        .app
        .provisioning
        .list_profiles(&ctx.principal, &page_of(500))
        .await?;
    let (playbooks, _) = crate::playbooks::PlaybookService::new(ctx.app.db.clone())
        .list(&ctx.principal, &page_of(500))
        .await?;
    let shell = ctx
        .shell(
            "Virtual machines",
            vec![Crumb::link("Datacenter", "/"), Crumb::here("VMs")],
        )
        .await;
    render::page(&VmsPage {
        shell,
        events_url: events_url(ctx, None),
        can_create,
        agents: agents.into_iter().map(|a| (a.id, a.name)).collect(),
        profiles: profiles
            .into_iter()
            .map(|p| (p.id, p.name, p.is_default))
            .collect(),
        playbooks: playbooks.into_iter().map(|p| (p.id, p.name)).collect(),
        jobs: jobs_of(ctx).await?,
        vms: vms_of(ctx).await?,
    })
}

pub async fn page(ctx: PageCtx) -> Result<Response, WebError> {
    full_page(&ctx).await
}

/// The jobs table body, for live refreshes.
pub async fn jobs(ctx: PageCtx) -> Result<Response, WebError> {
    render::page(&jobs_of(&ctx).await?)
}

/// The registered VMs table, for live refreshes.
pub async fn vms(ctx: PageCtx) -> Result<Response, WebError> {
    render::page(&vms_of(&ctx).await?)
}

/// The job form as the browser posts it: every field a string, blank = not given.
#[derive(Deserialize, Default)]
pub struct JobForm {
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    node: String,
    #[serde(default)]
    template_vmid: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    name_prefix: String,
    #[serde(default)]
    name_start: String,
    #[serde(default)]
    start_vmid: String,
    #[serde(default)]
    storage: String,
    #[serde(default)]
    cores: String,
    #[serde(default)]
    memory_mb: String,
    #[serde(default)]
    disk_gib: String,
    #[serde(default)]
    ip_start: String,
    #[serde(default)]
    prefix_length: String,
    #[serde(default)]
    gateway: String,
    #[serde(default)]
    dns: String,
    #[serde(default)]
    bridge: String,
    #[serde(default)]
    profile_id: String,
    #[serde(default)]
    playbook_id: String,
    #[serde(default)]
    project_id: String,
    #[serde(default)]
    iso_storage: String,
    #[serde(default)]
    start_after: Option<String>,
}

fn blank(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn number<T: std::str::FromStr>(label: &str, raw: &str) -> Result<Option<T>, WebError> {
    match raw.trim() {
        "" => Ok(None),
        v => v.parse::<T>().map(Some).map_err(|_| {
            WebError::new(
                StatusCode::BAD_REQUEST,
                format!("{label} must be a whole number"),
            )
        }),
    }
}

fn required<T: std::str::FromStr>(label: &str, raw: &str) -> Result<T, WebError> {
    number(label, raw)?
        .ok_or_else(|| WebError::new(StatusCode::BAD_REQUEST, format!("{label} is required")))
}

impl JobForm {
    fn request(&self) -> Result<VmGenJobCreateRequest, WebError> {
        let dns: Vec<String> = self
            .dns
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let req = VmGenJobCreateRequest {
            agent_id: self.agent_id.trim().to_owned(),
            node: self.node.trim().to_owned(),
            template_vmid: required("Template VM id", &self.template_vmid)?,
            count: required("Count", &self.count)?,
            name_prefix: self.name_prefix.trim().to_owned(),
            name_start: number("Name start", &self.name_start)?,
            start_vmid: number("First VM id", &self.start_vmid)?,
            storage: blank(&self.storage),
            cores: number("Cores", &self.cores)?,
            memory_mb: number("Memory", &self.memory_mb)?,
            disk_gib: number("Disk", &self.disk_gib)?,
            network: VmGenNetwork {
                ip_start: self.ip_start.trim().to_owned(),
                prefix_length: required("Prefix length", &self.prefix_length)?,
                gateway: self.gateway.trim().to_owned(),
                dns: if dns.is_empty() {
                    vec!["8.8.8.8".to_owned()]
                } else {
                    dns
                },
                bridge: blank(&self.bridge),
            },
            profile_id: self.profile_id.trim().to_owned(),
            playbook_id: blank(&self.playbook_id),
            project_id: blank(&self.project_id),
            iso_storage: blank(&self.iso_storage).unwrap_or_else(|| "local".to_owned()),
            start_after: self.start_after.is_some(),
        };
        render::validated(req)
    }
}

fn request_url(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}"))
}

pub async fn create(
    ctx: PageCtx,
    headers: HeaderMap,
    Form(form): Form<JobForm>,
) -> Result<Response, WebError> {
    ctx.require::<Operator>()?;
    let req = form.request()?;
    let url = ctx
        .app
        .config
        .public_url
        .clone()
        .or_else(|| request_url(&headers));
    let job = ctx.app.vmgen.create(&ctx.principal, req, url).await?;
    let to = format!("/vms/jobs/{}", job.id);
    if ctx.htmx {
        // The job's own page follows its progress.
        let mut resp = StatusCode::OK.into_response();
        resp.headers_mut().insert(
            "hx-redirect",
            HeaderValue::from_str(&to).map_err(|e| {
                WebError::from(crate::error::ApiError::Internal(anyhow::anyhow!("{e}")))
            })?,
        );
        return Ok(resp);
    }
    Ok(Redirect::to(&to).into_response())
}

pub struct ItemView {
    pub item: VmGenItem,
    pub steps: Vec<VmGenStep>,
}

#[derive(Template)]
#[template(path = "vms_job_body.html")]
struct JobBody {
    job: VmGenJob,
    items: Vec<ItemView>,
    cancellable: bool,
}

#[derive(Template)]
#[template(path = "vms_job.html")]
struct JobPage {
    shell: Shell,
    events_url: String,
    body: JobBody,
}

async fn job_body(ctx: &PageCtx, id: &str) -> Result<JobBody, WebError> {
    let mut job = ctx.app.vmgen.get(&ctx.principal, id).await?;
    let items = job
        .items
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|item| ItemView {
            steps: item.steps.clone(),
            item,
        })
        .collect();
    Ok(JobBody {
        cancellable: matches!(job.status.as_str(), "queued" | "running")
            && job.cancel_requested_at.is_none(),
        job,
        items,
    })
}

pub async fn job(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    let body = job_body(&ctx, &id).await?;
    if ctx.htmx {
        return render::page(&body);
    }
    let shell = ctx
        .shell(
            &format!("VM job {}", body.job.name_prefix),
            vec![
                Crumb::link("Datacenter", "/"),
                Crumb::link("VMs", "/vms"),
                Crumb::here(body.job.id.clone()),
            ],
        )
        .await;
    render::page(&JobPage {
        events_url: events_url(&ctx, Some(&body.job.id)),
        shell,
        body,
    })
}

pub async fn cancel(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.require::<Operator>()?;
    let job = ctx.app.vmgen.cancel(&ctx.principal, &id).await?;
    if !ctx.htmx {
        return Ok(Redirect::to(&format!("/vms/jobs/{}", job.id)).into_response());
    }
    render::page(&job_body(&ctx, &job.id).await?)
}

/// Start, stop or shut down a registered VM through the agent that made it.
pub async fn power(
    ctx: PageCtx,
    Path((uuid, action)): Path<(String, String)>,
) -> Result<Response, WebError> {
    ctx.require::<Operator>()?;
    if !POWER_ACTIONS.contains(&action.as_str()) {
        return Err(WebError::new(
            StatusCode::BAD_REQUEST,
            "The action must be start, stop or shutdown",
        ));
    }
    let vm = crate::vms::VmService::new(ctx.app.db.clone())
        .resolve(&ctx.principal, &uuid)
        .await?;
    let (Some(agent_id), Some(vmid)) = (meta_str(&vm, "agent_id"), meta_str(&vm, "vmid")) else {
        return Err(WebError::new(
            StatusCode::CONFLICT,
            "This VM was not made by the VM generator: its agent and VM id are unknown",
        ));
    };
    let mut payload = serde_json::Map::new();
    payload.insert(
        "vmid".into(),
        vmid.parse::<u64>()
            .map(serde_json::Value::from)
            .unwrap_or(serde_json::Value::String(vmid)),
    );
    if let Some(node) = meta_str(&vm, "node") {
        payload.insert("node".into(), node.into());
    }
    let (command, _) = ctx
        .app
        .vm_ops
        .enqueue(
            &ctx.principal,
            Enqueue {
                agent_id,
                command_type: format!("proxmox.{action}"),
                payload,
                expires_in_seconds: 300,
                idempotency_key: None,
                queue_if_offline: false,
            },
        )
        .await?;
    let message = format!(
        "{} queued for {} ({})",
        command.command_type, vm.vm_name, command.status
    );
    if !ctx.htmx {
        return Ok(Redirect::to(&format!("/commands/{}", command.id)).into_response());
    }
    let mut resp = render::page(&FlashFragment {
        kind: "ok",
        message: &message,
    })?;
    resp.headers_mut()
        .insert("hx-trigger", HeaderValue::from_static("vmgen"));
    Ok(resp)
}

#[derive(Template)]
#[template(path = "vms_provisioning.html")]
struct ProvisioningPage {
    shell: Shell,
    vm: VmRecord,
    progress: Option<ProvisioningProgress>,
}

/// A VM's provisioning: the token and the steps the VM reported.
pub async fn provisioning(ctx: PageCtx, Path(uuid): Path<String>) -> Result<Response, WebError> {
    let vm = crate::vms::VmService::new(ctx.app.db.clone())
        .resolve(&ctx.principal, &uuid)
        .await?;
    let progress = match ctx
        .app
        .provisioning
        .progress(&ctx.principal, &vm.vm_uuid)
        .await
    {
        Ok(p) => Some(p),
        Err(e) if e.status() == StatusCode::NOT_FOUND => None,
        Err(e) => return Err(e.into()),
    };
    let shell = ctx
        .shell(
            &format!("Provisioning of {}", vm.vm_name),
            vec![
                Crumb::link("Datacenter", "/"),
                Crumb::link("VMs", "/vms"),
                Crumb::here(vm.vm_name.clone()),
            ],
        )
        .await;
    render::page(&ProvisioningPage {
        shell,
        vm,
        progress,
    })
}
