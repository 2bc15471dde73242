//! Scenario `fleet`: many idle agents on one node. The server runs as a child process (this
//! binary re-executed in server mode) so its memory and CPU are measured alone.

use crate::load;
use botmox_testkit::fleet::SimAgent;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Server mode: start a server from the environment and print its URL and admin.
pub fn serve_child() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let config = botmox_server::Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
        let server = botmox_server::Server::start(config).await?;
        let admin = server
            .bootstrap
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no bootstrap admin"))?;
        let mut out = std::io::stdout().lock();
        std::io::Write::write_all(
            &mut out,
            format!(
                "READY {} {} {}\n",
                server.url(),
                admin.email,
                admin.password
            )
            .as_bytes(),
        )?;
        drop(out);
        server.wait().await;
        anyhow::Ok(())
    })
}

struct ServerProcess {
    child: Child,
    url: String,
    email: String,
    password: String,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(std::env::current_exe()?)
            .arg("__server")
            .env("BOTMOX_LISTEN", "127.0.0.1:0")
            .env("BOTMOX_DATA_DIR", dir.path())
            .env("LOG_LEVEL", "error")
            .env("API_RATE_LIMIT_MAX", "0")
            .env("API_RATE_LIMIT_IP_MAX", "0")
            .env("PAIRING_RATE_LIMIT_PER_MINUTE", "100000000")
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines
                .next()
                .ok_or_else(|| anyhow::anyhow!("server exited before it was ready"))??;
            if let Some(rest) = line.strip_prefix("READY ") {
                // Keep draining the child's stdout: a closed pipe would fail its writes.
                std::thread::spawn(move || for _ in lines.by_ref() {});
                let mut parts = rest.split_whitespace();
                let (url, email, password) = (parts.next(), parts.next(), parts.next());
                return Ok(Self {
                    url: url.unwrap_or_default().to_owned(),
                    email: email.unwrap_or_default().to_owned(),
                    password: password.unwrap_or_default().to_owned(),
                    child,
                    _dir: dir,
                });
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .map(|s| {
            let after = s.rsplit(')').next().unwrap_or_default();
            let f: Vec<&str> = after.split_whitespace().collect();
            f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        })
        .unwrap_or(0)
}

pub fn run(agents: usize, idle_seconds: u64) -> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let line = rt.block_on(scenario(&server, agents, idle_seconds))?;
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
    Ok(())
}

