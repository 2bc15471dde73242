//! Weekly schedule rules: `HH:MM` times, sessions of at least 15 minutes, at most 24 per day,
//! no overlaps within a day. A session whose end is before its start runs past midnight; its
//! part after midnight belongs to the next day (Saturday's to Sunday) and must not overlap
//! that day's sessions. Every broken rule is reported, keyed by the field's path.

use botmox_contract::bots::{
    BotSchedule, MAX_ALLOWED_WINDOWS, MAX_SESSIONS_PER_DAY, MIN_SESSION_MINUTES, ScheduleDay,
    ScheduleInput, ScheduleSession, TimeWindow,
};
use std::collections::BTreeMap;
use uuid::Uuid;

pub type FieldErrors = BTreeMap<String, Vec<String>>;

const DAY_MINUTES: u32 = 24 * 60;

/// `HH:MM`, 00:00..23:59, as minutes after midnight.
pub fn parse_hhmm(raw: &str) -> Option<u32> {
    let (h, m) = raw.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A time span within one day, `[start, end)` in minutes.
#[derive(Debug, Clone)]
struct Span {
    start: u32,
    end: u32,
    /// Path of the session or window that owns it, and a label for messages.
    path: String,
    label: String,
}

/// The parts of `start..end` that fall on its own day and (when it runs past midnight) on
/// the next day.
fn split(start: u32, end: u32) -> ((u32, u32), Option<(u32, u32)>) {
    if end > start {
        ((start, end), None)
    } else {
        ((start, DAY_MINUTES), (end > 0).then_some((0, end)))
    }
}

fn length(start: u32, end: u32) -> u32 {
    (end + DAY_MINUTES - start) % DAY_MINUTES
}

/// Reports every pair of overlapping spans on the later one.
fn overlaps(mut spans: Vec<Span>, errors: &mut FieldErrors) {
    spans.sort_by_key(|s| (s.start, s.end));
    for (i, later) in spans.iter().enumerate() {
        for earlier in &spans[..i] {
            if earlier.end > later.start {
                errors
                    .entry(later.path.clone())
                    .or_default()
                    .push(format!("overlaps {}", earlier.label));
            }
        }
    }
}

fn push(errors: &mut FieldErrors, path: String, msg: impl Into<String>) {
    errors.entry(path).or_default().push(msg.into());
}

/// Checks and normalises a schedule; `prefix` is prepended to error paths (e.g.
/// `schedule.` when the schedule came inside a bot body).
pub fn normalize(
    input: &ScheduleInput,
    updated_at: String,
    prefix: &str,
) -> Result<BotSchedule, FieldErrors> {
    let mut errors = FieldErrors::new();
    let path = |p: String| format!("{prefix}{p}");

    let version = input.version.unwrap_or(1);
    if version == 0 {
        push(&mut errors, path("version".into()), "must be at least 1");
    }
    let timezone = input
        .timezone
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("UTC")
        .to_owned();
    if timezone.len() > 64
        || !timezone
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
    {
        push(
            &mut errors,
            path("timezone".into()),
            "must be a zone name such as UTC or Europe/Berlin",
        );
    }

    // Parse every day's sessions.
    let mut days: BTreeMap<u32, ScheduleDay> = (0..7)
        .map(|d| {
            (
                d,
                ScheduleDay {
                    enabled: false,
                    sessions: Vec::new(),
                },
            )
        })
        .collect();
    // Per day: (session index, start, end) of well-formed sessions.
    let mut spans_of: BTreeMap<u32, Vec<(usize, u32, u32)>> = BTreeMap::new();
    for (key, day) in &input.days {
        let Some(d) = key.parse::<u32>().ok().filter(|d| *d < 7 && key.len() == 1) else {
            push(
                &mut errors,
                path(format!("days.{key}")),
                "day must be 0 (Sunday) to 6 (Saturday)",
            );
            continue;
        };
        if day.sessions.len() > MAX_SESSIONS_PER_DAY {
            push(
                &mut errors,
                path(format!("days.{d}.sessions")),
                format!("at most {MAX_SESSIONS_PER_DAY} sessions per day"),
            );
        }
        let mut ids: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for (i, s) in day.sessions.iter().enumerate() {
            let at = |field: &str| path(format!("days.{d}.sessions.{i}{field}"));
            let start = parse_hhmm(&s.start);
            let end = parse_hhmm(&s.end);
            if start.is_none() {
                push(&mut errors, at(".start"), "must be HH:MM (00:00 to 23:59)");
            }
            if end.is_none() {
                push(&mut errors, at(".end"), "must be HH:MM (00:00 to 23:59)");
            }
            if let (Some(a), Some(b)) = (start, end) {
                if a == b {
                    push(&mut errors, at(".end"), "must differ from start");
                } else if length(a, b) < MIN_SESSION_MINUTES {
                    push(
                        &mut errors,
                        at(""),
                        format!("must last at least {MIN_SESSION_MINUTES} minutes"),
                    );
                } else {
                    spans_of.entry(d).or_default().push((i, a, b));
                }
            }
            let kind = s.kind.clone().unwrap_or_else(|| "active".into());
            if !matches!(kind.as_str(), "active" | "break") {
                push(&mut errors, at(".type"), "must be one of active|break");
            }
            if s.profile.as_ref().is_some_and(|p| p.len() > 64) {
                push(&mut errors, at(".profile"), "length is greater than 64");
            }
            let id = match s.id.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) if v.len() > 64 => {
                    push(&mut errors, at(".id"), "length is greater than 64");
                    v.to_owned()
                }
                Some(v) => v.to_owned(),
                None => Uuid::now_v7().to_string(),
            };
            if ids.contains(&id) {
                push(
                    &mut errors,
                    at(".id"),
                    "duplicate session id within the day",
                );
            }
            ids.push(id.clone());
            out.push(ScheduleSession {
                id,
                start: s.start.clone(),
                end: s.end.clone(),
                enabled: s.enabled.unwrap_or(true),
                profile: s.profile.clone(),
                kind,
            });
        }
        out.sort_by(|a, b| a.start.cmp(&b.start));
        days.insert(
            d,
            ScheduleDay {
                enabled: day.enabled.unwrap_or(!day.sessions.is_empty()),
                sessions: out,
            },
        );
    }

    // Overlaps, including the part of the previous day's sessions that runs past midnight.
    let times = |d: u32, i: usize| {
        input
            .days
            .get(&d.to_string())
            .and_then(|day| day.sessions.get(i))
            .map(|s| (s.start.clone(), s.end.clone()))
            .unwrap_or_default()
    };
    for d in 0..7u32 {
        let mut spans = Vec::new();
        for &(i, a, b) in spans_of.get(&d).map(Vec::as_slice).unwrap_or_default() {
            let (own, _) = split(a, b);
            let (s, e) = times(d, i);
            spans.push(Span {
                start: own.0,
                end: own.1,
                path: path(format!("days.{d}.sessions.{i}")),
                label: format!("session {i} ({s}-{e})"),
            });
        }
        let prev = (d + 6) % 7;
        for &(i, a, b) in spans_of.get(&prev).map(Vec::as_slice).unwrap_or_default() {
            if let (_, Some(spill)) = split(a, b) {
                let (s, e) = times(prev, i);
                spans.push(Span {
                    start: spill.0,
                    end: spill.1,
                    path: path(format!("days.{prev}.sessions.{i}")),
                    label: format!("day {d} session running past midnight ({s}-{e})"),
                });
            }
        }
        overlaps(spans, &mut errors);
    }

    // Allowed windows: well-formed and not overlapping each other.
    if input.allowed_windows.len() > MAX_ALLOWED_WINDOWS {
        push(
            &mut errors,
            path("allowed_windows".into()),
            format!("at most {MAX_ALLOWED_WINDOWS} windows"),
        );
    }
    let mut window_spans = Vec::new();
    for (i, w) in input.allowed_windows.iter().enumerate() {
        let at = |field: &str| path(format!("allowed_windows.{i}{field}"));
        match (parse_hhmm(&w.start), parse_hhmm(&w.end)) {
            (Some(a), Some(b)) if a == b => push(&mut errors, at(".end"), "must differ from start"),
            (Some(a), Some(b)) => {
                let (own, spill) = split(a, b);
                for part in std::iter::once(own).chain(spill) {
                    window_spans.push(Span {
                        start: part.0,
                        end: part.1,
                        path: at(""),
                        label: format!("window {i} ({}-{})", w.start, w.end),
                    });
                }
            }
            (a, b) => {
                if a.is_none() {
                    push(&mut errors, at(".start"), "must be HH:MM (00:00 to 23:59)");
                }
                if b.is_none() {
                    push(&mut errors, at(".end"), "must be HH:MM (00:00 to 23:59)");
                }
            }
        }
    }
    // A window's two parts (before and after midnight) are disjoint, so only different
    // windows can clash.
    overlaps(window_spans, &mut errors);

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(BotSchedule {
        version,
        timezone,
        days: days
            .into_iter()
            .map(|(d, day)| (d.to_string(), day))
            .collect(),
        allowed_windows: input
            .allowed_windows
            .iter()
            .map(|w| TimeWindow {
                start: w.start.clone(),
                end: w.end.clone(),
            })
            .collect(),
        updated_at: Some(updated_at),
    })
}

