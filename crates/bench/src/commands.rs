//! Scenario `commands`: simulated agents on the WebSocket take commands through their whole
//! life (queued → dispatched → running → succeeded) while a client queues them over HTTP.
//!
//! Two modes: throughput (queue everything as fast as possible, in batches through
//! `POST /vm-ops/commands/batch` or one by one) and latency (`--rate`: single commands at a
//! fixed rate, open loop, so the figure is the delivery delay of an unsaturated bus).

use crate::DbChoice;
use crate::harness::{BenchServer, backends, login};
use botmox_testkit::fleet::SimAgent;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

pub struct Load {
    pub agents: usize,
    pub commands: usize,
    pub inflight: u32,
    pub producers: usize,
    pub batch: usize,
    pub rate: Option<u32>,
    pub seconds: u64,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

pub fn run(db: DbChoice, load: Load) -> anyhow::Result<()> {
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    for backend in backends(db) {
        let server = BenchServer::start(
            backend,
            &[
                ("BOTMOX_HEARTBEAT_FLUSH_MS", "1000"),
                ("PAIRING_RATE_LIMIT_PER_MINUTE", "1000000"),
            ],
        )?;
        let line = client.block_on(scenario(&server, &load))?;
        let mut out = std::io::stdout().lock();
        std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
    }
    Ok(())
}

fn command(agent: &str, n: usize) -> Value {
    json!({"agent_id": agent, "command_type": "proxmox.start", "payload": {"n": n, "sent_us": now_us()}})
}

async fn enqueue_one(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    body: Value,
) -> anyhow::Result<()> {
    let resp = http
        .post(format!("{base}/api/v1/vm-ops/commands"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(
        resp.status().as_u16() == 202,
        "enqueue failed: {}",
        resp.status()
    );
    Ok(())
}

async fn scenario(server: &BenchServer, load: &Load) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let admin = login(&server.url, &server.admin_email, &server.admin_password).await?;
    let mut ids = Vec::new();
    let mut sims = Vec::new();
    for _ in 0..load.agents {
        let p: Value = http
            .post(format!("{}/api/v1/agents/pairings", server.url))
            .bearer_auth(&admin)
            .json(&json!({}))
            .send()
            .await?
            .json()
            .await?;
        let r: Value = http
            .post(format!("{}/api/v1/agents/register", server.url))
            .json(&json!({"pairing_code": p["data"]["pairing_code"]}))
            .send()
            .await?
            .json()
            .await?;
        let token = r["data"]["agent_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        ids.push(r["data"]["id"].as_str().unwrap_or_default().to_owned());
        sims.push(
            SimAgent::connect(
                &server.url,
                &token,
                &format!("max_inflight={}", load.inflight),
            )
            .await?,
        );
    }
    let assigned = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let wanted = match load.rate {
        Some(rate) => rate as usize * load.seconds as usize,
        None => load.commands,
    };
    let per_agent = wanted / load.agents;
    let total = per_agent * load.agents;
    let mut workers = Vec::new();
    for mut sim in sims {
        let assigned = assigned.clone();
        workers.push(tokio::spawn(async move {
            let (mut got, mut results) = (0, 0);
            while results < per_agent {
                let Some(frame) = sim.next(Duration::from_secs(60)).await? else {
                    anyhow::bail!("socket closed after {results} results");
                };
                match frame["type"].as_str() {
                    Some("agent.command.assigned") => {
                        let cmd = &frame["command"];
                        let sent = cmd["payload"]["sent_us"].as_u64().unwrap_or_default();
                        assigned
                            .lock()
                            .await
                            .record(now_us().saturating_sub(sent).max(1))?;
                        sim.ack_and_succeed(cmd, json!({"ok": true})).await?;
                        got += 1;
                    }
                    Some("agent.command.result") => results += 1,
                    Some("error") => anyhow::bail!("error frame: {frame}"),
                    _ => {}
                }
            }
            anyhow::ensure!(got == per_agent, "{got} assigned, {per_agent} expected");
            anyhow::Ok(results)
        }));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    match load.rate {
        Some(rate) => {
            // Open loop: request k leaves at start + k/rate whatever happened to the others.
            let gap = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
            for n in 0..total {
                tokio::time::sleep_until((started + gap * n as u32).into()).await;
                let (http, admin, base) = (http.clone(), admin.clone(), server.url.clone());
                let body = command(&ids[n % ids.len()], n);
                tasks.push(tokio::spawn(async move {
                    enqueue_one(&http, &base, &admin, body).await
                }));
            }
        }
        None => {
            let producers = load.producers.max(1);
            let batch = load.batch.max(1);
            for p in 0..producers {
                let (http, admin, base, ids) =
                    (http.clone(), admin.clone(), server.url.clone(), ids.clone());
                tasks.push(tokio::spawn(async move {
                    // Producer p queues items p, p+P, p+2P, … in requests of `batch`.
                    let mine: Vec<usize> = (p..total).step_by(producers).collect();
                    for chunk in mine.chunks(batch) {
                        if batch == 1 {
                            enqueue_one(
                                &http,
                                &base,
                                &admin,
                                command(&ids[chunk[0] % ids.len()], chunk[0]),
                            )
                            .await?;
                            continue;
                        }
                        let items: Vec<Value> = chunk
                            .iter()
                            .map(|n| command(&ids[n % ids.len()], *n))
                            .collect();
                        let resp: Value = http
                            .post(format!("{base}/api/v1/vm-ops/commands/batch"))
                            .bearer_auth(&admin)
                            .json(&json!({ "commands": items }))
                            .send()
                            .await?
                            .json()
                            .await?;
                        let queued = resp["data"]["queued"].as_u64().unwrap_or_default();
                        anyhow::ensure!(queued as usize == chunk.len(), "batch refused: {resp}");
                    }
                    anyhow::Ok(())
                }));
            }
        }
    }
    for t in tasks {
        t.await??;
    }
    let enqueue_secs = started.elapsed().as_secs_f64();
    let mut finished = 0;
    for w in workers {
        finished += w.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let h = assigned.lock().await;
    let ms = |q: f64| (h.value_at_quantile(q) as f64 / 1000.0 * 100.0).round() / 100.0;
    Ok(json!({
        "scenario": "commands",
        "mode": if load.rate.is_some() { "latency" } else { "throughput" },
        "backend": server.backend,
        "agents": load.agents,
        "max_inflight": load.inflight,
        "producers": if load.rate.is_some() { 0 } else { load.producers },
        "batch": if load.rate.is_some() { 1 } else { load.batch.max(1) },
        "rate": load.rate,
        "commands": total,
        "completed": finished,
        "seconds": (elapsed * 100.0).round() / 100.0,
        "commands_per_sec": (finished as f64 / elapsed).round(),
        "enqueue_per_sec": (total as f64 / enqueue_secs).round(),
        "enqueue_to_assigned_p50_ms": ms(0.5),
        "enqueue_to_assigned_p95_ms": ms(0.95),
        "enqueue_to_assigned_p99_ms": ms(0.99),
        "enqueue_to_assigned_max_ms": ms(1.0),
    }))
}
