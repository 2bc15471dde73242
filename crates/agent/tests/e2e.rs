//! The real agent binary against the real server (in-process, SQLite) and the Proxmox simulator:
//! pair with a bundle, add the simulator as a pinned target, run commands, get revoked.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use botmox_server::{Config, Server};
use botmox_testkit::proxmox::{ProxmoxSim, SimConfig};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);

/// A child process killed when dropped.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct App {
    _server: Server,
    base: String,
    http: reqwest::Client,
    admin: String,
    _dir: tempfile::TempDir,
}

async fn start_server() -> App {
    let dir = tempfile::tempdir().expect("dir");
    let vars: HashMap<String, String> = HashMap::from([
        ("BOTMOX_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        (
            "BOTMOX_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        ),
        (
            "DATABASE_URL".to_owned(),
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("botmox.db").display()
            ),
        ),
        ("LOG_LEVEL".to_owned(), "warn".to_owned()),
    ]);
    let server = Server::start(Config::from_map(&vars).expect("config"))
        .await
        .expect("server");
    let boot = server.bootstrap.clone().expect("bootstrap admin");
    let base = server.url();
    let http = reqwest::Client::new();
    let r: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": boot.email, "password": boot.password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let admin = r["data"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    App {
        _server: server,
        base,
        http,
        admin,
        _dir: dir,
    }
}

impl App {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn queue(&self, agent_id: &str, command_type: &str, payload: Value) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/vm-ops/commands",
                Some(
                    json!({"agent_id": agent_id, "command_type": command_type, "payload": payload}),
                ),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        body["data"]["id"].as_str().expect("id").to_owned()
    }

    /// Waits for a terminal status (polling the API; the test has no other signal).
    async fn finished(&self, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let (_, body) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/vm-ops/commands/{id}"),
                    None,
                )
                .await;
            let cmd = body["data"].clone();
            if matches!(
                cmd["status"].as_str(),
                Some("succeeded" | "failed" | "expired" | "cancelled" | "dead_letter")
            ) {
                return cmd;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "command {id} did not finish: {cmd}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn agent_cmd(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_botmox-agent"));
    c.env("BOTMOX_AGENT_CONFIG", config)
        .env("BOTMOX_AGENT_LOG", "info")
        .env("BOTMOX_AGENT_WS_RECONNECT_BASE_MS", "100")
        .env("BOTMOX_AGENT_WS_RECONNECT_MAX_MS", "500");
    c
}

fn run_ok(mut cmd: Command, stdin: Option<&str>) -> String {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{:?} failed: {stdout}\n{}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn config_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("agent").join("config.toml")
}

/// Pairs with the bundle the server hands out; returns the agent id.
async fn pair_with_bundle(app: &App, cfg: &Path) -> String {
    let (status, p) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/agents/pairings",
            Some(json!({"name": "Unnamed Agent"})),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    let bundle = p["data"]["pairing_bundle"]
        .as_str()
        .expect("bundle")
        .to_owned();
    let mut pair = agent_cmd(cfg);
    pair.args(["pair", &bundle, "--server", &app.base, "--name", "pve-e2e"]);
    let out = run_ok(pair, None);
    assert!(out.contains("paired as agent"), "{out}");
    let text = std::fs::read_to_string(cfg).expect("config");
    text.lines()
        .find_map(|l| l.strip_prefix("agent_id = "))
        .expect("agent_id")
        .trim_matches('"')
        .to_owned()
}

