//! Faults on the wire between the gateway and a live upstream, injected by the TCP proxy in
//! the test support: black hole, reset in the middle of a frame, trickle, half-close, delay,
//! and a black hole that swallows every reconnect. Each asserts what the client saw and what
//! the new upstream session received: every event, once, in order.

mod support;

use std::time::Duration;
use support::*;

/// A gateway behind the proxy whose upstream acknowledgements are due within a second.
async fn setup() -> (Sim, Proxy, TestGateway, Client) {
    let mut config = test_config();
    config.upstream_ack_timeout = Duration::from_secs(1);
    let (sim, proxy, gw) = gateway_through_proxy(config).await;
    let client = talking_client(&gw).await;
    (sim, proxy, gw, client)
}

/// The texts of the newest upstream session's items that start with `prefix`.
async fn received(sim: &Sim, prefix: &str) -> Vec<String> {
    let sessions = sim.sessions().await;
    let texts = item_texts(sessions.last().expect("a session"));
    assert_eq!(
        texts.first().map(String::as_str),
        Some("remember the blue door"),
        "the conversation was restored: {texts:?}"
    );
    texts
        .into_iter()
        .filter(|t| t.starts_with(prefix))
        .collect()
}

/// After a reconnect: the next turn is answered on the new upstream session.
async fn goes_on(client: &mut Client) {
    let events = client.turn("and now").await;
    assert_eq!(response_text(&events), "You said: and now");
}

#[tokio::test]
async fn a_black_holed_upstream_is_left_within_the_ack_timeout_and_nothing_is_lost() {
    let (sim, proxy, _gw, mut client) = setup().await;
    proxy.inject(Fault::BlackHole);
    let started = tokio::time::Instant::now();
    for n in 1..=3 {
        client.send(user_item(&format!("into the hole {n}"))).await;
    }
    let detected = client.reconnects_after_ack_timeout(3).await - started;
    goes_on(&mut client).await;
    assert_eq!(
        received(&sim, "into the hole").await,
        ["into the hole 1", "into the hole 2", "into the hole 3"]
    );
    eprintln!("black hole detected after {detected:?}");
    assert!(detected < Duration::from_secs(10), "{detected:?}");
    assert_eq!(proxy.accepted(), 2, "one reconnect");
}

#[tokio::test]
async fn a_reset_in_the_middle_of_an_acknowledgement_replays_the_event_once() {
    let (sim, proxy, _gw, mut client) = setup().await;
    proxy.inject(Fault::ResetMidFrame);
    client.send(user_item("cut mid-frame")).await;
    let reconnected = client.recv_type("voxgate.upstream.reconnected").await;
    assert_eq!(reconnected["replayed_events"], 1, "{reconnected}");
    goes_on(&mut client).await;
    assert_eq!(received(&sim, "cut mid").await, ["cut mid-frame"]);
    // The half frame never reached the client: every frame it saw was whole JSON (the client
    // support panics otherwise) and none is an error.
    assert!(
        !client.seen.iter().any(|e| e["type"] == "error"),
        "{:?}",
        types(&client.seen)
    );
}

#[tokio::test]
async fn a_trickling_upstream_is_left_at_the_ack_timeout_and_the_event_replayed() {
    let (sim, proxy, _gw, mut client) = setup().await;
    // ~200 bytes at one byte per 20 ms: the event would take seconds to arrive.
    proxy.inject(Fault::Trickle(Duration::from_millis(20)));
    client.send(user_item("through a straw")).await;
    client.reconnects_after_ack_timeout(1).await;
    goes_on(&mut client).await;
    assert_eq!(received(&sim, "through").await, ["through a straw"]);
}

#[tokio::test]
async fn a_half_closed_upstream_is_reconnected_and_the_conversation_kept() {
    let (sim, proxy, _gw, mut client) = setup().await;
    // The upstream's side sends FIN with no close frame; the gateway's side stays writable.
    proxy.inject(Fault::HalfClose);
    let reconnecting = client.recv_type("voxgate.upstream.reconnecting").await;
    assert!(reconnecting["reason"].is_string(), "{reconnecting}");
    client.recv_type("voxgate.upstream.reconnected").await;
    client.send(user_item("after the FIN")).await;
    goes_on(&mut client).await;
    assert_eq!(received(&sim, "after the").await, ["after the FIN"]);
    assert_eq!(proxy.accepted(), 2, "one reconnect");
}

#[tokio::test]
async fn a_slow_link_is_slow_not_broken() {
    let (_sim, proxy, _gw, mut client) = setup().await;
    // 200 ms each way per chunk, well inside UPSTREAM_ACK_TIMEOUT (1 s here).
    proxy.inject(Fault::Delay(Duration::from_millis(200)));
    for n in 1..=2 {
        let events = client.turn(&format!("slowly {n}")).await;
        assert_eq!(response_text(&events), format!("You said: slowly {n}"));
    }
    let seen = types(&client.seen);
    assert!(
        !seen.iter().any(|t| t.starts_with("voxgate.upstream")),
        "no reconnect on a slow link: {seen:?}"
    );
    assert_eq!(proxy.accepted(), 1);
}

