//! Playbooks: CRUD, the YAML checker (422 with details), one default per tenant, unique
//! names, tenant isolation and pagination, on both databases.

mod common;

use common::{Db, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;

const STANDARD: &str = "name: Bot-Mox Standard Provisioning
hosts: all
roles:
  - base-system
  - privacy-debloat
  - network-config
  - common-apps
  - personalization
  - nvidia-driver
  - syncthing
  - proxifier
  - post-reboot
";

fn play(name: &str) -> String {
    format!("name: {name}\nroles:\n  - base-system\n")
}

async fn create(app: &TestApp, token: &str, body: Value) -> common::Reply {
    app.post("/api/v1/playbooks", Some(token), body).await
}

async fn crud_round_trip(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let created = create(
        &app,
        &admin,
        json!({"name": "Standard", "content": STANDARD, "is_default": true}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let pb = created.body["data"].clone();
    let id = pb["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("playbook-"), "{id}");
    assert_eq!(pb["name"], "Standard");
    assert_eq!(pb["is_default"], true);
    assert_eq!(pb["content"], STANDARD);
    assert!(pb["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));

    let got = app
        .get(&format!("/api/v1/playbooks/{id}"), Some(&admin))
        .await;
    assert_eq!(got.body["data"], pb);

    let renamed = app
        .call(
            Method::PUT,
            &format!("/api/v1/playbooks/{id}"),
            Some(&admin),
            Some(json!({"name": "Standard v2", "is_default": false})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.body["data"]["name"], "Standard v2");
    // The original could never unset the flag; here it can.
    assert_eq!(renamed.body["data"]["is_default"], false);
    assert_eq!(renamed.body["data"]["content"], STANDARD);
    assert!(renamed.body["data"]["updated_at"].as_str() > pb["updated_at"].as_str());

    let list = app.get("/api/v1/playbooks", Some(&admin)).await;
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(1));

    let deleted = app
        .call(
            Method::DELETE,
            &format!("/api/v1/playbooks/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.body["data"], json!({"id": id, "deleted": true}));
    app.get(&format!("/api/v1/playbooks/{id}"), Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "PLAYBOOK_NOT_FOUND");
    app.call(
        Method::DELETE,
        &format!("/api/v1/playbooks/{id}"),
        Some(&admin),
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "PLAYBOOK_NOT_FOUND");
}
db_test!(crud_round_trip);

async fn invalid_content_is_rejected_with_details_and_not_stored(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let bad = "name: Broken\nroles:\n  - base-system\n  - my-custom-role\nsteps:\n  - type: teleport\n  - type: download\n    url: ftp://nowhere\n";
    let r = create(&app, &admin, json!({"name": "Broken", "content": bad})).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PLAYBOOK");
    assert_eq!(
        r.body["error"]["message"],
        "Playbook YAML validation failed"
    );
    let details = &r.body["error"]["details"];
    let errors: Vec<&str> = details["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert!(errors.contains(&"steps[0].type"), "{details}");
    assert!(errors.contains(&"steps[1].url"), "{details}");
    assert!(errors.contains(&"steps[1].dest"), "{details}");
    assert!(
        details["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty()))
    );
    assert_eq!(details["warnings"][0]["path"], "roles[1]");

    let r = create(
        &app,
        &admin,
        json!({"name": "Syntax", "content": "name: [unclosed\nroles: x"}),
    )
    .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PLAYBOOK");
    assert!(
        r.body["error"]["details"]["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("YAML syntax error"))
    );
    assert_eq!(
        app.get("/api/v1/playbooks", Some(&admin)).await.body["data"],
        json!([])
    );

    // An update with bad content changes nothing either.
    let ok = create(&app, &admin, json!({"name": "Good", "content": STANDARD})).await;
    let id = ok.body["data"]["id"].as_str().expect("id").to_owned();
    app.call(
        Method::PUT,
        &format!("/api/v1/playbooks/{id}"),
        Some(&admin),
        Some(json!({"content": "hosts: all\n", "name": "Renamed"})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PLAYBOOK");
    let still = app
        .get(&format!("/api/v1/playbooks/{id}"), Some(&admin))
        .await;
    assert_eq!(still.body["data"]["name"], "Good");
    assert_eq!(still.body["data"]["content"], STANDARD);
}
db_test!(invalid_content_is_rejected_with_details_and_not_stored);

async fn validate_reports_errors_and_warnings_without_storing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let valid = app
        .post(
            "/api/v1/playbooks/validate",
            Some(&admin),
            json!({"content": "- name: a\n  roles: [base-system, extra-role]\n  steps:\n    - type: reboot\n"}),
        )
        .await;
    assert_eq!(valid.status, StatusCode::OK, "{}", valid.body);
    assert_eq!(valid.body["data"]["valid"], true);
    assert_eq!(valid.body["data"]["errors"], json!([]));
    assert_eq!(
        valid.body["data"]["warnings"],
        json!([{"path": "[0].roles[1]", "message": "Unknown role \"extra-role\""}])
    );
    let invalid = app
        .post(
            "/api/v1/playbooks/validate",
            Some(&admin),
            json!({"content": "hosts: all\n"}),
        )
        .await;
    assert_eq!(invalid.body["data"]["valid"], false);
    assert_eq!(
        invalid.body["data"]["errors"],
        json!([
            {"path": "name", "message": "Missing \"name\" field"},
            {"path": "roles", "message": "Missing \"roles\" field"}
        ])
    );
    let empty = app
        .post(
            "/api/v1/playbooks/validate",
            Some(&admin),
            json!({"content": "  "}),
        )
        .await;
    assert_eq!(
        empty.body["data"]["errors"],
        json!([{"message": "Content is required"}])
    );
    app.post("/api/v1/playbooks/validate", Some(&admin), json!({}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "PLAYBOOK_INVALID_VALIDATE_BODY");
    assert_eq!(
        app.get("/api/v1/playbooks", Some(&admin)).await.body["data"],
        json!([])
    );
}
db_test!(validate_reports_errors_and_warnings_without_storing);

async fn bodies_and_ids_are_validated(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let r = create(&app, &admin, json!({"name": "  ", "content": STANDARD})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "PLAYBOOK_INVALID_CREATE_BODY");
    assert!(r.body["error"]["details"]["fields"]["name"].is_array());
    create(&app, &admin, json!({"name": "x"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "PLAYBOOK_INVALID_CREATE_BODY");
    let huge = format!("{}#{}\n", STANDARD, "x".repeat(65_600));
    let r = create(&app, &admin, json!({"name": "Huge", "content": huge})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "PLAYBOOK_INVALID_CREATE_BODY");
    assert!(r.body["error"]["details"]["fields"]["content"].is_array());
    let ok = create(&app, &admin, json!({"name": "One", "content": STANDARD})).await;
    let id = ok.body["data"]["id"].as_str().expect("id").to_owned();
    app.call(
        Method::PUT,
        &format!("/api/v1/playbooks/{id}"),
        Some(&admin),
        Some(json!({})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "PLAYBOOK_INVALID_UPDATE_BODY");
    app.call(
        Method::PUT,
        &format!("/api/v1/playbooks/{id}"),
        Some(&admin),
        Some(json!({"is_default": "yes"})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "PLAYBOOK_INVALID_UPDATE_BODY");
    app.get("/api/v1/playbooks/bad%20id", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "PLAYBOOK_INVALID_ID");
    // Names are unique per tenant.
    create(&app, &admin, json!({"name": "One", "content": STANDARD}))
        .await
        .assert_error(StatusCode::CONFLICT, "PLAYBOOK_NAME_CONFLICT");
    let two = create(&app, &admin, json!({"name": "Two", "content": STANDARD})).await;
    let two_id = two.body["data"]["id"].as_str().expect("id").to_owned();
    app.call(
        Method::PUT,
        &format!("/api/v1/playbooks/{two_id}"),
        Some(&admin),
        Some(json!({"name": "One"})),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "PLAYBOOK_NAME_CONFLICT");
    assert_eq!(
        app.get(&format!("/api/v1/playbooks/{two_id}"), Some(&admin))
            .await
            .body["data"]["name"],
        "Two"
    );
}
db_test!(bodies_and_ids_are_validated);

async fn a_tenant_has_one_default_playbook(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let mut ids = Vec::new();
    for name in ["A", "B", "C"] {
        let r = create(
            &app,
            &admin,
            json!({"name": name, "content": play(name), "is_default": true}),
        )
        .await;
        ids.push(r.body["data"]["id"].as_str().expect("id").to_owned());
    }
    let defaults = |list: &Value| -> Vec<String> {
        list.as_array()
            .expect("list")
            .iter()
            .filter(|p| p["is_default"] == true)
            .map(|p| p["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let list = app.get("/api/v1/playbooks", Some(&admin)).await.body["data"].clone();
    assert_eq!(defaults(&list), vec![ids[2].clone()]);
    app.call(
        Method::PUT,
        &format!("/api/v1/playbooks/{}", ids[0]),
        Some(&admin),
        Some(json!({"is_default": true})),
    )
    .await;
    let list = app.get("/api/v1/playbooks", Some(&admin)).await.body["data"].clone();
    assert_eq!(defaults(&list), vec![ids[0].clone()]);
    let service = botmox_server::playbooks::PlaybookService::new(app.server.state.db.clone());
    let picked = service
        .for_provisioning("default", None)
        .await
        .expect("lookup")
        .expect("a default");
    assert_eq!(picked.id, ids[0]);
}
db_test!(a_tenant_has_one_default_playbook);

async fn playbooks_of_another_tenant_are_not_found(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let a = app.admin_token().await;
    let b = app
        .user_token_in("tenant-b", "b@example.com", &["admin"])
        .await;
    let r = create(&app, &a, json!({"name": "Mine", "content": STANDARD})).await;
    let id = r.body["data"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/playbooks/{id}");
    app.get(&path, Some(&b))
        .await
        .assert_error(StatusCode::NOT_FOUND, "PLAYBOOK_NOT_FOUND");
    app.call(
        Method::PUT,
        &path,
        Some(&b),
        Some(json!({"name": "Stolen"})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "PLAYBOOK_NOT_FOUND");
    app.call(Method::DELETE, &path, Some(&b), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "PLAYBOOK_NOT_FOUND");
    assert_eq!(
        app.get("/api/v1/playbooks", Some(&b)).await.body["data"],
        json!([])
    );
    // The same name is free in another tenant.
    let same = create(&app, &b, json!({"name": "Mine", "content": STANDARD})).await;
    assert_eq!(same.status, StatusCode::CREATED);
    let still = app.get(&path, Some(&a)).await;
    assert_eq!(still.body["data"]["name"], "Mine");
    assert_eq!(still.body["data"]["content"], STANDARD);
}
db_test!(playbooks_of_another_tenant_are_not_found);

async fn lists_page_without_gaps_or_duplicates(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    for i in 0..7 {
        let name = format!("P{i}");
        create(&app, &admin, json!({"name": name, "content": play(&name)})).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/playbooks?limit=3&cursor={c}"),
            None => "/api/v1/playbooks?limit=3".to_owned(),
        };
        let page = app.get(&path, Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for p in page.body["data"].as_array().expect("page") {
            seen.push(p["id"].as_str().expect("id").to_owned());
        }
        match page.body["meta"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
}
db_test!(lists_page_without_gaps_or_duplicates);
