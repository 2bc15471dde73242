//! The provisioning HTTP domain: unattend profiles, ISO generation and download, and the
//! VM-facing token endpoints, black-box on both databases.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Db, TestApp};
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PUBLIC_URL: &str = "https://botmox.example.com";
const VM: &str = "4C4C4544-0042-3510-8052-B4C04F4E4D32";
const VM_LOWER: &str = "4c4c4544-0042-3510-8052-b4c04f4e4d32";

async fn spawn(db: Db) -> Option<TestApp> {
    TestApp::spawn_with(db, &[("BOTMOX_PUBLIC_URL", PUBLIC_URL)]).await
}

async fn create_profile(app: &TestApp, token: &str, name: &str, is_default: bool) -> Value {
    let reply = app
        .post(
            "/api/v1/unattend-profiles",
            Some(token),
            json!({"name": name, "is_default": is_default, "config": {
                "user": {"nameMode": "custom", "customName": "Operator"},
                "computerName": {"mode": "random"}
            }}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["data"].clone()
}

async fn generate(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app
        .post(
            "/api/v1/provisioning/generate-iso-payload",
            Some(token),
            body,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["data"].clone()
}

async fn generate_for(app: &TestApp, token: &str, vm: &str) -> Value {
    generate(
        app,
        token,
        json!({"vm_uuid": vm, "vm_name": "WoW1", "profile_config": {},
               "ip": {"address": "10.0.5.20", "gateway": "10.0.5.1"}}),
    )
    .await
}

async fn validate(app: &TestApp, token: &str, vm: &str) -> common::Reply {
    app.post(
        "/api/v1/provisioning/validate-token",
        None,
        json!({"token": token, "vm_uuid": vm}),
    )
    .await
}

async fn report(app: &TestApp, token: &str, vm: &str, step: &str, status: &str) -> common::Reply {
    app.post(
        "/api/v1/provisioning/report-progress",
        None,
        json!({"token": token, "vm_uuid": vm, "step": step, "status": status,
               "message": format!("{step} {status}"), "progress": 40,
               "details": {"computer_name": "WIN-1"}}),
    )
    .await
}

async fn profile_count(app: &TestApp, token: &str) -> usize {
    let reply = app.get("/api/v1/unattend-profiles", Some(token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.body["data"].as_array().unwrap().len()
}

async fn profile_crud_keeps_one_default(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let t = app.user_token("ops@example.com", &["user"]).await;
    let a = create_profile(&app, &t, "First", true).await;
    assert!(a["id"].as_str().unwrap().starts_with("profile-"));
    assert_eq!(a["is_default"], true);
    assert_eq!(a["config"]["user"]["name_mode"], "custom");
    let b = create_profile(&app, &t, "Second", true).await;
    let a_id = a["id"].as_str().unwrap();
    let b_id = b["id"].as_str().unwrap();

    let list = app.get("/api/v1/unattend-profiles", Some(&t)).await;
    let rows = list.body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // Most recently updated first; only the newest default keeps the flag.
    assert_eq!(rows[0]["id"], b_id);
    assert_eq!(rows[0]["is_default"], true);
    assert_eq!(rows[1]["is_default"], false);

    let path = format!("/api/v1/unattend-profiles/{a_id}");
    let updated = app
        .call(
            Method::PUT,
            &path,
            Some(&t),
            Some(json!({"name": "Renamed", "is_default": true,
                        "config": {"computerName": {"mode": "custom", "customName": "BOT-01"}}})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["data"]["name"], "Renamed");
    assert_eq!(
        updated.body["data"]["config"]["computer_name"]["custom_name"],
        "BOT-01"
    );
    let b_now = app
        .get(&format!("/api/v1/unattend-profiles/{b_id}"), Some(&t))
        .await;
    assert_eq!(b_now.body["data"]["is_default"], false);

    // An empty update and an invalid config change nothing.
    app.call(Method::PUT, &path, Some(&t), Some(json!({})))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "PROVISIONING_INVALID_PROFILE_UPDATE_BODY",
        );
    let bad = app
        .call(
            Method::PUT,
            &path,
            Some(&t),
            Some(json!({"config": {"computerName": {"mode": "custom", "customName": "NAME-LONGER-THAN-15"}}})),
        )
        .await;
    bad.assert_error(
        StatusCode::BAD_REQUEST,
        "PROVISIONING_INVALID_PROFILE_UPDATE_BODY",
    );
    let after = app.get(&path, Some(&t)).await;
    assert_eq!(
        after.body["data"]["config"]["computer_name"]["custom_name"],
        "BOT-01"
    );

    let del = app.call(Method::DELETE, &path, Some(&t), None).await;
    assert_eq!(del.status, StatusCode::OK);
    assert_eq!(del.body["data"]["deleted"], true);
    app.get(&path, Some(&t))
        .await
        .assert_error(StatusCode::NOT_FOUND, "UNATTEND_PROFILE_NOT_FOUND");
    app.call(Method::DELETE, &path, Some(&t), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "UNATTEND_PROFILE_NOT_FOUND");
    assert_eq!(profile_count(&app, &t).await, 1);
}
db_test!(profile_crud_keeps_one_default);

async fn invalid_profiles_are_refused_with_fields(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let t = app.user_token("ops@example.com", &["user"]).await;
    let bad = app
        .post(
            "/api/v1/unattend-profiles",
            Some(&t),
            json!({"name": " ", "config": {"locale": {"timeZone": ""}}}),
        )
        .await;
    bad.assert_error(
        StatusCode::BAD_REQUEST,
        "PROVISIONING_INVALID_PROFILE_CREATE_BODY",
    );
    let fields = &bad.body["error"]["details"]["fields"];
    assert!(fields.get("name").is_some(), "{fields}");
    assert!(fields.get("config.locale.time_zone").is_some(), "{fields}");
    app.post("/api/v1/unattend-profiles", Some(&t), json!({"name": "x"}))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "PROVISIONING_INVALID_PROFILE_CREATE_BODY",
        );
    app.get("/api/v1/unattend-profiles/not-a-profile", Some(&t))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "PROVISIONING_INVALID_PROFILE_ID");
    assert_eq!(profile_count(&app, &t).await, 0);
    app.get("/api/v1/unattend-profiles", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
}
db_test!(invalid_profiles_are_refused_with_fields);

async fn profiles_of_another_tenant_are_not_found(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let a = app.user_token("a@example.com", &["user"]).await;
    let b = app
        .user_token_in("tenant-b", "b@example.com", &["user"])
        .await;
    let profile = create_profile(&app, &a, "Mine", true).await;
    let path = format!(
        "/api/v1/unattend-profiles/{}",
        profile["id"].as_str().unwrap()
    );
    app.get(&path, Some(&b))
        .await
        .assert_error(StatusCode::NOT_FOUND, "UNATTEND_PROFILE_NOT_FOUND");
    app.call(
        Method::PUT,
        &path,
        Some(&b),
        Some(json!({"name": "Theirs"})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "UNATTEND_PROFILE_NOT_FOUND");
    app.call(Method::DELETE, &path, Some(&b), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "UNATTEND_PROFILE_NOT_FOUND");
    // A default in tenant B leaves tenant A's default alone.
    create_profile(&app, &b, "Theirs", true).await;
    assert_eq!(profile_count(&app, &b).await, 1);
    let mine = app.get(&path, Some(&a)).await;
    assert_eq!(mine.body["data"]["name"], "Mine");
    assert_eq!(mine.body["data"]["is_default"], true);
    // Nor can B generate from A's profile.
    app.post(
        "/api/v1/provisioning/generate-iso-payload",
        Some(&b),
        json!({"vm_uuid": VM, "profile_id": profile["id"]}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "UNATTEND_PROFILE_NOT_FOUND");
}
db_test!(profiles_of_another_tenant_are_not_found);

fn xorriso_files(iso: &[u8]) -> Option<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("provision.iso");
    std::fs::write(&path, iso).unwrap();
    let out = std::process::Command::new("xorriso")
        .args(["-abort_on", "FAILURE", "-read_fs", "norock", "-indev"])
        .arg(&path)
        .args(["-find", "/", "-type", "f"])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("'/").and_then(|l| l.strip_suffix('\'')))
            .map(str::to_owned)
            .collect(),
    )
}

async fn generated_iso_downloads_and_its_token_drives_progress(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let t = app.user_token("ops@example.com", &["user"]).await;
    let profile = create_profile(&app, &t, "Fleet", true).await;
    let data = generate(
        &app,
        &t,
        json!({"vm_uuid": VM, "vm_name": "WoW1", "profile_id": profile["id"],
               "ip": {"address": "10.0.5.20", "gateway": "10.0.5.1"}}),
    )
    .await;
    let token = data["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("bmp_") && token.len() >= 40, "{token}");
    assert_eq!(data["vm_uuid"], VM_LOWER);
    assert_eq!(data["username"], "Operator");
    assert_eq!(data["files"][0], "autounattend.xml");
    assert!(
        data["files"]
            .as_array()
            .unwrap()
            .contains(&json!("provision.json"))
    );
    assert!(data["iso_object_key"].as_str().unwrap().ends_with(".iso"));

    // The agent downloads the ISO; its hash is the one announced.
    let iso_url = data["iso_url"].as_str().unwrap();
    assert_eq!(iso_url, format!("/api/v1/provisioning/isos/{VM_LOWER}"));
    let resp = app
        .http
        .get(app.url(iso_url))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let header_sha = resp.headers()["x-checksum-sha256"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = resp.bytes().await.unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    assert_eq!(sha, data["sha256"].as_str().unwrap());
    assert_eq!(sha, header_sha);
    assert_eq!(bytes.len() as u64, data["size"].as_u64().unwrap());
    match xorriso_files(&bytes) {
        Some(files) => {
            assert!(files.contains(&"autounattend.xml".to_owned()), "{files:?}");
            assert!(files.contains(&"provision.json".to_owned()), "{files:?}");
        }
        None if std::env::var("CI").as_deref() == Ok("true") => panic!("xorriso is missing"),
        None => {}
    }
    // The token inside provision.json is the one returned.
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains(&token));
    assert!(text.contains(PUBLIC_URL));
    // Unauthenticated downloads are refused.
    app.get(iso_url, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");

    // Before any report the VM shows up as not started.
    let progress_path = format!("/api/v1/provisioning/progress/{VM}");
    let p = app.get(&progress_path, Some(&t)).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.body["data"]["state"], "not_started");
    assert_eq!(p.body["data"]["token"]["status"], "active");

    // The VM authenticates with the token only, as START.ps1 does.
    let v = validate(&app, &token, VM_LOWER).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert_eq!(v.body["success"], true);
    assert_eq!(v.body["data"]["valid"], true);
    assert_eq!(v.body["data"]["bootstrap_url"], Value::Null);
    assert_eq!(v.body["data"]["token_id"], data["token_id"]);

    let r = report(&app, &token, VM, "windows_installed", "completed").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["step"], "windows_installed");
    assert_eq!(r.body["data"]["details"]["computer_name"], "WIN-1");
    let r = report(&app, &token, VM, "app_downloaded", "running").await;
    assert_eq!(r.status, StatusCode::OK);

    let p = app.get(&progress_path, Some(&t)).await;
    let events = p.body["data"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["step"], "windows_installed");
    assert_eq!(events[1]["status"], "running");
    assert_eq!(events[1]["progress"], 40);
    assert!(events[0]["created_at"].as_str().is_some());
    assert_eq!(p.body["data"]["state"], "running");
    assert_eq!(p.body["data"]["current_step"], "app_downloaded");

    // The final step uses the token up.
    let r = report(&app, &token, VM, "completed", "completed").await;
    assert_eq!(r.status, StatusCode::OK);
    validate(&app, &token, VM)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "TOKEN_USED");
    report(&app, &token, VM, "completed", "completed")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "TOKEN_USED");
    let p = app.get(&progress_path, Some(&t)).await;
    assert_eq!(p.body["data"]["state"], "completed");
    assert_eq!(p.body["data"]["token"]["status"], "used");
    assert!(p.body["data"]["token"]["used_at"].as_str().is_some());
    assert_eq!(p.body["data"]["events"].as_array().unwrap().len(), 3);
}
db_test!(generated_iso_downloads_and_its_token_drives_progress);

async fn playbooks_go_on_the_iso(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let t = app.user_token("ops@example.com", &["user"]).await;
    let vm = json!({"vm_uuid": VM, "profile_config": {}});

    // No playbook at all: none on the ISO.
    let data = generate(&app, &t, vm.clone()).await;
    assert_eq!(data["playbook_id"], Value::Null);
    assert!(
        !data["files"]
            .as_array()
            .unwrap()
            .contains(&json!("playbook.yml"))
    );

    let create = |name: &'static str, content: &'static str, is_default: bool| {
        let app = &app;
        let t = t.clone();
        async move {
            let r = app
                .post(
                    "/api/v1/playbooks",
                    Some(&t),
                    json!({"name": name, "content": content, "is_default": is_default}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            r.body["data"]["id"].as_str().unwrap().to_owned()
        }
    };
    let default_id = create(
        "Default",
        "name: default-marker-7c1\nroles:\n  - base-system\n",
        true,
    )
    .await;
    let other_id = create(
        "Farm",
        "name: farm-marker-93b\nroles:\n  - base-system\n",
        false,
    )
    .await;

    // The tenant's default is used when none is named.
    let data = generate(&app, &t, vm.clone()).await;
    assert_eq!(data["playbook_id"], default_id.as_str());
    assert!(
        data["files"]
            .as_array()
            .unwrap()
            .contains(&json!("playbook.yml"))
    );

    // A named one wins, and its content is what the ISO carries.
    let mut named = vm.clone();
    named["playbook_id"] = json!(other_id);
    let data = generate(&app, &t, named).await;
    assert_eq!(data["playbook_id"], other_id.as_str());
    let resp = app
        .http
        .get(app.url(data["iso_url"].as_str().unwrap()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let bytes = resp.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("farm-marker-93b"));
    assert!(!text.contains("default-marker-7c1"));
    match xorriso_files(&bytes) {
        Some(files) => assert!(files.contains(&"playbook.yml".to_owned()), "{files:?}"),
        None if std::env::var("CI").as_deref() == Ok("true") => panic!("xorriso is missing"),
        None => {}
    }

    // A playbook that is not the tenant's is refused, and nothing is issued.
    let other_tenant = app
        .user_token_in("tenant-b", "b@example.com", &["user"])
        .await;
    let mut foreign =
        json!({"vm_uuid": "11111111-2222-3333-4444-555555555555", "profile_config": {}});
    foreign["playbook_id"] = json!(other_id);
    app.post(
        "/api/v1/provisioning/generate-iso-payload",
        Some(&other_tenant),
        foreign,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "PLAYBOOK_NOT_FOUND");
    let p = app
        .get(
            "/api/v1/provisioning/progress/11111111-2222-3333-4444-555555555555",
            Some(&other_tenant),
        )
        .await;
    assert_eq!(p.body["data"]["token"], Value::Null, "{}", p.body);
    let mut bad = vm.clone();
    bad["playbook_id"] = json!("no such/id");
    app.post("/api/v1/provisioning/generate-iso-payload", Some(&t), bad)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "PLAYBOOK_INVALID_ID");
}
db_test!(playbooks_go_on_the_iso);

async fn published_bootstrap_binaries_get_presigned_urls(db: Db) {
    let Some(s3) = botmox_testkit::s3::MotoS3::start()
        .await
        .expect("S3 test server")
    else {
        return;
    };
    let mut vars: Vec<(&str, String)> = s3.env();
    vars.push(("BOTMOX_PUBLIC_URL", PUBLIC_URL.to_owned()));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(app) = TestApp::spawn_with(db, &refs).await else {
        return;
    };
    let t = app.user_token("ops@example.com", &["user"]).await;
    let data = generate_for(&app, &t, VM).await;
    let token = data["token"].as_str().unwrap();

    // Nothing published: no URLs, and validation still succeeds.
    let v = validate(&app, token, VM).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert_eq!(v.body["data"]["bootstrap_url"], Value::Null);
    assert_eq!(v.body["data"]["app_url"], Value::Null);

    // Once the operator publishes the downloader, the VM gets a URL it can fetch as is.
    let binary = b"MZ downloader build 42".to_vec();
    s3.put_object("bootstrap/downloader.exe", binary.clone())
        .await
        .unwrap();
    let v = validate(&app, token, VM).await;
    let url = v.body["data"]["bootstrap_url"]
        .as_str()
        .expect("bootstrap_url")
        .to_owned();
    assert!(url.contains("X-Amz-Signature"), "{url}");
    assert_eq!(v.body["data"]["app_url"], Value::Null);
    let got = reqwest::get(&url).await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().to_vec(), binary);
}
db_test!(published_bootstrap_binaries_get_presigned_urls);

async fn generate_refuses_bad_requests(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let t = app.user_token("ops@example.com", &["user"]).await;
    let path = "/api/v1/provisioning/generate-iso-payload";
    app.post(path, Some(&t), json!({"vm_uuid": VM}))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "PROVISIONING_PROFILE_SOURCE_REQUIRED",
        );
    let bad = app
        .post(
            path,
            Some(&t),
            json!({"vm_uuid": "not a uuid", "profile_config": {}}),
        )
        .await;
    bad.assert_error(
        StatusCode::BAD_REQUEST,
        "PROVISIONING_INVALID_GENERATE_BODY",
    );
    assert!(
        bad.body["error"]["details"]["fields"]
            .get("vm_uuid")
            .is_some()
    );
    let bad_ip = app
        .post(
            path,
            Some(&t),
            json!({"vm_uuid": VM, "profile_config": {},
                   "ip": {"address": "10.0.5.300", "gateway": "10.0.5.1"}}),
        )
        .await;
    bad_ip.assert_error(
        StatusCode::BAD_REQUEST,
        "PROVISIONING_INVALID_GENERATE_BODY",
    );
    assert!(
        bad_ip.body["error"]["details"]["fields"]
            .get("ip.address")
            .is_some()
    );
    // A static network profile needs the VM's address.
    app.post(
        path,
        Some(&t),
        json!({"vm_uuid": VM, "profile_config": {"network": {"mode": "static"}}}),
    )
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "PROVISIONING_INVALID_GENERATE_BODY",
    );
    let missing = format!("profile-{}", uuid::Uuid::now_v7());
    app.post(
        path,
        Some(&t),
        json!({"vm_uuid": VM, "profile_id": missing}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "UNATTEND_PROFILE_NOT_FOUND");
    // Nothing was issued by any of these.
    app.get(&format!("/api/v1/provisioning/progress/{VM}"), Some(&t))
        .await
        .assert_error(StatusCode::NOT_FOUND, "PROVISIONING_VM_NOT_FOUND");
    app.get("/api/v1/provisioning/progress/bad%20uuid", Some(&t))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "PROVISIONING_INVALID_VM_UUID");
}
db_test!(generate_refuses_bad_requests);

