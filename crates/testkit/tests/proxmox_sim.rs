//! Black-box tests of the Proxmox VE API simulator: a real server on an ephemeral port, driven
//! over HTTP(S) with reqwest the way the agent drives a Proxmox node.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use botmox_testkit::proxmox::{
    DEFAULT_NODE, DEFAULT_PASSWORD, DEFAULT_TOKEN_ID, DEFAULT_TOKEN_SECRET, DEFAULT_USER,
    HttpFault, INSTALLER_ISO, ProxmoxSim, SimConfig, TEMPLATE_VMID, VmSpec, VmStatus,
};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Upper bound for any task to finish in these tests (tasks take ~200 ms).
const TASK_DEADLINE: Duration = Duration::from_secs(15);
const POLL_INTERVAL: Duration = Duration::from_millis(20);

type TestResult = anyhow::Result<()>;

/// A logged-in client, like the agent's Proxmox REST client.
struct Api {
    sim: ProxmoxSim,
    http: reqwest::Client,
    ticket: String,
    csrf: String,
}

impl Api {
    async fn start() -> anyhow::Result<Self> {
        Self::start_with(SimConfig::default().plain_http()).await
    }

    async fn start_with(config: SimConfig) -> anyhow::Result<Self> {
        let sim = ProxmoxSim::start(config).await?;
        let http = sim.client_builder()?.build()?;
        let login = http
            .post(format!("{}/access/ticket", sim.base_api_url()))
            .form(&[("username", DEFAULT_USER), ("password", DEFAULT_PASSWORD)])
            .send()
            .await?;
        ensure!(
            login.status() == StatusCode::OK,
            "login failed: {}",
            login.status()
        );
        let body: Value = login.json().await?;
        let ticket = text(&body["data"]["ticket"])?;
        let csrf = text(&body["data"]["CSRFPreventionToken"])?;
        Ok(Self {
            sim,
            http,
            ticket,
            csrf,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_api_url())
    }

    fn authed(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        builder
            .header("Cookie", format!("PVEAuthCookie={}", self.ticket))
            .header("CSRFPreventionToken", &self.csrf)
    }

    async fn get(&self, path: &str) -> anyhow::Result<(StatusCode, Value)> {
        reply(self.authed(self.http.get(self.url(path))).send().await?).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<(StatusCode, Value)> {
        reply(
            self.authed(self.http.post(self.url(path)))
                .form(form)
                .send()
                .await?,
        )
        .await
    }

    async fn put(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<(StatusCode, Value)> {
        reply(
            self.authed(self.http.put(self.url(path)))
                .form(form)
                .send()
                .await?,
        )
        .await
    }

    async fn delete(&self, path: &str) -> anyhow::Result<(StatusCode, Value)> {
        reply(self.authed(self.http.delete(self.url(path))).send().await?).await
    }

    /// Starts an operation and returns its UPID, failing on any error status.
    async fn post_task(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<String> {
        let (status, body) = self.post(path, form).await?;
        ensure!(status == StatusCode::OK, "POST {path}: {status} {body}");
        text(&body["data"])
    }

    async fn task_status(&self, upid: &str) -> anyhow::Result<Value> {
        let (status, body) = self
            .get(&format!(
                "/nodes/{DEFAULT_NODE}/tasks/{}/status",
                encode(upid)
            ))
            .await?;
        ensure!(status == StatusCode::OK, "task status: {status} {body}");
        Ok(body["data"].clone())
    }

    /// Polls the task status endpoint until the task stops, within [`TASK_DEADLINE`].
    async fn wait_task(&self, upid: &str) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + TASK_DEADLINE;
        loop {
            let status = self.task_status(upid).await?;
            if status["status"] == "stopped" {
                return Ok(status);
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "task {upid} still running"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Runs a task to completion and returns its exit status.
    async fn run_task(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<String> {
        let upid = self.post_task(path, form).await?;
        text(&self.wait_task(&upid).await?["exitstatus"])
    }

    async fn vm_ids(&self) -> anyhow::Result<Vec<u64>> {
        let (status, body) = self.get(&format!("/nodes/{DEFAULT_NODE}/qemu")).await?;
        ensure!(status == StatusCode::OK, "list: {status}");
        let list = body["data"].as_array().context("VM list")?;
        Ok(list.iter().filter_map(|vm| vm["vmid"].as_u64()).collect())
    }

    async fn vm_status(&self, vmid: u32) -> anyhow::Result<Value> {
        let (status, body) = self
            .get(&format!("/nodes/{DEFAULT_NODE}/qemu/{vmid}/status/current"))
            .await?;
        ensure!(status == StatusCode::OK, "status: {status} {body}");
        Ok(body["data"].clone())
    }

    async fn config(&self, vmid: u32) -> anyhow::Result<Value> {
        let (status, body) = self
            .get(&format!("/nodes/{DEFAULT_NODE}/qemu/{vmid}/config"))
            .await?;
        ensure!(status == StatusCode::OK, "config: {status} {body}");
        Ok(body["data"].clone())
    }
}

async fn reply(response: reqwest::Response) -> anyhow::Result<(StatusCode, Value)> {
    let status = response.status();
    let bytes = response.bytes().await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    };
    Ok((status, body))
}

fn text(value: &Value) -> anyhow::Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("expected a string, got {value}"))
}

fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

fn qemu(vmid: u32, rest: &str) -> String {
    format!("/nodes/{DEFAULT_NODE}/qemu/{vmid}{rest}")
}

/// Sends one raw HTTP/1.1 request and returns the status line, to see Proxmox's reason phrase.
async fn raw_status_line(sim: &ProxmoxSim, request: &str) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(sim.addr()).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed before the status line");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

// ---------------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn login_returns_ticket_csrf_token_and_capabilities() -> TestResult {
    let api = Api::start().await?;
    ensure!(
        api.ticket.starts_with("PVE:root@pam:"),
        "ticket {}",
        api.ticket
    );
    let (plain, signature) = api.ticket.split_once("::").context("ticket shape")?;
    ensure!(
        plain.rsplit(':').next().is_some_and(|ts| ts.len() == 8),
        "timestamp in {plain}"
    );
    ensure!(!signature.is_empty());
    let (timestamp, _) = api.csrf.split_once(':').context("csrf shape")?;
    ensure!(timestamp.len() == 8 && timestamp.chars().all(|c| c.is_ascii_hexdigit()));

    // JSON bodies and a separate realm work too, and the answer names the user and capabilities.
    let response = api
        .http
        .post(api.url("/access/ticket"))
        .json(
            &serde_json::json!({"username": "root", "realm": "pam", "password": DEFAULT_PASSWORD}),
        )
        .send()
        .await?;
    let (status, body) = reply(response).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    ensure!(body["data"]["username"] == "root@pam");
    ensure!(body["data"]["cap"]["vms"]["VM.PowerMgmt"] == 1);

    // A valid ticket can be exchanged for a fresh one, as clients do to renew sessions.
    let renew = [
        ("username", DEFAULT_USER),
        ("password", api.ticket.as_str()),
    ];
    let (status, _) = reply(
        api.http
            .post(api.url("/access/ticket"))
            .form(&renew)
            .send()
            .await?,
    )
    .await?;
    ensure!(status == StatusCode::OK, "renewal: {status}");
    Ok(())
}

#[tokio::test]
async fn login_with_wrong_credentials_is_401_authentication_failure() -> TestResult {
    let api = Api::start().await?;
    for (user, password) in [
        (DEFAULT_USER, "wrong"),
        ("nobody@pam", DEFAULT_PASSWORD),
        ("root", DEFAULT_PASSWORD),
    ] {
        let form = [("username", user), ("password", password)];
        let (status, body) = reply(
            api.http
                .post(api.url("/access/ticket"))
                .form(&form)
                .send()
                .await?,
        )
        .await?;
        ensure!(status == StatusCode::UNAUTHORIZED, "{user}: {status}");
        ensure!(
            body["data"].is_null() && body["message"] == "authentication failure\n",
            "{body}"
        );
    }
    let body = "username=root@pam&password=bad";
    let request = format!(
        "POST /api2/json/access/ticket HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    ensure!(raw_status_line(&api.sim, &request).await? == "HTTP/1.1 401 authentication failure");
    Ok(())
}

#[tokio::test]
async fn csrf_token_is_required_for_ticket_writes_but_not_reads() -> TestResult {
    let api = Api::start().await?;
    let cookie = format!("PVEAuthCookie={}", api.ticket);
    let start = api.url(&qemu(102, "/status/start"));

    let read = api
        .http
        .get(api.url("/nodes"))
        .header("Cookie", &cookie)
        .send()
        .await?;
    ensure!(
        read.status() == StatusCode::OK,
        "GET without CSRF: {}",
        read.status()
    );

    let missing = api
        .http
        .post(&start)
        .header("Cookie", &cookie)
        .send()
        .await?;
    ensure!(
        missing.status() == StatusCode::UNAUTHORIZED,
        "POST without CSRF: {}",
        missing.status()
    );
    let wrong = api
        .http
        .post(&start)
        .header("Cookie", &cookie)
        .header("CSRFPreventionToken", "6553F100:forged")
        .send()
        .await?;
    ensure!(
        wrong.status() == StatusCode::UNAUTHORIZED,
        "POST with a forged CSRF token: {}",
        wrong.status()
    );
    ensure!(api.sim.vm(DEFAULT_NODE, 102).context("vm 102")?.status == VmStatus::Stopped);

    let request = format!(
        "POST /api2/json/nodes/pve/qemu/102/status/start HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    ensure!(
        raw_status_line(&api.sim, &request).await?
            == "HTTP/1.1 401 Permission denied - invalid csrf token"
    );

    let (status, body) = api.post(&qemu(102, "/status/start"), &[]).await?;
    ensure!(
        status == StatusCode::OK
            && body["data"]
                .as_str()
                .is_some_and(|u| u.starts_with("UPID:")),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn api_token_authenticates_without_csrf_and_owns_its_tasks() -> TestResult {
    let api = Api::start().await?;
    api.sim.add_api_token("ci@pve", "runner", "s3cret");
    let token = "PVEAPIToken=ci@pve!runner=s3cret";

    let upid = text(
        &reply(
            api.http
                .post(api.url(&qemu(102, "/status/start")))
                .header("Authorization", token)
                .send()
                .await?,
        )
        .await?
        .1["data"],
    )?;
    ensure!(upid.ends_with(":qmstart:102:ci@pve!runner:"), "{upid}");
    let status = api.wait_task(&upid).await?;
    ensure!(
        status["user"] == "ci@pve" && status["tokenid"] == "runner",
        "{status}"
    );

    // A user created for a token has no password to log in with.
    let form = [("username", "ci@pve"), ("password", "")];
    let (status, _) = reply(
        api.http
            .post(api.url("/access/ticket"))
            .form(&form)
            .send()
            .await?,
    )
    .await?;
    ensure!(
        status == StatusCode::UNAUTHORIZED,
        "token-only user logged in: {status}"
    );

    let seeded = format!("PVEAPIToken={DEFAULT_USER}!{DEFAULT_TOKEN_ID}={DEFAULT_TOKEN_SECRET}");
    let ok = api
        .http
        .get(api.url("/version"))
        .header("Authorization", seeded)
        .send()
        .await?;
    ensure!(ok.status() == StatusCode::OK);
    for bad in [
        "PVEAPIToken=ci@pve!runner=wrong",
        "PVEAPIToken=ci@pve!other=s3cret",
        "PVEAPIToken=garbage",
    ] {
        let response = api
            .http
            .get(api.url("/version"))
            .header("Authorization", bad)
            .send()
            .await?;
        ensure!(
            response.status() == StatusCode::UNAUTHORIZED,
            "{bad}: {}",
            response.status()
        );
    }
    Ok(())
}

#[tokio::test]
async fn missing_forged_and_expired_tickets_are_rejected() -> TestResult {
    let api = Api::start().await?;
    let version = api.url("/version");

    let none = api.http.get(&version).send().await?;
    ensure!(none.status() == StatusCode::UNAUTHORIZED && none.content_length() == Some(0));

    let forged = api.ticket.replace("root@pam", "admin@pam");
    let response = api
        .http
        .get(&version)
        .header("Cookie", format!("PVEAuthCookie={forged}"))
        .send()
        .await?;
    ensure!(
        response.status() == StatusCode::UNAUTHORIZED,
        "forged: {}",
        response.status()
    );

    // Still valid just before the 2 h lifetime ends, rejected after it.
    api.sim.advance_clock(Duration::from_secs(2 * 3600 - 60));
    ensure!(api.get("/version").await?.0 == StatusCode::OK);
    api.sim.advance_clock(Duration::from_secs(120));
    ensure!(api.get("/version").await?.0 == StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn ticket_lifetime_is_configurable() -> TestResult {
    let api = Api::start_with(
        SimConfig::default()
            .plain_http()
            .ticket_lifetime(Duration::from_secs(60)),
    )
    .await?;
    ensure!(api.get("/version").await?.0 == StatusCode::OK);
    api.sim.advance_clock(Duration::from_secs(61));
    ensure!(api.get("/version").await?.0 == StatusCode::UNAUTHORIZED);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// TLS

#[tokio::test]
async fn https_serves_a_pinnable_self_signed_certificate() -> TestResult {
    let sim = ProxmoxSim::start(SimConfig::default()).await?;
    ensure!(sim.url().starts_with("https://127.0.0.1:"));
    let pem = sim.cert_pem().context("certificate")?;
    let fingerprint = sim.fingerprint_sha256().context("fingerprint")?.to_owned();
    ensure!(
        fingerprint.len() == 95
            && fingerprint
                .split(':')
                .all(|b| b.len() == 2 && b == b.to_uppercase())
    );

    // Trusting the certificate works, and the presented certificate matches the fingerprint.
    let pinned = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes())?)
        .tls_info(true)
        .build()?;
    let form = [("username", DEFAULT_USER), ("password", DEFAULT_PASSWORD)];
    let response = pinned
        .post(format!("{}/access/ticket", sim.base_api_url()))
        .form(&form)
        .send()
        .await?;
    ensure!(response.status() == StatusCode::OK);
    let info = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .context("TLS info")?;
    let presented = info.peer_certificate().context("peer certificate")?;
    ensure!(botmox_testkit::proxmox::fingerprint_sha256(presented) == fingerprint);
    let ticket = text(&response.json::<Value>().await?["data"]["ticket"])?;

    // `GET /nodes` reports the same fingerprint, as Proxmox does.
    let nodes: Value = pinned
        .get(format!("{}/nodes", sim.base_api_url()))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .send()
        .await?
        .json()
        .await?;
    ensure!(nodes["data"][0]["ssl_fingerprint"] == fingerprint.as_str());

    // Without the certificate the default verifier refuses the connection.
    let untrusted = reqwest::Client::new()
        .get(format!("{}/version", sim.base_api_url()))
        .send()
        .await;
    ensure!(untrusted.is_err(), "an unpinned client must not connect");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn plain_http_mode_has_no_certificate() -> TestResult {
    let api = Api::start().await?;
    ensure!(api.sim.url().starts_with("http://") && api.sim.cert_pem().is_none());
    let (status, body) = api.get("/version").await?;
    ensure!(
        status == StatusCode::OK
            && body["data"]["version"].is_string()
            && body["data"]["release"].is_string()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tasks

#[tokio::test]
async fn task_status_goes_from_running_to_stopped_with_a_log() -> TestResult {
    let api = Api::start().await?;
    api.sim
        .set_task_duration_for("qmstart", Duration::from_secs(2));
    let upid = api.post_task(&qemu(102, "/status/start"), &[]).await?;

    let fields: Vec<&str> = upid.split(':').collect();
    ensure!(
        fields.len() == 9 && fields[0] == "UPID" && fields[1] == "pve" && fields[8].is_empty(),
        "{upid}"
    );
    ensure!(
        fields[2..5]
            .iter()
            .all(|f| f.len() == 8 && f.chars().all(|c| c.is_ascii_hexdigit())),
        "{upid}"
    );
    ensure!(fields[5] == "qmstart" && fields[6] == "102" && fields[7] == "root@pam");

    let running = api.task_status(&upid).await?;
    ensure!(
        running["status"] == "running" && running.get("exitstatus").is_none(),
        "{running}"
    );
    ensure!(
        running["type"] == "qmstart" && running["id"] == "102" && running["upid"] == upid.as_str()
    );

    let stopped = api.wait_task(&upid).await?;
    ensure!(stopped["exitstatus"] == "OK", "{stopped}");
    let (_, log) = api
        .get(&format!("/nodes/pve/tasks/{}/log", encode(&upid)))
        .await?;
    let lines = log["data"].as_array().context("log lines")?;
    ensure!(
        lines.last().is_some_and(|l| l["t"] == "TASK OK") && lines[0]["n"] == 1,
        "{log}"
    );

    let (_, list) = api.get("/nodes/pve/tasks").await?;
    ensure!(list["data"].as_array().is_some_and(|l| {
        l.iter()
            .any(|t| t["upid"] == upid.as_str() && t["status"] == "OK")
    }));
    Ok(())
}

#[tokio::test]
async fn injected_task_failure_reports_exit_status_and_changes_nothing() -> TestResult {
    let api = Api::start().await?;
    api.sim
        .fail_next_tasks("qmstart", 1, "start failed: QEMU exited with code 1");
    let exit = api.run_task(&qemu(102, "/status/start"), &[]).await?;
    ensure!(exit == "start failed: QEMU exited with code 1", "{exit}");
    ensure!(api.vm_status(102).await?["status"] == "stopped");

    let upid = api.post_task(&qemu(102, "/status/start"), &[]).await?;
    let task = api.sim.wait_task(&upid, TASK_DEADLINE).await?;
    ensure!(task.succeeded(), "{task:?}");
    ensure!(api.vm_status(102).await?["status"] == "running");
    let failed = api
        .sim
        .tasks()
        .into_iter()
        .find(|t| t.exitstatus().is_some_and(|e| e != "OK"))
        .context("failed task")?;
    ensure!(
        failed
            .log
            .last()
            .is_some_and(|l| l.starts_with("TASK ERROR: start failed"))
    );
    Ok(())
}

#[tokio::test]
async fn unknown_or_malformed_upids_are_parameter_errors() -> TestResult {
    let api = Api::start().await?;
    let (status, body) = api.get("/nodes/pve/tasks/not-a-upid/status").await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body["errors"]["upid"].is_string(),
        "{body}"
    );
    let unknown = "UPID:pve:00001234:00005678:6553F100:qmstart:100:root@pam:";
    let (status, body) = api
        .get(&format!("/nodes/pve/tasks/{}/status", encode(unknown)))
        .await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body["errors"]["upid"] == "no such task",
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn stopping_a_task_interrupts_it() -> TestResult {
    let api = Api::start().await?;
    api.sim.hold_tasks("qmstart");
    let upid = api.post_task(&qemu(102, "/status/start"), &[]).await?;
    let (status, _) = api
        .delete(&format!("/nodes/pve/tasks/{}", encode(&upid)))
        .await?;
    ensure!(status == StatusCode::OK);
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "interrupted by signal");
    ensure!(api.vm_status(102).await?["status"] == "stopped");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Power

#[tokio::test]
async fn start_and_stop_change_status_only_when_the_task_finishes() -> TestResult {
    let api = Api::start().await?;
    api.sim.hold_tasks("qmstart");
    let upid = api.post_task(&qemu(102, "/status/start"), &[]).await?;
    ensure!(api.task_status(&upid).await?["status"] == "running");
    ensure!(
        api.vm_status(102).await?["status"] == "stopped",
        "not before the task ends"
    );
    ensure!(api.sim.complete_task(&upid));
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "OK");
    let current = api.vm_status(102).await?;
    ensure!(
        current["status"] == "running"
            && current["qmpstatus"] == "running"
            && current["pid"].is_u64(),
        "{current}"
    );

    api.sim.hold_tasks("qmstop");
    let upid = api.post_task(&qemu(102, "/status/stop"), &[]).await?;
    ensure!(
        api.vm_status(102).await?["status"] == "running",
        "not before the task ends"
    );
    ensure!(api.sim.complete_task(&upid));
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "OK");
    ensure!(api.vm_status(102).await?["status"] == "stopped");
    Ok(())
}

#[tokio::test]
async fn power_actions_fail_the_way_proxmox_does() -> TestResult {
    let api = Api::start().await?;
    // Starting a running VM is accepted, and its task fails.
    ensure!(api.run_task(&qemu(101, "/status/start"), &[]).await? == "VM 101 already running");
    // Templates cannot start.
    ensure!(
        api.run_task(&qemu(TEMPLATE_VMID, "/status/start"), &[])
            .await?
            == "you can't start a vm if it's a template"
    );
    // Reset, reboot, suspend and resume of a stopped VM are refused at once.
    for action in ["reset", "reboot", "suspend", "resume"] {
        let (status, body) = api
            .post(&qemu(102, &format!("/status/{action}")), &[])
            .await?;
        ensure!(
            status == StatusCode::INTERNAL_SERVER_ERROR
                && body["message"] == "VM 102 not running\n",
            "{action}: {body}"
        );
    }
    let (status, _) = api.post(&qemu(102, "/status/explode"), &[]).await?;
    ensure!(status == StatusCode::NOT_IMPLEMENTED);
    let (status, body) = api
        .post(&qemu(102, "/status/start"), &[("timeoutMs", "1000")])
        .await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body["errors"]["timeoutMs"].is_string(),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn suspend_pauses_and_resume_continues() -> TestResult {
    let api = Api::start().await?;
    ensure!(api.run_task(&qemu(101, "/status/suspend"), &[]).await? == "OK");
    let paused = api.vm_status(101).await?;
    ensure!(
        paused["status"] == "running" && paused["qmpstatus"] == "paused",
        "{paused}"
    );
    let (status, body) = api.post(&qemu(101, "/status/shutdown"), &[]).await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"] == "VM is paused - cannot shutdown\n"
    );
    ensure!(api.run_task(&qemu(101, "/status/resume"), &[]).await? == "OK");
    ensure!(api.vm_status(101).await?["qmpstatus"] == "running");
    ensure!(api.run_task(&qemu(101, "/status/shutdown"), &[]).await? == "OK");
    ensure!(api.sim.vm(DEFAULT_NODE, 101).context("vm")?.status == VmStatus::Stopped);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Clone, create, delete

#[tokio::test]
async fn clone_of_template_appears_only_after_the_task_stops() -> TestResult {
    let api = Api::start().await?;
    api.sim.hold_tasks("qmclone");
    let form = [
        ("newid", "105"),
        ("name", "WoW5"),
        ("full", "1"),
        ("storage", "local-lvm"),
        ("format", "raw"),
    ];
    let upid = api.post_task(&qemu(TEMPLATE_VMID, "/clone"), &form).await?;
    ensure!(upid.contains(":qmclone:9000:"), "{upid}");

    ensure!(api.task_status(&upid).await?["status"] == "running");
    ensure!(
        !api.vm_ids().await?.contains(&105),
        "the clone must not be listed before its task ends"
    );
    let (status, _) = api.get(&qemu(105, "/status/current")).await?;
    ensure!(status == StatusCode::INTERNAL_SERVER_ERROR);
    // The id is taken meanwhile: a second clone to it is refused, and nextid skips it.
    let (status, body) = api
        .post(&qemu(TEMPLATE_VMID, "/clone"), &[("newid", "105")])
        .await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"] == "unable to create VM 105: config file already exists\n"
    );

    ensure!(api.sim.complete_task(&upid));
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "OK");
    ensure!(api.vm_ids().await?.contains(&105));

    let template = api.config(TEMPLATE_VMID).await?;
    let clone = api.config(105).await?;
    ensure!(
        clone["name"] == "WoW5" && clone.get("template").is_none(),
        "{clone}"
    );
    ensure!(clone["cores"] == template["cores"] && clone["memory"] == template["memory"]);
    ensure!(
        clone["ide0"] == template["ide0"],
        "CD-ROMs are copied as they are"
    );
    ensure!(
        clone["net0"] != template["net0"]
            && text(&clone["net0"])?.ends_with(",bridge=vmbr0,firewall=1"),
        "new MAC"
    );
    ensure!(clone["smbios1"] != template["smbios1"], "new SMBIOS uuid");
    let disk = text(&clone["sata0"])?;
    ensure!(
        disk.starts_with("local-lvm:vm-105-disk-0,") && disk.contains("size=64G"),
        "{disk}"
    );
    let snapshot = api.sim.vm(DEFAULT_NODE, 105).context("clone snapshot")?;
    ensure!(
        snapshot.status == VmStatus::Stopped
            && !snapshot.template
            && snapshot.disk_sizes["sata0"] == 64 << 30
    );
    Ok(())
}

#[tokio::test]
async fn linked_clone_shares_the_template_base_volume() -> TestResult {
    let api = Api::start().await?;
    ensure!(
        api.run_task(
            &qemu(TEMPLATE_VMID, "/clone"),
            &[("newid", "106"), ("full", "0")]
        )
        .await?
            == "OK"
    );
    let clone = api.config(106).await?;
    ensure!(
        text(&clone["sata0"])?.starts_with("local-lvm:base-9000-disk-0/vm-106-disk-0,"),
        "{clone}"
    );
    ensure!(clone["name"] == "Copy-of-VM-win10-template");

    let (status, body) = api
        .post(&qemu(102, "/clone"), &[("newid", "107"), ("full", "0")])
        .await?;
    ensure!(status == StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    ensure!(text(&body["message"])?.starts_with("Linked clone feature is not supported"));
    Ok(())
}

#[tokio::test]
async fn clone_errors_for_missing_source_duplicate_or_missing_newid() -> TestResult {
    let api = Api::start().await?;
    let (status, body) = api.post(&qemu(4242, "/clone"), &[("newid", "300")]).await?;
    ensure!(status == StatusCode::INTERNAL_SERVER_ERROR, "{status}");
    ensure!(
        body["message"] == "Configuration file 'nodes/pve/qemu-server/4242.conf' does not exist\n",
        "{body}"
    );

    let (status, body) = api
        .post(&qemu(TEMPLATE_VMID, "/clone"), &[("newid", "101")])
        .await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"] == "unable to create VM 101: config file already exists\n"
    );

    let (status, body) = api
        .post(&qemu(TEMPLATE_VMID, "/clone"), &[("name", "x")])
        .await?;
    ensure!(status == StatusCode::BAD_REQUEST, "{status}");
    ensure!(
        body["errors"]["newid"] == "property is missing and it is not optional",
        "{body}"
    );
    ensure!(body["message"] == "Parameter verification failed.\n");

    let (status, body) = api
        .post(&qemu(TEMPLATE_VMID, "/clone"), &[("newid", "42")])
        .await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body["errors"]["newid"].is_string(),
        "{body}"
    );
    let (status, body) = api
        .post(
            &qemu(TEMPLATE_VMID, "/clone"),
            &[("newid", "301"), ("name", "bad_name")],
        )
        .await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body["errors"]["name"].is_string(),
        "{body}"
    );
    let (status, body) = api
        .post(
            &qemu(TEMPLATE_VMID, "/clone"),
            &[("newid", "301"), ("target", "ghost")],
        )
        .await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"] == "no such cluster node 'ghost'\n"
    );
    Ok(())
}

#[tokio::test]
async fn create_allocates_disks_and_delete_refuses_running_vms() -> TestResult {
    let api = Api::start().await?;
    let nodes = "/nodes/pve/qemu";
    let form = [
        ("vmid", "200"),
        ("name", "fresh"),
        ("cores", "4"),
        ("memory", "8192"),
        ("scsi0", "local-lvm:16"),
        ("start", "1"),
    ];
    let upid = api.post_task(nodes, &form).await?;
    ensure!(upid.contains(":qmcreate:200:"));
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "OK");
    let config = api.config(200).await?;
    ensure!(
        config["scsi0"] == "local-lvm:vm-200-disk-0,size=16G" && config["cores"] == 4,
        "{config}"
    );
    ensure!(api.vm_status(200).await?["status"] == "running");

    let (status, body) = api.post(nodes, &[("vmid", "200")]).await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"] == "unable to create VM 200 - VM 200 already exists on node 'pve'\n"
    );

    let (status, body) = api.delete(&qemu(200, "")).await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"] == "VM 200 is running - destroy failed\n"
    );
    ensure!(api.run_task(&qemu(200, "/status/stop"), &[]).await? == "OK");

    api.sim.hold_tasks("qmdestroy");
    let (status, body) = api
        .delete(&qemu(200, "?purge=1&destroy-unreferenced-disks=1"))
        .await?;
    ensure!(status == StatusCode::OK, "{body}");
    let upid = text(&body["data"])?;
    ensure!(
        api.vm_ids().await?.contains(&200),
        "still there while the task runs"
    );
    ensure!(api.sim.complete_task(&upid));
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "OK");
    ensure!(!api.vm_ids().await?.contains(&200));
    Ok(())
}