#[tokio::test]
async fn reconnects_into_a_black_hole_time_out_and_end_with_a_clear_error() {
    let mut config = test_config();
    config.upstream_connect_timeout = Duration::from_millis(500);
    let (_sim, proxy, gw) = gateway_through_proxy(config).await;
    let mut client = talking_client(&gw).await;
    // Every new connection is accepted and then hears nothing; the live one is reset.
    proxy.inject_new(Fault::BlackHole);
    proxy.inject(Fault::Reset);
    let started = tokio::time::Instant::now();
    let (close, events) = client.until_close().await;
    let close = close.expect("a close frame");
    assert_eq!(u16::from(close.code), 1011);
    let error = events
        .iter()
        .find(|e| e["type"] == "error")
        .unwrap_or_else(|| panic!("a clear error: {events:?}"));
    assert_eq!(error["error"]["code"], "upstream_timeout", "{error}");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("after 3 attempt(s)"), "{message}");
    eprintln!("gave up after {:?}", started.elapsed());
    // The first connection, then MAX_RETRY_ATTEMPTS (3) connects that each timed out.
    assert_eq!(proxy.accepted(), 4);
    eventually("the session is gone", || async {
        gw.health().await["active_sessions"] == 0
    })
    .await;
}

#[tokio::test]
async fn a_client_leaving_before_the_upstream_answers_cancels_the_connect() {
    let mut config = test_config();
    // Longer than the test waits: only a cancelled connect ends in time.
    config.upstream_connect_timeout = Duration::from_secs(60);
    let (_sim, proxy, gw) = gateway_through_proxy(config).await;
    proxy.inject_new(Fault::BlackHole);
    let client = Client::connect(&gw.url("/v1/realtime")).await;
    eventually("the upstream connect has begun", || async {
        proxy.accepted() == 1
    })
    .await;
    assert_eq!(proxy.open(), 1);
    drop(client);
    eventually(
        "the gateway dropped its half-made upstream connection",
        || async { proxy.open() == 0 },
    )
    .await;
    eventually("no session is left", || async {
        gw.health().await["active_sessions"] == 0
    })
    .await;
}

#[tokio::test]
async fn events_sent_while_the_upstream_connects_are_forwarded_once_in_order() {
    let (sim, proxy, gw) = gateway_through_proxy(test_config()).await;
    // Each chunk towards the upstream waits: the client is faster than the connect.
    proxy.inject_new(Fault::Delay(Duration::from_millis(300)));
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.text_only().await;
    client.send(user_item("before the upstream 1")).await;
    client.send(user_item("before the upstream 2")).await;
    client.recv_type("session.created").await;
    let events = client.turn("after").await;
    assert_eq!(response_text(&events), "You said: after");
    let sessions = sim.sessions().await;
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        item_texts(&sessions[0])
            .iter()
            .filter(|t| t.starts_with("before"))
            .collect::<Vec<_>>(),
        ["before the upstream 1", "before the upstream 2"]
    );
}

/// `n` bytes of silence as one `input_audio_buffer.append`.
fn append(n: usize) -> serde_json::Value {
    use base64::Engine;
    let audio = base64::engine::general_purpose::STANDARD.encode(vec![0u8; n]);
    serde_json::json!({"type": "input_audio_buffer.append", "audio": audio})
}

#[tokio::test]
async fn audio_after_an_unacknowledged_commit_is_not_merged_into_it_on_replay() {
    let (sim, proxy, _gw, mut client) = setup().await;
    proxy.inject(Fault::BlackHole);
    for _ in 0..5 {
        client.send(append(4800)).await;
    }
    client
        .send(serde_json::json!({"type": "input_audio_buffer.commit"}))
        .await;
    // The next turn's audio, sent before the upstream is known to be gone.
    for _ in 0..3 {
        client.send(append(4800)).await;
    }
    let reconnected = client.recv_type("voxgate.upstream.reconnected").await;
    assert_eq!(
        reconnected["replayed_events"], 1,
        "the commit: {reconnected}"
    );
    client
        .send(serde_json::json!({"type": "input_audio_buffer.commit"}))
        .await;
    client.recv_type("input_audio_buffer.committed").await;
    let sessions = sim.sessions().await;
    let transcripts: Vec<&str> = sessions.last().unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["content"][0]["transcript"].as_str())
        .filter(|t| t.starts_with("Simulated transcript"))
        .collect();
    assert_eq!(
        transcripts,
        [
            "Simulated transcript of 24000 bytes of audio.",
            "Simulated transcript of 14400 bytes of audio."
        ],
        "each commit has its own audio"
    );
}
