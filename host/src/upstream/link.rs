//! The upstream as a session sees it: where it is ([`Target`]), and the [`Guard`] (the
//! upstream breaker, retry settings, backoff policy) every connect goes through, with the
//! seed's metrics. Built once by `Gateway::start`; sessions hold an `Arc` of it.

use super::{ConnectError, Endpoint, Flavour, UpstreamSocket, connect_once};
use crate::metrics::{Count, Fault, Latency, Metrics};
use crate::resilience::{BreakerState, ErrorClass, Guard, RetryError};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
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

pub struct Upstream {
    target: Target,
    guard: Guard,
    connect_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl Upstream {
    pub fn new(
        target: Target,
        guard: Guard,
        connect_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Upstream {
        Upstream {
            target,
            guard,
            connect_timeout,
            metrics,
        }
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

    /// A short name for logs and spans: `simulator` or the endpoint's host.
    pub fn name(&self) -> String {
        match &self.target {
            Target::Fixed(endpoint) => endpoint.host().to_string(),
            Target::Simulator(_) => "simulator".into(),
        }
    }

    /// The upstream breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.guard.state()
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
        self.guard
            .run(ConnectError::class, |attempt| {
                let endpoint = &endpoint;
                async move {
                    let started = Instant::now();
                    match connect_once(endpoint, timeout).await {
                        Ok(socket) => {
                            metrics.count(Count::UpstreamConnections);
                            metrics
                                .observe(Latency::UpstreamConnect, started.elapsed().as_secs_f64());
                            Ok(socket)
                        }
                        Err(error) => {
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