/// The schedule of a bot that has none: every day off.
pub fn empty() -> BotSchedule {
    BotSchedule {
        version: 1,
        timezone: "UTC".into(),
        days: (0..7)
            .map(|d| {
                (
                    d.to_string(),
                    ScheduleDay {
                        enabled: false,
                        sessions: Vec::new(),
                    },
                )
            })
            .collect(),
        allowed_windows: Vec::new(),
        updated_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use botmox_contract::bots::{ScheduleDayInput, ScheduleSessionInput};

    fn session(start: &str, end: &str) -> ScheduleSessionInput {
        ScheduleSessionInput {
            start: start.into(),
            end: end.into(),
            ..Default::default()
        }
    }

    fn with_days(days: &[(&str, Vec<ScheduleSessionInput>)]) -> ScheduleInput {
        ScheduleInput {
            days: days
                .iter()
                .map(|(d, s)| {
                    (
                        (*d).to_owned(),
                        ScheduleDayInput {
                            enabled: None,
                            sessions: s.clone(),
                        },
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn hhmm_is_strict() {
        assert_eq!(parse_hhmm("00:00"), Some(0));
        assert_eq!(parse_hhmm("23:59"), Some(1439));
        for bad in ["24:00", "7:00", "07:60", "0700", "aa:bb", ""] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_valid_week_is_normalised_to_seven_days() {
        let s = normalize(
            &with_days(&[(
                "1",
                vec![session("18:00", "20:00"), session("08:00", "12:00")],
            )]),
            "now".into(),
            "",
        )
        .expect("valid");
        assert_eq!(s.days.len(), 7);
        let monday = &s.days["1"];
        assert!(monday.enabled);
        assert_eq!(monday.sessions[0].start, "08:00");
        assert!(!s.days["0"].enabled);
    }

    #[test]
    fn overlaps_short_sessions_and_bad_times_are_reported_by_path() {
        let err = normalize(
            &with_days(&[(
                "2",
                vec![
                    session("08:00", "10:00"),
                    session("09:30", "11:00"),
                    session("12:00", "12:10"),
                    session("25:00", "26:00"),
                ],
            )]),
            "now".into(),
            "schedule.",
        )
        .expect_err("invalid");
        assert!(err.contains_key("schedule.days.2.sessions.1"), "{err:?}");
        assert!(err.contains_key("schedule.days.2.sessions.2"), "{err:?}");
        assert!(
            err.contains_key("schedule.days.2.sessions.3.start"),
            "{err:?}"
        );
    }

    #[test]
    fn overnight_sessions_spill_into_the_next_day_and_saturday_into_sunday() {
        normalize(
            &with_days(&[
                ("1", vec![session("22:00", "02:00")]),
                ("2", vec![session("02:00", "04:00")]),
            ]),
            "now".into(),
            "",
        )
        .expect("touching is fine");
        let err = normalize(
            &with_days(&[
                ("6", vec![session("23:00", "01:00")]),
                ("0", vec![session("00:30", "03:00")]),
            ]),
            "now".into(),
            "",
        )
        .expect_err("overlap across the week boundary");
        assert_eq!(err.len(), 1, "{err:?}");
    }

    #[test]
    fn too_many_sessions_and_unknown_days_are_refused() {
        let many: Vec<_> = (0..25)
            .map(|h| session(&format!("{:02}:00", h % 24), &format!("{:02}:30", h % 24)))
            .collect();
        let err = normalize(&with_days(&[("3", many), ("7", vec![])]), "now".into(), "")
            .expect_err("invalid");
        assert!(err.contains_key("days.3.sessions"));
        assert!(err.contains_key("days.7"));
    }
}
