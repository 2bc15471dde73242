//! The audit log: what is recorded for mutations (and what never is), admin-only reads within
//! the tenant, filters, paging, and the flush on shutdown; both databases.

mod common;

use common::{Db, TestApp};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use std::collections::HashSet;

async fn entries(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    app.server.state.audit.flush().await;
    let r = app.get(&format!("/api/v1/audit{query}"), Some(token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"].as_array().expect("entries").clone()
}

async fn mutations_are_recorded_with_who_what_and_outcome(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/auth/whoami", Some(&admin)).await.body["data"].clone();
    let secret_content = "name: Secret Recipe\nroles: [base-system]\n";
    let created = app
        .http
        .post(app.url("/api/v1/playbooks"))
        .bearer_auth(&admin)
        .header("x-request-id", "req-audit-0001")
        .json(&json!({"name": "Audited", "content": secret_content, "is_default": false}))
        .send()
        .await
        .expect("sent");
    let created = common::Reply::from(created).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["data"]["id"].as_str().expect("id").to_owned();
    // Reads are not recorded.
    app.get("/api/v1/playbooks", Some(&admin)).await;
    app.call(
        Method::DELETE,
        &format!("/api/v1/playbooks/{id}"),
        Some(&admin),
        None,
    )
    .await;

    let list = entries(&app, &admin, "").await;
    assert_eq!(list.len(), 2, "{list:?}");
    let delete = &list[0];
    let create = &list[1];
    assert_eq!(create["method"], "POST");
    assert_eq!(create["route"], "/api/v1/playbooks");
    assert_eq!(create["path"], "/api/v1/playbooks");
    assert_eq!(create["target_id"], id.as_str());
    assert_eq!(create["status"], 201);
    assert_eq!(create["request_id"], "req-audit-0001");
    assert_eq!(create["tenant_id"], "default");
    assert_eq!(create["actor"]["uid"], me["uid"]);
    assert_eq!(create["actor"]["email"], me["email"]);
    assert_eq!(create["actor"]["auth_kind"], "session");
    assert_eq!(create["actor"]["roles"], json!(["admin"]));
    assert!(create["duration_ms"].as_i64().is_some_and(|d| d >= 0));
    assert!(create["at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(
        create["body_shape"],
        json!({"type": "object", "keys": ["content", "is_default", "name"], "key_count": 3})
    );
    assert!(!create.to_string().contains("Secret Recipe"));
    assert_eq!(delete["method"], "DELETE");
    assert_eq!(delete["route"], "/api/v1/playbooks/{id}");
    assert_eq!(delete["target_id"], id.as_str());
    assert_eq!(delete["status"], 200);
    assert_eq!(delete["body_shape"], json!({"type": "empty"}));
    // Request ids are generated when the client sends none.
    assert!(delete["request_id"].as_str().is_some_and(|r| !r.is_empty()));
}
db_test!(mutations_are_recorded_with_who_what_and_outcome);

async fn secrets_and_values_never_reach_the_log(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let key = "ipqs-key-that-must-not-leak-123";
    app.call(
        Method::PUT,
        "/api/v1/settings/api_keys",
        Some(&admin),
        Some(json!({"ipqs": {"api_key": key}})),
    )
    .await;
    let bad = app
        .call(
            Method::PUT,
            "/api/v1/settings/proxy",
            Some(&admin),
            Some(json!({"fraud_score_threshold": 1000})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let list = entries(&app, &admin, "").await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["status"], 400);
    assert_eq!(list[1]["target_id"], Value::Null);
    assert_eq!(list[1]["route"], "/api/v1/settings/api_keys");
    assert_eq!(list[1]["body_shape"]["keys"], json!(["ipqs"]));
    let db = &app.server.state.db;
    let rows = db
        .conn
        .query_all_raw(Statement::from_string(
            db.db_backend(),
            "SELECT body_shape, path, target_id FROM audit_log",
        ))
        .await
        .expect("rows");
    for row in rows {
        let shape: String = row.try_get("", "body_shape").expect("shape");
        assert!(!shape.contains(key) && !shape.contains("1000"), "{shape}");
    }
    // Generic settings paths name their target.
    app.call(
        Method::PUT,
        "/api/v1/settings/theme/visual",
        Some(&admin),
        Some(json!({"blurPx": 2})),
    )
    .await;
    let list = entries(&app, &admin, "").await;
    assert_eq!(list[0]["route"], "/api/v1/settings/{path}/{*rest}");
    assert_eq!(list[0]["target_id"], "theme/visual");
}
db_test!(secrets_and_values_never_reach_the_log);

async fn only_admins_read_and_only_their_tenant(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let a = app.admin_token().await;
    let a_user = app.user_token("op@example.com", &["user", "infra"]).await;
    let b = app
        .user_token_in("tenant-b", "admin@b.example", &["admin"])
        .await;
    app.post(
        "/api/v1/playbooks",
        Some(&a_user),
        json!({"name": "A", "content": "name: A\nroles: [base-system]\n"}),
    )
    .await;
    app.server.state.audit.flush().await;
    app.get("/api/v1/audit", Some(&a_user))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    assert!(entries(&app, &b, "").await.is_empty());
    let mine = entries(&app, &a, "").await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["actor"]["email"], "op@example.com");
    // A mutation in tenant B is B's alone.
    app.post(
        "/api/v1/playbooks",
        Some(&b),
        json!({"name": "B", "content": "name: B\nroles: [base-system]\n"}),
    )
    .await;
    let theirs = entries(&app, &b, "").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["tenant_id"], "tenant-b");
    assert_eq!(entries(&app, &a, "").await.len(), 1);
    app.get("/api/v1/audit", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
}
db_test!(only_admins_read_and_only_their_tenant);

async fn filters_and_pages_narrow_the_log(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let user = app.user_token("op@example.com", &["user"]).await;
    let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for i in 0..5 {
        app.post(
            "/api/v1/playbooks",
            Some(&user),
            json!({"name": format!("P{i}"), "content": format!("name: P{i}\nroles: [base-system]\n")}),
        )
        .await;
    }
    app.call(
        Method::DELETE,
        "/api/v1/playbooks/no-such-playbook",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(entries(&app, &admin, "").await.len(), 6);
    let deletes = entries(&app, &admin, "?method=delete").await;
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0]["status"], 404);
    assert_eq!(entries(&app, &admin, "?status=404").await.len(), 1);
    assert_eq!(entries(&app, &admin, "?status=201").await.len(), 5);
    assert_eq!(
        entries(&app, &admin, "?actor=op@example.com").await.len(),
        5
    );
    assert_eq!(
        entries(&app, &admin, "?route=/api/v1/playbooks/%7Bid%7D")
            .await
            .len(),
        1
    );
    let from = entries(&app, &admin, &format!("?from={}", urlencode(&before))).await;
    assert_eq!(from.len(), 6);
    let to = entries(&app, &admin, &format!("?to={}", urlencode(&before))).await;
    assert!(to.is_empty());

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("?limit=4&cursor={c}"),
            None => "?limit=4".to_owned(),
        };
        app.server.state.audit.flush().await;
        let page = app.get(&format!("/api/v1/audit{q}"), Some(&admin)).await;
        for e in page.body["data"].as_array().expect("page") {
            seen.push(e["id"].as_str().expect("id").to_owned());
        }
        match page.body["meta"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 6);

    for bad in ["?method=GET", "?status=42", "?from=yesterday", "?limit=0"] {
        app.get(&format!("/api/v1/audit{bad}"), Some(&admin))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "AUDIT_INVALID_QUERY");
    }
}
db_test!(filters_and_pages_narrow_the_log);

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

async fn queued_records_are_written_on_shutdown(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    for i in 0..3 {
        app.post(
            "/api/v1/playbooks",
            Some(&admin),
            json!({"name": format!("S{i}"), "content": format!("name: S{i}\nroles: [base-system]\n")}),
        )
        .await;
    }
    let TestApp {
        server, storage, ..
    } = app;
    let db = server.state.db.clone();
    server.stop().await;
    let rows = db
        .conn
        .query_all_raw(Statement::from_string(
            db.db_backend(),
            "SELECT id FROM audit_log",
        ))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 3);
    drop(storage);
}
db_test!(queued_records_are_written_on_shutdown);
