//! Hardening over real sockets: client auth in every form, origins, message size, session and
//! rate limits, idle sessions, hostile client frames, and a scan of everything a client and
//! the logs saw for the upstream key.

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use voxgate::secret::Secret;

const TOKEN: &str = "client-token-0123456789";

/// The HTTP status of an upgrade attempt (101 when it succeeded).
async fn upgrade_status(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        // Appended: a header given twice is sent twice.
        request.headers_mut().append(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => 101,
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn client_tokens_are_required_in_any_accepted_form() {
    let mut config = test_config();
    config.limits.tokens = voxgate::config::ClientTokens::parse([TOKEN]).expect("valid token");
    let gw = TestGateway::start(config).await;
    for path in [
        "/ws",
        "/v1/realtime",
        "/openai/realtime",
        "/openai/v1/realtime",
    ] {
        let url = gw.url(path);
        assert_eq!(upgrade_status(&url, &[]).await, 401, "{path}: no token");
        assert_eq!(
            upgrade_status(&url, &[("authorization", "Bearer wrong-token-000000")]).await,
            401,
            "{path}: wrong"
        );
        assert_eq!(
            upgrade_status(&url, &[("api-key", "client-token-012345678")]).await,
            401,
            "{path}: prefix"
        );
        assert_eq!(
            upgrade_status(&url, &[("authorization", &format!("Bearer {TOKEN}"))]).await,
            101,
            "{path}: bearer"
        );
        assert_eq!(
            upgrade_status(&url, &[("api-key", TOKEN)]).await,
            101,
            "{path}: api-key"
        );
        assert_eq!(
            upgrade_status(&format!("{url}?token={TOKEN}"), &[]).await,
            101,
            "{path}: query"
        );
        let protocol = format!("realtime, openai-insecure-api-key.{TOKEN}");
        assert_eq!(
            upgrade_status(&url, &[("sec-websocket-protocol", &protocol)]).await,
            101,
            "{path}: subprotocol"
        );
    }
}

#[tokio::test]
async fn other_origins_are_refused() {
    let mut config = test_config();
    config.limits.allowed_origins = vec!["https://app.example.com".into()];
    let gw = TestGateway::start(config).await;
    let url = gw.url("/v1/realtime");
    assert_eq!(
        upgrade_status(&url, &[("origin", "https://evil.example.net")]).await,
        403
    );
    assert_eq!(
        upgrade_status(&url, &[("origin", "https://app.example.com")]).await,
        101
    );
    assert_eq!(
        upgrade_status(&url, &[]).await,
        101,
        "non-browser clients send no Origin"
    );
    // Fail closed: a second Origin, or one that is not ASCII, is refused.
    let twice = [
        ("origin", "https://app.example.com"),
        ("origin", "https://evil.example.net"),
    ];
    assert_eq!(upgrade_status(&url, &twice).await, 403);
    assert_eq!(
        upgrade_status(&url, &[("origin", "https://app.example.com\u{e9}")]).await,
        403
    );
}

#[tokio::test]
async fn oversized_messages_get_an_error_and_close_1009() {
    let mut config = test_config();
    config.limits.max_message_bytes = 4096;
    let gw = TestGateway::start(config).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    let audio = "A".repeat(8000);
    client
        .send(json!({"type": "input_audio_buffer.append", "audio": audio}))
        .await;
    let (close, events) = client.until_close().await;
    assert!(
        events
            .iter()
            .any(|e| e["error"]["code"] == "message_too_large"),
        "{events:?}"
    );
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1009));
}

