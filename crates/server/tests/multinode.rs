//! Several server nodes on one PostgreSQL database: cross-node delivery, SSE on any node, and
//! a node killed with SIGKILL in the middle of a run.

mod common;

use botmox_server::{Config, Server};
use botmox_testkit::fleet::SimAgent;
use common::{Db, Storage, TestApp, base_vars};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

async fn pair(base: &str, http: &reqwest::Client, admin: &str) -> (String, String) {
    let p: Value = http
        .post(format!("{base}/api/v1/agents/pairings"))
        .bearer_auth(admin)
        .json(&json!({}))
        .send()
        .await
        .expect("pair")
        .json()
        .await
        .expect("json");
    let code = p["data"]["pairing_code"].as_str().expect("code");
    let r: Value = http
        .post(format!("{base}/api/v1/agents/register"))
        .json(&json!({"pairing_code": code, "machine_name": "hv"}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    (
        r["data"]["id"].as_str().expect("id").to_owned(),
        r["data"]["agent_token"].as_str().expect("token").to_owned(),
    )
}

async fn queue(base: &str, http: &reqwest::Client, admin: &str, agent: &str, n: usize) -> String {
    let r = http
        .post(format!("{base}/api/v1/vm-ops/commands"))
        .bearer_auth(admin)
        .json(&json!({"agent_id": agent, "command_type": "proxmox.vm-status", "payload": {"vmid": n}}))
        .send()
        .await
        .expect("queue");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = r.json().await.expect("json");
    v["data"]["id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_queued_on_one_node_reaches_an_agent_on_another() {
    let Some(storage) = Storage::new(Db::Postgres).await else {
        return;
    };
    let vars = base_vars(&storage);
    let url = storage.database_url.clone();
    let a = TestApp::start(storage, vars.clone()).await;
    let b = Server::start(Config::from_map(&vars).expect("config"))
        .await
        .expect("node b");
    let b_url = b.url();
    let admin = a.admin_token().await;
    let (agent_id, agent_token) = pair(&a.base, &a.http, &admin).await;
    let mut on_b = SimAgent::connect(&b_url, &agent_token, "")
        .await
        .expect("agent on b");

    // SSE on node B follows what node A writes.
    let sse = a
        .http
        .get(format!("{b_url}/api/v1/vm-ops/events"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("sse");
    assert_eq!(sse.status(), StatusCode::OK);

    let started = Instant::now();
    let id = queue(&a.base, &a.http, &admin, &agent_id, 1).await;
    let assigned = on_b
        .expect("agent.command.assigned", T)
        .await
        .expect("delivered across nodes");
    let latency = started.elapsed();
    assert_eq!(assigned["command"]["id"], id.as_str());
    assert!(
        latency < Duration::from_secs(2),
        "cross-node delivery took {latency:?}"
    );

    use futures::StreamExt;
    let mut body = sse.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + T;
    while !text.contains(&id) {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(Ok(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            _ => panic!("node B never streamed node A's event: {text}"),
        }
    }

    // Two sockets of the agent, one per node, many commands: each delivered exactly once.
    let mut on_a = SimAgent::connect(&a.base, &agent_token, "max_inflight=64")
        .await
        .expect("agent on a");
    let mut on_b2 = SimAgent::connect(&b_url, &agent_token, "max_inflight=64")
        .await
        .expect("second on b");
    let mut ids = Vec::new();
    for n in 0..30 {
        let via = if n % 2 == 0 { &a.base } else { &b_url };
        ids.push(queue(via, &a.http, &admin, &agent_id, n + 10).await);
    }
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.len() < ids.len() && Instant::now() < deadline {
        let (x, y) = tokio::join!(
            on_a.next(Duration::from_millis(300)),
            on_b2.next(Duration::from_millis(300))
        );
        for f in [x, y].into_iter().flatten().flatten() {
            if f["type"] == "agent.command.assigned" {
                seen.push(f["command"]["id"].as_str().expect("id").to_owned());
            }
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "delivered twice");
    ids.sort();
    assert_eq!(unique, ids);
    b.stop().await;
    let _ = url;
}

/// A `botmox serve` process.
struct Node {
    child: Child,
    url: String,
    password: Option<String>,
}

impl Node {
    // The child is owned by the returned `Node`, whose `Drop` kills and reaps it; only a
    // failing test (panic) can leave it to the test harness.
    #[allow(clippy::zombie_processes)]
    fn start(db_url: &str, dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_botmox"))
            .arg("serve")
            .current_dir(dir)
            .env("DATABASE_URL", db_url)
            .env("BOTMOX_LISTEN", "127.0.0.1:0")
            .env("LOG_LEVEL", "error")
            .env("BOTMOX_HEARTBEAT_FLUSH_MS", "100")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut password = None;
        loop {
            let line = lines
                .next()
                .expect("node printed its address")
                .expect("line");
            if let Some(p) = line.trim().strip_prefix("password:") {
                password = Some(p.trim().to_owned());
            }
            if let Some(rest) = line.strip_prefix("Bot-Mox listening on ") {
                let url = rest.split_whitespace().next().expect("url").to_owned();
                return Self {
                    child,
                    url,
                    password,
                };
            }
        }
    }

    fn kill9(mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_node_mid_run_loses_no_command() {
    let Some(storage) = Storage::new(Db::Postgres).await else {
        return;
    };
    let node_a = Node::start(&storage.database_url, storage.dir.path());
    let node_b = Node::start(&storage.database_url, storage.dir.path());
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/v1/auth/login", node_b.url))
        .json(&json!({"email": "admin@botmox.local", "password": node_a.password.clone().expect("first node bootstraps")}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let admin = login["data"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let (agent_id, agent_token) = pair(&node_b.url, &http, &admin).await;

    let mut agent = SimAgent::connect(&node_a.url, &agent_token, "max_inflight=4")
        .await
        .expect("agent on a");
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(queue(&node_b.url, &http, &admin, &agent_id, n).await);
    }
    // Finish two, start two more and keep them running, then the node dies.
    let mut held = Vec::new();
    for i in 0..4 {
        let cmd = agent
            .expect("agent.command.assigned", T)
            .await
            .expect("pushed")["command"]
            .clone();
        agent.ack(&cmd).await.expect("ack");
        agent
            .expect("agent.command.ack", T)
            .await
            .expect("ack echo");
        if i < 2 {
            agent
                .result(&cmd, "succeeded", json!({"by": "first"}))
                .await
                .expect("result");
            agent
                .expect("agent.command.result", T)
                .await
                .expect("recorded");
        } else {
            held.push(cmd);
        }
    }
    node_a.kill9();

    let mut agent = SimAgent::connect(&node_b.url, &agent_token, "max_inflight=4")
        .await
        .expect("agent on b");
    let holding: Vec<Value> = held
        .iter()
        .map(|c| json!({"command_id": c["id"], "lease_epoch": c["lease_epoch"]}))
        .collect();
    agent
        .send(json!({"type": "agent.sync", "holding": holding}))
        .await
        .expect("sync");
    agent.expect("agent.sync", T).await.expect("reconciled");
    for cmd in &held {
        agent
            .result(cmd, "succeeded", json!({"by": "held"}))
            .await
            .expect("result");
        agent
            .expect("agent.command.result", T)
            .await
            .expect("recorded after failover");
        // Re-sending after a reconnect is harmless.
        agent
            .result(cmd, "succeeded", json!({"by": "resent"}))
            .await
            .expect("resend");
        agent
            .expect("agent.command.result", T)
            .await
            .expect("idempotent");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list: Value = http
            .get(format!(
                "{}/api/v1/vm-ops/commands?agent_id={agent_id}&limit=100",
                node_b.url
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let rows = list["data"].as_array().cloned().unwrap_or_default();
        if rows.iter().all(|r| r["status"] == "succeeded") && rows.len() == ids.len() {
            for r in &rows {
                if held.iter().any(|h| h["id"] == r["id"]) {
                    assert_eq!(r["result"], json!({"by": "held"}), "result recorded once");
                }
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "commands left unfinished: {rows:?}"
        );
        if let Ok(cmd) = agent.run_next(Duration::from_secs(2)).await {
            assert!(ids.iter().any(|i| cmd["id"] == i.as_str()));
        }
    }
    // Exactly one terminal event per command in the durable log.
    let pool = sqlx::PgPool::connect(&storage.database_url)
        .await
        .expect("pool");
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT command_id, COUNT(*) FROM command_events WHERE payload LIKE '%\"status\":\"succeeded\"%' GROUP BY command_id",
    )
    .fetch_all(&pool)
    .await
    .expect("counts");
    assert_eq!(counts.len(), ids.len());
    assert!(counts.iter().all(|(_, n)| *n == 1), "{counts:?}");
    pool.close().await;
    drop(node_b);
}
