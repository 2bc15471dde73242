//! The Bot-Mox wire: every type that crosses the network, shared by the server, the agent and
//! the tests. Nothing here does I/O.

pub mod agent_ws;
pub mod agents;
pub mod artifacts;
pub mod audit;
pub mod auth;
pub mod bots;
pub mod decimal;
pub mod envelope;
pub mod error_code;
pub mod fields;
pub mod finance;
pub mod health;
pub mod ipqs;
pub mod licenses;
pub mod names;
pub mod pagination;
pub mod playbooks;
pub mod provisioning;
pub mod provisioning_api;
pub mod resources;
pub mod rules;
pub mod secrets;
pub mod settings;
pub mod themes;
pub mod validation;
pub mod vm_ops;
pub mod vmgen;
pub mod vms;
pub mod workspace;

pub use envelope::{ApiErrorBody, ErrorEnvelope, ListMeta, SuccessEnvelope};
