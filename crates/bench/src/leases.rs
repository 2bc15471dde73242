//! Scenario `leases`: the delivery chain's hot path. Each round trip takes an execution lease
//! (`POST /api/v1/license/lease`) and resolves the assigned binary with it
//! (`POST /api/v1/artifacts/resolve-download`), as an agent does before every run.

use crate::DbChoice;
use crate::harness::{BenchServer, backends, login};
use crate::load::LoadResult;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

const VM_UUID: &str = "bench-vm-0001";
const MODULE: &str = "farm";
const LEASE_SECRET: &str = "bench-lease-secret-0123456789abcdef0123456789";

pub fn run(db: DbChoice, concurrency: usize, seconds: u64) -> anyhow::Result<()> {
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("load")
        .enable_all()
        .build()?;
    for backend in backends(db) {
        let server = BenchServer::start(backend, &[("LICENSE_LEASE_SECRET", LEASE_SECRET)])?;
        let result = client.block_on(async {
            let token = login(&server.url, &server.admin_email, &server.admin_password).await?;
            let http = reqwest::Client::new();
            setup(&http, &server.url, &token).await?;
            round_trips(
                &http,
                &server.url,
                &token,
                concurrency,
                Duration::from_secs(1),
                Duration::from_secs(seconds),
            )
            .await
        })?;
        let line = json!({
            "scenario": "leases",
            "endpoints": "POST /api/v1/license/lease + POST /api/v1/artifacts/resolve-download",
            "backend": server.backend,
            "concurrency": concurrency,
            "seconds": seconds,
            "round_trips": result.requests,
            "errors": result.errors,
            "round_trips_per_sec": result.rps().round(),
            "p50_ms": result.ms(0.50),
            "p99_ms": result.ms(0.99),
            "max_ms": result.ms(1.0),
        });
        let mut out = std::io::stdout().lock();
        std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
    }
    Ok(())
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let resp = http
        .request(method, &url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = resp.status();
    let reply: Value = resp.json().await?;
    if !status.is_success() {
        anyhow::bail!("{url}: {status} {reply}");
    }
    Ok(reply["data"].clone())
}

/// The admin leases for itself: a registered VM, a perpetual license, the `farm`
/// entitlement, and an uploaded release assigned to it.
async fn setup(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<()> {
    use reqwest::Method;
    let me = http
        .get(format!("{base}/api/v1/auth/whoami"))
        .bearer_auth(token)
        .send()
        .await?
        .json::<Value>()
        .await?;
    let uid = me["data"]["uid"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no uid in {me}"))?
        .to_owned();
    call(
        http,
        Method::POST,
        format!("{base}/api/v1/vm/register"),
        token,
        json!({"vm_uuid": VM_UUID}),
    )
    .await?;
    call(
        http,
        Method::POST,
        format!("{base}/api/v1/license/licenses"),
        token,
        json!({"user_id": uid, "type": "perpetual"}),
    )
    .await?;
    call(
        http,
        Method::PUT,
        format!("{base}/api/v1/license/entitlements/{uid}"),
        token,
        json!({"modules": [MODULE]}),
    )
    .await?;
    let binary: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 251) as u8).collect();
    let release = call(
        http,
        Method::POST,
        format!("{base}/api/v1/artifacts/releases"),
        token,
        json!({"module": MODULE, "platform": "windows", "version": "1.0.0",
               "sha256": hex::encode(Sha256::digest(&binary)), "size_bytes": binary.len(),
               "file_name": "runner.exe"}),
    )
    .await?;
    let release_id = release["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no release id in {release}"))?
        .to_owned();
    let up = http
        .put(format!(
            "{base}/api/v1/artifacts/releases/{release_id}/binary"
        ))
        .bearer_auth(token)
        .body(binary)
        .send()
        .await?;
    if !up.status().is_success() {
        anyhow::bail!("upload: {} {}", up.status(), up.text().await?);
    }
    call(
        http,
        Method::POST,
        format!("{base}/api/v1/artifacts/assign"),
        token,
        json!({"user_id": uid, "module": MODULE, "platform": "windows", "release_id": release_id}),
    )
    .await?;
    Ok(())
}

/// One lease + resolve; true when both succeeded.
async fn round_trip(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<bool> {
    let lease = http
        .post(format!("{base}/api/v1/license/lease"))
        .bearer_auth(token)
        .json(
            &json!({"vm_uuid": VM_UUID, "agent_id": "agent-1", "runner_id": "runner-1",
                      "module": MODULE}),
        )
        .send()
        .await?;
    if !lease.status().is_success() {
        lease.bytes().await?;
        return Ok(false);
    }
    let body: Value = lease.json().await?;
    let Some(lease_token) = body["data"]["token"].as_str() else {
        return Ok(false);
    };
    let resolved = http
        .post(format!("{base}/api/v1/artifacts/resolve-download"))
        .bearer_auth(token)
        .json(
            &json!({"lease_token": lease_token, "vm_uuid": VM_UUID, "module": MODULE,
                      "platform": "windows"}),
        )
        .send()
        .await?;
    let ok = resolved.status().is_success();
    resolved.bytes().await?;
    Ok(ok)
}

/// `concurrency` closed loops of round trips for `warmup + duration`, measuring `duration`.
async fn round_trips(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    // Fail fast on a broken set-up rather than report a run of errors.
    if !round_trip(http, base, token).await? {
        anyhow::bail!("a lease + resolve round trip failed before the run");
    }
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (http, base, token) = (http.clone(), base.to_owned(), token.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let (mut ok, mut errors) = (0u64, 0u64);
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let good = round_trip(&http, &base, &token).await.unwrap_or(false);
                if sent >= measure_from {
                    if good {
                        ok += 1;
                        hist.record(sent.elapsed().as_micros().max(1) as u64)?;
                    } else {
                        errors += 1;
                    }
                }
            }
            anyhow::Ok((hist, ok, errors))
        }));
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut requests, mut errors) = (0, 0);
    for t in tasks {
        let (h, ok, err) = t.await??;
        histogram.add(h)?;
        requests += ok;
        errors += err;
    }
    Ok(LoadResult {
        requests,
        errors,
        elapsed: duration,
        histogram,
    })
}
