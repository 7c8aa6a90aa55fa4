//! The simulated model: one session's state and the server events each client event produces.
//!
//! Pure and deterministic (no I/O, no clock): `handle` maps a client frame to server events.
//! Event names follow the session's flavour (preview on `/openai/realtime`, GA elsewhere).

use base64::Engine as _;
use serde_json::{Map, Value, json};
use voxgate_wire::Flavour;

use super::usage::{InputTokens, input_audio_tokens};

/// One simulated Realtime session.
pub struct Conversation {
    pub(super) flavour: Flavour,
    pub(super) id: String,
    pub(super) session: Value,
    pub(super) items: Vec<Value>,
    pub(super) audio_bytes: usize,
    pub(super) next_id: u64,
    /// 20 ms frames in each audio response.
    pub(super) audio_frames: u32,
    /// Input audio committed so far, in tokens (for `usage`).
    pub(super) audio_tokens_in: u64,
    /// The input the previous response read (the part of the next one that is cached).
    pub(super) read_before: InputTokens,
}

pub(super) fn text_of(item: &Value) -> Option<String> {
    let content = item.get("content")?.as_array()?;
    let text: Vec<&str> = content
        .iter()
        .filter_map(|part| {
            part.get("text")
                .or_else(|| part.get("transcript"))
                .and_then(Value::as_str)
        })
        .collect();
    if text.is_empty() {
        None
    } else {
        Some(text.join(" "))
    }
}

