//! `proxmox.ssh-*` through the agent's executor against a real OpenSSH server on loopback:
//! password and key auth, host-key pinning and known_hosts, refusals with their codes.

use std::sync::Arc;

use botmox_agent::config::{AgentConfig, ProxmoxTarget, SshSettings};
use botmox_agent::executor::proxmox::ProxmoxExecutor;
use botmox_agent::executor::{CommandCtx, Dispatcher, ExecError};
use botmox_agent::secret::Secret;
use botmox_testkit::sshd::{Sshd, TEST_PASSWORD, TEST_USER};
use serde_json::{Value, json};

fn dispatcher(ssh: SshSettings) -> Dispatcher {
    let target = ProxmoxTarget {
        url: "https://127.0.0.1:8006".to_owned(),
        username: "root@pam".to_owned(),
        password: Some(Secret::new("not-the-ssh-password")),
        node: "pve".to_owned(),
        ssh: Some(ssh),
        ..ProxmoxTarget::default()
    };
    let mut cfg = AgentConfig::default();
    cfg.targets.insert("pve".to_owned(), target);
    cfg.default_target = Some("pve".to_owned());
    Dispatcher::new(vec![Arc::new(ProxmoxExecutor::new(&cfg))])
}

async fn run(d: &Dispatcher, command_type: &str, payload: Value) -> Result<Value, ExecError> {
    let ctx = CommandCtx::new("test", Arc::new(|_, _| {}));
    d.run(&ctx, command_type, &payload).await
}

fn password_login(sshd: &Sshd) -> SshSettings {
    SshSettings {
        host: Some("127.0.0.1".to_owned()),
        port: Some(sshd.port),
        username: Some(TEST_USER.to_owned()),
        password: Some(Secret::new(TEST_PASSWORD)),
        host_key: Some(sshd.host_key_fingerprint.clone()),
        ..SshSettings::default()
    }
}

fn root_key_login(sshd: &Sshd) -> SshSettings {
    SshSettings {
        host: Some("127.0.0.1".to_owned()),
        port: Some(sshd.port),
        username: Some("root".to_owned()),
        key_path: Some(sshd.client_key.clone()),
        known_hosts: Some(sshd.known_hosts.clone()),
        ..SshSettings::default()
    }
}

/// A VM config file under /etc/pve/qemu-server for the test, removed (with the directories
/// the test created) on drop.
struct VmConf {
    path: std::path::PathBuf,
    made_dirs: Vec<std::path::PathBuf>,
    vmid: u64,
}

impl VmConf {
    fn new() -> Self {
        let mut made_dirs = Vec::new();
        for d in ["/etc/pve", "/etc/pve/qemu-server"] {
            if !std::path::Path::new(d).exists() {
                std::fs::create_dir(d).expect("mkdir");
                made_dirs.push(d.into());
            }
        }
        let vmid = 900_000_000 + u64::from(rand_u16());
        Self {
            path: format!("/etc/pve/qemu-server/{vmid}.conf").into(),
            made_dirs,
            vmid,
        }
    }
}

impl Drop for VmConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        for d in self.made_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

fn rand_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos ^ std::process::id()) as u16
}

