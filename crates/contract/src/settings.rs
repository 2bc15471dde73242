//! The settings tree: one JSON document per tenant, addressed by slash-separated paths
//! (`/settings/theme`, `/settings/projects/wow_tbc`, …). Paths with a known shape are checked
//! against the types below; any other path takes any JSON value. Unknown keys are kept
//! (`extra`), so newer clients can store more than this server knows about.
//!
//! Secret fields (`api_key`, `bot_token`, `password`, … anywhere in the tree) are stored
//! encrypted and read back masked: `"api_key": "****abcd"` with `"api_key_configured": true`.
//! Sending the mask back keeps the stored secret; `""` removes it.

use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Unknown keys, kept as sent.
pub type Extra = BTreeMap<String, Value>;

fn hh_mm(value: &Option<String>, _ctx: &()) -> garde::Result {
    if let Some(v) = value {
        let ok = v.len() == 5
            && v.as_bytes()[2] == b':'
            && v[..2].parse::<u8>().is_ok_and(|h| h < 24)
            && v[3..].parse::<u8>().is_ok_and(|m| m < 60)
            && v[..2].bytes().all(|b| b.is_ascii_digit())
            && v[3..].bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(garde::Error::new("must be a time HH:MM"));
        }
    }
    Ok(())
}

fn http_url_or_empty(value: &Option<String>, _ctx: &()) -> garde::Result {
    match value.as_deref() {
        None | Some("") => Ok(()),
        Some(v) if (v.starts_with("http://") || v.starts_with("https://")) && v.len() > 8 => Ok(()),
        Some(_) => Err(garde::Error::new("must be an http(s) URL")),
    }
}

fn positive(value: &Option<f64>, _ctx: &()) -> garde::Result {
    match value {
        Some(v) if !(v.is_finite() && *v > 0.0) => {
            Err(garde::Error::new("must be a positive number"))
        }
        _ => Ok(()),
    }
}

fn unit_interval(value: &Option<f64>, _ctx: &()) -> garde::Result {
    match value {
        Some(v) if !(0.0..=1.0).contains(v) => Err(garde::Error::new("must be between 0 and 1")),
        _ => Ok(()),
    }
}

// ---- api_keys ----

/// `settings/api_keys`: third-party credentials. Keys are write-only: reads return a mask.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct ApiKeysSettings {
    #[garde(dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipqs: Option<IpqsKeySettings>,
    #[garde(dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram: Option<TelegramSettings>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct IpqsKeySettings {
    /// IPQualityScore API key (masked on read).
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct TelegramSettings {
    /// Telegram bot token (masked on read).
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<String>,
    #[garde(inner(length(max = 64)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

// ---- proxy ----

/// `settings/proxy`: IPQS checks of proxies.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct ProxySettings {
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_check_on_add: Option<bool>,
    /// A proxy whose fraud score exceeds this is marked banned (0–100).
    #[garde(inner(range(min = 0, max = 100)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraud_score_threshold: Option<i64>,
    /// 0–168 hours; 0 = never.
    #[garde(inner(range(min = 0, max = 168)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_interval_hours: Option<i64>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

// ---- notifications/events ----

/// `settings/notifications/events`: which events notify (on/off).
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct NotificationEventsSettings {
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_banned: Option<bool>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_offline: Option<bool>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_online: Option<bool>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_up: Option<bool>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profession_maxed: Option<bool>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_fraud_score: Option<bool>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_report: Option<bool>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

// ---- alerts ----

/// `settings/alerts`: expiry warnings.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct AlertsSettings {
    /// Warn this many days before a license, proxy or subscription expires (1–365).
    #[garde(range(min = 1, max = 365))]
    pub warning_days: i64,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub updated_at: Option<Value>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

// ---- storage_policy ----

/// `settings/storage_policy` write: every field optional; the stored policy is complete.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct StoragePolicyUpdate {
    /// Only `local-only` is allowed: secrets never leave the agent.
    #[garde(inner(pattern("^local-only$")))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<String>,
    /// `local` or `cloud`.
    #[garde(inner(pattern("^(local|cloud)$")))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operational: Option<String>,
    #[garde(dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<StorageSync>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub updated_at: Option<Value>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct StorageSync {
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// The stored storage policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoragePolicy {
    pub secrets: String,
    pub operational: String,
    pub sync: StoragePolicySync,
    /// Epoch milliseconds of the last change.
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoragePolicySync {
    pub enabled: bool,
}

// ---- projects ----

/// `settings/projects/<id>`: a game project.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct ProjectSettings {
    #[garde(inner(length(max = 64)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[garde(inner(length(max = 200)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expansion: Option<String>,
    #[garde(range(min = 1, max = 200))]
    pub max_level: i64,
    #[garde(inner(length(max = 16)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[garde(inner(length(max = 8)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_symbol: Option<String>,
    #[garde(inner(length(max = 64)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_region: Option<String>,
    #[garde(inner(length(max = 100)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub professions: Option<Vec<Value>>,
    #[garde(skip)]
    #[serde(
        default,
        rename = "referenceData",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Object>)]
    pub reference_data: Option<Value>,
    #[garde(custom(positive))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold_price_usd: Option<f64>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

// ---- theme ----

