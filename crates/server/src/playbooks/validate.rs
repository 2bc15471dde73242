//! The playbook checker. A playbook is YAML: one play, or a list of plays, each
//!
//! ```yaml
//! name: Bot-Mox Standard Provisioning   # required
//! description: optional text
//! hosts: all                            # or `targets`; a name or a list of names
//! vars: { key: value }                  # optional mapping
//! roles:                                # roles and/or steps, at least one of them
//!   - base-system
//!   - role: nvidia-driver
//!     when: gpu == "nvidia"
//! steps:
//!   - type: powershell                  # see STEP_TYPES for each type's fields
//!     script: Set-ExecutionPolicy Bypass
//! ```
//!
//! Errors make a playbook invalid; warnings (unknown roles, unknown fields) do not.

use botmox_contract::playbooks::{PlaybookIssue, PlaybookValidation};
use serde_norway::Value;

/// Roles the provisioning bootstrap ships (the UI's standard template uses all of them).
pub const KNOWN_ROLES: [&str; 9] = [
    "base-system",
    "privacy-debloat",
    "network-config",
    "common-apps",
    "personalization",
    "nvidia-driver",
    "syncthing",
    "proxifier",
    "post-reboot",
];

/// Step types and the fields each requires (`a|b` = one of them).
pub const STEP_TYPES: [(&str, &[&str]); 11] = [
    ("powershell", &["script|file"]),
    ("cmd", &["command"]),
    ("shell", &["command"]),
    ("download", &["url", "dest"]),
    ("install", &["package|url"]),
    ("copy", &["dest", "content|src"]),
    ("registry", &["path", "name", "value"]),
    ("service", &["name", "state"]),
    ("reboot", &[]),
    ("wait", &["seconds"]),
    ("role", &["role"]),
];

const PLAY_KEYS: [&str; 8] = [
    "name",
    "description",
    "hosts",
    "targets",
    "vars",
    "roles",
    "steps",
    "tags",
];
const STEP_COMMON_KEYS: [&str; 6] = [
    "type",
    "name",
    "when",
    "timeout_seconds",
    "continue_on_error",
    "tags",
];
const STEP_OPTIONAL_KEYS: [&str; 5] = ["args", "kind", "checksum", "reboot", "vars"];
const MAX_PLAYS: usize = 50;
const MAX_STEPS: usize = 500;

#[derive(Default)]
struct Report {
    errors: Vec<PlaybookIssue>,
    warnings: Vec<PlaybookIssue>,
}

impl Report {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        self.errors.push(PlaybookIssue {
            path: (!path.is_empty()).then_some(path),
            message: message.into(),
        });
    }
    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        self.warnings.push(PlaybookIssue {
            path: (!path.is_empty()).then_some(path),
            message: message.into(),
        });
    }
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

pub fn validate(content: &str) -> PlaybookValidation {
    let mut report = Report::default();
    check_document(content.trim(), &mut report);
    PlaybookValidation {
        valid: report.errors.is_empty(),
        errors: report.errors,
        warnings: report.warnings,
    }
}

fn check_document(content: &str, report: &mut Report) {
    if content.is_empty() {
        report.error("", "Content is required");
        return;
    }
    let doc: Value = match serde_norway::from_str(content) {
        Ok(doc) => doc,
        Err(err) => {
            let at = err
                .location()
                .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                .unwrap_or_default();
            report.error("", format!("YAML syntax error{at}: {err}"));
            return;
        }
    };
    match doc {
        Value::Mapping(_) => check_play(&doc, "", report),
        Value::Sequence(plays) if plays.is_empty() => {
            report.error("", "Playbook must contain at least one play")
        }
        Value::Sequence(plays) if plays.len() > MAX_PLAYS => {
            report.error("", format!("Playbook has more than {MAX_PLAYS} plays"))
        }
        Value::Sequence(plays) => {
            for (i, play) in plays.iter().enumerate() {
                if play.is_mapping() {
                    check_play(play, &index("", i), report);
                } else {
                    report.error(index("", i), "A play must be a mapping");
                }
            }
        }
        _ => report.error(
            "",
            "Playbook content must be a YAML mapping (or a list of plays)",
        ),
    }
}

