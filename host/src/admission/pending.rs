//! Connections not yet upgraded to a session (a TCP connection before and while its HTTP
//! request is read), bounded per client address and in total, so a client that opens
//! thousands of connections and never finishes a request cannot take the gateway's file
//! descriptors from everyone else. A connection over a bound is closed at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

pub struct PendingConnections {
    per_address: usize,
    total: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One pending connection; released when the connection upgrades or closes.
pub struct Pending {
    limits: Arc<PendingConnections>,
    ip: IpAddr,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut open = self.limits.lock();
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

impl PendingConnections {
    /// At most `per_address` pending connections from one address and `total` in all.
    pub fn new(per_address: usize, total: usize) -> Arc<PendingConnections> {
        Arc::new(PendingConnections {
            per_address,
            total,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<IpAddr, usize>)> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a new connection from `ip`, if there is one.
    pub fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<Pending> {
        let mut open = self.lock();
        let from_ip = open.1.get(&ip).copied().unwrap_or(0);
        if open.0 >= self.total || from_ip >= self.per_address {
            return None;
        }
        open.0 += 1;
        *open.1.entry(ip).or_default() += 1;
        Some(Pending {
            limits: self.clone(),
            ip,
        })
    }

    /// Pending connections now.
    pub fn count(&self) -> usize {
        self.lock().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_per_address_and_in_total() {
        let pending = PendingConnections::new(2, 3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = pending.enter(a).unwrap();
        let _second = pending.enter(a).unwrap();
        assert!(pending.enter(a).is_none(), "per address");
        let _third = pending.enter(b).unwrap();
        assert!(pending.enter(b).is_none(), "in total");
        drop(first);
        assert_eq!(pending.count(), 2);
        assert!(
            pending.enter(b).is_some(),
            "a closed connection frees its place"
        );
    }
}
