//! How a simulator is started, and the well-known seed values tests rely on.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The node every seeded object lives on.
pub const DEFAULT_NODE: &str = "pve";
/// The seeded administrator.
pub const DEFAULT_USER: &str = "root@pam";
/// Password of [`DEFAULT_USER`] unless [`SimConfig::root_password`] says otherwise.
pub const DEFAULT_PASSWORD: &str = "proxmox-sim";
/// Seeded API token of [`DEFAULT_USER`]: `root@pam!botmox`.
pub const DEFAULT_TOKEN_ID: &str = "botmox";
pub const DEFAULT_TOKEN_SECRET: &str = "6f0c2d1e-9a4b-4c7d-8e2f-5a1b3c4d5e6f";
/// The seeded Windows installer template.
pub const TEMPLATE_VMID: u32 = 9000;
/// Seeded regular VMs: `WoW1` (running) and `WoW2` (stopped).
pub const SEEDED_VMIDS: [u32; 2] = [101, 102];
/// The installer ISO the template's `ide0` points at.
pub const INSTALLER_ISO: &str = "local:iso/windows-installer.iso";

/// Simulator settings. `SimConfig::default()` serves HTTPS on an ephemeral port of
/// 127.0.0.1 with the seed data.
#[derive(Clone)]
pub struct SimConfig {
    pub bind: SocketAddr,
    /// Serve HTTPS with a fresh self-signed certificate (Proxmox is HTTPS-only); plain HTTP if false.
    pub tls: bool,
    /// Cluster node names; the first one holds the seeded VMs.
    pub nodes: Vec<String>,
    pub root_password: String,
    /// Seed the storages, template 9000, VMs 101/102, the installer ISO and the API token.
    /// Without it only the nodes, their storages and the root user exist.
    pub seed: bool,
    /// Ticket validity (Proxmox: 2 hours).
    pub ticket_lifetime: Duration,
    /// How long tasks stay `running` unless a type-specific timing is set.
    pub task_duration: Duration,
    /// pveproxy delays failed authentications by 3 s; tests usually want none.
    pub auth_failure_delay: Duration,
    pub max_upload_bytes: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: true,
            nodes: vec![DEFAULT_NODE.to_owned()],
            root_password: DEFAULT_PASSWORD.to_owned(),
            seed: true,
            ticket_lifetime: Duration::from_secs(2 * 60 * 60),
            task_duration: Duration::from_millis(200),
            auth_failure_delay: Duration::ZERO,
            max_upload_bytes: 512 * 1024 * 1024,
        }
    }
}

impl SimConfig {
    pub fn plain_http(mut self) -> Self {
        self.tls = false;
        self
    }

    pub fn nodes(mut self, nodes: &[&str]) -> Self {
        self.nodes = nodes.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    pub fn without_seed(mut self) -> Self {
        self.seed = false;
        self
    }

    pub fn task_duration(mut self, duration: Duration) -> Self {
        self.task_duration = duration;
        self
    }

    pub fn ticket_lifetime(mut self, lifetime: Duration) -> Self {
        self.ticket_lifetime = lifetime;
        self
    }

    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }
}

/// Keeps the password out of logs and panic messages.
impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("bind", &self.bind)
            .field("tls", &self.tls)
            .field("nodes", &self.nodes)
            .field("root_password", &"<redacted>")
            .field("seed", &self.seed)
            .field("ticket_lifetime", &self.ticket_lifetime)
            .field("task_duration", &self.task_duration)
            .field("auth_failure_delay", &self.auth_failure_delay)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .finish()
    }
}
