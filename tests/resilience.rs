//! The seed's failure scenarios end to end, with the simulator's fault injection:
//! (1) upstream outage and the azure breaker, (2) network interruptions that keep the
//! conversation, (4) many sessions through one outage. Scenario 3 lives in tests/rag.rs.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;
use voxgate::Config;

fn config_for(sim: &Sim) -> Config {
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", Some("sk-test"));
    config
}

async fn breaker_state(gw: &TestGateway) -> String {
    gw.health().await["circuit_breakers"]["azure"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn scenario_1_outage_opens_the_breaker_then_half_open_then_closed() {
    let sim = Sim::start().await;
    let mut config = config_for(&sim);
    config.upstream_breaker = breaker(5, Duration::from_millis(1500));
    let gw = TestGateway::start(config).await;
    sim.faults(json!({"refuse": {"status": 503, "count": 1000}}))
        .await;

    // 3 attempts, then 2 more: the 5th consecutive failure opens the breaker.
    for expected in ["upstream_unavailable", "upstream_circuit_open"] {
        let mut client = Client::connect(&gw.url("/v1/realtime")).await;
        let (close, events) = client.until_close().await;
        assert_eq!(events[1]["error"]["code"], expected, "{events:?}");
        assert_eq!(close.map(|c| u16::from(c.code)), Some(1011));
    }
    let health = gw.health().await;
    assert_eq!(health["circuit_breakers"]["azure"], "open");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["metrics"]["errors"]["azure_connection_failed"], 5);
    assert!(
        logs().contains("[RETRY] Attempt 1 failed, retrying in 0.01s"),
        "seed's retry line"
    );
    assert!(logs().contains("[RETRY] Attempt 2 failed, retrying in 0.02s"));
    assert!(logs().contains("[CIRCUIT] azure breaker CLOSED -> OPEN"));
    // Unready while the breaker is open (an orchestrator sends new sessions elsewhere); alive.
    let readyz = gw.get("/readyz").await;
    assert_eq!(readyz.status(), 503);
    let body: serde_json::Value = readyz.json().await.unwrap();
    assert_eq!(body["reasons"][0], "the upstream's circuit breaker is open");
    assert_eq!(gw.get("/livez").await.status(), 200);

    // Rejected fast while open: no new handshake reaches the upstream.
    let before = sim.sessions().await.len();
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    let (_, events) = client.until_close().await;
    assert_eq!(events[1]["error"]["code"], "upstream_circuit_open");
    assert_eq!(sim.sessions().await.len(), before);

    // With no traffic, the timeout alone moves it to half_open.
    eventually("azure breaker half_open", || async {
        breaker_state(&gw).await == "half_open"
    })
    .await;
    sim.faults(json!({"clear": true})).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    assert_eq!(breaker_state(&gw).await, "closed");
    assert_eq!(gw.health().await["status"], "healthy");
    let metrics = gw.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .contains("voxgate_circuit_breaker_transitions_total{breaker=\"azure\",to=\"open\"} 1")
    );
    assert!(
        metrics.contains(
            "voxgate_circuit_breaker_transitions_total{breaker=\"azure\",to=\"closed\"} 1"
        )
    );
}

