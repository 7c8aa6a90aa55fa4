//! The process-wide state every session shares: configuration, metrics, the two breakers,
//! the upstream target, plugin slots and knowledge bases. Nothing per-session lives here.

use crate::admission::Admission;
use crate::config::{Config, UpstreamConfig};
use crate::kb::KnowledgeBases;
use crate::metrics::Metrics;
use crate::plugins::Plugins;
use crate::plugins::backoff::PluginPolicy;
use crate::resilience::{BackoffPolicy, CircuitBreaker};
use crate::simulator::Simulator;
use crate::upstream::{Endpoint, Flavour};
use std::net::SocketAddr;
use std::sync::Arc;

/// Where sessions connect.
enum Target {
    Fixed(Endpoint),
    /// The embedded simulator: the path follows the client's protocol flavour.
    Simulator(SocketAddr, Simulator),
}

pub struct Gateway {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub azure: CircuitBreaker,
    pub rag: CircuitBreaker,
    pub knowledge: Arc<KnowledgeBases>,
    pub plugins: Plugins,
    backoff: Arc<dyn BackoffPolicy>,
    pub admission: Arc<Admission>,
    shutdown: tokio::sync::watch::Sender<bool>,
    target: Target,
    started: std::time::Instant,
}

impl Gateway {
    /// Build the shared state; starts the embedded simulator when no upstream is configured.
    pub async fn start(config: Config) -> anyhow::Result<Arc<Gateway>> {
        // wss:// upstreams use rustls with ring; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let metrics = Arc::new(Metrics::new());
        let target = match &config.upstream {
            UpstreamConfig::Fixed(endpoint) => {
                tracing::info!("upstream: {}", endpoint.display());
                Target::Fixed(endpoint.clone())
            }
            UpstreamConfig::Simulator => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let (simulator, addr) = Simulator::spawn(listener).await?;
                tracing::info!(
                    "upstream: embedded Realtime simulator on ws://{addr} (no UPSTREAM_URL, Azure or OpenAI settings given)"
                );
                Target::Simulator(addr, simulator)
            }
        };
        let knowledge = Arc::new(KnowledgeBases::new(config.kb_dir.clone()));
        let plugins = {
            let (config, metrics, knowledge) = (config.clone(), metrics.clone(), knowledge.clone());
            tokio::task::spawn_blocking(move || Plugins::start(&config, metrics, knowledge))
                .await??
        };
        let backoff: Arc<dyn BackoffPolicy> = Arc::new(PluginPolicy {
            slot: plugins.backoff.clone(),
        });
        Ok(Arc::new(Gateway {
            knowledge,
            plugins,
            backoff,
            admission: Admission::new(config.limits.clone()),
            shutdown: tokio::sync::watch::Sender::new(false),
            azure: CircuitBreaker::new(
                "azure",
                config.azure_breaker.clone(),
                Some(metrics.clone()),
            ),
            rag: CircuitBreaker::new("rag", config.rag_breaker.clone(), Some(metrics.clone())),
            config: Arc::new(config),
            metrics,
            target,
            started: std::time::Instant::now(),
        }))
    }

    /// The endpoint a client speaking `flavour` is connected to.
    pub fn upstream_endpoint(&self, flavour: Flavour) -> Endpoint {
        match &self.target {
            Target::Fixed(endpoint) => endpoint.clone(),
            Target::Simulator(addr, _) => {
                let path = match flavour {
                    Flavour::Preview => "/openai/realtime",
                    Flavour::Ga => "/v1/realtime",
                };
                let url = url::Url::parse(&format!("ws://{addr}{path}"))
                    .expect("a socket address forms a URL");
                Endpoint::unauthenticated(url)
            }
        }
    }

    /// The embedded simulator, when it is the upstream.
    pub fn simulator(&self) -> Option<(&Simulator, SocketAddr)> {
        match &self.target {
            Target::Simulator(addr, simulator) => Some((simulator, *addr)),
            Target::Fixed(_) => None,
        }
    }

    /// `/health.upstream`: what sessions connect to (never a credential or a query string).
    pub fn upstream_json(&self) -> serde_json::Value {
        match &self.target {
            Target::Fixed(endpoint) => {
                serde_json::json!({ "kind": "fixed", "endpoint": endpoint.display() })
            }
            Target::Simulator(addr, _) => {
                serde_json::json!({ "kind": "simulator", "endpoint": format!("ws://{addr}"), "faults": format!("http://{addr}/_sim/faults") })
            }
        }
    }

    /// The policy deciding retry delays.
    pub fn backoff_policy(&self) -> Arc<dyn BackoffPolicy> {
        self.backoff.clone()
    }

    /// `/health.plugins`.
    pub fn plugins_json(&self) -> serde_json::Value {
        self.plugins.health_json()
    }

    /// Ask every session to finish: in-flight responses get `SHUTDOWN_GRACE`, then clients
    /// receive `voxgate.shutdown` and a close 1001.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves when shutdown has begun.
    pub fn shutdown_requested(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn uptime_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}
