//! Sessions, API tokens, external JWTs, AUTH_MODE and role gates, on both databases.

mod common;

use common::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn login_issues_tokens_that_identify_the_user(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let pair = app.login(&app.admin_email, &app.admin_password).await;
    assert_eq!(pair.token_type, "Bearer");
    assert_eq!(pair.expires_in, 900);
    assert!(pair.refresh_token.starts_with("bmr_"));
    let me = app
        .get("/api/v1/auth/whoami", Some(&pair.access_token))
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["success"], true);
    assert_eq!(me.body["data"]["email"], app.admin_email.as_str());
    assert_eq!(me.body["data"]["tenant_id"], "default");
    assert_eq!(me.body["data"]["roles"], json!(["admin"]));
    assert_eq!(me.body["data"]["auth_kind"], "session");
    let v = app
        .get("/api/v1/auth/verify", Some(&pair.access_token))
        .await;
    assert_eq!(v.body["data"]["valid"], true);
}
db_test!(login_issues_tokens_that_identify_the_user);

async fn wrong_password_and_unknown_user_are_the_same_401(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let wrong = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": app.admin_email, "password": "nope-nope-nope"}),
        )
        .await;
    wrong.assert_error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    let unknown = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ghost@example.com", "password": "nope-nope-nope"}),
        )
        .await;
    unknown.assert_error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    assert_eq!(
        wrong.body["error"]["message"],
        unknown.body["error"]["message"]
    );
    let invalid = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "not-an-email", "password": ""}),
        )
        .await;
    invalid.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let fields = &invalid.body["error"]["details"]["fields"];
    assert!(
        fields["email"].is_array() && fields["password"].is_array(),
        "{fields}"
    );
}
db_test!(wrong_password_and_unknown_user_are_the_same_401);

async fn refresh_rotates_and_reuse_revokes_the_family(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let first = app.login(&app.admin_email, &app.admin_password).await;
    let r1 = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first.refresh_token}),
        )
        .await;
    assert_eq!(r1.status, StatusCode::OK, "{}", r1.body);
    let second_refresh = r1.body["data"]["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(second_refresh, first.refresh_token);
    let second_access = r1.body["data"]["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert_eq!(
        app.get("/api/v1/auth/whoami", Some(&second_access))
            .await
            .status,
        StatusCode::OK
    );

    // The rotated-out token comes back: theft is assumed and the family dies.
    let reuse = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first.refresh_token}),
        )
        .await;
    reuse.assert_error(StatusCode::UNAUTHORIZED, "REFRESH_TOKEN_REUSED");
    let after = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": second_refresh}),
        )
        .await;
    after.assert_error(StatusCode::UNAUTHORIZED, "REFRESH_TOKEN_REUSED");

    // Another login is its own family and is unaffected.
    let other = app.login(&app.admin_email, &app.admin_password).await;
    let ok = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": other.refresh_token}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let garbage = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": "bmr_garbage"}),
        )
        .await;
    garbage.assert_error(StatusCode::UNAUTHORIZED, "INVALID_REFRESH_TOKEN");
}
db_test!(refresh_rotates_and_reuse_revokes_the_family);

