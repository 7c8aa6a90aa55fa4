//! One simulated session's socket: client frames are read as they come and answered through a
//! timed outbox, so a response streaming at real-time pace (audio) or slowly (`event_delay_ms`)
//! never stops the session from reading the client's next frames. Faults (close, cut after N
//! events, stall) arrive as controls.

use super::{Control, Conversation, Simulator};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Client event kinds a session record keeps (the latest, for tests and `/_sim/sessions`).
const MAX_RECEIVED: usize = 10_000;

/// The session was cut (fault) or the peer went away.
struct Ended;

/// Events waiting for their time, in order.
struct Outbox {
    socket: WebSocket,
    drop_after: Option<u32>,
    queue: VecDeque<(Instant, Value)>,
    /// Audio deltas sent so far (their sequence numbers).
    audio_sent: u64,
}

fn is_audio_delta(event: &Value) -> bool {
    matches!(
        event["type"].as_str(),
        Some("response.output_audio.delta" | "response.audio.delta")
    )
}

impl Outbox {
    /// Queue `events`: each after the last one queued, `gap` later (`audio_gap` for audio).
    fn schedule(&mut self, events: Vec<Value>, gap: Duration, audio_gap: Duration) {
        let mut at = self
            .queue
            .back()
            .map_or_else(Instant::now, |(last, _)| *last)
            .max(Instant::now());
        for event in events {
            at += if is_audio_delta(&event) {
                audio_gap
            } else {
                gap
            };
            self.queue.push_back((at, event));
        }
    }

    /// When the next event is due.
    fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|(at, _)| *at)
    }

    /// Send every event that is due.
    async fn send_due(&mut self) -> Result<(), Ended> {
        while let Some((at, _)) = self.queue.front() {
            if *at > Instant::now() {
                break;
            }
            let Some((_, event)) = self.queue.pop_front() else {
                break;
            };
            self.send(event).await?;
        }
        Ok(())
    }

    async fn send(&mut self, mut event: Value) -> Result<(), Ended> {
        if let Some(left) = self.drop_after.as_mut() {
            if *left == 0 {
                return Err(Ended);
            }
            *left -= 1;
        }
        if is_audio_delta(&event) {
            let sent_us = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |t| t.as_micros());
            event["event_id"] = json!(format!("evt_audio_{}_{sent_us}", self.audio_sent));
            self.audio_sent += 1;
        }
        self.socket
            .send(Message::Text(event.to_string().into()))
            .await
            .map_err(|_| Ended)
    }
}

async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

pub(super) async fn run(
    sim: Simulator,
    socket: WebSocket,
    mut conversation: Conversation,
    mut controls: mpsc::UnboundedReceiver<Control>,
    drop_after: Option<u32>,
    max_age: Option<Duration>,
) {
    let expires = max_age.map(|age| Instant::now() + age);
    let mut out = Outbox {
        socket,
        drop_after,
        queue: VecDeque::new(),
        audio_sent: 0,
    };
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
            () = until(expires) => {
                // As the real service ends a session at its maximum duration.
                let minutes = max_age.unwrap_or_default().as_secs_f64() / 60.0;
                let expired = conversation.error(
                    "session_expired",
                    format!("Your session hit the maximum duration of {minutes:.2} minutes."),
                    None,
                );
                let _ = out.send(expired).await;
                let frame = CloseFrame { code: 1000, reason: "session_expired".into() };
                let _ = out.socket.send(Message::Close(Some(frame))).await;
                return;
            }
            () = until(out.next_due()), if !stalled => {
                if out.send_due().await.is_err() {
                    return;
                }
            }
            frame = out.socket.recv(), if !stalled => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        let error = conversation.error("invalid_event", "Binary frames are not supported; send JSON text.".into(), None);
                        out.schedule(vec![error], Duration::ZERO, Duration::ZERO);
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let kind = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| "<invalid>".into());
                let (latency, event_delay, audio_frames, audio_pace) = {
                    let shared = sim.lock();
                    (shared.latency, shared.event_delay, shared.audio_frames, shared.audio_pace)
                };
                if !latency.is_zero() {
                    tokio::time::sleep(latency).await;
                }
                conversation.set_audio_frames(audio_frames.unwrap_or(2));
                let events = conversation.handle(&text);
                // Appended audio changes no item: not worth a copy of them 50 times a second.
                if kind != "input_audio_buffer.append" {
                    let items = conversation.items().to_vec();
                    sim.update(conversation.id(), |r| {
                        if r.received.len() >= MAX_RECEIVED {
                            r.received.remove(0);
                        }
                        r.received.push(kind);
                        r.items = items;
                    });
                }
                out.schedule(events, event_delay, audio_pace.max(event_delay));
                if out.send_due().await.is_err() {
                    return;
                }
            }
        }
    }
}
