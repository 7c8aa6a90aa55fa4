//! What a session holds for the upstream while it reconnects: client events (bounded by
//! `RECONNECT_BUFFER_EVENTS` and `RECONNECT_BUFFER_BYTES`), the gateway's own events (tool outputs, `response.create`) and
//! frames whose send failed as the upstream dropped. Forwarded in order, once, when the
//! upstream is back. An overflow drops client events — counted by the caller and reported to
//! the client once per outage, never silently.

use serde_json::Value;
use std::collections::VecDeque;
use tokio_tungstenite::tungstenite::{Message as UpMessage, Utf8Bytes};

/// Something waiting for the upstream.
#[derive(Debug)]
pub enum Pending {
    /// A client text event, already validated: its type, parsed value and original text.
    Client {
        kind: String,
        value: Value,
        text: String,
    },
    Binary(Vec<u8>),
    /// Appended audio, checked by its head and forwarded as the client wrote it.
    Audio(Utf8Bytes),
    /// An event the gateway itself sends (never dropped: the conversation depends on it).
    Gateway(Value),
    /// Already recorded in memory; its send failed as the upstream dropped: resend as is.
    Frame(UpMessage),
}

/// What [`OutageBuffer::hold`] did with an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Held {
    Kept,
    /// Dropped: the buffer is full. `first` is true for the first drop of this outage (the
    /// client is told then).
    Dropped {
        first: bool,
    },
}

pub struct OutageBuffer {
    queue: VecDeque<Pending>,
    limit: usize,
    bytes: usize,
    max_bytes: usize,
    overflowed: bool,
}

impl Pending {
    /// Bytes it holds (the payload; a parsed client event about doubles it).
    fn size(&self) -> usize {
        match self {
            Pending::Client { text, .. } => text.len() * 2,
            Pending::Binary(bytes) => bytes.len(),
            Pending::Audio(text) => text.len(),
            Pending::Gateway(_) => 0,
            Pending::Frame(frame) => frame.len(),
        }
    }
}

impl OutageBuffer {
    /// Holds up to `limit` client events of `max_bytes` in all (gateway events and failed
    /// sends always fit).
    pub fn new(limit: usize, max_bytes: usize) -> OutageBuffer {
        OutageBuffer {
            queue: VecDeque::new(),
            limit,
            bytes: 0,
            max_bytes,
            overflowed: false,
        }
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Keep `pending` for when the upstream is back, if there is room.
    pub fn hold(&mut self, pending: Pending) -> Held {
        let ours = matches!(pending, Pending::Gateway(_) | Pending::Frame(_));
        let size = pending.size();
        if ours || (self.queue.len() < self.limit && self.bytes + size <= self.max_bytes) {
            self.bytes += size;
            self.queue.push_back(pending);
            return Held::Kept;
        }
        Held::Dropped {
            first: !std::mem::replace(&mut self.overflowed, true),
        }
    }

    /// A frame whose send failed: it goes out first when the upstream is back.
    pub fn retry_first(&mut self, frame: UpMessage) {
        let pending = Pending::Frame(frame);
        self.bytes += pending.size();
        self.queue.push_front(pending);
    }

    /// The next event to forward, oldest first.
    pub fn next(&mut self) -> Option<Pending> {
        let pending = self.queue.pop_front()?;
        self.bytes -= pending.size();
        Some(pending)
    }

    /// The upstream is back: a later outage reports its own overflow.
    pub fn recovered(&mut self) {
        self.overflowed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client(n: u32) -> Pending {
        Pending::Client {
            kind: "x".into(),
            value: json!({ "n": n }),
            text: n.to_string(),
        }
    }

    #[test]
    fn keeps_order_and_bounds_client_events_only() {
        let mut buffer = OutageBuffer::new(2, 1 << 20);
        assert_eq!(buffer.hold(client(1)), Held::Kept);
        assert_eq!(buffer.hold(client(2)), Held::Kept);
        assert_eq!(buffer.hold(client(3)), Held::Dropped { first: true });
        assert_eq!(buffer.hold(client(4)), Held::Dropped { first: false });
        assert_eq!(
            buffer.hold(Pending::Gateway(json!({"type": "response.create"}))),
            Held::Kept,
            "the gateway's own events always fit"
        );
        buffer.retry_first(UpMessage::text("failed send"));
        let order: Vec<String> = std::iter::from_fn(|| buffer.next())
            .map(|p| match p {
                Pending::Client { text, .. } => text,
                Pending::Gateway(v) => v["type"].as_str().unwrap_or_default().to_string(),
                Pending::Frame(f) => f.to_text().unwrap_or_default().to_string(),
                Pending::Binary(_) => "binary".into(),
                Pending::Audio(text) => text.to_string(),
            })
            .collect();
        assert_eq!(order, ["failed send", "1", "2", "response.create"]);
    }

    #[test]
    fn each_outage_reports_its_own_overflow() {
        let mut buffer = OutageBuffer::new(0, 1 << 20);
        assert_eq!(buffer.hold(client(1)), Held::Dropped { first: true });
        buffer.recovered();
        assert_eq!(buffer.hold(client(2)), Held::Dropped { first: true });
    }

    #[test]
    fn bounded_in_bytes_too() {
        let mut buffer = OutageBuffer::new(1000, 100);
        let big = |n: usize| Pending::Client {
            kind: "x".into(),
            value: json!({}),
            text: "z".repeat(n),
        };
        assert_eq!(buffer.hold(big(40)), Held::Kept);
        assert_eq!(
            buffer.hold(big(40)),
            Held::Dropped { first: true },
            "80 + 80 > 100"
        );
        assert_eq!(buffer.hold(big(5)), Held::Kept, "a small one still fits");
        while buffer.next().is_some() {}
        assert_eq!(
            buffer.hold(big(45)),
            Held::Kept,
            "bytes are freed as events leave"
        );
    }
}
