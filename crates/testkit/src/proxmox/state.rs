//! The simulated cluster: nodes, VMs, storages, users and tasks behind one lock, plus the
//! shared pieces (signing secret, clock, task notifications) handlers and the test API use.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::error::ApiError;
use super::faults::{Faults, RequestRecord};
use super::storage::Storage;
use super::tasks::{self, NewTask, Task, TaskSnapshot, TaskTiming, Tasks};
use super::vm::Vm;

/// Wall-clock time plus an offset tests can move forward (to expire tickets without waiting).
#[derive(Debug, Clone, Default)]
pub(crate) struct Clock(Arc<AtomicI64>);

impl Clock {
    pub(crate) fn now(&self) -> i64 {
        unix_now() + self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::Relaxed);
    }
}

pub(crate) struct Shared {
    world: Mutex<World>,
    pub clock: Clock,
    /// Signs tickets and CSRF tokens.
    pub secret: [u8; 32],
    pub ticket_lifetime_secs: i64,
    pub auth_failure_delay: Duration,
    pub max_upload_bytes: usize,
    /// The node certificate's fingerprint, reported by `GET /nodes`.
    pub fingerprint: Option<String>,
    /// Bumped whenever a task finishes; waiters watch it instead of sleeping.
    pub task_events: watch::Sender<u64>,
    pub shutdown: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(world: World, settings: SharedSettings) -> Self {
        Self {
            clock: world.clock.clone(),
            world: Mutex::new(world),
            secret: rand::random(),
            ticket_lifetime_secs: i64::try_from(settings.ticket_lifetime.as_secs())
                .unwrap_or(i64::MAX),
            auth_failure_delay: settings.auth_failure_delay,
            max_upload_bytes: settings.max_upload_bytes,
            fingerprint: settings.fingerprint,
            task_events: watch::channel(0).0,
            shutdown: watch::channel(false).0,
        }
    }

    /// A panic in one handler must not wedge every later request, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Unix time as the simulator sees it (tests may move it forward).
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Registers a task and arranges for it to finish according to its type's timing.
    pub(crate) fn start_task(self: &Arc<Self>, world: &mut World, new: NewTask) -> String {
        let now = world.now();
        let timing = world.tasks.timing_for(new.kind);
        let upid = world.tasks.register(new, now, world.boot_time);
        if let TaskTiming::After(delay) = timing {
            let shared = Arc::clone(self);
            let task_upid = upid.clone();
            let mut shutdown = self.shutdown.subscribe();
            tokio::spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep(delay) => { shared.finish_task(&task_upid, None); }
                    _ = shutdown.wait_for(|stopped| *stopped) => {}
                }
            });
        }
        upid
    }

    /// Waits (without polling) until the task stops or `timeout` passes; returns its latest state,
    /// or `None` if no such task exists.
    pub(crate) async fn wait_task(&self, upid: &str, timeout: Duration) -> Option<TaskSnapshot> {
        let mut events = self.task_events.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let snapshot = self.lock().tasks.get(upid).map(Task::snapshot)?;
            if !snapshot.is_running() {
                return Some(snapshot);
            }
            match tokio::time::timeout_at(deadline, events.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Some(snapshot),
            }
        }
    }

    /// Finishes a running task now; `interrupt` makes it fail with that text instead.
    pub(crate) fn finish_task(&self, upid: &str, interrupt: Option<String>) -> bool {
        let finished = {
            let mut world = self.lock();
            let now = world.now();
            tasks::finish(&mut world, upid, now, interrupt)
        };
        if finished {
            self.task_events.send_modify(|n| *n += 1);
        }
        finished
    }
}

