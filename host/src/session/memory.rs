//! What a reconnect restores: the session settings (template + the client's updates), the
//! conversation items so far, and the audio appended since the last commit. Fed by the
//! events flowing both ways; read once per reconnect by [`Memory::restore_events`] (settings
//! and items, first) and [`Memory::pending_audio`] (after the journal's replay). A commit
//! the client sends takes the audio before it along ([`Memory::take_pending_audio`]: the journal
//! keeps it with the commit until the upstream acknowledges it), so audio appended after an
//! unacknowledged commit is never merged into it on a restore.

use super::settings::{merge, upstream_session};
use crate::upstream::Flavour;
use serde_json::{Value, json};
use std::collections::VecDeque;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Items kept for restoring context (oldest dropped beyond this).
const MAX_ITEMS: usize = 1000;
/// Appended audio kept since the last commit (oldest dropped beyond this): ~3 min of 24 kHz PCM16.
const MAX_PENDING_AUDIO_BYTES: usize = 16 << 20;

pub struct Memory {
    flavour: Flavour,
    session: Value,
    /// Items with their size (bytes of JSON), oldest first.
    items: VecDeque<(Value, usize)>,
    item_bytes: usize,
    /// `RESTORE_MAX_BYTES`: the oldest items are forgotten beyond it.
    max_item_bytes: usize,
    /// Items forgotten since the last restore (the client is told how many).
    forgotten: usize,
    /// The appends since the last commit, as the client wrote them (shared, not copied).
    pending_audio: VecDeque<Utf8Bytes>,
    pending_audio_bytes: usize,
    /// The session settings the current upstream imposes (`[upstream.session]`: model, voice).
    upstream_override: Option<Value>,
}

fn json_size(item: &Value) -> usize {
    serde_json::to_vec(item).map_or(0, |bytes| bytes.len())
}

impl Memory {
    /// Keeps at most `max_item_bytes` of conversation items (the oldest go first).
    pub fn new(template: &Value, flavour: Flavour, max_item_bytes: usize) -> Memory {
        Memory {
            flavour,
            session: template.clone(),
            items: VecDeque::new(),
            item_bytes: 0,
            max_item_bytes,
            forgotten: 0,
            pending_audio: VecDeque::new(),
            pending_audio_bytes: 0,
            upstream_override: None,
        }
    }

    /// The full `session.update` for the upstream (template + client updates + the current
    /// upstream's own settings + gateway tools).
    pub fn session_update(&self) -> Value {
        let session = match &self.upstream_override {
            Some(own) => {
                let mut session = self.session.clone();
                merge(&mut session, own);
                upstream_session(&session, self.flavour)
            }
            None => upstream_session(&self.session, self.flavour),
        };
        json!({ "type": "session.update", "session": session })
    }

    /// The session now runs on an upstream with these settings of its own (a model name or a
    /// voice belongs to the upstream, so they win over the client's).
    pub fn set_upstream_override(&mut self, own: Option<Value>) {
        self.upstream_override = own;
    }

    /// A client event on its way upstream.
    pub fn client_event(&mut self, kind: &str, event: &Value) {
        match kind {
            "session.update" => merge(&mut self.session, &event["session"]),
            "input_audio_buffer.clear" => self.clear_audio(),
            _ => {}
        }
    }

    /// An `input_audio_buffer.append` on its way upstream (`frame`: the event as sent).
    pub fn audio_appended(&mut self, frame: Utf8Bytes) {
        self.pending_audio_bytes += frame.len();
        self.pending_audio.push_back(frame);
        while self.pending_audio_bytes > MAX_PENDING_AUDIO_BYTES {
            match self.pending_audio.pop_front() {
                Some(old) => self.pending_audio_bytes -= old.len(),
                None => break,
            }
        }
    }

    /// The appends since the last commit, leaving none: a commit on its way upstream takes
    /// them along.
    pub fn take_pending_audio(&mut self) -> Vec<Utf8Bytes> {
        self.pending_audio_bytes = 0;
        self.pending_audio.drain(..).collect()
    }

    /// The upstream committed the audio buffer on its own (voice activity detection): the
    /// audio so far is now a conversation item.
    pub fn audio_committed_by_upstream(&mut self) {
        self.clear_audio();
    }

    fn clear_audio(&mut self) {
        self.pending_audio.clear();
        self.pending_audio_bytes = 0;
    }

