//! A routing policy plugin (`routing.wasm`, world `routing-policy`) over real sockets: its order
//! is obeyed, an upstream it names whose breaker is open is overruled, and one that traps falls
//! back to the default order — sessions go on either way.

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;
use voxgate::config::UpstreamConfig;

const ADMIN: &str = "routing-admin";

async fn gateway(a: &Sim, b: &Sim, plugin: &str) -> TestGateway {
    let mut config = test_config();
    let timeout = Duration::from_secs(60);
    config.upstream = UpstreamConfig::Pool(vec![
        a.pool_member("a", 1, timeout),
        b.pool_member("b", 2, timeout),
    ]);
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    config.retry = retry(3, Duration::from_millis(10), Duration::from_millis(50));
    let bytes = std::fs::read(plugin_file(plugin)).unwrap();
    std::fs::write(config.plugins.dir.join("routing.wasm"), &bytes).unwrap();
    let gw = TestGateway::start(config).await;
    assert_eq!(
        gw.health().await["plugins"]["routing"]["sha256"],
        voxgate::plugins::slot::sha256_hex(&bytes).as_str(),
        "loaded at start"
    );
    gw
}

async fn upstreams(gw: &TestGateway) -> Vec<String> {
    gw.session_upstreams(ADMIN).await
}

#[tokio::test]
async fn a_routing_plugin_is_obeyed_but_never_past_an_open_breaker() {
    let (a, b) = (Sim::start().await, Sim::start().await);
    let gw = gateway(&a, &b, "test-routing-reverse").await;
    let _first = talking_client(&gw).await;
    assert_eq!(
        upstreams(&gw).await,
        ["b"],
        "reversed: the least preferred first"
    );
    // b refuses: its breaker opens; the plugin still names it first, the host skips it.
    b.faults(json!({"refuse": {"status": 503, "count": 3}}))
        .await;
    let _second = talking_client(&gw).await;
    assert_eq!(gw.health().await["upstreams"]["b"]["breaker"], "open");
    let tried_b = b.sessions().await.len();
    let mut third = talking_client(&gw).await;
    assert_eq!(
        b.sessions().await.len(),
        tried_b,
        "an open breaker is never tried"
    );
    assert_eq!(upstreams(&gw).await, ["b", "a", "a"]);
    let events = third.turn("on a").await;
    assert_eq!(response_text(&events), "You said: on a");
    assert_eq!(gw.health().await["plugins"]["routing"]["faults"], 0);
}

#[tokio::test]
async fn a_trapping_routing_plugin_falls_back_to_the_default_order() {
    let (a, b) = (Sim::start().await, Sim::start().await);
    let gw = gateway(&a, &b, "test-routing-trap").await;
    let mut client = talking_client(&gw).await;
    let _other = talking_client(&gw).await;
    assert_eq!(
        upstreams(&gw).await,
        ["a", "a"],
        "the default order: priority 1 first"
    );
    let health = gw.health().await;
    assert!(
        health["plugins"]["routing"]["faults"].as_u64().unwrap() >= 2,
        "{health}"
    );
    let events = client.turn("still served").await;
    assert_eq!(response_text(&events), "You said: still served");
}

#[tokio::test]
async fn removing_routing_wasm_brings_the_default_order_back() {
    let (a, b) = (Sim::start().await, Sim::start().await);
    let gw = gateway(&a, &b, "test-routing-reverse").await;
    let _first = talking_client(&gw).await;
    assert_eq!(upstreams(&gw).await, ["b"], "the plugin's order");
    let path = gw.gateway.plugins().routing.path().to_path_buf();
    std::fs::remove_file(&path).unwrap();
    let removed = tokio::time::Instant::now();
    while !gw.health().await["plugins"]["routing"]["sha256"].is_null() {
        assert!(
            removed.elapsed() < Duration::from_secs(30),
            "still loaded after the file was removed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut second = talking_client(&gw).await;
    assert_eq!(
        upstreams(&gw).await,
        ["b", "a"],
        "the default order again: priority 1 first"
    );
    let events = second.turn("default order").await;
    assert_eq!(response_text(&events), "You said: default order");
    let health = gw.health().await;
    assert_eq!(health["plugins"]["routing"]["faults"], 0, "{health}");
}
