//! Bot-Mox server: REST API, agent WebSocket, SSE and web UI over SQLite or PostgreSQL.

pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod health;
pub mod ipqs;
pub mod names;
pub mod objects;
pub mod observability;
pub mod pagination;
pub mod playbooks;
pub mod ratelimit;
pub mod response;
pub mod secrets_crypto;
pub mod settings;
pub mod themes;

pub use app::{AppState, Server};
pub use config::Config;
