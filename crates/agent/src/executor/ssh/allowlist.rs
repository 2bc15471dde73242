//! The commands `proxmox.ssh-exec` may run: read-only or narrowly scoped `qm`/`pvesh`/`cat`
//! invocations. Anything else needs a dedicated command type; there is no bypass flag.

/// True when `command` (trimmed, case-insensitive, any whitespace between words) is one of:
/// `qm (status|start|stop|shutdown|reset|suspend|resume) <vmid>`, `qm sendkey <vmid> <key>`,
/// `cat /etc/pve/qemu-server/<vmid>.conf`, `pvesh get /nodes/<node>/qemu[/]`,
/// `pvesh get /cluster/resources[/]`.
pub fn allowed(command: &str) -> bool {
    let lower = command.trim().to_ascii_lowercase();
    let words: Vec<&str> = lower.split_ascii_whitespace().collect();
    match words.as_slice() {
        ["qm", action, vmid] => {
            matches!(
                *action,
                "status" | "start" | "stop" | "shutdown" | "reset" | "suspend" | "resume"
            ) && digits(vmid)
        }
        ["qm", "sendkey", vmid, key] => {
            digits(vmid)
                && !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'))
        }
        ["cat", path] => path
            .strip_prefix("/etc/pve/qemu-server/")
            .and_then(|rest| rest.strip_suffix(".conf"))
            .is_some_and(digits),
        ["pvesh", "get", path] => {
            let path = path.strip_suffix('/').unwrap_or(path);
            path == "/cluster/resources"
                || path
                    .strip_prefix("/nodes/")
                    .and_then(|rest| rest.strip_suffix("/qemu"))
                    .is_some_and(|node| !node.is_empty() && !node.contains('/'))
        }
        _ => false,
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn allows_only_the_listed_shapes() {
        for ok in [
            "qm status 101",
            "  QM   start\t9000 ",
            "qm sendkey 101 ctrl-alt-delete",
            "cat /etc/pve/qemu-server/101.conf",
            "pvesh get /nodes/pve/qemu",
            "pvesh get /nodes/pve/qemu/",
            "pvesh get /cluster/resources",
        ] {
            assert!(allowed(ok), "{ok}");
        }
        for bad in [
            "",
            "qm destroy 101",
            "qm status 101; rm -rf /",
            "qm status 101 && id",
            "qm status abc",
            "qm sendkey 101 a;b",
            "cat /etc/pve/qemu-server/../../shadow.conf",
            "cat /etc/shadow",
            "pvesh get /nodes/pve/qemu/101/config",
            "pvesh set /cluster/resources",
            "pvesh get /nodes//qemu",
            "echo hi",
        ] {
            assert!(!allowed(bad), "{bad}");
        }
    }
}
