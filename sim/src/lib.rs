//! The embedded Realtime simulator: enough of the protocol for the official SDKs, plus fault
//! injection for tests and load runs. `voxgate simulate` serves it alone; with no upstream
//! configured the gateway starts it in-process on a loopback port.
//!
//! Test routes: `GET /_sim/sessions` lists every session seen; `POST /_sim/faults` injects:
//! `{"refuse": {"status": 429, "count": 3}}` (next handshakes answered with that status),
//! `{"close": {"code": 1001, "reason": "session_expired"}}` (close every open session now, or
//! only `"session": "<id>"`),
//! `{"drop_after_events": 3}` (each open session is cut, without a close frame, after 3 more
//! events it sends), `{"drop_new_sessions_after_events": 1}` (every session opened from now on
//! is cut after sending that many events: an upstream that accepts and then fails), `{"stall": true}` (open sessions stop sending and stop answering pings),
//! `{"latency_ms": 200}` (delay before answering every client event), `{"event_delay_ms": 50}`
//! (delay before each event sent, so responses stream slowly), `{"clear": true}`.

mod conversation;
mod response;

pub use conversation::Conversation;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;
use voxgate_wire::Flavour;

/// What `/_sim/sessions` reports of one session.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionRecord {
    pub id: String,
    pub path: String,
    pub query: String,
    /// Whether an `api-key` or `Authorization` header came with the handshake.
    pub auth: bool,
    pub received: Vec<String>,
    pub items: Vec<Value>,
    pub open: bool,
}

#[derive(Debug, Clone)]
enum Control {
    Close(u16, String),
    DropAfter(u32),
    Stall,
}

#[derive(Default)]
struct Shared {
    refuse: Option<(u16, u32)>,
    drop_new_after: Option<u32>,
    latency: Duration,
    event_delay: Duration,
    sessions: Vec<SessionRecord>,
    controls: HashMap<String, mpsc::UnboundedSender<Control>>,
}

/// A running simulator's state (cheap to clone).
#[derive(Clone, Default)]
pub struct Simulator {
    shared: Arc<Mutex<Shared>>,
    ids: Arc<AtomicU64>,
}

/// The body of `POST /_sim/faults`. Several faults may be given at once.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    pub refuse: Option<Refuse>,
    pub close: Option<CloseFault>,
    pub drop_after_events: Option<u32>,
    pub drop_new_sessions_after_events: Option<u32>,
    pub stall: Option<bool>,
    pub latency_ms: Option<u64>,
    pub event_delay_ms: Option<u64>,
    pub clear: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Refuse {
    pub status: u16,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
pub struct CloseFault {
    #[serde(default = "going_away")]
    pub code: u16,
    #[serde(default)]
    pub reason: String,
    /// Close only this session (an id from `/_sim/sessions`); all open sessions when absent.
    #[serde(default)]
    pub session: Option<String>,
}

fn going_away() -> u16 {
    1001
}

impl Simulator {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The axum router of the simulator.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/realtime", any(upgrade))
            .route("/openai/realtime", any(upgrade))
            .route("/openai/v1/realtime", any(upgrade))
            .route("/_sim/sessions", get(list_sessions))
            .route("/_sim/faults", post(inject))
            .with_state(self.clone())
    }

    /// Serve on `listener` until the process ends; returns the bound address.
    pub async fn spawn(
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<(Simulator, SocketAddr)> {
        let simulator = Simulator::default();
        let addr = listener.local_addr()?;
        let app = simulator.router();
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener.tap_io(voxgate_wire::net::no_delay), app).await
            {
                tracing::error!("simulator stopped: {error}");
            }
        });
        Ok((simulator, addr))
    }

    pub fn sessions(&self) -> Vec<SessionRecord> {
        self.lock().sessions.clone()
    }

    /// Apply faults (what `POST /_sim/faults` does).
    pub fn inject(&self, faults: Faults) {
        let mut shared = self.lock();
        if faults.clear == Some(true) {
            shared.refuse = None;
            shared.drop_new_after = None;
            shared.latency = Duration::ZERO;
            shared.event_delay = Duration::ZERO;
        }
        if let Some(refuse) = faults.refuse {
            shared.refuse = (refuse.count > 0).then_some((refuse.status, refuse.count));
        }
        if let Some(n) = faults.drop_new_sessions_after_events {
            shared.drop_new_after = Some(n);
        }
        if let Some(ms) = faults.latency_ms {
            shared.latency = Duration::from_millis(ms);
        }
        if let Some(ms) = faults.event_delay_ms {
            shared.event_delay = Duration::from_millis(ms);
        }
        let mut controls = Vec::new();
        if let Some(close) = faults.close {
            let control = Control::Close(close.code, close.reason);
            match close.session {
                Some(id) => {
                    if let Some(tx) = shared.controls.get(&id) {
                        let _ = tx.send(control);
                    }
                }
                None => controls.push(control),
            }
        }
        if let Some(n) = faults.drop_after_events {
            controls.push(Control::DropAfter(n));
        }
        if faults.stall == Some(true) {
            controls.push(Control::Stall);
        }
        for control in controls {
            for tx in shared.controls.values() {
                let _ = tx.send(control.clone());
            }
        }
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut SessionRecord)) {
        if let Some(record) = self.lock().sessions.iter_mut().rev().find(|s| s.id == id) {
            f(record);
        }
    }
}

