//! Scenario `http`: authenticated reads against a real server on SQLite and PostgreSQL —
//! `whoami` (auth + routing only), then the first page of the bots list over a seeded fleet.

use crate::harness::{BenchServer, backends, login};
use crate::{DbChoice, load};
use serde_json::json;
use std::time::Duration;

/// Bots created through the API before the list is measured.
const SEEDED_BOTS: usize = 10_000;
/// Concurrent create requests while seeding.
const SEED_CONCURRENCY: usize = 32;

pub fn run(db: DbChoice, connections: usize, seconds: u64) -> anyhow::Result<()> {
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("load")
        .enable_all()
        .build()?;
    for backend in backends(db) {
        let server = BenchServer::start(backend, &[])?;
        let token = client.block_on(login(
            &server.url,
            &server.admin_email,
            &server.admin_password,
        ))?;
        let measure = |path: &str| {
            client.block_on(load::run_get(
                server.addr(),
                path,
                &token,
                connections,
                Duration::from_secs(1),
                Duration::from_secs(seconds),
            ))
        };
        let whoami = measure("/api/v1/auth/whoami")?;
        print_line(
            &server,
            "GET /api/v1/auth/whoami",
            connections,
            seconds,
            &whoami,
            None,
        )?;

        let seeded = client.block_on(seed_bots(&server.url, &token))?;
        let bots = measure("/api/v1/bots?limit=100")?;
        print_line(
            &server,
            "GET /api/v1/bots?limit=100",
            connections,
            seconds,
            &bots,
            Some(seeded),
        )?;
    }
    Ok(())
}

fn print_line(
    server: &BenchServer,
    endpoint: &str,
    connections: usize,
    seconds: u64,
    result: &load::LoadResult,
    seeded: Option<Seeded>,
) -> anyhow::Result<()> {
    let mut line = json!({
        "scenario": "http",
        "endpoint": endpoint,
        "backend": server.backend,
        "connections": connections,
        "seconds": seconds,
        "requests": result.requests,
        "errors": result.errors,
        "requests_per_sec": (result.rps()).round(),
        "p50_ms": result.ms(0.50),
        "p99_ms": result.ms(0.99),
        "max_ms": result.ms(1.0),
    });
    if let Some(s) = seeded {
        line["bots"] = json!(s.bots);
        line["seed_secs"] = json!((s.secs * 100.0).round() / 100.0);
    }
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
    Ok(())
}

struct Seeded {
    bots: usize,
    secs: f64,
}

/// Creates `SEEDED_BOTS` bots through `POST /api/v1/bots`, `SEED_CONCURRENCY` at a time.
async fn seed_bots(base: &str, token: &str) -> anyhow::Result<Seeded> {
    let started = std::time::Instant::now();
    let http = reqwest::Client::new();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..SEED_CONCURRENCY {
        let (http, next) = (http.clone(), next.clone());
        let url = format!("{base}/api/v1/bots");
        let auth = format!("Bearer {token}");
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= SEEDED_BOTS {
                    return anyhow::Ok(());
                }
                http.post(&url)
                    .header("authorization", &auth)
                    .json(&bot_body(i))
                    .send()
                    .await?
                    .error_for_status()?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(Seeded {
        bots: SEEDED_BOTS,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// A fully filled bot, so list pages carry realistic rows.
fn bot_body(i: usize) -> serde_json::Value {
    json!({
        "name": format!("Farmer {i}"),
        "project_id": if i.is_multiple_of(2) { "wow_tbc" } else { "wow_midnight" },
        "status": "prepare",
        "last_seen": 1_700_000_000_000i64 + i as i64,
        "vm": {"name": format!("wow-{i:05}"), "ip": format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256)},
        "character": {"name": format!("Char{i}"), "level": 1 + (i % 80), "server": "Firemaw", "faction": "Horde", "race": "Orc", "class": "Shaman"},
        "person": {"first_name": "Ada", "last_name": "Lovelace", "birth_date": "10-12-1990", "country": "Ukraine", "city": "Kyiv", "address": "Main 1", "zip": "01001"},
        "account": {"email": format!("bot{i}@example.com"), "password": "s3cret pass"},
        "metadata": {"farm": {"all_farmed_gold": i}},
    })
}
