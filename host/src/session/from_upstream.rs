//! Frames from the upstream: each event is recorded for restores (`memory`), acknowledges what
//! the journal holds, is recognised as an echo of a restore (and swallowed) or forwarded to the
//! client; function calls start tool rounds; `response.done` may finish a drain or continue a
//! tool round. A frame that is not a Realtime event is dropped with an error to the client.

use super::{Flow, Session, events, frames};
use crate::metrics::Count;
use crate::usage::Tokens;
use axum::extract::ws::Message;
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message as UpMessage, Utf8Bytes};

impl Session {
    /// Count the tokens a `response.done` reports, for this session and the totals; one that
    /// reports none (or nonsense) is counted as such, so usage is never under-reported unseen.
    fn count_usage(&self, done: &Value) {
        let Some(tokens) = Tokens::from_usage(&done["response"]["usage"]) else {
            self.ctx.metrics.count(Count::ResponsesWithoutUsage);
            return;
        };
        let model = self.live.add_tokens(&tokens);
        let identity = self.live.identity();
        self.ctx.usage.record(
            &identity.kb,
            identity.client_name.as_deref(),
            &model,
            &tokens,
        );
    }

    pub(super) async fn on_upstream(
        &mut self,
        frame: Option<Result<UpMessage, tokio_tungstenite::tungstenite::Error>>,
    ) -> Flow {
        let frame = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return Flow::Reconnect(format!("{error}")),
            None => return Flow::Reconnect("connection closed".into()),
        };
        self.last_upstream_frame = Instant::now();
        match frame {
            UpMessage::Text(text) if events::passes_through(&text) => {
                self.to_client(Message::Text(frames::to_client(text))).await
            }
            UpMessage::Text(text) => self.on_upstream_event(text).await,
            UpMessage::Binary(bytes) => self.to_client(Message::Binary(bytes)).await,
            UpMessage::Pong(_) => {
                self.keepalive.upstream_pong();
                Flow::Continue
            }
            UpMessage::Close(frame) => {
                let why = match frame {
                    Some(f) => format!("closed by upstream ({} {})", u16::from(f.code), f.reason),
                    None => "closed by upstream".into(),
                };
                Flow::Reconnect(why)
            }
            UpMessage::Ping(_) | UpMessage::Frame(_) => Flow::Continue,
        }
    }

    /// An event the gateway reads; forwarded (when it is) as the upstream's own bytes.
    async fn on_upstream_event(&mut self, text: Utf8Bytes) -> Flow {
        let value: Value = match serde_json::from_str::<Value>(text.as_str()) {
            Ok(value) if value.get("type").and_then(Value::as_str).is_some() => value,
            _ => {
                let preview: String = text.as_str().chars().take(80).collect();
                tracing::warn!("upstream sent a frame that is not a Realtime event: {preview:?}");
                return self
                    .to_client_value(events::error(
                        "upstream_invalid_event",
                        "The upstream sent a frame that is not a Realtime event; it was dropped.",
                    ))
                    .await;
            }
        };
        let kind = value["type"].as_str().unwrap_or_default().to_string();
        self.memory.server_event(&kind, &value);
        let acknowledged = self.journal.acknowledge(&kind, &value);
        // A commit the client sent took its audio along; one the upstream made on its own
        // (voice activity detection) turns the audio memory holds into an item.
        if kind == "input_audio_buffer.committed" && !acknowledged {
            self.memory.audio_committed_by_upstream();
        }
        if self.echo.is_echo(&kind, &value) {
            if self.reconnects.restoring() && self.echo.restore_confirmed() {
                self.reconnects.restored();
                self.abandoned.clear();
            }
            return Flow::Continue;
        }
        match kind.as_str() {
            // The upstream session reached its maximum age: rotate now (the client is not
            // told of an error; the conversation goes on in a new upstream session).
            "error" if value["error"]["code"] == "session_expired" => {
                tracing::info!("[UPSTREAM] the upstream session expired; rotating");
                self.expiring = true;
                return Flow::Reconnect("the upstream session expired (session_expired)".into());
            }
            "response.created" => {
                self.echo.response_started();
                self.active_response = value["response"]["id"].as_str().map(str::to_owned);
            }
            "session.created" | "session.updated" => {
                if let Some(model) = value["session"]["model"].as_str() {
                    self.live.set_model(model);
                }
            }
            "response.done" => {
                self.active_response = None;
                self.count_usage(&value);
                self.live
                    .turns
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if self.drain_deadline.is_some() {
                    self.to_client(Message::Text(frames::to_client(text))).await;
                    return self.finish_drain().await;
                }
            }
            _ => {}
        }
        if let Some(call) = events::function_call(&value) {
            self.on_function_call(call);
        }
        if let Flow::End = self.to_client(Message::Text(frames::to_client(text))).await {
            return Flow::End;
        }
        if kind == "response.done"
            && let Some(id) = value["response"]["id"].as_str()
            && self.rounds.response_done(id)
        {
            return self.continue_response().await;
        }
        Flow::Continue
    }
}
