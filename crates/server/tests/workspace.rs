//! Workspace: notes (revision-safe saves, search, tags), calendar events (range queries,
//! links) and kanban tasks (moves and renumbering), on both databases.

mod common;

use common::{Db, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;

const NOTES: &str = "/api/v1/workspace/notes";
const CALENDAR: &str = "/api/v1/workspace/calendar";
const KANBAN: &str = "/api/v1/workspace/kanban";

/// A request with extra headers (e.g. `If-Match`).
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    Reply::from(req.send().await.expect("request sent")).await
}

async fn create(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let r = app.post(path, Some(token), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["data"].clone()
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Every id of a list, following `next_cursor` page by page.
async fn all_pages(app: &TestApp, token: &str, first: &str) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut url = first.to_owned();
    loop {
        let r = app.get(&url, Some(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        pages += 1;
        out.extend(ids(&r.body));
        match r.body["meta"]["next_cursor"].as_str() {
            Some(c) => url = format!("{first}&cursor={c}"),
            None => break,
        }
        assert!(pages < 50, "runaway paging");
    }
    (out, pages)
}

// ---------------------------------------------------------------- notes

async fn note_lifecycle_tracks_revisions_tags_and_links(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let event = create(
        &app,
        CALENDAR,
        &token,
        json!({"title": "Raid night", "date": "2024-05-01"}),
    )
    .await;
    let r = app
        .post(
            NOTES,
            Some(&token),
            json!({
                "title": "  Farming plan ",
                "content": "# Plan\n\n- [ ] herbs",
                "tags": ["wow", " farm ", "wow"],
                "is_pinned": true,
                "bot_id": "bot-1",
                "calendar_event_ids": [event["id"]],
                "created_at": 5,
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.header("etag"), Some("\"1\""));
    let note = &r.body["data"];
    let id = note["id"].as_str().expect("id").to_owned();
    assert_eq!(note["title"], "Farming plan");
    assert_eq!(note["tags"], json!(["wow", "farm"]));
    assert_eq!(note["is_pinned"], true);
    assert_eq!(note["bot_id"], "bot-1");
    assert_eq!(note["project_id"], Value::Null);
    assert_eq!(note["calendar_event_ids"], json!([event["id"]]));
    assert_eq!(note["revision"], 1);
    assert_ne!(note["created_at"], json!(5), "server owns timestamps");

    let got = app.get(&format!("{NOTES}/{id}"), Some(&token)).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("etag"), Some("\"1\""));
    assert_eq!(&got.body["data"], note);

    let saved = send(
        &app,
        Method::PATCH,
        &format!("{NOTES}/{id}"),
        &token,
        Some(json!({"content": "# Plan v2", "tags": ["farm"], "bot_id": null})),
        &[("If-Match", "\"1\"")],
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.header("etag"), Some("\"2\""));
    let v2 = &saved.body["data"];
    assert_eq!(v2["revision"], 2);
    assert_eq!(v2["content"], "# Plan v2");
    assert_eq!(v2["title"], "Farming plan", "untouched fields stay");
    assert_eq!(v2["tags"], json!(["farm"]));
    assert_eq!(v2["bot_id"], Value::Null);
    assert!(v2["updated_at"].as_str() > note["updated_at"].as_str());

    // PUT replaces the whole note; the body precondition works as well as the header.
    let put = send(
        &app,
        Method::PUT,
        &format!("{NOTES}/{id}"),
        &token,
        Some(json!({"title": "Replaced", "expected_revision": 2})),
        &[],
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let v3 = &put.body["data"];
    assert_eq!(v3["revision"], 3);
    assert_eq!(v3["content"], "");
    assert_eq!(v3["tags"], json!([]));
    assert_eq!(v3["is_pinned"], false);
    assert_eq!(v3["calendar_event_ids"], json!([]));

    let del = send(
        &app,
        Method::DELETE,
        &format!("{NOTES}/{id}"),
        &token,
        None,
        &[("If-Match", "3")],
    )
    .await;
    assert_eq!(del.status, StatusCode::OK, "{}", del.body);
    assert_eq!(del.body["data"], json!({"id": id, "deleted": true}));
    app.get(&format!("{NOTES}/{id}"), Some(&token))
        .await
        .assert_error(StatusCode::NOT_FOUND, "WORKSPACE_ENTITY_NOT_FOUND");
}
db_test!(note_lifecycle_tracks_revisions_tags_and_links);

async fn note_update_without_precondition_is_refused_and_changes_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let note = create(
        &app,
        NOTES,
        &token,
        json!({"title": "Keep", "content": "x"}),
    )
    .await;
    let path = format!("{NOTES}/{}", note["id"].as_str().expect("id"));
    for method in [Method::PATCH, Method::PUT] {
        send(
            &app,
            method,
            &path,
            &token,
            Some(json!({"content": "y"})),
            &[],
        )
        .await
        .assert_error(
            StatusCode::PRECONDITION_REQUIRED,
            "WORKSPACE_PRECONDITION_REQUIRED",
        );
    }
    send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"content": "y"})),
        &[("If-Match", "soon")],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    // A precondition alone changes nothing and is refused.
    let empty = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"expected_revision": 1})),
        &[],
    )
    .await;
    empty.assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    let now = app.get(&path, Some(&token)).await;
    assert_eq!(now.body["data"], note);
}
db_test!(note_update_without_precondition_is_refused_and_changes_nothing);

