//! Connections not yet upgraded to a session (a TCP connection before and while its HTTP
//! request is read), bounded per client address and in total, so a client that opens
//! thousands of connections and never finishes a request cannot take the gateway's file
//! descriptors from everyone else. A connection over a bound is closed at once. When the
//! process runs out of descriptors anyway, the oldest pending connections are shed first
//! (slow and silent clients, not the request arriving now).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

pub struct PendingConnections {
    per_address: usize,
    total: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
    /// Each connection's shed signal, oldest first (ids grow).
    by_age: BTreeMap<u64, Arc<Notify>>,
    next_id: u64,
}

/// One pending connection; released when the connection upgrades or closes.
pub struct Pending {
    limits: Arc<PendingConnections>,
    ip: IpAddr,
    id: u64,
    shed: Arc<Notify>,
}

impl Pending {
    /// Resolves when this connection is to be closed to free its descriptor.
    pub async fn shed(&self) {
        self.shed.notified().await;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut open = self.limits.lock();
        open.total = open.total.saturating_sub(1);
        open.by_age.remove(&self.id);
        if let Some(n) = open.per_address.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.per_address.remove(&self.ip);
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
            open: Mutex::new(Open::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a new connection from `ip`, if there is one.
    pub fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<Pending> {
        let mut open = self.lock();
        let from_ip = open.per_address.get(&ip).copied().unwrap_or(0);
        if open.total >= self.total || from_ip >= self.per_address {
            return None;
        }
        open.total += 1;
        *open.per_address.entry(ip).or_default() += 1;
        let id = open.next_id;
        open.next_id += 1;
        let shed = Arc::new(Notify::new());
        open.by_age.insert(id, shed.clone());
        Some(Pending {
            limits: self.clone(),
            ip,
            id,
            shed,
        })
    }

    /// Tell the `n` oldest pending connections to close; how many were told.
    pub fn shed_oldest(&self, n: usize) -> usize {
        let mut open = self.lock();
        let mut told = 0;
        while told < n
            && let Some((_, shed)) = open.by_age.pop_first()
        {
            shed.notify_one();
            told += 1;
        }
        told
    }

    /// Pending connections now.
    pub fn count(&self) -> usize {
        self.lock().total
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

    #[test]
    fn the_oldest_are_shed_first_and_each_once() {
        let pending = PendingConnections::new(10, 10);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let told = |place: &Pending| futures_util::FutureExt::now_or_never(place.shed()).is_some();
        let old: Vec<Pending> = (0..3).map(|_| pending.enter(ip).unwrap()).collect();
        let new = pending.enter(ip).unwrap();
        assert_eq!(pending.shed_oldest(2), 2);
        assert!(told(&old[0]) && told(&old[1]));
        assert!(!told(&old[2]) && !told(&new));
        drop(old);
        assert_eq!(
            pending.shed_oldest(10),
            1,
            "closed ones are gone; none twice"
        );
        assert!(told(&new));
        assert_eq!(pending.shed_oldest(10), 0);
    }
}
