//! The one registry behind `/health` (the seed's JSON names) and `/metrics` (Prometheus text).
//!
//! Counters and errors use the seed's names; latencies are histograms (so p50/p99 can be read
//! from Prometheus) whose averages feed `/health`'s `avg_latencies`.

use crate::resilience::{BreakerObserver, BreakerState};
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};
use serde_json::{Map, Value, json};
use std::sync::Arc;

macro_rules! names {
    ($(#[$meta:meta])* $ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $ty { $($variant),* }
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
            pub fn name(self) -> &'static str { match self { $($ty::$variant => $name),* } }
        }
    };
}

names!(
    /// Things that happen (`/health` → `metrics.counters`).
    Count {
        UpstreamConnections => "azure_connections",
        UpstreamReconnections => "azure_reconnections",
        UpstreamRotations => "upstream_rotations",
        RagSearches => "rag_searches",
        WsConnections => "ws_connections",
        WsDisconnects => "ws_disconnects",
        PluginReloads => "plugin_reloads",
        PluginLogDropped => "plugin_log_dropped",
        PluginCallsRefusedBusy => "plugin_calls_refused_busy",
        ClientEventsDropped => "client_events_dropped",
        ToolOutputsTruncated => "tool_outputs_truncated",
        ResponsesWithoutUsage => "responses_without_usage",
        IndexCacheHits => "rag_index_cache_hits",
        IndexCacheMisses => "rag_index_cache_misses",
        IndexCacheRefused => "rag_index_cache_refused",
    }
);

names!(
    /// Things that go wrong (`/health` → `metrics.errors`).
    Fault {
        UpstreamTimeout => "azure_timeout",
        UpstreamConnectionFailed => "azure_connection_failed",
        UpstreamDisconnected => "azure_disconnected",
        RagSearchFailed => "rag_search_failed",
        ClientTimeout => "client_timeout",
        UpstreamInterrupted => "upstream_interrupted",
        PluginTrap => "plugin_trap",
        PluginTimeout => "plugin_timeout",
        PluginOom => "plugin_oom",
        PluginReloadFailed => "plugin_reload_failed",
        SessionPanicked => "session_panics",
    }
);

names!(
    /// Timed operations (`/health` → `metrics.avg_latencies`, seconds).
    Latency {
        UpstreamConnect => "azure_connect",
        RagSearch => "rag_search",
        RagInit => "rag_init",
    }
);

pub struct Metrics {
    registry: Registry,
    counts: Vec<IntCounter>,
    faults: Vec<IntCounter>,
    latencies: Vec<Histogram>,
    breaker_state: IntGaugeVec,
    breaker_transitions: IntCounterVec,
    active_sessions: IntGauge,
    upstream_sessions: IntGaugeVec,
    upstream_connect_errors: IntCounterVec,
    failovers: IntCounterVec,
}

