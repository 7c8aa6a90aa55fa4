//! Test harness: a real gateway and a real simulator on loopback sockets, and a small
//! Realtime client. Nothing here mocks the gateway's own parts.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use voxgate::Gateway;
use voxgate::config::{Config, Secret, UpstreamConfig};
use voxgate::simulator::Simulator;
use voxgate::upstream::Endpoint;

static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

struct LogWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Capture every log line of this test binary (voxgate's at every level, others from INFO).
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buffer.clone();
        // Every crate at DEBUG (so the secret scan sees what a debugging operator would),
        // except the compiler's own chatter.
        let filter = tracing_subscriber::filter::Targets::new()
            .with_default(tracing::Level::DEBUG)
            .with_target("voxgate", tracing::Level::TRACE)
            .with_target("cranelift", tracing::Level::INFO)
            .with_target("cranelift_codegen", tracing::Level::INFO)
            .with_target("wasmtime", tracing::Level::INFO)
            .with_target("wasmtime_cranelift", tracing::Level::INFO)
            .with_target("regalloc2", tracing::Level::INFO);
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let _ = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || LogWriter(sink.clone())),
            )
            .with(filter)
            .try_init();
        buffer
    });
}

/// Everything logged so far by this test binary (all tests share it).
pub fn logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned())
        .unwrap_or_default()
}

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
        plugin_dir: tempfile::tempdir().expect("tempdir").keep(),
        ..Config::default()
    };
    config.retry.base_delay = Duration::from_millis(10);
    config.retry.max_delay = Duration::from_millis(100);
    config.azure_connection_timeout = Duration::from_secs(5);
    config
}

/// A standalone simulator (for fault injection).
pub struct Sim {
    pub sim: Simulator,
    pub addr: SocketAddr,
}

impl Sim {
    pub async fn start() -> Sim {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (sim, addr) = Simulator::spawn(listener).await.expect("simulator");
        Sim { sim, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Point `config` at this simulator (GA path unless told otherwise), with `key` if given.
    pub fn upstream(&self, path: &str, key: Option<&str>) -> UpstreamConfig {
        UpstreamConfig::Fixed(Endpoint::custom(&self.url(path), key.map(Secret::new)).expect("url"))
    }

    /// Inject faults through the real HTTP route.
    pub async fn faults(&self, body: Value) {
        let response = reqwest::Client::new()
            .post(format!("http://{}/_sim/faults", self.addr))
            .json(&body)
            .send()
            .await
            .expect("faults request");
        assert!(
            response.status().is_success(),
            "fault injection refused: {body}"
        );
    }

    pub async fn sessions(&self) -> Vec<Value> {
        serde_json::from_value(get_json(&format!("http://{}/_sim/sessions", self.addr)).await)
            .expect("sessions")
    }
}

/// GET a JSON document.
pub async fn get_json(url: &str) -> Value {
    reqwest::get(url)
        .await
        .expect("request")
        .json()
        .await
        .expect("a JSON answer")
}

/// A standalone simulator and a gateway whose upstream it is (GA path, no key).
pub async fn gateway_on_sim(mut config: Config) -> (Sim, TestGateway) {
    let sim = Sim::start().await;
    config.upstream = sim.upstream("/v1/realtime", None);
    (sim, TestGateway::start(config).await)
}

/// A gateway serving on a loopback port.
pub struct TestGateway {
    pub addr: SocketAddr,
    pub gateway: Arc<Gateway>,
}

impl TestGateway {
    pub async fn start(config: Config) -> TestGateway {
        capture_logs();
        let gateway = Gateway::start(config).await.expect("gateway starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let serving = gateway.clone();
        tokio::spawn(async move {
            voxgate::server::serve(serving, listener, std::future::pending())
                .await
                .expect("serve");
        });
        TestGateway { addr, gateway }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub async fn health(&self) -> Value {
        get_json(&format!("http://{}/health", self.addr)).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("http://{}{path}", self.addr))
            .await
            .expect("request")
    }

    /// A `/ws` client past the seed handshake, with its `session.created` read.
    pub async fn seed_client(&self, kb_id: &str) -> Client {
        let mut client = Client::connect(&self.url("/ws")).await;
        client.send(json!({ "kb_id": kb_id })).await;
        client.recv_type("session.created").await;
        client
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every text frame received, in order.
    pub seen: Vec<Value>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        Client::connect_with(url, &[]).await
    }

    pub async fn connect_with(url: &str, headers: &[(&'static str, &str)]) -> Client {
        let mut request = url.into_client_request().expect("request");
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, HeaderValue::from_str(value).expect("header"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        Client {
            ws,
            seen: Vec::new(),
        }
    }

    pub async fn send(&mut self, event: Value) {
        self.ws
            .send(Message::text(event.to_string()))
            .await
            .expect("send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("send");
    }

    /// The next text frame as JSON; `None` when the socket closed (close frame or EOF).
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a frame in time");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("gateway sends JSON");
                    self.seen.push(value.clone());
                    return Some(value);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn recv(&mut self) -> Value {
        self.next().await.expect("socket open")
    }

    /// Read until an event of `kind`; panics if the socket closes first.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next().await.unwrap_or_else(|| {
                panic!(
                    "closed while waiting for {kind}; saw {:?}",
                    types(&self.seen)
                )
            });
            if event["type"] == kind {
                return event;
            }
        }
    }

    /// Read until the close frame; returns it with every event before it.
    pub async fn until_close(&mut self) -> (Option<CloseFrame>, Vec<Value>) {
        let mut events = Vec::new();
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a frame in time");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    events.push(serde_json::from_str(&text).expect("json"))
                }
                Some(Ok(Message::Close(frame))) => return (frame, events),
                None | Some(Err(_)) => return (None, events),
                Some(Ok(_)) => {}
            }
        }
    }

    /// One user text turn: returns the events of the response up to `response.done`.
    pub async fn turn(&mut self, text: &str) -> Vec<Value> {
        self.send(json!({
            "type": "conversation.item.create",
            "item": { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": text }] }
        }))
        .await;
        self.send(json!({ "type": "response.create" })).await;
        let mut events = Vec::new();
        loop {
            let event = self.recv().await;
            let done = event["type"] == "response.done";
            events.push(event);
            if done {
                return events;
            }
        }
    }

    pub async fn text_only(&mut self) {
        self.send(json!({ "type": "session.update", "session": { "modalities": ["text"], "output_modalities": ["text"] } }))
            .await;
    }
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
