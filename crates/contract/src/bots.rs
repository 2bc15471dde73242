//! Bots: the record with its typed sub-objects (VM link, character, person, account), the
//! lifecycle (statuses, transitions, ban/unban, archive), the weekly schedule and the fleet
//! health summary.

use crate::fields::{Timestamp, nullable, one_of, opt_id, opt_not_blank, patch_id, patch_ids};
use garde::Validate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

// ---- statuses and stages ----

/// A bot's status. `banned` is entered only through `/lifecycle/ban`, `archived` only through
/// `/lifecycle/archive`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BotStatus {
    Offline,
    Prepare,
    Leveling,
    Profession,
    Farming,
    Banned,
    Archived,
}

impl BotStatus {
    pub const ALL: [BotStatus; 7] = [
        BotStatus::Offline,
        BotStatus::Prepare,
        BotStatus::Leveling,
        BotStatus::Profession,
        BotStatus::Farming,
        BotStatus::Banned,
        BotStatus::Archived,
    ];
    /// Statuses a bot can be put in directly (create, transition, PATCH).
    pub const LIVE: [&'static str; 5] = ["offline", "prepare", "leveling", "profession", "farming"];

    pub fn as_str(self) -> &'static str {
        match self {
            BotStatus::Offline => "offline",
            BotStatus::Prepare => "prepare",
            BotStatus::Leveling => "leveling",
            BotStatus::Profession => "profession",
            BotStatus::Farming => "farming",
            BotStatus::Banned => "banned",
            BotStatus::Archived => "archived",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// True for the statuses a bot can be moved to with a plain transition.
    pub fn is_live(self) -> bool {
        !matches!(self, BotStatus::Banned | BotStatus::Archived)
    }

    /// The lifecycle stage a status stands for; `offline` (paused) and `archived` have none.
    pub fn stage(self) -> Option<LifecycleStage> {
        match self {
            BotStatus::Prepare => Some(LifecycleStage::Prepare),
            BotStatus::Leveling => Some(LifecycleStage::Leveling),
            BotStatus::Profession => Some(LifecycleStage::Profession),
            BotStatus::Farming => Some(LifecycleStage::Farming),
            BotStatus::Banned => Some(LifecycleStage::Banned),
            BotStatus::Offline | BotStatus::Archived => None,
        }
    }
}

/// Where a bot is in its life: `prepare → leveling → profession → farming`, or `banned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    Prepare,
    Leveling,
    Profession,
    Farming,
    Banned,
}

impl LifecycleStage {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Prepare => "prepare",
            LifecycleStage::Leveling => "leveling",
            LifecycleStage::Profession => "profession",
            LifecycleStage::Farming => "farming",
            LifecycleStage::Banned => "banned",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            LifecycleStage::Prepare,
            LifecycleStage::Leveling,
            LifecycleStage::Profession,
            LifecycleStage::Farming,
            LifecycleStage::Banned,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

pub const BAN_MECHANISMS: [&str; 6] = [
    "battlenet_account_closure",
    "battlenet_account_suspension",
    "game_suspension",
    "hardware_ban",
    "ip_ban",
    "other",
];

pub const FACTIONS: [&str; 2] = ["alliance", "horde"];

fn live_status(value: &Option<String>, _: &()) -> garde::Result {
    match value {
        Some(v) => one_of(v, &BotStatus::LIVE),
        None => Ok(()),
    }
}

fn any_status(value: &str, _: &()) -> garde::Result {
    let all: Vec<&str> = BotStatus::ALL.iter().map(|s| s.as_str()).collect();
    one_of(value, &all)
}

fn opt_any_status(value: &Option<String>, _: &()) -> garde::Result {
    match value {
        Some(v) => any_status(v, &()),
        None => Ok(()),
    }
}

fn check_ban_mechanism(value: &str, _: &()) -> garde::Result {
    one_of(value, &BAN_MECHANISMS)
}

fn check_faction(value: &Option<String>, _: &()) -> garde::Result {
    match value {
        Some(v) => one_of(&v.to_ascii_lowercase(), &FACTIONS),
        None => Ok(()),
    }
}

/// `DD.MM.YYYY` (ban dates) or `DD-MM-YYYY` (birth dates) that names a real day.
pub fn parse_day_month_year(raw: &str, sep: char) -> Option<chrono::NaiveDate> {
    let mut parts = raw.split(sep);
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || d.len() != 2 || m.len() != 2 || y.len() != 4 {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

fn check_ban_date(value: &Option<String>, _: &()) -> garde::Result {
    match value {
        Some(v) if parse_day_month_year(v, '.').is_none() => {
            Err(garde::Error::new("must be a real date written DD.MM.YYYY"))
        }
        _ => Ok(()),
    }
}

fn check_birth_date(value: &Option<String>, _: &()) -> garde::Result {
    match value {
        Some(v) if parse_day_month_year(v, '-').is_none() => {
            Err(garde::Error::new("must be a real date written DD-MM-YYYY"))
        }
        _ => Ok(()),
    }
}

// ---- sub-objects ----

/// The VM a bot runs in, by the VM's SMBIOS UUID and/or its Proxmox name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
pub struct BotVm {
    #[garde(inner(pattern(
        r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    )))]
    #[serde(default)]
    pub uuid: Option<String>,
    #[garde(inner(custom(crate::validation::not_blank), length(max = 64)))]
    #[serde(default)]
    pub name: Option<String>,
    #[garde(ip)]
    #[serde(default)]
    pub ip: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    pub created_at: Option<Timestamp>,
}

