//! `ProxmoxSim`: starts the server and gives tests a handle to seed, inspect and perturb it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::config::{DEFAULT_NODE, SimConfig};
use super::faults::{FaultId, HttpFault, RequestRecord};
use super::routes;
use super::seed;
use super::server;
use super::state::{Shared, SharedSettings, World};
use super::storage::{FileEntry, Storage, StorageSpec, StoredFile, split_volid};
use super::tasks::{Task, TaskSnapshot, TaskTiming};
use super::tls;
use super::vm::{VmSnapshot, VmSpec};
use super::volumes;

/// A running Proxmox VE API simulator. Dropping it stops the server.
pub struct ProxmoxSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    cert_pem: Option<String>,
    fingerprint: Option<String>,
    default_node: String,
    server: Option<JoinHandle<()>>,
}

impl ProxmoxSim {
    /// Binds `config.bind` (127.0.0.1:0 by default), seeds the world and starts serving.
    pub async fn start(config: SimConfig) -> anyhow::Result<Self> {
        if config.nodes.is_empty() {
            bail!("the simulator needs at least one node");
        }
        let default_node = config
            .nodes
            .first()
            .cloned()
            .unwrap_or_else(|| DEFAULT_NODE.to_owned());
        let tls = if config.tls {
            Some(tls::generate(&default_node)?)
        } else {
            None
        };
        let mut world = World::new(TaskTiming::After(config.task_duration));
        seed::populate(&mut world, &config);
        let shared = Arc::new(Shared::new(
            world,
            SharedSettings {
                ticket_lifetime: config.ticket_lifetime,
                auth_failure_delay: config.auth_failure_delay,
                max_upload_bytes: config.max_upload_bytes,
                fingerprint: tls.as_ref().map(|t| t.fingerprint.clone()),
            },
        ));
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let app = routes::router(Arc::clone(&shared));
        let server = tokio::spawn(server::serve(
            listener,
            app,
            tls.as_ref().map(|t| Arc::clone(&t.server_config)),
            shared.shutdown.subscribe(),
        ));
        Ok(Self {
            shared,
            addr,
            cert_pem: tls.as_ref().map(|t| t.cert_pem.clone()),
            fingerprint: tls.map(|t| t.fingerprint),
            default_node,
            server: Some(server),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn is_tls(&self) -> bool {
        self.cert_pem.is_some()
    }

    /// `https://127.0.0.1:PORT` (or `http://…`).
    pub fn url(&self) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// `…/api2/json`.
    pub fn base_api_url(&self) -> String {
        format!("{}/api2/json", self.url())
    }

    /// PEM of the self-signed server certificate (HTTPS mode only).
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// SHA-256 fingerprint of the certificate as `AB:CD:…` (HTTPS mode only).
    pub fn fingerprint_sha256(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// A reqwest client builder that trusts this simulator's certificate.
    pub fn client_builder(&self) -> anyhow::Result<reqwest::ClientBuilder> {
        let builder = reqwest::Client::builder();
        match &self.cert_pem {
            Some(pem) => {
                Ok(builder.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes())?))
            }
            None => Ok(builder),
        }
    }

    /// The first node, which holds the seed data.
    pub fn default_node(&self) -> &str {
        &self.default_node
    }

    pub fn add_user(&self, user: &str, password: &str) {
        self.shared
            .lock()
            .users
            .insert(user.to_owned(), password.to_owned());
    }

    /// Registers `user!tokenid` with `secret` (the user is created if missing, without a password).
    pub fn add_api_token(&self, user: &str, tokenid: &str, secret: &str) {
        let mut world = self.shared.lock();
        world.users.entry(user.to_owned()).or_default();
        world
            .tokens
            .insert(format!("{user}!{tokenid}"), secret.to_owned());
    }

    /// Adds a cluster node with the default `local` and `local-lvm` storages.
    pub fn add_node(&self, node: &str) {
        let mut world = self.shared.lock();
        let entry = world.nodes.entry(node.to_owned()).or_default();
        for spec in [StorageSpec::local_dir(), StorageSpec::local_lvm()] {
            entry
                .storages
                .entry(spec.name.clone())
                .or_insert_with(|| Storage::new(spec));
        }
    }

    pub fn add_storage(&self, node: &str, spec: StorageSpec) -> anyhow::Result<()> {
        let mut world = self.shared.lock();
        let entry = world
            .nodes
            .get_mut(node)
            .ok_or_else(|| anyhow!("no node {node}"))?;
        entry.storages.insert(spec.name.clone(), Storage::new(spec));
        Ok(())
    }

    /// Adds a VM; disks in allocation syntax (`local-lvm:32`) become named volumes.
    pub fn add_vm(&self, node: &str, vmid: u32, spec: VmSpec) -> anyhow::Result<()> {
        let mut world = self.shared.lock();
        if !world.nodes.contains_key(node) {
            bail!("no node {node}");
        }
        if world.vmid_taken(vmid) {
            bail!("VM {vmid} already exists");
        }
        for (key, value) in spec
            .config
            .iter()
            .filter(|(k, _)| super::vmconfig::is_drive_key(k))
        {
            volumes::check_drive(&world, node, value).map_err(|e| anyhow!("{key}: {e}"))?;
        }
        seed::insert(&mut world, node, vmid, spec);
        Ok(())
    }

    /// Puts a file on a storage, e.g. `put_file("pve", "local:iso/x.iso", bytes)`.
    pub fn put_file(&self, node: &str, volid: &str, bytes: impl Into<Bytes>) -> anyhow::Result<()> {
        let (storage, volname) =
            split_volid(volid).ok_or_else(|| anyhow!("not a volume id: {volid}"))?;
        let mut world = self.shared.lock();
        let ctime = world.now();
        let store = world
            .storage_mut(node, storage)
            .map_err(|e| anyhow!(e.message()))?;
        store.files.insert(
            volname.to_owned(),
            FileEntry {
                bytes: bytes.into(),
                ctime,
            },
        );
        Ok(())
    }

    pub fn vm(&self, node: &str, vmid: u32) -> Option<VmSnapshot> {
        let world = self.shared.lock();
        world
            .nodes
            .get(node)?
            .vms
            .get(&vmid)
            .map(|vm| vm.snapshot(node, vmid))
    }

    pub fn vms(&self, node: &str) -> Vec<VmSnapshot> {
        let world = self.shared.lock();
        world
            .nodes
            .get(node)
            .map(|n| {
                n.vms
                    .iter()
                    .map(|(id, vm)| vm.snapshot(node, *id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Files stored on a storage (uploads, seeded ISOs); VM disks are not files.
    pub fn storage_files(&self, node: &str, storage: &str) -> Vec<StoredFile> {
        let world = self.shared.lock();
        world
            .storage(node, storage)
            .map(Storage::listing)
            .unwrap_or_default()
    }

    /// The bytes of `storage:volname`, looked up on the nodes in name order.
    pub fn file_bytes(&self, volid: &str) -> Option<Bytes> {
        let (storage, volname) = split_volid(volid)?;
        let world = self.shared.lock();
        world.nodes.values().find_map(|n| {
            n.storages
                .get(storage)?
                .files
                .get(volname)
                .map(|f| f.bytes.clone())
        })
    }

    pub fn tasks(&self) -> Vec<TaskSnapshot> {
        self.shared
            .lock()
            .tasks
            .list
            .iter()
            .map(Task::snapshot)
            .collect()
    }

    pub fn task(&self, upid: &str) -> Option<TaskSnapshot> {
        self.shared.lock().tasks.get(upid).map(Task::snapshot)
    }

    /// Waits for a task to stop, woken by task completion rather than polling.
    pub async fn wait_task(&self, upid: &str, timeout: Duration) -> anyhow::Result<TaskSnapshot> {
        let snapshot = self
            .shared
            .wait_task(upid, timeout)
            .await
            .ok_or_else(|| anyhow!("no task {upid}"))?;
        if snapshot.is_running() {
            bail!("task {upid} still running after {timeout:?}");
        }
        Ok(snapshot)
    }

    /// Duration of tasks started from now on, for types without their own timing.
    pub fn set_task_duration(&self, duration: Duration) {
        self.shared.lock().tasks.default_timing = TaskTiming::After(duration);
    }

    /// Duration of future tasks of one type (`qmclone`, `qmstart`, `imgcopy`, …).
    pub fn set_task_duration_for(&self, kind: &str, duration: Duration) {
        self.set_task_timing_for(kind, TaskTiming::After(duration));
    }

    pub fn set_task_timing_for(&self, kind: &str, timing: TaskTiming) {
        self.shared
            .lock()
            .tasks
            .timing_by_kind
            .insert(kind.to_owned(), timing);
    }

    /// Future tasks of this type stay running until [`Self::complete_task`].
    pub fn hold_tasks(&self, kind: &str) {
        self.set_task_timing_for(kind, TaskTiming::Manual);
    }

    /// Finishes a running task now (applying its effect). False if unknown or already stopped.
    pub fn complete_task(&self, upid: &str) -> bool {
        self.shared.finish_task(upid, None)
    }

    /// The next `count` tasks of type `kind` stop with `exitstatus` and change nothing.
    pub fn fail_next_tasks(&self, kind: &str, count: usize, exitstatus: &str) {
        let mut world = self.shared.lock();
        let queue = world.tasks.failures.entry(kind.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(exitstatus.to_owned(), count));
    }

    pub fn inject_http_error(&self, fault: HttpFault) -> FaultId {
        self.shared.lock().faults.add(fault)
    }

    pub fn remove_http_error(&self, id: FaultId) {
        self.shared.lock().faults.remove(id);
    }

    pub fn clear_http_errors(&self) {
        self.shared.lock().faults.clear();
    }

    /// Moves the simulator's clock forward (tickets age, task times shift).
    pub fn advance_clock(&self, by: Duration) {
        self.shared
            .clock
            .advance(i64::try_from(by.as_secs()).unwrap_or(i64::MAX));
    }

    /// Requests served so far, including rejected ones.
    pub fn request_count(&self) -> usize {
        self.shared.lock().request_total
    }

    /// The most recent requests (up to 10 000), oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.iter().cloned().collect()
    }

    /// Stops accepting connections and waits for open ones to finish (bounded).
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(server) = self.server.take()
            && let Err(error) = server.await
        {
            tracing::debug!(%error, "proxmox sim: server task ended abnormally");
        }
    }
}

impl Drop for ProxmoxSim {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
    }
}
