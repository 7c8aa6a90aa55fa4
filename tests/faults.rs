//! Faults a real network and a real upstream produce, over loopback against the simulator:
//! an upstream that accepts and then fails every time, hostile client frames at the protocol
//! level. Each asserts what the client saw and what the upstream received.

mod support;

use serde_json::json;
use support::*;

async fn talking_client(gw: &TestGateway) -> Client {
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    client.text_only().await;
    let events = client.turn("remember the blue door").await;
    assert_eq!(response_text(&events), "You said: remember the blue door");
    client
}

#[tokio::test]
async fn an_upstream_failing_after_every_connect_gets_bounded_reconnects_then_a_clear_error() {
    let (sim, gw) = gateway_on_sim(test_config()).await;
    let mut client = talking_client(&gw).await;
    // Every new upstream session says `session.created` and is then cut: each reconnect
    // "succeeds" and the restore never completes.
    sim.faults(json!({"drop_new_sessions_after_events": 1})).await;
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    let (close, events) = client.until_close().await;
    let close = close.expect("a close frame");
    assert_eq!(u16::from(close.code), 1011);
    let error = events
        .iter()
        .find(|e| e["type"] == "error" && e["error"]["code"] == "upstream_unavailable")
        .unwrap_or_else(|| panic!("a clear error: {:?}", types(&events)));
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("3 time(s) in a row"), "{message}");
    // The first session, then MAX_RETRY_ATTEMPTS (3) reconnects: no storm.
    assert_eq!(sim.sessions().await.len(), 4);
    let health = gw.health().await;
    assert_eq!(health["active_sessions"], 0, "{health}");
    assert_eq!(health["metrics"]["counters"]["azure_reconnections"], 3);
}
