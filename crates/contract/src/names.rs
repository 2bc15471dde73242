//! WoW-style character names.

use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Races whose naming style the generator knows.
pub const RACES: [&str; 12] = [
    "human",
    "dwarf",
    "night_elf",
    "gnome",
    "draenei",
    "worgen",
    "orc",
    "undead",
    "tauren",
    "troll",
    "blood_elf",
    "goblin",
];

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WowNamesQuery {
    /// Names to return, 1–100 (default: `batches` × 10).
    #[garde(inner(range(min = 1, max = 100)))]
    #[serde(default)]
    pub count: Option<u32>,
    /// Batches of 10 names when `count` is absent, 1–20 (default 1).
    #[garde(inner(range(min = 1, max = 20)))]
    #[serde(default)]
    pub batches: Option<u32>,
    /// Naming style: one of `human`, `dwarf`, `night_elf`, `gnome`, `draenei`, `worgen`, `orc`,
    /// `undead`, `tauren`, `troll`, `blood_elf`, `goblin` (default: a random race per name).
    #[garde(inner(pattern(
        "^(human|dwarf|night_elf|gnome|draenei|worgen|orc|undead|tauren|troll|blood_elf|goblin)$"
    )))]
    #[serde(default)]
    pub race: Option<String>,
    /// `male`, `female` or `any` (default `any`).
    #[garde(inner(pattern("^(male|female|any)$")))]
    #[serde(default)]
    pub gender: Option<String>,
    /// Same seed and parameters, same names.
    #[garde(skip)]
    #[serde(default)]
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WowNames {
    /// Unique, capitalised, 2–12 letters.
    pub names: Vec<String>,
    /// One of `names`.
    pub random: String,
    pub batches: u32,
    /// Race style used, or `mixed`.
    pub race: String,
    pub gender: String,
    /// The seed that reproduces this answer.
    pub seed: u64,
    pub source: String,
}
