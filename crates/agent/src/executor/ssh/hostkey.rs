//! Host-key trust: a pinned `SHA256:…` fingerprint (as `ssh-keygen -lf` prints it) or an
//! OpenSSH known_hosts file. An unknown or changed key is refused; the error names the key
//! the host presented so the operator can pin it after checking it out of band.

use std::path::PathBuf;

use russh::keys::{HashAlg, PublicKey};

use crate::executor::ExecError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// `SHA256:<base64>` (the `SHA256:` prefix is optional).
    Pinned(String),
    KnownHosts(PathBuf),
}

impl HostKeyPolicy {
    /// `~/.ssh/known_hosts` of the user running the agent.
    pub fn default_known_hosts() -> Self {
        Self::KnownHosts(
            dirs::home_dir()
                .unwrap_or_default()
                .join(".ssh")
                .join("known_hosts"),
        )
    }

    pub fn verify(&self, host: &str, port: u16, key: &PublicKey) -> Result<(), ExecError> {
        let presented = fingerprint_of(key);
        match self {
            Self::Pinned(pin) => {
                let want = pin
                    .trim()
                    .trim_start_matches("SHA256:")
                    .trim_end_matches('=');
                let got = presented.trim_start_matches("SHA256:");
                if want == got {
                    Ok(())
                } else {
                    Err(ExecError::new(
                        "SSH_HOST_KEY_MISMATCH",
                        format!(
                            "the host key of {host}:{port} is {presented}, not the pinned SHA256:{want}; refusing to connect"
                        ),
                    ))
                }
            }
            Self::KnownHosts(path) => {
                if !path.exists() {
                    return Err(unknown(host, port, &presented, path));
                }
                match russh::keys::check_known_hosts_path(host, port, key, path) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(unknown(host, port, &presented, path)),
                    Err(russh::keys::Error::KeyChanged { line }) => Err(ExecError::new(
                        "SSH_HOST_KEY_MISMATCH",
                        format!(
                            "the host key of {host}:{port} ({presented}) differs from the one in {} line {line}; refusing to connect",
                            path.display()
                        ),
                    )),
                    Err(e) => Err(ExecError::new(
                        "SSH_HOST_KEY_UNKNOWN",
                        format!("cannot read {}: {e}", path.display()),
                    )),
                }
            }
        }
    }
}

fn unknown(host: &str, port: u16, presented: &str, path: &std::path::Path) -> ExecError {
    ExecError::new(
        "SSH_HOST_KEY_UNKNOWN",
        format!(
            "the host key of {host}:{port} ({presented}) is not in {}; verify it and pin it with `botmox-agent target ssh <target> --host-key {presented}`",
            path.display()
        ),
    )
}

/// `SHA256:<base64 without padding>`.
pub fn fingerprint_of(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}