async fn list_sessions(State(sim): State<Simulator>) -> Json<Vec<SessionRecord>> {
    Json(sim.sessions())
}

async fn inject(State(sim): State<Simulator>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults) => {
            sim.inject(faults);
            Json(json!({ "ok": true })).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": format!("invalid faults: {e}") })),
        )
            .into_response(),
    }
}

async fn upgrade(
    State(sim): State<Simulator>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    {
        let mut shared = sim.lock();
        if let Some((status, count)) = shared.refuse {
            shared.refuse = (count > 1).then_some((status, count - 1));
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return (
                status,
                Json(json!({ "error": { "message": "refused by fault injection" } })),
            )
                .into_response();
        }
    }
    let ws = match ws {
        Ok(ws) => ws
            .read_buffer_size(voxgate_wire::net::READ_BUFFER)
            .write_buffer_size(0),
        Err(rejection) => return rejection.into_response(),
    };
    let n = sim.ids.fetch_add(1, Ordering::Relaxed) + 1;
    let id = format!("sess_{n}");
    let (tx, rx) = mpsc::unbounded_channel();
    let drop_after = {
        let mut shared = sim.lock();
        shared.sessions.push(SessionRecord {
            id: id.clone(),
            path: uri.path().to_string(),
            query: uri.query().unwrap_or_default().to_string(),
            auth: headers.contains_key("api-key") || headers.contains_key("authorization"),
            received: Vec::new(),
            items: Vec::new(),
            open: true,
        });
        shared.controls.insert(id.clone(), tx);
        shared.drop_new_after
    };
    let flavour = Flavour::of_path(uri.path());
    ws.on_upgrade(move |socket| async move {
        run_session(
            sim.clone(),
            socket,
            Conversation::new(flavour, id.clone()),
            rx,
            drop_after,
        )
        .await;
        let mut shared = sim.lock();
        shared.controls.remove(&id);
        if let Some(record) = shared.sessions.iter_mut().find(|s| s.id == id) {
            record.open = false;
        }
    })
}

/// The session was cut (fault) or the peer went away.
struct Ended;

struct Outbox {
    socket: WebSocket,
    drop_after: Option<u32>,
}

impl Outbox {
    async fn send(&mut self, event: Value) -> Result<(), Ended> {
        if let Some(left) = self.drop_after.as_mut() {
            if *left == 0 {
                return Err(Ended);
            }
            *left -= 1;
        }
        self.socket
            .send(Message::Text(event.to_string().into()))
            .await
            .map_err(|_| Ended)
    }
}

async fn run_session(
    sim: Simulator,
    socket: WebSocket,
    mut conversation: Conversation,
    mut controls: mpsc::UnboundedReceiver<Control>,
    drop_after: Option<u32>,
) {
    let mut out = Outbox { socket, drop_after };
    let created = conversation.session_created();
    if out.send(created).await.is_err() {
        return;
    }
    let mut stalled = false;
    loop {
        tokio::select! {
            control = controls.recv() => match control {
                Some(Control::Close(code, reason)) => {
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = out.socket.send(Message::Close(Some(frame))).await;
                    return;
                }
                Some(Control::DropAfter(n)) => {
                    out.drop_after = Some(n);
                    if n == 0 {
                        return;
                    }
                }
                Some(Control::Stall) => stalled = true,
                None => return,
            },
            frame = out.socket.recv(), if !stalled => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        let error = conversation.error("invalid_event", "Binary frames are not supported; send JSON text.".into(), None);
                        if out.send(error).await.is_err() { return; }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let kind = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| "<invalid>".into());
                let latency = sim.lock().latency;
                if !latency.is_zero() {
                    tokio::time::sleep(latency).await;
                }
                let events = conversation.handle(&text);
                let items = conversation.items().to_vec();
                sim.update(conversation.id(), |r| {
                    r.received.push(kind);
                    r.items = items;
                });
                let event_delay = sim.lock().event_delay;
                for event in events {
                    if !event_delay.is_zero() {
                        tokio::time::sleep(event_delay).await;
                    }
                    if out.send(event).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
