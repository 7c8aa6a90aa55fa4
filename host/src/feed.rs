//! The operators' live feed: what happens in the gateway as it happens — sessions opening and
//! closing, upstream reconnects, breaker transitions, plugin swaps, refusals and faults — for
//! `GET /admin/events` (server-sent events) and the console.
//!
//! Bounded: each event is serialized once and shared; a subscriber that falls more than
//! [`BACKLOG`] events behind is told how many it missed (a `feed.lagged` event) instead of
//! holding memory; at most [`MAX_SUBSCRIBERS`] subscribe at once. With nobody subscribed,
//! publishing costs a check.

use crate::resilience::{BreakerObserver, BreakerState};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;

/// Events a subscriber may fall behind by before it skips ahead.
pub const BACKLOG: usize = 512;
/// Subscribers at once (each holds a streaming response open).
pub const MAX_SUBSCRIBERS: usize = 32;

pub struct Feed {
    tx: broadcast::Sender<Arc<str>>,
    subscribers: Arc<AtomicUsize>,
}

impl Default for Feed {
    fn default() -> Feed {
        Feed {
            tx: broadcast::Sender::new(BACKLOG),
            subscribers: Arc::default(),
        }
    }
}

/// What a subscriber receives next.
#[derive(Debug, PartialEq)]
pub enum Next {
    Event(Arc<str>),
    /// It fell behind: this many events were skipped (the text is a `feed.lagged` event).
    Lagged(Arc<str>),
    Closed,
}

/// One subscriber's place; frees it on drop.
pub struct Subscription {
    rx: broadcast::Receiver<Arc<str>>,
    subscribers: Arc<AtomicUsize>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.subscribers.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Subscription {
    pub async fn next(&mut self) -> Next {
        match self.rx.recv().await {
            Ok(event) => Next::Event(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => Next::Lagged(
                event_text("feed.lagged", json!({ "missed": missed }))
                    .as_str()
                    .into(),
            ),
            Err(broadcast::error::RecvError::Closed) => Next::Closed,
        }
    }
}

fn event_text(kind: &str, detail: Value) -> String {
    let mut event = Map::new();
    event.insert("type".into(), json!(kind));
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.as_millis() as u64);
    event.insert("at_unix_ms".into(), json!(at));
    if let Value::Object(detail) = detail {
        event.extend(detail);
    }
    Value::Object(event).to_string()
}

impl Feed {
    /// Tell subscribers that `kind` happened; `detail` (an object) is merged into the event.
    pub fn publish(&self, kind: &str, detail: Value) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        // Fails only when the last subscriber left meanwhile: nobody to tell.
        let _ = self.tx.send(event_text(kind, detail).into());
    }

    /// A new subscriber, or `None` when [`MAX_SUBSCRIBERS`] are subscribed.
    pub fn subscribe(&self) -> Option<Subscription> {
        let taken = self
            .subscribers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_SUBSCRIBERS).then_some(n + 1)
            });
        taken.ok().map(|_| Subscription {
            rx: self.tx.subscribe(),
            subscribers: self.subscribers.clone(),
        })
    }
}

/// Breaker transitions (not the initial report) are news.
impl BreakerObserver for Feed {
    fn breaker_state(&self, breaker: &'static str, state: BreakerState, transition: bool) {
        if transition {
            self.publish(
                "breaker",
                json!({ "breaker": breaker, "state": state.as_str() }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_events_in_order_and_are_told_what_they_missed() {
        let feed = Feed::default();
        feed.publish("nobody.listens", json!({}));
        let mut sub = feed.subscribe().expect("a place");
        feed.publish("session.opened", json!({ "id": "sess_1" }));
        let Next::Event(text) = sub.next().await else {
            panic!("an event")
        };
        let event: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (event["type"].as_str(), event["id"].as_str()),
            (Some("session.opened"), Some("sess_1"))
        );
        assert!(event["at_unix_ms"].as_u64().unwrap() > 0);
        for i in 0..BACKLOG + 5 {
            feed.publish("tick", json!({ "i": i }));
        }
        let Next::Lagged(text) = sub.next().await else {
            panic!("told it lagged")
        };
        assert!(text.contains(r#""missed":5"#), "{text}");
        let Next::Event(text) = sub.next().await else {
            panic!("then the events kept")
        };
        assert!(text.contains(r#""i":5"#), "{text}");
    }

    #[test]
    fn subscribers_are_bounded_and_places_come_back() {
        let feed = Feed::default();
        let all: Vec<_> = (0..MAX_SUBSCRIBERS)
            .map(|_| feed.subscribe().unwrap())
            .collect();
        assert!(feed.subscribe().is_none());
        drop(all);
        assert!(feed.subscribe().is_some());
    }
}
