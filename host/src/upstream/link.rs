//! One upstream as a session sees it: its name, where it is ([`Target`]), the [`Guard`] (its
//! own breaker, the retry settings, the backoff policy) every connect goes through, its place
//! in the pool (priority, weight, session limit) and what it has done (sessions on it, connect
//! latency, errors). Built once by `Gateway::start`; the [`UpstreamPool`](super::UpstreamPool)
//! holds them and sessions hold an `Arc` (and a [`Lease`]) of the one they are on.

use super::{ConnectError, Endpoint, Flavour, UpstreamSocket, connect_once};
use crate::metrics::{Count, Fault, Latency, Metrics, UpstreamSeries};
use crate::resilience::{BreakerState, ErrorClass, Guard, RetryError};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

pub type LinkError = RetryError<ConnectError>;

/// Where sessions connect.
#[derive(Debug, Clone)]
pub enum Target {
    /// A configured endpoint (Azure, OpenAI, any Realtime URL) with its credentials.
    Fixed(Endpoint),
    /// The embedded simulator: the path follows the client's protocol flavour.
    Simulator(SocketAddr),
}

/// Where an upstream stands in the pool's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// 1 is preferred; higher numbers are used when the lower ones cannot take a session.
    pub priority: u32,
    /// Share among upstreams of equal priority (at least 1).
    pub weight: u32,
    /// Sessions at once; 0 = no limit.
    pub max_sessions: usize,
}

impl Default for Placement {
    fn default() -> Placement {
        Placement {
            priority: 1,
            weight: 1,
            max_sessions: 0,
        }
    }
}

pub struct Upstream {
    name: String,
    target: Target,
    guard: Guard,
    connect_timeout: Duration,
    metrics: Arc<Metrics>,
    pub placement: Placement,
    active: AtomicUsize,
    connects: AtomicU64,
    connect_failures: AtomicU64,
    /// Exponentially weighted mean connect latency, µs (0 until the first connect).
    connect_ewma_us: AtomicU64,
    series: UpstreamSeries,
    session_override: Option<Value>,
    tags: Vec<String>,
}

/// A session's place on an upstream (counted in its active sessions until dropped).
pub struct Lease(Arc<Upstream>);

impl Lease {
    pub fn upstream(&self) -> &Arc<Upstream> {
        &self.0
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
        self.0.series.sessions.dec();
    }
}

impl Upstream {
    pub fn new(
        name: String,
        target: Target,
        guard: Guard,
        connect_timeout: Duration,
        metrics: Arc<Metrics>,
        placement: Placement,
    ) -> Upstream {
        Upstream {
            series: metrics.upstream_series(&name),
            name,
            target,
            guard,
            connect_timeout,
            metrics,
            placement,
            active: AtomicUsize::new(0),
            connects: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            connect_ewma_us: AtomicU64::new(0),
            session_override: None,
            tags: Vec::new(),
        }
    }

    /// With labels for routing policies.
    pub fn with_tags(mut self, tags: Vec<String>) -> Upstream {
        self.tags = tags;
        self
    }

    /// This upstream as a routing policy sees it now.
    pub fn candidate(&self) -> super::Candidate {
        let connects = self.connects.load(Ordering::Relaxed);
        let failures = self.connect_failures.load(Ordering::Relaxed);
        super::Candidate {
            name: self.name.clone(),
            breaker: self.breaker_state(),
            priority: self.placement.priority,
            weight: self.placement.weight,
            active_sessions: u32::try_from(self.active_sessions()).unwrap_or(u32::MAX),
            max_sessions: u32::try_from(self.placement.max_sessions).unwrap_or(u32::MAX),
            connect_latency_ms: (self.connect_latency() * 1000.0) as u64,
            // Before the first connection, each failure counts as one per connection.
            error_rate: failures as f64 / connects.max(1) as f64,
            tags: self.tags.clone(),
        }
    }

    /// With session settings of its own (model, voice), applied over every session sent here.
    pub fn with_session(mut self, session: Option<Value>) -> Upstream {
        self.session_override = session;
        self
    }

    /// Its own session settings, if any.
    pub fn session_override(&self) -> Option<&Value> {
        self.session_override.as_ref()
    }

    /// Hold a place on this upstream for a session.
    pub fn lease(self: &Arc<Self>) -> Lease {
        self.active.fetch_add(1, Ordering::AcqRel);
        self.series.sessions.inc();
        Lease(self.clone())
    }

