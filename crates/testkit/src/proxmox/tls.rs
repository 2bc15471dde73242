//! A fresh self-signed certificate per simulator, and its fingerprint in the form the Proxmox
//! GUI shows (`AB:CD:…`, SHA-256 over the DER), so clients can pin it.

use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

pub(crate) struct TlsMaterial {
    pub cert_pem: String,
    pub fingerprint: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

/// Generates a certificate for `node` valid for `localhost` and `127.0.0.1`.
pub(crate) fn generate(node: &str) -> anyhow::Result<TlsMaterial> {
    let names = vec![
        node.to_owned(),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let mut params = rcgen::CertificateParams::new(names).context("certificate parameters")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{node}.localdomain"));
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "PVE Cluster Node");
    let key = rcgen::KeyPair::generate().context("generating the TLS key")?;
    let cert = params
        .self_signed(&key)
        .context("self-signing the certificate")?;

    let cert_der: CertificateDer<'static> = cert.der().clone();
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key_der)
        .context("TLS server configuration")?;
    // pveproxy speaks HTTP/1.1 only.
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];

    Ok(TlsMaterial {
        cert_pem: cert.pem(),
        fingerprint: fingerprint_sha256(&cert_der),
        server_config: Arc::new(server_config),
    })
}

/// SHA-256 over DER bytes as colon-separated upper-case hex.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_colon_separated_upper_hex() {
        let fp = fingerprint_sha256(b"abc");
        assert_eq!(fp.len(), 32 * 3 - 1);
        assert!(fp.starts_with("BA:78:16:BF:"));
        assert!(
            fp.chars()
                .all(|c| c == ':' || c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }
}