/// The game character the bot plays.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
pub struct BotCharacter {
    #[garde(inner(custom(crate::validation::not_blank)), length(max = 64))]
    #[serde(default)]
    pub name: Option<String>,
    #[garde(range(min = 1, max = 100))]
    #[serde(default)]
    pub level: Option<u16>,
    #[garde(length(max = 100))]
    #[serde(default)]
    pub server: Option<String>,
    /// `alliance` or `horde` (case-insensitive on input).
    #[garde(custom(check_faction))]
    #[serde(default)]
    pub faction: Option<String>,
    #[garde(length(max = 64))]
    #[serde(default)]
    pub race: Option<String>,
    #[garde(length(max = 64))]
    #[serde(default)]
    pub class: Option<String>,
}

/// The person the game account is registered to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
pub struct BotPerson {
    #[garde(length(max = 100))]
    #[serde(default)]
    pub first_name: Option<String>,
    #[garde(length(max = 100))]
    #[serde(default)]
    pub last_name: Option<String>,
    /// `DD-MM-YYYY`.
    #[garde(custom(check_birth_date))]
    #[serde(default)]
    pub birth_date: Option<String>,
    #[garde(length(max = 100))]
    #[serde(default)]
    pub country: Option<String>,
    #[garde(length(max = 100))]
    #[serde(default)]
    pub city: Option<String>,
    #[garde(length(max = 300))]
    #[serde(default)]
    pub address: Option<String>,
    #[garde(length(max = 20))]
    #[serde(default)]
    pub zip: Option<String>,
}

/// The game (Battle.net) account. `password` is a secret: only admin/infra callers read it;
/// others get `"********"`, and sending that mask back keeps the stored password.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
pub struct BotAccount {
    #[garde(inner(email), length(max = 320))]
    #[serde(default)]
    pub email: Option<String>,
    #[garde(length(max = 256))]
    #[serde(default)]
    #[schema(format = Password)]
    pub password: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    pub bnet_created_at: Option<Timestamp>,
}

impl std::fmt::Debug for BotAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotAccount")
            .field("email", &self.email)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("bnet_created_at", &self.bnet_created_at)
            .finish()
    }
}

/// Which generated values are locked against regeneration (stored nested; the original
/// UI's flat `generation_locks/<name>` keys are not accepted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct GenerationLocks {
    pub person_data: bool,
    pub account_email: bool,
    pub account_password: bool,
    pub character_name: bool,
    pub schedule: bool,
}

