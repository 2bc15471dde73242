//! Seeding and paging helpers shared by the bots and resources tests.

#![allow(dead_code)]

use crate::common::{Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashSet;

pub const DAY_MS: i64 = 86_400_000;

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Epoch ms `days` from now (negative: in the past).
pub fn in_days(days: f64) -> i64 {
    now_ms() + (days * DAY_MS as f64) as i64
}

pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    app.call(method, path, Some(token), body).await
}

pub async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> Reply {
    send(app, Method::PATCH, path, token, Some(body)).await
}

pub async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Reply {
    send(app, Method::PUT, path, token, Some(body)).await
}

pub async fn delete(app: &TestApp, path: &str, token: &str) -> Reply {
    send(app, Method::DELETE, path, token, None).await
}

/// Asserts a 2xx and returns `data`.
pub fn data(reply: &Reply, status: StatusCode) -> Value {
    assert_eq!(reply.status, status, "body: {}", reply.body);
    assert_eq!(reply.body["success"], true, "body: {}", reply.body);
    reply.body["data"].clone()
}

/// Creates a bot and returns its id.
pub async fn bot(app: &TestApp, token: &str, body: Value) -> String {
    let r = app.post("/api/v1/bots", Some(token), body).await;
    data(&r, StatusCode::CREATED)["id"]
        .as_str()
        .expect("bot id")
        .to_owned()
}

/// Creates a resource of `kind` and returns its id.
pub async fn resource(app: &TestApp, token: &str, kind: &str, body: Value) -> String {
    let r = app
        .post(&format!("/api/v1/resources/{kind}"), Some(token), body)
        .await;
    data(&r, StatusCode::CREATED)["id"]
        .as_str()
        .expect("resource id")
        .to_owned()
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    data(&app.get(path, Some(token)).await, StatusCode::OK)
}

/// Follows `meta.next_cursor` from `path` (which has a query string) to the end; asserts
/// every page but the last is full and that no id repeats. Returns (ids, pages).
pub async fn walk(app: &TestApp, path: &str, token: &str, limit: u32) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&limit={limit}&cursor={c}"),
            None => format!("{path}&limit={limit}"),
        };
        let r = app.get(&url, Some(token)).await;
        let rows = data(&r, StatusCode::OK);
        let rows = rows.as_array().expect("a page is an array");
        pages += 1;
        assert_eq!(r.body["meta"]["limit"], limit);
        for row in rows {
            let id = row["id"].as_str().expect("id").to_owned();
            assert!(seen.insert(id.clone()), "{id} appeared twice");
            ids.push(id);
        }
        match r.body["meta"]["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(
                    rows.len(),
                    limit as usize,
                    "only the last page may be short"
                );
                cursor = Some(c.to_owned());
            }
            None => break,
        }
        assert!(pages < 1000, "pagination does not end");
    }
    (ids, pages)
}

/// The ids of a one-page list.
pub async fn ids(app: &TestApp, path: &str, token: &str) -> Vec<String> {
    let rows = get(app, path, token).await;
    let mut ids: Vec<String> = rows
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

pub fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// Asserts an error and that `details.fields` names each of `fields`.
pub fn assert_fields(reply: &Reply, status: StatusCode, code: &str, fields: &[&str]) {
    reply.assert_error(status, code);
    let got = &reply.body["error"]["details"]["fields"];
    for f in fields {
        assert!(
            got[*f].as_array().is_some_and(|m| !m.is_empty()),
            "expected a message for field {f:?}; got {got}"
        );
    }
}