fn non_empty_str(value: &Value) -> Option<&str> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn check_play(play: &Value, at: &str, report: &mut Report) {
    let Some(map) = play.as_mapping() else {
        return;
    };
    for key in map.keys() {
        match key.as_str() {
            Some(k) if PLAY_KEYS.contains(&k) => {}
            Some(k) => report.warn(join(at, k), format!("Unknown field \"{k}\" is ignored")),
            None => report.error(at, "Field names must be strings"),
        }
    }
    match play.get("name") {
        None => report.error(join(at, "name"), "Missing \"name\" field"),
        Some(v) => match non_empty_str(v) {
            Some(name) if name.chars().count() > 200 => {
                report.error(join(at, "name"), "Name is longer than 200 characters")
            }
            Some(_) => {}
            None => report.error(join(at, "name"), "\"name\" must be a non-empty string"),
        },
    }
    if let Some(d) = play.get("description")
        && !d.is_string()
    {
        report.error(join(at, "description"), "\"description\" must be a string");
    }
    if play.get("hosts").is_some() && play.get("targets").is_some() {
        report.warn(
            join(at, "targets"),
            "Both \"hosts\" and \"targets\" given; \"targets\" wins",
        );
    }
    for key in ["hosts", "targets"] {
        if let Some(v) = play.get(key) {
            check_hosts(v, &join(at, key), report);
        }
    }
    if let Some(v) = play.get("vars")
        && !v.is_mapping()
    {
        report.error(join(at, "vars"), "\"vars\" must be a mapping");
    }
    let roles = play.get("roles");
    let steps = play.get("steps");
    let has = |v: Option<&Value>| {
        v.and_then(Value::as_sequence)
            .is_some_and(|s| !s.is_empty())
    };
    if roles.is_none() && steps.is_none() {
        report.error(join(at, "roles"), "Missing \"roles\" field");
        return;
    }
    if let Some(roles) = roles {
        check_roles(roles, &join(at, "roles"), report);
    }
    if let Some(steps) = steps {
        check_steps(steps, &join(at, "steps"), report);
    }
    if !has(roles) && !has(steps) {
        report.error(join(at, "roles"), "A play needs at least one role or step");
    }
}

fn check_hosts(value: &Value, at: &str, report: &mut Report) {
    match value {
        Value::String(s) if !s.trim().is_empty() => {}
        Value::Sequence(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                if non_empty_str(item).is_none() {
                    report.error(index(at, i), "A host must be a non-empty string");
                }
            }
        }
        _ => report.error(at, "Must be a host name or a non-empty list of host names"),
    }
}

fn role_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn check_role_name(name: &str, at: &str, report: &mut Report) {
    if !role_name_ok(name) {
        report.error(
            at,
            "Role names are lower-case letters, digits, '-' and '_' (at most 64)",
        );
    } else if !KNOWN_ROLES.contains(&name) {
        report.warn(at, format!("Unknown role \"{name}\""));
    }
}

fn check_roles(roles: &Value, at: &str, report: &mut Report) {
    let Some(items) = roles.as_sequence() else {
        report.error(at, "\"roles\" must be a list");
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let here = index(at, i);
        match item {
            Value::String(name) => check_role_name(name.trim(), &here, report),
            Value::Mapping(_) => {
                match item.get("role").and_then(non_empty_str) {
                    Some(name) => check_role_name(name, &join(&here, "role"), report),
                    None => report.error(join(&here, "role"), "Missing \"role\" field"),
                }
                if let Some(v) = item.get("vars")
                    && !v.is_mapping()
                {
                    report.error(join(&here, "vars"), "\"vars\" must be a mapping");
                }
                if let Some(w) = item.get("when")
                    && !w.is_string()
                {
                    report.error(join(&here, "when"), "\"when\" must be a string");
                }
            }
            _ => report.error(here, "A role is a name or a mapping with \"role\""),
        }
    }
}

fn check_steps(steps: &Value, at: &str, report: &mut Report) {
    let Some(items) = steps.as_sequence() else {
        report.error(at, "\"steps\" must be a list");
        return;
    };
    if items.len() > MAX_STEPS {
        report.error(at, format!("At most {MAX_STEPS} steps"));
        return;
    }
    for (i, step) in items.iter().enumerate() {
        check_step(step, &index(at, i), report);
    }
}

fn check_step(step: &Value, at: &str, report: &mut Report) {
    let Some(map) = step.as_mapping() else {
        report.error(at, "A step must be a mapping");
        return;
    };
    let Some(kind) = step.get("type").and_then(non_empty_str) else {
        report.error(join(at, "type"), "Missing \"type\" field");
        return;
    };
    let Some((_, required)) = STEP_TYPES.iter().find(|(t, _)| *t == kind) else {
        let known: Vec<&str> = STEP_TYPES.iter().map(|(t, _)| *t).collect();
        report.error(
            join(at, "type"),
            format!("Unknown step type \"{kind}\" (known: {})", known.join(", ")),
        );
        return;
    };
    for field in required.iter() {
        let options: Vec<&str> = field.split('|').collect();
        if !options
            .iter()
            .any(|o| step.get(*o).is_some_and(|v| !v.is_null()))
        {
            let wanted = options
                .iter()
                .map(|o| format!("\"{o}\""))
                .collect::<Vec<_>>()
                .join(" or ");
            report.error(
                join(at, options[0]),
                format!("A {kind} step needs {wanted}"),
            );
        }
    }
    for key in map.keys().filter_map(Value::as_str) {
        let known = STEP_COMMON_KEYS.contains(&key)
            || STEP_OPTIONAL_KEYS.contains(&key)
            || required.iter().any(|f| f.split('|').any(|o| o == key));
        if !known {
            report.warn(join(at, key), format!("Unknown field \"{key}\" is ignored"));
        }
    }
    check_step_values(kind, step, at, report);
}

