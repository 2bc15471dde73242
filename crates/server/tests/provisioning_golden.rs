//! Golden tests of the provisioning payload: the answer file is parsed and checked the way the
//! unattend schema would, every generated file is compared with a snapshot under
//! `tests/golden/` (`UPDATE_GOLDEN=1` rewrites them), and the ISO is read back with xorriso.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use botmox_contract::provisioning::{ProvisionIp, ProvisionVm, UnattendProfileConfig};
use botmox_server::provisioning::{
    COMMAND_LINE_MAX, ProvisioningPayload, VOLUME_LABEL, build_payload, unattend,
};
use chrono::{DateTime, TimeZone, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;
use url::Url;

// ---------------------------------------------------------------------------------------------
// The three profiles

struct Case {
    name: &'static str,
    profile: UnattendProfileConfig,
    vm: ProvisionVm,
    seed: u64,
}

fn timestamp() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn public_url() -> Url {
    Url::parse("https://botmox.example.com/").unwrap()
}

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJwcm92aXNpb24ifQ.c2lnbmF0dXJl";

fn minimal() -> Case {
    Case {
        name: "minimal",
        profile: serde_json::from_str("{}").unwrap(),
        vm: ProvisionVm {
            vm_uuid: "11111111-2222-3333-4444-555555555555".to_owned(),
            vm_name: None,
            ip: None,
            sequence: None,
        },
        seed: 1,
    }
}

/// Every section customised, in the original camelCase shape; a static address; a product key;
/// first-logon commands including one past the 1024-character limit.
fn full() -> Case {
    let long_command = format!(
        "cmd /c echo {} > C:\\WindowsSetup\\long.txt",
        "0123456789".repeat(110)
    );
    let profile = serde_json::json!({
        "user": {
            "nameMode": "custom", "customName": "Operator", "customNameSuffix": "sequential",
            "displayName": "Fleet Operator", "password": "P@ssw0rd", "group": "Administrators",
            "autoLogonCount": 5, "administratorPassword": "Adm1n!"
        },
        "computerName": {"mode": "custom", "customName": "BOT-NODE-07"},
        "locale": {
            "uiLanguage": "en-US", "userLocale": "de-DE",
            "keyboardLayouts": [{"language": "0409", "layout": "00000409"}, {"language": "0407", "layout": "00000407"}],
            "timeZone": "W. Europe Standard Time", "geoLocation": 94
        },
        "windows": {"edition": "Windows 11 Pro", "productKey": "vk7jg-nphtm-c97jm-9mpgt-3v66t", "bypassHardwareChecks": true},
        "disk": {"diskId": 0, "partitionStyle": "gpt", "systemPartitionMb": 300},
        "network": {"mode": "static", "interfaceAlias": "Ethernet", "dnsServers": ["9.9.9.9"]},
        "oobe": {"protectYourPc": 3},
        "privacy": {
            "disablePrivacyExperience": true, "disableTelemetry": true, "disableAdvertisingId": true,
            "disableLocation": true, "disableActivityHistory": true, "disableTailoredExperiences": true
        },
        "softwareRemoval": {
            "mode": "fixed_random", "fixedPackages": ["Microsoft.BingNews", "Microsoft.GetHelp"],
            "randomPool": ["Microsoft.ZuneMusic", "Microsoft.ZuneVideo", "Microsoft.People", "Clipchamp.Clipchamp"],
            "neverRemove": ["Microsoft.People"], "randomCount": {"min": 1, "max": 2}
        },
        "capabilityRemoval": {"mode": "fixed", "fixedCapabilities": ["Browser.InternetExplorer", "WMIC"]},
        "featureRemoval": {"features": ["WindowsMediaPlayer"]},
        "windowsSettings": {"disableDefender": true, "enableRemoteDesktop": true, "disableStickyKeys": false},
        "visualEffects": {"mode": "custom", "effects": {"fontSmoothing": true, "dragFullWindows": true, "cursorShadow": false}},
        "desktopIcons": {
            "mode": "custom", "icons": {"thisPC": true, "recycleBin": true},
            "startFolders": {"documents": true, "downloads": true}, "deleteEdgeShortcut": true
        },
        "firstLogonCommands": [
            {"description": "Show the version", "commandLine": "cmd /c ver > C:\\WindowsSetup\\ver.txt"},
            {"description": "A command too long for one CommandLine", "commandLine": long_command},
            {"description": "PowerShell snippet", "kind": "powershell",
             "command": "$ErrorActionPreference = 'Stop'\nGet-Date | Out-File C:\\WindowsSetup\\date.txt"}
        ],
        "customScript": {"executable": "START.ps1", "delaySeconds": 5}
    });
    Case {
        name: "full",
        profile: serde_json::from_value(profile).unwrap(),
        vm: ProvisionVm {
            vm_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32".to_owned(),
            vm_name: Some("WoW7".to_owned()),
            ip: Some(ProvisionIp {
                address: "192.168.50.27".to_owned(),
                netmask: "255.255.254.0".to_owned(),
                gateway: "192.168.50.1".to_owned(),
                dns: vec!["192.168.50.1".to_owned(), "1.1.1.1".to_owned()],
            }),
            sequence: Some(7),
        },
        seed: 2,
    }
}

/// Text that needs XML escaping and PowerShell quoting everywhere it can appear.
fn special() -> Case {
    let profile = serde_json::json!({
        "user": {
            "name_mode": "custom", "custom_name": "O'Brien & Şahin",
            "display_name": "Tom & \"Jerry\" <bots> 'quoted'",
            "password": "p<a>s&s\"w'o]]>rd€"
        },
        "computer_name": {"mode": "random", "random_prefix": "BOT-"},
        "locale": {"ui_language": "tr-TR", "input_locales": ["041f:0000041f"], "time_zone": "Turkey Standard Time"},
        "software_removal": {"mode": "fixed", "fixed_packages": ["Vendor's App", "A&B <Tools>"]},
        "visual_effects": {"mode": "default"},
        "desktop_icons": {"mode": "custom_randomize"},
        "network": {"interface_alias": "Ethernet 'LAN' $env:X"},
        "first_logon_commands": [
            {"description": "Quotes & <angles>", "command": "cmd /c echo \"a & b\" > \"C:\\Windows Setup\\x.txt\""}
        ],
        "custom_script": {"delay_seconds": 0}
    });
    Case {
        name: "special",
        profile: serde_json::from_value(profile).unwrap(),
        vm: ProvisionVm {
            vm_uuid: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".to_owned(),
            vm_name: Some("vm & <friends>".to_owned()),
            ip: Some(ProvisionIp {
                address: "10.1.2.3".to_owned(),
                netmask: "/24".to_owned(),
                gateway: "10.1.2.254".to_owned(),
                dns: vec![],
            }),
            sequence: None,
        },
        seed: 3,
    }
}

fn payload(case: &Case) -> ProvisioningPayload {
    build_payload(
        &case.profile,
        &case.vm,
        TOKEN,
        &public_url(),
        case.seed,
        timestamp(),
    )
    .unwrap()
}

fn text<'a>(payload: &'a ProvisioningPayload, path: &str) -> &'a str {
    std::str::from_utf8(&payload.file(path).unwrap().bytes).unwrap()
}

