//! The settings tree: paths, merge rules, typed shapes, encrypted and masked secrets, storage
//! policy, role gates and tenant isolation, on both databases.

mod common;

use common::{Db, TestApp};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

async fn raw_settings_rows(app: &TestApp) -> Vec<String> {
    let db = &app.server.state.db;
    db.conn
        .query_all_raw(Statement::from_string(
            db.db_backend(),
            "SELECT data FROM settings_nodes",
        ))
        .await
        .expect("query")
        .iter()
        .map(|r| r.try_get::<String>("", "data").expect("data"))
        .collect()
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> common::Reply {
    app.call(Method::PUT, path, Some(token), Some(body)).await
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> common::Reply {
    app.call(Method::PATCH, path, Some(token), Some(body)).await
}

async fn tree_reads_writes_and_merges_by_path(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let empty = app.get("/api/v1/settings", Some(&admin)).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["data"], json!({}));
    assert_eq!(
        app.get("/api/v1/settings/theme", Some(&admin)).await.body["data"],
        Value::Null
    );

    let theme = json!({
        "active_preset_id": null,
        "visual": {"enabled": true, "mode": "image", "blurPx": 4, "overlayOpacity": 0.3},
        "shape": {"radiusNone": 0, "radiusSm": 2, "radiusMd": 4, "radiusLg": 6},
        "custom_key": "kept"
    });
    let saved = put(&app, &admin, "/api/v1/settings/theme", theme.clone()).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["data"], theme);

    // Objects merge shallowly at the target: `visual` is replaced as a whole.
    let merged = patch(
        &app,
        &admin,
        "/api/v1/settings/theme",
        json!({"visual": {"enabled": false}}),
    )
    .await;
    assert_eq!(merged.body["data"]["visual"], json!({"enabled": false}));
    assert_eq!(merged.body["data"]["custom_key"], "kept");
    // A deeper path writes inside; intermediate objects are created.
    let deep = put(
        &app,
        &admin,
        "/api/v1/settings/theme/visual/blurPx",
        json!(12),
    )
    .await;
    assert_eq!(deep.body["data"], 12);
    let nested = put(
        &app,
        &admin,
        "/api/v1/settings/projects/wow_tbc/referenceData",
        json!({"servers": ["Gehennas"]}),
    )
    .await;
    assert_eq!(nested.status, StatusCode::BAD_REQUEST, "{}", nested.body);
    assert_eq!(nested.code(), "SETTINGS_INVALID_PROJECTS_BODY");
    put(
        &app,
        &admin,
        "/api/v1/settings/projects/wow_tbc",
        json!({"name": "WoW TBC", "max_level": 70}),
    )
    .await;
    let nested = put(
        &app,
        &admin,
        "/api/v1/settings/projects/wow_tbc/referenceData",
        json!({"servers": ["Gehennas"]}),
    )
    .await;
    assert_eq!(nested.status, StatusCode::OK, "{}", nested.body);
    let project = app
        .get("/api/v1/settings/settings/projects/wow_tbc/", Some(&admin))
        .await;
    assert_eq!(
        project.body["data"],
        json!({"name": "WoW TBC", "max_level": 70, "referenceData": {"servers": ["Gehennas"]}})
    );

    // Untyped paths take any value; the UI's task log is an array.
    let logs = put(
        &app,
        &admin,
        "/api/v1/settings/vmgenerator/task_logs",
        json!([{"id": 1}, {"id": 2}]),
    )
    .await;
    assert_eq!(logs.body["data"], json!([{"id": 1}, {"id": 2}]));

    // A root write sets the keys it names; the rest stay.
    let root = put(
        &app,
        &admin,
        "/api/v1/settings",
        json!({"alerts": {"warning_days": 9}}),
    )
    .await;
    assert_eq!(root.status, StatusCode::OK, "{}", root.body);
    assert_eq!(root.body["data"]["alerts"], json!({"warning_days": 9}));
    assert_eq!(root.body["data"]["theme"]["visual"]["blurPx"], 12);
    let all = app.get("/api/v1/settings", Some(&admin)).await.body["data"].clone();
    let mut keys: Vec<&String> = all.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["alerts", "projects", "theme", "vmgenerator"]);
}
db_test!(tree_reads_writes_and_merges_by_path);

