//! The client side of a session: each frame read is rate-limited, validated
//! (`events::parse_client`), recorded for restores, journaled and forwarded upstream — or held
//! in the outage buffer while the upstream reconnects; and what the session tells the client
//! (through its writer task), errors and closes included.

use super::events::{self, ClientEvent};
use super::journal;
use super::outage::{Held, Pending};
use super::{Flow, Session, frames, rate};
use crate::metrics::Count;
use crate::upstream::{LinkError, link};
use axum::extract::ws::{CloseFrame, Message};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as UpMessage;

/// Bytes of a data frame (0 for control frames).
fn data_len(frame: &Message) -> usize {
    match frame {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        _ => 0,
    }
}

impl Session {
    pub(super) async fn on_client(&mut self, frame: Option<Result<Message, axum::Error>>) -> Flow {
        let frame = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return self.on_client_error(error).await,
            None => return Flow::End,
        };
        if matches!(frame, Message::Text(_) | Message::Binary(_)) {
            self.last_client_event = Instant::now();
            self.live.frame_in(data_len(&frame));
        }
        // Pings count as events: their pongs cost writes, and a flood is limited like any other.
        let verdict = match frame {
            Message::Text(_) | Message::Binary(_) => self.rate.check(),
            Message::Ping(_) => self.rate.check_ping(),
            _ => rate::Verdict::Pass,
        };
        match verdict {
            rate::Verdict::Pass => {}
            rate::Verdict::Drop(report) => return self.rate_limited(report).await,
            rate::Verdict::Flood => return self.ping_flood().await,
        }
        match frame {
            Message::Text(text) if events::is_valid_append(&text) => {
                self.rotation.audio();
                self.forward(Pending::Audio(frames::to_upstream(text)))
                    .await
            }
            Message::Text(text) => {
                let text = text.to_string();
                match events::parse_client(&text) {
                    Ok(ClientEvent { kind, value }) => {
                        self.forward(Pending::Client { kind, value, text }).await
                    }
                    Err(problem) => {
                        let event_id = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
                            v.get("event_id").and_then(Value::as_str).map(str::to_owned)
                        });
                        tracing::debug!("invalid client event: {problem}");
                        self.to_client_value(events::error_for(
                            "invalid_event",
                            problem,
                            event_id.as_deref(),
                        ))
                        .await
                    }
                }
            }
            Message::Binary(bytes) => self.forward(Pending::Binary(bytes.to_vec())).await,
            Message::Pong(_) => {
                self.keepalive.client_pong();
                Flow::Continue
            }
            Message::Ping(_) => Flow::Continue,
            Message::Close(_) => Flow::End,
        }
    }

    /// An event over the rate limit was dropped; `report`: how many to tell the client of now.
    async fn rate_limited(&self, report: Option<u64>) -> Flow {
        self.ctx.metrics.count(Count::ClientEventsDropped);
        let Some(dropped) = report else {
            return Flow::Continue;
        };
        let limit = self.ctx.settings.events_per_second;
        self.to_client_value(events::error(
            "rate_limited",
            format!("More than {limit} events per second, pings included: {dropped} event(s) dropped (RATE_LIMIT_EVENTS_PER_SECOND)."),
        ))
        .await
    }

    /// A second's worth of pings over the limit in a row: their pongs cannot be dropped, so the
    /// client is cut off (1008) before they pile up.
    async fn ping_flood(&self) -> Flow {
        self.ctx.metrics.count(Count::ClientEventsDropped);
        let limit = self.ctx.settings.events_per_second;
        let message = format!(
            "A ping flood: more than {limit} pings per second for a second (RATE_LIMIT_EVENTS_PER_SECOND); closing (1008)."
        );
        tracing::warn!("[WS] {message}");
        self.to_client_value(events::error("rate_limited", message))
            .await;
        self.close_client(1008, "ping_flood").await
    }

    /// Send something upstream now, or hold it while reconnecting.
    pub(super) async fn forward(&mut self, pending: Pending) -> Flow {
        if self.upstream.is_none() {
            return self.hold(pending).await;
        }
        if self.journal.bytes() > journal::MAX_BYTES {
            self.ctx.metrics.count(Count::ClientEventsDropped);
            return self
                .to_client_value(events::error(
                    "upstream_backlog",
                    format!(
                        "The upstream has not acknowledged {} events ({} bytes); this event was dropped.",
                        self.journal.len(),
                        self.journal.bytes()
                    ),
                ))
                .await;
        }
        let frame = match pending {
            Pending::Audio(frame) => {
                self.memory.audio_appended(frame.clone());
                UpMessage::Text(frame)
            }
            Pending::Client { kind, value, text } if kind == "input_audio_buffer.append" => {
                // An append the head parse left to the full one (a duplicated key, say).
                self.memory.audio_appended(text.clone().into());
                self.journaled(&kind, value, Some(text))
            }
            Pending::Client { kind, value, text } => {
                self.memory.client_event(&kind, &value);
                if kind == "session.update" {
                    let mut update = self.memory.session_update();
                    if let Some(id) = value.get("event_id") {
                        update["event_id"] = id.clone();
                    }
                    self.journaled(&kind, update, None)
                } else {
                    self.journaled(&kind, value, Some(text))
                }
            }
            Pending::Binary(bytes) => UpMessage::binary(bytes),
            Pending::Gateway(value) => {
                let kind = value["type"].as_str().unwrap_or_default().to_string();
                self.journaled(&kind, value, None)
            }
            Pending::Frame(frame) => frame,
        };
        self.send_upstream(frame)
    }

    /// The frame for an event on its way upstream, kept in the journal until acknowledged.
    /// An item created without an id gets one (its echo is how the journal knows it arrived);
    /// `text`, when given, is the event as the client wrote it (forwarded byte for byte).
    fn journaled(&mut self, kind: &str, mut event: Value, text: Option<String>) -> UpMessage {
        let mut text = text;
        if kind == "conversation.item.create" && event["item"].get("id").is_none() {
            event["item"]["id"] = Value::String(format!("item_vg{:016x}", rand::random::<u64>()));
            text = None;
        }
        let text = text.unwrap_or_else(|| event.to_string());
        // A commit takes the audio before it along: replayed with it, never merged into it.
        let before = if kind == "input_audio_buffer.commit" {
            self.memory.take_pending_audio()
        } else {
            Vec::new()
        };
        self.journal.record_after(kind, &event, &text, before);
        UpMessage::text(text)
    }

    async fn hold(&mut self, pending: Pending) -> Flow {
        match self.outage.hold(pending) {
            Held::Kept => Flow::Continue,
            Held::Dropped { first } => {
                self.ctx.metrics.count(Count::ClientEventsDropped);
                if !first {
                    return Flow::Continue;
                }
                let (limit, bytes) = (self.outage.limit(), self.outage.max_bytes());
                tracing::warn!(
                    "[WS] reconnect buffer full ({limit} events or {bytes} bytes); dropping client events until the upstream is back"
                );
                self.to_client_value(events::error(
                    "reconnect_buffer_full",
                    format!("The upstream is reconnecting and the buffer is full ({limit} events or {bytes} bytes: RECONNECT_BUFFER_EVENTS, RECONNECT_BUFFER_BYTES); this and later events are dropped until it is back."),
                ))
                .await
            }
        }
    }

    // ---- to the client -----------------------------------------------------------------

    pub(super) async fn to_client(&self, frame: Message) -> Flow {
        if matches!(frame, Message::Text(_) | Message::Binary(_)) {
            self.live.frame_out(data_len(&frame));
        }
        match self.out.send(frame).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::End,
        }
    }

    pub(super) async fn to_client_value(&self, event: Value) -> Flow {
        self.to_client(Message::Text(event.to_string().into()))
            .await
    }

    /// Tell the client why connecting finally failed, then close 1011.
    pub(super) async fn fail(&self, error: &LinkError) {
        let (code, message) = link::client_error(error);
        self.close_with_error(code, message).await;
    }

    /// The upstream cannot be restored (`why`): `upstream_unavailable`, then close 1011.
    pub(super) async fn give_up(&self, why: &str) -> Flow {
        let message = format!("The upstream could not be restored: {why}.");
        self.close_with_error("upstream_unavailable", message).await;
        Flow::End
    }

    pub(super) async fn close_with_error(&self, code: &str, message: String) {
        tracing::error!("[WS] giving up on the upstream: {message}");
        self.tell_operators(
            "upstream.lost",
            serde_json::json!({ "code": code, "message": message }),
        );
        self.to_client_value(events::error(code, message.clone()))
            .await;
        if self.init.seed_protocol {
            self.to_client_value(json!({ "error": message })).await;
        }
        self.close_client(1011, code).await;
    }

    /// Send the client a close frame; the session ends.
    pub(super) async fn close_client(&self, code: u16, reason: &str) -> Flow {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        self.to_client(Message::Close(Some(frame))).await;
        Flow::End
    }
}
