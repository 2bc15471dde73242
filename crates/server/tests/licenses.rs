//! Licenses, entitlements and execution leases: the gate and its codes in order, signed
//! tokens, heartbeat, revoke, expiry, admin management, tenant isolation.

mod common;
#[path = "support/delivery.rs"]
mod delivery;

use common::{Db, TestApp};
use delivery::{LEASE_SECRET, expire_lease_row, lease, lease_claims, licensed_user, uid};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;

async fn spawn(db: Db) -> Option<TestApp> {
    TestApp::spawn_with(db, &[("LICENSE_LEASE_SECRET", LEASE_SECRET)]).await
}

async fn a_licensed_user_gets_a_signed_lease_for_their_active_vm(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let u = licensed_user(&app, "runner@example.com", "VM-LEASE-0001", &["Farm"]).await;
    let r = lease(&app, &u.token, "vm-lease-0001", "FARM").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(d["vm_uuid"], "vm-lease-0001");
    assert_eq!(d["module"], "farm");
    assert_eq!(d["user_id"], u.user_id.as_str());
    assert_eq!(d["tenant_id"], "default");
    assert_eq!(d["ttl_seconds"], 300);
    let claims = lease_claims(d["token"].as_str().expect("token"));
    assert_eq!(claims["jti"], d["lease_id"]);
    assert_eq!(claims["iss"], "bot-mox-license");
    assert_eq!(claims["sub"], "runner-1");
    assert_eq!(claims["tenant_id"], "default");
    assert_eq!(claims["user_id"], u.user_id.as_str());
    assert_eq!(claims["vm_uuid"], "vm-lease-0001");
    assert_eq!(claims["module"], "farm");
    assert_eq!(claims["license_id"], d["license_id"]);
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert!((299..=300).contains(&(exp - iat)), "ttl {}", exp - iat);
    let listed = app.get("/api/v1/license/leases", Some(&u.token)).await;
    assert_eq!(listed.body["data"][0]["lease_id"], d["lease_id"]);
    assert_eq!(listed.body["data"][0]["status"], "active");
    assert_eq!(listed.body["data"][0]["agent_id"], "agent-1");
}
db_test!(a_licensed_user_gets_a_signed_lease_for_their_active_vm);

