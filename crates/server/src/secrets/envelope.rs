//! Server-side envelope encryption, for secrets the server itself must use (e.g. an agent's
//! Proxmox credentials). Values are sealed with a data key (XChaCha20-Poly1305); data keys
//! are stored wrapped by a master key (`BOTMOX_MASTER_KEY`, or one generated and kept in
//! `server_keys`). Each sealed value names its data key; rotation re-wraps every data key
//! under the current master key and starts a new data key.
//!
//! Sealed format: `bmx1.<data key id>.<base64url nonce>.<base64url ciphertext>`.

use super::store::{SecretStore, data_key};
use crate::auth::AuthService;
use crate::config::MasterKeyConfig;
use crate::db::time::now_ms;
use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use dashmap::DashMap;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

const SEALED_PREFIX: &str = "bmx1";
const GENERATED_MASTER: &str = "envelope_master_key";
const NONCE_LEN: usize = 24;

/// A 32-byte key with its public fingerprint.
#[derive(Clone)]
struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl MasterKey {
    fn from_base64(b64: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD
            .decode(b64.trim())
            .map_err(|_| anyhow!("a master key is not base64"))?;
        if bytes.len() != 32 {
            bail!("a master key must be 32 bytes");
        }
        let digest = Sha256::digest(&bytes);
        Ok(Self {
            id: format!("mk-{}", hex::encode(&digest[..8])),
            cipher: XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| anyhow!("a master key must be 32 bytes"))?,
        })
    }
}

fn seal_raw(
    cipher: &XChaCha20Poly1305,
    plaintext: &[u8],
    aad: &[u8],
) -> anyhow::Result<(XNonce, Vec<u8>)> {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| anyhow!("encryption failed"))?;
    Ok((nonce, ct))
}

fn nonce_of(bytes: &[u8]) -> anyhow::Result<XNonce> {
    let arr: [u8; NONCE_LEN] = bytes.try_into().map_err(|_| anyhow!("malformed nonce"))?;
    Ok(XNonce::from(arr))
}

fn dek_aad(dek_id: &str) -> Vec<u8> {
    format!("botmox-dek:v1:{dek_id}").into_bytes()
}

fn value_aad(dek_id: &str, context: &[u8]) -> Vec<u8> {
    let mut aad = format!("botmox-envelope:v1:{dek_id}:").into_bytes();
    aad.extend_from_slice(context);
    aad
}

fn wrap(master: &MasterKey, dek_id: &str, dek: &[u8]) -> anyhow::Result<String> {
    let (nonce, ct) = seal_raw(&master.cipher, dek, &dek_aad(dek_id))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(STANDARD.encode(out))
}

/// The raw data key inside a wrapped one.
fn unwrap_raw(master: &MasterKey, dek_id: &str, wrapped: &str) -> anyhow::Result<Vec<u8>> {
    let raw = STANDARD
        .decode(wrapped)
        .map_err(|_| anyhow!("wrapped data key {dek_id} is not base64"))?;
    if raw.len() <= NONCE_LEN {
        bail!("wrapped data key {dek_id} is too short");
    }
    let (nonce, ct) = raw.split_at(NONCE_LEN);
    master
        .cipher
        .decrypt(
            &nonce_of(nonce)?,
            Payload {
                msg: ct,
                aad: &dek_aad(dek_id),
            },
        )
        .map_err(|_| {
            anyhow!(
                "data key {dek_id} cannot be unwrapped with master key {}",
                master.id
            )
        })
}

fn unwrap(master: &MasterKey, dek_id: &str, wrapped: &str) -> anyhow::Result<XChaCha20Poly1305> {
    let dek = unwrap_raw(master, dek_id, wrapped)?;
    XChaCha20Poly1305::new_from_slice(&dek).map_err(|_| anyhow!("data key {dek_id} is malformed"))
}

/// The master keys this node knows: the current one wraps; the others only unwrap.
struct Masters {
    current: MasterKey,
    others: Vec<MasterKey>,
}

impl Masters {
    fn find(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(self.others.iter())
            .find(|m| m.id == id)
    }
}

pub struct Envelope {
    store: SecretStore,
    masters: RwLock<Masters>,
    /// Unwrapped data keys by id.
    cache: DashMap<String, XChaCha20Poly1305>,
    /// Serialises data-key creation and rotation on this node.
    writer: Mutex<()>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Envelope(<redacted>)")
    }
}

impl Envelope {
    pub async fn new(
        store: SecretStore,
        config: &MasterKeyConfig,
        auth: &AuthService,
    ) -> anyhow::Result<Arc<Self>> {
        let mut others = Vec::new();
        for p in &config.previous {
            others.push(MasterKey::from_base64(p.expose()).context("BOTMOX_MASTER_KEY_PREVIOUS")?);
        }
        let current = match &config.current {
            Some(k) => {
                // A key generated before BOTMOX_MASTER_KEY was set can still unwrap until
                // the next rotation moves everything to the configured key.
                if let Some(old) = auth.find_server_key(GENERATED_MASTER).await? {
                    others.push(MasterKey::from_base64(&old).context("stored master key")?);
                }
                MasterKey::from_base64(k.expose()).context("BOTMOX_MASTER_KEY")?
            }
            None => {
                let stored = auth
                    .server_key(GENERATED_MASTER, || {
                        STANDARD.encode(XChaCha20Poly1305::generate_key(&mut OsRng))
                    })
                    .await?;
                MasterKey::from_base64(&stored).context("stored master key")?
            }
        };
        Ok(Arc::new(Self {
            store,
            masters: RwLock::new(Masters { current, others }),
            cache: DashMap::new(),
            writer: Mutex::new(()),
        }))
    }

