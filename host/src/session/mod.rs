//! One client ⇄ one upstream. A session is an actor: one task owns all of its state (no
//! locks, nothing shared with other sessions) and reacts, in order, to client frames,
//! upstream frames, tool results and timers; a second task ([`writer`]) writes to the client
//! with a send timeout, so a stuck client only ever stalls its own session.
//!
//! This file is the select loop and the I/O. The state lives in small owned types: what a
//! restore needs ([`memory`]), the outage buffer ([`outage`]), tool rounds ([`rounds`]),
//! keepalive ([`keepalive`]), restore echoes ([`echo`]), the rate limit ([`rate`]).
//!
//! The walk of an event: client frame (`client.rs`) → `events::parse_client` → `memory` →
//! upstream send with timeout. Upstream frame (`from_upstream.rs`) → `memory` → tool interception (`calls.rs`: →
//! knowledge search task → `function_call_output` upstream) → client. When the upstream
//! drops (`reconnect.rs`), the client socket stays open: client events are held, the upstream
//! reconnects through its guard, `memory` restores the conversation, then the held events are
//! forwarded in order.

mod calls;
mod client;
mod context;
mod echo;
pub mod events;
mod frames;
mod from_upstream;
mod journal;
mod keepalive;
mod lifecycle;
pub mod live;
pub mod memory;
mod outage;
mod placement;
mod rate;
mod reconnect;
mod reconnects;
mod rotation;
mod rounds;
pub mod settings;
mod upstream_io;
mod waits;
mod writer;

pub use context::{SessionContext, SessionInit, SessionSettings};

use crate::metrics::{Count, Fault};
use crate::upstream::{Connected, Lease, LinkError, UpstreamSocket};
use axum::extract::ws::{Message, WebSocket};
use echo::RestoreEcho;
use futures_util::stream::SplitStream;
use futures_util::{FutureExt, StreamExt};
use journal::Journal;
use keepalive::Keepalive;
use memory::Memory;
use outage::{OutageBuffer, Pending};
use reconnects::ReconnectBudget;
use rounds::ToolRounds;
use serde_json::{Value, json};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as UpMessage;
use tracing::Instrument;
use upstream_io::UpstreamIo;
use waits::{until, upstream_event, wait_for};

/// Frames queued for one client before the session waits for it.
const CLIENT_QUEUE: usize = 256;

/// The answer to one `search_knowledge_base` call.
struct ToolResult {
    call_id: String,
    response_id: String,
    output: String,
}

/// A reconnect in progress; `None` when the backoff policy gave up before trying.
type Reconnect = Pin<Box<dyn Future<Output = Option<Result<Connected, LinkError>>> + Send>>;

enum Flow {
    Continue,
    Reconnect(String),
    End,
}

struct Session {
    ctx: Arc<SessionContext>,
    init: SessionInit,
    out: mpsc::Sender<Message>,
    upstream: Option<UpstreamIo>,
    memory: Memory,
    journal: Journal,
    /// When the upstream last sent anything (its silence with events unacknowledged is death).
    last_upstream_frame: Instant,
    outage: OutageBuffer,
    active_response: Option<String>,
    rounds: ToolRounds,
    echo: RestoreEcho,
    reconnects: ReconnectBudget,
    tool_tx: mpsc::UnboundedSender<ToolResult>,
    keepalive: Keepalive,
    rate: rate::RateLimit,
    last_client_event: Instant,
    /// Set when the gateway shuts down: the session ends once its response is done, or then.
    drain_deadline: Option<Instant>,
    /// This session in the operators' registry (counters, the end signal).
    live: Arc<live::LiveSession>,
    /// Its place on the upstream it is on.
    on: Option<Lease>,
    /// Upstreams given up on in this outage (failover skips them).
    abandoned: Vec<String>,
    /// When to rotate the upstream session (`UPSTREAM_SESSION_MAX_AGE`).
    rotation: rotation::RotationClock,
    /// The upstream said its session expired: the reconnect that follows is a rotation.
    expiring: bool,
    /// A rotation's new upstream session, connected, waiting for a quiet moment.
    standby: Option<(Connected, Instant)>,
}

impl Session {
    /// Tell the operators' feed that `kind` happened to this session.
    fn tell_operators(&self, kind: &str, mut detail: Value) {
        detail["session"] = json!(self.live.identity().id);
        self.ctx.feed.publish(kind, detail);
    }
}

/// A new session id (`sess_` and 16 hex digits), for logs and correlation.
fn new_session_id() -> String {
    format!("sess_{:016x}", rand::random::<u64>())
}

