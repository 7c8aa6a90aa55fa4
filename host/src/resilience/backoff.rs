//! The backoff policy contract on the host side, and the built-in exponential policy.

use super::ErrorClass;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Everything a policy may use to decide (mirrors the WIT `retry-context`).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryContext {
    pub operation: Operation,
    /// The attempt that just failed, from 1.
    pub attempt: u32,
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub previous_delay: Duration,
    pub elapsed: Duration,
    pub error: ErrorClass,
    pub random: u64,
}

/// What is being retried (mirrors the WIT `operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    UpstreamConnect,
    RagSearch,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::UpstreamConnect => "upstream-connect",
            Operation::RagSearch => "rag-search",
        }
    }
}

/// A policy's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAfter(Duration),
    GiveUp,
}

pub type DecisionFuture<'a> = Pin<Box<dyn Future<Output = Decision> + Send + 'a>>;

/// Decides how long to wait before the next attempt. Implementations must not fail: a plugin
/// that faults falls back to [`Exponential`] inside its implementation.
pub trait BackoffPolicy: Send + Sync {
    fn next_delay<'a>(&'a self, ctx: &'a RetryContext) -> DecisionFuture<'a>;
}

/// The seed's policy: `base · 2^(attempt-1)`, capped at the maximum (1 s, 2 s, 4 s … 10 s).
#[derive(Debug, Clone, Copy, Default)]
pub struct Exponential;

impl Exponential {
    pub fn delay(ctx: &RetryContext) -> Duration {
        let exponent = ctx.attempt.saturating_sub(1).min(31);
        ctx.base_delay
            .checked_mul(1u32 << exponent)
            .unwrap_or(ctx.max_delay)
            .min(ctx.max_delay)
    }
}

impl BackoffPolicy for Exponential {
    fn next_delay<'a>(&'a self, ctx: &'a RetryContext) -> DecisionFuture<'a> {
        Box::pin(std::future::ready(Decision::RetryAfter(
            Exponential::delay(ctx),
        )))
    }
}