    /// Fingerprint of the master key that wraps new data keys.
    pub async fn master_key_id(&self) -> String {
        self.masters.read().await.current.id.clone()
    }

    async fn cipher_for(&self, row: &data_key::Model) -> anyhow::Result<XChaCha20Poly1305> {
        if let Some(c) = self.cache.get(&row.id) {
            return Ok(c.clone());
        }
        let masters = self.masters.read().await;
        let master = masters.find(&row.master_key_id).ok_or_else(|| {
            anyhow!(
                "data key {} is wrapped by master key {}, which this server does not have \
                 (set it in BOTMOX_MASTER_KEY_PREVIOUS)",
                row.id,
                row.master_key_id
            )
        })?;
        let cipher = unwrap(master, &row.id, &row.wrapped_key)?;
        self.cache.insert(row.id.clone(), cipher.clone());
        Ok(cipher)
    }

    /// The data key new values are sealed with, created on first use.
    async fn active_key(&self) -> anyhow::Result<(String, XChaCha20Poly1305)> {
        if let Some(row) = self.store.active_data_key().await? {
            return Ok((row.id.clone(), self.cipher_for(&row).await?));
        }
        let _guard = self.writer.lock().await;
        if let Some(row) = self.store.active_data_key().await? {
            return Ok((row.id.clone(), self.cipher_for(&row).await?));
        }
        self.new_data_key().await
    }

    async fn new_data_key(&self) -> anyhow::Result<(String, XChaCha20Poly1305)> {
        let id = format!("dk-{}", Uuid::now_v7());
        let raw = XChaCha20Poly1305::generate_key(&mut OsRng);
        let masters = self.masters.read().await;
        let row = data_key::Model {
            id: id.clone(),
            wrapped_key: wrap(&masters.current, &id, &raw)?,
            master_key_id: masters.current.id.clone(),
            status: "active".to_owned(),
            created_at: now_ms(),
            rewrapped_at: None,
        };
        drop(masters);
        self.store.insert_data_key(row).await?;
        let cipher = XChaCha20Poly1305::new_from_slice(&raw)
            .map_err(|_| anyhow!("generated data key is malformed"))?;
        self.cache.insert(id.clone(), cipher.clone());
        Ok((id, cipher))
    }

    /// Seals `plaintext`; `context` (e.g. `agent:<id>:proxmox_password`) is authenticated
    /// but not stored, and must be given again to open the value.
    pub async fn encrypt(&self, plaintext: &[u8], context: &[u8]) -> anyhow::Result<String> {
        let (id, cipher) = self.active_key().await?;
        let (nonce, ct) = seal_raw(&cipher, plaintext, &value_aad(&id, context))?;
        Ok(format!(
            "{SEALED_PREFIX}.{id}.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ct)
        ))
    }

    /// Opens a value sealed by [`Envelope::encrypt`] with the same `context`.
    pub async fn decrypt(&self, sealed: &str, context: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut parts = sealed.trim().split('.');
        let (Some(SEALED_PREFIX), Some(id), Some(nonce), Some(ct), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            bail!("not a sealed value");
        };
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .filter(|n| n.len() == NONCE_LEN)
            .ok_or_else(|| anyhow!("sealed value has a malformed nonce"))?;
        let ct = URL_SAFE_NO_PAD
            .decode(ct)
            .map_err(|_| anyhow!("sealed value has a malformed ciphertext"))?;
        let row = self
            .store
            .data_key(id)
            .await?
            .ok_or_else(|| anyhow!("data key {id} does not exist"))?;
        let cipher = self.cipher_for(&row).await?;
        cipher
            .decrypt(
                &nonce_of(&nonce)?,
                Payload {
                    msg: &ct,
                    aad: &value_aad(id, context),
                },
            )
            .map_err(|_| anyhow!("sealed value failed authentication (wrong context or tampered)"))
    }

    /// Re-wraps every data key under the current master key (unwrapping with whichever
    /// known master wrapped it), then starts a new data key and retires the others (they
    /// still open what they sealed). Returns the new data key id and the count re-wrapped.
    pub async fn rotate(&self) -> anyhow::Result<(String, u64)> {
        let _guard = self.writer.lock().await;
        let now = now_ms();
        let mut rewrapped = 0u64;
        for row in self.store.data_keys().await? {
            let masters = self.masters.read().await;
            let master = masters.find(&row.master_key_id).ok_or_else(|| {
                anyhow!(
                    "data key {} is wrapped by unknown master key {}",
                    row.id,
                    row.master_key_id
                )
            })?;
            let dek = unwrap_raw(master, &row.id, &row.wrapped_key)?;
            let wrapped = wrap(&masters.current, &row.id, &dek)?;
            let current_id = masters.current.id.clone();
            drop(masters);
            self.store
                .rewrap_data_key(&row.id, &wrapped, &current_id, now)
                .await?;
            rewrapped += 1;
        }
        let (id, _) = self.new_data_key().await?;
        self.store.retire_data_keys_except(&id).await?;
        Ok((id, rewrapped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_keys_open_only_with_their_master_and_id() {
        let m1 = MasterKey::from_base64(&STANDARD.encode([1u8; 32])).expect("key");
        let m2 = MasterKey::from_base64(&STANDARD.encode([2u8; 32])).expect("key");
        assert_ne!(m1.id, m2.id);
        let dek = [7u8; 32];
        let wrapped = wrap(&m1, "dk-1", &dek).expect("wrap");
        assert!(unwrap(&m1, "dk-1", &wrapped).is_ok());
        assert!(unwrap(&m2, "dk-1", &wrapped).is_err());
        // Bound to its id: it cannot be passed off as another data key.
        assert!(unwrap(&m1, "dk-2", &wrapped).is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([1u8; 16])).is_err());
    }
}