async fn stale_note_precondition_conflicts_with_the_current_version(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let note = create(&app, NOTES, &token, json!({"title": "T", "content": "v1"})).await;
    let path = format!("{NOTES}/{}", note["id"].as_str().expect("id"));
    let first_updated_at = note["updated_at"].as_str().expect("ts").to_owned();
    let v2 = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"content": "v2", "expected_updated_at": first_updated_at})),
        &[],
    )
    .await;
    assert_eq!(v2.status, StatusCode::OK, "{}", v2.body);
    let current = v2.body["data"].clone();

    // Stale by updated_at, by body revision, by header.
    for (body, headers) in [
        (
            json!({"content": "lost", "expected_updated_at": first_updated_at}),
            vec![],
        ),
        (json!({"content": "lost", "expected_revision": 1}), vec![]),
        (json!({"content": "lost"}), vec![("If-Match", "\"1\"")]),
        // The header wins over a matching body revision.
        (
            json!({"content": "lost", "expected_revision": 2}),
            vec![("If-Match", "1")],
        ),
    ] {
        let r = send(&app, Method::PATCH, &path, &token, Some(body), &headers).await;
        r.assert_error(StatusCode::CONFLICT, "WORKSPACE_CONFLICT");
        assert_eq!(r.body["error"]["details"]["current"], current);
    }
    let stale_delete = send(
        &app,
        Method::DELETE,
        &path,
        &token,
        None,
        &[("If-Match", "1")],
    )
    .await;
    stale_delete.assert_error(StatusCode::CONFLICT, "WORKSPACE_CONFLICT");
    assert_eq!(app.get(&path, Some(&token)).await.body["data"], current);

    // A matching header wins over a stale body revision.
    let ok = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"content": "v3", "expected_revision": 1})),
        &[("If-Match", "2")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["data"]["revision"], 3);
}
db_test!(stale_note_precondition_conflicts_with_the_current_version);