async fn the_gate_refuses_with_each_code_in_order(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let admin = app.admin_token().await;
    let user = app.user_token("gate@example.com", &["user"]).await;
    let user_id = uid(&app, &user).await;
    let other = app.user_token("gate-other@example.com", &["user"]).await;

    lease(&app, &user, "vm-gate-0001", "farm")
        .await
        .assert_error(StatusCode::NOT_FOUND, "VM_NOT_REGISTERED");
    app.post(
        "/api/v1/vm/register",
        Some(&user),
        json!({"vm_uuid": "vm-gate-0001", "status": "paused"}),
    )
    .await;
    lease(&app, &user, "vm-gate-0001", "farm")
        .await
        .assert_error(StatusCode::FORBIDDEN, "VM_INACTIVE");
    app.post(
        "/api/v1/vm/vm-gate-0001/status",
        Some(&user),
        json!({"status": "active"}),
    )
    .await;
    app.post(
        "/api/v1/vm/register",
        Some(&other),
        json!({"vm_uuid": "vm-gate-other"}),
    )
    .await;
    lease(&app, &user, "vm-gate-other", "farm")
        .await
        .assert_error(StatusCode::FORBIDDEN, "VM_OWNER_MISMATCH");

    // No license, then an expired subscription, then a revoked perpetual one.
    lease(&app, &user, "vm-gate-0001", "farm")
        .await
        .assert_error(StatusCode::FORBIDDEN, "LICENSE_INACTIVE");
    let expired = app
        .post(
            "/api/v1/license/licenses",
            Some(&admin),
            json!({"user_id": user_id, "type": "subscription", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(expired.body["data"]["active"], false);
    lease(&app, &user, "vm-gate-0001", "farm")
        .await
        .assert_error(StatusCode::FORBIDDEN, "LICENSE_INACTIVE");
    let revoked = app
        .post(
            "/api/v1/license/licenses",
            Some(&admin),
            json!({"user_id": user_id, "type": "perpetual", "status": "revoked"}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::CREATED);
    lease(&app, &user, "vm-gate-0001", "farm")
        .await
        .assert_error(StatusCode::FORBIDDEN, "LICENSE_INACTIVE");
    // A tenant-wide subscription that runs into the future covers the user.
    let wide = app
        .post(
            "/api/v1/license/licenses",
            Some(&admin),
            json!({"type": "subscription", "expires_at": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(wide.body["data"]["user_id"], Value::Null);
    assert_eq!(wide.body["data"]["active"], true);

    lease(&app, &user, "vm-gate-0001", "farm")
        .await
        .assert_error(StatusCode::FORBIDDEN, "ENTITLEMENT_REQUIRED");
    let path = format!("/api/v1/license/entitlements/{user_id}");
    app.call(
        Method::PUT,
        &path,
        Some(&admin),
        Some(json!({"modules": ["fish"]})),
    )
    .await;
    lease(&app, &user, "vm-gate-0001", "farm")
        .await
        .assert_error(StatusCode::FORBIDDEN, "MODULE_NOT_ALLOWED");
    app.call(
        Method::PUT,
        &path,
        Some(&admin),
        Some(json!({"modules": ["*"]})),
    )
    .await;
    let ok = lease(&app, &user, "vm-gate-0001", "farm").await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    assert_eq!(ok.body["data"]["license_id"], wide.body["data"]["id"]);
    // Nothing was leased by the refusals.
    let all = app.get("/api/v1/license/leases", Some(&admin)).await;
    assert_eq!(all.body["data"].as_array().map(Vec::len), Some(1));
}
db_test!(the_gate_refuses_with_each_code_in_order);

async fn lease_bodies_are_validated_and_overrides_need_an_operator(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let u = licensed_user(&app, "val@example.com", "vm-valid-0001", &["farm"]).await;
    for body in [
        json!({"vm_uuid": "vm-valid-0001", "runner_id": "r", "module": "farm"}),
        json!({"vm_uuid": "bad", "agent_id": "a", "runner_id": "r", "module": "farm"}),
        json!({"vm_uuid": "vm-valid-0001", "agent_id": "a", "runner_id": "r", "module": "no spaces"}),
        json!({"vm_uuid": "vm-valid-0001", "agent_id": " ", "runner_id": "r", "module": "farm"}),
    ] {
        let r = app
            .post("/api/v1/license/lease", Some(&u.token), body)
            .await;
        r.assert_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY");
    }
    let r = app
        .post(
            "/api/v1/license/lease",
            Some(&u.token),
            json!({"vm_uuid": "vm-valid-0001", "agent_id": "a", "runner_id": "", "module": "farm"}),
        )
        .await;
    assert!(
        r.body["error"]["details"]["fields"]["runner_id"].is_array(),
        "{}",
        r.body
    );

    let other = app.user_token("val-other@example.com", &["user"]).await;
    app.post(
        "/api/v1/license/lease",
        Some(&other),
        json!({"vm_uuid": "vm-valid-0001", "user_id": u.user_id, "agent_id": "a", "runner_id": "r", "module": "farm"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // A machine caller (role api) leases on the owner's behalf.
    let runner = app.user_token("val-runner@example.com", &["api"]).await;
    let ok = app
        .post(
            "/api/v1/license/lease",
            Some(&runner),
            json!({"vm_uuid": "vm-valid-0001", "user_id": u.user_id, "agent_id": "a", "runner_id": "r", "module": "farm"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    assert_eq!(ok.body["data"]["user_id"], u.user_id.as_str());
}
db_test!(lease_bodies_are_validated_and_overrides_need_an_operator);

async fn heartbeat_extends_the_lease_with_a_fresh_token(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let u = licensed_user(&app, "hb@example.com", "vm-hb-000001", &["farm"]).await;
    let issued = lease(&app, &u.token, "vm-hb-000001", "farm").await;
    let id = issued.body["data"]["lease_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let first_exp = issued.body["data"]["expires_at"]
        .as_str()
        .expect("exp")
        .to_owned();
    // Make the lease nearly over, then heartbeat: it runs a full TTL from now.
    delivery::sql(
        &app,
        &format!("UPDATE execution_leases SET expires_at = expires_at - 200000 WHERE id = '{id}'"),
    )
    .await;
    let hb = app
        .post(
            "/api/v1/license/heartbeat",
            Some(&u.token),
            json!({"lease_id": id}),
        )
        .await;
    assert_eq!(hb.status, StatusCode::OK, "{}", hb.body);
    assert_eq!(hb.body["data"]["status"], "active");
    let new_exp = hb.body["data"]["expires_at"].as_str().expect("exp");
    assert!(new_exp >= first_exp.as_str(), "{new_exp} < {first_exp}");
    let claims = lease_claims(hb.body["data"]["token"].as_str().expect("token"));
    assert_eq!(claims["jti"], id.as_str());
    let listed = app.get("/api/v1/license/leases", Some(&u.token)).await;
    assert_eq!(listed.body["data"][0]["expires_at"], new_exp);
    assert!(listed.body["data"][0]["last_heartbeat_at"].is_string());

    app.post(
        "/api/v1/license/heartbeat",
        Some(&u.token),
        json!({"lease_id": "nope"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "LEASE_NOT_FOUND");
    app.post("/api/v1/license/heartbeat", Some(&u.token), json!({}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY");
    let other = app.user_token("hb-other@example.com", &["user"]).await;
    app.post(
        "/api/v1/license/heartbeat",
        Some(&other),
        json!({"lease_id": id}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "LEASE_OWNER_MISMATCH");

    // The gate is checked again: a paused VM stops the extension.
    app.post(
        "/api/v1/vm/vm-hb-000001/status",
        Some(&u.token),
        json!({"status": "paused"}),
    )
    .await;
    app.post(
        "/api/v1/license/heartbeat",
        Some(&u.token),
        json!({"lease_id": id}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "VM_INACTIVE");
    app.post(
        "/api/v1/vm/vm-hb-000001/status",
        Some(&u.token),
        json!({"status": "active"}),
    )
    .await;

    expire_lease_row(&app, &id).await;
    app.post(
        "/api/v1/license/heartbeat",
        Some(&u.token),
        json!({"lease_id": id}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "LEASE_EXPIRED");
    let expired = app
        .get("/api/v1/license/leases?status=expired", Some(&u.token))
        .await;
    assert_eq!(expired.body["data"][0]["lease_id"], id.as_str());
    assert_eq!(expired.body["data"][0]["status"], "expired");
    let active = app
        .get("/api/v1/license/leases?status=active", Some(&u.token))
        .await;
    assert_eq!(active.body["data"], json!([]));
}
db_test!(heartbeat_extends_the_lease_with_a_fresh_token);

async fn revoke_is_idempotent_and_stops_heartbeats(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let u = licensed_user(&app, "rv@example.com", "vm-rv-000001", &["farm"]).await;
    let id = lease(&app, &u.token, "vm-rv-000001", "farm").await.body["data"]["lease_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let other = app.user_token("rv-other@example.com", &["user"]).await;
    app.post(
        "/api/v1/license/revoke",
        Some(&other),
        json!({"lease_id": id}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "LEASE_OWNER_MISMATCH");
    app.post(
        "/api/v1/license/revoke",
        Some(&u.token),
        json!({"lease_id": "missing"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "LEASE_NOT_FOUND");
    let first = app
        .post(
            "/api/v1/license/revoke",
            Some(&u.token),
            json!({"lease_id": id, "reason": "job done"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["data"]["status"], "revoked");
    let again = app
        .post(
            "/api/v1/license/revoke",
            Some(&u.token),
            json!({"lease_id": id}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.body["data"]["revoked_at"],
        first.body["data"]["revoked_at"]
    );
    app.post(
        "/api/v1/license/heartbeat",
        Some(&u.token),
        json!({"lease_id": id}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "LEASE_INACTIVE");
    let listed = app.get("/api/v1/license/leases", Some(&u.admin)).await;
    let row = &listed.body["data"][0];
    assert_eq!(row["status"], "revoked");
    assert_eq!(row["revoke_reason"], "job done");
    assert_eq!(row["revoked_by"], u.user_id.as_str());
}
db_test!(revoke_is_idempotent_and_stops_heartbeats);

async fn the_lease_ttl_is_configurable(db: Db) {
    let Some(app) = TestApp::spawn_with(
        db,
        &[
            ("LICENSE_LEASE_SECRET", LEASE_SECRET),
            ("LICENSE_LEASE_TTL_SECONDS", "120"),
        ],
    )
    .await
    else {
        return;
    };
    let u = licensed_user(&app, "ttl@example.com", "vm-ttl-00001", &["farm"]).await;
    let r = lease(&app, &u.token, "vm-ttl-00001", "farm").await;
    assert_eq!(r.body["data"]["ttl_seconds"], 120);
    let c = lease_claims(r.body["data"]["token"].as_str().expect("token"));
    let ttl = c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat");
    assert!((119..=120).contains(&ttl), "{ttl}");
}
db_test!(the_lease_ttl_is_configurable);

async fn licenses_are_managed_by_admins(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let admin = app.admin_token().await;
    let user = app.user_token("lic-user@example.com", &["user"]).await;
    let user_id = uid(&app, &user).await;
    app.get("/api/v1/license/licenses", Some(&user))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.post(
        "/api/v1/license/licenses",
        Some(&user),
        json!({"type": "perpetual"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let bad = app
        .post(
            "/api/v1/license/licenses",
            Some(&admin),
            json!({"type": "subscription"}),
        )
        .await;
    bad.assert_error(StatusCode::BAD_REQUEST, "LICENSE_INVALID_BODY");
    assert!(bad.body["error"]["details"]["fields"]["expires_at"].is_array());
    app.post(
        "/api/v1/license/licenses",
        Some(&admin),
        json!({"type": "perpetual", "expires_at": "2030-01-01T00:00:00Z"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "LICENSE_INVALID_BODY");
    app.post(
        "/api/v1/license/licenses",
        Some(&admin),
        json!({"type": "forever"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "LICENSE_INVALID_BODY");
    app.post(
        "/api/v1/license/licenses",
        Some(&admin),
        json!({"type": "subscription", "expires_at": "tomorrow"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "LICENSE_INVALID_BODY");

    let mut ids = Vec::new();
    for i in 0..5 {
        let r = app
            .post(
                "/api/v1/license/licenses",
                Some(&admin),
                json!({"user_id": if i < 3 { Value::from(user_id.clone()) } else { Value::Null },
                       "type": "subscription", "expires_at": "2999-06-01T00:00:00Z",
                       "metadata": {"seat": i}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["data"]["active"], true);
        assert_eq!(r.body["data"]["expires_at"], "2999-06-01T00:00:00.000Z");
        ids.push(r.body["data"]["id"].as_str().expect("id").to_owned());
    }
    let mut seen = HashSet::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/api/v1/license/licenses?limit=2{cursor}"),
                Some(&admin),
            )
            .await;
        for l in page.body["data"].as_array().expect("array") {
            assert!(seen.insert(l["id"].as_str().expect("id").to_owned()));
        }
        match page.body["meta"]["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mine = app
        .get(
            &format!("/api/v1/license/licenses?user_id={user_id}"),
            Some(&admin),
        )
        .await;
    assert_eq!(mine.body["data"].as_array().map(Vec::len), Some(3));

    let path = format!("/api/v1/license/licenses/{}", ids[0]);
    let patched = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"status": "revoked"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["data"]["status"], "revoked");
    assert_eq!(patched.body["data"]["active"], false);
    assert_eq!(patched.body["data"]["metadata"], json!({"seat": 0}));
    // Turning it perpetual needs the expiry cleared.
    app.call(
        Method::PATCH,
        &path,
        Some(&admin),
        Some(json!({"type": "perpetual"})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "LICENSE_INVALID_BODY");
    let perpetual = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"type": "perpetual", "expires_at": null, "status": "active"})),
        )
        .await;
    assert_eq!(perpetual.body["data"]["type"], "perpetual");
    assert_eq!(perpetual.body["data"]["expires_at"], Value::Null);
    assert_eq!(perpetual.body["data"]["active"], true);
    let revoked = app
        .get("/api/v1/license/licenses?status=revoked", Some(&admin))
        .await;
    assert_eq!(revoked.body["data"], json!([]));

    let del = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(del.status, StatusCode::OK);
    app.get(&path, Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "LICENSE_NOT_FOUND");
    app.call(Method::DELETE, &path, Some(&admin), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "LICENSE_NOT_FOUND");
    app.get("/api/v1/license/licenses/%20", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "LICENSE_INVALID_ID");

    // Another tenant's admin cannot see or touch them.
    let other = app
        .user_token_in("tenant-b", "lic-b@example.com", &["admin"])
        .await;
    let id1 = format!("/api/v1/license/licenses/{}", ids[1]);
    app.get(&id1, Some(&other))
        .await
        .assert_error(StatusCode::NOT_FOUND, "LICENSE_NOT_FOUND");
    app.call(
        Method::PATCH,
        &id1,
        Some(&other),
        Some(json!({"status": "revoked"})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "LICENSE_NOT_FOUND");
    app.call(Method::DELETE, &id1, Some(&other), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "LICENSE_NOT_FOUND");
    let list_b = app.get("/api/v1/license/licenses", Some(&other)).await;
    assert_eq!(list_b.body["data"], json!([]));
    let still = app.get(&id1, Some(&admin)).await;
    assert_eq!(still.body["data"]["status"], "active");
}
db_test!(licenses_are_managed_by_admins);

async fn entitlements_are_managed_by_admins(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let admin = app.admin_token().await;
    let user = app.user_token("ent@example.com", &["user"]).await;
    let path = "/api/v1/license/entitlements/user-xyz";
    app.call(
        Method::PUT,
        path,
        Some(&user),
        Some(json!({"modules": ["farm"]})),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.get(path, Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "ENTITLEMENT_NOT_FOUND");
    app.call(
        Method::PUT,
        path,
        Some(&admin),
        Some(json!({"modules": ["bad module"]})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "ENTITLEMENT_INVALID_BODY");
    app.call(
        Method::PUT,
        path,
        Some(&admin),
        Some(json!({"modules": "farm"})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "ENTITLEMENT_INVALID_BODY");
    let put = app
        .call(
            Method::PUT,
            path,
            Some(&admin),
            Some(json!({"modules": [" Farm", "fish", "farm"]})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["data"]["modules"], json!(["farm", "fish"]));
    let got = app.get(path, Some(&admin)).await;
    assert_eq!(got.body["data"]["modules"], json!(["farm", "fish"]));
    for i in 0..4 {
        app.call(
            Method::PUT,
            &format!("/api/v1/license/entitlements/user-{i}"),
            Some(&admin),
            Some(json!({"modules": ["*"]})),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/api/v1/license/entitlements?limit=2{cursor}"),
                Some(&admin),
            )
            .await;
        for e in page.body["data"].as_array().expect("array") {
            seen.push(e["user_id"].as_str().expect("user").to_owned());
        }
        match page.body["meta"]["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["user-0", "user-1", "user-2", "user-3", "user-xyz"]);
    let other = app
        .user_token_in("tenant-b", "ent-b@example.com", &["admin"])
        .await;
    app.get(path, Some(&other))
        .await
        .assert_error(StatusCode::NOT_FOUND, "ENTITLEMENT_NOT_FOUND");
    app.call(Method::DELETE, path, Some(&other), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "ENTITLEMENT_NOT_FOUND");
    let del = app.call(Method::DELETE, path, Some(&admin), None).await;
    assert_eq!(del.status, StatusCode::OK);
    app.get(path, Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "ENTITLEMENT_NOT_FOUND");
}
db_test!(entitlements_are_managed_by_admins);

async fn leases_are_invisible_to_other_tenants_and_users(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let u = licensed_user(&app, "iso@example.com", "vm-iso-00001", &["farm"]).await;
    let id = lease(&app, &u.token, "vm-iso-00001", "farm").await.body["data"]["lease_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let b = app
        .user_token_in("tenant-b", "iso-b@example.com", &["admin"])
        .await;
    app.post(
        "/api/v1/license/heartbeat",
        Some(&b),
        json!({"lease_id": id}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "LEASE_NOT_FOUND");
    app.post("/api/v1/license/revoke", Some(&b), json!({"lease_id": id}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "LEASE_NOT_FOUND");
    assert_eq!(
        app.get("/api/v1/license/leases", Some(&b)).await.body["data"],
        json!([])
    );
    let other = app.user_token("iso-other@example.com", &["user"]).await;
    assert_eq!(
        app.get("/api/v1/license/leases", Some(&other)).await.body["data"],
        json!([])
    );
    let listed = app
        .get(
            &format!("/api/v1/license/leases?user_id={}", u.user_id),
            Some(&other),
        )
        .await;
    assert_eq!(listed.body["data"], json!([]));
    let still = app.get("/api/v1/license/leases", Some(&u.token)).await;
    assert_eq!(still.body["data"][0]["status"], "active");
}
db_test!(leases_are_invisible_to_other_tenants_and_users);