/// One upstream's own series (`upstream` label).
#[derive(Clone)]
pub struct UpstreamSeries {
    pub sessions: IntGauge,
    pub connect_errors: IntCounter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

const STATES: [BreakerState; 3] = [
    BreakerState::Closed,
    BreakerState::Open,
    BreakerState::HalfOpen,
];

impl Metrics {
    pub fn new() -> Metrics {
        let registry =
            Registry::new_custom(Some("voxgate".into()), None).expect("static prefix is valid");
        let register = |c: Box<dyn prometheus::core::Collector>| {
            registry
                .register(c)
                .expect("metric names are unique and valid");
        };
        let counter = |name: &str, help: String| {
            let c = IntCounter::new(format!("{name}_total"), help).expect("valid metric");
            register(Box::new(c.clone()));
            c
        };
        let counts = Count::ALL
            .iter()
            .map(|c| counter(c.name(), format!("Count of {}", c.name())))
            .collect();
        let faults = Fault::ALL
            .iter()
            .map(|f| counter(f.name(), format!("Errors: {}", f.name())))
            .collect();
        let latencies = Latency::ALL
            .iter()
            .map(|l| {
                let buckets = vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ];
                let h = Histogram::with_opts(
                    HistogramOpts::new(
                        format!("{}_seconds", l.name()),
                        format!("Latency of {}", l.name()),
                    )
                    .buckets(buckets),
                )
                .expect("valid metric");
                register(Box::new(h.clone()));
                h
            })
            .collect();
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let v = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            register(Box::new(v.clone()));
            v
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let v = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            register(Box::new(v.clone()));
            v
        };
        let breaker_state = gauge_vec(
            "circuit_breaker_state",
            "1 for the breaker's current state",
            &["breaker", "state"],
        );
        let breaker_transitions = counter_vec(
            "circuit_breaker_transitions_total",
            "Breaker transitions, by the state entered",
            &["breaker", "to"],
        );
        let active_sessions =
            IntGauge::new("active_sessions", "Client sessions open now").expect("valid metric");
        register(Box::new(active_sessions.clone()));
        let upstream_sessions = gauge_vec(
            "upstream_active_sessions",
            "Sessions on each upstream now",
            &["upstream"],
        );
        let upstream_connect_errors = counter_vec(
            "upstream_connect_errors_total",
            "Failed connection attempts, by upstream",
            &["upstream"],
        );
        let failovers = counter_vec(
            "upstream_failovers_total",
            "Live sessions moved to another upstream",
            &["from", "to"],
        );
        Metrics {
            registry,
            counts,
            faults,
            latencies,
            breaker_state,
            breaker_transitions,
            active_sessions,
            upstream_sessions,
            upstream_connect_errors,
            failovers,
        }
    }

    /// The series of the upstream `name`.
    pub fn upstream_series(&self, name: &str) -> UpstreamSeries {
        UpstreamSeries {
            sessions: self.upstream_sessions.with_label_values(&[name]),
            connect_errors: self.upstream_connect_errors.with_label_values(&[name]),
        }
    }

    /// A live session moved from one upstream to another.
    pub fn failover(&self, from: &str, to: &str) {
        self.failovers.with_label_values(&[from, to]).inc();
    }

    /// Add a metric owned elsewhere (usage, …) to this registry; its name must be new.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) {
        self.registry
            .register(collector)
            .expect("metric names are unique and valid");
    }

    pub fn count(&self, what: Count) {
        self.counts[what as usize].inc();
    }

    pub fn count_by(&self, what: Count, n: u64) {
        self.counts[what as usize].inc_by(n);
    }

    pub fn fault(&self, what: Fault) {
        self.faults[what as usize].inc();
    }

    pub fn observe(&self, what: Latency, seconds: f64) {
        self.latencies[what as usize].observe(seconds);
    }

    pub fn get(&self, what: Count) -> u64 {
        self.counts[what as usize].get()
    }

    pub fn get_fault(&self, what: Fault) -> u64 {
        self.faults[what as usize].get()
    }

    /// Count a session as open until the returned guard is dropped (however the session
    /// ends, a panic included), so `active_sessions` cannot drift.
    pub fn session_opened(self: &Arc<Self>) -> OpenSession {
        self.active_sessions.inc();
        OpenSession(self.clone())
    }

    pub fn active_sessions(&self) -> i64 {
        self.active_sessions.get()
    }

    /// `metrics` of `/health`: `{counters, errors, avg_latencies}` with the seed's names.
    pub fn health_json(&self) -> Value {
        let mut counters = Map::new();
        for c in Count::ALL {
            counters.insert(c.name().into(), json!(self.get(*c)));
        }
        let mut errors = Map::new();
        for f in Fault::ALL {
            errors.insert(f.name().into(), json!(self.get_fault(*f)));
        }
        let mut avg = Map::new();
        for l in Latency::ALL {
            let h = &self.latencies[*l as usize];
            let n = h.get_sample_count();
            let mean = if n == 0 {
                0.0
            } else {
                h.get_sample_sum() / n as f64
            };
            avg.insert(l.name().into(), json!((mean * 1e6).round() / 1e6));
        }
        json!({ "counters": counters, "errors": errors, "avg_latencies": avg })
    }

    /// Prometheus text exposition of every metric.
    pub fn prometheus_text(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = prometheus::TextEncoder::new();
        if let Err(error) = encoder.encode(&self.registry.gather(), &mut buffer) {
            tracing::error!("cannot encode metrics: {error}");
        }
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

/// One open session in `active_sessions`; dropping it closes it there.
#[must_use = "the session counts as open only while this guard lives"]
pub struct OpenSession(Arc<Metrics>);

impl Drop for OpenSession {
    fn drop(&mut self) {
        self.0.active_sessions.dec();
    }
}

impl BreakerObserver for Metrics {
    fn breaker_state(&self, breaker: &'static str, state: BreakerState, transition: bool) {
        for s in STATES {
            self.breaker_state
                .with_label_values(&[breaker, s.as_str()])
                .set(i64::from(s == state));
        }
        if transition {
            self.breaker_transitions
                .with_label_values(&[breaker, state.as_str()])
                .inc();
        }
    }
}
