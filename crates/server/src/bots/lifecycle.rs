//! Lifecycle rules: which status changes are allowed and what each one records.
//!
//! - A plain transition moves between `offline|prepare|leveling|profession|farming`; the same
//!   status again changes nothing. `banned` and `archived` are entered only by ban and archive,
//!   and left only by unban and unarchive.
//! - Ban remembers the status it interrupted; unban restores it (`offline` if there is none).
//!   Banning a banned bot updates the ban details and keeps the remembered status.
//! - Archive (from any status, banned included) remembers the status too; unarchive restores it.
//! - `offline` is a pause, not a stage: the stage stays where it was.

use super::store::bot;
use botmox_contract::bots::{BotStatus, LifecycleStage};
use serde_json::{Value, json};

/// A change to record in the lifecycle log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: &'static str,
    pub from_status: Option<BotStatus>,
    pub to_status: BotStatus,
    pub from_stage: Option<LifecycleStage>,
    pub to_stage: LifecycleStage,
    pub message: String,
    pub details: Value,
}

/// Why a lifecycle change is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `BOTS_TRANSITION_VALIDATION_FAILED`.
    Transition(String),
    /// `BOTS_UNBAN_VALIDATION_FAILED`.
    Unban(String),
}

/// What a ban records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub date: String,
    pub reason: String,
    pub mechanism: String,
    pub timestamp: i64,
}

fn set_status(
    m: &mut bot::Model,
    to: BotStatus,
    stage: LifecycleStage,
) -> (BotStatus, LifecycleStage) {
    let from = (m.status(), m.stage());
    m.previous_status = Some(from.0.as_str().to_owned());
    m.status = to.as_str().to_owned();
    m.current_stage = stage.as_str().to_owned();
    from
}

/// The first entry of every bot's log.
pub fn created(m: &bot::Model) -> Event {
    Event {
        kind: "created",
        from_status: None,
        to_status: m.status(),
        from_stage: None,
        to_stage: m.stage(),
        message: format!("Bot created with status {}", m.status),
        details: json!({ "status": m.status }),
    }
}

/// Whether `to` can be reached by a plain transition at all.
pub fn plain_target(to: BotStatus) -> Result<(), Refusal> {
    match to {
        BotStatus::Banned => Err(Refusal::Transition(
            "Use /lifecycle/ban endpoint for ban transitions".into(),
        )),
        BotStatus::Archived => Err(Refusal::Transition(
            "Use /lifecycle/archive to archive a bot".into(),
        )),
        _ => Ok(()),
    }
}

/// A plain status change; `Ok(None)` when the bot already has that status.
pub fn transition(m: &mut bot::Model, to: BotStatus) -> Result<Option<Event>, Refusal> {
    plain_target(to)?;
    let current = m.status();
    if current == to {
        return Ok(None);
    }
    match current {
        BotStatus::Banned => {
            return Err(Refusal::Transition(
                "Bot is banned: unban it first (/lifecycle/unban)".into(),
            ));
        }
        BotStatus::Archived => {
            return Err(Refusal::Transition(
                "Bot is archived: unarchive it first (/lifecycle/unarchive)".into(),
            ));
        }
        _ => {}
    }
    let stage = to.stage().unwrap_or_else(|| m.stage());
    let (from, from_stage) = set_status(m, to, stage);
    Ok(Some(Event {
        kind: "status_change",
        from_status: Some(from),
        to_status: to,
        from_stage: Some(from_stage),
        to_stage: stage,
        message: format!("Status changed from {} to {}", from.as_str(), to.as_str()),
        details: json!({ "from": from.as_str(), "to": to.as_str() }),
    }))
}

pub fn ban(m: &mut bot::Model, ban: Ban) -> Result<Event, Refusal> {
    let current = m.status();
    if current == BotStatus::Archived {
        return Err(Refusal::Transition(
            "Bot is archived: unarchive it before banning".into(),
        ));
    }
    let details = json!({
        "from": current.as_str(),
        "mechanism": ban.mechanism,
        "ban_date": ban.date,
    });
    let message = format!("Bot banned: {}", ban.reason);
    m.ban_date = Some(ban.date);
    m.ban_reason = Some(ban.reason);
    m.ban_mechanism = Some(ban.mechanism);
    m.ban_timestamp = Some(ban.timestamp);
    m.unbanned_at = None;
    if current == BotStatus::Banned {
        // Re-ban: new details, same status to restore.
        return Ok(Event {
            kind: "ban",
            from_status: Some(current),
            to_status: current,
            from_stage: Some(m.stage()),
            to_stage: m.stage(),
            message,
            details,
        });
    }
    m.pre_ban_status = Some(current.as_str().to_owned());
    let (from, from_stage) = set_status(m, BotStatus::Banned, LifecycleStage::Banned);
    Ok(Event {
        kind: "ban",
        from_status: Some(from),
        to_status: BotStatus::Banned,
        from_stage: Some(from_stage),
        to_stage: LifecycleStage::Banned,
        message,
        details,
    })
}

