//! WoW names: format rules, uniqueness, seeded determinism, styles and query validation.

mod common;

use common::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashSet;

fn names(body: &Value) -> Vec<String> {
    body["data"]["names"]
        .as_array()
        .expect("names")
        .iter()
        .map(|n| n.as_str().expect("string").to_owned())
        .collect()
}

fn well_formed(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    (2..=12).contains(&chars.len())
        && chars[0].is_ascii_uppercase()
        && chars[1..].iter().all(char::is_ascii_lowercase)
        && !chars.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
}

async fn names_are_well_formed_unique_and_counted(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.user_token("player@example.com", &["user"]).await;
    let r = app.get("/api/v1/wow-names?count=100", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = names(&r.body);
    assert_eq!(list.len(), 100);
    assert_eq!(list.iter().collect::<HashSet<_>>().len(), 100);
    for n in &list {
        assert!(well_formed(n), "{n}");
    }
    assert!(
        list.contains(
            &r.body["data"]["random"]
                .as_str()
                .expect("random")
                .to_owned()
        )
    );
    assert_eq!(r.body["data"]["race"], "mixed");
    assert_eq!(r.body["data"]["gender"], "any");
    assert_eq!(r.body["data"]["source"], "generator");

    // Without count: batches of ten, as the character editor asks (`?batches=3`).
    let r = app.get("/api/v1/wow-names?batches=3", Some(&token)).await;
    assert_eq!(names(&r.body).len(), 30);
    assert_eq!(r.body["data"]["batches"], 3);
    let r = app.get("/api/v1/wow-names", Some(&token)).await;
    assert_eq!(names(&r.body).len(), 10);
}
db_test!(names_are_well_formed_unique_and_counted);

async fn a_seed_reproduces_the_same_names(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let path = "/api/v1/wow-names?count=25&race=orc&gender=female&seed=1234567";
    let a = app.get(path, Some(&token)).await;
    let b = app.get(path, Some(&token)).await;
    assert_eq!(a.body["data"], b.body["data"]);
    assert_eq!(a.body["data"]["seed"], 1234567);
    assert_eq!(a.body["data"]["race"], "orc");
    assert_eq!(a.body["data"]["gender"], "female");
    let c = app
        .get(
            "/api/v1/wow-names?count=25&race=orc&gender=female&seed=7654321",
            Some(&token),
        )
        .await;
    assert_ne!(names(&a.body), names(&c.body));
    // Without a seed, the answer names the one it used, which replays it.
    let d = app
        .get("/api/v1/wow-names?count=5&race=gnome", Some(&token))
        .await;
    let seed = d.body["data"]["seed"].as_u64().expect("seed");
    let replay = app
        .get(
            &format!("/api/v1/wow-names?count=5&race=gnome&seed={seed}"),
            Some(&token),
        )
        .await;
    assert_eq!(names(&d.body), names(&replay.body));
}
db_test!(a_seed_reproduces_the_same_names);

async fn styles_differ_by_race_and_gender(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let mut seen = Vec::new();
    for race in [
        "human",
        "dwarf",
        "night_elf",
        "gnome",
        "draenei",
        "worgen",
        "orc",
        "undead",
        "tauren",
        "troll",
        "blood_elf",
        "goblin",
    ] {
        for gender in ["male", "female"] {
            let r = app
                .get(
                    &format!("/api/v1/wow-names?count=20&race={race}&gender={gender}&seed=99"),
                    Some(&token),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{race} {gender}: {}", r.body);
            let list = names(&r.body);
            assert_eq!(list.len(), 20, "{race} {gender}");
            assert!(list.iter().all(|n| well_formed(n)), "{list:?}");
            seen.push(list);
        }
    }
    // Every style gives its own names.
    for i in 0..seen.len() {
        for j in i + 1..seen.len() {
            assert_ne!(seen[i], seen[j]);
        }
    }
}
db_test!(styles_differ_by_race_and_gender);

async fn bad_queries_are_rejected(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    for query in [
        "count=0",
        "count=101",
        "batches=0",
        "batches=21",
        "race=murloc",
        "gender=other",
        "seed=abc",
        "count=-1",
    ] {
        app.get(&format!("/api/v1/wow-names?{query}"), Some(&token))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "WOW_NAMES_INVALID_QUERY");
    }
    let r = app.get("/api/v1/wow-names?count=0", Some(&token)).await;
    assert!(
        r.body["error"]["details"]["fields"]["count"].is_array(),
        "{}",
        r.body
    );
    app.get("/api/v1/wow-names", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
}
db_test!(bad_queries_are_rejected);
