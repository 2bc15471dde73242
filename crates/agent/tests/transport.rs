//! Transports end to end (real server in-process, agent process, Proxmox simulator): long-poll,
//! hybrid falling back to long-poll, and a server restart in the middle of a command with the
//! result kept on disk and recorded once.

mod common;

use std::process::Stdio;
use std::time::Duration;

use botmox_testkit::proxmox::{ProxmoxSim, SimConfig};
use common::*;
use serde_json::json;

fn spawn_agent(cfg: &std::path::Path, transport: &str) -> Agent {
    let mut run = agent_cmd(cfg);
    run.env("BOTMOX_AGENT_TRANSPORT", transport)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    Agent(run.spawn().expect("agent runs"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longpoll_and_hybrid_agents_work_without_the_websocket() {
    // A server that offers only long-poll: hybrid must fall back, longpoll never tries WS.
    let app = start_server_in(
        tempfile::tempdir().expect("dir"),
        "127.0.0.1:0",
        &[("AGENT_TRANSPORT", "longpoll")],
        None,
    )
    .await;
    let sim = ProxmoxSim::start(SimConfig::default()).await.expect("sim");
    for (i, transport) in ["longpoll", "hybrid"].into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("dir");
        let cfg = config_path(&dir);
        let agent_id = pair_with_bundle(&app, &cfg).await;
        add_sim_target(&cfg, &sim);
        let _agent = spawn_agent(&cfg, transport);
        let newid = 4400 + i as u32;
        let clone = app
            .queue(
                &agent_id,
                "proxmox.clone",
                json!({"templateVmId": 9000, "newid": newid, "name": format!("lp-{transport}")}),
            )
            .await;
        let done = app.finished(&clone).await;
        assert_eq!(done["status"], "succeeded", "{transport}: {done}");
        assert_eq!(done["result"]["vmid"], newid);
        assert_eq!(done["progress"], 100);
        assert!(sim.vm("pve", newid).is_some());
        let bad = app.queue(&agent_id, "proxmox.vm-status", json!({})).await;
        let done = app.finished(&bad).await;
        assert_eq!(done["status"], "failed", "{transport}: {done}");
        assert!(
            done["error_message"]
                .as_str()
                .is_some_and(|m| m.starts_with("BAD_REQUEST:")),
            "{done}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_produced_while_the_server_is_down_is_recorded_once_after_it_returns() {
    let app = start_server().await;
    let sim = ProxmoxSim::start(SimConfig::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config_path(&dir);
    let agent_id = pair_with_bundle(&app, &cfg).await;
    add_sim_target(&cfg, &sim);
    let _agent = spawn_agent(&cfg, "ws");

    // A slow command: the start task takes 3 s.
    sim.set_task_duration_for("qmstart", Duration::from_secs(3));
    let id = app
        .queue(&agent_id, "proxmox.start", json!({"vmid": 102}))
        .await;
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let (_, body) = app
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/vm-ops/commands/{id}"),
                None,
            )
            .await;
        if body["data"]["status"] == "running" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never running: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Stop the server; the command finishes meanwhile and its result waits on disk.
    let pending = cfg.parent().expect("dir").join("pending-results.json");
    let app = app
        .restart(async {
            let deadline = tokio::time::Instant::now() + T;
            while !pending.exists() {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the result was never kept on disk"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let kept = std::fs::read_to_string(&pending).expect("pending file");
            assert!(kept.contains(&id), "{kept}");
            assert!(kept.contains("succeeded"), "{kept}");
        })
        .await;

    let done = app.finished(&id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(sim.vm("pve", 102).expect("vm").status.as_str(), "running");
    let deadline = tokio::time::Instant::now() + T;
    while pending.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the delivered result stays on disk"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A repeated report with the same lease epoch changes nothing.
    let epoch = done["lease_epoch"].as_i64().expect("lease_epoch");
    let (status, again) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/vm-ops/commands/{id}"),
            Some(json!({"status": "succeeded", "lease_epoch": epoch, "result": {"other": true}})),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"]["completed_at"], done["completed_at"]);
    assert_eq!(again["data"]["result"], done["result"]);
    // One terminal event in the command's history.
    let (_, events) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/vm-ops/commands?agent_id={agent_id}"),
            None,
        )
        .await;
    let same: Vec<_> = events["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|c| c["id"] == id.as_str())
        .collect();
    assert_eq!(same.len(), 1);
}
