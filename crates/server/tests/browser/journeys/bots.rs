//! Journey: create a bot in the UI, create a license and a proxy on their pages, attach both
//! on the bot page and see them there; a refused save shows the service's message beside the
//! field.

use crate::setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_a_bot_and_attach_a_license_and_a_proxy() {
    let Some((app, driver)) = setup().await else {
        return;
    };
    let b = driver.browser().await;
    b.sign_in(&app.base, &app.admin_email, &app.admin_password)
        .await;

    // A license and a proxy, each from its own page.
    b.goto(&app.url("/licenses")).await;
    b.wait_text("h1.page-title", "Licenses").await;
    b.fill("#r-key", "LIC-JOURNEY-0001").await;
    b.fill("#r-type", "SIN").await;
    b.click("#create-resource").await;
    b.wait_text("#notice", "The license was created").await;
    b.wait_text("#resource-table", "LIC-JOURNEY-0001").await;
    b.assert_no_js_errors("licenses page").await;

    b.goto(&app.url("/proxies")).await;
    // A pasted string the service cannot take is refused beside the field.
    b.fill("#r-proxy", "203.0.113.10").await;
    b.click("#create-resource").await;
    b.wait_text("#r-proxy-err", "Invalid proxy format").await;
    b.fill("#r-proxy", "socks5://203.0.113.10:1080:user1:secret1")
        .await;
    b.click("#create-resource").await;
    b.wait_text("#notice", "The proxy was created").await;
    b.wait_text("#resource-table", "203.0.113.10:1080").await;
    // IPQS has no key here: the service's message is shown, the page stays.
    b.click("#resource-table button[aria-label^='Check']").await;
    b.wait_text("#flash", "IPQS").await;
    b.screenshot("bots_proxies").await;
    b.assert_no_js_errors("proxies page").await;

    // The bot, created from the projects page.
    b.goto(&app.url("/projects")).await;
    b.fill("#nb-project", "wow_tbc").await;
    b.fill("#nb-name", "Journey Bot").await;
    b.fill("#nb-char", "Thrall").await;
    b.click("#create-bot").await;
    b.wait_text("#notice", "Journey Bot").await;
    b.wait_text("#projects-table", "wow_tbc").await;
    b.click("#notice a").await;
    b.wait_text("h1.page-title", "Journey Bot").await;
    assert_eq!(b.text("#bot-status").await.trim(), "offline");
    let health = b.text("#bot-health").await;
    assert!(health.contains("No license assigned"), "health: {health}");

    // Attach the license and the proxy on the Resources tab.
    b.click("#tab-resources").await;
    b.find("#tab-resources.active").await;
    b.find("#attach-licenses").await;
    for (kind, label) in [
        ("licenses", "LIC-JOURNEY-0001"),
        ("proxies", "203.0.113.10:1080"),
    ] {
        b.client
            .execute(
                "document.getElementById(arguments[0]).selectedIndex = 1;",
                vec![serde_json::json!(format!("attach-{kind}"))],
            )
            .await
            .expect("selects");
        b.click(&format!("#attach-{kind}-btn")).await;
        b.wait_text(&format!("#res-{kind} table"), label).await;
        b.wait_text("#notice", "Resource attached").await;
    }
    let licenses = b.text("#res-licenses").await;
    assert!(licenses.contains("LIC-JOURNEY-0001"), "{licenses}");
    let proxies = b.text("#res-proxies").await;
    assert!(proxies.contains("203.0.113.10:1080"), "{proxies}");
    b.screenshot("bots_resources").await;
    b.assert_no_js_errors("bot resources").await;

    // The summary no longer warns about them; the project table shows them assigned.
    b.click("#tab-summary").await;
    b.find("#tab-summary.active").await;
    let health = b.text("#bot-health").await;
    assert!(!health.contains("No license"), "health: {health}");
    assert!(!health.contains("No proxy"), "health: {health}");

    // Ban with a reason (a blank one is refused beside the field), then lift the ban.
    b.click("details.action summary.btn-danger").await;
    b.click("#confirm-ban").await;
    // The form stays open with the message.
    crate::journeys::pages::wait_nonempty(&b, "#ban-reason-err").await;
    b.fill("#ban-reason", "account closed by the game").await;
    b.click("#confirm-ban").await;
    b.wait_text("#bot-status", "banned").await;
    b.wait_text("#lifecycle-log", "account closed by the game")
        .await;
    b.screenshot("bots_banned").await;
    b.click("#unban").await;
    b.wait_text("#bot-status", "offline").await;

    // Refused saves: messages from the service beside the fields.
    b.click("#tab-configure").await;
    b.find("#tab-configure.active").await;
    b.fill("#p-birth", "1990-12-31").await;
    b.click("#p-birth ~ button[type=submit]").await;
    b.wait_text("#p-birth-err", "DD-MM-YYYY").await;
    b.client
        .execute(
            "document.getElementById('d1-s0-start').value = '10:00';\
             document.getElementById('d1-s0-end').value = '10:00';",
            vec![],
        )
        .await
        .expect("sets times");
    b.click("#save-schedule").await;
    b.wait_text("#d1-s0-err", "must differ from start").await;
    b.screenshot("bots_schedule_error").await;
    b.client
        .execute(
            "document.getElementById('d1-s0-end').value = '12:30';",
            vec![],
        )
        .await
        .expect("sets time");
    b.click("#save-schedule").await;
    b.wait_text("#notice", "Schedule saved").await;
    // The saved session is drawn on Monday's 24-hour bar.
    let bar: serde_json::Value = b
        .client
        .execute(
            "return document.querySelector('tr[data-day=\"1\"] svg.timeline').innerHTML;",
            vec![],
        )
        .await
        .expect("timeline");
    assert!(
        bar.as_str().unwrap_or_default().contains("10:00–12:30"),
        "{bar}"
    );
    assert_eq!(
        b.find("#d1-s0-end")
            .await
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some("12:30")
    );

    b.goto(&app.url("/projects/wow_tbc")).await;
    let table = b.wait_text("#bots-table", "Journey Bot").await;
    assert!(table.contains("assigned"), "{table}");
    b.screenshot("bots_project").await;
    b.assert_no_js_errors("project page").await;
    b.close().await;
}
