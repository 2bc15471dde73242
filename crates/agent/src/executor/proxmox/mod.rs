//! The Proxmox VE executor: `proxmox.*` commands against a configured target.

pub mod client;
mod iso_actions;
mod ssh_actions;
pub mod tls;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::{AgentConfig, ProxmoxTarget};
use crate::executor::{CommandCtx, ExecError, Executor};

pub use client::{ProxmoxClient, extract_upid};

/// Canonical action names (without `proxmox.`), aliases included.
const ACTIONS: &[&str] = &[
    "list-targets",
    "login",
    "list-vms",
    "list",
    "vm-status",
    "start",
    "stop",
    "shutdown",
    "reset",
    "suspend",
    "resume",
    "clone",
    "get-config",
    "config.get",
    "update-config",
    "config.update",
    "delete",
    "resize-disk",
    "sendkey",
    "cluster-resources",
    "status",
    "task-status",
    "wait-task",
    "wait-vm-status",
    "wait-vm-presence",
];

/// Keys that steer the agent and are never forwarded to Proxmox.
const RESERVED: &[&str] = &[
    "vmid",
    "node",
    "config",
    "target",
    "targetId",
    "target_id",
    "timeoutMs",
    "timeout_ms",
    "intervalMs",
    "interval_ms",
    "wait",
];

pub struct ProxmoxExecutor {
    targets: std::collections::BTreeMap<String, ProxmoxTarget>,
    default_target: Option<String>,
    clients: Mutex<HashMap<String, Arc<ProxmoxClient>>>,
}

