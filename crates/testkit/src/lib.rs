//! Test support for Bot-Mox: fresh databases, a TCP proxy that can cut a dependency off, and
//! simulators of the things the server and agent talk to (agents, Proxmox VE).

pub mod db;
pub mod fleet;
pub mod proxmox;
pub mod s3;
pub mod sshd;
pub mod tcp_proxy;
