//! Fresh databases for tests: a SQLite file in a temporary directory, or a brand-new
//! PostgreSQL database that is dropped afterwards.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// `BOTMOX_TEST_POSTGRES_URL`, or the local trust-auth server.
pub fn postgres_admin_url() -> String {
    std::env::var("BOTMOX_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// True under CI, where nothing that needs PostgreSQL may skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A PostgreSQL database created for one test and dropped when this value is dropped.
pub struct FreshPostgres {
    pub url: String,
    pub name: String,
    admin_url: String,
}

impl FreshPostgres {
    /// Creates the database. Outside CI an unreachable server gives `Ok(None)` so a developer
    /// without PostgreSQL can still run the SQLite half; under CI it is an error.
    pub async fn create() -> anyhow::Result<Option<Self>> {
        let admin_url = postgres_admin_url();
        let mut conn = match PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(err) if !in_ci() => {
                eprintln!(
                    "PostgreSQL at {admin_url} unreachable ({err}); skipping the PostgreSQL half"
                );
                return Ok(None);
            }
            Err(err) => anyhow::bail!("PostgreSQL at {admin_url} is required under CI: {err}"),
        };
        let name = format!("botmox_t_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let url = with_database(&admin_url, &name)?;
        Ok(Some(Self {
            url,
            name,
            admin_url,
        }))
    }
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let mut parsed = reqwest::Url::parse(url)?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

impl Drop for FreshPostgres {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside async tests; a separate thread with its own runtime avoids blocking
        // the test's executor.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}
