//! Property tests of the resilience invariants: delays stay within bounds whatever the
//! policy says, and the breaker's state machine never admits what it must refuse.

use super::ErrorClass;
use super::backoff::{
    BackoffPolicy, Decision, DecisionFuture, Exponential, Operation, RetryContext,
};
use super::breaker::{BreakerState, CircuitBreaker};
use super::retry;
use super::settings::{BreakerSettings, RetrySettings};
use proptest::prelude::*;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
}

struct Scripted(Vec<Option<u64>>);

impl BackoffPolicy for Scripted {
    fn next_delay<'a>(&'a self, ctx: &'a RetryContext) -> DecisionFuture<'a> {
        let answer = match self
            .0
            .get(ctx.attempt as usize % self.0.len().max(1))
            .copied()
            .flatten()
        {
            Some(ms) => Decision::RetryAfter(Duration::from_millis(ms)),
            None => Decision::GiveUp,
        };
        Box::pin(std::future::ready(answer))
    }
}

proptest! {
    #[test]
    fn exponential_is_capped_and_monotone(base_ms in 0u64..5_000, max_ms in 0u64..60_000, attempts in 1u32..80) {
        let ctx = |attempt| RetryContext {
            operation: Operation::RagSearch, attempt, max_attempts: 100,
            base_delay: Duration::from_millis(base_ms), max_delay: Duration::from_millis(max_ms),
            previous_delay: Duration::ZERO, elapsed: Duration::ZERO, error: ErrorClass::Other, random: 0,
        };
        let mut previous = Duration::ZERO;
        for attempt in 1..=attempts {
            let delay = Exponential::delay(&ctx(attempt));
            prop_assert!(delay <= Duration::from_millis(max_ms));
            prop_assert!(delay >= previous);
            if attempt < 20 {
                let expected = Duration::from_millis(base_ms * (1 << (attempt - 1))).min(Duration::from_millis(max_ms));
                prop_assert_eq!(delay, expected);
            }
            previous = delay;
        }
    }

    /// Whatever a (hostile) policy answers, every wait is within [0, max_delay] and the
    /// executor never makes more than max_attempts attempts.
    #[test]
    fn retry_waits_are_clamped_and_attempts_bounded(
        script in proptest::collection::vec(proptest::option::weighted(0.9, 0u64..u64::MAX / 4), 1..8),
        max_attempts in 1u32..8,
        max_ms in 0u64..2_000,
    ) {
        paused_runtime().block_on(async {
            let breaker = CircuitBreaker::new("p", BreakerSettings::new(1000, Duration::from_secs(1), 1, 1).unwrap(), None);
            let settings = RetrySettings::new(max_attempts, Duration::from_millis(1), Duration::from_millis(max_ms.max(1))).unwrap();
            let times = Mutex::new(Vec::new());
            let start = Instant::now();
            let _ = retry::run(Operation::RagSearch, &settings, &Scripted(script), &breaker, |_: &String| ErrorClass::Timeout, |_| {
                times.lock().unwrap().push(start.elapsed());
                async { Err::<(), _>("x".to_string()) }
            }).await;
            let times = times.into_inner().unwrap();
            assert!(times.len() as u32 <= max_attempts);
            for pair in times.windows(2) {
                assert!(pair[1] - pair[0] <= Duration::from_millis(max_ms.max(1)));
            }
        });
    }

    /// Random traffic against a breaker: it refuses everything while OPEN and before the
    /// timeout, never has more probes out than allowed, and opens only after the threshold.
    #[test]
    fn breaker_state_machine_invariants(
        ops in proptest::collection::vec(0u8..5, 1..200),
        threshold in 1u32..6, max_calls in 1u32..4, successes in 1u32..4,
    ) {
        paused_runtime().block_on(async {
            let timeout = Duration::from_secs(10);
            let settings = BreakerSettings::new(threshold, timeout, max_calls, successes).unwrap();
            let breaker = CircuitBreaker::new("p", settings, None);
            let mut held = Vec::new();
            let mut stale = Vec::new();
            let mut streak = 0u32;
            let mut opened_at: Option<Instant> = None;
            for op in ops {
                let before = breaker.state();
                match op {
                    0 | 1 => match breaker.try_acquire() {
                        Ok(permit) => {
                            assert_ne!(before, BreakerState::Open, "admitted while open");
                            if op == 0 { permit.success(); streak = 0; } else { permit.failure(); streak += 1; }
                        }
                        Err(_) => assert_ne!(before, BreakerState::Closed, "refused while closed"),
                    },
                    2 => if let Ok(permit) = breaker.try_acquire() { held.push(permit) },
                    3 => { if let Some(p) = held.pop() { p.failure(); streak += 1; } }
                    _ => tokio::time::advance(Duration::from_secs(3)).await,
                }
                let after = breaker.state();
                if after == BreakerState::Open && before == BreakerState::Closed {
                    assert!(streak >= threshold, "opened after {streak} < {threshold} failures");
                }
                if after == BreakerState::Open && before != BreakerState::Open {
                    opened_at = Some(Instant::now());
                }
                if let (BreakerState::Open, Some(at)) = (after, opened_at) {
                    assert!(at.elapsed() < timeout, "still open past its timeout");
                }
                if after == BreakerState::HalfOpen {
                    let probes = held.iter().filter(|p: &&super::breaker::Permit<'_>| p.is_probe()).count() as u32;
                    assert!(probes <= max_calls, "{probes} probes out, {max_calls} allowed");
                } else {
                    // Permits from an earlier half-open period no longer count as its probes.
                    stale.append(&mut held);
                }
                if after == BreakerState::Closed { streak = streak.min(threshold); }
            }
        });
    }
}
