//! Typed configuration, read from the environment once at start and validated there: a bad
//! value stops the process with a message naming the variable.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// A value that must never reach a log line or a `Debug` dump.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Missing or invalid tokens get 401.
    Enforced,
    /// Missing or invalid tokens continue as the shadow identity (migration aid).
    Shadow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentTransport {
    Ws,
    LongPoll,
    Hybrid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultMode {
    Enforced,
    Shadow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Where objects (artifacts, ISOs, theme assets) live.
#[derive(Debug, Clone)]
pub enum ObjectStoreConfig {
    Local {
        root: PathBuf,
    },
    S3 {
        endpoint: String,
        region: String,
        bucket: String,
        access_key_id: Secret,
        secret_access_key: Secret,
        force_path_style: bool,
    },
}

/// Signing and verification of third-party (Supabase-style) user JWTs.
#[derive(Debug, Clone, Default)]
pub struct ExternalJwtConfig {
    pub hs_secret: Secret,
    pub jwks_url: Option<String>,
    pub issuer: String,
    pub audiences: Vec<String>,
}

impl ExternalJwtConfig {
    pub fn enabled(&self) -> bool {
        !self.hs_secret.is_empty() || self.jwks_url.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    pub window: Duration,
    /// Budget per authenticated principal per window (0 = unlimited).
    pub per_principal: u32,
    /// Budget per client IP per window (0 = unlimited).
    pub per_ip: u32,
    /// Login attempts per IP+email per minute.
    pub login_per_minute: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone)]
pub struct VmOpsConfig {
    pub running_max: Duration,
    pub dispatched_max: Duration,
    pub dispatch_max_requeues: u32,
}

/// IPQualityScore lookups (`/ipqs/*`).
#[derive(Debug, Clone)]
pub struct IpqsConfig {
    /// Used when `settings/api_keys.ipqs.api_key` is not set.
    pub api_key: Secret,
    /// Scheme and host of the API (tests point it at a local fake).
    pub base_url: String,
    /// How long a result is reused per tenant and address (zero: never cached).
    pub cache_ttl: Duration,
    pub timeout: Duration,
}

/// Execution leases (`/license/lease`).
#[derive(Debug, Clone)]
pub struct LicenseConfig {
    /// HS256 key of lease tokens; generated and kept in the database when unset.
    pub lease_secret: Option<Secret>,
    pub lease_ttl: Duration,
}

/// Artifact uploads and download URLs.
#[derive(Debug, Clone)]
pub struct ArtifactConfig {
    /// Lifetime of presigned S3 URLs and of the server's own signed download URLs.
    pub url_ttl: Duration,
    /// Largest release a client may declare.
    pub max_bytes: i64,
}

/// Windows provisioning tokens.
#[derive(Debug, Clone)]
pub struct ProvisioningConfig {
    /// `PROVISION_TOKEN_TTL_DAYS`: how long an issued token stays valid.
    pub token_ttl: Duration,
    /// `PROVISION_RATE_LIMIT_PER_MINUTE`: VM-facing token calls per client IP per minute.
    pub per_ip_per_minute: u32,
}

/// Master keys of the server-side envelope encryption: 32 bytes each, base64 in the env.
#[derive(Debug, Clone, Default)]
pub struct MasterKeyConfig {
    /// `BOTMOX_MASTER_KEY`; generated and kept in the database when unset.
    pub current: Option<Secret>,
    /// `BOTMOX_MASTER_KEY_PREVIOUS`: older keys, only used to unwrap until a rotation
    /// re-wraps everything under the current one.
    pub previous: Vec<Secret>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub object_store: ObjectStoreConfig,
    pub public_url: Option<String>,
    pub auth_mode: AuthMode,
    pub shadow_tenant_id: String,
    pub agent_transport: AgentTransport,
    pub vault_mode: VaultMode,
    pub vm_ops: VmOpsConfig,
    pub cors_origins: Vec<String>,
    /// HS256 key for the server's own access tokens; generated and kept in the database
    /// when unset.
    pub jwt_secret: Option<Secret>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub external_jwt: ExternalJwtConfig,
    pub rate_limit: RateLimitConfig,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub readiness_timeout: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
    pub otlp_endpoint: Option<String>,
    pub agent_token_ttl: Duration,
    pub pairing_per_minute: u32,
    pub heartbeat_flush: Duration,
    pub sweep_interval: Duration,
    /// How long a stopping server waits for open connections before cutting them off.
    pub shutdown_grace: Duration,
    /// Create tenant `default` and an admin on first start.
    pub bootstrap_admin: bool,
    pub bootstrap_admin_email: String,
    /// Days before expiry at which a license, proxy or subscription counts as expiring; the
    /// one threshold every expiry figure uses.
    pub expiry_warning_days: u32,
    /// AES-256 key (base64 of 32 bytes) for secrets kept in settings; generated and kept in
    /// the database when unset.
    pub secrets_key: Option<Secret>,
    pub ipqs: IpqsConfig,
    /// Largest theme asset (background image) upload.
    pub theme_asset_max_bytes: usize,
    /// Audit records waiting to be written; beyond this they are dropped and counted.
    pub audit_queue_capacity: usize,
    pub licenses: LicenseConfig,
    pub artifacts: ArtifactConfig,
    pub master_key: MasterKeyConfig,
    pub provisioning: ProvisioningConfig,
}

/// A configuration problem, naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn invalid(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// Reads variables from a map so tests can build configs without touching the process env.
struct Env<'a>(&'a HashMap<String, String>);

impl Env<'_> {
    fn get(&self, key: &str) -> Option<String> {
        self.0
            .get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or_else(|| default.to_owned())
    }

    fn parse<T: FromStr>(&self, key: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| invalid(key, format!("cannot parse {raw:?}: {e}"))),
        }
    }

    fn bool(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
            Some(v) => Err(invalid(key, format!("expected true or false, got {v:?}"))),
        }
    }

    fn one_of<T: Copy>(
        &self,
        key: &'static str,
        default: T,
        choices: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let Some(raw) = self.get(key) else {
            return Ok(default);
        };
        let lowered = raw.to_ascii_lowercase();
        choices
            .iter()
            .find(|(name, _)| *name == lowered)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                invalid(
                    key,
                    format!("expected one of {}, got {raw:?}", names.join("|")),
                )
            })
    }

    fn secret(&self, key: &str) -> Secret {
        Secret(self.get(key).unwrap_or_default())
    }

    fn millis(
        &self,
        key: &'static str,
        default_ms: u64,
        min_ms: u64,
    ) -> Result<Duration, ConfigError> {
        let v: u64 = self.parse(key, default_ms)?;
        let v = if v == 0 { default_ms } else { v };
        if v < min_ms {
            return Err(invalid(
                key,
                format!("must be at least {min_ms} ms, got {v}"),
            ));
        }
        Ok(Duration::from_millis(v))
    }
}

