//! The client sockets: `/ws` (the seed protocol: first message `{"kb_id": …}`) and the
//! drop-in Realtime paths (`/v1/realtime`, `/openai/realtime`, `/openai/v1/realtime`, the kb
//! from `?kb=` or `x-kb-id`). Admission is decided before the upgrade; each upgraded socket
//! becomes one `session::run`.

use crate::admission::{Refusal, Ticket, correlation_id};
use crate::gateway::Gateway;
use crate::metrics::Fault;
use crate::session::{self, SessionInit, events};
use crate::upstream::Flavour;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, OriginalUri, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Admission (token, origin, limits) and message-size limits, before any upgrade.
fn admit(
    gateway: &Arc<Gateway>,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    peer: SocketAddr,
    ws: WebSocketUpgrade,
) -> Result<(Ticket, WebSocketUpgrade), Refusal> {
    if gateway.is_draining() {
        return Err(Refusal::Draining);
    }
    let ticket =
        gateway
            .admission()
            .admit(headers, query.get("token").map(String::as_str), peer.ip())?;
    let limit = gateway.config().limits.max_message_bytes;
    // Drop-in SDKs may ask for the `realtime` subprotocol (browsers also carry their key in one).
    Ok((
        ticket,
        ws.max_message_size(limit)
            .max_frame_size(limit)
            .read_buffer_size(voxgate_wire::net::READ_BUFFER)
            .write_buffer_size(0)
            .max_write_buffer_size(voxgate_wire::net::MAX_WRITE_BUFFER)
            .protocols(["realtime"]),
    ))
}

pub(super) async fn seed_socket(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let correlation = match correlation_id(&headers) {
        Ok(correlation) => correlation,
        Err(refused) => return refused.into_response(),
    };
    match admit(&gateway, &headers, &query, peer, ws) {
        Ok((ticket, ws)) => {
            ws.on_upgrade(move |socket| seed_session(gateway, socket, ticket, peer, correlation))
        }
        Err(refused) => refused.into_response(),
    }
}

async fn close_with(mut socket: WebSocket, messages: Vec<Value>, code: u16, reason: &str) {
    for message in messages {
        if socket
            .send(Message::Text(message.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
    }
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

/// `/ws`: the seed protocol. The first message must be `{"kb_id": "..."}`.
async fn seed_session(
    gateway: Arc<Gateway>,
    mut socket: WebSocket,
    ticket: Ticket,
    peer: SocketAddr,
    correlation: Option<String>,
) {
    let wait = gateway.config().client_init_timeout;
    let first = tokio::time::timeout(wait, async {
        while let Some(Ok(frame)) = socket.recv().await {
            match frame {
                Message::Text(text) => return Some(text.to_string()),
                Message::Binary(_) => return Some(String::new()),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
        None
    })
    .await;
    let text = match first {
        Err(_) => {
            gateway.metrics().fault(Fault::ClientTimeout);
            tracing::warn!(
                "[WS] client sent no {{\"kb_id\"}} message within {}s",
                wait.as_secs_f64()
            );
            let message = format!(
                "Timed out after {}s waiting for the first message {{\"kb_id\": \"...\"}}",
                wait.as_secs_f64()
            );
            return close_with(
                socket,
                vec![json!({ "error": message })],
                1008,
                "client_timeout",
            )
            .await;
        }
        Ok(None) => return,
        Ok(Some(text)) => text,
    };
    let kb_id = match parse_init(&text) {
        Ok(kb_id) => kb_id,
        Err(message) => {
            return close_with(
                socket,
                vec![json!({ "error": message })],
                1008,
                "invalid_init",
            )
            .await;
        }
    };
    if let Err(message) = gateway.knowledge_search().check_kb(&kb_id) {
        return close_with(
            socket,
            vec![json!({ "error": message })],
            1008,
            "unknown_kb",
        )
        .await;
    }
    let init = SessionInit {
        kb_id,
        flavour: Flavour::Preview,
        seed_protocol: true,
        path: "/ws".into(),
        client: Some(peer),
        correlation,
        client_name: ticket.client(),
    };
    session::run(gateway.sessions().clone(), socket, init).await;
    drop(ticket);
}

/// The seed's first message: `{"kb_id": "<id>"}`.
pub fn parse_init(text: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|_| "The first message must be JSON: {\"kb_id\": \"...\"}".to_string())?;
    match value.get("kb_id") {
        Some(Value::String(kb_id)) if !kb_id.trim().is_empty() => Ok(kb_id.trim().to_string()),
        Some(_) => Err("'kb_id' must be a non-empty string".into()),
        None => Err("The first message must name the knowledge base: {\"kb_id\": \"...\"}".into()),
    }
}

/// `/v1/realtime`, `/openai/realtime`, `/openai/v1/realtime`: an unmodified Realtime SDK.
pub(super) async fn drop_in_socket(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let correlation = match correlation_id(&headers) {
        Ok(correlation) => correlation,
        Err(refused) => return refused.into_response(),
    };
    let (ticket, ws) = match admit(&gateway, &headers, &query, peer, ws) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.into_response(),
    };
    let kb_id = query
        .get("kb")
        .cloned()
        .or_else(|| {
            headers
                .get("x-kb-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| gateway.config().default_kb_id.clone());
    let flavour = Flavour::of_path(uri.path());
    ws.on_upgrade(move |socket| async move {
        if let Err(message) = gateway.knowledge_search().check_kb(&kb_id) {
            let error = events::error("unknown_kb", message);
            return close_with(socket, vec![error], 1008, "unknown_kb").await;
        }
        let init = SessionInit {
            kb_id,
            flavour,
            seed_protocol: false,
            path: uri.path().to_string(),
            client: Some(peer),
            correlation,
            client_name: ticket.client(),
        };
        session::run(gateway.sessions().clone(), socket, init).await;
        drop(ticket);
    })
}

#[cfg(test)]
mod tests {
    use super::parse_init;

    #[test]
    fn init_message() {
        assert_eq!(parse_init(r#"{"kb_id":"docs"}"#).unwrap(), "docs");
        assert!(parse_init("docs").is_err());
        assert!(parse_init(r#"{"kb_id":""}"#).is_err());
        assert!(parse_init(r#"{"kb_id":3}"#).is_err());
        assert!(parse_init(r#"{"kb":"docs"}"#).is_err());
    }
}
