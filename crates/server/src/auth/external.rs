//! Third-party user JWTs (Supabase-style): an HS secret and/or a JWKS URL, issuer and audience
//! checked, no clock leeway. A token without a tenant claim is invalid in every mode.

use super::principal::{AuthKind, Principal, ROLE_USER, normalize_tenant};
use crate::config::ExternalJwtConfig;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

const JWKS_TTL: Duration = Duration::from_secs(600);

pub struct ExternalVerifier {
    config: ExternalJwtConfig,
    http: reqwest::Client,
    jwks: RwLock<Option<(Instant, Arc<JwkSet>)>>,
}

impl ExternalVerifier {
    pub fn new(config: ExternalJwtConfig) -> Self {
        Self {
            config,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            jwks: RwLock::new(None),
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled()
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = 0;
        v.validate_nbf = true;
        v.set_issuer(&[self.config.issuer.as_str()]);
        v.set_audience(&self.config.audiences);
        v
    }

    /// Verifies the token (JWKS first, then the shared secret) and maps it to a principal.
    pub async fn verify(&self, token: &str) -> Option<Principal> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let mut claims: Option<Value> = None;
        if self.config.jwks_url.is_some() {
            claims = self.verify_jwks(token, &header).await;
        }
        if claims.is_none()
            && !self.config.hs_secret.is_empty()
            && matches!(
                header.alg,
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
            )
        {
            let key = DecodingKey::from_secret(self.config.hs_secret.expose().as_bytes());
            claims = jsonwebtoken::decode::<Value>(token, &key, &self.validation(header.alg))
                .ok()
                .map(|d| d.claims);
        }
        principal_from_claims(&claims?)
    }

    async fn verify_jwks(&self, token: &str, header: &jsonwebtoken::Header) -> Option<Value> {
        let set = self.jwk_set().await?;
        let jwk = match &header.kid {
            Some(kid) => set.find(kid)?,
            None => set.keys.first()?,
        };
        let key = DecodingKey::from_jwk(jwk).ok()?;
        jsonwebtoken::decode::<Value>(token, &key, &self.validation(header.alg))
            .ok()
            .map(|d| d.claims)
    }

    async fn jwk_set(&self) -> Option<Arc<JwkSet>> {
        if let Some((at, set)) = self.jwks.read().await.as_ref()
            && at.elapsed() < JWKS_TTL
        {
            return Some(set.clone());
        }
        let url = self.config.jwks_url.as_ref()?;
        let fetched = async {
            self.http
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .json::<JwkSet>()
                .await
        }
        .await;
        match fetched {
            Ok(set) => {
                let set = Arc::new(set);
                *self.jwks.write().await = Some((Instant::now(), set.clone()));
                Some(set)
            }
            Err(err) => {
                tracing::warn!(error = %err, "fetching JWKS failed");
                // A stale set is better than none while the JWKS endpoint is down.
                self.jwks.read().await.as_ref().map(|(_, s)| s.clone())
            }
        }
    }
}

fn non_empty(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// Maps verified claims to a principal; `None` when no tenant claim is present.
pub fn principal_from_claims(claims: &Value) -> Option<Principal> {
    let tenant = non_empty(claims.get("tenant_id"))
        .or_else(|| non_empty(claims.pointer("/app_metadata/tenant_id")))
        .or_else(|| non_empty(claims.pointer("/user_metadata/tenant_id")))
        .or_else(|| non_empty(claims.get("https://botmox.dev/tenant_id")))?;
    let tenant_id = normalize_tenant(&tenant);
    let mut roles: Vec<String> = Vec::new();
    let mut push = |r: &str| {
        let r = r.trim();
        if !r.is_empty() && !roles.iter().any(|x| x == r) {
            roles.push(r.to_owned());
        }
    };
    if let Some(Value::String(r)) = claims.get("role") {
        push(r);
    }
    if let Some(Value::Array(items)) = claims.pointer("/app_metadata/roles") {
        for item in items {
            if let Value::String(r) = item {
                push(r);
            }
        }
    }
    if roles.is_empty() {
        roles.push(ROLE_USER.to_owned());
    }
    Some(Principal {
        kind: AuthKind::External,
        uid: non_empty(claims.get("sub"))
            .or_else(|| non_empty(claims.get("user_id")))
            .unwrap_or_else(|| "unknown-user".to_owned()),
        email: non_empty(claims.get("email")).unwrap_or_else(|| "unknown@local".to_owned()),
        tenant_id,
        roles,
        token_id: non_empty(claims.get("jti")),
        token_exp: claims.get("exp").and_then(Value::as_i64),
        agent_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tenant_claim_is_resolved_in_order_and_normalised() {
        let p = principal_from_claims(&json!({
            "sub": "u1",
            "app_metadata": {"tenant_id": "  ACME ", "roles": ["admin", "admin"]},
            "user_metadata": {"tenant_id": "other"},
            "role": "authenticated"
        }))
        .expect("has tenant");
        assert_eq!(p.tenant_id, "acme");
        assert_eq!(p.roles, vec!["authenticated", "admin"]);
        let p = principal_from_claims(&json!({"https://botmox.dev/tenant_id": "T2"}))
            .expect("namespaced claim");
        assert_eq!(p.tenant_id, "t2");
        assert_eq!(p.uid, "unknown-user");
        assert_eq!(p.roles, vec!["user"]);
    }

    #[test]
    fn a_token_without_tenant_is_no_principal() {
        assert!(principal_from_claims(&json!({"sub": "u1", "tenant_id": "  "})).is_none());
    }
}