#[tokio::test]
async fn nextid_returns_the_lowest_free_id() -> TestResult {
    let api = Api::start().await?;
    let (status, body) = api.get("/cluster/nextid").await?;
    ensure!(status == StatusCode::OK && body["data"] == "100", "{body}");
    api.sim.add_vm(DEFAULT_NODE, 100, VmSpec::new("taken"))?;
    ensure!(api.get("/cluster/nextid").await?.1["data"] == "103");
    let (status, body) = api.get("/cluster/nextid?vmid=101").await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body["errors"]["vmid"] == "VM 101 already exists",
        "{body}"
    );
    ensure!(api.get("/cluster/nextid?vmid=150").await?.1["data"] == "150");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Config, resize, sendkey

#[tokio::test]
async fn config_post_is_async_and_put_is_sync() -> TestResult {
    let api = Api::start().await?;
    api.sim.hold_tasks("qmconfig");
    let (status, body) = api
        .post(
            &qemu(102, "/config"),
            &[("cores", "6"), ("name", "WoW2-renamed")],
        )
        .await?;
    ensure!(status == StatusCode::OK, "{body}");
    let upid = text(&body["data"])?;
    ensure!(upid.contains(":qmconfig:102:"));
    ensure!(
        api.config(102).await?["cores"] == 2,
        "not applied before the task ends"
    );
    ensure!(api.sim.complete_task(&upid));
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "OK");
    let config = api.config(102).await?;
    ensure!(
        config["cores"] == 6 && config["name"] == "WoW2-renamed",
        "{config}"
    );

    let (status, body) = api
        .put(
            &qemu(102, "/config"),
            &[("memory", "8192"), ("delete", "balloon,vga")],
        )
        .await?;
    ensure!(status == StatusCode::OK && body["data"].is_null(), "{body}");
    let config = api.config(102).await?;
    ensure!(
        config["memory"] == "8192"
            && config.get("balloon").is_none()
            && config.get("vga").is_none(),
        "{config}"
    );
    // JSON bodies work as well: numbers and booleans arrive as Proxmox reads them.
    let json = serde_json::json!({"cores": 5, "onboot": true, "description": "from json"});
    let request = api
        .authed(api.http.put(api.url(&qemu(102, "/config"))))
        .json(&json);
    let (status, body) = reply(request.send().await?).await?;
    ensure!(status == StatusCode::OK, "{body}");
    let config = api.config(102).await?;
    ensure!(
        config["cores"] == 5 && config["onboot"] == 1 && config["description"] == "from json",
        "{config}"
    );
    Ok(())
}

