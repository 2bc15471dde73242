//! `/nodes/{node}/qemu/{vmid}/status/…`: current state and the power actions.
//!
//! Like Proxmox, some refusals are immediate (reset of a stopped VM) and some only show in the
//! task (starting a VM that is already running fails the `qmstart` task, not the request).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

use crate::proxmox::auth::AuthUser;
use crate::proxmox::error::{ApiError, ApiResult, data};
use crate::proxmox::params::{Params, parse_vmid};
use crate::proxmox::state::{Shared, World};
use crate::proxmox::tasks::NewTask;
use crate::proxmox::vm::RunState;

use super::{check_lock, path_param};

pub(crate) async fn index(
    State(shared): State<Arc<Shared>>,
    Path((node, vmid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], path_param)?;
    let vmid = parse_vmid("vmid", &vmid)?;
    shared.lock().vm(&node, vmid)?;
    let actions = [
        "current", "start", "stop", "reset", "shutdown", "suspend", "reboot", "resume",
    ];
    Ok(data(
        actions
            .iter()
            .map(|a| json!({"subdir": a}))
            .collect::<Vec<_>>(),
    ))
}

pub(crate) async fn current(
    State(shared): State<Arc<Shared>>,
    Path((node, vmid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], path_param)?;
    let vmid = parse_vmid("vmid", &vmid)?;
    let world = shared.lock();
    Ok(data(
        world.vm(&node, vmid)?.current_status(vmid, world.now()),
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Start,
    Stop,
    Shutdown,
    Reset,
    Reboot,
    Suspend { to_disk: bool },
    Resume,
}

impl Action {
    fn parse(
        name: &str,
        params: &Params,
    ) -> Result<Option<(Self, &'static [&'static str])>, ApiError> {
        Ok(Some(match name {
            "start" => (
                Self::Start,
                &[
                    "skiplock",
                    "stateuri",
                    "migratedfrom",
                    "migration_type",
                    "migration_network",
                    "machine",
                    "timeout",
                    "force-cpu",
                    "targetstorage",
                    "with-conntrack-state",
                    "nets-host-mtu",
                ],
            ),
            "stop" => (
                Self::Stop,
                &[
                    "skiplock",
                    "keepActive",
                    "migratedfrom",
                    "timeout",
                    "overrule-shutdown",
                ],
            ),
            "shutdown" => (
                Self::Shutdown,
                &["skiplock", "keepActive", "timeout", "forceStop"],
            ),
            "reset" => (Self::Reset, &["skiplock"]),
            "reboot" => (Self::Reboot, &["timeout"]),
            "suspend" => (
                Self::Suspend {
                    to_disk: params.flag("todisk")?.unwrap_or(false),
                },
                &["skiplock", "todisk", "statestorage"],
            ),
            "resume" => (Self::Resume, &["skiplock", "nocheck"]),
            _ => return Ok(None),
        }))
    }

    fn task_kind(self) -> &'static str {
        match self {
            Self::Start => "qmstart",
            Self::Stop => "qmstop",
            Self::Shutdown => "qmshutdown",
            Self::Reset => "qmreset",
            Self::Reboot => "qmreboot",
            Self::Suspend { to_disk: true } => "qmsuspend",
            Self::Suspend { to_disk: false } => "qmpause",
            Self::Resume => "qmresume",
        }
    }
}

pub(crate) async fn action(
    State(shared): State<Arc<Shared>>,
    Extension(user): Extension<AuthUser>,
    Path((node, vmid, name)): Path<(String, String, String)>,
    params: Params,
) -> ApiResult {
    let Some((action, allowed)) = Action::parse(&name, &params)? else {
        return Err(ApiError::status(
            StatusCode::NOT_IMPLEMENTED,
            format!("Method 'POST /nodes/{node}/qemu/{vmid}/status/{name}' not implemented"),
        ));
    };
    params.check(&[], |k| path_param(k) || allowed.contains(&k))?;
    let vmid = parse_vmid("vmid", &vmid)?;
    let force_stop = params.flag("forceStop")?.unwrap_or(false);
    let mut world = shared.lock();
    let vm = world.vm(&node, vmid)?;
    if matches!(
        action,
        Action::Start | Action::Stop | Action::Reset | Action::Suspend { .. } | Action::Resume
    ) {
        check_lock(vm, &params)?;
    }
    let paused = matches!(vm.run, RunState::Paused { .. });
    match action {
        Action::Reset | Action::Reboot | Action::Suspend { .. } | Action::Resume
            if !vm.is_running() =>
        {
            return Err(ApiError::fail(format!("VM {vmid} not running")));
        }
        Action::Reboot if paused => return Err(ApiError::fail("VM is paused - cannot shutdown")),
        Action::Shutdown if paused && !force_stop => {
            return Err(ApiError::fail("VM is paused - cannot shutdown"));
        }
        _ => {}
    }
    let task_node = node.clone();
    let effect = Box::new(move |world: &mut World, log: &mut Vec<String>| {
        apply(world, &task_node, vmid, action, log)
    });
    let upid = shared.start_task(
        &mut world,
        NewTask::new(&node, action.task_kind(), vmid, &user.userid, effect),
    );
    Ok(data(upid))
}

/// The state change, checked again at the end of the task like the worker re-checks.
fn apply(
    world: &mut World,
    node: &str,
    vmid: u32,
    action: Action,
    log: &mut Vec<String>,
) -> Result<(), String> {
    let now = world.now();
    let vm = world.vm_mut(node, vmid).map_err(|e| e.message())?;
    let not_running = || format!("VM {vmid} not running");
    match action {
        Action::Start => {
            if vm.is_template() {
                return Err("you can't start a vm if it's a template".to_owned());
            }
            if vm.is_running() {
                return Err(format!("VM {vmid} already running"));
            }
            vm.run = RunState::Running { since: now };
            vm.pid = rand::random_range(10_000..4_000_000);
            log.push(format!("start VM {vmid}"));
        }
        Action::Stop | Action::Shutdown | Action::Suspend { to_disk: true } => {
            if !vm.is_running() && matches!(action, Action::Suspend { .. }) {
                return Err(not_running());
            }
            vm.run = RunState::Stopped;
        }
        Action::Reset => {
            if !vm.is_running() {
                return Err(not_running());
            }
        }
        Action::Reboot => {
            if !vm.is_running() {
                return Err(not_running());
            }
            vm.run = RunState::Running { since: now };
        }
        Action::Suspend { to_disk: false } => match vm.run {
            RunState::Running { since } | RunState::Paused { since } => {
                vm.run = RunState::Paused { since }
            }
            RunState::Stopped => return Err(not_running()),
        },
        Action::Resume => match vm.run {
            RunState::Running { since } | RunState::Paused { since } => {
                vm.run = RunState::Running { since }
            }
            RunState::Stopped => return Err(not_running()),
        },
    }
    Ok(())
}