// ---------------------------------------------------------------------------------------------
// A small element tree read with quick-xml

#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<El>,
    text: String,
}

impl El {
    fn all<'a>(&'a self, name: &str) -> Vec<&'a El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn one<'a>(&'a self, name: &str) -> &'a El {
        let found = self.all(name);
        assert_eq!(
            found.len(),
            1,
            "<{}> must have exactly one <{name}>",
            self.name
        );
        found[0]
    }

    fn path<'a>(&'a self, path: &str) -> &'a El {
        path.split('/').fold(self, |el, name| el.one(name))
    }

    fn descendants<'a>(&'a self, name: &str, out: &mut Vec<&'a El>) {
        for child in &self.children {
            if child.name == name {
                out.push(child);
            }
            child.descendants(name, out);
        }
    }

    fn find_all<'a>(&'a self, name: &str) -> Vec<&'a El> {
        let mut out = Vec::new();
        self.descendants(name, &mut out);
        out
    }
}

fn parse(xml: &str) -> El {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<El> = vec![El::default()];
    loop {
        match reader.read_event().unwrap() {
            Event::Start(start) => {
                let mut el = El {
                    name: String::from_utf8(start.name().as_ref().to_vec()).unwrap(),
                    ..El::default()
                };
                for attr in start.attributes() {
                    let attr = attr.unwrap();
                    el.attrs.insert(
                        String::from_utf8(attr.key.as_ref().to_vec()).unwrap(),
                        attr.unescape_value().unwrap().into_owned(),
                    );
                }
                stack.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(el);
            }
            Event::Empty(_) => panic!("the generator writes no empty elements"),
            Event::Text(t) => {
                let decoded = t.decode().unwrap();
                let unescaped = quick_xml::escape::unescape(&decoded).unwrap();
                stack.last_mut().unwrap().text.push_str(&unescaped);
            }
            Event::GeneralRef(r) => {
                let name = r.decode().unwrap();
                let ch = match name.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity &{other};"),
                };
                stack.last_mut().unwrap().text.push_str(ch);
            }
            Event::Eof => break,
            Event::Decl(_)
            | Event::Comment(_)
            | Event::PI(_)
            | Event::DocType(_)
            | Event::CData(_) => {}
        }
    }
    let mut document = stack.pop().unwrap();
    assert!(stack.is_empty(), "unbalanced document");
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.pop().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Schema-like checks

