//! Scenario `commands`: simulated agents on the WebSocket take commands through their whole
//! life (queued → dispatched → running → succeeded) while a client queues them over HTTP.

use crate::DbChoice;
use crate::harness::{BenchServer, backends, login};
use botmox_testkit::fleet::SimAgent;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

pub fn run(
    db: DbChoice,
    agents: usize,
    commands: usize,
    inflight: u32,
    producers: usize,
) -> anyhow::Result<()> {
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
        let line = client.block_on(scenario(&server, agents, commands, inflight, producers))?;
        let mut out = std::io::stdout().lock();
        std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
    }
    Ok(())
}

async fn scenario(
    server: &BenchServer,
    agents: usize,
    commands: usize,
    inflight: u32,
    producers: usize,
) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let admin = login(&server.url, &server.admin_email, &server.admin_password).await?;
    let mut ids = Vec::new();
    let mut sims = Vec::new();
    for _ in 0..agents {
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
            SimAgent::connect(&server.url, &token, &format!("max_inflight={inflight}")).await?,
        );
    }
    let assigned = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let per_agent = commands / agents;
    let total = per_agent * agents;
    let mut workers = Vec::new();
    for mut sim in sims {
        let assigned = assigned.clone();
        workers.push(tokio::spawn(async move {
            let mut done = 0;
            while done < per_agent {
                let frame = sim
                    .expect("agent.command.assigned", Duration::from_secs(60))
                    .await?;
                let cmd = frame["command"].clone();
                let sent = cmd["payload"]["sent_us"].as_u64().unwrap_or_default();
                assigned
                    .lock()
                    .await
                    .record(now_us().saturating_sub(sent).max(1))?;
                sim.ack(&cmd).await?;
                sim.result(&cmd, "succeeded", json!({"ok": true})).await?;
                done += 1;
            }
            // Drain the replies so the last results are recorded before we stop timing.
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut results = 0;
            while results < per_agent && Instant::now() < deadline {
                if sim
                    .expect("agent.command.result", Duration::from_secs(30))
                    .await
                    .is_ok()
                {
                    results += 1;
                }
            }
            anyhow::Ok(results)
        }));
    }
    let started = Instant::now();
    let producers = producers.max(1);
    let mut tasks = Vec::new();
    for p in 0..producers {
        let http = http.clone();
        let admin = admin.clone();
        let base = server.url.clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = p;
            while n < total {
                let agent = &ids[n % ids.len()];
                let resp = http
                    .post(format!("{base}/api/v1/vm-ops/commands"))
                    .bearer_auth(&admin)
                    .json(&json!({"agent_id": agent, "command_type": "proxmox.start", "payload": {"n": n, "sent_us": now_us()}}))
                    .send()
                    .await?;
                anyhow::ensure!(resp.status().as_u16() == 202, "enqueue failed: {}", resp.status());
                n += producers;
            }
            anyhow::Ok(())
        }));
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
        "backend": server.backend,
        "agents": agents,
        "max_inflight": inflight,
        "producers": producers,
        "commands": total,
        "completed": finished,
        "seconds": (elapsed * 100.0).round() / 100.0,
        "commands_per_sec": (finished as f64 / elapsed).round(),
        "enqueue_per_sec": (total as f64 / enqueue_secs).round(),
        "enqueue_to_assigned_p50_ms": ms(0.5),
        "enqueue_to_assigned_p95_ms": ms(0.95),
        "enqueue_to_assigned_p99_ms": ms(0.99),
    }))
}
