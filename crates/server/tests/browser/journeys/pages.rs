//! Smoke journey over the business pages: each opens with its heading and without browser
//! errors, and the workspace boards, settings and profile editor take a change each.

use crate::harness::{Browser, WAIT};
use crate::setup;
use serde_json::json;

/// Waits until the element has some text (a swapped-in message) and returns it.
pub(crate) async fn wait_nonempty(b: &Browser, css: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(el) = b.client.find(fantoccini::Locator::Css(css)).await
            && let Ok(t) = el.text().await
            && !t.trim().is_empty()
        {
            return t;
        }
        if tokio::time::Instant::now() >= deadline {
            let body = b.text("body").await;
            panic!("{css} stayed empty; page says:\n{body}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_business_page_opens_and_takes_a_change() {
    let Some((app, driver)) = setup().await else {
        return;
    };
    let token = app.admin_token().await;
    let bot = app
        .post(
            "/api/v1/bots",
            Some(&token),
            json!({"name": "Smoke Bot", "project_id": "wow_tbc",
                   "vm": {"name": "WIN-SMOKE-01", "ip": "10.0.0.7"}}),
        )
        .await;
    assert!(bot.status.is_success(), "{:?}", bot.body);
    let bot_id = bot.body["data"]["id"].as_str().expect("bot id").to_owned();

    let b = driver.browser().await;
    b.sign_in(&app.base, &app.admin_email, &app.admin_password)
        .await;
    let pages = [
        ("/projects", "Projects"),
        ("/projects/wow_tbc", "wow_tbc"),
        (&format!("/bots/{bot_id}") as &str, "Smoke Bot"),
        (&format!("/bots/{bot_id}?tab=configure"), "Smoke Bot"),
        (&format!("/bots/{bot_id}?tab=resources"), "Smoke Bot"),
        (&format!("/bots/{bot_id}?tab=vm"), "Smoke Bot"),
        ("/licenses", "Licenses"),
        ("/proxies", "Proxies"),
        ("/subscriptions", "Subscriptions"),
        ("/finance", "Finance"),
        ("/workspace/calendar", "Calendar"),
        ("/workspace/kanban", "Kanban"),
        ("/secrets", "Secrets"),
        ("/provisioning/profiles", "Unattend profiles"),
        ("/artifacts", "Artifacts"),
        ("/settings", "Settings"),
        ("/audit", "Audit log"),
    ];
    for (path, heading) in pages {
        b.goto(&app.url(path)).await;
        let h1 = b.wait_text("h1.page-title", heading).await;
        assert!(h1.contains(heading), "{path}: heading {h1:?}");
        let nav = b.text("nav.tree").await;
        assert!(
            nav.contains("Projects") && nav.contains("Audit log"),
            "{path}: {nav}"
        );
        b.assert_no_js_errors(path).await;
    }
    b.goto(&app.url(&format!("/bots/{bot_id}?tab=vm"))).await;
    let vm = b.text("#vm-info").await;
    assert!(
        vm.contains("WIN-SMOKE-01") && vm.contains("10.0.0.7"),
        "{vm}"
    );

    // Calendar: an event today shows in the month grid and in "Upcoming".
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    b.goto(&app.url("/workspace/calendar")).await;
    b.fill("#ev-title", "Renew game time").await;
    b.client
        .execute(
            "document.getElementById('ev-date').value = arguments[0];",
            vec![json!(today)],
        )
        .await
        .expect("sets date");
    b.click("#add-event").await;
    b.wait_text("#notice", "Renew game time").await;
    b.wait_text(
        &format!("#month-grid td[data-date='{today}']"),
        "Renew game time",
    )
    .await;
    b.wait_text("#upcoming", "Renew game time").await;
    // A blank title is refused with the service's message beside the field.
    b.click("#add-event").await;
    wait_nonempty(&b, "#ev-title-err").await;
    b.screenshot("pages_calendar").await;
    b.assert_no_js_errors("calendar").await;

    // Kanban: a task moves to the next column.
    b.goto(&app.url("/workspace/kanban")).await;
    b.fill("#tk-title", "Level the mage").await;
    b.click("#add-task").await;
    b.wait_text("#col-todo", "Level the mage").await;
    b.click("#col-todo button[aria-label='Move Level the mage to the next column']")
        .await;
    b.wait_text("#col-in_progress", "Level the mage").await;
    let todo = b.text("#col-todo").await;
    assert!(!todo.contains("Level the mage"), "{todo}");
    // Edited in place: the new title shows in its column.
    b.click("#col-in_progress details.row-edit summary").await;
    b.fill("#col-in_progress input[name=title]", "Level the mage to 70")
        .await;
    b.click("#col-in_progress details.row-edit button[type=submit]")
        .await;
    b.wait_text("#notice", "Level the mage to 70").await;
    b.wait_text("#col-in_progress", "Level the mage to 70")
        .await;
    b.screenshot("pages_kanban").await;
    b.assert_no_js_errors("kanban").await;

    // Settings: an out-of-range value is refused beside its field; a good one is kept.
    b.goto(&app.url("/settings")).await;
    b.fill("#alerts-warning_days", "500").await;
    b.click("#settings-alerts button[type=submit]").await;
    wait_nonempty(&b, "#alerts-warning_days-err").await;
    b.fill("#alerts-warning_days", "10").await;
    b.click("#settings-alerts button[type=submit]").await;
    b.wait_text("#notice", "Global alerts saved").await;
    let v = b
        .find("#alerts-warning_days")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(v.as_deref(), Some("10"));
    b.screenshot("pages_settings").await;

    // Unattend profile: a blank name is refused beside the field, then saved.
    b.goto(&app.url("/provisioning/profiles")).await;
    b.click("#save-profile").await;
    wait_nonempty(&b, "#pf-name-err").await;
    b.fill("#pf-name", "Smoke profile").await;
    b.click("#save-profile").await;
    b.wait_text("#notice", "Smoke profile").await;
    b.screenshot("pages_profiles").await;
    b.assert_no_js_errors("profiles").await;

    // A bot is deleted from its project's table.
    b.goto(&app.url("/projects/wow_tbc")).await;
    b.wait_text("#bots-table", "Smoke Bot").await;
    b.client
        .execute("window.confirm = () => true;", vec![])
        .await
        .expect("confirm stubbed");
    b.click("#bots-table button[aria-label='Delete bot Smoke Bot']")
        .await;
    b.find("#no-bots").await;
    b.assert_no_js_errors("project after delete").await;

    // The audit log lists the changes just made.
    b.goto(&app.url("/audit")).await;
    b.wait_text("#audit-table", "POST").await;
    b.screenshot("pages_audit").await;
    b.assert_no_js_errors("audit").await;
    b.close().await;
}