#[tokio::test]
async fn config_updates_are_validated_like_proxmox() -> TestResult {
    let api = Api::start().await?;
    let path = qemu(102, "/config");
    let (status, body) = api
        .put(&path, &[("cores", "many"), ("timeoutMs", "30000")])
        .await?;
    ensure!(status == StatusCode::BAD_REQUEST, "{status}");
    ensure!(
        body["errors"]["cores"] == "type check ('integer') failed - got 'many'",
        "{body}"
    );
    ensure!(
        body["errors"]["timeoutMs"]
            .as_str()
            .is_some_and(|m| m.contains("not defined in schema"))
    );

    let (status, body) = api.put(&path, &[("delete", "nonsense")]).await?;
    ensure!(
        status == StatusCode::BAD_REQUEST
            && body["errors"]["delete"] == "unknown option 'nonsense'"
    );
    let (status, body) = api.put(&path, &[]).await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR && body["message"] == "no options specified\n"
    );

    let digest = text(&api.config(102).await?["digest"])?;
    ensure!(
        api.put(&path, &[("cores", "3"), ("digest", &digest)])
            .await?
            .0
            == StatusCode::OK
    );
    let (status, body) = api
        .put(&path, &[("cores", "4"), ("digest", &digest)])
        .await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"] == "checksum mismatch (file change by other user?)\n"
    );

    let (status, body) = api.put(&qemu(4242, "/config"), &[("cores", "2")]).await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"]
                == "Configuration file 'nodes/pve/qemu-server/4242.conf' does not exist\n"
    );
    Ok(())
}

