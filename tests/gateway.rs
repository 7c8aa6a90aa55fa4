//! Gateway core over real loopback sockets: the seed `/ws` protocol, the drop-in Realtime
//! paths, session configuration, errors reaching the client, isolation between sessions.

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;

#[tokio::test]
async fn ws_text_conversation_end_to_end() {
    let gw = TestGateway::start(test_config()).await;
    let mut client = gw.seed_client("voxgate-docs").await;
    client.text_only().await;
    let events = client.turn("hello there").await;
    assert_eq!(response_text(&events), "You said: hello there");
    assert!(
        types(&events).contains(&"response.text.delta".to_string()),
        "seed path speaks preview names"
    );
    let health = gw.health().await;
    assert_eq!(health["metrics"]["counters"]["ws_connections"], 1);
    assert_eq!(health["metrics"]["counters"]["azure_connections"], 1);
    assert_eq!(health["active_sessions"], 1);
}

#[tokio::test]
async fn drop_in_paths_use_their_protocol_names() {
    let gw = TestGateway::start(test_config()).await;
    for (path, delta, done) in [
        (
            "/v1/realtime",
            "response.output_text.delta",
            "response.output_text.done",
        ),
        (
            "/openai/v1/realtime",
            "response.output_text.delta",
            "response.output_text.done",
        ),
        (
            "/openai/realtime?api-version=2024-10-01-preview&deployment=x",
            "response.text.delta",
            "response.text.done",
        ),
    ] {
        let mut client = Client::connect(&gw.url(path)).await;
        client.recv_type("session.created").await;
        client.text_only().await;
        let events = client.turn("hi").await;
        let kinds = types(&events);
        assert!(kinds.contains(&delta.to_string()), "{path}: {kinds:?}");
        assert!(kinds.contains(&done.to_string()), "{path}: {kinds:?}");
        assert_eq!(response_text(&events), "You said: hi");
    }
}

#[tokio::test]
async fn audio_turn_streams_transcript_and_audio() {
    let gw = TestGateway::start(test_config()).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    client
        .send(json!({"type": "input_audio_buffer.append", "audio": "AAAAAAAAAAA="}))
        .await;
    client
        .send(json!({"type": "input_audio_buffer.commit"}))
        .await;
    client.recv_type("input_audio_buffer.committed").await;
    client.send(json!({"type": "response.create"})).await;
    client.recv_type("response.output_audio.delta").await;
    let done = client.recv_type("response.done").await;
    assert_eq!(done["response"]["status"], "completed");
    assert!(done["response"]["usage"]["total_tokens"].as_u64().is_some());
}

#[tokio::test]
async fn client_init_timeout_sends_an_error_and_closes() {
    let mut config = test_config();
    config.client_init_timeout = Duration::from_millis(200);
    let gw = TestGateway::start(config).await;
    let mut client = Client::connect(&gw.url("/ws")).await;
    let (close, events) = client.until_close().await;
    assert!(
        events[0]["error"].as_str().unwrap().contains("Timed out"),
        "{events:?}"
    );
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1008));
    assert_eq!(gw.health().await["metrics"]["errors"]["client_timeout"], 1);
}

#[tokio::test]
async fn bad_first_message_and_unknown_kb_are_explained() {
    let gw = TestGateway::start(test_config()).await;
    for (first, says) in [
        ("not json", "must be JSON"),
        (r#"{"kb":"x"}"#, "must name the knowledge base"),
        (
            r#"{"kb_id":"no-such-kb"}"#,
            "Unknown knowledge base 'no-such-kb'",
        ),
        (r#"{"kb_id":"../etc"}"#, "not a valid knowledge base id"),
    ] {
        let mut client = Client::connect(&gw.url("/ws")).await;
        client.send_text(first).await;
        let (_, events) = client.until_close().await;
        assert!(
            events[0]["error"].as_str().unwrap().contains(says),
            "{first}: {events:?}"
        );
    }
    let mut client = Client::connect(&gw.url("/v1/realtime?kb=no-such-kb")).await;
    let (close, events) = client.until_close().await;
    assert_eq!(events[0]["type"], "error");
    assert_eq!(events[0]["error"]["code"], "unknown_kb");
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1008));
}