#[tokio::test]
async fn password_auth_with_a_pinned_host_key_probes_and_runs_allowed_commands() {
    let Some(sshd) = Sshd::start().expect("sshd") else {
        return;
    };
    let d = dispatcher(password_login(&sshd));
    let probe = run(&d, "proxmox.ssh-test", json!({})).await.expect("probe");
    assert_eq!(probe["connected"], true, "{probe}");
    assert_eq!(probe["code"], "OK");
    assert_eq!(probe["mode"], "password");
    assert_eq!(probe["stdout"], "BOTMOX_SSH_OK");
    let boot = run(&d, "proxmox.ssh-bootstrap", json!({}))
        .await
        .expect("bootstrap");
    assert_eq!(boot["bootstrap"], "validated");

    // An allow-listed command that fails on this host is a result, not an error.
    let out = run(&d, "proxmox.ssh-exec", json!({"command": "qm status 101"}))
        .await
        .expect("exec");
    assert_eq!(out["allowlisted"], true);
    assert_ne!(out["exitCode"], 0, "{out}");

    // Anything else is refused before connecting, whatever the payload says.
    for command in ["id", "qm status 101; id", "qm destroy 101"] {
        let err = run(
            &d,
            "proxmox.ssh-exec",
            json!({"command": command, "allowUnsafe": true}),
        )
        .await
        .expect_err("forbidden");
        assert_eq!(err.code, "SSH_COMMAND_FORBIDDEN", "{command}");
    }
    let err = run(&d, "proxmox.ssh-exec", json!({"command": "  "}))
        .await
        .expect_err("empty");
    assert_eq!(err.code, "BAD_REQUEST");
}

#[tokio::test]
async fn key_auth_with_known_hosts_writes_and_reads_a_vm_config() {
    let Some(sshd) = Sshd::start().expect("sshd") else {
        return;
    };
    let conf = VmConf::new();
    let d = dispatcher(root_key_login(&sshd));
    let probe = run(&d, "proxmox.ssh-status", json!({}))
        .await
        .expect("probe");
    assert_eq!(probe["code"], "OK", "{probe}");
    assert_eq!(probe["mode"], "key");

    // Quotes, `$()` and a heredoc-looking line go through stdin untouched.
    let content = "cores: 4\nname: it's-$(id)\nEOF\nmemory: 8192";
    let w = run(
        &d,
        "proxmox.ssh-write-config",
        json!({"vmid": conf.vmid, "content": content}),
    )
    .await
    .expect("write");
    assert_eq!(w["written"], true);
    assert_eq!(
        std::fs::read_to_string(&conf.path).expect("file"),
        format!("{content}\n")
    );
    let r = run(&d, "proxmox.ssh-read-config", json!({"id": conf.vmid}))
        .await
        .expect("read");
    assert_eq!(r["config"], content);
    let out = run(
        &d,
        "proxmox.ssh-exec",
        json!({"command": format!("cat /etc/pve/qemu-server/{}.conf", conf.vmid)}),
    )
    .await
    .expect("exec");
    assert_eq!(out["exitCode"], 0);
    assert_eq!(out["stdout"], content);

    let missing = run(
        &d,
        "proxmox.ssh-read-config",
        json!({"vmid": conf.vmid + 1}),
    )
    .await
    .expect_err("missing file");
    assert_eq!(missing.code, "SSH_READ_FAILED");
    assert!(missing.message.contains("No such file"), "{missing}");
    let err = run(
        &d,
        "proxmox.ssh-write-config",
        json!({"vmid": conf.vmid, "content": " "}),
    )
    .await
    .expect_err("blank");
    assert_eq!(err.code, "BAD_REQUEST");
}

