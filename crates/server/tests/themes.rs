//! Theme assets: announce/upload/complete and one-step uploads, type checks by content, soft
//! delete, serving the image (bearer or signed URL), tenant isolation, on both databases.

mod common;

use common::{Db, Reply, TestApp};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(b"\x00\x00\x00\x00IEND\xaeB`\x82");
    b
}

fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    b.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
    b
}

fn webp(width: u16, height: u16) -> Vec<u8> {
    let mut b = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00".to_vec();
    b.extend_from_slice(&[0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a]);
    b.extend_from_slice(&width.to_le_bytes());
    b.extend_from_slice(&height.to_le_bytes());
    b.extend_from_slice(&[0; 14]);
    b
}

async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let mut req = app
        .http
        .request(method, app.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    Reply::from(req.send().await.expect("sent")).await
}

async fn upload(app: &TestApp, token: &str, name: &str, ct: &str, body: Vec<u8>) -> Reply {
    raw(
        app,
        Method::POST,
        &format!("/api/v1/theme-assets/upload?filename={name}"),
        Some(token),
        ct,
        body,
    )
    .await
}

async fn image_bytes(
    app: &TestApp,
    url: &str,
    token: Option<&str>,
) -> (StatusCode, Option<String>, Vec<u8>) {
    let mut req = app.http.get(if url.starts_with("http") {
        url.to_owned()
    } else {
        app.url(url)
    });
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, ct, resp.bytes().await.expect("body").to_vec())
}

