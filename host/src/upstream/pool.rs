//! The upstream pool: every configured upstream, and the order a session tries them in.
//!
//! The default policy: upstreams whose breaker is not open and which are under their
//! `max_sessions`, by priority (1 first), and among equal priorities in a random order weighted
//! by `weight`. A session connects to the first that answers (each through its own breaker and
//! retries); a live session whose upstream is lost and cannot be reconnected moves to the next
//! one in that order (failover), excluding the ones it already lost this outage. An upstream
//! whose breaker is open is never tried, whatever else holds.

use super::link::{LinkError, Upstream};
use super::route::{RouteContext, Router};
use super::{Flavour, UpstreamSocket};
use crate::resilience::{BreakerState, Rejected, RetryError};
use serde_json::{Map, Value};
use std::sync::Arc;

pub struct UpstreamPool {
    /// By priority (stable: the file's order among equals).
    members: Vec<Arc<Upstream>>,
    /// A routing policy replacing the default order (`routing.wasm`).
    router: Option<Arc<dyn Router>>,
}

/// A connected upstream: which one, and its socket.
pub type Connected = (Arc<Upstream>, UpstreamSocket);

impl UpstreamPool {
    /// A pool of `members` (at least one); the first of the best priority is the primary.
    pub fn new(mut members: Vec<Arc<Upstream>>) -> UpstreamPool {
        assert!(!members.is_empty(), "a pool has at least one upstream");
        members.sort_by_key(|m| m.placement.priority);
        UpstreamPool {
            members,
            router: None,
        }
    }

    /// Consult `router` for the order (it falls back to the default when it answers `None`).
    pub fn with_router(mut self, router: Arc<dyn Router>) -> UpstreamPool {
        self.router = Some(router);
        self
    }

    /// Whether the upstream may take a session now.
    fn usable(upstream: &Upstream) -> bool {
        upstream.breaker_state() != BreakerState::Open && upstream.has_room()
    }

    /// Where this session goes, best first: the routing policy's order when there is one
    /// (upstreams it names that are open, full or lost are skipped: the host has the last
    /// word), else [`order`](Self::order).
    pub async fn route(&self, ctx: &RouteContext) -> Vec<Arc<Upstream>> {
        let Some(router) = &self.router else {
            return self.order(&ctx.lost);
        };
        let candidates = self.members.iter().map(|m| m.candidate()).collect();
        let Some(names) = router.order(candidates, ctx).await else {
            return self.order(&ctx.lost);
        };
        let mut chosen: Vec<Arc<Upstream>> = Vec::new();
        for name in names {
            let Some(member) = self.members.iter().find(|m| m.name() == name) else {
                continue;
            };
            if chosen.iter().any(|c| c.name() == name) || ctx.lost.contains(&name) {
                continue;
            }
            if !Self::usable(member) {
                tracing::info!(
                    "[UPSTREAM] the routing policy chose {name}, which cannot take a session now (breaker open or full); skipped"
                );
                continue;
            }
            chosen.push(member.clone());
        }
        chosen
    }

    /// The upstream of highest priority (the seed's `circuit_breakers.azure`).
    pub fn primary(&self) -> &Arc<Upstream> {
        &self.members[0]
    }

    pub fn members(&self) -> &[Arc<Upstream>] {
        &self.members
    }

    /// Where a new or moving session goes, best first: breaker not open, room left, by
    /// priority, weighted among equals. `exclude` names upstreams already lost.
    pub fn order(&self, exclude: &[String]) -> Vec<Arc<Upstream>> {
        let mut candidates: Vec<(u32, f64, Arc<Upstream>)> = self
            .members
            .iter()
            .filter(|m| !exclude.iter().any(|name| name == m.name()))
            .filter(|m| Self::usable(m))
            .map(|m| {
                // Weighted random order (Efraimidis–Spirakis): key = u^(1/weight), larger first.
                let u: f64 = rand::random::<f64>().max(f64::MIN_POSITIVE);
                let key = u.powf(1.0 / f64::from(m.placement.weight.max(1)));
                (m.placement.priority, key, m.clone())
            })
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        candidates.into_iter().map(|(_, _, m)| m).collect()
    }

