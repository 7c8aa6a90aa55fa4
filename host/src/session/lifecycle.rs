//! A session's limits and life: oversized messages, idle clients, keepalive pings and their
//! pongs, and the drain when the gateway shuts down.

use super::events;
use super::keepalive::Overdue;
use super::{Flow, Session};
use axum::extract::ws::Message;
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as UpMessage;

impl Session {
    /// A client read failed: an oversized message gets its error and close 1009, text that is
    /// not UTF-8 close 1007, a protocol violation close 1002 (RFC 6455 §7.4.1); a dropped
    /// connection just ends the session.
    pub(super) async fn on_client_error(&mut self, error: axum::Error) -> Flow {
        use tokio_tungstenite::tungstenite::Error as WsError;
        tracing::debug!("client read failed: {error}");
        let error = match error.into_inner().downcast::<WsError>() {
            Ok(error) => *error,
            Err(_) => return Flow::End,
        };
        let limit = self.ctx.settings.max_message_bytes;
        let (code, reason, message) = match error {
            WsError::Capacity(_) => (
                1009,
                "message_too_large",
                format!("A client message exceeded {limit} bytes (MAX_MESSAGE_BYTES)."),
            ),
            WsError::Utf8(_) => (
                1007,
                "invalid_utf8",
                "A text message was not valid UTF-8; closing (1007).".to_string(),
            ),
            WsError::Protocol(violation) => (
                1002,
                "protocol_error",
                format!("The client broke the WebSocket protocol ({violation}); closing (1002)."),
            ),
            _ => return Flow::End,
        };
        tracing::warn!("[WS] {message} Closing {code}.");
        self.to_client_value(events::error(reason, message)).await;
        self.close_client(code, reason).await
    }

    pub(super) async fn on_idle(&mut self) -> Flow {
        let idle = self.ctx.settings.idle_timeout;
        tracing::info!("[WS] closing a session idle for {}s", idle.as_secs_f64());
        self.to_client_value(events::error(
            "idle_timeout",
            format!(
                "No client event for {}s (IDLE_TIMEOUT); closing.",
                idle.as_secs_f64()
            ),
        ))
        .await;
        self.close_client(1000, "idle_timeout").await
    }

    /// Shutdown began: finish now, or once the streaming response is done (within the grace).
    pub(super) async fn begin_drain(&mut self) -> Flow {
        self.drain_deadline = Some(Instant::now() + self.ctx.settings.shutdown_grace);
        if self.active_response.is_none() {
            return self.finish_drain().await;
        }
        Flow::Continue
    }

    pub(super) async fn finish_drain(&mut self) -> Flow {
        let notice = json!({ "type": "voxgate.shutdown", "reason": "The gateway is shutting down; reconnect to continue." });
        self.to_client_value(notice).await;
        self.close_client(1001, "shutdown").await
    }

    /// An operator ended this session (`DELETE /admin/sessions/{id}`).
    pub(super) async fn end_by_operator(&mut self) -> Flow {
        tracing::info!("[WS] session ended by an operator");
        let notice = json!({ "type": "voxgate.shutdown", "reason": "ended by operator" });
        self.to_client_value(notice).await;
        self.close_client(1001, "ended by operator").await
    }

    pub(super) async fn ping(&mut self) -> Flow {
        let pings = self.keepalive.tick(self.upstream.is_some());
        if pings.client
            && let Flow::End = self
                .to_client(Message::Ping(axum::body::Bytes::from_static(b"voxgate")))
                .await
        {
            return Flow::End;
        }
        if pings.upstream {
            return self.send_upstream(UpMessage::Ping(b"voxgate".to_vec().into()));
        }
        Flow::Continue
    }

    pub(super) fn on_pong_overdue(&mut self) -> Flow {
        match self.keepalive.overdue() {
            Some(Overdue::Client) => {
                tracing::warn!("[WS] client missed its pong; ending the session");
                Flow::End
            }
            Some(Overdue::Upstream) => Flow::Reconnect("no pong within PONG_TIMEOUT".into()),
            None => Flow::Continue,
        }
    }
}
