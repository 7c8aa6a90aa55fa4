//! Upstream session rotation over real sockets: past `UPSTREAM_SESSION_MAX_AGE` the gateway
//! replaces the upstream session at a quiet moment (make-before-break) while the conversation
//! keeps streaming; a `session_expired` from the upstream is handled the same way. The client
//! sees at most `voxgate.upstream.rotated`: no error, no reconnecting, every turn answered.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;

fn errors_or_reconnects(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["type"] == "error" || e["type"] == "voxgate.upstream.reconnecting")
        .collect()
}

#[tokio::test]
async fn sessions_rotate_by_age_while_the_conversation_streams() {
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", None);
    config.upstream_session_max_age = Duration::from_millis(700);
    let gw = TestGateway::start(config).await;
    // Responses stream slowly (a few hundred ms each), one after another.
    sim.faults(json!({"event_delay_ms": 25})).await;
    let mut client = talking_client(&gw).await;
    let mut said = Vec::new();
    for i in 0..8 {
        let text = format!("turn number {i}");
        let events = client.turn(&text).await;
        assert_eq!(response_text(&events), format!("You said: {text}"));
        said.push(text);
    }
    let rotations = |health: Value| {
        health["metrics"]["counters"]["upstream_rotations"]
            .as_u64()
            .unwrap()
    };
    let health = gw.health().await;
    let counted = rotations(health.clone());
    assert!(
        counted >= 2,
        "8 turns of ~0.3 s with a 0.7 s maximum age: {counted} rotations"
    );
    assert_eq!(health["metrics"]["counters"]["azure_reconnections"], 0);
    // Every rotation is told (the latest may still be on its way).
    let mut told = client
        .seen
        .iter()
        .filter(|e| e["type"] == "voxgate.upstream.rotated")
        .count() as u64;
    while told < counted {
        client.recv_type("voxgate.upstream.rotated").await;
        told += 1;
    }
    let seen = client.seen.clone();
    assert!(
        errors_or_reconnects(&seen).is_empty(),
        "{:?}",
        errors_or_reconnects(&seen)
    );
    // Each rotation opened one new upstream session holding the whole conversation (a connect
    // that finds the conversation busy waits for quiet; it is not thrown away).
    let sessions = sim.sessions().await;
    let after = rotations(gw.health().await);
    assert!(
        (1 + counted..=2 + after).contains(&(sessions.len() as u64)),
        "{} upstream sessions for {counted}..{after} rotations",
        sessions.len()
    );
    let texts = item_texts(sessions.last().unwrap());
    for text in &said {
        assert!(texts.contains(text), "{text} missing from {texts:?}");
    }
    assert!(
        sessions.iter().filter(|s| s["open"] == true).count() <= 2,
        "the old ones were closed (one may be the next rotation's)"
    );
}

#[tokio::test]
async fn an_expired_upstream_session_is_rotated_not_an_error() {
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", None);
    config.upstream_session_max_age = Duration::ZERO;
    let gw = TestGateway::start(config).await;
    sim.faults(json!({"max_session_age_ms": 800})).await;
    let mut client = talking_client(&gw).await;
    client.turn("remember the number 42").await;
    let rotated = client.recv_type("voxgate.upstream.rotated").await;
    assert!(
        rotated["restored_items"].as_u64().unwrap() >= 2,
        "{rotated}"
    );
    let events = client.turn("and now").await;
    assert_eq!(response_text(&events), "You said: and now", "{events:?}");
    assert!(
        errors_or_reconnects(&client.seen).is_empty(),
        "{:?}",
        errors_or_reconnects(&client.seen)
    );
    let texts = item_texts(sim.sessions().await.last().unwrap());
    assert!(
        texts.iter().any(|t| t == "remember the number 42"),
        "{texts:?}"
    );
}

/// `n` bytes of silence as one `input_audio_buffer.append`.
fn append(n: usize) -> Value {
    use base64::Engine;
    let audio = base64::engine::general_purpose::STANDARD.encode(vec![0u8; n]);
    json!({"type": "input_audio_buffer.append", "audio": audio})
}

#[tokio::test]
async fn a_rotation_while_the_user_speaks_loses_no_audio() {
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", None);
    config.upstream_session_max_age = Duration::from_millis(300);
    let gw = TestGateway::start(config).await;
    let mut client = talking_client(&gw).await;
    // Speech across the age boundary: 12 frames of 100 ms, one every 100 ms.
    for _ in 0..12 {
        client.send(append(4800)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client
        .send(json!({"type": "input_audio_buffer.commit"}))
        .await;
    client.recv_type("input_audio_buffer.committed").await;
    // Once the user is quiet, the session rotates; the new upstream session holds the audio.
    client.recv_type("voxgate.upstream.rotated").await;
    let events = client.turn("after the rotation").await;
    assert_eq!(response_text(&events), "You said: after the rotation");
    // Where the commit landed, the audio is one item of every byte; the upstream session after
    // the rotation holds it too (restored, as the service allows, by its transcript).
    let sessions = sim.sessions().await;
    let audio_items = |session: &Value, field: &str| -> Vec<String> {
        session["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["content"][0][field].as_str().map(str::to_owned))
            .filter(|t| t.starts_with("Simulated transcript"))
            .collect()
    };
    let committed: Vec<String> = sessions
        .iter()
        .flat_map(|s| audio_items(s, "transcript"))
        .collect();
    assert_eq!(
        committed,
        ["Simulated transcript of 57600 bytes of audio."],
        "one commit, every frame"
    );
    assert_eq!(
        audio_items(sessions.last().unwrap(), "text"),
        ["Simulated transcript of 57600 bytes of audio."],
        "restored in the upstream session after the rotation"
    );
    assert!(
        errors_or_reconnects(&client.seen).is_empty(),
        "{:?}",
        errors_or_reconnects(&client.seen)
    );
}