pub fn unban(m: &mut bot::Model, now: i64) -> Result<Event, Refusal> {
    if m.status() != BotStatus::Banned {
        return Err(Refusal::Unban("Bot is not banned".into()));
    }
    let restored = m
        .pre_ban_status
        .as_deref()
        .and_then(BotStatus::parse)
        .filter(|s| s.is_live())
        .unwrap_or(BotStatus::Offline);
    // The stage before the ban is not kept; an unbanned bot that was offline resumes at
    // `prepare`, as in the original.
    let stage = restored.stage().unwrap_or(LifecycleStage::Prepare);
    let (from, from_stage) = set_status(m, restored, stage);
    m.pre_ban_status = None;
    m.unbanned_at = Some(now);
    Ok(Event {
        kind: "unban",
        from_status: Some(from),
        to_status: restored,
        from_stage: Some(from_stage),
        to_stage: stage,
        message: format!("Bot unbanned and restored to {}", restored.as_str()),
        details: json!({ "restored_status": restored.as_str() }),
    })
}

/// Archives a bot; `Ok(None)` when it already is.
pub fn archive(
    m: &mut bot::Model,
    reason: Option<String>,
    now: i64,
) -> Result<Option<Event>, Refusal> {
    let current = m.status();
    if current == BotStatus::Archived {
        return Ok(None);
    }
    m.pre_archive_status = Some(current.as_str().to_owned());
    m.archived_at = Some(now);
    m.archive_reason = reason.clone();
    let stage = m.stage();
    let (from, _) = set_status(m, BotStatus::Archived, stage);
    Ok(Some(Event {
        kind: "archive",
        from_status: Some(from),
        to_status: BotStatus::Archived,
        from_stage: Some(stage),
        to_stage: stage,
        message: match &reason {
            Some(r) => format!("Bot archived: {r}"),
            None => "Bot archived".to_owned(),
        },
        details: json!({
            "from": from.as_str(),
            "reason": reason,
            "snapshot": {
                "project_id": m.project_id,
                "character_name": m.character_name,
                "final_level": m.character_level,
            },
        }),
    }))
}

pub fn unarchive(m: &mut bot::Model) -> Result<Event, Refusal> {
    if m.status() != BotStatus::Archived {
        return Err(Refusal::Transition("Bot is not archived".into()));
    }
    let restored = m
        .pre_archive_status
        .as_deref()
        .and_then(BotStatus::parse)
        .filter(|s| *s != BotStatus::Archived)
        .unwrap_or(BotStatus::Offline);
    let stage = m.stage();
    let (from, _) = set_status(m, restored, stage);
    m.pre_archive_status = None;
    m.archived_at = None;
    m.archive_reason = None;
    Ok(Event {
        kind: "unarchive",
        from_status: Some(from),
        to_status: restored,
        from_stage: Some(stage),
        to_stage: stage,
        message: format!("Bot unarchived and restored to {}", restored.as_str()),
        details: json!({ "restored_status": restored.as_str() }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bots::store::blank;

    fn bot(status: BotStatus) -> bot::Model {
        blank("t", "b", status, 0)
    }

    fn a_ban() -> Ban {
        Ban {
            date: "01.02.2025".into(),
            reason: "detected".into(),
            mechanism: "other".into(),
            timestamp: 1,
        }
    }

    #[test]
    fn plain_transitions_move_between_live_statuses_and_offline_keeps_the_stage() {
        let mut m = bot(BotStatus::Prepare);
        let e = transition(&mut m, BotStatus::Farming)
            .expect("allowed")
            .expect("changed");
        assert_eq!(e.from_status, Some(BotStatus::Prepare));
        assert_eq!(m.stage(), LifecycleStage::Farming);
        transition(&mut m, BotStatus::Offline).expect("allowed");
        assert_eq!(m.status(), BotStatus::Offline);
        assert_eq!(m.stage(), LifecycleStage::Farming);
        assert_eq!(transition(&mut m, BotStatus::Offline), Ok(None));
    }

    #[test]
    fn ban_and_archive_are_not_plain_transitions_and_block_them() {
        let mut m = bot(BotStatus::Leveling);
        assert!(matches!(
            transition(&mut m, BotStatus::Banned),
            Err(Refusal::Transition(_))
        ));
        assert!(matches!(
            transition(&mut m, BotStatus::Archived),
            Err(Refusal::Transition(_))
        ));
        ban(&mut m, a_ban()).expect("ban");
        assert!(matches!(
            transition(&mut m, BotStatus::Farming),
            Err(Refusal::Transition(_))
        ));
    }

    #[test]
    fn unban_restores_the_status_before_the_ban_even_after_a_reban() {
        let mut m = bot(BotStatus::Profession);
        ban(&mut m, a_ban()).expect("ban");
        ban(&mut m, a_ban()).expect("re-ban");
        let e = unban(&mut m, 9).expect("unban");
        assert_eq!(e.to_status, BotStatus::Profession);
        assert_eq!(m.status(), BotStatus::Profession);
        assert_eq!(m.unbanned_at, Some(9));
        assert!(matches!(unban(&mut m, 10), Err(Refusal::Unban(_))));
    }

    #[test]
    fn archive_keeps_a_ban_and_unarchive_restores_it() {
        let mut m = bot(BotStatus::Farming);
        ban(&mut m, a_ban()).expect("ban");
        archive(&mut m, Some("done".into()), 5)
            .expect("archive")
            .expect("changed");
        assert_eq!(archive(&mut m, None, 6), Ok(None));
        assert!(matches!(ban(&mut m, a_ban()), Err(Refusal::Transition(_))));
        unarchive(&mut m).expect("unarchive");
        assert_eq!(m.status(), BotStatus::Banned);
        unban(&mut m, 7).expect("unban");
        assert_eq!(m.status(), BotStatus::Farming);
    }
}
