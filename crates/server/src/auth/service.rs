//! Authentication rules: login, refresh rotation with reuse detection, logout, bearer
//! resolution for every token kind, users and API tokens.

use super::external::ExternalVerifier;
use super::principal::{ASSIGNABLE_ROLES, AuthKind, Principal, ROLE_ADMIN, normalize_tenant};
use super::store::{AuthStore, api_token, join_roles, refresh_token, split_roles, user};
use super::{password, token};
use crate::config::Config;
use crate::db::Db;
use crate::db::time::{now_ms, opt_rfc3339, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::ratelimit::FixedWindow;
use botmox_contract::auth::{
    ApiTokenCreateRequest, ApiTokenCreated, ApiTokenRecord, TokenPair, UserRecord,
};
use botmox_contract::error_code;
use dashmap::DashMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub const DEFAULT_TENANT: &str = "default";

/// The admin created on first start; its password is shown once.
#[derive(Clone)]
pub struct BootstrapAdmin {
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for BootstrapAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapAdmin")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Resolves agent tokens; provided by the agents domain once it exists.
#[async_trait::async_trait]
pub trait AgentTokenResolver: Send + Sync {
    async fn resolve(&self, bearer: &str) -> Option<Principal>;
}

pub struct AuthService {
    agent_tokens: std::sync::OnceLock<Arc<dyn AgentTokenResolver>>,
    store: AuthStore,
    keys: token::AccessKeys,
    external: ExternalVerifier,
    access_ttl: Duration,
    refresh_ttl: Duration,
    login_limiter: FixedWindow,
    /// Revoked access-token ids and their expiry (epoch ms); reloaded from the database.
    revoked: DashMap<String, i64>,
}

impl AuthService {
    pub async fn new(db: Db, config: &Config) -> anyhow::Result<Arc<Self>> {
        let store = AuthStore::new(db);
        let secret = match &config.jwt_secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => {
                let stored = store
                    .server_key(
                        "access_token_hs256",
                        || token::generate_opaque(""),
                        now_ms(),
                    )
                    .await?;
                stored.into_bytes()
            }
        };
        let service = Arc::new(Self {
            agent_tokens: std::sync::OnceLock::new(),
            store,
            keys: token::AccessKeys::new(&secret),
            external: ExternalVerifier::new(config.external_jwt.clone()),
            access_ttl: config.access_token_ttl,
            refresh_ttl: config.refresh_token_ttl,
            login_limiter: FixedWindow::new(
                config.rate_limit.login_per_minute,
                Duration::from_secs(60),
            ),
            revoked: DashMap::new(),
        });
        service.reload_revoked().await?;
        Ok(service)
    }

    /// A named server secret (signing keys of other domains), created with `make` on first
    /// use; every node reads the same value.
    pub async fn server_key(
        &self,
        name: &str,
        make: impl FnOnce() -> String,
    ) -> anyhow::Result<String> {
        Ok(self.store.server_key(name, make, now_ms()).await?)
    }

    /// A named server secret if it exists.
    pub async fn find_server_key(&self, name: &str) -> anyhow::Result<Option<String>> {
        Ok(self.store.find_server_key(name).await?)
    }

    pub fn set_agent_resolver(&self, resolver: Arc<dyn AgentTokenResolver>) {
        let _ = self.agent_tokens.set(resolver);
    }

    /// Creates tenant `default` and an admin with a random password when there are no users.
    pub async fn bootstrap(&self, email: &str) -> anyhow::Result<Option<BootstrapAdmin>> {
        let now = now_ms();
        self.store.ensure_tenant(DEFAULT_TENANT, now).await?;
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let password = password::generate();
        self.add_user(DEFAULT_TENANT, email, &password, &[ROLE_ADMIN.to_owned()])
            .await
            .map_err(|e| anyhow::anyhow!("creating the bootstrap admin: {e}"))?;
        Ok(Some(BootstrapAdmin {
            email: email.to_owned(),
            password,
        }))
    }

    // ---- sessions ----

    pub async fn login(&self, email: &str, pass: &str, client_ip: &str) -> ApiResult<TokenPair> {
        let u = self.check_password(email, pass, client_ip).await?;
        self.start_session(&u, None).await
    }

    /// Checks a user's password without starting a session (used by agent quick-pair).
    pub async fn check_password(
        &self,
        email: &str,
        pass: &str,
        client_ip: &str,
    ) -> ApiResult<user::Model> {
        let email = email.trim().to_lowercase();
        let decision = self.login_limiter.check(&format!("{client_ip}|{email}"));
        if !decision.allowed {
            return Err(ApiError::rate_limited(decision));
        }
        let found = self.store.user_by_email(&email).await?;
        let hash = found
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| password::dummy_hash().to_owned());
        let pass = pass.to_owned();
        let ok = tokio::task::spawn_blocking(move || password::verify(&pass, &hash))
            .await
            .map_err(anyhow::Error::from)?;
        match found {
            Some(u) if ok && !u.disabled => Ok(u),
            _ => Err(ApiError::unauthorized(
                error_code::INVALID_CREDENTIALS,
                "Invalid email or password",
            )),
        }
    }

    async fn start_session(&self, u: &user::Model, family: Option<String>) -> ApiResult<TokenPair> {
        let now = now_ms();
        let refresh = token::generate_opaque(token::REFRESH_TOKEN_PREFIX);
        let refresh_expires = now + self.refresh_ttl.as_millis() as i64;
        self.store
            .insert_refresh(refresh_token::Model {
                id: Uuid::now_v7().to_string(),
                family_id: family.unwrap_or_else(|| Uuid::now_v7().to_string()),
                user_id: u.id.clone(),
                tenant_id: u.tenant_id.clone(),
                token_hash: token::hash_opaque(&refresh),
                created_at: now,
                expires_at: refresh_expires,
                used_at: None,
                revoked_at: None,
            })
            .await?;
        let iat = now / 1000;
        let claims = token::AccessClaims {
            iss: token::ACCESS_ISSUER.to_owned(),
            sub: u.id.clone(),
            tenant_id: u.tenant_id.clone(),
            roles: split_roles(&u.roles),
            email: u.email.clone(),
            jti: Uuid::now_v7().to_string(),
            iat,
            exp: iat + self.access_ttl.as_secs() as i64,
        };
        let access = self.keys.sign(&claims)?;
        Ok(TokenPair {
            access_token: access,
            token_type: "Bearer".to_owned(),
            expires_in: self.access_ttl.as_secs(),
            refresh_token: refresh,
            refresh_expires_at: to_rfc3339(refresh_expires),
            user: principal_of_claims(claims).whoami(),
        })
    }

    /// Rotates a refresh token. Presenting one that was already rotated or revoked is taken
    /// as theft: the whole family is revoked.
    pub async fn refresh(&self, presented: &str) -> ApiResult<TokenPair> {
        let invalid = || {
            ApiError::unauthorized(
                error_code::INVALID_REFRESH_TOKEN,
                "Refresh token is invalid or expired",
            )
        };
        let now = now_ms();
        let Some(row) = self
            .store
            .refresh_by_hash(&token::hash_opaque(presented.trim()))
            .await?
        else {
            return Err(invalid());
        };
        if row.used_at.is_some() || row.revoked_at.is_some() {
            return Err(self.reuse_detected(&row, now).await);
        }
        if row.expires_at <= now {
            return Err(invalid());
        }
        if !self.store.mark_refresh_used(&row.id, now).await? {
            // Lost a race with another use of the same token: that is reuse too.
            return Err(self.reuse_detected(&row, now).await);
        }
        let Some(u) = self.store.user_by_id(&row.user_id).await? else {
            return Err(invalid());
        };
        if u.disabled {
            self.store.revoke_family(&row.family_id, now).await?;
            return Err(invalid());
        }
        self.start_session(&u, Some(row.family_id)).await
    }

    async fn reuse_detected(&self, row: &refresh_token::Model, now: i64) -> ApiError {
        let revoked = self.store.revoke_family(&row.family_id, now).await;
        tracing::warn!(
            user_id = %row.user_id,
            tenant = %row.tenant_id,
            family_id = %row.family_id,
            revoked = ?revoked.as_ref().ok(),
            "refresh token reuse detected; session family revoked"
        );
        ApiError::unauthorized(
            error_code::REFRESH_TOKEN_REUSED,
            "Refresh token was already used; all sessions of this login were revoked",
        )
    }

    /// Ends the caller's session: the access token stops working and the refresh family, when
    /// given, is revoked.
    pub async fn logout(&self, principal: &Principal, refresh: Option<&str>) -> ApiResult<bool> {
        let now = now_ms();
        let mut revoked = false;
        if principal.kind == AuthKind::Session
            && let Some(jti) = &principal.token_id
        {
            let exp = principal
                .token_exp
                .map(|s| s * 1000)
                .unwrap_or(now + 86_400_000);
            self.store.revoke_access(jti, exp).await?;
            self.revoked.insert(jti.clone(), exp);
            revoked = true;
        }
        if let Some(presented) = refresh {
            match self
                .store
                .refresh_by_hash(&token::hash_opaque(presented.trim()))
                .await?
            {
                Some(row) if row.user_id == principal.uid => {
                    revoked |= self.store.revoke_family(&row.family_id, now).await? > 0;
                }
                _ => {
                    return Err(ApiError::bad_request(
                        error_code::INVALID_REFRESH_TOKEN,
                        "Refresh token does not belong to this session",
                    ));
                }
            }
        }
        Ok(revoked)
    }

    /// Reloads the revoked access-token list so logouts on other nodes take effect here.
    pub async fn reload_revoked(&self) -> anyhow::Result<()> {
        let now = now_ms();
        let live = self.store.live_revoked_access(now).await?;
        self.revoked.retain(|_, exp| *exp > now);
        for row in live {
            self.revoked.insert(row.jti, row.expires_at);
        }
        Ok(())
    }

    // ---- bearer resolution ----

    /// Resolves a bearer value (with or without the `Bearer` prefix) to a principal.
    pub async fn authenticate(&self, raw: &str) -> Option<Principal> {
        let bearer = token::strip_bearer(raw);
        if bearer.is_empty() {
            return None;
        }
        if bearer.starts_with(token::API_TOKEN_PREFIX) {
            return self.authenticate_api_token(bearer).await;
        }
        if bearer.starts_with(token::AGENT_TOKEN_PREFIX) {
            return match self.agent_tokens.get() {
                Some(resolver) => resolver.resolve(bearer).await,
                None => None,
            };
        }
        if bearer.starts_with(token::REFRESH_TOKEN_PREFIX) {
            return None;
        }
        if let Some(claims) = self.keys.verify(bearer) {
            if self.revoked.contains_key(&claims.jti) {
                return None;
            }
            return Some(principal_of_claims(claims));
        }
        if self.external.enabled() {
            return self.external.verify(bearer).await;
        }
        None
    }

    async fn authenticate_api_token(&self, bearer: &str) -> Option<Principal> {
        let hash = token::hash_opaque(bearer);
        let row = match self.store.api_token_by_hash(&hash).await {
            Ok(row) => row?,
            Err(err) => {
                tracing::error!(error = %err, "api token lookup failed");
                return None;
            }
        };
        // The lookup is by hash; compare again in constant time so a database collation quirk
        // can never match a different token.
        if !token::constant_time_eq(&row.token_hash, &hash) {
            return None;
        }
        let now = now_ms();
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
            return None;
        }
        if row.last_used_at.is_none_or(|t| now - t > 60_000)
            && let Err(err) = self.store.touch_api_token(&row.id, now).await
        {
            tracing::warn!(error = %err, "recording api token use failed");
        }
        Some(Principal {
            kind: AuthKind::ApiToken,
            uid: format!("apitoken:{}", row.id),
            email: format!(
                "{}@tokens.botmox",
                row.name.replace(char::is_whitespace, "-")
            ),
            tenant_id: row.tenant_id,
            roles: split_roles(&row.roles),
            token_id: Some(row.id),
            token_exp: row.expires_at.map(|ms| ms / 1000),
            agent_id: None,
        })
    }

    // ---- users ----

    pub async fn add_user(
        &self,
        tenant: &str,
        email: &str,
        pass: &str,
        roles: &[String],
    ) -> ApiResult<UserRecord> {
        let email = email.trim().to_lowercase();
        if !email.contains('@') || email.len() > 320 {
            return Err(ApiError::bad_request(
                error_code::VALIDATION_ERROR,
                "email must be a valid address",
            ));
        }
        if pass.chars().count() < 12 {
            return Err(ApiError::bad_request(
                error_code::VALIDATION_ERROR,
                "password must be at least 12 characters",
            ));
        }
        let roles = validate_roles(roles)?;
        let tenant = normalize_tenant(tenant);
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(ApiError::conflict(
                "USER_EXISTS",
                "A user with this email already exists",
            ));
        }
        let now = now_ms();
        self.store.ensure_tenant(&tenant, now).await?;
        let pass = pass.to_owned();
        let hash = tokio::task::spawn_blocking(move || password::hash(&pass))
            .await
            .map_err(anyhow::Error::from)??;
        let row = user::Model {
            id: Uuid::now_v7().to_string(),
            tenant_id: tenant,
            email,
            password_hash: hash,
            roles: join_roles(&roles),
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_user(row.clone()).await?;
        Ok(user_record(row))
    }

    pub async fn list_users(&self, tenant: Option<&str>) -> ApiResult<Vec<UserRecord>> {
        Ok(self
            .store
            .users_in_tenant(tenant)
            .await?
            .into_iter()
            .map(user_record)
            .collect())
    }

    pub async fn set_password(&self, email: &str, pass: &str) -> ApiResult<()> {
        if pass.chars().count() < 12 {
            return Err(ApiError::bad_request(
                error_code::VALIDATION_ERROR,
                "password must be at least 12 characters",
            ));
        }
        let u = self.user_or_404(email).await?;
        let pass = pass.to_owned();
        let hash = tokio::task::spawn_blocking(move || password::hash(&pass))
            .await
            .map_err(anyhow::Error::from)??;
        let now = now_ms();
        self.store.update_user_password(&u.id, &hash, now).await?;
        // A new password ends every existing session.
        self.store.revoke_user_sessions(&u.id, now).await?;
        Ok(())
    }

    pub async fn disable_user(&self, email: &str) -> ApiResult<()> {
        let u = self.user_or_404(email).await?;
        let now = now_ms();
        self.store.set_user_disabled(&u.id, true, now).await?;
        self.store.revoke_user_sessions(&u.id, now).await?;
        Ok(())
    }

    async fn user_or_404(&self, email: &str) -> ApiResult<user::Model> {
        self.store
            .user_by_email(&email.trim().to_lowercase())
            .await?
            .ok_or_else(|| ApiError::not_found("USER_NOT_FOUND", "User not found"))
    }

    // ---- API tokens ----

    pub async fn issue_api_token(
        &self,
        tenant: &str,
        created_by: &str,
        req: &ApiTokenCreateRequest,
    ) -> ApiResult<ApiTokenCreated> {
        let roles = validate_roles(&req.roles)?;
        let now = now_ms();
        let secret = token::generate_opaque(token::API_TOKEN_PREFIX);
        let row = api_token::Model {
            id: Uuid::now_v7().to_string(),
            tenant_id: normalize_tenant(tenant),
            name: req.name.trim().to_owned(),
            token_hash: token::hash_opaque(&secret),
            roles: join_roles(&roles),
            created_by: created_by.to_owned(),
            created_at: now,
            expires_at: req.expires_in_days.map(|d| now + i64::from(d) * 86_400_000),
            revoked_at: None,
            last_used_at: None,
        };
        self.store.ensure_tenant(&row.tenant_id, now).await?;
        self.store.insert_api_token(row.clone()).await?;
        Ok(ApiTokenCreated {
            token: secret,
            record: api_token_record(row),
        })
    }

    pub async fn list_api_tokens(&self, tenant: Option<&str>) -> ApiResult<Vec<ApiTokenRecord>> {
        Ok(self
            .store
            .api_tokens(tenant)
            .await?
            .into_iter()
            .map(api_token_record)
            .collect())
    }

    /// Revokes a token of `tenant` (every tenant when `None`, for the local CLI).
    pub async fn revoke_api_token(&self, id: &str, tenant: Option<&str>) -> ApiResult<()> {
        if self.store.revoke_api_token(id, tenant, now_ms()).await? {
            Ok(())
        } else {
            Err(ApiError::not_found(
                "API_TOKEN_NOT_FOUND",
                "API token not found or already revoked",
            ))
        }
    }
}

