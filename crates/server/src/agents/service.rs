//! Agent rules: pairing codes, registration, quick-pair, heartbeats (coalesced), ownership,
//! revocation, agent tokens.

use super::store::{AgentStore, ListFilter, agent, agent_token};
use crate::auth::AuthService;
use crate::auth::principal::{AuthKind, Principal, ROLE_AGENT};
use crate::auth::token;
use crate::bus::Bus;
use crate::config::Config;
use crate::db::Db;
use crate::db::time::{now_ms, opt_rfc3339, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use crate::ratelimit::FixedWindow;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use botmox_contract::ListMeta;
use botmox_contract::agents::{
    AgentRecord, AgentRegistered, AgentTokenRotated, HeartbeatAck, PairingBundle,
    PairingCreateRequest, PairingCreated, ProxmoxDefaults, QuickPairRequest, RegisterRequest,
};
use dashmap::DashMap;
use rand::Rng;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// An agent is online when active and seen this recently.
pub const ONLINE_WINDOW_MS: i64 = 120_000;
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(30);
const DEFAULT_NAME: &str = "Unnamed Agent";

pub struct AgentsService {
    store: AgentStore,
    auth: Arc<AuthService>,
    bus: Arc<Bus>,
    token_ttl: Duration,
    public_url: Option<String>,
    pair_limiter: FixedWindow,
    /// Latest heartbeat per agent, written in one statement per flush interval.
    beats: DashMap<String, (i64, Option<String>)>,
    /// Verified agent tokens by hash; revocation clears them on every node through the bus.
    token_cache: Arc<DashMap<String, (Principal, Instant)>>,
}

fn conflict(code: &'static str, message: &'static str) -> ApiError {
    ApiError::conflict(code, message)
}

fn agent_not_found() -> ApiError {
    ApiError::not_found("AGENT_NOT_FOUND", "Agent not found")
}

impl AgentsService {
    pub fn new(db: Db, auth: Arc<AuthService>, bus: Arc<Bus>, config: &Config) -> Arc<Self> {
        let token_cache: Arc<DashMap<String, (Principal, Instant)>> = Arc::new(DashMap::new());
        let cache = token_cache.clone();
        bus.on_revoke(move |agent| {
            cache.retain(|_, (p, _)| p.agent_id.as_deref() != Some(agent));
        });
        Arc::new(Self {
            store: AgentStore::new(db),
            auth,
            bus,
            token_ttl: config.agent_token_ttl,
            public_url: config.public_url.clone(),
            pair_limiter: FixedWindow::new(config.pairing_per_minute, Duration::from_secs(60)),
            beats: DashMap::new(),
            token_cache,
        })
    }

    fn check_pair_rate(&self, client_ip: &str) -> ApiResult<()> {
        let d = self.pair_limiter.check(&format!("pair:{client_ip}"));
        if d.allowed {
            Ok(())
        } else {
            Err(ApiError::rate_limited(d))
        }
    }

    // ---- pairing ----

    /// Creates a pending agent with a single-use pairing code (shown once, stored hashed).
    pub async fn create_pairing(
        &self,
        caller: &Principal,
        req: &PairingCreateRequest,
        request_url: Option<String>,
    ) -> ApiResult<PairingCreated> {
        let owner = match req.owner_user_id.as_deref().map(str::trim) {
            Some(other) if other != caller.uid => {
                if !caller.is_privileged() {
                    return Err(ApiError::forbidden(
                        "owner_user_id override requires the admin or infra role",
                    ));
                }
                other.to_owned()
            }
            _ => caller.uid.clone(),
        };
        let name = req
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or(DEFAULT_NAME)
            .to_owned();
        self.pair(
            &caller.tenant_id,
            &owner,
            &name,
            req.expires_in_minutes.unwrap_or(15),
            request_url,
        )
        .await
    }

    async fn pair(
        &self,
        tenant: &str,
        owner: &str,
        name: &str,
        minutes: u32,
        request_url: Option<String>,
    ) -> ApiResult<PairingCreated> {
        let now = now_ms();
        let mut raw = [0u8; 16];
        rand::rng().fill(&mut raw);
        let code = hex::encode(raw);
        let expires = now + i64::from(minutes.clamp(5, 1440)) * 60_000;
        let row = agent::Model {
            id: Uuid::now_v7().to_string(),
            tenant_id: tenant.to_owned(),
            name: name.to_owned(),
            status: "pending".to_owned(),
            owner_user_id: Some(owner.to_owned()),
            version: None,
            platform: None,
            capabilities: "[]".to_owned(),
            pairing_code_hash: Some(token::hash_opaque(&code)),
            pairing_expires_at: Some(expires),
            paired_at: None,
            paired_by: None,
            last_seen_at: None,
            revoked_at: None,
            revoked_by: None,
            revoke_reason: None,
            metadata: "{}".to_owned(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert(row.clone()).await?;
        let server_url = self.public_url.clone().or(request_url);
        // Proxmox hints come from the tenant's settings once that domain provides them.
        let proxmox_defaults: Option<ProxmoxDefaults> = None;
        let bundle = PairingBundle {
            v: 1,
            pairing_code: code.clone(),
            server_url: server_url.clone(),
            proxmox: proxmox_defaults.clone(),
        };
        let bundle =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&bundle).map_err(anyhow::Error::from)?);
        Ok(PairingCreated {
            id: row.id,
            tenant_id: row.tenant_id,
            owner_user_id: owner.to_owned(),
            name: row.name,
            status: row.status,
            pairing_code: code,
            pairing_expires_at: to_rfc3339(expires),
            pairing_uri: format!("botmox://pair?bundle={bundle}"),
            pairing_url: server_url
                .as_ref()
                .map(|u| format!("{u}/agent/pair?bundle={bundle}")),
            pairing_bundle: bundle,
            server_url,
            proxmox_defaults,
            created_at: to_rfc3339(now),
        })
    }

    /// Redeems a pairing code (public, rate-limited per client address).
    pub async fn register(
        &self,
        req: &RegisterRequest,
        paired_by: Option<&Principal>,
        client_ip: &str,
    ) -> ApiResult<AgentRegistered> {
        self.check_pair_rate(client_ip)?;
        self.redeem(req, paired_by).await
    }

    /// A user's email and password, then pairing and registration in one call.
    pub async fn quick_pair(
        &self,
        req: &QuickPairRequest,
        client_ip: &str,
    ) -> ApiResult<AgentRegistered> {
        self.check_pair_rate(client_ip)?;
        let user = self
            .auth
            .check_password(&req.login, &req.password, client_ip)
            .await
            .map_err(|e| match e {
                ApiError::Client { status, .. } if status == StatusCode::UNAUTHORIZED => {
                    ApiError::unauthorized(
                        "INVALID_CREDENTIALS",
                        "Invalid Bot-Mox login or password",
                    )
                }
                other => other,
            })?;
        let name = req
            .name
            .as_deref()
            .or(req.machine_name.as_deref())
            .map(str::trim)
            .unwrap_or(DEFAULT_NAME)
            .to_owned();
        let pairing = self
            .pair(&user.tenant_id, &user.id, &name, 15, None)
            .await?;
        let register = RegisterRequest {
            pairing_code: pairing.pairing_code,
            machine_name: req.machine_name.clone(),
            version: req.version.clone(),
            platform: req.platform.clone(),
            capabilities: req.capabilities.clone(),
        };
        let by = Principal {
            kind: AuthKind::Session,
            uid: user.id.clone(),
            email: user.email.clone(),
            tenant_id: user.tenant_id.clone(),
            roles: vec![],
            token_id: None,
            token_exp: None,
            agent_id: None,
        };
        // The pairing limiter already counted this call.
        self.redeem(&register, Some(&by)).await
    }

    /// The agent becomes active and gets its token; the code works once.
    async fn redeem(
        &self,
        req: &RegisterRequest,
        paired_by: Option<&Principal>,
    ) -> ApiResult<AgentRegistered> {
        let not_found = || {
            ApiError::not_found(
                "PAIRING_NOT_FOUND",
                "Pairing code not found or already used",
            )
        };
        let hash = token::hash_opaque(req.pairing_code.trim());
        let mut row = match self.store.by_pairing_hash(&hash).await? {
            Some(row) if row.status == "pending" => row,
            _ => return Err(not_found()),
        };
        let now = now_ms();
        if row.pairing_expires_at.is_some_and(|e| e <= now) {
            return Err(ApiError::new(
                StatusCode::GONE,
                "PAIRING_EXPIRED",
                "Pairing code has expired",
            ));
        }
        let machine = req.machine_name.as_deref().map(str::trim);
        if let Some(m) = machine
            && (row.name.trim().is_empty() || row.name.eq_ignore_ascii_case(DEFAULT_NAME))
        {
            row.name = m.to_owned();
        }
        if let Some(m) = machine {
            let mut metadata: serde_json::Map<String, Value> =
                serde_json::from_str(&row.metadata).unwrap_or_default();
            metadata.insert("machine_name".into(), json!(m));
            row.metadata = Value::Object(metadata).to_string();
        }
        row.version = req.version.clone();
        row.platform = req.platform.clone();
        row.capabilities = json!(req.capabilities.clone().unwrap_or_default()).to_string();
        row.paired_at = Some(now);
        row.last_seen_at = Some(now);
        row.paired_by = paired_by.map(|p| p.uid.clone());
        row.updated_at = now;
        if !self.store.activate(&row).await? {
            // Someone redeemed the same code a moment earlier.
            return Err(not_found());
        }
        row.status = "active".to_owned();
        row.pairing_code_hash = None;
        row.pairing_expires_at = None;
        let (_, token, expires) = self.issue_token(&row).await?;
        Ok(AgentRegistered {
            agent: record(&row),
            agent_token: token,
            agent_token_expires_at: to_rfc3339(expires),
        })
    }

    /// Returns (token id, token, expiry ms).
    async fn issue_token(&self, row: &agent::Model) -> ApiResult<(String, String, i64)> {
        let now = now_ms();
        let secret = token::generate_opaque(token::AGENT_TOKEN_PREFIX);
        let expires = now + self.token_ttl.as_millis() as i64;
        let id = Uuid::now_v7().to_string();
        self.store
            .insert_token(agent_token::Model {
                id: id.clone(),
                agent_id: row.id.clone(),
                tenant_id: row.tenant_id.clone(),
                token_hash: token::hash_opaque(&secret),
                created_at: now,
                expires_at: expires,
                revoked_at: None,
            })
            .await?;
        Ok((id, secret, expires))
    }

    /// The agent renews its own token; older tokens stop working.
    pub async fn rotate_token(
        &self,
        caller: &Principal,
        agent_id: &str,
    ) -> ApiResult<AgentTokenRotated> {
        if caller.agent_id.as_deref() != Some(agent_id) {
            return Err(ApiError::forbidden(
                "An agent may only rotate its own token",
            ));
        }
        let row = self
            .store
            .get(&caller.tenant_id, agent_id)
            .await?
            .ok_or_else(agent_not_found)?;
        if row.status == "revoked" {
            return Err(conflict("AGENT_REVOKED", "Agent has been revoked"));
        }
        let (kept, secret, expires) = self.issue_token(&row).await?;
        self.store
            .revoke_tokens_except(agent_id, &kept, now_ms())
            .await?;
        self.token_cache
            .retain(|_, (p, _)| p.agent_id.as_deref() != Some(agent_id));
        Ok(AgentTokenRotated {
            agent_id: agent_id.to_owned(),
            agent_token: secret,
            agent_token_expires_at: to_rfc3339(expires),
        })
    }

    /// Resolves an agent token (`bma_…`) to its principal; revoked, expired or unknown → None.
    pub async fn authenticate(&self, bearer: &str) -> Option<Principal> {
        let hash = token::hash_opaque(bearer);
        if let Some(hit) = self.token_cache.get(&hash)
            && hit.1.elapsed() < TOKEN_CACHE_TTL
            && hit.0.token_exp.is_none_or(|exp| exp * 1000 > now_ms())
        {
            return Some(hit.0.clone());
        }
        let row = match self.store.token_by_hash(&hash).await {
            Ok(r) => r?,
            Err(err) => {
                tracing::error!(error = %err, "agent token lookup failed");
                return None;
            }
        };
        if !token::constant_time_eq(&row.token_hash, &hash) {
            return None;
        }
        let now = now_ms();
        if row.revoked_at.is_some() || row.expires_at <= now {
            return None;
        }
        let principal = Principal {
            kind: AuthKind::Agent,
            uid: format!("agent:{}", row.agent_id),
            email: format!("agent-{}@agents.botmox", row.agent_id),
            tenant_id: row.tenant_id,
            roles: vec![ROLE_AGENT.to_owned()],
            token_id: Some(row.id),
            token_exp: Some(row.expires_at / 1000),
            agent_id: Some(row.agent_id),
        };
        self.token_cache
            .insert(hash, (principal.clone(), Instant::now()));
        Some(principal)
    }

    // ---- heartbeats ----

    /// Records that the agent is alive; written to the database in the next flush.
    pub fn touch(&self, agent_id: &str, metadata: Option<&serde_json::Map<String, Value>>) {
        let meta = metadata.map(|m| Value::Object(m.clone()).to_string());
        let now = now_ms();
        self.beats
            .entry(agent_id.to_owned())
            .and_modify(|(seen, old)| {
                *seen = now;
                if meta.is_some() {
                    old.clone_from(&meta);
                }
            })
            .or_insert((now, meta));
    }

    pub async fn heartbeat(
        &self,
        caller: &Principal,
        agent_id: &str,
        metadata: Option<&serde_json::Map<String, Value>>,
    ) -> ApiResult<HeartbeatAck> {
        let agent_id = agent_id.trim();
        if caller.kind == AuthKind::Agent && caller.agent_id.as_deref() != Some(agent_id) {
            return Err(ApiError::forbidden(
                "An agent may only send its own heartbeat",
            ));
        }
        let row = self
            .store
            .get(&caller.tenant_id, agent_id)
            .await?
            .ok_or_else(agent_not_found)?;
        if caller.kind != AuthKind::Agent
            && !caller.is_privileged()
            && row.owner_user_id.as_deref() != Some(caller.uid.as_str())
        {
            return Err(agent_not_found());
        }
        match row.status.as_str() {
            "revoked" => return Err(conflict("AGENT_REVOKED", "Agent has been revoked")),
            "active" => {}
            _ => return Err(conflict("AGENT_NOT_ACTIVE", "Agent is not active")),
        }
        self.touch(agent_id, metadata);
        Ok(HeartbeatAck {
            id: row.id,
            status: row.status,
            last_seen_at: to_rfc3339(now_ms()),
        })
    }

    /// Writes buffered heartbeats; called on an interval and at shutdown.
    pub async fn flush_heartbeats(&self) {
        let keys: Vec<String> = self.beats.iter().map(|e| e.key().clone()).collect();
        let mut batch = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some((id, (seen, meta))) = self.beats.remove(&k) {
                batch.push((id, seen, meta));
            }
        }
        for chunk in batch.chunks(500) {
            if let Err(err) = self.store.flush_heartbeats(chunk).await {
                tracing::warn!(error = %err, agents = chunk.len(), "flushing heartbeats failed; keeping them for the next flush");
                for (id, seen, meta) in chunk.iter().cloned() {
                    self.beats.entry(id).or_insert((seen, meta));
                }
            }
        }
    }

    /// The buffered `last_seen_at`, newer than the database's until the next flush.
    fn last_seen(&self, row: &agent::Model) -> Option<i64> {
        let buffered = self.beats.get(&row.id).map(|b| b.0);
        match (row.last_seen_at, buffered) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn is_online(&self, row: &agent::Model) -> bool {
        row.status == "active"
            && self
                .last_seen(row)
                .is_some_and(|t| now_ms() - t < ONLINE_WINDOW_MS)
    }

    fn record(&self, row: &agent::Model) -> AgentRecord {
        let mut r = record(row);
        r.online = self.is_online(row);
        r.last_seen_at = opt_rfc3339(self.last_seen(row));
        r
    }

    // ---- reads and revocation ----

    /// An agent of the caller's tenant the caller may see (owner or privileged); agents
    /// themselves may not read the agent list.
    pub async fn visible(&self, caller: &Principal, id: &str) -> ApiResult<agent::Model> {
        if caller.kind == AuthKind::Agent {
            return Err(ApiError::forbidden("Agent tokens cannot read agents"));
        }
        let row = self
            .store
            .get(&caller.tenant_id, id.trim())
            .await?
            .ok_or_else(agent_not_found)?;
        if !caller.is_privileged() && row.owner_user_id.as_deref() != Some(caller.uid.as_str()) {
            return Err(agent_not_found());
        }
        Ok(row)
    }

    pub async fn get(&self, caller: &Principal, id: &str) -> ApiResult<AgentRecord> {
        Ok(self.record(&self.visible(caller, id).await?))
    }

    /// The agent row for services that act on it (vm-ops), scoped to the tenant.
    pub async fn find(&self, tenant: &str, id: &str) -> ApiResult<Option<agent::Model>> {
        Ok(self.store.get(tenant, id.trim()).await?)
    }

    /// Agents of a tenant by id (one query for a whole batch of commands).
    pub async fn find_many(
        &self,
        tenant: &str,
        ids: &[&str],
    ) -> ApiResult<std::collections::HashMap<String, agent::Model>> {
        let rows = match ids {
            [] => Vec::new(),
            [one] => self.store.get(tenant, one).await?.into_iter().collect(),
            _ => {
                let mut rows = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    rows.extend(self.store.get_many(tenant, chunk).await?);
                }
                rows
            }
        };
        Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
    }

    pub async fn list(
        &self,
        caller: &Principal,
        status: Option<&str>,
        page: &PageRequest,
    ) -> ApiResult<(Vec<AgentRecord>, ListMeta)> {
        if caller.kind == AuthKind::Agent {
            return Err(ApiError::forbidden("Agent tokens cannot read agents"));
        }
        let after = page.after_ms("AGENTS_LIST_INVALID_QUERY")?;
        let rows = self
            .store
            .list(ListFilter {
                tenant_id: &caller.tenant_id,
                owner: (!caller.is_privileged()).then_some(caller.uid.as_str()),
                status,
                after,
                limit: page.fetch(),
            })
            .await?;
        let (rows, meta) = page.finish(rows, |r| Cursor {
            key: json!(r.created_at),
            id: r.id.clone(),
        });
        Ok((rows.iter().map(|r| self.record(r)).collect(), meta))
    }

    /// Revokes an agent (admin/infra): its tokens stop working and its live sockets close on
    /// every node.
    pub async fn revoke(
        &self,
        caller: &Principal,
        id: &str,
        reason: Option<&str>,
    ) -> ApiResult<AgentRecord> {
        let row = self
            .store
            .get(&caller.tenant_id, id.trim())
            .await?
            .ok_or_else(agent_not_found)?;
        if row.status == "revoked" {
            return Err(conflict("ALREADY_REVOKED", "Agent is already revoked"));
        }
        let now = now_ms();
        if !self
            .store
            .revoke(&caller.tenant_id, &row.id, &caller.uid, reason, now)
            .await?
        {
            return Err(conflict("ALREADY_REVOKED", "Agent is already revoked"));
        }
        self.bus.revoke(&row.id).await;
        tracing::warn!(agent_id = %row.id, tenant = %caller.tenant_id, by = %caller.uid, "agent revoked");
        let updated = self
            .store
            .get(&caller.tenant_id, &row.id)
            .await?
            .ok_or_else(agent_not_found)?;
        Ok(self.record(&updated))
    }
}

fn record(row: &agent::Model) -> AgentRecord {
    AgentRecord {
        id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        owner_user_id: row.owner_user_id.clone(),
        name: row.name.clone(),
        status: row.status.clone(),
        online: false,
        version: row.version.clone(),
        platform: row.platform.clone(),
        capabilities: serde_json::from_str(&row.capabilities).unwrap_or_default(),
        paired_at: opt_rfc3339(row.paired_at),
        last_seen_at: opt_rfc3339(row.last_seen_at),
        revoked_at: opt_rfc3339(row.revoked_at),
        revoke_reason: row.revoke_reason.clone(),
        metadata: serde_json::from_str(&row.metadata).unwrap_or_else(|_| json!({})),
        created_at: to_rfc3339(row.created_at),
        updated_at: to_rfc3339(row.updated_at),
    }
}

#[async_trait::async_trait]
impl crate::auth::service::AgentTokenResolver for AgentsService {
    async fn resolve(&self, bearer: &str) -> Option<Principal> {
        self.authenticate(bearer).await
    }
}
