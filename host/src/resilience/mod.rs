//! Retry with pluggable backoff and circuit breakers: the host-owned resilience engine.
//!
//! `retry::run` wraps every attempt in a `breaker::CircuitBreaker`; the delay between attempts
//! comes from a `backoff::BackoffPolicy` (the built-in exponential one, or the Wasm plugin slot)
//! and is always clamped by the host. Time comes from tokio's clock, so tests pause it.

pub mod backoff;
pub mod breaker;
pub mod retry;

#[cfg(test)]
mod properties;

pub use backoff::{BackoffPolicy, Decision, Exponential, Operation, RetryContext};
pub use breaker::{BreakerState, CircuitBreaker};
pub use retry::{RetryError, RetrySettings};

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
