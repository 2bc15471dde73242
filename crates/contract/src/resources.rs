//! Resources a bot uses: licenses, proxies and subscriptions, with expiry tracking and
//! assignment to bots.

use crate::fields::{
    Timestamp, id, lenient_port, nullable, one_of, opt_id, opt_not_blank, patch_id, patch_ids,
};
use garde::Validate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// The three kinds, as they appear in paths.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Licenses,
    Proxies,
    Subscriptions,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 3] = [
        ResourceKind::Licenses,
        ResourceKind::Proxies,
        ResourceKind::Subscriptions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Licenses => "licenses",
            ResourceKind::Proxies => "proxies",
            ResourceKind::Subscriptions => "subscriptions",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Statuses a resource of this kind can have (the first is the default).
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            ResourceKind::Licenses => &LICENSE_STATUSES,
            ResourceKind::Proxies => &PROXY_STATUSES,
            ResourceKind::Subscriptions => &SUBSCRIPTION_STATUSES,
        }
    }

    /// Whether one resource may serve several bots (licenses) or at most one.
    pub fn many_bots(self) -> bool {
        matches!(self, ResourceKind::Licenses)
    }

    /// Whether a bot may hold several resources of this kind (subscriptions) or at most one.
    pub fn many_per_bot(self) -> bool {
        matches!(self, ResourceKind::Subscriptions)
    }
}

pub const LICENSE_STATUSES: [&str; 3] = ["active", "expired", "revoked"];
pub const PROXY_STATUSES: [&str; 3] = ["active", "expired", "banned"];
pub const SUBSCRIPTION_STATUSES: [&str; 2] = ["active", "cancelled"];
pub const PROXY_TYPES: [&str; 3] = ["http", "https", "socks5"];
pub const SUBSCRIPTION_TYPES: [&str; 5] = ["wow", "bot", "proxy", "vpn", "other"];
pub const SUBSCRIPTION_PERIODS: [&str; 5] =
    ["weekly", "monthly", "quarterly", "yearly", "one_time"];

/// Where a resource stands against its expiry date and `BOTMOX_EXPIRY_WARNING_DAYS`:
/// `expired` once `expires_at` has passed, `expiring` when it falls within the warning days,
/// otherwise (or without a date) `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryStatus {
    Ok,
    Expiring,
    Expired,
}

impl ExpiryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryStatus::Ok => "ok",
            ExpiryStatus::Expiring => "expiring",
            ExpiryStatus::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            ExpiryStatus::Ok,
            ExpiryStatus::Expiring,
            ExpiryStatus::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

fn opt_choice(value: &Option<String>, choices: &[&str]) -> garde::Result {
    match value {
        Some(v) => one_of(v, choices),
        None => Ok(()),
    }
}

fn license_status(v: &Option<String>, _: &()) -> garde::Result {
    opt_choice(v, &LICENSE_STATUSES)
}
fn proxy_status(v: &Option<String>, _: &()) -> garde::Result {
    opt_choice(v, &PROXY_STATUSES)
}
fn subscription_status(v: &Option<String>, _: &()) -> garde::Result {
    opt_choice(v, &SUBSCRIPTION_STATUSES)
}
fn check_proxy_type(v: &Option<String>, _: &()) -> garde::Result {
    opt_choice(&v.as_ref().map(|s| s.to_ascii_lowercase()), &PROXY_TYPES)
}
fn check_subscription_type(v: &Option<String>, _: &()) -> garde::Result {
    opt_choice(v, &SUBSCRIPTION_TYPES)
}
fn subscription_period(v: &Option<Option<String>>, _: &()) -> garde::Result {
    opt_choice(&v.clone().flatten(), &SUBSCRIPTION_PERIODS)
}
fn opt_blank_ok_key(v: &Option<String>, _: &()) -> garde::Result {
    match v {
        Some(k) => crate::validation::not_blank(k, &()),
        None => Ok(()),
    }
}
fn check_price(v: &Option<Option<f64>>, _: &()) -> garde::Result {
    match v {
        Some(Some(p)) if !p.is_finite() || *p < 0.0 || *p > 1_000_000_000.0 => {
            Err(garde::Error::new("must be between 0 and 1000000000"))
        }
        Some(Some(p)) if ((p * 100.0).round() - p * 100.0).abs() > 1e-6 => {
            Err(garde::Error::new("must have at most 2 decimal places"))
        }
        _ => Ok(()),
    }
}
fn proxy_host(v: &Option<Option<String>>, _: &()) -> garde::Result {
    match v {
        Some(Some(h))
            if h.is_empty()
                || h.len() > 253
                || !h
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_')) =>
        {
            Err(garde::Error::new(
                "must be a host name or IP address (letters, digits, '.', '-', ':'; at most 253)",
            ))
        }
        _ => Ok(()),
    }
}

