//! VM configuration: `GET`, `POST` (async, returns a UPID) and `PUT` (sync, returns null) on
//! `/nodes/{node}/qemu/{vmid}/config`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, State};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::proxmox::auth::AuthUser;
use crate::proxmox::error::{ApiError, ApiResult, data};
use crate::proxmox::params::{Params, parse_vmid};
use crate::proxmox::state::{Shared, World};
use crate::proxmox::tasks::{NewTask, TaskState};
use crate::proxmox::vm::Vm;
use crate::proxmox::vmconfig::{self, Drive};
use crate::proxmox::volumes;

use super::{check_lock, path_param};

/// Parameters of the config endpoints that are not config keys.
const META: &[&str] = &[
    "node",
    "vmid",
    "delete",
    "revert",
    "digest",
    "skiplock",
    "force",
    "background_delay",
];

/// SHA-1 sized hex digest of the config text (only equality matters to clients).
pub(crate) fn digest(config: &BTreeMap<String, String>) -> String {
    let hash = Sha256::digest(vmconfig::render_conf(config).as_bytes());
    hex::encode(hash)[..40].to_owned()
}

pub(crate) async fn read(
    State(shared): State<Arc<Shared>>,
    Path((node, vmid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| {
        path_param(k) || matches!(k, "current" | "snapshot")
    })?;
    params.flag("current")?;
    let vmid = parse_vmid("vmid", &vmid)?;
    let world = shared.lock();
    let vm = world.vm(&node, vmid)?;
    let mut out: Map<String, Value> = vm
        .config
        .iter()
        .map(|(k, v)| (k.clone(), vmconfig::wire_value(k, v)))
        .collect();
    out.insert("digest".into(), digest(&vm.config).into());
    Ok(data(Value::Object(out)))
}

/// `digest` guards against concurrent edits: it must match the config as it is now.
pub(super) fn check_digest(vm: &Vm, params: &Params) -> Result<(), ApiError> {
    match params.text("digest") {
        Some(expected) if expected != digest(&vm.config) => Err(ApiError::fail(
            "checksum mismatch (file change by other user?)",
        )),
        _ => Ok(()),
    }
}

/// A validated set of changes: keys to set (cdrom alias resolved) and keys to delete.
struct ConfigChange {
    set: BTreeMap<String, String>,
    delete: Vec<String>,
}

fn parse_change(params: &Params) -> Result<ConfigChange, ApiError> {
    // Unknown keys and bad values are reported together, as one schema check would.
    let known = |k: &str| vmconfig::is_config_key(k) || k == "cdrom" || META.contains(&k);
    let mut errors = params.schema_errors(&[], known);
    params.flag("skiplock")?;
    params.flag("force")?;
    let mut set = BTreeMap::new();
    let values = params
        .0
        .iter()
        .filter(|(k, _)| known(k) && !META.contains(&k.as_str()));
    for (key, value) in values {
        let key = if key == "cdrom" { "ide2" } else { key.as_str() };
        match vmconfig::validate_value(key, value) {
            Ok(()) => {
                set.insert(key.to_owned(), value.clone());
            }
            Err(message) => {
                errors.insert(key.to_owned(), message);
            }
        }
    }
    let mut delete = Vec::new();
    let listed = params.get("delete").unwrap_or_default();
    for opt in listed
        .split([',', ';', ' ', '\0'])
        .filter(|o| !o.is_empty())
    {
        let opt = if opt == "cdrom" { "ide2" } else { opt };
        if set.contains_key(opt) {
            errors.insert(
                "delete".into(),
                format!("you can't use '-{opt}' and -delete {opt}' at the same time"),
            );
        } else if !vmconfig::is_config_key(opt) {
            errors.insert("delete".into(), format!("unknown option '{opt}'"));
        } else {
            delete.push(opt.to_owned());
        }
    }
    if errors.is_empty() {
        Ok(ConfigChange { set, delete })
    } else {
        Err(ApiError::Param(errors))
    }
}

/// The checks Proxmox makes before it locks the config or forks the worker.
fn precheck(
    world: &World,
    node: &str,
    vmid: u32,
    change: &ConfigChange,
    params: &Params,
) -> Result<(), ApiError> {
    let vm = world.vm(node, vmid)?;
    if change.set.is_empty() && change.delete.is_empty() && params.get("revert").is_none() {
        return Err(ApiError::fail("no options specified"));
    }
    check_digest(vm, params)?;
    check_lock(vm, params)?;
    let mut errors = BTreeMap::new();
    for (key, value) in change.set.iter().filter(|(k, _)| vmconfig::is_drive_key(k)) {
        if let Err(message) = volumes::check_drive(world, node, value) {
            errors.insert(key.clone(), message);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Param(errors))
    }
}

/// Applies deletes (disks become `unusedN`), then sets (new disks are allocated).
fn apply(
    world: &mut World,
    node: &str,
    vmid: u32,
    change: ConfigChange,
    log: &mut Vec<String>,
) -> Result<(), String> {
    let mut config = world
        .vm(node, vmid)
        .map_err(|e| e.message())?
        .config
        .clone();
    for key in &change.delete {
        let Some(old) = config.remove(key) else {
            continue;
        };
        let drive = Drive::parse(&old);
        if vmconfig::is_drive_key(key)
            && !drive.is_cdrom()
            && let Some((storage, name)) = drive.volid()
        {
            volumes::park_unused(&mut config, format!("{storage}:{name}"));
        }
    }
    let mut requested = change.set;
    log.extend(volumes::allocate(world, node, vmid, &mut requested));
    for (key, value) in requested {
        let replaced = config
            .insert(key.clone(), value.clone())
            .map(|old| Drive::parse(&old));
        let new_volume = Drive::parse(&value).volume;
        if let Some(old) = replaced.filter(|d| vmconfig::is_drive_key(&key) && !d.is_cdrom())
            && let Some((storage, name)) = old.volid().filter(|_| old.volume != new_volume)
        {
            volumes::park_unused(&mut config, format!("{storage}:{name}"));
        }
        log.push(format!("update VM {vmid}: -{key} {value}"));
    }
    world.vm_mut(node, vmid).map_err(|e| e.message())?.config = config;
    Ok(())
}

/// `POST …/config`: validated now, applied by a `qmconfig` task.
pub(crate) async fn update_async(
    State(shared): State<Arc<Shared>>,
    Extension(user): Extension<AuthUser>,
    Path((node, vmid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    let vmid = parse_vmid("vmid", &vmid)?;
    let change = parse_change(&params)?;
    let background_delay = params.int("background_delay")?;
    let upid = {
        let mut world = shared.lock();
        precheck(&world, &node, vmid, &change, &params)?;
        let task_node = node.clone();
        let effect = Box::new(move |world: &mut World, log: &mut Vec<String>| {
            apply(world, &task_node, vmid, change, log)
        });
        shared.start_task(
            &mut world,
            NewTask::new(&node, "qmconfig", vmid, &user.userid, effect),
        )
    };
    // With background_delay Proxmox waits for the worker and returns null if it finished.
    if let Some(secs) = background_delay.filter(|s| *s > 0) {
        let waited = shared
            .wait_task(&upid, Duration::from_secs(secs.unsigned_abs()))
            .await;
        if let Some(TaskState::Stopped { exitstatus }) = waited.map(|t| t.state) {
            return if exitstatus == "OK" {
                Ok(data(Value::Null))
            } else {
                Err(ApiError::fail(format!(
                    "failed to update VM {vmid}: {exitstatus}"
                )))
            };
        }
    }
    Ok(data(upid))
}

/// `PUT …/config`: applied before the response, which carries `null`.
pub(crate) async fn update_sync(
    State(shared): State<Arc<Shared>>,
    Path((node, vmid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    let vmid = parse_vmid("vmid", &vmid)?;
    let change = parse_change(&params)?;
    let mut world = shared.lock();
    precheck(&world, &node, vmid, &change, &params)?;
    let mut log = Vec::new();
    apply(&mut world, &node, vmid, change, &mut log).map_err(ApiError::fail)?;
    Ok(data(Value::Null))
}