async fn two_writers_from_one_revision_first_wins_second_conflicts(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let note = create(&app, NOTES, &token, json!({"content": "base"})).await;
    let path = format!("{NOTES}/{}", note["id"].as_str().expect("id"));

    // In turn: the first save lands, the second (same base) is refused and keeps nothing.
    let first = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"content": "from A"})),
        &[("If-Match", "1")],
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"content": "from B"})),
        &[("If-Match", "1")],
    )
    .await;
    second.assert_error(StatusCode::CONFLICT, "WORKSPACE_CONFLICT");
    assert_eq!(
        second.body["error"]["details"]["current"]["content"],
        "from A"
    );
    let stored = app.get(&path, Some(&token)).await;
    assert_eq!(stored.body["data"]["content"], "from A");
    assert_eq!(stored.body["data"]["revision"], 2);

    // At once: exactly one of two saves from revision 2 lands.
    let (a, b) = tokio::join!(
        send(
            &app,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"content": "race A"})),
            &[("If-Match", "2")],
        ),
        send(
            &app,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"content": "race B"})),
            &[("If-Match", "2")],
        ),
    );
    let statuses = HashSet::from([a.status, b.status]);
    assert_eq!(
        statuses,
        HashSet::from([StatusCode::OK, StatusCode::CONFLICT]),
        "{} / {}",
        a.body,
        b.body
    );
    let (winner, loser) = if a.status == StatusCode::OK {
        (a, b)
    } else {
        (b, a)
    };
    let stored = app.get(&path, Some(&token)).await;
    assert_eq!(stored.body["data"], winner.body["data"]);
    assert_eq!(stored.body["data"]["revision"], 3);
    assert_eq!(
        loser.body["error"]["details"]["current"],
        winner.body["data"]
    );
}
db_test!(two_writers_from_one_revision_first_wins_second_conflicts);

async fn note_list_searches_filters_and_pages(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let herbs = create(
        &app,
        NOTES,
        &token,
        json!({"title": "Herbalism route", "content": "Peacebloom", "tags": ["farm"]}),
    )
    .await;
    let gold = create(
        &app,
        NOTES,
        &token,
        json!({"title": "Gold", "content": "Sell HERBS at 100% markup", "tags": ["farm", "ah"]}),
    )
    .await;
    let pinned = create(
        &app,
        NOTES,
        &token,
        json!({"title": "Read me", "content": "rules", "is_pinned": true}),
    )
    .await;
    let id = |v: &Value| v["id"].as_str().expect("id").to_owned();

    let all = app.get(NOTES, Some(&token)).await;
    assert_eq!(ids(&all.body), vec![id(&pinned), id(&gold), id(&herbs)]);
    assert_eq!(all.body["meta"]["total"], 3);

    let q = app.get(&format!("{NOTES}?q=herb"), Some(&token)).await;
    assert_eq!(
        ids(&q.body),
        vec![id(&gold), id(&herbs)],
        "title or content, any case"
    );
    let pct = app.get(&format!("{NOTES}?q=%25"), Some(&token)).await;
    assert_eq!(
        ids(&pct.body),
        vec![id(&gold)],
        "% is literal, not a wildcard"
    );
    let tag = app.get(&format!("{NOTES}?tag=ah"), Some(&token)).await;
    assert_eq!(ids(&tag.body), vec![id(&gold)]);
    let both = app
        .get(&format!("{NOTES}?tag=farm&q=peace"), Some(&token))
        .await;
    assert_eq!(ids(&both.body), vec![id(&herbs)]);
    let pin = app.get(&format!("{NOTES}?pinned=true"), Some(&token)).await;
    assert_eq!(ids(&pin.body), vec![id(&pinned)]);

    for i in 0..5 {
        create(&app, NOTES, &token, json!({"title": format!("extra {i}")})).await;
    }
    let (paged, pages) = all_pages(&app, &token, &format!("{NOTES}?limit=3")).await;
    assert_eq!(pages, 3);
    assert_eq!(paged.len(), 8);
    assert_eq!(
        paged.iter().collect::<HashSet<_>>().len(),
        8,
        "no duplicates"
    );
    assert_eq!(paged[0], id(&pinned));
    let one_page = app.get(&format!("{NOTES}?limit=500"), Some(&token)).await;
    assert_eq!(
        ids(&one_page.body),
        paged,
        "pages join up to the whole list"
    );
}
db_test!(note_list_searches_filters_and_pages);

