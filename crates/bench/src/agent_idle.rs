//! Scenario `agent-idle`: the real agent binary, paired with a server and connected, left idle;
//! its resident memory, threads and CPU time are read from `/proc`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::DbChoice;
use crate::harness::{BenchServer, login};

/// A field of `/proc/<pid>/status` in kB (or a count, for `Threads`).
fn status_field(pid: u32, name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .map(|s| {
            let after = s.rsplit(')').next().unwrap_or_default();
            let f: Vec<&str> = after.split_whitespace().collect();
            f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        })
        .unwrap_or(0)
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `botmox-agent` next to this executable (both land in the same target directory).
fn default_agent_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe
        .parent()
        .context("no directory for the bench binary")?
        .join("botmox-agent"))
}

pub fn run(agent_bin: Option<PathBuf>, seconds: u64) -> anyhow::Result<()> {
    let bin = match agent_bin {
        Some(b) => b,
        None => default_agent_bin()?,
    };
    if !bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p botmox-agent)",
            bin.display()
        );
    }
    let server = BenchServer::start(DbChoice::Sqlite, &[])?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let cfg = dir.path().join("config.toml");
    let (bundle, token) = client.block_on(async {
        let token = login(&server.url, &server.admin_email, &server.admin_password).await?;
        let reply: Value = reqwest::Client::new()
            .post(format!("{}/api/v1/agents/pairings", server.url))
            .bearer_auth(&token)
            .json(&json!({"name": "idle-agent"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let bundle = reply["data"]["pairing_bundle"]
            .as_str()
            .context("no pairing bundle")?
            .to_owned();
        anyhow::Ok((bundle, token))
    })?;
    let paired = Command::new(&bin)
        .env("BOTMOX_AGENT_CONFIG", &cfg)
        .args(["pair", &bundle, "--server", &server.url])
        .stdout(Stdio::null())
        .status()?;
    if !paired.success() {
        bail!("pairing failed");
    }
    let agent = Child(
        Command::new(&bin)
            .env("BOTMOX_AGENT_CONFIG", &cfg)
            .env("BOTMOX_AGENT_LOG", "warn")
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?,
    );
    let pid = agent.0.id();
    // Connected: the server shows the metadata of a heartbeat the agent sent.
    let deadline = Instant::now() + Duration::from_secs(30);
    client.block_on(async {
        loop {
            let reply: Value = reqwest::Client::new()
                .get(format!("{}/api/v1/agents", server.url))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            let online = reply["data"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| !x["metadata"]["transport_mode"].is_null()));
            if online && status_field(pid, "Threads:") > 0 {
                break;
            }
            if Instant::now() > deadline {
                bail!("the agent never came online: {reply}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::Ok(())
    })?;
    // Let start-up settle (first heartbeat, handshake buffers) before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let rss_start = status_field(pid, "VmRSS:");
    let ticks_start = cpu_ticks(pid);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let elapsed = started.elapsed().as_secs_f64();
    let ticks = cpu_ticks(pid).saturating_sub(ticks_start);
    let line = json!({
        "scenario": "agent-idle",
        "idle_seconds": seconds,
        "rss_kb_start": rss_start,
        "rss_kb_end": status_field(pid, "VmRSS:"),
        "rss_kb_peak": status_field(pid, "VmHWM:"),
        "threads": status_field(pid, "Threads:"),
        "cpu_ms": ticks * 10,
        "cpu_percent_of_one_core": (ticks as f64 / 100.0) / elapsed * 100.0,
        "alive": agent.0.id() == pid && std::fs::metadata(format!("/proc/{pid}")).is_ok(),
    });
    drop(agent);
    drop(server);
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
    Ok(())
}
