//! How the simulated model answers `response.create`: a function call for a question when the
//! session has a function tool (several for `;`-separated questions), otherwise a message —
//! quoting the tool outputs it was given, or echoing the user — streamed as the real service
//! does (text or audio transcript deltas plus PCM16 audio, then the `…done` events).

use super::conversation::{Conversation, merge, obj, text_of};
use base64::Engine as _;
use serde_json::{Value, json};

impl Conversation {
    /// The function tool to call: the one whose name the user's message mentions, else the first.
    fn function_tool(&self, message: &str) -> Option<String> {
        let names: Vec<&str> = self
            .session
            .get("tools")?
            .as_array()?
            .iter()
            .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
            .filter_map(|t| t.get("name").and_then(Value::as_str))
            .collect();
        names
            .iter()
            .find(|name| message.contains(**name))
            .or(names.first())
            .map(|name| name.to_string())
    }

    fn audio_out(&self) -> bool {
        let key = if self.ga() && self.session.get("output_modalities").is_some() {
            "output_modalities"
        } else {
            "modalities"
        };
        self.session
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|v| v == "audio"))
    }

    pub(super) fn respond(&mut self) -> Vec<Value> {
        let reading = self.read_input();
        let response_id = self.next("resp");
        let mut events = vec![self.event(
            "response.created",
            obj(json!({ "response": { "id": response_id, "object": "realtime.response", "status": "in_progress", "output": [] } })),
        )];
        let last_user_text = self
            .items
            .iter()
            .rev()
            .find(|i| i["role"] == "user")
            .and_then(text_of)
            .unwrap_or_default();
        let answering_tool = self
            .items
            .last()
            .is_some_and(|i| i["type"] == "function_call_output");
        let output: Vec<Value> = match self.function_tool(&last_user_text) {
            Some(tool) if !answering_tool && last_user_text.trim_end().ends_with('?') => {
                // Several questions separated by ';' become several calls in one response.
                let questions: Vec<String> = last_user_text
                    .split(';')
                    .map(str::trim)
                    .filter(|q| !q.is_empty())
                    .map(str::to_owned)
                    .collect();
                questions
                    .iter()
                    .enumerate()
                    .map(|(index, question)| {
                        self.function_call(&response_id, index, &tool, question, &mut events)
                    })
                    .collect()
            }
            _ => {
                let text = if answering_tool {
                    // Quote the start of every output that answers the previous response's calls.
                    let outputs: Vec<String> = self
                        .items
                        .iter()
                        .rev()
                        .take_while(|i| i["type"] == "function_call_output")
                        .map(|i| {
                            i["output"]
                                .as_str()
                                .unwrap_or_default()
                                .chars()
                                .take(160)
                                .collect()
                        })
                        .collect();
                    let outputs: Vec<String> = outputs.into_iter().rev().collect();
                    format!("According to the knowledge base: {}", outputs.join(" | "))
                } else if last_user_text.is_empty() {
                    "Hello from the voxgate simulator.".to_string()
                } else {
                    format!("You said: {last_user_text}")
                };
                vec![self.message(&response_id, &text, &mut events)]
            }
        };
        let speaks = self.audio_out() && output.iter().any(|i| i["type"] == "message");
        let audio_ms = if speaks {
            u64::from(self.audio_frames) * 20
        } else {
            0
        };
        let usage = reading.usage(&output, audio_ms);
        events.push(self.event(
            "response.done",
            obj(json!({ "response": {
                "id": response_id, "object": "realtime.response", "status": "completed",
                "output": output, "usage": usage,
            }})),
        ));
        events
    }

    fn function_call(
        &mut self,
        response_id: &str,
        output_index: usize,
        tool: &str,
        question: &str,
        events: &mut Vec<Value>,
    ) -> Value {
        let item_id = self.next("item");
        let call_id = self.next("call");
        let arguments = json!({ "query": question }).to_string();
        let mut item = json!({
            "id": item_id, "object": "realtime.item", "type": "function_call", "status": "in_progress",
            "name": tool, "call_id": call_id, "arguments": "",
        });
        events.push(self.event(
            "response.output_item.added",
            obj(json!({ "response_id": response_id, "output_index": output_index, "item": item })),
        ));
        let split = arguments.len() / 2;
        let split = (0..=split)
            .rev()
            .find(|i| arguments.is_char_boundary(*i))
            .unwrap_or(0);
        for delta in [&arguments[..split], &arguments[split..]] {
            events.push(self.event(
                "response.function_call_arguments.delta",
                obj(json!({ "response_id": response_id, "item_id": item_id, "output_index": output_index, "call_id": call_id, "delta": delta })),
            ));
        }
        events.push(self.event(
            "response.function_call_arguments.done",
            obj(json!({ "response_id": response_id, "item_id": item_id, "output_index": output_index, "call_id": call_id, "name": tool, "arguments": arguments })),
        ));
        item["status"] = json!("completed");
        item["arguments"] = json!(arguments);
        self.items.push(item.clone());
        events.push(self.event(
            "response.output_item.done",
            obj(json!({ "response_id": response_id, "output_index": output_index, "item": item })),
        ));
        item
    }

    fn message(&mut self, response_id: &str, text: &str, events: &mut Vec<Value>) -> Value {
        let ga = self.ga();
        let audio = self.audio_out();
        let item_id = self.next("item");
        let (part_type, text_key) = match (audio, ga) {
            (true, true) => ("output_audio", "transcript"),
            (true, false) => ("audio", "transcript"),
            (false, true) => ("output_text", "text"),
            (false, false) => ("text", "text"),
        };
        let mut item = json!({
            "id": item_id, "object": "realtime.item", "type": "message", "status": "in_progress",
            "role": "assistant", "content": [],
        });
        let previous = self
            .items
            .last()
            .map(|i| i["id"].clone())
            .unwrap_or(Value::Null);
        events.push(self.event(
            "response.output_item.added",
            obj(json!({ "response_id": response_id, "output_index": 0, "item": item })),
        ));
        events.push(self.event(
            "conversation.item.created",
            obj(json!({ "previous_item_id": previous, "item": item })),
        ));
        let ids = json!({ "response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0 });
        events.push(self.event(
            "response.content_part.added",
            merge(&ids, json!({ "part": { "type": part_type, text_key: "" } })),
        ));
        let words: Vec<&str> = text.split_inclusive(' ').collect();
        let (delta_name, done_name) = match (audio, ga) {
            (true, true) => (
                "response.output_audio_transcript.delta",
                "response.output_audio_transcript.done",
            ),
            (true, false) => (
                "response.audio_transcript.delta",
                "response.audio_transcript.done",
            ),
            (false, true) => ("response.output_text.delta", "response.output_text.done"),
            (false, false) => ("response.text.delta", "response.text.done"),
        };
        for chunk in words.chunks(words.len().div_ceil(3).max(1)) {
            events.push(self.event(delta_name, merge(&ids, json!({ "delta": chunk.concat() }))));
        }
        if audio {
            let (audio_delta, audio_done) = if ga {
                ("response.output_audio.delta", "response.output_audio.done")
            } else {
                ("response.audio.delta", "response.audio.done")
            };
            for n in 0..self.audio_frames {
                events
                    .push(self.event(audio_delta, merge(&ids, json!({ "delta": pcm16_tone(n) }))));
            }
            events.push(self.event(audio_done, ids.as_object().cloned().unwrap_or_default()));
            events.push(self.event(done_name, merge(&ids, json!({ "transcript": text }))));
        } else {
            events.push(self.event(done_name, merge(&ids, json!({ "text": text }))));
        }
        let part = json!({ "type": part_type, text_key: text });
        events.push(self.event(
            "response.content_part.done",
            merge(&ids, json!({ "part": part })),
        ));
        item["status"] = json!("completed");
        item["content"] = json!([part]);
        self.items.push(item.clone());
        events.push(self.event(
            "response.output_item.done",
            obj(json!({ "response_id": response_id, "output_index": 0, "item": item })),
        ));
        item
    }
}

/// 20 ms of a 440 Hz tone, 24 kHz PCM16 little-endian, base64.
fn pcm16_tone(phase: u32) -> String {
    let samples: Vec<u8> = (0..480u32)
        .flat_map(|i| {
            let t = f64::from(i + phase * 480) / 24_000.0;
            let v = ((t * 440.0 * std::f64::consts::TAU).sin() * 8000.0) as i16;
            v.to_le_bytes()
        })
        .collect();
    base64::engine::general_purpose::STANDARD.encode(samples)
}
