//! Bots: CRUD, validation, tenant isolation, lifecycle, schedule, links to resources, lists
//! and the fleet summary, on both databases.

mod common;
mod seed;

use common::{Db, TestApp};
use reqwest::StatusCode;
use seed::{
    assert_fields, bot, data, delete, get, ids, in_days, patch, put, resource, sorted, walk,
};
use serde_json::{Value, json};

fn full_bot() -> Value {
    json!({
        "name": "Farmer One",
        "project_id": "wow_tbc",
        "status": "prepare",
        "last_seen": 1_700_000_000_000i64,
        "vm": {"uuid": "4C4C4544-0042-3510-8051-B7C04F4E3332", "name": "wow-01", "ip": "10.0.0.21"},
        "character": {"name": "Thrall", "level": 12, "server": "Firemaw", "faction": "Horde", "race": "Orc", "class": "Shaman"},
        "person": {"first_name": "Ada", "last_name": "Lovelace", "birth_date": "10-12-1990", "country": "Ukraine", "city": "Kyiv", "address": "Main 1", "zip": "01001"},
        "account": {"email": "ada@example.com", "password": "s3cret pass", "bnet_created_at": "2024-05-01T10:00:00Z"},
        "generation_locks": {"person_data": true},
        "metadata": {"farm": {"all_farmed_gold": 1200}},
    })
}

