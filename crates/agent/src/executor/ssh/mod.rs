//! SSH to a Proxmox host (`russh`): host-key verification (pinned fingerprint or known_hosts),
//! password or private-key auth, separate connect and command timeouts, bounded output.
//! Only the command type is ever logged, never the command text (payloads carry secrets).

pub mod allowlist;
mod hostkey;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::ChannelMsg;
use russh::client;
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};

use crate::config::ProxmoxTarget;
use crate::executor::ExecError;
use crate::secret::Secret;

pub use hostkey::{HostKeyPolicy, fingerprint_of};

/// Bytes kept per output stream; the rest is dropped and `truncated` is set.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// Longest wait for TCP connect + handshake + auth.
const CONNECT_TIMEOUT_MAX: Duration = Duration::from_secs(15);

/// Where and how to log in, resolved from the target's `[targets.X.ssh]` settings with the
/// Proxmox URL host, the username without its realm and the Proxmox password as defaults.
#[derive(Clone)]
pub struct SshLogin {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Option<Secret>,
    pub key_path: Option<PathBuf>,
    pub host_key: HostKeyPolicy,
}

impl std::fmt::Debug for SshLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshLogin")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("mode", &self.mode())
            .finish_non_exhaustive()
    }
}

impl SshLogin {
    /// `key`, `password` or `none`.
    pub fn mode(&self) -> &'static str {
        if self.key_path.is_some() {
            "key"
        } else if self.password.as_ref().is_some_and(|p| !p.is_empty()) {
            "password"
        } else {
            "none"
        }
    }

    pub fn configured(&self) -> bool {
        !self.host.is_empty() && !self.username.is_empty() && self.mode() != "none"
    }

    pub fn from_target(target: &ProxmoxTarget) -> Self {
        let ssh = target.ssh.clone().unwrap_or_default();
        let host = ssh
            .host
            .clone()
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| url_host(&target.url));
        let username = ssh
            .username
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| {
                target
                    .username
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            });
        let password = ssh.password.clone().or_else(|| {
            // An API-token target has no password to reuse.
            target.password.clone()
        });
        let host_key = match (&ssh.host_key, &ssh.known_hosts) {
            (Some(fp), _) => HostKeyPolicy::Pinned(fp.trim().to_owned()),
            (None, Some(path)) => HostKeyPolicy::KnownHosts(path.clone()),
            (None, None) => HostKeyPolicy::default_known_hosts(),
        };
        Self {
            host,
            port: ssh.port.unwrap_or(22),
            username,
            password,
            key_path: ssh.key_path.clone(),
            host_key,
        }
    }
}

fn url_host(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.host_str().unwrap_or_default().to_owned(),
        Err(_) => {
            let rest = url.split("://").nth(1).unwrap_or(url);
            let rest = rest.split('/').next().unwrap_or_default();
            rest.split(':').next().unwrap_or_default().to_owned()
        }
    }
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    /// `None` when the command was killed by a signal (see `signal`).
    pub exit_code: Option<u32>,
    pub signal: Option<String>,
    pub truncated: bool,
}

impl Output {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

struct Handler {
    host: String,
    port: u16,
    policy: HostKeyPolicy,
    /// Why the host key was refused, for a precise error code.
    refusal: Arc<Mutex<Option<ExecError>>>,
}

impl client::Handler for Handler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(cert) => {
                russh::keys::PublicKey::from(cert.public_key().clone())
            }
        };
        match self.policy.verify(&self.host, self.port, &key) {
            Ok(()) => Ok(true),
            Err(e) => {
                if let Ok(mut slot) = self.refusal.lock() {
                    *slot = Some(e);
                }
                Ok(false)
            }
        }
    }
}

