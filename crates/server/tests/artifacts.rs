//! Artifacts: unique releases, streamed and verified uploads, assignments, and lease-gated
//! downloads on a real S3 server (presigned URLs) and from this server (signed URLs), with
//! an audit row for every attempt.

mod common;
#[path = "support/delivery.rs"]
mod delivery;

use botmox_server::artifacts::signed_url::Grant;
use botmox_testkit::s3::MotoS3;
use common::{Db, Reply, TestApp};
use delivery::{LEASE_SECRET, expire_lease_row, forge_lease, lease, lease_claims, licensed_user};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Deterministic test content of `n` bytes.
fn blob(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn spawn(db: Db, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut vars = vec![("LICENSE_LEASE_SECRET", LEASE_SECRET)];
    vars.extend_from_slice(extra);
    TestApp::spawn_with(db, &vars).await
}

async fn create_release(
    app: &TestApp,
    token: &str,
    module: &str,
    version: &str,
    content: &[u8],
) -> Reply {
    app.post(
        "/api/v1/artifacts/releases",
        Some(token),
        json!({"module": module, "platform": "windows", "version": version,
               "sha256": sha(content), "size_bytes": content.len(), "file_name": "runner.exe"}),
    )
    .await
}

/// PUTs the binary as a stream without Content-Length, in 64 KiB chunks.
async fn upload(app: &TestApp, token: &str, release_id: &str, content: Vec<u8>) -> Reply {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        content.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let resp = app
        .http
        .put(app.url(&format!("/api/v1/artifacts/releases/{release_id}/binary")))
        .bearer_auth(token)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .expect("upload sent");
    Reply::from(resp).await
}

fn id_of(r: &Reply) -> String {
    r.body["data"]["id"].as_str().expect("id").to_owned()
}

async fn resolve(app: &TestApp, token: &str, body: Value) -> Reply {
    app.post("/api/v1/artifacts/resolve-download", Some(token), body)
        .await
}

fn resolve_body(lease_token: &str, vm_uuid: &str) -> Value {
    json!({"lease_token": lease_token, "vm_uuid": vm_uuid, "module": "farm", "platform": "windows"})
}

/// Files under the local object directory (embedded mode).
fn local_objects(app: &TestApp) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p.display().to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.storage.dir.path().join("objects"), &mut out);
    out
}

