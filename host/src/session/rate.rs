//! A per-session token bucket for client events: `rate` events per second, bursts of one
//! second's worth. Dropped events are counted and reported to the client, never silently.

use tokio::time::{Duration, Instant};

pub struct RateLimit {
    rate: f64,
    tokens: f64,
    refilled: Instant,
    /// Dropped since the client was last told.
    dropped_unreported: u64,
    last_notice: Option<Instant>,
}

/// What to do with one event.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Drop it; if `Some(n)`, tell the client that `n` events were dropped.
    Drop(Option<u64>),
}

impl RateLimit {
    /// `rate` events per second; 0 means unlimited.
    pub fn new(rate: u32) -> RateLimit {
        RateLimit {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            refilled: Instant::now(),
            dropped_unreported: 0,
            last_notice: None,
        }
    }

    pub fn check(&mut self) -> Verdict {
        if self.rate == 0.0 {
            return Verdict::Pass;
        }
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Pass;
        }
        self.dropped_unreported += 1;
        // Tell the client at most once a second, with the count since the last notice.
        if self
            .last_notice
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            self.last_notice = Some(now);
            return Verdict::Drop(Some(std::mem::take(&mut self.dropped_unreported)));
        }
        Verdict::Drop(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_limits_then_refills() {
        let mut limit = RateLimit::new(10);
        for _ in 0..10 {
            assert_eq!(limit.check(), Verdict::Pass);
        }
        assert_eq!(limit.check(), Verdict::Drop(Some(1)));
        assert_eq!(limit.check(), Verdict::Drop(None));
        assert_eq!(limit.check(), Verdict::Drop(None));
        tokio::time::advance(Duration::from_millis(500)).await;
        for _ in 0..5 {
            assert_eq!(limit.check(), Verdict::Pass);
        }
        tokio::time::advance(Duration::from_millis(600)).await;
        for _ in 0..6 {
            assert_eq!(limit.check(), Verdict::Pass);
        }
        assert_eq!(
            limit.check(),
            Verdict::Drop(Some(3)),
            "reports the drops since the last notice"
        );
    }

    #[test]
    fn zero_is_unlimited() {
        let mut limit = RateLimit::new(0);
        assert!((0..10_000).all(|_| limit.check() == Verdict::Pass));
    }
}