/// Runs one command: connect (host key checked), authenticate, exec, feed `stdin` (then EOF),
/// collect the output. `timeout` covers the command; connecting has its own shorter limit.
pub async fn run(
    login: &SshLogin,
    command: &str,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output, ExecError> {
    if !login.configured() {
        return Err(ExecError::new(
            "SSH_REQUIRED",
            "SSH is not configured for this computer. Add SSH credentials (or a Proxmox password) to the target and retry.",
        ));
    }
    let connect_timeout = timeout.min(CONNECT_TIMEOUT_MAX);
    let session = tokio::time::timeout(connect_timeout, connect(login))
        .await
        .map_err(|_| {
            ExecError::new(
                "SSH_UNREACHABLE",
                format!(
                    "SSH connection to {}:{} timed out after {}s. Check host, port and network reachability.",
                    login.host,
                    login.port,
                    connect_timeout.as_secs()
                ),
            )
        })??;
    let result = tokio::time::timeout(timeout, exec(&session, command, stdin)).await;
    let _ = session
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    match result {
        Ok(r) => r,
        Err(_) => Err(ExecError::new(
            "SSH_TIMEOUT",
            format!(
                "The SSH command did not finish within {}s",
                timeout.as_secs()
            ),
        )),
    }
}

async fn connect(login: &SshLogin) -> Result<client::Handle<Handler>, ExecError> {
    let config = Arc::new(client::Config {
        inactivity_timeout: Some(Duration::from_secs(600)),
        ..Default::default()
    });
    let refusal = Arc::new(Mutex::new(None));
    let handler = Handler {
        host: login.host.clone(),
        port: login.port,
        policy: login.host_key.clone(),
        refusal: Arc::clone(&refusal),
    };
    let mut session =
        match client::connect(config, (login.host.as_str(), login.port), handler).await {
            Ok(s) => s,
            Err(e) => {
                if let Some(refused) = refusal.lock().ok().and_then(|mut r| r.take()) {
                    return Err(refused);
                }
                return Err(connect_error(login, &e));
            }
        };
    let user = login.username.clone();
    let mut authenticated = false;
    if let Some(path) = &login.key_path {
        let key = russh::keys::load_secret_key(path, None).map_err(|e| {
            ExecError::new(
                "SSH_KEY_INVALID",
                format!("cannot load the SSH private key {}: {e}", path.display()),
            )
        })?;
        let hash = session
            .best_supported_rsa_hash()
            .await
            .map_err(|e| connect_error(login, &e))?
            .flatten();
        let res = session
            .authenticate_publickey(&user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(|e| connect_error(login, &e))?;
        authenticated = res.success();
    }
    if !authenticated && let Some(pw) = login.password.as_ref().filter(|p| !p.is_empty()) {
        let res = session
            .authenticate_password(&user, pw.expose())
            .await
            .map_err(|e| connect_error(login, &e))?;
        authenticated = res.success();
    }
    if !authenticated {
        return Err(ExecError::new(
            "SSH_AUTH_FAILED",
            format!(
                "SSH login as {user}@{}:{} was refused. Possible wrong SSH username, password or key.",
                login.host, login.port
            ),
        ));
    }
    Ok(session)
}

fn connect_error(login: &SshLogin, e: &russh::Error) -> ExecError {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    let unreachable = matches!(e, russh::Error::IO(_) | russh::Error::ConnectionTimeout)
        || [
            "refused",
            "timed out",
            "unreachable",
            "no route",
            "not known",
            "failed to lookup",
            "disconnect",
        ]
        .iter()
        .any(|m| lower.contains(m));
    if unreachable {
        ExecError::new(
            "SSH_UNREACHABLE",
            format!(
                "SSH host {}:{} is unreachable: {text}",
                login.host, login.port
            ),
        )
    } else {
        ExecError::new("SSH_EXEC_ERROR", format!("SSH session failed: {text}"))
    }
}

async fn exec(
    session: &client::Handle<Handler>,
    command: &str,
    stdin: Option<&[u8]>,
) -> Result<Output, ExecError> {
    let fail = |e: russh::Error| ExecError::new("SSH_EXEC_ERROR", format!("SSH channel: {e}"));
    let mut channel = session.channel_open_session().await.map_err(fail)?;
    channel.exec(true, command).await.map_err(fail)?;
    if let Some(input) = stdin {
        channel.data(input).await.map_err(fail)?;
    }
    channel.eof().await.map_err(fail)?;
    let mut out = Output::default();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                out.truncated |= append_bounded(&mut stdout, &data);
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                out.truncated |= append_bounded(&mut stderr, &data);
            }
            ChannelMsg::ExitStatus { exit_status } => out.exit_code = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                out.signal = Some(format!("{signal_name:?}"));
            }
            _ => {}
        }
    }
    out.stdout = String::from_utf8_lossy(&stdout).trim_end().to_owned();
    out.stderr = String::from_utf8_lossy(&stderr).trim_end().to_owned();
    Ok(out)
}

/// Appends up to the cap; true when something was dropped.
fn append_bounded(buf: &mut Vec<u8>, data: &[u8]) -> bool {
    let room = MAX_OUTPUT_BYTES.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
    data.len() > room
}
