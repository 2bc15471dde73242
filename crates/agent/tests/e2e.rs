//! The real agent binary against the real server (in-process, SQLite) and the Proxmox simulator:
//! pair with a bundle, add the simulator as a pinned target, run commands, get revoked.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use botmox_testkit::proxmox::{ProxmoxSim, SimConfig};
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_pairs_runs_proxmox_commands_and_stops_when_revoked() {
    let app = start_server().await;
    let sim = ProxmoxSim::start(SimConfig::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config_path(&dir);

    let agent_id = pair_with_bundle(&app, &cfg).await;
    add_sim_target(&cfg, &sim);
    let mut status_cmd = agent_cmd(&cfg);
    status_cmd.arg("status");
    let status_out = run_ok(status_cmd, None);
    assert!(!status_out.contains("proxmox-sim\""), "{status_out}");
    assert!(!status_out.contains("bma_"), "{status_out}");
    assert!(status_out.contains("pinned"), "{status_out}");

    let mut run = agent_cmd(&cfg);
    run.arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut agent = Agent(run.spawn().expect("agent runs"));

    let newid = 4321u32;
    let clone = app
        .queue(
            &agent_id,
            "proxmox.clone",
            json!({"templateVmId": 9000, "newid": newid, "name": "bot-e2e", "full": true}),
        )
        .await;
    let done = app.finished(&clone).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["vmid"], newid);
    assert!(
        done["result"]["upid"]
            .as_str()
            .is_some_and(|u| u.starts_with("UPID:")),
        "{done}"
    );

    let update = app
        .queue(&agent_id, "proxmox.update-config", json!({"vmid": newid, "config": {"cores": 4, "memory": 8192, "description": "from e2e"}}))
        .await;
    let done = app.finished(&update).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    let start = app
        .queue(&agent_id, "proxmox.start", json!({"vmid": newid}))
        .await;
    let done = app.finished(&start).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    let vm = sim.vm("pve", newid).expect("the clone exists");
    assert_eq!(vm.name.as_deref(), Some("bot-e2e"));
    assert_eq!(vm.config.get("cores").map(String::as_str), Some("4"));
    assert_eq!(vm.config.get("memory").map(String::as_str), Some("8192"));
    assert_eq!(vm.status.as_str(), "running");

    // Read-only commands and an unknown type.
    let st = app
        .queue(&agent_id, "proxmox.vm-status", json!({"vmid": newid}))
        .await;
    let done = app.finished(&st).await;
    assert_eq!(done["result"]["status"], "running", "{done}");
    let unknown = app.queue(&agent_id, "syncthing.scan", json!({})).await;
    let done = app.finished(&unknown).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["error_message"]
            .as_str()
            .is_some_and(|m| m.starts_with("UNKNOWN_COMMAND_TYPE")),
        "{done}"
    );

    // Revoking the agent stops the process.
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/agents/{agent_id}/revoke"),
            Some(json!({"reason": "e2e"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let deadline = std::time::Instant::now() + T;
    let code = loop {
        if let Some(s) = agent.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the agent kept running after revoke"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(code.code(), Some(3), "{code:?}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_an_idle_agent_cleanly() {
    let app = start_server().await;
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config_path(&dir);
    let (_, p) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/agents/pairings",
            Some(json!({})),
        )
        .await;
    let uri = p["data"]["pairing_uri"].as_str().expect("uri").to_owned();
    let mut pair = agent_cmd(&cfg);
    pair.args(["pair", &uri, "--server", &app.base]);
    run_ok(pair, None);
    let mut run = agent_cmd(&cfg);
    run.arg("run").stdout(Stdio::null()).stderr(Stdio::piped());
    let mut agent = Agent(run.spawn().expect("agent runs"));
    // Wait until the agent process holds its WebSocket (registration alone already counts as
    // "seen", so "online" would not prove the process is up and handling signals).
    let deadline = std::time::Instant::now() + T;
    while app._server.state.bus.local_session_total() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "agent never connected its socket"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = agent.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + T;
    let code = loop {
        if let Some(s) = agent.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(code.success(), "{code:?}");
}

/// SSH and the provisioning ISO through the server and the agent process: a real sshd with a
/// pinned host key and password auth, the ISO uploaded to the simulator and attached. The
/// agent's log never shows the SSH password or the ISO payload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_and_provision_iso_commands_run_through_the_server() {
    let Some(sshd) = botmox_testkit::sshd::Sshd::start().expect("sshd") else {
        return;
    };
    let app = start_server().await;
    let sim = ProxmoxSim::start(SimConfig::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config_path(&dir);
    let agent_id = pair_with_bundle(&app, &cfg).await;
    add_sim_target(&cfg, &sim);
    let port = sshd.port.to_string();
    let mut ssh = agent_cmd(&cfg);
    ssh.args([
        "target",
        "ssh",
        "sim",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--user",
        botmox_testkit::sshd::TEST_USER,
        "--password",
        "--host-key",
        &sshd.host_key_fingerprint,
    ]);
    run_ok(
        ssh,
        Some(&format!("{}\n", botmox_testkit::sshd::TEST_PASSWORD)),
    );

    let log_path = dir.path().join("agent.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut run = agent_cmd(&cfg);
    run.env("BOTMOX_AGENT_LOG", "debug")
        .arg("run")
        .stdout(Stdio::null())
        .stderr(log);
    let _agent = Agent(run.spawn().expect("agent runs"));

    let probe = app.queue(&agent_id, "proxmox.ssh-test", json!({})).await;
    let done = app.finished(&probe).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["connected"], true, "{done}");
    assert_eq!(done["result"]["code"], "OK");

    let forbidden = app
        .queue(
            &agent_id,
            "proxmox.ssh-exec",
            json!({"command": "cat /etc/shadow", "allowUnsafe": true}),
        )
        .await;
    let done = app.finished(&forbidden).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["error_message"]
            .as_str()
            .is_some_and(|m| m.starts_with("SSH_COMMAND_FORBIDDEN:")),
        "{done}"
    );

    let secret_marker = "bmp_e2e_provisioning_token_5f1c";
    let provision = base64::engine::general_purpose::STANDARD
        .encode(format!("{{\"token\":\"{secret_marker}\"}}"));
    let iso = app
        .queue(
            &agent_id,
            "proxmox.create-provision-iso",
            json!({"vmid": 101, "files": {"provision.json": provision}}),
        )
        .await;
    let done = app.finished(&iso).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let iso_path = done["result"]["isoPath"]
        .as_str()
        .expect("isoPath")
        .to_owned();
    assert_eq!(iso_path, "local:iso/vm-101-provision.iso");
    let bytes = sim.file_bytes(&iso_path).expect("uploaded");
    assert!(
        String::from_utf8_lossy(&bytes).contains(secret_marker),
        "the file is on the ISO"
    );
    let attach = app
        .queue(
            &agent_id,
            "proxmox.attach-cdrom",
            json!({"vmid": 101, "isoPath": iso_path}),
        )
        .await;
    let done = app.finished(&attach).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        sim.vm("pve", 101)
            .expect("vm")
            .config
            .get("ide3")
            .map(String::as_str),
        Some("local:iso/vm-101-provision.iso,media=cdrom")
    );

    let text = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        text.contains("proxmox.ssh-test"),
        "the command type is logged"
    );
    assert!(
        !text.contains(botmox_testkit::sshd::TEST_PASSWORD),
        "{text}"
    );
    assert!(!text.contains(secret_marker), "{text}");
    assert!(!text.contains(&provision), "{text}");
}
