//! The composition root: `Gateway::start` builds, once, every handle the gateway runs on — the
//! upstream (target + its guard), the knowledge search (RAG slot + its guard), the plugin
//! slots, admission, metrics — and hands each part only the handles it uses: sessions get a
//! [`SessionContext`], the HTTP layer this `Gateway`. Nothing per-session lives here.

use crate::admission::{Admission, PendingConnections};
use crate::config::{Config, UpstreamConfig};
use crate::feed::Feed;
use crate::kb::KnowledgeBases;
use crate::metrics::Metrics;
use crate::plugins::Plugins;
use crate::plugins::backoff::PluginPolicy;
use crate::plugins::routing::PluginRouter;
use crate::resilience::{
    BackoffPolicy, BreakerObserver, BreakerSettings, CircuitBreaker, Guard, Observers, Operation,
};
use crate::session::{SessionContext, SessionSettings};
use crate::tools::knowledge_search::KnowledgeSearch;
use crate::upstream::{Placement, Router, Target, Upstream, UpstreamPool};
use crate::usage::Usage;
use std::sync::Arc;
use voxgate_sim::Simulator;

pub struct Gateway {
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    upstream: Arc<UpstreamPool>,
    search: Arc<KnowledgeSearch>,
    plugins: Plugins,
    admission: Arc<Admission>,
    pending: Arc<PendingConnections>,
    sessions: Arc<SessionContext>,
    feed: Arc<Feed>,
    shutdown: tokio::sync::watch::Sender<bool>,
    simulator: Option<(Simulator, std::net::SocketAddr)>,
    started: std::time::Instant,
}

/// A breaker reporting to the metrics and the operators' feed.
fn breaker(
    name: &'static str,
    settings: BreakerSettings,
    metrics: &Arc<Metrics>,
    feed: &Arc<Feed>,
) -> CircuitBreaker {
    let observer: Arc<dyn BreakerObserver> =
        Arc::new(Observers(vec![metrics.clone(), feed.clone()]));
    CircuitBreaker::new(name, settings, Some(observer))
}

