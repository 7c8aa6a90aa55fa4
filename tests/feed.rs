//! The operators' live feed, `GET /admin/events` (server-sent events), through real sessions,
//! a real plugin swap and rollback, a real upstream drop and a breaker opening.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;
use tokio::sync::mpsc;

const ADMIN: &str = "feed-admin-token";

/// Subscribe to the feed; every event arrives on the returned channel, parsed.
async fn subscribe(gw: &TestGateway) -> mpsc::UnboundedReceiver<Value> {
    let mut response = reqwest::Client::new()
        .get(gw.url("/admin/events").replace("ws://", "http://"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("subscribe");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "server-sent events"
    );
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                for line in block.lines() {
                    if let Some(data) = line.strip_prefix("data: ") {
                        let _ = tx.send(serde_json::from_str(data).expect("JSON data"));
                    }
                }
            }
        }
    });
    rx
}

/// The next event of `kind`, skipping others (within 10 s).
async fn next_of(feed: &mut mpsc::UnboundedReceiver<Value>, kind: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = feed.recv().await.expect("feed open");
            if event["type"] == kind {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} on the feed"))
}

#[tokio::test]
async fn the_feed_shows_sessions_reconnects_plugin_swaps_and_breakers_as_they_happen() {
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", None);
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    config.upstream_breaker = breaker(3, Duration::from_secs(60));
    config.retry = retry(3, Duration::from_millis(10), Duration::from_millis(50));
    let gw = TestGateway::start(config).await;
    let unauthorized = reqwest::get(format!("http://{}/admin/events", gw.addr))
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let mut feed = subscribe(&gw).await;

    let mut client = talking_client(&gw).await;
    let opened = next_of(&mut feed, "session.opened").await;
    let id = opened["session"].as_str().unwrap().to_string();
    assert_eq!(client.seen[0]["session_id"], id.as_str());
    assert!(opened["at_unix_ms"].as_u64().unwrap() > 0);

    let bytes = std::fs::read(plugin_file("test-backoff-fixed")).unwrap();
    let slot_file = gw.gateway.config().plugins.dir.join("backoff.wasm");
    voxgate::plugins::write_atomically(&slot_file, &bytes).unwrap();
    let swapped = next_of(&mut feed, "plugin.swapped").await;
    assert_eq!(swapped["slot"], "backoff");
    assert_eq!(
        swapped["sha256"],
        voxgate::plugins::slot::sha256_hex(&bytes).as_str()
    );
    let rollback = reqwest::Client::new()
        .post(format!("http://{}/admin/plugins/backoff/rollback", gw.addr))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(rollback.status(), 200);
    assert_eq!(
        next_of(&mut feed, "plugin.rolled_back").await["slot"],
        "backoff"
    );
    voxgate::plugins::write_atomically(&slot_file, b"not wasm").unwrap();
    let refused = next_of(&mut feed, "plugin.refused").await;
    assert!(
        refused["error"].as_str().unwrap().contains("not a valid"),
        "{refused}"
    );

    sim.faults(json!({"close": {"code": 1001, "reason": "going away"}}))
        .await;
    let reconnecting = next_of(&mut feed, "upstream.reconnecting").await;
    assert_eq!(reconnecting["session"], id.as_str());
    let reconnected = next_of(&mut feed, "upstream.reconnected").await;
    assert_eq!(reconnected["session"], id.as_str());
    client.recv_type("voxgate.upstream.reconnected").await;

    // The upstream refuses every connect: three failures open the breaker.
    sim.faults(json!({"refuse": {"status": 503, "count": 1000}}))
        .await;
    let mut refused_client = Client::connect(&gw.url("/v1/realtime")).await;
    refused_client.until_close().await;
    let breaker = next_of(&mut feed, "breaker").await;
    assert_eq!(
        (breaker["breaker"].as_str(), breaker["state"].as_str()),
        (Some("azure"), Some("open"))
    );
    let lost = next_of(&mut feed, "upstream.lost").await;
    assert_eq!(lost["code"], "upstream_unavailable", "{lost}");

    drop(client);
    let closed = loop {
        let closed = next_of(&mut feed, "session.closed").await;
        if closed["session"] == id.as_str() {
            break closed;
        }
    };
    assert_eq!(closed["turns"], 1, "{closed}");
    assert_eq!(closed["reconnects"], 1, "{closed}");
}

#[tokio::test]
async fn the_feed_ends_when_the_gateway_drains_and_streams_are_bounded() {
    let mut config = test_config();
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    let (_sim, gw) = gateway_on_sim(config).await;
    let mut feeds = Vec::new();
    for _ in 0..voxgate::feed::MAX_SUBSCRIBERS {
        feeds.push(subscribe(&gw).await);
    }
    let over = reqwest::Client::new()
        .get(format!("http://{}/admin/events", gw.addr))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), 503);
    assert!(over.headers().contains_key("retry-after"));
    gw.gateway.begin_shutdown();
    for feed in &mut feeds {
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            while feed.recv().await.is_some() {}
        })
        .await;
        assert!(end.is_ok(), "every stream ends at shutdown");
    }
}
