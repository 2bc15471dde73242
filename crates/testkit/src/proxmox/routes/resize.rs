//! `PUT /nodes/{node}/qemu/{vmid}/resize`: grows a disk in a `resize` task.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};

use crate::proxmox::auth::AuthUser;
use crate::proxmox::error::{ApiError, ApiResult, data};
use crate::proxmox::params::{Params, parse_vmid};
use crate::proxmox::state::{Shared, World};
use crate::proxmox::tasks::NewTask;
use crate::proxmox::vmconfig::{self, Drive};

use super::config::check_digest;
use super::{check_lock, path_param};

/// `PUT …/resize`: grows a disk in a `resize` task; shrinking fails the task.
pub(crate) async fn resize(
    State(shared): State<Arc<Shared>>,
    Extension(user): Extension<AuthUser>,
    Path((node, vmid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&["disk", "size"], |k| {
        path_param(k) || matches!(k, "skiplock" | "digest")
    })?;
    let vmid = parse_vmid("vmid", &vmid)?;
    let disk = params.get("disk").unwrap_or_default().to_owned();
    let size_text = params.get("size").unwrap_or_default();
    let mut errors = BTreeMap::new();
    if !vmconfig::is_drive_key(&disk) {
        errors.insert(
            "disk".to_owned(),
            format!("value '{disk}' does not have a value in the enumeration"),
        );
    }
    let parsed = vmconfig::parse_resize(size_text);
    if parsed.is_none() {
        errors.insert(
            "size".to_owned(),
            "value does not match the regex pattern".to_owned(),
        );
    }
    let (Some((relative, amount)), true) = (parsed, errors.is_empty()) else {
        return Err(ApiError::Param(errors));
    };
    let mut world = shared.lock();
    let vm = world.vm(&node, vmid)?;
    check_lock(vm, &params)?;
    check_digest(vm, &params)?;
    let task_node = node.clone();
    let effect = Box::new(move |world: &mut World, log: &mut Vec<String>| {
        let vm = world.vm_mut(&task_node, vmid).map_err(|e| e.message())?;
        let value = vm
            .config
            .get(&disk)
            .ok_or_else(|| format!("disk '{disk}' does not exist"))?;
        let mut drive = Drive::parse(value);
        if drive.is_cdrom() {
            return Err("you can't resize a cdrom".to_owned());
        }
        let volid = drive.volid().map(|(s, n)| format!("{s}:{n}"));
        let volid = volid.ok_or_else(|| format!("disk '{disk}' has no associated volume"))?;
        let current = drive.size().unwrap_or(0);
        let target = if relative { current + amount } else { amount };
        if target < current {
            return Err("shrinking disks is not supported".to_owned());
        }
        if target > current {
            drive.set_option("size", vmconfig::format_size(target));
            vm.config.insert(disk.clone(), drive.render());
            log.push(format!(
                "  Size of logical volume {volid} changed to {}.",
                vmconfig::format_size(target)
            ));
        }
        Ok(())
    });
    let upid = shared.start_task(
        &mut world,
        NewTask::new(&node, "resize", vmid, &user.userid, effect),
    );
    Ok(data(upid))
}
