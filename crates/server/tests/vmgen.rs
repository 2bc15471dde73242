//! The VM generator as a server-side job, black-box on both databases: a simulated agent on
//! the real WebSocket protocol answers each step's command the way the agent's Proxmox
//! executor does, and the job walks every VM through clone, configure, config read, disk
//! resize, registration, provisioning ISO, CD attachment and start.

mod common;

use base64::Engine;
use botmox_server::{Config, Server};
use botmox_testkit::fleet::SimAgent;
use common::{Db, Reply, TestApp, base_vars};
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);
const PUBLIC_URL: &str = "https://botmox.example.com";
const JOBS: &str = "/api/v1/vm-generator/jobs";

async fn call(base: &str, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    Reply::from(req.send().await.expect("request sent")).await
}

async fn get(base: &str, path: &str, token: &str) -> Value {
    let r = call(base, Method::GET, path, token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body["data"].clone()
}

/// Pairs an agent owned by the caller; returns (agent id, agent token).
async fn pair(app: &TestApp, token: &str) -> (String, String) {
    let p = app
        .post(
            "/api/v1/agents/pairings",
            Some(token),
            json!({"name": "pve-1"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let code = p.body["data"]["pairing_code"].as_str().expect("code");
    let r = app
        .post(
            "/api/v1/agents/register",
            None,
            json!({"pairing_code": code, "machine_name": "pve-1", "capabilities": ["proxmox"]}),
        )
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

async fn profile(app: &TestApp, token: &str) -> String {
    let r = app
        .post(
            "/api/v1/unattend-profiles",
            Some(token),
            json!({"name": "Standard", "config": {
                "user": {"nameMode": "custom", "customName": "Operator"},
                "computerName": {"mode": "random"}
            }}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["data"]["id"].as_str().expect("id").to_owned()
}

fn job_body(agent: &str, profile: &str, extra: Value) -> Value {
    let mut body = json!({
        "agent_id": agent,
        "node": "pve",
        "template_vmid": 9000,
        "count": 2,
        "name_prefix": "gen-",
        "network": {"ip_start": "192.168.50.10", "prefix_length": 24, "gateway": "192.168.50.1", "dns": ["1.1.1.1"]},
        "profile_id": profile,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    body
}

/// SMBIOS uuid the simulated Proxmox gives VM `vmid`.
fn uuid_of(vmid: u64) -> String {
    format!("5B0C1A2E-0000-4000-8000-{vmid:012}")
}

/// What the agent's Proxmox executor answers for `command` (success).
fn answer(command: &Value) -> Value {
    let p = &command["payload"];
    let vmid = p["vmid"].as_u64().unwrap_or(0);
    let upid =
        |kind: &str, id: u64| format!("UPID:pve:0001A2B3:0C0D0E0F:6560A000:{kind}:{id}:root@pam:");
    match command["command_type"].as_str().unwrap_or_default() {
        "proxmox.clone" => {
            let newid = p["newid"].as_u64().expect("newid");
            json!({"vmid": newid, "template": p["templateVmId"].to_string(), "upid": upid("qmclone", newid), "exitstatus": "OK"})
        }
        "proxmox.update-config" => {
            let keys: Vec<&String> = p["config"].as_object().expect("config").keys().collect();
            json!({"vmid": vmid.to_string(), "updated": keys, "upid": null})
        }
        "proxmox.get-config" => json!({
            "name": format!("vm{vmid}"),
            "cores": 2,
            "memory": 4096,
            "smbios1": format!("uuid={},manufacturer=QkVN", uuid_of(vmid)),
            "scsi0": format!("local-lvm:vm-{vmid}-disk-0,size=32G"),
            "ide2": "local:iso/Win10.iso,media=cdrom,size=5G",
            "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0",
            "digest": "0f1e2d3c",
        }),
        "proxmox.resize-disk" => {
            json!({"vmid": vmid.to_string(), "upid": upid("resize", vmid), "exitstatus": "OK"})
        }
        "proxmox.create-provision-iso" => json!({
            "vmid": vmid,
            "isoPath": format!("local:iso/{}", p["isoName"].as_str().unwrap_or_default()),
            "files": p["files"].as_object().map(|f| f.len()).unwrap_or(0),
        }),
        "proxmox.attach-cdrom" => {
            json!({"vmid": vmid, "slot": "ide3", "isoPath": p["isoPath"]})
        }
        "proxmox.start" => {
            json!({"vmid": vmid.to_string(), "action": "start", "upid": upid("qmstart", vmid), "exitstatus": "OK"})
        }
        other => panic!("unexpected command {other}"),
    }
}

type Seen = Arc<Mutex<Vec<Value>>>;
type FailRule = Box<dyn Fn(&Value) -> Option<String> + Send>;

/// Answers commands like the agent until the `hold_at`-th one (1-based), which it only
/// acknowledges and hands back; `fail` picks commands to fail with a message.
async fn respond(
    mut agent: SimAgent,
    seen: Seen,
    fail: FailRule,
    hold_at: Option<usize>,
) -> (SimAgent, Option<Value>) {
    loop {
        let assigned = match agent.expect("agent.command.assigned", T).await {
            Ok(a) => a,
            Err(_) => return (agent, None),
        };
        let command = assigned["command"].clone();
        if !command.is_object() {
            continue;
        }
        let n = {
            let mut s = seen.lock().expect("lock");
            s.push(command.clone());
            s.len()
        };
        agent.ack(&command).await.expect("ack");
        agent
            .expect("agent.command.ack", T)
            .await
            .expect("ack echo");
        if hold_at == Some(n) {
            return (agent, Some(command));
        }
        finish(&mut agent, &command, fail(&command)).await;
    }
}

async fn finish(agent: &mut SimAgent, command: &Value, failure: Option<String>) {
    match failure {
        None => agent
            .result(command, "succeeded", answer(command))
            .await
            .expect("result"),
        Some(msg) => agent
            .send(json!({
                "type": "agent.command.result",
                "command_id": command["id"],
                "agent_id": agent.agent_id,
                "lease_epoch": command["lease_epoch"],
                "status": "failed",
                "error_message": msg,
            }))
            .await
            .expect("failure"),
    }
    agent
        .expect("agent.command.result", T)
        .await
        .expect("result echo");
}

fn no_failures() -> FailRule {
    Box::new(|_| None)
}

/// Reads the job's events from the shared event stream (replayed from the start) until the
/// job ends; returns every `(event, data)` seen.
async fn wait_done(base: &str, token: &str, job: &str) -> Vec<(String, Value)> {
    let resp = reqwest::Client::new()
        .get(format!(
            "{base}/api/v1/vm-ops/events?command_id={job}&last_event_id=1"
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("sse");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + T;
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let mut kind = String::new();
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    kind = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            let Ok(value) = serde_json::from_str::<Value>(&data) else {
                continue;
            };
            let terminal = kind == "vmgen.job"
                && ["succeeded", "partially_failed", "failed", "cancelled"]
                    .contains(&value["status"].as_str().unwrap_or_default());
            events.push((kind, value));
            if terminal {
                return events;
            }
        }
        match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(Ok(chunk))) => buf.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("job {job} did not finish: {other:?}; events: {events:?}"),
        }
    }
}

async fn commands(base: &str, token: &str, agent: &str) -> Vec<Value> {
    let v = get(
        base,
        &format!("/api/v1/vm-ops/commands?agent_id={agent}&limit=500"),
        token,
    )
    .await;
    v.as_array().expect("list").clone()
}

fn step<'a>(item: &'a Value, name: &str) -> &'a Value {
    item["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {item}"))
}

async fn spawn(db: Db) -> Option<(TestApp, String, String, String, String)> {
    let app = TestApp::spawn_with(db, &[("BOTMOX_PUBLIC_URL", PUBLIC_URL)]).await?;
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let profile_id = profile(&app, &admin).await;
    Some((app, admin, agent_id, agent_token, profile_id))
}

async fn a_job_walks_every_step_and_provisions_each_vm(db: Db) {
    let Some((app, admin, agent_id, agent_token, profile_id)) = spawn(db).await else {
        return;
    };
    let agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("agent");
    let seen: Seen = Arc::default();
    let responder = tokio::spawn(respond(agent, seen.clone(), no_failures(), None));

    let body = job_body(
        &agent_id,
        &profile_id,
        json!({"start_vmid": 201, "cores": 4, "memory_mb": 8192, "disk_gib": 64,
               "start_after": true, "project_id": "wow_tbc",
               "network": {"ip_start": "192.168.50.10", "prefix_length": 24, "gateway": "192.168.50.1", "bridge": "vmbr1"}}),
    );
    let created = app.post(JOBS, Some(&admin), body).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let job_id = created.body["data"]["id"].as_str().expect("id").to_owned();
    assert_eq!(created.body["data"]["status"], "queued");
    assert_eq!(created.body["data"]["counts"]["queued"], 2);

    let events = wait_done(&app.base, &admin, &job_id).await;
    assert!(
        events.iter().any(|(k, v)| k == "vmgen.step"
            && v["step"] == "provision"
            && v["step_status"] == "succeeded"),
        "live step events: {events:?}"
    );
    let job = get(&app.base, &format!("{JOBS}/{job_id}"), &admin).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["counts"]["succeeded"], 2);
    let items = job["items"].as_array().expect("items");
    let cmds = commands(&app.base, &admin, &agent_id).await;
    for (i, item) in items.iter().enumerate() {
        let vmid = 201 + i as u64;
        let uuid = uuid_of(vmid).to_lowercase();
        assert_eq!(item["status"], "succeeded", "{item}");
        assert_eq!(item["name"], format!("gen-{}", i + 1));
        assert_eq!(item["vmid"], vmid);
        assert_eq!(item["vm_uuid"], uuid.as_str());
        assert_eq!(item["ip"], format!("192.168.50.{}", 10 + i));
        for name in [
            "clone",
            "configure",
            "read_config",
            "resize_disk",
            "register",
            "provision",
            "attach_iso",
            "start",
        ] {
            let s = step(item, name);
            assert_eq!(s["status"], "succeeded", "{name}: {item}");
            if name != "register" {
                let id = s["command_id"].as_str().expect("command id");
                let c = cmds.iter().find(|c| c["id"] == id).expect("command listed");
                assert_eq!(c["status"], "succeeded");
                assert_eq!(c["command_type"], s["command_type"]);
            }
        }
        let by_step = |name: &str| {
            let id = step(item, name)["command_id"].clone();
            cmds.iter()
                .find(|c| c["id"] == id)
                .expect("command")
                .clone()
        };
        let clone = by_step("clone");
        assert_eq!(clone["payload"]["newid"], vmid);
        assert_eq!(clone["payload"]["templateVmId"], 9000);
        assert_eq!(clone["payload"]["name"], item["name"]);
        let configure = by_step("configure");
        assert_eq!(
            configure["payload"]["config"],
            json!({"cores": 4, "memory": 8192, "net0": "virtio,bridge=vmbr1"})
        );
        assert_eq!(by_step("resize_disk")["payload"]["size"], "+32G");
        assert_eq!(by_step("resize_disk")["payload"]["disk"], "scsi0");
        let iso = by_step("provision");
        assert_eq!(iso["command_type"], "proxmox.create-provision-iso");
        assert_eq!(iso["payload"]["isoName"], format!("provision-{vmid}.iso"));
        assert_eq!(iso["payload"]["node"], "pve");
        assert_eq!(iso["payload"]["isoStorage"], "local");
        let files = iso["payload"]["files"].as_object().expect("files");
        for f in ["autounattend.xml", "provision.json", "START.ps1"] {
            assert!(files.contains_key(f), "{f} missing: {:?}", files.keys());
        }
        let provision: Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(files["provision.json"].as_str().expect("b64"))
                .expect("base64"),
        )
        .expect("provision.json");
        assert!(
            provision.to_string().contains(&uuid),
            "provision.json names the VM: {provision}"
        );
        let xml = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(files["autounattend.xml"].as_str().expect("b64"))
                .expect("base64"),
        )
        .expect("utf-8");
        assert!(xml.contains("<unattend"), "autounattend.xml");
        assert_eq!(
            by_step("attach_iso")["payload"],
            json!({"vmid": vmid, "node": "pve", "isoPath": format!("local:iso/provision-{vmid}.iso")})
        );
        assert_eq!(by_step("start")["command_type"], "proxmox.start");

        // Registered, and its provisioning token issued.
        let vm = get(&app.base, &format!("/api/v1/vm/{uuid}/resolve"), &admin).await;
        assert_eq!(vm["vm_name"], item["name"]);
        assert_eq!(vm["project_id"], "wow_tbc");
        assert_eq!(vm["metadata"]["source"], "vm_generator");
        assert_eq!(vm["metadata"]["vmid"], vmid);
        assert_eq!(vm["metadata"]["ip"], item["ip"]);
        let progress = get(
            &app.base,
            &format!("/api/v1/provisioning/progress/{uuid}"),
            &admin,
        )
        .await;
        assert_eq!(progress["token"]["status"], "active");
        assert_eq!(progress["token"]["id"], item["token_id"]);
    }
    assert_eq!(cmds.len(), 14, "7 commands per VM");
    assert_eq!(seen.lock().expect("lock").len(), 14);

    let list = app.get(JOBS, Some(&admin)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["data"][0]["id"], job_id.as_str());
    assert_eq!(list.body["data"][0]["counts"]["succeeded"], 2);
    assert!(list.body["data"][0].get("items").is_none());
    app.post(&format!("{JOBS}/{job_id}/cancel"), Some(&admin), json!({}))
        .await
        .assert_error(StatusCode::CONFLICT, "VMGEN_JOB_FINISHED");
    responder.abort();
}
db_test!(a_job_walks_every_step_and_provisions_each_vm);

async fn a_failing_step_fails_its_vm_and_the_others_go_on(db: Db) {
    let Some((app, admin, agent_id, agent_token, profile_id)) = spawn(db).await else {
        return;
    };
    let agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("agent");
    let fail: FailRule = Box::new(|c: &Value| {
        (c["command_type"] == "proxmox.clone" && c["payload"]["newid"] == 301)
            .then(|| "PROXMOX_API_ERROR: storage 'local-lvm' is full".to_owned())
    });
    let seen: Seen = Arc::default();
    let responder = tokio::spawn(respond(agent, seen.clone(), fail, None));
    let created = app
        .post(
            JOBS,
            Some(&admin),
            job_body(&agent_id, &profile_id, json!({"start_vmid": 301})),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let job_id = created.body["data"]["id"].as_str().expect("id").to_owned();
    wait_done(&app.base, &admin, &job_id).await;
    let job = get(&app.base, &format!("{JOBS}/{job_id}"), &admin).await;
    assert_eq!(job["status"], "partially_failed", "{job}");
    let (first, second) = (&job["items"][0], &job["items"][1]);
    assert_eq!(first["status"], "failed");
    assert_eq!(
        first["error"],
        "clone: PROXMOX_API_ERROR: storage 'local-lvm' is full"
    );
    assert_eq!(step(first, "clone")["status"], "failed");
    assert_eq!(step(first, "register")["status"], "pending");
    assert!(first["vm_uuid"].is_null());
    assert_eq!(second["status"], "succeeded", "{second}");
    assert_eq!(step(second, "configure")["status"], "skipped");
    assert_eq!(step(second, "resize_disk")["status"], "skipped");
    assert_eq!(step(second, "start")["status"], "skipped");
    // clone (failed) + clone, get-config, create-provision-iso, attach-cdrom.
    assert_eq!(commands(&app.base, &admin, &agent_id).await.len(), 5);
    responder.abort();
}
db_test!(a_failing_step_fails_its_vm_and_the_others_go_on);

async fn cancel_stops_a_running_job_and_its_command(db: Db) {
    let Some((app, admin, agent_id, agent_token, profile_id)) = spawn(db).await else {
        return;
    };
    let agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("agent");
    let seen: Seen = Arc::default();
    // The second command (configure of the first VM) is taken but never answered.
    let responder = tokio::spawn(respond(agent, seen.clone(), no_failures(), Some(2)));
    let created = app
        .post(
            JOBS,
            Some(&admin),
            job_body(
                &agent_id,
                &profile_id,
                json!({"count": 3, "start_vmid": 401, "cores": 2}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let job_id = created.body["data"]["id"].as_str().expect("id").to_owned();
    let (_agent, held) = responder.await.expect("responder");
    let held = held.expect("held command");
    assert_eq!(held["command_type"], "proxmox.update-config");

    let cancelled = app
        .post(&format!("{JOBS}/{job_id}/cancel"), Some(&admin), json!({}))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert!(cancelled.body["data"]["cancel_requested_at"].is_string());
    wait_done(&app.base, &admin, &job_id).await;
    let job = get(&app.base, &format!("{JOBS}/{job_id}"), &admin).await;
    assert_eq!(job["status"], "cancelled", "{job}");
    assert_eq!(job["counts"]["cancelled"], 3, "{job}");
    assert_eq!(step(&job["items"][0], "clone")["status"], "succeeded");
    assert_eq!(step(&job["items"][0], "configure")["status"], "cancelled");
    let command = get(
        &app.base,
        &format!(
            "/api/v1/vm-ops/commands/{}",
            held["id"].as_str().expect("id")
        ),
        &admin,
    )
    .await;
    assert!(
        command["cancel_requested_at"].is_string(),
        "the in-flight command is asked to stop: {command}"
    );
    assert_eq!(
        seen.lock().expect("lock").len(),
        2,
        "nothing after the cancel"
    );
    app.post(&format!("{JOBS}/{job_id}/cancel"), Some(&admin), json!({}))
        .await
        .assert_error(StatusCode::CONFLICT, "VMGEN_JOB_FINISHED");
}
db_test!(cancel_stops_a_running_job_and_its_command);

async fn invalid_jobs_are_refused_with_the_reason(db: Db) {
    let Some((app, admin, agent_id, _agent_token, profile_id)) = spawn(db).await else {
        return;
    };
    let bad = |extra: Value| job_body(&agent_id, &profile_id, extra);
    for (body, field) in [
        (bad(json!({"count": 0})), "count"),
        (bad(json!({"count": 51})), "count"),
        (bad(json!({"name_prefix": "1-bad"})), "name_prefix"),
        (bad(json!({"node": "pve one"})), "node"),
        (bad(json!({"memory_mb": 16})), "memory_mb"),
        (
            bad(
                json!({"network": {"ip_start": "192.168.50.300", "prefix_length": 24, "gateway": "192.168.50.1"}}),
            ),
            "network.ip_start",
        ),
        (
            bad(
                json!({"count": 10, "network": {"ip_start": "192.168.50.250", "prefix_length": 24, "gateway": "192.168.50.1"}}),
            ),
            "network.ip_start",
        ),
        (
            bad(
                json!({"network": {"ip_start": "192.168.50.10", "prefix_length": 24, "gateway": "10.0.0.1"}}),
            ),
            "network.gateway",
        ),
        (bad(json!({"start_vmid": 8999})), "start_vmid"),
    ] {
        let r = app.post(JOBS, Some(&admin), body.clone()).await;
        r.assert_error(StatusCode::BAD_REQUEST, "VMGEN_INVALID_JOB_BODY");
        assert!(
            r.body["error"]["details"]["fields"].get(field).is_some(),
            "{field}: {}",
            r.body
        );
    }
    let mut missing = bad(json!({}));
    missing.as_object_mut().expect("obj").remove("network");
    app.post(JOBS, Some(&admin), missing)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VMGEN_INVALID_JOB_BODY");
    app.post(
        JOBS,
        Some(&admin),
        bad(json!({"agent_id": uuid::Uuid::now_v7().to_string()})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "AGENT_NOT_FOUND");
    let unknown_profile = format!("profile-{}", uuid::Uuid::now_v7());
    app.post(
        JOBS,
        Some(&admin),
        bad(json!({"profile_id": unknown_profile})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "UNATTEND_PROFILE_NOT_FOUND");
    let user = app.user_token("viewer@example.com", &["user"]).await;
    app.post(JOBS, Some(&user), bad(json!({})))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // An api caller may only use agents it owns.
    let api = app.user_token("robot@example.com", &["api"]).await;
    app.post(JOBS, Some(&api), bad(json!({})))
        .await
        .assert_error(StatusCode::FORBIDDEN, "AGENT_OWNER_MISMATCH");
    app.get(&format!("{JOBS}?status=done"), Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VMGEN_INVALID_LIST_QUERY");
    let list = app.get(JOBS, Some(&admin)).await;
    assert_eq!(list.body["data"], json!([]), "nothing was queued");
}
db_test!(invalid_jobs_are_refused_with_the_reason);

async fn other_tenants_and_users_never_see_a_job(db: Db) {
    let Some((app, admin, agent_id, _agent_token, profile_id)) = spawn(db).await else {
        return;
    };
    // No agent connected: the job waits on its first command.
    let created = app
        .post(
            JOBS,
            Some(&admin),
            job_body(&agent_id, &profile_id, json!({})),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let job_id = created.body["data"]["id"].as_str().expect("id").to_owned();
    let path = format!("{JOBS}/{job_id}");

    let other = app
        .user_token_in("other-tenant", "admin@other.example", &["admin"])
        .await;
    let api = app.user_token("robot@example.com", &["api"]).await;
    for token in [&other, &api] {
        app.get(&path, Some(token))
            .await
            .assert_error(StatusCode::NOT_FOUND, "VMGEN_JOB_NOT_FOUND");
        app.post(&format!("{path}/cancel"), Some(token), json!({}))
            .await
            .assert_error(StatusCode::NOT_FOUND, "VMGEN_JOB_NOT_FOUND");
        let list = app.get(JOBS, Some(token)).await;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(list.body["data"], json!([]));
    }
    app.post(
        JOBS,
        Some(&other),
        job_body(&agent_id, &profile_id, json!({})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "AGENT_NOT_FOUND");
    app.get(&format!("{JOBS}/not-a-job"), Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "VMGEN_JOB_NOT_FOUND");
    // The owner's view.
    let job = get(&app.base, &path, &admin).await;
    assert_eq!(job["items"].as_array().expect("items").len(), 2);
    let cancelled = app
        .post(&format!("{path}/cancel"), Some(&admin), json!({}))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    wait_done(&app.base, &admin, &job_id).await;
}
db_test!(other_tenants_and_users_never_see_a_job);

async fn a_restarted_server_resumes_the_job_without_repeating_a_command(db: Db) {
    let Some((app, admin, agent_id, agent_token, profile_id)) = spawn(db).await else {
        return;
    };
    let agent = SimAgent::connect(&app.base, &agent_token, "")
        .await
        .expect("agent");
    let seen: Seen = Arc::default();
    // The third command (the first VM's config read) is running on the agent when the
    // server goes down.
    let responder = tokio::spawn(respond(agent, seen.clone(), no_failures(), Some(3)));
    let created = app
        .post(
            JOBS,
            Some(&admin),
            job_body(
                &agent_id,
                &profile_id,
                json!({"start_vmid": 501, "cores": 2, "start_after": true}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let job_id = created.body["data"]["id"].as_str().expect("id").to_owned();
    let (agent, held) = responder.await.expect("responder");
    let held = held.expect("held command");
    assert_eq!(held["command_type"], "proxmox.get-config");
    agent.close().await;

    let TestApp {
        server, storage, ..
    } = app;
    server.stop().await;
    let vars = base_vars(&storage);
    let mut vars = vars;
    vars.insert("BOTMOX_PUBLIC_URL".into(), PUBLIC_URL.into());
    let next = Server::start(Config::from_map(&vars).expect("config"))
        .await
        .expect("restarted");
    let base = next.url();

    // The agent kept running the command meanwhile; it reports to the new server.
    let mut agent = SimAgent::connect(&base, &agent_token, "")
        .await
        .expect("agent reconnects");
    finish(&mut agent, &held, None).await;
    let responder = tokio::spawn(respond(agent, seen.clone(), no_failures(), None));
    wait_done(&base, &admin, &job_id).await;

    let job = get(&base, &format!("{JOBS}/{job_id}"), &admin).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        step(&job["items"][0], "read_config")["command_id"],
        held["id"],
        "the resumed step waited on the command it had queued"
    );
    let cmds = commands(&base, &admin, &agent_id).await;
    // clone, update-config, get-config, create-provision-iso, attach-cdrom, start per VM.
    assert_eq!(cmds.len(), 12, "{cmds:?}");
    let keys: HashSet<&str> = cmds
        .iter()
        .map(|c| c["idempotency_key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys.len(), 12, "no step was queued twice");
    let answered: HashSet<String> = seen
        .lock()
        .expect("lock")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(answered.len(), 12, "each command reached the agent once");
    responder.abort();
    next.stop().await;
    drop(storage);
}
db_test!(a_restarted_server_resumes_the_job_without_repeating_a_command);

/// Two nodes on one PostgreSQL database: both runners claim jobs; each job runs on one node
/// at a time, so every step's command exists once and reaches the agent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_jobs_and_never_repeat_a_step() {
    let Some(storage) = common::Storage::new(Db::Postgres).await else {
        return;
    };
    let mut vars = base_vars(&storage);
    vars.insert("BOTMOX_PUBLIC_URL".into(), PUBLIC_URL.into());
    let app = TestApp::start(storage, vars.clone()).await;
    let other = Server::start(Config::from_map(&vars).expect("config"))
        .await
        .expect("second node");
    let admin = app.admin_token().await;
    let (agent_id, agent_token) = pair(&app, &admin).await;
    let profile_id = profile(&app, &admin).await;
    let agent = SimAgent::connect(&other.url(), &agent_token, "max_inflight=4")
        .await
        .expect("agent on the second node");
    let seen: Seen = Arc::default();
    let responder = tokio::spawn(respond(agent, seen.clone(), no_failures(), None));

    let mut jobs = Vec::new();
    for n in 0..4u32 {
        let base = if n % 2 == 0 {
            app.base.clone()
        } else {
            other.url()
        };
        let r = call(
            &base,
            Method::POST,
            JOBS,
            &admin,
            Some(job_body(
                &agent_id,
                &profile_id,
                json!({"start_vmid": 700 + n * 10, "name_prefix": format!("n{n}-")}),
            )),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        jobs.push(r.body["data"]["id"].as_str().expect("id").to_owned());
    }
    for id in &jobs {
        wait_done(&app.base, &admin, id).await;
        let job = get(&other.url(), &format!("{JOBS}/{id}"), &admin).await;
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    let cmds = commands(&app.base, &admin, &agent_id).await;
    // clone, get-config, create-provision-iso, attach-cdrom per VM; 2 VMs per job.
    assert_eq!(cmds.len(), 4 * 2 * 4, "{cmds:?}");
    let keys: HashSet<&str> = cmds
        .iter()
        .map(|c| c["idempotency_key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys.len(), cmds.len(), "no step was queued twice");
    assert_eq!(seen.lock().expect("lock").len(), cmds.len());
    responder.abort();
    other.stop().await;
}