async fn refused_handshake(status: u16, code: &str) {
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", Some("sk-test"));
    config.upstream_breaker = breaker(100, Duration::from_secs(60)); // this test is about the error, not the breaker
    let gw = TestGateway::start(config).await;
    sim.faults(json!({"refuse": {"status": status, "count": 100}}))
        .await;
    for path in ["/v1/realtime", "/ws"] {
        let mut client = Client::connect(&gw.url(path)).await;
        if path == "/ws" {
            client.send(json!({"kb_id": "voxgate-docs"})).await;
        }
        let (close, events) = client.until_close().await;
        assert_eq!(events[0]["type"], "voxgate.session", "{path}: {events:?}");
        let events = &events[1..];
        assert_eq!(events[0]["type"], "error", "{path}: {events:?}");
        assert_eq!(events[0]["error"]["code"], code, "{path}: {events:?}");
        if path == "/ws" {
            assert!(
                events[1]["error"].as_str().is_some(),
                "seed JSON error too: {events:?}"
            );
        }
        assert_eq!(close.map(|c| u16::from(c.code)), Some(1011), "{path}");
    }
}

#[tokio::test]
async fn upstream_401_reaches_the_client() {
    refused_handshake(401, "upstream_unauthorized").await;
}

#[tokio::test]
async fn upstream_429_reaches_the_client() {
    refused_handshake(429, "upstream_rate_limited").await;
}

#[tokio::test]
async fn upstream_key_is_injected_and_never_reaches_the_client() {
    const KEY: &str = "sk-test-SECRET-do-not-leak-0123456789";
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/openai/realtime", Some(KEY));
    let gw = TestGateway::start(config).await;
    let mut client = Client::connect_with(
        &gw.url("/openai/realtime"),
        &[("api-key", "client-own-key")],
    )
    .await;
    client.recv_type("session.created").await;
    client.text_only().await;
    client.turn("What is the key?").await;
    client.turn("hello").await;
    let everything = serde_json::to_string(&client.seen).unwrap();
    assert!(
        !everything.contains(KEY) && !everything.contains("SECRET"),
        "key leaked to the client"
    );
    assert!(!everything.contains("client-own-key"));
    let health = gw.get("/health").await.text().await.unwrap();
    let metrics = gw.get("/metrics").await.text().await.unwrap();
    assert!(!health.contains("SECRET") && !metrics.contains("SECRET"));
    assert_eq!(
        sim.sessions().await[0]["auth"],
        true,
        "the gateway's credentials went upstream"
    );
}

#[tokio::test]
async fn client_credentials_are_not_forwarded_upstream() {
    let (sim, gw) = gateway_on_sim(test_config()).await;
    let mut client = Client::connect_with(
        &gw.url("/v1/realtime"),
        &[
            ("api-key", "client-key"),
            ("authorization", "Bearer client-token"),
        ],
    )
    .await;
    client.recv_type("session.created").await;
    assert_eq!(sim.sessions().await[0]["auth"], false);
}

