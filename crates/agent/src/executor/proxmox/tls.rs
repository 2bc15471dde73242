//! TLS for Proxmox targets: a pinned SHA-256 certificate fingerprint, a CA file, the system
//! roots, or (only when the target says `insecure`) no verification.

use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::config::ProxmoxTarget;

/// `AB:CD:…`, `abcd…` → 32 bytes.
pub fn parse_fingerprint(fp: &str) -> anyhow::Result<[u8; 32]> {
    let hex_str: String = fp
        .trim()
        .trim_start_matches("sha256:")
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    let bytes = hex::decode(&hex_str).context("the fingerprint is not hex")?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("a SHA-256 fingerprint has 32 bytes"))?;
    Ok(arr)
}

/// Accepts exactly the certificate whose SHA-256 matches; handshake signatures are still checked.
#[derive(Debug)]
struct PinnedVerifier {
    fingerprint: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if got == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "certificate fingerprint mismatch: got {}",
                hex::encode(got)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A reqwest builder with the target's TLS policy applied.
pub fn client_builder(target: &ProxmoxTarget) -> anyhow::Result<reqwest::ClientBuilder> {
    let builder = reqwest::Client::builder();
    if target.insecure {
        return Ok(builder.danger_accept_invalid_certs(true));
    }
    if let Some(fp) = &target.fingerprint {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = PinnedVerifier {
            fingerprint: parse_fingerprint(fp)?,
            provider: Arc::clone(&provider),
        };
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        return Ok(builder.use_preconfigured_tls(cfg));
    }
    if let Some(ca) = &target.ca_path {
        let pem = std::fs::read(ca).with_context(|| format!("reading CA file {}", ca.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).context("parsing the CA file")?;
        if certs.is_empty() {
            bail!("no certificate in {}", ca.display());
        }
        let mut b = builder.tls_built_in_root_certs(false);
        for c in certs {
            b = b.add_root_certificate(c);
        }
        return Ok(b);
    }
    Ok(builder)
}
