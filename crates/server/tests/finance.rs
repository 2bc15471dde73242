//! Finance: operations with exact money, filters and cursor pages, chart aggregates checked
//! against hand-computed sums, and the CSV export parsed back, on both databases.

mod common;

use common::{Db, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;

const OPS: &str = "/api/v1/finance/operations";

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post(OPS, Some(token), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["data"].clone()
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_owned())
        .collect()
}

/// All rows of a filtered list, following `next_cursor`; also returns the page count.
async fn all_pages(app: &TestApp, token: &str, query: &str) -> (Vec<Value>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut url = format!("{OPS}?{query}");
    loop {
        let r = app.get(&url, Some(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        pages += 1;
        rows.extend(r.body["data"].as_array().expect("list").iter().cloned());
        match r.body["meta"]["next_cursor"].as_str() {
            Some(c) => url = format!("{OPS}?{query}&cursor={c}"),
            None => break,
        }
        assert!(pages < 100, "runaway paging");
    }
    (rows, pages)
}

/// The known data set: five USD operations from 1 to 5 May 2024, two outside that range, and
/// one in another currency.
async fn seed(app: &TestApp, token: &str) -> Vec<Value> {
    let rows = [
        json!({"type": "income", "category": "sale", "amount": "12.34", "currency": "USD",
               "date": "2024-05-01T10:00:00Z", "project_id": "wow_tbc", "bot_id": "bot-1",
               "gold_amount": "10000", "gold_price_at_time": "1.234",
               "description": "10k gold, \"fast\" buyer"}),
        json!({"type": "expense", "category": "proxy", "amount": 2.5, "currency": "USD",
               "date": "2024-05-01T23:59:59.999Z", "description": "proxy, monthly\nrenewal"}),
        json!({"type": "expense", "category": "subscription_game", "amount": "15.00",
               "currency": "USD", "date": 1_714_694_400_000_i64, "project_id": "wow_midnight"}),
        json!({"type": "income", "category": "sale", "amount": "100.10", "currency": "USD",
               "date": "2024-05-03T12:00:00Z", "project_id": "wow_midnight", "bot_id": "bot-2",
               "gold_amount": 50000, "gold_price_at_time": 2.002}),
        json!({"type": "expense", "category": "bot_license", "amount": "0.01", "currency": "USD",
               "date": "2024-05-05T08:00:00Z", "project_id": "wow_tbc", "bot_id": "bot-1"}),
        json!({"type": "income", "category": "sale", "amount": "999", "currency": "USD",
               "date": "2024-05-06T00:00:00Z", "project_id": "wow_tbc"}),
        json!({"type": "expense", "category": "proxy", "amount": "7", "currency": "USD",
               "date": "2024-04-30T23:59:59.999Z"}),
        json!({"type": "income", "category": "farm", "amount": "5000", "currency": "gold",
               "date": "2024-05-02T12:00:00Z", "project_id": "wow_tbc"}),
    ];
    let mut out = Vec::new();
    for r in rows {
        out.push(create(app, token, r).await);
    }
    out
}

async fn operations_keep_exact_amounts_through_their_lifecycle(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let op = create(
        &app,
        &token,
        json!({"type": "income", "category": " sale ", "amount": 0.1, "currency": "USD",
               "date": 1_714_557_600_000_i64, "gold_amount": "12345", "gold_price_at_time": "0.1234",
               "project_id": "wow_tbc", "bot_id": null, "description": "first sale",
               "created_at": 1, "extra": "ignored"}),
    )
    .await;
    assert_eq!(op["type"], "income");
    assert_eq!(op["category"], "sale");
    assert_eq!(
        op["amount"], "0.10",
        "a JSON number is read from its literal"
    );
    assert_eq!(op["gold_amount"], "12345.00");
    assert_eq!(op["gold_price_at_time"], "0.1234");
    assert_eq!(op["date"], "2024-05-01T10:00:00.000Z");
    assert_eq!(op["bot_id"], Value::Null);
    assert_eq!(op["project_id"], "wow_tbc");
    assert!(op.get("extra").is_none());
    let id = op["id"].as_str().expect("id").to_owned();
    let path = format!("{OPS}/{id}");
    assert_eq!(app.get(&path, Some(&token)).await.body["data"], op);

    // Exact arithmetic: 0.1 + 0.2 is 0.30, not 0.30000000000000004.
    let patched = app
        .call(
            Method::PATCH,
            &path,
            Some(&token),
            Some(
                json!({"amount": "0.30000000", "gold_amount": null, "description": null,
                        "date": "2024-05-02T00:00:00+02:00"}),
            ),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let p = &patched.body["data"];
    assert_eq!(p["amount"], "0.30");
    assert_eq!(p["gold_amount"], Value::Null);
    assert_eq!(p["description"], Value::Null);
    assert_eq!(p["date"], "2024-05-01T22:00:00.000Z");
    assert_eq!(p["category"], "sale", "untouched fields stay");
    assert_eq!(p["created_at"], op["created_at"]);

    let big = create(
        &app,
        &token,
        json!({"type": "expense", "category": "other", "amount": "9999999999.99999999",
               "currency": "USD", "date": "2024-05-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(big["amount"], "9999999999.99999999");

    let del = app.call(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(del.body["data"], json!({"id": id, "deleted": true}));
    app.get(&path, Some(&token))
        .await
        .assert_error(StatusCode::NOT_FOUND, "FINANCE_OPERATION_NOT_FOUND");
    app.call(Method::DELETE, &path, Some(&token), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "FINANCE_OPERATION_NOT_FOUND");
}
db_test!(operations_keep_exact_amounts_through_their_lifecycle);

async fn finance_validation_errors_use_their_codes_and_change_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let valid = json!({"type": "expense", "category": "proxy", "amount": "1.00",
                       "currency": "USD", "date": "2024-05-01T00:00:00Z"});
    let op = create(&app, &token, valid.clone()).await;
    let path = format!("{OPS}/{}", op["id"].as_str().expect("id"));

    let missing = app.post(OPS, Some(&token), json!({})).await;
    missing.assert_error(StatusCode::BAD_REQUEST, "FINANCE_INVALID_CREATE_BODY");
    let fields = &missing.body["error"]["details"]["fields"];
    for f in ["type", "category", "amount", "currency", "date"] {
        assert!(fields[f].is_array(), "{f}: {fields}");
    }
    let with = |k: &str, v: Value| {
        let mut b = valid.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("amount", json!("0.000000001")), "amount"),
        (with("amount", json!(0.30000000000000004)), "amount"),
        (with("amount", json!("-5")), "amount"),
        (with("amount", json!("12,50")), "amount"),
        (with("amount", json!("10000000000.01")), "amount"),
        (with("category", json!("  ")), "category"),
        (with("currency", json!("US D")), "currency"),
        (with("date", json!("01.05.2024")), "date"),
        (with("date", json!(-1)), "date"),
        (with("date", json!("10000-01-01T00:00:00Z")), "date"),
        (with("date", json!(i64::MAX)), "date"),
        (with("description", json!("nul\u{0}byte")), "description"),
        (with("description", json!("x".repeat(1001))), "description"),
        (
            with("gold_price_at_time", json!("abc")),
            "gold_price_at_time",
        ),
        (with("project_id", json!("has space")), "project_id"),
        (with("id", json!("bad id")), "id"),
    ] {
        let r = app.post(OPS, Some(&token), body).await;
        r.assert_error(StatusCode::BAD_REQUEST, "FINANCE_INVALID_CREATE_BODY");
        assert!(
            r.body["error"]["details"]["fields"][field].is_array(),
            "{field}: {}",
            r.body
        );
    }
    for body in [with("type", json!("refund")), with("amount", json!(true))] {
        app.post(OPS, Some(&token), body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "FINANCE_INVALID_CREATE_BODY");
    }
    app.post(OPS, Some(&token), with("id", op["id"].clone()))
        .await
        .assert_error(StatusCode::CONFLICT, "FINANCE_OPERATION_EXISTS");

    for body in [
        json!({}),
        json!({"amount": "1.123456789"}),
        json!({"type": "transfer"}),
        json!({"category": ""}),
        json!({"date": "tomorrow"}),
    ] {
        app.call(Method::PATCH, &path, Some(&token), Some(body))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "FINANCE_INVALID_PATCH_BODY");
    }
    for bad in [
        format!("{OPS}/bad%20id"),
        format!("{OPS}/{}", "z".repeat(129)),
    ] {
        app.get(&bad, Some(&token))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "FINANCE_INVALID_ID");
        app.call(
            Method::PATCH,
            &bad,
            Some(&token),
            Some(json!({"amount": "x"})),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "FINANCE_INVALID_ID");
    }
    app.call(
        Method::PATCH,
        &format!("{OPS}/missing"),
        Some(&token),
        Some(json!({"amount": "1"})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "FINANCE_OPERATION_NOT_FOUND");
    for query in [
        "limit=0",
        "limit=501",
        "cursor=garbage",
        "type=refund",
        "from=yesterday",
        "from=2024-05-02&to=2024-05-01",
        "order=sideways",
        "project_id=a%20b",
    ] {
        app.get(&format!("{OPS}?{query}"), Some(&token))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "FINANCE_INVALID_LIST_QUERY");
    }
    for query in [
        "group_by=week",
        "from=2024-05-02&to=2024-05-01",
        "from=2000-01-01&to=2024-01-01",
        "to=nope",
    ] {
        app.get(&format!("/api/v1/finance/summary?{query}"), Some(&token))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "FINANCE_INVALID_LIST_QUERY");
    }
    app.get("/api/v1/finance/export.csv?from=bad", Some(&token))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "FINANCE_INVALID_LIST_QUERY");

    let all = app.get(OPS, Some(&token)).await;
    assert_eq!(all.body["data"], json!([op]), "bad input changed nothing");
}
db_test!(finance_validation_errors_use_their_codes_and_change_nothing);

async fn another_tenants_operations_are_404_and_unchanged(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let a = app.admin_token().await;
    let b = app
        .user_token_in("tenant-b", "b@example.com", &["user"])
        .await;
    let op = create(
        &app,
        &a,
        json!({"type": "income", "category": "sale", "amount": "5", "currency": "USD",
               "date": "2024-05-01T00:00:00Z"}),
    )
    .await;
    let path = format!("{OPS}/{}", op["id"].as_str().expect("id"));
    app.get(&path, Some(&b))
        .await
        .assert_error(StatusCode::NOT_FOUND, "FINANCE_OPERATION_NOT_FOUND");
    app.call(Method::PATCH, &path, Some(&b), Some(json!({"amount": "0"})))
        .await
        .assert_error(StatusCode::NOT_FOUND, "FINANCE_OPERATION_NOT_FOUND");
    app.call(Method::DELETE, &path, Some(&b), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "FINANCE_OPERATION_NOT_FOUND");
    assert_eq!(app.get(OPS, Some(&b)).await.body["data"], json!([]));
    let summary = app
        .get("/api/v1/finance/summary?group_by=category", Some(&b))
        .await;
    assert_eq!(summary.body["data"]["totals"]["count"], 0);
    let csv = app.get("/api/v1/finance/export.csv", Some(&b)).await;
    assert_eq!(csv.body.as_str().map(|s| s.lines().count()), Some(1));
    assert_eq!(app.get(&path, Some(&a)).await.body["data"], op);
}
db_test!(another_tenants_operations_are_404_and_unchanged);

async fn list_filters_and_pages_without_gaps(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let seeded = seed(&app, &token).await;
    let id = |i: usize| seeded[i]["id"].as_str().expect("id").to_owned();

    let all = app.get(OPS, Some(&token)).await;
    assert_eq!(all.body["meta"]["total"], 8);
    assert_eq!(
        ids(&all.body),
        [5, 4, 3, 2, 7, 1, 0, 6].map(id),
        "newest first"
    );
    let asc = app.get(&format!("{OPS}?order=asc"), Some(&token)).await;
    assert_eq!(ids(&asc.body), [6, 0, 1, 7, 2, 3, 4, 5].map(id));

    for (query, expected) in [
        ("type=income", vec![5, 3, 7, 0]),
        ("category=proxy", vec![1, 6]),
        ("project_id=wow_tbc", vec![5, 4, 7, 0]),
        ("bot_id=bot-1", vec![4, 0]),
        ("currency=gold", vec![7]),
        // Days are whole: `to=2024-05-01` includes 23:59:59.999.
        ("from=2024-05-01&to=2024-05-01", vec![1, 0]),
        (
            "from=2024-05-01T10:00:00Z&to=2024-05-03T00:00:00Z",
            vec![2, 7, 1, 0],
        ),
        ("type=expense&project_id=wow_midnight", vec![2]),
    ] {
        let r = app.get(&format!("{OPS}?{query}"), Some(&token)).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
        let want: Vec<String> = expected.into_iter().map(id).collect();
        assert_eq!(ids(&r.body), want, "{query}");
        assert_eq!(r.body["meta"]["total"], want.len(), "{query}");
    }

    // Many rows on one instant: the id breaks ties, pages neither repeat nor skip.
    for i in 0..23 {
        create(
            &app,
            &token,
            json!({"type": "expense", "category": "bulk", "amount": format!("{i}.01"),
                   "currency": "USD", "date": "2024-06-01T00:00:00Z"}),
        )
        .await;
    }
    for order in ["desc", "asc"] {
        let (rows, pages) = all_pages(
            &app,
            &token,
            &format!("category=bulk&limit=5&order={order}"),
        )
        .await;
        assert_eq!(pages, 5, "{order}");
        let unique: HashSet<&str> = rows.iter().map(|r| r["id"].as_str().expect("id")).collect();
        assert_eq!((rows.len(), unique.len()), (23, 23), "{order}");
    }
    let (everything, _) = all_pages(&app, &token, "limit=7").await;
    assert_eq!(everything.len(), 31);
    let one_page = app.get(&format!("{OPS}?limit=500"), Some(&token)).await;
    assert_eq!(
        everything
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect::<Vec<_>>(),
        ids(&one_page.body)
    );
}
db_test!(list_filters_and_pages_without_gaps);

fn bucket(key: Value, income: &str, expense: &str, net: &str, gold: &str, count: u64) -> Value {
    json!({"key": key, "income": income, "expense": expense, "net": net,
           "gold_sold": gold, "count": count})
}

async fn summary_matches_hand_computed_sums(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    seed(&app, &token).await;

    let days = app
        .get(
            "/api/v1/finance/summary?from=2024-05-01&to=2024-05-05&group_by=day",
            Some(&token),
        )
        .await;
    assert_eq!(days.status, StatusCode::OK, "{}", days.body);
    let d = &days.body["data"];
    assert_eq!(d["currency"], "USD");
    assert_eq!(d["group_by"], "day");
    assert_eq!(d["from"], "2024-05-01T00:00:00.000Z");
    assert_eq!(d["to"], "2024-05-05T23:59:59.999Z");
    // 1 May: 12.34 in; 2.50 out (at 23:59:59.999). 3 May: 100.10 in; 15.00 out.
    // 5 May: 0.01 out. 2 and 4 May: nothing (the gold-currency sale is not USD).
    assert_eq!(
        d["buckets"],
        json!([
            bucket(json!("2024-05-01"), "12.34", "2.50", "9.84", "10000.00", 2),
            bucket(json!("2024-05-02"), "0.00", "0.00", "0.00", "0.00", 0),
            bucket(
                json!("2024-05-03"),
                "100.10",
                "15.00",
                "85.10",
                "50000.00",
                2
            ),
            bucket(json!("2024-05-04"), "0.00", "0.00", "0.00", "0.00", 0),
            bucket(json!("2024-05-05"), "0.00", "0.01", "-0.01", "0.00", 1),
        ])
    );
    assert_eq!(
        d["totals"],
        bucket(Value::Null, "112.44", "17.51", "94.93", "60000.00", 5)
    );

    let cats = app
        .get(
            "/api/v1/finance/summary?from=2024-05-01&to=2024-05-05&group_by=category",
            Some(&token),
        )
        .await;
    assert_eq!(
        cats.body["data"]["buckets"],
        json!([
            bucket(json!("bot_license"), "0.00", "0.01", "-0.01", "0.00", 1),
            bucket(json!("proxy"), "0.00", "2.50", "-2.50", "0.00", 1),
            bucket(json!("sale"), "112.44", "0.00", "112.44", "60000.00", 2),
            bucket(
                json!("subscription_game"),
                "0.00",
                "15.00",
                "-15.00",
                "0.00",
                1
            ),
        ])
    );
    let projects = app
        .get(
            "/api/v1/finance/summary?from=2024-05-01&to=2024-05-05&group_by=project",
            Some(&token),
        )
        .await;
    assert_eq!(
        projects.body["data"]["buckets"],
        json!([
            bucket(
                json!("wow_midnight"),
                "100.10",
                "15.00",
                "85.10",
                "50000.00",
                2
            ),
            bucket(json!("wow_tbc"), "12.34", "0.01", "12.33", "10000.00", 2),
            bucket(Value::Null, "0.00", "2.50", "-2.50", "0.00", 1),
        ])
    );
    // Without a range, category totals cover every USD operation: 12.34 + 100.10 + 999 in,
    // 2.50 + 15.00 + 0.01 + 7 out.
    let everything = app
        .get("/api/v1/finance/summary?group_by=category", Some(&token))
        .await;
    assert_eq!(
        everything.body["data"]["totals"],
        bucket(Value::Null, "1111.44", "24.51", "1086.93", "60000.00", 7)
    );
    assert_eq!(everything.body["data"]["from"], Value::Null);
    // Another currency and a filter.
    let gold = app
        .get(
            "/api/v1/finance/summary?from=2024-05-02&to=2024-05-02&currency=gold",
            Some(&token),
        )
        .await;
    assert_eq!(
        gold.body["data"]["buckets"],
        json!([bucket(
            json!("2024-05-02"),
            "5000.00",
            "0.00",
            "5000.00",
            "0.00",
            1
        )])
    );
    let tbc = app
        .get(
            "/api/v1/finance/summary?from=2024-05-01&to=2024-05-05&project_id=wow_tbc&group_by=category",
            Some(&token),
        )
        .await;
    assert_eq!(
        tbc.body["data"]["totals"],
        bucket(Value::Null, "12.34", "0.01", "12.33", "10000.00", 2)
    );
    // The default day range is the 30 days up to today.
    let recent = app.get("/api/v1/finance/summary", Some(&token)).await;
    assert_eq!(
        recent.body["data"]["buckets"].as_array().map(Vec::len),
        Some(30)
    );
}
db_test!(summary_matches_hand_computed_sums);

async fn csv_export_round_trips_the_filtered_data(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    seed(&app, &token).await;
    let resp = app
        .http
        .get(app.url("/api/v1/finance/export.csv?from=2024-05-01&to=2024-05-05&currency=USD"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        header("content-type").starts_with("text/csv"),
        "{}",
        header("content-type")
    );
    let disposition = header("content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"finance_transactions_")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = resp.text().await.expect("body");
    assert!(text.contains("\r\n"), "RFC 4180 line ends");

    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("header row")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        headers,
        [
            "id",
            "date",
            "type",
            "category",
            "project_id",
            "bot_id",
            "description",
            "currency",
            "amount",
            "gold_amount",
            "gold_price_at_time",
            "created_at",
            "updated_at"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let listed = app
        .get(
            &format!("{OPS}?from=2024-05-01&to=2024-05-05&currency=USD"),
            Some(&token),
        )
        .await;
    let expected = listed.body["data"].as_array().expect("list");
    assert_eq!(records.len(), 5);
    assert_eq!(records.len(), expected.len());
    for (row, op) in records.iter().zip(expected) {
        for (i, name) in headers.iter().enumerate() {
            let want = match &op[name.as_str()] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(&row[i], want, "{name} of {}", op["id"]);
        }
    }
    // Quoting survived: the comma, the quotes and the newline are back as they were.
    let descriptions: Vec<&str> = records.iter().map(|r| &r[6]).collect();
    assert!(descriptions.contains(&"10k gold, \"fast\" buyer"));
    assert!(descriptions.contains(&"proxy, monthly\nrenewal"));

    // Filters and order apply; no match still gives the header.
    let asc = app
        .get(
            "/api/v1/finance/export.csv?type=income&order=asc",
            Some(&token),
        )
        .await;
    let text = asc.body.as_str().expect("csv text");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let amounts: Vec<String> = reader
        .records()
        .map(|r| r.expect("row")[8].to_owned())
        .collect();
    assert_eq!(amounts, ["12.34", "5000.00", "100.10", "999.00"]);
    let none = app
        .get("/api/v1/finance/export.csv?category=nothing", Some(&token))
        .await;
    assert_eq!(none.body.as_str().map(|s| s.lines().count()), Some(1));
}
db_test!(csv_export_round_trips_the_filtered_data);

async fn large_exports_stream_every_row_once(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    // More rows than one export chunk (500), inserted through the service directly.
    let svc = botmox_server::finance::FinanceService::new(app.server.state.db.clone());
    let principal = admin_principal(&app).await;
    for i in 0..1203 {
        let req: botmox_contract::finance::OperationCreateRequest = serde_json::from_value(
            json!({"type": if i % 3 == 0 { "income" } else { "expense" }, "category": "bulk",
                   "amount": format!("{}.{:02}", i, i % 100), "currency": "USD",
                   "date": 1_714_521_600_000_i64 + i64::from(i % 7) * 3_600_000}),
        )
        .expect("request");
        svc.create(&principal, req).await.expect("created");
    }
    let r = app.get("/api/v1/finance/export.csv", Some(&token)).await;
    let text = r.body.as_str().expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 1203);
    let unique: HashSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(unique.len(), 1203);
    let total: i64 = rows
        .iter()
        .map(|r| {
            let (whole, cents) = r[8].split_once('.').expect("decimal");
            whole.parse::<i64>().expect("whole") * 100 + cents.parse::<i64>().expect("cents")
        })
        .sum();
    let expected: i64 = (0..1203i64).map(|i| i * 100 + i % 100).sum();
    assert_eq!(total, expected);
}
db_test!(large_exports_stream_every_row_once);

/// The admin as the service sees it.
async fn admin_principal(app: &TestApp) -> botmox_server::auth::Principal {
    let token = app.admin_token().await;
    app.server
        .state
        .auth
        .authenticate(&token)
        .await
        .expect("admin principal")
}
