//! One `Config` for the gateway, read from `.env`, the environment and flags (flags win).
//!
//! `args::ServeArgs` is the clap surface (every option documents its variable); `Config` is the
//! validated, typed result the composition root (`Gateway::start`) hands out in pieces.
//! Every default lives in [`defaults`]; tests build `Config` directly from `Config::default()`.

mod args;
pub mod defaults;
mod plugin_args;
#[cfg(test)]
mod readme;
mod tokens;
mod upstream_choice;
mod upstreams_file;
mod values;

pub use args::ServeArgs;
pub use plugin_args::PluginArgs;
pub use tokens::{ClientToken, ClientTokens};
pub use values::Seconds;

use crate::plugins::{PluginSettings, SlotLimits};
use crate::resilience::{BreakerSettings, RetrySettings};
use crate::secret::Secret;
use crate::upstream::Endpoint;
use crate::usage::PriceTable;
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::time::Duration;

/// Where the upstream Realtime API is.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamConfig {
    /// A fixed endpoint (Azure, OpenAI, or any Realtime-compatible URL) with its credentials.
    Fixed(Endpoint),
    /// The embedded simulator, started in-process on a loopback port.
    Simulator,
    /// Several named upstreams (`UPSTREAMS_FILE`), tried by priority and weight.
    Pool(Vec<crate::upstream::UpstreamSpec>),
}

/// The gateway's validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub upstream: UpstreamConfig,
    /// How long one upstream handshake may take (`AZURE_CONNECTION_TIMEOUT`).
    pub upstream_connect_timeout: Duration,
    pub default_kb_id: String,
    pub kb_dir: PathBuf,
    /// The session template sent as the first `session.update` (the `session` object).
    pub session_template: serde_json::Value,
    pub retry: RetrySettings,
    /// The upstream's breaker (`AZURE_CIRCUIT_*`; reported as `azure` in `/health`).
    pub upstream_breaker: BreakerSettings,
    pub rag_breaker: BreakerSettings,
    pub client_init_timeout: Duration,
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    pub send_timeout: Duration,
    /// Unacknowledged events and no word from the upstream for this long: it is gone.
    pub upstream_ack_timeout: Duration,
    /// Upstream sessions older than this are rotated at a quiet moment; zero = never.
    pub upstream_session_max_age: Duration,
    pub notify_reconnect: bool,
    /// Client events held while the upstream reconnects.
    pub reconnect_buffer_events: usize,
    /// Bytes of client events held while the upstream reconnects (`RECONNECT_BUFFER_BYTES`).
    pub reconnect_buffer_bytes: usize,
    /// Conversation kept for restores (`RESTORE_MAX_BYTES`); the oldest items go beyond it.
    pub restore_max_bytes: usize,
    /// Largest knowledge-search answer sent upstream (`MAX_TOOL_OUTPUT_BYTES`).
    pub max_tool_output_bytes: usize,
    pub plugins: PluginSettings,
    pub admin_token: Option<Secret>,
    /// Prices for usage estimates (`PRICES_FILE`, else built in).
    pub prices: PriceTable,
    pub limits: ClientLimits,
}

/// What clients may do: who may connect, how much, how fast.
#[derive(Debug, Clone)]
pub struct ClientLimits {
    /// Tokens a client must present (empty: no client auth).
    pub tokens: ClientTokens,
    /// Browser origins allowed to open sockets (empty: any).
    pub allowed_origins: Vec<String>,
    pub max_message_bytes: usize,
    /// 0 = unlimited.
    pub max_sessions: usize,
    /// 0 = unlimited.
    pub max_sessions_per_ip: usize,
    /// Client events per second per session (burst: one second's worth); 0 = unlimited.
    pub events_per_second: u32,
    /// A session with no client event for this long is closed; zero = never.
    pub idle_timeout: Duration,
    /// On SIGTERM/SIGINT: how long in-flight responses may take to finish.
    pub shutdown_grace: Duration,
    /// A connection must send its whole request (and upgrade) within this.
    pub handshake_timeout: Duration,
    /// Connections not yet upgraded, in total and per client address.
    pub max_pending_connections: usize,
    pub max_pending_connections_per_ip: usize,
}

impl Default for ClientLimits {
    fn default() -> ClientLimits {
        ClientLimits {
            tokens: ClientTokens::default(),
            allowed_origins: Vec::new(),
            max_message_bytes: defaults::MAX_MESSAGE_BYTES as usize,
            max_sessions: defaults::MAX_SESSIONS as usize,
            max_sessions_per_ip: defaults::MAX_SESSIONS_PER_IP as usize,
            events_per_second: defaults::RATE_LIMIT_EVENTS_PER_SECOND,
            idle_timeout: defaults::IDLE_TIMEOUT,
            shutdown_grace: defaults::SHUTDOWN_GRACE,
            handshake_timeout: defaults::HANDSHAKE_TIMEOUT,
            max_pending_connections: defaults::MAX_PENDING_CONNECTIONS as usize,
            max_pending_connections_per_ip: defaults::MAX_PENDING_CONNECTIONS_PER_IP as usize,
        }
    }
}

/// The breaker settings of the defaults; they satisfy every rule (checked by a test).
fn default_breaker(threshold: u32, timeout: Duration) -> BreakerSettings {
    BreakerSettings::new(
        threshold,
        timeout,
        defaults::CIRCUIT_HALF_OPEN_MAX_CALLS,
        defaults::CIRCUIT_SUCCESS_THRESHOLD,
    )
    .unwrap_or_else(|e| unreachable!("the default breaker settings are valid: {e}"))
}