impl Gateway {
    /// Build the shared state; starts the embedded simulator when no upstream is configured.
    pub async fn start(config: Config) -> anyhow::Result<Arc<Gateway>> {
        // wss:// upstreams use rustls with ring; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let metrics = Arc::new(Metrics::new());
        let feed = Arc::new(Feed::default());
        // (name, target, placement, breaker settings, own session settings) of each upstream.
        let (members, simulator) = match &config.upstream {
            UpstreamConfig::Fixed(endpoint) => {
                tracing::info!("upstream: {}", endpoint.display());
                let member = (
                    endpoint.host().to_string(),
                    Target::Fixed(endpoint.clone()),
                    Placement::default(),
                    config.upstream_breaker,
                    (None, Vec::new()),
                );
                (vec![member], None)
            }
            UpstreamConfig::Simulator => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let (simulator, addr) = Simulator::spawn(listener).await?;
                tracing::info!(
                    "upstream: embedded Realtime simulator on ws://{addr} (no UPSTREAMS_FILE, UPSTREAM_URL, Azure or OpenAI settings given)"
                );
                let member = (
                    "simulator".to_string(),
                    Target::Simulator(addr),
                    Placement::default(),
                    config.upstream_breaker,
                    (None, Vec::new()),
                );
                (vec![member], Some((simulator, addr)))
            }
            UpstreamConfig::Pool(specs) => {
                let mut specs = specs.clone();
                specs.sort_by_key(|s| s.priority);
                let members = specs
                    .into_iter()
                    .map(|s| {
                        tracing::info!(
                            "upstream {}: {} (priority {}, weight {})",
                            s.name,
                            s.endpoint.display(),
                            s.priority,
                            s.weight
                        );
                        let placement = Placement {
                            priority: s.priority,
                            weight: s.weight,
                            max_sessions: s.max_sessions,
                        };
                        (
                            s.name,
                            Target::Fixed(s.endpoint),
                            placement,
                            s.breaker,
                            (s.session, s.tags),
                        )
                    })
                    .collect();
                (members, None)
            }
        };
        let knowledge = Arc::new(KnowledgeBases::new(config.kb_dir.clone()));
        let plugins = {
            let (settings, metrics, feed, knowledge) = (
                config.plugins.clone(),
                metrics.clone(),
                feed.clone(),
                knowledge.clone(),
            );
            tokio::task::spawn_blocking(move || Plugins::start(&settings, metrics, feed, knowledge))
                .await??
        };
        let policy: Arc<dyn BackoffPolicy> = Arc::new(PluginPolicy {
            slot: plugins.backoff.clone(),
        });
        let members = members
            .into_iter()
            .enumerate()
            .map(
                |(i, (name, target, placement, settings, (session, tags)))| {
                    // The primary's breaker keeps the seed's name (`azure`, in /health and
                    // /metrics); the others are named after their upstream (names are validated
                    // and few, so leaking them for a 'static label is bounded).
                    let breaker_name: &'static str = if i == 0 {
                        "azure"
                    } else {
                        Box::leak(name.clone().into_boxed_str())
                    };
                    Arc::new(
                        Upstream::new(
                            name,
                            target,
                            Guard::new(
                                Operation::UpstreamConnect,
                                config.retry,
                                policy.clone(),
                                breaker(breaker_name, settings, &metrics, &feed),
                            ),
                            config.upstream_connect_timeout,
                            metrics.clone(),
                            placement,
                        )
                        .with_session(session)
                        .with_tags(tags),
                    )
                },
            )
            .collect();
        let router: Arc<dyn Router> = Arc::new(PluginRouter {
            slot: plugins.routing.clone(),
        });
        let upstream = Arc::new(UpstreamPool::new(members).with_router(router));
        let search = Arc::new(KnowledgeSearch::new(
            plugins.rag.clone(),
            Guard::new(
                Operation::RagSearch,
                config.retry,
                policy,
                breaker("rag", config.rag_breaker, &metrics, &feed),
            ),
            config.kb_dir.clone(),
            config.max_tool_output_bytes,
            metrics.clone(),
        ));
        let shutdown = tokio::sync::watch::Sender::new(false);
        let sessions = Arc::new(SessionContext {
            upstreams: upstream.clone(),
            search: search.clone(),
            metrics: metrics.clone(),
            settings: SessionSettings {
                template: config.session_template.clone(),
                ping_interval: config.ping_interval,
                pong_timeout: config.pong_timeout,
                send_timeout: config.send_timeout,
                ack_timeout: config.upstream_ack_timeout,
                session_max_age: config.upstream_session_max_age,
                notify_reconnect: config.notify_reconnect,
                reconnect_buffer_events: config.reconnect_buffer_events,
                restore_max_bytes: config.restore_max_bytes,
                reconnect_buffer_bytes: config.reconnect_buffer_bytes,
                max_reconnect_attempts: config.retry.max_attempts(),
                events_per_second: config.limits.events_per_second,
                idle_timeout: config.limits.idle_timeout,
                shutdown_grace: config.limits.shutdown_grace,
                max_message_bytes: config.limits.max_message_bytes,
            },
            shutdown: shutdown.subscribe(),
            live: Arc::default(),
            usage: Arc::new(Usage::new(&metrics, config.prices.clone())),
            feed: feed.clone(),
        });
        Ok(Arc::new(Gateway {
            plugins,
            admission: Admission::new(config.limits.clone()),
            pending: PendingConnections::new(
                config.limits.max_pending_connections_per_ip,
                config.limits.max_pending_connections,
            ),
            shutdown,
            upstream,
            search,
            sessions,
            config: Arc::new(config),
            metrics,
            feed,
            simulator,
            started: std::time::Instant::now(),
        }))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// What happens, live, for operators (`/admin/events`).
    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// Every upstream (the primary first).
    pub fn upstreams(&self) -> &UpstreamPool {
        &self.upstream
    }

    pub fn knowledge_search(&self) -> &KnowledgeSearch {
        &self.search
    }

    pub fn plugins(&self) -> &Plugins {
        &self.plugins
    }

    pub fn admission(&self) -> &Arc<Admission> {
        &self.admission
    }

    /// Connections not yet upgraded.
    pub fn pending_connections(&self) -> &Arc<PendingConnections> {
        &self.pending
    }

    /// What every session is given.
    pub fn sessions(&self) -> &Arc<SessionContext> {
        &self.sessions
    }

    /// The embedded simulator and its address, when it is the upstream.
    pub fn simulator(&self) -> Option<(&Simulator, std::net::SocketAddr)> {
        self.simulator.as_ref().map(|(sim, addr)| (sim, *addr))
    }

    /// Ask every session to finish: in-flight responses get `SHUTDOWN_GRACE`, then clients
    /// receive `voxgate.shutdown` and a close 1001.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Whether shutdown has begun (sessions draining, no new ones).
    pub fn is_draining(&self) -> bool {
        *self.shutdown.borrow()
    }

    pub fn uptime_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}
