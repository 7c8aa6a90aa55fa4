//! Test harness: a real gateway and a real simulator on loopback sockets, a small Realtime
//! client, log capture, and the test plugins (built on first use). Nothing here mocks the
//! gateway's own parts.
#![allow(dead_code, unused_imports)]

mod client;
mod gateway;
mod logs;
mod plugins;
mod proxy;

pub use client::Client;
pub use gateway::{
    Sim, TestGateway, gateway_on_sim, gateway_through_proxy, get_json, talking_client,
};
pub use logs::{capture_logs, logs};
pub use plugins::plugin_file;
pub use proxy::{Fault, Proxy};

use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use voxgate::Config;
use voxgate::resilience::{BreakerSettings, RetrySettings};

/// How long any single expected frame may take before a test fails (generous: CI is slow).
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A configuration for tests: quick retries and timeouts, the sample KB, the embedded simulator.
pub fn test_config() -> Config {
    let mut config = Config {
        host: "127.0.0.1".into(),
        kb_dir: repo_path("examples/kb"),
        ..Config::default()
    };
    config.plugins.dir = tempfile::tempdir().expect("tempdir").keep();
    config.retry = retry(3, Duration::from_millis(10), Duration::from_millis(100));
    config.upstream_connect_timeout = Duration::from_secs(5);
    config
}

/// Breaker settings for a test (one probe, one success closes).
pub fn breaker(failure_threshold: u32, timeout: Duration) -> BreakerSettings {
    BreakerSettings::new(failure_threshold, timeout, 1, 1).expect("valid breaker settings")
}

/// Retry settings for a test.
pub fn retry(attempts: u32, base: Duration, max: Duration) -> RetrySettings {
    RetrySettings::new(attempts, base, max).expect("valid retry settings")
}

pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// The concatenated text deltas of a response, whatever the flavour.
pub fn response_text(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| {
            let t = e["type"].as_str().unwrap_or_default();
            t.ends_with("text.delta") || t.ends_with("transcript.delta")
        })
        .filter_map(|e| e["delta"].as_str())
        .collect()
}

/// Poll `check` until it holds (for state that settles asynchronously), at most PATIENCE.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A user text item, as a client creates it.
pub fn user_item(text: &str) -> serde_json::Value {
    json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": text}]}})
}

/// The texts of the items a simulator session holds, in order.
pub fn item_texts(session: &serde_json::Value) -> Vec<String> {
    session["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["content"][0]["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
