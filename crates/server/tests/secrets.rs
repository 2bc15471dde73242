//! The vault keeps only client ciphertext; bindings; tenant isolation; and the server-side
//! envelope encryption with key rotation. Plaintexts are looked for in every table and in
//! every response, and must not be there.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use botmox_server::{Config, Server};
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use common::{Db, Reply, TestApp, base_vars};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use std::collections::HashSet;

/// Everything stored in the app's database, as bytes to search.
async fn database_dump(app: &TestApp) -> Vec<u8> {
    let state = &app.server.state;
    match state.db.backend {
        botmox_server::db::Backend::Sqlite => {
            let file = app.storage.sqlite_file();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                let path = format!("{}{suffix}", file.display());
                if let Ok(b) = std::fs::read(&path) {
                    bytes.extend(b);
                }
            }
            assert!(!bytes.is_empty(), "sqlite file not found");
            bytes
        }
        botmox_server::db::Backend::Postgres => {
            let conn = &state.db.conn;
            let tables = conn
                .query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
                ))
                .await
                .expect("tables");
            let mut dump = String::new();
            for t in tables {
                let name: String = t.try_get_by_index(0).expect("name");
                let rows = conn
                    .query_all_raw(Statement::from_string(
                        DbBackend::Postgres,
                        format!("SELECT CAST(t AS TEXT) FROM \"{name}\" t"),
                    ))
                    .await
                    .expect("rows");
                for r in rows {
                    let row: String = r.try_get_by_index(0).expect("row text");
                    dump.push_str(&row);
                    dump.push('\n');
                }
            }
            assert!(
                dump.contains("secrets") || dump.contains("sec-"),
                "dump looks empty"
            );
            dump.into_bytes()
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// What a client does before calling the vault: encrypt with its own key.
struct Client {
    cipher: ChaCha20Poly1305,
}

impl Client {
    fn new() -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(&ChaCha20Poly1305::generate_key(&mut OsRng)),
        }
    }

    fn seal(&self, plaintext: &str) -> (String, String) {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("encrypt");
        (STANDARD.encode(ct), STANDARD.encode(nonce))
    }

    fn open(&self, ciphertext: &str, nonce: &str) -> String {
        let nonce = STANDARD.decode(nonce).expect("nonce");
        let ct = STANDARD.decode(ciphertext).expect("ct");
        let pt = self
            .cipher
            .decrypt(
                &chacha20poly1305::Nonce::from(
                    <[u8; 12]>::try_from(nonce.as_slice()).expect("12 bytes"),
                ),
                ct.as_slice(),
            )
            .expect("decrypt");
        String::from_utf8(pt).expect("utf8")
    }
}

fn secret_body(label: &str, ciphertext: &str, nonce: &str) -> Value {
    json!({"label": label, "kind": "proxmox_password", "labels": {"host": "pve1"},
           "ciphertext": ciphertext, "nonce": nonce, "key_id": "client-key-1",
           "aad_meta": {"purpose": "agent"}})
}