async fn typed_paths_reject_bad_shapes_and_change_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    put(
        &app,
        &admin,
        "/api/v1/settings/proxy",
        json!({"fraud_score_threshold": 70, "auto_check_on_add": true}),
    )
    .await;
    put(
        &app,
        &admin,
        "/api/v1/settings/theme",
        json!({"visual": {"blurPx": 4}}),
    )
    .await;
    let before = app.get("/api/v1/settings", Some(&admin)).await.body["data"].clone();

    let r = put(
        &app,
        &admin,
        "/api/v1/settings/proxy",
        json!({"fraud_score_threshold": 150}),
    )
    .await;
    r.assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_PROXY_BODY");
    assert!(r.body["error"]["details"]["fields"]["fraud_score_threshold"].is_array());

    let r = put(
        &app,
        &admin,
        "/api/v1/settings/notifications/events",
        json!({"bot_banned": "yes"}),
    )
    .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "SETTINGS_INVALID_NOTIFICATION_EVENTS_BODY",
    );
    assert!(r.body["error"]["details"]["fields"]["bot_banned"].is_array());

    // A write through a deeper path is checked against the typed ancestor.
    let r = put(
        &app,
        &admin,
        "/api/v1/settings/theme/visual/blurPx",
        json!(99),
    )
    .await;
    r.assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_THEME_BODY");
    assert!(
        r.body["error"]["details"]["fields"]["visual.blurPx"].is_array(),
        "{}",
        r.body
    );

    let r = put(
        &app,
        &admin,
        "/api/v1/settings/alerts",
        json!({"warning_days": 0}),
    )
    .await;
    r.assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_ALERTS_BODY");
    let r = put(
        &app,
        &admin,
        "/api/v1/settings/schedule/last_params",
        json!({"startTime": "25:00", "targetActiveMinutes": 60, "minSessionMinutes": 30, "minBreakMinutes": 10, "randomOffsetMinutes": 5}),
    )
    .await;
    r.assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_SCHEDULE_BODY");
    assert!(r.body["error"]["details"]["fields"]["startTime"].is_array());
    let r = put(
        &app,
        &admin,
        "/api/v1/settings/finance/chart_config",
        json!([{"key": "income"}]),
    )
    .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "SETTINGS_INVALID_FINANCE_CHART_CONFIG_BODY",
    );
    // A root write is checked key by key, and a bad key stops the whole write.
    let r = put(
        &app,
        &admin,
        "/api/v1/settings",
        json!({"proxy": {"check_interval_hours": 500}, "free": 1}),
    )
    .await;
    r.assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_PROXY_BODY");
    put(&app, &admin, "/api/v1/settings", json!("just a string"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_BODY");
    put(&app, &admin, "/api/v1/settings", json!({}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_BODY");

    let r = put(&app, &admin, "/api/v1/settings/theme/a.b", json!(1)).await;
    r.assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_PATH");
    assert_eq!(r.body["error"]["message"], "Invalid settings path");
    assert!(r.body["error"]["details"]["reason"].is_string());
    app.get("/api/v1/settings/x%24y", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_PATH");

    let malformed = app
        .http
        .put(app.url("/api/v1/settings/theme"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"visual\": ")
        .send()
        .await
        .expect("sent");
    common::Reply::from(malformed)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BAD_REQUEST");

    let after = app.get("/api/v1/settings", Some(&admin)).await.body["data"].clone();
    assert_eq!(before, after);
}
db_test!(typed_paths_reject_bad_shapes_and_change_nothing);

async fn api_keys_are_encrypted_at_rest_and_masked_on_read(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let ipqs_key = "ipqs-secret-0123456789-wxyz";
    let bot_token = "123456:telegram-bot-token-abcd";
    let saved = put(
        &app,
        &admin,
        "/api/v1/settings/api_keys",
        json!({
            "ipqs": {"api_key": ipqs_key, "enabled": true},
            "telegram": {"bot_token": bot_token, "chat_id": "42", "enabled": false}
        }),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let data = &saved.body["data"];
    assert_eq!(data["ipqs"]["api_key"], "****wxyz");
    assert_eq!(data["ipqs"]["api_key_configured"], true);
    assert_eq!(data["ipqs"]["enabled"], true);
    assert_eq!(data["telegram"]["bot_token"], "****abcd");
    assert_eq!(data["telegram"]["chat_id"], "42");
    for path in ["/api/v1/settings/api_keys", "/api/v1/settings"] {
        let read = app.get(path, Some(&admin)).await;
        let text = read.body.to_string();
        assert!(
            !text.contains(ipqs_key) && !text.contains(bot_token),
            "{text}"
        );
    }

    // Stored as ciphertext: the plaintext is nowhere in the table.
    let rows = raw_settings_rows(&app).await;
    assert!(!rows.is_empty());
    for row in &rows {
        assert!(
            !row.contains(ipqs_key) && !row.contains("telegram-bot-token"),
            "{row}"
        );
    }
    assert!(rows.iter().any(|r| r.contains("enc:v1:")));

    // Echoing the masked read back keeps the keys; other services still see the plaintext.
    let echoed = app
        .get("/api/v1/settings/api_keys", Some(&admin))
        .await
        .body["data"]
        .clone();
    let mut echoed = echoed;
    echoed["ipqs"]["enabled"] = json!(false);
    let again = put(&app, &admin, "/api/v1/settings/api_keys", echoed).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let ipqs = app
        .server
        .state
        .settings
        .ipqs_settings("default")
        .await
        .expect("ipqs settings");
    assert_eq!(ipqs.api_key.as_ref().map(|k| k.expose()), Some(ipqs_key));
    assert_eq!(ipqs.enabled, Some(false));
    assert!(!format!("{ipqs:?}").contains(ipqs_key));

    // An empty string clears a key.
    let cleared = patch(
        &app,
        &admin,
        "/api/v1/settings/api_keys",
        json!({"ipqs": {"api_key": ""}}),
    )
    .await;
    assert_eq!(cleared.body["data"]["ipqs"]["api_key_configured"], false);
    assert!(
        app.server
            .state
            .settings
            .ipqs_settings("default")
            .await
            .expect("ipqs")
            .api_key
            .is_none()
    );

    // A secret written at its own path is sealed too, and a mask there keeps it.
    let direct = "direct-path-secret-value-0042";
    let r = put(
        &app,
        &admin,
        "/api/v1/settings/api_keys/ipqs/api_key",
        json!(direct),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"], "****0042");
    put(
        &app,
        &admin,
        "/api/v1/settings/api_keys/ipqs/api_key",
        json!("****0042"),
    )
    .await;
    let r = put(
        &app,
        &admin,
        "/api/v1/settings/custom/password",
        json!("top-level-ish-password-77"),
    )
    .await;
    assert_eq!(r.body["data"], "****d-77");
    let rows = raw_settings_rows(&app).await.concat();
    assert!(
        !rows.contains(direct) && !rows.contains("top-level-ish"),
        "{rows}"
    );
    assert_eq!(
        app.server
            .state
            .settings
            .ipqs_settings("default")
            .await
            .expect("ipqs")
            .api_key
            .as_ref()
            .map(|k| k.expose().to_owned())
            .as_deref(),
        Some(direct)
    );

    // A secret must be a string.
    put(
        &app,
        &admin,
        "/api/v1/settings/api_keys",
        json!({"ipqs": {"api_key": 12345}}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_API_KEYS_BODY");
}
db_test!(api_keys_are_encrypted_at_rest_and_masked_on_read);

async fn proxmox_defaults_are_readable_by_other_domains(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let password = "proxmox-root-password-9876";
    let saved = patch(
        &app,
        &admin,
        "/api/v1/settings/vmgenerator",
        json!({"proxmox": {"url": "https://pve.lan:8006", "username": "root@pam", "password": password, "node": "h1"},
               "ssh": {"host": "pve.lan", "port": 22, "password": "ssh-password-value-1"}}),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["data"]["proxmox"]["password"], "****9876");
    assert_eq!(saved.body["data"]["proxmox"]["password_configured"], true);
    assert!(!raw_settings_rows(&app).await.concat().contains(password));
    let defaults = app
        .server
        .state
        .settings
        .proxmox_defaults("default")
        .await
        .expect("defaults");
    assert_eq!(defaults.url.as_deref(), Some("https://pve.lan:8006"));
    assert_eq!(defaults.username.as_deref(), Some("root@pam"));
    assert_eq!(defaults.node.as_deref(), Some("h1"));
    assert_eq!(
        defaults.password.as_ref().map(|p| p.expose()),
        Some(password)
    );
    assert!(!format!("{defaults:?}").contains(password));

    patch(
        &app,
        &admin,
        "/api/v1/settings/vmgenerator",
        json!({"proxmox": {"url": "not a url"}}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_VMGENERATOR_BODY");
    patch(
        &app,
        &admin,
        "/api/v1/settings/vmgenerator/ssh/port",
        json!(70000),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "SETTINGS_INVALID_VMGENERATOR_BODY");
}
db_test!(proxmox_defaults_are_readable_by_other_domains);

async fn storage_policy_is_completed_and_stamped(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/auth/whoami", Some(&admin)).await.body["data"]["uid"].clone();
    assert_eq!(
        app.get("/api/v1/settings/storage_policy", Some(&admin))
            .await
            .body["data"],
        Value::Null
    );
    let saved = put(
        &app,
        &admin,
        "/api/v1/settings/storage_policy",
        json!({"operational": "cloud"}),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let policy = &saved.body["data"];
    assert_eq!(policy["secrets"], "local-only");
    assert_eq!(policy["operational"], "cloud");
    assert_eq!(policy["sync"], json!({"enabled": false}));
    assert!(policy["updated_at"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(policy["updated_by"], me);
    let synced = patch(
        &app,
        &admin,
        "/api/v1/settings/storage_policy",
        json!({"sync": {"enabled": true}}),
    )
    .await;
    assert_eq!(synced.body["data"]["operational"], "cloud");
    assert_eq!(synced.body["data"]["sync"]["enabled"], true);
    for bad in [
        json!({"secrets": "cloud"}),
        json!({"operational": "mars"}),
        json!({"sync": {"enabled": "yes"}}),
    ] {
        put(&app, &admin, "/api/v1/settings/storage_policy", bad)
            .await
            .assert_error(
                StatusCode::BAD_REQUEST,
                "SETTINGS_INVALID_STORAGE_POLICY_BODY",
            );
    }
    assert_eq!(
        app.get("/api/v1/settings/storage_policy", Some(&admin))
            .await
            .body["data"]["sync"]["enabled"],
        true
    );
}
db_test!(storage_policy_is_completed_and_stamped);

async fn only_admins_change_api_keys_and_storage_policy(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let user = app.user_token("op@example.com", &["user"]).await;
    put(
        &app,
        &admin,
        "/api/v1/settings/api_keys",
        json!({"ipqs": {"api_key": "admin-set-key-000000001"}}),
    )
    .await;
    put(
        &app,
        &user,
        "/api/v1/settings/api_keys",
        json!({"ipqs": {"api_key": "user-key-000000000002"}}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    put(
        &app,
        &user,
        "/api/v1/settings",
        json!({"storage_policy": {"operational": "cloud"}}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // Reading is fine (masked), and other sections are writable.
    let read = app.get("/api/v1/settings/api_keys", Some(&user)).await;
    assert_eq!(read.body["data"]["ipqs"]["api_key"], "****0001");
    let ok = put(
        &app,
        &user,
        "/api/v1/settings/ui/resource_tree",
        json!({"expandedKeys": ["bots"], "visibleStatuses": ["farming"], "showFilters": true}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    put(
        &app,
        &user,
        "/api/v1/settings/ui/resource_tree",
        json!({"visibleStatuses": ["sleeping"]}),
    )
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "SETTINGS_INVALID_RESOURCE_TREE_BODY",
    );
}
db_test!(only_admins_change_api_keys_and_storage_policy);

async fn settings_belong_to_one_tenant(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let a = app.admin_token().await;
    let b = app
        .user_token_in("tenant-b", "admin@b.example", &["admin"])
        .await;
    put(
        &app,
        &a,
        "/api/v1/settings/theme",
        json!({"active_preset_id": "dark"}),
    )
    .await;
    put(
        &app,
        &a,
        "/api/v1/settings/api_keys",
        json!({"ipqs": {"api_key": "tenant-a-key-123456789"}}),
    )
    .await;
    assert_eq!(
        app.get("/api/v1/settings/theme", Some(&b)).await.body["data"],
        Value::Null
    );
    assert_eq!(
        app.get("/api/v1/settings", Some(&b)).await.body["data"],
        json!({})
    );
    put(
        &app,
        &b,
        "/api/v1/settings/theme",
        json!({"active_preset_id": "light"}),
    )
    .await;
    assert_eq!(
        app.get("/api/v1/settings/theme", Some(&a)).await.body["data"]["active_preset_id"],
        "dark"
    );
    assert!(
        app.server
            .state
            .settings
            .ipqs_settings("tenant-b")
            .await
            .expect("b")
            .api_key
            .is_none()
    );
}
db_test!(settings_belong_to_one_tenant);