#[tokio::test]
async fn cdrom_attach_and_detach_and_disk_delete() -> TestResult {
    let api = Api::start().await?;
    let path = qemu(102, "/config");
    let attach = format!("{INSTALLER_ISO},media=cdrom");
    ensure!(api.put(&path, &[("ide2", &attach)]).await?.0 == StatusCode::OK);
    ensure!(api.config(102).await?["ide2"] == attach.as_str());

    let (status, body) = api
        .put(&path, &[("ide3", "local:iso/missing.iso,media=cdrom")])
        .await?;
    ensure!(
        status == StatusCode::BAD_REQUEST
            && body["errors"]["ide3"] == "volume 'local:iso/missing.iso' does not exist",
        "{body}"
    );

    ensure!(api.put(&path, &[("ide2", "none,media=cdrom")]).await?.0 == StatusCode::OK);
    ensure!(api.config(102).await?["ide2"] == "none,media=cdrom");

    // Deleting a disk detaches it as unused0, like Proxmox.
    ensure!(api.put(&path, &[("delete", "sata0")]).await?.0 == StatusCode::OK);
    let config = api.config(102).await?;
    ensure!(
        config.get("sata0").is_none() && config["unused0"] == "local-lvm:vm-102-disk-0",
        "{config}"
    );
    Ok(())
}