async fn scenario(
    server: &ServerProcess,
    agents: usize,
    idle_seconds: u64,
) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    use anyhow::Context;
    let admin = crate::harness::login(&server.url, &server.email, &server.password)
        .await
        .context("logging in")?;
    let addr: std::net::SocketAddr = server.url.trim_start_matches("http://").parse()?;
    // Warm the server up so the baseline includes its steady-state allocations.
    load::run_get(
        addr,
        "/api/v1/auth/whoami",
        &admin,
        4,
        Duration::from_millis(200),
        Duration::from_secs(1),
    )
    .await
    .context("warming up")?;
    let baseline_kb = rss_kb(server.pid());

    let pair_started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tokens = Vec::with_capacity(agents);
    let mut pairing = Vec::new();
    for _ in 0..agents {
        let http = http.clone();
        let admin = admin.clone();
        let base = server.url.clone();
        let sem = sem.clone();
        pairing.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await?;
            let p: Value = http
                .post(format!("{base}/api/v1/agents/pairings"))
                .bearer_auth(&admin)
                .json(&json!({}))
                .send()
                .await?
                .json()
                .await?;
            let r: Value = http
                .post(format!("{base}/api/v1/agents/register"))
                .json(&json!({"pairing_code": p["data"]["pairing_code"]}))
                .send()
                .await?
                .json()
                .await?;
            r["data"]["agent_token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("no agent token: {r}"))
        }));
    }
    for p in pairing {
        tokens.push(p.await?.context("pairing")?);
    }
    let pair_secs = pair_started.elapsed().as_secs_f64();
    // Pairing leaves rows, caches and allocator slack behind; sample after it so the
    // sockets' own cost is measured apart.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let paired_kb = rss_kb(server.pid());

    let connected = Arc::new(AtomicUsize::new(0));
    let connect_started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(256));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<anyhow::Result<()>>(agents.max(1));
    for (i, token) in tokens.into_iter().enumerate() {
        let base = server.url.clone();
        let sem = sem.clone();
        let connected = connected.clone();
        let ready = ready_tx.clone();
        tokio::spawn(async move {
            let permit = sem.acquire_owned().await;
            let sim = SimAgent::connect(&base, &token, "").await;
            drop(permit);
            let mut sim = match sim {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready.send(Err(e)).await;
                    return;
                }
            };
            connected.fetch_add(1, Ordering::Relaxed);
            let _ = ready.send(Ok(())).await;
            // Heartbeats every 30 s, spread over the interval; reading answers the server's pings.
            let offset = Duration::from_millis((i as u64 * 30_000 / agents.max(1) as u64) % 30_000);
            let mut next_hb = tokio::time::Instant::now() + offset;
            loop {
                let wait = next_hb.saturating_duration_since(tokio::time::Instant::now());
                match sim.next(wait.max(Duration::from_millis(1))).await {
                    Ok(Some(_)) => {}
                    Ok(None) => return,
                    Err(_) if sim.closed => return,
                    Err(_) => {
                        if sim.send(json!({"type": "heartbeat"})).await.is_err() {
                            return;
                        }
                        next_hb += Duration::from_secs(30);
                    }
                }
            }
        });
    }
    drop(ready_tx);
    let mut failures = 0;
    for _ in 0..agents {
        match ready_rx.recv().await {
            Some(Ok(())) => {}
            _ => failures += 1,
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loaded_kb = rss_kb(server.pid());

    let ticks_before = cpu_ticks(server.pid());
    let idle_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
    let ticks = cpu_ticks(server.pid()).saturating_sub(ticks_before);
    let idle_cpu_pct = ticks as f64 / 100.0 / idle_started.elapsed().as_secs_f64() * 100.0;

    let alive = std::fs::metadata(format!("/proc/{}", server.pid())).is_ok();
    let whoami = load::run_get(
        addr,
        "/api/v1/auth/whoami",
        &admin,
        8,
        Duration::from_millis(500),
        Duration::from_secs(5),
    )
    .await
    .with_context(|| format!("whoami under load (server alive: {alive})"))?;
    let agents_listed: Value = http
        .get(format!("{}/api/v1/agents?limit=1", server.url))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let n = connected.load(Ordering::Relaxed).max(1) as f64;
    let per_agent = (loaded_kb.saturating_sub(baseline_kb)) as f64 * 1024.0 / n;
    let per_conn = (loaded_kb.saturating_sub(paired_kb)) as f64 * 1024.0 / n;
    Ok(json!({
        "scenario": "fleet",
        "backend": "sqlite",
        "agents": agents,
        "connected": connected.load(Ordering::Relaxed),
        "connect_failures": failures,
        "pairing_seconds": (pair_secs * 10.0).round() / 10.0,
        "connect_seconds": (connect_secs * 10.0).round() / 10.0,
        "server_rss_baseline_mb": baseline_kb / 1024,
        "server_rss_paired_mb": paired_kb / 1024,
        "server_rss_loaded_mb": loaded_kb / 1024,
        "rss_per_agent_incl_pairing_bytes": per_agent.round(),
        "rss_per_connection_bytes": per_conn.round(),
        "idle_seconds": idle_seconds,
        "idle_cpu_percent_of_one_core": (idle_cpu_pct * 10.0).round() / 10.0,
        "whoami_rps_under_fleet": whoami.rps().round(),
        "whoami_p50_ms": whoami.ms(0.5),
        "whoami_p99_ms": whoami.ms(0.99),
        "agents_online_sample": agents_listed["data"][0]["online"],
    }))
}