// ---- licenses ----

/// Body of `POST`/`PATCH`/`PUT /resources/licenses[/{id}]` (updates merge; `null` clears).
/// `key` is required on create. It is stored as given and never logged.
#[derive(Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct LicenseWrite {
    /// Create only (default: a generated UUID v7).
    #[garde(custom(opt_id))]
    #[serde(default)]
    pub id: Option<String>,
    #[garde(custom(opt_blank_ok_key), length(max = 512))]
    #[serde(default)]
    pub key: Option<String>,
    /// Free text, e.g. `SIN`, `Baneto`.
    #[garde(custom(opt_not_blank), length(max = 64))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub r#type: Option<Option<String>>,
    /// `active` (default), `expired` or `revoked`.
    #[garde(custom(license_status))]
    #[serde(default)]
    pub status: Option<String>,
    #[garde(skip)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Timestamp>)]
    pub expires_at: Option<Option<Timestamp>>,
    /// Replaces the set of bots this license serves (each bot of the tenant, without another
    /// license).
    #[garde(length(max = 500), custom(patch_ids))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub bot_ids: Option<Option<Vec<String>>>,
    #[garde(length(max = 2000))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

impl std::fmt::Debug for LicenseWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LicenseWrite")
            .field("id", &self.id)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl LicenseWrite {
    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.key.is_none()
            && self.r#type.is_none()
            && self.status.is_none()
            && self.expires_at.is_none()
            && self.bot_ids.is_none()
            && self.notes.is_none()
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LicenseRecord {
    pub id: String,
    pub key: String,
    pub r#type: Option<String>,
    pub status: String,
    pub expires_at: Option<String>,
    /// Whole days until expiry, rounded up (negative once expired); null without a date.
    pub days_left: Option<i64>,
    pub expiry_status: ExpiryStatus,
    pub bot_ids: Vec<String>,
    pub notes: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl std::fmt::Debug for LicenseRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LicenseRecord")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

// ---- proxies ----

/// What an IP-quality check reported (IPQualityScore's fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
pub struct IpqsResult {
    #[garde(range(min = 0, max = 100))]
    #[serde(default)]
    pub fraud_score: Option<u8>,
    #[garde(length(max = 8))]
    #[serde(default)]
    pub country_code: Option<String>,
    #[garde(length(max = 100))]
    #[serde(default)]
    pub region: Option<String>,
    #[garde(length(max = 100))]
    #[serde(default)]
    pub city: Option<String>,
    #[garde(length(max = 200))]
    #[serde(default)]
    pub isp: Option<String>,
    #[garde(length(max = 200))]
    #[serde(default)]
    pub organization: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    pub asn: Option<u32>,
    #[garde(skip)]
    #[serde(default)]
    pub vpn: Option<bool>,
    #[garde(skip)]
    #[serde(default)]
    pub proxy: Option<bool>,
    #[garde(skip)]
    #[serde(default)]
    pub tor: Option<bool>,
    #[garde(skip)]
    #[serde(default)]
    pub bot_status: Option<bool>,
    #[garde(skip)]
    #[serde(default)]
    pub recent_abuse: Option<bool>,
    #[garde(skip)]
    #[serde(default)]
    pub mobile: Option<bool>,
}

/// Body of `POST`/`PATCH`/`PUT /resources/proxies[/{id}]` (updates merge; `null` clears).
/// Create needs `port` and `host` or `ip` (`host` defaults to `ip`). `password` is a secret:
/// only admin/infra callers read it back; others get `"********"`, and sending that mask
/// keeps the stored password.
#[derive(Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct ProxyWrite {
    #[garde(custom(opt_id))]
    #[serde(default)]
    pub id: Option<String>,
    /// Where to connect: host name or IP.
    #[garde(custom(proxy_host))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub host: Option<Option<String>>,
    /// The proxy's IP address (the address checked for quality).
    #[garde(ip)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub ip: Option<Option<String>>,
    /// 1..=65535 (a numeric string is accepted).
    #[garde(range(min = 1, max = 65535))]
    #[serde(default, deserialize_with = "lenient_port")]
    #[schema(value_type = Option<u32>)]
    pub port: Option<u32>,
    /// `http`, `https` or `socks5` (default).
    #[garde(custom(check_proxy_type))]
    #[serde(default)]
    pub r#type: Option<String>,
    /// Also accepted as `login`.
    #[garde(length(max = 256))]
    #[serde(default, alias = "login", deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub username: Option<Option<String>>,
    #[garde(length(max = 256))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Option<String>>,
    #[garde(length(max = 100))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub provider: Option<Option<String>>,
    #[garde(length(max = 100))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    /// ISO 3166-1 alpha-2.
    #[garde(pattern(r"^[A-Za-z]{2}$"))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub country_code: Option<Option<String>>,
    /// `active` (default), `expired` or `banned`.
    #[garde(custom(proxy_status))]
    #[serde(default)]
    pub status: Option<String>,
    /// 0..=100; defaults to `ipqs.fraud_score` when an IPQS result is sent without it.
    #[garde(range(min = 0, max = 100))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u8>)]
    pub fraud_score: Option<Option<u8>>,
    #[garde(dive)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<IpqsResult>)]
    pub ipqs: Option<Option<IpqsResult>>,
    #[garde(skip)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Timestamp>)]
    pub last_checked: Option<Option<Timestamp>>,
    #[garde(skip)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Timestamp>)]
    pub expires_at: Option<Option<Timestamp>>,
    /// The bot using this proxy (a bot has at most one proxy); `null` unassigns.
    #[garde(custom(patch_id))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub bot_id: Option<Option<String>>,
    #[garde(length(max = 2000))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

impl std::fmt::Debug for ProxyWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyWrite")
            .field("id", &self.id)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl ProxyWrite {
    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.host.is_none()
            && self.ip.is_none()
            && self.port.is_none()
            && self.r#type.is_none()
            && self.username.is_none()
            && self.password.is_none()
            && self.provider.is_none()
            && self.country.is_none()
            && self.country_code.is_none()
            && self.status.is_none()
            && self.fraud_score.is_none()
            && self.ipqs.is_none()
            && self.last_checked.is_none()
            && self.expires_at.is_none()
            && self.bot_id.is_none()
            && self.notes.is_none()
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProxyRecord {
    pub id: String,
    pub host: String,
    pub ip: Option<String>,
    pub port: u32,
    pub r#type: String,
    pub username: Option<String>,
    /// The password for admin/infra callers, `"********"` for others, null when none is set.
    pub password: Option<String>,
    pub provider: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
    pub status: String,
    pub fraud_score: Option<u8>,
    pub ipqs: Option<IpqsResult>,
    pub last_checked: Option<String>,
    pub expires_at: Option<String>,
    pub days_left: Option<i64>,
    pub expiry_status: ExpiryStatus,
    pub bot_id: Option<String>,
    pub notes: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl std::fmt::Debug for ProxyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyRecord")
            .field("id", &self.id)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

// ---- subscriptions ----

/// Body of `POST`/`PATCH`/`PUT /resources/subscriptions[/{id}]` (updates merge; `null`
/// clears).
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct SubscriptionWrite {
    #[garde(custom(opt_id))]
    #[serde(default)]
    pub id: Option<String>,
    /// `wow` (default), `bot`, `proxy`, `vpn` or `other`.
    #[garde(custom(check_subscription_type))]
    #[serde(default)]
    pub r#type: Option<String>,
    /// The service's name, e.g. `WoW Game Time`.
    #[garde(custom(opt_not_blank), length(max = 200))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub service: Option<Option<String>>,
    /// 0..=1000000000 with at most 2 decimals.
    #[garde(custom(check_price))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub price: Option<Option<f64>>,
    /// ISO 4217 code (upper-cased), default `USD`.
    #[garde(pattern(r"^[A-Za-z]{3}$"))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub currency: Option<Option<String>>,
    /// `weekly|monthly|quarterly|yearly|one_time`.
    #[garde(custom(subscription_period))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub period: Option<Option<String>>,
    /// `active` (default) or `cancelled`.
    #[garde(custom(subscription_status))]
    #[serde(default)]
    pub status: Option<String>,
    #[garde(skip)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Timestamp>)]
    pub expires_at: Option<Option<Timestamp>>,
    /// Default false.
    #[garde(skip)]
    #[serde(default)]
    pub auto_renew: Option<bool>,
    #[garde(email, length(max = 320))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub account_email: Option<Option<String>>,
    #[garde(pattern(r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub project_id: Option<Option<String>>,
    /// The bot holding this subscription (a bot may hold several); `null` unassigns.
    #[garde(custom(patch_id))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub bot_id: Option<Option<String>>,
    #[garde(length(max = 2000))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

impl SubscriptionWrite {
    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.r#type.is_none()
            && self.service.is_none()
            && self.price.is_none()
            && self.currency.is_none()
            && self.period.is_none()
            && self.status.is_none()
            && self.expires_at.is_none()
            && self.auto_renew.is_none()
            && self.account_email.is_none()
            && self.project_id.is_none()
            && self.bot_id.is_none()
            && self.notes.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionRecord {
    pub id: String,
    pub r#type: String,
    pub service: Option<String>,
    pub price: Option<f64>,
    pub currency: Option<String>,
    pub period: Option<String>,
    pub status: String,
    pub expires_at: Option<String>,
    pub days_left: Option<i64>,
    pub expiry_status: ExpiryStatus,
    pub auto_renew: bool,
    pub account_email: Option<String>,
    pub project_id: Option<String>,
    pub bot_id: Option<String>,
    pub notes: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Any resource; which one follows from the path's kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ResourceRecord {
    License(LicenseRecord),
    Proxy(ProxyRecord),
    Subscription(SubscriptionRecord),
}

impl ResourceRecord {
    pub fn id(&self) -> &str {
        match self {
            ResourceRecord::License(r) => &r.id,
            ResourceRecord::Proxy(r) => &r.id,
            ResourceRecord::Subscription(r) => &r.id,
        }
    }
}

/// Any resource body; which one follows from the path's kind.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ResourceWrite {
    License(LicenseWrite),
    Proxy(ProxyWrite),
    Subscription(SubscriptionWrite),
}

// ---- assignment ----

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct AssignRequest {
    #[garde(custom(id))]
    pub bot_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct UnassignRequest {
    /// The bot to detach; absent = every bot.
    #[garde(custom(opt_id))]
    #[serde(default)]
    pub bot_id: Option<String>,
}

// ---- list and stats ----

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResourceListQuery {
    /// Opaque cursor from the previous page's `meta.next_cursor`.
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1..=500 (default 50).
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    /// A status of the kind (licenses `active|expired|revoked`, proxies
    /// `active|expired|banned`, subscriptions `active|cancelled`).
    #[garde(inner(length(min = 1, max = 32)))]
    #[serde(default)]
    pub status: Option<String>,
    /// The kind's `type`.
    #[serde(default)]
    #[garde(inner(length(min = 1, max = 64)))]
    pub r#type: Option<String>,
    /// `ok|expiring|expired`.
    #[garde(inner(pattern(r"^(ok|expiring|expired)$")))]
    #[serde(default)]
    pub expiry_status: Option<String>,
    /// Not yet expired and expiring within this many days.
    #[garde(inner(range(min = 0, max = 3650)))]
    #[serde(default)]
    pub expiring_within_days: Option<u32>,
    /// true: used by at least one bot; false: by none.
    #[garde(skip)]
    #[serde(default)]
    pub assigned: Option<bool>,
    /// Only resources assigned to this bot.
    #[garde(custom(opt_id))]
    #[serde(default)]
    pub bot_id: Option<String>,
    /// Case-insensitive text in the id, type, notes and: license key; proxy host, IP,
    /// provider, country, username; subscription service, account e-mail.
    #[garde(inner(length(max = 200)))]
    #[serde(default)]
    pub q: Option<String>,
}

/// Counts of one kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KindStats {
    pub total: u64,
    /// `ok`, `expiring`, `expired` (resources without a date count as `ok`).
    pub by_expiry: BTreeMap<String, u64>,
    /// Every status of the kind, zero included.
    pub by_status: BTreeMap<String, u64>,
    pub assigned: u64,
    pub unassigned: u64,
}

/// `GET /resources/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResourceStats {
    pub licenses: KindStats,
    pub proxies: KindStats,
    pub subscriptions: KindStats,
    /// `BOTMOX_EXPIRY_WARNING_DAYS`.
    pub warning_days: u32,
    pub generated_at: String,
}

/// Validation code of resource bodies (the body type depends on the path's kind).
pub const RESOURCES_INVALID_BODY: &str = "RESOURCES_INVALID_BODY";

impl crate::validation::Input for LicenseWrite {
    const INVALID_CODE: &'static str = RESOURCES_INVALID_BODY;
}
impl crate::validation::Input for ProxyWrite {
    const INVALID_CODE: &'static str = RESOURCES_INVALID_BODY;
}
impl crate::validation::Input for SubscriptionWrite {
    const INVALID_CODE: &'static str = RESOURCES_INVALID_BODY;
}
impl crate::validation::Input for AssignRequest {
    const INVALID_CODE: &'static str = RESOURCES_INVALID_BODY;
}
impl crate::validation::Input for UnassignRequest {
    const INVALID_CODE: &'static str = RESOURCES_INVALID_BODY;
}
impl crate::validation::Input for ResourceListQuery {
    const INVALID_CODE: &'static str = "RESOURCES_INVALID_LIST_QUERY";
}
