//! Several upstreams (`UPSTREAMS_FILE`'s pool) over real sockets, each a simulator of its own:
//! a live conversation moves to the next upstream when its own is lost, intact; new sessions
//! skip an upstream whose breaker is open and come back when it recovers, while sessions that
//! moved stay where they are; with every upstream down the client gets a clear error and 1011.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::*;
use voxgate::config::UpstreamConfig;

const ADMIN: &str = "failover-admin";

async fn pool_gateway(a: &Sim, b: &Sim, breaker_timeout: Duration) -> TestGateway {
    let mut config = test_config();
    config.upstream = UpstreamConfig::Pool(vec![
        a.pool_member("a", 1, breaker_timeout),
        b.pool_member("b", 2, breaker_timeout),
    ]);
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    config.retry = retry(3, Duration::from_millis(10), Duration::from_millis(50));
    TestGateway::start(config).await
}

async fn sessions(gw: &TestGateway) -> Vec<Value> {
    gw.admin_get(ADMIN, "/admin/sessions").await["sessions"]
        .as_array()
        .unwrap()
        .clone()
}

/// Kill an upstream: its open sessions are closed and every new connection refused.
async fn kill(sim: &Sim) {
    sim.faults(json!({"refuse": {"status": 503, "count": 100000}}))
        .await;
    sim.faults(json!({"close": {"code": 1011, "reason": "region down"}}))
        .await;
}

#[tokio::test]
async fn a_live_conversation_fails_over_to_the_next_upstream_intact() {
    let (a, b) = (Sim::start().await, Sim::start().await);
    let gw = pool_gateway(&a, &b, Duration::from_secs(60)).await;
    let health = gw.health().await;
    assert_eq!(health["upstreams"]["a"]["breaker"], "closed", "{health}");
    assert_eq!(health["upstreams"]["b"]["priority"], 2, "{health}");

    let mut client = talking_client(&gw).await;
    client.turn("my name is Ada").await;
    assert_eq!(gw.health().await["upstreams"]["a"]["active_sessions"], 1);
    assert_eq!(sessions(&gw).await[0]["upstream"], "a");

    let killed = Instant::now();
    kill(&a).await;
    let notice = client.recv_type("voxgate.upstream.failover").await;
    assert_eq!(
        (notice["from"].as_str(), notice["to"].as_str()),
        (Some("a"), Some("b"))
    );
    assert_eq!(notice["dropped_items"], 0, "{notice}");
    let events = client.turn("what is my name").await;
    let answered = killed.elapsed();
    assert_eq!(response_text(&events), "You said: what is my name");
    assert!(
        !client.seen.iter().any(|e| e["type"] == "error"),
        "no error on the way: {:?}",
        client.seen
    );
    eprintln!("failover: kill → next turn answered in {answered:?}");

    // B holds the whole conversation: both turns, the first restored.
    let moved = b.sessions().await;
    let texts = item_texts(moved.last().unwrap());
    assert!(texts.iter().any(|t| t == "my name is Ada"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "what is my name"), "{texts:?}");
    let listed = sessions(&gw).await;
    assert_eq!(
        (
            listed[0]["upstream"].as_str(),
            listed[0]["failovers"].as_u64()
        ),
        (Some("b"), Some(1))
    );
    let health = gw.health().await;
    assert_eq!(health["upstreams"]["a"]["active_sessions"], 0, "{health}");
    assert_eq!(health["upstreams"]["b"]["active_sessions"], 1, "{health}");
    let metrics = gw.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"voxgate_upstream_failovers_total{from="a",to="b"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn new_sessions_skip_an_open_breaker_and_return_when_it_recovers() {
    let (a, b) = (Sim::start().await, Sim::start().await);
    let gw = pool_gateway(&a, &b, Duration::from_millis(600)).await;
    a.faults(json!({"refuse": {"status": 503, "count": 3}}))
        .await;
    // A refuses three times (its breaker opens), the session lands on B.
    let mut first = talking_client(&gw).await;
    assert_eq!(sessions(&gw).await[0]["upstream"], "b");
    assert_eq!(gw.health().await["upstreams"]["a"]["breaker"], "open");
    let tried_a = a.sessions().await.len();
    let _second = talking_client(&gw).await;
    assert_eq!(
        a.sessions().await.len(),
        tried_a,
        "an open breaker is not tried"
    );
    // A recovers: after the breaker's timeout, new sessions go back to it.
    eventually("a's breaker half-opens", || async {
        gw.health().await["upstreams"]["a"]["breaker"] != "open"
    })
    .await;
    let _third = talking_client(&gw).await;
    let listed = sessions(&gw).await;
    let upstreams: Vec<&str> = listed
        .iter()
        .map(|s| s["upstream"].as_str().unwrap())
        .collect();
    assert_eq!(upstreams, ["b", "b", "a"], "the ones on b stay there");
    let events = first.turn("still on b").await;
    assert_eq!(response_text(&events), "You said: still on b");
}

#[tokio::test]
async fn with_every_upstream_down_the_client_gets_a_clear_error() {
    let (a, b) = (Sim::start().await, Sim::start().await);
    let gw = pool_gateway(&a, &b, Duration::from_secs(60)).await;
    let mut client = talking_client(&gw).await;
    kill(&a).await;
    kill(&b).await;
    let (close, events) = client.until_close().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1011));
    let error = events
        .iter()
        .find(|e| e["type"] == "error")
        .unwrap_or_else(|| panic!("an error: {events:?}"));
    assert_eq!(error["error"]["code"], "upstream_unavailable", "{error}");
    // A new client too.
    let mut late = Client::connect(&gw.url("/v1/realtime")).await;
    let (close, _) = late.until_close().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1011));
}