    /// Connect a client speaking `flavour` to the first upstream in [`route`](Self::route)'s
    /// order that answers. When none can be tried, the primary's breaker refusal.
    pub async fn connect(
        &self,
        flavour: Flavour,
        ctx: &RouteContext,
    ) -> Result<Connected, LinkError> {
        let mut last = None;
        for upstream in self.route(ctx).await {
            match upstream.connect(flavour).await {
                Ok(socket) => return Ok((upstream, socket)),
                Err(error) => {
                    if self.members.len() > 1 {
                        tracing::warn!(
                            "[UPSTREAM] {} cannot take the session ({error}); trying the next",
                            upstream.name()
                        );
                    }
                    last = Some(error);
                }
            }
        }
        Err(last.unwrap_or(RetryError::Rejected(Rejected(
            self.primary().breaker_name(),
        ))))
    }

    /// Whether some upstream's breaker is not open (`/readyz`).
    pub fn any_available(&self) -> bool {
        self.members
            .iter()
            .any(|m| m.breaker_state() != BreakerState::Open)
    }

    /// `/health.upstreams`: each upstream by name.
    pub fn health_json(&self) -> Value {
        Value::Object(
            self.members
                .iter()
                .map(|m| (m.name().to_string(), m.status_json()))
                .collect::<Map<String, Value>>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::resilience::{
        BackoffPolicy, BreakerSettings, CircuitBreaker, Exponential, Guard, Operation,
        RetrySettings,
    };
    use crate::upstream::{Placement, Target};
    use std::time::Duration;

    fn member(name: &str, priority: u32, weight: u32, max_sessions: usize) -> Arc<Upstream> {
        let breaker = BreakerSettings::new(1, Duration::from_secs(60), 1, 1).unwrap();
        let retry =
            RetrySettings::new(1, Duration::from_millis(1), Duration::from_millis(1)).unwrap();
        let policy: Arc<dyn BackoffPolicy> = Arc::new(Exponential);
        let name_static: &'static str = Box::leak(name.to_string().into_boxed_str());
        Arc::new(Upstream::new(
            name.into(),
            Target::Simulator("127.0.0.1:9".parse().unwrap()),
            Guard::new(
                Operation::UpstreamConnect,
                retry,
                policy,
                CircuitBreaker::new(name_static, breaker, None),
            ),
            Duration::from_secs(1),
            Arc::new(Metrics::new()),
            Placement {
                priority,
                weight,
                max_sessions,
            },
        ))
    }

    fn names(order: &[Arc<Upstream>]) -> Vec<&str> {
        order.iter().map(|m| m.name()).collect()
    }

    #[test]
    fn priority_first_then_weighted_among_equals() {
        let pool = UpstreamPool::new(vec![
            member("backup", 2, 1, 0),
            member("light", 1, 1, 0),
            member("heavy", 1, 3, 0),
        ]);
        assert_eq!(
            pool.primary().name(),
            "light",
            "the file's first of the best priority"
        );
        let mut heavy_first = 0;
        let rounds = 4000;
        for _ in 0..rounds {
            let order = pool.order(&[]);
            assert_eq!(order.len(), 3);
            assert_eq!(
                order[2].name(),
                "backup",
                "priority 2 comes after every priority 1"
            );
            heavy_first += usize::from(order[0].name() == "heavy");
        }
        // Weight 3 against 1: first three times in four (±4 %).
        let share = heavy_first as f64 / f64::from(rounds);
        assert!((0.71..=0.79).contains(&share), "heavy first in {share:.3}");
    }

    #[test]
    fn open_breakers_full_upstreams_and_exclusions_are_skipped() {
        let pool = UpstreamPool::new(vec![
            member("a", 1, 1, 0),
            member("b", 2, 1, 1),
            member("c", 3, 1, 0),
        ]);
        assert_eq!(names(&pool.order(&["a".into()])), ["b", "c"]);
        let _lease = pool.members()[1].lease();
        assert_eq!(names(&pool.order(&[])), ["a", "c"], "b is at max_sessions");
        pool.members()[0].record_failure();
        assert_eq!(pool.primary().breaker_state(), BreakerState::Open);
        assert_eq!(names(&pool.order(&[])), ["c"]);
        assert!(pool.any_available());
        pool.members()[2].record_failure();
        assert!(pool.order(&[]).is_empty(), "a open, b full, c open");
        assert!(
            pool.any_available(),
            "b's breaker is closed: it is only full"
        );
    }
}