// ---- schedule ----

/// Most sessions one day may hold.
pub const MAX_SESSIONS_PER_DAY: usize = 24;
/// Most allowed windows a schedule may declare.
pub const MAX_ALLOWED_WINDOWS: usize = 4;
/// Shortest session, in minutes.
pub const MIN_SESSION_MINUTES: u32 = 15;

/// A bot's weekly schedule. Days are `"0"` (Sunday) to `"6"`. Times are `HH:MM` in the
/// schedule's timezone; a session whose end is before its start runs past midnight into the
/// next day (Saturday's into Sunday's), and that part must not overlap the next day's
/// sessions. Sessions of one day never overlap; each lasts at least 15 minutes; a day holds
/// at most 24 sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BotSchedule {
    pub version: u32,
    pub timezone: String,
    /// Always all seven days, `"0"`..`"6"`.
    pub days: BTreeMap<String, ScheduleDay>,
    pub allowed_windows: Vec<TimeWindow>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleDay {
    pub enabled: bool,
    pub sessions: Vec<ScheduleSession>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleSession {
    pub id: String,
    pub start: String,
    pub end: String,
    pub enabled: bool,
    pub profile: Option<String>,
    /// `active` or `break`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `start`..`end`, `HH:MM`; `end` before `start` runs past midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TimeWindow {
    pub start: String,
    pub end: String,
}

/// A schedule as sent by clients; checked and normalised by the server (all rules are
/// reported together under `details.fields`, e.g. `days.1.sessions.0.start`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct ScheduleInput {
    #[garde(skip)]
    #[serde(default)]
    pub version: Option<u32>,
    /// IANA-style zone name; default `UTC`.
    #[garde(skip)]
    #[serde(default)]
    pub timezone: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    pub days: BTreeMap<String, ScheduleDayInput>,
    #[garde(skip)]
    #[serde(default, alias = "allowedWindows")]
    pub allowed_windows: Vec<TimeWindow>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ScheduleDayInput {
    /// Default: true when the day has sessions.
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub sessions: Vec<ScheduleSessionInput>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ScheduleSessionInput {
    /// Generated when absent; unique within the day.
    #[serde(default)]
    pub id: Option<String>,
    pub start: String,
    pub end: String,
    /// Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub profile: Option<String>,
    /// `active` (default) or `break`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

// ---- the bot ----

/// Body of `POST /bots` and of `PATCH`/`PUT /bots/{id}` (both merge: absent fields stay,
/// `null` clears). Sub-objects (`vm`, `character`, `person`, `account`, `schedule`,
/// `generation_locks`, `metadata`) are replaced as a whole. Unknown fields are ignored.
#[derive(Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct BotWrite {
    /// Create only: the bot's id (default: a generated UUID v7). Ignored on update.
    #[garde(custom(opt_id))]
    #[serde(default)]
    pub id: Option<String>,
    #[garde(custom(opt_not_blank), length(max = 200))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// Project slug, e.g. `wow_tbc`, `wow_midnight`.
    #[garde(pattern(r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub project_id: Option<Option<String>>,
    /// `offline|prepare|leveling|profession|farming` (default `offline` on create). On update a
    /// different status is a lifecycle transition with the same rules as
    /// `/lifecycle/transition`.
    #[garde(custom(live_status))]
    #[serde(default)]
    pub status: Option<String>,
    #[garde(skip)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Timestamp>)]
    pub last_seen: Option<Option<Timestamp>>,
    #[garde(dive)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<BotVm>)]
    pub vm: Option<Option<BotVm>>,
    #[garde(dive)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<BotCharacter>)]
    pub character: Option<Option<BotCharacter>>,
    #[garde(dive)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<BotPerson>)]
    pub person: Option<Option<BotPerson>>,
    #[garde(dive)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<BotAccount>)]
    pub account: Option<Option<BotAccount>>,
    #[garde(skip)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<GenerationLocks>)]
    pub generation_locks: Option<Option<GenerationLocks>>,
    /// Checked like `PUT /bots/{id}/schedule`; errors are reported under `schedule.…`.
    #[garde(skip)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<ScheduleInput>)]
    pub schedule: Option<Option<ScheduleInput>>,
    /// A license of the tenant (a bot has at most one; a license may serve several bots).
    #[garde(custom(patch_id))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub license_id: Option<Option<String>>,
    /// A proxy of the tenant not used by another bot.
    #[garde(custom(patch_id))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub proxy_id: Option<Option<String>>,
    /// Subscriptions of the tenant not held by another bot; replaces the bot's set.
    #[garde(length(max = 50), custom(patch_ids))]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub subscription_ids: Option<Option<Vec<String>>>,
    /// Free-form data (telemetry, farm figures…); at most 64 KiB as JSON.
    #[garde(skip)]
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Option<serde_json::Map<String, serde_json::Value>>>,
}

impl std::fmt::Debug for BotWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Field by field would risk printing the account password; ids are enough.
        f.debug_struct("BotWrite")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl BotWrite {
    /// True when no known field was sent.
    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.name.is_none()
            && self.project_id.is_none()
            && self.status.is_none()
            && self.last_seen.is_none()
            && self.vm.is_none()
            && self.character.is_none()
            && self.person.is_none()
            && self.account.is_none()
            && self.generation_locks.is_none()
            && self.schedule.is_none()
            && self.license_id.is_none()
            && self.proxy_id.is_none()
            && self.subscription_ids.is_none()
            && self.metadata.is_none()
    }
}

/// How a ban happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BanDetails {
    /// `DD.MM.YYYY`.
    pub ban_date: String,
    pub ban_reason: String,
    /// `battlenet_account_closure|battlenet_account_suspension|game_suspension|hardware_ban|ip_ban|other`.
    pub ban_mechanism: String,
    pub ban_timestamp: String,
    /// Set by unban; the details are kept as history.
    pub unbanned_at: Option<String>,
}

