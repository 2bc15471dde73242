//! Journey: record finance operations in the UI and see them in the chart (the SVG's bar
//! titles carry each day's sums), the category donut, the table and the CSV export.

use crate::setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_an_operation_and_see_it_in_chart_table_and_csv() {
    let Some((app, driver)) = setup().await else {
        return;
    };
    let b = driver.browser().await;
    b.sign_in(&app.base, &app.admin_email, &app.admin_password)
        .await;
    b.goto(&app.url("/finance")).await;
    b.wait_text("h1.page-title", "Finance").await;
    b.find("#no-operations").await;
    b.assert_no_js_errors("empty finance page").await;

    // A refused amount: the service's message beside the field, nothing recorded.
    b.fill("#op-amount", "12.3.4").await;
    b.click("#record-operation").await;
    crate::journeys::pages::wait_nonempty(&b, "#op-amount-err").await;
    b.find("#no-operations").await;

    // A gold sale today (the date left blank means now).
    b.client
        .execute(
            "document.getElementById('op-type').value = 'income';\
             document.getElementById('op-category').value = 'sale';",
            vec![],
        )
        .await
        .expect("selects");
    b.fill("#op-amount", "123.45").await;
    b.fill("#op-gold", "50000").await;
    b.fill("#op-desc", "journey gold sale").await;
    b.click("#record-operation").await;
    b.wait_text("#notice", "Recorded income").await;
    let table = b.wait_text("#operations", "journey gold sale").await;
    assert!(table.contains("+123.45"), "{table}");
    // And an expense.
    b.fill("#op-amount", "20").await;
    b.client
        .execute(
            "document.getElementById('op-category').value = 'proxy';",
            vec![],
        )
        .await
        .expect("selects");
    b.fill("#op-desc", "journey proxy").await;
    b.click("#record-operation").await;
    b.wait_text("#operations", "journey proxy").await;

    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let svg: serde_json::Value = b
        .client
        .execute(
            "return document.querySelector('#finance-chart svg').outerHTML;",
            vec![],
        )
        .await
        .expect("chart");
    let svg = svg.as_str().unwrap_or_default().to_owned();
    assert!(
        svg.contains(&format!("{today} income: 123.45 USD")),
        "chart has no bar for today's income: {svg}"
    );
    assert!(
        svg.contains(&format!("{today} expense: 20.00 USD")),
        "chart has no bar for today's expense"
    );
    let donut = b.text("#expense-donut").await;
    assert!(donut.contains("proxy") && donut.contains("100%"), "{donut}");
    let income = b.text("#fin-income").await;
    assert!(income.starts_with("123.45"), "income total: {income}");
    b.screenshot("finance").await;
    b.assert_no_js_errors("finance after recording").await;

    // Editing an operation changes the table and the totals.
    b.client
        .execute(
            "const row = [...document.querySelectorAll('#operations tr')]\
               .find(r => r.textContent.includes('journey proxy'));\
             row.querySelector('details').open = true;\
             row.querySelector('input[name=amount]').value = '25.5';\
             row.querySelector('details form button').click();",
            vec![],
        )
        .await
        .expect("edits");
    b.wait_text("#notice", "saved").await;
    b.wait_text("#operations", "-25.5").await;
    b.wait_text("#fin-expense", "25.5").await;

    // The export link streams the same operations.
    let href = b
        .find("#export-csv")
        .await
        .attr("href")
        .await
        .expect("href")
        .expect("export link");
    let csv: serde_json::Value = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0]).then(r => r.text()).then(done, e => done('ERR ' + e));",
            vec![serde_json::json!(href)],
        )
        .await
        .expect("export fetched");
    let csv = csv.as_str().unwrap_or_default();
    assert!(csv.starts_with("id,date,type,category"), "{csv}");
    let sale = csv
        .lines()
        .find(|l| l.contains("journey gold sale"))
        .unwrap_or_else(|| panic!("sale missing from the export: {csv}"));
    assert!(sale.contains("income") && sale.contains("123.45"), "{sale}");
    assert!(csv.contains("journey proxy"), "{csv}");
    b.close().await;
}
