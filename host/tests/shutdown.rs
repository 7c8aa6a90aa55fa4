//! The real `voxgate` binary under SIGTERM: it stops accepting, lets the streaming response
//! finish, tells the client (`voxgate.shutdown`, close 1001) and exits 0.

use futures_util::StreamExt;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn wait_for_line(lines: &mut impl Iterator<Item = String>, marker: &str) -> String {
    for line in lines.by_ref() {
        if let Some(at) = line.find(marker) {
            return line[at + marker.len()..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    }
    panic!("the gateway never logged {marker:?}");
}

#[tokio::test]
async fn sigterm_drains_sessions_and_exits_zero() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let plugins = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_voxgate"))
        .current_dir(&root)
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("PLUGIN_DIR", plugins.path())
        .env("SHUTDOWN_GRACE", "10")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start voxgate");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let sim = wait_for_line(&mut lines, "embedded Realtime simulator on ws://");
    let gateway = wait_for_line(&mut lines, "voxgate listening on http://");
    // Keep draining the log so the child never blocks on a full pipe.
    let log = std::thread::spawn(move || lines.collect::<Vec<_>>());

    // Slow the simulator down so a response is still streaming when the signal arrives.
    reqwest::Client::new()
        .post(format!("http://{sim}/_sim/faults"))
        .body(r#"{"event_delay_ms": 100}"#)
        .send()
        .await
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{gateway}/v1/realtime"))
        .await
        .unwrap();
    use futures_util::SinkExt;
    for event in [
        r#"{"type":"session.update","session":{"output_modalities":["text"]}}"#,
        r#"{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"one two three four five six"}]}}"#,
        r#"{"type":"response.create"}"#,
    ] {
        ws.send(Message::text(event)).await.unwrap();
    }
    let mut signalled = false;
    let mut kinds = Vec::new();
    let mut close_code = None;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
        match frame {
            Ok(Message::Text(text)) => {
                let event: serde_json::Value = serde_json::from_str(&text).unwrap();
                let kind = event["type"].as_str().unwrap_or_default().to_string();
                if kind == "response.created" && !signalled {
                    // SAFETY: sending a signal to our own child process.
                    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
                    signalled = true;
                }
                kinds.push(kind);
            }
            Ok(Message::Close(frame)) => {
                close_code = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(signalled, "a response started: {kinds:?}");
    let done = kinds
        .iter()
        .position(|k| k == "response.done")
        .expect("the in-flight response finished");
    let notice = kinds
        .iter()
        .position(|k| k == "voxgate.shutdown")
        .expect("the client was told");
    assert!(done < notice, "{kinds:?}");
    assert_eq!(close_code, Some(1001));
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let log = log.join().unwrap().join("\n");
    assert!(log.contains("shutting down"), "{log}");
    assert!(
        tokio_tungstenite::connect_async(format!("ws://{gateway}/v1/realtime"))
            .await
            .is_err(),
        "no longer accepting"
    );
}
