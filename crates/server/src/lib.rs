//! Bot-Mox server: REST API, agent WebSocket, SSE and web UI over SQLite or PostgreSQL.

pub mod app;
pub mod artifacts;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod health;
pub mod licenses;
pub mod objects;
pub mod observability;
pub mod pagination;
pub mod ratelimit;
pub mod response;
pub mod secrets;
pub mod vms;

pub use app::{AppState, Server};
pub use config::Config;