/// Run a session to its end. The client socket is already upgraded (and, on `/ws`, initialised).
/// Every line it logs carries its id, knowledge base and upstream (a `session` span). A panic
/// inside ends this session only: it is logged and counted (`session_panics`).
pub async fn run(ctx: Arc<SessionContext>, socket: WebSocket, init: SessionInit) {
    let identity = live::Identity {
        id: new_session_id(),
        kb: init.kb_id.clone(),
        path: init.path.clone(),
        client: init.client,
        upstream: ctx.upstreams.primary().name().to_string(),
        correlation: init.correlation.clone(),
        client_name: init.client_name.clone(),
    };
    let span = tracing::info_span!(
        "session",
        id = %identity.id,
        kb = %identity.kb,
        upstream = tracing::field::Empty,
        correlation = tracing::field::Empty,
        client = tracing::field::Empty,
    );
    if let Some(correlation) = &identity.correlation {
        span.record("correlation", correlation.as_str());
    }
    if let Some(client) = &identity.client_name {
        span.record("client", &**client);
    }
    let feed = ctx.feed.clone();
    feed.publish(
        "session.opened",
        json!({ "session": identity.id, "kb": identity.kb, "path": identity.path,
            "client_name": identity.client_name.as_deref(), "correlation": identity.correlation }),
    );
    let registered = ctx.live.register(identity);
    let metrics = ctx.metrics.clone();
    let body =
        AssertUnwindSafe(serve(ctx, socket, init, registered.session.clone())).catch_unwind();
    if let Err(panic) = body.instrument(span.clone()).await {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        metrics.fault(Fault::SessionPanicked);
        span.in_scope(|| tracing::error!("[WS] session ended by an internal error: {what}"));
    }
    let mut closed = registered.session.json();
    closed["session"] = closed["id"].take();
    feed.publish("session.closed", closed);
}

async fn serve(
    ctx: Arc<SessionContext>,
    socket: WebSocket,
    init: SessionInit,
    live: Arc<live::LiveSession>,
) {
    let metrics = ctx.metrics.clone();
    metrics.count(Count::WsConnections);
    let _open = metrics.session_opened();
    let settings = &ctx.settings;
    let (sink, client_rx) = socket.split();
    let (out, out_rx) = mpsc::channel(CLIENT_QUEUE);
    let mut writer =
        tokio::spawn(writer::client_writer(sink, out_rx, settings.send_timeout).in_current_span());
    // First of all, the id the client can quote (logs, /admin/sessions). The queue is empty:
    // this cannot wait, and fails only if the writer already ended (so does the session).
    let identity = live.identity();
    let hello = json!({ "type": "voxgate.session", "session_id": identity.id, "kb": identity.kb,
        "correlation": identity.correlation })
    .to_string();
    live.frame_out(hello.len());
    let _ = out.try_send(Message::Text(hello.into()));
    let (tool_tx, tool_rx) = mpsc::unbounded_channel();
    let mut session = Session {
        memory: Memory::new(&settings.template, init.flavour, settings.restore_max_bytes),
        journal: Journal::default(),
        last_upstream_frame: Instant::now(),
        outage: OutageBuffer::new(
            settings.reconnect_buffer_events,
            settings.reconnect_buffer_bytes,
        ),
        keepalive: Keepalive::new(settings.pong_timeout),
        rate: rate::RateLimit::new(settings.events_per_second),
        ctx: ctx.clone(),
        init,
        out,
        upstream: None,
        active_response: None,
        rounds: ToolRounds::default(),
        echo: RestoreEcho::default(),
        reconnects: ReconnectBudget::new(settings.max_reconnect_attempts),
        tool_tx,
        last_client_event: Instant::now(),
        drain_deadline: None,
        live,
        on: None,
        abandoned: Vec::new(),
        rotation: rotation::RotationClock::new(settings.session_max_age),
        expiring: false,
        standby: None,
    };
    let writer_done = session.run(client_rx, tool_rx, &mut writer).await;
    drop(session);
    // Let the writer flush what is queued (a close frame, an error) within the send timeout.
    if !writer_done
        && tokio::time::timeout(settings.send_timeout * 2, &mut writer)
            .await
            .is_err()
    {
        writer.abort();
    }
    metrics.count(Count::WsDisconnects);
}