fn texts(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| {
            let part = &item["content"][0];
            part["text"]
                .as_str()
                .or(part["transcript"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

/// After an outage: the client stays, the new upstream session holds the old conversation,
/// events sent during the outage arrive once and in order, and the next turn is answered.
async fn survives(sim: &Sim, gw: &TestGateway, client: &mut Client, fault: Value) {
    sim.faults(fault).await;
    client.recv_type("voxgate.upstream.reconnecting").await;
    for n in 1..=3 {
        client
            .send(json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                "content": [{"type": "input_text", "text": format!("during outage {n}")}]}}))
            .await;
    }
    let notice = client.recv_type("voxgate.upstream.reconnected").await;
    assert!(notice["restored_items"].as_u64().unwrap() >= 2, "{notice}");
    let events = client.turn("and now").await;
    assert!(
        response_text(&events).starts_with("You said: and now"),
        "{events:?}"
    );

    let sessions = sim.sessions().await;
    let latest = sessions.last().unwrap();
    let texts = texts(&latest["items"]);
    assert_eq!(
        texts,
        [
            "remember the blue door",
            "You said: remember the blue door",
            "during outage 1",
            "during outage 2",
            "during outage 3",
            "and now",
            "You said: and now",
        ],
        "the new upstream session continues the conversation"
    );
    let health = gw.health().await;
    assert!(
        health["metrics"]["counters"]["azure_reconnections"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(
        health["metrics"]["errors"]["azure_disconnected"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(logs().contains("[WS] Azure disconnected"));
    assert!(logs().contains("[WS] Attempting to reconnect to Azure..."));
    assert!(logs().contains("[WS] Reconnected to Azure"));
}

#[tokio::test]
async fn scenario_2_session_expired_close_keeps_the_conversation() {
    let sim = Sim::start().await;
    let gw = TestGateway::start(config_for(&sim)).await;
    let mut client = talking_client(&gw).await;
    survives(
        &sim,
        &gw,
        &mut client,
        json!({"close": {"code": 1001, "reason": "session_expired"}}),
    )
    .await;
}

#[tokio::test]
async fn scenario_2_stalled_upstream_is_detected_by_missing_pong() {
    let sim = Sim::start().await;
    let mut config = config_for(&sim);
    config.ping_interval = Duration::from_millis(100);
    config.pong_timeout = Duration::from_millis(300);
    let gw = TestGateway::start(config).await;
    let mut client = talking_client(&gw).await;
    survives(&sim, &gw, &mut client, json!({"stall": true})).await;
}

#[tokio::test]
async fn scenario_2_cut_mid_response_reports_upstream_interrupted() {
    let sim = Sim::start().await;
    let gw = TestGateway::start(config_for(&sim)).await;
    let mut client = talking_client(&gw).await;
    sim.faults(json!({"drop_after_events": 5})).await;
    client
        .send(
            json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "a long answer please"}]}}),
        )
        .await;
    client.send(json!({"type": "response.create"})).await;
    let error = client.recv_type("error").await;
    assert_eq!(error["error"]["code"], "upstream_interrupted", "{error}");
    client.recv_type("voxgate.upstream.reconnected").await;
    let events = client.turn("still there").await;
    assert_eq!(response_text(&events), "You said: still there");
    assert_eq!(
        gw.health().await["metrics"]["errors"]["upstream_interrupted"],
        1
    );
}

#[tokio::test]
async fn reconnect_notices_can_be_turned_off() {
    let sim = Sim::start().await;
    let mut config = config_for(&sim);
    config.notify_reconnect = false;
    let gw = TestGateway::start(config).await;
    let mut client = talking_client(&gw).await;
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    eventually("reconnected", || async {
        gw.health().await["metrics"]["counters"]["azure_reconnections"] == 1
    })
    .await;
    let events = client.turn("quiet please").await;
    assert_eq!(response_text(&events), "You said: quiet please");
    assert!(
        client
            .seen
            .iter()
            .all(|e| !e["type"].as_str().unwrap().starts_with("voxgate.upstream"))
    );
}

#[tokio::test]
async fn reconnection_that_finally_fails_closes_1011_with_a_clear_error() {
    let sim = Sim::start().await;
    let gw = TestGateway::start(config_for(&sim)).await;
    let mut client = talking_client(&gw).await;
    sim.faults(json!({"refuse": {"status": 503, "count": 1000}}))
        .await;
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    let (close, events) = client.until_close().await;
    let error = events
        .iter()
        .find(|e| e["type"] == "error")
        .expect("an error event");
    assert_eq!(error["error"]["code"], "upstream_unavailable");
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1011));
}

