//! Memory stays within a fixed budget under what used to grow it without bound: a client
//! sending 1 MB events through an outage, and a client flooding pings without reading. Its own
//! test binary, one test at a time, so the process's RSS is this gateway's and this client's.

mod support;

use futures_util::SinkExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::*;
use tokio_tungstenite::tungstenite::Message;

const MIB: u64 = 1 << 20;

/// One scenario at a time: RSS is the process's.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn rss() -> u64 {
    voxgate::process::rss_bytes().expect("RSS from /proc")
}

/// The highest RSS seen until dropped (sampled every 10 ms).
struct Peak {
    peak: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl Peak {
    fn watch() -> Peak {
        let peak = Arc::new(AtomicU64::new(rss()));
        let sampling = peak.clone();
        let sampler = tokio::spawn(async move {
            loop {
                sampling.fetch_max(rss(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        Peak { peak, sampler }
    }

    fn stop(self) -> u64 {
        self.sampler.abort();
        self.peak.load(Ordering::Relaxed).max(rss())
    }
}

/// Wait until no session is left, then let the allocator settle; the RSS then.
async fn after_sessions_end(gw: &TestGateway) -> u64 {
    eventually("every session ended", || async {
        gw.health().await["active_sessions"] == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    rss()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_megabyte_flood_through_an_outage_stays_within_the_reconnect_buffer() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut config = test_config();
    // The outage lasts: the reconnect waits on a black hole.
    config.upstream_connect_timeout = Duration::from_secs(60);
    let (_sim, proxy, gw) = gateway_through_proxy(config).await;
    let mut client = talking_client(&gw).await;
    let baseline = rss();
    proxy.inject_new(Fault::BlackHole);
    proxy.inject(Fault::Reset);
    client.recv_type("voxgate.upstream.reconnecting").await;
    let peak = Peak::watch();
    let megabyte = "m".repeat(1_000_000);
    const EVENTS: usize = 600;
    for _ in 0..EVENTS {
        client.send(user_item(&megabyte)).await;
    }
    let error = client.recv_type("error").await;
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("RECONNECT_BUFFER_BYTES")),
        "{error}"
    );
    // Everything sent was read (the error answers the first dropped event; the rest follow).
    eventually("every event counted", || async {
        let health = gw.health().await;
        health["metrics"]["counters"]["client_events_dropped"]
            .as_u64()
            .is_some_and(|dropped| dropped > 550)
    })
    .await;
    let peak = peak.stop();
    drop(client);
    let after = after_sessions_end(&gw).await;
    eprintln!(
        "{EVENTS} x 1 MB into an outage: baseline {} MiB, peak {} MiB, after the client left {} MiB",
        baseline / MIB,
        peak / MIB,
        after / MIB
    );
    // The buffer holds 16 MiB (RECONNECT_BUFFER_BYTES); a frame in flight and the test's own
    // strings come on top. Held by count alone, 600 events would be over 1 GB.
    assert!(peak < baseline + 96 * MIB, "peak {} MiB", peak / MIB);
    assert!(after < baseline + 32 * MIB, "after {} MiB", after / MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_from_a_client_that_never_reads_is_bounded() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (_sim, gw) = gateway_on_sim(test_config()).await;
    let mut client = talking_client(&gw).await;
    let baseline = rss();
    let peak = Peak::watch();
    // Up to a million pings of 125 bytes (131 MB of pongs, unbounded before); the client never
    // reads. A second's worth over RATE_LIMIT_EVENTS_PER_SECOND (500) in a row is a flood.
    const PINGS: usize = 1_000_000;
    let payload = vec![b'p'; 125];
    let mut sent = 0;
    for n in 0..PINGS {
        let ping = Message::Ping(payload.clone().into());
        let fed = if n % 256 == 255 {
            client.ws.send(ping).await
        } else {
            client.ws.feed(ping).await
        };
        if fed.is_err() {
            break;
        }
        sent += 1;
    }
    let peak = peak.stop();
    let health = gw.health().await;
    let dropped = health["metrics"]["counters"]["client_events_dropped"]
        .as_u64()
        .unwrap_or_default();
    assert!(sent < PINGS, "the flooding client was cut off");
    // The close frame may be lost to the reset (the gateway closes with pings unread); if the
    // client reads it, it says why.
    if let (Some(close), events) = client.until_close().await {
        assert_eq!(u16::from(close.code), 1008, "{events:?}");
        assert!(events.iter().any(|e| e["error"]["code"] == "rate_limited"));
    }
    drop(client);
    let after = after_sessions_end(&gw).await;
    eprintln!(
        "{sent} pings without reading: {dropped} over the rate limit; baseline {} MiB, peak {} MiB, after {} MiB",
        baseline / MIB,
        peak / MIB,
        after / MIB
    );
    assert!(dropped >= 500, "the flood is rate-limited: {dropped}");
    assert!(peak < baseline + 64 * MIB, "peak {} MiB", peak / MIB);
    assert!(after < baseline + 32 * MIB, "after {} MiB", after / MIB);
}
