//! The overview shows what the fleet holds: a finance operation recorded today appears in the
//! 30-day totals and as a bar of the chart, a bot in its status, a license about to expire in
//! the expiring list.

use crate::setup;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_shows_finance_bots_and_expiring_resources() {
    let Some((app, driver)) = setup().await else {
        return;
    };
    let token = app.admin_token().await;
    let today = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let op = app
        .post(
            "/api/v1/finance/operations",
            Some(&token),
            json!({"type": "income", "category": "sale", "amount": "125.50", "currency": "USD", "date": today}),
        )
        .await;
    assert_eq!(op.status, 201, "{}", op.body);
    let bot = app
        .post(
            "/api/v1/bots",
            Some(&token),
            json!({"name": "Farmer", "project_id": "wow_tbc", "status": "farming"}),
        )
        .await;
    assert_eq!(bot.status, 201, "{}", bot.body);
    let in_two_days = chrono::Utc::now().timestamp_millis() + 2 * 86_400_000;
    let lic = app
        .post(
            "/api/v1/resources/licenses",
            Some(&token),
            json!({"key": "SIN-EXP", "type": "SIN", "expires_at": in_two_days}),
        )
        .await;
    assert_eq!(lic.status, 201, "{}", lic.body);

    let b = driver.browser().await;
    b.sign_in(&app.base, &app.admin_email, &app.admin_password)
        .await;
    assert_eq!(b.text("#fin-income").await, "125.50");
    assert_eq!(b.text("#stat-bots").await, "1");
    let farming = b
        .find("meter[aria-label='farming']")
        .await
        .attr("value")
        .await
        .expect("attr");
    assert_eq!(farming.as_deref(), Some("1"));
    let expiring = b.text("#exp-h + table").await;
    assert!(expiring.contains("License (SIN)"), "{expiring}");
    assert!(
        expiring.contains("2d") || expiring.contains("1d"),
        "{expiring}"
    );
    // The day's bar carries the exact figure.
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let titles: serde_json::Value = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll('.chart rect.income title')).map(t => t.textContent);",
            vec![],
        )
        .await
        .expect("script");
    let titles: Vec<String> = serde_json::from_value(titles).expect("strings");
    assert_eq!(titles.len(), 30, "{titles:?}");
    assert!(
        titles
            .iter()
            .any(|t| t == &format!("{day} income: 125.50 USD")),
        "{titles:?}"
    );
    b.screenshot("overview_with_data").await;
    b.assert_no_js_errors("overview").await;
    b.close().await;
}
