//! The Proxmox client verifies TLS: a pinned fingerprint must match, a self-signed host is
//! refused without a pin or CA, and `insecure` is the only way around it.

use botmox_agent::config::ProxmoxTarget;
use botmox_agent::executor::proxmox::ProxmoxClient;
use botmox_agent::secret::Secret;
use botmox_testkit::proxmox::{ProxmoxSim, SimConfig};
use reqwest::Method;

fn target(sim: &ProxmoxSim) -> ProxmoxTarget {
    ProxmoxTarget {
        url: sim.url(),
        username: "root".into(),
        password: Some(Secret::new("proxmox-sim")),
        node: "pve".into(),
        ..ProxmoxTarget::default()
    }
}

#[tokio::test]
async fn only_the_pinned_certificate_is_trusted() {
    let sim = ProxmoxSim::start(SimConfig::default()).await.expect("sim");
    let pinned = ProxmoxTarget {
        fingerprint: sim.fingerprint_sha256().map(str::to_owned),
        ..target(&sim)
    };
    let ok = ProxmoxClient::new(&pinned).expect("client");
    let version = ok
        .request(Method::GET, "/version", &[])
        .await
        .expect("version");
    assert!(version["version"].is_string(), "{version}");

    let wrong = ProxmoxTarget {
        fingerprint: Some("00".repeat(32)),
        ..target(&sim)
    };
    let err = ProxmoxClient::new(&wrong)
        .expect("client")
        .request(Method::GET, "/version", &[])
        .await
        .expect_err("wrong pin refused");
    assert_eq!(err.code, "PROXMOX_UNREACHABLE", "{err}");

    let unpinned = ProxmoxClient::new(&target(&sim)).expect("client");
    assert!(
        unpinned
            .request(Method::GET, "/version", &[])
            .await
            .is_err()
    );

    let ca_file = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(ca_file.path(), sim.cert_pem().expect("pem")).expect("write pem");
    let with_ca = ProxmoxTarget {
        ca_path: Some(ca_file.path().to_owned()),
        ..target(&sim)
    };
    ProxmoxClient::new(&with_ca)
        .expect("client")
        .request(Method::GET, "/version", &[])
        .await
        .expect("CA-verified");

    let insecure = ProxmoxTarget {
        insecure: true,
        ..target(&sim)
    };
    ProxmoxClient::new(&insecure)
        .expect("client")
        .login(true)
        .await
        .expect("explicitly insecure works");

    let bad_password = ProxmoxTarget {
        password: Some(Secret::new("nope")),
        ..pinned
    };
    let err = ProxmoxClient::new(&bad_password)
        .expect("client")
        .login(true)
        .await
        .expect_err("bad password");
    assert_eq!(err.code, "PROXMOX_AUTH_FAILED", "{err}");
}
