//! Database connection (SQLite or PostgreSQL behind one SeaORM handle), migrations, and the
//! few places where the two dialects differ.

#[macro_use]
pub mod dual;
pub mod migrations;
pub mod time;

use anyhow::Context;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use sea_orm_migration::MigratorTrait;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The database handle every store uses.
#[derive(Clone, Debug)]
pub struct Db {
    pub conn: DatabaseConnection,
    pub backend: Backend,
    /// The SQLite file, when there is one: readiness checks that it still exists.
    pub sqlite_path: Option<PathBuf>,
}

impl Db {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let sqlite_path = match backend {
            Backend::Sqlite => sqlite_file(url),
            Backend::Postgres => None,
        };
        if let Some(parent) = sqlite_path.as_ref().and_then(|p| p.parent())
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating database directory {}", parent.display()))?;
        }
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5));
        match backend {
            Backend::Sqlite => {
                // One writer at a time is SQLite's rule; WAL lets readers run beside it.
                opts.max_connections(8)
                    .min_connections(1)
                    .map_sqlx_sqlite_opts(|o| {
                        o.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                            .busy_timeout(Duration::from_secs(10))
                            .foreign_keys(true)
                    });
            }
            Backend::Postgres => {
                opts.max_connections(20).min_connections(1);
            }
        }
        let conn = Database::connect(opts)
            .await
            .with_context(|| format!("connecting to the {} database", backend.name()))?;
        Ok(Db {
            conn,
            backend,
            sqlite_path,
        })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        migrations::Migrator::up(&self.conn, None)
            .await
            .context("applying database migrations")
    }

    /// True when every known migration has been applied.
    pub async fn migrations_applied(&self) -> anyhow::Result<bool> {
        let pending = migrations::Migrator::get_pending_migrations(&self.conn).await?;
        Ok(pending.is_empty())
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        if let Some(path) = &self.sqlite_path
            && !path.exists()
        {
            anyhow::bail!("database file {} is missing", path.display());
        }
        self.conn
            .execute_unprepared("SELECT 1")
            .await
            .context("SELECT 1")?;
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at `BEGIN` (IMMEDIATE),
    /// so a read-then-write sequence never fails on a stale snapshot and writers queue on the
    /// busy timeout; PostgreSQL ignores the mode (lock rows there with `lock_exclusive`).
    pub async fn begin_write(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
        self.conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    pub fn db_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Pool size and idle connections, for the metrics gauges.
    pub fn pool_stats(&self) -> (u32, usize) {
        match self.backend {
            Backend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            Backend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
        }
    }
}

fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_file_is_taken_from_the_url() {
        assert_eq!(
            sqlite_file("sqlite://./data/botmox.db?mode=rwc"),
            Some(PathBuf::from("./data/botmox.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
