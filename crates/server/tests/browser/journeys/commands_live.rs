//! The commands page follows the event stream: a command queued elsewhere appears without a
//! reload, filters narrow the list, and a cancel (after the confirmation) shows up as the new
//! status, with the details on the command's page.

use crate::setup;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_list_is_live_and_cancellable() {
    let Some((app, driver)) = setup().await else {
        return;
    };
    let token = app.admin_token().await;
    let pairing = app
        .post(
            "/api/v1/agents/pairings",
            Some(&token),
            json!({"name": "offline-host"}),
        )
        .await;
    let agent = app
        .post(
            "/api/v1/agents/register",
            None,
            json!({"pairing_code": pairing.body["data"]["pairing_code"], "machine_name": "offline-host"}),
        )
        .await;
    assert_eq!(agent.status, 201, "{}", agent.body);
    let agent_id = agent.body["data"]["id"].as_str().expect("id").to_owned();

    let b = driver.browser().await;
    b.sign_in(&app.base, &app.admin_email, &app.admin_password)
        .await;
    b.click("nav.tree a[href='/commands']").await;
    b.find("#no-commands").await;

    // Queued through the API while the page is open: it appears by itself.
    let queued = app
        .post(
            "/api/v1/vm-ops/commands",
            Some(&token),
            json!({"agent_id": agent_id, "command_type": "proxmox.start", "payload": {"vmid": 101}}),
        )
        .await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let id = queued.body["data"]["id"].as_str().expect("id").to_owned();
    let row = format!("tr[data-command-id='{id}']");
    b.wait_text(&format!("{row} .command-status"), "queued")
        .await;

    // A filter that excludes it empties the list; clearing it brings it back.
    b.find("#f-status")
        .await
        .select_by_value("succeeded")
        .await
        .expect("select");
    b.find("#no-commands").await;
    b.find("#f-status")
        .await
        .select_by_value("")
        .await
        .expect("select");
    b.wait_text(&format!("{row} .command-status"), "queued")
        .await;

    // Cancel, confirming the dialog; the row turns cancelled through the stream.
    b.click(&format!("{row} button")).await;
    b.client
        .accept_alert()
        .await
        .expect("confirmation accepted");
    b.wait_text("#flash", "cancelled").await;
    b.wait_text(&format!("{row} .command-status"), "cancelled")
        .await;
    b.screenshot("commands_cancelled").await;
    b.assert_no_js_errors("commands page").await;

    b.click(&format!("{row} a")).await;
    b.wait_text("#command-status", "cancelled").await;
    let body = b.text("#command-body").await;
    assert!(body.contains("proxmox.start"), "{body}");
    assert!(body.contains("\"vmid\": 101"), "{body}");
    b.screenshot("command_detail").await;
    b.assert_no_js_errors("command page").await;
    b.close().await;
}
