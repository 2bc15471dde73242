//! Encryption at rest for secrets the server itself must read back (API keys and passwords
//! kept in settings): AES-256-GCM with a random 96-bit nonce per value, bound to its tenant by
//! the associated data. The key comes from `BOTMOX_SECRETS_KEY`, or is generated once and kept
//! in `server_keys` (every node of a cluster then shares it through the database).
//!
//! A sealed value is the text `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`; the key
//! id (first bytes of the key's SHA-256) tells a wrong key from tampered data.

use crate::auth::store::AuthStore;
use crate::config::{Config, Secret, decode_key32};
use crate::db::Db;
use crate::db::time::now_ms;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;

const PREFIX: &str = "enc:v1:";
const SERVER_KEY_NAME: &str = "secrets_aes256gcm";
const NONCE_LEN: usize = 12;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("not a sealed value")]
    Malformed,
    #[error("sealed with another key ({0})")]
    WrongKey(String),
    #[error("sealed value failed authentication")]
    Tampered,
}

pub struct SecretsCrypto {
    cipher: Aes256Gcm,
    master: [u8; 32],
    key_id: String,
}

impl std::fmt::Debug for SecretsCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretsCrypto(key {})", self.key_id)
    }
}

impl SecretsCrypto {
    pub fn from_key(key: [u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        Self {
            cipher: Aes256Gcm::new(&key.into()),
            master: key,
            key_id: hex::encode(&digest[..4]),
        }
    }

    /// The configured key, else the one stored in the database (created on first start).
    pub async fn load(db: &Db, config: &Config) -> anyhow::Result<Arc<Self>> {
        if let Some(raw) = &config.secrets_key {
            let key = decode_key32(raw.expose())
                .ok_or_else(|| anyhow::anyhow!("BOTMOX_SECRETS_KEY is not 32 bytes of base64"))?;
            return Ok(Arc::new(Self::from_key(key)));
        }
        // The key table belongs to the foundation; auth's store already knows how to create a
        // key exactly once across nodes.
        let stored = AuthStore::new(db.clone())
            .server_key(
                SERVER_KEY_NAME,
                || {
                    let mut key = [0u8; 32];
                    rand::rng().fill_bytes(&mut key);
                    STANDARD.encode(key)
                },
                now_ms(),
            )
            .await?;
        let key = decode_key32(&stored)
            .ok_or_else(|| anyhow::anyhow!("server key {SERVER_KEY_NAME} is corrupt"))?;
        tracing::info!(
            "BOTMOX_SECRETS_KEY is not set: secrets in settings are encrypted with a key kept in the database"
        );
        Ok(Arc::new(Self::from_key(key)))
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }

    /// Encrypts `plaintext`; `context` (e.g. the tenant) must be given again to open it.
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext.as_bytes(),
                aad: context.as_bytes(),
            },
        );
        // AES-GCM only fails to encrypt past 64 GiB; our inputs are bounded far below that.
        let ciphertext = sealed.unwrap_or_default();
        let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}:{}", self.key_id, URL_SAFE_NO_PAD.encode(blob))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Secret, CryptoError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(CryptoError::Malformed)?;
        let (key_id, body) = rest.split_once(':').ok_or(CryptoError::Malformed)?;
        if key_id != self.key_id {
            return Err(CryptoError::WrongKey(key_id.to_owned()));
        }
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Malformed)?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| CryptoError::Tampered)
    }

    /// A key for another purpose (URL signing, …), derived so the master key is never reused
    /// as is.
    fn derived(&self, purpose: &str) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.master)
            .unwrap_or_else(|_| unreachable_hmac());
        mac.update(b"botmox-derive:");
        mac.update(purpose.as_bytes());
        let subkey = mac.finalize().into_bytes();
        <HmacSha256 as Mac>::new_from_slice(&subkey).unwrap_or_else(|_| unreachable_hmac())
    }

    /// A URL-safe MAC of `message` under the key for `purpose`.
    pub fn sign(&self, purpose: &str, message: &str) -> String {
        let mut mac = self.derived(purpose);
        mac.update(message.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Constant-time check of a [`sign`](Self::sign) result.
    pub fn verify(&self, purpose: &str, message: &str, signature: &str) -> bool {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        let mut mac = self.derived(purpose);
        mac.update(message.as_bytes());
        mac.verify_slice(&raw).is_ok()
    }
}

/// HMAC accepts keys of any length, so construction cannot fail.
fn unreachable_hmac() -> HmacSha256 {
    unreachable!("HMAC-SHA256 accepts any key length")
}

/// `****` plus the last four characters of secrets long enough that four reveal little.
pub fn mask(plaintext: &str) -> String {
    let chars: Vec<char> = plaintext.chars().collect();
    if chars.len() >= 12 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("****{tail}")
    } else {
        "****".to_owned()
    }
}

/// True for a value a client echoed back from a masked read.
pub fn is_mask(value: &str) -> bool {
    value.starts_with("****")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let c = SecretsCrypto::from_key([7u8; 32]);
        let sealed = c.seal("ipqs-secret-key-1234", "tenant-a");
        assert!(SecretsCrypto::is_sealed(&sealed));
        assert!(!sealed.contains("ipqs-secret"));
        assert_eq!(
            c.open(&sealed, "tenant-a").expect("opens").expose(),
            "ipqs-secret-key-1234"
        );
        assert!(matches!(
            c.open(&sealed, "tenant-b"),
            Err(CryptoError::Tampered)
        ));
        let other = SecretsCrypto::from_key([8u8; 32]);
        assert!(matches!(
            other.open(&sealed, "tenant-a"),
            Err(CryptoError::WrongKey(_))
        ));
        // Two seals of one value differ (fresh nonce).
        assert_ne!(sealed, c.seal("ipqs-secret-key-1234", "tenant-a"));
    }

    #[test]
    fn signatures_verify_and_reject_changes() {
        let c = SecretsCrypto::from_key([1u8; 32]);
        let sig = c.sign("theme-asset", "t|id|123");
        assert!(c.verify("theme-asset", "t|id|123", &sig));
        assert!(!c.verify("theme-asset", "t|id|124", &sig));
        assert!(!c.verify("other", "t|id|123", &sig));
        assert!(!c.verify("theme-asset", "t|id|123", "garbage!"));
    }

    #[test]
    fn masks_reveal_at_most_four_characters() {
        assert_eq!(mask("abcdefghijkl1234"), "****1234");
        assert_eq!(mask("short"), "****");
        assert!(is_mask("****1234"));
    }
}
