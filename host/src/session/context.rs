//! What a session is given: the handles it uses (the upstream, the knowledge search, metrics,
//! the shutdown signal) and its settings. Built once by `Gateway::start`; nothing else of the
//! gateway reaches a session.

use crate::metrics::Metrics;
use crate::tools::knowledge_search::KnowledgeSearch;
use crate::upstream::{Flavour, UpstreamPool};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The settings every session runs with.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// The `session` of the first `session.update` (the client's updates merge over it).
    pub template: Value,
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    /// Every single send, to either socket.
    pub send_timeout: Duration,
    /// Unacknowledged events and no word from the upstream for this long: it is gone.
    pub ack_timeout: Duration,
    /// Rotate the upstream session after this age (zero: never).
    pub session_max_age: Duration,
    pub notify_reconnect: bool,
    /// Client events held while the upstream reconnects.
    pub reconnect_buffer_events: usize,
    /// Bytes of client events held while the upstream reconnects.
    pub reconnect_buffer_bytes: usize,
    /// Conversation kept for restores, bytes.
    pub restore_max_bytes: usize,
    /// Failed reconnects of one outage before the session gives up (`MAX_RETRY_ATTEMPTS`).
    pub max_reconnect_attempts: u32,
    /// 0 = unlimited.
    pub events_per_second: u32,
    /// Zero = never.
    pub idle_timeout: Duration,
    pub shutdown_grace: Duration,
    pub max_message_bytes: usize,
}

/// The handles a session uses.
pub struct SessionContext {
    /// Every upstream, and the order sessions try them in.
    pub upstreams: Arc<UpstreamPool>,
    pub search: Arc<KnowledgeSearch>,
    pub metrics: Arc<Metrics>,
    pub settings: SessionSettings,
    /// Becomes true when the gateway begins to shut down.
    pub shutdown: watch::Receiver<bool>,
    /// The live sessions, for operators.
    pub live: Arc<super::live::LiveSessions>,
    /// Token sums per kb, client and model.
    pub usage: Arc<crate::usage::Usage>,
    /// What happens, for operators: sessions opening and closing, reconnects.
    pub feed: Arc<crate::feed::Feed>,
}

/// How a session was opened.
#[derive(Debug, Clone)]
pub struct SessionInit {
    pub kb_id: String,
    /// The protocol generation the client speaks (decides the simulator path).
    pub flavour: Flavour,
    /// `/ws` clients also get the seed's `{"error": …}` messages.
    pub seed_protocol: bool,
    /// The path the client connected to.
    pub path: String,
    /// The client's address.
    pub client: Option<std::net::SocketAddr>,
    /// The client's own id for the session (`X-Correlation-Id`).
    pub correlation: Option<String>,
    /// The name of the client's token (`CLIENT_TOKENS`); `None` without client auth.
    pub client_name: Option<std::sync::Arc<str>>,
}
