//! Expiry arithmetic shared by resource records, list filters, stats and the bots summary:
//! one rule, one threshold (`BOTMOX_EXPIRY_WARNING_DAYS`).

use botmox_contract::resources::ExpiryStatus;

pub const DAY_MS: i64 = 86_400_000;

/// The expiry rule at a given instant.
#[derive(Debug, Clone, Copy)]
pub struct ExpiryClock {
    pub now: i64,
    pub warning_days: u32,
}

impl ExpiryClock {
    /// The last instant still counted as expiring rather than ok.
    pub fn warning_edge(self) -> i64 {
        self.now + i64::from(self.warning_days) * DAY_MS
    }

    /// `expired` once the date has passed (inclusive), `expiring` within the warning days,
    /// otherwise (or without a date) `ok`.
    pub fn status(self, expires_at: Option<i64>) -> ExpiryStatus {
        match expires_at {
            Some(t) if t <= self.now => ExpiryStatus::Expired,
            Some(t) if t <= self.warning_edge() => ExpiryStatus::Expiring,
            _ => ExpiryStatus::Ok,
        }
    }
}

/// Whole days left, rounded up while in the future (12 hours left is 1 day) and towards zero
/// once past (36 hours ago is -1).
pub fn days_left(expires_at: i64, now: i64) -> i64 {
    let delta = expires_at - now;
    if delta > 0 {
        (delta + DAY_MS - 1) / DAY_MS
    } else {
        -((-delta) / DAY_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_warning_threshold() {
        let clock = ExpiryClock {
            now: 1_000 * DAY_MS,
            warning_days: 7,
        };
        assert_eq!(clock.status(None), ExpiryStatus::Ok);
        assert_eq!(clock.status(Some(clock.now)), ExpiryStatus::Expired);
        assert_eq!(clock.status(Some(clock.now + 1)), ExpiryStatus::Expiring);
        assert_eq!(
            clock.status(Some(clock.now + 7 * DAY_MS)),
            ExpiryStatus::Expiring
        );
        assert_eq!(
            clock.status(Some(clock.now + 7 * DAY_MS + 1)),
            ExpiryStatus::Ok
        );
        let none = ExpiryClock {
            warning_days: 0,
            ..clock
        };
        assert_eq!(none.status(Some(clock.now + 1)), ExpiryStatus::Ok);
    }

    #[test]
    fn days_left_rounds_up_ahead_and_toward_zero_behind() {
        assert_eq!(days_left(DAY_MS / 2, 0), 1);
        assert_eq!(days_left(3 * DAY_MS, 0), 3);
        assert_eq!(days_left(3 * DAY_MS + 1, 0), 4);
        assert_eq!(days_left(0, 0), 0);
        assert_eq!(days_left(0, DAY_MS + DAY_MS / 2), -1);
    }
}
