//! The provisioning ISO: built in memory (ISO 9660 + Joliet, label `PROVISION`), uploaded with
//! the storage upload API, attached on a free CD-ROM slot, detached and deleted through the
//! storage content API. No shell anywhere, so nothing from the payload reaches one.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use super::client::{ProxmoxClient, extract_upid};
use super::{enc, str_field, timing, vmid_field, wait_task};
use crate::executor::{CommandCtx, ExecError};

pub const ACTIONS: &[&str] = &["create-provision-iso", "attach-cdrom", "detach-cdrom"];

pub const VOLUME_LABEL: &str = "PROVISION";

/// Slots tried for the config ISO: `ide3` first (Proxmox puts the installer on `ide2`), then
/// the other IDE and SATA slots.
const SLOTS: &[&str] = &[
    "ide3", "ide0", "ide1", "ide2", "sata0", "sata1", "sata2", "sata3", "sata4", "sata5",
];

pub async fn run(
    ctx: &CommandCtx,
    api: &ProxmoxClient,
    node: &str,
    action: &str,
    p: &Value,
) -> Result<Value, ExecError> {
    let vmid = vmid_field(p, &["vmid"])
        .ok_or_else(|| ExecError::bad_request(format!("vmid required for proxmox.{action}")))?;
    let n = enc(node);
    match action {
        "create-provision-iso" => create(ctx, api, node, &vmid, p).await,
        "attach-cdrom" => {
            let iso_path = str_field(p, &["isoPath", "iso_path"]).ok_or_else(|| {
                ExecError::bad_request("isoPath required for proxmox.attach-cdrom")
            })?;
            let (storage, file) = iso_volume(&iso_path).ok_or_else(|| {
                ExecError::bad_request("isoPath must look like <storage>:iso/<name>.iso")
            })?;
            check_iso_name(file)?;
            check_storage(storage)?;
            let config = api
                .request(Method::GET, &format!("/nodes/{n}/qemu/{vmid}/config"), &[])
                .await?;
            let slot = match str_field(p, &["cdromSlot", "cdrom_slot", "slot"]) {
                Some(slot) => {
                    check_slot(&slot)?;
                    if !slot_usable(&config, &slot, &iso_path) {
                        return Err(ExecError::new(
                            "CDROM_SLOT_BUSY",
                            format!("slot {slot} of VM {vmid} holds another drive or ISO"),
                        ));
                    }
                    slot
                }
                None => SLOTS
                    .iter()
                    .find(|s| slot_usable(&config, s, &iso_path))
                    .map(|s| (*s).to_owned())
                    .ok_or_else(|| {
                        ExecError::new(
                            "CDROM_SLOT_BUSY",
                            format!("VM {vmid} has no free IDE or SATA slot for a CD-ROM"),
                        )
                    })?,
            };
            let data = api
                .request(
                    Method::PUT,
                    &format!("/nodes/{n}/qemu/{vmid}/config"),
                    &[(slot.clone(), format!("{iso_path},media=cdrom"))],
                )
                .await?;
            Ok(
                json!({"upid": extract_upid(&data), "attached": true, "slot": slot, "isoPath": iso_path}),
            )
        }
        "detach-cdrom" => {
            let config = api
                .request(Method::GET, &format!("/nodes/{n}/qemu/{vmid}/config"), &[])
                .await?;
            let wanted_iso = str_field(p, &["isoPath", "iso_path"]);
            let slot = match str_field(p, &["cdromSlot", "cdrom_slot", "slot"]) {
                Some(slot) => slot,
                None => SLOTS
                    .iter()
                    .find(|s| match (&wanted_iso, drive_volume(&config, s)) {
                        (Some(want), Some(vol)) => &vol == want,
                        (None, Some(vol)) => vol.ends_with("-provision.iso"),
                        _ => false,
                    })
                    .map(|s| (*s).to_owned())
                    .unwrap_or_else(|| "ide3".to_owned()),
            };
            check_slot(&slot)?;
            match config.get(&slot).and_then(Value::as_str) {
                None => {
                    return Ok(
                        json!({"upid": null, "detached": false, "slot": slot, "deleted": false}),
                    );
                }
                Some(v) if !v.split(',').any(|o| o.trim() == "media=cdrom") => {
                    return Err(ExecError::new(
                        "CDROM_SLOT_BUSY",
                        format!("slot {slot} of VM {vmid} is not a CD-ROM drive"),
                    ));
                }
                Some(_) => {}
            }
            let old = drive_volume(&config, &slot);
            let data = api
                .request(
                    Method::PUT,
                    &format!("/nodes/{n}/qemu/{vmid}/config"),
                    &[(slot.clone(), "none,media=cdrom".to_owned())],
                )
                .await?;
            let mut out = json!({"upid": extract_upid(&data), "detached": true, "slot": slot, "deleted": false});
            let delete = p
                .get("deleteIso")
                .or_else(|| p.get("delete_iso"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if delete && let Some(volid) = old {
                // Only the ISO this command was about (or, without isoPath, ours by name).
                let ours = match &wanted_iso {
                    Some(want) => &volid == want,
                    None => volid.ends_with("-provision.iso"),
                };
                if let Some((storage, _)) = iso_volume(&volid).filter(|_| ours) {
                    let data = api
                        .request(
                            Method::DELETE,
                            &format!(
                                "/nodes/{n}/storage/{}/content/{}",
                                enc(storage),
                                enc(&volid)
                            ),
                            &[],
                        )
                        .await?;
                    if let Some(upid) = extract_upid(&data).filter(|u| u.starts_with("UPID:")) {
                        let (timeout, interval) = timing(p, 60_000, 600_000);
                        let st = wait_task(ctx, api, &n, &upid, timeout, interval).await?;
                        if st["exitstatus"].as_str() != Some("OK") {
                            return Err(ExecError::new(
                                "ISO_DELETE_FAILED",
                                format!("deleting {volid} failed: {}", st["exitstatus"]),
                            ));
                        }
                    }
                    out["deleted"] = json!(true);
                    out["isoPath"] = json!(volid);
                }
            }
            Ok(out)
        }
        other => Err(ExecError::new(
            "UNKNOWN_COMMAND_TYPE",
            format!("Unknown command type: proxmox.{other}"),
        )),
    }
}

async fn create(
    ctx: &CommandCtx,
    api: &ProxmoxClient,
    node: &str,
    vmid: &str,
    p: &Value,
) -> Result<Value, ExecError> {
    let files = p
        .get("files")
        .and_then(Value::as_object)
        .filter(|f| !f.is_empty())
        .ok_or_else(|| {
            ExecError::bad_request("files (base64 map) required for proxmox.create-provision-iso")
        })?;
    let mut decoded: Vec<(String, Vec<u8>)> = Vec::with_capacity(files.len());
    for (name, b64) in files {
        let text = b64.as_str().ok_or_else(|| {
            ExecError::bad_request(format!("files.{name} must be a base64 string"))
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| ExecError::bad_request(format!("files.{name} is not valid base64")))?;
        decoded.push((name.clone(), bytes));
    }
    let iso_name = str_field(p, &["isoName", "iso_name"])
        .unwrap_or_else(|| format!("vm-{vmid}-provision.iso"));
    check_iso_name(&iso_name)?;
    let storage =
        str_field(p, &["isoStorage", "iso_storage"]).unwrap_or_else(|| "local".to_owned());
    check_storage(&storage)?;
    ctx.progress(Some(10), "building the ISO");
    let image = botmox_iso::build_iso(
        decoded.iter().map(|(n, b)| (n.as_str(), b.as_slice())),
        VOLUME_LABEL,
        chrono::Utc::now(),
    )
    .map_err(|e| ExecError::new("ISO_CREATE_FAILED", e.to_string()))?;
    let size = image.len();
    ctx.progress(Some(30), format!("uploading {iso_name} to {storage}"));
    let data = api
        .upload(node, &storage, "iso", &iso_name, bytes::Bytes::from(image))
        .await
        .map_err(|e| ExecError::new("ISO_UPLOAD_FAILED", e.to_string()))?;
    let upid = extract_upid(&data).filter(|u| u.starts_with("UPID:"));
    if let Some(upid) = &upid {
        let (timeout, interval) = timing(p, 120_000, 600_000);
        let st = wait_task(ctx, api, &enc(node), upid, timeout, interval).await?;
        if st["exitstatus"].as_str() != Some("OK") {
            return Err(ExecError::new(
                "ISO_UPLOAD_FAILED",
                format!("the upload task failed: {}", st["exitstatus"]),
            ));
        }
    }
    Ok(json!({
        "isoPath": format!("{storage}:iso/{iso_name}"),
        "isoName": iso_name,
        "isoStorage": storage,
        "size": size,
        "upid": upid,
        "created": true,
    }))
}

/// A plain file name ending in `.iso`: letters, digits, `.`, `_`, `-`; no path, no leading dot.
fn check_iso_name(name: &str) -> Result<(), ExecError> {
    let ok = name.len() > 4
        && name.len() <= 200
        && !name.starts_with('.')
        && name.to_ascii_lowercase().ends_with(".iso")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ExecError::bad_request(format!(
            "isoName {name:?} must be a file name of letters, digits, . _ - ending in .iso"
        )))
    }
}

/// A Proxmox storage id.
fn check_storage(id: &str) -> Result<(), ExecError> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && id.as_bytes()[0].is_ascii_alphabetic()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ExecError::bad_request(format!(
            "isoStorage {id:?} is not a storage id"
        )))
    }
}

