//! Shared set-up of the delivery-chain tests: a licensed, entitled user with a registered VM.

#![allow(dead_code)]

use crate::common::{Reply, TestApp};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::json;

/// Lease tokens are signed with this in the tests that need to check or forge them.
pub const LEASE_SECRET: &str = "delivery-chain-test-lease-secret-0123456789";

pub async fn uid(app: &TestApp, token: &str) -> String {
    let me = app.get("/api/v1/auth/whoami", Some(token)).await;
    me.body["data"]["uid"].as_str().expect("uid").to_owned()
}

/// A user ready to lease: a VM of theirs, a perpetual license, entitlements to `modules`.
pub struct Licensed {
    pub admin: String,
    pub token: String,
    pub user_id: String,
    pub vm_uuid: String,
}

pub async fn licensed_user(
    app: &TestApp,
    email: &str,
    vm_uuid: &str,
    modules: &[&str],
) -> Licensed {
    let admin = app.admin_token().await;
    let token = app.user_token(email, &["user"]).await;
    let user_id = uid(app, &token).await;
    let vm = app
        .post(
            "/api/v1/vm/register",
            Some(&token),
            json!({"vm_uuid": vm_uuid}),
        )
        .await;
    assert_eq!(vm.status, StatusCode::CREATED, "{}", vm.body);
    let lic = app
        .post(
            "/api/v1/license/licenses",
            Some(&admin),
            json!({"user_id": user_id, "type": "perpetual"}),
        )
        .await;
    assert_eq!(lic.status, StatusCode::CREATED, "{}", lic.body);
    let ent = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/license/entitlements/{user_id}"),
            Some(&admin),
            Some(json!({"modules": modules})),
        )
        .await;
    assert_eq!(ent.status, StatusCode::OK, "{}", ent.body);
    Licensed {
        admin,
        token,
        user_id,
        vm_uuid: vm_uuid.to_owned(),
    }
}

pub async fn lease(app: &TestApp, token: &str, vm_uuid: &str, module: &str) -> Reply {
    app.post(
        "/api/v1/license/lease",
        Some(token),
        json!({"vm_uuid": vm_uuid, "agent_id": "agent-1", "runner_id": "runner-1", "module": module}),
    )
    .await
}

/// Runs a statement on the app's database (to age rows without waiting).
pub async fn sql(app: &TestApp, stmt: &str) {
    app.server
        .state
        .db
        .conn
        .execute_unprepared(stmt)
        .await
        .expect("sql");
}

/// Makes a lease row look as if its time ran out.
pub async fn expire_lease_row(app: &TestApp, lease_id: &str) {
    sql(
        app,
        &format!("UPDATE execution_leases SET expires_at = 1 WHERE id = '{lease_id}'"),
    )
    .await;
}

/// Claims of a lease token, checked with [`LEASE_SECRET`].
pub fn lease_claims(token: &str) -> serde_json::Value {
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.validate_aud = false;
    v.set_required_spec_claims(&["exp"]);
    jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(LEASE_SECRET.as_bytes()),
        &v,
    )
    .expect("lease token verifies with the configured secret")
    .claims
}

/// A lease token signed with [`LEASE_SECRET`] from the given claims.
pub fn forge_lease(claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(LEASE_SECRET.as_bytes()),
    )
    .expect("sign")
}