#[tokio::test]
async fn resize_grows_the_disk_when_the_task_finishes() -> TestResult {
    let api = Api::start().await?;
    let path = qemu(102, "/resize");
    let (status, body) = api
        .put(&path, &[("disk", "sata0"), ("size", "+10G")])
        .await?;
    ensure!(status == StatusCode::OK, "{body}");
    let upid = text(&body["data"])?;
    ensure!(upid.contains(":resize:102:"));
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "OK");
    ensure!(api.sim.vm(DEFAULT_NODE, 102).context("vm")?.disk_sizes["sata0"] == 138 << 30);
    ensure!(text(&api.config(102).await?["sata0"])?.contains("size=138G"));

    let upid = text(
        &api.put(&path, &[("disk", "sata0"), ("size", "200G")])
            .await?
            .1["data"],
    )?;
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "OK");
    ensure!(api.sim.vm(DEFAULT_NODE, 102).context("vm")?.disk_sizes["sata0"] == 200 << 30);

    let upid = text(
        &api.put(&path, &[("disk", "sata0"), ("size", "100G")])
            .await?
            .1["data"],
    )?;
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "shrinking disks is not supported");
    let upid = text(
        &api.put(&path, &[("disk", "scsi5"), ("size", "+1G")])
            .await?
            .1["data"],
    )?;
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "disk 'scsi5' does not exist");

    let (status, body) = api
        .put(&path, &[("disk", "sata0"), ("size", "lots")])
        .await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body["errors"]["size"].is_string(),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn sendkey_is_recorded_for_running_vms_only() -> TestResult {
    let api = Api::start().await?;
    for key in ["a", "ret", "ctrl-alt-delete"] {
        let (status, body) = api.put(&qemu(101, "/sendkey"), &[("key", key)]).await?;
        ensure!(
            status == StatusCode::OK && body["data"].is_null(),
            "{key}: {body}"
        );
    }
    ensure!(
        api.sim.vm(DEFAULT_NODE, 101).context("vm")?.keys_sent == ["a", "ret", "ctrl-alt-delete"]
    );

    let (status, body) = api.put(&qemu(102, "/sendkey"), &[("key", "a")]).await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && text(&body["message"])?.contains("unable to connect to VM 102 qmp socket")
    );
    let (status, body) = api.put(&qemu(101, "/sendkey"), &[("key", "enter")]).await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"] == "invalid parameter: enter\n"
    );
    ensure!(
        api.sim
            .vm(DEFAULT_NODE, 102)
            .context("vm")?
            .keys_sent
            .is_empty()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Storage

async fn upload(
    api: &Api,
    storage: &str,
    content: &str,
    filename: &str,
    bytes: &[u8],
    csrf: bool,
) -> anyhow::Result<(StatusCode, Value)> {
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(filename.to_owned());
    let form = reqwest::multipart::Form::new()
        .text("content", content.to_owned())
        .part("filename", part);
    let url = api.url(&format!("/nodes/pve/storage/{storage}/upload"));
    let mut request = api
        .http
        .post(url)
        .header("Cookie", format!("PVEAuthCookie={}", api.ticket))
        .multipart(form);
    if csrf {
        request = request.header("CSRFPreventionToken", &api.csrf);
    }
    reply(request.send().await?).await
}

#[tokio::test]
async fn iso_upload_then_listing_then_delete() -> TestResult {
    let api = Api::start().await?;
    let iso = b"CD001 provisioning payload".repeat(100);
    api.sim.hold_tasks("imgcopy");
    // Uploads are exempt from the CSRF check, as in pveproxy.
    let (status, body) = upload(&api, "local", "iso", "provision-105.iso", &iso, false).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    let upid = text(&body["data"])?;
    ensure!(upid.contains(":imgcopy::root@pam:"), "{upid}");
    ensure!(
        api.sim.file_bytes("local:iso/provision-105.iso").is_none(),
        "stored only when the task ends"
    );
    ensure!(api.sim.complete_task(&upid));
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "OK");
    ensure!(api.sim.file_bytes("local:iso/provision-105.iso").as_deref() == Some(iso.as_slice()));

    let (status, listing) = api
        .get("/nodes/pve/storage/local/content?content=iso")
        .await?;
    ensure!(status == StatusCode::OK);
    let entries = listing["data"].as_array().context("content list")?;
    let entry = entries
        .iter()
        .find(|e| e["volid"] == "local:iso/provision-105.iso")
        .context("uploaded ISO listed")?;
    ensure!(
        entry["size"] == iso.len() && entry["format"] == "iso" && entry["content"] == "iso",
        "{entry}"
    );
    ensure!(entries.iter().any(|e| e["volid"] == INSTALLER_ISO));

    let files = api.sim.storage_files(DEFAULT_NODE, "local");
    ensure!(
        files
            .iter()
            .any(|f| f.volid == "local:iso/provision-105.iso" && f.size == iso.len() as u64)
    );

    let (status, body) = api
        .delete(&format!(
            "/nodes/pve/storage/local/content/{}",
            encode("local:iso/provision-105.iso")
        ))
        .await?;
    ensure!(status == StatusCode::OK, "{body}");
    let upid = text(&body["data"])?;
    ensure!(upid.contains(":imgdel:local:"));
    ensure!(api.wait_task(&upid).await?["exitstatus"] == "OK");
    let (_, listing) = api
        .get("/nodes/pve/storage/local/content?content=iso")
        .await?;
    ensure!(!listing.to_string().contains("provision-105.iso"));
    ensure!(api.sim.file_bytes("local:iso/provision-105.iso").is_none());

    // Deleting it again fails in the task.
    let (_, body) = api
        .delete("/nodes/pve/storage/local/content/local:iso/provision-105.iso")
        .await?;
    ensure!(
        api.wait_task(&text(&body["data"])?).await?["exitstatus"]
            == "volume 'local:iso/provision-105.iso' does not exist"
    );
    Ok(())
}

