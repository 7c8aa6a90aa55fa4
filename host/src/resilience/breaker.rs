//! A circuit breaker: CLOSED → OPEN after `failure_threshold` consecutive failures; OPEN →
//! HALF_OPEN once `timeout` has passed (seen even with no traffic: reading the state moves it);
//! HALF_OPEN admits `half_open_max_calls` probes at once; `success_threshold` probe successes
//! close it, one probe failure re-opens it. Shared by all sessions of a process.

use super::settings::BreakerSettings;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Instant,
    probes_in_flight: u32,
    probe_successes: u32,
    /// Bumped on every transition: a probe admitted in an earlier half-open period (finishing
    /// late) must not count in the current one.
    generation: u64,
}

/// The call was refused because the breaker is open (or half-open with all probes taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker '{0}' is open")]
pub struct Rejected(pub &'static str);

/// Who hears of a breaker's state (metrics); the breaker itself only logs.
pub trait BreakerObserver: Send + Sync {
    /// `breaker` is now in `state`; `transition` is false for the initial report.
    fn breaker_state(&self, breaker: &'static str, state: BreakerState, transition: bool);
}

/// Several observers, told in order.
pub struct Observers(pub Vec<Arc<dyn BreakerObserver>>);

impl BreakerObserver for Observers {
    fn breaker_state(&self, breaker: &'static str, state: BreakerState, transition: bool) {
        for observer in &self.0 {
            observer.breaker_state(breaker, state, transition);
        }
    }
}

pub struct CircuitBreaker {
    name: &'static str,
    settings: BreakerSettings,
    inner: Mutex<Inner>,
    observer: Option<Arc<dyn BreakerObserver>>,
}

/// Admission to make one call. Report the outcome with `success` or `failure`; a permit
/// dropped without either (a cancelled call) releases its probe slot and counts as nothing.
#[must_use = "report the outcome with success() or failure()"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    generation: u64,
    done: bool,
}

impl Permit<'_> {
    /// Whether this call is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    pub fn success(mut self) {
        self.done = true;
        self.breaker.on_success(self.probe, self.generation);
    }
    pub fn failure(mut self) {
        self.done = true;
        self.breaker.on_failure(self.probe, self.generation);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done && self.probe {
            let mut inner = self.breaker.lock();
            if inner.generation != self.generation {
                return;
            }
            inner.probes_in_flight = inner.probes_in_flight.saturating_sub(1);
        }
    }
}

