//! Keepalive of both sockets: a ping tick pings each socket not already waiting for a pong;
//! a pong not back within `PONG_TIMEOUT` marks that socket dead (client → the session ends,
//! upstream → reconnect).

use std::time::Duration;
use tokio::time::Instant;

/// Which socket missed its pong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overdue {
    Client,
    Upstream,
}

/// Which sockets to ping on this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pings {
    pub client: bool,
    pub upstream: bool,
}

#[derive(Debug)]
pub struct Keepalive {
    pong_timeout: Duration,
    client_due: Option<Instant>,
    upstream_due: Option<Instant>,
}

impl Keepalive {
    pub fn new(pong_timeout: Duration) -> Keepalive {
        Keepalive {
            pong_timeout,
            client_due: None,
            upstream_due: None,
        }
    }

    /// A ping tick. `upstream_connected`: whether there is an upstream socket to ping.
    pub fn tick(&mut self, upstream_connected: bool) -> Pings {
        let due = Instant::now() + self.pong_timeout;
        let client = self.client_due.is_none();
        if client {
            self.client_due = Some(due);
        }
        let upstream = upstream_connected && self.upstream_due.is_none();
        if upstream {
            self.upstream_due = Some(due);
        }
        Pings { client, upstream }
    }

    pub fn client_pong(&mut self) {
        self.client_due = None;
    }

    pub fn upstream_pong(&mut self) {
        self.upstream_due = None;
    }

    /// The upstream socket is gone: nothing to wait for until the next one.
    pub fn upstream_lost(&mut self) {
        self.upstream_due = None;
    }

    /// When the next pong is due, if any is awaited.
    pub fn next_due(&self) -> Option<Instant> {
        match (self.client_due, self.upstream_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The socket whose pong is late now, the client first.
    pub fn overdue(&self) -> Option<Overdue> {
        let now = Instant::now();
        if self.client_due.is_some_and(|due| due <= now) {
            Some(Overdue::Client)
        } else if self.upstream_due.is_some_and(|due| due <= now) {
            Some(Overdue::Upstream)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_missing_pong_is_overdue_after_the_timeout() {
        let mut keepalive = Keepalive::new(Duration::from_secs(10));
        assert_eq!(keepalive.next_due(), None);
        let pings = keepalive.tick(true);
        assert_eq!(
            pings,
            Pings {
                client: true,
                upstream: true
            }
        );
        keepalive.client_pong();
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(keepalive.overdue(), None);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(keepalive.overdue(), Some(Overdue::Upstream));
        keepalive.upstream_lost();
        assert_eq!(keepalive.overdue(), None);
        assert_eq!(keepalive.next_due(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_socket_waiting_for_its_pong_is_not_pinged_again() {
        let mut keepalive = Keepalive::new(Duration::from_secs(10));
        keepalive.tick(false);
        let first_due = keepalive.next_due();
        tokio::time::advance(Duration::from_secs(5)).await;
        let pings = keepalive.tick(true);
        assert!(!pings.client && pings.upstream);
        assert_eq!(
            keepalive.next_due(),
            first_due,
            "the client's deadline stands"
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(keepalive.overdue(), Some(Overdue::Client));
    }
}