pub(crate) struct SharedSettings {
    pub ticket_lifetime: Duration,
    pub auth_failure_delay: Duration,
    pub max_upload_bytes: usize,
    pub fingerprint: Option<String>,
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[derive(Default)]
pub(crate) struct Node {
    pub vms: BTreeMap<u32, Vm>,
    pub storages: BTreeMap<String, Storage>,
}

pub(crate) struct World {
    pub nodes: BTreeMap<String, Node>,
    /// user → password
    pub users: BTreeMap<String, String>,
    /// `user!tokenid` → secret
    pub tokens: BTreeMap<String, String>,
    pub tasks: Tasks,
    pub faults: Faults,
    /// The most recent requests (bounded, so a long manual run does not grow without end).
    pub requests: VecDeque<RequestRecord>,
    pub request_total: usize,
    pub clock: Clock,
    pub boot_time: i64,
    /// Ids claimed by clone/create tasks still running: taken, but not yet listed.
    pub reserved_vmids: BTreeSet<u32>,
}

impl World {
    pub(crate) fn new(task_timing: TaskTiming) -> Self {
        Self {
            nodes: BTreeMap::new(),
            users: BTreeMap::new(),
            tokens: BTreeMap::new(),
            tasks: Tasks::new(task_timing),
            faults: Faults::default(),
            requests: VecDeque::new(),
            request_total: 0,
            clock: Clock::default(),
            boot_time: unix_now() - 86_400,
            reserved_vmids: BTreeSet::new(),
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Unknown nodes fail the way a cluster fails to proxy to them.
    pub(crate) fn node(&self, name: &str) -> Result<&Node, ApiError> {
        self.nodes.get(name).ok_or_else(|| no_such_node(name))
    }

    pub(crate) fn node_mut(&mut self, name: &str) -> Result<&mut Node, ApiError> {
        self.nodes.get_mut(name).ok_or_else(|| no_such_node(name))
    }

    pub(crate) fn vm(&self, node: &str, vmid: u32) -> Result<&Vm, ApiError> {
        self.node(node)?
            .vms
            .get(&vmid)
            .ok_or_else(|| no_such_vm(node, vmid))
    }

    pub(crate) fn vm_mut(&mut self, node: &str, vmid: u32) -> Result<&mut Vm, ApiError> {
        self.node_mut(node)?
            .vms
            .get_mut(&vmid)
            .ok_or_else(|| no_such_vm(node, vmid))
    }

    /// The node a VM id lives on, cluster-wide.
    pub(crate) fn vm_location(&self, vmid: u32) -> Option<&str> {
        self.nodes
            .iter()
            .find(|(_, n)| n.vms.contains_key(&vmid))
            .map(|(name, _)| name.as_str())
    }

    pub(crate) fn vmid_taken(&self, vmid: u32) -> bool {
        self.vm_location(vmid).is_some() || self.reserved_vmids.contains(&vmid)
    }

    pub(crate) fn storage(&self, node: &str, storage: &str) -> Result<&Storage, ApiError> {
        self.node(node)?
            .storages
            .get(storage)
            .ok_or_else(|| no_such_storage(storage))
    }

    pub(crate) fn storage_mut(
        &mut self,
        node: &str,
        storage: &str,
    ) -> Result<&mut Storage, ApiError> {
        self.node_mut(node)?
            .storages
            .get_mut(storage)
            .ok_or_else(|| no_such_storage(storage))
    }

    /// Every volume name VMs on `node` reference on `storage`, for picking free disk names.
    pub(crate) fn volume_names(&self, node: &str, storage: &str) -> BTreeSet<String> {
        self.nodes
            .get(node)
            .into_iter()
            .flat_map(|n| n.vms.values())
            .flat_map(|vm| super::vmconfig::volumes(&vm.config))
            .filter_map(|(_, volid, _)| {
                volid
                    .strip_prefix(storage)
                    .and_then(|r| r.strip_prefix(':'))
                    .map(str::to_owned)
            })
            .collect()
    }

    /// The next free `vm-<vmid>-disk-<n>` (or `base-…` for templates) on a storage.
    pub(crate) fn free_disk_name(
        &self,
        node: &str,
        storage: &str,
        vmid: u32,
        prefix: &str,
        extra: &BTreeSet<String>,
    ) -> String {
        let taken = self.volume_names(node, storage);
        let used = |name: &str| {
            taken
                .iter()
                .chain(extra.iter())
                .any(|t| t == name || t.ends_with(&format!("/{name}")))
        };
        (0u32..)
            .map(|n| format!("{prefix}-{vmid}-disk-{n}"))
            .find(|name| !used(name))
            .unwrap_or_else(|| format!("{prefix}-{vmid}-disk-x"))
    }
}

impl World {
    /// Bytes used on a storage: stored files plus the disks VMs on that node keep there.
    pub(crate) fn storage_used(&self, node: &str, storage: &str) -> u64 {
        let files = self
            .storage(node, storage)
            .map_or(0, super::storage::Storage::file_bytes_used);
        let disks: u64 = self
            .nodes
            .get(node)
            .into_iter()
            .flat_map(|n| n.vms.values())
            .flat_map(|vm| super::vmconfig::volumes(&vm.config))
            .filter(|(_, volid, _)| volid.split_once(':').is_some_and(|(s, _)| s == storage))
            .filter_map(|(_, _, size)| size)
            .sum();
        files + disks
    }
}

pub(crate) fn no_such_node(node: &str) -> ApiError {
    ApiError::fail(format!(
        "hostname lookup '{node}' failed - failed to get address info for: {node}: Name or service not known"
    ))
}

pub(crate) fn no_such_vm(node: &str, vmid: u32) -> ApiError {
    ApiError::fail(format!(
        "Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist"
    ))
}

pub(crate) fn no_such_storage(storage: &str) -> ApiError {
    ApiError::fail(format!("storage '{storage}' does not exist"))
}
