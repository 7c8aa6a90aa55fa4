//! `LOG_FORMAT=json`: `voxgate serve` logs one JSON object per line, and a line a session logs
//! carries the session's span (`id`, `kb`, `upstream`). A bad value is refused at start.

use futures_util::StreamExt;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn serve(port: u16, log_format: &str, log: &std::fs::File) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_voxgate"))
        .arg("serve")
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("PLUGIN_DIR", tempfile::tempdir().expect("tempdir").keep())
        .env(
            "KB_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/kb"),
        )
        .env("IDLE_TIMEOUT", "1")
        .env("LOG_FORMAT", log_format)
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().expect("log"))
        .stderr(log.try_clone().expect("log"))
        .spawn()
        .expect("voxgate serve")
}

#[tokio::test]
async fn json_lines_carry_the_session_span() {
    let port = free_port();
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut child = serve(port, "json", log.as_file());
    let started = Instant::now();
    let url = format!("ws://127.0.0.1:{port}/v1/realtime");
    let (mut ws, _) = loop {
        match tokio_tungstenite::connect_async(&url).await {
            Ok(connected) => break connected,
            Err(_) if started.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the gateway did not start: {error}"),
        }
    };
    // IDLE_TIMEOUT=1: the session logs its close and ends.
    while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(20), ws.next()).await {}
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(log.path()).expect("log");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["timestamp"].is_string() && l["level"].is_string())
    );
    let idle = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("closing a session idle"))
        })
        .unwrap_or_else(|| panic!("the session's line: {text}"));
    assert!(
        idle["span"]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("sess_")),
        "{idle}"
    );
    assert!(
        idle["span"]["kb"].is_string() && idle["span"]["upstream"].is_string(),
        "{idle}"
    );
}

#[test]
fn an_unknown_log_format_is_refused_at_start() {
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut child = serve(free_port(), "yaml", log.as_file());
    let status = child.wait().expect("exit");
    assert_eq!(status.code(), Some(2));
    let text = std::fs::read_to_string(log.path()).expect("log");
    assert!(
        text.contains("LOG_FORMAT: 'yaml' is not text or json"),
        "{text}"
    );
}
