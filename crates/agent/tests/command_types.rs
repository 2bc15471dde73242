//! Every Proxmox command type through the real server and the real agent process, paired by
//! quick-pair (login and password on stdin), each checked against the simulator's state.

mod common;

use std::process::Stdio;

use botmox_testkit::proxmox::{ProxmoxSim, SimConfig};
use common::*;
use serde_json::{Value, json};

/// Queues a command and waits for it; returns the finished record.
async fn run(app: &App, agent: &str, command_type: &str, payload: Value) -> Value {
    let id = app.queue(agent, command_type, payload).await;
    app.finished(&id).await
}

async fn ok(app: &App, agent: &str, command_type: &str, payload: Value) -> Value {
    let done = run(app, agent, command_type, payload).await;
    assert_eq!(done["status"], "succeeded", "{command_type}: {done}");
    done["result"].clone()
}

/// Pairs with `pair --login`, the password read from stdin; returns the agent id.
fn quick_pair(app: &App, cfg: &std::path::Path) -> String {
    let mut pair = agent_cmd(cfg);
    pair.args(["pair", "--login", &app.login.0, "--server", &app.base]);
    let out = run_ok(pair, Some(&format!("{}\n", app.login.1)));
    assert!(out.contains("paired as agent"), "{out}");
    assert!(!out.contains(&app.login.1), "the password was echoed");
    let text = std::fs::read_to_string(cfg).expect("config");
    text.lines()
        .find_map(|l| l.strip_prefix("agent_id = "))
        .expect("agent_id")
        .trim_matches('"')
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_proxmox_command_type_changes_the_simulator_as_asked() {
    let app = start_server().await;
    let sim = ProxmoxSim::start(SimConfig::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config_path(&dir);
    let agent = quick_pair(&app, &cfg);
    add_sim_target(&cfg, &sim);
    let mut run_cmd = agent_cmd(&cfg);
    run_cmd
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let _agent = Agent(run_cmd.spawn().expect("agent runs"));

    // Session and inventory.
    assert_eq!(
        ok(&app, &agent, "proxmox.login", json!({"force": true})).await["ok"],
        true
    );
    let status = ok(&app, &agent, "proxmox.status", json!({})).await;
    assert_eq!(status["connected"], true, "{status}");
    let targets = ok(&app, &agent, "proxmox.list-targets", json!({})).await;
    assert!(targets.to_string().contains("sim"), "{targets}");
    let listed = ok(&app, &agent, "proxmox.list-vms", json!({})).await;
    let sim_ids: Vec<u32> = sim.vms("pve").iter().map(|v| v.vmid).collect();
    for id in &sim_ids {
        assert!(
            listed.to_string().contains(&id.to_string()),
            "{id} missing: {listed}"
        );
    }
    let resources = ok(
        &app,
        &agent,
        "proxmox.cluster-resources",
        json!({"type": "vm"}),
    )
    .await;
    assert!(resources.to_string().contains("qemu"), "{resources}");

    // Clone (alias names), then wait for it to appear.
    let newid = 5150u32;
    let cloned = ok(
        &app,
        &agent,
        "proxmox.clone",
        json!({"templateVmId": 9000, "newVmId": newid, "name": "all-types", "full": 1}),
    )
    .await;
    let upid = cloned["upid"].as_str().expect("clone upid").to_owned();
    let presence = ok(
        &app,
        &agent,
        "proxmox.wait-vm-presence",
        json!({"vmid": newid}),
    )
    .await;
    assert_eq!(presence["exists"], true);
    let task = ok(&app, &agent, "proxmox.task-status", json!({"upid": upid})).await;
    assert_eq!(task["status"], "stopped", "{task}");
    let waited = ok(&app, &agent, "proxmox.wait-task", json!({"upid": upid})).await;
    assert_eq!(waited["exitstatus"], "OK", "{waited}");
    assert_eq!(
        sim.vm("pve", newid).expect("clone").name.as_deref(),
        Some("all-types")
    );

    // Config: write with the alias, read back both ways.
    ok(
        &app,
        &agent,
        "proxmox.config.update",
        json!({"vmid": newid, "config": {"cores": 6, "memory": 6144}}),
    )
    .await;
    let cfg_read = ok(&app, &agent, "proxmox.get-config", json!({"vmid": newid})).await;
    assert_eq!(
        cfg_read["cores"].to_string().trim_matches('"'),
        "6",
        "{cfg_read}"
    );
    let cfg_alias = ok(&app, &agent, "proxmox.config.get", json!({"vmid": newid})).await;
    assert_eq!(
        cfg_alias["memory"].to_string().trim_matches('"'),
        "6144",
        "{cfg_alias}"
    );
    let vm = sim.vm("pve", newid).expect("vm");
    assert_eq!(vm.config.get("cores").map(String::as_str), Some("6"));

    // Disk growth.
    let (disk, before) = vm
        .disk_sizes
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), *v))
        .expect("the clone has a disk");
    ok(
        &app,
        &agent,
        "proxmox.resize-disk",
        json!({"vmid": newid, "disk": disk, "size": "+1G"}),
    )
    .await;
    let after = sim.vm("pve", newid).expect("vm").disk_sizes[&disk];
    assert_eq!(after, before + (1 << 30));

    // Power: every action, each checked in the simulator.
    let power = |action: &'static str, expect: &'static str| {
        let app = &app;
        let agent = agent.clone();
        let sim = &sim;
        async move {
            ok(
                app,
                &agent,
                &format!("proxmox.{action}"),
                json!({"vmid": newid}),
            )
            .await;
            let now = sim.vm("pve", newid).expect("vm").status.as_str();
            assert_eq!(now, expect, "after {action}");
        }
    };
    power("start", "running").await;
    let st = ok(
        &app,
        &agent,
        "proxmox.wait-vm-status",
        json!({"vmid": newid, "desiredStatus": "running"}),
    )
    .await;
    assert!(st.to_string().contains("running"), "{st}");
    ok(
        &app,
        &agent,
        "proxmox.sendkey",
        json!({"vmid": newid, "key": "ret"}),
    )
    .await;
    assert_eq!(
        sim.vm("pve", newid).expect("vm").keys_sent,
        vec!["ret".to_owned()]
    );
    power("suspend", "paused").await;
    power("resume", "running").await;
    power("reset", "running").await;
    power("shutdown", "stopped").await;
    power("start", "running").await;
    power("stop", "stopped").await;
    let vs = ok(&app, &agent, "proxmox.vm-status", json!({"vmid": newid})).await;
    assert_eq!(vs["status"], "stopped", "{vs}");

    // Delete, and the absence is awaited.
    ok(
        &app,
        &agent,
        "proxmox.delete",
        json!({"vmid": newid, "purge": true}),
    )
    .await;
    let gone = ok(
        &app,
        &agent,
        "proxmox.wait-vm-presence",
        json!({"vmid": newid, "exists": false}),
    )
    .await;
    assert_eq!(gone["exists"], false);
    assert!(sim.vm("pve", newid).is_none());

    // Bad input fails clearly and changes nothing.
    let bad = run(&app, &agent, "proxmox.resize-disk", json!({"vmid": 9000})).await;
    assert_eq!(bad["status"], "failed");
    assert!(
        bad["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("disk required")),
        "{bad}"
    );
    let unknown = run(&app, &agent, "proxmox.teleport", json!({"vmid": 9000})).await;
    assert_eq!(unknown["status"], "failed");
    assert!(
        unknown["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("proxmox.teleport")),
        "{unknown}"
    );
    assert_eq!(
        sim.vms("pve").iter().map(|v| v.vmid).collect::<Vec<_>>(),
        sim_ids
    );
}