async fn create_read_update_delete_keeps_typed_fields(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let created = app.post("/api/v1/bots", Some(&admin), full_bot()).await;
    let b = data(&created, StatusCode::CREATED);
    let id = b["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 36, "a generated UUID: {id}");
    assert_eq!(b["status"], "prepare");
    assert_eq!(b["lifecycle"]["current_stage"], "prepare");
    assert_eq!(b["last_seen"], "2023-11-14T22:13:20.000Z");
    assert_eq!(b["vm"]["uuid"], "4c4c4544-0042-3510-8051-b7c04f4e3332");
    assert_eq!(b["character"]["faction"], "horde");
    assert_eq!(b["character"]["level"], 12);
    assert_eq!(b["person"]["birth_date"], "10-12-1990");
    assert_eq!(
        b["account"]["password"], "s3cret pass",
        "admins read secrets"
    );
    assert_eq!(b["account"]["bnet_created_at"], "2024-05-01T10:00:00.000Z");
    assert_eq!(b["generation_locks"]["person_data"], true);
    assert_eq!(b["generation_locks"]["schedule"], false);
    assert_eq!(b["metadata"]["farm"]["all_farmed_gold"], 1200);
    assert_eq!(b["subscription_ids"], json!([]));
    assert_eq!(get(&app, &format!("/api/v1/bots/{id}"), &admin).await, b);

    // PATCH merges: absent stays, null clears, sub-objects are replaced whole.
    let path = format!("/api/v1/bots/{id}");
    let p = data(
        &patch(
            &app,
            &path,
            &admin,
            json!({"name": "Renamed", "person": null, "character": {"name": "Jaina"}}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(p["name"], "Renamed");
    assert_eq!(p["person"], Value::Null);
    assert_eq!(
        p["character"],
        json!({"name": "Jaina", "level": null, "server": null, "faction": null, "race": null, "class": null})
    );
    assert_eq!(p["project_id"], "wow_tbc");
    assert_eq!(p["account"]["email"], "ada@example.com");
    assert!(p["updated_at"].as_str() >= b["updated_at"].as_str());
    // PUT is the same merge.
    let q = data(
        &put(&app, &path, &admin, json!({"project_id": "wow_midnight"})).await,
        StatusCode::OK,
    );
    assert_eq!(q["project_id"], "wow_midnight");
    assert_eq!(q["name"], "Renamed");

    let gone = data(&delete(&app, &path, &admin).await, StatusCode::OK);
    assert_eq!(gone, json!({"id": id, "deleted": true}));
    app.get(&path, Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BOT_NOT_FOUND");
    delete(&app, &path, &admin)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BOT_NOT_FOUND");
    app.get("/api/v1/bots", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
}
db_test!(create_read_update_delete_keeps_typed_fields);

async fn invalid_bodies_are_refused_with_field_details_and_change_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let cases = [
        (json!({}), vec!["_"]),
        (json!({"status": "banned"}), vec!["status"]),
        (
            json!({"status": "flying", "project_id": "Not A Slug"}),
            vec!["status", "project_id"],
        ),
        (json!({"id": "bad id!", "name": "   "}), vec!["id", "name"]),
        (
            json!({"vm": {"uuid": "not-a-uuid", "ip": "300.1.1.1"}}),
            vec!["vm.uuid", "vm.ip"],
        ),
        (json!({"vm": {"ip": "10.0.0.1"}}), vec!["vm"]),
        (
            json!({"character": {"level": 0, "faction": "pirates"}}),
            vec!["character.level", "character.faction"],
        ),
        (
            json!({"person": {"birth_date": "31-02-2020"}}),
            vec!["person.birth_date"],
        ),
        (json!({"account": {"email": "nope"}}), vec!["account.email"]),
        (json!({"license_id": "no-such-license"}), vec!["license_id"]),
        (
            json!({"subscription_ids": ["ok", "bad id"]}),
            vec!["subscription_ids"],
        ),
        (
            json!({"schedule": {"days": {"1": {"sessions": [{"start": "10:00", "end": "10:05"}]}}}}),
            vec!["schedule.days.1.sessions.0"],
        ),
    ];
    for (body, fields) in cases {
        let r = app.post("/api/v1/bots", Some(&admin), body.clone()).await;
        assert_fields(
            &r,
            StatusCode::BAD_REQUEST,
            "BOTS_INVALID_MUTATION_BODY",
            &fields,
        );
    }
    app.post("/api/v1/bots", Some(&admin), json!([1, 2]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BOTS_INVALID_MUTATION_BODY");
    app.post(
        "/api/v1/bots",
        Some(&admin),
        json!({"last_seen": "yesterday"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "BOTS_INVALID_MUTATION_BODY");
    let malformed = app
        .http
        .post(app.url("/api/v1/bots"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .expect("sent");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        get(&app, "/api/v1/bots", &admin).await,
        json!([]),
        "nothing was created"
    );

    // Bad updates leave the bot as it was.
    let id = bot(&app, &admin, json!({"name": "Keep"})).await;
    let path = format!("/api/v1/bots/{id}");
    let before = get(&app, &path, &admin).await;
    assert_fields(
        &patch(&app, &path, &admin, json!({})).await,
        StatusCode::BAD_REQUEST,
        "BOTS_INVALID_MUTATION_BODY",
        &["_"],
    );
    assert_fields(
        &patch(
            &app,
            &path,
            &admin,
            json!({"name": "Changed", "proxy_id": "ghost"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "BOTS_INVALID_MUTATION_BODY",
        &["proxy_id"],
    );
    assert_eq!(get(&app, &path, &admin).await, before);
    app.get("/api/v1/bots/bad%20id", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BOTS_INVALID_ID");
}
db_test!(invalid_bodies_are_refused_with_field_details_and_change_nothing);

async fn chosen_ids_are_kept_and_a_duplicate_conflicts(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let id = bot(
        &app,
        &admin,
        json!({"id": "bot-m7x0-a1b2c3", "name": "First"}),
    )
    .await;
    assert_eq!(id, "bot-m7x0-a1b2c3");
    app.post(
        "/api/v1/bots",
        Some(&admin),
        json!({"id": "bot-m7x0-a1b2c3", "name": "Second"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "BOT_ALREADY_EXISTS");
    assert_eq!(
        get(&app, "/api/v1/bots/bot-m7x0-a1b2c3", &admin).await["name"],
        "First"
    );
    // An id in an update body is ignored: the path names the bot.
    let p = data(
        &patch(
            &app,
            "/api/v1/bots/bot-m7x0-a1b2c3",
            &admin,
            json!({"id": "other", "name": "Third"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(p["id"], "bot-m7x0-a1b2c3");
}
db_test!(chosen_ids_are_kept_and_a_duplicate_conflicts);

async fn another_tenants_bot_is_not_found_and_stays_unchanged(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let a = app.admin_token().await;
    let b = app
        .user_token_in("acme", "boss@acme.test", &["admin"])
        .await;
    let id = bot(
        &app,
        &a,
        json!({"id": "shared-id", "name": "Mine", "status": "farming"}),
    )
    .await;
    let path = format!("/api/v1/bots/{id}");
    let before = get(&app, &path, &a).await;

    for r in [
        app.get(&path, Some(&b)).await,
        patch(&app, &path, &b, json!({"name": "Stolen"})).await,
        put(&app, &path, &b, json!({"name": "Stolen"})).await,
        app.post(
            &format!("{path}/lifecycle/transition"),
            Some(&b),
            json!({"status": "offline"}),
        )
        .await,
        app.post(
            &format!("{path}/lifecycle/ban"),
            Some(&b),
            json!({"ban_reason": "x", "ban_mechanism": "other"}),
        )
        .await,
        app.post(&format!("{path}/lifecycle/unban"), Some(&b), json!({}))
            .await,
        app.post(&format!("{path}/lifecycle/archive"), Some(&b), json!({}))
            .await,
        app.post(&format!("{path}/lifecycle/unarchive"), Some(&b), json!({}))
            .await,
        app.get(&format!("{path}/lifecycle"), Some(&b)).await,
        app.get(&format!("{path}/lifecycle/transitions"), Some(&b))
            .await,
        app.get(&format!("{path}/lifecycle/is-banned"), Some(&b))
            .await,
        app.get(&format!("{path}/schedule"), Some(&b)).await,
        put(&app, &format!("{path}/schedule"), &b, json!({"days": {}})).await,
        delete(&app, &path, &b).await,
    ] {
        r.assert_error(StatusCode::NOT_FOUND, "BOT_NOT_FOUND");
    }
    assert_eq!(get(&app, "/api/v1/bots", &b).await, json!([]));
    assert_eq!(get(&app, "/api/v1/bots/summary", &b).await["total"], 0);
    assert_eq!(get(&app, &path, &a).await, before, "unchanged");
    // Ids are per tenant: the other tenant may use the same one for its own bot.
    bot(&app, &b, json!({"id": "shared-id", "name": "Theirs"})).await;
    assert_eq!(get(&app, &path, &a).await["name"], "Mine");
    assert_eq!(get(&app, &path, &b).await["name"], "Theirs");
    // Nor can a bot link a resource of another tenant.
    let lic = resource(&app, &a, "licenses", json!({"key": "K-1"})).await;
    assert_fields(
        &patch(&app, &path, &b, json!({"license_id": lic})).await,
        StatusCode::BAD_REQUEST,
        "BOTS_INVALID_MUTATION_BODY",
        &["license_id"],
    );
}
db_test!(another_tenants_bot_is_not_found_and_stays_unchanged);

async fn transitions_follow_the_lifecycle_rules(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let id = bot(&app, &admin, json!({"status": "prepare"})).await;
    let path = format!("/api/v1/bots/{id}");
    let go = |status: &'static str| {
        let app = &app;
        let admin = admin.clone();
        let url = format!("{path}/lifecycle/transition");
        async move {
            app.post(&url, Some(&admin), json!({"status": status}))
                .await
        }
    };

    let b = data(&go("leveling").await, StatusCode::OK);
    assert_eq!(b["status"], "leveling");
    assert_eq!(b["lifecycle"]["previous_status"], "prepare");
    assert_eq!(b["lifecycle"]["current_stage"], "leveling");
    // The same status again changes nothing.
    let same = data(&go("leveling").await, StatusCode::OK);
    assert_eq!(same["updated_at"], b["updated_at"]);
    // Offline pauses the bot without leaving its stage.
    let off = data(&go("offline").await, StatusCode::OK);
    assert_eq!(off["lifecycle"]["current_stage"], "leveling");
    data(&go("farming").await, StatusCode::OK);

    go("banned")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BOTS_TRANSITION_VALIDATION_FAILED");
    go("archived")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BOTS_TRANSITION_VALIDATION_FAILED");
    assert_fields(
        &go("flying").await,
        StatusCode::BAD_REQUEST,
        "BOTS_INVALID_TRANSITION_BODY",
        &["status"],
    );
    app.post(
        &format!("{path}/lifecycle/transition"),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "BOTS_INVALID_TRANSITION_BODY");
    // A refused target is refused even for a bot that does not exist; a valid one is a 404.
    app.post(
        "/api/v1/bots/ghost/lifecycle/transition",
        Some(&admin),
        json!({"status": "banned"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "BOTS_TRANSITION_VALIDATION_FAILED");
    app.post(
        "/api/v1/bots/ghost/lifecycle/transition",
        Some(&admin),
        json!({"status": "farming"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "BOT_NOT_FOUND");
    // PATCH with a status is the same transition, logged the same way.
    let p = data(
        &patch(&app, &path, &admin, json!({"status": "profession"})).await,
        StatusCode::OK,
    );
    assert_eq!(p["lifecycle"]["previous_status"], "farming");

    let life = get(&app, &format!("{path}/lifecycle"), &admin).await;
    let kinds: Vec<&str> = life["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "status_change",
            "status_change",
            "status_change",
            "status_change"
        ]
    );
    assert_eq!(
        life["history"][4]["message"],
        "Status changed from farming to profession"
    );
    let stages: Vec<(String, String)> = life["stage_transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .map(|t| {
            (
                t["from"].as_str().expect("from").to_owned(),
                t["to"].as_str().expect("to").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        [
            ("create", "prepare"),
            ("prepare", "leveling"),
            ("leveling", "farming"),
            ("farming", "profession")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(
        get(&app, &format!("{path}/lifecycle/transitions"), &admin).await,
        life["stage_transitions"]
    );
}
db_test!(transitions_follow_the_lifecycle_rules);

async fn ban_then_unban_restores_previous_status(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let id = bot(&app, &admin, json!({"status": "farming"})).await;
    let path = format!("/api/v1/bots/{id}");
    let ban_url = format!("{path}/lifecycle/ban");

    for (body, fields) in [
        (json!({"ban_mechanism": "other"}), vec![]),
        (
            json!({"ban_reason": "  ", "ban_mechanism": "laser"}),
            vec!["ban_reason", "ban_mechanism"],
        ),
        (
            json!({"ban_reason": "x", "ban_mechanism": "other", "ban_date": "32.01.2025"}),
            vec!["ban_date"],
        ),
        (
            json!({"ban_reason": "x", "ban_mechanism": "other", "ban_date": "2025-01-31"}),
            vec!["ban_date"],
        ),
    ] {
        let r = app.post(&ban_url, Some(&admin), body).await;
        assert_fields(
            &r,
            StatusCode::BAD_REQUEST,
            "BOTS_INVALID_BAN_BODY",
            &fields,
        );
    }
    assert_eq!(
        get(&app, &path, &admin).await["status"],
        "farming",
        "bad bans change nothing"
    );

    let banned = data(
        &app.post(&ban_url, Some(&admin), json!({"ban_date": "15.03.2025", "ban_reason": "Detected by warden", "ban_mechanism": "game_suspension"})).await,
        StatusCode::OK,
    );
    assert_eq!(banned["status"], "banned");
    assert_eq!(banned["lifecycle"]["current_stage"], "banned");
    assert_eq!(banned["lifecycle"]["pre_ban_status"], "farming");
    let details = &banned["lifecycle"]["ban_details"];
    assert_eq!(details["ban_date"], "15.03.2025");
    assert_eq!(details["ban_timestamp"], "2025-03-15T00:00:00.000Z");
    assert_eq!(details["ban_mechanism"], "game_suspension");
    assert_eq!(details["unbanned_at"], Value::Null);
    assert_eq!(
        get(&app, &format!("{path}/lifecycle/is-banned"), &admin).await,
        json!({"banned": true})
    );

    // While banned, plain transitions are refused; a second ban only updates the details.
    app.post(
        &format!("{path}/lifecycle/transition"),
        Some(&admin),
        json!({"status": "offline"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "BOTS_TRANSITION_VALIDATION_FAILED");
    let reban = data(
        &app.post(
            &ban_url,
            Some(&admin),
            json!({"ban_reason": "Appeal lost", "ban_mechanism": "other"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(reban["lifecycle"]["pre_ban_status"], "farming");
    assert_eq!(
        reban["lifecycle"]["ban_details"]["ban_reason"],
        "Appeal lost"
    );

    let unbanned = data(
        &app.post(
            &format!("{path}/lifecycle/unban"),
            Some(&admin),
            json!({"ignored": true}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(unbanned["status"], "farming");
    assert_eq!(unbanned["lifecycle"]["current_stage"], "farming");
    assert_eq!(unbanned["lifecycle"]["previous_status"], "banned");
    assert!(
        unbanned["lifecycle"]["ban_details"]["unbanned_at"].is_string(),
        "the ban stays as history"
    );
    app.post(&format!("{path}/lifecycle/unban"), Some(&admin), json!({}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BOTS_UNBAN_VALIDATION_FAILED");
    assert_eq!(
        get(&app, &format!("{path}/lifecycle/is-banned"), &admin).await,
        json!({"banned": false})
    );

    let life = get(&app, &format!("{path}/lifecycle"), &admin).await;
    let kinds: Vec<&str> = life["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(kinds, ["created", "ban", "ban", "unban"]);
    assert_eq!(
        life["history"][1]["message"],
        "Bot banned: Detected by warden"
    );
    assert_eq!(life["history"][3]["details"]["restored_status"], "farming");
    assert!(life["history"][1]["actor"].is_string());

    // A bot banned while offline comes back offline.
    let idle = bot(&app, &admin, json!({"status": "offline"})).await;
    app.post(
        &format!("/api/v1/bots/{idle}/lifecycle/ban"),
        Some(&admin),
        json!({"ban_reason": "x", "ban_mechanism": "ip_ban"}),
    )
    .await;
    let back = data(
        &app.post(
            &format!("/api/v1/bots/{idle}/lifecycle/unban"),
            Some(&admin),
            json!({}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(back["status"], "offline");
}
db_test!(ban_then_unban_restores_previous_status);

async fn archive_hides_a_bot_until_unarchived(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let keep = bot(
        &app,
        &admin,
        json!({"name": "active one", "status": "leveling"}),
    )
    .await;
    let old = bot(
        &app,
        &admin,
        json!({"name": "old one", "status": "farming"}),
    )
    .await;
    let path = format!("/api/v1/bots/{old}");

    let archived = data(
        &app.post(
            &format!("{path}/lifecycle/archive"),
            Some(&admin),
            json!({"reason": "season over"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(archived["status"], "archived");
    assert_eq!(archived["lifecycle"]["archive_reason"], "season over");
    assert!(archived["lifecycle"]["archived_at"].is_string());
    // Archiving again changes nothing; an empty body is fine.
    let again = data(
        &app.post(
            &format!("{path}/lifecycle/archive"),
            Some(&admin),
            Value::Null,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(again["updated_at"], archived["updated_at"]);

    assert_eq!(ids(&app, "/api/v1/bots", &admin).await, sorted(&[&keep]));
    assert_eq!(
        ids(&app, "/api/v1/bots?include_archived=true", &admin).await,
        sorted(&[&keep, &old])
    );
    assert_eq!(
        ids(&app, "/api/v1/bots?status=archived", &admin).await,
        sorted(&[&old])
    );

    app.post(
        &format!("{path}/lifecycle/transition"),
        Some(&admin),
        json!({"status": "farming"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "BOTS_TRANSITION_VALIDATION_FAILED");
    app.post(
        &format!("{path}/lifecycle/ban"),
        Some(&admin),
        json!({"ban_reason": "x", "ban_mechanism": "other"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "BOTS_TRANSITION_VALIDATION_FAILED");
    assert_fields(
        &app.post(
            &format!("{path}/lifecycle/archive"),
            Some(&admin),
            json!({"reason": "x".repeat(1001)}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "BOTS_INVALID_ARCHIVE_BODY",
        &["reason"],
    );

    let restored = data(
        &app.post(
            &format!("{path}/lifecycle/unarchive"),
            Some(&admin),
            json!({}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(restored["status"], "farming");
    assert_eq!(restored["lifecycle"]["archived_at"], Value::Null);
    app.post(
        &format!("{path}/lifecycle/unarchive"),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "BOTS_TRANSITION_VALIDATION_FAILED");

    // A banned bot archived and unarchived is still banned, and unban still restores.
    app.post(
        &format!("{path}/lifecycle/ban"),
        Some(&admin),
        json!({"ban_reason": "x", "ban_mechanism": "hardware_ban"}),
    )
    .await;
    app.post(
        &format!("{path}/lifecycle/archive"),
        Some(&admin),
        json!({}),
    )
    .await;
    let back = data(
        &app.post(
            &format!("{path}/lifecycle/unarchive"),
            Some(&admin),
            json!({}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(back["status"], "banned");
    let unbanned = data(
        &app.post(&format!("{path}/lifecycle/unban"), Some(&admin), json!({}))
            .await,
        StatusCode::OK,
    );
    assert_eq!(unbanned["status"], "farming");
}
db_test!(archive_hides_a_bot_until_unarchived);

async fn schedule_windows_are_validated_and_overlaps_refused(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let id = bot(&app, &admin, json!({"name": "Scheduled"})).await;
    let path = format!("/api/v1/bots/{id}/schedule");

    let empty = get(&app, &path, &admin).await;
    assert_eq!(empty["days"].as_object().expect("days").len(), 7);
    assert_eq!(
        empty["days"]["0"],
        json!({"enabled": false, "sessions": []})
    );

    let week = json!({
        "timezone": "Europe/Kyiv",
        "days": {
            "1": {"sessions": [
                {"id": "eve", "start": "18:00", "end": "20:00", "profile": "farming"},
                {"id": "morning", "start": "08:00", "end": "12:00", "type": "break"}
            ]},
            "5": {"sessions": [{"id": "night", "start": "22:00", "end": "02:00"}]},
            "6": {"sessions": [{"id": "late", "start": "02:00", "end": "04:00"}]}
        },
        "allowedWindows": [{"start": "07:00", "end": "23:30"}]
    });
    let saved = data(&put(&app, &path, &admin, week).await, StatusCode::OK);
    assert_eq!(saved["timezone"], "Europe/Kyiv");
    assert_eq!(saved["days"]["1"]["enabled"], true);
    assert_eq!(
        saved["days"]["1"]["sessions"][0]["id"], "morning",
        "sorted by start"
    );
    assert_eq!(saved["days"]["1"]["sessions"][0]["type"], "break");
    assert_eq!(saved["days"]["1"]["sessions"][1]["type"], "active");
    assert_eq!(
        saved["allowed_windows"],
        json!([{"start": "07:00", "end": "23:30"}])
    );
    assert_eq!(get(&app, &path, &admin).await, saved);
    assert_eq!(
        get(&app, &format!("/api/v1/bots/{id}"), &admin).await["schedule"],
        saved
    );

    let bad = |days: Value| json!({"days": days});
    let cases = [
        (
            bad(
                json!({"2": {"sessions": [{"start": "08:00", "end": "10:00"}, {"start": "09:30", "end": "11:00"}]}}),
            ),
            vec!["days.2.sessions.1"],
        ),
        (
            bad(json!({"2": {"sessions": [{"start": "8:00", "end": "24:00"}]}})),
            vec!["days.2.sessions.0.start", "days.2.sessions.0.end"],
        ),
        (
            bad(json!({"2": {"sessions": [{"start": "08:00", "end": "08:00"}]}})),
            vec!["days.2.sessions.0.end"],
        ),
        (
            bad(json!({"2": {"sessions": [{"start": "08:00", "end": "08:10"}]}})),
            vec!["days.2.sessions.0"],
        ),
        (
            bad(json!({"2": {"sessions": [{"start": "08:00", "end": "09:00", "type": "nap"}]}})),
            vec!["days.2.sessions.0.type"],
        ),
        (bad(json!({"7": {"sessions": []}})), vec!["days.7"]),
        // Friday night runs into Saturday morning.
        (
            bad(
                json!({"5": {"sessions": [{"start": "23:00", "end": "03:00"}]}, "6": {"sessions": [{"start": "02:00", "end": "05:00"}]}}),
            ),
            vec!["days.6.sessions.0"],
        ),
        (
            json!({"allowed_windows": [{"start": "07:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]}),
            vec!["allowed_windows.1"],
        ),
    ];
    for (body, fields) in cases {
        let r = put(&app, &path, &admin, body.clone()).await;
        assert_fields(
            &r,
            StatusCode::BAD_REQUEST,
            "BOTS_INVALID_SCHEDULE_BODY",
            &fields,
        );
    }
    let crowded: Vec<Value> = (0..25)
        .map(|i| json!({"start": format!("{:02}:{:02}", i * 57 / 60, i * 57 % 60), "end": format!("{:02}:{:02}", (i * 57 + 20) / 60, (i * 57 + 20) % 60)}))
        .collect();
    assert_fields(
        &put(
            &app,
            &path,
            &admin,
            bad(json!({"3": {"sessions": crowded}})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "BOTS_INVALID_SCHEDULE_BODY",
        &["days.3.sessions"],
    );
    assert_eq!(
        get(&app, &path, &admin).await,
        saved,
        "refused schedules change nothing"
    );
    // The same rules apply to a schedule inside a bot body.
    assert_fields(
        &patch(&app, &format!("/api/v1/bots/{id}"), &admin, json!({"schedule": bad(json!({"0": {"sessions": [{"start": "01:00", "end": "03:00"}, {"start": "02:00", "end": "04:00"}]}}))})).await,
        StatusCode::BAD_REQUEST,
        "BOTS_INVALID_MUTATION_BODY",
        &["schedule.days.0.sessions.1"],
    );
    let cleared = data(
        &patch(
            &app,
            &format!("/api/v1/bots/{id}"),
            &admin,
            json!({"schedule": null}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(cleared["schedule"], Value::Null);
}
db_test!(schedule_windows_are_validated_and_overlaps_refused);

async fn lists_filter_by_project_status_and_text(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let a = bot(&app, &admin, json!({"project_id": "wow_tbc", "status": "farming", "character": {"name": "Arthas", "server": "Gehennas"}})).await;
    let b = bot(&app, &admin, json!({"project_id": "wow_tbc", "status": "leveling", "account": {"email": "Sylvanas@Example.com"}})).await;
    let c = bot(
        &app,
        &admin,
        json!({"project_id": "wow_midnight", "status": "farming", "vm": {"name": "VM-50%off"}}),
    )
    .await;
    let d = bot(&app, &admin, json!({"name": "plain"})).await;

    assert_eq!(
        ids(&app, "/api/v1/bots?project_id=wow_tbc", &admin).await,
        sorted(&[&a, &b])
    );
    assert_eq!(
        ids(&app, "/api/v1/bots?status=farming", &admin).await,
        sorted(&[&a, &c])
    );
    assert_eq!(
        ids(
            &app,
            "/api/v1/bots?status=farming&project_id=wow_tbc",
            &admin
        )
        .await,
        sorted(&[&a])
    );
    assert_eq!(
        ids(&app, "/api/v1/bots?q=arTHAS", &admin).await,
        sorted(&[&a])
    );
    assert_eq!(
        ids(&app, "/api/v1/bots?q=gehennas", &admin).await,
        sorted(&[&a])
    );
    assert_eq!(
        ids(&app, "/api/v1/bots?q=sylvanas%40example", &admin).await,
        sorted(&[&b])
    );
    assert_eq!(
        ids(&app, "/api/v1/bots?q=50%25", &admin).await,
        sorted(&[&c]),
        "% is literal"
    );
    assert_eq!(
        ids(&app, "/api/v1/bots?q=_", &admin).await,
        Vec::<String>::new(),
        "_ is literal"
    );
    assert_eq!(
        ids(
            &app,
            &format!("/api/v1/bots?q={}", &d[d.len() - 12..]),
            &admin
        )
        .await,
        sorted(&[&d]),
        "the id is searched too"
    );
    assert_eq!(
        ids(&app, "/api/v1/bots", &admin).await,
        sorted(&[&a, &b, &c, &d])
    );

    for bad in [
        "status=flying",
        "limit=0",
        "limit=501",
        "limit=x",
        "cursor=garbage",
        "include_archived=maybe",
    ] {
        app.get(&format!("/api/v1/bots?{bad}"), Some(&admin))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BOTS_INVALID_LIST_QUERY");
    }
}
db_test!(lists_filter_by_project_status_and_text);

async fn pages_cover_every_bot_once(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let mut created = Vec::new();
    for i in 0..23 {
        let project = if i % 3 == 0 {
            "wow_midnight"
        } else {
            "wow_tbc"
        };
        created.push(
            bot(
                &app,
                &admin,
                json!({"name": format!("bot {i}"), "project_id": project}),
            )
            .await,
        );
    }
    let (seen, pages) = walk(&app, "/api/v1/bots?", &admin, 5).await;
    assert_eq!(pages, 5);
    let mut expected = created.clone();
    expected.reverse();
    assert_eq!(seen, expected, "newest first, every bot exactly once");
    // A bot created mid-walk does not disturb the pages after the cursor.
    let first = app.get("/api/v1/bots?limit=10", Some(&admin)).await;
    let cursor = first.body["meta"]["next_cursor"]
        .as_str()
        .expect("more")
        .to_owned();
    bot(&app, &admin, json!({"name": "late"})).await;
    let (rest, _) = walk(&app, &format!("/api/v1/bots?cursor={cursor}"), &admin, 50).await;
    assert_eq!(rest, expected[10..].to_vec());
    let (tbc, _) = walk(&app, "/api/v1/bots?project_id=wow_tbc", &admin, 4).await;
    assert_eq!(tbc.len(), 15);
}
db_test!(pages_cover_every_bot_once);

async fn resource_links_are_validated_and_shown_on_both_sides(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let lic = resource(
        &app,
        &admin,
        "licenses",
        json!({"key": "SIN-AAA", "type": "SIN"}),
    )
    .await;
    let proxy = resource(
        &app,
        &admin,
        "proxies",
        json!({"ip": "203.0.113.7", "port": 1080}),
    )
    .await;
    let s1 = resource(&app, &admin, "subscriptions", json!({"type": "wow"})).await;
    let s2 = resource(&app, &admin, "subscriptions", json!({"type": "bot"})).await;

    let b = data(
        &app.post("/api/v1/bots", Some(&admin), json!({"name": "linked", "license_id": lic, "proxy_id": proxy, "subscription_ids": [s1, s2, s1]})).await,
        StatusCode::CREATED,
    );
    let id = b["id"].as_str().expect("id").to_owned();
    assert_eq!(b["license_id"], lic.as_str());
    assert_eq!(b["proxy_id"], proxy.as_str());
    assert_eq!(b["subscription_ids"], json!([s1, s2]));
    assert_eq!(
        get(&app, &format!("/api/v1/resources/licenses/{lic}"), &admin).await["bot_ids"],
        json!([id])
    );
    assert_eq!(
        get(&app, &format!("/api/v1/resources/proxies/{proxy}"), &admin).await["bot_id"],
        id.as_str()
    );
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/resources/subscriptions/{s2}"),
            &admin
        )
        .await["bot_id"],
        id.as_str()
    );

    // Another bot may share the license but not the proxy or a subscription.
    let other = bot(&app, &admin, json!({"name": "other", "license_id": lic})).await;
    let path = format!("/api/v1/bots/{other}");
    let before = get(&app, &path, &admin).await;
    patch(&app, &path, &admin, json!({"proxy_id": proxy}))
        .await
        .assert_error(StatusCode::CONFLICT, "RESOURCE_ASSIGNMENT_CONFLICT");
    patch(
        &app,
        &path,
        &admin,
        json!({"name": "x", "subscription_ids": [s1]}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "RESOURCE_ASSIGNMENT_CONFLICT");
    assert_eq!(
        get(&app, &path, &admin).await,
        before,
        "a refused link changes nothing"
    );
    app.post(
        "/api/v1/bots",
        Some(&admin),
        json!({"name": "thief", "proxy_id": proxy}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "RESOURCE_ASSIGNMENT_CONFLICT");
    assert_eq!(
        ids(&app, "/api/v1/bots?q=thief", &admin).await,
        Vec::<String>::new()
    );
    let mut both = vec![id.clone(), other.clone()];
    both.sort();
    let mut lic_bots: Vec<String> = serde_json::from_value(
        get(&app, &format!("/api/v1/resources/licenses/{lic}"), &admin).await["bot_ids"].clone(),
    )
    .expect("ids");
    lic_bots.sort();
    assert_eq!(lic_bots, both);

    // Unlinking from the bot side; the resources stay.
    let p = data(
        &patch(
            &app,
            &format!("/api/v1/bots/{id}"),
            &admin,
            json!({"proxy_id": null, "subscription_ids": [s2]}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(p["proxy_id"], Value::Null);
    assert_eq!(p["subscription_ids"], json!([s2]));
    assert_eq!(
        get(&app, &format!("/api/v1/resources/proxies/{proxy}"), &admin).await["bot_id"],
        Value::Null
    );
    let moved = data(
        &patch(&app, &path, &admin, json!({"proxy_id": proxy})).await,
        StatusCode::OK,
    );
    assert_eq!(moved["proxy_id"], proxy.as_str());

    // Deleting a bot frees its resources.
    delete(&app, &path, &admin).await;
    assert_eq!(
        get(&app, &format!("/api/v1/resources/proxies/{proxy}"), &admin).await["bot_id"],
        Value::Null
    );
    assert_eq!(
        get(&app, &format!("/api/v1/resources/licenses/{lic}"), &admin).await["bot_ids"],
        json!([id])
    );
    // Deleting a resource removes it from its bot.
    delete(
        &app,
        &format!("/api/v1/resources/subscriptions/{s2}"),
        &admin,
    )
    .await;
    assert_eq!(
        get(&app, &format!("/api/v1/bots/{id}"), &admin).await["subscription_ids"],
        json!([])
    );
}
db_test!(resource_links_are_validated_and_shown_on_both_sides);

async fn account_passwords_are_masked_for_non_admins(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let user = app.user_token("ops@example.com", &["user"]).await;
    let id = bot(
        &app,
        &user,
        json!({"account": {"email": "a@b.co", "password": "hunter2"}}),
    )
    .await;
    let path = format!("/api/v1/bots/{id}");
    let seen = get(&app, &path, &user).await;
    assert_eq!(seen["account"]["password"], "********");
    assert_eq!(
        get(&app, "/api/v1/bots", &user).await[0]["account"]["password"],
        "********"
    );
    // Sending the masked record back keeps the password.
    data(
        &patch(
            &app,
            &path,
            &user,
            json!({"account": seen["account"].clone(), "name": "edited"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        get(&app, &path, &admin).await["account"]["password"],
        "hunter2"
    );
    data(
        &patch(
            &app,
            &path,
            &user,
            json!({"account": {"email": "a@b.co", "password": "new-one"}}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        get(&app, &path, &admin).await["account"]["password"],
        "new-one"
    );
}
db_test!(account_passwords_are_masked_for_non_admins);

/// A fleet with resources expiring at known times; returns nothing, checks the summary.
async fn seed_fleet(app: &TestApp, token: &str) {
    let lic =
        |days: Option<f64>| json!({"key": format!("K-{days:?}"), "expires_at": days.map(in_days)});
    let l_exp_soon = resource(app, token, "licenses", lic(Some(3.0))).await;
    let l_ok = resource(app, token, "licenses", lic(Some(30.0))).await;
    let l_expired = resource(app, token, "licenses", lic(Some(-1.0))).await;
    let p_soon = resource(
        app,
        token,
        "proxies",
        json!({"host": "p1.example", "port": 80, "expires_at": in_days(2.0)}),
    )
    .await;
    let p_ok = resource(
        app,
        token,
        "proxies",
        json!({"host": "p2.example", "port": 80, "expires_at": in_days(60.0)}),
    )
    .await;
    let s_expired = resource(
        app,
        token,
        "subscriptions",
        json!({"expires_at": in_days(-2.0)}),
    )
    .await;
    let s_soon = resource(
        app,
        token,
        "subscriptions",
        json!({"expires_at": in_days(5.0)}),
    )
    .await;
    let s_none = resource(app, token, "subscriptions", json!({"type": "vpn"})).await;
    // A: license and proxy expiring, subscription expired.
    bot(app, token, json!({"status": "farming", "license_id": l_exp_soon, "proxy_id": p_soon, "subscription_ids": [s_expired]})).await;
    // B: everything fine but one subscription expiring.
    bot(app, token, json!({"status": "leveling", "license_id": l_ok, "proxy_id": p_ok, "subscription_ids": [s_soon, s_none]})).await;
    // C: expired license, no proxy, no subscription.
    bot(
        app,
        token,
        json!({"status": "offline", "license_id": l_expired}),
    )
    .await;
    // D: nothing at all.
    bot(app, token, json!({"status": "prepare"})).await;
    // E (banned) and F (archived) are outside the active fleet.
    let e = bot(app, token, json!({"status": "farming", "license_id": l_ok})).await;
    app.post(
        &format!("/api/v1/bots/{e}/lifecycle/ban"),
        Some(token),
        json!({"ban_reason": "x", "ban_mechanism": "other"}),
    )
    .await;
    let f = bot(app, token, json!({"status": "prepare"})).await;
    app.post(
        &format!("/api/v1/bots/{f}/lifecycle/archive"),
        Some(token),
        json!({}),
    )
    .await;
}

async fn summary_counts_match_a_hand_built_fleet(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    seed_fleet(&app, &admin).await;
    let s = get(&app, "/api/v1/bots/summary", &admin).await;
    assert_eq!(s["total"], 6);
    assert_eq!(
        s["by_status"],
        json!({"offline": 1, "prepare": 1, "leveling": 1, "profession": 0, "farming": 1, "banned": 1, "archived": 1})
    );
    assert_eq!(s["banned"], 1);
    assert_eq!(s["archived"], 1);
    assert_eq!(s["active_fleet"], 4);
    assert_eq!(s["warning_days"], 7);
    assert_eq!(
        s["expiring_soon"],
        json!({"license": 1, "proxy": 1, "subscription": 1, "any": 2})
    );
    assert_eq!(
        s["expired"],
        json!({"license": 1, "proxy": 0, "subscription": 1, "any": 2})
    );
    assert_eq!(
        s["missing"],
        json!({"license": 1, "proxy": 2, "subscription": 2, "any": 2})
    );
}
db_test!(summary_counts_match_a_hand_built_fleet);

async fn summary_uses_the_configured_warning_days(db: Db) {
    let Some(app) = TestApp::spawn_with(db, &[("BOTMOX_EXPIRY_WARNING_DAYS", "1")]).await else {
        return;
    };
    let admin = app.admin_token().await;
    seed_fleet(&app, &admin).await;
    let s = get(&app, "/api/v1/bots/summary", &admin).await;
    assert_eq!(s["warning_days"], 1);
    assert_eq!(
        s["expiring_soon"],
        json!({"license": 0, "proxy": 0, "subscription": 0, "any": 0})
    );
    assert_eq!(s["expired"]["any"], 2);
    // A resource inside the one-day window is expiring again.
    let soon = resource(
        &app,
        &admin,
        "proxies",
        json!({"host": "p3.example", "port": 80, "expires_at": in_days(0.5)}),
    )
    .await;
    bot(&app, &admin, json!({"status": "farming", "proxy_id": soon})).await;
    let s = get(&app, "/api/v1/bots/summary", &admin).await;
    assert_eq!(s["expiring_soon"]["proxy"], 1);
}
db_test!(summary_uses_the_configured_warning_days);