impl ProxmoxExecutor {
    pub fn new(config: &AgentConfig) -> Self {
        Self {
            targets: config.targets.clone(),
            default_target: config.default_target.clone(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn resolve_target(&self, payload: &Value) -> Result<(String, &ProxmoxTarget), ExecError> {
        let named = str_field(payload, &["target", "targetId", "target_id"]);
        let name = match named {
            Some(n) => n,
            None => self
                .default_target
                .clone()
                .filter(|d| self.targets.contains_key(d))
                .or_else(|| self.targets.keys().next().cloned())
                .ok_or_else(|| {
                    ExecError::new("NO_PROXMOX_TARGET", "No Proxmox target is configured")
                })?,
        };
        let target = self.targets.get(&name).ok_or_else(|| {
            ExecError::new("UNKNOWN_TARGET", format!("Unknown Proxmox target: {name}"))
        })?;
        Ok((name, target))
    }

    async fn client(
        &self,
        name: &str,
        target: &ProxmoxTarget,
    ) -> Result<Arc<ProxmoxClient>, ExecError> {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(name) {
            return Ok(Arc::clone(c));
        }
        let c = Arc::new(
            ProxmoxClient::new(target)
                .map_err(|e| ExecError::new("PROXMOX_CONFIG_ERROR", format!("{e:#}")))?,
        );
        clients.insert(name.to_owned(), Arc::clone(&c));
        Ok(c)
    }

    fn list_targets(&self) -> Value {
        let list: Vec<Value> = self
            .targets
            .iter()
            .map(|(name, t)| {
                json!({
                    "id": name,
                    "label": name,
                    "url": t.url,
                    "username": t.username,
                    "node": t.node,
                    "isActive": self.default_target.as_deref() == Some(name.as_str()),
                    "sshConfigured": crate::executor::ssh::SshLogin::from_target(t).configured(),
                })
            })
            .collect();
        Value::Array(list)
    }

    async fn run(
        &self,
        ctx: &CommandCtx,
        command_type: &str,
        p: &Value,
    ) -> Result<Value, ExecError> {
        let action = command_type
            .strip_prefix("proxmox.")
            .unwrap_or(command_type);
        if action == "list-targets" {
            return Ok(self.list_targets());
        }
        let (name, target) = self.resolve_target(p)?;
        if ssh_actions::ACTIONS.contains(&action) {
            return ssh_actions::run(target, action, p).await;
        }
        let api = self.client(&name, target).await?;
        let node = str_field(p, &["node"]).unwrap_or_else(|| target.node.clone());
        if iso_actions::ACTIONS.contains(&action) {
            return iso_actions::run(ctx, &api, &node, action, p).await;
        }
        let n = enc(&node);
        let vmid = || {
            vmid_field(p, &["vmid"]).ok_or_else(|| {
                ExecError::bad_request(format!("vmid required for proxmox.{action}"))
            })
        };
        match action {
            "login" => {
                api.login(p["force"].as_bool().unwrap_or(false)).await?;
                Ok(json!({"ok": true}))
            }
            "list-vms" | "list" => {
                api.request(Method::GET, &format!("/nodes/{n}/qemu"), &[])
                    .await
            }
            "vm-status" => {
                let v = vmid()?;
                api.request(
                    Method::GET,
                    &format!("/nodes/{n}/qemu/{v}/status/current"),
                    &[],
                )
                .await
            }
            "start" | "stop" | "shutdown" | "reset" | "suspend" | "resume" => {
                let v = vmid()?;
                let mut form = Vec::new();
                for key in ["timeout", "forceStop", "skiplock"] {
                    if let Some(val) = p.get(key).and_then(form_value) {
                        form.push((key.to_owned(), val));
                    }
                }
                ctx.progress(Some(10), format!("{action} VM {v}"));
                let data = api
                    .request(
                        Method::POST,
                        &format!("/nodes/{n}/qemu/{v}/status/{action}"),
                        &form,
                    )
                    .await?;
                self.finish_task(ctx, &api, &n, p, data, json!({"vmid": v, "action": action}))
                    .await
            }
            "clone" => {
                let template = vmid_field(p, &["templateVmId", "template_vmid", "vmid"])
                    .ok_or_else(|| {
                        ExecError::bad_request("vmid or templateVmId required for proxmox.clone")
                    })?;
                let newid = match vmid_field(p, &["newid", "newVmId", "new_vmid"]) {
                    Some(id) => id,
                    None => {
                        let next = api.request(Method::GET, "/cluster/nextid", &[]).await?;
                        value_string(&next).ok_or_else(|| {
                            ExecError::new("PROXMOX_API_ERROR", "no next VM id from Proxmox")
                        })?
                    }
                };
                let mut form = vec![("newid".to_owned(), newid.clone())];
                for key in [
                    "name",
                    "storage",
                    "format",
                    "pool",
                    "description",
                    "snapname",
                    "target",
                ] {
                    if key == "target" {
                        // `target` names the agent's target; the Proxmox target node is `targetNode`.
                        if let Some(tn) = str_field(p, &["targetNode", "target_node"]) {
                            form.push(("target".to_owned(), tn));
                        }
                        continue;
                    }
                    if let Some(val) = p.get(key).and_then(form_value).filter(|v| !v.is_empty()) {
                        form.push((key.to_owned(), val));
                    }
                }
                if let Some(full) = p.get("full").and_then(form_value) {
                    form.push(("full".to_owned(), full));
                }
                ctx.progress(Some(10), format!("cloning {template} to {newid}"));
                let data = api
                    .request(
                        Method::POST,
                        &format!("/nodes/{n}/qemu/{template}/clone"),
                        &form,
                    )
                    .await?;
                let newid_num: Value = newid
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or(Value::String(newid));
                self.finish_task(
                    ctx,
                    &api,
                    &n,
                    p,
                    data,
                    json!({"vmid": newid_num, "template": template}),
                )
                .await
            }
            "get-config" | "config.get" => {
                let v = vmid()?;
                api.request(Method::GET, &format!("/nodes/{n}/qemu/{v}/config"), &[])
                    .await
            }
            "update-config" | "config.update" => {
                let v = vmid()?;
                let form = config_form(p);
                if form.is_empty() {
                    return Err(ExecError::bad_request(
                        "config (object) required for proxmox.update-config",
                    ));
                }
                let data = api
                    .request(Method::PUT, &format!("/nodes/{n}/qemu/{v}/config"), &form)
                    .await?;
                self.finish_task(ctx, &api, &n, p, data, json!({"vmid": v, "updated": form.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()}))
                    .await
            }
            "delete" => {
                let v = vmid()?;
                let mut q = Vec::new();
                if truthy(p.get("purge")) {
                    q.push(("purge".to_owned(), "1".to_owned()));
                }
                if truthy(p.get("destroyUnreferencedDisks"))
                    || truthy(p.get("destroy_unreferenced_disks"))
                {
                    q.push(("destroy-unreferenced-disks".to_owned(), "1".to_owned()));
                }
                ctx.progress(Some(10), format!("deleting VM {v}"));
                let data = api
                    .request(Method::DELETE, &format!("/nodes/{n}/qemu/{v}"), &q)
                    .await?;
                self.finish_task(ctx, &api, &n, p, data, json!({"vmid": v, "deleted": true}))
                    .await
            }
            "resize-disk" => {
                let v = vmid()?;
                let disk = str_field(p, &["disk"]).ok_or_else(|| {
                    ExecError::bad_request("disk required for proxmox.resize-disk")
                })?;
                let size = str_field(p, &["size"]).ok_or_else(|| {
                    ExecError::bad_request("size required for proxmox.resize-disk")
                })?;
                let data = api
                    .request(
                        Method::PUT,
                        &format!("/nodes/{n}/qemu/{v}/resize"),
                        &[("disk".to_owned(), disk), ("size".to_owned(), size)],
                    )
                    .await?;
                self.finish_task(ctx, &api, &n, p, data, json!({"vmid": v}))
                    .await
            }
            "sendkey" => {
                let v = vmid()?;
                let key = str_field(p, &["key"])
                    .ok_or_else(|| ExecError::bad_request("key required for proxmox.sendkey"))?;
                let data = api
                    .request(
                        Method::PUT,
                        &format!("/nodes/{n}/qemu/{v}/sendkey"),
                        &[("key".to_owned(), key)],
                    )
                    .await?;
                Ok(if data.is_null() { json!({}) } else { data })
            }
            "cluster-resources" => {
                let q: Vec<(String, String)> = str_field(p, &["type", "resourceType"])
                    .map(|t| vec![("type".to_owned(), t)])
                    .unwrap_or_default();
                api.request(Method::GET, "/cluster/resources", &q).await
            }
            "status" => {
                let v = api.request(Method::GET, "/version", &[]).await?;
                let mut out = Map::new();
                out.insert("connected".to_owned(), Value::Bool(true));
                if let Value::Object(o) = v {
                    out.extend(o);
                }
                Ok(Value::Object(out))
            }
            "task-status" => {
                let upid = upid_field(p)?;
                api.request(
                    Method::GET,
                    &format!("/nodes/{n}/tasks/{}/status", enc(&upid)),
                    &[],
                )
                .await
            }
            "wait-task" => {
                let upid = upid_field(p)?;
                let (timeout, interval) = timing(p, 300_000, 1_800_000);
                wait_task(ctx, &api, &n, &upid, timeout, interval).await
            }
            "wait-vm-status" => {
                let v = vmid()?;
                let desired = str_field(p, &["desiredStatus", "desired_status", "status"])
                    .unwrap_or_else(|| "running".to_owned())
                    .to_lowercase();
                let (timeout, interval) = timing(p, 120_000, 1_800_000);
                let path = format!("/nodes/{n}/qemu/{v}/status/current");
                poll(timeout, interval, || async {
                    let s = api.request(Method::GET, &path, &[]).await?;
                    Ok((s["status"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(&desired)))
                    .then_some(s))
                })
                .await?
                .ok_or_else(|| {
                    ExecError::new(
                        "TIMEOUT",
                        format!(
                            "VM {v} did not reach status \"{desired}\" within {}s",
                            timeout.as_secs()
                        ),
                    )
                })
            }
            "wait-vm-presence" => {
                let v = vmid()?;
                let exists = p.get("exists").and_then(Value::as_bool).unwrap_or(true);
                let (timeout, interval) = timing(p, 45_000, 600_000);
                let path = format!("/nodes/{n}/qemu");
                let found = poll(timeout, interval, || async {
                    let list = api.request(Method::GET, &path, &[]).await?;
                    let present = list.as_array().is_some_and(|a| {
                        a.iter()
                            .any(|vm| value_string(&vm["vmid"]).as_deref() == Some(v.as_str()))
                    });
                    Ok((present == exists).then_some(()))
                })
                .await?;
                match found {
                    Some(()) => Ok(
                        json!({"vmid": v.parse::<u64>().map(Value::from).unwrap_or(Value::String(v.clone())), "exists": exists}),
                    ),
                    None => Err(ExecError::new(
                        "TIMEOUT",
                        format!(
                            "VM {v} did not become {} within {}s",
                            if exists { "present" } else { "absent" },
                            timeout.as_secs()
                        ),
                    )),
                }
            }
            other => Err(ExecError::new(
                "UNKNOWN_COMMAND_TYPE",
                format!("Unknown command type: proxmox.{other}"),
            )),
        }
    }

    /// If Proxmox answered with a task, waits for it (unless `wait: false`) and fails when its
    /// exit status is not `OK`.
    async fn finish_task(
        &self,
        ctx: &CommandCtx,
        api: &ProxmoxClient,
        node: &str,
        p: &Value,
        data: Value,
        mut base: Value,
    ) -> Result<Value, ExecError> {
        let upid = extract_upid(&data).filter(|u| u.starts_with("UPID:"));
        if let Value::Object(o) = &mut base {
            o.insert(
                "upid".to_owned(),
                upid.clone().map(Value::String).unwrap_or(Value::Null),
            );
        }
        let Some(upid) = upid else {
            return Ok(base);
        };
        if p.get("wait").and_then(Value::as_bool) == Some(false) {
            return Ok(base);
        }
        let (timeout, interval) = timing(p, 300_000, 1_800_000);
        let status = wait_task(ctx, api, node, &upid, timeout, interval).await?;
        let exit = status["exitstatus"].as_str().unwrap_or_default().to_owned();
        if exit != "OK" {
            return Err(ExecError::new(
                "PROXMOX_TASK_FAILED",
                format!(
                    "Proxmox task {upid} failed: {}",
                    if exit.is_empty() {
                        "no exit status"
                    } else {
                        &exit
                    }
                ),
            ));
        }
        if let Value::Object(o) = &mut base {
            o.insert("exitstatus".to_owned(), Value::String(exit));
        }
        Ok(base)
    }
}

impl Executor for ProxmoxExecutor {
    fn handles(&self, command_type: &str) -> bool {
        command_type.strip_prefix("proxmox.").is_some_and(|a| {
            ACTIONS.contains(&a)
                || ssh_actions::ACTIONS.contains(&a)
                || iso_actions::ACTIONS.contains(&a)
        })
    }

    fn execute<'a>(
        &'a self,
        ctx: &'a CommandCtx,
        command_type: &'a str,
        payload: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ExecError>> {
        Box::pin(self.run(ctx, command_type, payload))
    }
}

/// Polls the task until it stops; returns the final status. Does not judge `exitstatus`.
async fn wait_task(
    ctx: &CommandCtx,
    api: &ProxmoxClient,
    node_enc: &str,
    upid: &str,
    timeout: Duration,
    interval: Duration,
) -> Result<Value, ExecError> {
    ctx.progress(Some(50), format!("waiting for task {upid}"));
    let path = format!("/nodes/{node_enc}/tasks/{}/status", enc(upid));
    let out = poll(timeout, interval, || async {
        let s = api.request(Method::GET, &path, &[]).await?;
        Ok(s["status"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case("stopped"))
            .then_some(s))
    })
    .await?;
    out.ok_or_else(|| {
        ExecError::new(
            "TIMEOUT",
            format!("Proxmox task {upid} timed out after {}s", timeout.as_secs()),
        )
    })
}

/// Calls `check` until it yields `Some` or the deadline passes (then `None`). The first polls
/// come quickly (200 ms, doubling) up to `interval`. A poll error aborts at once.
async fn poll<T, F, Fut>(
    timeout: Duration,
    interval: Duration,
    mut check: F,
) -> Result<Option<T>, ExecError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ExecError>>,
{
    let deadline = Instant::now() + timeout;
    let mut step = Duration::from_millis(200).min(interval);
    loop {
        if let Some(v) = check().await? {
            return Ok(Some(v));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(step.min(deadline - now)).await;
        step = (step * 2).min(interval);
    }
}

fn timing(p: &Value, default_timeout: u64, max_timeout: u64) -> (Duration, Duration) {
    let num = |keys: &[&str]| {
        keys.iter().find_map(|k| {
            p.get(*k)
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        })
    };
    let t = num(&["timeoutMs", "timeout_ms"])
        .unwrap_or(default_timeout)
        .clamp(1_000, max_timeout);
    let i = num(&["intervalMs", "interval_ms"])
        .unwrap_or(1_000)
        .clamp(250, 15_000);
    (Duration::from_millis(t), Duration::from_millis(i))
}

/// Form fields for `PUT …/config`: the `config` object, else the top-level keys minus the
/// agent's own. Booleans become 1/0.
fn config_form(p: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let source: Vec<(&String, &Value)> = match p.get("config").and_then(Value::as_object) {
        Some(cfg) => cfg.iter().collect(),
        None => p
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
                    .collect()
            })
            .unwrap_or_default(),
    };
    for (k, v) in source {
        if let Some(val) = form_value(v) {
            out.push((k.clone(), val));
        }
    }
    out
}

fn form_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0),
        Some(Value::String(s)) => matches!(s.as_str(), "1" | "true" | "yes"),
        _ => false,
    }
}

fn str_field(p: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| p.get(*k).and_then(value_string))
        .filter(|s| !s.is_empty())
}

fn value_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A positive integer VM id (number or numeric string).
fn vmid_field(p: &Value, keys: &[&str]) -> Option<String> {
    str_field(p, keys).filter(|s| s.parse::<u64>().is_ok_and(|n| n > 0))
}

fn upid_field(p: &Value) -> Result<String, ExecError> {
    ["upid", "task", "taskId", "task_id"]
        .iter()
        .find_map(|k| p.get(*k).and_then(extract_upid))
        .ok_or_else(|| ExecError::bad_request("upid required"))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
