//! `/nodes/{node}/qemu`: list and create VMs; `/nodes/{node}/qemu/{vmid}`: index and destroy.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::proxmox::auth::AuthUser;
use crate::proxmox::error::{ApiError, ApiResult, data};
use crate::proxmox::params::{Params, parse_vmid};
use crate::proxmox::state::{Shared, World};
use crate::proxmox::tasks::NewTask;
use crate::proxmox::vm::{RunState, Vm};
use crate::proxmox::vmconfig::{self, Drive};
use crate::proxmox::volumes;

use super::{check_lock, path_param};

pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(node): Path<String>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| k == "node" || k == "full")?;
    params.flag("full")?;
    let world = shared.lock();
    let now = world.now();
    let vms: Vec<Value> = world
        .node(&node)?
        .vms
        .iter()
        .map(|(vmid, vm)| Value::Object(vm.status_fields(*vmid, now)))
        .collect();
    Ok(data(vms))
}

pub(crate) async fn index(
    State(shared): State<Arc<Shared>>,
    Path((node, vmid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], path_param)?;
    let vmid = parse_vmid("vmid", &vmid)?;
    shared.lock().vm(&node, vmid)?;
    let subdirs = [
        "config",
        "pending",
        "status",
        "unlink",
        "vncproxy",
        "termproxy",
        "migrate",
        "resize",
        "move",
        "rrd",
        "rrddata",
        "monitor",
        "agent",
        "snapshot",
        "spiceproxy",
        "sendkey",
        "firewall",
        "mtunnel",
        "remote_migrate",
    ];
    Ok(data(
        subdirs
            .iter()
            .map(|s| json!({"subdir": s}))
            .collect::<Vec<_>>(),
    ))
}

/// `POST /nodes/{node}/qemu`: a new VM from the given config; disks may use `storage:SIZE`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(user): Extension<AuthUser>,
    Path(node): Path<String>,
    params: Params,
) -> ApiResult {
    const META: &[&str] = &[
        "node",
        "vmid",
        "start",
        "storage",
        "pool",
        "unique",
        "force",
        "live-restore",
        "archive",
        "bwlimit",
        "import-working-storage",
    ];
    let known = |k: &str| vmconfig::is_config_key(k) || k == "cdrom" || META.contains(&k);
    params.check(&["vmid"], known)?;
    let vmid = parse_vmid("vmid", params.get("vmid").unwrap_or_default())?;
    let start = params.flag("start")?.unwrap_or(false);
    if params.get("archive").is_some() {
        return Err(ApiError::fail(
            "restoring from an archive is not supported by the simulator",
        ));
    }
    let mut errors = BTreeMap::new();
    let mut config = BTreeMap::new();
    for (key, value) in params.0.iter().filter(|(k, _)| !META.contains(&k.as_str())) {
        let key = if key == "cdrom" { "ide2" } else { key.as_str() };
        match vmconfig::validate_value(key, value) {
            Ok(()) => {
                config.insert(key.to_owned(), value.clone());
            }
            Err(message) => {
                errors.insert(key.to_owned(), message);
            }
        }
    }
    let mut world = shared.lock();
    world.node(&node)?;
    for (key, value) in config.iter().filter(|(k, _)| vmconfig::is_drive_key(k)) {
        if let Err(message) = volumes::check_drive(&world, &node, value) {
            errors.insert(key.clone(), message);
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Param(errors));
    }
    if world.vmid_taken(vmid) {
        let owner = world.vm_location(vmid).unwrap_or(&node).to_owned();
        return Err(ApiError::fail(format!(
            "unable to create VM {vmid} - VM {vmid} already exists on node '{owner}'"
        )));
    }
    let task_node = node.clone();
    let effect = Box::new(move |world: &mut World, log: &mut Vec<String>| {
        if world.vmid_taken(vmid) {
            return Err(format!(
                "unable to create VM {vmid} - VM {vmid} already exists"
            ));
        }
        config
            .entry("smbios1".to_owned())
            .or_insert_with(|| vmconfig::with_new_smbios_uuid(None));
        config
            .entry("vmgenid".to_owned())
            .or_insert_with(|| uuid::Uuid::new_v4().to_string());
        let ctime = world.now();
        config
            .entry("meta".to_owned())
            .or_insert_with(|| format!("creation-qemu=9.0.2,ctime={ctime}"));
        log.extend(volumes::allocate(world, &task_node, vmid, &mut config));
        let mut vm = Vm::new(config);
        if start {
            vm.run = RunState::Running { since: world.now() };
            vm.pid = rand::random_range(10_000..4_000_000);
        }
        world
            .node_mut(&task_node)
            .map_err(|e| e.message())?
            .vms
            .insert(vmid, vm);
        Ok(())
    });
    world.reserved_vmids.insert(vmid);
    let upid = shared.start_task(
        &mut world,
        NewTask::new(&node, "qmcreate", vmid, &user.userid, effect).reserving(vmid),
    );
    Ok(data(upid))
}

/// `DELETE /nodes/{node}/qemu/{vmid}`: refused while running or protected; removes the VM and
/// its volumes when the task finishes.
pub(crate) async fn destroy(
    State(shared): State<Arc<Shared>>,
    Extension(user): Extension<AuthUser>,
    Path((node, vmid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| {
        path_param(k) || matches!(k, "purge" | "destroy-unreferenced-disks" | "skiplock")
    })?;
    let vmid = parse_vmid("vmid", &vmid)?;
    params.flag("purge")?;
    params.flag("destroy-unreferenced-disks")?;
    let mut world = shared.lock();
    let vm = world.vm(&node, vmid)?;
    if vm.config.get("protection").is_some_and(|p| p == "1") {
        return Err(ApiError::fail(format!(
            "can't remove VM {vmid} - protection mode enabled"
        )));
    }
    check_lock(vm, &params)?;
    if vm.is_running() {
        return Err(ApiError::fail(format!(
            "VM {vmid} is running - destroy failed"
        )));
    }
    let task_node = node.clone();
    let effect = Box::new(move |world: &mut World, log: &mut Vec<String>| {
        let vm = world.vm(&task_node, vmid).map_err(|e| e.message())?;
        if vm.is_running() {
            return Err(format!("VM {vmid} is running - destroy failed"));
        }
        for (_, volid, _) in vmconfig::volumes(&vm.config) {
            let name = Drive::parse(&volid)
                .volid()
                .map(|(_, n)| n.to_owned())
                .unwrap_or_default();
            log.push(format!("  Logical volume \"{name}\" successfully removed."));
        }
        world
            .node_mut(&task_node)
            .map_err(|e| e.message())?
            .vms
            .remove(&vmid);
        Ok(())
    });
    let upid = shared.start_task(
        &mut world,
        NewTask::new(&node, "qmdestroy", vmid, &user.userid, effect),
    );
    Ok(data(upid))
}
