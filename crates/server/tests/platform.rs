//! The HTTP platform: envelope for bad input, correlation ids, CORS, security headers,
//! metrics, health and readiness.

mod common;

use common::{Db, Storage, TestApp, base_vars};
use reqwest::StatusCode;
use serde_json::json;

async fn bad_input_gets_an_envelope_not_a_crash(db: Db) {
    let Some(app) = TestApp::spawn_with(db, &[("BOTMOX_MAX_BODY_BYTES", "2048")]).await else {
        return;
    };
    let malformed = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .expect("sent");
    common::Reply::from(malformed)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BAD_REQUEST");

    let big = "x".repeat(4096);
    let oversized = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "a@b.c", "password": big}),
        )
        .await;
    oversized.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");

    let wrong_type = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .expect("sent");
    common::Reply::from(wrong_type)
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");

    let missing_field = app
        .post("/api/v1/auth/login", None, json!({"email": "a@b.c"}))
        .await;
    missing_field.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");

    let unknown = app.get("/api/v1/no/such/route", None).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(
        unknown.body["error"]["message"],
        "Cannot GET /api/v1/no/such/route"
    );

    let wrong_method = app
        .call(reqwest::Method::DELETE, "/api/v1/auth/login", None, None)
        .await;
    wrong_method.assert_error(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");

    // Nothing above created anything or broke the server.
    let users = app.server.state.auth.list_users(None).await.expect("users");
    assert_eq!(users.len(), 1);
    assert_eq!(
        app.get("/api/v1/health/live", None).await.status,
        StatusCode::OK
    );
}
db_test!(bad_input_gets_an_envelope_not_a_crash);

async fn correlation_ids_are_kept_or_generated_and_exposed(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let resp = app
        .http
        .get(app.url("/api/v1/health/live"))
        .header("x-request-id", "  req-123  ")
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .expect("sent");
    let h = resp.headers();
    assert_eq!(h["x-request-id"], "req-123");
    let generated = h["x-correlation-id"].to_str().expect("ascii");
    assert_eq!(generated.len(), 36, "a fresh uuid: {generated}");
    assert!(h.contains_key("x-trace-id"));
    assert_eq!(h["access-control-allow-origin"], "http://localhost:5173");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let exposed = h["access-control-expose-headers"].to_str().expect("ascii");
    assert!(
        exposed.contains("x-request-id") && exposed.contains("x-trace-id"),
        "{exposed}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");

    let foreign = app
        .http
        .get(app.url("/api/v1/health/live"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .expect("sent");
    assert!(
        !foreign
            .headers()
            .contains_key("access-control-allow-origin")
    );

    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/whoami"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("sent");
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
}
db_test!(correlation_ids_are_kept_or_generated_and_exposed);

async fn metrics_count_requests_by_route_template(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    app.call(
        reqwest::Method::DELETE,
        "/api/v1/auth/tokens/some-id",
        Some(&admin),
        None,
    )
    .await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(
        text.contains("route=\"/api/v1/auth/tokens/{id}\""),
        "route template label, not the raw path"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(text.contains("db_pool_connections"));
}
db_test!(metrics_count_requests_by_route_template);

async fn health_endpoints_report_their_checks(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let summary = app.get("/api/v1/health", None).await;
    assert_eq!(summary.status, StatusCode::OK);
    let backend = if db == Db::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(summary.body["data"]["data_backend"], backend);
    assert_eq!(summary.body["data"]["object_store"], "local");
    let ready = app.get("/api/v1/health/ready", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert_eq!(ready.body["data"]["status"], "ready");
    for check in ["database", "object_store"] {
        assert_eq!(ready.body["data"]["checks"][check]["ready"], true);
        assert!(ready.body["data"]["checks"][check]["latency_ms"].is_number());
    }
    let startup = app.get("/api/v1/health/startup", None).await;
    assert_eq!(startup.status, StatusCode::OK);
    assert_eq!(startup.body["data"]["checks"]["migrations"]["ready"], true);
}
db_test!(health_endpoints_report_their_checks);

/// PostgreSQL reached through a proxy that the test cuts and restores.
async fn postgres_behind_proxy() -> Option<(Storage, botmox_testkit::tcp_proxy::TcpProxy)> {
    let mut storage = Storage::new(Db::Postgres).await?;
    let mut url = reqwest::Url::parse(&storage.database_url).expect("url");
    let host = url.host_str().unwrap_or("127.0.0.1").to_owned();
    let port = url.port().unwrap_or(5432);
    let target = tokio::net::lookup_host((host.as_str(), port))
        .await
        .expect("resolve")
        .next()
        .expect("address");
    let proxy = botmox_testkit::tcp_proxy::TcpProxy::start(target)
        .await
        .expect("proxy");
    url.set_host(Some("127.0.0.1")).expect("host");
    url.set_port(Some(proxy.addr.port())).expect("port");
    storage.database_url = url.to_string();
    Some((storage, proxy))
}

async fn readiness_is_503_while_the_database_is_gone(db: Db) {
    match db {
        Db::Sqlite => {
            let Some(app) = TestApp::spawn(db).await else {
                return;
            };
            let file = app.storage.sqlite_file();
            let moved = file.with_extension("moved");
            std::fs::rename(&file, &moved).expect("move db away");
            let down = app.get("/api/v1/health/ready", None).await;
            assert_eq!(
                down.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                down.body
            );
            assert_eq!(down.body["data"]["status"], "not-ready");
            assert_eq!(down.body["data"]["checks"]["database"]["ready"], false);
            assert_eq!(down.body["data"]["checks"]["object_store"]["ready"], true);
            std::fs::rename(&moved, &file).expect("move db back");
            let up = app.get("/api/v1/health/ready", None).await;
            assert_eq!(up.status, StatusCode::OK, "{}", up.body);
        }
        Db::Postgres => {
            let Some((storage, proxy)) = postgres_behind_proxy().await else {
                return;
            };
            let mut vars = base_vars(&storage);
            vars.insert("READINESS_PROBE_TIMEOUT_MS".into(), "1500".into());
            let app = TestApp::start(storage, vars).await;
            assert_eq!(
                app.get("/api/v1/health/ready", None).await.status,
                StatusCode::OK
            );
            proxy.cut();
            let down = app.get("/api/v1/health/ready", None).await;
            assert_eq!(
                down.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                down.body
            );
            assert_eq!(down.body["data"]["checks"]["database"]["ready"], false);
            assert!(down.body["data"]["checks"]["database"]["reason"].is_string());
            // Liveness does not depend on the database.
            assert_eq!(
                app.get("/api/v1/health/live", None).await.status,
                StatusCode::OK
            );
            proxy.restore();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
            loop {
                let r = app.get("/api/v1/health/ready", None).await;
                if r.status == StatusCode::OK {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "never recovered: {}",
                    r.body
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}
db_test!(readiness_is_503_while_the_database_is_gone);