const PASSES: [&str; 7] = [
    "windowsPE",
    "offlineServicing",
    "generalize",
    "specialize",
    "auditSystem",
    "auditUser",
    "oobeSystem",
];

fn decode_password(value: &str, suffix: &str) -> String {
    let bytes = STANDARD.decode(value).unwrap();
    assert_eq!(bytes.len() % 2, 0, "UTF-16LE has an even length");
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).unwrap();
    text.strip_suffix(suffix)
        .unwrap_or_else(|| panic!("{text:?} lacks the {suffix} suffix"))
        .to_owned()
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn assert_orders(container: &El, item: &str) {
    let orders: Vec<usize> = container
        .all(item)
        .iter()
        .map(|c| c.one("Order").text.parse().unwrap())
        .collect();
    let expected: Vec<usize> = (1..=orders.len()).collect();
    assert!(!orders.is_empty(), "<{}> is empty", container.name);
    assert_eq!(orders, expected, "<{}> Order values", container.name);
}

/// Checks the answer file the way the unattend schema and Windows Setup would, and returns
/// its passes by name.
fn check_structure<'a>(root: &'a El, profile: &UnattendProfileConfig) -> BTreeMap<String, &'a El> {
    assert_eq!(root.name, "unattend");
    assert_eq!(
        root.attrs.get("xmlns").map(String::as_str),
        Some(unattend::UNATTEND_NS)
    );
    assert_eq!(
        root.attrs.get("xmlns:wcm").map(String::as_str),
        Some(unattend::WCM_NS)
    );

    let mut passes = BTreeMap::new();
    for settings in &root.children {
        assert_eq!(settings.name, "settings");
        let pass = settings.attrs.get("pass").unwrap();
        assert!(PASSES.contains(&pass.as_str()), "unknown pass {pass}");
        assert!(
            passes.insert(pass.clone(), settings).is_none(),
            "pass {pass} twice"
        );
        let mut names = BTreeSet::new();
        for component in &settings.children {
            assert_eq!(component.name, "component");
            let mut expected: BTreeMap<String, String> = unattend::COMPONENT_ATTRIBUTES
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            let name = component.attrs.get("name").unwrap().clone();
            expected.insert("name".to_owned(), name.clone());
            assert_eq!(component.attrs, expected, "attributes of {name}");
            assert!(
                names.insert(name.clone()),
                "component {name} twice in {pass}"
            );
        }
    }
    // Passes appear in the order Setup runs them.
    let order: Vec<&str> = root
        .children
        .iter()
        .map(|s| s.attrs["pass"].as_str())
        .collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|p| PASSES.iter().position(|q| q == p));
    assert_eq!(order, sorted);
    for required in ["windowsPE", "specialize", "oobeSystem"] {
        assert!(passes.contains_key(required), "missing pass {required}");
    }
    assert_eq!(
        passes.contains_key("offlineServicing"),
        profile.windows_settings.disable_uac,
        "offlineServicing only when needed"
    );

    let component = |pass: &str, name: &str| -> &El {
        passes[pass]
            .children
            .iter()
            .find(|c| c.attrs["name"] == name)
            .unwrap_or_else(|| panic!("{pass} lacks {name}"))
    };

    // windowsPE
    let winpe = component("windowsPE", "Microsoft-Windows-International-Core-WinPE");
    assert_eq!(
        winpe.path("SetupUILanguage/UILanguage").text,
        profile.locale.ui_language
    );
    for field in ["InputLocale", "SystemLocale", "UILanguage", "UserLocale"] {
        assert!(!winpe.one(field).text.is_empty());
    }
    let setup = component("windowsPE", "Microsoft-Windows-Setup");
    let disk = setup.path("DiskConfiguration/Disk");
    assert_eq!(disk.attrs["wcm:action"], "add");
    assert_eq!(disk.one("WillWipeDisk").text, "true");
    assert_orders(disk.one("CreatePartitions"), "CreatePartition");
    assert_orders(disk.one("ModifyPartitions"), "ModifyPartition");
    let install_to = setup.path("ImageInstall/OSImage/InstallTo");
    assert_eq!(install_to.one("DiskID").text, disk.one("DiskID").text);
    let windows_partition = install_to.one("PartitionID").text.clone();
    let modified: Vec<&str> = disk
        .one("ModifyPartitions")
        .all("ModifyPartition")
        .iter()
        .map(|m| m.one("PartitionID").text.as_str())
        .collect();
    assert!(modified.contains(&windows_partition.as_str()));
    assert_eq!(setup.path("UserData/AcceptEula").text, "true");
    assert_eq!(setup.path("UserData/ProductKey/WillShowUI").text, "OnError");

    // specialize
    let shell = component("specialize", "Microsoft-Windows-Shell-Setup");
    let computer_name = &shell.one("ComputerName").text;
    assert!((1..=15).contains(&computer_name.len()), "{computer_name}");
    assert!(
        computer_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    );
    assert_eq!(shell.one("TimeZone").text, profile.locale.time_zone);
    component("specialize", "Microsoft-Windows-International-Core");

    // oobeSystem
    let shell = component("oobeSystem", "Microsoft-Windows-Shell-Setup");
    let oobe = shell.one("OOBE");
    for flag in [
        "HideEULAPage",
        "HideLocalAccountScreen",
        "HideOnlineAccountScreens",
        "HideWirelessSetupInOOBE",
    ] {
        assert!(matches!(oobe.one(flag).text.as_str(), "true" | "false"));
    }
    assert_eq!(
        oobe.one("ProtectYourPC").text,
        profile.oobe.protect_your_pc.to_string()
    );
    let account = shell.path("UserAccounts/LocalAccounts/LocalAccount");
    assert_eq!(account.attrs["wcm:action"], "add");
    assert_eq!(account.one("Group").text, profile.user.group.as_str());
    assert!(!account.one("Name").text.is_empty());
    assert!(!account.one("DisplayName").text.is_empty());
    let auto = shell.one("AutoLogon");
    assert_eq!(auto.one("Enabled").text, "true");
    assert_eq!(auto.one("Username").text, account.one("Name").text);
    assert_eq!(
        auto.one("LogonCount").text,
        profile.user.auto_logon_count.to_string()
    );
    for password in [account.one("Password"), auto.one("Password")] {
        assert_eq!(password.one("PlainText").text, "false");
        assert_eq!(
            decode_password(&password.one("Value").text, "Password"),
            profile.user.password
        );
    }
    let accounts = shell.one("UserAccounts");
    match &profile.user.administrator_password {
        Some(admin) => {
            let value = &accounts.path("AdministratorPassword/Value").text;
            assert_eq!(&decode_password(value, "AdministratorPassword"), admin);
        }
        None => assert!(accounts.all("AdministratorPassword").is_empty()),
    }
    assert_orders(shell.one("FirstLogonCommands"), "SynchronousCommand");

    // Every command: under Windows' limits, and every list with wcm:action="add".
    for command in root.find_all("CommandLine") {
        assert!(
            utf16_len(&command.text) <= COMMAND_LINE_MAX,
            "{} chars",
            utf16_len(&command.text)
        );
    }
    for path in root.find_all("Path") {
        assert!(
            utf16_len(&path.text) <= 259,
            "RunSynchronous Path over 259: {}",
            path.text
        );
    }
    for run in root.find_all("RunSynchronous") {
        assert_orders(run, "RunSynchronousCommand");
    }
    for name in [
        "SynchronousCommand",
        "RunSynchronousCommand",
        "CreatePartition",
        "ModifyPartition",
    ] {
        for el in root.find_all(name) {
            assert_eq!(
                el.attrs.get("wcm:action").map(String::as_str),
                Some("add"),
                "{name}"
            );
        }
    }
    passes
}

