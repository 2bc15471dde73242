//! IPQS against a local fake of the IPQualityScore API: field mapping, the per-tenant cache
//! and its expiry, upstream failures, key selection, address checks, batches; both databases.

mod common;

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use common::{Db, TestApp};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const GOOD_KEY: &str = "good-key-0123456789";

/// A stand-in for ipqualityscore.com on a loopback port.
struct FakeIpqs {
    base: String,
    hits: Arc<AtomicUsize>,
}

impl FakeIpqs {
    async fn start() -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new()
            .route("/api/json/ip/{key}/{ip}", axum::routing::get(report))
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn report(
    State(hits): State<Arc<AtomicUsize>>,
    Path((key, ip)): Path<(String, String)>,
) -> axum::response::Response {
    hits.fetch_add(1, Ordering::SeqCst);
    if key != GOOD_KEY {
        return axum::Json(json!({
            "success": false,
            "message": format!("Invalid or unauthorized key: {key}"),
            "request_id": "r1"
        }))
        .into_response();
    }
    match ip.as_str() {
        "6.6.6.6" => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "7.7.7.7" => "<html>not json</html>".into_response(),
        _ => axum::Json(json!({
            "success": true, "message": "Success", "fraud_score": 85,
            "country_code": "NL", "region": "Noord-Holland", "city": "Amsterdam",
            "ISP": "Fake Hosting BV", "organization": "Fake Org", "ASN": 64512,
            "host": format!("host-{ip}.example"), "latitude": 52.37, "longitude": 4.89,
            "zip_code": "1012", "timezone": "Europe/Amsterdam", "is_crawler": false,
            "mobile": false, "vpn": true, "active_vpn": false, "proxy": true, "tor": false,
            "active_tor": false, "recent_abuse": true, "bot_status": true,
            "connection_type": "Data Center", "abuse_velocity": "high", "request_id": "r2"
        }))
        .into_response(),
    }
}

async fn spawn(db: Db, fake: &FakeIpqs, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut vars = vec![("IPQS_BASE_URL", fake.base.as_str())];
    vars.extend_from_slice(extra);
    TestApp::spawn_with(db, &vars).await
}

async fn check(app: &TestApp, token: &str, ip: &str) -> common::Reply {
    app.post("/api/v1/ipqs/check", Some(token), json!({"ip": ip}))
        .await
}

async fn without_a_key_checks_are_unavailable(db: Db) {
    let fake = FakeIpqs::start().await;
    let Some(app) = spawn(db, &fake, &[]).await else {
        return;
    };
    let admin = app.admin_token().await;
    let status = app.get("/api/v1/ipqs/status", Some(&admin)).await;
    assert_eq!(
        status.body["data"],
        json!({"enabled": true, "configured": false, "source": null})
    );
    check(&app, &admin, "8.8.8.8")
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "IPQS_NOT_CONFIGURED");
    app.post(
        "/api/v1/ipqs/check-batch",
        Some(&admin),
        json!({"ips": ["8.8.8.8"]}),
    )
    .await
    .assert_error(StatusCode::SERVICE_UNAVAILABLE, "IPQS_NOT_CONFIGURED");
    // Bad input is answered as bad input, key or no key.
    let bad = app
        .post(
            "/api/v1/ipqs/check-batch",
            Some(&admin),
            json!({"ips": ["", "not-an-ip"]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::OK, "{:?}", bad.body);
    let results = bad.body["data"]["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .all(|r| r["success"] == false && r["code"] == "BAD_REQUEST")
    );
    assert_eq!(fake.hits(), 0);
}
db_test!(without_a_key_checks_are_unavailable);

async fn reports_are_mapped_and_cached_per_tenant(db: Db) {
    let fake = FakeIpqs::start().await;
    let Some(app) = spawn(db, &fake, &[("IPQS_API_KEY", GOOD_KEY)]).await else {
        return;
    };
    let admin = app.admin_token().await;
    let status = app.get("/api/v1/ipqs/status", Some(&admin)).await;
    assert_eq!(status.body["data"]["configured"], true);
    assert_eq!(status.body["data"]["source"], "env");

    let first = check(&app, &admin, " 203.0.113.9 ").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let r = &first.body["data"];
    assert_eq!(r["ip"], "203.0.113.9");
    assert_eq!(r["success"], true);
    assert_eq!(r["fraud_score"], 85);
    assert_eq!(r["country_code"], "NL");
    assert_eq!(r["city"], "Amsterdam");
    assert_eq!(r["isp"], "Fake Hosting BV");
    assert_eq!(r["organization"], "Fake Org");
    assert_eq!(r["asn"], 64512);
    assert_eq!(r["timezone"], "Europe/Amsterdam");
    assert_eq!(r["vpn"], true);
    assert_eq!(r["proxy"], true);
    assert_eq!(r["tor"], false);
    assert_eq!(r["bot_status"], true);
    assert_eq!(r["recent_abuse"], true);
    assert_eq!(r["cached"], false);
    assert_eq!(fake.hits(), 1);

    // The second call is served from the cache.
    let second = check(&app, &admin, "203.0.113.9").await;
    assert_eq!(second.body["data"]["cached"], true);
    assert_eq!(second.body["data"]["fraud_score"], 85);
    assert_eq!(second.body["data"]["checked_at"], r["checked_at"]);
    assert_eq!(fake.hits(), 1);

    // Another tenant has its own cache.
    let other = app
        .user_token_in("tenant-b", "b@example.com", &["user"])
        .await;
    let theirs = check(&app, &other, "203.0.113.9").await;
    assert_eq!(theirs.body["data"]["cached"], false);
    assert_eq!(fake.hits(), 2);

    // Once the entry expires, the provider is asked again.
    let db = &app.server.state.db;
    db.conn
        .execute_unprepared("UPDATE ipqs_cache SET expires_at = 0")
        .await
        .expect("expire");
    let third = check(&app, &admin, "203.0.113.9").await;
    assert_eq!(third.body["data"]["cached"], false);
    assert_eq!(fake.hits(), 3);
    let rows = db
        .conn
        .query_all_raw(Statement::from_string(
            db.db_backend(),
            "SELECT tenant_id FROM ipqs_cache",
        ))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 2);

    // Housekeeping drops expired entries only.
    db.conn
        .execute_unprepared("UPDATE ipqs_cache SET expires_at = 0 WHERE tenant_id = 'tenant-b'")
        .await
        .expect("expire b");
    assert_eq!(
        app.server.state.ipqs.purge_expired().await.expect("purge"),
        1
    );
    let again = check(&app, &admin, "203.0.113.9").await;
    assert_eq!(again.body["data"]["cached"], true);
}
db_test!(reports_are_mapped_and_cached_per_tenant);

async fn a_zero_ttl_never_caches(db: Db) {
    let fake = FakeIpqs::start().await;
    let Some(app) = spawn(
        db,
        &fake,
        &[("IPQS_API_KEY", GOOD_KEY), ("IPQS_CACHE_TTL_SECONDS", "0")],
    )
    .await
    else {
        return;
    };
    let admin = app.admin_token().await;
    check(&app, &admin, "198.51.100.1").await;
    let again = check(&app, &admin, "198.51.100.1").await;
    assert_eq!(again.body["data"]["cached"], false);
    assert_eq!(fake.hits(), 2);
}
db_test!(a_zero_ttl_never_caches);

async fn upstream_failures_are_bad_gateway_and_not_cached(db: Db) {
    let fake = FakeIpqs::start().await;
    let Some(app) = spawn(db, &fake, &[("IPQS_API_KEY", GOOD_KEY)]).await else {
        return;
    };
    let admin = app.admin_token().await;
    check(&app, &admin, "6.6.6.6")
        .await
        .assert_error(StatusCode::BAD_GATEWAY, "IPQS_API_ERROR");
    check(&app, &admin, "7.7.7.7")
        .await
        .assert_error(StatusCode::BAD_GATEWAY, "IPQS_API_ERROR");
    check(&app, &admin, "6.6.6.6")
        .await
        .assert_error(StatusCode::BAD_GATEWAY, "IPQS_API_ERROR");
    assert_eq!(fake.hits(), 3);

    // A refused key is a 502 too, and the key never shows in the answer.
    let bad_key = "bad-key-secret-value-42";
    app.call(
        Method::PUT,
        "/api/v1/settings/api_keys",
        Some(&admin),
        Some(json!({"ipqs": {"api_key": bad_key}})),
    )
    .await;
    let refused = check(&app, &admin, "8.8.4.4").await;
    refused.assert_error(StatusCode::BAD_GATEWAY, "IPQS_API_ERROR");
    assert!(
        !refused.body.to_string().contains(bad_key),
        "{}",
        refused.body
    );

    // An unreachable provider is a 502 as well.
    drop(app);
    let Some(app) = TestApp::spawn_with(
        db,
        &[
            ("IPQS_API_KEY", GOOD_KEY),
            ("IPQS_BASE_URL", "http://127.0.0.1:9"),
            ("IPQS_TIMEOUT_MS", "2000"),
        ],
    )
    .await
    else {
        return;
    };
    let admin = app.admin_token().await;
    let down = check(&app, &admin, "8.8.8.8").await;
    down.assert_error(StatusCode::BAD_GATEWAY, "IPQS_API_ERROR");
    assert!(!down.body.to_string().contains(GOOD_KEY));
}
db_test!(upstream_failures_are_bad_gateway_and_not_cached);

async fn the_settings_key_wins_and_can_switch_checks_off(db: Db) {
    let fake = FakeIpqs::start().await;
    let Some(app) = spawn(db, &fake, &[("IPQS_API_KEY", "bad-env-key-000")]).await else {
        return;
    };
    let admin = app.admin_token().await;
    check(&app, &admin, "8.8.8.8")
        .await
        .assert_error(StatusCode::BAD_GATEWAY, "IPQS_API_ERROR");
    app.call(
        Method::PUT,
        "/api/v1/settings/api_keys",
        Some(&admin),
        Some(json!({"ipqs": {"api_key": GOOD_KEY, "enabled": true}})),
    )
    .await;
    let status = app.get("/api/v1/ipqs/status", Some(&admin)).await;
    assert_eq!(status.body["data"]["source"], "settings");
    let ok = check(&app, &admin, "8.8.8.8").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    app.call(
        Method::PATCH,
        "/api/v1/settings/api_keys",
        Some(&admin),
        Some(json!({"ipqs": {"api_key": "****6789", "enabled": false}})),
    )
    .await;
    let status = app.get("/api/v1/ipqs/status", Some(&admin)).await;
    assert_eq!(
        status.body["data"],
        json!({"enabled": false, "configured": true, "source": "settings"})
    );
    check(&app, &admin, "8.8.8.8")
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "IPQS_DISABLED");
}
db_test!(the_settings_key_wins_and_can_switch_checks_off);