#[tokio::test]
async fn uploads_with_unsafe_names_or_wrong_targets_are_refused() -> TestResult {
    let api = Api::start().await?;
    for name in [
        "../../etc/passwd.iso",
        "with space.iso",
        ".hidden.iso",
        "x/y.iso",
    ] {
        let (status, body) = upload(&api, "local", "iso", name, b"data", true).await?;
        ensure!(
            status == StatusCode::BAD_REQUEST && body["errors"]["filename"].is_string(),
            "{name}: {status} {body}"
        );
    }
    let (status, body) = upload(&api, "local", "iso", "notes.txt", b"data", true).await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body["errors"]["filename"] == "wrong file extension",
        "{body}"
    );
    let (status, body) = upload(&api, "local-lvm", "iso", "a.iso", b"data", true).await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"] == "can't upload to storage type 'lvmthin'\n",
        "{body}"
    );
    let (status, body) = upload(&api, "nfs-gone", "iso", "a.iso", b"data", true).await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && body["message"] == "storage 'nfs-gone' does not exist\n",
        "{body}"
    );
    let (status, body) = upload(&api, "local", "backup", "a.iso", b"data", true).await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body["errors"]["content"].is_string(),
        "{body}"
    );
    ensure!(
        api.sim.storage_files(DEFAULT_NODE, "local").len() == 1,
        "only the seeded ISO"
    );
    Ok(())
}