impl Default for Config {
    /// The out-of-the-box configuration: embedded simulator, sample knowledge base, seed defaults.
    fn default() -> Config {
        Config {
            host: defaults::HOST.into(),
            port: defaults::PORT,
            upstream: UpstreamConfig::Simulator,
            upstream_connect_timeout: defaults::UPSTREAM_CONNECTION_TIMEOUT,
            default_kb_id: defaults::DEFAULT_KB_ID.into(),
            kb_dir: PathBuf::from(defaults::KB_DIR),
            session_template: default_session_template(),
            retry: RetrySettings::new(
                defaults::MAX_RETRY_ATTEMPTS,
                defaults::RETRY_BASE_DELAY,
                defaults::RETRY_MAX_DELAY,
            )
            .unwrap_or_else(|e| unreachable!("the default retry settings are valid: {e}")),
            upstream_breaker: default_breaker(
                defaults::UPSTREAM_CIRCUIT_FAILURE_THRESHOLD,
                defaults::UPSTREAM_CIRCUIT_TIMEOUT,
            ),
            rag_breaker: default_breaker(
                defaults::RAG_CIRCUIT_FAILURE_THRESHOLD,
                defaults::RAG_CIRCUIT_TIMEOUT,
            ),
            client_init_timeout: defaults::CLIENT_INIT_TIMEOUT,
            ping_interval: defaults::PING_INTERVAL,
            pong_timeout: defaults::PONG_TIMEOUT,
            send_timeout: defaults::SEND_TIMEOUT,
            upstream_ack_timeout: defaults::UPSTREAM_ACK_TIMEOUT,
            upstream_session_max_age: defaults::UPSTREAM_SESSION_MAX_AGE,
            notify_reconnect: defaults::NOTIFY_RECONNECT,
            reconnect_buffer_events: defaults::RECONNECT_BUFFER_EVENTS as usize,
            restore_max_bytes: defaults::RESTORE_MAX_BYTES as usize,
            reconnect_buffer_bytes: defaults::RECONNECT_BUFFER_BYTES as usize,
            max_tool_output_bytes: defaults::MAX_TOOL_OUTPUT_BYTES as usize,
            plugins: PluginSettings {
                dir: PathBuf::from(defaults::PLUGIN_DIR),
                cache_dir: None,
                cache_max_bytes: defaults::PLUGIN_CACHE_MAX_BYTES,
                index_cache_max_bytes: defaults::RAG_INDEX_CACHE_MAX_BYTES,
                backoff: slot_limits(
                    defaults::BACKOFF_PLUGIN_DEADLINE,
                    defaults::BACKOFF_PLUGIN_MEMORY_MIB,
                    defaults::PLUGIN_MAX_BYTES,
                ),
                rag: slot_limits(
                    defaults::RAG_PLUGIN_DEADLINE,
                    defaults::RAG_PLUGIN_MEMORY_MIB,
                    defaults::PLUGIN_MAX_BYTES,
                ),
            },
            admin_token: None,
            prices: PriceTable::built_in(),
            limits: ClientLimits::default(),
        }
    }
}

/// A slot's limits with the shared defaults for compiling and concurrency.
fn slot_limits(deadline: Duration, memory_mib: u32, max_file_bytes: u64) -> SlotLimits {
    SlotLimits {
        deadline,
        memory_bytes: mib(memory_mib),
        max_file_bytes,
        compile_timeout: defaults::PLUGIN_COMPILE_TIMEOUT,
        start_timeout: defaults::PLUGIN_START_TIMEOUT,
        max_concurrent: concurrent_calls(defaults::PLUGIN_MAX_CONCURRENT_CALLS),
        max_queued: defaults::PLUGIN_MAX_QUEUED_CALLS as usize,
    }
}

/// `PLUGIN_MAX_CONCURRENT_CALLS`: 0 means one fewer than the cores, at least 1, so plugin
/// work always leaves a core to the sessions.
pub(crate) fn concurrent_calls(setting: u32) -> usize {
    if setting > 0 {
        return setting as usize;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.saturating_sub(1).max(1)
}

/// Bytes in `n` MiB.
pub(crate) fn mib(n: u32) -> usize {
    n as usize * 1024 * 1024
}

/// The template used when `SESSION_CONFIG` is not set: the shipped `examples/session.json`.
pub fn default_session_template() -> serde_json::Value {
    // A constant of this crate, checked by a unit test: not input from outside.
    serde_json::from_str(include_str!("../../../examples/session.json"))
        .unwrap_or_else(|_| serde_json::json!({}))
}

/// Read a session template: a JSON object (the `session` of a `session.update`).
pub fn load_session_template(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("SESSION_CONFIG: cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("SESSION_CONFIG: {} is not valid JSON", path.display()))?;
    if !value.is_object() {
        bail!(
            "SESSION_CONFIG: {} must hold a JSON object (the session settings)",
            path.display()
        );
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_template_is_a_valid_object() {
        let template = default_session_template();
        assert!(
            template["instructions"]
                .as_str()
                .is_some_and(|i| i.contains("search_knowledge_base"))
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let config = Config {
            admin_token: Some(Secret::new("admin-s3cret")),
            upstream: UpstreamConfig::Fixed(
                Endpoint::openai(
                    defaults::OPENAI_REALTIME_MODEL,
                    Secret::new("sk-very-secret"),
                )
                .unwrap(),
            ),
            ..Config::default()
        };
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("very-secret"),
            "{debug}"
        );
    }
}
