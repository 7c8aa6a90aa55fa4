//! What the session's select loop waits on when it may be absent — the upstream (none while
//! reconnecting), a reconnect or rotation in progress, a deadline — so each branch is written
//! once: an absent one waits forever.

use super::Reconnect;
use super::upstream_io::{self, UpstreamIo};
use crate::upstream::{Connected, LinkError};
use tokio::time::Instant;

pub(super) async fn upstream_event(upstream: &mut Option<UpstreamIo>) -> upstream_io::Event {
    match upstream {
        Some(io) => io.event().await,
        None => std::future::pending().await,
    }
}

pub(super) async fn wait_for(
    reconnect: &mut Option<Reconnect>,
) -> Option<Result<Connected, LinkError>> {
    match reconnect {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

/// A deadline to sleep until, or forever.
pub(super) async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
