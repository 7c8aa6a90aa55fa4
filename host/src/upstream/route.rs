//! What routing decides with: each upstream as a [`Candidate`], the session as a
//! [`RouteContext`], and the [`Router`] a team may plug in (the `routing-policy` plugin world;
//! the plugins module implements it, so the pool does not depend on plugins).

use crate::resilience::BreakerState;
use std::future::Future;
use std::pin::Pin;

/// One upstream as a routing policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub breaker: BreakerState,
    pub priority: u32,
    pub weight: u32,
    pub active_sessions: u32,
    /// 0: no limit.
    pub max_sessions: u32,
    pub connect_latency_ms: u64,
    /// Failed attempts per connection made.
    pub error_rate: f64,
    pub tags: Vec<String>,
}

/// The session being routed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteContext {
    pub kb_id: String,
    pub client_path: String,
    pub client_name: Option<String>,
    /// Upstreams this session just lost (a failover being routed).
    pub lost: Vec<String>,
}

pub type RouterFuture<'a> = Pin<Box<dyn Future<Output = Option<Vec<String>>> + Send + 'a>>;

/// A routing policy: upstream names, best first; `None` for the default order (no policy, or
/// it failed).
pub trait Router: Send + Sync {
    fn order<'a>(&'a self, candidates: Vec<Candidate>, ctx: &'a RouteContext) -> RouterFuture<'a>;
}
