//! A per-session token bucket for client events: `rate` events per second, bursts of one
//! second's worth. Dropped events are counted and reported to the client, never silently.
//! Pings count too, but a ping over the limit cannot be dropped (the WebSocket layer answers
//! every ping it reads), so a client whose pings over the limit within one second are more than
//! a second's worth (it pings at over twice the limit) is a flood and is cut off.

use tokio::time::{Duration, Instant};

pub struct RateLimit {
    rate: f64,
    tokens: f64,
    refilled: Instant,
    /// Dropped since the client was last told.
    dropped_unreported: u64,
    last_notice: Option<Instant>,
    /// Pings over the limit in the flood window (one second from the first of them).
    pings_over: u64,
    flood_window: Option<Instant>,
}

/// What to do with one event.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Drop it; if `Some(n)`, tell the client that `n` events were dropped.
    Drop(Option<u64>),
    /// A ping flood: close the session.
    Flood,
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
            pings_over: 0,
            flood_window: None,
        }
    }

    /// [`check`](Self::check) for a ping: more than a second's worth of pings over the limit
    /// within one second is a [`Verdict::Flood`].
    pub fn check_ping(&mut self) -> Verdict {
        let verdict = self.check();
        if verdict == Verdict::Pass {
            return verdict;
        }
        let now = Instant::now();
        if self
            .flood_window
            .is_none_or(|start| now.duration_since(start) >= Duration::from_secs(1))
        {
            self.flood_window = Some(now);
            self.pings_over = 0;
        }
        self.pings_over += 1;
        if self.pings_over > self.rate as u64 {
            return Verdict::Flood;
        }
        verdict
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

    #[tokio::test(start_paused = true)]
    async fn pings_at_over_twice_the_limit_are_a_flood() {
        let mut limit = RateLimit::new(10);
        assert!((0..10).all(|_| limit.check_ping() == Verdict::Pass));
        // Pings over the limit are dropped like events, and one passes as the bucket refills...
        assert_eq!(limit.check_ping(), Verdict::Drop(Some(1)));
        assert!((0..4).all(|_| limit.check_ping() == Verdict::Drop(None)));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(limit.check_ping(), Verdict::Pass);
        assert!((0..5).all(|_| matches!(limit.check_ping(), Verdict::Drop(_))));
        // ...but the eleventh over the limit within the second is a flood.
        assert_eq!(limit.check_ping(), Verdict::Flood);
    }

    #[tokio::test(start_paused = true)]
    async fn pings_just_over_the_limit_are_dropped_not_a_flood() {
        let mut limit = RateLimit::new(10);
        // Fifteen pings a second for ten seconds: five over the limit each second.
        for _ in 0..10 {
            for _ in 0..15 {
                assert_ne!(limit.check_ping(), Verdict::Flood);
            }
            tokio::time::advance(Duration::from_secs(1)).await;
        }
    }

    #[test]
    fn pings_are_never_a_flood_without_a_limit() {
        let mut limit = RateLimit::new(0);
        assert!((0..10_000).all(|_| limit.check_ping() == Verdict::Pass));
    }

    #[test]
    fn zero_is_unlimited() {
        let mut limit = RateLimit::new(0);
        assert!((0..10_000).all(|_| limit.check() == Verdict::Pass));
    }
}
