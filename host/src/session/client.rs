//! The client side of a session: each frame read is rate-limited, validated
//! (`events::parse_client`), recorded for restores and forwarded upstream — or held in the
//! outage buffer while the upstream reconnects.

use super::events::{self, ClientEvent};
use super::outage::{Held, Pending};
use super::{Flow, Session, rate};
use crate::metrics::Count;
use axum::extract::ws::Message;
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as UpMessage;

impl Session {
    pub(super) async fn on_client(&mut self, frame: Option<Result<Message, axum::Error>>) -> Flow {
        let frame = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return self.on_client_error(error).await,
            None => return Flow::End,
        };
        if matches!(frame, Message::Text(_) | Message::Binary(_)) {
            self.last_client_event = Instant::now();
            if let rate::Verdict::Drop(report) = self.rate.check() {
                self.ctx.metrics.count(Count::ClientEventsDropped);
                let Some(dropped) = report else {
                    return Flow::Continue;
                };
                let limit = self.ctx.settings.events_per_second;
                return self
                    .to_client_value(events::error(
                        "rate_limited",
                        format!("More than {limit} events per second: {dropped} event(s) dropped (RATE_LIMIT_EVENTS_PER_SECOND)."),
                    ))
                    .await;
            }
        }
        match frame {
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

    /// Send something upstream now, or hold it while reconnecting.
    pub(super) async fn forward(&mut self, pending: Pending) -> Flow {
        if self.upstream.is_none() {
            return self.hold(pending).await;
        }
        let frame = match pending {
            Pending::Client { kind, value, text } => {
                self.memory.client_event(&kind, &value);
                if kind == "session.update" {
                    let mut update = self.memory.session_update();
                    if let Some(id) = value.get("event_id") {
                        update["event_id"] = id.clone();
                    }
                    UpMessage::text(update.to_string())
                } else {
                    UpMessage::text(text)
                }
            }
            Pending::Binary(bytes) => UpMessage::binary(bytes),
            Pending::Gateway(value) => UpMessage::text(value.to_string()),
            Pending::Frame(frame) => frame,
        };
        // Frames share their bytes: keeping a copy to resend costs no copy of the payload.
        let resend = frame.clone();
        let flow = self.send_upstream(frame).await;
        if let Flow::Reconnect(_) = flow {
            self.outage.retry_first(resend);
        }
        flow
    }

    async fn hold(&mut self, pending: Pending) -> Flow {
        match self.outage.hold(pending) {
            Held::Kept => Flow::Continue,
            Held::Dropped { first } => {
                self.ctx.metrics.count(Count::ClientEventsDropped);
                if !first {
                    return Flow::Continue;
                }
                let limit = self.outage.limit();
                tracing::warn!(
                    "[WS] reconnect buffer full ({limit} events); dropping client events until the upstream is back"
                );
                self.to_client_value(events::error(
                    "reconnect_buffer_full",
                    format!("The upstream is reconnecting and {limit} events are already waiting; this and later events are dropped until it is back."),
                ))
                .await
            }
        }
    }
}