async fn workspace_validation_errors_use_their_codes_and_change_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let note = create(&app, NOTES, &token, json!({"title": "only"})).await;
    let note_path = format!("{NOTES}/{}", note["id"].as_str().expect("id"));

    let bad_bodies = [
        (json!({"title": "x".repeat(201)}), "title"),
        (json!({"title": "nul\u{0}byte"}), "title"),
        (json!({"content": "nul\u{0}byte"}), "content"),
        (json!({"content": "x".repeat(256 * 1024 + 1)}), "content"),
        (json!({"tags": ["ok", " "]}), "tags"),
        (
            json!({"calendar_event_ids": ["no-such-event"]}),
            "calendar_event_ids",
        ),
        (json!({"id": "bad id!"}), "id"),
        (json!({"bot_id": "spaces are bad"}), "bot_id"),
    ];
    for (body, field) in bad_bodies {
        let r = app.post(NOTES, Some(&token), body).await;
        r.assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
        assert!(
            r.body["error"]["details"]["fields"][field].is_array(),
            "{field}: {}",
            r.body
        );
    }
    app.post(NOTES, Some(&token), json!({"is_pinned": "yes"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    let malformed = app
        .http
        .post(app.url(NOTES))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    Reply::from(malformed)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BAD_REQUEST");

    for path in [
        "/api/v1/workspace/reminders",
        "/api/v1/workspace/reminders/abc",
    ] {
        app.get(path, Some(&token))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_KIND");
    }
    app.post(
        "/api/v1/workspace/todo",
        Some(&token),
        json!({"title": "x"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_KIND");

    for path in [
        format!("{NOTES}/bad%20id"),
        format!("{CALENDAR}/-x"),
        format!("{KANBAN}/{}", "a".repeat(129)),
    ] {
        app.get(&path, Some(&token))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_ID");
    }
    // The id is checked before the body.
    send(
        &app,
        Method::PATCH,
        &format!("{NOTES}/bad%20id"),
        &token,
        Some(json!({"title": 5})),
        &[],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_ID");

    for query in [
        format!("{NOTES}?limit=0"),
        format!("{NOTES}?limit=501"),
        format!("{NOTES}?cursor=garbage"),
        format!("{NOTES}?pinned=maybe"),
        format!("{CALENDAR}?from=yesterday"),
        format!("{CALENDAR}?from=2024-05-02&to=2024-05-01"),
        format!("{KANBAN}?status=blocked"),
    ] {
        app.get(&query, Some(&token))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_LIST_QUERY");
    }

    // Patches that break a rule leave the note as it was.
    for body in [json!({"title": "y".repeat(300)}), json!({"tags": [""]})] {
        send(
            &app,
            Method::PATCH,
            &note_path,
            &token,
            Some(body),
            &[("If-Match", "1")],
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    }
    send(
        &app,
        Method::PATCH,
        &note_path,
        &token,
        Some(json!({"calendar_event_ids": ["ghost"]})),
        &[("If-Match", "1")],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    assert_eq!(app.get(&note_path, Some(&token)).await.body["data"], note);
    let list = app.get(NOTES, Some(&token)).await;
    assert_eq!(list.body["meta"]["total"], 1);

    // A taken id is a conflict, not an overwrite.
    let dup = app
        .post(
            NOTES,
            Some(&token),
            json!({"id": note["id"], "title": "dup"}),
        )
        .await;
    dup.assert_error(StatusCode::CONFLICT, "WORKSPACE_CONFLICT");
    assert_eq!(app.get(&note_path, Some(&token)).await.body["data"], note);
}
db_test!(workspace_validation_errors_use_their_codes_and_change_nothing);

async fn another_tenants_objects_are_404_and_unchanged(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let a = app.admin_token().await;
    let b = app
        .user_token_in("other-tenant", "b@example.com", &["user"])
        .await;
    let note = create(
        &app,
        NOTES,
        &a,
        json!({"title": "A's", "content": "secret"}),
    )
    .await;
    let event = create(
        &app,
        CALENDAR,
        &a,
        json!({"title": "A's event", "start": "2024-05-01T10:00:00Z"}),
    )
    .await;
    let task = create(&app, KANBAN, &a, json!({"title": "A's task"})).await;
    let np = format!("{NOTES}/{}", note["id"].as_str().expect("id"));
    let ep = format!("{CALENDAR}/{}", event["id"].as_str().expect("id"));
    let tp = format!("{KANBAN}/{}", task["id"].as_str().expect("id"));

    for path in [&np, &ep, &tp] {
        app.get(path, Some(&b))
            .await
            .assert_error(StatusCode::NOT_FOUND, "WORKSPACE_ENTITY_NOT_FOUND");
        send(&app, Method::DELETE, path, &b, None, &[])
            .await
            .assert_error(StatusCode::NOT_FOUND, "WORKSPACE_ENTITY_NOT_FOUND");
    }
    for method in [Method::PATCH, Method::PUT] {
        send(
            &app,
            method,
            &np,
            &b,
            Some(json!({"content": "mine"})),
            &[("If-Match", "1")],
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "WORKSPACE_ENTITY_NOT_FOUND");
    }
    send(
        &app,
        Method::PATCH,
        &ep,
        &b,
        Some(json!({"title": "mine"})),
        &[],
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "WORKSPACE_ENTITY_NOT_FOUND");
    send(
        &app,
        Method::PATCH,
        &tp,
        &b,
        Some(json!({"title": "mine"})),
        &[],
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "WORKSPACE_ENTITY_NOT_FOUND");
    app.post(&format!("{tp}/move"), Some(&b), json!({"column": "done"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "WORKSPACE_ENTITY_NOT_FOUND");
    // B can neither link to A's objects nor see them in lists.
    let link = app
        .post(
            CALENDAR,
            Some(&b),
            json!({"title": "x", "date": "2024-05-01", "linked_note_ids": [note["id"]]}),
        )
        .await;
    link.assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    app.post(
        NOTES,
        Some(&b),
        json!({"calendar_event_ids": [event["id"]]}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    for list in [NOTES, CALENDAR, KANBAN] {
        let r = app.get(list, Some(&b)).await;
        assert_eq!(r.body["data"], json!([]), "{list}");
    }
    // B may use the same id in its own tenant without learning anything.
    let same_id = app
        .post(NOTES, Some(&b), json!({"id": note["id"], "title": "B's"}))
        .await;
    assert_eq!(same_id.status, StatusCode::CREATED, "{}", same_id.body);

    assert_eq!(app.get(&np, Some(&a)).await.body["data"], note);
    assert_eq!(app.get(&ep, Some(&a)).await.body["data"], event);
    assert_eq!(app.get(&tp, Some(&a)).await.body["data"], task);
}
db_test!(another_tenants_objects_are_404_and_unchanged);

// ---------------------------------------------------------------- calendar

async fn calendar_range_returns_events_overlapping_it(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let mk =
        |title: &str, start: &str, end: &str| json!({"title": title, "start": start, "end": end});
    let inside = create(
        &app,
        CALENDAR,
        &token,
        mk("inside", "2024-05-01T10:00:00Z", "2024-05-01T12:00:00Z"),
    )
    .await;
    let spanning = create(
        &app,
        CALENDAR,
        &token,
        mk(
            "spanning",
            "2024-04-30T22:00:00Z",
            "2024-05-02T02:00:00+00:00",
        ),
    )
    .await;
    let all_day = create(
        &app,
        CALENDAR,
        &token,
        json!({"title": "all day", "date": "2024-05-03", "color": "#ff8800"}),
    )
    .await;
    let before = create(
        &app,
        CALENDAR,
        &token,
        mk("before", "2024-04-01T00:00:00Z", "2024-04-30T21:59:59Z"),
    )
    .await;
    let ends_at_from = create(
        &app,
        CALENDAR,
        &token,
        mk("touches", "2024-04-30T20:00:00Z", "2024-05-01T00:00:00Z"),
    )
    .await;
    let id = |v: &Value| v["id"].as_str().expect("id").to_owned();

    assert_eq!(all_day["all_day"], true);
    assert_eq!(all_day["start"], "2024-05-03T00:00:00.000Z");
    assert_eq!(all_day["end"], "2024-05-03T23:59:59.999Z");
    assert_eq!(all_day["date"], "2024-05-03");
    assert_eq!(spanning["end"], "2024-05-02T02:00:00.000Z");

    let day = app
        .get(
            &format!("{CALENDAR}?from=2024-05-01&to=2024-05-01"),
            Some(&token),
        )
        .await;
    assert_eq!(
        ids(&day.body),
        vec![id(&ends_at_from), id(&spanning), id(&inside)],
        "by start; an event touching the range counts"
    );
    assert_eq!(day.body["meta"]["total"], 3);
    let later = app
        .get(
            &format!("{CALENDAR}?from=2024-05-02T03:00:00Z&to=2024-05-31"),
            Some(&token),
        )
        .await;
    assert_eq!(ids(&later.body), vec![id(&all_day)]);
    let open_end = app
        .get(
            &format!("{CALENDAR}?from=2024-05-02T01:00:00Z"),
            Some(&token),
        )
        .await;
    assert_eq!(ids(&open_end.body), vec![id(&spanning), id(&all_day)]);
    let open_start = app
        .get(&format!("{CALENDAR}?to=2024-04-30T21:00:00Z"), Some(&token))
        .await;
    assert_eq!(ids(&open_start.body), vec![id(&before), id(&ends_at_from)]);
    let (paged, pages) = all_pages(&app, &token, &format!("{CALENDAR}?limit=2")).await;
    assert_eq!(pages, 3);
    assert_eq!(
        paged,
        vec![
            id(&before),
            id(&ends_at_from),
            id(&spanning),
            id(&inside),
            id(&all_day)
        ]
    );
}
db_test!(calendar_range_returns_events_overlapping_it);

async fn calendar_events_validate_spans_and_links(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let note = create(&app, NOTES, &token, json!({"title": "prep"})).await;
    let cases = [
        (
            json!({"title": "t", "start": "2024-05-02T00:00:00Z", "end": "2024-05-01T00:00:00Z"}),
            "end",
        ),
        (json!({"start": "2024-05-01T00:00:00Z"}), "title"),
        (json!({"title": "   ", "date": "2024-05-01"}), "title"),
        (
            json!({"title": "x".repeat(121), "date": "2024-05-01"}),
            "title",
        ),
        (json!({"title": "t"}), "start"),
        (json!({"title": "t", "start": "May 1st"}), "start"),
        (json!({"title": "t", "date": "2024-13-01"}), "date"),
        (
            json!({"title": "t", "date": "2024-05-01", "color": "#12"}),
            "color",
        ),
        (
            json!({"title": "t", "date": "2024-05-01", "linked_note_ids": ["ghost"]}),
            "linked_note_ids",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(CALENDAR, Some(&token), body).await;
        r.assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
        assert!(
            r.body["error"]["details"]["fields"][field].is_array(),
            "{field}: {}",
            r.body
        );
    }
    assert_eq!(
        app.get(CALENDAR, Some(&token)).await.body["data"],
        json!([])
    );

    // The original's single `linked_note_id` still links.
    let ev = create(
        &app,
        CALENDAR,
        &token,
        json!({"title": "Raid", "date": "2024-05-01", "linked_note_id": note["id"]}),
    )
    .await;
    assert_eq!(ev["linked_note_ids"], json!([note["id"]]));
    assert_eq!(ev["linked_note_id"], note["id"]);
    let path = format!("{CALENDAR}/{}", ev["id"].as_str().expect("id"));
    let by_note = app
        .get(
            &format!("{CALENDAR}?note_id={}", note["id"].as_str().expect("id")),
            Some(&token),
        )
        .await;
    assert_eq!(ids(&by_note.body), vec![ev["id"].as_str().expect("id")]);

    // Moving the start keeps the duration; an end before the start is refused.
    let moved = app
        .call(
            Method::PATCH,
            &path,
            Some(&token),
            Some(json!({"start": "2024-06-01T00:00:00Z", "all_day": false})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["data"]["end"], "2024-06-01T23:59:59.999Z");
    assert_eq!(moved.body["data"]["all_day"], false);
    let bad = app
        .call(
            Method::PATCH,
            &path,
            Some(&token),
            Some(json!({"end": "2024-05-31T00:00:00Z"})),
        )
        .await;
    bad.assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    app.call(Method::PATCH, &path, Some(&token), Some(json!({})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    assert_eq!(
        app.get(&path, Some(&token)).await.body["data"],
        moved.body["data"]
    );

    // Deleting the note removes the link (no dangling ids).
    send(
        &app,
        Method::DELETE,
        &format!("{NOTES}/{}", note["id"].as_str().expect("id")),
        &token,
        None,
        &[],
    )
    .await;
    let after = app.get(&path, Some(&token)).await;
    assert_eq!(after.body["data"]["linked_note_ids"], json!([]));
    assert_eq!(after.body["data"]["linked_note_id"], Value::Null);
}
db_test!(calendar_events_validate_spans_and_links);

// ---------------------------------------------------------------- kanban

/// `(title, order)` of a column, in board order.
async fn column(app: &TestApp, token: &str, status: &str) -> Vec<(String, i64)> {
    let r = app
        .get(&format!("{KANBAN}?status={status}"), Some(token))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|t| {
            (
                t["title"].as_str().expect("title").to_owned(),
                t["order"].as_i64().expect("order"),
            )
        })
        .collect()
}

fn titles(col: &[(String, i64)]) -> Vec<&str> {
    col.iter().map(|(t, _)| t.as_str()).collect()
}

fn dense(col: &[(String, i64)]) -> bool {
    col.iter().zip(0..).all(|((_, o), i)| *o == i)
}

async fn kanban_moves_renumber_both_columns(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let mut ids_by_title = std::collections::HashMap::new();
    for (title, status) in [
        ("A", "todo"),
        ("B", "todo"),
        ("C", "todo"),
        ("D", "todo"),
        ("X", "in_progress"),
        ("Y", "in_progress"),
    ] {
        let t = create(
            &app,
            KANBAN,
            &token,
            json!({"title": title, "status": status}),
        )
        .await;
        ids_by_title.insert(title, t["id"].as_str().expect("id").to_owned());
    }
    let mv = |title: &str| format!("{KANBAN}/{}/move", ids_by_title[title]);
    assert_eq!(
        titles(&column(&app, &token, "todo").await),
        ["A", "B", "C", "D"]
    );

    let r = app
        .post(
            &mv("B"),
            Some(&token),
            json!({"column": "in_progress", "position": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["status"], "in_progress");
    assert_eq!(r.body["data"]["order"], 1);
    let todo = column(&app, &token, "todo").await;
    let doing = column(&app, &token, "in_progress").await;
    assert_eq!(titles(&todo), ["A", "C", "D"]);
    assert_eq!(titles(&doing), ["X", "B", "Y"]);
    assert!(dense(&todo) && dense(&doing), "{todo:?} {doing:?}");

    // Within a column, up and down.
    app.post(
        &mv("D"),
        Some(&token),
        json!({"column": "todo", "position": 0}),
    )
    .await;
    assert_eq!(
        column(&app, &token, "todo").await,
        [("D".into(), 0), ("A".into(), 1), ("C".into(), 2)]
    );
    app.post(
        &mv("D"),
        Some(&token),
        json!({"column": "todo", "position": 2}),
    )
    .await;
    assert_eq!(titles(&column(&app, &token, "todo").await), ["A", "C", "D"]);
    // Past the end (or no position) means last; `status` is accepted for `column`.
    app.post(
        &mv("X"),
        Some(&token),
        json!({"status": "done", "position": 99}),
    )
    .await;
    app.post(&mv("A"), Some(&token), json!({"column": "done"}))
        .await;
    assert_eq!(titles(&column(&app, &token, "done").await), ["X", "A"]);
    let doing = column(&app, &token, "in_progress").await;
    assert_eq!(doing, [("B".into(), 0), ("Y".into(), 1)]);

    // PATCH with a new column moves like /move; a created task can take a position.
    let patched = app
        .call(
            Method::PATCH,
            &format!("{KANBAN}/{}", ids_by_title["C"]),
            Some(&token),
            Some(json!({"status": "in_progress", "order": 0, "title": "C2"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    create(
        &app,
        KANBAN,
        &token,
        json!({"title": "Z", "status": "todo", "order": 0}),
    )
    .await;
    assert_eq!(
        column(&app, &token, "todo").await,
        [("Z".into(), 0), ("D".into(), 1)]
    );
    assert_eq!(
        column(&app, &token, "in_progress").await,
        [("C2".into(), 0), ("B".into(), 1), ("Y".into(), 2)]
    );
    // Deleting closes the gap.
    send(
        &app,
        Method::DELETE,
        &format!("{KANBAN}/{}", ids_by_title["B"]),
        &token,
        None,
        &[],
    )
    .await;
    assert_eq!(
        column(&app, &token, "in_progress").await,
        [("C2".into(), 0), ("Y".into(), 1)]
    );

    // The whole board: by column, then position; pages join up.
    let board = app.get(KANBAN, Some(&token)).await;
    let board_titles: Vec<&str> = board.body["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|t| t["title"].as_str().expect("title"))
        .collect();
    assert_eq!(board_titles, ["Z", "D", "C2", "Y", "X", "A"]);
    let (paged, pages) = all_pages(&app, &token, &format!("{KANBAN}?limit=4")).await;
    assert_eq!(pages, 2);
    assert_eq!(paged, ids(&board.body));
}
db_test!(kanban_moves_renumber_both_columns);

async fn concurrent_kanban_moves_keep_positions_dense(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let mut ids_list = Vec::new();
    for i in 0..6 {
        let t = create(&app, KANBAN, &token, json!({"title": format!("t{i}")})).await;
        ids_list.push(t["id"].as_str().expect("id").to_owned());
    }
    let moves = ids_list.iter().enumerate().map(|(i, id)| {
        let body = if i % 2 == 0 {
            json!({"column": "done", "position": 0})
        } else {
            json!({"column": "todo", "position": 0})
        };
        let path = format!("{KANBAN}/{id}/move");
        let token = token.clone();
        let app = &app;
        async move { app.post(&path, Some(&token), body).await }
    });
    for r in futures::future::join_all(moves).await {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let todo = column(&app, &token, "todo").await;
    let done = column(&app, &token, "done").await;
    assert_eq!(todo.len(), 3);
    assert_eq!(done.len(), 3);
    assert!(dense(&todo) && dense(&done), "{todo:?} {done:?}");
}
db_test!(concurrent_kanban_moves_keep_positions_dense);

async fn kanban_tasks_validate_their_fields(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.admin_token().await;
    let task = create(
        &app,
        KANBAN,
        &token,
        json!({"title": "Ship", "due_date": "2024-05-10", "labels": ["a", "b", "a"], "column": "done"}),
    )
    .await;
    assert_eq!(task["status"], "done");
    assert_eq!(task["order"], 0);
    assert_eq!(task["labels"], json!(["a", "b"]));
    assert_eq!(task["due_date"], "2024-05-10");
    let path = format!("{KANBAN}/{}", task["id"].as_str().expect("id"));
    for (body, field) in [
        (json!({}), "title"),
        (json!({"title": "t", "order": -1}), "order"),
        (json!({"title": "t", "due_date": "10.05.2024"}), "due_date"),
        (json!({"title": "t", "labels": ["x".repeat(41)]}), "labels"),
    ] {
        let r = app.post(KANBAN, Some(&token), body).await;
        r.assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
        assert!(
            r.body["error"]["details"]["fields"][field].is_array(),
            "{field}: {}",
            r.body
        );
    }
    app.post(
        KANBAN,
        Some(&token),
        json!({"title": "t", "status": "blocked"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    app.post(
        &format!("{path}/move"),
        Some(&token),
        json!({"column": "later"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    app.post(
        &format!("{path}/move"),
        Some(&token),
        json!({"column": "todo", "position": -2}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    app.call(Method::PATCH, &path, Some(&token), Some(json!({})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "WORKSPACE_INVALID_BODY");
    app.post(
        &format!("{KANBAN}/no-such-task/move"),
        Some(&token),
        json!({"column": "todo"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "WORKSPACE_ENTITY_NOT_FOUND");
    assert_eq!(app.get(&path, Some(&token)).await.body["data"], task);
    let cleared = app
        .call(
            Method::PATCH,
            &path,
            Some(&token),
            Some(json!({"due_date": null})),
        )
        .await;
    assert_eq!(cleared.body["data"]["due_date"], Value::Null);
}
db_test!(kanban_tasks_validate_their_fields);
