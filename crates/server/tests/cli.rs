//! The `botmox` binary: administration commands against a live server's database, and the
//! OpenAPI document kept in `docs/openapi.json`.

mod common;

use common::{Db, TestApp};
use reqwest::StatusCode;
use std::process::Command;

fn botmox(app: &TestApp, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_botmox"))
        .args(args)
        .env("DATABASE_URL", &app.storage.database_url)
        .env("BOTMOX_DATA_DIR", app.storage.dir.path())
        .env("LOG_LEVEL", "error")
        .output()
        .expect("botmox runs");
    assert!(
        out.status.success(),
        "botmox {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn field(output: &str, name: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {output}"))
        .trim()
        .to_owned()
}

async fn cli_tokens_and_users_act_on_the_running_server(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let issued = botmox(
        &app,
        &["token", "issue", "deploy-bot", "--roles", "api,infra"],
    );
    let token = field(&issued, "token");
    let id = field(&issued, "id");
    let me = app.get("/api/v1/auth/whoami", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(
        me.body["data"]["roles"],
        serde_json::json!(["api", "infra"])
    );
    assert!(botmox(&app, &["token", "list"]).contains("deploy-bot"));
    botmox(&app, &["token", "revoke", &id]);
    app.get("/api/v1/auth/whoami", Some(&token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");

    let added = botmox(
        &app,
        &["user", "add", "ops@example.com", "--roles", "infra"],
    );
    let password = field(&added, "password");
    let pair = app.login("ops@example.com", &password).await;
    assert!(botmox(&app, &["user", "list"]).contains("ops@example.com"));
    let changed = botmox(&app, &["user", "set-password", "ops@example.com"]);
    let new_password = field(&changed, "password");
    app.post(
        "/api/v1/auth/refresh",
        None,
        serde_json::json!({"refresh_token": pair.refresh_token}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "REFRESH_TOKEN_REUSED");
    app.login("ops@example.com", &new_password).await;
    botmox(&app, &["user", "disable", "ops@example.com"]);
    app.post(
        "/api/v1/auth/login",
        None,
        serde_json::json!({"email": "ops@example.com", "password": new_password}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
}
db_test!(cli_tokens_and_users_act_on_the_running_server);

#[test]
fn openapi_document_in_docs_is_current() {
    let generated = botmox_server::app::openapi_json().expect("spec");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, format!("{generated}\n")).expect("write docs/openapi.json");
    }
    let stored = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        stored.trim_end() == generated.trim_end(),
        "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p botmox-server --test cli openapi`"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/auth/login"]["post"].is_object());
}
