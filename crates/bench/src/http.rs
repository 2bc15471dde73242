//! Scenario `http`: authenticated reads against a real server on SQLite and PostgreSQL.

use crate::harness::{BenchServer, backends, login};
use crate::{DbChoice, load};
use serde_json::json;
use std::time::Duration;

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
        let result = client.block_on(load::run_get(
            server.addr(),
            "/api/v1/auth/whoami",
            &token,
            connections,
            Duration::from_secs(1),
            Duration::from_secs(seconds),
        ))?;
        let line = json!({
            "scenario": "http",
            "endpoint": "GET /api/v1/auth/whoami",
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
        let mut out = std::io::stdout().lock();
        std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
    }
    Ok(())
}
