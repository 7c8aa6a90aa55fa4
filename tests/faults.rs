//! Faults a real network and a real upstream produce, over loopback against the simulator:
//! an upstream that accepts and then fails every time, hostile client frames at the protocol
//! level. Each asserts what the client saw and what the upstream received.

mod support;

use serde_json::json;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

#[tokio::test]
async fn an_upstream_failing_after_every_connect_gets_bounded_reconnects_then_a_clear_error() {
    let (sim, gw) = gateway_on_sim(test_config()).await;
    let mut client = talking_client(&gw).await;
    // Every new upstream session says `session.created` and is then cut: each reconnect
    // "succeeds" and the restore never completes.
    sim.faults(json!({"drop_new_sessions_after_events": 1}))
        .await;
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    let (close, events) = client.until_close().await;
    let close = close.expect("a close frame");
    assert_eq!(u16::from(close.code), 1011);
    let error = events
        .iter()
        .find(|e| e["type"] == "error" && e["error"]["code"] == "upstream_unavailable")
        .unwrap_or_else(|| panic!("a clear error: {:?}", types(&events)));
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("3 time(s) in a row"), "{message}");
    // The first session, then MAX_RETRY_ATTEMPTS (3) reconnects: no storm.
    assert_eq!(sim.sessions().await.len(), 4);
    let health = gw.health().await;
    assert_eq!(health["active_sessions"], 0, "{health}");
    assert_eq!(health["metrics"]["counters"]["azure_reconnections"], 3);
}

/// A raw frame, for what a conforming client library would never send.
async fn send_raw(client: &mut Client, opcode: OpCode, payload: &[u8]) {
    use futures_util::SinkExt;
    let frame = Frame::message(payload.to_vec(), opcode, true);
    client.ws.send(Message::Frame(frame)).await.expect("send");
}

#[tokio::test]
async fn invalid_utf8_closes_1007_and_protocol_errors_close_1002() {
    let (_sim, gw) = gateway_on_sim(test_config()).await;
    let mut client = talking_client(&gw).await;
    send_raw(
        &mut client,
        OpCode::Data(Data::Text),
        b"{\"type\":\"\xff\xfe\"}",
    )
    .await;
    let (close, events) = client.until_close().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1007));
    assert!(
        events.iter().any(|e| e["error"]["code"] == "invalid_utf8"),
        "{events:?}"
    );

    let mut client = talking_client(&gw).await;
    // A continuation frame with nothing to continue.
    send_raw(&mut client, OpCode::Data(Data::Continue), b"orphan").await;
    let (close, events) = client.until_close().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1002));
    assert!(
        events
            .iter()
            .any(|e| e["error"]["code"] == "protocol_error"),
        "{events:?}"
    );
    eventually("both sessions ended", || async {
        gw.health().await["active_sessions"] == 0
    })
    .await;
}

/// A raw TCP connection to the gateway from `source` (a loopback address of this machine).
async fn raw_connection(gw: &TestGateway, source: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(gw.addr).await.unwrap()
}

/// Seconds until the gateway closes `stream` (EOF or reset), at most PATIENCE.
async fn closed_after(stream: &mut tokio::net::TcpStream) -> std::time::Duration {
    use tokio::io::AsyncReadExt;
    let started = tokio::time::Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("still open after {PATIENCE:?}"),
        }
    }
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_after_the_handshake_timeout() {
    use tokio::io::AsyncWriteExt;
    let mut config = test_config();
    config.limits.handshake_timeout = std::time::Duration::from_millis(500);
    let gw = TestGateway::start(config).await;
    let mut silent = raw_connection(&gw, "127.0.0.1").await;
    let mut half = raw_connection(&gw, "127.0.0.1").await;
    half.write_all(b"GET /health HTTP/1.1\r\nHost: voxgate\r\n")
        .await
        .unwrap();
    let (silent, half) = tokio::join!(closed_after(&mut silent), closed_after(&mut half));
    eprintln!("silent connection closed after {silent:?}, half-sent request after {half:?}");
    assert!(
        silent < std::time::Duration::from_secs(10) && half < std::time::Duration::from_secs(10)
    );
    assert_eq!(
        gw.health().await["status"],
        "healthy",
        "/health still answers"
    );
}