    /// A server event on its way to the client.
    pub fn server_event(&mut self, kind: &str, event: &Value) {
        match kind {
            "conversation.item.created"
            | "conversation.item.added"
            | "conversation.item.done"
            | "conversation.item.retrieved"
            | "response.output_item.done" => self.upsert(&event["item"]),
            "conversation.item.deleted" => {
                if let Some(id) = event["item_id"].as_str()
                    && let Some(at) = self.items.iter().position(|(item, _)| item["id"] == id)
                    && let Some((_, size)) = self.items.remove(at)
                {
                    self.item_bytes -= size;
                }
            }
            "conversation.item.input_audio_transcription.completed" => {
                let (Some(id), Some(transcript)) =
                    (event["item_id"].as_str(), event["transcript"].as_str())
                else {
                    return;
                };
                let index = event["content_index"].as_u64().unwrap_or(0) as usize;
                if let Some((item, size)) = self.items.iter_mut().find(|(item, _)| item["id"] == id)
                    && let Some(part) = item["content"].get_mut(index)
                {
                    part["transcript"] = json!(transcript);
                    let new_size = json_size(item);
                    self.item_bytes = self.item_bytes + new_size - *size;
                    *size = new_size;
                    self.trim();
                }
            }
            _ => {}
        }
    }

    fn upsert(&mut self, item: &Value) {
        let Some(id) = item.get("id").and_then(Value::as_str) else {
            return;
        };
        if let Some((existing, size)) = self.items.iter_mut().find(|(i, _)| i["id"] == id) {
            // A later event may carry less (e.g. `added` before content arrived): keep content.
            let keep_content = item
                .get("content")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            let content = existing.get("content").cloned();
            *existing = item.clone();
            if keep_content && let Some(content) = content {
                existing["content"] = content;
            }
            let new_size = json_size(existing);
            self.item_bytes = self.item_bytes + new_size - *size;
            *size = new_size;
        } else {
            let size = json_size(item);
            self.item_bytes += size;
            self.items.push_back((item.clone(), size));
        }
        self.trim();
    }

    /// Forget the oldest items beyond the count and byte bounds.
    fn trim(&mut self) {
        while self.items.len() > MAX_ITEMS || self.item_bytes > self.max_item_bytes {
            match self.items.pop_front() {
                Some((_, size)) => {
                    self.item_bytes -= size;
                    self.forgotten += 1;
                }
                None => break,
            }
        }
    }

    /// Items forgotten (over `RESTORE_MAX_BYTES`) since this was last asked.
    pub fn take_forgotten(&mut self) -> usize {
        std::mem::take(&mut self.forgotten)
    }

    /// Bytes of conversation items kept for restores.
    pub fn item_bytes(&self) -> usize {
        self.item_bytes
    }

    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// What a fresh upstream session is sent first so it continues this one, in order: the
    /// session settings, the conversation items. Also the ids of the items re-created (their
    /// echoes are not shown to the client again).
    pub fn restore_events(&self) -> (Vec<Value>, Vec<String>) {
        let mut events = vec![self.session_update()];
        let mut ids = Vec::new();
        for (item, _) in &self.items {
            if let Some(item) = restorable(item, self.flavour) {
                if let Some(id) = item["id"].as_str() {
                    ids.push(id.to_string());
                }
                events.push(json!({ "type": "conversation.item.create", "item": item }));
            }
        }
        (events, ids)
    }

    /// The appends since the last commit, to send again after the replay.
    pub fn pending_audio(&self) -> Vec<Utf8Bytes> {
        self.pending_audio.iter().cloned().collect()
    }
}

