//! Connecting a session to its upstream: one `upstream::connect` per attempt, through the
//! retry executor and the process-wide `azure` breaker, with the seed's metrics.

use crate::gateway::Gateway;
use crate::metrics::{Count, Fault, Latency};
use crate::resilience::Operation;
use crate::resilience::retry::{self, RetryError, RetrySettings};
use crate::upstream::{self, ConnectError, Flavour, UpstreamSocket};
use tokio::time::Instant;

pub type LinkError = RetryError<ConnectError>;

/// Connect (or reconnect) to the upstream for a client speaking `flavour`.
pub async fn connect(gateway: &Gateway, flavour: Flavour) -> Result<UpstreamSocket, LinkError> {
    let endpoint = gateway.upstream_endpoint(flavour);
    let settings = RetrySettings::new(Operation::UpstreamConnect, &gateway.config.retry);
    let policy = gateway.backoff_policy();
    let timeout = gateway.config.azure_connection_timeout;
    let metrics = &gateway.metrics;
    retry::run(
        &settings,
        policy.as_ref(),
        &gateway.azure,
        ConnectError::class,
        |attempt| {
            let endpoint = &endpoint;
            async move {
                let started = Instant::now();
                match upstream::connect(endpoint, timeout).await {
                    Ok(socket) => {
                        metrics.count(Count::AzureConnections);
                        metrics.observe(Latency::AzureConnect, started.elapsed().as_secs_f64());
                        Ok(socket)
                    }
                    Err(error) => {
                        metrics.fault(match error {
                            ConnectError::Timeout(_) => Fault::AzureTimeout,
                            _ => Fault::AzureConnectionFailed,
                        });
                        tracing::warn!(
                            "[WS] connection to {} failed (attempt {attempt}): {error}",
                            endpoint.display()
                        );
                        Err(error)
                    }
                }
            }
        },
    )
    .await
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
