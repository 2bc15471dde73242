//! The Bot-Mox wire: every type that crosses the network, shared by the server, the agent and
//! the tests. Nothing here does I/O.

pub mod audit;
pub mod auth;
pub mod envelope;
pub mod error_code;
pub mod health;
pub mod ipqs;
pub mod names;
pub mod pagination;
pub mod playbooks;
pub mod settings;
pub mod themes;
pub mod validation;

pub use envelope::{ApiErrorBody, ErrorEnvelope, ListMeta, SuccessEnvelope};
