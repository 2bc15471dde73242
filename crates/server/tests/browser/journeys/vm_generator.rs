//! The VMs page: the operator queues a VM generator job from the form, watches its steps turn
//! green without a reload while a simulated agent answers each command, then starts the new
//! VM from the registered VMs list and opens its provisioning view.

use crate::common::{Db, TestApp};
use crate::harness::Driver;
use botmox_testkit::fleet::SimAgent;
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// What the agent's Proxmox executor answers.
fn answer(command: &Value) -> Value {
    let p = &command["payload"];
    let vmid = p["vmid"].as_u64().unwrap_or(0);
    match command["command_type"].as_str().unwrap_or_default() {
        "proxmox.clone" => {
            json!({"vmid": p["newid"], "upid": "UPID:pve:1:2:3:qmclone:1:root@pam:", "exitstatus": "OK"})
        }
        "proxmox.get-config" => json!({
            "smbios1": format!("uuid=7A1B2C3D-0000-4000-8000-{vmid:012}"),
            "scsi0": format!("local-lvm:vm-{vmid}-disk-0,size=32G"),
        }),
        "proxmox.create-provision-iso" => json!({"vmid": vmid}),
        "proxmox.attach-cdrom" => json!({"vmid": vmid, "slot": "ide3"}),
        _ => json!({"vmid": vmid, "upid": null}),
    }
}

async fn serve_commands(mut agent: SimAgent) {
    while let Ok(assigned) = agent.expect("agent.command.assigned", T).await {
        let command = assigned["command"].clone();
        if !command.is_object() {
            continue;
        }
        agent.ack(&command).await.expect("ack");
        agent
            .result(&command, "succeeded", answer(&command))
            .await
            .expect("result");
    }
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
    let sim = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("agent connects");
    let answering = tokio::spawn(serve_commands(sim));

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
    answering.abort();
}
