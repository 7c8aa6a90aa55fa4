//! A small Realtime client over a real WebSocket.

use super::{PATIENCE, types};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every text frame received, in order.
    pub seen: Vec<Value>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        Client::connect_with(url, &[]).await
    }

    pub async fn connect_with(url: &str, headers: &[(&'static str, &str)]) -> Client {
        let mut request = url.into_client_request().expect("request");
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, HeaderValue::from_str(value).expect("header"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        Client {
            ws,
            seen: Vec::new(),
        }
    }

    pub async fn send(&mut self, event: Value) {
        self.ws
            .send(Message::text(event.to_string()))
            .await
            .expect("send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("send");
    }

    /// The next text frame as JSON; `None` when the socket closed (close frame or EOF).
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a frame in time");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("gateway sends JSON");
                    self.seen.push(value.clone());
                    return Some(value);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn recv(&mut self) -> Value {
        self.next().await.expect("socket open")
    }

    /// Read until an event of `kind`; panics if the socket closes first.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next().await.unwrap_or_else(|| {
                panic!(
                    "closed while waiting for {kind}; saw {:?}",
                    types(&self.seen)
                )
            });
            if event["type"] == kind {
                return event;
            }
        }
    }

    /// Read until the close frame; returns it with every event before it.
    pub async fn until_close(&mut self) -> (Option<CloseFrame>, Vec<Value>) {
        let mut events = Vec::new();
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a frame in time");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    events.push(serde_json::from_str(&text).expect("json"))
                }
                Some(Ok(Message::Close(frame))) => return (frame, events),
                None | Some(Err(_)) => return (None, events),
                Some(Ok(_)) => {}
            }
        }
    }

    /// One user text turn: returns the events of the response up to `response.done`.
    pub async fn turn(&mut self, text: &str) -> Vec<Value> {
        self.send(json!({
            "type": "conversation.item.create",
            "item": { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": text }] }
        }))
        .await;
        self.send(json!({ "type": "response.create" })).await;
        self.response().await
    }

    /// The events of the response under way, up to its `response.done`.
    pub async fn response(&mut self) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let event = self.recv().await;
            let done = event["type"] == "response.done";
            events.push(event);
            if done {
                return events;
            }
        }
    }

    /// The upstream is left for not acknowledging in time (`UPSTREAM_ACK_TIMEOUT`) and a new
    /// one takes over with `replayed` events replayed: when the `reconnecting` notice came.
    pub async fn reconnects_after_ack_timeout(&mut self, replayed: u64) -> tokio::time::Instant {
        let reconnecting = self.recv_type("voxgate.upstream.reconnecting").await;
        let noticed = tokio::time::Instant::now();
        assert!(
            reconnecting["reason"]
                .as_str()
                .is_some_and(|r| r.contains("UPSTREAM_ACK_TIMEOUT")),
            "{reconnecting}"
        );
        let reconnected = self.recv_type("voxgate.upstream.reconnected").await;
        assert_eq!(reconnected["replayed_events"], replayed, "{reconnected}");
        noticed
    }

    pub async fn text_only(&mut self) {
        self.send(json!({ "type": "session.update", "session": { "modalities": ["text"], "output_modalities": ["text"] } }))
            .await;
    }
}
