//! Black-box harness: the real server on an ephemeral port over a fresh SQLite file or a fresh
//! PostgreSQL database, and a client that speaks the envelope.

#![allow(dead_code)]

use botmox_contract::auth::TokenPair;
use botmox_server::{Config, Server};
use botmox_testkit::db::FreshPostgres;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Generates `mod <name> { sqlite(); postgres(); }` running `async fn <name>(Db)` on each.
#[macro_export]
macro_rules! db_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Db::Postgres).await;
            }
        }
    };
}

/// Where a test app keeps its data; dropped (and the database with it) after the test.
pub struct Storage {
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub pg: Option<FreshPostgres>,
}

impl Storage {
    /// `None` when the PostgreSQL half is skipped (only outside CI).
    pub async fn new(db: Db) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        match db {
            Db::Sqlite => Some(Self {
                database_url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("botmox.db").display()
                ),
                dir,
                pg: None,
            }),
            Db::Postgres => {
                let pg = FreshPostgres::create().await.expect("fresh postgres")?;
                Some(Self {
                    database_url: pg.url.clone(),
                    dir,
                    pg: Some(pg),
                })
            }
        }
    }

    pub fn sqlite_file(&self) -> std::path::PathBuf {
        self.dir.path().join("botmox.db")
    }
}

pub struct TestApp {
    pub server: Server,
    pub base: String,
    pub http: reqwest::Client,
    pub admin_email: String,
    pub admin_password: String,
    pub storage: Storage,
}

pub fn base_vars(storage: &Storage) -> HashMap<String, String> {
    HashMap::from([
        ("BOTMOX_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        (
            "BOTMOX_DATA_DIR".to_owned(),
            storage.dir.path().display().to_string(),
        ),
        ("DATABASE_URL".to_owned(), storage.database_url.clone()),
        ("LOG_LEVEL".to_owned(), "warn".to_owned()),
    ])
}

impl TestApp {
    pub async fn spawn(db: Db) -> Option<Self> {
        Self::spawn_with(db, &[]).await
    }

    /// Starts a server with extra environment variables.
    pub async fn spawn_with(db: Db, extra: &[(&str, &str)]) -> Option<Self> {
        let storage = Storage::new(db).await?;
        let mut vars = base_vars(&storage);
        for (k, v) in extra {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        Some(Self::start(storage, vars).await)
    }

    pub async fn start(storage: Storage, vars: HashMap<String, String>) -> Self {
        let config = Config::from_map(&vars).expect("valid test config");
        let server = Server::start(config).await.expect("server starts");
        let admin = server
            .bootstrap
            .clone()
            .expect("first start bootstraps an admin");
        Self {
            base: server.url(),
            server,
            http: reqwest::Client::new(),
            admin_email: admin.email,
            admin_password: admin.password,
            storage,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; returns status, headers and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Reply::from(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> TokenPair {
        let reply = self
            .post(
                "/api/v1/auth/login",
                None,
                serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "login failed: {}", reply.body);
        serde_json::from_value(reply.body["data"].clone()).expect("token pair")
    }

    pub async fn admin_token(&self) -> String {
        self.login(&self.admin_email, &self.admin_password)
            .await
            .access_token
    }

    /// Creates a user through the service and returns a session token for it.
    pub async fn user_token(&self, email: &str, roles: &[&str]) -> String {
        self.user_token_in("default", email, roles).await
    }

    pub async fn user_token_in(&self, tenant: &str, email: &str, roles: &[&str]) -> String {
        let password = "correct-horse-battery";
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        self.server
            .state
            .auth
            .add_user(tenant, email, password, &roles)
            .await
            .expect("user created");
        self.login(email, password).await.access_token
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn from(resp: reqwest::Response) -> Self {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error envelope with this status and code.
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.body["success"],
            Value::Bool(false),
            "body: {}",
            self.body
        );
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "error without message: {}",
            self.body
        );
    }
}
