//! `/version`, `/cluster/resources`, `/cluster/nextid`.

use std::sync::Arc;

use axum::extract::State;
use serde_json::{Value, json};

use crate::proxmox::error::{ApiError, ApiResult, data};
use crate::proxmox::params::{Params, parse_vmid};
use crate::proxmox::state::{Shared, World};

use super::nodes::node_summary;

pub(crate) const PVE_VERSION: &str = "8.4.1";
pub(crate) const PVE_RELEASE: &str = "8.4";
pub(crate) const PVE_REPOID: &str = "2a5fa54a8503f96d";

pub(crate) async fn version(params: Params) -> ApiResult {
    params.check(&[], |_| false)?;
    Ok(data(
        json!({"version": PVE_VERSION, "release": PVE_RELEASE, "repoid": PVE_REPOID}),
    ))
}

pub(crate) async fn resources(State(shared): State<Arc<Shared>>, params: Params) -> ApiResult {
    params.check(&[], |k| k == "type")?;
    let kind = params.enumerated("type", &["vm", "storage", "node", "sdn"])?;
    let world = shared.lock();
    let wants = |k: &str| kind.is_none_or(|wanted| wanted == k);
    let mut out = Vec::new();
    if wants("vm") {
        out.extend(vm_resources(&world));
    }
    if wants("node") {
        for name in world.nodes.keys() {
            let mut entry = node_summary(&world, name);
            if let Some(map) = entry.as_object_mut() {
                map.insert("cgroup-mode".into(), 2.into());
            }
            out.push(entry);
        }
    }
    if wants("storage") {
        out.extend(storage_resources(&world));
    }
    Ok(data(out))
}

fn vm_resources(world: &World) -> Vec<Value> {
    let now = world.now();
    let mut out = Vec::new();
    for (node, n) in &world.nodes {
        for (vmid, vm) in &n.vms {
            let mut fields = vm.status_fields(*vmid, now);
            let cpus = fields.remove("cpus").unwrap_or(Value::from(1));
            fields.remove("pid");
            fields.insert("id".into(), format!("qemu/{vmid}").into());
            fields.insert("type".into(), "qemu".into());
            fields.insert("node".into(), node.as_str().into());
            fields.insert("maxcpu".into(), cpus);
            fields.insert("template".into(), u8::from(vm.is_template()).into());
            fields.insert("hastate".into(), Value::Null);
            fields.retain(|_, v| !v.is_null());
            out.push(Value::Object(fields));
        }
    }
    out
}

fn storage_resources(world: &World) -> Vec<Value> {
    let mut out = Vec::new();
    for (node, n) in &world.nodes {
        for (name, storage) in &n.storages {
            out.push(json!({
                "id": format!("storage/{node}/{name}"),
                "type": "storage",
                "node": node,
                "storage": name,
                "status": "available",
                "plugintype": storage.spec.kind,
                "content": storage.spec.content.join(","),
                "shared": u8::from(storage.spec.shared),
                "disk": world.storage_used(node, name),
                "maxdisk": storage.spec.total_bytes,
            }));
        }
    }
    out
}

/// The lowest free id from 100, or a check that the given one is free. Returned as a string,
/// as the real endpoint does.
pub(crate) async fn nextid(State(shared): State<Arc<Shared>>, params: Params) -> ApiResult {
    params.check(&[], |k| k == "vmid")?;
    let world = shared.lock();
    if let Some(raw) = params.get("vmid") {
        let vmid = parse_vmid("vmid", raw)?;
        if world.vmid_taken(vmid) {
            return Err(ApiError::param("vmid", format!("VM {vmid} already exists")));
        }
        return Ok(data(vmid.to_string()));
    }
    (100u32..1_000_000)
        .find(|id| !world.vmid_taken(*id))
        .map(|id| data(id.to_string()))
        .ok_or_else(|| ApiError::fail("unable to get any free VMID in range [100, 999999]"))
}