/// A bot's lifecycle state as carried on the bot record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BotLifecycleState {
    pub current_stage: LifecycleStage,
    /// The status before the latest lifecycle change.
    pub previous_status: Option<BotStatus>,
    /// The status unban restores (set while banned).
    pub pre_ban_status: Option<BotStatus>,
    pub ban_details: Option<BanDetails>,
    pub archived_at: Option<String>,
    pub archive_reason: Option<String>,
}

/// A bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BotRecord {
    pub id: String,
    pub name: Option<String>,
    pub project_id: Option<String>,
    pub status: BotStatus,
    pub last_seen: Option<String>,
    pub lifecycle: BotLifecycleState,
    pub vm: Option<BotVm>,
    pub character: Option<BotCharacter>,
    pub person: Option<BotPerson>,
    pub account: Option<BotAccount>,
    pub generation_locks: GenerationLocks,
    pub schedule: Option<BotSchedule>,
    pub license_id: Option<String>,
    pub proxy_id: Option<String>,
    pub subscription_ids: Vec<String>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
}

// ---- lifecycle requests and views ----

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct TransitionRequest {
    /// Target status. `banned` and `archived` are refused here
    /// (`BOTS_TRANSITION_VALIDATION_FAILED`): use `/lifecycle/ban` and `/lifecycle/archive`.
    #[garde(custom(any_status))]
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct BanRequest {
    /// `DD.MM.YYYY`; default: today (UTC).
    #[garde(custom(check_ban_date))]
    #[serde(default)]
    pub ban_date: Option<String>,
    #[garde(custom(crate::validation::not_blank), length(min = 1, max = 1000))]
    pub ban_reason: String,
    #[garde(custom(check_ban_mechanism))]
    pub ban_mechanism: String,
    /// Default: midnight UTC of `ban_date`, or now when no date is given.
    #[garde(skip)]
    #[serde(default)]
    pub ban_timestamp: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct ArchiveRequest {
    #[garde(length(max = 1000))]
    #[serde(default)]
    pub reason: Option<String>,
}

/// One change from one stage to another (`from` is `create` for the first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StageTransition {
    pub from: String,
    pub to: LifecycleStage,
    pub timestamp: String,
}

/// An entry of a bot's lifecycle log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LifecycleEvent {
    pub id: String,
    /// `created|status_change|ban|unban|archive|unarchive`.
    #[serde(rename = "type")]
    pub kind: String,
    pub from_status: Option<BotStatus>,
    pub to_status: Option<BotStatus>,
    pub message: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// Who made the change (user id, `apitoken:<id>`).
    pub actor: Option<String>,
    pub timestamp: String,
}