#[tokio::test]
async fn storage_listings_show_capacity_and_vm_volumes() -> TestResult {
    let api = Api::start().await?;
    let (status, body) = api.get("/nodes/pve/storage").await?;
    ensure!(status == StatusCode::OK);
    let storages = body["data"].as_array().context("storages")?;
    let names: Vec<&str> = storages
        .iter()
        .filter_map(|s| s["storage"].as_str())
        .collect();
    ensure!(names == ["local", "local-lvm"], "{names:?}");
    ensure!(
        storages
            .iter()
            .all(|s| s["total"].as_u64() > s["used"].as_u64() && s["active"] == 1)
    );

    let (_, iso_capable) = api.get("/nodes/pve/storage?content=iso").await?;
    ensure!(
        iso_capable["data"]
            .as_array()
            .is_some_and(|a| a.len() == 1 && a[0]["storage"] == "local")
    );

    let (_, images) = api.get("/nodes/pve/storage/local-lvm/content").await?;
    let volids: Vec<&str> = images["data"]
        .as_array()
        .context("images")?
        .iter()
        .filter_map(|v| v["volid"].as_str())
        .collect();
    for expected in [
        "local-lvm:base-9000-disk-0",
        "local-lvm:vm-101-disk-0",
        "local-lvm:vm-102-disk-0",
    ] {
        ensure!(volids.contains(&expected), "{expected} in {volids:?}");
    }
    let (status, _) = api.get("/nodes/pve/storage/ghost/content").await?;
    ensure!(status == StatusCode::INTERNAL_SERVER_ERROR);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Cluster view, errors, fault injection

#[tokio::test]
async fn cluster_resources_lists_every_vm_on_every_node() -> TestResult {
    let api = Api::start_with(SimConfig::default().plain_http().nodes(&["pve", "pve2"])).await?;
    api.sim
        .add_vm("pve2", 500, VmSpec::new("remote").running())?;

    let (status, body) = api.get("/cluster/resources?type=vm").await?;
    ensure!(status == StatusCode::OK);
    let vms = body["data"].as_array().context("resources")?;
    let mut ids: Vec<u64> = vms.iter().filter_map(|r| r["vmid"].as_u64()).collect();
    ids.sort_unstable();
    ensure!(ids == [101, 102, 500, 9000], "{ids:?}");
    let remote = vms.iter().find(|r| r["vmid"] == 500).context("vm 500")?;
    ensure!(
        remote["node"] == "pve2"
            && remote["id"] == "qemu/500"
            && remote["type"] == "qemu"
            && remote["status"] == "running"
    );
    ensure!(
        vms.iter()
            .find(|r| r["vmid"] == 9000)
            .is_some_and(|t| t["template"] == 1)
    );

    let (_, all) = api.get("/cluster/resources").await?;
    let all = all["data"].as_array().context("all resources")?;
    ensure!(all.iter().filter(|r| r["type"] == "node").count() == 2);
    ensure!(
        all.iter()
            .any(|r| r["id"] == "storage/pve2/local-lvm" && r["maxdisk"].as_u64() > Some(0))
    );

    let (status, body) = api.get("/cluster/resources?type=bogus").await?;
    ensure!(status == StatusCode::BAD_REQUEST && body["errors"]["type"].is_string());
    let (_, nodes) = api.get("/nodes").await?;
    ensure!(nodes["data"].as_array().is_some_and(|n| n.len() == 2));
    let (status, node) = api.get("/nodes/pve2/status").await?;
    ensure!(status == StatusCode::OK && node["data"]["cpuinfo"]["cpus"].as_u64() > Some(0));
    Ok(())
}

#[tokio::test]
async fn missing_vms_nodes_and_paths_fail_like_proxmox() -> TestResult {
    let api = Api::start().await?;
    let (status, body) = api.get(&qemu(4242, "/status/current")).await?;
    ensure!(status == StatusCode::INTERNAL_SERVER_ERROR);
    ensure!(
        body["data"].is_null()
            && body["message"]
                == "Configuration file 'nodes/pve/qemu-server/4242.conf' does not exist\n"
    );
    let (status, body) = api.post(&qemu(4242, "/status/start"), &[]).await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && text(&body["message"])?.contains("4242.conf")
    );
    let (status, _) = api.delete(&qemu(4242, "")).await?;
    ensure!(status == StatusCode::INTERNAL_SERVER_ERROR);
    let (status, body) = api.get("/nodes/ghost/qemu").await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR
            && text(&body["message"])?.contains("hostname lookup 'ghost' failed")
    );
    let (status, body) = api.get("/nodes/pve/lxc").await?;
    ensure!(
        status == StatusCode::NOT_IMPLEMENTED
            && body["message"] == "Method 'GET /nodes/pve/lxc' not implemented\n"
    );
    let (status, body) = api.get("/nodes/pve/qemu/abc/status/current").await?;
    ensure!(
        status == StatusCode::BAD_REQUEST
            && body["errors"]["vmid"] == "type check ('integer') failed - got 'abc'"
    );
    Ok(())
}

