//! Agents and the command bus, black-box on both databases: pairing, tokens, dispatch rules,
//! WebSocket push, long-poll, lease fencing, the sweeper, cancellation, SSE, tenant isolation.

mod common;

use botmox_testkit::fleet::SimAgent;
use common::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// Runs SQL against the app's database (to age rows instead of sleeping).
async fn sql(app: &TestApp, statement: &str) {
    let db = &app.server.state.db;
    botmox_server::with_pool!(db, |pool| {
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(pool)
            .await
            .expect("sql");
    });
}

/// Pairs an agent owned by the caller; returns (agent id, agent token).
async fn pair(app: &TestApp, token: &str) -> (String, String) {
    let p = app
        .post(
            "/api/v1/agents/pairings",
            Some(token),
            json!({"name": "Unnamed Agent"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let code = p.body["data"]["pairing_code"]
        .as_str()
        .expect("code")
        .to_owned();
    let r = app
        .post("/api/v1/agents/register", None, json!({"pairing_code": code, "machine_name": "pve-host-1", "version": "1.0.0", "platform": "linux", "capabilities": ["proxmox"]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (
        r.body["data"]["id"].as_str().expect("id").to_owned(),
        r.body["data"]["agent_token"]
            .as_str()
            .expect("token")
            .to_owned(),
    )
}

async fn queue(app: &TestApp, token: &str, agent: &str, body: Value) -> common::Reply {
    let mut b =
        json!({"agent_id": agent, "command_type": "proxmox.start", "payload": {"vmid": 101}});
    if let (Some(base), Some(extra)) = (b.as_object_mut(), body.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    app.post("/api/v1/vm-ops/commands", Some(token), b).await
}

async fn command(app: &TestApp, token: &str, id: &str) -> Value {
    let r = app
        .get(&format!("/api/v1/vm-ops/commands/{id}"), Some(token))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"].clone()
}

async fn pairing_and_registration_follow_the_rules(db: Db) {
    let Some(app) =
        TestApp::spawn_with(db, &[("BOTMOX_PUBLIC_URL", "https://botmox.example")]).await
    else {
        return;
    };
    let admin = app.admin_token().await;
    let p = app
        .post(
            "/api/v1/agents/pairings",
            Some(&admin),
            json!({"name": "rack-1", "expires_in_minutes": 30}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let d = &p.body["data"];
    let code = d["pairing_code"].as_str().expect("code").to_owned();
    assert_eq!(code.len(), 32);
    assert!(code.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(d["status"], "pending");
    let bundle = d["pairing_bundle"].as_str().expect("bundle");
    use base64::Engine;
    let decoded: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(bundle)
            .expect("base64url"),
    )
    .expect("json");
    assert_eq!(decoded["v"], 1);
    assert_eq!(decoded["pairing_code"], code.as_str());
    assert_eq!(decoded["server_url"], "https://botmox.example");
    assert_eq!(d["pairing_uri"], format!("botmox://pair?bundle={bundle}"));
    assert_eq!(
        d["pairing_url"],
        format!("https://botmox.example/agent/pair?bundle={bundle}")
    );

    let r = app
        .post(
            "/api/v1/agents/register",
            None,
            json!({"pairing_code": code, "machine_name": "pve-7"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["data"]["status"], "active");
    assert_eq!(r.body["data"]["name"], "rack-1", "a chosen name is kept");
    let agent_token = r.body["data"]["agent_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(agent_token.starts_with("bma_"));
    let again = app
        .post(
            "/api/v1/agents/register",
            None,
            json!({"pairing_code": code}),
        )
        .await;
    again.assert_error(StatusCode::NOT_FOUND, "PAIRING_NOT_FOUND");

    // Expired codes are 410.
    let p2 = app
        .post("/api/v1/agents/pairings", Some(&admin), json!({}))
        .await;
    let code2 = p2.body["data"]["pairing_code"]
        .as_str()
        .expect("code")
        .to_owned();
    sql(
        &app,
        "UPDATE agents SET pairing_expires_at = 1 WHERE status = 'pending'",
    )
    .await;
    app.post(
        "/api/v1/agents/register",
        None,
        json!({"pairing_code": code2}),
    )
    .await
    .assert_error(StatusCode::GONE, "PAIRING_EXPIRED");

    // Bad input changes nothing.
    app.post(
        "/api/v1/agents/pairings",
        Some(&admin),
        json!({"expires_in_minutes": 2}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "AGENTS_PAIRING_INVALID_BODY");

    // Roles: plain users cannot pair; only admin/infra may pair for someone else.
    let user = app.user_token("u@example.com", &["user"]).await;
    app.post("/api/v1/agents/pairings", Some(&user), json!({}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let api = app.user_token("api@example.com", &["api"]).await;
    app.post(
        "/api/v1/agents/pairings",
        Some(&api),
        json!({"owner_user_id": "someone-else"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    // The agent token works for the agent's own heartbeat only, and cannot read agents.
    let agent_id = r.body["data"]["id"].as_str().expect("id");
    let hb = app
        .post(
            "/api/v1/agents/heartbeat",
            Some(&agent_token),
            json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(hb.status, StatusCode::OK, "{}", hb.body);
    app.post(
        "/api/v1/agents/heartbeat",
        Some(&agent_token),
        json!({"agent_id": "another"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.get("/api/v1/agents", Some(&agent_token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let listed = app.get("/api/v1/agents", Some(&admin)).await;
    let online: Vec<bool> = listed.body["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["online"].as_bool())
        .collect();
    assert!(online.contains(&true));
}
db_test!(pairing_and_registration_follow_the_rules);

async fn quick_pair_signs_in_and_pairs_in_one_step(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let wrong = app
        .post(
            "/api/v1/agents/quick-pair",
            None,
            json!({"login": app.admin_email, "password": "wrong-password-x"}),
        )
        .await;
    wrong.assert_error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    let ok = app
        .post("/api/v1/agents/quick-pair", None, json!({"login": app.admin_email, "password": app.admin_password, "machine_name": "hv-01", "platform": "linux"}))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    assert_eq!(ok.body["data"]["name"], "hv-01");
    assert_eq!(ok.body["data"]["metadata"]["machine_name"], "hv-01");
    let token = ok.body["data"]["agent_token"].as_str().expect("token");
    let agent = SimAgent::connect(&app.base, token, "")
        .await
        .expect("agent connects");
    assert_eq!(agent.agent_id, ok.body["data"]["id"].as_str().expect("id"));
}
db_test!(quick_pair_signs_in_and_pairs_in_one_step);

async fn commands_are_pushed_acked_and_finished_over_the_socket(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let mut agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("connect");
    let q = queue(
        &app,
        &admin,
        &agent_id,
        json!({"payload": {"vmid": 101, "node": "pve"}}),
    )
    .await;
    assert_eq!(q.status, StatusCode::ACCEPTED, "{}", q.body);
    let id = q.body["data"]["id"].as_str().expect("id").to_owned();
    let assigned = agent
        .expect("agent.command.assigned", T)
        .await
        .expect("pushed");
    let cmd = assigned["command"].clone();
    assert_eq!(cmd["id"], id.as_str());
    assert_eq!(cmd["status"], "dispatched");
    assert_eq!(cmd["lease_epoch"], 1);
    agent.ack(&cmd).await.expect("ack");
    agent
        .expect("agent.command.ack", T)
        .await
        .expect("ack echo");
    assert_eq!(command(&app, &admin, &id).await["status"], "running");
    agent
        .send(json!({"type": "agent.command.progress", "command_id": id, "agent_id": agent_id, "lease_epoch": 1, "progress": 40, "message": "cloning"}))
        .await
        .expect("progress");
    agent
        .expect("agent.command.progress", T)
        .await
        .expect("progress echo");
    let mid = command(&app, &admin, &id).await;
    assert_eq!(mid["progress"], 40);
    assert_eq!(mid["progress_message"], "cloning");
    agent
        .result(&cmd, "succeeded", json!({"vmid": 101, "status": "running"}))
        .await
        .expect("result");
    let echo = agent
        .expect("agent.command.result", T)
        .await
        .expect("result echo");
    assert_eq!(echo["status"], "succeeded");
    let done = command(&app, &admin, &id).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["result"], json!({"vmid": 101, "status": "running"}));
    assert!(done["completed_at"].is_string());
    // A repeated result (re-sent after a reconnect) is accepted once and changes nothing.
    agent
        .result(&cmd, "succeeded", json!({"other": true}))
        .await
        .expect("resend");
    agent
        .expect("agent.command.result", T)
        .await
        .expect("idempotent");
    assert_eq!(
        command(&app, &admin, &id).await["result"],
        json!({"vmid": 101, "status": "running"})
    );
    // Going back is refused.
    agent.ack(&cmd).await.expect("late ack");
    let err = agent.expect("error", T).await.expect("error frame");
    assert_eq!(err["code"], "INVALID_TRANSITION");
}
db_test!(commands_are_pushed_acked_and_finished_over_the_socket);

async fn dispatch_checks_ownership_and_presence(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let owner = app.user_token("owner@example.com", &["api"]).await;
    let other = app.user_token("other@example.com", &["api"]).await;
    let (agent_id, agent_token) = pair(&app, &owner).await;
    queue(&app, &other, &agent_id, json!({}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "AGENT_OWNER_MISMATCH");
    queue(&app, &agent_token, &agent_id, json!({}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    queue(&app, &owner, "no-such-agent", json!({}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "AGENT_NOT_FOUND");
    queue(
        &app,
        &owner,
        &agent_id,
        json!({"command_type": "Not A Type"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "VM_OPS_INVALID_CREATE_BODY");
    // Registration counts as "seen"; age it past the online window.
    app.server.state.agents.flush_heartbeats().await;
    sql(&app, "UPDATE agents SET last_seen_at = 1").await;
    queue(&app, &owner, &agent_id, json!({}))
        .await
        .assert_error(StatusCode::CONFLICT, "AGENT_OFFLINE");
    let queued = queue(&app, &owner, &agent_id, json!({"queue_if_offline": true})).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let id = queued.body["data"]["id"].as_str().expect("id").to_owned();
    // Delivered as soon as the agent connects.
    let mut agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("connect");
    let ran = agent.run_next(T).await.expect("delivered on connect");
    assert_eq!(ran["id"], id.as_str());
    assert_eq!(command(&app, &owner, &id).await["status"], "succeeded");
    // The other user cannot see it; an admin can.
    app.get(&format!("/api/v1/vm-ops/commands/{id}"), Some(&other))
        .await
        .assert_error(StatusCode::NOT_FOUND, "VM_OPS_COMMAND_NOT_FOUND");
    let admin = app.admin_token().await;
    assert!(command(&app, &admin, &id).await["created_by"].is_string());
}
db_test!(dispatch_checks_ownership_and_presence);

async fn idempotency_keys_and_read_only_repeats_return_the_first_command(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, _) = pair(&app, &admin).await;
    let a = queue(
        &app,
        &admin,
        &agent_id,
        json!({"idempotency_key": "job-42"}),
    )
    .await;
    let b = queue(
        &app,
        &admin,
        &agent_id,
        json!({"idempotency_key": "job-42"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(b.status, StatusCode::OK);
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    assert_eq!(a.body["data"]["id"], b.body["data"]["id"]);
    queue(
        &app,
        &admin,
        &agent_id,
        json!({"idempotency_key": "job-42", "command_type": "proxmox.stop"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "IDEMPOTENCY_KEY_REUSED");
    let s1 = queue(
        &app,
        &admin,
        &agent_id,
        json!({"command_type": "proxmox.list-vms", "payload": {"node": "pve", "full": true}}),
    )
    .await;
    let s2 = queue(
        &app,
        &admin,
        &agent_id,
        json!({"command_type": "proxmox.list-vms", "payload": {"full": true, "node": "pve"}}),
    )
    .await;
    assert_eq!(
        s1.body["data"]["id"], s2.body["data"]["id"],
        "same read-only command within 10 s"
    );
    let s3 = queue(
        &app,
        &admin,
        &agent_id,
        json!({"command_type": "proxmox.list-vms", "payload": {"node": "pve2"}}),
    )
    .await;
    assert_ne!(s1.body["data"]["id"], s3.body["data"]["id"]);
}
db_test!(idempotency_keys_and_read_only_repeats_return_the_first_command);

async fn stale_lease_epochs_are_fenced_out(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let q = queue(&app, &admin, &agent_id, json!({})).await;
    let id = q.body["data"]["id"].as_str().expect("id").to_owned();
    let mut agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("connect");
    let first = agent
        .expect("agent.command.assigned", T)
        .await
        .expect("pushed")["command"]
        .clone();
    assert_eq!(first["lease_epoch"], 1);
    // The hand-out goes unacknowledged too long: the sweeper queues it again.
    sql(
        &app,
        &format!("UPDATE agent_commands SET dispatched_at = 1 WHERE id = '{id}'"),
    )
    .await;
    let counts = app.server.state.vm_ops.sweep().await.expect("sweep");
    assert_eq!(counts.requeued, 1);
    let second = agent
        .expect("agent.command.assigned", T)
        .await
        .expect("pushed again")["command"]
        .clone();
    assert_eq!(second["id"], id.as_str());
    assert_eq!(second["lease_epoch"], 2);
    assert_eq!(second["requeue_count"], 1);
    // The first holder reports with its old epoch: refused, nothing recorded.
    agent
        .result(&first, "failed", json!(null))
        .await
        .expect("stale result");
    let err = agent.expect("error", T).await.expect("error frame");
    assert_eq!(err["code"], "STALE_LEASE");
    let patch = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/vm-ops/commands/{id}"),
            Some(&agent_token),
            Some(json!({"status": "running", "lease_epoch": 1})),
        )
        .await;
    patch.assert_error(StatusCode::CONFLICT, "STALE_LEASE");
    assert_eq!(command(&app, &admin, &id).await["status"], "dispatched");
    // The current holder finishes it over HTTP.
    for status in ["running", "succeeded"] {
        let ok = app
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/vm-ops/commands/{id}"),
                Some(&agent_token),
                Some(json!({"status": status, "lease_epoch": 2, "result": {"ok": true}})),
            )
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    }
    assert_eq!(command(&app, &admin, &id).await["status"], "succeeded");
}
db_test!(stale_lease_epochs_are_fenced_out);

async fn unacknowledged_commands_are_requeued_then_dead_lettered(db: Db) {
    let Some(app) = TestApp::spawn_with(
        db,
        &[
            ("BOTMOX_VMOPS_DISPATCH_MAX_REQUEUES", "2"),
            ("AGENT_TRANSPORT", "hybrid"),
        ],
    )
    .await
    else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let q = queue(&app, &admin, &agent_id, json!({})).await;
    let id = q.body["data"]["id"].as_str().expect("id").to_owned();
    let next = format!("/api/v1/vm-ops/commands/next?agent_id={agent_id}&timeout_ms=1000");
    for round in 0..3 {
        let got = app.get(&next, Some(&agent_token)).await;
        assert_eq!(
            got.body["data"]["id"],
            id.as_str(),
            "round {round}: {}",
            got.body
        );
        sql(
            &app,
            &format!("UPDATE agent_commands SET dispatched_at = 1 WHERE id = '{id}'"),
        )
        .await;
        app.server.state.vm_ops.sweep().await.expect("sweep");
    }
    let dead = command(&app, &admin, &id).await;
    assert_eq!(dead["status"], "dead_letter");
    assert_eq!(dead["requeue_count"], 2);
    assert!(
        dead["error_message"]
            .as_str()
            .unwrap_or_default()
            .contains("Dead-lettered")
    );
    let empty = app.get(&next, Some(&agent_token)).await;
    assert_eq!(empty.body["data"], Value::Null);
}
db_test!(unacknowledged_commands_are_requeued_then_dead_lettered);

async fn silent_running_commands_and_stale_queue_entries_expire(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let mut agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("connect");
    let q = queue(&app, &admin, &agent_id, json!({})).await;
    let id = q.body["data"]["id"].as_str().expect("id").to_owned();
    let cmd = agent
        .expect("agent.command.assigned", T)
        .await
        .expect("pushed")["command"]
        .clone();
    agent.ack(&cmd).await.expect("ack");
    agent
        .expect("agent.command.ack", T)
        .await
        .expect("ack echo");
    // Progress keeps the lease: nothing happens while it is recent.
    assert_eq!(
        app.server
            .state
            .vm_ops
            .sweep()
            .await
            .expect("sweep")
            .running_expired,
        0
    );
    sql(
        &app,
        &format!(
            "UPDATE agent_commands SET last_progress_at = 1, started_at = 1 WHERE id = '{id}'"
        ),
    )
    .await;
    assert_eq!(
        app.server
            .state
            .vm_ops
            .sweep()
            .await
            .expect("sweep")
            .running_expired,
        1
    );
    let c = command(&app, &admin, &id).await;
    assert_eq!(c["status"], "expired");
    assert_eq!(
        c["error_message"],
        "Command lease expired by reliability sweep"
    );
    // A late result after expiry is refused.
    agent
        .result(&cmd, "succeeded", json!({}))
        .await
        .expect("late");
    assert_eq!(
        agent.expect("error", T).await.expect("err")["code"],
        "INVALID_TRANSITION"
    );

    agent.close().await;
    let q2 = queue(
        &app,
        &admin,
        &agent_id,
        json!({"expires_in_seconds": 10, "queue_if_offline": true}),
    )
    .await;
    let id2 = q2.body["data"]["id"].as_str().expect("id").to_owned();
    sql(
        &app,
        &format!("UPDATE agent_commands SET expires_at = 1 WHERE id = '{id2}'"),
    )
    .await;
    assert_eq!(
        app.server
            .state
            .vm_ops
            .sweep()
            .await
            .expect("sweep")
            .queued_expired,
        1
    );
    assert_eq!(command(&app, &admin, &id2).await["status"], "expired");
}
db_test!(silent_running_commands_and_stale_queue_entries_expire);

async fn long_poll_hands_out_waits_and_times_out(db: Db) {
    let Some(app) = TestApp::spawn_with(db, &[("AGENT_TRANSPORT", "hybrid")]).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let next = format!("/api/v1/vm-ops/commands/next?agent_id={agent_id}&timeout_ms=1000");
    let empty = app.get(&next, Some(&agent_token)).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["data"], Value::Null);
    // A waiting request is answered when a command arrives.
    let waiting = {
        let http = app.http.clone();
        let url = app.url(&format!(
            "/api/v1/vm-ops/commands/next?agent_id={agent_id}&timeout_ms=20000"
        ));
        let token = agent_token.clone();
        tokio::spawn(async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("sent")
                .json::<Value>()
                .await
                .expect("json")
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let q = queue(&app, &admin, &agent_id, json!({})).await;
    let got = tokio::time::timeout(T, waiting)
        .await
        .expect("answered")
        .expect("joined");
    assert_eq!(got["data"]["id"], q.body["data"]["id"]);
    assert_eq!(got["data"]["status"], "dispatched");
    // Validation and ownership.
    app.get(
        &format!("/api/v1/vm-ops/commands/next?agent_id={agent_id}&timeout_ms=5"),
        Some(&agent_token),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "VM_OPS_INVALID_NEXT_QUERY");
    app.get(
        "/api/v1/vm-ops/commands/next?agent_id=someone-else",
        Some(&agent_token),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
}
db_test!(long_poll_hands_out_waits_and_times_out);

async fn an_abandoned_long_poll_takes_nothing(db: Db) {
    let Some(app) = TestApp::spawn_with(db, &[("AGENT_TRANSPORT", "hybrid")]).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let url = app.url(&format!(
        "/api/v1/vm-ops/commands/next?agent_id={agent_id}&timeout_ms=30000"
    ));
    let http = reqwest::Client::new();
    let req = http.get(url).bearer_auth(&agent_token).send();
    // The client gives up while the server is still holding the request.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), req)
            .await
            .is_err()
    );
    drop(http);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let q = queue(&app, &admin, &agent_id, json!({})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let id = q.body["data"]["id"].as_str().expect("id");
    assert_eq!(
        command(&app, &admin, id).await["status"],
        "queued",
        "no command handed to a dead request"
    );
}
db_test!(an_abandoned_long_poll_takes_nothing);

async fn two_sockets_of_one_agent_never_get_the_same_command(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let mut a = SimAgent::connect(&app.base, &agent_token, "max_inflight=64")
        .await
        .expect("a");
    let mut b = SimAgent::connect(&app.base, &agent_token, "max_inflight=64")
        .await
        .expect("b");
    let mut ids = Vec::new();
    for i in 0..40 {
        let q = queue(&app, &admin, &agent_id, json!({"payload": {"n": i}})).await;
        ids.push(q.body["data"]["id"].as_str().expect("id").to_owned());
    }
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < ids.len() && tokio::time::Instant::now() < deadline {
        let (from_a, from_b) = tokio::join!(
            a.next(Duration::from_millis(300)),
            b.next(Duration::from_millis(300))
        );
        for frame in [from_a, from_b].into_iter().flatten().flatten() {
            if frame["type"] == "agent.command.assigned" {
                seen.push(frame["command"]["id"].as_str().expect("id").to_owned());
            }
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a command was delivered twice");
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(unique, expected);
}
db_test!(two_sockets_of_one_agent_never_get_the_same_command);

async fn cancel_stops_queued_and_asks_running_agents(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let queued = queue(&app, &admin, &agent_id, json!({"queue_if_offline": true})).await;
    let qid = queued.body["data"]["id"].as_str().expect("id").to_owned();
    let c = app
        .post(
            &format!("/api/v1/vm-ops/commands/{qid}/cancel"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.body["data"]["status"], "cancelled");
    let mut agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("connect");
    let r = queue(&app, &admin, &agent_id, json!({})).await;
    let rid = r.body["data"]["id"].as_str().expect("id").to_owned();
    let cmd = agent
        .expect("agent.command.assigned", T)
        .await
        .expect("pushed")["command"]
        .clone();
    assert_eq!(
        cmd["id"],
        rid.as_str(),
        "the cancelled command is never handed out"
    );
    agent.ack(&cmd).await.expect("ack");
    agent.expect("agent.command.ack", T).await.expect("echo");
    let c = app
        .post(
            &format!("/api/v1/vm-ops/commands/{rid}/cancel"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(c.body["data"]["status"], "running");
    assert!(c.body["data"]["cancel_requested_at"].is_string());
    let ask = agent
        .expect("agent.command.cancel", T)
        .await
        .expect("cancel frame");
    assert_eq!(ask["command_id"], rid.as_str());
    agent
        .result(&cmd, "cancelled", json!(null))
        .await
        .expect("result");
    agent.expect("agent.command.result", T).await.expect("echo");
    assert_eq!(command(&app, &admin, &rid).await["status"], "cancelled");
    // Cancelling a cancelled command is a no-op that answers with it.
    let again = app
        .post(
            &format!("/api/v1/vm-ops/commands/{rid}/cancel"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["data"]["status"], "cancelled");
}
db_test!(cancel_stops_queued_and_asks_running_agents);

async fn revoking_an_agent_closes_its_socket_and_kills_its_token(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let mut agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("connect");
    let user = app.user_token("u2@example.com", &["api"]).await;
    app.post(
        &format!("/api/v1/agents/{agent_id}/revoke"),
        Some(&user),
        json!({}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let r = app
        .post(
            &format!("/api/v1/agents/{agent_id}/revoke"),
            Some(&admin),
            json!({"reason": "stolen laptop"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["status"], "revoked");
    assert_eq!(r.body["data"]["revoke_reason"], "stolen laptop");
    let frames = agent.until_closed(T).await.expect("closed");
    assert!(
        frames.iter().any(|f| f["code"] == "AGENT_REVOKED"),
        "{frames:?}"
    );
    assert!(agent.closed);
    app.post(
        "/api/v1/agents/heartbeat",
        Some(&agent_token),
        json!({"agent_id": agent_id}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "INVALID_OR_MISSING_BEARER_TOKEN");
    assert_eq!(
        SimAgent::refused_status(&app.base, Some(&agent_token), "").await,
        Some(401)
    );
    app.post(
        &format!("/api/v1/agents/{agent_id}/revoke"),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "ALREADY_REVOKED");
}
db_test!(revoking_an_agent_closes_its_socket_and_kills_its_token);

async fn socket_handshake_and_bad_frames(db: Db) {
    let Some(app) = TestApp::spawn_with(db, &[("AUTH_MODE", "shadow")]).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (_, agent_token) = pair(&app, &admin).await;
    assert_eq!(
        SimAgent::refused_status(&app.base, None, "").await,
        Some(401),
        "no shadow identity on sockets"
    );
    assert_eq!(
        SimAgent::refused_status(&app.base, Some(&admin), "").await,
        Some(401),
        "user tokens are not agents"
    );
    let mut agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("connect");
    agent.send_raw("not json").await.expect("send");
    assert_eq!(
        agent.expect("error", T).await.expect("e")["code"],
        "INVALID_JSON"
    );
    agent.send_raw("[1,2]").await.expect("send");
    assert_eq!(
        agent.expect("error", T).await.expect("e")["code"],
        "INVALID_JSON"
    );
    agent.send(json!({"type": "teleport"})).await.expect("send");
    assert_eq!(
        agent.expect("error", T).await.expect("e")["code"],
        "INVALID_MESSAGE"
    );
    agent.send(json!({"type": "agent.command.ack", "command_id": "nope", "agent_id": agent.agent_id, "lease_epoch": 1})).await.expect("send");
    assert_eq!(
        agent.expect("error", T).await.expect("e")["code"],
        "VM_OPS_COMMAND_NOT_FOUND"
    );
    // Still alive and answering.
    agent
        .send(json!({"type": "heartbeat", "request_id": "hb-1"}))
        .await
        .expect("send");
    let hb = agent.expect("agent.heartbeat", T).await.expect("heartbeat");
    assert_eq!(hb["request_id"], "hb-1");
    assert_eq!(hb["agent_id"], agent.agent_id.as_str());
}
db_test!(socket_handshake_and_bad_frames);

async fn tenants_cannot_see_each_others_agents_commands_or_events(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let q = queue(&app, &admin, &agent_id, json!({})).await;
    let id = q.body["data"]["id"].as_str().expect("id").to_owned();
    queue(&app, &admin, &agent_id, json!({"payload": {"vmid": 102}})).await;
    let outsider = app
        .user_token_in("other", "boss@other.example", &["admin"])
        .await;
    app.get(&format!("/api/v1/agents/{agent_id}"), Some(&outsider))
        .await
        .assert_error(StatusCode::NOT_FOUND, "AGENT_NOT_FOUND");
    app.get(&format!("/api/v1/vm-ops/commands/{id}"), Some(&outsider))
        .await
        .assert_error(StatusCode::NOT_FOUND, "VM_OPS_COMMAND_NOT_FOUND");
    app.post(
        &format!("/api/v1/vm-ops/commands/{id}/cancel"),
        Some(&outsider),
        json!({}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "VM_OPS_COMMAND_NOT_FOUND");
    app.post(
        &format!("/api/v1/agents/{agent_id}/revoke"),
        Some(&outsider),
        json!({}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "AGENT_NOT_FOUND");
    queue(&app, &outsider, &agent_id, json!({}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "AGENT_NOT_FOUND");
    assert_eq!(
        app.get("/api/v1/agents", Some(&outsider)).await.body["data"],
        json!([])
    );
    assert_eq!(
        app.get("/api/v1/vm-ops/commands", Some(&outsider))
            .await
            .body["data"],
        json!([])
    );
    let events = sse_collect(
        &app,
        &outsider,
        "last_event_id=0",
        Duration::from_millis(800),
    )
    .await;
    assert!(events.is_empty(), "{events:?}");
    let events = sse_collect(
        &app,
        &outsider,
        "last_event_id=1",
        Duration::from_millis(800),
    )
    .await;
    assert!(events.is_empty(), "replay is tenant-scoped too: {events:?}");
    let mine = sse_collect(&app, &admin, "last_event_id=1", Duration::from_millis(800)).await;
    assert!(!mine.is_empty());
    let _ = agent_token;
}
db_test!(tenants_cannot_see_each_others_agents_commands_or_events);

/// Reads an SSE stream for a while and returns the `data:` JSON of each event.
async fn sse_collect(app: &TestApp, token: &str, query: &str, wait: Duration) -> Vec<Value> {
    use futures::StreamExt;
    let resp = app
        .http
        .get(app.url(&format!("/api/v1/vm-ops/events?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("sse");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/event-stream")
    );
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text.split("\n\n")
        .filter_map(|frame| frame.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

async fn events_stream_live_and_resume_from_the_log(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let mut agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("connect");
    let q = queue(&app, &admin, &agent_id, json!({})).await;
    let id = q.body["data"]["id"].as_str().expect("id").to_owned();
    agent.run_next(T).await.expect("ran");
    // Replay from the start shows the whole life in order with increasing ids.
    let all = sse_collect(
        &app,
        &admin,
        &format!("last_event_id=0&command_id={id}"),
        Duration::from_millis(300),
    )
    .await;
    assert!(all.is_empty(), "last_event_id=0 means live only");
    let all = sse_collect(
        &app,
        &admin,
        &format!("command_id={id}&last_event_id=1"),
        Duration::from_millis(800),
    )
    .await;
    let statuses: Vec<&str> = all
        .iter()
        .filter_map(|e| e["command"]["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        vec!["dispatched", "running", "succeeded"],
        "{all:?}"
    );
    let ids: Vec<i64> = all.iter().filter_map(|e| e["event_id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let from_running = sse_collect(
        &app,
        &admin,
        &format!("command_id={id}&last_event_id={}", ids[1]),
        Duration::from_millis(800),
    )
    .await;
    let rest: Vec<&str> = from_running
        .iter()
        .filter_map(|e| e["command"]["status"].as_str())
        .collect();
    assert_eq!(rest, vec!["succeeded"]);
    // The Last-Event-ID header works as well.
    let resp = app
        .http
        .get(app.url(&format!("/api/v1/vm-ops/events?command_id={id}")))
        .bearer_auth(&admin)
        .header("last-event-id", ids[1].to_string())
        .send()
        .await
        .expect("sse");
    assert_eq!(resp.status(), StatusCode::OK);
    app.get("/api/v1/vm-ops/events?last_event_id=abc", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VM_OPS_INVALID_QUERY_PARAM");
}
db_test!(events_stream_live_and_resume_from_the_log);

async fn reconnecting_agents_reconcile_what_they_hold(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let mut agent = SimAgent::connect(&app.base, &agent_token, "max_inflight=4")
        .await
        .expect("connect");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            queue(&app, &admin, &agent_id, json!({})).await.body["data"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let mut cmds = Vec::new();
    for _ in 0..3 {
        cmds.push(
            agent
                .expect("agent.command.assigned", T)
                .await
                .expect("pushed")["command"]
                .clone(),
        );
    }
    // The agent starts the first; the second never reached it; the third it started and lost.
    agent.ack(&cmds[0]).await.expect("ack");
    agent.expect("agent.command.ack", T).await.expect("echo");
    agent.ack(&cmds[2]).await.expect("ack");
    agent.expect("agent.command.ack", T).await.expect("echo");
    agent.close().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut again = SimAgent::connect(&app.base, &agent_token, "max_inflight=4")
        .await
        .expect("reconnect");
    again
        .send(json!({"type": "agent.sync", "request_id": "s1", "holding": [{"command_id": cmds[0]["id"], "lease_epoch": cmds[0]["lease_epoch"]}]}))
        .await
        .expect("sync");
    let synced = again.expect("agent.sync", T).await.expect("synced");
    assert_eq!(synced["requeued"], json!([cmds[1]["id"]]));
    assert_eq!(synced["failed"], json!([cmds[2]["id"]]));
    // The lost hand-out comes back with a new epoch; the held one finishes with its old one.
    let back = again
        .expect("agent.command.assigned", T)
        .await
        .expect("requeued")["command"]
        .clone();
    assert_eq!(back["id"], cmds[1]["id"]);
    assert_eq!(back["lease_epoch"], 2);
    again
        .result(&cmds[0], "succeeded", json!({"done": 1}))
        .await
        .expect("result");
    again
        .expect("agent.command.result", T)
        .await
        .expect("recorded");
    assert_eq!(command(&app, &admin, &ids[0]).await["status"], "succeeded");
    assert_eq!(command(&app, &admin, &ids[2]).await["status"], "failed");
}
db_test!(reconnecting_agents_reconcile_what_they_hold);

async fn batches_apply_the_rules_of_single_commands_item_by_item(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let owner = app.user_token("owner@example.com", &["api"]).await;
    let other = app.user_token("other@example.com", &["api"]).await;
    let (online, online_token) = pair(&app, &owner).await;
    let (offline, _) = pair(&app, &other).await;
    let (foreign, _) = pair(&app, &other).await;
    // `offline` was seen at registration; age it past the online window.
    app.server.state.agents.flush_heartbeats().await;
    sql(
        &app,
        &format!("UPDATE agents SET last_seen_at = 1 WHERE id = '{offline}'"),
    )
    .await;
    let mut agent = SimAgent::connect(&app.base, &online_token, "max_inflight=8")
        .await
        .expect("connect");
    let start = |agent: &str, extra: Value| {
        let mut b =
            json!({"agent_id": agent, "command_type": "proxmox.start", "payload": {"vmid": 101}});
        if let (Some(base), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        b
    };
    let status_of = |vmid: u32| json!({"agent_id": online, "command_type": "proxmox.vm-status", "payload": {"vmid": vmid}});
    let items = vec![
        start(&online, json!({"idempotency_key": "k-1"})),
        start(&online, json!({"idempotency_key": "k-1"})),
        start(
            &online,
            json!({"idempotency_key": "k-1", "command_type": "proxmox.stop"}),
        ),
        start(&foreign, json!({})),
        start("no-such-agent", json!({})),
        status_of(7),
        status_of(7),
        status_of(8),
    ];
    let r = app
        .post(
            "/api/v1/vm-ops/commands/batch",
            Some(&owner),
            json!({"commands": items}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let data = &r.body["data"];
    let statuses: Vec<u64> = data["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        vec![202, 200, 409, 403, 404, 202, 200, 202],
        "{data}"
    );
    assert_eq!(
        (
            data["queued"].as_u64(),
            data["replayed"].as_u64(),
            data["failed"].as_u64()
        ),
        (Some(3), Some(2), Some(3))
    );
    let item = |i: usize| data["items"][i].clone();
    assert_eq!(item(1)["command"]["id"], item(0)["command"]["id"]);
    assert_eq!(item(1)["replayed"], true);
    assert_eq!(item(2)["error"]["code"], "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(item(3)["error"]["code"], "AGENT_OWNER_MISMATCH");
    assert_eq!(item(4)["error"]["code"], "AGENT_NOT_FOUND");
    assert_eq!(item(6)["command"]["id"], item(5)["command"]["id"]);
    assert_eq!(item(0)["command"]["status"], "queued");
    assert!(item(0)["command"]["created_by"].is_string());
    // The three new commands reach the agent, oldest first, each once.
    let mut pushed = Vec::new();
    for _ in 0..3 {
        let a = agent
            .expect("agent.command.assigned", T)
            .await
            .expect("pushed");
        pushed.push(a["command"]["id"].as_str().expect("id").to_owned());
    }
    let queued: Vec<String> = [0, 5, 7]
        .iter()
        .map(|i| item(*i)["command"]["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(pushed, queued);
    // A later batch replays the key; an offline agent needs queue_if_offline per item.
    let again = app
        .post(
            "/api/v1/vm-ops/commands/batch",
            Some(&other),
            json!({"commands": [
                start(&offline, json!({})),
                start(&offline, json!({"queue_if_offline": true})),
            ]}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        again.body["data"]["items"][0]["error"]["code"],
        "AGENT_OFFLINE"
    );
    assert_eq!(again.body["data"]["items"][1]["status"], 202);
    let replay = app
        .post(
            "/api/v1/vm-ops/commands/batch",
            Some(&owner),
            json!({"commands": [start(&online, json!({"idempotency_key": "k-1"}))]}),
        )
        .await;
    assert_eq!(
        replay.body["data"]["items"][0]["command"]["id"],
        item(0)["command"]["id"]
    );
    assert_eq!(replay.body["data"]["items"][0]["status"], 200);
    // Shape errors refuse the whole batch; agents cannot queue.
    for bad in [
        json!({"commands": []}),
        json!({"commands": [start(&online, json!({})), {"agent_id": " ", "command_type": "proxmox.start"}]}),
        json!({"commands": vec![start(&online, json!({})); 1001]}),
    ] {
        app.post("/api/v1/vm-ops/commands/batch", Some(&owner), bad)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "VM_OPS_INVALID_BATCH_BODY");
    }
    app.post(
        "/api/v1/vm-ops/commands/batch",
        Some(&online_token),
        json!({"commands": [start(&online, json!({}))]}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // Every pushed command runs through the socket as usual.
    for id in &pushed {
        let cmd = command(&app, &owner, id).await;
        agent.ack(&cmd).await.expect("ack");
        agent
            .result(&cmd, "succeeded", json!({"ok": true}))
            .await
            .expect("result");
    }
    for _ in 0..pushed.len() {
        agent
            .expect("agent.command.result", T)
            .await
            .expect("result echo");
    }
    for id in &pushed {
        assert_eq!(command(&app, &owner, id).await["status"], "succeeded");
    }
}
db_test!(batches_apply_the_rules_of_single_commands_item_by_item);
