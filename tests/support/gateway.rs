//! A real gateway on a loopback port, and a standalone simulator for fault injection.

use super::{Client, Proxy, capture_logs};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use voxgate::Gateway;
use voxgate::config::{Config, UpstreamConfig};
use voxgate::secret::Secret;
use voxgate::upstream::Endpoint;
use voxgate_sim::Simulator;

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

    /// This simulator as the upstream `name` of a pool: `priority`, a breaker opening after 3
    /// failures for `breaker_timeout`, tagged `region-<name>`.
    pub fn pool_member(
        &self,
        name: &str,
        priority: u32,
        breaker_timeout: std::time::Duration,
    ) -> voxgate::upstream::UpstreamSpec {
        voxgate::upstream::UpstreamSpec {
            name: name.into(),
            endpoint: Endpoint::custom(&self.url("/v1/realtime"), None).expect("url"),
            priority,
            weight: 1,
            max_sessions: 0,
            breaker: super::breaker(3, breaker_timeout),
            session: None,
            tags: vec![format!("region-{name}")],
        }
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

/// A standalone simulator, a fault-injecting proxy in front of it, and a gateway whose
/// upstream is the proxy (GA path, no key).
pub async fn gateway_through_proxy(mut config: Config) -> (Sim, Proxy, TestGateway) {
    let sim = Sim::start().await;
    let proxy = Proxy::start(sim.addr).await;
    config.upstream = UpstreamConfig::Fixed(
        Endpoint::custom(&format!("ws://{}/v1/realtime", proxy.addr), None).expect("url"),
    );
    (sim, proxy, TestGateway::start(config).await)
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
            voxgate::http::serve(serving, listener, std::future::pending())
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

    /// `GET path` with the admin token, as JSON.
    pub async fn admin_get(&self, token: &str, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("http://{}{path}", self.addr))
            .bearer_auth(token)
            .send()
            .await
            .expect("admin request")
            .json()
            .await
            .expect("admin JSON")
    }

    /// The upstream each live session is on, oldest session first (`/admin/sessions`).
    pub async fn session_upstreams(&self, token: &str) -> Vec<String> {
        self.admin_get(token, "/admin/sessions").await["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .map(|s| s["upstream"].as_str().unwrap_or("?").to_string())
            .collect()
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

/// A drop-in client in text mode that has had one turn ("remember the blue door").
pub async fn talking_client(gw: &TestGateway) -> Client {
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    client.text_only().await;
    let events = client.turn("remember the blue door").await;
    assert_eq!(
        super::response_text(&events),
        "You said: remember the blue door"
    );
    client
}