/// `settings/theme`: palettes, saved presets, background, typography and shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct ThemeSettings {
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub palettes: Option<Value>,
    #[garde(length(max = 200), dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presets: Option<BTreeMap<String, ThemePreset>>,
    #[garde(inner(length(max = 128)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_preset_id: Option<String>,
    #[garde(dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visual: Option<ThemeVisual>,
    #[garde(dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typography: Option<ThemeTypography>,
    #[garde(dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<ThemeShape>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct ThemePreset {
    #[garde(inner(length(max = 128)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[garde(inner(length(max = 200)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub palettes: Option<Value>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// Background image layer; field names are the original camelCase ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThemeVisual {
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `none` or `image`.
    #[garde(inner(pattern("^(none|image)$")))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[garde(inner(length(max = 128)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_asset_id: Option<String>,
    #[garde(custom(http_url_or_empty))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_image_url: Option<String>,
    /// `center`, `top` or `custom`.
    #[garde(inner(pattern("^(center|top|custom)$")))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_position: Option<String>,
    /// `cover`, `contain` or `auto`.
    #[garde(inner(pattern("^(cover|contain|auto)$")))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_size: Option<String>,
    #[garde(custom(unit_interval))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay_opacity: Option<f64>,
    #[garde(inner(length(max = 64)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay_color_light: Option<String>,
    #[garde(inner(length(max = 64)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay_color_dark: Option<String>,
    #[garde(inner(range(min = 0.0, max = 24.0)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blur_px: Option<f64>,
    #[garde(custom(unit_interval))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dim_strength: Option<f64>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThemeTypography {
    #[garde(inner(length(max = 300)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_primary: Option<String>,
    #[garde(inner(length(max = 300)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_condensed: Option<String>,
    #[garde(inner(length(max = 300)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_mono: Option<String>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// Corner radii in px (0–24).
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThemeShape {
    #[garde(range(min = 0, max = 24))]
    pub radius_none: i64,
    #[garde(range(min = 0, max = 24))]
    pub radius_sm: i64,
    #[garde(range(min = 0, max = 24))]
    pub radius_md: i64,
    #[garde(range(min = 0, max = 24))]
    pub radius_lg: i64,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

// ---- finance/chart_config ----

/// One series of the finance overview chart (`settings/finance/chart_config` is an array of
/// at most 200 of these).
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartSeriesSettings {
    #[garde(length(min = 1, max = 64))]
    pub key: String,
    #[garde(length(max = 200))]
    pub name: String,
    #[garde(length(max = 64))]
    pub color: String,
    /// `line` or `bar`.
    #[garde(pattern("^(line|bar)$"))]
    #[serde(rename = "type")]
    pub kind: String,
    #[garde(length(max = 64))]
    pub y_axis_id: String,
    #[garde(skip)]
    pub visible: bool,
    #[garde(length(max = 32))]
    pub unit: String,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

// ---- ui/resource_tree ----

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTreeSettings {
    #[garde(inner(length(max = 2000), inner(length(max = 256))))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expanded_keys: Option<Vec<String>>,
    /// Bot statuses: offline, prepare, leveling, profession, farming, banned.
    #[garde(inner(
        length(max = 6),
        inner(pattern("^(offline|prepare|leveling|profession|farming|banned)$"))
    ))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_statuses: Option<Vec<String>>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_filters: Option<bool>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

// ---- schedule ----

/// `settings/schedule/last_params`: the last schedule generator parameters.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleParamsSettings {
    #[garde(custom(hh_mm))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[garde(custom(hh_mm))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_second_window: Option<bool>,
    #[garde(custom(hh_mm))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time2: Option<String>,
    #[garde(custom(hh_mm))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time2: Option<String>,
    #[garde(range(min = 30, max = 1380))]
    pub target_active_minutes: i64,
    #[garde(range(min = 15, max = 240))]
    pub min_session_minutes: i64,
    #[garde(range(min = 5, max = 120))]
    pub min_break_minutes: i64,
    #[garde(range(min = 0, max = 60))]
    pub random_offset_minutes: i64,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// `settings/schedule/templates/<id>`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct ScheduleTemplateSettings {
    #[garde(inner(length(max = 200)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

// ---- vmgenerator ----

/// `settings/vmgenerator`: VM generator defaults. Passwords are masked on read.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct VmGeneratorSettings {
    #[garde(dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxmox: Option<ProxmoxSettings>,
    #[garde(dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshSettings>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct ProxmoxSettings {
    #[garde(custom(http_url_or_empty))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[garde(inner(length(max = 200)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[garde(inner(length(max = 200)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SshSettings {
    #[garde(inner(length(max = 255)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[garde(inner(range(min = 1, max = 65535)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[garde(inner(length(max = 200)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[garde(inner(length(max = 1024)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_path: Option<String>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_key_auth: Option<bool>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// `settings/vmgenerator/profiles/<id>`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct VmProfileSettings {
    #[garde(inner(length(max = 200)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub hardware: Option<Value>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

// ---- generators/account ----

/// `settings/generators/account/lastSettings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountGeneratorSettings {
    #[garde(dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_options: Option<PasswordOptions>,
    #[garde(inner(length(max = 255)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_domain: Option<String>,
    #[garde(inner(length(max = 255)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_domain: Option<String>,
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_custom_domain: Option<bool>,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct PasswordOptions {
    #[garde(range(min = 6, max = 128))]
    pub length: i64,
    #[garde(skip)]
    pub uppercase: bool,
    #[garde(skip)]
    pub lowercase: bool,
    #[garde(skip)]
    pub numbers: bool,
    #[garde(skip)]
    pub symbols: bool,
    #[garde(skip)]
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// `{"success":true,"data":…}` where `data` is the settings value at the path (the whole tree
/// for the root), secrets masked, or null when nothing is stored there.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SettingsValueEnvelope {
    pub success: bool,
    /// Any JSON value: a path may hold an object, an array, a scalar or nothing (null).
    #[schema(value_type = Value)]
    pub data: Value,
}
