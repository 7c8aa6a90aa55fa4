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
//! `{"max_session_age_ms": 1500}` (sessions opened from now on end at that age as the real
//! service ends them: an `error` with code `session_expired`, then close 1000; 0 clears it),
//! `{"latency_ms": 200}` (delay before answering every client event), `{"event_delay_ms": 50}`
//! (delay before each event sent, so responses stream slowly), `{"clear": true}`.
//! The workload of audio load tests: `{"audio_frames": 90, "audio_pace_ms": 20}` (each audio
//! response is that many 20 ms frames, sent that far apart: real time). Every audio delta's
//! `event_id` is `evt_audio_<seq>_<unix µs when sent>`, so a client can find lost or reordered
//! frames and time each one.

mod conversation;
mod response;
mod session;
mod usage;

pub use conversation::Conversation;

use axum::extract::ws::WebSocketUpgrade;
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
    audio_frames: Option<u32>,
    audio_pace: Duration,
    max_session_age: Option<Duration>,
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
    /// 20 ms frames in each audio response (2 unless set).
    pub audio_frames: Option<u32>,
    /// Time between a response's audio frames (none unless set).
    pub audio_pace_ms: Option<u64>,
    /// Sessions opened from now on expire at this age (0: never).
    pub max_session_age_ms: Option<u64>,
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
            shared.audio_frames = None;
            shared.audio_pace = Duration::ZERO;
            shared.max_session_age = None;
        }
        if let Some(ms) = faults.max_session_age_ms {
            shared.max_session_age = (ms > 0).then(|| Duration::from_millis(ms));
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
        if let Some(n) = faults.audio_frames {
            shared.audio_frames = Some(n);
        }
        if let Some(ms) = faults.audio_pace_ms {
            shared.audio_pace = Duration::from_millis(ms);
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
        (shared.drop_new_after, shared.max_session_age)
    };
    let (drop_after, max_age) = drop_after;
    let flavour = Flavour::of_path(uri.path());
    ws.on_upgrade(move |socket| async move {
        session::run(
            sim.clone(),
            socket,
            Conversation::new(flavour, id.clone()),
            rx,
            drop_after,
            max_age,
        )
        .await;
        let mut shared = sim.lock();
        shared.controls.remove(&id);
        if let Some(record) = shared.sessions.iter_mut().find(|s| s.id == id) {
            record.open = false;
        }
    })
}