fn check_slot(slot: &str) -> Result<(), ExecError> {
    if SLOTS.contains(&slot) {
        Ok(())
    } else {
        Err(ExecError::bad_request(format!(
            "cdromSlot {slot:?} must be one of ide0-3, sata0-5"
        )))
    }
}

/// `local:iso/x.iso` → (`local`, `x.iso`).
fn iso_volume(volid: &str) -> Option<(&str, &str)> {
    let (storage, rest) = volid.split_once(':')?;
    let file = rest.strip_prefix("iso/")?;
    (!storage.is_empty() && !file.is_empty() && !file.contains('/')).then_some((storage, file))
}

/// The volume a slot points at (`local:iso/x.iso`), if any.
fn drive_volume(config: &Value, slot: &str) -> Option<String> {
    let value = config.get(slot)?.as_str()?;
    let volume = value.split(',').next()?.trim();
    (volume.contains(':')).then(|| volume.to_owned())
}

/// Free (absent or an empty CD drive) or already holding this very ISO.
fn slot_usable(config: &Value, slot: &str, iso_path: &str) -> bool {
    match config.get(slot).and_then(Value::as_str) {
        None => true,
        Some(value) => {
            let volume = value.split(',').next().unwrap_or_default().trim();
            let cdrom = value.split(',').any(|o| o.trim() == "media=cdrom") || volume == "cdrom";
            cdrom && (volume == "none" || volume == "cdrom" || volume == iso_path)
        }
    }
}