/// The simulator as a target, pinned by fingerprint; the password comes on stdin.
fn add_sim_target(cfg: &Path, sim: &ProxmoxSim) {
    let mut add = agent_cmd(cfg);
    add.args([
        "target",
        "add",
        "sim",
        "--url",
        &sim.url(),
        "--username",
        "root@pam",
        "--node",
        "pve",
        "--fingerprint",
        sim.fingerprint_sha256().expect("fingerprint"),
    ]);
    run_ok(add, Some("proxmox-sim\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_pairs_runs_proxmox_commands_and_stops_when_revoked() {
    let app = start_server().await;
    let sim = ProxmoxSim::start(SimConfig::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config_path(&dir);

    let agent_id = pair_with_bundle(&app, &cfg).await;
    add_sim_target(&cfg, &sim);
    let mut status_cmd = agent_cmd(&cfg);
    status_cmd.arg("status");
    let status_out = run_ok(status_cmd, None);
    assert!(!status_out.contains("proxmox-sim\""), "{status_out}");
    assert!(!status_out.contains("bma_"), "{status_out}");
    assert!(status_out.contains("pinned"), "{status_out}");

    let mut run = agent_cmd(&cfg);
    run.arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut agent = Agent(run.spawn().expect("agent runs"));

    let newid = 4321u32;
    let clone = app
        .queue(
            &agent_id,
            "proxmox.clone",
            json!({"templateVmId": 9000, "newid": newid, "name": "bot-e2e", "full": true}),
        )
        .await;
    let done = app.finished(&clone).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["vmid"], newid);
    assert!(
        done["result"]["upid"]
            .as_str()
            .is_some_and(|u| u.starts_with("UPID:")),
        "{done}"
    );

    let update = app
        .queue(&agent_id, "proxmox.update-config", json!({"vmid": newid, "config": {"cores": 4, "memory": 8192, "description": "from e2e"}}))
        .await;
    let done = app.finished(&update).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    let start = app
        .queue(&agent_id, "proxmox.start", json!({"vmid": newid}))
        .await;
    let done = app.finished(&start).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    let vm = sim.vm("pve", newid).expect("the clone exists");
    assert_eq!(vm.name.as_deref(), Some("bot-e2e"));
    assert_eq!(vm.config.get("cores").map(String::as_str), Some("4"));
    assert_eq!(vm.config.get("memory").map(String::as_str), Some("8192"));
    assert_eq!(vm.status.as_str(), "running");

    // Read-only commands and an unknown type.
    let st = app
        .queue(&agent_id, "proxmox.vm-status", json!({"vmid": newid}))
        .await;
    let done = app.finished(&st).await;
    assert_eq!(done["result"]["status"], "running", "{done}");
    let unknown = app.queue(&agent_id, "syncthing.scan", json!({})).await;
    let done = app.finished(&unknown).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["error_message"]
            .as_str()
            .is_some_and(|m| m.starts_with("UNKNOWN_COMMAND_TYPE")),
        "{done}"
    );

    // Revoking the agent stops the process.
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/agents/{agent_id}/revoke"),
            Some(json!({"reason": "e2e"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let deadline = std::time::Instant::now() + T;
    let code = loop {
        if let Some(s) = agent.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the agent kept running after revoke"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(code.code(), Some(3), "{code:?}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_an_idle_agent_cleanly() {
    let app = start_server().await;
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config_path(&dir);
    let (_, p) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/agents/pairings",
            Some(json!({})),
        )
        .await;
    let uri = p["data"]["pairing_uri"].as_str().expect("uri").to_owned();
    let mut pair = agent_cmd(&cfg);
    pair.args(["pair", &uri, "--server", &app.base]);
    run_ok(pair, None);
    let mut run = agent_cmd(&cfg);
    run.arg("run").stdout(Stdio::null()).stderr(Stdio::piped());
    let mut agent = Agent(run.spawn().expect("agent runs"));
    // Wait until the agent process holds its WebSocket (registration alone already counts as
    // "seen", so "online" would not prove the process is up and handling signals).
    let deadline = std::time::Instant::now() + T;
    while app._server.state.bus.local_session_total() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "agent never connected its socket"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = agent.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + T;
    let code = loop {
        if let Some(s) = agent.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(code.success(), "{code:?}");
}

/// SSH and the provisioning ISO through the server and the agent process: a real sshd with a
/// pinned host key and password auth, the ISO uploaded to the simulator and attached. The
/// agent's log never shows the SSH password or the ISO payload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_and_provision_iso_commands_run_through_the_server() {
    let Some(sshd) = botmox_testkit::sshd::Sshd::start().expect("sshd") else {
        return;
    };
    let app = start_server().await;
    let sim = ProxmoxSim::start(SimConfig::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config_path(&dir);
    let agent_id = pair_with_bundle(&app, &cfg).await;
    add_sim_target(&cfg, &sim);
    let port = sshd.port.to_string();
    let mut ssh = agent_cmd(&cfg);
    ssh.args([
        "target",
        "ssh",
        "sim",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--user",
        botmox_testkit::sshd::TEST_USER,
        "--password",
        "--host-key",
        &sshd.host_key_fingerprint,
    ]);
    run_ok(
        ssh,
        Some(&format!("{}\n", botmox_testkit::sshd::TEST_PASSWORD)),
    );

    let log_path = dir.path().join("agent.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut run = agent_cmd(&cfg);
    run.env("BOTMOX_AGENT_LOG", "debug")
        .arg("run")
        .stdout(Stdio::null())
        .stderr(log);
    let _agent = Agent(run.spawn().expect("agent runs"));

    let probe = app.queue(&agent_id, "proxmox.ssh-test", json!({})).await;
    let done = app.finished(&probe).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["connected"], true, "{done}");
    assert_eq!(done["result"]["code"], "OK");

    let forbidden = app
        .queue(
            &agent_id,
            "proxmox.ssh-exec",
            json!({"command": "cat /etc/shadow", "allowUnsafe": true}),
        )
        .await;
    let done = app.finished(&forbidden).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["error_message"]
            .as_str()
            .is_some_and(|m| m.starts_with("SSH_COMMAND_FORBIDDEN:")),
        "{done}"
    );

    let secret_marker = "bmp_e2e_provisioning_token_5f1c";
    let provision = base64::engine::general_purpose::STANDARD
        .encode(format!("{{\"token\":\"{secret_marker}\"}}"));
    let iso = app
        .queue(
            &agent_id,
            "proxmox.create-provision-iso",
            json!({"vmid": 101, "files": {"provision.json": provision}}),
        )
        .await;
    let done = app.finished(&iso).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let iso_path = done["result"]["isoPath"]
        .as_str()
        .expect("isoPath")
        .to_owned();
    assert_eq!(iso_path, "local:iso/vm-101-provision.iso");
    let bytes = sim.file_bytes(&iso_path).expect("uploaded");
    assert!(
        String::from_utf8_lossy(&bytes).contains(secret_marker),
        "the file is on the ISO"
    );
    let attach = app
        .queue(
            &agent_id,
            "proxmox.attach-cdrom",
            json!({"vmid": 101, "isoPath": iso_path}),
        )
        .await;
    let done = app.finished(&attach).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        sim.vm("pve", 101)
            .expect("vm")
            .config
            .get("ide3")
            .map(String::as_str),
        Some("local:iso/vm-101-provision.iso,media=cdrom")
    );

    let text = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        text.contains("proxmox.ssh-test"),
        "the command type is logged"
    );
    assert!(
        !text.contains(botmox_testkit::sshd::TEST_PASSWORD),
        "{text}"
    );
    assert!(!text.contains(secret_marker), "{text}");
    assert!(!text.contains(&provision), "{text}");
}
