//! Starts a server for a scenario on its own runtime, so the load generator's runtime and the
//! server's do not share worker threads.

use crate::DbChoice;
use botmox_server::{Config, Server};
use botmox_testkit::db::FreshPostgres;
use std::collections::HashMap;

pub struct BenchServer {
    pub url: String,
    pub admin_email: String,
    pub admin_password: String,
    pub backend: &'static str,
    runtime: Option<tokio::runtime::Runtime>,
    server: Option<Server>,
    _dir: tempfile::TempDir,
    _pg: Option<FreshPostgres>,
}

pub fn backends(choice: DbChoice) -> Vec<DbChoice> {
    match choice {
        DbChoice::Both => vec![DbChoice::Sqlite, DbChoice::Postgres],
        one => vec![one],
    }
}

impl BenchServer {
    pub fn start(db: DbChoice, extra: &[(&str, &str)]) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("server")
            .enable_all()
            .build()?;
        let dir = tempfile::tempdir()?;
        let (url, pg, backend) = match db {
            DbChoice::Postgres => {
                let pg = runtime
                    .block_on(FreshPostgres::create())?
                    .ok_or_else(|| anyhow::anyhow!("PostgreSQL is not reachable"))?;
                (pg.url.clone(), Some(pg), "postgres")
            }
            _ => (
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("botmox.db").display()
                ),
                None,
                "sqlite",
            ),
        };
        let mut vars: HashMap<String, String> = HashMap::from([
            ("BOTMOX_LISTEN".into(), "127.0.0.1:0".into()),
            ("BOTMOX_DATA_DIR".into(), dir.path().display().to_string()),
            ("DATABASE_URL".into(), url),
            ("LOG_LEVEL".into(), "error".into()),
            // The load comes from one address and one token: budgets would cap the figures.
            ("API_RATE_LIMIT_MAX".into(), "0".into()),
            ("API_RATE_LIMIT_IP_MAX".into(), "0".into()),
        ]);
        for (k, v) in extra {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        let config = Config::from_map(&vars).map_err(|e| anyhow::anyhow!("{e}"))?;
        let server = runtime.block_on(Server::start(config))?;
        let admin = server
            .bootstrap
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no bootstrap admin"))?;
        Ok(Self {
            url: server.url(),
            admin_email: admin.email,
            admin_password: admin.password,
            backend,
            runtime: Some(runtime),
            server: Some(server),
            _dir: dir,
            _pg: pg,
        })
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server
            .as_ref()
            .map(|s| s.addr)
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        if let (Some(rt), Some(server)) = (self.runtime.take(), self.server.take()) {
            rt.block_on(server.stop());
            rt.shutdown_background();
        }
    }
}

/// Logs in through the API and returns an access token.
pub async fn login(base: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    reply["data"]["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no access token in {reply}"))
}
