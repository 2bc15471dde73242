//! The `botmox serve` process as an operator runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(dir: &std::path::Path, extra: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_botmox"));
        cmd.arg("serve")
            .current_dir(dir)
            .env_remove("DATABASE_URL")
            .env("BOTMOX_LISTEN", "127.0.0.1:0")
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("botmox serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Reads printed lines until one contains `needle`.
    fn until(&self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no line with {needle:?}; got {seen:?}"));
            let done = line.contains(needle);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("exits")
    }
}

fn value_after(lines: &[String], key: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
        .trim()
        .to_owned()
}

#[tokio::test]
async fn serve_on_embedded_defaults_prints_an_admin_who_can_log_in() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Running::start(dir.path(), &[("BOTMOX_SHUTDOWN_GRACE_MS", "500")]);
    let lines = server.until("listening on");
    let password = value_after(&lines, "password:");
    let email = value_after(&lines, "email:");
    let url = value_after(&lines, "Bot-Mox listening on")
        .split_whitespace()
        .next()
        .expect("url")
        .to_owned();
    assert!(
        dir.path().join("data/botmox.db").exists(),
        "embedded SQLite in ./data"
    );
    assert!(
        dir.path().join("data/objects").is_dir(),
        "embedded objects in ./data/objects"
    );

    let http = reqwest::Client::new();
    let ready = http
        .get(format!("{url}/api/v1/health/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 200);
    let login = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    assert!(server.terminate().success(), "graceful exit on SIGTERM");

    // The second start finds the admin and prints no password.
    let again = Running::start(dir.path(), &[]);
    let lines = again.until("listening on");
    assert!(!lines.iter().any(|l| l.contains("password:")), "{lines:?}");
    again.terminate();
}

#[tokio::test]
async fn an_invalid_variable_stops_the_start_with_its_name() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_botmox"))
        .arg("serve")
        .current_dir(dir.path())
        .env("AUTH_MODE", "sometimes")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AUTH_MODE"), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing created on bad config"
    );
}

#[tokio::test]
async fn traces_are_exported_over_otlp_when_configured() {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, usize)>();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send((ct, body.len()));
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, collector).await;
    });

    let dir = tempfile::tempdir().expect("dir");
    let server = Running::start(dir.path(), &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]);
    let lines = server.until("listening on");
    let url = value_after(&lines, "Bot-Mox listening on")
        .split_whitespace()
        .next()
        .expect("url")
        .to_owned();
    let resp = reqwest::Client::new()
        .get(format!("{url}/api/v1/health/live"))
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    // Graceful exit flushes the batch.
    assert!(server.terminate().success());
    let (content_type, len) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("collector received spans")
        .expect("message");
    assert_eq!(content_type, "application/x-protobuf");
    assert!(len > 50, "a real span batch, got {len} bytes");
}
