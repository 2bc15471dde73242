//! Lease tokens: HS256 JWTs whose `jti` is the lease row's id.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const LEASE_ISSUER: &str = "bot-mox-license";
pub const LEASE_TYPE: &str = "lease";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaseClaims {
    pub iss: String,
    /// The runner the lease was issued to.
    pub sub: String,
    /// Lease id.
    pub jti: String,
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
    pub tenant_id: String,
    pub user_id: String,
    pub vm_uuid: String,
    pub agent_id: String,
    pub module: String,
    pub version: Option<String>,
    pub license_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Malformed, wrong signature, wrong algorithm or issuer.
    Invalid,
    /// Genuine but past `exp`.
    Expired,
}

#[derive(Clone)]
pub struct LeaseKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for LeaseKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LeaseKeys(<redacted>)")
    }
}

impl LeaseKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[LEASE_ISSUER]);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "sub", "jti"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn sign(&self, claims: &LeaseClaims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    /// The signature is checked before the expiry, so `Expired` means a genuine token.
    pub fn verify(&self, token: &str) -> Result<LeaseClaims, TokenProblem> {
        match jsonwebtoken::decode::<LeaseClaims>(token.trim(), &self.decoding, &self.validation) {
            Ok(data) if data.claims.typ == LEASE_TYPE => Ok(data.claims),
            Ok(_) => Err(TokenProblem::Invalid),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => Err(TokenProblem::Expired),
            Err(_) => Err(TokenProblem::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_offset: i64) -> LeaseClaims {
        let now = chrono::Utc::now().timestamp();
        LeaseClaims {
            iss: LEASE_ISSUER.into(),
            sub: "runner-1".into(),
            jti: "lease-1".into(),
            typ: LEASE_TYPE.into(),
            iat: now,
            exp: now + exp_offset,
            tenant_id: "default".into(),
            user_id: "u1".into(),
            vm_uuid: "vm-00000001".into(),
            agent_id: "a1".into(),
            module: "farm".into(),
            version: None,
            license_id: "l1".into(),
        }
    }

    #[test]
    fn tokens_verify_only_with_their_key_and_before_expiry() {
        let keys = LeaseKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = LeaseKeys::new(b"fedcba9876543210fedcba9876543210");
        let token = keys.sign(&claims(60)).expect("sign");
        assert_eq!(
            keys.verify(&token).map(|c| c.jti).ok(),
            Some("lease-1".into())
        );
        assert_eq!(other.verify(&token).err(), Some(TokenProblem::Invalid));
        let expired = keys.sign(&claims(-5)).expect("sign");
        assert_eq!(keys.verify(&expired).err(), Some(TokenProblem::Expired));
        assert_eq!(other.verify(&expired).err(), Some(TokenProblem::Invalid));
        assert_eq!(keys.verify("garbage").err(), Some(TokenProblem::Invalid));
    }
}
