//! `proxmox.ssh-*`: probe, read/write a VM config file, run an allow-listed command.

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::ProxmoxTarget;
use crate::executor::ExecError;
use crate::executor::ssh::{self, SshLogin, allowlist};

pub const ACTIONS: &[&str] = &[
    "ssh-status",
    "ssh-test",
    "ssh-bootstrap",
    "ssh-read-config",
    "ssh-write-config",
    "ssh-exec",
];

const PROBE: &str = "echo BOTMOX_SSH_OK";

pub async fn run(target: &ProxmoxTarget, action: &str, p: &Value) -> Result<Value, ExecError> {
    let login = SshLogin::from_target(target);
    match action {
        "ssh-status" | "ssh-test" => Ok(probe(&login, p).await),
        "ssh-bootstrap" => {
            let mut out = probe(&login, p).await;
            out["bootstrap"] = json!("validated");
            Ok(out)
        }
        "ssh-read-config" => {
            let vmid = vmid(p)?;
            let command = format!("cat /etc/pve/qemu-server/{vmid}.conf");
            debug_assert!(allowlist::allowed(&command));
            let out = ssh::run(&login, &command, None, timeout(p, 15_000)).await?;
            if !out.success() {
                return Err(ExecError::new(
                    "SSH_READ_FAILED",
                    non_empty(&out.stderr, &format!("Failed to read VM config for {vmid}")),
                ));
            }
            Ok(json!({"config": out.stdout}))
        }
        "ssh-write-config" => {
            let vmid = vmid(p)?;
            let content = p
                .get("content")
                .and_then(Value::as_str)
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| {
                    ExecError::bad_request("content is required for proxmox.ssh-write-config")
                })?;
            let mut body = content.to_owned();
            if !body.ends_with('\n') {
                body.push('\n');
            }
            // The content goes through stdin: nothing from the payload reaches the shell.
            let command = format!("cat > /etc/pve/qemu-server/{vmid}.conf");
            let out = ssh::run(&login, &command, Some(body.as_bytes()), timeout(p, 20_000)).await?;
            if !out.success() {
                return Err(ExecError::new(
                    "SSH_WRITE_FAILED",
                    non_empty(
                        &out.stderr,
                        &format!("Failed to write VM config for {vmid}"),
                    ),
                ));
            }
            Ok(json!({"written": true, "vmid": vmid}))
        }
        "ssh-exec" => {
            let command = p
                .get("command")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| ExecError::bad_request("SSH command is required"))?;
            if !allowlist::allowed(command) {
                return Err(ExecError::new(
                    "SSH_COMMAND_FORBIDDEN",
                    "SSH command is not allowlisted. Use a dedicated API action instead.",
                ));
            }
            let out = ssh::run(&login, command, None, timeout(p, 30_000)).await?;
            let mut result = json!({
                "stdout": out.stdout,
                "stderr": out.stderr,
                "exitCode": out.exit_code,
                "allowlisted": true,
            });
            if let Some(sig) = out.signal {
                result["signal"] = json!(sig);
            }
            if out.truncated {
                result["truncated"] = json!(true);
            }
            Ok(result)
        }
        other => Err(ExecError::new(
            "UNKNOWN_COMMAND_TYPE",
            format!("Unknown command type: proxmox.{other}"),
        )),
    }
}

/// Never fails: the outcome is in `connected` and `code`.
async fn probe(login: &SshLogin, p: &Value) -> Value {
    let mut out = json!({
        "configured": login.configured(),
        "host": login.host,
        "port": login.port,
        "username": login.username,
        "mode": login.mode(),
        "connected": false,
    });
    if !login.configured() {
        out["code"] = json!("SSH_REQUIRED");
        out["message"] = json!("SSH credentials are not configured for this computer.");
        return out;
    }
    match ssh::run(login, PROBE, None, timeout(p, 10_000)).await {
        Ok(o) if o.success() => {
            out["connected"] = json!(true);
            out["code"] = json!("OK");
            out["stdout"] = json!(o.stdout);
        }
        Ok(o) => {
            out["code"] = json!("SSH_EXEC_ERROR");
            out["stdout"] = json!(o.stdout);
            out["stderr"] = json!(o.stderr);
            out["message"] = json!(format!("the probe exited with {:?}", o.exit_code));
        }
        Err(e) => {
            out["code"] = json!(e.code);
            out["message"] = json!(e.message);
        }
    }
    out
}

fn vmid(p: &Value) -> Result<u64, ExecError> {
    ["vmid", "id"]
        .iter()
        .find_map(|k| {
            let v = p.get(*k)?;
            v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
        })
        .filter(|v| *v > 0)
        .ok_or_else(|| ExecError::bad_request("vmid is required"))
}

/// `timeoutMs` / `timeout_ms` / `timeout` in ms, clamped to 1 s..180 s.
fn timeout(p: &Value, default_ms: u64) -> Duration {
    let ms = ["timeoutMs", "timeout_ms", "timeout"]
        .iter()
        .find_map(|k| {
            let v = p.get(*k)?;
            v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
        })
        .unwrap_or(default_ms)
        .clamp(1_000, 180_000);
    Duration::from_millis(ms)
}

fn non_empty(text: &str, fallback: &str) -> String {
    if text.trim().is_empty() {
        fallback.to_owned()
    } else {
        text.trim().to_owned()
    }
}