impl CircuitBreaker {
    pub fn new(
        name: &'static str,
        settings: BreakerSettings,
        observer: Option<Arc<dyn BreakerObserver>>,
    ) -> CircuitBreaker {
        let breaker = CircuitBreaker {
            name,
            settings,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                opened_at: Instant::now(),
                probes_in_flight: 0,
                probe_successes: 0,
                generation: 0,
            }),
            observer,
        };
        breaker.publish(BreakerState::Closed, false);
        breaker
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the counters inconsistent: recover.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current state, moving OPEN → HALF_OPEN if the timeout has passed.
    pub fn state(&self) -> BreakerState {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        inner.state
    }

    fn refresh(&self, inner: &mut Inner) {
        if inner.state == BreakerState::Open && inner.opened_at.elapsed() >= self.settings.timeout()
        {
            self.transition(inner, BreakerState::HalfOpen);
        }
    }

    fn transition(&self, inner: &mut Inner, to: BreakerState) {
        let from = inner.state;
        if from == to {
            return;
        }
        inner.state = to;
        inner.generation += 1;
        inner.probes_in_flight = 0;
        inner.probe_successes = 0;
        match to {
            BreakerState::Open => inner.opened_at = Instant::now(),
            BreakerState::Closed => inner.consecutive_failures = 0,
            BreakerState::HalfOpen => {}
        }
        let detail = match to {
            BreakerState::Open => format!(
                " after {} consecutive failures, for {}s",
                inner.consecutive_failures,
                self.settings.timeout().as_secs_f64()
            ),
            _ => String::new(),
        };
        tracing::warn!(
            "[CIRCUIT] {} breaker {} -> {}{detail}",
            self.name,
            from.as_str().to_uppercase(),
            to.as_str().to_uppercase()
        );
        self.publish(to, true);
    }

    fn publish(&self, state: BreakerState, transition: bool) {
        if let Some(observer) = &self.observer {
            observer.breaker_state(self.name, state, transition);
        }
    }

    /// Ask to make a call.
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        match inner.state {
            BreakerState::Closed => Ok(Permit {
                breaker: self,
                probe: false,
                generation: inner.generation,
                done: false,
            }),
            BreakerState::Open => Err(Rejected(self.name)),
            BreakerState::HalfOpen => {
                if inner.probes_in_flight >= self.settings.half_open_max_calls() {
                    return Err(Rejected(self.name));
                }
                inner.probes_in_flight += 1;
                Ok(Permit {
                    breaker: self,
                    probe: true,
                    generation: inner.generation,
                    done: false,
                })
            }
        }
    }

    fn on_success(&self, probe: bool, generation: u64) {
        let mut inner = self.lock();
        inner.consecutive_failures = 0;
        if probe && inner.state == BreakerState::HalfOpen && inner.generation == generation {
            inner.probes_in_flight = inner.probes_in_flight.saturating_sub(1);
            inner.probe_successes += 1;
            if inner.probe_successes >= self.settings.success_threshold() {
                self.transition(&mut inner, BreakerState::Closed);
            }
        }
    }

    fn on_failure(&self, probe: bool, generation: u64) {
        let mut inner = self.lock();
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        match inner.state {
            BreakerState::HalfOpen if probe && inner.generation == generation => {
                self.transition(&mut inner, BreakerState::Open)
            }
            BreakerState::Closed
                if inner.consecutive_failures >= self.settings.failure_threshold() =>
            {
                self.transition(&mut inner, BreakerState::Open)
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn breaker(threshold: u32, max_calls: u32, successes: u32) -> CircuitBreaker {
        let settings =
            BreakerSettings::new(threshold, Duration::from_secs(60), max_calls, successes)
                .expect("valid settings");
        CircuitBreaker::new("test", settings, None)
    }

    fn fail(b: &CircuitBreaker, n: u32) {
        for _ in 0..n {
            b.try_acquire().expect("admitted").failure();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_at_threshold_of_consecutive_failures() {
        let b = breaker(5, 1, 1);
        fail(&b, 4);
        b.try_acquire().unwrap().success(); // resets the streak
        fail(&b, 4);
        assert_eq!(b.state(), BreakerState::Closed);
        fail(&b, 1);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.try_acquire().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_after_timeout_without_traffic() {
        let b = breaker(1, 1, 1);
        fail(&b, 1);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(b.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_admits_bounded_probes_and_closes_after_successes() {
        let b = breaker(1, 2, 2);
        fail(&b, 1);
        tokio::time::advance(Duration::from_secs(60)).await;
        let p1 = b.try_acquire().unwrap();
        let p2 = b.try_acquire().unwrap();
        assert!(b.try_acquire().is_err(), "third probe refused");
        p1.success();
        assert_eq!(b.state(), BreakerState::HalfOpen);
        p2.success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn probe_failure_reopens_and_restarts_timeout() {
        let b = breaker(1, 1, 1);
        fail(&b, 1);
        tokio::time::advance(Duration::from_secs(60)).await;
        b.try_acquire().unwrap().failure();
        assert_eq!(b.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(b.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_probe_frees_its_slot() {
        let b = breaker(1, 1, 1);
        fail(&b, 1);
        tokio::time::advance(Duration::from_secs(60)).await;
        drop(b.try_acquire().unwrap());
        assert!(b.try_acquire().is_ok());
    }
}
