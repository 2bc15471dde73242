//! VM registry: registration upserts and owner rules, resolve, list with filters and pages,
//! status changes, tenant isolation.

mod common;

use common::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

async fn uid(app: &TestApp, token: &str) -> String {
    let me = app.get("/api/v1/auth/whoami", Some(token)).await;
    me.body["data"]["uid"].as_str().expect("uid").to_owned()
}

async fn register_is_an_upsert_keyed_on_the_lower_cased_uuid(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let user = app.user_token("vm-owner@example.com", &["user"]).await;
    let me = uid(&app, &user).await;
    let created = app
        .post(
            "/api/v1/vm/register",
            Some(&user),
            json!({"vm_uuid": "  VM-ABCDEF-0001 ", "vm_name": "farm-1", "project_id": "wow_tbc",
                   "metadata": {"node": "pve1"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let vm = &created.body["data"];
    assert_eq!(vm["vm_uuid"], "vm-abcdef-0001");
    assert_eq!(vm["user_id"], me.as_str());
    assert_eq!(vm["status"], "active");
    assert_eq!(vm["tenant_id"], "default");
    assert_eq!(vm["metadata"], json!({"node": "pve1"}));
    let first_created = vm["created_at"].clone();

    // Same VM in another case: an update that keeps created_at and unnamed fields.
    let updated = app
        .post(
            "/api/v1/vm/register",
            Some(&user),
            json!({"vm_uuid": "vm-abcdef-0001", "status": "PAUSED"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["data"]["status"], "paused");
    assert_eq!(updated.body["data"]["vm_name"], "farm-1");
    assert_eq!(updated.body["data"]["metadata"], json!({"node": "pve1"}));
    assert_eq!(updated.body["data"]["created_at"], first_created);

    let resolved = app
        .get("/api/v1/vm/VM-ABCDEF-0001/resolve", Some(&user))
        .await;
    assert_eq!(resolved.status, StatusCode::OK);
    assert_eq!(resolved.body["data"]["status"], "paused");
}
db_test!(register_is_an_upsert_keyed_on_the_lower_cased_uuid);

async fn register_validates_its_body(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let user = app.user_token("v@example.com", &["user"]).await;
    for body in [
        json!({"vm_uuid": "short"}),
        json!({"vm_uuid": "bad uuid with spaces"}),
        json!({"vm_uuid": "x".repeat(129)}),
        json!({"vm_uuid": "vm-00000001", "status": "deleted"}),
        json!({"vm_uuid": "vm-00000001", "metadata": "not-an-object"}),
        json!({"vm_uuid": "vm-00000001", "user_id": ""}),
        json!({"vm_name": "no uuid"}),
    ] {
        let r = app
            .post("/api/v1/vm/register", Some(&user), body.clone())
            .await;
        r.assert_error(StatusCode::BAD_REQUEST, "VM_REGISTER_INVALID_BODY");
    }
    let r = app
        .post(
            "/api/v1/vm/register",
            Some(&user),
            json!({"vm_uuid": "bad!"}),
        )
        .await;
    assert!(
        r.body["error"]["details"]["fields"]["vm_uuid"].is_array(),
        "{}",
        r.body
    );
    // Nothing was stored.
    let list = app.get("/api/v1/vm", Some(&user)).await;
    assert_eq!(list.body["data"], json!([]));
}
db_test!(register_validates_its_body);

async fn only_operators_may_register_for_someone_else(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let user = app.user_token("plain@example.com", &["user"]).await;
    let other = app.user_token("other@example.com", &["user"]).await;
    let other_id = uid(&app, &other).await;
    let r = app
        .post(
            "/api/v1/vm/register",
            Some(&user),
            json!({"vm_uuid": "vm-override-1", "user_id": other_id}),
        )
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_eq!(
        r.body["error"]["message"],
        "user_id override is not allowed"
    );
    // Naming yourself is not an override.
    let me = uid(&app, &user).await;
    let ok = app
        .post(
            "/api/v1/vm/register",
            Some(&user),
            json!({"vm_uuid": "vm-self-0001", "user_id": me}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);

    for role in ["api", "infra", "admin"] {
        let op = app
            .user_token(&format!("{role}-op@example.com"), &[role])
            .await;
        let vm_uuid = format!("vm-for-other-{role}");
        let r = app
            .post(
                "/api/v1/vm/register",
                Some(&op),
                json!({"vm_uuid": vm_uuid, "user_id": other_id}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{role}: {}", r.body);
        assert_eq!(r.body["data"]["user_id"], other_id.as_str());
    }
    // The owner sees the VMs registered for them.
    let list = app.get("/api/v1/vm", Some(&other)).await;
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(3));
}
db_test!(only_operators_may_register_for_someone_else);

async fn a_user_cannot_take_over_or_see_another_users_vm(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let alice = app.user_token("alice@example.com", &["user"]).await;
    let bob = app.user_token("bob@example.com", &["user"]).await;
    let r = app
        .post(
            "/api/v1/vm/register",
            Some(&alice),
            json!({"vm_uuid": "vm-alice-001"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let hijack = app
        .post(
            "/api/v1/vm/register",
            Some(&bob),
            json!({"vm_uuid": "vm-alice-001", "vm_name": "mine now"}),
        )
        .await;
    hijack.assert_error(StatusCode::FORBIDDEN, "VM_OWNER_MISMATCH");
    app.get("/api/v1/vm/vm-alice-001/resolve", Some(&bob))
        .await
        .assert_error(StatusCode::NOT_FOUND, "VM_UUID_NOT_FOUND");
    app.post(
        "/api/v1/vm/vm-alice-001/status",
        Some(&bob),
        json!({"status": "revoked"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "VM_UUID_NOT_FOUND");
    let still = app
        .get("/api/v1/vm/vm-alice-001/resolve", Some(&alice))
        .await;
    assert_eq!(still.body["data"]["vm_name"], "");
    assert_eq!(still.body["data"]["status"], "active");
    // An admin sees it.
    let admin = app.admin_token().await;
    let seen = app
        .get("/api/v1/vm/vm-alice-001/resolve", Some(&admin))
        .await;
    assert_eq!(seen.status, StatusCode::OK);
}
db_test!(a_user_cannot_take_over_or_see_another_users_vm);

async fn resolve_rejects_bad_paths_and_unknown_vms(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let user = app.user_token("r@example.com", &["user"]).await;
    app.get("/api/v1/vm/bad%20uuid/resolve", Some(&user))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VM_RESOLVE_INVALID_PATH");
    app.get("/api/v1/vm/%20%20/resolve", Some(&user))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VM_RESOLVE_INVALID_PATH");
    app.get("/api/v1/vm/vm-nobody-0001/resolve", Some(&user))
        .await
        .assert_error(StatusCode::NOT_FOUND, "VM_UUID_NOT_FOUND");
    app.get("/api/v1/vm/vm-nobody-0001/resolve", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
}
db_test!(resolve_rejects_bad_paths_and_unknown_vms);

async fn status_changes_and_only_operators_lift_a_revocation(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let user = app.user_token("s@example.com", &["user"]).await;
    app.post(
        "/api/v1/vm/register",
        Some(&user),
        json!({"vm_uuid": "vm-status-001"}),
    )
    .await;
    let paused = app
        .post(
            "/api/v1/vm/VM-STATUS-001/status",
            Some(&user),
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.body);
    assert_eq!(paused.body["data"]["status"], "paused");
    app.post(
        "/api/v1/vm/vm-status-001/status",
        Some(&user),
        json!({"status": "gone"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "VM_STATUS_INVALID_BODY");
    app.post(
        "/api/v1/vm/bad%20id/status",
        Some(&user),
        json!({"status": "active"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "VM_INVALID_ID");
    let revoked = app
        .post(
            "/api/v1/vm/vm-status-001/status",
            Some(&user),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(revoked.body["data"]["status"], "revoked");
    app.post(
        "/api/v1/vm/vm-status-001/status",
        Some(&user),
        json!({"status": "active"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // Re-registering cannot undo it either.
    app.post(
        "/api/v1/vm/register",
        Some(&user),
        json!({"vm_uuid": "vm-status-001", "status": "active"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let still = app
        .get("/api/v1/vm/vm-status-001/resolve", Some(&user))
        .await;
    assert_eq!(still.body["data"]["status"], "revoked");
    let admin = app.admin_token().await;
    let restored = app
        .post(
            "/api/v1/vm/vm-status-001/status",
            Some(&admin),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(restored.body["data"]["status"], "active");
}
db_test!(status_changes_and_only_operators_lift_a_revocation);

async fn list_pages_through_every_vm_once_and_filters(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let user = app.user_token("fleet@example.com", &["user"]).await;
    let user_id = uid(&app, &user).await;
    for i in 0..7 {
        let status = if i % 3 == 0 { "paused" } else { "active" };
        let owner = if i < 5 {
            user_id.clone()
        } else {
            uid(&app, &admin).await
        };
        let r = app
            .post(
                "/api/v1/vm/register",
                Some(&admin),
                json!({"vm_uuid": format!("vm-list-{i:04}"), "status": status,
                       "user_id": owner, "project_id": if i % 2 == 0 { "wow_tbc" } else { "wow_midnight" }}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/vm?limit=3&cursor={c}"),
            None => "/api/v1/vm?limit=3".to_owned(),
        };
        let page = app.get(&path, Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        pages += 1;
        for vm in page.body["data"].as_array().expect("array") {
            seen.push(vm["vm_uuid"].as_str().expect("uuid").to_owned());
        }
        match page.body["meta"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
    // Newest first.
    assert_eq!(seen.first().map(String::as_str), Some("vm-list-0006"));
    // A cursor whose key is not a timestamp is refused, not read as "from the start".
    use base64::Engine;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"key":"zzz","id":"vm-list-0003"}"#);
    app.get(&format!("/api/v1/vm?cursor={forged}"), Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");

    let paused = app.get("/api/v1/vm?status=paused", Some(&admin)).await;
    let uuids: Vec<&str> = paused.body["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|v| v["vm_uuid"].as_str())
        .collect();
    assert_eq!(uuids, vec!["vm-list-0006", "vm-list-0003", "vm-list-0000"]);
    let project = app
        .get("/api/v1/vm?project_id=wow_midnight", Some(&admin))
        .await;
    assert_eq!(project.body["data"].as_array().map(Vec::len), Some(3));
    let by_owner = app
        .get(&format!("/api/v1/vm?user_id={user_id}"), Some(&admin))
        .await;
    assert_eq!(by_owner.body["data"].as_array().map(Vec::len), Some(5));
    // A plain user only ever sees their own.
    let own = app.get("/api/v1/vm?limit=500", Some(&user)).await;
    assert_eq!(own.body["data"].as_array().map(Vec::len), Some(5));
    app.get("/api/v1/vm?status=deleted", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VM_LIST_INVALID_QUERY");
    app.get("/api/v1/vm?limit=0", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VM_LIST_INVALID_QUERY");
    app.get("/api/v1/vm?cursor=%25%25", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
}
db_test!(list_pages_through_every_vm_once_and_filters);

async fn another_tenant_sees_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let a = app.admin_token().await;
    let b = app
        .user_token_in("tenant-b", "b-admin@example.com", &["admin"])
        .await;
    app.post(
        "/api/v1/vm/register",
        Some(&a),
        json!({"vm_uuid": "vm-tenant-a-01"}),
    )
    .await;
    app.get("/api/v1/vm/vm-tenant-a-01/resolve", Some(&b))
        .await
        .assert_error(StatusCode::NOT_FOUND, "VM_UUID_NOT_FOUND");
    app.post(
        "/api/v1/vm/vm-tenant-a-01/status",
        Some(&b),
        json!({"status": "revoked"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "VM_UUID_NOT_FOUND");
    let list = app.get("/api/v1/vm", Some(&b)).await;
    assert_eq!(list.body["data"], Value::Array(vec![]));
    // Tenant B registering the same uuid gets its own VM; A's is untouched.
    let own = app
        .post(
            "/api/v1/vm/register",
            Some(&b),
            json!({"vm_uuid": "vm-tenant-a-01", "status": "paused"}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED);
    assert_eq!(own.body["data"]["tenant_id"], "tenant-b");
    let a_vm = app.get("/api/v1/vm/vm-tenant-a-01/resolve", Some(&a)).await;
    assert_eq!(a_vm.body["data"]["status"], "active");
}
db_test!(another_tenant_sees_nothing);
