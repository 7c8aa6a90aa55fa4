//! Bounds a session keeps whatever its peers do: a search result larger than the model should
//! get, a client that stops reading, clients that connect and vanish. Over loopback against the
//! simulator; each asserts what the client and the upstream saw and that the gateway's count of
//! sessions stays exact.

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;

#[tokio::test]
async fn a_search_result_over_the_bound_reaches_the_model_cut_with_a_note() {
    let mut config = test_config();
    config.max_tool_output_bytes = 300;
    let (sim, gw) = gateway_on_sim(config).await;
    let mut client = Client::connect(&gw.url("/openai/realtime")).await;
    client.recv_type("session.created").await;
    client.text_only().await;
    client
        .turn("Which states does a circuit breaker go through?")
        .await;
    // The model answers once the gateway has given it the (cut) search result.
    let answer = client.recv_type("response.done").await;
    assert_eq!(answer["response"]["status"], "completed", "{answer}");
    let sessions = sim.sessions().await;
    let output = sessions[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .and_then(|i| i["output"].as_str())
        .expect("the tool output reached the upstream")
        .to_string();
    assert!(output.len() <= 300, "{} bytes: {output}", output.len());
    assert!(output.contains("search result truncated"), "{output}");
    let health = gw.health().await;
    assert_eq!(health["metrics"]["counters"]["tool_outputs_truncated"], 1);
    // The session goes on.
    let events = client.turn("thanks").await;
    assert!(response_text(&events).starts_with("You said: thanks"));
}

#[tokio::test]
async fn a_client_that_stops_reading_ends_its_own_session_cleanly() {
    let mut config = test_config();
    config.send_timeout = Duration::from_millis(500);
    let (_sim, gw) = gateway_on_sim(config).await;
    let mut stuck = talking_client(&gw).await;
    let mut other = talking_client(&gw).await;
    // Echoes of 10 × 400 KB answers (plus their items) fill the socket buffers; `stuck`
    // never reads again.
    let long = "s".repeat(400_000);
    for _ in 0..10 {
        stuck.send(user_item(&long)).await;
        stuck.send(json!({"type": "response.create"})).await;
    }
    eventually("the stuck session ended", || async {
        gw.health().await["active_sessions"] == 1
    })
    .await;
    let health = gw.health().await;
    assert_eq!(health["metrics"]["errors"]["session_panics"], 0, "{health}");
    // Idle time after the send timeout is when the old panic struck: wait past it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let events = other.turn("still here").await;
    assert_eq!(response_text(&events), "You said: still here");
    let health = gw.health().await;
    assert_eq!(health["metrics"]["errors"]["session_panics"], 0, "{health}");
    assert_eq!(health["active_sessions"], 1);
}

#[tokio::test]
async fn sessions_are_counted_exactly_through_clients_that_connect_and_vanish() {
    let (_sim, gw) = gateway_on_sim(test_config()).await;
    // 200 clients in waves of 50: each upgrades and drops at once, some before the upstream
    // answers, some after `session.created`.
    for wave in 0..4 {
        let clients = (0..50).map(|n| {
            let url = gw.url("/v1/realtime");
            async move {
                let mut client = Client::connect(&url).await;
                if (wave + n) % 2 == 0 {
                    client.recv_type("session.created").await;
                }
                drop(client);
            }
        });
        futures_util::future::join_all(clients).await;
    }
    eventually("every session has ended", || async {
        gw.health().await["active_sessions"] == 0
    })
    .await;
    let health = gw.health().await;
    let counters = &health["metrics"]["counters"];
    assert_eq!(counters["ws_connections"], 200, "{health}");
    assert_eq!(counters["ws_disconnects"], 200, "{health}");
    assert_eq!(health["metrics"]["errors"]["session_panics"], 0);
}