async fn announced_upload_completes_and_serves_the_image(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let image = png(1920, 1080);
    let presign = app
        .post(
            "/api/v1/theme-assets/presign-upload",
            Some(&admin),
            json!({"filename": "My Background!.PNG", "mime_type": "image/png", "size_bytes": image.len()}),
        )
        .await;
    assert_eq!(presign.status, StatusCode::CREATED, "{}", presign.body);
    let p = &presign.body["data"];
    let id = p["asset_id"].as_str().expect("id").to_owned();
    assert_eq!(p["upload_method"], "PUT");
    assert_eq!(p["expires_in_seconds"], 600);
    assert!(
        p["object_key"].as_str().is_some_and(
            |k| k.starts_with("theme-assets/default/") && k.ends_with("-my-background-.png")
        ),
        "{p}"
    );
    let upload_url = p["upload_url"].as_str().expect("url").to_owned();
    assert_eq!(upload_url, format!("/api/v1/theme-assets/{id}/content"));

    // Completing before the bytes arrive is refused.
    app.post(
        "/api/v1/theme-assets/complete",
        Some(&admin),
        json!({"asset_id": id}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "THEME_ASSET_NOT_UPLOADED");
    // Bytes of another type than announced are refused.
    raw(
        &app,
        Method::PUT,
        &upload_url,
        Some(&admin),
        "application/octet-stream",
        jpeg(10, 10),
    )
    .await
    .assert_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "THEME_ASSET_TYPE_MISMATCH",
    );

    let put = raw(
        &app,
        Method::PUT,
        &upload_url,
        Some(&admin),
        "image/png",
        image.clone(),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["data"]["status"], "pending");
    assert_eq!(put.body["data"]["width"], 1920);

    let done = app
        .post(
            "/api/v1/theme-assets/complete",
            Some(&admin),
            json!({"asset_id": id, "width": 1280, "height": 720}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let asset = &done.body["data"];
    assert_eq!(asset["status"], "ready");
    assert_eq!(asset["width"], 1280);
    assert_eq!(asset["size_bytes"], image.len());
    assert!(asset["image_url_expires_at_ms"].as_i64().is_some());
    let signed = asset["image_url"].as_str().expect("image url").to_owned();

    let list = app.get("/api/v1/theme-assets", Some(&admin)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body["data"]["generated_at_ms"].as_i64().is_some());
    assert_eq!(list.body["data"]["items"][0]["id"], id.as_str());

    // Served with a bearer token, and through the signed URL with none.
    let (status, ct, bytes) = image_bytes(
        &app,
        &format!("/api/v1/theme-assets/{id}/image"),
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("image/png"));
    assert_eq!(bytes, image);
    let (status, _, bytes) = image_bytes(&app, &signed, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, image);
    let tampered = signed.replace("sig=", "sig=x");
    let (status, _, _) = image_bytes(&app, &tampered, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let stale = format!("/api/v1/theme-assets/{id}/image?expires=1000&sig=abc");
    let (status, _, _) = image_bytes(&app, &stale, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = image_bytes(&app, &format!("/api/v1/theme-assets/{id}/image"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
db_test!(announced_upload_completes_and_serves_the_image);

async fn direct_upload_accepts_only_real_images(db: Db) {
    let Some(app) = TestApp::spawn_with(db, &[("THEME_ASSET_MAX_BYTES", "4096")]).await else {
        return;
    };
    let admin = app.admin_token().await;
    for (body, mime, w, h) in [
        (png(640, 480), "image/png", 640, 480),
        (jpeg(800, 600), "image/jpeg", 800, 600),
        (webp(320, 200), "image/webp", 320, 200),
    ] {
        // The type comes from the bytes, whatever generic type the client declares.
        let r = upload(&app, &admin, "bg", "application/octet-stream", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["data"]["mime_type"], mime);
        assert_eq!(r.body["data"]["status"], "ready");
        assert_eq!(r.body["data"]["width"], w);
        assert_eq!(r.body["data"]["height"], h);
    }
    upload(
        &app,
        &admin,
        "anim.gif",
        "image/gif",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec(),
    )
    .await
    .assert_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "THEME_ASSET_UNSUPPORTED_TYPE",
    );
    upload(
        &app,
        &admin,
        "evil.png",
        "image/png",
        b"<svg onload=alert(1)>".to_vec(),
    )
    .await
    .assert_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "THEME_ASSET_UNSUPPORTED_TYPE",
    );
    upload(&app, &admin, "x.jpg", "image/jpeg", png(10, 10))
        .await
        .assert_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "THEME_ASSET_TYPE_MISMATCH",
        );
    upload(&app, &admin, "huge", "image/png", png(9000, 100))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "THEME_ASSET_INVALID_DIMENSIONS");
    let mut big = png(100, 100);
    big.extend(std::iter::repeat_n(0u8, 5000));
    upload(&app, &admin, "big", "image/png", big)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "THEME_ASSET_TOO_LARGE");
    upload(&app, &admin, "empty", "image/png", Vec::new())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "THEME_ASSET_EMPTY");
    app.post(
        "/api/v1/theme-assets/presign-upload",
        Some(&admin),
        json!({"filename": "a.png", "mime_type": "image/png", "size_bytes": 5000}),
    )
    .await
    .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "THEME_ASSET_TOO_LARGE");
    // Only the three good uploads exist.
    let list = app.get("/api/v1/theme-assets", Some(&admin)).await;
    assert_eq!(list.body["data"]["items"].as_array().map(Vec::len), Some(3));
}
db_test!(direct_upload_accepts_only_real_images);

async fn uploads_may_exceed_the_json_body_limit(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    // 3 MiB: beyond BOTMOX_MAX_BODY_BYTES (1 MiB), within THEME_ASSET_MAX_BYTES (20 MiB).
    let mut big = png(4000, 3000);
    big.extend(std::iter::repeat_n(7u8, 3 * 1024 * 1024));
    let r = upload(&app, &admin, "photo.png", "image/png", big.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["data"]["size_bytes"], big.len());
    let id = r.body["data"]["id"].as_str().expect("id");
    let (status, _, bytes) = image_bytes(
        &app,
        &format!("/api/v1/theme-assets/{id}/image"),
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes.len(), big.len());
}
db_test!(uploads_may_exceed_the_json_body_limit);

