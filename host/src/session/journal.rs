//! The client-event journal: every event sent upstream whose effect the upstream acknowledges
//! is kept until that acknowledgement arrives — an item until its `conversation.item.created`
//! (or `.added`) echo with the same id, `response.create` until `response.created`, and so on,
//! or an `error` naming its `event_id`. When the upstream drops, whatever it had not
//! acknowledged is replayed into the new upstream session after the restore, in the original
//! order, exactly once; nothing acknowledged is sent twice (it is in the restored state).
//! Appended audio is not journaled on its own: it is pending audio in `memory` until the client
//! commits it, and then travels with its commit (replayed before it, dropped with its
//! acknowledgement).

use serde_json::Value;
use std::collections::VecDeque;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The server event that acknowledges a client event of `kind`, and whether it is matched
/// by the item id (`item.id` / `item_id`) or first-in-first-out.
fn acknowledged_by(kind: &str) -> Option<(&'static [&'static str], bool)> {
    Some(match kind {
        "conversation.item.create" => (
            &["conversation.item.created", "conversation.item.added"][..],
            true,
        ),
        "conversation.item.delete" => (&["conversation.item.deleted"][..], true),
        "conversation.item.truncate" => (&["conversation.item.truncated"][..], true),
        "session.update" => (&["session.updated"][..], false),
        "response.create" => (&["response.created"][..], false),
        "response.cancel" => (&["response.done", "response.cancelled"][..], false),
        "input_audio_buffer.commit" => (&["input_audio_buffer.committed"][..], false),
        "input_audio_buffer.clear" => (&["input_audio_buffer.cleared"][..], false),
        _ => return None,
    })
}

/// The id an event is matched by: the item it creates, or the item it names.
fn item_key(event: &Value) -> Option<&str> {
    event["item"]["id"]
        .as_str()
        .or_else(|| event["item_id"].as_str())
}

/// Unacknowledged events held beyond this are refused (`upstream_backlog`): the upstream
/// acknowledges events within `UPSTREAM_ACK_TIMEOUT` or counts as gone, so only a flood gets here.
pub const MAX_BYTES: usize = 16 << 20;

#[derive(Debug)]
struct Entry {
    kind: String,
    key: Option<String>,
    event_id: Option<String>,
    text: String,
    /// Frames to send before it on a replay (the audio a commit commits).
    before: Vec<Utf8Bytes>,
    sent_at: Instant,
}

/// An unacknowledged event to send again: the frames before it, then itself.
#[derive(Debug, PartialEq, Eq)]
pub struct Replay {
    pub kind: String,
    pub text: String,
    pub before: Vec<Utf8Bytes>,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.text.len() + self.before.iter().map(|frame| frame.len()).sum::<usize>()
    }
}

#[derive(Debug, Default)]
pub struct Journal {
    entries: VecDeque<Entry>,
    bytes: usize,
}

impl Journal {
    /// Whether events of `kind` are journaled (their acknowledgement is recognised).
    pub fn tracks(kind: &str) -> bool {
        acknowledged_by(kind).is_some()
    }

    /// An event of `kind` (as sent: `text`) is on its way upstream, with nothing before it.
    #[cfg(test)]
    pub fn record(&mut self, kind: &str, event: &Value, text: &str) {
        self.record_after(kind, event, text, Vec::new());
    }

    /// An event on its way upstream that needs `before` sent before it when it is replayed.
    pub fn record_after(&mut self, kind: &str, event: &Value, text: &str, before: Vec<Utf8Bytes>) {
        if !Self::tracks(kind) {
            return;
        }
        let entry = Entry {
            kind: kind.to_string(),
            key: item_key(event).map(str::to_owned),
            event_id: event["event_id"].as_str().map(str::to_owned),
            text: text.to_string(),
            before,
            sent_at: Instant::now(),
        };
        self.bytes += entry.bytes();
        self.entries.push_back(entry);
    }

