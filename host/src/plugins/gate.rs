//! How many calls of one slot run at once, and how many may wait: a plugin that is slow
//! (a 1.5 s search, a sleeper) can only ever occupy its own slot's few places, never the
//! workers every session shares. Waiting counts against the call's deadline; with the queue
//! full, a call is refused at once (the caller falls back) rather than piling up.

use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Why a call did not get a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every place taken and the queue full.
    Busy,
    /// The deadline passed while waiting.
    Timeout,
}

pub struct CallGate {
    places: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Leaves the queue however the wait ends (a cancelled call included).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl CallGate {
    /// `concurrent` calls at once (at least 1), `queued` more waiting.
    pub fn new(concurrent: usize, queued: usize) -> CallGate {
        CallGate {
            places: Semaphore::new(concurrent.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting: queued,
        }
    }

    /// A place to run in, waiting until `deadline` at most.
    pub async fn enter(&self, deadline: Instant) -> Result<SemaphorePermit<'_>, Refused> {
        if let Ok(permit) = self.places.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Refused::Busy);
        }
        let _waiting = Waiting(&self.waiting);
        match tokio::time::timeout_at(deadline, self.places.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it as busy if it ever were.
            Ok(Err(_)) => Err(Refused::Busy),
            Err(_) => Err(Refused::Timeout),
        }
    }

    /// Calls waiting for a place now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn bounded_places_bounded_queue_and_waiting_counts_against_the_deadline() {
        let gate = CallGate::new(1, 1);
        let far = Instant::now() + Duration::from_secs(60);
        let running = gate.enter(far).await.expect("a free place");
        // One may wait; it gives up at its deadline.
        let soon = Instant::now() + Duration::from_millis(100);
        let waiter = gate.enter(soon);
        tokio::pin!(waiter);
        assert!(
            futures_util::poll!(waiter.as_mut()).is_pending(),
            "waits for the place"
        );
        assert_eq!(gate.waiting(), 1);
        assert_eq!(
            gate.enter(far).await.err(),
            Some(Refused::Busy),
            "the queue is full: refused at once"
        );
        assert_eq!(waiter.await.err(), Some(Refused::Timeout));
        assert_eq!(gate.waiting(), 0, "a timed-out waiter leaves the queue");
        drop(running);
        assert!(gate.enter(far).await.is_ok());
    }
}
