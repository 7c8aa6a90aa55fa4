//! One client ⇄ one upstream. A session is an actor: one task owns all of its state (no
//! locks, nothing shared with other sessions) and reacts, in order, to client frames,
//! upstream frames, tool results and timers; a second task writes to the client with a send
//! timeout, so a stuck client only ever stalls its own session.
//!
//! The walk of an event: client frame → `events::parse_client` → `memory` (for restore) →
//! upstream send with timeout. Upstream frame → `memory` → tool interception (→ RAG search
//! task → `function_call_output` upstream) → client. When the upstream drops, the client
//! socket stays open: client events are buffered, `link::connect` reconnects through retry +
//! breaker, `memory` restores the conversation, then the buffer is flushed in order.

mod calls;
pub mod events;
mod lifecycle;
mod link;
pub mod memory;
mod rate;
mod reconnect;
pub mod tools;

use crate::admission::Ticket;
use crate::gateway::Gateway;
use crate::metrics::Count;
use crate::upstream::{Flavour, UpstreamSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use events::ClientEvent;
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use memory::Memory;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as UpMessage;

/// Frames queued for one client before the session waits for it.
const CLIENT_QUEUE: usize = 256;

/// How a session was opened.
#[derive(Debug, Clone)]
pub struct SessionInit {
    pub kb_id: String,
    /// The protocol generation the client speaks (decides the simulator path).
    pub flavour: Flavour,
    /// `/ws` clients also get the seed's `{"error": …}` messages.
    pub seed_protocol: bool,
}

/// Something waiting for the upstream while it reconnects.
enum Pending {
    Client {
        kind: String,
        value: Value,
        text: String,
    },
    Binary(Vec<u8>),
    Gateway(Value),
    /// Already recorded in memory; its send failed as the upstream dropped: resend as is.
    Frame(UpMessage),
}

/// The answer to one `search_knowledge_base` call.
struct ToolResult {
    call_id: String,
    response_id: String,
    output: String,
}

/// The gateway's tool calls of one response: answered with `response.create` once all are in.
#[derive(Default)]
struct ToolRound {
    outstanding: usize,
    response_done: bool,
}

type Reconnect = Pin<Box<dyn Future<Output = Result<UpstreamSocket, link::LinkError>> + Send>>;

enum Flow {
    Continue,
    Reconnect(String),
    End,
}

struct Session {
    gateway: Arc<Gateway>,
    init: SessionInit,
    out: mpsc::Sender<Message>,
    upstream: Option<UpstreamSocket>,
    memory: Memory,
    buffer: VecDeque<Pending>,
    buffer_overflowed: bool,
    active_response: Option<String>,
    rounds: HashMap<String, ToolRound>,
    handled_calls: HashSet<String>,
    /// Echoes of a restore the client must not see again.
    echo_ids: HashSet<String>,
    echo_session_updated: bool,
    /// The client has seen an upstream `session.created` (a reconnect's new one is hidden).
    session_shown: bool,
    tool_tx: mpsc::UnboundedSender<ToolResult>,
    client_pong_due: Option<Instant>,
    upstream_pong_due: Option<Instant>,
    rate: rate::RateLimit,
    last_client_event: Instant,
    /// Set when the gateway shuts down: the session ends once its response is done, or then.
    drain_deadline: Option<Instant>,
}

/// Run a session to its end. The client socket is already upgraded (and, on `/ws`, initialised).
pub async fn run(gateway: Arc<Gateway>, socket: WebSocket, init: SessionInit, ticket: Ticket) {
    let metrics = gateway.metrics.clone();
    metrics.count(Count::WsConnections);
    metrics.session_opened();
    let (sink, client_rx) = socket.split();
    let (out, out_rx) = mpsc::channel(CLIENT_QUEUE);
    let mut writer = tokio::spawn(client_writer(sink, out_rx, gateway.config.send_timeout));
    let (tool_tx, tool_rx) = mpsc::unbounded_channel();
    let memory = Memory::new(&gateway.config.session_template, init.flavour);
    let mut session = Session {
        gateway: gateway.clone(),
        init,
        out,
        upstream: None,
        memory,
        buffer: VecDeque::new(),
        buffer_overflowed: false,
        active_response: None,
        rounds: HashMap::new(),
        handled_calls: HashSet::new(),
        echo_ids: HashSet::new(),
        echo_session_updated: false,
        session_shown: false,
        tool_tx,
        client_pong_due: None,
        upstream_pong_due: None,
        rate: rate::RateLimit::new(gateway.config.limits.events_per_second),
        last_client_event: Instant::now(),
        drain_deadline: None,
    };
    session.run(client_rx, tool_rx, &mut writer).await;
    drop(session);
    // Let the writer flush what is queued (a close frame, an error) within the send timeout.
    let grace = gateway.config.send_timeout * 2;
    if tokio::time::timeout(grace, &mut writer).await.is_err() {
        writer.abort();
    }
    metrics.count(Count::WsDisconnects);
    metrics.session_closed();
    drop(ticket);
}

/// Writes frames to the client, each within `timeout`; ends (closing the session) on failure.
async fn client_writer(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut frames: mpsc::Receiver<Message>,
    timeout: std::time::Duration,
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

async fn next_upstream(
    upstream: &mut Option<UpstreamSocket>,
) -> Option<Result<UpMessage, tokio_tungstenite::tungstenite::Error>> {
    match upstream {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

async fn wait_for(reconnect: &mut Option<Reconnect>) -> Result<UpstreamSocket, link::LinkError> {
    match reconnect {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

impl Session {
    async fn run(
        &mut self,
        mut client_rx: SplitStream<WebSocket>,
        mut tool_rx: mpsc::UnboundedReceiver<ToolResult>,
        writer: &mut tokio::task::JoinHandle<()>,
    ) {
        match link::connect(&self.gateway, self.init.flavour).await {
            Ok(socket) => self.upstream = Some(socket),
            Err(error) => return self.fail(&error).await,
        }
        if let Flow::Reconnect(why) = self.send_upstream_value(self.memory.session_update()).await {
            tracing::warn!("first session.update failed: {why}");
        }
        let config = self.gateway.config.clone();
        let mut ping =
            tokio::time::interval_at(Instant::now() + config.ping_interval, config.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reconnect: Option<Reconnect> = None;
        let mut shutdown = self.gateway.shutdown_requested();
        let idle = config.limits.idle_timeout;
        loop {
            let idle_due = (!idle.is_zero()).then(|| self.last_client_event + idle);
            let pong_due = match (self.client_pong_due, self.upstream_pong_due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let flow = tokio::select! {
                frame = client_rx.next() => self.on_client(frame).await,
                frame = next_upstream(&mut self.upstream) => self.on_upstream(frame).await,
                result = wait_for(&mut reconnect) => {
                    reconnect = None;
                    match result {
                        Ok(socket) => self.on_reconnected(socket).await,
                        Err(error) => {
                            self.fail(&error).await;
                            Flow::End
                        }
                    }
                }
                Some(result) = tool_rx.recv() => self.on_tool_result(result).await,
                _ = ping.tick() => self.ping().await,
                _ = tokio::time::sleep_until(pong_due.unwrap_or_else(Instant::now)), if pong_due.is_some() => {
                    self.on_pong_overdue()
                }
                _ = &mut *writer => Flow::End,
                Ok(()) = shutdown.changed(), if self.drain_deadline.is_none() => {
                    let stop = *shutdown.borrow_and_update();
                    if stop { self.begin_drain().await } else { Flow::Continue }
                }
                _ = tokio::time::sleep_until(self.drain_deadline.unwrap_or_else(Instant::now)), if self.drain_deadline.is_some() => {
                    self.finish_drain().await
                }
                _ = tokio::time::sleep_until(idle_due.unwrap_or_else(Instant::now)), if idle_due.is_some() => {
                    self.on_idle().await
                }
            };
            match flow {
                Flow::Continue => {}
                Flow::End => break,
                Flow::Reconnect(why) => reconnect = Some(self.begin_reconnect(&why).await),
            }
        }
        if let Some(mut upstream) = self.upstream.take() {
            let _ = tokio::time::timeout(config.send_timeout, upstream.close(None)).await;
        }
    }

    // ---- to the client -------------------------------------------------------------------

    async fn to_client(&self, frame: Message) -> Flow {
        match self.out.send(frame).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::End,
        }
    }

    async fn to_client_value(&self, event: Value) -> Flow {
        self.to_client(Message::Text(event.to_string().into()))
            .await
    }

    /// Tell the client why the session cannot go on, then close 1011.
    async fn fail(&self, error: &link::LinkError) {
        let (code, message) = link::client_error(error);
        tracing::error!("[WS] giving up on the upstream: {message}");
        self.to_client_value(events::error(code, message.clone()))
            .await;
        if self.init.seed_protocol {
            self.to_client_value(json!({ "error": message })).await;
        }
        self.close_client(1011, code).await;
    }

    /// Send the client a close frame; the session ends.
    async fn close_client(&self, code: u16, reason: &str) -> Flow {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        self.to_client(Message::Close(Some(frame))).await;
        Flow::End
    }

    // ---- from the client -----------------------------------------------------------------

    async fn on_client(&mut self, frame: Option<Result<Message, axum::Error>>) -> Flow {
        let frame = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return self.on_client_error(error).await,
            None => return Flow::End,
        };
        if matches!(frame, Message::Text(_) | Message::Binary(_)) {
            self.last_client_event = Instant::now();
            match self.rate.check() {
                rate::Verdict::Pass => {}
                rate::Verdict::Drop(report) => {
                    self.gateway.metrics.count(Count::ClientEventsDropped);
                    let Some(dropped) = report else {
                        return Flow::Continue;
                    };
                    let limit = self.gateway.config.limits.events_per_second;
                    return self
                        .to_client_value(events::error(
                            "rate_limited",
                            format!("More than {limit} events per second: {dropped} event(s) dropped (RATE_LIMIT_EVENTS_PER_SECOND)."),
                        ))
                        .await;
                }
            }
        }
        match frame {
            Message::Text(text) => {
                let text = text.to_string();
                match events::parse_client(&text) {
                    Ok(ClientEvent { kind, value }) => {
                        self.forward_client(Pending::Client { kind, value, text })
                            .await
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
            Message::Binary(bytes) => self.forward_client(Pending::Binary(bytes.to_vec())).await,
            Message::Pong(_) => {
                self.client_pong_due = None;
                Flow::Continue
            }
            Message::Ping(_) => Flow::Continue,
            Message::Close(_) => Flow::End,
        }
    }

    /// Send something upstream now, or hold it while reconnecting.
    async fn forward_client(&mut self, pending: Pending) -> Flow {
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
            self.buffer.push_front(Pending::Frame(resend));
        }
        flow
    }

    async fn hold(&mut self, pending: Pending) -> Flow {
        let limit = self.gateway.config.reconnect_buffer_events;
        if self.buffer.len() < limit || matches!(pending, Pending::Gateway(_) | Pending::Frame(_)) {
            self.buffer.push_back(pending);
            return Flow::Continue;
        }
        self.gateway.metrics.count(Count::ClientEventsDropped);
        if self.buffer_overflowed {
            return Flow::Continue;
        }
        self.buffer_overflowed = true;
        tracing::warn!(
            "[WS] reconnect buffer full ({limit} events); dropping client events until the upstream is back"
        );
        self.to_client_value(events::error(
            "reconnect_buffer_full",
            format!("The upstream is reconnecting and {limit} events are already waiting; this and later events are dropped until it is back."),
        ))
        .await
    }

    async fn send_upstream(&mut self, frame: UpMessage) -> Flow {
        let Some(upstream) = self.upstream.as_mut() else {
            return Flow::Continue;
        };
        match tokio::time::timeout(self.gateway.config.send_timeout, upstream.send(frame)).await {
            Ok(Ok(())) => Flow::Continue,
            Ok(Err(error)) => Flow::Reconnect(format!("send failed: {error}")),
            Err(_) => Flow::Reconnect("send timed out".into()),
        }
    }

    async fn send_upstream_value(&mut self, event: Value) -> Flow {
        self.forward_client(Pending::Gateway(event)).await
    }

    // ---- from the upstream ---------------------------------------------------------------

    async fn on_upstream(
        &mut self,
        frame: Option<Result<UpMessage, tokio_tungstenite::tungstenite::Error>>,
    ) -> Flow {
        let frame = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return Flow::Reconnect(format!("{error}")),
            None => return Flow::Reconnect("connection closed".into()),
        };
        match frame {
            UpMessage::Text(text) => self.on_upstream_event(text.to_string()).await,
            UpMessage::Binary(bytes) => self.to_client(Message::Binary(bytes)).await,
            UpMessage::Pong(_) => {
                self.upstream_pong_due = None;
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

    async fn on_upstream_event(&mut self, text: String) -> Flow {
        let value: Value = match serde_json::from_str::<Value>(&text) {
            Ok(value) if value.get("type").and_then(Value::as_str).is_some() => value,
            _ => {
                let preview: String = text.chars().take(80).collect();
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
        if self.is_restore_echo(&kind, &value) {
            return Flow::Continue;
        }
        match kind.as_str() {
            "response.created" => {
                self.echo_ids.clear();
                self.active_response = value["response"]["id"].as_str().map(str::to_owned);
            }
            "response.done" => {
                self.active_response = None;
                if self.drain_deadline.is_some() {
                    self.to_client(Message::Text(text.into())).await;
                    return self.finish_drain().await;
                }
            }
            _ => {}
        }
        if let Some(call) = events::function_call(&value) {
            self.on_function_call(call);
        }
        if let Flow::End = self.to_client(Message::Text(text.into())).await {
            return Flow::End;
        }
        if kind == "response.done"
            && let Some(id) = value["response"]["id"].as_str()
            && let Some(round) = self.rounds.get_mut(id)
        {
            round.response_done = true;
            return self.maybe_continue_response(id.to_string()).await;
        }
        Flow::Continue
    }

    fn is_restore_echo(&mut self, kind: &str, value: &Value) -> bool {
        match kind {
            // The client has its session already; a reconnect's new one is not news to it.
            "session.created" => std::mem::replace(&mut self.session_shown, true),
            "session.updated" if self.echo_session_updated => {
                self.echo_session_updated = false;
                true
            }
            "conversation.item.created" | "conversation.item.added" | "conversation.item.done" => {
                value["item"]["id"]
                    .as_str()
                    .is_some_and(|id| self.echo_ids.contains(id))
            }
            _ => false,
        }
    }
}