#[tokio::test]
async fn session_limits_answer_before_the_upgrade_with_retry_after() {
    let mut config = test_config();
    config.limits.max_sessions_per_ip = 2;
    let gw = TestGateway::start(config).await;
    let mut a = Client::connect(&gw.url("/v1/realtime")).await;
    a.recv_type("session.created").await;
    let mut b = Client::connect(&gw.url("/v1/realtime")).await;
    b.recv_type("session.created").await;
    let refused = reqwest::Client::new()
        .get(format!("http://{}/v1/realtime", gw.addr))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().get("retry-after").is_some());
    drop(a);
    eventually("a place frees up", || async {
        upgrade_status(&gw.url("/v1/realtime"), &[]).await == 101
    })
    .await;

    let mut config = test_config();
    config.limits.max_sessions = 1;
    let gw = TestGateway::start(config).await;
    let mut only = Client::connect(&gw.url("/v1/realtime")).await;
    only.recv_type("session.created").await;
    assert_eq!(upgrade_status(&gw.url("/v1/realtime"), &[]).await, 503);
}

#[tokio::test]
async fn event_floods_are_rate_limited_and_said() {
    let mut config = test_config();
    config.limits.events_per_second = 20;
    let gw = TestGateway::start(config).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    for _ in 0..60 {
        client
            .send(json!({"type": "input_audio_buffer.clear"}))
            .await;
    }
    let error = client.recv_type("error").await;
    assert_eq!(error["error"]["code"], "rate_limited");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("dropped")
    );
    eventually("drops counted", || async {
        gw.health().await["metrics"]["counters"]["client_events_dropped"]
            .as_u64()
            .unwrap()
            >= 30
    })
    .await;
}

#[tokio::test]
async fn idle_sessions_are_closed() {
    let mut config = test_config();
    config.limits.idle_timeout = Duration::from_millis(300);
    let gw = TestGateway::start(config).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    let (close, events) = client.until_close().await;
    assert!(
        events.iter().any(|e| e["error"]["code"] == "idle_timeout"),
        "{events:?}"
    );
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1000));
}

/// At least twenty malformed frames: each gets an `invalid_event` error naming the problem, the
/// session goes on, and none of them reaches the upstream.
#[tokio::test]
async fn malformed_client_frames_are_answered_and_never_forwarded() {
    let (sim, gw) = gateway_on_sim(test_config()).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    let bad: &[(&str, &str)] = &[
        ("", "not valid JSON"),
        ("   ", "not valid JSON"),
        ("not json", "not valid JSON"),
        ("{", "not valid JSON"),
        ("{\"type\": \"session.update\",}", "not valid JSON"),
        ("null", "JSON object"),
        ("42", "JSON object"),
        ("\"session.update\"", "JSON object"),
        ("[{\"type\":\"response.create\"}]", "JSON object"),
        ("{}", "no 'type'"),
        ("{\"event_id\":\"e1\"}", "no 'type'"),
        ("{\"type\":null}", "must be a string"),
        ("{\"type\":7}", "must be a string"),
        ("{\"type\":[\"response.create\"]}", "must be a string"),
        ("{\"type\":\"\"}", "empty"),
        ("{\"type\":\"response.create\",\"event_id\":5}", "event_id"),
        ("{\"type\":\"session.update\"}", "needs 'session'"),
        (
            "{\"type\":\"session.update\",\"session\":\"voice=alloy\"}",
            "must be an object",
        ),
        (
            "{\"type\":\"session.update\",\"session\":{\"tools\":\"all\"}}",
            "tools",
        ),
        ("{\"type\":\"input_audio_buffer.append\"}", "needs 'audio'"),
        (
            "{\"type\":\"input_audio_buffer.append\",\"audio\":12}",
            "base64",
        ),
        ("{\"type\":\"conversation.item.create\"}", "needs 'item'"),
        (
            "{\"type\":\"conversation.item.create\",\"item\":[]}",
            "must be an object",
        ),
        (
            "{\"type\":\"conversation.item.create\",\"item\":{\"role\":\"user\"}}",
            "item.type",
        ),
        ("{\"type\":\"conversation.item.delete\"}", "item_id"),
        (
            "{\"type\":\"conversation.item.truncate\",\"item_id\":3}",
            "item_id",
        ),
        (
            "{\"type\":\"response.create\",\"response\":\"now\"}",
            "'response' must be an object",
        ),
        ("\u{0}\u{1}\u{2}", "not valid JSON"),
    ];
    assert!(bad.len() >= 20);
    for (frame, says) in bad {
        client.send_text(frame).await;
        let error = client.recv_type("error").await;
        assert_eq!(error["error"]["code"], "invalid_event", "{frame:?}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{frame:?} → {message}");
    }
    let echoed = client
        .seen
        .iter()
        .filter(|e| e["error"]["event_id"] == "e1")
        .count();
    assert_eq!(
        echoed, 1,
        "the offending event's id is echoed, as the Realtime API does"
    );
    client.text_only().await;
    let events = client.turn("still alive").await;
    assert_eq!(response_text(&events), "You said: still alive");
    let received = sim.sessions().await[0]["received"].clone();
    assert_eq!(
        received,
        json!([
            "session.update",
            "session.update",
            "conversation.item.create",
            "response.create"
        ]),
        "only the gateway's template and the valid events went upstream"
    );
}

