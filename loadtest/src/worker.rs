//! One load-test session: connect, talk at the configured rate (or stay idle), time every turn.

use super::{Mode, Options};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// What one session did.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub connected: bool,
    /// Why the session failed, if it did.
    pub failure: Option<String>,
    pub events_sent: u64,
    pub events_received: u64,
    pub turns_sent: u64,
    pub turns_answered: u64,
    pub turns_interrupted: u64,
    pub turns_unanswered: u64,
    pub reconnects: u64,
    /// Client send → first response event.
    pub first_event: Vec<Duration>,
    /// Client send → `response.done`.
    pub done: Vec<Duration>,
    pub errors: BTreeMap<String, u64>,
    /// The audio workload's counts.
    pub audio: super::audio::AudioCounts,
}

impl Outcome {
    pub fn crashed(why: String) -> Outcome {
        Outcome {
            failure: Some(format!("worker crashed: {why}")),
            ..Outcome::default()
        }
    }

    fn fail(mut self, why: impl Into<String>) -> Outcome {
        let why = why.into();
        *self.errors.entry(short_kind(&why)).or_default() += 1;
        self.failure = Some(why);
        self
    }
}

fn short_kind(why: &str) -> String {
    why.split(':').next().unwrap_or(why).trim().to_string()
}

/// Shared live figures for the progress bar.
#[derive(Clone)]
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    connected: Arc<AtomicU64>,
    events: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    started: std::time::Instant,
}

impl Progress {
    pub fn new(enabled: bool, sessions: usize) -> Progress {
        let bar = (enabled && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let bar = indicatif::ProgressBar::new(sessions as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} sessions {pos}/{len} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            connected: Arc::default(),
            events: Arc::default(),
            errors: Arc::default(),
            started: std::time::Instant::now(),
        }
    }