fn check_step_values(kind: &str, step: &Value, at: &str, report: &mut Report) {
    let seconds = |key: &str, report: &mut Report| {
        if let Some(v) = step.get(key) {
            match v.as_u64() {
                Some(n) if (1..=86_400).contains(&n) => {}
                _ => report.error(join(at, key), format!("\"{key}\" must be 1–86400 seconds")),
            }
        }
    };
    seconds("timeout_seconds", report);
    if kind == "wait" {
        seconds("seconds", report);
    }
    if let Some(v) = step.get("continue_on_error")
        && !v.is_bool()
    {
        report.error(join(at, "continue_on_error"), "Must be true or false");
    }
    if let Some(w) = step.get("when")
        && !w.is_string()
    {
        report.error(join(at, "when"), "\"when\" must be a string");
    }
    for key in [
        "script", "file", "command", "dest", "src", "package", "path", "name",
    ] {
        if let Some(v) = step.get(key)
            && non_empty_str(v).is_none()
        {
            report.error(
                join(at, key),
                format!("\"{key}\" must be a non-empty string"),
            );
        }
    }
    if let Some(url) = step.get("url") {
        let ok = url
            .as_str()
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"));
        if !ok {
            report.error(join(at, "url"), "\"url\" must be an http(s) URL");
        }
    }
    if kind == "service"
        && let Some(state) = step.get("state")
        && !matches!(
            state.as_str(),
            Some("running" | "stopped" | "disabled" | "restarted")
        )
    {
        report.error(
            join(at, "state"),
            "\"state\" must be running, stopped, disabled or restarted",
        );
    }
    if kind == "registry" {
        if let Some(k) = step.get("kind")
            && !matches!(
                k.as_str(),
                Some("string" | "expand_string" | "multi_string" | "dword" | "qword" | "binary")
            )
        {
            report.error(join(at, "kind"), "Unknown registry value kind");
        }
        if let Some(v) = step.get("value")
            && (v.is_mapping() || v.is_null())
        {
            report.error(join(at, "value"), "\"value\" must be a scalar or a list");
        }
    }
    if kind == "role"
        && let Some(name) = step.get("role").and_then(non_empty_str)
    {
        check_role_name(name, &join(at, "role"), report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: &str = "name: Bot-Mox Standard Provisioning\nhosts: all\nroles:\n  - base-system\n  - privacy-debloat\n  - role: nvidia-driver\n    when: gpu == \"nvidia\"\nsteps:\n  - type: wait\n    seconds: 30\n  - type: powershell\n    script: Write-Host hi\n";

    fn paths(issues: &[PlaybookIssue]) -> Vec<String> {
        issues.iter().filter_map(|i| i.path.clone()).collect()
    }

    #[test]
    fn the_standard_template_is_valid() {
        let v = validate(STANDARD);
        assert!(v.valid, "{:?}", v.errors);
        assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    }

    #[test]
    fn a_list_of_plays_is_checked_play_by_play() {
        let v = validate("- name: one\n  roles: [base-system]\n- roles: [syncthing]\n");
        assert!(!v.valid);
        assert_eq!(paths(&v.errors), vec!["[1].name"]);
    }

    #[test]
    fn structure_errors_point_at_their_field() {
        let v = validate(
            "name: x\nroles: [Bad Role, custom-role]\nsteps:\n  - type: teleport\n  - type: download\n    url: ftp://x\n  - name: no type\n",
        );
        assert!(!v.valid);
        let errs = paths(&v.errors);
        assert!(errs.contains(&"roles[0]".to_owned()), "{errs:?}");
        assert!(errs.contains(&"steps[0].type".to_owned()), "{errs:?}");
        assert!(errs.contains(&"steps[1].url".to_owned()), "{errs:?}");
        assert!(errs.contains(&"steps[1].dest".to_owned()), "{errs:?}");
        assert!(errs.contains(&"steps[2].type".to_owned()), "{errs:?}");
        assert_eq!(paths(&v.warnings), vec!["roles[1]"]);
    }

    #[test]
    fn missing_name_and_roles_and_bad_yaml_are_errors() {
        let v = validate("hosts: all\n");
        assert_eq!(paths(&v.errors), vec!["name", "roles"]);
        let v = validate("name: [unclosed\n");
        assert!(!v.valid);
        assert!(v.errors[0].message.starts_with("YAML syntax error"));
        assert_eq!(validate("   ").errors[0].message, "Content is required");
        assert!(!validate("just a string").valid);
    }
}
