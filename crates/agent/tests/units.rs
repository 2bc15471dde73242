//! Unit-level behaviour: pairing inputs, back-off bounds, the config file, redaction.

use base64::Engine;
use botmox_agent::backoff::Backoff;
use botmox_agent::config::{AgentConfig, Pairing, ProxmoxTarget, redacted_summary};
use botmox_agent::executor::proxmox::extract_upid;
use botmox_agent::executor::{ExecError, truncate_error};
use botmox_agent::pairing::{self, encode_bundle};
use botmox_agent::secret::Secret;
use serde_json::json;
use std::time::Duration;

fn bundle(v: serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[test]
fn a_bundle_gives_code_server_and_proxmox_hints() {
    let b = bundle(
        json!({"v": 1, "pairing_code": "abc123", "server_url": "https://bm.example.com/", "proxmox": {"url": "https://pve:8006", "node": "h1"}}),
    );
    let p = pairing::parse(&b).expect("bundle");
    assert_eq!(p.code, "abc123");
    assert_eq!(p.server_url.as_deref(), Some("https://bm.example.com"));
    let hints = p.proxmox.expect("hints");
    assert_eq!(hints.url.as_deref(), Some("https://pve:8006"));
    assert_eq!(hints.node.as_deref(), Some("h1"));
    assert_eq!(hints.username, None);
}

#[test]
fn a_botmox_uri_carries_the_bundle() {
    let b = encode_bundle("c0de", Some("http://10.0.0.5:8080"));
    let uri = format!("botmox://pair?bundle={b}");
    let p = pairing::parse(&uri).expect("uri");
    assert_eq!(p.code, "c0de");
    assert_eq!(p.server_url.as_deref(), Some("http://10.0.0.5:8080"));
    assert!(pairing::parse("botmox://other?bundle=x").is_err());
}

#[test]
fn a_pairing_url_falls_back_to_its_origin() {
    let b = encode_bundle("c0de", None);
    let p = pairing::parse(&format!("https://bm.example.com/agent/pair?bundle={b}")).expect("url");
    assert_eq!(p.code, "c0de");
    assert_eq!(p.server_url.as_deref(), Some("https://bm.example.com"));
    // The bundle's own server wins over the origin.
    let b2 = encode_bundle("c0de", Some("https://api.example.com"));
    let p2 =
        pairing::parse(&format!("https://bm.example.com/agent/pair?bundle={b2}")).expect("url");
    assert_eq!(p2.server_url.as_deref(), Some("https://api.example.com"));
    // Code in the query or the path.
    let p3 = pairing::parse("https://bm.example.com/agent/pair?code=XYZ").expect("code query");
    assert_eq!(p3.code, "XYZ");
    let p4 = pairing::parse("https://bm.example.com/pair/XYZ9").expect("code path");
    assert_eq!(p4.code, "XYZ9");
    assert!(pairing::parse("https://bm.example.com/agent/pair").is_err());
    assert!(pairing::parse("ftp://x/pair?code=a").is_err());
}

#[test]
fn a_bare_code_has_no_server() {
    let p = pairing::parse("  0123456789abcdef0123456789abcdef ").expect("code");
    assert_eq!(p.code, "0123456789abcdef0123456789abcdef");
    assert_eq!(p.server_url, None);
    assert!(pairing::parse("").is_err());
    assert!(pairing::parse("not a code!").is_err());
}

#[test]
fn backoff_stays_within_its_windows() {
    let b = Backoff::default();
    for (attempt, lo, hi) in [
        (1, 1_000, 1_200),
        (2, 1_600, 2_400),
        (3, 3_200, 4_800),
        (4, 6_400, 9_600),
        (5, 12_800, 19_200),
        (6, 24_000, 30_000),
        (50, 24_000, 30_000),
    ] {
        for rnd in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let d = b.delay_with(attempt, rnd).as_millis() as u64;
            assert!((lo..=hi).contains(&d), "attempt {attempt} rnd {rnd}: {d}");
        }
        for _ in 0..200 {
            let d = b.delay(attempt);
            assert!(d >= Duration::from_millis(lo) && d <= Duration::from_millis(hi));
        }
    }
    assert_eq!(b.delay_with(0, 0.5), Duration::from_millis(1_000));
    // No jitter: exact exponential; bad values are clamped.
    let flat = Backoff::new(10, 5, 9.0);
    assert_eq!(flat.base_ms, 100);
    assert_eq!(flat.max_ms, 100);
    assert_eq!(flat.jitter, 0.5);
    let exact = Backoff::new(500, 4_000, 0.0);
    assert_eq!(exact.delay_with(3, 1.0), Duration::from_millis(2_000));
    assert_eq!(exact.delay_with(9, 0.0), Duration::from_millis(4_000));
}

#[test]
fn backoff_reads_the_environment_names() {
    let b = Backoff::from_lookup(|k| match k {
        "BOTMOX_AGENT_WS_RECONNECT_BASE_MS" => Some("200".into()),
        "BOTMOX_AGENT_WS_RECONNECT_MAX_MS" => Some("nope".into()),
        "BOTMOX_AGENT_WS_RECONNECT_JITTER" => Some("0.1".into()),
        _ => None,
    });
    assert_eq!(b, Backoff::new(200, 30_000, 0.1));
}