#[tokio::test]
async fn injected_http_errors_hit_matching_requests_until_used_up() -> TestResult {
    let api = Api::start().await?;
    let before = api.sim.request_count();
    api.sim.inject_http_error(
        HttpFault::new(Some("GET"), "/nodes/*/qemu", 503, "proxy loop detected").times(2),
    );
    for _ in 0..2 {
        let (status, body) = api.get("/nodes/pve/qemu").await?;
        ensure!(
            status == StatusCode::SERVICE_UNAVAILABLE && body["message"] == "proxy loop detected\n",
            "{body}"
        );
    }
    ensure!(
        api.get("/nodes/pve/qemu").await?.0 == StatusCode::OK,
        "used up after two requests"
    );
    ensure!(
        api.get(&qemu(101, "/config")).await?.0 == StatusCode::OK,
        "other paths untouched"
    );

    let fault = api.sim.inject_http_error(HttpFault::new(
        None,
        "/access/ticket",
        500,
        "pvedaemon not running",
    ));
    let form = [("username", DEFAULT_USER), ("password", DEFAULT_PASSWORD)];
    for _ in 0..3 {
        let (status, _) = reply(
            api.http
                .post(api.url("/access/ticket"))
                .form(&form)
                .send()
                .await?,
        )
        .await?;
        ensure!(status == StatusCode::INTERNAL_SERVER_ERROR);
    }
    api.sim.remove_http_error(fault);
    let (status, _) = reply(
        api.http
            .post(api.url("/access/ticket"))
            .form(&form)
            .send()
            .await?,
    )
    .await?;
    ensure!(status == StatusCode::OK);

    ensure!(
        api.sim.request_count() == before + 8,
        "{} requests",
        api.sim.request_count() - before
    );
    let log = api.sim.requests();
    ensure!(
        log.iter()
            .filter(|r| r.path == "/api2/json/nodes/pve/qemu" && r.status == 503)
            .count()
            == 2
    );
    Ok(())
}

#[tokio::test]
async fn added_users_can_log_in_and_seeded_state_is_inspectable() -> TestResult {
    let api = Api::start().await?;
    api.sim.add_user("ops@pve", "hunter22");
    let form = [("username", "ops@pve"), ("password", "hunter22")];
    let (status, body) = reply(
        api.http
            .post(api.url("/access/ticket"))
            .form(&form)
            .send()
            .await?,
    )
    .await?;
    ensure!(status == StatusCode::OK && body["data"]["username"] == "ops@pve");

    let template = api
        .sim
        .vm(DEFAULT_NODE, TEMPLATE_VMID)
        .context("template")?;
    ensure!(template.template && template.name.as_deref() == Some("win10-template"));
    let vms = api.sim.vms(DEFAULT_NODE);
    ensure!(vms.iter().map(|v| v.vmid).collect::<Vec<_>>() == [101, 102, 9000]);
    ensure!(
        api.sim
            .add_vm(DEFAULT_NODE, 101, VmSpec::new("dup"))
            .is_err()
    );
    ensure!(
        api.sim
            .add_vm(
                DEFAULT_NODE,
                103,
                VmSpec::new("cd").set("ide2", "local:iso/none.iso,media=cdrom")
            )
            .is_err()
    );
    api.sim
        .put_file(DEFAULT_NODE, "local:iso/extra.iso", b"CD001".to_vec())?;
    ensure!(api.sim.file_bytes("local:iso/extra.iso").is_some());
    api.sim.shutdown().await;
    Ok(())
}