    fn update(&self) {
        if let Some(bar) = &self.bar {
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            bar.set_position(self.connected.load(Ordering::Relaxed));
            bar.set_message(format!(
                "| {:.0} events/s | {} errors",
                self.events.load(Ordering::Relaxed) as f64 / secs,
                self.errors.load(Ordering::Relaxed)
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn session_url(options: &Options) -> String {
    let base = format!("{}{}", options.url, options.path);
    if options.path == "/ws" {
        return base;
    }
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}kb={}", options.kb_id)
}

pub async fn send(socket: &mut Socket, outcome: &mut Outcome, event: Value) -> Result<(), String> {
    outcome.events_sent += 1;
    socket
        .send(Message::text(event.to_string()))
        .await
        .map_err(|e| format!("send failed: {e}"))
}

/// Run one session until `deadline`.
pub async fn session(
    n: usize,
    options: &Options,
    deadline: Instant,
    progress: &Progress,
    connecting: &tokio::sync::Semaphore,
) -> Outcome {
    let mut outcome = Outcome::default();
    // A few handshakes at a time: a burst from one address is what the gateway's admission
    // refuses (MAX_PENDING_CONNECTIONS_PER_IP), and no real client fleet opens that way.
    let Ok(permit) = connecting.acquire().await else {
        return outcome.fail("connect: the run ended");
    };
    let connect = tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::connect_async_with_config(
            session_url(options),
            Some(voxgate_wire::net::socket_config()),
            true,
        ),
    );
    let mut socket = match connect.await {
        Ok(Ok((socket, _))) => socket,
        Ok(Err(error)) => return outcome.fail(format!("connect: {error}")),
        Err(_) => return outcome.fail("connect: timed out"),
    };
    drop(permit);
    outcome.connected = true;
    progress.connected.fetch_add(1, Ordering::Relaxed);
    progress.update();
    let result = talk(n, options, deadline, progress, &mut socket, &mut outcome).await;
    let _ = socket.close(None).await;
    if let Err(why) = result {
        progress.errors.fetch_add(1, Ordering::Relaxed);
        return outcome.fail(why);
    }
    outcome
}

/// Read one event, counting it; `Ok(None)` when `until` passes first.
async fn next_event(
    socket: &mut Socket,
    outcome: &mut Outcome,
    progress: &Progress,
    until: Instant,
) -> Result<Option<Value>, String> {
    loop {
        let frame = match tokio::time::timeout_at(until, socket.next()).await {
            Err(_) => return Ok(None),
            Ok(frame) => frame,
        };
        if let Some(event) = count_received(frame, outcome, progress)? {
            return Ok(Some(event));
        }
    }
}

/// The fields of a delta the load client reads, borrowed from the frame.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    event_id: Option<std::borrow::Cow<'a, str>>,
}

/// One frame read: its event if it is a text frame (counted, errors tallied), `None` for
/// other frames, `Err` when the socket ended or the gateway refused the session.
pub fn count_received(
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    outcome: &mut Outcome,
    progress: &Progress,
) -> Result<Option<Value>, String> {
    let frame = match frame {
        None => return Err("closed: the socket ended".into()),
        Some(Err(error)) => return Err(format!("closed: {error}")),
        Some(Ok(frame)) => frame,
    };
    match frame {
        Message::Text(text) => {
            outcome.events_received += 1;
            progress.events.fetch_add(1, Ordering::Relaxed);
            // Deltas (most frames) are read by their head only: the load client must stay
            // cheaper than what it measures.
            if let Ok(head) = serde_json::from_str::<Head>(&text)
                && head.kind.ends_with(".delta")
            {
                return Ok(Some(
                    json!({ "type": head.kind, "event_id": head.event_id }),
                ));
            }
            let event: Value =
                serde_json::from_str(&text).map_err(|_| "protocol: a frame that is not JSON")?;
            match event["type"].as_str().unwrap_or_default() {
                "voxgate.upstream.reconnected" => outcome.reconnects += 1,
                "error" => {
                    let code = event["error"]["code"]
                        .as_str()
                        .unwrap_or("unknown")
                        .to_string();
                    *outcome.errors.entry(code).or_default() += 1;
                    progress.errors.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
            if let Some(seed_error) = event.get("error").and_then(Value::as_str) {
                return Err(format!("refused: {seed_error}"));
            }
            Ok(Some(event))
        }
        Message::Close(frame) => {
            let why = frame
                .map(|f| format!("{} {}", u16::from(f.code), f.reason))
                .unwrap_or_default();
            Err(format!("closed: by the server {why}"))
        }
        Message::Binary(_) => {
            outcome.events_received += 1;
            Ok(None)
        }
        _ => Ok(None),
    }
}

async fn talk(
    n: usize,
    options: &Options,
    deadline: Instant,
    progress: &Progress,
    socket: &mut Socket,
    outcome: &mut Outcome,
) -> Result<(), String> {
    if options.path == "/ws" {
        send(socket, outcome, json!({ "kb_id": options.kb_id })).await?;
    }
    let ready_by = Instant::now() + Duration::from_secs(30);
    loop {
        match next_event(socket, outcome, progress, ready_by).await? {
            Some(event) if event["type"] == "session.created" => break,
            Some(_) => continue,
            None => return Err("protocol: no session.created within 30s".into()),
        }
    }
    if options.mode == Mode::Audio {
        return super::audio::converse(options, deadline, progress, socket, outcome).await;
    }
    send(
        socket,
        outcome,
        json!({ "type": "session.update", "session": { "modalities": ["text"], "output_modalities": ["text"] } }),
    )
    .await?;
    if options.mode == Mode::Idle {
        // Hold the session open (answering pings while reading) until the end.
        while next_event(socket, outcome, progress, deadline)
            .await?
            .is_some()
        {}
        return Ok(());
    }
    let interval = Duration::from_secs_f64(1.0 / options.rate);
    // Spread the sessions' first turns over one interval.
    let offset = interval.mul_f64((n % 100) as f64 / 100.0);
    let mut next_turn = Instant::now() + offset;
    let mut turn = 0u64;
    while next_turn < deadline {
        tokio::time::sleep_until(next_turn).await;
        next_turn += interval;
        turn += 1;
        let text = format!("load test session {n} turn {turn}");
        one_turn(socket, outcome, progress, options, &text).await?;
    }
    Ok(())
}

/// Send one user turn and wait for its answer; an interrupted turn (upstream cut) is asked
/// again once, after the gateway says it reconnected.
async fn one_turn(
    socket: &mut Socket,
    outcome: &mut Outcome,
    progress: &Progress,
    options: &Options,
    text: &str,
) -> Result<(), String> {
    for attempt in 0..2 {
        if attempt == 0 {
            send(
                socket,
                outcome,
                json!({ "type": "conversation.item.create", "item": { "type": "message", "role": "user",
                    "content": [{ "type": "input_text", "text": text }] } }),
            )
            .await?;
        }
        send(socket, outcome, json!({ "type": "response.create" })).await?;
        outcome.turns_sent += u64::from(attempt == 0);
        let sent = Instant::now();
        let until = sent + options.turn_timeout;
        let mut first = None;
        let mut interrupted = false;
        loop {
            let Some(event) = next_event(socket, outcome, progress, until).await? else {
                outcome.turns_unanswered += 1;
                return Err(format!(
                    "unanswered: no response.done within {:?}",
                    options.turn_timeout
                ));
            };
            let kind = event["type"].as_str().unwrap_or_default();
            if kind.starts_with("response.") && first.is_none() {
                first = Some(sent.elapsed());
            }
            if kind == "error" && event["error"]["code"] == "upstream_interrupted" {
                interrupted = true;
                outcome.turns_interrupted += 1;
            }
            if interrupted && kind == "voxgate.upstream.reconnected" {
                break; // ask again
            }
            if kind == "response.done" {
                outcome.turns_answered += 1;
                outcome
                    .first_event
                    .push(first.unwrap_or_else(|| sent.elapsed()));
                outcome.done.push(sent.elapsed());
                return Ok(());
            }
        }
    }
    outcome.turns_unanswered += 1;
    Err("unanswered: interrupted twice".into())
}