#[tokio::test]
async fn unknown_or_changed_host_keys_are_refused() {
    let Some(sshd) = Sshd::start().expect("sshd") else {
        return;
    };
    // A pin of some other key.
    let mut wrong_pin = password_login(&sshd);
    wrong_pin.host_key = Some("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU".to_owned());
    let err = run(
        &dispatcher(wrong_pin),
        "proxmox.ssh-exec",
        json!({"command": "qm status 1"}),
    )
    .await
    .expect_err("mismatch");
    assert_eq!(err.code, "SSH_HOST_KEY_MISMATCH", "{err}");
    assert!(err.message.contains(&sshd.host_key_fingerprint), "{err}");

    // known_hosts without this host.
    let empty = sshd.dir().join("empty_known_hosts");
    std::fs::write(&empty, "").expect("write");
    let mut unknown = root_key_login(&sshd);
    unknown.known_hosts = Some(empty);
    let probe = run(&dispatcher(unknown), "proxmox.ssh-test", json!({}))
        .await
        .expect("probe never fails");
    assert_eq!(probe["connected"], false);
    assert_eq!(probe["code"], "SSH_HOST_KEY_UNKNOWN", "{probe}");

    // known_hosts with another key of the same type for this host.
    let other = sshd.dir().join("other_key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("keygen");
    assert!(status.success());
    let public = std::fs::read_to_string(other.with_extension("pub")).expect("pub");
    let changed = sshd.dir().join("changed_known_hosts");
    let mut fields = public.split_whitespace();
    std::fs::write(
        &changed,
        format!(
            "[127.0.0.1]:{} {} {}\n",
            sshd.port,
            fields.next().expect("type"),
            fields.next().expect("key")
        ),
    )
    .expect("write");
    let mut mismatch = root_key_login(&sshd);
    mismatch.known_hosts = Some(changed);
    let err = run(
        &dispatcher(mismatch),
        "proxmox.ssh-read-config",
        json!({"vmid": 1}),
    )
    .await
    .expect_err("changed");
    assert_eq!(err.code, "SSH_HOST_KEY_MISMATCH", "{err}");
}

#[tokio::test]
async fn wrong_password_closed_port_and_missing_credentials_have_their_codes() {
    let Some(sshd) = Sshd::start().expect("sshd") else {
        return;
    };
    let mut wrong = password_login(&sshd);
    wrong.password = Some(Secret::new("definitely-wrong"));
    let err = run(
        &dispatcher(wrong),
        "proxmox.ssh-exec",
        json!({"command": "qm status 1"}),
    )
    .await
    .expect_err("auth");
    assert_eq!(err.code, "SSH_AUTH_FAILED", "{err}");
    assert!(!err.message.contains("definitely-wrong"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut unreachable = password_login(&sshd);
    unreachable.port = Some(closed);
    let err = run(
        &dispatcher(unreachable),
        "proxmox.ssh-read-config",
        json!({"vmid": 1, "timeoutMs": 3000}),
    )
    .await
    .expect_err("closed");
    assert_eq!(err.code, "SSH_UNREACHABLE", "{err}");

    // An API-token target without SSH credentials.
    let target = ProxmoxTarget {
        url: "https://127.0.0.1:8006".to_owned(),
        username: "root@pam".to_owned(),
        token_id: Some("root@pam!t".to_owned()),
        token_secret: Some(Secret::new("x")),
        node: "pve".to_owned(),
        ..ProxmoxTarget::default()
    };
    let mut cfg = AgentConfig::default();
    cfg.targets.insert("tok".to_owned(), target);
    let d = Dispatcher::new(vec![Arc::new(ProxmoxExecutor::new(&cfg))]);
    let probe = run(&d, "proxmox.ssh-status", json!({}))
        .await
        .expect("probe");
    assert_eq!(probe["configured"], false);
    assert_eq!(probe["code"], "SSH_REQUIRED");
    let err = run(&d, "proxmox.ssh-read-config", json!({"vmid": 1}))
        .await
        .expect_err("required");
    assert_eq!(err.code, "SSH_REQUIRED");
    let targets = run(&d, "proxmox.list-targets", json!({}))
        .await
        .expect("list");
    assert_eq!(targets[0]["sshConfigured"], false);
}

#[tokio::test]
async fn a_host_that_never_answers_times_out_within_the_command_timeout() {
    // Accepts TCP but never sends an SSH banner.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            open.push(s);
        }
    });
    let d = dispatcher(SshSettings {
        host: Some("127.0.0.1".to_owned()),
        port: Some(port),
        username: Some("root".to_owned()),
        password: Some(Secret::new("x")),
        host_key: Some("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU".to_owned()),
        ..SshSettings::default()
    });
    let started = std::time::Instant::now();
    let err = run(
        &d,
        "proxmox.ssh-read-config",
        json!({"vmid": 1, "timeoutMs": 1000}),
    )
    .await
    .expect_err("silent host");
    assert_eq!(err.code, "SSH_UNREACHABLE", "{err}");
    assert!(err.message.contains("timed out"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    hold.abort();
}
