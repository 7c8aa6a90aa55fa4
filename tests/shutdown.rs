//! Shutdown as Kubernetes and an operator see it: `/readyz` goes unready at once and new
//! sessions are refused while the listener stays up, the streaming response finishes, the
//! client is told (`voxgate.shutdown`, close 1001), then the listener closes and serving
//! returns with no session left open. The signal is the same future `voxgate serve` waits on for
//! SIGTERM/SIGINT, here resolved by the test.

mod support;

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use support::*;
use tokio_tungstenite::tungstenite::Message;

async fn readyz(addr: std::net::SocketAddr) -> u16 {
    reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("readyz answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn shutdown_drains_sessions_then_stops_accepting() {
    capture_logs();
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", None);
    config.limits.shutdown_grace = Duration::from_secs(10);
    let gateway = voxgate::Gateway::start(config).await.expect("gateway");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(voxgate::http::serve_until_drained(
        gateway.clone(),
        listener,
        async move {
            let _ = stop_rx.await;
        },
    ));

    // Slow the simulator down so a response is still streaming when the signal arrives.
    sim.faults(serde_json::json!({ "event_delay_ms": 100 }))
        .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/realtime"))
        .await
        .unwrap();
    for event in [
        r#"{"type":"session.update","session":{"output_modalities":["text"]}}"#,
        r#"{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"one two three four five six"}]}}"#,
        r#"{"type":"response.create"}"#,
    ] {
        ws.send(Message::text(event)).await.unwrap();
    }
    let mut stop = Some(stop_tx);
    let mut kinds = Vec::new();
    let mut close_code = None;
    while let Ok(Some(frame)) = tokio::time::timeout(PATIENCE, ws.next()).await {
        match frame {
            Ok(Message::Text(text)) => {
                let event: serde_json::Value = serde_json::from_str(&text).unwrap();
                let kind = event["type"].as_str().unwrap_or_default().to_string();
                if kind == "response.created"
                    && let Some(stop) = stop.take()
                {
                    assert_eq!(readyz(addr).await, 200);
                    stop.send(()).unwrap();
                    // The drain has begun and the listener is still up: unready at once, new
                    // sessions refused with Retry-After, while this response streams on.
                    eventually("unready", || async { readyz(addr).await == 503 }).await;
                    match tokio_tungstenite::connect_async(format!("ws://{addr}/v1/realtime")).await
                    {
                        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                            assert_eq!(response.status(), 503);
                            assert!(response.headers().contains_key("retry-after"));
                        }
                        other => panic!("a new session during the drain: {other:?}"),
                    }
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
    assert!(stop.is_none(), "a response started: {kinds:?}");
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
    let still_open = tokio::time::timeout(PATIENCE, served)
        .await
        .expect("serving ends after the drain")
        .unwrap()
        .unwrap();
    assert_eq!(still_open, 0);
    assert_eq!(gateway.metrics().active_sessions(), 0);
    assert!(
        tokio_tungstenite::connect_async(format!("ws://{addr}/v1/realtime"))
            .await
            .is_err(),
        "no longer accepting"
    );
}