impl Session {
    /// The select loop; returns whether the client writer has already finished (its handle
    /// was consumed by the loop and must not be awaited again).
    async fn run(
        &mut self,
        mut client_rx: SplitStream<WebSocket>,
        mut tool_rx: mpsc::UnboundedReceiver<ToolResult>,
        writer: &mut tokio::task::JoinHandle<()>,
    ) -> bool {
        let Some(connected) = self.first_connect(&mut client_rx).await else {
            return false;
        };
        match connected {
            Ok((upstream, socket)) => {
                self.move_to(&upstream);
                self.attach(socket);
            }
            Err(error) => {
                self.fail(&error).await;
                return false;
            }
        }
        if let Flow::Reconnect(why) = self.send_upstream_value(self.memory.session_update()).await {
            tracing::warn!("first session.update failed: {why}");
        }
        // What the client sent while the upstream was being connected, in order.
        while let Some(pending) = self.outage.next() {
            if let Flow::Reconnect(why) = self.forward(pending).await {
                tracing::warn!("an event sent during the first connect failed: {why}");
            }
        }
        let ctx = self.ctx.clone();
        let settings = &ctx.settings;
        let mut ping = tokio::time::interval_at(
            Instant::now() + settings.ping_interval,
            settings.ping_interval,
        );
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reconnect: Option<Reconnect> = None;
        let mut rotate: Option<Reconnect> = None;
        let mut shutdown = ctx.shutdown.clone();
        let idle = settings.idle_timeout;
        let mut writer_done = false;
        let live = self.live.clone();
        loop {
            let idle_due = (!idle.is_zero()).then(|| self.last_client_event + idle);
            let ack_due = self.ack_due();
            let flow = tokio::select! {
                frame = client_rx.next() => self.on_client(frame).await,
                event = upstream_event(&mut self.upstream) => match event {
                    upstream_io::Event::Frame(frame) => self.on_upstream(frame).await,
                    upstream_io::Event::Sent(Ok(())) => Flow::Continue,
                    upstream_io::Event::Sent(Err(why)) => Flow::Reconnect(why),
                },
                _ = until(ack_due) => Flow::Reconnect(format!(
                    "no answer to {} event(s) ({}) within {}s (UPSTREAM_ACK_TIMEOUT)",
                    self.journal.len(),
                    self.journal.kinds().join(", "),
                    settings.ack_timeout.as_secs_f64()
                )),
                result = wait_for(&mut reconnect) => {
                    reconnect = None;
                    match result {
                        Some(Ok(connected)) => self.on_reconnected(connected).await,
                        Some(Err(error)) => {
                            self.fail(&error).await;
                            Flow::End
                        }
                        None => self.give_up("the backoff policy gave up reconnecting").await,
                    }
                }
                _ = until(self.rotation.due()) => {
                    self.rotation.fire();
                    Flow::Continue
                }
                result = wait_for(&mut rotate) => {
                    rotate = None;
                    match result {
                        Some(connected) => self.on_rotation_connected(connected).await,
                        None => Flow::Continue,
                    }
                }
                Some(result) = tool_rx.recv() => self.on_tool_result(result).await,
                _ = ping.tick() => self.ping().await,
                _ = until(self.keepalive.next_due()) => self.on_pong_overdue(),
                _ = &mut *writer => {
                    writer_done = true;
                    Flow::End
                }
                Ok(()) = shutdown.changed(), if self.drain_deadline.is_none() => {
                    let stop = *shutdown.borrow_and_update();
                    if stop { self.begin_drain().await } else { Flow::Continue }
                }
                _ = until(self.drain_deadline) => self.finish_drain().await,
                _ = until(idle_due) => self.on_idle().await,
                () = live.ended() => self.end_by_operator().await,
            };
            match flow {
                Flow::Continue => {
                    if rotate.is_none() && reconnect.is_none() && self.upstream.is_some() {
                        rotate = self.begin_rotation();
                    }
                }
                Flow::End => break,
                Flow::Reconnect(why) => {
                    // A rotation under way is moot: the reconnect restores anyway.
                    rotate = None;
                    match self.begin_reconnect(&why).await {
                        Some(future) => reconnect = Some(future),
                        None => break,
                    }
                }
            }
        }
        if let Some(upstream) = self.upstream.take() {
            let _ = tokio::time::timeout(settings.send_timeout * 2, upstream.close()).await;
        }
        writer_done
    }

    // ---- to the upstream -----------------------------------------------------------------

    /// A new upstream socket: frames go out through its queue, the session reads meanwhile.
    fn attach(&mut self, socket: UpstreamSocket) {
        self.upstream = Some(UpstreamIo::new(socket, self.ctx.settings.send_timeout));
        self.last_upstream_frame = Instant::now();
        self.rotation.started();
    }

    /// Queue a frame for the upstream (it goes out while the session keeps reading).
    fn send_upstream(&mut self, frame: UpMessage) -> Flow {
        let Some(upstream) = self.upstream.as_mut() else {
            return Flow::Continue;
        };
        match upstream.queue(frame) {
            Ok(()) => Flow::Continue,
            Err(why) => Flow::Reconnect(why),
        }
    }

    /// When the upstream's silence means it is gone: events are unacknowledged and nothing
    /// has arrived for `UPSTREAM_ACK_TIMEOUT` since the oldest of them was sent.
    fn ack_due(&self) -> Option<Instant> {
        self.upstream.as_ref()?;
        let oldest = self.journal.oldest()?;
        Some(oldest.max(self.last_upstream_frame) + self.ctx.settings.ack_timeout)
    }

    async fn send_upstream_value(&mut self, event: Value) -> Flow {
        self.forward(Pending::Gateway(event)).await
    }
}
