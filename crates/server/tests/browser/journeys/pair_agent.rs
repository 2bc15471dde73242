//! Journey (b): pairing an agent. The operator creates a pairing on the agents page; the test
//! reads the bundle off the page and a real agent (the `botmox-agent` library, in-process)
//! pairs with it and connects. The page shows it online without a reload; revoking it (after
//! the confirmation) ends the agent's session.

use crate::harness::WAIT;
use crate::setup;
use botmox_agent::backoff::Backoff;
use botmox_agent::config::{AgentConfig, Pairing};
use botmox_agent::executor::Dispatcher;
use botmox_agent::secret::Secret;
use botmox_agent::session::{Exit, Session, SessionOptions};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paired_agent_shows_online_then_revoked() {
    let Some((app, driver)) = setup().await else {
        return;
    };
    let b = driver.browser().await;
    b.sign_in(&app.base, &app.admin_email, &app.admin_password)
        .await;
    b.click("nav.tree a[href='/agents']").await;
    b.wait_text("h1.page-title", "Agents").await;
    b.find("#no-agents").await;

    b.fill("#pair-name", "rack-7").await;
    b.click("#create-pairing").await;
    let bundle = b.text("#pairing-bundle").await;
    let uri = b.text("#pairing-uri").await;
    assert_eq!(
        uri.trim(),
        format!("botmox://pair?bundle={}", bundle.trim())
    );
    let qr = b.find("#pairing .qr svg").await;
    assert!(qr.is_displayed().await.expect("displayed"));
    b.screenshot("pair_agent_bundle").await;

    // The agent pairs with what the page showed, like `botmox-agent pair <bundle>` would.
    let input = botmox_agent::pairing::parse(&bundle).expect("bundle parses");
    let server = input.server_url.clone().expect("bundle names the server");
    assert_eq!(server, app.base);
    let api = botmox_agent::api::ServerApi::new(&server, None).expect("client");
    let paired = api
        .register(&input.code, "rack-7-host")
        .await
        .expect("registers");
    let dir = tempfile::tempdir().expect("agent dir");
    let config_path = dir.path().join("config.toml");
    let now = chrono::Utc::now();
    let pairing = Pairing {
        server_url: server.clone(),
        agent_id: paired.id.clone(),
        agent_name: paired.name.clone(),
        token: Secret::new(paired.agent_token),
        token_issued_at: now,
        token_expires_at: paired.agent_token_expires_at,
        paired_at: now,
    };
    AgentConfig {
        agent: Some(pairing.clone()),
        ..AgentConfig::default()
    }
    .save(&config_path)
    .expect("config saved");
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let session = Session::new(
        config_path,
        pairing,
        Dispatcher::new(Vec::new()),
        SessionOptions {
            max_inflight: 1,
            backoff: Backoff::new(50, 500, 0.0),
            shutdown_grace: Duration::from_secs(1),
        },
        stop_rx,
    );
    let agent = tokio::spawn(session.run());

    // No reload: the list refreshes itself.
    let row = format!("tr[data-agent-id='{}'] .agent-state", paired.id);
    b.wait_text(&row, "online").await;
    b.screenshot("pair_agent_online").await;
    b.assert_no_js_errors("agents page with the agent online")
        .await;

    // Revoke, confirming the dialog; the agent's session ends as revoked.
    b.click(&format!("tr[data-agent-id='{}'] button", paired.id))
        .await;
    b.client
        .accept_alert()
        .await
        .expect("confirmation accepted");
    b.wait_text(&format!("tr[data-agent-id='{}']", paired.id), "revoked")
        .await;
    let exit = tokio::time::timeout(WAIT, agent)
        .await
        .expect("agent stops after the revocation")
        .expect("agent task")
        .expect("agent run");
    assert_eq!(exit, Exit::Revoked);
    b.screenshot("pair_agent_revoked").await;
    b.assert_no_js_errors("agents page after revoking").await;
    b.close().await;
}
