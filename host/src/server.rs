//! The HTTP surface: client WebSockets (`/ws` and the drop-in Realtime paths), `/health`,
//! `/metrics`. Each client socket becomes one `session::run`.

use crate::admission::{Refusal, Ticket};
use crate::gateway::Gateway;
use crate::kb;
use crate::metrics::Fault;
use crate::session::{self, SessionInit, events};
use crate::upstream::Flavour;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The gateway's router.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route("/ws", any(seed_socket))
        .route("/v1/realtime", any(drop_in_socket))
        .route("/openai/realtime", any(drop_in_socket))
        .route("/openai/v1/realtime", any(drop_in_socket))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .merge(crate::admin::router(gateway.clone()))
        .with_state(gateway)
}

/// Realtime traffic is many small frames: send each at once (no Nagle delay).
pub fn no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!("cannot set TCP_NODELAY: {error}");
    }
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(gateway).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener.tap_io(no_delay), app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Admission (token, origin, limits) and message-size limits, before any upgrade.
fn admit(
    gateway: &Arc<Gateway>,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    peer: SocketAddr,
    ws: WebSocketUpgrade,
) -> Result<(Ticket, WebSocketUpgrade), Refusal> {
    let ticket =
        gateway
            .admission
            .admit(headers, query.get("token").map(String::as_str), peer.ip())?;
    let limit = gateway.config.limits.max_message_bytes;
    // Drop-in SDKs may ask for the `realtime` subprotocol (browsers also carry their key in one).
    Ok((
        ticket,
        ws.max_message_size(limit)
            .max_frame_size(limit)
            .read_buffer_size(crate::upstream::READ_BUFFER)
            .write_buffer_size(0)
            .protocols(["realtime"]),
    ))
}

async fn seed_socket(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    match admit(&gateway, &headers, &query, peer, ws) {
        Ok((ticket, ws)) => ws.on_upgrade(move |socket| seed_session(gateway, socket, ticket)),
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
async fn seed_session(gateway: Arc<Gateway>, mut socket: WebSocket, ticket: Ticket) {
    let wait = gateway.config.client_init_timeout;
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
            gateway.metrics.fault(Fault::ClientTimeout);
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
    if let Err(message) = kb::check(&gateway.config.kb_dir, &kb_id) {
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
    };
    session::run(gateway, socket, init, ticket).await;
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
async fn drop_in_socket(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
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
        .unwrap_or_else(|| gateway.config.default_kb_id.clone());
    let flavour = Flavour::of_path(uri.path());
    ws.on_upgrade(move |socket| async move {
        if let Err(message) = kb::check(&gateway.config.kb_dir, &kb_id) {
            let error = events::error("unknown_kb", message);
            return close_with(socket, vec![error], 1008, "unknown_kb").await;
        }
        session::run(
            gateway,
            socket,
            SessionInit {
                kb_id,
                flavour,
                seed_protocol: false,
            },
            ticket,
        )
        .await;
    })
}

/// The seed's health JSON, plus uptime, active sessions and plugins.
pub fn health_json(gateway: &Gateway) -> Value {
    let azure = gateway.azure.state();
    let rag = gateway.rag.state();
    let healthy = azure == crate::resilience::BreakerState::Closed
        && rag == crate::resilience::BreakerState::Closed;
    json!({
        "status": if healthy { "healthy" } else { "degraded" },
        "circuit_breakers": { "azure": azure.as_str(), "rag": rag.as_str() },
        "metrics": gateway.metrics.health_json(),
        "uptime_seconds": (gateway.uptime_seconds() * 10.0).round() / 10.0,
        "active_sessions": gateway.metrics.active_sessions(),
        "memory_rss_bytes": crate::limits::rss_bytes(),
        "upstream": gateway.upstream_json(),
        "plugins": gateway.plugins_json(),
    })
}

async fn health(State(gateway): State<Arc<Gateway>>) -> Json<Value> {
    Json(health_json(&gateway))
}

async fn metrics(State(gateway): State<Arc<Gateway>>) -> Response {
    // Reading the breakers moves OPEN → HALF_OPEN when due, so the gauges are current.
    gateway.azure.state();
    gateway.rag.state();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        gateway.metrics.prometheus_text(),
    )
        .into_response()
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