/// An item as it can be created again: audio becomes its transcript; server-only fields go.
fn restorable(item: &Value, flavour: Flavour) -> Option<Value> {
    let id = item.get("id").cloned().unwrap_or(Value::Null);
    match item.get("type")?.as_str()? {
        "function_call" => Some(json!({
            "id": id, "type": "function_call",
            "call_id": item.get("call_id")?, "name": item.get("name")?,
            "arguments": item.get("arguments").cloned().unwrap_or(json!("{}")),
        })),
        "function_call_output" => Some(json!({
            "id": id, "type": "function_call_output",
            "call_id": item.get("call_id")?, "output": item.get("output").cloned().unwrap_or(json!("")),
        })),
        "message" => {
            let role = item.get("role")?.as_str()?;
            let text_type = match (role, flavour) {
                ("assistant", Flavour::Ga) => "output_text",
                ("assistant", Flavour::Preview) => "text",
                _ => "input_text",
            };
            let parts: Vec<Value> = item
                .get("content")?
                .as_array()?
                .iter()
                .filter_map(|part| {
                    part.get("text")
                        .or_else(|| part.get("transcript"))
                        .and_then(Value::as_str)
                })
                .filter(|text| !text.is_empty())
                .map(|text| json!({ "type": text_type, "text": text }))
                .collect();
            (!parts.is_empty())
                .then(|| json!({ "id": id, "type": "message", "role": role, "content": parts }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstreams_own_settings_win_and_follow_the_session_to_another() {
        let mut m = Memory::new(
            &json!({"voice": "alloy", "model": "x"}),
            Flavour::Ga,
            1 << 20,
        );
        m.client_event(
            "session.update",
            &json!({"session": {"voice": "ash", "instructions": "be brief"}}),
        );
        m.set_upstream_override(Some(
            json!({"model": "gpt-realtime-mini", "voice": "verse"}),
        ));
        let session = &m.session_update()["session"];
        assert_eq!(
            (session["model"].as_str(), session["voice"].as_str()),
            (Some("gpt-realtime-mini"), Some("verse"))
        );
        assert_eq!(
            session["instructions"], "be brief",
            "the client's other settings stay"
        );
        m.set_upstream_override(None);
        let (restore, _) = m.restore_events();
        assert_eq!(
            restore[0]["session"]["voice"], "ash",
            "on an upstream without its own"
        );
    }

    #[test]
    fn restores_settings_items_and_the_audio_after_the_last_commit() {
        let mut m = Memory::new(&json!({"voice":"alloy"}), Flavour::Preview, 1 << 20);
        m.client_event("session.update", &json!({"session":{"voice":"verse"}}));
        m.server_event("conversation.item.created", &json!({"item":{"id":"u1","type":"message","role":"user","content":[{"type":"input_audio","transcript":null}]}}));
        m.server_event(
            "conversation.item.input_audio_transcription.completed",
            &json!({"item_id":"u1","content_index":0,"transcript":"hi there"}),
        );
        m.server_event(
            "conversation.item.created",
            &json!({"item":{"id":"a1","type":"message","role":"assistant","content":[]}}),
        );
        m.server_event("response.output_item.done", &json!({"item":{"id":"a1","type":"message","role":"assistant","content":[{"type":"audio","transcript":"hello"}]}}));
        m.server_event("response.output_item.done", &json!({"item":{"id":"f1","type":"function_call","call_id":"c1","name":"search_knowledge_base","arguments":"{\"query\":\"x\"}"}}));
        m.server_event("conversation.item.created", &json!({"item":{"id":"o1","type":"function_call_output","call_id":"c1","output":"found"}}));
        m.audio_appended("AAAA".into());
        m.client_event("input_audio_buffer.commit", &json!({}));
        // The commit takes the audio before it along (into the journal).
        assert_eq!(m.take_pending_audio(), ["AAAA"]);
        m.audio_appended("BBBB".into());
        let (events, ids) = m.restore_events();
        assert_eq!(events[0]["session"]["voice"], "verse");
        assert_eq!(
            events[0]["session"]["tools"][0]["name"],
            "search_knowledge_base"
        );
        assert_eq!(
            events[1]["item"]["content"],
            json!([{"type":"input_text","text":"hi there"}])
        );
        assert_eq!(
            events[2]["item"]["content"],
            json!([{"type":"text","text":"hello"}])
        );
        assert_eq!(events[3]["item"]["type"], "function_call");
        assert_eq!(events[4]["item"]["output"], "found");
        assert_eq!(events.len(), 5);
        assert_eq!(ids, ["u1", "a1", "f1", "o1"]);
        assert_eq!(m.pending_audio(), ["BBBB"]);
        m.audio_committed_by_upstream();
        assert!(m.pending_audio().is_empty());
    }

    #[test]
    fn deleted_items_are_not_restored() {
        let mut m = Memory::new(&json!({}), Flavour::Ga, 1 << 20);
        m.server_event("conversation.item.created", &json!({"item":{"id":"u1","type":"message","role":"user","content":[{"type":"input_text","text":"x"}]}}));
        m.server_event("conversation.item.deleted", &json!({"item_id":"u1"}));
        assert_eq!(m.restore_events().0.len(), 1);
    }

    #[test]
    fn items_are_bounded_in_bytes_and_the_forgotten_are_counted() {
        let mut m = Memory::new(&json!({}), Flavour::Ga, 1000);
        for n in 0..10 {
            let text = format!("{n}{}", "x".repeat(300));
            m.server_event("conversation.item.created", &json!({"item":{"id": format!("i{n}"),"type":"message","role":"user","content":[{"type":"input_text","text": text}]}}));
        }
        assert!(m.item_bytes() <= 1000, "{}", m.item_bytes());
        let kept = m.item_count();
        assert!((1..10).contains(&kept), "{kept}");
        assert_eq!(m.take_forgotten(), 10 - kept);
        assert_eq!(m.take_forgotten(), 0);
        let (_, ids) = m.restore_events();
        assert_eq!(
            ids.last().map(String::as_str),
            Some("i9"),
            "the newest are kept"
        );
    }
}