async fn logout_ends_access_and_refresh(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let pair = app.login(&app.admin_email, &app.admin_password).await;
    let out = app
        .post(
            "/api/v1/auth/logout",
            Some(&pair.access_token),
            json!({"refresh_token": pair.refresh_token}),
        )
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert_eq!(out.body["data"]["revoked"], true);
    app.get("/api/v1/auth/whoami", Some(&pair.access_token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": pair.refresh_token}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "REFRESH_TOKEN_REUSED");
}
db_test!(logout_ends_access_and_refresh);

async fn api_tokens_work_until_revoked_and_are_hashed_at_rest(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let created = app
        .post(
            "/api/v1/auth/tokens",
            Some(&admin),
            json!({"name": "ci runner", "roles": ["api"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let token = created.body["data"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let id = created.body["data"]["record"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(token.starts_with("bmx_"));

    let me = app.get("/api/v1/auth/whoami", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["data"]["auth_kind"], "api_token");
    assert_eq!(me.body["data"]["roles"], json!(["api"]));
    assert_eq!(me.body["data"]["tenant_id"], "default");

    let listed = app.get("/api/v1/auth/tokens", Some(&admin)).await;
    assert!(
        !listed.body.to_string().contains(&token),
        "list leaks the token"
    );
    assert_eq!(listed.body["data"][0]["id"], id.as_str());

    // An API token holding only `api` cannot administer tokens.
    app.get("/api/v1/auth/tokens", Some(&token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    let revoked = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/auth/tokens/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    app.get("/api/v1/auth/whoami", Some(&token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
    app.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/auth/tokens/{id}"),
        Some(&admin),
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "API_TOKEN_NOT_FOUND");
}
db_test!(api_tokens_work_until_revoked_and_are_hashed_at_rest);

async fn another_tenants_token_cannot_be_revoked(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let other_admin = app
        .user_token_in("Other-Tenant ", "boss@other.example", &["admin"])
        .await;
    let me = app.get("/api/v1/auth/whoami", Some(&other_admin)).await;
    assert_eq!(
        me.body["data"]["tenant_id"], "other-tenant",
        "tenant is normalised"
    );
    let created = app
        .post(
            "/api/v1/auth/tokens",
            Some(&admin),
            json!({"name": "mine", "roles": ["user"]}),
        )
        .await;
    let id = created.body["data"]["record"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/auth/tokens/{id}"),
        Some(&other_admin),
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "API_TOKEN_NOT_FOUND");
    let theirs = app.get("/api/v1/auth/tokens", Some(&other_admin)).await;
    assert_eq!(theirs.body["data"], json!([]));
}
db_test!(another_tenants_token_cannot_be_revoked);

async fn role_gate_refuses_non_admins_with_403(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let user = app.user_token("plain@example.com", &["user"]).await;
    app.get("/api/v1/auth/users", Some(&user))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let admin = app.admin_token().await;
    let users = app.get("/api/v1/auth/users", Some(&admin)).await;
    assert_eq!(users.status, StatusCode::OK);
    let emails: Vec<&str> = users.body["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(emails, vec!["admin@botmox.local", "plain@example.com"]);
    assert!(
        !users.body.to_string().contains("argon2"),
        "hashes never leave the server"
    );
}
db_test!(role_gate_refuses_non_admins_with_403);

fn external_token(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

fn external_claims(extra: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": "ext-user-1",
        "email": "ext@example.com",
        "iss": "supabase",
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + 300,
    });
    if let (Some(base), Some(more)) = (claims.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            base.insert(k.clone(), v.clone());
        }
    }
    claims
}

async fn external_jwt_needs_a_tenant_claim(db: Db) {
    let secret = "external-shared-secret-for-tests";
    let Some(app) = TestApp::spawn_with(db, &[("SUPABASE_JWT_SECRET", secret)]).await else {
        return;
    };
    let with_tenant = external_token(
        secret,
        external_claims(json!({"app_metadata": {"tenant_id": " ACME ", "roles": ["admin"]}})),
    );
    let me = app.get("/api/v1/auth/whoami", Some(&with_tenant)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["data"]["tenant_id"], "acme");
    assert_eq!(me.body["data"]["uid"], "ext-user-1");
    assert_eq!(me.body["data"]["roles"], json!(["authenticated", "admin"]));
    assert_eq!(me.body["data"]["auth_kind"], "external");

    let without = external_token(secret, external_claims(json!({})));
    app.get("/api/v1/auth/whoami", Some(&without))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
    let wrong_aud = external_token(
        secret,
        external_claims(json!({"tenant_id": "acme", "aud": "someone-else"})),
    );
    app.get("/api/v1/auth/whoami", Some(&wrong_aud))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
    let wrong_key = external_token(
        "another-secret-entirely-0000",
        external_claims(json!({"tenant_id": "acme"})),
    );
    app.get("/api/v1/auth/whoami", Some(&wrong_key))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
}
db_test!(external_jwt_needs_a_tenant_claim);

/// A JWKS endpoint serving one symmetric key, as an identity provider would.
async fn jwks_server(secret: &str) -> String {
    use base64::Engine;
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret.as_bytes());
    let body = json!({"keys": [{"kty": "oct", "kid": "k1", "alg": "HS256", "k": k}]});
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let body = body.clone();
            async move { axum::Json(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/jwks.json")
}

async fn external_jwt_verifies_against_a_jwks_url(db: Db) {
    let secret = "jwks-published-symmetric-key-0001";
    let jwks = jwks_server(secret).await;
    let Some(app) = TestApp::spawn_with(db, &[("SUPABASE_JWKS_URL", &jwks)]).await else {
        return;
    };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k1".to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &external_claims(json!({"tenant_id": "jwks-tenant"})),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign");
    let me = app.get("/api/v1/auth/whoami", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["data"]["tenant_id"], "jwks-tenant");
}
db_test!(external_jwt_verifies_against_a_jwks_url);

async fn shadow_mode_admits_missing_and_invalid_tokens_as_the_shadow_user(db: Db) {
    let Some(app) = TestApp::spawn_with(
        db,
        &[
            ("AUTH_MODE", "shadow"),
            ("BOTMOX_SHADOW_TENANT_ID", " Shadow-T "),
        ],
    )
    .await
    else {
        return;
    };
    // The shadow identity gets through the guard (403 from the role gate, not 401) ...
    app.get("/api/v1/auth/users", None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.get("/api/v1/auth/users", Some("not-a-token"))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // ... but whoami and verify insist on a real token.
    app.get("/api/v1/auth/whoami", Some("not-a-token"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "MISSING_BEARER_TOKEN");
    // A valid token is still honoured in shadow mode.
    let admin = app.admin_token().await;
    assert_eq!(
        app.get("/api/v1/auth/users", Some(&admin)).await.status,
        StatusCode::OK
    );

    let Some(enforced) = TestApp::spawn(db).await else {
        return;
    };
    enforced
        .get("/api/v1/auth/users", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
    enforced
        .get("/api/v1/auth/users", Some("not-a-token"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
}
db_test!(shadow_mode_admits_missing_and_invalid_tokens_as_the_shadow_user);

async fn login_is_rate_limited_per_ip_and_email(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    for _ in 0..5 {
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": "victim@example.com", "password": "guess-guess-guess"}),
            )
            .await;
        r.assert_error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    }
    let limited = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "victim@example.com", "password": "guess-guess-guess"}),
        )
        .await;
    limited.assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert_eq!(limited.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    let reset: u64 = limited
        .header("x-ratelimit-reset")
        .and_then(|v| v.parse().ok())
        .expect("reset");
    assert!((1..=60).contains(&reset));
    assert_eq!(
        limited.header("retry-after").and_then(|v| v.parse().ok()),
        Some(reset)
    );
    // Another email from the same address is a separate budget.
    let other = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": app.admin_email, "password": app.admin_password}),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
}
db_test!(login_is_rate_limited_per_ip_and_email);

async fn api_budget_per_principal_and_ip_answers_429_with_headers(db: Db) {
    let Some(app) = TestApp::spawn_with(
        db,
        &[("API_RATE_LIMIT_MAX", "3"), ("API_RATE_LIMIT_IP_MAX", "50")],
    )
    .await
    else {
        return;
    };
    let admin = app.admin_token().await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = app.get("/api/v1/auth/whoami", Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK);
        remaining.push(
            r.header("x-ratelimit-remaining")
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    let limited = app.get("/api/v1/auth/whoami", Some(&admin)).await;
    limited.assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert!(limited.header("retry-after").is_some());
    // Health stays reachable for probes.
    assert_eq!(
        app.get("/api/v1/health/live", Some(&admin)).await.status,
        StatusCode::OK
    );
}
db_test!(api_budget_per_principal_and_ip_answers_429_with_headers);
