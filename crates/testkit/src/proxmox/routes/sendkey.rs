//! `PUT /nodes/{node}/qemu/{vmid}/sendkey`: key presses, recorded for assertions.

use std::sync::Arc;

use axum::extract::{Path, State};
use serde_json::Value;

use crate::proxmox::error::{ApiError, ApiResult, data};
use crate::proxmox::params::{Params, parse_vmid};
use crate::proxmox::state::Shared;

use super::path_param;

/// `PUT …/sendkey`: synchronous; the VM must be running and the key a QEMU key name.
pub(crate) async fn sendkey(
    State(shared): State<Arc<Shared>>,
    Path((node, vmid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&["key"], |k| path_param(k) || k == "skiplock")?;
    let vmid = parse_vmid("vmid", &vmid)?;
    let key = params.get("key").unwrap_or_default().to_owned();
    let mut world = shared.lock();
    let vm = world.vm_mut(&node, vmid)?;
    if !vm.is_running() {
        return Err(ApiError::fail(format!(
            "VM {vmid} qmp command 'human-monitor-command' failed - unable to connect to VM {vmid} qmp socket - No such file or directory"
        )));
    }
    if !is_qemu_key_combo(&key) {
        return Err(ApiError::fail(format!("invalid parameter: {key}")));
    }
    vm.keys_sent.push(key);
    Ok(data(Value::Null))
}

/// QEMU's key names (`ret`, `ctrl-alt-delete`, `0x1c`, …) joined with `-`.
fn is_qemu_key_combo(combo: &str) -> bool {
    const NAMED: &[&str] = &[
        "shift",
        "shift_r",
        "alt",
        "alt_r",
        "altgr",
        "altgr_r",
        "ctrl",
        "ctrl_r",
        "menu",
        "esc",
        "minus",
        "equal",
        "backspace",
        "tab",
        "bracket_left",
        "bracket_right",
        "ret",
        "semicolon",
        "apostrophe",
        "grave_accent",
        "backslash",
        "comma",
        "dot",
        "slash",
        "asterisk",
        "spc",
        "caps_lock",
        "num_lock",
        "scroll_lock",
        "kp_divide",
        "kp_multiply",
        "kp_subtract",
        "kp_add",
        "kp_enter",
        "kp_decimal",
        "kp_comma",
        "kp_equals",
        "sysrq",
        "print",
        "less",
        "home",
        "pgup",
        "pgdn",
        "end",
        "left",
        "up",
        "down",
        "right",
        "insert",
        "delete",
        "stop",
        "again",
        "props",
        "undo",
        "front",
        "copy",
        "open",
        "paste",
        "find",
        "cut",
        "lf",
        "help",
        "meta_l",
        "meta_r",
        "compose",
        "pause",
        "ro",
        "hiragana",
        "henkan",
        "yen",
        "muhenkan",
        "katakanahiragana",
        "power",
        "sleep",
        "wake",
        "audionext",
        "audioprev",
        "audiostop",
        "audioplay",
        "audiomute",
        "volumeup",
        "volumedown",
        "mediaselect",
        "mail",
        "calculator",
        "computer",
        "ac_home",
        "ac_back",
        "ac_forward",
        "ac_refresh",
        "ac_bookmarks",
        "lang1",
        "lang2",
    ];
    let valid = |key: &str| {
        let single = key.len() == 1
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let function = key
            .strip_prefix('f')
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (1..=24).contains(&n));
        let keypad = key
            .strip_prefix("kp_")
            .is_some_and(|d| d.len() == 1 && d.bytes().all(|b| b.is_ascii_digit()));
        let hex = key
            .strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()));
        single || function || keypad || hex || NAMED.contains(&key)
    };
    !combo.is_empty() && combo.split('-').all(valid)
}

#[cfg(test)]
mod tests {
    use super::is_qemu_key_combo;

    #[test]
    fn qemu_key_names_are_recognised() {
        for key in [
            "a",
            "ret",
            "ctrl-alt-delete",
            "f12",
            "kp_5",
            "0x1c",
            "shift-tab",
        ] {
            assert!(is_qemu_key_combo(key), "{key}");
        }
        for key in ["", "enter", "ctrl--a", "f25", "A"] {
            assert!(!is_qemu_key_combo(key), "{key}");
        }
    }
}
