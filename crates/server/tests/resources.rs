//! Resources (licenses, proxies, subscriptions): typed fields, validation, tenant isolation,
//! expiry tracking, filters, pagination, assignment to bots and stats, on both databases.

mod common;
mod seed;

use common::{Db, TestApp};
use reqwest::StatusCode;
use seed::{
    assert_fields, bot, data, delete, get, ids, in_days, patch, put, resource, sorted, walk,
};
use serde_json::{Value, json};

async fn licenses_round_trip_with_expiry_fields(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let expires = in_days(10.5);
    let created = app
        .post(
            "/api/v1/resources/licenses",
            Some(&admin),
            json!({"key": "  SIN-1234-ABCD ", "type": "SIN", "expires_at": expires, "notes": "main"}),
        )
        .await;
    let l = data(&created, StatusCode::CREATED);
    let id = l["id"].as_str().expect("id").to_owned();
    assert_eq!(l["key"], "SIN-1234-ABCD");
    assert_eq!(l["type"], "SIN");
    assert_eq!(l["status"], "active");
    assert_eq!(l["days_left"], 11);
    assert_eq!(l["expiry_status"], "ok");
    assert_eq!(l["bot_ids"], json!([]));
    assert!(l["expires_at"].as_str().is_some_and(|s| s.ends_with('Z')));
    let path = format!("/api/v1/resources/licenses/{id}");
    assert_eq!(get(&app, &path, &admin).await, l);

    // PATCH and PUT merge; null clears.
    let p = data(
        &patch(
            &app,
            &path,
            &admin,
            json!({"status": "revoked", "notes": null}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(p["status"], "revoked");
    assert_eq!(p["notes"], Value::Null);
    assert_eq!(p["key"], "SIN-1234-ABCD");
    let q = data(
        &put(
            &app,
            &path,
            &admin,
            json!({"expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(q["expiry_status"], "expired");
    assert!(q["days_left"].as_i64().is_some_and(|d| d < -365));
    assert_eq!(q["status"], "revoked");
    let r = data(
        &patch(&app, &path, &admin, json!({"expires_at": null})).await,
        StatusCode::OK,
    );
    assert_eq!(
        (r["days_left"].clone(), r["expiry_status"].clone()),
        (Value::Null, json!("ok"))
    );

    assert_eq!(
        data(&delete(&app, &path, &admin).await, StatusCode::OK),
        json!({"id": id, "deleted": true})
    );
    app.get(&path, Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    delete(&app, &path, &admin)
        .await
        .assert_error(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    patch(&app, &path, &admin, json!({"status": "active"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");

    // A chosen id is kept; a second create with it conflicts instead of overwriting.
    resource(
        &app,
        &admin,
        "licenses",
        json!({"id": "licenses-m7x-a1b2c3", "key": "K"}),
    )
    .await;
    app.post(
        "/api/v1/resources/licenses",
        Some(&admin),
        json!({"id": "licenses-m7x-a1b2c3", "key": "OTHER"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "RESOURCE_ALREADY_EXISTS");
    assert_eq!(
        get(
            &app,
            "/api/v1/resources/licenses/licenses-m7x-a1b2c3",
            &admin
        )
        .await["key"],
        "K"
    );
}
db_test!(licenses_round_trip_with_expiry_fields);

async fn proxies_validate_fields_and_mask_passwords(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let user = app.user_token("ops@example.com", &["user"]).await;
    let url = "/api/v1/resources/proxies";
    for (body, fields) in [
        (json!({"host": "p.example"}), vec!["port"]),
        (json!({"port": 8080}), vec!["host"]),
        (json!({"host": "p.example", "port": 70000}), vec!["port"]),
        (json!({"host": "p.example", "port": 0}), vec!["port"]),
        (
            json!({"host": "bad host!", "ip": "999.1.1.1", "port": 80}),
            vec!["host", "ip"],
        ),
        (
            json!({"host": "p.example", "port": 80, "type": "ftp", "status": "lost"}),
            vec!["type", "status"],
        ),
        (
            json!({"host": "p.example", "port": 80, "fraud_score": 101, "country_code": "USA"}),
            vec!["fraud_score", "country_code"],
        ),
        (
            json!({"host": "p.example", "port": 80, "ipqs": {"fraud_score": 150}}),
            vec!["ipqs.fraud_score"],
        ),
        (
            json!({"host": "p.example", "port": 80, "bot_id": "ghost"}),
            vec!["bot_id"],
        ),
    ] {
        let r = app.post(url, Some(&admin), body).await;
        assert_fields(
            &r,
            StatusCode::BAD_REQUEST,
            "RESOURCES_INVALID_BODY",
            &fields,
        );
    }
    app.post(
        url,
        Some(&admin),
        json!({"host": "p.example", "port": "eighty"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "RESOURCES_INVALID_BODY");
    assert_eq!(
        get(&app, url, &admin).await,
        json!([]),
        "nothing was created"
    );

    // The original UI's shape: ip, a port string, login, socks5 by default.
    let p = data(
        &app.post(
            url,
            Some(&admin),
            json!({
                "ip": "203.0.113.9", "port": "1080", "login": "alice", "password": "p@ss word",
                "provider": "IPRoyal", "country_code": "de",
                "ipqs": {"fraud_score": 35, "vpn": false, "tor": false, "isp": "Hetzner"},
                "last_checked": 1_700_000_000_000i64
            }),
        )
        .await,
        StatusCode::CREATED,
    );
    let id = p["id"].as_str().expect("id").to_owned();
    assert_eq!(p["host"], "203.0.113.9");
    assert_eq!(p["port"], 1080);
    assert_eq!(p["type"], "socks5");
    assert_eq!(p["username"], "alice");
    assert_eq!(p["password"], "p@ss word");
    assert_eq!(p["country_code"], "DE");
    assert_eq!(p["fraud_score"], 35);
    assert_eq!(p["ipqs"]["isp"], "Hetzner");
    assert_eq!(p["last_checked"], "2023-11-14T22:13:20.000Z");

    // Other roles get the mask; sending it back keeps the password.
    let path = format!("{url}/{id}");
    let seen = get(&app, &path, &user).await;
    assert_eq!(seen["password"], "********");
    assert_eq!(get(&app, url, &user).await[0]["password"], "********");
    data(
        &patch(
            &app,
            &path,
            &user,
            json!({"password": "********", "type": "HTTPS"}),
        )
        .await,
        StatusCode::OK,
    );
    let after = get(&app, &path, &admin).await;
    assert_eq!(after["password"], "p@ss word");
    assert_eq!(after["type"], "https");
    data(
        &patch(&app, &path, &user, json!({"password": null})).await,
        StatusCode::OK,
    );
    assert_eq!(get(&app, &path, &admin).await["password"], Value::Null);
    // Clearing a required field is refused and changes nothing.
    let before = get(&app, &path, &admin).await;
    assert_fields(
        &patch(&app, &path, &admin, json!({"host": null, "ip": null})).await,
        StatusCode::BAD_REQUEST,
        "RESOURCES_INVALID_BODY",
        &["host"],
    );
    assert_eq!(get(&app, &path, &admin).await, before);
}
db_test!(proxies_validate_fields_and_mask_passwords);

async fn subscriptions_keep_typed_prices_and_periods(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let url = "/api/v1/resources/subscriptions";
    let s = data(
        &app.post(
            url,
            Some(&admin),
            json!({
                "type": "bot", "service": "Baneto monthly", "price": 19.99, "currency": "eur",
                "period": "monthly", "expires_at": in_days(3.0), "auto_renew": true,
                "account_email": "pay@example.com", "project_id": "wow_tbc"
            }),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_eq!(s["price"], 19.99);
    assert_eq!(s["currency"], "EUR");
    assert_eq!(s["period"], "monthly");
    assert_eq!(s["auto_renew"], true);
    assert_eq!(s["expiry_status"], "expiring");
    assert_eq!(s["days_left"], 3);
    let d = data(
        &app.post(url, Some(&admin), json!({"notes": "defaults"}))
            .await,
        StatusCode::CREATED,
    );
    assert_eq!(
        (
            d["type"].clone(),
            d["status"].clone(),
            d["currency"].clone(),
            d["auto_renew"].clone()
        ),
        (json!("wow"), json!("active"), json!("USD"), json!(false))
    );
    for (body, fields) in [
        (json!({"type": "gym"}), vec!["type"]),
        (json!({"price": 1.005}), vec!["price"]),
        (json!({"price": -1}), vec!["price"]),
        (
            json!({"period": "daily", "currency": "EURO"}),
            vec!["period", "currency"],
        ),
        (
            json!({"status": "expired", "account_email": "nope"}),
            vec!["status", "account_email"],
        ),
        (json!({"expires_at": -5}), vec![]),
        (json!({}), vec!["_"]),
    ] {
        let r = app.post(url, Some(&admin), body).await;
        assert_fields(
            &r,
            StatusCode::BAD_REQUEST,
            "RESOURCES_INVALID_BODY",
            &fields,
        );
    }
    let cancelled = data(
        &patch(
            &app,
            &format!("{url}/{}", s["id"].as_str().expect("id")),
            &admin,
            json!({"status": "cancelled", "price": null}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        (cancelled["status"].clone(), cancelled["price"].clone()),
        (json!("cancelled"), Value::Null)
    );
}
db_test!(subscriptions_keep_typed_prices_and_periods);

async fn unknown_kinds_bad_ids_and_bad_bodies_are_rejected(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    app.get("/api/v1/resources/widgets", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "RESOURCES_INVALID_KIND");
    app.post(
        "/api/v1/resources/widgets",
        Some(&admin),
        json!({"key": "k"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "RESOURCES_INVALID_KIND");
    app.get("/api/v1/resources/widgets/x1", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "RESOURCES_INVALID_KIND");
    delete(&app, "/api/v1/resources/widgets/x1", &admin)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "RESOURCES_INVALID_KIND");
    app.get("/api/v1/resources/licenses/bad%20id", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "RESOURCES_INVALID_ID");
    patch(
        &app,
        "/api/v1/resources/licenses/-dash",
        &admin,
        json!({"key": "k"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "RESOURCES_INVALID_ID");
    assert_fields(
        &app.post("/api/v1/resources/licenses", Some(&admin), json!({}))
            .await,
        StatusCode::BAD_REQUEST,
        "RESOURCES_INVALID_BODY",
        &["_"],
    );
    assert_fields(
        &app.post(
            "/api/v1/resources/licenses",
            Some(&admin),
            json!({"type": "SIN"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "RESOURCES_INVALID_BODY",
        &["key"],
    );
    assert_fields(
        &app.post(
            "/api/v1/resources/licenses",
            Some(&admin),
            json!({"key": "k", "id": "has space"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "RESOURCES_INVALID_BODY",
        &["id"],
    );
    app.post("/api/v1/resources/licenses", Some(&admin), json!(["k"]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "RESOURCES_INVALID_BODY");
    let malformed = app
        .http
        .post(app.url("/api/v1/resources/licenses"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"key\": ")
        .send()
        .await
        .expect("sent");
    let reply = common::Reply::from(malformed).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "BAD_REQUEST");
    assert_eq!(
        get(&app, "/api/v1/resources/licenses", &admin).await,
        json!([])
    );
    app.get("/api/v1/resources/licenses", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
}
db_test!(unknown_kinds_bad_ids_and_bad_bodies_are_rejected);

async fn another_tenants_resources_are_not_found_and_stay_unchanged(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let a = app.admin_token().await;
    let b = app
        .user_token_in("acme", "boss@acme.test", &["admin"])
        .await;
    let lic = resource(
        &app,
        &a,
        "licenses",
        json!({"key": "A-KEY", "expires_at": in_days(2.0)}),
    )
    .await;
    let a_bot = bot(&app, &a, json!({"name": "a-bot"})).await;
    let path = format!("/api/v1/resources/licenses/{lic}");
    let before = get(&app, &path, &a).await;
    let b_bot = bot(&app, &b, json!({"name": "b-bot"})).await;
    for r in [
        app.get(&path, Some(&b)).await,
        patch(&app, &path, &b, json!({"key": "STOLEN"})).await,
        put(&app, &path, &b, json!({"key": "STOLEN"})).await,
        app.post(
            &format!("{path}/assign"),
            Some(&b),
            json!({"bot_id": b_bot}),
        )
        .await,
        app.post(&format!("{path}/unassign"), Some(&b), json!({}))
            .await,
        delete(&app, &path, &b).await,
    ] {
        r.assert_error(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");
    }
    assert_eq!(get(&app, "/api/v1/resources/licenses", &b).await, json!([]));
    let stats = get(&app, "/api/v1/resources/stats", &b).await;
    assert_eq!(stats["licenses"]["total"], 0);
    assert_eq!(get(&app, &path, &a).await, before, "unchanged");
    // A resource of B cannot be given a bot of A.
    let b_lic = resource(&app, &b, "licenses", json!({"key": "B-KEY"})).await;
    app.post(
        &format!("/api/v1/resources/licenses/{b_lic}/assign"),
        Some(&b),
        json!({"bot_id": a_bot}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "BOT_NOT_FOUND");
    assert_fields(
        &patch(
            &app,
            &format!("/api/v1/resources/licenses/{b_lic}"),
            &b,
            json!({"bot_ids": [a_bot]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "RESOURCES_INVALID_BODY",
        &["bot_ids"],
    );
    assert_eq!(
        get(&app, &format!("/api/v1/resources/licenses/{b_lic}"), &b).await["bot_ids"],
        json!([])
    );
    // The same id may exist in both tenants.
    resource(&app, &b, "licenses", json!({"id": lic, "key": "B-OWN"})).await;
    assert_eq!(get(&app, &path, &a).await["key"], "A-KEY");
}
db_test!(another_tenants_resources_are_not_found_and_stay_unchanged);

async fn lists_filter_by_status_expiry_assignment_and_text(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let k = "/api/v1/resources/proxies";
    let proxy = |host: &str, extra: Value| {
        let mut body = json!({"host": host, "port": 3128});
        for (key, v) in extra.as_object().expect("object") {
            body[key] = v.clone();
        }
        body
    };
    let soon = resource(
        &app,
        &admin,
        "proxies",
        proxy(
            "soon.example",
            json!({"expires_at": in_days(2.0), "type": "http", "provider": "Smartproxy"}),
        ),
    )
    .await;
    let later = resource(
        &app,
        &admin,
        "proxies",
        proxy(
            "later.example",
            json!({"expires_at": in_days(6.5), "country": "Germany"}),
        ),
    )
    .await;
    let ok = resource(
        &app,
        &admin,
        "proxies",
        proxy(
            "ok.example",
            json!({"expires_at": in_days(40.0), "status": "banned"}),
        ),
    )
    .await;
    let gone = resource(
        &app,
        &admin,
        "proxies",
        proxy(
            "gone.example",
            json!({"expires_at": in_days(-3.0), "status": "expired"}),
        ),
    )
    .await;
    let never = resource(
        &app,
        &admin,
        "proxies",
        proxy("never.example", json!({"username": "Special_User"})),
    )
    .await;
    let b = bot(&app, &admin, json!({"name": "holder", "proxy_id": soon})).await;
    let b2 = bot(&app, &admin, json!({"name": "holder2", "proxy_id": ok})).await;

    let q = |query: &str| format!("{k}?{query}");
    assert_eq!(ids(&app, &q("status=banned"), &admin).await, sorted(&[&ok]));
    assert_eq!(
        ids(&app, &q("status=active"), &admin).await,
        sorted(&[&soon, &later, &never])
    );
    assert_eq!(ids(&app, &q("type=http"), &admin).await, sorted(&[&soon]));
    assert_eq!(
        ids(&app, &q("expiry_status=expiring"), &admin).await,
        sorted(&[&soon, &later])
    );
    assert_eq!(
        ids(&app, &q("expiry_status=expired"), &admin).await,
        sorted(&[&gone])
    );
    assert_eq!(
        ids(&app, &q("expiry_status=ok"), &admin).await,
        sorted(&[&ok, &never])
    );
    assert_eq!(
        ids(&app, &q("expiring_within_days=3"), &admin).await,
        sorted(&[&soon])
    );
    assert_eq!(
        ids(&app, &q("expiring_within_days=60"), &admin).await,
        sorted(&[&soon, &later, &ok])
    );
    assert_eq!(
        ids(&app, &q("assigned=true"), &admin).await,
        sorted(&[&soon, &ok])
    );
    assert_eq!(
        ids(&app, &q("assigned=false"), &admin).await,
        sorted(&[&later, &gone, &never])
    );
    assert_eq!(
        ids(&app, &q("assigned=false&expiry_status=expiring"), &admin).await,
        sorted(&[&later])
    );
    assert_eq!(
        ids(&app, &q(&format!("bot_id={b}")), &admin).await,
        sorted(&[&soon])
    );
    assert_eq!(
        ids(&app, &q(&format!("bot_id={b2}&status=active")), &admin).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&app, &q("q=SMARTPROXY"), &admin).await,
        sorted(&[&soon])
    );
    assert_eq!(ids(&app, &q("q=germ"), &admin).await, sorted(&[&later]));
    assert_eq!(
        ids(&app, &q("q=l_u"), &admin).await,
        sorted(&[&never]),
        "_ is literal"
    );
    assert_eq!(ids(&app, &q("q=EXAMPLE"), &admin).await.len(), 5);
    let row = get(&app, &q("q=soon"), &admin).await;
    assert_eq!(
        (row[0]["expiry_status"].clone(), row[0]["days_left"].clone()),
        (json!("expiring"), json!(2))
    );

    for bad in [
        "status=revoked",
        "expiry_status=soon",
        "expiring_within_days=-1",
        "assigned=perhaps",
        "limit=0",
        "cursor=%%%",
        "bot_id=bad%20id",
    ] {
        app.get(&q(bad), Some(&admin))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "RESOURCES_INVALID_LIST_QUERY");
    }
    // Licenses know revoked.
    assert_eq!(
        get(&app, "/api/v1/resources/licenses?status=revoked", &admin).await,
        json!([])
    );
}
db_test!(lists_filter_by_status_expiry_assignment_and_text);

async fn pages_cover_every_resource_once(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let mut created = Vec::new();
    for i in 0..17 {
        let status = if i % 4 == 0 { "cancelled" } else { "active" };
        created.push(
            resource(
                &app,
                &admin,
                "subscriptions",
                json!({"service": format!("svc {i}"), "status": status}),
            )
            .await,
        );
    }
    resource(
        &app,
        &admin,
        "licenses",
        json!({"key": "not a subscription"}),
    )
    .await;
    let (seen, pages) = walk(&app, "/api/v1/resources/subscriptions?", &admin, 4).await;
    assert_eq!(pages, 5);
    let mut expected = created.clone();
    expected.reverse();
    assert_eq!(
        seen, expected,
        "newest first, every subscription exactly once"
    );
    let (active, _) = walk(
        &app,
        "/api/v1/resources/subscriptions?status=active",
        &admin,
        3,
    )
    .await;
    assert_eq!(active.len(), 12);
}
db_test!(pages_cover_every_resource_once);

async fn assignment_works_from_both_sides(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let b1 = bot(&app, &admin, json!({"name": "one"})).await;
    let b2 = bot(&app, &admin, json!({"name": "two"})).await;
    let bot_of = |id: &str| format!("/api/v1/bots/{id}");
    let lic = resource(&app, &admin, "licenses", json!({"key": "L1"})).await;
    let lic2 = resource(&app, &admin, "licenses", json!({"key": "L2"})).await;
    let proxy = resource(&app, &admin, "proxies", json!({"host": "p1", "port": 1})).await;
    let proxy2 = resource(&app, &admin, "proxies", json!({"host": "p2", "port": 2})).await;
    let sub = resource(&app, &admin, "subscriptions", json!({"type": "wow"})).await;
    let res = |kind: &str, id: &str| format!("/api/v1/resources/{kind}/{id}");

    // A license serves several bots.
    let l = data(
        &app.post(
            &format!("{}/assign", res("licenses", &lic)),
            Some(&admin),
            json!({"bot_id": b1}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(l["bot_ids"], json!([b1]));
    let l = data(
        &app.post(
            &format!("{}/assign", res("licenses", &lic)),
            Some(&admin),
            json!({"bot_id": b2}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(l["bot_ids"].as_array().map(Vec::len), Some(2));
    let again = data(
        &app.post(
            &format!("{}/assign", res("licenses", &lic)),
            Some(&admin),
            json!({"bot_id": b2}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        again["bot_ids"], l["bot_ids"],
        "assigning twice changes nothing"
    );
    assert_eq!(
        get(&app, &bot_of(&b1), &admin).await["license_id"],
        lic.as_str()
    );
    // …but a bot holds one license.
    let refused = app
        .post(
            &format!("{}/assign", res("licenses", &lic2)),
            Some(&admin),
            json!({"bot_id": b1}),
        )
        .await;
    refused.assert_error(StatusCode::CONFLICT, "RESOURCE_ASSIGNMENT_CONFLICT");
    assert_eq!(
        refused.body["error"]["details"]["resource_id"],
        lic.as_str()
    );
    assert_eq!(
        get(&app, &res("licenses", &lic2), &admin).await["bot_ids"],
        json!([])
    );
    // The original UI's way: PATCH the license's bot_ids.
    let l = data(
        &patch(
            &app,
            &res("licenses", &lic),
            &admin,
            json!({"bot_ids": [b2]}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(l["bot_ids"], json!([b2]));
    assert_eq!(
        get(&app, &bot_of(&b1), &admin).await["license_id"],
        Value::Null
    );

    // A proxy serves one bot: assigning it elsewhere moves it.
    data(
        &app.post(
            &format!("{}/assign", res("proxies", &proxy)),
            Some(&admin),
            json!({"bot_id": b1}),
        )
        .await,
        StatusCode::OK,
    );
    let moved = data(
        &app.post(
            &format!("{}/assign", res("proxies", &proxy)),
            Some(&admin),
            json!({"bot_id": b2}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(moved["bot_id"], b2.as_str());
    assert_eq!(
        get(&app, &bot_of(&b1), &admin).await["proxy_id"],
        Value::Null
    );
    assert_eq!(
        get(&app, &bot_of(&b2), &admin).await["proxy_id"],
        proxy.as_str()
    );
    // …and a bot holds one proxy.
    app.post(
        &format!("{}/assign", res("proxies", &proxy2)),
        Some(&admin),
        json!({"bot_id": b2}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "RESOURCE_ASSIGNMENT_CONFLICT");
    app.post(
        "/api/v1/resources/proxies",
        Some(&admin),
        json!({"host": "p3", "port": 3, "bot_id": b2}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "RESOURCE_ASSIGNMENT_CONFLICT");
    assert_eq!(
        ids(&app, "/api/v1/resources/proxies?q=p3", &admin).await,
        Vec::<String>::new(),
        "the refused create left nothing"
    );
    // PATCH bot_id null unassigns (the original UI's way).
    data(
        &patch(
            &app,
            &res("proxies", &proxy),
            &admin,
            json!({"bot_id": null}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        get(&app, &bot_of(&b2), &admin).await["proxy_id"],
        Value::Null
    );

    // Subscriptions: a bot may hold several.
    let s = data(
        &app.post(
            &format!("{}/assign", res("subscriptions", &sub)),
            Some(&admin),
            json!({"bot_id": b1}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(s["bot_id"], b1.as_str());
    let sub2 = resource(
        &app,
        &admin,
        "subscriptions",
        json!({"type": "bot", "bot_id": b1}),
    )
    .await;
    assert_eq!(
        get(&app, &bot_of(&b1), &admin).await["subscription_ids"],
        json!([sub, sub2])
    );
    let s = data(
        &app.post(
            &format!("{}/unassign", res("subscriptions", &sub)),
            Some(&admin),
            json!({"bot_id": b1}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(s["bot_id"], Value::Null);
    assert_eq!(
        get(&app, &bot_of(&b1), &admin).await["subscription_ids"],
        json!([sub2])
    );

    // Unassign everyone with an empty body; unknown bots and bodies are refused.
    data(
        &app.post(
            &format!("{}/assign", res("licenses", &lic)),
            Some(&admin),
            json!({"bot_id": b1}),
        )
        .await,
        StatusCode::OK,
    );
    let none = data(
        &app.call(
            reqwest::Method::POST,
            &format!("{}/unassign", res("licenses", &lic)),
            Some(&admin),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(none["bot_ids"], json!([]));
    app.post(
        &format!("{}/assign", res("licenses", &lic)),
        Some(&admin),
        json!({"bot_id": "ghost"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "BOT_NOT_FOUND");
    assert_fields(
        &app.post(
            &format!("{}/assign", res("licenses", &lic)),
            Some(&admin),
            json!({"bot_id": "bad id"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "RESOURCES_INVALID_BODY",
        &["bot_id"],
    );
    app.post(
        &format!("{}/assign", res("licenses", &lic)),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "RESOURCES_INVALID_BODY");
    app.post(
        &format!("{}/assign", res("licenses", "missing")),
        Some(&admin),
        json!({"bot_id": b1}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND");

    // Deleting a resource clears it from its bot.
    delete(&app, &res("subscriptions", &sub2), &admin).await;
    assert_eq!(
        get(&app, &bot_of(&b1), &admin).await["subscription_ids"],
        json!([])
    );
}
db_test!(assignment_works_from_both_sides);

async fn seed_resources(app: &TestApp, token: &str) {
    let b = bot(app, token, json!({"name": "holder"})).await;
    // Licenses: expiring (assigned), ok, expired (revoked), no date.
    resource(
        app,
        token,
        "licenses",
        json!({"key": "1", "expires_at": in_days(4.0), "bot_ids": [b]}),
    )
    .await;
    resource(
        app,
        token,
        "licenses",
        json!({"key": "2", "expires_at": in_days(20.0)}),
    )
    .await;
    resource(
        app,
        token,
        "licenses",
        json!({"key": "3", "expires_at": in_days(-1.0), "status": "revoked"}),
    )
    .await;
    resource(app, token, "licenses", json!({"key": "4"})).await;
    // Proxies: expiring (banned), expired.
    resource(
        app,
        token,
        "proxies",
        json!({"host": "a", "port": 1, "expires_at": in_days(1.5), "status": "banned"}),
    )
    .await;
    resource(
        app,
        token,
        "proxies",
        json!({"host": "b", "port": 1, "expires_at": in_days(-10.0), "bot_id": b}),
    )
    .await;
    // Subscriptions: one ok, cancelled.
    resource(
        app,
        token,
        "subscriptions",
        json!({"expires_at": in_days(8.0), "status": "cancelled"}),
    )
    .await;
}

async fn stats_count_per_kind_and_expiry(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    seed_resources(&app, &admin).await;
    let s = get(&app, "/api/v1/resources/stats", &admin).await;
    assert_eq!(s["warning_days"], 7);
    assert_eq!(
        s["licenses"],
        json!({"total": 4, "by_expiry": {"ok": 2, "expiring": 1, "expired": 1},
               "by_status": {"active": 3, "expired": 0, "revoked": 1}, "assigned": 1, "unassigned": 3})
    );
    assert_eq!(
        s["proxies"],
        json!({"total": 2, "by_expiry": {"ok": 0, "expiring": 1, "expired": 1},
               "by_status": {"active": 1, "expired": 0, "banned": 1}, "assigned": 1, "unassigned": 1})
    );
    assert_eq!(
        s["subscriptions"],
        json!({"total": 1, "by_expiry": {"ok": 1, "expiring": 0, "expired": 0},
               "by_status": {"active": 0, "cancelled": 1}, "assigned": 0, "unassigned": 1})
    );
}
db_test!(stats_count_per_kind_and_expiry);

async fn stats_and_lists_use_the_configured_warning_days(db: Db) {
    let Some(app) = TestApp::spawn_with(db, &[("BOTMOX_EXPIRY_WARNING_DAYS", "10")]).await else {
        return;
    };
    let admin = app.admin_token().await;
    seed_resources(&app, &admin).await;
    let s = get(&app, "/api/v1/resources/stats", &admin).await;
    assert_eq!(s["warning_days"], 10);
    assert_eq!(
        s["subscriptions"]["by_expiry"],
        json!({"ok": 0, "expiring": 1, "expired": 0})
    );
    let rows = get(
        &app,
        "/api/v1/resources/subscriptions?expiry_status=expiring",
        &admin,
    )
    .await;
    assert_eq!(rows[0]["expiry_status"], "expiring");
    assert_eq!(rows[0]["days_left"], 8);
}
db_test!(stats_and_lists_use_the_configured_warning_days);

async fn concurrent_claims_of_one_proxy_leave_exactly_one_holder(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let proxy = resource(
        &app,
        &admin,
        "proxies",
        json!({"host": "contended", "port": 9}),
    )
    .await;
    let mut bots = Vec::new();
    for i in 0..8 {
        bots.push(bot(&app, &admin, json!({"name": format!("claimant {i}")})).await);
    }
    let paths: Vec<String> = bots.iter().map(|b| format!("/api/v1/bots/{b}")).collect();
    let claims = paths
        .iter()
        .map(|path| patch(&app, path, &admin, json!({"proxy_id": proxy})));
    let replies = futures::future::join_all(claims).await;
    let won: Vec<usize> = replies
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == StatusCode::OK)
        .map(|(i, _)| i)
        .collect();
    for r in &replies {
        assert!(
            r.status == StatusCode::OK || r.code() == "RESOURCE_ASSIGNMENT_CONFLICT",
            "unexpected reply {}: {}",
            r.status,
            r.body
        );
    }
    assert_eq!(won.len(), 1, "exactly one bot gets the proxy");
    let holder = &bots[won[0]];
    assert_eq!(
        get(&app, &format!("/api/v1/resources/proxies/{proxy}"), &admin).await["bot_id"],
        holder.as_str()
    );
    for (i, b) in bots.iter().enumerate() {
        let expected = if i == won[0] {
            json!(proxy)
        } else {
            Value::Null
        };
        assert_eq!(
            get(&app, &format!("/api/v1/bots/{b}"), &admin).await["proxy_id"],
            expected
        );
    }
    // Concurrent assignments from the proxy's side: it moves, ending with one holder.
    let assign_url = format!("/api/v1/resources/proxies/{proxy}/assign");
    let moves = bots
        .iter()
        .filter(|b| *b != holder)
        .map(|b| app.post(&assign_url, Some(&admin), json!({"bot_id": b})));
    for r in futures::future::join_all(moves).await {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let final_holder =
        get(&app, &format!("/api/v1/resources/proxies/{proxy}"), &admin).await["bot_id"].clone();
    let mut holders = 0;
    for b in &bots {
        let got = get(&app, &format!("/api/v1/bots/{b}"), &admin).await["proxy_id"].clone();
        if got == json!(proxy) {
            holders += 1;
            assert_eq!(final_holder, json!(b));
        }
    }
    assert_eq!(holders, 1);
    // Concurrent edits of one bot never fail with a server error.
    let holder_path = format!("/api/v1/bots/{holder}");
    let edits = (0..8).map(|i| {
        patch(
            &app,
            &holder_path,
            &admin,
            json!({"name": format!("edit {i}")}),
        )
    });
    for r in futures::future::join_all(edits).await {
        assert!(
            r.status == StatusCode::OK || r.code() == "BOT_CONCURRENT_UPDATE",
            "unexpected reply {}: {}",
            r.status,
            r.body
        );
    }
    assert!(
        get(&app, &format!("/api/v1/bots/{holder}"), &admin).await["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("edit "))
    );
}
db_test!(concurrent_claims_of_one_proxy_leave_exactly_one_holder);
