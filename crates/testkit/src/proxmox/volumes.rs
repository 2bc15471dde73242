//! Drive values that point at storage: checking that CD-ROM images and target storages exist,
//! and turning the allocation syntax (`local-lvm:32`) into named volumes.

use std::collections::{BTreeMap, BTreeSet};

use super::state::World;
use super::vmconfig::{self, Drive};

/// Checks a drive value a client wants to set. Errors are the per-parameter messages.
pub(crate) fn check_drive(world: &World, node: &str, value: &str) -> Result<(), String> {
    let drive = Drive::parse(value);
    if drive.is_cdrom() {
        let Some((storage, volname)) = drive.volid() else {
            return Ok(());
        };
        let store = world.storage(node, storage).map_err(|e| e.message())?;
        if !store.files.contains_key(volname) {
            return Err(format!("volume '{storage}:{volname}' does not exist"));
        }
        return Ok(());
    }
    if let Some((storage, _)) = vmconfig::allocation_request(&drive) {
        let store = world.storage(node, &storage).map_err(|e| e.message())?;
        if !store.spec.supports("images") {
            return Err(format!(
                "storage '{storage}' does not support content-type 'images'"
            ));
        }
        return Ok(());
    }
    if let Some((storage, _)) = drive.volid() {
        world.storage(node, storage).map_err(|e| e.message())?;
    }
    Ok(())
}

/// Replaces every allocation request in `config` with a fresh volume on its storage and
/// returns the task log lines. Templates get `base-` volumes, like `qm template` leaves them.
pub(crate) fn allocate(
    world: &World,
    node: &str,
    vmid: u32,
    config: &mut BTreeMap<String, String>,
) -> Vec<String> {
    let prefix = if config.get("template").is_some_and(|t| t == "1") {
        "base"
    } else {
        "vm"
    };
    let mut fresh = BTreeSet::new();
    let mut log = Vec::new();
    let keys: Vec<String> = config
        .keys()
        .filter(|k| vmconfig::is_drive_key(k))
        .cloned()
        .collect();
    for key in keys {
        let Some(value) = config.get(&key) else {
            continue;
        };
        let mut drive = Drive::parse(value);
        if drive.is_cdrom() {
            continue;
        }
        let Some((storage, bytes)) = vmconfig::allocation_request(&drive) else {
            continue;
        };
        let name = world.free_disk_name(node, &storage, vmid, prefix, &fresh);
        fresh.insert(name.clone());
        log.push(format!("  Logical volume \"{name}\" created."));
        drive.volume = format!("{storage}:{name}");
        drive.set_option("size", vmconfig::format_size(bytes));
        config.insert(key, drive.render());
    }
    log
}

/// Moves a detached disk to the first free `unusedN` slot, as Proxmox does on `delete=`.
pub(crate) fn park_unused(config: &mut BTreeMap<String, String>, volid: String) {
    let slot = (0u32..)
        .map(|n| format!("unused{n}"))
        .find(|k| !config.contains_key(k));
    if let Some(slot) = slot {
        config.insert(slot, volid);
    }
}
