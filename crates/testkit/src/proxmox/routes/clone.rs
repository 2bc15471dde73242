//! `POST /nodes/{node}/qemu/{vmid}/clone`: full or linked clones, optionally to another node.
//!
//! The new VM appears only when the `qmclone` task finishes; until then its id is reserved, so a
//! second clone to the same id is refused at once, as the real temporary config file causes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};

use crate::proxmox::auth::AuthUser;
use crate::proxmox::error::{ApiError, ApiResult, data};
use crate::proxmox::params::{Params, parse_vmid};
use crate::proxmox::state::{Shared, World};
use crate::proxmox::tasks::NewTask;
use crate::proxmox::vm::Vm;
use crate::proxmox::vmconfig::{self, Drive};

use super::path_param;

/// Keys a clone never inherits.
const NOT_COPIED: &[&str] = &[
    "template",
    "lock",
    "parent",
    "snaptime",
    "vmstate",
    "snapstate",
    "runningcpu",
    "runningmachine",
];

#[derive(Clone)]
struct CloneRequest {
    source_node: String,
    source: u32,
    target_node: String,
    newid: u32,
    name: Option<String>,
    description: Option<String>,
    storage: Option<String>,
    full: bool,
}

pub(crate) async fn clone(
    State(shared): State<Arc<Shared>>,
    Extension(user): Extension<AuthUser>,
    Path((node, vmid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&["newid"], |k| {
        path_param(k)
            || matches!(
                k,
                "name"
                    | "description"
                    | "pool"
                    | "snapname"
                    | "storage"
                    | "format"
                    | "full"
                    | "target"
                    | "bwlimit"
            )
    })?;
    let source = parse_vmid("vmid", &vmid)?;
    let newid = parse_vmid("newid", params.get("newid").unwrap_or_default())?;
    let full_param = params.flag("full")?;
    let format = params.enumerated("format", &["raw", "qcow2", "vmdk"])?;
    if params
        .get("name")
        .is_some_and(|n| !vmconfig::is_dns_name(n))
    {
        return Err(ApiError::param(
            "name",
            "invalid format - value does not look like a valid DNS name",
        ));
    }
    // The simulator keeps no snapshots.
    if let Some(snapshot) = params.text("snapname") {
        return Err(ApiError::fail(format!(
            "snapshot '{snapshot}' does not exist"
        )));
    }

    let mut world = shared.lock();
    let vm = world.vm(&node, source)?;
    let target_node = match params
        .text("target")
        .filter(|t| *t != node && *t != "localhost")
    {
        Some(target) if !world.nodes.contains_key(target) => {
            return Err(ApiError::fail(format!("no such cluster node '{target}'")));
        }
        Some(target) => target.to_owned(),
        None => node.clone(),
    };
    let moving = target_node != node;
    let storage = params.text("storage").map(str::to_owned);
    if let Some(storage) = &storage {
        let spec = &world.storage(&node, storage)?.spec;
        if !spec.supports("images") {
            return Err(ApiError::param(
                "storage",
                format!("storage '{storage}' does not support vm images"),
            ));
        }
        if moving && !spec.shared {
            return Err(ApiError::fail(format!(
                "can't clone to non-shared storage '{storage}'"
            )));
        }
    }
    let full = full_param.unwrap_or(!vm.is_template());
    if !full && storage.is_some() {
        return Err(ApiError::fail(
            "parameter 'storage' not allowed for linked clones",
        ));
    }
    if !full && format.is_some() {
        return Err(ApiError::fail(
            "parameter 'format' not allowed for linked clones",
        ));
    }
    for (key, volid, _) in vmconfig::volumes(&vm.config)
        .into_iter()
        .filter(|(k, _, _)| !k.starts_with("unused"))
    {
        if !full && !vm.is_template() {
            return Err(ApiError::fail(format!(
                "Linked clone feature is not supported for '{volid}' ({key})"
            )));
        }
        let on_shared = volid
            .split_once(':')
            .and_then(|(s, _)| world.storage(&node, s).ok())
            .is_some_and(|s| s.spec.shared);
        if moving && !on_shared && storage.is_none() {
            return Err(ApiError::fail(format!(
                "can't clone VM to node '{target_node}' (VM uses local storage)"
            )));
        }
    }
    if world.vmid_taken(newid) {
        return Err(ApiError::fail(format!(
            "unable to create VM {newid}: config file already exists"
        )));
    }

    let request = CloneRequest {
        source_node: node.clone(),
        source,
        target_node,
        newid,
        name: params.text("name").map(str::to_owned),
        description: params.text("description").map(str::to_owned),
        storage,
        full,
    };
    world.reserved_vmids.insert(newid);
    let effect = Box::new(move |world: &mut World, log: &mut Vec<String>| {
        finish_clone(world, &request, log)
    });
    let task = NewTask::new(&node, "qmclone", source, &user.userid, effect).reserving(newid);
    let upid = shared.start_task(&mut world, task);
    Ok(data(upid))
}

fn finish_clone(
    world: &mut World,
    req: &CloneRequest,
    log: &mut Vec<String>,
) -> Result<(), String> {
    let source = world
        .vm(&req.source_node, req.source)
        .map_err(|e| e.message())?
        .clone();
    if world.vmid_taken(req.newid) {
        return Err(format!(
            "unable to create VM {}: config file already exists",
            req.newid
        ));
    }
    log.push(format!(
        "create {} clone of VM {} with ID {}",
        if req.full { "full" } else { "linked" },
        req.source,
        req.newid
    ));
    let config = cloned_config(world, &source, req, log);
    world
        .node_mut(&req.target_node)
        .map_err(|e| e.message())?
        .vms
        .insert(req.newid, Vm::new(config));
    Ok(())
}

fn cloned_config(
    world: &World,
    source: &Vm,
    req: &CloneRequest,
    log: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut allocated = BTreeSet::new();
    let mut config = BTreeMap::new();
    for (key, value) in &source.config {
        if NOT_COPIED.contains(&key.as_str()) || key.starts_with("unused") {
            continue;
        }
        let value = if key.starts_with("net") {
            vmconfig::with_new_mac(value)
        } else if vmconfig::is_drive_key(key) {
            clone_drive(world, req, key, value, &mut allocated, log)
        } else {
            value.clone()
        };
        config.insert(key.clone(), value);
    }
    config.insert(
        "smbios1".into(),
        vmconfig::with_new_smbios_uuid(source.config.get("smbios1").map(String::as_str)),
    );
    if config.contains_key("vmgenid") {
        config.insert("vmgenid".into(), uuid::Uuid::new_v4().to_string());
    }
    let name = req.name.clone().unwrap_or_else(|| {
        format!(
            "Copy-of-VM-{}",
            source
                .name()
                .map_or_else(|| req.source.to_string(), str::to_owned)
        )
    });
    config.insert("name".into(), name);
    if let Some(description) = &req.description {
        config.insert("description".into(), description.clone());
    }
    config
}

/// CD-ROMs are copied as they are; disks get a new volume (full) or a child of the base (linked).
fn clone_drive(
    world: &World,
    req: &CloneRequest,
    key: &str,
    value: &str,
    allocated: &mut BTreeSet<String>,
    log: &mut Vec<String>,
) -> String {
    let mut drive = Drive::parse(value);
    let Some((storage, volname)) = drive.volid().map(|(s, v)| (s.to_owned(), v.to_owned())) else {
        return value.to_owned();
    };
    if drive.is_cdrom() {
        return value.to_owned();
    }
    let target_storage = req.storage.clone().unwrap_or_else(|| storage.clone());
    let fresh = world.free_disk_name(
        &req.target_node,
        &target_storage,
        req.newid,
        "vm",
        allocated,
    );
    allocated.insert(fresh.clone());
    if req.full {
        log.push(format!(
            "create full clone of drive {key} ({storage}:{volname})"
        ));
        log.push(format!("  Logical volume \"{fresh}\" created."));
        log.push("transferred 100.0% (100%)".to_owned());
        drive.volume = format!("{target_storage}:{fresh}");
    } else {
        log.push(format!(
            "create linked clone of drive {key} ({storage}:{volname})"
        ));
        drive.volume = format!("{storage}:{volname}/{fresh}");
    }
    drive.render()
}