async fn addresses_and_bodies_are_validated(db: Db) {
    let fake = FakeIpqs::start().await;
    let Some(app) = spawn(db, &fake, &[("IPQS_API_KEY", GOOD_KEY)]).await else {
        return;
    };
    let admin = app.admin_token().await;
    for bad in ["999.1.1.1", "1.2.3", "example.com", "1.2.3.4; rm -rf /"] {
        let r = check(&app, &admin, bad).await;
        r.assert_error(StatusCode::BAD_REQUEST, "BAD_REQUEST");
        assert_eq!(r.body["error"]["message"], "Invalid IP address format");
    }
    let r = check(&app, &admin, "  ").await;
    r.assert_error(StatusCode::BAD_REQUEST, "BAD_REQUEST");
    assert_eq!(r.body["error"]["message"], "IP address is required");
    app.post(
        "/api/v1/ipqs/check",
        Some(&admin),
        json!({"address": "1.1.1.1"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "IPQS_INVALID_CHECK_BODY");
    app.post("/api/v1/ipqs/check", Some(&admin), json!({"ip": 42}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "IPQS_INVALID_CHECK_BODY");
    let v6 = check(&app, &admin, "2001:db8:0:0::1").await;
    assert_eq!(v6.body["data"]["ip"], "2001:db8::1");
    assert_eq!(fake.hits(), 1);
}
db_test!(addresses_and_bodies_are_validated);

async fn batches_report_each_address(db: Db) {
    let fake = FakeIpqs::start().await;
    let Some(app) = spawn(db, &fake, &[("IPQS_API_KEY", GOOD_KEY)]).await else {
        return;
    };
    let admin = app.admin_token().await;
    let r = app
        .post(
            "/api/v1/ipqs/check-batch",
            Some(&admin),
            json!({"ips": ["192.0.2.1", "nope", "6.6.6.6", "192.0.2.2"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let results = r.body["data"]["results"]
        .as_array()
        .expect("results")
        .clone();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["ip"], "192.0.2.1");
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[0]["data"]["fraud_score"], 85);
    assert_eq!(
        results[1],
        json!({"ip": "nope", "success": false, "error": "Invalid IP address format", "code": "BAD_REQUEST"})
    );
    assert_eq!(results[2]["success"], false);
    assert_eq!(results[2]["code"], "IPQS_API_ERROR");
    assert_eq!(results[3]["success"], true);
    assert_eq!(fake.hits(), 3);

    let eleven: Vec<String> = (1..=11).map(|i| format!("192.0.2.{i}")).collect();
    let r = app
        .post(
            "/api/v1/ipqs/check-batch",
            Some(&admin),
            json!({"ips": eleven}),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "BAD_REQUEST");
    assert_eq!(
        r.body["error"]["message"],
        "Maximum 10 IPs per batch request"
    );
    let r = app
        .post("/api/v1/ipqs/check-batch", Some(&admin), json!({"ips": []}))
        .await;
    assert_eq!(
        r.body["error"]["message"],
        "Array of IP addresses is required"
    );
    app.post(
        "/api/v1/ipqs/check-batch",
        Some(&admin),
        json!({"ips": "1.1.1.1"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "IPQS_INVALID_CHECK_BATCH_BODY");
    assert_eq!(fake.hits(), 3);
}
db_test!(batches_report_each_address);
