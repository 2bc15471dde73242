//! Reconnect back-off: exponential with jitter, clamped to `[base, max]`.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base_ms: u64,
    pub max_ms: u64,
    /// Ratio in `0..=0.5`.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base_ms: 1_000,
            max_ms: 30_000,
            jitter: 0.2,
        }
    }
}

impl Backoff {
    /// Normalises the values: base ≥ 100 ms, max ≥ base, jitter clamped to 0..0.5.
    pub fn new(base_ms: u64, max_ms: u64, jitter: f64) -> Self {
        let base_ms = base_ms.max(100);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 0.5)
        } else {
            0.2
        };
        Self {
            base_ms,
            max_ms: max_ms.max(base_ms),
            jitter,
        }
    }

    /// From `BOTMOX_AGENT_WS_RECONNECT_BASE_MS|MAX_MS|JITTER`; unparsable values mean the default.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let num = |k: &str| get(k).and_then(|v| v.trim().parse::<u64>().ok());
        Self::new(
            num("BOTMOX_AGENT_WS_RECONNECT_BASE_MS").unwrap_or(d.base_ms),
            num("BOTMOX_AGENT_WS_RECONNECT_MAX_MS").unwrap_or(d.max_ms),
            get("BOTMOX_AGENT_WS_RECONNECT_JITTER")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(d.jitter),
        )
    }

    /// Delay before reconnect attempt `attempt` (1-based) given `rnd` in `0..=1`.
    pub fn delay_with(&self, attempt: u32, rnd: f64) -> Duration {
        let attempt = attempt.max(1);
        let shift = (attempt - 1).min(40);
        let exp = self
            .base_ms
            .saturating_mul(1u64 << shift.min(62))
            .min(self.max_ms);
        let range = (exp as f64 * self.jitter).round();
        if range <= 0.0 {
            return Duration::from_millis(exp);
        }
        let offset = ((rnd.clamp(0.0, 1.0) * 2.0 - 1.0) * range).round();
        let ms = (exp as f64 + offset).clamp(self.base_ms as f64, self.max_ms as f64);
        Duration::from_millis(ms as u64)
    }

    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }
}