async fn loopback_server_url_is_refused(db: Db) {
    // No BOTMOX_PUBLIC_URL: the request's host (127.0.0.1) would send every VM to itself.
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let t = app.user_token("ops@example.com", &["user"]).await;
    app.post(
        "/api/v1/provisioning/generate-iso-payload",
        Some(&t),
        json!({"vm_uuid": VM, "profile_config": {}}),
    )
    .await
    .assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "PROVISIONING_PUBLIC_URL_UNUSABLE",
    );
    // A forwarded public host is accepted.
    let resp = app
        .http
        .post(app.url("/api/v1/provisioning/generate-iso-payload"))
        .bearer_auth(&t)
        .header("x-forwarded-host", "botmox.lan:8443")
        .header("x-forwarded-proto", "https")
        .json(&json!({"vm_uuid": VM, "profile_config": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}
db_test!(loopback_server_url_is_refused);

async fn wrong_expired_and_revoked_tokens_are_refused(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let t = app.user_token("ops@example.com", &["user"]).await;
    let first = generate_for(&app, &t, VM).await;
    let token = first["token"].as_str().unwrap().to_owned();

    validate(&app, "bmp_not-a-real-token", VM)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "TOKEN_INVALID");
    let other_vm = validate(&app, &token, "11111111-2222-3333-4444-555555555555").await;
    other_vm.assert_error(StatusCode::UNAUTHORIZED, "TOKEN_INVALID");
    assert_eq!(
        other_vm.body["error"]["message"],
        "Provisioning token is invalid"
    );
    report(&app, "bmp_nope", VM, "windows_installed", "completed")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "TOKEN_INVALID");
    app.post(
        "/api/v1/provisioning/report-progress",
        None,
        json!({"token": token, "vm_uuid": VM, "step": "x", "status": "done"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "PROVISIONING_INVALID_REPORT_BODY");
    app.post(
        "/api/v1/provisioning/validate-token",
        None,
        json!({"vm_uuid": VM}),
    )
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "PROVISIONING_INVALID_VALIDATE_BODY",
    );
    // None of the refused reports was recorded.
    let p = app
        .get(&format!("/api/v1/provisioning/progress/{VM}"), Some(&t))
        .await;
    assert_eq!(p.body["data"]["events"].as_array().unwrap().len(), 0);

    // Regenerating revokes the previous token.
    let second = generate_for(&app, &t, VM).await;
    let token2 = second["token"].as_str().unwrap().to_owned();
    validate(&app, &token, VM)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "TOKEN_REVOKED");
    assert_eq!(validate(&app, &token2, VM).await.status, StatusCode::OK);

    // Revoked by hand.
    let id = second["token_id"].as_str().unwrap();
    let revoked = app
        .post(
            &format!("/api/v1/provisioning/tokens/{id}/revoke"),
            Some(&t),
            json!({}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(revoked.body["data"]["status"], "revoked");
    report(&app, &token2, VM, "windows_installed", "completed")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "TOKEN_REVOKED");
    // Revoking again is harmless.
    let again = app
        .post(
            &format!("/api/v1/provisioning/tokens/{id}/revoke"),
            Some(&t),
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    app.post(
        "/api/v1/provisioning/tokens/nope/revoke",
        Some(&t),
        json!({}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "PROVISIONING_INVALID_TOKEN_ID");

    // Expired: age the row.
    let third = generate_for(&app, &t, "aaaaaaaa-0000-0000-0000-000000000001").await;
    let token3 = third["token"].as_str().unwrap().to_owned();
    app.server
        .state
        .db
        .conn
        .execute_unprepared(&format!(
            "UPDATE provisioning_tokens SET expires_at = 1 WHERE id = '{}'",
            third["token_id"].as_str().unwrap()
        ))
        .await
        .unwrap();
    validate(&app, &token3, "aaaaaaaa-0000-0000-0000-000000000001")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "TOKEN_EXPIRED");
    report(
        &app,
        &token3,
        "aaaaaaaa-0000-0000-0000-000000000001",
        "completed",
        "completed",
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "TOKEN_EXPIRED");
    let expired = app
        .post(
            &format!(
                "/api/v1/provisioning/tokens/{}/revoke",
                third["token_id"].as_str().unwrap()
            ),
            Some(&t),
            json!({}),
        )
        .await;
    expired.assert_error(StatusCode::CONFLICT, "PROVISIONING_TOKEN_NOT_ACTIVE");
}
db_test!(wrong_expired_and_revoked_tokens_are_refused);

async fn provisioning_is_invisible_to_other_tenants(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let a = app.user_token("a@example.com", &["user"]).await;
    let b = app
        .user_token_in("tenant-b", "b@example.com", &["user"])
        .await;
    let data = generate_for(&app, &a, VM).await;
    let token = data["token"].as_str().unwrap();
    assert_eq!(
        report(&app, token, VM, "windows_installed", "completed")
            .await
            .status,
        StatusCode::OK
    );
    app.get(&format!("/api/v1/provisioning/progress/{VM}"), Some(&b))
        .await
        .assert_error(StatusCode::NOT_FOUND, "PROVISIONING_VM_NOT_FOUND");
    app.get(&format!("/api/v1/provisioning/isos/{VM}"), Some(&b))
        .await
        .assert_error(StatusCode::NOT_FOUND, "PROVISIONING_ISO_NOT_FOUND");
    let id = data["token_id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/provisioning/tokens/{id}/revoke"),
        Some(&b),
        json!({}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "PROVISIONING_TOKEN_NOT_FOUND");
    // B provisioning the same VM UUID leaves A's token and log alone.
    generate_for(&app, &b, VM).await;
    assert_eq!(validate(&app, token, VM).await.status, StatusCode::OK);
    let mine = app
        .get(&format!("/api/v1/provisioning/progress/{VM}"), Some(&a))
        .await;
    assert_eq!(mine.body["data"]["events"].as_array().unwrap().len(), 1);
    assert_eq!(mine.body["data"]["token"]["status"], "active");
    let theirs = app
        .get(&format!("/api/v1/provisioning/progress/{VM}"), Some(&b))
        .await;
    assert_eq!(theirs.body["data"]["events"].as_array().unwrap().len(), 0);
}
db_test!(provisioning_is_invisible_to_other_tenants);

async fn token_endpoints_are_rate_limited_per_ip(db: Db) {
    let Some(app) = TestApp::spawn_with(
        db,
        &[
            ("BOTMOX_PUBLIC_URL", PUBLIC_URL),
            ("PROVISION_RATE_LIMIT_PER_MINUTE", "3"),
        ],
    )
    .await
    else {
        return;
    };
    for _ in 0..3 {
        validate(&app, "bmp_guess", VM)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "TOKEN_INVALID");
    }
    validate(&app, "bmp_guess", VM)
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
}
db_test!(token_endpoints_are_rate_limited_per_ip);
