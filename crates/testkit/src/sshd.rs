//! A real OpenSSH server for tests: `sshd -D -e` on a loopback port with its own host key,
//! config and authorized_keys in a temp dir. It needs root (sshd switches users) and a local
//! test account with a known password for password auth ([`TEST_USER`], created on demand).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The unprivileged account the password tests log in as.
pub const TEST_USER: &str = "botmox-sshtest";
/// Its password (set with `chpasswd` each time a server starts).
pub const TEST_PASSWORD: &str = "Bm-ssh-test-7f3a";

pub struct Sshd {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
    /// `SHA256:…` of the host key.
    pub host_key_fingerprint: String,
    /// A client key (ed25519, no passphrase) accepted for `root` and [`TEST_USER`].
    pub client_key: PathBuf,
    /// A known_hosts file holding this server's key for `[127.0.0.1]:port`.
    pub known_hosts: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn keygen(path: &Path) -> anyhow::Result<()> {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "botmox-test", "-f"])
        .arg(path))?;
    Ok(())
}

/// Creates [`TEST_USER`] if missing and (re)sets its password.
fn ensure_test_user() -> anyhow::Result<()> {
    let exists = |_: ()| {
        Command::new("id")
            .arg(TEST_USER)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !exists(()) {
        let made = run(Command::new("useradd").args(["-M", "-s", "/bin/sh", TEST_USER]));
        // Another test may have created it meanwhile.
        if made.is_err() && !exists(()) {
            made?;
        }
    }
    let mut child = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running chpasswd")?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().context("chpasswd stdin")?;
        writeln!(stdin, "{TEST_USER}:{TEST_PASSWORD}")?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("chpasswd failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// The sshd binary, or `None` when OpenSSH's server is not installed.
pub fn sshd_path() -> Option<PathBuf> {
    ["/usr/sbin/sshd", "/usr/bin/sshd", "/usr/local/sbin/sshd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

pub fn is_root() -> bool {
    run(Command::new("id").arg("-u")).is_ok_and(|s| s.trim() == "0")
}

impl Sshd {
    /// Starts a server, or `Ok(None)` when this machine cannot run one (no sshd, not root);
    /// under `CI=true` that is an error instead.
    pub fn start() -> anyhow::Result<Option<Self>> {
        let (Some(sshd), true) = (sshd_path(), is_root()) else {
            if std::env::var("CI").as_deref() == Ok("true") {
                bail!("the SSH tests need openssh-server and root under CI");
            }
            return Ok(None);
        };
        ensure_test_user()?;
        std::fs::create_dir_all("/run/sshd").context("creating /run/sshd")?;
        let dir = tempfile::tempdir()?;
        let host_key = dir.path().join("host_ed25519");
        let client_key = dir.path().join("client_ed25519");
        keygen(&host_key)?;
        keygen(&client_key)?;
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(client_key.with_extension("pub"), &authorized)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile none\n\
                 AuthorizedKeysFile {}\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\n\
                 StrictModes no\nAllowUsers root {TEST_USER}\nLogLevel ERROR\nMaxStartups 100\n",
                host_key.display(),
                authorized.display()
            ),
        )?;
        let line = run(Command::new("ssh-keygen")
            .arg("-lf")
            .arg(host_key.with_extension("pub")))?;
        let host_key_fingerprint = line
            .split_whitespace()
            .nth(1)
            .context("ssh-keygen -lf output")?
            .to_owned();
        let public = std::fs::read_to_string(host_key.with_extension("pub"))?;
        let mut parts = public.split_whitespace();
        let (kind, body) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {kind} {body}\n"))?;
        let child = Command::new(sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting sshd")?;
        let mut server = Self {
            child,
            port,
            dir,
            host_key_fingerprint,
            client_key,
            known_hosts,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait()? {
                bail!("sshd exited at start: {status}");
            }
            if Instant::now() > deadline {
                bail!("sshd did not listen on {port}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Some(server))
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