/// `GET /bots/{id}/lifecycle`: the state, the stage transitions and the full log (oldest
/// first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BotLifecycle {
    pub status: BotStatus,
    pub current_stage: LifecycleStage,
    pub previous_status: Option<BotStatus>,
    pub pre_ban_status: Option<BotStatus>,
    pub ban_details: Option<BanDetails>,
    pub archived_at: Option<String>,
    pub archive_reason: Option<String>,
    pub stage_transitions: Vec<StageTransition>,
    pub history: Vec<LifecycleEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BannedState {
    pub banned: bool,
}

// ---- list and summary ----

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BotListQuery {
    /// Opaque cursor from the previous page's `meta.next_cursor`.
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1..=500 (default 50).
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    #[garde(inner(length(min = 1, max = 64)))]
    #[serde(default)]
    pub project_id: Option<String>,
    /// One status; `archived` lists archived bots (hidden otherwise).
    #[garde(custom(opt_any_status))]
    #[serde(default)]
    pub status: Option<String>,
    /// Case-insensitive text in the id, name, character name or server, account e-mail or
    /// VM name.
    #[garde(inner(length(max = 200)))]
    #[serde(default)]
    pub q: Option<String>,
    /// Also list archived bots (default false).
    #[garde(skip)]
    #[serde(default)]
    pub include_archived: Option<bool>,
}

/// Bots per resource kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResourceKindCounts {
    pub license: u64,
    pub proxy: u64,
    pub subscription: u64,
    /// Bots counted under at least one kind.
    pub any: u64,
}

/// `GET /bots/summary`. `expiring_soon`, `expired` and `missing` count bots of the active
/// fleet (neither banned nor archived): a linked resource expiring within `warning_days`
/// (not yet expired), already expired, or no resource of that kind linked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BotsSummary {
    /// Every bot, archived included.
    pub total: u64,
    /// Every status, zero included.
    pub by_status: BTreeMap<String, u64>,
    pub banned: u64,
    pub archived: u64,
    /// Bots neither banned nor archived.
    pub active_fleet: u64,
    pub expiring_soon: ResourceKindCounts,
    pub expired: ResourceKindCounts,
    pub missing: ResourceKindCounts,
    /// `BOTMOX_EXPIRY_WARNING_DAYS`.
    pub warning_days: u32,
    pub generated_at: String,
}

impl crate::validation::Input for BotWrite {
    const INVALID_CODE: &'static str = "BOTS_INVALID_MUTATION_BODY";
}
impl crate::validation::Input for TransitionRequest {
    const INVALID_CODE: &'static str = "BOTS_INVALID_TRANSITION_BODY";
}
impl crate::validation::Input for BanRequest {
    const INVALID_CODE: &'static str = "BOTS_INVALID_BAN_BODY";
}
impl crate::validation::Input for ArchiveRequest {
    const INVALID_CODE: &'static str = "BOTS_INVALID_ARCHIVE_BODY";
}
impl crate::validation::Input for ScheduleInput {
    const INVALID_CODE: &'static str = "BOTS_INVALID_SCHEDULE_BODY";
}
impl crate::validation::Input for BotListQuery {
    const INVALID_CODE: &'static str = "BOTS_INVALID_LIST_QUERY";
}