    /// A server event: remove the journaled event it acknowledges, if any.
    pub fn acknowledge(&mut self, server_kind: &str, event: &Value) -> bool {
        let position = if server_kind == "error" {
            let id = event["error"]["event_id"].as_str();
            self.entries
                .iter()
                .position(|e| id.is_some() && e.event_id.as_deref() == id)
        } else {
            let key = item_key(event);
            self.entries.iter().position(|e| {
                acknowledged_by(&e.kind).is_some_and(|(acks, by_key)| {
                    acks.contains(&server_kind) && (!by_key || e.key.as_deref() == key)
                })
            })
        };
        match position.and_then(|at| self.entries.remove(at)) {
            Some(entry) => {
                self.bytes -= entry.bytes();
                true
            }
            None => false,
        }
    }

    /// When the oldest unacknowledged event was sent.
    pub fn oldest(&self) -> Option<Instant> {
        self.entries.front().map(|e| e.sent_at)
    }

    /// The kinds of the unacknowledged events, oldest first (for the log).
    pub fn kinds(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.kind.as_str()).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of unacknowledged events held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Everything unacknowledged, oldest first, to send again (it is recorded again as it
    /// goes). `session.update`s are left out: the restore carries the merged settings.
    pub fn take_for_replay(&mut self) -> Vec<Replay> {
        self.bytes = 0;
        self.entries
            .drain(..)
            .filter(|e| e.kind != "session.update")
            .map(|e| Replay {
                kind: e.kind,
                text: e.text,
                before: e.before,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(id: &str) -> Value {
        json!({"type": "conversation.item.create", "item": {"id": id, "type": "message"}})
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_what_is_unacknowledged_in_order() {
        let mut journal = Journal::default();
        for id in ["a", "b", "c"] {
            journal.record("conversation.item.create", &create(id), id);
        }
        journal.record("response.create", &json!({"type": "response.create"}), "r");
        journal.record(
            "input_audio_buffer.append",
            &json!({"audio": "AAAA"}),
            "audio",
        );
        assert_eq!(journal.len(), 4, "audio appends are not journaled");
        assert!(journal.acknowledge("conversation.item.created", &json!({"item": {"id": "b"}})));
        assert!(
            !journal.acknowledge("conversation.item.created", &json!({"item": {"id": "zzz"}})),
            "an item the gateway did not send acknowledges nothing"
        );
        assert!(journal.acknowledge("response.created", &json!({})));
        let replay: Vec<String> = journal
            .take_for_replay()
            .into_iter()
            .map(|r| r.text)
            .collect();
        assert_eq!(replay, ["a", "c"]);
        assert_eq!((journal.len(), journal.bytes()), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_naming_the_event_acknowledges_it() {
        let mut journal = Journal::default();
        let event = json!({"type": "response.create", "event_id": "e1"});
        journal.record("response.create", &event, "r");
        let started = journal.oldest();
        assert!(started.is_some());
        assert!(journal.acknowledge("error", &json!({"error": {"event_id": "e1"}})));
        assert_eq!(journal.oldest(), None);
    }

    #[test]
    fn session_updates_are_not_replayed() {
        let mut journal = Journal::default();
        journal.record("session.update", &json!({}), "s");
        journal.record("conversation.item.create", &create("x"), "x");
        let kinds: Vec<String> = journal
            .take_for_replay()
            .into_iter()
            .map(|r| r.kind)
            .collect();
        assert_eq!(kinds, ["conversation.item.create"]);
    }

    #[test]
    fn a_commit_carries_its_audio_until_acknowledged() {
        let mut journal = Journal::default();
        let commit = json!({"type": "input_audio_buffer.commit"});
        journal.record_after(
            "input_audio_buffer.commit",
            &commit,
            "commit",
            vec!["a1".into(), "a2".into()],
        );
        assert_eq!(journal.bytes(), "commit".len() + 4, "the audio counts");
        let replay = journal.take_for_replay();
        assert_eq!(
            replay,
            [Replay {
                kind: "input_audio_buffer.commit".into(),
                text: "commit".into(),
                before: vec!["a1".into(), "a2".into()],
            }]
        );
        journal.record_after(
            "input_audio_buffer.commit",
            &commit,
            "commit",
            vec!["a".into()],
        );
        assert!(journal.acknowledge("input_audio_buffer.committed", &json!({})));
        assert_eq!(
            (journal.len(), journal.bytes()),
            (0, 0),
            "acknowledged with its audio"
        );
    }
}
