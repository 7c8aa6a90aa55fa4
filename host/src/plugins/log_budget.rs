//! A slot's log budget: plugin log lines per second with a burst, shared by every instance of
//! the slot. Lines over it are dropped and counted (`plugin_log_dropped`), so a plugin that
//! logs in a loop costs the gateway a few lines a second, not gigabytes.

use std::sync::Mutex;
use std::time::Instant;

/// Lines per second a slot may log, sustained.
pub const LINES_PER_SECOND: f64 = 20.0;
/// Lines a slot may log at once after a quiet spell.
pub const BURST: f64 = 100.0;

pub struct LogBudget {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Default for LogBudget {
    fn default() -> LogBudget {
        LogBudget::new(LINES_PER_SECOND, BURST)
    }
}

impl LogBudget {
    pub fn new(rate: f64, burst: f64) -> LogBudget {
        LogBudget {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Whether one more line may be logged now.
    pub fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, refilled) = *state;
        let elapsed = now.saturating_duration_since(refilled).as_secs_f64();
        let tokens = (tokens + elapsed * self.rate).min(self.burst);
        let allowed = tokens >= 1.0;
        *state = (if allowed { tokens - 1.0 } else { tokens }, now);
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let budget = LogBudget::new(20.0, 100.0);
        let start = Instant::now();
        let burst = (0..1000).filter(|_| budget.allow_at(start)).count();
        assert_eq!(burst, 100);
        let later = start + Duration::from_secs(1);
        let next = (0..1000).filter(|_| budget.allow_at(later)).count();
        assert_eq!(next, 20, "one second later: the rate's worth");
    }
}