#[tokio::test]
async fn unknown_well_formed_events_pass_through() {
    let (sim, gw) = gateway_on_sim(test_config()).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    client
        .send(json!({"type": "future.event.kind", "x": 1}))
        .await;
    let error = client.recv_type("error").await;
    // The simulator (like the real service) rejects it; the gateway did forward it.
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("future.event.kind")
    );
    assert!(
        sim.sessions().await[0]["received"]
            .as_array()
            .unwrap()
            .contains(&json!("future.event.kind"))
    );
}

/// Drive many code paths with an upstream key, then look for it everywhere a client or an
/// operator can see: client frames, `/health`, `/metrics`, admin answers, and every log line.
#[tokio::test]
async fn the_upstream_key_appears_nowhere() {
    const KEY: &str = "sk-SCAN-ME-5f3c9a0e7d1b4c2a";
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/openai/realtime", Some(KEY));
    config.admin_token = Some(Secret::new("admin-token-for-scan"));
    config.upstream_breaker = breaker(1000, Duration::from_secs(60));
    let gw = TestGateway::start(config).await;
    let mut seen = String::new();
    // A conversation with a tool call, a reconnect, a refused handshake, bad frames.
    let mut client = gw.seed_client("voxgate-docs").await;
    client.text_only().await;
    client.turn("What are the breaker states?").await;
    client.recv_type("response.done").await;
    sim.faults(json!({"refuse": {"status": 401, "count": 1}}))
        .await;
    let mut refused = Client::connect(&gw.url("/openai/realtime")).await;
    let (_, refused_events) = refused.until_close().await;
    seen.push_str(&serde_json::to_string(&refused_events).unwrap());
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    client.recv_type("voxgate.upstream.reconnected").await;
    client.send_text("{broken").await;
    client.recv_type("error").await;
    client.turn("plain turn").await;
    seen.push_str(&serde_json::to_string(&client.seen).unwrap());
    seen.push_str(&gw.get("/health").await.text().await.unwrap());
    seen.push_str(&gw.get("/metrics").await.text().await.unwrap());
    let admin = reqwest::Client::new()
        .get(format!("http://{}/admin/plugins", gw.addr))
        .bearer_auth("admin-token-for-scan")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    seen.push_str(&admin);
    seen.push_str(&format!("{:?}", gw.gateway.config()));
    seen.push_str(&logs());
    assert!(
        logs().contains("[WS] Reconnected to Azure"),
        "the logs were captured"
    );
    assert!(!seen.contains(KEY), "the upstream key leaked");
    assert!(!seen.contains("SCAN-ME"), "part of the upstream key leaked");
    assert!(!seen.contains("admin-token-for-scan") || !logs().contains("admin-token-for-scan"));
    assert!(
        !logs().contains("admin-token-for-scan"),
        "the admin token leaked into the logs"
    );
    assert_eq!(
        sim.sessions()
            .await
            .iter()
            .filter(|s| s["auth"] == true)
            .count(),
        sim.sessions().await.len()
    );
}