fn sample() -> AgentConfig {
    let mut cfg = AgentConfig {
        agent: Some(Pairing {
            server_url: "https://bm.example.com".into(),
            agent_id: "agent-1".into(),
            agent_name: "pve-1".into(),
            token: Secret::new("bma_supersecrettoken"),
            token_issued_at: chrono::Utc::now(),
            token_expires_at: Some(chrono::Utc::now() + chrono::Duration::days(30)),
            paired_at: chrono::Utc::now(),
        }),
        ..AgentConfig::default()
    };
    cfg.targets.insert(
        "pve".into(),
        ProxmoxTarget {
            url: "https://pve:8006".into(),
            username: "root@pam".into(),
            password: Some(Secret::new("hunter2-proxmox")),
            node: "pve".into(),
            fingerprint: Some("AB:CD".into()),
            ..ProxmoxTarget::default()
        },
    );
    cfg
}

#[cfg(unix)]
#[test]
fn the_config_file_is_private_and_round_trips() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("nested").join("config.toml");
    let cfg = sample();
    cfg.save(&path).expect("save");
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(AgentConfig::load(&path).expect("load"), cfg);
    // Saving again replaces atomically and leaves no temp file behind.
    cfg.save(&path).expect("save again");
    let names: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(
        std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        AgentConfig::load(&dir.path().join("missing.toml")).expect("empty"),
        AgentConfig::default()
    );
}

#[test]
fn secrets_never_show_in_debug_or_status() {
    let cfg = sample();
    let debug = format!("{cfg:?}");
    assert!(!debug.contains("bma_supersecrettoken"), "{debug}");
    assert!(!debug.contains("hunter2-proxmox"), "{debug}");
    assert!(debug.contains("[REDACTED]"));
    let status = redacted_summary(&cfg, std::path::Path::new("/x/config.toml")).to_string();
    assert!(!status.contains("bma_supersecrettoken"), "{status}");
    assert!(!status.contains("hunter2-proxmox"), "{status}");
    assert!(status.contains("\"has_token\":true"));
    assert!(status.contains("\"has_secret\":true"));
}

#[test]
fn tokens_are_renewed_in_the_last_tenth_of_their_life() {
    let mut p = sample().agent.expect("paired");
    let now = chrono::Utc::now();
    p.token_issued_at = now - chrono::Duration::days(26);
    p.token_expires_at = Some(now + chrono::Duration::days(4));
    assert!(!p.token_needs_renewal(now));
    p.token_expires_at = Some(now + chrono::Duration::days(2));
    assert!(p.token_needs_renewal(now));
    p.token_expires_at = None;
    assert!(!p.token_needs_renewal(now));
}

#[test]
fn error_text_is_cut_to_2000_chars_keeping_the_code() {
    let e = ExecError::new("PROXMOX_API_ERROR", "x".repeat(10_000));
    let wire = e.to_wire();
    assert_eq!(wire.chars().count(), 2000);
    assert!(wire.starts_with("PROXMOX_API_ERROR: xxx"));
    assert_eq!(truncate_error(" short "), "short");
}

#[test]
fn upids_are_found_in_any_shape() {
    let upid = "UPID:pve:0000ABCD:00001234:65F00000:qmclone:9000:root@pam:";
    assert_eq!(extract_upid(&json!(upid)).as_deref(), Some(upid));
    assert_eq!(
        extract_upid(&json!({"data": {"upid": upid}})).as_deref(),
        Some(upid)
    );
    assert_eq!(
        extract_upid(&json!(["", format!("task {upid} started")])).as_deref(),
        Some(upid)
    );
    assert_eq!(extract_upid(&json!(null)), None);
}

#[test]
fn transport_modes_parse_with_ws_as_the_fallback() {
    use botmox_agent::session::TransportMode;
    assert_eq!(TransportMode::parse("hybrid"), TransportMode::Hybrid);
    assert_eq!(TransportMode::parse(" LongPoll "), TransportMode::LongPoll);
    assert_eq!(TransportMode::parse("ws"), TransportMode::Ws);
    assert_eq!(TransportMode::parse("carrier-pigeon"), TransportMode::Ws);
    assert_eq!(TransportMode::parse(""), TransportMode::Ws);
}

#[test]
fn ssh_settings_default_to_the_proxmox_login_and_stay_out_of_the_summary() {
    use botmox_agent::config::SshSettings;
    use botmox_agent::executor::ssh::{HostKeyPolicy, SshLogin};
    let mut t = ProxmoxTarget {
        url: "https://pve.lan:8006".to_owned(),
        username: "root@pam".to_owned(),
        password: Some(Secret::new("pve-pass")),
        node: "pve".to_owned(),
        ..ProxmoxTarget::default()
    };
    let login = SshLogin::from_target(&t);
    assert_eq!(
        (login.host.as_str(), login.port, login.username.as_str()),
        ("pve.lan", 22, "root")
    );
    assert_eq!(login.mode(), "password");
    assert!(matches!(login.host_key, HostKeyPolicy::KnownHosts(_)));
    assert!(!format!("{login:?}").contains("pve-pass"));
    t.ssh = Some(SshSettings {
        port: Some(2222),
        password: Some(Secret::new("ssh-pass")),
        host_key: Some("SHA256:abc".to_owned()),
        ..SshSettings::default()
    });
    let login = SshLogin::from_target(&t);
    assert_eq!(login.port, 2222);
    assert_eq!(
        login.password.as_ref().map(Secret::expose),
        Some("ssh-pass")
    );
    assert_eq!(
        login.host_key,
        HostKeyPolicy::Pinned("SHA256:abc".to_owned())
    );
    let mut cfg = AgentConfig::default();
    cfg.targets.insert("pve".to_owned(), t);
    let summary = redacted_summary(&cfg, std::path::Path::new("/x")).to_string();
    assert!(
        !summary.contains("ssh-pass") && !summary.contains("pve-pass"),
        "{summary}"
    );
    assert!(summary.contains("\"has_password\":true"), "{summary}");
}
