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
