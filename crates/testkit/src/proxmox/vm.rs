//! A simulated QEMU guest: its config, its power state, and how it is shown in lists.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::vmconfig::{self, Drive, MIB};

/// Power state as `status/current` reports it (`paused` shows as status `running`,
/// `qmpstatus` `paused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmStatus {
    Stopped,
    Running,
    Paused,
}

impl VmStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Running => "running",
            Self::Paused => "paused",
        }
    }
}

/// What a test seeds with [`super::ProxmoxSim::add_vm`]. Disks may use the allocation syntax
/// `storage:SIZE_GIB` (`local-lvm:32`); the simulator turns it into a named volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSpec {
    pub config: BTreeMap<String, String>,
    pub status: VmStatus,
}

impl VmSpec {
    /// A small Linux guest: 2 cores, 2 GiB, one 32 GiB disk on `local-lvm`, one NIC on `vmbr0`.
    pub fn new(name: &str) -> Self {
        Self::bare()
            .set("name", name)
            .set("cores", "2")
            .set("sockets", "1")
            .set("memory", "2048")
            .set("ostype", "l26")
            .set("scsihw", "virtio-scsi-single")
            .set("scsi0", "local-lvm:32,iothread=1")
            .set(
                "net0",
                &format!("virtio={},bridge=vmbr0", vmconfig::random_mac()),
            )
            .set("boot", "order=scsi0;net0")
            .set("smbios1", &vmconfig::with_new_smbios_uuid(None))
    }

    /// No keys at all.
    pub fn bare() -> Self {
        Self {
            config: BTreeMap::new(),
            status: VmStatus::Stopped,
        }
    }

    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.config.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn without(mut self, key: &str) -> Self {
        self.config.remove(key);
        self
    }

    pub fn running(mut self) -> Self {
        self.status = VmStatus::Running;
        self
    }

    pub fn paused(mut self) -> Self {
        self.status = VmStatus::Paused;
        self
    }

    pub fn template(self) -> Self {
        self.set("template", "1")
    }
}

/// A copy of one VM's state for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSnapshot {
    pub vmid: u32,
    pub node: String,
    pub name: Option<String>,
    pub status: VmStatus,
    pub template: bool,
    /// Raw config values, as `qm config` would print them.
    pub config: BTreeMap<String, String>,
    /// Keys accepted by `sendkey`, in order.
    pub keys_sent: Vec<String>,
    /// Disk key (`scsi0`, `sata0`, …) → size in bytes.
    pub disk_sizes: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunState {
    Stopped,
    Running { since: i64 },
    Paused { since: i64 },
}

#[derive(Debug, Clone)]
pub(crate) struct Vm {
    pub config: BTreeMap<String, String>,
    pub run: RunState,
    pub keys_sent: Vec<String>,
    pub pid: u32,
}

impl Vm {
    pub(crate) fn new(config: BTreeMap<String, String>) -> Self {
        Self {
            config,
            run: RunState::Stopped,
            keys_sent: Vec::new(),
            pid: 0,
        }
    }

    pub(crate) fn status(&self) -> VmStatus {
        match self.run {
            RunState::Stopped => VmStatus::Stopped,
            RunState::Running { .. } => VmStatus::Running,
            RunState::Paused { .. } => VmStatus::Paused,
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        !matches!(self.run, RunState::Stopped)
    }

    pub(crate) fn is_template(&self) -> bool {
        self.config.get("template").is_some_and(|t| t == "1")
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.config.get("name").map(String::as_str)
    }

    pub(crate) fn disk_sizes(&self) -> BTreeMap<String, u64> {
        self.config
            .iter()
            .filter(|(k, _)| vmconfig::is_drive_key(k))
            .filter_map(|(k, v)| {
                let drive = Drive::parse(v);
                (!drive.is_cdrom())
                    .then(|| drive.size().map(|s| (k.clone(), s)))
                    .flatten()
            })
            .collect()
    }

    pub(crate) fn snapshot(&self, node: &str, vmid: u32) -> VmSnapshot {
        VmSnapshot {
            vmid,
            node: node.to_owned(),
            name: self.name().map(str::to_owned),
            status: self.status(),
            template: self.is_template(),
            config: self.config.clone(),
            keys_sent: self.keys_sent.clone(),
            disk_sizes: self.disk_sizes(),
        }
    }

    /// The fields shared by `GET /nodes/{node}/qemu`, `status/current` and cluster resources.
    pub(crate) fn status_fields(&self, vmid: u32, now: i64) -> Map<String, Value> {
        let maxmem = vmconfig::memory_mib(&self.config) * MIB;
        let running = self.is_running();
        let uptime = match self.run {
            RunState::Running { since } | RunState::Paused { since } => (now - since).max(0),
            RunState::Stopped => 0,
        };
        let mut fields = json!({
            "vmid": vmid,
            "status": if running { "running" } else { "stopped" },
            "cpus": vmconfig::cpu_count(&self.config),
            "maxmem": maxmem,
            "maxdisk": vmconfig::boot_disk_size(&self.config),
            "mem": if running { maxmem / 2 } else { 0 },
            "disk": 0,
            "cpu": if running { 0.02 } else { 0.0 },
            "uptime": uptime,
            "netin": 0,
            "netout": 0,
            "diskread": 0,
            "diskwrite": 0,
        });
        let Some(map) = fields.as_object_mut() else {
            return Map::new();
        };
        if let Some(name) = self.name() {
            map.insert("name".into(), name.into());
        }
        if running {
            map.insert("pid".into(), self.pid.into());
        }
        if self.is_template() {
            map.insert("template".into(), 1.into());
        }
        for key in ["lock", "tags"] {
            if let Some(v) = self.config.get(key) {
                map.insert(key.into(), v.as_str().into());
            }
        }
        std::mem::take(map)
    }

    /// `status/current`: the list fields plus QMP state and HA info.
    pub(crate) fn current_status(&self, vmid: u32, now: i64) -> Value {
        let mut fields = self.status_fields(vmid, now);
        let qmp = match self.run {
            RunState::Stopped => "stopped",
            RunState::Running { .. } => "running",
            RunState::Paused { .. } => "paused",
        };
        fields.insert("qmpstatus".into(), qmp.into());
        fields.insert("ha".into(), json!({"managed": 0}));
        if self
            .config
            .get("agent")
            .is_some_and(|a| a.starts_with('1') || a.contains("enabled=1"))
        {
            fields.insert("agent".into(), 1.into());
        }
        if self.is_running() {
            fields.insert("running-machine".into(), "pc-i440fx-9.0+pve0".into());
            fields.insert("running-qemu".into(), "9.0.2".into());
        }
        Value::Object(fields)
    }
}
