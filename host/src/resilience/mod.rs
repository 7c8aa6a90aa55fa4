//! Retry with pluggable backoff and circuit breakers: the host-owned resilience engine.
//!
//! A [`Guard`] per dependency holds its breaker, retry settings and backoff policy;
//! `retry::run` wraps every attempt in the breaker; the delay between attempts comes from a
//! [`BackoffPolicy`] (the built-in exponential one, or the Wasm plugin slot) and is always
//! clamped by the host. Settings validate themselves ([`settings`]). Time comes from tokio's
//! clock, so tests pause it. Nothing here reads configuration or metrics: a breaker reports
//! its state to a [`BreakerObserver`].

pub mod backoff;
pub mod breaker;
pub mod guard;
pub mod retry;
pub mod settings;

#[cfg(test)]
mod properties;

pub use backoff::{BackoffPolicy, Decision, Exponential, Operation, RetryContext};
pub use breaker::{BreakerObserver, BreakerState, CircuitBreaker, Observers, Rejected};
pub use guard::Guard;
pub use retry::RetryError;
pub use settings::{BreakerSettings, RetrySettings, SettingsError};

/// What went wrong on an attempt (mirrors the WIT `error-class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Timeout,
    Refused,
    HttpStatus(u16),
    Closed,
    Other,
}

impl ErrorClass {
    /// Whether another attempt can help. Authentication and client errors will not get better.
    pub fn is_transient(self) -> bool {
        match self {
            ErrorClass::HttpStatus(status) => {
                !(400..500).contains(&status) || status == 408 || status == 429
            }
            _ => true,
        }
    }
}
