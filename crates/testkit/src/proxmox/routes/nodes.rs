//! `GET /nodes` and `GET /nodes/{node}/status`.

use std::sync::Arc;

use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::proxmox::error::{ApiResult, data};
use crate::proxmox::params::Params;
use crate::proxmox::state::{Shared, World};
use crate::proxmox::vmconfig::{self, GIB, MIB};

use super::cluster::{PVE_REPOID, PVE_VERSION};

const NODE_CPUS: u64 = 8;
const NODE_MEMORY: u64 = 64 * GIB;
const NODE_ROOTFS: u64 = 100 * GIB;
/// What the host itself uses before any guest runs.
const HOST_BASE_MEMORY: u64 = 2 * GIB;

fn memory_used(world: &World, node: &str) -> u64 {
    let guests: u64 = world
        .nodes
        .get(node)
        .into_iter()
        .flat_map(|n| n.vms.values())
        .filter(|vm| vm.is_running())
        .map(|vm| vmconfig::memory_mib(&vm.config) * MIB / 2)
        .sum();
    (HOST_BASE_MEMORY + guests).min(NODE_MEMORY)
}

/// A node as `GET /nodes` and cluster resources list it.
pub(crate) fn node_summary(world: &World, node: &str) -> Value {
    json!({
        "id": format!("node/{node}"),
        "type": "node",
        "node": node,
        "status": "online",
        "cpu": 0.03,
        "maxcpu": NODE_CPUS,
        "mem": memory_used(world, node),
        "maxmem": NODE_MEMORY,
        "disk": 12 * GIB,
        "maxdisk": NODE_ROOTFS,
        "uptime": world.now() - world.boot_time,
        "level": "",
    })
}

pub(crate) async fn list(State(shared): State<Arc<Shared>>, params: Params) -> ApiResult {
    params.check(&[], |_| false)?;
    let world = shared.lock();
    let nodes: Vec<Value> = world
        .nodes
        .keys()
        .map(|name| {
            let mut entry = node_summary(&world, name);
            if let (Some(map), Some(fp)) = (entry.as_object_mut(), shared.fingerprint.as_deref()) {
                map.insert("ssl_fingerprint".into(), fp.into());
            }
            entry
        })
        .collect();
    Ok(data(nodes))
}

pub(crate) async fn status(
    State(shared): State<Arc<Shared>>,
    Path(node): Path<String>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| k == "node")?;
    let world = shared.lock();
    world.node(&node)?;
    let used = memory_used(&world, &node);
    let kernel = "6.8.12-9-pve";
    Ok(data(json!({
        "uptime": world.now() - world.boot_time,
        "cpu": 0.03,
        "wait": 0.0,
        "idle": 0,
        "loadavg": ["0.12", "0.10", "0.08"],
        "cpuinfo": {
            "cpus": NODE_CPUS, "sockets": 1, "cores": NODE_CPUS, "hvm": "1",
            "model": "Simulated CPU @ 3.00GHz", "mhz": "3000.000", "user_hz": 100,
        },
        "memory": {"total": NODE_MEMORY, "used": used, "free": NODE_MEMORY - used},
        "swap": {"total": 8 * GIB, "used": 0, "free": 8 * GIB},
        "rootfs": {"total": NODE_ROOTFS, "used": 12 * GIB, "free": NODE_ROOTFS - 12 * GIB, "avail": NODE_ROOTFS - 12 * GIB},
        "ksm": {"shared": 0},
        "kversion": format!("Linux {kernel} #1 SMP PREEMPT_DYNAMIC PMX {kernel} x86_64"),
        "pveversion": format!("pve-manager/{PVE_VERSION}/{PVE_REPOID}"),
        "boot-info": {"mode": "efi", "secureboot": 0},
        "current-kernel": {"sysname": "Linux", "release": kernel, "machine": "x86_64", "version": "#1 SMP PREEMPT_DYNAMIC"},
    })))
}
