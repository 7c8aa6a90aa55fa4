//! The task writing to one client: each frame within the send timeout, so a stuck client only
//! ever stalls its own session. It ends (ending the session) when a send fails or times out,
//! after a close frame, or when the session drops its sender.

use axum::extract::ws::{Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use std::time::Duration;
use tokio::sync::mpsc;

pub async fn client_writer(
    mut sink: SplitSink<WebSocket, Message>,
    mut frames: mpsc::Receiver<Message>,
    timeout: Duration,
) {
    while let Some(frame) = frames.recv().await {
        let closing = matches!(frame, Message::Close(_));
        match tokio::time::timeout(timeout, sink.send(frame)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::debug!("client send failed: {error}");
                return;
            }
            Err(_) => {
                tracing::warn!(
                    "[WS] client did not accept a frame within {timeout:?}; closing its session"
                );
                return;
            }
        }
        if closing {
            return;
        }
    }
    let _ = tokio::time::timeout(timeout, sink.close()).await;
}