// ---------------------------------------------------------------------------------------------
// Snapshots

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares `actual` with the snapshot at `tests/golden/<name>`, or rewrites it when
/// `UPDATE_GOLDEN=1`. A mismatch fails with a line diff.
fn assert_golden(name: &str, actual: &[u8]) {
    let path = golden_dir().join(name);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{} differs from the generated file (UPDATE_GOLDEN=1 rewrites it):\n{}",
            path.display(),
            line_diff(
                &String::from_utf8_lossy(&expected),
                &String::from_utf8_lossy(actual)
            )
        );
    }
}

/// A compact diff: the differing lines of the two texts, by line number.
fn line_diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) =
        (expected.split('\n').collect(), actual.split('\n').collect());
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..e.len().max(a.len()) {
        let (el, al) = (e.get(i), a.get(i));
        if el != al {
            if let Some(l) = el {
                out.push_str(&format!("{:>5} - {}\n", i + 1, l.trim_end_matches('\r')));
            }
            if let Some(l) = al {
                out.push_str(&format!("{:>5} + {}\n", i + 1, l.trim_end_matches('\r')));
            }
            shown += 1;
            if shown == 40 {
                out.push_str("      ... more differences\n");
                break;
            }
        }
    }
    if out.is_empty() {
        out.push_str("(only line endings or the byte-order mark differ)\n");
    }
    out
}

