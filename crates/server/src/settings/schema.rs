//! Which shape each settings path must have. After a write, every node on the way from the
//! top-level key down to the written node, and every typed node inside it, is checked, so a
//! write through a deeper path (`theme/visual/blurPx`) cannot sneak past the theme's rules.

use botmox_contract::settings::{
    AccountGeneratorSettings, AlertsSettings, ApiKeysSettings, ChartSeriesSettings,
    NotificationEventsSettings, ProjectSettings, ProxySettings, ResourceTreeSettings,
    ScheduleParamsSettings, ScheduleTemplateSettings, StoragePolicyUpdate, ThemeSettings,
    VmGeneratorSettings, VmProfileSettings,
};
use botmox_contract::validation::field_errors;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;

type Fields = BTreeMap<String, Vec<String>>;

/// The shape of one path and the error code its violations carry.
#[derive(Clone, Copy)]
pub struct Rule {
    pub code: &'static str,
    check: fn(&Value) -> Result<(), Fields>,
}

impl Rule {
    pub fn check(&self, value: &Value) -> Result<(), Value> {
        (self.check)(value).map_err(|fields| json!({ "fields": fields }))
    }
}

const API_KEYS: &str = "SETTINGS_INVALID_API_KEYS_BODY";
const PROXY: &str = "SETTINGS_INVALID_PROXY_BODY";
const EVENTS: &str = "SETTINGS_INVALID_NOTIFICATION_EVENTS_BODY";
const ALERTS: &str = "SETTINGS_INVALID_ALERTS_BODY";
pub const STORAGE_POLICY: &str = "SETTINGS_INVALID_STORAGE_POLICY_BODY";
const PROJECTS: &str = "SETTINGS_INVALID_PROJECTS_BODY";
const THEME: &str = "SETTINGS_INVALID_THEME_BODY";
const CHART: &str = "SETTINGS_INVALID_FINANCE_CHART_CONFIG_BODY";
const RESOURCE_TREE: &str = "SETTINGS_INVALID_RESOURCE_TREE_BODY";
const SCHEDULE: &str = "SETTINGS_INVALID_SCHEDULE_BODY";
const VMGENERATOR: &str = "SETTINGS_INVALID_VMGENERATOR_BODY";
const ACCOUNT_GENERATOR: &str = "SETTINGS_INVALID_ACCOUNT_GENERATOR_BODY";
/// Root writes and secret fields outside any typed path.
pub const GENERIC: &str = "SETTINGS_INVALID_BODY";

/// The rule for a path, if it has a known shape (first match wins, as in the original).
pub fn rule_for(path: &[&str]) -> Option<Rule> {
    let rule = |code, check| Some(Rule { code, check });
    match path {
        ["alerts"] => rule(ALERTS, typed::<AlertsSettings>),
        ["api_keys"] => rule(API_KEYS, typed::<ApiKeysSettings>),
        ["proxy"] => rule(PROXY, typed::<ProxySettings>),
        ["notifications", "events"] => rule(EVENTS, typed::<NotificationEventsSettings>),
        ["storage_policy"] => rule(STORAGE_POLICY, typed::<StoragePolicyUpdate>),
        ["projects"] => rule(PROJECTS, record::<ProjectSettings>),
        ["projects", _, "gold_price_usd"] => rule(PROJECTS, positive_number),
        ["projects", _] => rule(PROJECTS, typed::<ProjectSettings>),
        ["theme"] => rule(THEME, typed::<ThemeSettings>),
        ["finance", "chart_config"] => rule(CHART, chart_config),
        ["ui", "resource_tree"] => rule(RESOURCE_TREE, typed::<ResourceTreeSettings>),
        ["schedule", "last_params"] => rule(SCHEDULE, typed::<ScheduleParamsSettings>),
        ["schedule", "templates"] => rule(SCHEDULE, record::<ScheduleTemplateSettings>),
        ["schedule", "templates", _] => rule(SCHEDULE, typed::<ScheduleTemplateSettings>),
        ["vmgenerator"] => rule(VMGENERATOR, typed::<VmGeneratorSettings>),
        ["vmgenerator", "profiles"] => rule(VMGENERATOR, record::<VmProfileSettings>),
        ["vmgenerator", "profiles", _] => rule(VMGENERATOR, typed::<VmProfileSettings>),
        ["generators", "account", "lastSettings"] => {
            rule(ACCOUNT_GENERATOR, typed::<AccountGeneratorSettings>)
        }
        ["generators", "account", "defaultTemplateId"] => rule(ACCOUNT_GENERATOR, string_or_null),
        ["generators", "account", "templates"] => rule(ACCOUNT_GENERATOR, object_record),
        ["generators", "account", "templates", _] => rule(ACCOUNT_GENERATOR, object),
        _ => None,
    }
}

/// The code for errors found at `path` outside its own rule (e.g. a malformed secret): the
/// nearest typed ancestor's, else the generic one.
pub fn code_for(path: &[&str]) -> &'static str {
    (1..=path.len())
        .rev()
        .find_map(|n| rule_for(&path[..n]))
        .map_or(GENERIC, |r| r.code)
}

fn one(field: impl Into<String>, message: impl Into<String>) -> Fields {
    BTreeMap::from([(field.into(), vec![message.into()])])
}

fn prefixed(prefix: &str, fields: Fields) -> Fields {
    fields
        .into_iter()
        .map(|(k, v)| {
            let key = if k == "_" {
                prefix.to_owned()
            } else {
                format!("{prefix}.{k}")
            };
            (key, v)
        })
        .collect()
}

