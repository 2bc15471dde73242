//! Download URLs this server signs itself when objects live in the local directory:
//! `<payload>.<mac>`, both base64url, where the MAC is HMAC-SHA256 over the payload (object
//! path, expiry and what the response needs) with a server key. Verified in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Separates these MACs from any other use of the key.
const DOMAIN: &[u8] = b"botmox-artifact-download:v1:";

/// What a download URL grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    #[serde(rename = "t")]
    pub tenant_id: String,
    #[serde(rename = "r")]
    pub release_id: String,
    #[serde(rename = "k")]
    pub object_key: String,
    #[serde(rename = "f")]
    pub file_name: String,
    #[serde(rename = "s")]
    pub sha256: String,
    #[serde(rename = "l")]
    pub lease_id: String,
    /// Expiry, epoch ms.
    #[serde(rename = "x")]
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed, or the MAC does not match: nothing in it can be trusted.
    BadSignature,
    /// Genuine but expired; what it granted can be trusted (for the audit).
    Expired(Box<Grant>),
}

#[derive(Clone)]
pub struct UrlSigner {
    /// Keyed once; cloned per use.
    keyed: HmacSha256,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(<redacted>)")
    }
}

impl UrlSigner {
    pub fn new(key: &[u8]) -> anyhow::Result<Self> {
        let keyed = <HmacSha256 as Mac>::new_from_slice(key)
            .map_err(|e| anyhow::anyhow!("download URL key: {e}"))?;
        Ok(Self { keyed })
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(DOMAIN);
        mac.update(payload.as_bytes());
        mac
    }

    pub fn sign(&self, grant: &Grant) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(grant).unwrap_or_default());
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Checks the MAC (constant time) before looking at anything inside, then the expiry.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Grant, Refusal> {
        let (payload, tag) = token.split_once('.').ok_or(Refusal::BadSignature)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| Refusal::BadSignature)?;
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| Refusal::BadSignature)?;
        let grant: Grant = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(Refusal::BadSignature)?;
        if grant.expires_at <= now_ms {
            return Err(Refusal::Expired(Box::new(grant)));
        }
        Ok(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires_at: i64) -> Grant {
        Grant {
            tenant_id: "default".into(),
            release_id: "r1".into(),
            object_key: "artifacts/r1/u1/farm.bin".into(),
            file_name: "farm.bin".into(),
            sha256: "00".repeat(32),
            lease_id: "l1".into(),
            expires_at,
        }
    }

    #[test]
    fn signed_grants_round_trip_and_tampering_is_refused() {
        let signer = UrlSigner::new(b"k1").expect("key");
        let token = signer.sign(&grant(2_000));
        assert_eq!(signer.verify(&token, 1_000), Ok(grant(2_000)));
        assert_eq!(
            signer.verify(&token, 2_000),
            Err(Refusal::Expired(Box::new(grant(2_000))))
        );
        assert_eq!(
            UrlSigner::new(b"k2").expect("key").verify(&token, 1_000),
            Err(Refusal::BadSignature)
        );
        // A payload with a later expiry but the old MAC.
        let forged = signer.sign(&grant(9_000));
        let (payload, _) = forged.split_once('.').expect("dot");
        let (_, tag) = token.split_once('.').expect("dot");
        assert_eq!(
            signer.verify(&format!("{payload}.{tag}"), 1_000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(signer.verify("nodot", 1_000), Err(Refusal::BadSignature));
    }
}
