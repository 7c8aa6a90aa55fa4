//! The HTTP surface: client WebSockets ([`sockets`]), `/health` and `/metrics` ([`health`]),
//! the operator routes ([`admin`], the live feed in `feed`), the embedded try-it page and
//! console (`pages`); and serving with a graceful drain on shutdown.

pub mod admin;
mod feed;
pub mod health;
mod listener;
mod pages;
pub mod sockets;

use crate::gateway::Gateway;
use axum::Router;
use axum::routing::{any, get};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The gateway's router.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route("/ws", any(sockets::seed_socket))
        .route("/v1/realtime", any(sockets::drop_in_socket))
        .route("/openai/realtime", any(sockets::drop_in_socket))
        .route("/openai/v1/realtime", any(sockets::drop_in_socket))
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .merge(admin::router(gateway.clone()))
        .merge(pages::router())
        .with_state(gateway)
}

/// Serve until `shutdown` resolves (no drain: see [`serve_until_drained`]).
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = &gateway.config().limits;
    let (timeout, pending) = (
        limits.handshake_timeout,
        gateway.pending_connections().clone(),
    );
    listener::serve(router(gateway), listener, timeout, pending, shutdown).await
}

/// Serve until `stop` resolves, then drain in the order a rolling update needs: `/readyz`
/// answers 503 at once and new sessions are refused (503, `Retry-After`) while the listener
/// stays up; open sessions finish their streaming response (within `SHUTDOWN_GRACE`), get
/// `voxgate.shutdown` and close 1001; then the listener closes. Returns once no session is open
/// or the grace (plus the time to flush) has passed; the count still open at the end.
pub async fn serve_until_drained(
    gateway: Arc<Gateway>,
    listener: tokio::net::TcpListener,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<i64> {
    let draining = gateway.clone();
    let drained = async move {
        stop.await;
        draining.begin_shutdown();
        let config = draining.config();
        let deadline =
            tokio::time::Instant::now() + config.limits.shutdown_grace + config.send_timeout * 2;
        let metrics = draining.metrics();
        while metrics.active_sessions() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    serve(gateway.clone(), listener, drained).await?;
    Ok(gateway.metrics().active_sessions())
}