async fn releases_are_unique_per_scope_and_version(db: Db) {
    let Some(app) = spawn(db, &[("BOTMOX_ARTIFACT_MAX_BYTES", "1000000")]).await else {
        return;
    };
    let admin = app.admin_token().await;
    let content = blob(1000, 1);
    let r = create_release(&app, &admin, "Farm", "1.0.0", &content).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rel = &r.body["data"];
    assert_eq!(rel["module"], "farm");
    assert_eq!(rel["channel"], "stable");
    assert_eq!(rel["status"], "active");
    assert_eq!(rel["uploaded"], false);
    assert_eq!(rel["object_key"], Value::Null);
    create_release(&app, &admin, "FARM", "1.0.0", &content)
        .await
        .assert_error(StatusCode::CONFLICT, "ARTIFACT_RELEASE_EXISTS");
    let beta = app
        .post(
            "/api/v1/artifacts/releases",
            Some(&admin),
            json!({"module": "farm", "platform": "windows", "channel": "beta", "version": "1.0.0",
                   "sha256": sha(&content), "size_bytes": 1000}),
        )
        .await;
    assert_eq!(beta.status, StatusCode::CREATED);
    assert_eq!(beta.body["data"]["file_name"], "farm-1.0.0.bin");
    for body in [
        json!({"module": "farm", "platform": "windows", "version": "2", "sha256": "abc", "size_bytes": 1}),
        json!({"module": "farm", "platform": "windows", "version": "2", "sha256": sha(b"x"), "size_bytes": 0}),
        json!({"module": "farm", "platform": "windows", "version": "2", "sha256": sha(b"x"), "size_bytes": 1, "status": "gone"}),
        json!({"module": "farm", "platform": "windows", "version": "2", "sha256": sha(b"x"), "size_bytes": 1, "file_name": "../x"}),
        json!({"module": "farm", "version": "2", "sha256": sha(b"x"), "size_bytes": 1}),
    ] {
        app.post("/api/v1/artifacts/releases", Some(&admin), body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY");
    }
    app.post(
        "/api/v1/artifacts/releases",
        Some(&admin),
        json!({"module": "farm", "platform": "windows", "version": "big", "sha256": sha(b"x"), "size_bytes": 1_000_001}),
    )
    .await
    .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "ARTIFACT_TOO_LARGE");
    let user = app.user_token("rel-user@example.com", &["user"]).await;
    create_release(&app, &user, "farm", "9.9.9", &content)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    for v in 2..6 {
        create_release(&app, &admin, "fish", &format!("{v}.0"), &content).await;
    }
    let mut seen = HashSet::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .get(
                &format!("/api/v1/artifacts/releases?module=fish&limit=3{cursor}"),
                Some(&user),
            )
            .await;
        pages += 1;
        for r in page.body["data"].as_array().expect("array") {
            assert_eq!(r["module"], "fish");
            assert!(seen.insert(r["id"].as_str().expect("id").to_owned()));
        }
        match page.body["meta"]["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (4, 2));
    let betas = app
        .get("/api/v1/artifacts/releases?channel=beta", Some(&user))
        .await;
    assert_eq!(betas.body["data"].as_array().map(Vec::len), Some(1));
    app.get("/api/v1/artifacts/releases?status=gone", Some(&user))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "INVALID_QUERY_PARAMS");

    let id = rel["id"].as_str().expect("id");
    let got = app
        .get(&format!("/api/v1/artifacts/releases/{id}"), Some(&user))
        .await;
    assert_eq!(got.body["data"]["version"], "1.0.0");
    let disabled = app
        .call(
            Method::PATCH,
            &format!("/api/v1/artifacts/releases/{id}"),
            Some(&admin),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(disabled.body["data"]["status"], "disabled");

    // Another tenant sees none of it.
    let b = app
        .user_token_in("tenant-b", "rel-b@example.com", &["admin"])
        .await;
    app.get(&format!("/api/v1/artifacts/releases/{id}"), Some(&b))
        .await
        .assert_error(StatusCode::NOT_FOUND, "ARTIFACT_RELEASE_NOT_FOUND");
    app.call(
        Method::PATCH,
        &format!("/api/v1/artifacts/releases/{id}"),
        Some(&b),
        Some(json!({"status": "active"})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "ARTIFACT_RELEASE_NOT_FOUND");
    upload(&app, &b, id, content.clone())
        .await
        .assert_error(StatusCode::NOT_FOUND, "ARTIFACT_RELEASE_NOT_FOUND");
    assert_eq!(
        app.get("/api/v1/artifacts/releases", Some(&b)).await.body["data"],
        json!([])
    );
    // B may publish the same module and version in its own tenant.
    assert_eq!(
        create_release(&app, &b, "farm", "1.0.0", &content)
            .await
            .status,
        StatusCode::CREATED
    );
    let still = app
        .get(&format!("/api/v1/artifacts/releases/{id}"), Some(&admin))
        .await;
    assert_eq!(still.body["data"]["status"], "disabled");
    assert_eq!(still.body["data"]["uploaded"], false);
}
db_test!(releases_are_unique_per_scope_and_version);

async fn uploads_are_streamed_verified_and_discarded_on_mismatch(db: Db) {
    let Some(app) = spawn(db, &[]).await else {
        return;
    };
    let admin = app.admin_token().await;
    // Bigger than the JSON body limit (1 MiB) and than one 5 MiB upload part.
    let content = blob(6 * 1024 * 1024 + 123, 7);
    let rel = create_release(&app, &admin, "farm", "1.0.0", &content).await;
    let id = id_of(&rel);

    let mut wrong = content.clone();
    wrong[4242] ^= 0xff;
    let bad = upload(&app, &admin, &id, wrong).await;
    bad.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "ARTIFACT_CHECKSUM_MISMATCH",
    );
    assert_eq!(
        bad.body["error"]["details"]["declared_sha256"],
        sha(&content)
    );
    let short = upload(&app, &admin, &id, content[..1000].to_vec()).await;
    short.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "ARTIFACT_SIZE_MISMATCH");
    assert_eq!(short.body["error"]["details"]["received_size"], 1000);
    let mut long = content.clone();
    long.extend_from_slice(b"trailing");
    upload(&app, &admin, &id, long)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "ARTIFACT_SIZE_MISMATCH");
    // A declared Content-Length that disagrees is refused before reading.
    let resp = app
        .http
        .put(app.url(&format!("/api/v1/artifacts/releases/{id}/binary")))
        .bearer_auth(&admin)
        .body(content[..10].to_vec())
        .send()
        .await
        .expect("sent");
    Reply::from(resp)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "ARTIFACT_SIZE_MISMATCH");
    // Nothing of the failed attempts is left behind, and the release is still empty.
    assert_eq!(local_objects(&app), Vec::<String>::new());
    let still = app
        .get(&format!("/api/v1/artifacts/releases/{id}"), Some(&admin))
        .await;
    assert_eq!(still.body["data"]["uploaded"], false);

    let user = app.user_token("up-user@example.com", &["user"]).await;
    upload(&app, &user, &id, content.clone())
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let ok = upload(&app, &admin, &id, content.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["data"]["uploaded"], true);
    let key = ok.body["data"]["object_key"]
        .as_str()
        .expect("key")
        .to_owned();
    assert!(
        key.starts_with(&format!("artifacts/{id}/")) && key.ends_with("/runner.exe"),
        "{key}"
    );
    let files = local_objects(&app);
    assert_eq!(files.len(), 1, "{files:?}");
    let stored = std::fs::read(&files[0]).expect("stored object");
    assert_eq!(sha(&stored), sha(&content));
    upload(&app, &admin, &id, content)
        .await
        .assert_error(StatusCode::CONFLICT, "ARTIFACT_BINARY_EXISTS");
    upload(&app, &admin, "no-such-release", b"x".to_vec())
        .await
        .assert_error(StatusCode::NOT_FOUND, "ARTIFACT_RELEASE_NOT_FOUND");
}
db_test!(uploads_are_streamed_verified_and_discarded_on_mismatch);