fn principal_of_claims(claims: token::AccessClaims) -> Principal {
    Principal {
        kind: AuthKind::Session,
        uid: claims.sub,
        email: claims.email,
        tenant_id: claims.tenant_id,
        roles: claims.roles,
        token_id: Some(claims.jti),
        token_exp: Some(claims.exp),
        agent_id: None,
    }
}

fn validate_roles(roles: &[String]) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for r in roles {
        let r = r.trim().to_lowercase();
        if !ASSIGNABLE_ROLES.contains(&r.as_str()) {
            return Err(ApiError::bad_request(
                error_code::VALIDATION_ERROR,
                format!("unknown role {r:?}; expected admin, infra, api or user"),
            ));
        }
        if !out.contains(&r) {
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(ApiError::bad_request(
            error_code::VALIDATION_ERROR,
            "at least one role is required",
        ));
    }
    Ok(out)
}

fn user_record(u: user::Model) -> UserRecord {
    UserRecord {
        id: u.id,
        tenant_id: u.tenant_id,
        email: u.email,
        roles: split_roles(&u.roles),
        disabled: u.disabled,
        created_at: to_rfc3339(u.created_at),
    }
}

fn api_token_record(t: api_token::Model) -> ApiTokenRecord {
    ApiTokenRecord {
        id: t.id,
        tenant_id: t.tenant_id,
        name: t.name,
        roles: split_roles(&t.roles),
        created_by: t.created_by,
        created_at: to_rfc3339(t.created_at),
        expires_at: opt_rfc3339(t.expires_at),
        revoked_at: opt_rfc3339(t.revoked_at),
        last_used_at: opt_rfc3339(t.last_used_at),
    }
}
