//! A [`Guard`]: everything that protects calls to one dependency, built once at start and
//! shared by every caller — its circuit breaker, its retry settings and the backoff policy.
//! A caller hands it one attempt at a time; it never rebuilds settings per call.

use super::ErrorClass;
use super::backoff::{BackoffPolicy, Decision, Operation, RetryContext};
use super::breaker::{BreakerState, CircuitBreaker};
use super::retry::{self, RetryError};
use super::settings::RetrySettings;
use std::future::Future;
use std::sync::Arc;

pub struct Guard {
    operation: Operation,
    retry: RetrySettings,
    policy: Arc<dyn BackoffPolicy>,
    breaker: CircuitBreaker,
}

impl Guard {
    pub fn new(
        operation: Operation,
        retry: RetrySettings,
        policy: Arc<dyn BackoffPolicy>,
        breaker: CircuitBreaker,
    ) -> Guard {
        Guard {
            operation,
            retry,
            policy,
            breaker,
        }
    }

    /// Run `attempt` (given the attempt number, from 1) through the breaker, retrying as the
    /// policy says within the retry settings.
    pub async fn run<T, E, F, Fut>(
        &self,
        classify: impl Fn(&E) -> ErrorClass,
        attempt: F,
    ) -> Result<T, RetryError<E>>
    where
        E: std::fmt::Display,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        retry::run(
            self.operation,
            &self.retry,
            self.policy.as_ref(),
            &self.breaker,
            classify,
            attempt,
        )
        .await
    }

    /// Wait as the policy says before another try after `failures` failures of the same work
    /// outside `run` (a connection that opened and then failed); false if the policy gives up.
    pub async fn pause(&self, failures: u32, error: ErrorClass) -> bool {
        let ctx = RetryContext {
            operation: self.operation,
            attempt: failures,
            max_attempts: self.retry.max_attempts(),
            base_delay: self.retry.base_delay(),
            max_delay: self.retry.max_delay(),
            previous_delay: std::time::Duration::ZERO,
            elapsed: std::time::Duration::ZERO,
            error,
            random: rand::random(),
        };
        match self.policy.next_delay(&ctx).await {
            Decision::RetryAfter(delay) => {
                let delay = delay.min(self.retry.max_delay());
                tracing::warn!(
                    "[RETRY] Attempt {failures} failed, retrying in {}s",
                    retry::format_seconds(delay)
                );
                tokio::time::sleep(delay).await;
                true
            }
            Decision::GiveUp => false,
        }
    }

    /// Count a failure the breaker did not see (work that failed after a successful call).
    pub fn record_failure(&self) {
        if let Ok(permit) = self.breaker.try_acquire() {
            permit.failure();
        }
    }

    /// The breaker's state (moving OPEN → HALF_OPEN when its timeout has passed).
    pub fn state(&self) -> BreakerState {
        self.breaker.state()
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::{BreakerSettings, Exponential};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn one_guard_serves_many_calls_and_its_breaker_opens_for_all() {
        let guard = Guard::new(
            Operation::RagSearch,
            RetrySettings::new(2, Duration::from_millis(10), Duration::from_millis(10)).unwrap(),
            Arc::new(Exponential),
            CircuitBreaker::new(
                "dep",
                BreakerSettings::new(4, Duration::from_secs(30), 1, 1).unwrap(),
                None,
            ),
        );
        for _ in 0..2 {
            let failed = guard
                .run(
                    |_: &String| ErrorClass::Refused,
                    |_| async { Err::<(), _>("down".to_string()) },
                )
                .await;
            assert!(matches!(
                failed,
                Err(RetryError::Failed { attempts: 2, .. })
            ));
        }
        assert_eq!(guard.state(), BreakerState::Open);
        let refused = guard
            .run(
                |_: &String| ErrorClass::Refused,
                |_| async { Ok::<_, String>(()) },
            )
            .await;
        assert!(matches!(refused, Err(RetryError::Rejected(_))));
    }
}
