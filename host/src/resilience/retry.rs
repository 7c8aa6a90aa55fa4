//! The retry executor. Each attempt passes through the breaker (one success or failure there);
//! a call refused by an open breaker fails fast and is not retried; non-transient errors (401,
//! 403 …) are not retried either. Delays come from the policy, clamped to `[0, max_delay]`.

use super::ErrorClass;
use super::backoff::{BackoffPolicy, Decision, Operation, RetryContext};
use super::breaker::{CircuitBreaker, Rejected};
use super::settings::RetrySettings;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Why a retried operation finally failed.
#[derive(Debug, thiserror::Error)]
pub enum RetryError<E: std::fmt::Display> {
    #[error("{0}")]
    Rejected(Rejected),
    #[error("failed after {attempts} attempt(s): {last}")]
    Failed { attempts: u32, last: E },
}

/// Seconds the way the seed prints them: `1.0`, `2.0`, `0.25`.
pub fn format_seconds(delay: Duration) -> String {
    let secs = delay.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.1}")
    } else {
        format!("{}", (secs * 1000.0).round() / 1000.0)
    }
}

/// Run `op` (the `operation`) up to `max_attempts` times through `breaker`, sleeping as
/// `policy` says between attempts.
pub async fn run<T, E, F, Fut>(
    operation: Operation,
    settings: &RetrySettings,
    policy: &dyn BackoffPolicy,
    breaker: &CircuitBreaker,
    classify: impl Fn(&E) -> ErrorClass,
    mut op: F,
) -> Result<T, RetryError<E>>
where
    E: std::fmt::Display,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut previous_delay = Duration::ZERO;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let permit = breaker.try_acquire().map_err(RetryError::Rejected)?;
        let error = match op(attempt).await {
            Ok(value) => {
                permit.success();
                return Ok(value);
            }
            Err(error) => {
                permit.failure();
                error
            }
        };
        let class = classify(&error);
        if attempt >= settings.max_attempts() || !class.is_transient() {
            return Err(RetryError::Failed {
                attempts: attempt,
                last: error,
            });
        }
        let ctx = RetryContext {
            operation,
            attempt,
            max_attempts: settings.max_attempts(),
            base_delay: settings.base_delay(),
            max_delay: settings.max_delay(),
            previous_delay,
            elapsed: started.elapsed(),
            error: class,
            random: rand::random(),
        };
        let delay = match policy.next_delay(&ctx).await {
            Decision::RetryAfter(delay) => delay.min(settings.max_delay()),
            Decision::GiveUp => {
                tracing::warn!("[RETRY] Attempt {attempt} failed, backoff policy gave up: {error}");
                return Err(RetryError::Failed {
                    attempts: attempt,
                    last: error,
                });
            }
        };
        tracing::warn!(
            "[RETRY] Attempt {attempt} failed, retrying in {}s",
            format_seconds(delay)
        );
        tracing::debug!(operation = operation.as_str(), %error, "retry");
        previous_delay = delay;
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::backoff::{DecisionFuture, Exponential};
    use crate::resilience::settings::BreakerSettings;
    use std::sync::Mutex;

    const OP: Operation = Operation::UpstreamConnect;

    fn settings(max_attempts: u32) -> RetrySettings {
        RetrySettings::new(
            max_attempts,
            Duration::from_secs(1),
            Duration::from_secs(10),
        )
        .expect("valid settings")
    }

    fn breaker(threshold: u32) -> CircuitBreaker {
        let settings = BreakerSettings::new(threshold, Duration::from_secs(60), 1, 1).unwrap();
        CircuitBreaker::new("test", settings, None)
    }

    /// Records when each attempt happened (paused clock).
    async fn attempt_times(
        max: u32,
        policy: &dyn BackoffPolicy,
        fail_with: ErrorClass,
    ) -> Vec<Duration> {
        let start = Instant::now();
        let times = Mutex::new(Vec::new());
        let b = breaker(100);
        let _ = run(
            OP,
            &settings(max),
            policy,
            &b,
            |_: &String| fail_with,
            |_| {
                times.lock().unwrap().push(start.elapsed());
                async { Err::<(), _>("boom".to_string()) }
            },
        )
        .await;
        times.into_inner().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn default_delays_are_1_2_4_capped_at_10() {
        let times = attempt_times(6, &Exponential, ErrorClass::Refused).await;
        let secs: Vec<u64> = times.iter().map(|d| d.as_secs()).collect();
        // Attempts at 0, then +1, +2, +4, +8, +10 (capped).
        assert_eq!(secs, [0, 1, 3, 7, 15, 25]);
    }

    struct Hostile(Duration);
    impl BackoffPolicy for Hostile {
        fn next_delay<'a>(&'a self, _ctx: &'a RetryContext) -> DecisionFuture<'a> {
            Box::pin(std::future::ready(Decision::RetryAfter(self.0)))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn hostile_policy_is_clamped_to_max_delay() {
        let times = attempt_times(
            3,
            &Hostile(Duration::from_secs(86_400 * 365)),
            ErrorClass::Timeout,
        )
        .await;
        assert_eq!(times[1] - times[0], Duration::from_secs(10));
        assert_eq!(times[2] - times[1], Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_max_attempts_whatever_the_policy_says() {
        assert_eq!(
            attempt_times(3, &Hostile(Duration::ZERO), ErrorClass::Closed)
                .await
                .len(),
            3
        );
    }

    #[tokio::test(start_paused = true)]
    async fn non_transient_errors_are_not_retried() {
        assert_eq!(
            attempt_times(5, &Exponential, ErrorClass::HttpStatus(401))
                .await
                .len(),
            1
        );
        assert_eq!(
            attempt_times(3, &Exponential, ErrorClass::HttpStatus(429))
                .await
                .len(),
            3
        );
    }

    #[tokio::test(start_paused = true)]
    async fn open_breaker_fails_fast_and_is_not_retried() {
        let b = breaker(2);
        let calls = Mutex::new(0);
        let result = run(
            OP,
            &settings(5),
            &Exponential,
            &b,
            |_: &String| ErrorClass::Refused,
            |_| {
                *calls.lock().unwrap() += 1;
                async { Err::<(), _>("down".to_string()) }
            },
        )
        .await;
        // Two failures open the breaker; the third attempt is refused by it.
        assert_eq!(*calls.lock().unwrap(), 2);
        assert!(matches!(result, Err(RetryError::Rejected(_))));
        let start = Instant::now();
        let again = run(
            OP,
            &settings(5),
            &Exponential,
            &b,
            |_: &String| ErrorClass::Refused,
            |_| async { Ok::<_, String>(()) },
        )
        .await;
        assert!(matches!(again, Err(RetryError::Rejected(_))));
        assert_eq!(start.elapsed(), Duration::ZERO, "fails fast");
    }

    #[tokio::test(start_paused = true)]
    async fn success_after_failures() {
        let b = breaker(10);
        let result = run(
            OP,
            &settings(3),
            &Exponential,
            &b,
            |_: &String| ErrorClass::Refused,
            |attempt| async move {
                if attempt < 3 {
                    Err("not yet".to_string())
                } else {
                    Ok(attempt)
                }
            },
        )
        .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[test]
    fn seconds_format_like_the_seed() {
        assert_eq!(format_seconds(Duration::from_secs(1)), "1.0");
        assert_eq!(format_seconds(Duration::from_millis(2500)), "2.5");
        assert_eq!(format_seconds(Duration::from_millis(37)), "0.037");
    }
}
