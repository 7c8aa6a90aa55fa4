//! The voice workload: each session streams input audio at real-time pace
//! (`input_audio_buffer.append` every 20 ms with 20 ms of 24 kHz PCM16, 1,280 base64 bytes),
//! commits a turn every [`TURN`] (or, under load, once the previous answer is over) and asks
//! for a response; the simulator answers each turn with
//! real-time-paced audio deltas of the same size (set through its `/_sim/faults` route) plus
//! transcript deltas. Every output frame is timed from the simulator's send stamp (its
//! `event_id`) to its arrival here and checked for loss and order; every input frame is checked
//! by the byte count the simulator transcribes for each commit.

use super::Options;
use super::worker::{Outcome, Progress, Socket, count_received, send};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// One audio frame: 20 ms.
pub const FRAME: Duration = Duration::from_millis(20);
/// PCM16 bytes in one frame (24 kHz mono).
pub const FRAME_BYTES: usize = 960;
/// A user turn: this much audio, then a commit and `response.create`.
pub const TURN: Duration = Duration::from_secs(2);
/// Frames in each response (1.8 s: it ends before the next turn's commit).
pub const RESPONSE_FRAMES: u32 = 90;

/// What a session saw of the audio.
#[derive(Debug, Default, Clone)]
pub struct AudioCounts {
    pub frames_sent: u64,
    pub frames_received: u64,
    /// Simulator send → arrival here, per output frame.
    pub frame_latency: Vec<Duration>,
    /// Output frames missing from the sequence.
    pub frames_lost: u64,
    /// Output frames that came after a later one.
    pub frames_reordered: u64,
    /// Input frames the simulator did not transcribe with their commit.
    pub input_frames_lost: u64,
}

/// What the simulator must do for this workload (`POST /_sim/faults`).
pub fn simulator_setup() -> Value {
    json!({ "audio_frames": RESPONSE_FRAMES, "audio_pace_ms": FRAME.as_millis() as u64 })
}

fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.as_micros())
}

/// `evt_audio_<seq>_<unix µs>` → (seq, µs).
fn stamp(event: &Value) -> Option<(u64, u128)> {
    let id = event["event_id"].as_str()?.strip_prefix("evt_audio_")?;
    let (seq, sent) = id.split_once('_')?;
    Some((seq.parse().ok()?, sent.parse().ok()?))
}