async fn bodies_and_ids_are_validated(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let r = app
        .post(
            "/api/v1/theme-assets/presign-upload",
            Some(&admin),
            json!({"filename": "a.gif", "mime_type": "image/gif", "size_bytes": 0}),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "THEME_ASSET_INVALID_PRESIGN_BODY");
    let fields = &r.body["error"]["details"]["fields"];
    assert!(
        fields["mime_type"].is_array() && fields["size_bytes"].is_array(),
        "{fields}"
    );
    app.post(
        "/api/v1/theme-assets/complete",
        Some(&admin),
        json!({"asset_id": ""}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "THEME_ASSET_INVALID_COMPLETE_BODY");
    app.post(
        "/api/v1/theme-assets/complete",
        Some(&admin),
        json!({"asset_id": uuid::Uuid::new_v4().to_string()}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "THEME_ASSET_NOT_FOUND");
    app.call(
        Method::DELETE,
        "/api/v1/theme-assets/not-a-uuid",
        Some(&admin),
        None,
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "THEME_ASSET_INVALID_ID");
    app.get(
        &format!("/api/v1/theme-assets/{}", uuid::Uuid::new_v4()),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "THEME_ASSET_NOT_FOUND");
    assert_eq!(
        app.get("/api/v1/theme-assets", Some(&admin)).await.body["data"]["items"],
        json!([])
    );
}
db_test!(bodies_and_ids_are_validated);

async fn delete_is_soft_and_repeating_it_conflicts(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let r = upload(&app, &admin, "bg.png", "image/png", png(100, 100)).await;
    let id = r.body["data"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/theme-assets/{id}");
    let deleted = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(deleted.body["data"], json!({"id": id, "status": "deleted"}));
    app.call(Method::DELETE, &path, Some(&admin), None)
        .await
        .assert_error(StatusCode::CONFLICT, "ASSET_DELETED");
    app.post(
        "/api/v1/theme-assets/complete",
        Some(&admin),
        json!({"asset_id": id}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "ASSET_DELETED");
    app.get(&path, Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "THEME_ASSET_NOT_FOUND");
    let (status, _, _) = image_bytes(&app, &format!("{path}/image"), Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/theme-assets", Some(&admin)).await.body["data"]["items"],
        json!([])
    );
    // The record stays, marked deleted.
    let db = &app.server.state.db;
    let row = db
        .conn
        .query_one_raw(Statement::from_string(
            db.db_backend(),
            format!("SELECT status FROM theme_assets WHERE id = '{id}'"),
        ))
        .await
        .expect("query")
        .expect("row kept");
    assert_eq!(
        row.try_get::<String>("", "status").expect("status"),
        "deleted"
    );
}
db_test!(delete_is_soft_and_repeating_it_conflicts);

async fn assets_of_another_tenant_are_not_found(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let a = app.admin_token().await;
    let b = app
        .user_token_in("tenant-b", "b@example.com", &["user"])
        .await;
    let r = upload(&app, &a, "a.png", "image/png", png(50, 50)).await;
    let id = r.body["data"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/theme-assets/{id}");
    app.get(&path, Some(&b))
        .await
        .assert_error(StatusCode::NOT_FOUND, "THEME_ASSET_NOT_FOUND");
    app.call(Method::DELETE, &path, Some(&b), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "THEME_ASSET_NOT_FOUND");
    app.post(
        "/api/v1/theme-assets/complete",
        Some(&b),
        json!({"asset_id": id}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "THEME_ASSET_NOT_FOUND");
    raw(
        &app,
        Method::PUT,
        &format!("{path}/content"),
        Some(&b),
        "image/png",
        png(5, 5),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "THEME_ASSET_NOT_FOUND");
    let (status, _, _) = image_bytes(&app, &format!("{path}/image"), Some(&b)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/theme-assets", Some(&b)).await.body["data"]["items"],
        json!([])
    );
    let mine = app.get(&path, Some(&a)).await;
    assert_eq!(mine.body["data"]["status"], "ready");
    assert_eq!(mine.body["data"]["width"], 50);
}
db_test!(assets_of_another_tenant_are_not_found);

async fn the_gallery_pages_without_gaps_or_duplicates(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let mut ids = Vec::new();
    for i in 0..5u32 {
        let r = upload(&app, &admin, "bg.png", "image/png", png(10 + i, 10)).await;
        ids.push(r.body["data"]["id"].as_str().expect("id").to_owned());
    }
    let mut seen: Vec<String> = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(c) => format!("/api/v1/theme-assets?limit=2&cursor={c}"),
            None => "/api/v1/theme-assets?limit=2".to_owned(),
        };
        let page = app.get(&path, Some(&admin)).await;
        let items = page.body["data"]["items"]
            .as_array()
            .expect("items")
            .clone();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|i| i["id"].as_str().unwrap_or_default().to_owned()),
        );
        match page.body["meta"]["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected);
}
db_test!(the_gallery_pages_without_gaps_or_duplicates);