/// A master key must be base64 of exactly 32 bytes.
fn master_key(variable: &'static str, value: &str) -> Result<Secret, ConfigError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| invalid(variable, "must be base64"))?;
    if bytes.len() != 32 {
        return Err(invalid(
            variable,
            format!("must decode to 32 bytes, got {}", bytes.len()),
        ));
    }
    Ok(Secret(value.to_owned()))
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let env = Env(vars);
        let listen = env.parse("BOTMOX_LISTEN", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
        let data_dir = PathBuf::from(env.string("BOTMOX_DATA_DIR", "./data"));
        let database_url = match env.get("DATABASE_URL") {
            Some(url) => {
                if !(url.starts_with("postgres://")
                    || url.starts_with("postgresql://")
                    || url.starts_with("sqlite:"))
                {
                    return Err(invalid(
                        "DATABASE_URL",
                        "expected a postgres:// or sqlite: URL",
                    ));
                }
                url
            }
            None => format!("sqlite://{}?mode=rwc", data_dir.join("botmox.db").display()),
        };

        let object_store = match env.get("S3_ENDPOINT") {
            Some(endpoint) => {
                url::Url::parse(&endpoint)
                    .map_err(|e| invalid("S3_ENDPOINT", format!("not a URL: {e}")))?;
                let access_key_id = env.secret("S3_ACCESS_KEY_ID");
                let secret_access_key = env.secret("S3_SECRET_ACCESS_KEY");
                if access_key_id.is_empty() || secret_access_key.is_empty() {
                    return Err(invalid(
                        "S3_ACCESS_KEY_ID",
                        "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are required with S3_ENDPOINT",
                    ));
                }
                ObjectStoreConfig::S3 {
                    endpoint,
                    region: env.string("S3_REGION", "us-east-1"),
                    bucket: env.string("S3_BUCKET", "botmox"),
                    access_key_id,
                    secret_access_key,
                    force_path_style: env.bool("S3_FORCE_PATH_STYLE", true)?,
                }
            }
            None => ObjectStoreConfig::Local {
                root: env
                    .get("BOTMOX_OBJECT_STORE_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| data_dir.join("objects")),
            },
        };

        let public_url = match env.get("BOTMOX_PUBLIC_URL") {
            Some(u) => {
                url::Url::parse(&u)
                    .map_err(|e| invalid("BOTMOX_PUBLIC_URL", format!("not a URL: {e}")))?;
                Some(u.trim_end_matches('/').to_owned())
            }
            None => None,
        };

        let auth_mode = env.one_of(
            "AUTH_MODE",
            AuthMode::Enforced,
            &[
                ("enforced", AuthMode::Enforced),
                ("shadow", AuthMode::Shadow),
            ],
        )?;
        let shadow_tenant_id = env
            .string("BOTMOX_SHADOW_TENANT_ID", "shadow-tenant")
            .to_lowercase();
        let agent_transport = env.one_of(
            "AGENT_TRANSPORT",
            AgentTransport::Ws,
            &[
                ("ws", AgentTransport::Ws),
                ("longpoll", AgentTransport::LongPoll),
                ("hybrid", AgentTransport::Hybrid),
            ],
        )?;
        let vault_mode = env.one_of(
            "SECRETS_VAULT_MODE",
            VaultMode::Enforced,
            &[
                ("enforced", VaultMode::Enforced),
                ("shadow", VaultMode::Shadow),
            ],
        )?;

        let max_requeues: u32 = env.parse("BOTMOX_VMOPS_DISPATCH_MAX_REQUEUES", 2)?;
        if max_requeues > 10 {
            return Err(invalid(
                "BOTMOX_VMOPS_DISPATCH_MAX_REQUEUES",
                "must be between 0 and 10",
            ));
        }
        let vm_ops = VmOpsConfig {
            running_max: env.millis("BOTMOX_VMOPS_RUNNING_MAX_MS", 900_000, 60_000)?,
            dispatched_max: env.millis("BOTMOX_VMOPS_DISPATCHED_MAX_MS", 120_000, 15_000)?,
            dispatch_max_requeues: max_requeues,
        };

        let cors_origins = env
            .string(
                "CORS_ORIGIN",
                "http://localhost:5173,http://127.0.0.1:5173,http://localhost:3000",
            )
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_owned())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>();
        for origin in &cors_origins {
            if origin != "*" {
                url::Url::parse(origin)
                    .map_err(|e| invalid("CORS_ORIGIN", format!("{origin:?} is not a URL: {e}")))?;
            }
        }

        let jwt_secret = env.get("BOTMOX_JWT_SECRET").map(Secret);
        if let Some(s) = &jwt_secret
            && s.0.len() < 32
        {
            return Err(invalid(
                "BOTMOX_JWT_SECRET",
                "must be at least 32 characters",
            ));
        }

        let external_jwt = ExternalJwtConfig {
            hs_secret: match env.get("SUPABASE_JWT_SECRET") {
                Some(s) => Secret(s),
                None => env.secret("JWT_SECRET"),
            },
            jwks_url: match env.get("SUPABASE_JWKS_URL") {
                Some(u) => {
                    url::Url::parse(&u)
                        .map_err(|e| invalid("SUPABASE_JWKS_URL", format!("not a URL: {e}")))?;
                    Some(u)
                }
                None => None,
            },
            issuer: env.string("SUPABASE_JWT_ISSUER", "supabase"),
            audiences: env
                .string("SUPABASE_JWT_AUDIENCE", "authenticated")
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        };

        let window_ms: u64 = env.parse("API_RATE_LIMIT_WINDOW_MS", 900_000)?;
        if window_ms < 1_000 {
            return Err(invalid("API_RATE_LIMIT_WINDOW_MS", "must be at least 1000"));
        }
        let rate_limit = RateLimitConfig {
            window: Duration::from_millis(window_ms),
            per_principal: env.parse("API_RATE_LIMIT_MAX", 10_000)?,
            per_ip: env.parse("API_RATE_LIMIT_IP_MAX", 10_000)?,
            login_per_minute: env.parse("LOGIN_RATE_LIMIT_PER_MINUTE", 5)?,
            trust_forwarded_for: env.bool("BOTMOX_TRUST_FORWARDED_FOR", false)?,
        };

        let max_body_bytes: usize = env.parse("BOTMOX_MAX_BODY_BYTES", 1_048_576)?;
        if max_body_bytes < 1024 {
            return Err(invalid("BOTMOX_MAX_BODY_BYTES", "must be at least 1024"));
        }

        let access_ttl: u64 = env.parse("BOTMOX_ACCESS_TOKEN_TTL_SECONDS", 900)?;
        if !(60..=86_400).contains(&access_ttl) {
            return Err(invalid(
                "BOTMOX_ACCESS_TOKEN_TTL_SECONDS",
                "must be between 60 and 86400",
            ));
        }
        let refresh_days: u64 = env.parse("BOTMOX_REFRESH_TOKEN_TTL_DAYS", 30)?;
        if !(1..=365).contains(&refresh_days) {
            return Err(invalid(
                "BOTMOX_REFRESH_TOKEN_TTL_DAYS",
                "must be between 1 and 365",
            ));
        }

        let agent_ttl: u64 = env.parse("AGENT_TOKEN_TTL_SECONDS", 2_592_000)?;
        if !(300..=15_552_000).contains(&agent_ttl) {
            return Err(invalid(
                "AGENT_TOKEN_TTL_SECONDS",
                "must be between 300 and 15552000 (180 days)",
            ));
        }
        let public_url = match public_url {
            Some(u) => Some(u),
            None => match env.get("AGENT_PAIRING_PUBLIC_URL") {
                Some(u) => {
                    url::Url::parse(&u).map_err(|e| {
                        invalid("AGENT_PAIRING_PUBLIC_URL", format!("not a URL: {e}"))
                    })?;
                    Some(u.trim_end_matches('/').to_owned())
                }
                None => None,
            },
        };
        let expiry_warning_days: u32 = env.parse("BOTMOX_EXPIRY_WARNING_DAYS", 7)?;
        if expiry_warning_days > 365 {
            return Err(invalid(
                "BOTMOX_EXPIRY_WARNING_DAYS",
                "must be between 0 and 365",
            ));
        }

        let log_format = env.one_of(
            "BOTMOX_LOG_FORMAT",
            LogFormat::Json,
            &[("json", LogFormat::Json), ("pretty", LogFormat::Pretty)],
        )?;

        let secrets_key = match env.get("BOTMOX_SECRETS_KEY") {
            Some(raw) => {
                if decode_key32(&raw).is_none() {
                    return Err(invalid(
                        "BOTMOX_SECRETS_KEY",
                        "must be the base64 encoding of exactly 32 bytes",
                    ));
                }
                Some(Secret(raw))
            }
            None => None,
        };

        let ipqs_base_url = env
            .string("IPQS_BASE_URL", "https://ipqualityscore.com")
            .trim_end_matches('/')
            .to_owned();
        let parsed = url::Url::parse(&ipqs_base_url)
            .map_err(|e| invalid("IPQS_BASE_URL", format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("IPQS_BASE_URL", "must be an http(s) URL"));
        }
        let ipqs_ttl: u64 = env.parse("IPQS_CACHE_TTL_SECONDS", 86_400)?;
        if ipqs_ttl > 30 * 86_400 {
            return Err(invalid(
                "IPQS_CACHE_TTL_SECONDS",
                "must be between 0 and 2592000",
            ));
        }
        let ipqs = IpqsConfig {
            api_key: env.secret("IPQS_API_KEY"),
            base_url: ipqs_base_url,
            cache_ttl: Duration::from_secs(ipqs_ttl),
            timeout: env.millis("IPQS_TIMEOUT_MS", 10_000, 100)?,
        };

        let theme_asset_max_bytes: usize = env.parse("THEME_ASSET_MAX_BYTES", 20_971_520)?;
        if !(1024..=20_971_520).contains(&theme_asset_max_bytes) {
            return Err(invalid(
                "THEME_ASSET_MAX_BYTES",
                "must be between 1024 and 20971520",
            ));
        }
        let audit_queue_capacity: usize = env.parse("BOTMOX_AUDIT_QUEUE_CAPACITY", 10_000)?;
        if !(16..=1_000_000).contains(&audit_queue_capacity) {
            return Err(invalid(
                "BOTMOX_AUDIT_QUEUE_CAPACITY",
                "must be between 16 and 1000000",
            ));
        }
        let lease_secret = env.get("LICENSE_LEASE_SECRET").map(Secret);
        if let Some(s) = &lease_secret
            && s.0.len() < 32
        {
            return Err(invalid(
                "LICENSE_LEASE_SECRET",
                "must be at least 32 characters",
            ));
        }
        let lease_ttl: u64 = env.parse("LICENSE_LEASE_TTL_SECONDS", 300)?;
        if !(30..=86_400).contains(&lease_ttl) {
            return Err(invalid(
                "LICENSE_LEASE_TTL_SECONDS",
                "must be between 30 and 86400",
            ));
        }
        let url_ttl: u64 = env.parse("S3_PRESIGN_TTL_SECONDS", 300)?;
        if !(60..=300).contains(&url_ttl) {
            return Err(invalid(
                "S3_PRESIGN_TTL_SECONDS",
                "must be between 60 and 300",
            ));
        }
        let max_artifact: i64 = env.parse("BOTMOX_ARTIFACT_MAX_BYTES", 4 * 1024 * 1024 * 1024)?;
        if max_artifact < 1 {
            return Err(invalid("BOTMOX_ARTIFACT_MAX_BYTES", "must be positive"));
        }
        let master_key = MasterKeyConfig {
            current: env
                .get("BOTMOX_MASTER_KEY")
                .map(|v| master_key("BOTMOX_MASTER_KEY", &v))
                .transpose()?,
            previous: env
                .get("BOTMOX_MASTER_KEY_PREVIOUS")
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(|v| master_key("BOTMOX_MASTER_KEY_PREVIOUS", v))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default(),
        };

        let provision_days: u64 = env.parse("PROVISION_TOKEN_TTL_DAYS", 30)?;
        if !(1..=365).contains(&provision_days) {
            return Err(invalid(
                "PROVISION_TOKEN_TTL_DAYS",
                "must be between 1 and 365",
            ));
        }
        let provisioning = ProvisioningConfig {
            token_ttl: Duration::from_secs(provision_days * 86_400),
            per_ip_per_minute: env.parse("PROVISION_RATE_LIMIT_PER_MINUTE", 120)?,
        };

        Ok(Config {
            listen,
            database_url,
            data_dir,
            object_store,
            public_url,
            auth_mode,
            shadow_tenant_id,
            agent_transport,
            vault_mode,
            vm_ops,
            cors_origins,
            jwt_secret,
            access_token_ttl: Duration::from_secs(access_ttl),
            refresh_token_ttl: Duration::from_secs(refresh_days * 86_400),
            external_jwt,
            rate_limit,
            max_body_bytes,
            request_timeout: env.millis("BOTMOX_REQUEST_TIMEOUT_MS", 30_000, 1_000)?,
            readiness_timeout: env.millis("READINESS_PROBE_TIMEOUT_MS", 2_000, 100)?,
            log_format,
            log_level: env
                .get("LOG_LEVEL")
                .or_else(|| env.get("RUST_LOG"))
                .unwrap_or_else(|| "info".to_owned()),
            otlp_endpoint: env.get("OTEL_EXPORTER_OTLP_ENDPOINT"),
            agent_token_ttl: Duration::from_secs(agent_ttl),
            pairing_per_minute: env.parse("PAIRING_RATE_LIMIT_PER_MINUTE", 10)?,
            heartbeat_flush: env.millis("BOTMOX_HEARTBEAT_FLUSH_MS", 1_000, 10)?,
            sweep_interval: env.millis("BOTMOX_VMOPS_SWEEP_INTERVAL_MS", 30_000, 50)?,
            shutdown_grace: env.millis("BOTMOX_SHUTDOWN_GRACE_MS", 10_000, 100)?,
            bootstrap_admin: env.bool("BOTMOX_BOOTSTRAP_ADMIN", true)?,
            bootstrap_admin_email: env.string("BOTMOX_ADMIN_EMAIL", "admin@botmox.local"),
            expiry_warning_days,
            secrets_key,
            ipqs,
            theme_asset_max_bytes,
            audit_queue_capacity,
            licenses: LicenseConfig {
                lease_secret,
                lease_ttl: Duration::from_secs(lease_ttl),
            },
            artifacts: ArtifactConfig {
                url_ttl: Duration::from_secs(url_ttl),
                max_bytes: max_artifact,
            },
            master_key,
            provisioning,
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// Decodes a 32-byte key written in standard or URL-safe base64 (padding optional).
pub fn decode_key32(raw: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let raw = raw.trim();
    let bytes = STANDARD
        .decode(raw)
        .or_else(|_| URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')))
        .ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_embedded_sqlite_and_local_objects() {
        let cfg = Config::from_map(&HashMap::new()).expect("defaults are valid");
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:8080");
        assert!(cfg.database_url.starts_with("sqlite://./data/botmox.db"));
        assert!(matches!(cfg.object_store, ObjectStoreConfig::Local { .. }));
        assert_eq!(cfg.auth_mode, AuthMode::Enforced);
        assert_eq!(cfg.agent_transport, AgentTransport::Ws);
        assert_eq!(cfg.shadow_tenant_id, "shadow-tenant");
        assert_eq!(cfg.vm_ops.dispatch_max_requeues, 2);
        assert_eq!(cfg.expiry_warning_days, 7);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = Config::from_map(&map(&[("AGENT_TRANSPORT", "carrier-pigeon")]))
            .expect_err("must fail");
        assert_eq!(err.variable, "AGENT_TRANSPORT");
        let err = Config::from_map(&map(&[("BOTMOX_LISTEN", "nowhere")])).expect_err("must fail");
        assert_eq!(err.variable, "BOTMOX_LISTEN");
        let err =
            Config::from_map(&map(&[("BOTMOX_VMOPS_RUNNING_MAX_MS", "5")])).expect_err("must fail");
        assert_eq!(err.variable, "BOTMOX_VMOPS_RUNNING_MAX_MS");
        let err = Config::from_map(&map(&[("BOTMOX_EXPIRY_WARNING_DAYS", "400")]))
            .expect_err("must fail");
        assert_eq!(err.variable, "BOTMOX_EXPIRY_WARNING_DAYS");
    }

    #[test]
    fn secrets_key_and_ipqs_settings_are_validated() {
        let err = Config::from_map(&map(&[("BOTMOX_SECRETS_KEY", "c2hvcnQ=")])).expect_err("short");
        assert_eq!(err.variable, "BOTMOX_SECRETS_KEY");
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let cfg = Config::from_map(&map(&[
            ("BOTMOX_SECRETS_KEY", key),
            ("IPQS_API_KEY", "ipqs-key-value"),
        ]))
        .expect("valid");
        assert!(!format!("{cfg:?}").contains("ipqs-key-value"));
        assert!(!format!("{cfg:?}").contains(key));
        assert_eq!(cfg.ipqs.cache_ttl, Duration::from_secs(86_400));
        let err = Config::from_map(&map(&[("IPQS_BASE_URL", "ftp://x")])).expect_err("scheme");
        assert_eq!(err.variable, "IPQS_BASE_URL");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let cfg = Config::from_map(&map(&[
            ("BOTMOX_JWT_SECRET", "a-very-long-signing-secret-0123456789"),
            ("SUPABASE_JWT_SECRET", "supabase-shared-secret-value"),
        ]))
        .expect("valid");
        let dump = format!("{cfg:?}");
        assert!(!dump.contains("a-very-long-signing-secret"));
        assert!(!dump.contains("supabase-shared-secret-value"));
        assert!(dump.contains("<redacted>"));
    }

    #[test]
    fn delivery_chain_settings_are_validated() {
        let cfg = Config::from_map(&HashMap::new()).expect("defaults");
        assert_eq!(cfg.licenses.lease_ttl, Duration::from_secs(300));
        assert_eq!(cfg.artifacts.url_ttl, Duration::from_secs(300));
        for (var, value) in [
            ("S3_PRESIGN_TTL_SECONDS", "59"),
            ("S3_PRESIGN_TTL_SECONDS", "301"),
            ("LICENSE_LEASE_TTL_SECONDS", "5"),
            ("LICENSE_LEASE_SECRET", "short"),
            ("BOTMOX_MASTER_KEY", "not base64!"),
            ("BOTMOX_MASTER_KEY", "c2hvcnQ="),
            ("BOTMOX_MASTER_KEY_PREVIOUS", "c2hvcnQ="),
        ] {
            let err = Config::from_map(&map(&[(var, value)])).expect_err("must fail");
            assert_eq!(err.variable, var, "{value}");
        }
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let cfg = Config::from_map(&map(&[("BOTMOX_MASTER_KEY", key)])).expect("valid");
        assert!(!format!("{cfg:?}").contains(key));
    }
}
