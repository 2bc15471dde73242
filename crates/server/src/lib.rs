//! Bot-Mox server: REST API, agent WebSocket, SSE and web UI over SQLite or PostgreSQL.

pub mod agents;
pub mod app;
pub mod artifacts;
pub mod audit;
pub mod auth;
pub mod bots;
pub mod bus;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod finance;
pub mod health;
pub mod ipqs;
pub mod licenses;
pub mod names;
pub mod objects;
pub mod observability;
pub mod pagination;
pub mod path_id;
pub mod playbooks;
pub mod provisioning;
pub mod ratelimit;
pub mod resources;
pub mod response;
pub mod secrets;
pub mod secrets_crypto;
pub mod settings;
pub mod themes;
pub mod vm_ops;
pub mod vmgen;
pub mod vms;
pub mod web;
pub mod workspace;

pub use app::{AppState, Server};
pub use config::Config;