#[tokio::test]
async fn connections_not_yet_upgraded_are_bounded_per_address() {
    let mut config = test_config();
    config.limits.max_pending_connections_per_ip = 5;
    let gw = TestGateway::start(config).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(raw_connection(&gw, "127.0.0.2").await);
    }
    // The gateway has taken the five (they wait for their requests); a sixth is closed at once.
    eventually("five pending", || async {
        gw.gateway.pending_connections().count() == 5
    })
    .await;
    let mut sixth = raw_connection(&gw, "127.0.0.2").await;
    let closed = closed_after(&mut sixth).await;
    assert!(closed < std::time::Duration::from_secs(5), "{closed:?}");
    // Other addresses are served meanwhile.
    assert_eq!(gw.health().await["status"], "healthy");
    drop(held);
    eventually("places freed", || async {
        gw.gateway.pending_connections().count() == 0
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_unfinished_handshakes_at_once() {
    use tokio::io::AsyncWriteExt;
    let mut config = test_config();
    config.limits.handshake_timeout = std::time::Duration::from_secs(60);
    let gateway = voxgate::Gateway::start(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(voxgate::http::serve_until_drained(
        gateway,
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /v1/realtime HTTP/1.1\r\nHost: voxgate\r\n")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let started = tokio::time::Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, served)
        .await
        .expect("the gateway stops")
        .unwrap()
        .unwrap();
    eprintln!(
        "stopped {:?} after the signal with a half-sent request open",
        started.elapsed()
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    closed_after(&mut half).await;
}

#[tokio::test]
async fn events_a_silent_upstream_never_acknowledged_are_replayed_exactly_once() {
    let mut config = test_config();
    config.upstream_ack_timeout = std::time::Duration::from_secs(1);
    let (sim, gw) = gateway_on_sim(config).await;
    let mut client = talking_client(&gw).await;
    // The upstream keeps its TCP connection open and stops reading and answering.
    sim.faults(json!({"stall": true})).await;
    let started = tokio::time::Instant::now();
    for n in 1..=3 {
        client
            .send(user_item(&format!("sent into silence {n}")))
            .await;
    }
    let detected = client.reconnects_after_ack_timeout(3).await - started;
    let events = client.turn("and now").await;
    assert!(response_text(&events).starts_with("You said: and now"));
    eprintln!("silent upstream detected after {detected:?}");
    assert!(
        detected < std::time::Duration::from_secs(10),
        "{detected:?}"
    );
    let sessions = sim.sessions().await;
    let texts = item_texts(sessions.last().unwrap());
    let silent: Vec<&String> = texts
        .iter()
        .filter(|t| t.starts_with("sent into silence"))
        .collect();
    assert_eq!(
        silent,
        [
            "sent into silence 1",
            "sent into silence 2",
            "sent into silence 3"
        ],
        "every unacknowledged event, once, in order: {texts:?}"
    );
    assert_eq!(
        texts.first().map(String::as_str),
        Some("remember the blue door")
    );
}

#[tokio::test]
async fn a_conversation_of_ten_megabytes_is_restored_and_goes_on() {
    let mut config = test_config();
    config.restore_max_bytes = 16 << 20;
    let (sim, gw) = gateway_on_sim(config).await;
    let mut client = talking_client(&gw).await;
    let filler = "x".repeat(50_000);
    for n in 0..200 {
        client.send(user_item(&format!("{n} {filler}"))).await;
    }
    for _ in 0..200 {
        client.recv_type("conversation.item.created").await;
    }
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    let reconnected = client.recv_type("voxgate.upstream.reconnected").await;
    assert!(
        reconnected["restored_items"].as_u64().unwrap_or(0) >= 201,
        "{reconnected}"
    );
    let events = client.turn("still there").await;
    let answer = response_text(&events);
    assert!(
        answer.starts_with("You said: still there"),
        "{:?}",
        types(&events)
    );
    let sessions = sim.sessions().await;
    assert_eq!(sessions.len(), 2, "one reconnect, no loop");
    assert!(item_texts(sessions.last().unwrap()).len() >= 202);
}

#[tokio::test]
async fn over_restore_max_bytes_the_oldest_items_are_dropped_and_the_client_is_told() {
    let mut config = test_config();
    config.restore_max_bytes = 200_000;
    let (sim, gw) = gateway_on_sim(config).await;
    let mut client = talking_client(&gw).await;
    let filler = "y".repeat(50_000);
    for n in 0..10 {
        client.send(user_item(&format!("{n} {filler}"))).await;
    }
    for _ in 0..10 {
        client.recv_type("conversation.item.created").await;
    }
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    let notice = client.recv_type("voxgate.upstream.reconnected").await;
    let restored = notice["restored_items"].as_u64().unwrap_or(0);
    let dropped = notice["dropped_items"].as_u64().unwrap_or(0);
    assert!(restored >= 1 && dropped >= 1, "{notice}");
    // The first turn made two items (the question and the answer), then ten more.
    assert_eq!(
        restored + dropped,
        12,
        "every item restored or reported: {notice}"
    );
    let texts = item_texts(sim.sessions().await.last().unwrap());
    assert!(
        texts.last().is_some_and(|t| t.starts_with("9 ")),
        "the newest are kept"
    );
    let events = client.turn("go on").await;
    assert!(response_text(&events).starts_with("You said: go on"));
}
