//! The settings of the resilience engine, each validated where it is made: a constructor that
//! returns a [`SettingsError`] naming the rule broken, so no retry loop or breaker can ever run
//! with zero attempts, a zero threshold or a base delay above its cap. Nothing here knows
//! where the values came from (environment, flags, tests): the configuration layer names the
//! variable when it reports an error.

use std::time::Duration;

/// A rule a setting broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error("the base delay ({base:?}) is larger than the maximum delay ({max:?})")]
    BaseAboveMax { base: Duration, max: Duration },
}

fn at_least_one(value: u32, what: &'static str) -> Result<u32, SettingsError> {
    if value == 0 {
        Err(SettingsError::Zero(what))
    } else {
        Ok(value)
    }
}

/// How often and how patiently one operation is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl RetrySettings {
    pub fn new(
        max_attempts: u32,
        base_delay: Duration,
        max_delay: Duration,
    ) -> Result<RetrySettings, SettingsError> {
        if base_delay > max_delay {
            return Err(SettingsError::BaseAboveMax {
                base: base_delay,
                max: max_delay,
            });
        }
        Ok(RetrySettings {
            max_attempts: at_least_one(max_attempts, "max_attempts")?,
            base_delay,
            max_delay,
        })
    }

    /// Attempts in all, the first included (≥ 1).
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }
    /// Every delay, whatever a policy says, is clamped to this.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }
}

/// When a circuit breaker opens, for how long, and how it probes its way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    failure_threshold: u32,
    timeout: Duration,
    half_open_max_calls: u32,
    success_threshold: u32,
}

impl BreakerSettings {
    /// Opens after `failure_threshold` consecutive failures, for `timeout`; half-open admits
    /// `half_open_max_calls` probes at once and closes after `success_threshold` successes.
    pub fn new(
        failure_threshold: u32,
        timeout: Duration,
        half_open_max_calls: u32,
        success_threshold: u32,
    ) -> Result<BreakerSettings, SettingsError> {
        Ok(BreakerSettings {
            failure_threshold: at_least_one(failure_threshold, "failure_threshold")?,
            timeout,
            half_open_max_calls: at_least_one(half_open_max_calls, "half_open_max_calls")?,
            success_threshold: at_least_one(success_threshold, "success_threshold")?,
        })
    }

    pub fn failure_threshold(&self) -> u32 {
        self.failure_threshold
    }
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
    pub fn half_open_max_calls(&self) -> u32 {
        self.half_open_max_calls
    }
    pub fn success_threshold(&self) -> u32 {
        self.success_threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_settings_refuse_what_cannot_work() {
        let s = Duration::from_secs;
        assert_eq!(
            RetrySettings::new(0, s(1), s(10)),
            Err(SettingsError::Zero("max_attempts"))
        );
        assert!(matches!(
            RetrySettings::new(3, s(20), s(10)),
            Err(SettingsError::BaseAboveMax { .. })
        ));
        let ok = RetrySettings::new(3, s(1), s(10)).unwrap();
        assert_eq!(
            (ok.max_attempts(), ok.base_delay(), ok.max_delay()),
            (3, s(1), s(10))
        );
    }

    #[test]
    fn breaker_settings_refuse_zeros() {
        let s = Duration::from_secs;
        assert_eq!(
            BreakerSettings::new(0, s(60), 1, 1),
            Err(SettingsError::Zero("failure_threshold"))
        );
        assert_eq!(
            BreakerSettings::new(5, s(60), 0, 1),
            Err(SettingsError::Zero("half_open_max_calls"))
        );
        assert_eq!(
            BreakerSettings::new(5, s(60), 1, 0),
            Err(SettingsError::Zero("success_threshold"))
        );
        assert!(BreakerSettings::new(5, s(60), 1, 1).is_ok());
    }
}
