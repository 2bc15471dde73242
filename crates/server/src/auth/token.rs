//! Token material: opaque random tokens (stored as SHA-256), and the server's own HS256
//! access JWTs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefixes tell token kinds apart without a database lookup.
pub const API_TOKEN_PREFIX: &str = "bmx_";
pub const REFRESH_TOKEN_PREFIX: &str = "bmr_";
pub const AGENT_TOKEN_PREFIX: &str = "bma_";

pub const ACCESS_ISSUER: &str = "botmox";

/// `prefix` + 32 random bytes, base64url.
pub fn generate_opaque(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored for an opaque token: its SHA-256, hex.
pub fn hash_opaque(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in constant time.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Claims of the server's own access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub tenant_id: String,
    pub roles: Vec<String>,
    pub email: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

/// The HS256 key pair for access tokens.
#[derive(Clone)]
pub struct AccessKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessKeys(<redacted>)")
    }
}

impl AccessKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ACCESS_ISSUER]);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn sign(&self, claims: &AccessClaims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
}

/// Strips a case-insensitive `Bearer` prefix and surrounding whitespace.
pub fn strip_bearer(raw: &str) -> &str {
    let trimmed = raw.trim();
    if trimmed.len() >= 6 && trimmed[..6].eq_ignore_ascii_case("bearer") {
        trimmed[6..].trim()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_tokens_are_unique_and_hash_stably() {
        let a = generate_opaque(API_TOKEN_PREFIX);
        let b = generate_opaque(API_TOKEN_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with("bmx_") && a.len() > 40);
        assert_eq!(hash_opaque(&a), hash_opaque(&a));
        assert_ne!(hash_opaque(&a), hash_opaque(&b));
    }

    #[test]
    fn bearer_prefix_is_stripped_case_insensitively() {
        assert_eq!(strip_bearer("Bearer abc"), "abc");
        assert_eq!(strip_bearer("  bEaReR   abc "), "abc");
        assert_eq!(strip_bearer("abc"), "abc");
        assert_eq!(strip_bearer("Bearer"), "");
    }

    #[test]
    fn access_tokens_verify_only_with_their_key() {
        let keys = AccessKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = AccessKeys::new(b"fedcba9876543210fedcba9876543210");
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            iss: ACCESS_ISSUER.into(),
            sub: "u1".into(),
            tenant_id: "default".into(),
            roles: vec!["admin".into()],
            email: "a@b.c".into(),
            jti: "j1".into(),
            iat: now,
            exp: now + 60,
        };
        let token = keys.sign(&claims).expect("sign");
        assert_eq!(keys.verify(&token).map(|c| c.sub), Some("u1".to_owned()));
        assert!(other.verify(&token).is_none());
        let expired = AccessClaims {
            exp: now - 1,
            ..claims
        };
        assert!(keys.verify(&keys.sign(&expired).expect("sign")).is_none());
    }
}