impl Conversation {
    pub fn new(flavour: Flavour, id: String) -> Conversation {
        let session = json!({
            "id": id,
            "object": "realtime.session",
            "model": "voxgate-simulator",
            "modalities": ["text", "audio"],
            "instructions": "",
            "voice": "alloy",
            "tools": [],
            "tool_choice": "auto",
        });
        Conversation {
            flavour,
            id,
            session,
            items: Vec::new(),
            audio_bytes: 0,
            next_id: 0,
            audio_frames: 2,
            audio_tokens_in: 0,
            read_before: InputTokens::default(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// How many 20 ms frames each audio response has.
    pub fn set_audio_frames(&mut self, frames: u32) {
        self.audio_frames = frames;
    }

    pub fn items(&self) -> &[Value] {
        &self.items
    }

    pub(super) fn next(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!(
            "{prefix}_{}_{}",
            self.id.trim_start_matches("sess_"),
            self.next_id
        )
    }

    pub(super) fn event(&mut self, kind: &str, mut body: Map<String, Value>) -> Value {
        body.insert("type".into(), json!(kind));
        body.insert("event_id".into(), json!(self.next("event")));
        Value::Object(body)
    }

    pub(super) fn ga(&self) -> bool {
        self.flavour == Flavour::Ga
    }

    pub fn session_created(&mut self) -> Value {
        let session = self.session.clone();
        self.event("session.created", obj(json!({ "session": session })))
    }

    /// An `error` event, shaped as the real service sends it.
    pub fn error(&mut self, code: &str, message: String, event_id: Option<&str>) -> Value {
        self.event(
            "error",
            obj(json!({ "error": {
                "type": "invalid_request_error",
                "code": code,
                "message": message,
                "param": null,
                "event_id": event_id,
            }})),
        )
    }

    /// The server events answering one client text frame.
    pub fn handle(&mut self, frame: &str) -> Vec<Value> {
        let event: Value = match serde_json::from_str(frame) {
            Ok(v) => v,
            Err(e) => {
                return vec![self.error(
                    "invalid_json",
                    format!("The event is not valid JSON: {e}"),
                    None,
                )];
            }
        };
        let client_event_id = event
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let eid = client_event_id.as_deref();
        let Some(kind) = event.get("type").and_then(Value::as_str) else {
            return vec![self.error(
                "invalid_event",
                "The event has no 'type' string.".into(),
                eid,
            )];
        };
        match kind {
            "session.update" => match event.get("session") {
                Some(Value::Object(update)) => {
                    if let Value::Object(session) = &mut self.session {
                        for (k, v) in update {
                            session.insert(k.clone(), v.clone());
                        }
                    }
                    let session = self.session.clone();
                    vec![self.event("session.updated", obj(json!({ "session": session })))]
                }
                _ => vec![self.error(
                    "invalid_value",
                    "session.update needs a 'session' object.".into(),
                    eid,
                )],
            },
            "conversation.item.create" => match event.get("item") {
                Some(Value::Object(item)) if item.get("type").and_then(Value::as_str).is_some() => {
                    let mut item = Value::Object(item.clone());
                    self.add_item(&mut item)
                }
                _ => vec![self.error(
                    "invalid_value",
                    "conversation.item.create needs an 'item' with a 'type'.".into(),
                    eid,
                )],
            },
            "conversation.item.delete" => {
                let id = event
                    .get("item_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                match self.items.iter().position(|i| i["id"] == id) {
                    Some(n) => {
                        self.items.remove(n);
                        vec![self.event("conversation.item.deleted", obj(json!({ "item_id": id })))]
                    }
                    None => {
                        vec![self.error("item_not_found", format!("No item with id '{id}'."), eid)]
                    }
                }
            }
            "conversation.item.retrieve" => {
                let id = event
                    .get("item_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                match self.items.iter().find(|i| i["id"] == id).cloned() {
                    Some(item) => vec![
                        self.event("conversation.item.retrieved", obj(json!({ "item": item }))),
                    ],
                    None => {
                        vec![self.error("item_not_found", format!("No item with id '{id}'."), eid)]
                    }
                }
            }
            "conversation.item.truncate" => {
                let id = event.get("item_id").cloned().unwrap_or(Value::Null);
                let audio_end_ms = event.get("audio_end_ms").cloned().unwrap_or(json!(0));
                vec![self.event(
                    "conversation.item.truncated",
                    obj(json!({ "item_id": id, "content_index": 0, "audio_end_ms": audio_end_ms })),
                )]
            }
            "input_audio_buffer.append" => match event.get("audio").and_then(Value::as_str) {
                Some(audio) => match base64::engine::general_purpose::STANDARD.decode(audio) {
                    Ok(bytes) => {
                        self.audio_bytes += bytes.len();
                        vec![]
                    }
                    Err(_) => vec![self.error(
                        "invalid_value",
                        "'audio' is not valid base64.".into(),
                        eid,
                    )],
                },
                None => vec![self.error(
                    "invalid_value",
                    "input_audio_buffer.append needs an 'audio' string.".into(),
                    eid,
                )],
            },
            "input_audio_buffer.commit" => self.commit_audio(eid),
            "input_audio_buffer.clear" => {
                self.audio_bytes = 0;
                vec![self.event("input_audio_buffer.cleared", Map::new())]
            }
            "output_audio_buffer.clear" => {
                vec![self.event("output_audio_buffer.cleared", Map::new())]
            }
            "response.create" => self.respond(),
            "response.cancel" => {
                vec![self.error(
                    "response_cancel_not_active",
                    "There is no active response to cancel.".into(),
                    eid,
                )]
            }
            other => vec![self.error(
                "invalid_event",
                format!("Unknown event type '{other}'."),
                eid,
            )],
        }
    }

    pub(super) fn add_item(&mut self, item: &mut Value) -> Vec<Value> {
        if item.get("id").and_then(Value::as_str).is_none() {
            item["id"] = json!(self.next("item"));
        }
        item["object"] = json!("realtime.item");
        if item.get("status").is_none() {
            item["status"] = json!("completed");
        }
        let previous = self
            .items
            .last()
            .map(|i| i["id"].clone())
            .unwrap_or(Value::Null);
        self.items.push(item.clone());
        let mut events = vec![self.event(
            "conversation.item.created",
            obj(json!({ "previous_item_id": previous, "item": item })),
        )];
        if self.ga() {
            events.push(self.event(
                "conversation.item.added",
                obj(json!({ "previous_item_id": previous, "item": item })),
            ));
            events.push(self.event(
                "conversation.item.done",
                obj(json!({ "previous_item_id": previous, "item": item })),
            ));
        }
        events
    }

    fn commit_audio(&mut self, eid: Option<&str>) -> Vec<Value> {
        if self.audio_bytes == 0 {
            return vec![self.error(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: the buffer is empty.".into(),
                eid,
            )];
        }
        let transcript = format!(
            "Simulated transcript of {} bytes of audio.",
            self.audio_bytes
        );
        self.audio_tokens_in += input_audio_tokens(self.audio_bytes);
        self.audio_bytes = 0;
        let item_id = self.next("item");
        let previous = self
            .items
            .last()
            .map(|i| i["id"].clone())
            .unwrap_or(Value::Null);
        let mut events = vec![self.event(
            "input_audio_buffer.committed",
            obj(json!({ "previous_item_id": previous, "item_id": item_id })),
        )];
        let mut item = json!({
            "id": item_id, "type": "message", "role": "user",
            "content": [{ "type": "input_audio", "transcript": transcript }],
        });
        events.extend(self.add_item(&mut item));
        events.push(self.event(
            "conversation.item.input_audio_transcription.completed",
            obj(json!({ "item_id": item_id, "content_index": 0, "transcript": transcript })),
        ));
        events
    }
}

pub(super) fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub(super) fn merge(base: &Value, extra: Value) -> Map<String, Value> {
    let mut map = obj(base.clone());
    map.extend(obj(extra));
    map
}

#[cfg(test)]
mod tests;