#[tokio::test]
async fn client_session_update_is_merged_and_gateway_tool_survives() {
    let gw = TestGateway::start(test_config()).await;
    let mut client = Client::connect(&gw.url("/openai/realtime")).await;
    client.recv_type("session.created").await;
    client.recv_type("session.updated").await; // the template
    client
        .send(json!({"type": "session.update", "session": {
            "voice": "verse",
            "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
        }}))
        .await;
    let updated = client.recv_type("session.updated").await;
    let session = &updated["session"];
    assert_eq!(session["voice"], "verse");
    assert!(
        session["instructions"]
            .as_str()
            .unwrap()
            .contains("search_knowledge_base"),
        "template kept"
    );
    let names: Vec<&str> = session["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["search_knowledge_base", "get_weather"]);
}

#[tokio::test]
async fn client_tool_calls_pass_through_to_the_client() {
    let (sim, gw) = gateway_on_sim(test_config()).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    client
        .send(json!({"type": "session.update", "session": {"output_modalities": ["text"],
            "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]}}))
        .await;
    let events = client.turn("Should I call get_weather for Paris?").await;
    let call = events
        .iter()
        .find(|e| e["type"] == "response.function_call_arguments.done")
        .expect("call forwarded");
    assert_eq!(call["name"], "get_weather");
    // The gateway does not answer a client's tool: no output item appears upstream.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let items = &sim.sessions().await[0]["items"];
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["type"] != "function_call_output"),
        "{items}"
    );
}

#[tokio::test]
async fn concurrent_sessions_do_not_see_each_other() {
    let gw = TestGateway::start(test_config()).await;
    let mut a = gw.seed_client("voxgate-docs").await;
    let mut b = Client::connect(&gw.url("/v1/realtime")).await;
    b.recv_type("session.created").await;
    a.text_only().await;
    b.text_only().await;
    let (ra, rb) = tokio::join!(a.turn("alpha alpha"), b.turn("bravo bravo"));
    assert_eq!(response_text(&ra), "You said: alpha alpha");
    assert_eq!(response_text(&rb), "You said: bravo bravo");
    let all_a = serde_json::to_string(&a.seen).unwrap();
    let all_b = serde_json::to_string(&b.seen).unwrap();
    assert!(!all_a.contains("bravo") && !all_b.contains("alpha"));
}

#[tokio::test]
async fn health_and_metrics_speak_the_seed_names() {
    let gw = TestGateway::start(test_config()).await;
    assert_eq!(gw.get("/livez").await.status(), 200);
    assert_eq!(gw.get("/readyz").await.status(), 200);
    let health = gw.health().await;
    assert_eq!(health["status"], "healthy");
    assert_eq!(
        health["circuit_breakers"],
        json!({"azure": "closed", "rag": "closed"})
    );
    for name in [
        "azure_connections",
        "azure_reconnections",
        "rag_searches",
        "ws_connections",
        "ws_disconnects",
    ] {
        assert!(health["metrics"]["counters"][name].is_u64(), "{name}");
    }
    for name in [
        "azure_timeout",
        "azure_connection_failed",
        "azure_disconnected",
        "rag_search_failed",
        "client_timeout",
    ] {
        assert!(health["metrics"]["errors"][name].is_u64(), "{name}");
    }
    for name in ["azure_connect", "rag_search", "rag_init"] {
        assert!(
            health["metrics"]["avg_latencies"][name].is_number(),
            "{name}"
        );
    }
    let metrics = gw.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("voxgate_azure_connections_total"));
    assert!(
        metrics.contains("voxgate_circuit_breaker_state{breaker=\"azure\",state=\"closed\"} 1")
    );
    assert!(metrics.contains("voxgate_azure_connect_seconds_bucket"));
}

#[tokio::test]
async fn each_session_logs_under_its_own_id() {
    let (sim, gw) = gateway_on_sim(test_config()).await;
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut client = Client::connect(&gw.url("/v1/realtime")).await;
        client.recv_type("session.created").await;
        client.text_only().await;
        client.turn("hello").await;
        clients.push(client);
    }
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    for client in &mut clients {
        client.recv_type("voxgate.upstream.reconnected").await;
    }
    let logs = logs();
    // Lines the sessions logged for this outage, each inside its `session{id=… kb=… upstream=…}`.
    let ids: std::collections::BTreeSet<&str> = logs
        .lines()
        .filter(|line| {
            line.contains("[WS] Azure disconnected: closed by upstream (1001 session_expired)")
        })
        .filter_map(|line| {
            let at = line.find("session{id=")? + "session{id=".len();
            line[at..].split([' ', '}']).next()
        })
        .collect();
    assert!(ids.len() >= 2, "two sessions, two ids: {ids:?}");
    assert!(ids.iter().all(|id| id.starts_with("sess_")));
    assert!(logs.contains("kb=voxgate-docs"), "the kb is a span field");
}
