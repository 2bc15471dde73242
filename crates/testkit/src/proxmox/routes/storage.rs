//! Storages: listing, content and volume deletion.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::proxmox::auth::AuthUser;
use crate::proxmox::error::{ApiError, ApiResult, data};
use crate::proxmox::params::Params;
use crate::proxmox::state::{Shared, World};
use crate::proxmox::storage::{content_of, format_of, split_volid};
use crate::proxmox::tasks::NewTask;
use crate::proxmox::vmconfig;

pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(node): Path<String>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| {
        matches!(
            k,
            "node" | "content" | "enabled" | "format" | "storage" | "target"
        )
    })?;
    let wanted: Vec<&str> = params
        .get("content")
        .map(|c| c.split(',').collect())
        .unwrap_or_default();
    let world = shared.lock();
    let entries: Vec<Value> = world
        .node(&node)?
        .storages
        .iter()
        .filter(|(name, _)| params.get("storage").is_none_or(|s| s == *name))
        .filter(|(_, s)| wanted.iter().all(|c| s.spec.supports(c)))
        .map(|(name, s)| {
            let total = s.spec.total_bytes;
            let used = world.storage_used(&node, name).min(total);
            let fraction = if total == 0 {
                0.0
            } else {
                used as f64 / total as f64
            };
            json!({
                "storage": name,
                "type": s.spec.kind,
                "content": s.spec.content.join(","),
                "active": 1,
                "enabled": 1,
                "shared": u8::from(s.spec.shared),
                "total": total,
                "used": used,
                "avail": total - used,
                "used_fraction": fraction,
            })
        })
        .collect();
    Ok(data(entries))
}

/// Files on the storage plus the VM disk volumes that live there.
pub(crate) async fn content(
    State(shared): State<Arc<Shared>>,
    Path((node, storage)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| {
        matches!(k, "node" | "storage" | "content" | "vmid")
    })?;
    let content_filter = params.get("content");
    let vmid_filter = params.int("vmid")?;
    let world = shared.lock();
    let store = world.storage(&node, &storage)?;
    let mut entries: Vec<Value> = store
        .listing()
        .into_iter()
        .filter(|_| vmid_filter.is_none())
        .map(|f| {
            let volname = f.volid.split_once(':').map_or("", |(_, v)| v);
            json!({"volid": f.volid, "content": f.content, "format": format_of(volname), "size": f.size, "ctime": f.ctime})
        })
        .collect();
    for (vmid, vm) in &world.node(&node)?.vms {
        for (_, volid, size) in vmconfig::volumes(&vm.config) {
            if volid.split_once(':').is_some_and(|(s, _)| s == storage)
                && vmid_filter.is_none_or(|v| v == i64::from(*vmid))
            {
                entries.push(json!({"volid": volid, "content": "images", "format": "raw", "size": size.unwrap_or(0), "vmid": vmid}));
            }
        }
    }
    entries.retain(|e| content_filter.is_none_or(|c| e["content"] == c));
    Ok(data(entries))
}

/// `DELETE …/content/{volume}`: `volume` is a full volid (`local:iso/x.iso`) or a name on the
/// storage in the path. Removal happens in an `imgdel` task.
pub(crate) async fn delete_volume(
    State(shared): State<Arc<Shared>>,
    Extension(user): Extension<AuthUser>,
    Path((node, storage, volume)): Path<(String, String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| {
        matches!(k, "node" | "storage" | "volume" | "delay")
    })?;
    let delay = params.int("delay")?;
    let (store_id, volname) = match split_volid(&volume) {
        Some((sid, _)) if sid != storage => {
            return Err(ApiError::fail(format!(
                "storage ID mismatch ({sid} != {storage})"
            )));
        }
        Some((sid, name)) => (sid.to_owned(), name.to_owned()),
        None => (storage.clone(), volume.clone()),
    };
    let upid = {
        let mut world = shared.lock();
        world.storage(&node, &store_id)?;
        let owner = volname
            .rsplit('/')
            .next()
            .and_then(|n| n.strip_prefix("vm-").or_else(|| n.strip_prefix("base-")))
            .and_then(|rest| rest.split('-').next())
            .filter(|_| content_of(&volname) == "images");
        let id = owner.map_or_else(|| store_id.clone(), |vmid| format!("{vmid}@{store_id}"));
        let task_node = node.clone();
        let effect = Box::new(move |world: &mut World, log: &mut Vec<String>| {
            remove_volume(world, &task_node, &store_id, &volname)?;
            log.push(format!("Removed volume '{store_id}:{volname}'"));
            Ok(())
        });
        shared.start_task(
            &mut world,
            NewTask::new(&node, "imgdel", id, &user.userid, effect),
        )
    };
    if let Some(secs) = delay.filter(|s| *s > 0) {
        let waited = shared
            .wait_task(&upid, std::time::Duration::from_secs(secs.unsigned_abs()))
            .await;
        if let Some(exit) = waited.as_ref().and_then(|t| t.exitstatus()) {
            return if exit == "OK" {
                Ok(data(Value::Null))
            } else {
                Err(ApiError::fail(exit.to_owned()))
            };
        }
    }
    Ok(data(upid))
}

/// Files are removed; a VM disk can only go once it is detached (`unusedN`).
fn remove_volume(
    world: &mut World,
    node: &str,
    storage: &str,
    volname: &str,
) -> Result<(), String> {
    let volid = format!("{storage}:{volname}");
    let store = world.storage_mut(node, storage).map_err(|e| e.message())?;
    if store.files.remove(volname).is_some() {
        return Ok(());
    }
    let vms = &mut world.node_mut(node).map_err(|e| e.message())?.vms;
    for (vmid, vm) in vms.iter_mut() {
        let holder = vm.config.iter().find(|(_, v)| {
            vmconfig::Drive::parse(v)
                .volid()
                .is_some_and(|(s, n)| s == storage && n == volname)
        });
        if let Some((key, _)) = holder {
            if !key.starts_with("unused") {
                return Err(format!("volume '{volid}' is in use by VM {vmid} ({key})"));
            }
            let key = key.clone();
            vm.config.remove(&key);
            return Ok(());
        }
    }
    Err(format!("volume '{volid}' does not exist"))
}
