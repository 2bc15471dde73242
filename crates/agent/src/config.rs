//! The agent's config file (TOML): server, agent identity and token, Proxmox targets.
//! Written atomically (temp file + rename) with mode 0600.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

pub const CONFIG_ENV: &str = "BOTMOX_AGENT_CONFIG";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AgentConfig {
    /// The target used when a command names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_target: Option<String>,
    /// Present once paired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Pairing>,
    /// Proxmox targets by name.
    #[serde(default)]
    pub targets: BTreeMap<String, ProxmoxTarget>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pairing {
    /// Server base URL without a trailing `/`.
    pub server_url: String,
    pub agent_id: String,
    #[serde(default)]
    pub agent_name: String,
    pub token: Secret,
    /// When the token was received (to renew it at 90% of its lifetime).
    pub token_issued_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<DateTime<Utc>>,
    pub paired_at: DateTime<Utc>,
}

impl Pairing {
    /// True when less than 10% of the token's lifetime is left.
    pub fn token_needs_renewal(&self, now: DateTime<Utc>) -> bool {
        let Some(exp) = self.token_expires_at else {
            return false;
        };
        let lifetime = (exp - self.token_issued_at).num_milliseconds().max(0);
        let left = (exp - now).num_milliseconds();
        left < lifetime / 10
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ProxmoxTarget {
    /// `https://host:8006`.
    pub url: String,
    /// `root@pam` (`@pam` is added when there is no realm).
    #[serde(default)]
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// API token id (`user@realm!name`), used with `token_secret` instead of a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<Secret>,
    pub node: String,
    /// Pinned SHA-256 certificate fingerprint (`AB:CD:…` or hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// A CA certificate (PEM) to verify the host against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_path: Option<PathBuf>,
    /// No TLS verification at all: only when set explicitly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// SSH to the host (`proxmox.ssh-*`); without it SSH uses the URL host, port 22, the
    /// username without its realm, the Proxmox password and `~/.ssh/known_hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshSettings>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SshSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Replaces the Proxmox password for SSH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// An OpenSSH private key file (unencrypted), tried before the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_path: Option<PathBuf>,
    /// Pinned host key fingerprint `SHA256:…` (wins over `known_hosts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    /// A known_hosts file to check the host key against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
}

impl ProxmoxTarget {
    /// Username with a realm.
    pub fn full_username(&self) -> String {
        if self.username.contains('@') {
            self.username.clone()
        } else {
            format!("{}@pam", self.username)
        }
    }
}

/// `$BOTMOX_AGENT_CONFIG`, else `<platform config dir>/botmox-agent/config.toml`.
pub fn default_path() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let dir =
        dirs::config_dir().context("no platform config directory; set BOTMOX_AGENT_CONFIG")?;
    Ok(dir.join("botmox-agent").join("config.toml"))
}

impl AgentConfig {
    /// Reads the file; a missing file is an empty config, a broken one an error.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes atomically with mode 0600.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = toml::to_string_pretty(self).context("serialising the config")?;
        write_private(path, text.as_bytes())
    }

    pub fn pairing(&self) -> anyhow::Result<&Pairing> {
        match &self.agent {
            Some(p) => Ok(p),
            None => bail!("this agent is not paired; run `botmox-agent pair …` first"),
        }
    }
}

/// Writes `bytes` to a temp file next to `path` (mode 0600), fsyncs it and renames it over.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".to_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| -> anyhow::Result<()> {
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The status view: no secret values, only whether they are set.
pub fn redacted_summary(cfg: &AgentConfig, path: &Path) -> serde_json::Value {
    let agent = cfg.agent.as_ref().map(|p| {
        serde_json::json!({
            "server_url": p.server_url,
            "agent_id": p.agent_id,
            "agent_name": p.agent_name,
            "has_token": !p.token.is_empty(),
            "token_expires_at": p.token_expires_at,
            "paired_at": p.paired_at,
        })
    });
    let targets: Vec<serde_json::Value> = cfg
        .targets
        .iter()
        .map(|(name, t)| target_summary(name, t, cfg.default_target.as_deref() == Some(name)))
        .collect();
    serde_json::json!({
        "config_path": path.display().to_string(),
        "paired": agent.is_some(),
        "agent": agent,
        "targets": targets,
    })
}

pub fn target_summary(name: &str, t: &ProxmoxTarget, is_default: bool) -> serde_json::Value {
    let tls = if t.insecure {
        "insecure".to_owned()
    } else if let Some(fp) = &t.fingerprint {
        format!("pinned {fp}")
    } else if let Some(ca) = &t.ca_path {
        format!("ca {}", ca.display())
    } else {
        "system roots".to_owned()
    };
    serde_json::json!({
        "name": name,
        "url": t.url,
        "username": t.username,
        "node": t.node,
        "auth": if t.token_id.is_some() { "api-token" } else { "password" },
        "has_secret": t.password.as_ref().is_some_and(|p| !p.is_empty()) || t.token_secret.is_some(),
        "tls": tls,
        "ssh": t.ssh.as_ref().map(|s| serde_json::json!({
            "host": s.host,
            "port": s.port,
            "username": s.username,
            "has_password": s.password.is_some(),
            "key_path": s.key_path,
            "host_key": s.host_key,
            "known_hosts": s.known_hosts,
        })),
        "default": is_default,
    })
}