/// Deserialises into `T` (so types are right) and runs its garde rules.
fn typed<T: DeserializeOwned + garde::Validate<Context = ()>>(value: &Value) -> Result<(), Fields> {
    let parsed: T = serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." || path.is_empty() {
            "_".to_owned()
        } else {
            path
        };
        one(field, err.inner().to_string())
    })?;
    parsed.validate().map_err(|report| {
        field_errors(&report)
            .into_iter()
            .map(|(path, messages)| (wire_path(&path, value), messages))
            .collect()
    })
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// garde names fields as Rust does (`visual.blur_px`); clients know the JSON names
/// (`visual.blurPx`). Each segment takes the spelling found in the submitted value.
fn wire_path(path: &str, value: &Value) -> String {
    let mut node = Some(value);
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, index) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        let chosen = match node {
            Some(Value::Object(map)) if !map.contains_key(name) => {
                let c = camel(name);
                if map.contains_key(&c) {
                    c
                } else {
                    name.to_owned()
                }
            }
            _ => name.to_owned(),
        };
        node = node.and_then(|n| n.get(&chosen));
        for idx in index
            .split(['[', ']'])
            .filter_map(|s| s.parse::<usize>().ok())
        {
            node = node.and_then(|n| n.get(idx));
        }
        out.push(format!("{chosen}{index}"));
    }
    out.join(".")
}

/// An object whose values are each a `T` or null (a null marks a deleted entry).
fn record<T: DeserializeOwned + garde::Validate<Context = ()>>(
    value: &Value,
) -> Result<(), Fields> {
    let Some(map) = value.as_object() else {
        return Err(one("_", "must be an object"));
    };
    for (id, entry) in map {
        if !entry.is_null() {
            typed::<T>(entry).map_err(|f| prefixed(id, f))?;
        }
    }
    Ok(())
}

fn object_record(value: &Value) -> Result<(), Fields> {
    let Some(map) = value.as_object() else {
        return Err(one("_", "must be an object"));
    };
    for (id, entry) in map {
        if !(entry.is_null() || entry.is_object()) {
            return Err(one(id.clone(), "must be an object or null"));
        }
    }
    Ok(())
}

fn chart_config(value: &Value) -> Result<(), Fields> {
    let Some(items) = value.as_array() else {
        return Err(one("_", "must be an array"));
    };
    if items.len() > 200 {
        return Err(one("_", "at most 200 series"));
    }
    for (i, item) in items.iter().enumerate() {
        typed::<ChartSeriesSettings>(item).map_err(|f| prefixed(&format!("[{i}]"), f))?;
    }
    Ok(())
}

fn positive_number(value: &Value) -> Result<(), Fields> {
    match value.as_f64() {
        Some(v) if v.is_finite() && v > 0.0 => Ok(()),
        _ => Err(one("_", "must be a positive number")),
    }
}

fn string_or_null(value: &Value) -> Result<(), Fields> {
    match value {
        Value::Null => Ok(()),
        Value::String(s) if s.len() <= 256 => Ok(()),
        _ => Err(one(
            "_",
            "must be a string (at most 256 characters) or null",
        )),
    }
}

fn object(value: &Value) -> Result<(), Fields> {
    if value.is_object() {
        Ok(())
    } else {
        Err(one("_", "must be an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_paths_report_the_failing_field() {
        let proxy = rule_for(&["proxy"]).expect("typed");
        assert!(proxy.check(&json!({"fraud_score_threshold": 50})).is_ok());
        let err = proxy
            .check(&json!({"fraud_score_threshold": 101}))
            .expect_err("range");
        assert!(err["fields"]["fraud_score_threshold"].is_array(), "{err}");
        let err = proxy
            .check(&json!({"auto_check_on_add": "yes"}))
            .expect_err("type");
        assert!(err["fields"]["auto_check_on_add"].is_array(), "{err}");
    }

    #[test]
    fn records_and_arrays_point_into_their_entries() {
        let projects = rule_for(&["projects"]).expect("typed");
        assert!(
            projects
                .check(&json!({"wow_tbc": {"max_level": 70}, "gone": null}))
                .is_ok()
        );
        let err = projects
            .check(&json!({"wow_tbc": {"max_level": 500}}))
            .expect_err("range");
        assert!(err["fields"]["wow_tbc.max_level"].is_array(), "{err}");
        let chart = rule_for(&["finance", "chart_config"]).expect("typed");
        let err = chart.check(&json!([{"key": "x"}])).expect_err("missing");
        assert!(
            err["fields"]
                .as_object()
                .is_some_and(|f| f.keys().any(|k| k.starts_with("[0]")))
        );
    }

    #[test]
    fn field_paths_use_the_json_spelling() {
        let theme = rule_for(&["theme"]).expect("typed");
        let err = theme
            .check(&json!({"visual": {"blurPx": 99}}))
            .expect_err("range");
        assert!(err["fields"]["visual.blurPx"].is_array(), "{err}");
    }

    #[test]
    fn untyped_paths_take_anything_and_codes_fall_back_to_ancestors() {
        assert!(rule_for(&["vmgenerator", "task_logs"]).is_none());
        assert_eq!(
            code_for(&["api_keys", "ipqs", "api_key"]),
            "SETTINGS_INVALID_API_KEYS_BODY"
        );
        assert_eq!(code_for(&["free", "form"]), GENERIC);
    }
}
