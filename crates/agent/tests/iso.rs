//! The provisioning ISO through the agent's executor against the Proxmox simulator: built in
//! memory, uploaded with the storage API, read back with xorriso, attached on a free slot
//! (never over the installer), detached and deleted.

use std::sync::Arc;

use base64::Engine;
use botmox_agent::config::{AgentConfig, ProxmoxTarget};
use botmox_agent::executor::proxmox::ProxmoxExecutor;
use botmox_agent::executor::{CommandCtx, Dispatcher, ExecError};
use botmox_agent::secret::Secret;
use botmox_testkit::proxmox::{
    DEFAULT_PASSWORD, INSTALLER_ISO, ProxmoxSim, SEEDED_VMIDS, SimConfig, VmSpec,
};
use serde_json::{Value, json};

fn dispatcher(sim: &ProxmoxSim) -> Dispatcher {
    let target = ProxmoxTarget {
        url: sim.url(),
        username: "root@pam".to_owned(),
        password: Some(Secret::new(DEFAULT_PASSWORD)),
        node: "pve".to_owned(),
        fingerprint: sim.fingerprint_sha256().map(str::to_owned),
        ..ProxmoxTarget::default()
    };
    let mut cfg = AgentConfig::default();
    cfg.targets.insert("sim".to_owned(), target);
    Dispatcher::new(vec![Arc::new(ProxmoxExecutor::new(&cfg))])
}

async fn run(d: &Dispatcher, command_type: &str, payload: Value) -> Result<Value, ExecError> {
    let ctx = CommandCtx::new("test", Arc::new(|_, _| {}));
    d.run(&ctx, command_type, &payload).await
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Runs xorriso on the image; `None` when xorriso is not installed (an error under CI).
fn xorriso(image: &[u8], args: &[&str]) -> Option<(tempfile::TempDir, String)> {
    let dir = tempfile::tempdir().expect("dir");
    let iso = dir.path().join("in.iso");
    std::fs::write(&iso, image).expect("write");
    let out = match std::process::Command::new("xorriso")
        .current_dir(dir.path())
        .args(["-abort_on", "FAILURE", "-indev"])
        .arg(&iso)
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(_) if std::env::var("CI").as_deref() != Ok("true") => return None,
        Err(e) => panic!("xorriso is missing: {e}"),
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((dir, text))
}

#[tokio::test]
async fn a_provision_iso_is_uploaded_attached_beside_the_installer_and_removed() {
    let sim = ProxmoxSim::start(SimConfig::default()).await.expect("sim");
    let d = dispatcher(&sim);
    let vmid = 555u32;
    sim.add_vm(
        "pve",
        vmid,
        VmSpec::bare()
            .set("name", "installer-on-ide3")
            .set("ide3", &format!("{INSTALLER_ISO},media=cdrom"))
            .set("ide2", "none,media=cdrom"),
    )
    .expect("vm");

    let unattend = "<unattend xmlns=\"urn:schemas-microsoft-com:unattend\"/>\n";
    let made = run(
        &d,
        "proxmox.create-provision-iso",
        json!({"vmid": vmid, "files": {
            "autounattend.xml": b64(unattend),
            "provision.json": b64("{\"token\":\"bmp_x\"}"),
            "scripts/setup.cmd": b64("@echo off\r\n"),
        }}),
    )
    .await
    .expect("create");
    let iso_path = format!("local:iso/vm-{vmid}-provision.iso");
    assert_eq!(made["isoPath"], iso_path.as_str(), "{made}");
    assert_eq!(made["created"], true);
    let image = sim.file_bytes(&iso_path).expect("uploaded");
    assert_eq!(made["size"], image.len());
    assert!(
        sim.storage_files("pve", "local")
            .iter()
            .any(|f| f.volid == iso_path && f.content == "iso")
    );
    if let Some((dir, info)) = xorriso(&image, &["-pvd_info"]) {
        assert!(info.contains("PROVISION"), "{info}");
        drop(dir);
        let (dir, _) = xorriso(
            &image,
            &[
                "-osirrox",
                "on",
                "-extract",
                "/autounattend.xml",
                "autounattend.xml",
                "-extract",
                "/scripts/setup.cmd",
                "setup.cmd",
            ],
        )
        .expect("xorriso");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("autounattend.xml")).expect("extracted"),
            unattend
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("setup.cmd")).expect("extracted"),
            "@echo off\r\n"
        );
    }

    // The default slot skips ide3 (the installer) and takes the first free one.
    let attached = run(
        &d,
        "proxmox.attach-cdrom",
        json!({"vmid": vmid, "isoPath": iso_path}),
    )
    .await
    .expect("attach");
    assert_eq!(attached["attached"], true);
    let slot = attached["slot"].as_str().expect("slot").to_owned();
    assert_eq!(slot, "ide0");
    let vm = sim.vm("pve", vmid).expect("vm");
    assert_eq!(
        vm.config.get("ide0").map(String::as_str),
        Some(format!("{iso_path},media=cdrom").as_str())
    );
    assert_eq!(
        vm.config.get("ide3").map(String::as_str),
        Some(format!("{INSTALLER_ISO},media=cdrom").as_str())
    );
    // Naming the installer's slot is refused; attaching again is a no-op on the same slot.
    let err = run(
        &d,
        "proxmox.attach-cdrom",
        json!({"vmid": vmid, "isoPath": iso_path, "cdromSlot": "ide3"}),
    )
    .await
    .expect_err("busy");
    assert_eq!(err.code, "CDROM_SLOT_BUSY");
    let again = run(
        &d,
        "proxmox.attach-cdrom",
        json!({"vmid": vmid, "isoPath": iso_path}),
    )
    .await
    .expect("again");
    assert_eq!(again["slot"], "ide0");

    let detached = run(
        &d,
        "proxmox.detach-cdrom",
        json!({"vmid": vmid, "deleteIso": true}),
    )
    .await
    .expect("detach");
    assert_eq!(detached["detached"], true, "{detached}");
    assert_eq!(detached["deleted"], true, "{detached}");
    let vm = sim.vm("pve", vmid).expect("vm");
    assert_eq!(
        vm.config.get("ide0").map(String::as_str),
        Some("none,media=cdrom")
    );
    assert!(sim.file_bytes(&iso_path).is_none(), "the ISO is deleted");
    assert!(
        sim.file_bytes(INSTALLER_ISO).is_some(),
        "the installer stays"
    );
}