async fn the_vault_never_holds_or_returns_plaintext(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let user = app.user_token("vault@example.com", &["user"]).await;
    let client = Client::new();
    let plaintext = "PLAINTEXT-proxmox-root-pw-7f3a91";
    let rotated_plaintext = "PLAINTEXT-rotated-pw-0b22c4";
    let mut replies: Vec<Reply> = Vec::new();

    let (ct, nonce) = client.seal(plaintext);
    let created = app
        .post(
            "/api/v1/secrets",
            Some(&user),
            secret_body("pve1 root", &ct, &nonce),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["data"]["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("sec-"));
    assert_eq!(created.body["data"]["material_version"], 1);
    assert_eq!(created.body["data"]["alg"], "AES-256-GCM");
    assert_eq!(created.body["data"]["labels"], json!({"host": "pve1"}));
    assert!(
        created.body["data"].get("ciphertext").is_none(),
        "meta carries no material"
    );
    replies.push(created);

    let material = app.get(&format!("/api/v1/secrets/{id}"), Some(&user)).await;
    assert_eq!(material.status, StatusCode::OK);
    // The client gets back exactly what it stored and can open it.
    assert_eq!(material.body["data"]["ciphertext"], ct.as_str());
    assert_eq!(
        client.open(
            material.body["data"]["ciphertext"].as_str().expect("ct"),
            material.body["data"]["nonce"].as_str().expect("nonce"),
        ),
        plaintext
    );
    replies.push(material);
    replies.push(
        app.get(&format!("/api/v1/secrets/{id}/meta"), Some(&user))
            .await,
    );
    replies.push(app.get("/api/v1/secrets", Some(&user)).await);
    let (ct2, nonce2) = client.seal(rotated_plaintext);
    let rotated = app
        .post(
            &format!("/api/v1/secrets/{id}/rotate"),
            Some(&user),
            json!({"ciphertext": ct2, "nonce": nonce2, "key_id": "client-key-2"}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.body);
    replies.push(rotated);
    replies.push(
        app.post(
            "/api/v1/secrets/bindings",
            Some(&user),
            json!({"scope_type": "agent", "scope_id": "agent-1", "secret_ref": id, "field_name": "proxmox_password"}),
        )
        .await,
    );

    // Server-side envelope encryption, as another domain would use it.
    let envelope = app.server.state.secrets.envelope().clone();
    let server_plain = "PLAINTEXT-server-side-api-key-5d8e";
    let sealed = envelope
        .encrypt(server_plain.as_bytes(), b"agent:a1:proxmox")
        .await
        .expect("seal");
    assert!(!sealed.contains(server_plain));
    assert_eq!(
        envelope
            .decrypt(&sealed, b"agent:a1:proxmox")
            .await
            .expect("open"),
        server_plain.as_bytes()
    );
    // The context is part of the seal.
    assert!(
        envelope
            .decrypt(&sealed, b"agent:a2:proxmox")
            .await
            .is_err()
    );

    for r in &replies {
        let text = r.body.to_string();
        for p in [plaintext, rotated_plaintext, server_plain] {
            assert!(!text.contains(p), "plaintext in a response: {text}");
        }
    }
    let dump = database_dump(&app).await;
    assert!(
        contains(&dump, &ct2),
        "the scan must see the stored ciphertext"
    );
    for p in [plaintext, rotated_plaintext, server_plain] {
        assert!(!contains(&dump, p), "plaintext {p} found in the database");
    }
}
db_test!(the_vault_never_holds_or_returns_plaintext);

async fn secret_bodies_ids_and_missing_secrets_have_their_codes(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let user = app.user_token("codes@example.com", &["user"]).await;
    for body in [
        json!({"label": "x", "ciphertext": "", "nonce": "n", "key_id": "k"}),
        json!({"label": "", "ciphertext": "c", "nonce": "n", "key_id": "k"}),
        json!({"label": "x", "ciphertext": "c", "key_id": "k"}),
        json!({"label": "x", "ciphertext": "c", "nonce": "n", "key_id": "k", "aad_meta": []}),
        json!({"label": "x", "ciphertext": "c".repeat(65_537), "nonce": "n", "key_id": "k"}),
        json!({"label": "x", "ciphertext": "c", "nonce": "n", "key_id": "k", "kind": "bad kind"}),
    ] {
        app.post("/api/v1/secrets", Some(&user), body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "SECRETS_INVALID_CREATE_BODY");
    }
    let r = app
        .post(
            "/api/v1/secrets",
            Some(&user),
            json!({"label": "x", "ciphertext": "", "nonce": "n", "key_id": "k"}),
        )
        .await;
    assert!(
        r.body["error"]["details"]["fields"]["ciphertext"].is_array(),
        "{}",
        r.body
    );
    assert_eq!(
        app.get("/api/v1/secrets", Some(&user)).await.body["data"],
        json!([])
    );

    for path in [
        "/api/v1/secrets/sec-missing",
        "/api/v1/secrets/sec-missing/meta",
    ] {
        app.get(path, Some(&user))
            .await
            .assert_error(StatusCode::NOT_FOUND, "SECRET_NOT_FOUND");
    }
    app.call(
        Method::DELETE,
        "/api/v1/secrets/sec-missing",
        Some(&user),
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "SECRET_NOT_FOUND");
    app.post(
        "/api/v1/secrets/sec-missing/rotate",
        Some(&user),
        json!({"ciphertext": "c", "nonce": "n", "key_id": "k"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "SECRET_NOT_FOUND");
    app.post(
        "/api/v1/secrets/sec-missing/rotate",
        Some(&user),
        json!({"ciphertext": "c"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "SECRETS_INVALID_ROTATE_BODY");
    app.get("/api/v1/secrets/%20", Some(&user))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "SECRETS_INVALID_ID");
    app.get("/api/v1/secrets", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
}
db_test!(secret_bodies_ids_and_missing_secrets_have_their_codes);

async fn rotation_replaces_material_and_bumps_the_version(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let user = app.user_token("rot@example.com", &["user"]).await;
    let created = app
        .post(
            "/api/v1/secrets",
            Some(&user),
            secret_body("api key", "Y3Qx", "bjE="),
        )
        .await;
    let id = created.body["data"]["id"].as_str().expect("id").to_owned();
    let r = app
        .post(
            &format!("/api/v1/secrets/{id}/rotate"),
            Some(&user),
            json!({"ciphertext": "Y3Qy", "nonce": "bjI=", "key_id": "client-key-2", "alg": "XCHACHA20-POLY1305"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let m = &r.body["data"];
    assert_eq!(m["material_version"], 2);
    assert_eq!(m["key_id"], "client-key-2");
    assert_eq!(m["alg"], "XCHACHA20-POLY1305");
    assert_eq!(m["label"], "api key");
    assert_eq!(m["aad_meta"], json!({"purpose": "agent"}));
    assert!(m["rotated_at"].is_string());
    let again = app
        .post(
            &format!("/api/v1/secrets/{id}/rotate"),
            Some(&user),
            json!({"ciphertext": "Y3Qz", "nonce": "bjM=", "key_id": "k3", "aad_meta": {"v": 3}}),
        )
        .await;
    assert_eq!(again.body["data"]["material_version"], 3);
    assert_eq!(again.body["data"]["alg"], "XCHACHA20-POLY1305");
    assert_eq!(again.body["data"]["aad_meta"], json!({"v": 3}));
    let material = app.get(&format!("/api/v1/secrets/{id}"), Some(&user)).await;
    assert_eq!(material.body["data"]["ciphertext"], "Y3Qz");
    assert_eq!(material.body["data"]["nonce"], "bjM=");
}
db_test!(rotation_replaces_material_and_bumps_the_version);

async fn bindings_point_at_existing_secrets_and_are_upserted(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let user = app.user_token("bind@example.com", &["user"]).await;
    let mk = |label: &'static str| secret_body(label, "Y3Q=", "bg==");
    let s1 = app
        .post("/api/v1/secrets", Some(&user), mk("one"))
        .await
        .body["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let s2 = app
        .post("/api/v1/secrets", Some(&user), mk("two"))
        .await
        .body["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.post(
        "/api/v1/secrets/bindings",
        Some(&user),
        json!({"scope_type": "bot", "scope_id": "b1", "secret_ref": "sec-nope", "field_name": "password"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "SECRET_NOT_FOUND");
    app.post(
        "/api/v1/secrets/bindings",
        Some(&user),
        json!({"scope_type": "vm_settings", "scope_id": "b1", "secret_ref": s1, "field_name": "password"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "SECRETS_INVALID_BINDING_CREATE_BODY");
    let first = app
        .post(
            "/api/v1/secrets/bindings",
            Some(&user),
            json!({"scope_type": "BOT", "scope_id": "b1", "secret_ref": s1, "field_name": "password"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["data"]["scope_type"], "bot");
    assert!(
        first.body["data"]["id"]
            .as_str()
            .expect("id")
            .starts_with("bind-")
    );
    let second = app
        .post(
            "/api/v1/secrets/bindings",
            Some(&user),
            json!({"scope_type": "bot", "scope_id": "b1", "secret_ref": s2, "field_name": "password"}),
        )
        .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body["data"]["id"], first.body["data"]["id"]);
    assert_eq!(second.body["data"]["secret_ref"], s2.as_str());
    for (scope_type, scope_id, field) in [
        ("vm", "vm-1", "admin"),
        ("agent", "a1", "pve"),
        ("tenant", "t", "ipqs"),
        ("bot", "b2", "password"),
    ] {
        app.post(
            "/api/v1/secrets/bindings",
            Some(&user),
            json!({"scope_type": scope_type, "scope_id": scope_id, "secret_ref": s1, "field_name": field}),
        )
        .await;
    }
    let bots = app
        .get("/api/v1/secrets/bindings?scope_type=bot", Some(&user))
        .await;
    assert_eq!(bots.body["data"].as_array().map(Vec::len), Some(2));
    let b1 = app
        .get(
            "/api/v1/secrets/bindings?scope_type=bot&scope_id=b1",
            Some(&user),
        )
        .await;
    assert_eq!(b1.body["data"].as_array().map(Vec::len), Some(1));
    let all = app
        .get(
            "/api/v1/secrets/bindings?scope_type=&scope_id=",
            Some(&user),
        )
        .await;
    assert_eq!(all.body["data"].as_array().map(Vec::len), Some(5));
    app.get("/api/v1/secrets/bindings?scope_type=galaxy", Some(&user))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "SECRETS_INVALID_BINDINGS_LIST_QUERY",
        );
    let mut seen = HashSet::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/api/v1/secrets/bindings?limit=2{cursor}"),
                Some(&user),
            )
            .await;
        for b in page.body["data"].as_array().expect("array") {
            assert!(seen.insert(b["id"].as_str().expect("id").to_owned()));
        }
        match page.body["meta"]["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    // Deleting a secret removes its bindings; deleting a binding leaves the secret.
    let bid = first.body["data"]["id"].as_str().expect("id");
    let del = app
        .call(
            Method::DELETE,
            &format!("/api/v1/secrets/bindings/{bid}"),
            Some(&user),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::OK);
    app.call(
        Method::DELETE,
        &format!("/api/v1/secrets/bindings/{bid}"),
        Some(&user),
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "SECRETS_BINDING_NOT_FOUND");
    assert_eq!(
        app.get(&format!("/api/v1/secrets/{s2}"), Some(&user))
            .await
            .status,
        StatusCode::OK
    );
    app.call(
        Method::DELETE,
        &format!("/api/v1/secrets/{s1}"),
        Some(&user),
        None,
    )
    .await;
    let left = app.get("/api/v1/secrets/bindings", Some(&user)).await;
    assert_eq!(left.body["data"], json!([]));
    let secrets = app
        .get("/api/v1/secrets?kind=proxmox_password", Some(&user))
        .await;
    assert_eq!(secrets.body["data"].as_array().map(Vec::len), Some(1));
}
db_test!(bindings_point_at_existing_secrets_and_are_upserted);

async fn another_tenant_cannot_reach_a_secret(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let a = app.user_token("sa@example.com", &["user"]).await;
    let b = app
        .user_token_in("tenant-b", "sb@example.com", &["admin"])
        .await;
    let id = app
        .post(
            "/api/v1/secrets",
            Some(&a),
            secret_body("a's", "Y3Q=", "bg=="),
        )
        .await
        .body["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for path in [
        format!("/api/v1/secrets/{id}"),
        format!("/api/v1/secrets/{id}/meta"),
    ] {
        app.get(&path, Some(&b))
            .await
            .assert_error(StatusCode::NOT_FOUND, "SECRET_NOT_FOUND");
    }
    app.post(
        &format!("/api/v1/secrets/{id}/rotate"),
        Some(&b),
        json!({"ciphertext": "eA==", "nonce": "bg==", "key_id": "k"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "SECRET_NOT_FOUND");
    app.call(
        Method::DELETE,
        &format!("/api/v1/secrets/{id}"),
        Some(&b),
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "SECRET_NOT_FOUND");
    app.post(
        "/api/v1/secrets/bindings",
        Some(&b),
        json!({"scope_type": "bot", "scope_id": "x", "secret_ref": id, "field_name": "f"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "SECRET_NOT_FOUND");
    assert_eq!(
        app.get("/api/v1/secrets", Some(&b)).await.body["data"],
        json!([])
    );
    let still = app.get(&format!("/api/v1/secrets/{id}"), Some(&a)).await;
    assert_eq!(still.body["data"]["ciphertext"], "Y3Q=");
    assert_eq!(still.body["data"]["material_version"], 1);
}
db_test!(another_tenant_cannot_reach_a_secret);

async fn envelope_rotation_rewraps_data_keys_and_old_values_still_open(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let user = app.user_token("env@example.com", &["user"]).await;
    let envelope = app.server.state.secrets.envelope().clone();
    let old = envelope
        .encrypt(b"first value", b"ctx")
        .await
        .expect("seal");
    let wrapped_before = wrapped_keys(&app).await;
    assert_eq!(wrapped_before.len(), 1);

    app.post("/api/v1/secrets/envelope/rotate", Some(&user), json!({}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let r = app
        .post("/api/v1/secrets/envelope/rotate", Some(&admin), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["rewrapped"], 1);
    let active = r.body["data"]["active_key_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let wrapped_after = wrapped_keys(&app).await;
    assert_eq!(wrapped_after.len(), 2);
    let (old_id, old_wrapped) = &wrapped_before[0];
    let rewrapped = wrapped_after
        .iter()
        .find(|(id, _)| id == old_id)
        .expect("old key kept");
    assert_ne!(
        &rewrapped.1, old_wrapped,
        "the old data key was wrapped again"
    );
    assert!(!old.contains(&active));
    let new = envelope
        .encrypt(b"second value", b"ctx")
        .await
        .expect("seal");
    assert!(new.contains(&active), "new values use the new data key");
    assert_eq!(
        envelope.decrypt(&old, b"ctx").await.expect("old"),
        b"first value"
    );
    assert_eq!(
        envelope.decrypt(&new, b"ctx").await.expect("new"),
        b"second value"
    );
    // A changed byte is refused.
    let mut tampered = new.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("utf8");
    assert!(envelope.decrypt(&tampered, b"ctx").await.is_err());
}
db_test!(envelope_rotation_rewraps_data_keys_and_old_values_still_open);

async fn wrapped_keys(app: &TestApp) -> Vec<(String, String)> {
    let rows = app
        .server
        .state
        .db
        .conn
        .query_all_raw(Statement::from_string(
            app.server.state.db.db_backend(),
            "SELECT id, wrapped_key FROM envelope_data_keys ORDER BY created_at",
        ))
        .await
        .expect("keys");
    rows.iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).expect("id"),
                r.try_get_by_index::<String>(1).expect("wrapped"),
            )
        })
        .collect()
}

async fn a_new_master_key_takes_over_after_rotation(db: Db) {
    let k1 = STANDARD.encode([11u8; 32]);
    let k2 = STANDARD.encode([22u8; 32]);
    let Some(app) = TestApp::spawn_with(db, &[("BOTMOX_MASTER_KEY", &k1)]).await else {
        return;
    };
    let sealed = app
        .server
        .state
        .secrets
        .envelope()
        .encrypt(b"kept across keys", b"ctx")
        .await
        .expect("seal");
    let start = |extra: Vec<(&'static str, String)>| {
        let mut vars = base_vars(&app.storage);
        vars.insert("BOTMOX_BOOTSTRAP_ADMIN".into(), "false".into());
        for (k, v) in extra {
            vars.insert(k.into(), v);
        }
        async move {
            Server::start(Config::from_map(&vars).expect("config"))
                .await
                .expect("starts")
        }
    };
    // The new key alone cannot open data keys wrapped by the old one.
    let only_new = start(vec![("BOTMOX_MASTER_KEY", k2.clone())]).await;
    assert!(
        only_new
            .state
            .secrets
            .envelope()
            .decrypt(&sealed, b"ctx")
            .await
            .is_err()
    );
    only_new.stop().await;
    // With the old key as previous it can, and a rotation moves everything to the new key.
    let both = start(vec![
        ("BOTMOX_MASTER_KEY", k2.clone()),
        ("BOTMOX_MASTER_KEY_PREVIOUS", k1.clone()),
    ])
    .await;
    let env = both.state.secrets.envelope().clone();
    assert_eq!(
        env.decrypt(&sealed, b"ctx").await.expect("open"),
        b"kept across keys"
    );
    let rotated = both.state.secrets.rotate_envelope().await.expect("rotate");
    assert_eq!(rotated.rewrapped, 1);
    both.stop().await;
    let after = start(vec![("BOTMOX_MASTER_KEY", k2)]).await;
    assert_eq!(
        after
            .state
            .secrets
            .envelope()
            .decrypt(&sealed, b"ctx")
            .await
            .expect("open"),
        b"kept across keys"
    );
    after.stop().await;
}
db_test!(a_new_master_key_takes_over_after_rotation);