fn check_case(case: &Case) -> ProvisioningPayload {
    let payload = payload(case);
    let xml = text(&payload, "autounattend.xml");
    check_structure(&parse(xml), &case.profile);
    for file in &payload.files {
        assert_golden(&format!("{}/{}", case.name, file.path), &file.bytes);
    }
    // Nothing stale: the snapshot folder holds exactly the generated files.
    if std::env::var("UPDATE_GOLDEN").as_deref() != Ok("1") {
        let on_disk: BTreeSet<String> = std::fs::read_dir(golden_dir().join(case.name))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let generated: BTreeSet<String> = payload.files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(on_disk, generated);
    }
    payload
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn minimal_profile_matches_golden_and_schema() {
    let case = minimal();
    let payload = check_case(&case);
    let root = parse(text(&payload, "autounattend.xml"));
    let commands = root.find_all("SynchronousCommand");
    assert_eq!(commands.len(), 4, "mkdir, copy, settings, bootstrap");
    let last = &commands[3].one("CommandLine").text;
    assert!(last.contains(r"-File C:\WindowsSetup\START.ps1") && last.contains("timeout /t 20"));
    assert!(payload.computer_name.starts_with("DESKTOP-") && payload.computer_name.len() == 15);
    assert_eq!(root.find_all("ComputerName")[0].text, payload.computer_name);
    let json: serde_json::Value =
        serde_json::from_slice(&payload.file("provision.json").unwrap().bytes).unwrap();
    assert_eq!(json["ip"], serde_json::Value::Null, "no IP settings: DHCP");
    assert_eq!(json["api_endpoint"], "https://botmox.example.com");
}

#[test]
fn full_profile_matches_golden_and_schema() {
    let case = full();
    let payload = check_case(&case);
    let root = parse(text(&payload, "autounattend.xml"));

    assert_eq!(payload.username, "Operator7");
    assert_eq!(payload.computer_name, "BOT-NODE-07");
    assert_eq!(
        root.find_all("Key")
            .iter()
            .find(|k| k.text.contains('-'))
            .unwrap()
            .text,
        "VK7JG-NPHTM-C97JM-9MPGT-3V66T"
    );
    let metadata = root.find_all("MetaData");
    assert_eq!(
        (
            metadata[0].one("Key").text.as_str(),
            metadata[0].one("Value").text.as_str()
        ),
        ("/IMAGE/NAME", "Windows 11 Pro")
    );
    assert_eq!(
        root.find_all("InputLocale")[0].text,
        "0409:00000409;0407:00000407"
    );
    assert!(
        root.find_all("Path")
            .iter()
            .any(|p| p.text.contains("BypassTPMCheck"))
    );

    // The long command went into a file that a short command runs.
    let lines: Vec<String> = root
        .find_all("CommandLine")
        .iter()
        .map(|c| c.text.clone())
        .collect();
    assert!(
        lines.contains(&r"cmd /c C:\WindowsSetup\LogonCommand02.cmd".to_owned()),
        "{lines:?}"
    );
    assert!(lines.contains(&r"cmd /c ver > C:\WindowsSetup\ver.txt".to_owned()));
    let batch = text(&payload, "LogonCommand02.cmd");
    assert!(batch.contains(&"0123456789".repeat(110)));
    assert!(payload.file("LogonCommand03.ps1").is_some());

    let json: serde_json::Value =
        serde_json::from_slice(&payload.file("provision.json").unwrap().bytes).unwrap();
    assert_eq!(json["ip"]["prefix_length"], 23);
    assert_eq!(
        json["ip"]["dns"],
        serde_json::json!(["192.168.50.1", "1.1.1.1"])
    );
    assert_eq!(json["token"], TOKEN);
    let start = text(&payload, "START.ps1");
    assert!(start.contains("$InterfaceAlias = 'Ethernet'"));
    let settings = text(&payload, "FirstLogon.ps1");
    assert!(settings.contains("'AllowTelemetry' 'DWord' 0"));
    assert!(settings.contains("'Microsoft.BingNews', 'Microsoft.GetHelp'"));
    assert!(!settings.contains("Microsoft.People"), "never_remove wins");
}

#[test]
fn special_characters_are_escaped_and_round_trip() {
    let case = special();
    let payload = check_case(&case);
    let xml = text(&payload, "autounattend.xml");
    assert!(xml.contains("Tom &amp; \"Jerry\" &lt;bots&gt; 'quoted'"));
    assert!(
        xml.contains("<Password>") && !xml.contains("p<a>s"),
        "passwords only encoded"
    );
    let root = parse(xml);
    assert_eq!(
        root.find_all("DisplayName")[0].text,
        "Tom & \"Jerry\" <bots> 'quoted'"
    );
    assert_eq!(root.find_all("Name")[0].text, "O'Brien & Şahin");
    let user_command = root
        .find_all("CommandLine")
        .into_iter()
        .find(|c| c.text.starts_with("cmd /c echo"))
        .unwrap();
    assert_eq!(
        user_command.text,
        "cmd /c echo \"a & b\" > \"C:\\Windows Setup\\x.txt\""
    );
    assert!(payload.computer_name.starts_with("BOT-"));

    let settings = text(&payload, "FirstLogon.ps1");
    assert!(settings.contains("$packages = @('Vendor''s App', 'A&B <Tools>')"));
    let start = text(&payload, "START.ps1");
    assert!(start.contains("$InterfaceAlias = 'Ethernet ''LAN'' $env:X'"));
    let json: serde_json::Value =
        serde_json::from_slice(&payload.file("provision.json").unwrap().bytes).unwrap();
    assert_eq!(json["vm_name"], "vm & <friends>");
    assert_eq!(json["username"], "O'Brien & Şahin");
}

#[test]
fn payload_is_reproducible_from_its_inputs() {
    for case in [minimal(), full(), special()] {
        let (a, b) = (payload(&case), payload(&case));
        assert_eq!(a.sha256, b.sha256, "{}", case.name);
        assert_eq!(a.iso_bytes, b.iso_bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// The ISO, read by an independent implementation (xorriso, Debian package `xorriso`)

fn xorriso_available() -> bool {
    Command::new("xorriso")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn xorriso(args: &[&str]) -> String {
    let out = Command::new("xorriso").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "xorriso {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `-find` prints one quoted path per line: `'/dir/name'`.
fn listed(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')))
        .map(str::to_owned)
        .collect()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("botmox-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn iso_reads_back_with_xorriso() {
    if !xorriso_available() {
        let message =
            "xorriso is not installed (Debian package `xorriso`): the ISO was not checked";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{message}");
        }
        println!("SKIPPED iso_reads_back_with_xorriso: {message}");
        return;
    }
    let case = full();
    let payload = payload(&case);
    let dir = TempDir::new("iso");
    let iso = dir.0.join("config.iso");
    std::fs::write(&iso, &payload.iso_bytes).unwrap();
    let iso = iso.to_str().unwrap();

    let info = xorriso(&["-abort_on", "FAILURE", "-indev", iso, "-pvd_info"]);
    assert!(
        info.contains(&format!("Volume Id    : {VOLUME_LABEL}")),
        "{info}"
    );

    // Joliet names: exactly the payload's paths, case and length preserved.
    let joliet = listed(&xorriso(&[
        "-abort_on",
        "FAILURE",
        "-read_fs",
        "norock",
        "-indev",
        iso,
        "-find",
        "/",
        "-type",
        "f",
    ]));
    let expected: BTreeSet<String> = payload
        .files
        .iter()
        .map(|f| format!("/{}", f.path))
        .collect();
    assert_eq!(joliet, expected);

    // ISO 9660 names: upper-case 8.3 (xorriso hides the ;1 version).
    let primary = listed(&xorriso(&[
        "-abort_on",
        "FAILURE",
        "-read_fs",
        "ecma119",
        "-indev",
        iso,
        "-find",
        "/",
        "-type",
        "f",
    ]));
    let primary_names: BTreeMap<&str, &str> = [
        ("/AUTOUNAT.XML", "autounattend.xml"),
        ("/PROVISIO.JSO", "provision.json"),
        ("/START.PS1", "START.ps1"),
        ("/FIRSTLOG.PS1", "FirstLogon.ps1"),
        ("/LOGONCOM.CMD", "LogonCommand02.cmd"),
        ("/LOGONCOM.PS1", "LogonCommand03.ps1"),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        primary,
        primary_names.keys().map(|k| (*k).to_owned()).collect()
    );

    // Extract both trees and compare every byte.
    for (tree, read_fs) in [("joliet", "norock"), ("primary", "ecma119")] {
        let out = dir.0.join(tree);
        xorriso(&[
            "-abort_on",
            "FAILURE",
            "-read_fs",
            read_fs,
            "-osirrox",
            "on",
            "-indev",
            iso,
            "-extract",
            "/",
            out.to_str().unwrap(),
        ]);
        for file in &payload.files {
            let name = match tree {
                "joliet" => file.path.clone(),
                _ => primary_names
                    .iter()
                    .find(|(_, v)| **v == file.path)
                    .map(|(k, _)| k.trim_start_matches('/').to_owned())
                    .unwrap(),
            };
            let extracted = std::fs::read(out.join(&name)).unwrap();
            assert_eq!(extracted, file.bytes, "{tree} {name}");
        }
    }
}