#[tokio::test]
async fn outage_buffer_overflow_is_told_to_the_client() {
    let sim = Sim::start().await;
    let mut config = config_for(&sim);
    config.reconnect_buffer_events = 2;
    config.retry = retry(3, Duration::from_millis(300), Duration::from_millis(300));
    let gw = TestGateway::start(config).await;
    let mut client = talking_client(&gw).await;
    sim.faults(json!({"refuse": {"status": 503, "count": 1}}))
        .await;
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    client.recv_type("voxgate.upstream.reconnecting").await;
    for _ in 0..4 {
        client
            .send(json!({"type": "input_audio_buffer.clear"}))
            .await;
    }
    let error = client.recv_type("error").await;
    assert_eq!(error["error"]["code"], "reconnect_buffer_full");
    client.recv_type("voxgate.upstream.reconnected").await;
    assert_eq!(
        gw.health().await["metrics"]["counters"]["client_events_dropped"],
        2
    );
}

#[tokio::test]
async fn scenario_4_fifty_sessions_share_one_breaker_through_an_outage() {
    let sim = Sim::start().await;
    let mut config = config_for(&sim);
    config.upstream_breaker = breaker(5, Duration::from_millis(2000));
    let gw = TestGateway::start(config).await;
    let mut clients = Vec::new();
    for _ in 0..50 {
        let mut client = Client::connect(&gw.url("/v1/realtime")).await;
        client.recv_type("session.created").await;
        clients.push(client);
    }
    sim.faults(json!({"refuse": {"status": 503, "count": 100000}}))
        .await;
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    // Every session ends with a clear error, none waits on another.
    let outcomes =
        futures_util::future::join_all(clients.iter_mut().map(|c| c.until_close())).await;
    for (close, events) in &outcomes {
        let error = events
            .iter()
            .find(|e| e["type"] == "error")
            .expect("error event");
        let code = error["error"]["code"].as_str().unwrap();
        assert!(
            matches!(code, "upstream_circuit_open" | "upstream_unavailable"),
            "{code}"
        );
        assert_eq!(close.as_ref().map(|c| u16::from(c.code)), Some(1011));
    }
    let health = gw.health().await;
    assert_eq!(health["circuit_breakers"]["azure"], "open");
    let failures = health["metrics"]["errors"]["azure_connection_failed"]
        .as_u64()
        .unwrap();
    // Without a shared breaker this would be 150 (50 sessions × 3 attempts).
    assert!(
        failures < 100,
        "the shared breaker stopped the retry storm: {failures} failed handshakes"
    );
    let circuit_open = outcomes
        .iter()
        .filter(|(_, events)| {
            events
                .iter()
                .any(|e| e["error"]["code"] == "upstream_circuit_open")
        })
        .count();
    assert!(circuit_open > 0);
    // And it recovers for everyone.
    sim.faults(json!({"clear": true})).await;
    eventually("half_open", || async {
        breaker_state(&gw).await == "half_open"
    })
    .await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    assert_eq!(breaker_state(&gw).await, "closed");
}

#[tokio::test]
async fn upstream_garbage_is_reported_not_fatal() {
    // A raw WebSocket server that sends garbage, then a valid event.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use futures_util::SinkExt;
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let _ = ws
                    .send(tokio_tungstenite::tungstenite::Message::text("{not json"))
                    .await;
                let _ = ws
                    .send(tokio_tungstenite::tungstenite::Message::text(
                        r#"{"no":"type"}"#,
                    ))
                    .await;
                let _ = ws
                    .send(tokio_tungstenite::tungstenite::Message::text(
                        r#"{"type":"session.created","session":{}}"#,
                    ))
                    .await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    let mut config = test_config();
    config.upstream = voxgate::config::UpstreamConfig::Fixed(
        voxgate::upstream::Endpoint::custom(&format!("ws://{addr}/v1/realtime"), None).unwrap(),
    );
    let gw = TestGateway::start(config).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("voxgate.session").await;
    let first = client.recv().await;
    assert_eq!(first["error"]["code"], "upstream_invalid_event");
    let second = client.recv().await;
    assert_eq!(second["error"]["code"], "upstream_invalid_event");
    client.recv_type("session.created").await;
}
