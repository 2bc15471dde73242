//! Test support for Bot-Mox.

pub mod proxmox;