#[tokio::test]
async fn iso_names_storages_and_files_are_validated() {
    let sim = ProxmoxSim::start(SimConfig::default()).await.expect("sim");
    let d = dispatcher(&sim);
    let vmid = SEEDED_VMIDS[0];
    let files = json!({"a.txt": b64("x")});
    for (payload, what) in [
        (
            json!({"vmid": vmid, "files": files, "isoName": "../x.iso"}),
            "path",
        ),
        (
            json!({"vmid": vmid, "files": files, "isoName": "x/y.iso"}),
            "slash",
        ),
        (
            json!({"vmid": vmid, "files": files, "isoName": "x.img"}),
            "suffix",
        ),
        (
            json!({"vmid": vmid, "files": files, "isoName": ".iso"}),
            "dot",
        ),
        (
            json!({"vmid": vmid, "files": files, "isoStorage": "local;rm"}),
            "storage",
        ),
        (json!({"vmid": vmid, "files": {}}), "no files"),
        (json!({"vmid": vmid, "files": {"a": "%%%"}}), "base64"),
        (
            json!({"vmid": vmid, "files": {"../a": b64("x")}}),
            "file path",
        ),
        (json!({"files": files}), "vmid"),
    ] {
        let err = run(&d, "proxmox.create-provision-iso", payload)
            .await
            .expect_err(what);
        assert!(
            matches!(err.code.as_str(), "BAD_REQUEST" | "ISO_CREATE_FAILED"),
            "{what}: {err}"
        );
    }
    assert!(
        sim.storage_files("pve", "local")
            .iter()
            .all(|f| !f.volid.contains("provision")),
        "nothing was uploaded"
    );
    // A custom name and the default ide3 slot on a VM whose ide2 is an empty drive.
    let made = run(
        &d,
        "proxmox.create-provision-iso",
        json!({"vmid": vmid, "files": files, "isoName": "provision-101.iso"}),
    )
    .await
    .expect("create");
    assert_eq!(made["isoPath"], "local:iso/provision-101.iso");
    let attached = run(
        &d,
        "proxmox.attach-cdrom",
        json!({"vmid": vmid, "isoPath": "local:iso/provision-101.iso"}),
    )
    .await
    .expect("attach");
    assert_eq!(attached["slot"], "ide3");
    let err = run(
        &d,
        "proxmox.attach-cdrom",
        json!({"vmid": vmid, "isoPath": "local:iso/provision-101.iso", "cdromSlot": "sata0"}),
    )
    .await
    .expect_err("a disk slot");
    assert_eq!(err.code, "CDROM_SLOT_BUSY");
}
