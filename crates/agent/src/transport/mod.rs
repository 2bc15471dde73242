//! Transports to the server.

pub mod ws;