/// "Simulated transcript of N bytes of audio." → N.
fn transcribed_bytes(event: &Value) -> Option<u64> {
    event["transcript"]
        .as_str()?
        .strip_prefix("Simulated transcript of ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

struct Conversation {
    /// The next output frame's sequence number.
    expected_seq: u64,
    /// PCM bytes of each commit not yet transcribed, oldest first.
    commits: VecDeque<u64>,
    turn_sent: Option<Instant>,
    first: Option<Duration>,
}

impl Conversation {
    fn on_event(&mut self, event: &Value, outcome: &mut Outcome) {
        let kind = event["type"].as_str().unwrap_or_default();
        match kind {
            "response.output_audio.delta" | "response.audio.delta" => {
                let audio = &mut outcome.audio;
                audio.frames_received += 1;
                if let Some((seq, sent)) = stamp(event) {
                    let micros = unix_micros().saturating_sub(sent);
                    audio
                        .frame_latency
                        .push(Duration::from_micros(micros as u64));
                    if seq > self.expected_seq {
                        audio.frames_lost += seq - self.expected_seq;
                    } else if seq < self.expected_seq {
                        // Counted lost when a later one came; it was only late.
                        audio.frames_reordered += 1;
                        audio.frames_lost = audio.frames_lost.saturating_sub(1);
                    }
                    self.expected_seq = self.expected_seq.max(seq + 1);
                }
            }
            "conversation.item.input_audio_transcription.completed" => {
                if let (Some(expected), Some(got)) =
                    (self.commits.pop_front(), transcribed_bytes(event))
                {
                    let missing = expected.saturating_sub(got);
                    outcome.audio.input_frames_lost += missing.div_ceil(FRAME_BYTES as u64);
                }
            }
            _ => {}
        }
        if let Some(sent) = self.turn_sent {
            if kind.starts_with("response.") && self.first.is_none() {
                self.first = Some(sent.elapsed());
            }
            if kind == "response.done" {
                outcome.turns_answered += 1;
                outcome
                    .first_event
                    .push(self.first.take().unwrap_or_else(|| sent.elapsed()));
                outcome.done.push(sent.elapsed());
                self.turn_sent = None;
            }
        }
    }
}

/// Stream audio both ways until `deadline`, then wait (bounded) for the last response.
pub async fn converse(
    options: &Options,
    deadline: Instant,
    progress: &Progress,
    socket: &mut Socket,
    outcome: &mut Outcome,
) -> Result<(), String> {
    send(
        socket,
        outcome,
        json!({ "type": "session.update", "session": {
            "modalities": ["audio", "text"], "output_modalities": ["audio"] } }),
    )
    .await?;
    let silence = base64_silence();
    let append = json!({ "type": "input_audio_buffer.append", "audio": silence }).to_string();
    let frames_per_turn = (TURN.as_millis() / FRAME.as_millis()) as u64;
    let mut conversation = Conversation {
        expected_seq: 0,
        commits: VecDeque::new(),
        turn_sent: None,
        first: None,
    };
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_turn = 0u64;
    let mut last_response_by = deadline;
    loop {
        let ending = Instant::now() >= deadline;
        if ending && (conversation.turn_sent.is_none() || Instant::now() >= last_response_by) {
            if conversation.turn_sent.is_some() {
                outcome.turns_unanswered += 1;
            }
            return Ok(());
        }
        let frame = tokio::select! {
            _ = tick.tick(), if !ending => None,
            frame = socket.next() => Some(frame),
            () = tokio::time::sleep_until(last_response_by), if ending => continue,
        };
        match frame {
            None => {
                outcome.events_sent += 1;
                outcome.audio.frames_sent += 1;
                futures_util::SinkExt::send(socket, Message::text(append.clone()))
                    .await
                    .map_err(|e| format!("send failed: {e}"))?;
                in_turn += 1;
                // A turn ends after TURN of audio, or once the previous answer is over (under
                // load an answer may outlast its turn: the user goes on speaking meanwhile).
                if in_turn >= frames_per_turn && conversation.turn_sent.is_none() {
                    send(
                        socket,
                        outcome,
                        json!({ "type": "input_audio_buffer.commit" }),
                    )
                    .await?;
                    send(socket, outcome, json!({ "type": "response.create" })).await?;
                    outcome.turns_sent += 1;
                    conversation.commits.push_back(in_turn * FRAME_BYTES as u64);
                    conversation.turn_sent = Some(Instant::now());
                    last_response_by = (Instant::now() + options.turn_timeout).max(deadline);
                    in_turn = 0;
                }
            }
            Some(frame) => {
                if let Some(event) = count_received(frame, outcome, progress)? {
                    conversation.on_event(&event, outcome);
                }
            }
        }
    }
}

fn base64_silence() -> String {
    // 960 zero bytes are 320 groups of "AAAA".
    "AAAA".repeat(FRAME_BYTES / 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_transcripts_are_read() {
        let event = json!({"event_id": "evt_audio_17_1764470000123456"});
        assert_eq!(stamp(&event), Some((17, 1_764_470_000_123_456)));
        assert_eq!(stamp(&json!({"event_id": "event_3"})), None);
        let done = json!({"transcript": "Simulated transcript of 96000 bytes of audio."});
        assert_eq!(transcribed_bytes(&done), Some(96_000));
        assert_eq!(base64_silence().len(), 1280);
    }

    #[test]
    fn gaps_and_reorders_are_counted() {
        let mut outcome = Outcome::default();
        let mut c = Conversation {
            expected_seq: 0,
            commits: VecDeque::from([1920, 1920]),
            turn_sent: None,
            first: None,
        };
        let frame = |seq: u64| json!({"type": "response.output_audio.delta", "event_id": format!("evt_audio_{seq}_{}", unix_micros())});
        for seq in [0, 1, 3, 2, 4] {
            c.on_event(&frame(seq), &mut outcome);
        }
        assert_eq!(outcome.audio.frames_received, 5);
        assert_eq!(outcome.audio.frames_reordered, 1, "2 after 3");
        assert_eq!(outcome.audio.frames_lost, 0, "late, not lost");
        c.on_event(&frame(6), &mut outcome);
        assert_eq!(outcome.audio.frames_lost, 1, "5 never came");
        let transcribed = |n: u64| json!({"type": "conversation.item.input_audio_transcription.completed", "transcript": format!("Simulated transcript of {n} bytes of audio.")});
        c.on_event(&transcribed(1920), &mut outcome);
        c.on_event(&transcribed(960), &mut outcome);
        assert_eq!(outcome.audio.input_frames_lost, 1);
    }
}
