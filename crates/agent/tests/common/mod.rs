//! Shared by the agent's end-to-end tests: the real server in-process (SQLite), the agent
//! binary as a child process, pairing and the simulator target.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use botmox_server::{Config, Server};
use botmox_testkit::proxmox::ProxmoxSim;
use serde_json::{Value, json};

pub const T: Duration = Duration::from_secs(30);

/// A child process killed when dropped.
pub struct Agent(pub Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct App {
    pub _server: Server,
    pub base: String,
    pub http: reqwest::Client,
    pub admin: String,
    /// The bootstrap admin's email and password (to log in again after a restart).
    pub login: (String, String),
    pub _dir: tempfile::TempDir,
}

pub async fn start_server() -> App {
    start_server_in(tempfile::tempdir().expect("dir"), "127.0.0.1:0", &[], None).await
}

/// A server on `dir` (SQLite file and data dir) listening on `listen`, with extra config
/// variables; `login` is the admin of an earlier start on the same database.
pub async fn start_server_in(
    dir: tempfile::TempDir,
    listen: &str,
    extra: &[(&str, &str)],
    login: Option<(String, String)>,
) -> App {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("BOTMOX_LISTEN".to_owned(), listen.to_owned()),
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
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let server = Server::start(Config::from_map(&vars).expect("config"))
        .await
        .expect("server");
    let login = login.unwrap_or_else(|| {
        let boot = server.bootstrap.clone().expect("bootstrap admin");
        (boot.email, boot.password)
    });
    let base = server.url();
    let http = reqwest::Client::new();
    let r: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": login.0, "password": login.1}))
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
        login,
        _dir: dir,
    }
}

impl App {
    /// Stops the server (like a process exit) and starts it again on the same database, data
    /// dir and port.
    pub async fn restart(self, downtime: impl std::future::Future<Output = ()>) -> App {
        let listen = self._server.addr.to_string();
        let login = self.login.clone();
        let dir = self._dir;
        self._server.stop().await;
        downtime.await;
        start_server_in(dir, &listen, &[], Some(login)).await
    }
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
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

    pub async fn queue(&self, agent_id: &str, command_type: &str, payload: Value) -> String {
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
    pub async fn finished(&self, id: &str) -> Value {
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

pub fn agent_cmd(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_botmox-agent"));
    c.env("BOTMOX_AGENT_CONFIG", config)
        .env("BOTMOX_AGENT_LOG", "info")
        .env("BOTMOX_AGENT_WS_RECONNECT_BASE_MS", "100")
        .env("BOTMOX_AGENT_WS_RECONNECT_MAX_MS", "500");
    c
}

pub fn run_ok(mut cmd: Command, stdin: Option<&str>) -> String {
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

pub fn config_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("agent").join("config.toml")
}

/// Pairs with the bundle the server hands out; returns the agent id.
pub async fn pair_with_bundle(app: &App, cfg: &Path) -> String {
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
pub fn add_sim_target(cfg: &Path, sim: &ProxmoxSim) {
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