async fn assignments_match_the_release_scope_and_fall_back_to_the_default(db: Db) {
    let Some(app) = spawn(db, &[]).await else {
        return;
    };
    let admin = app.admin_token().await;
    let user = app.user_token("as-user@example.com", &["user"]).await;
    let user_id = delivery::uid(&app, &user).await;
    let v1 = id_of(&create_release(&app, &admin, "farm", "1.0", b"one").await);
    let v2 = id_of(&create_release(&app, &admin, "farm", "2.0", b"two").await);
    let fish = id_of(&create_release(&app, &admin, "fish", "1.0", b"fish").await);

    app.post(
        "/api/v1/artifacts/assign",
        Some(&admin),
        json!({"module": "farm", "platform": "windows", "release_id": "missing"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "ARTIFACT_RELEASE_NOT_FOUND");
    let mismatch = app
        .post(
            "/api/v1/artifacts/assign",
            Some(&admin),
            json!({"module": "farm", "platform": "windows", "release_id": fish}),
        )
        .await;
    mismatch.assert_error(StatusCode::CONFLICT, "ARTIFACT_SCOPE_MISMATCH");
    assert_eq!(
        mismatch.body["error"]["details"]["release"]["module"],
        "fish"
    );
    app.post(
        "/api/v1/artifacts/assign",
        Some(&admin),
        json!({"module": "farm", "platform": "linux", "release_id": v1}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "ARTIFACT_SCOPE_MISMATCH");
    app.post(
        "/api/v1/artifacts/assign",
        Some(&admin),
        json!({"module": "farm", "platform": "windows", "channel": "beta", "release_id": v1}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "ARTIFACT_SCOPE_MISMATCH");
    app.post(
        "/api/v1/artifacts/assign",
        Some(&user),
        json!({"module": "farm", "platform": "windows", "release_id": v1}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.post(
        "/api/v1/artifacts/assign",
        Some(&admin),
        json!({"module": "farm"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY");

    let default = app
        .post(
            "/api/v1/artifacts/assign",
            Some(&admin),
            json!({"module": "FARM", "platform": "Windows", "release_id": v1}),
        )
        .await;
    assert_eq!(default.status, StatusCode::CREATED, "{}", default.body);
    assert_eq!(default.body["data"]["is_default"], true);
    assert_eq!(default.body["data"]["user_id"], Value::Null);

    let eff_path = format!("/api/v1/artifacts/assign/{user_id}/farm");
    let eff = app.get(&eff_path, Some(&user)).await;
    assert_eq!(eff.status, StatusCode::OK, "{}", eff.body);
    assert_eq!(eff.body["data"]["user_assignment"], Value::Null);
    assert_eq!(
        eff.body["data"]["effective_assignment"]["release_id"],
        v1.as_str()
    );

    let mine = app
        .post(
            "/api/v1/artifacts/assign",
            Some(&admin),
            json!({"user_id": user_id, "module": "farm", "platform": "windows", "release_id": v2}),
        )
        .await;
    assert_eq!(mine.status, StatusCode::CREATED);
    let eff = app.get(&eff_path, Some(&user)).await;
    assert_eq!(
        eff.body["data"]["effective_assignment"]["release_id"],
        v2.as_str()
    );
    assert_eq!(
        eff.body["data"]["default_assignment"]["release_id"],
        v1.as_str()
    );
    // Re-assigning the same scope points the existing assignment elsewhere.
    let again = app
        .post(
            "/api/v1/artifacts/assign",
            Some(&admin),
            json!({"user_id": user_id, "module": "farm", "platform": "windows", "release_id": v1}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["data"]["id"], mine.body["data"]["id"]);
    // Empty query values are absent; other platforms have nothing.
    let empty = app
        .get(&format!("{eff_path}?platform=&channel="), Some(&user))
        .await;
    assert_eq!(
        empty.body["data"]["effective_assignment"]["release_id"],
        v1.as_str()
    );
    let linux = app
        .get(&format!("{eff_path}?platform=linux"), Some(&user))
        .await;
    assert_eq!(linux.body["data"]["effective_assignment"], Value::Null);
    app.get(&format!("{eff_path}?platform=bad%20one"), Some(&user))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "INVALID_QUERY_PARAMS");
    app.get(
        &format!("/api/v1/artifacts/assign/{user_id}/bad%20module"),
        Some(&user),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "INVALID_PATH_PARAMS");

    let list = app
        .get("/api/v1/artifacts/assignments?module=farm", Some(&user))
        .await;
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(2));
    let defaults = app
        .get(
            "/api/v1/artifacts/assignments?user_id=__default__",
            Some(&user),
        )
        .await;
    assert_eq!(defaults.body["data"].as_array().map(Vec::len), Some(1));

    let b = app
        .user_token_in("tenant-b", "as-b@example.com", &["admin"])
        .await;
    app.post(
        "/api/v1/artifacts/assign",
        Some(&b),
        json!({"module": "farm", "platform": "windows", "release_id": v1}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "ARTIFACT_RELEASE_NOT_FOUND");
    let b_eff = app.get(&eff_path, Some(&b)).await;
    assert_eq!(b_eff.body["data"]["effective_assignment"], Value::Null);
    let aid = mine.body["data"]["id"].as_str().expect("id");
    app.call(
        Method::DELETE,
        &format!("/api/v1/artifacts/assignments/{aid}"),
        Some(&b),
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "ARTIFACT_ASSIGNMENT_NOT_FOUND");
    let del = app
        .call(
            Method::DELETE,
            &format!("/api/v1/artifacts/assignments/{aid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::OK);
    let eff = app.get(&eff_path, Some(&user)).await;
    assert_eq!(
        eff.body["data"]["effective_assignment"]["release_id"],
        v1.as_str()
    );
}
db_test!(assignments_match_the_release_scope_and_fall_back_to_the_default);

/// A user with a lease for `farm` on their VM, and a release of `content` assigned to them.
struct Chain {
    admin: String,
    user: String,
    vm_uuid: String,
    lease_token: String,
    lease_id: String,
    release_id: String,
}

async fn chain(app: &TestApp, email: &str, vm_uuid: &str, content: &[u8]) -> Chain {
    let u = licensed_user(app, email, vm_uuid, &["farm"]).await;
    let rel = create_release(app, &u.admin, "farm", "3.1.4", content).await;
    let release_id = id_of(&rel);
    let up = upload(app, &u.admin, &release_id, content.to_vec()).await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    let assigned = app
        .post(
            "/api/v1/artifacts/assign",
            Some(&u.admin),
            json!({"user_id": u.user_id, "module": "farm", "platform": "windows", "release_id": release_id}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED);
    let l = lease(app, &u.token, vm_uuid, "farm").await;
    assert_eq!(l.status, StatusCode::CREATED, "{}", l.body);
    Chain {
        admin: u.admin,
        user: u.token,
        vm_uuid: vm_uuid.to_owned(),
        lease_token: l.body["data"]["token"].as_str().expect("token").to_owned(),
        lease_id: l.body["data"]["lease_id"].as_str().expect("id").to_owned(),
        release_id,
    }
}

async fn audit(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/v1/artifacts/audit?limit=500{query}"),
            Some(admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"].as_array().expect("array").clone()
}

async fn embedded_downloads_use_urls_signed_and_served_by_this_server(db: Db) {
    let Some(app) = spawn(db, &[]).await else {
        return;
    };
    let content = blob(300_000, 3);
    let c = chain(&app, "emb@example.com", "vm-embedded-01", &content).await;
    let r = resolve(
        &app,
        &c.user,
        resolve_body(&c.lease_token, "VM-EMBEDDED-01"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(d["storage"], "embedded");
    assert_eq!(d["release_id"], c.release_id.as_str());
    assert_eq!(d["version"], "3.1.4");
    assert_eq!(d["sha256"], sha(&content));
    assert_eq!(d["size_bytes"], content.len());
    let url = d["download_url"].as_str().expect("url").to_owned();
    assert!(
        url.starts_with(&format!("{}/api/v1/artifacts/download/", app.base)),
        "{url}"
    );

    // A plain GET, no bearer: the URL is the credential.
    let got = reqwest::get(&url).await.expect("download");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(
        got.headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some(content.len().to_string().as_str())
    );
    assert_eq!(
        got.headers()
            .get("x-checksum-sha256")
            .and_then(|v| v.to_str().ok()),
        Some(sha(&content).as_str())
    );
    let bytes = got.bytes().await.expect("body");
    assert_eq!(sha(&bytes), sha(&content));

    // Tampered: a changed MAC, or a changed payload under the old MAC.
    let token = url.rsplit('/').next().expect("token").to_owned();
    let (payload, mac) = token.split_once('.').expect("two parts");
    let mut mac_chars: Vec<char> = mac.chars().collect();
    mac_chars[10] = if mac_chars[10] == 'A' { 'B' } else { 'A' };
    let bad_mac: String = mac_chars.into_iter().collect();
    let mut payload_chars: Vec<char> = payload.chars().collect();
    payload_chars[5] = if payload_chars[5] == 'A' { 'B' } else { 'A' };
    let bad_payload: String = payload_chars.into_iter().collect();
    for forged in [
        format!("{payload}.{bad_mac}"),
        format!("{bad_payload}.{mac}"),
        "garbage".to_owned(),
    ] {
        let resp = reqwest::get(app.url(&format!("/api/v1/artifacts/download/{forged}")))
            .await
            .expect("sent");
        let reply = Reply::from(resp).await;
        reply.assert_error(StatusCode::FORBIDDEN, "ARTIFACT_DOWNLOAD_SIGNATURE_INVALID");
        assert!(!reply.body.to_string().contains("runner.exe"));
    }
    // Genuinely signed but expired.
    let key = {
        let rel = app
            .get(
                &format!("/api/v1/artifacts/releases/{}", c.release_id),
                Some(&c.admin),
            )
            .await;
        rel.body["data"]["object_key"]
            .as_str()
            .expect("key")
            .to_owned()
    };
    let expired = app.server.state.artifacts.sign_download(&Grant {
        tenant_id: "default".into(),
        release_id: c.release_id.clone(),
        object_key: key,
        file_name: "runner.exe".into(),
        sha256: sha(&content),
        lease_id: c.lease_id.clone(),
        expires_at: chrono::Utc::now().timestamp_millis() - 1,
    });
    let resp = reqwest::get(app.url(&format!("/api/v1/artifacts/download/{expired}")))
        .await
        .expect("sent");
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    Reply::from(resp)
        .await
        .assert_error(StatusCode::FORBIDDEN, "ARTIFACT_DOWNLOAD_EXPIRED");

    let rows = audit(&app, &c.admin, "").await;
    let events: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["event_type"].as_str().unwrap_or(""),
                r["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(events.contains(&("resolve_success", "OK")), "{events:?}");
    assert!(events.contains(&("download_served", "OK")), "{events:?}");
    assert!(
        events.contains(&("download_denied", "ARTIFACT_DOWNLOAD_EXPIRED")),
        "{events:?}"
    );
    let success = rows
        .iter()
        .find(|r| r["event_type"] == "resolve_success")
        .expect("success row");
    assert_eq!(success["lease_id"], c.lease_id.as_str());
    assert_eq!(success["vm_uuid"], c.vm_uuid.as_str());
    assert_eq!(success["release_id"], c.release_id.as_str());
    assert_eq!(success["result"], "allowed");
    assert_eq!(success["request_ip"], "127.0.0.1");
    assert!(success["url_expires_at"].is_string());
    let user = app.user_token("emb-other@example.com", &["user"]).await;
    app.get("/api/v1/artifacts/audit", Some(&user))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
}
db_test!(embedded_downloads_use_urls_signed_and_served_by_this_server);

async fn every_refused_resolve_has_its_own_code_and_audit_row(db: Db) {
    let Some(app) = spawn(db, &[]).await else {
        return;
    };
    let c = chain(&app, "deny@example.com", "vm-deny-0001", b"payload").await;
    let claims = lease_claims(&c.lease_token);
    let now = chrono::Utc::now().timestamp();
    let mut expected: Vec<&str> = Vec::new();
    let mut check = |r: Reply, status: StatusCode, code: &'static str| {
        r.assert_error(status, code);
        expected.push(code);
    };

    check(
        resolve(&app, &c.user, json!({"vm_uuid": "vm-deny-0001"})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST_BODY",
    );
    check(
        resolve(&app, &c.user, resolve_body("not-a-jwt", &c.vm_uuid)).await,
        StatusCode::UNAUTHORIZED,
        "LEASE_TOKEN_INVALID",
    );
    let mut stale = claims.clone();
    stale["exp"] = json!(now - 10);
    check(
        resolve(
            &app,
            &c.user,
            resolve_body(&forge_lease(&stale), &c.vm_uuid),
        )
        .await,
        StatusCode::CONFLICT,
        "LEASE_EXPIRED",
    );
    let mut unknown = claims.clone();
    unknown["jti"] = json!("00000000-0000-7000-8000-000000000000");
    check(
        resolve(
            &app,
            &c.user,
            resolve_body(&forge_lease(&unknown), &c.vm_uuid),
        )
        .await,
        StatusCode::NOT_FOUND,
        "LEASE_NOT_FOUND",
    );
    check(
        resolve(&app, &c.user, resolve_body(&c.lease_token, "vm-other-0001")).await,
        StatusCode::FORBIDDEN,
        "VM_UUID_MISMATCH",
    );
    check(
        resolve(
            &app,
            &c.user,
            json!({"lease_token": c.lease_token, "vm_uuid": c.vm_uuid, "module": "fish", "platform": "windows"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "MODULE_MISMATCH",
    );
    let stranger = app.user_token("deny-stranger@example.com", &["user"]).await;
    check(
        resolve(&app, &stranger, resolve_body(&c.lease_token, &c.vm_uuid)).await,
        StatusCode::FORBIDDEN,
        "LEASE_OWNER_MISMATCH",
    );
    check(
        resolve(
            &app,
            &c.user,
            json!({"lease_token": c.lease_token, "vm_uuid": c.vm_uuid, "module": "farm", "platform": "linux"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "ARTIFACT_RESOLUTION_NOT_FOUND",
    );
    // The VM paused after the lease was issued.
    app.post(
        &format!("/api/v1/vm/{}/status", c.vm_uuid),
        Some(&c.user),
        json!({"status": "paused"}),
    )
    .await;
    check(
        resolve(&app, &c.user, resolve_body(&c.lease_token, &c.vm_uuid)).await,
        StatusCode::FORBIDDEN,
        "VM_INACTIVE",
    );
    app.post(
        &format!("/api/v1/vm/{}/status", c.vm_uuid),
        Some(&c.user),
        json!({"status": "active"}),
    )
    .await;
    // The release disabled, then one assigned without a binary.
    let rel_path = format!("/api/v1/artifacts/releases/{}", c.release_id);
    app.call(
        Method::PATCH,
        &rel_path,
        Some(&c.admin),
        Some(json!({"status": "disabled"})),
    )
    .await;
    check(
        resolve(&app, &c.user, resolve_body(&c.lease_token, &c.vm_uuid)).await,
        StatusCode::CONFLICT,
        "ARTIFACT_RELEASE_INACTIVE",
    );
    app.call(
        Method::PATCH,
        &rel_path,
        Some(&c.admin),
        Some(json!({"status": "active"})),
    )
    .await;
    let beta = app
        .post(
            "/api/v1/artifacts/releases",
            Some(&c.admin),
            json!({"module": "farm", "platform": "windows", "channel": "beta", "version": "5",
                   "sha256": sha(b"b"), "size_bytes": 1}),
        )
        .await;
    app.post(
        "/api/v1/artifacts/assign",
        Some(&c.admin),
        json!({"module": "farm", "platform": "windows", "channel": "beta", "release_id": id_of(&beta)}),
    )
    .await;
    check(
        resolve(
            &app,
            &c.user,
            json!({"lease_token": c.lease_token, "vm_uuid": c.vm_uuid, "module": "farm",
                   "platform": "windows", "channel": "beta"}),
        )
        .await,
        StatusCode::CONFLICT,
        "ARTIFACT_BINARY_MISSING",
    );
    // The entitlement withdrawn while the lease is live.
    let ent = format!(
        "/api/v1/license/entitlements/{}",
        claims["user_id"].as_str().expect("uid")
    );
    app.call(
        Method::PUT,
        &ent,
        Some(&c.admin),
        Some(json!({"modules": ["fish"]})),
    )
    .await;
    check(
        resolve(&app, &c.user, resolve_body(&c.lease_token, &c.vm_uuid)).await,
        StatusCode::FORBIDDEN,
        "MODULE_NOT_ALLOWED",
    );
    app.call(
        Method::PUT,
        &ent,
        Some(&c.admin),
        Some(json!({"modules": ["farm"]})),
    )
    .await;
    // Another tenant presenting the token.
    let b = app
        .user_token_in("tenant-b", "deny-b@example.com", &["admin"])
        .await;
    resolve(&app, &b, resolve_body(&c.lease_token, &c.vm_uuid))
        .await
        .assert_error(StatusCode::NOT_FOUND, "LEASE_NOT_FOUND");
    // Still fine before the lease ends...
    let ok = resolve(&app, &c.user, resolve_body(&c.lease_token, &c.vm_uuid)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // ...then revoked, and a second lease whose row ran out.
    app.post(
        "/api/v1/license/revoke",
        Some(&c.user),
        json!({"lease_id": c.lease_id}),
    )
    .await;
    check(
        resolve(&app, &c.user, resolve_body(&c.lease_token, &c.vm_uuid)).await,
        StatusCode::CONFLICT,
        "LEASE_INACTIVE",
    );
    let second = lease(&app, &c.user, &c.vm_uuid, "farm").await;
    let second_id = second.body["data"]["lease_id"]
        .as_str()
        .expect("id")
        .to_owned();
    expire_lease_row(&app, &second_id).await;
    check(
        resolve(
            &app,
            &c.user,
            resolve_body(
                second.body["data"]["token"].as_str().expect("t"),
                &c.vm_uuid,
            ),
        )
        .await,
        StatusCode::CONFLICT,
        "LEASE_EXPIRED",
    );

    let rows = audit(&app, &c.admin, "&result=denied").await;
    let mut reasons: Vec<String> = rows
        .iter()
        .map(|r| r["reason"].as_str().expect("reason").to_owned())
        .collect();
    reasons.sort();
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(reasons, want);
    for r in &rows {
        assert_eq!(r["event_type"], "resolve_denied");
        assert!(r["actor_uid"].is_string());
    }
    let owner_row = rows
        .iter()
        .find(|r| r["reason"] == "LEASE_OWNER_MISMATCH")
        .expect("row");
    assert_eq!(owner_row["lease_id"], c.lease_id.as_str());
    assert_eq!(owner_row["vm_uuid"], c.vm_uuid.as_str());
    let by_lease = audit(&app, &c.admin, &format!("&lease_id={}", c.lease_id)).await;
    assert!(by_lease.iter().any(|r| r["reason"] == "OK"));
    // Tenant B's refusal is in B's audit, not A's.
    let b_rows = audit(&app, &b, "").await;
    assert_eq!(b_rows.len(), 1);
    assert_eq!(b_rows[0]["reason"], "LEASE_NOT_FOUND");
    assert_eq!(b_rows[0]["lease_id"], Value::Null);
}
db_test!(every_refused_resolve_has_its_own_code_and_audit_row);

async fn s3_downloads_use_presigned_urls_the_s3_server_enforces(db: Db) {
    let Some(s3) = MotoS3::start().await.expect("S3 test server") else {
        return;
    };
    let mut vars: Vec<(&str, String)> = s3.env();
    vars.push(("S3_PRESIGN_TTL_SECONDS", "60".to_owned()));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(app) = spawn(db, &refs).await else {
        return;
    };
    let content = blob(5 * 1024 * 1024 + 4096, 9);

    // A mismatching upload leaves nothing in the bucket.
    let admin = app.admin_token().await;
    let other = id_of(&create_release(&app, &admin, "spare", "1", &content).await);
    let mut wrong = content.clone();
    wrong[0] ^= 1;
    upload(&app, &admin, &other, wrong).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "ARTIFACT_CHECKSUM_MISMATCH",
    );
    assert_eq!(s3.keys().await.expect("list"), Vec::<String>::new());

    let c = chain(&app, "s3@example.com", "vm-s3-000001", &content).await;
    let rel = app
        .get(
            &format!("/api/v1/artifacts/releases/{}", c.release_id),
            Some(&c.admin),
        )
        .await;
    let key = rel.body["data"]["object_key"]
        .as_str()
        .expect("key")
        .to_owned();
    assert!(s3.object_exists(&key).await.expect("head"));
    assert_eq!(s3.keys().await.expect("list"), vec![key.clone()]);

    let r = resolve(&app, &c.user, resolve_body(&c.lease_token, &c.vm_uuid)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(d["storage"], "s3");
    let url = d["download_url"].as_str().expect("url").to_owned();
    assert!(
        url.starts_with(&format!("{}/{}/", s3.endpoint, s3.bucket)),
        "{url}"
    );
    assert!(
        url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=60"),
        "{url}"
    );

    let got = reqwest::get(&url).await.expect("download");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(sha(&got.bytes().await.expect("body")), sha(&content));

    // The S3 server refuses a changed signature and a changed path.
    let sig_at = url.find("X-Amz-Signature=").expect("sig") + "X-Amz-Signature=".len() + 5;
    let mut tampered = url.clone().into_bytes();
    tampered[sig_at] = if tampered[sig_at] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(tampered).expect("utf8");
    let resp = reqwest::get(&tampered).await.expect("sent");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(
        resp.text()
            .await
            .expect("text")
            .contains("SignatureDoesNotMatch")
    );
    let other_path = url.replacen("/runner.exe?", "/other.exe?", 1);
    assert_eq!(
        reqwest::get(&other_path).await.expect("sent").status(),
        StatusCode::FORBIDDEN
    );

    // A genuinely signed URL whose 60 seconds are over.
    let now = chrono::Utc::now().timestamp();
    let expired = s3.presign_get_at(&key, now - 120, 60);
    let resp = reqwest::get(&expired).await.expect("sent");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(
        resp.text()
            .await
            .expect("text")
            .contains("Request has expired")
    );
    // The same signer within its time is accepted: the refusal above is the expiry.
    let fresh = s3.presign_get_at(&key, now, 60);
    assert_eq!(
        reqwest::get(&fresh).await.expect("sent").status(),
        StatusCode::OK
    );

    let rows = audit(&app, &c.admin, "&result=allowed").await;
    assert!(
        rows.iter()
            .any(|r| r["event_type"] == "resolve_success" && r["lease_id"] == c.lease_id.as_str())
    );
}
db_test!(s3_downloads_use_presigned_urls_the_s3_server_enforces);
