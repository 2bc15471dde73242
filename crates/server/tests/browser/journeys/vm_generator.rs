//! The VMs page: the operator queues a VM generator job from the form, watches its steps turn
//! green without a reload while the real agent runs each command against the Proxmox simulator,
//! then starts the new VM from the registered VMs list and opens its provisioning view.

use crate::common::{Db, TestApp};
use crate::harness::Driver;
use botmox_agent::backoff::Backoff;
use botmox_agent::config::{AgentConfig, Pairing, ProxmoxTarget};
use botmox_agent::executor::Dispatcher;
use botmox_agent::executor::proxmox::ProxmoxExecutor;
use botmox_agent::secret::Secret;
use botmox_agent::session::{Session, SessionOptions, TransportMode};
use botmox_testkit::proxmox::{ProxmoxSim, SimConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// The real agent (library, in-process) with its Proxmox executor aimed at the simulator.
async fn run_agent(
    base: &str,
    agent_id: &str,
    token: String,
    sim: &ProxmoxSim,
    dir: &std::path::Path,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let now = chrono::Utc::now();
    let pairing = Pairing {
        server_url: base.to_owned(),
        agent_id: agent_id.to_owned(),
        agent_name: "pve-host".to_owned(),
        token: Secret::new(token),
        token_issued_at: now,
        token_expires_at: Some(now + chrono::Duration::days(30)),
        paired_at: now,
    };
    let target = ProxmoxTarget {
        url: sim.url(),
        username: "root@pam".to_owned(),
        password: Some(Secret::new("proxmox-sim".to_owned())),
        token_id: None,
        token_secret: None,
        node: "pve".to_owned(),
        fingerprint: sim.fingerprint_sha256().map(str::to_owned),
        ca_path: None,
        insecure: false,
        ssh: None,
    };
    let config = AgentConfig {
        default_target: Some("sim".to_owned()),
        agent: Some(pairing.clone()),
        targets: [("sim".to_owned(), target)].into_iter().collect(),
    };
    let path = dir.join("config.toml");
    config.save(&path).expect("config saved");
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let session = Session::new(
        path,
        pairing,
        Dispatcher::new(vec![Arc::new(ProxmoxExecutor::new(&config))]),
        SessionOptions {
            max_inflight: 2,
            backoff: Backoff::new(50, 500, 0.0),
            shutdown_grace: Duration::from_secs(1),
            transport: TransportMode::Ws,
        },
        stop_rx,
    );
    let handle = tokio::spawn(async move {
        let _ = session.run().await;
    });
    (stop, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_queued_from_the_page_shows_live_progress() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let app = TestApp::spawn_with(
        Db::Sqlite,
        &[("BOTMOX_PUBLIC_URL", "https://botmox.example")],
    )
    .await
    .expect("SQLite needs no outside service");
    let token = app.admin_token().await;
    let pairing = app
        .post(
            "/api/v1/agents/pairings",
            Some(&token),
            json!({"name": "pve-host"}),
        )
        .await;
    let agent = app
        .post(
            "/api/v1/agents/register",
            None,
            json!({"pairing_code": pairing.body["data"]["pairing_code"], "machine_name": "pve-host"}),
        )
        .await;
    assert_eq!(agent.status, 201, "{}", agent.body);
    let agent_token = agent.body["data"]["agent_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let profile = app
        .post(
            "/api/v1/unattend-profiles",
            Some(&token),
            json!({"name": "Standard", "is_default": true, "config": {}}),
        )
        .await;
    assert_eq!(profile.status, 201, "{}", profile.body);
    let agent_id = agent.body["data"]["id"].as_str().expect("id").to_owned();
    let sim = ProxmoxSim::start(SimConfig::default())
        .await
        .expect("simulator");
    let dir = tempfile::tempdir().expect("agent dir");
    let (stop, running) = run_agent(&app.base, &agent_id, agent_token, &sim, dir.path()).await;
    let online = format!("/api/v1/agents/{agent_id}");
    for _ in 0..100 {
        let a = app.get(&online, Some(&token)).await;
        if a.body["data"]["online"] == true || a.body["data"]["is_online"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let b = driver.browser().await;
    b.sign_in(&app.base, &app.admin_email, &app.admin_password)
        .await;
    b.click("nav.tree a[href='/vms']").await;
    b.wait_text("h1.page-title", "Virtual machines").await;
    b.find("#no-jobs").await;
    b.fill("#g-template", "9000").await;
    b.fill("#g-prefix", "Farm").await;
    b.fill("#g-vmid", "610").await;
    b.fill("#g-ip", "10.20.30.40").await;
    b.fill("#g-gw", "10.20.30.1").await;
    b.click("#vmgen-submit").await;

    // The job's page follows it to the end.
    b.wait_text("h1.page-title", "VM job").await;
    b.wait_text("#job-status", "succeeded").await;
    b.wait_text("tr[data-item='0'] .item-status", "succeeded")
        .await;
    let row = b.text("tr[data-item='0']").await;
    assert!(row.contains("610") && row.contains("10.20.30.40"), "{row}");
    let provision = b.find("tr[data-item='0'] a[data-step='provision']").await;
    assert!(
        provision
            .attr("href")
            .await
            .expect("attr")
            .is_some_and(|h| h.starts_with("/commands/")),
        "each step links its command"
    );
    b.screenshot("vm_generator_job").await;
    b.assert_no_js_errors("VM job page").await;

    // The simulator holds what the job did: the clone, its provisioning ISO attached on a
    // free slot (never over the installer CD).
    let vm = sim.vm("pve", 610).expect("the clone exists");
    assert_eq!(vm.name.as_deref(), Some("Farm1"));
    let iso_slot = vm
        .config
        .iter()
        .find(|(_, v)| v.contains("provision-610.iso"))
        .map(|(k, _)| k.clone())
        .expect("the provisioning ISO is attached");
    assert_ne!(iso_slot, "ide2", "{:?}", vm.config);
    assert!(
        sim.storage_files("pve", "local")
            .iter()
            .any(|f| f.volid.ends_with("provision-610.iso")),
        "the ISO was uploaded"
    );

    // The VM is registered; starting it queues a command the agent runs.
    b.click("nav.tree a[href='/vms']").await;
    b.wait_text("#vmgen-jobs .job-status", "succeeded").await;
    b.wait_text("#vm-list", "Farm1").await;
    b.click("#vm-list button[aria-label='Start Farm1']").await;
    b.wait_text("#flash", "proxmox.start queued").await;
    b.screenshot("vm_generator_vms").await;
    b.assert_no_js_errors("VMs page").await;

    b.click("#vm-list td a[title='Provisioning progress']")
        .await;
    b.wait_text("h1.page-title", "Provisioning of Farm1").await;
    b.wait_text("#provisioning-state", "not_started").await;
    b.find("#no-progress").await;
    b.assert_no_js_errors("provisioning page").await;
    b.close().await;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(T, running).await;
}