    /// Sessions on this upstream now.
    pub fn active_sessions(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Whether it can take one more session (under `max_sessions`).
    pub fn has_room(&self) -> bool {
        self.placement.max_sessions == 0 || self.active_sessions() < self.placement.max_sessions
    }

    /// Mean connect latency (seconds, weighted to recent connects).
    pub fn connect_latency(&self) -> f64 {
        self.connect_ewma_us.load(Ordering::Relaxed) as f64 / 1e6
    }

    fn record_connect(&self, seconds: f64) {
        self.connects.fetch_add(1, Ordering::Relaxed);
        let sample = (seconds * 1e6) as u64;
        let _ = self
            .connect_ewma_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 {
                    sample
                } else {
                    (old * 4 + sample) / 5
                })
            });
    }

    /// The endpoint a client speaking `flavour` is connected to.
    pub fn endpoint(&self, flavour: Flavour) -> Endpoint {
        match &self.target {
            Target::Fixed(endpoint) => endpoint.clone(),
            Target::Simulator(addr) => {
                let url = url::Url::parse(&format!("ws://{addr}{}", flavour.simulator_path()))
                    .unwrap_or_else(|e| unreachable!("a socket address forms a URL: {e}"));
                Endpoint::unauthenticated(url)
            }
        }
    }

    /// Its name in the pool, logs, spans and metrics (`UPSTREAMS_FILE`; else `simulator` or
    /// the endpoint's host).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its breaker's name (`azure` for the primary, else the upstream's name).
    pub fn breaker_name(&self) -> &'static str {
        self.guard.breaker().name()
    }

    /// The upstream breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.guard.state()
    }

    /// `/health.upstreams.<name>`: its breaker, sessions, connect latency and errors.
    pub fn status_json(&self) -> Value {
        json!({
            "breaker": self.breaker_state().as_str(),
            "active_sessions": self.active_sessions(),
            "max_sessions": self.placement.max_sessions,
            "priority": self.placement.priority,
            "weight": self.placement.weight,
            "connects": self.connects.load(Ordering::Relaxed),
            "connect_errors": self.connect_failures.load(Ordering::Relaxed),
            "connect_latency_seconds": (self.connect_latency() * 1e6).round() / 1e6,
            "endpoint": self.health_json()["endpoint"],
        })
    }

    /// `/health.upstream`: what sessions connect to (never a credential or a query string).
    pub fn health_json(&self) -> Value {
        match &self.target {
            Target::Fixed(endpoint) => json!({ "kind": "fixed", "endpoint": endpoint.display() }),
            Target::Simulator(addr) => json!({
                "kind": "simulator",
                "endpoint": format!("ws://{addr}"),
                "faults": format!("http://{addr}/_sim/faults"),
            }),
        }
    }

    /// Reconnect after an outage in which `failed_before` new connections already failed
    /// (accepted, then lost before the conversation was restored): each of those counted on
    /// the breaker, and the backoff policy spaces the next try; `None` if it gives up.
    pub async fn reconnect(
        &self,
        flavour: Flavour,
        failed_before: u32,
    ) -> Option<Result<UpstreamSocket, LinkError>> {
        if failed_before > 0 && !self.guard.pause(failed_before, ErrorClass::Closed).await {
            return None;
        }
        Some(self.connect(flavour).await)
    }

    /// A connection that opened but failed before it was of use: a failure on the breaker.
    pub fn record_failure(&self) {
        self.guard.record_failure();
    }

    /// Connect (or reconnect) for a client speaking `flavour`, through breaker + retry.
    pub async fn connect(&self, flavour: Flavour) -> Result<UpstreamSocket, LinkError> {
        let endpoint = self.endpoint(flavour);
        let metrics = &self.metrics;
        let timeout = self.connect_timeout;
        let this = self;
        self.guard
            .run(ConnectError::class, |attempt| {
                let endpoint = &endpoint;
                async move {
                    let started = Instant::now();
                    match connect_once(endpoint, timeout).await {
                        Ok(socket) => {
                            let took = started.elapsed().as_secs_f64();
                            metrics.count(Count::UpstreamConnections);
                            metrics.observe(Latency::UpstreamConnect, took);
                            this.record_connect(took);
                            Ok(socket)
                        }
                        Err(error) => {
                            this.connect_failures.fetch_add(1, Ordering::Relaxed);
                            this.series.connect_errors.inc();
                            metrics.fault(match error {
                                ConnectError::Timeout(_) => Fault::UpstreamTimeout,
                                _ => Fault::UpstreamConnectionFailed,
                            });
                            tracing::warn!(
                                "[WS] connection to {} failed (attempt {attempt}): {error}",
                                endpoint.display()
                            );
                            Err(error)
                        }
                    }
                }
            })
            .await
    }
}

/// The `error.code` and message a client gets when connecting finally failed.
pub fn client_error(error: &LinkError) -> (&'static str, String) {
    match error {
        RetryError::Rejected(_) => (
            "upstream_circuit_open",
            "The upstream is failing and its circuit breaker is open; try again later.".into(),
        ),
        RetryError::Failed { last, attempts } => (
            last.client_code(),
            format!("{last} (after {attempts} attempt(s))"),
        ),
    }
}
