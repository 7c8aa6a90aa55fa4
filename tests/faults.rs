//! Faults a real network and a real upstream produce, over loopback against the simulator:
//! an upstream that accepts and then fails every time, hostile client frames at the protocol
//! level. Each asserts what the client saw and what the upstream received.

mod support;

use serde_json::json;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

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
    sim.faults(json!({"drop_new_sessions_after_events": 1}))
        .await;
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

/// A raw frame, for what a conforming client library would never send.
async fn send_raw(client: &mut Client, opcode: OpCode, payload: &[u8]) {
    use futures_util::SinkExt;
    let frame = Frame::message(payload.to_vec(), opcode, true);
    client.ws.send(Message::Frame(frame)).await.expect("send");
}

#[tokio::test]
async fn invalid_utf8_closes_1007_and_protocol_errors_close_1002() {
    let (_sim, gw) = gateway_on_sim(test_config()).await;
    let mut client = talking_client(&gw).await;
    send_raw(
        &mut client,
        OpCode::Data(Data::Text),
        b"{\"type\":\"\xff\xfe\"}",
    )
    .await;
    let (close, events) = client.until_close().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1007));
    assert!(
        events.iter().any(|e| e["error"]["code"] == "invalid_utf8"),
        "{events:?}"
    );

    let mut client = talking_client(&gw).await;
    // A continuation frame with nothing to continue.
    send_raw(&mut client, OpCode::Data(Data::Continue), b"orphan").await;
    let (close, events) = client.until_close().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1002));
    assert!(
        events
            .iter()
            .any(|e| e["error"]["code"] == "protocol_error"),
        "{events:?}"
    );
    eventually("both sessions ended", || async {
        gw.health().await["active_sessions"] == 0
    })
    .await;
}
