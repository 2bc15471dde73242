//! A Proxmox VE API simulator for tests: a real HTTP(S) server speaking `/api2/json` with
//! tickets and CSRF tokens, API tokens, asynchronous worker tasks (UPIDs), VMs, storages and
//! uploads, plus hooks to inspect state and inject failures.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use botmox_testkit::proxmox::{ProxmoxSim, SimConfig};
//! let sim = ProxmoxSim::start(SimConfig::default()).await?;
//! let client = sim.client_builder()?.build()?;
//! let version = client.get(format!("{}/version", sim.base_api_url())).send().await?;
//! # drop(version);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Task types follow Proxmox: `qmstart`, `qmstop`, `qmshutdown`, `qmreset`, `qmreboot`,
//! `qmpause` (suspend), `qmsuspend` (suspend to disk), `qmresume`, `qmconfig`, `qmclone`,
//! `qmcreate`, `qmdestroy`, `resize`, `imgcopy` (upload), `imgdel` (volume delete).
//!
//! Deliberate differences from a real node: config changes are applied at once (no pending
//! section), a cloned VM is invisible until its task ends (Proxmox lists it locked meanwhile),
//! and unsafe upload filenames are refused instead of silently rewritten.

mod auth;
mod config;
mod error;
mod faults;
mod params;
mod routes;
mod seed;
mod server;
mod sim;
mod state;
mod storage;
mod tasks;
mod tls;
mod vm;
mod vmconfig;
mod volumes;

pub use config::{
    DEFAULT_NODE, DEFAULT_PASSWORD, DEFAULT_TOKEN_ID, DEFAULT_TOKEN_SECRET, DEFAULT_USER,
    INSTALLER_ISO, SEEDED_VMIDS, SimConfig, TEMPLATE_VMID,
};
pub use faults::{FaultId, HttpFault, RequestRecord};
pub use sim::ProxmoxSim;
pub use storage::{StorageSpec, StoredFile};
pub use tasks::{TaskSnapshot, TaskState, TaskTiming};
pub use tls::fingerprint_sha256;
pub use vm::{VmSnapshot, VmSpec, VmStatus};
