//! One `Config` for the gateway, read from `.env`, the environment and flags (flags win).
//!
//! `args::ServeArgs` is the clap surface (every option documents its variable); `Config` is the
//! validated, typed result the rest of the gateway uses. Tests build `Config` directly.
//! Secrets are wrapped in [`Secret`], whose `Debug` never shows the value.

mod args;

pub use args::ServeArgs;

use crate::upstream::Endpoint;
use anyhow::{Context, bail};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A value that must never reach a log line, a client frame or `/health`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The secret itself, for the one place that needs it (an upstream header, a comparison).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Settings of one circuit breaker.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub timeout: Duration,
    pub half_open_max_calls: u32,
    pub success_threshold: u32,
}

/// Settings of the retry executor.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

/// Deadline and memory cap of one plugin slot.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotLimits {
    pub deadline: Duration,
    pub memory_bytes: usize,
}

/// Where the upstream Realtime API is.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamConfig {
    /// A fixed endpoint (Azure, OpenAI, or any Realtime-compatible URL) with its credentials.
    Fixed(Endpoint),
    /// The embedded simulator, started in-process on a loopback port.
    Simulator,
}

/// The gateway's validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub upstream: UpstreamConfig,
    pub default_kb_id: String,
    pub kb_dir: PathBuf,
    /// The session template sent as the first `session.update` (the `session` object).
    pub session_template: serde_json::Value,
    pub retry: RetryConfig,
    pub azure_breaker: BreakerConfig,
    pub rag_breaker: BreakerConfig,
    pub azure_connection_timeout: Duration,
    pub client_init_timeout: Duration,
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    pub send_timeout: Duration,
    pub notify_reconnect: bool,
    /// Client events held while the upstream reconnects.
    pub reconnect_buffer_events: usize,
    pub plugin_dir: PathBuf,
    pub plugin_cache_dir: Option<PathBuf>,
    pub backoff_limits: SlotLimits,
    pub rag_limits: SlotLimits,
    pub admin_token: Option<Secret>,
    pub limits: ClientLimits,
}

/// What clients may do: who may connect, how much, how fast.
#[derive(Debug, Clone)]
pub struct ClientLimits {
    /// Tokens a client must present (empty: no client auth).
    pub tokens: Vec<Secret>,
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
}

impl Default for ClientLimits {
    fn default() -> ClientLimits {
        ClientLimits {
            tokens: Vec::new(),
            allowed_origins: Vec::new(),
            max_message_bytes: 1 << 20,
            max_sessions: 10_000,
            max_sessions_per_ip: 0,
            events_per_second: 500,
            idle_timeout: Duration::from_secs(1800),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl Default for Config {
    /// The out-of-the-box configuration: embedded simulator, sample knowledge base, seed defaults.
    fn default() -> Config {
        let breaker = |threshold, secs| BreakerConfig {
            failure_threshold: threshold,
            timeout: Duration::from_secs(secs),
            half_open_max_calls: 1,
            success_threshold: 1,
        };
        Config {
            host: "0.0.0.0".into(),
            port: 8003,
            upstream: UpstreamConfig::Simulator,
            default_kb_id: "voxgate-docs".into(),
            kb_dir: PathBuf::from("examples/kb"),
            session_template: default_session_template(),
            retry: RetryConfig {
                max_attempts: 3,
                base_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(10),
            },
            azure_breaker: breaker(5, 60),
            rag_breaker: breaker(3, 30),
            azure_connection_timeout: Duration::from_secs(10),
            client_init_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(5),
            notify_reconnect: true,
            reconnect_buffer_events: 1024,
            plugin_dir: PathBuf::from("target/plugins/slots"),
            plugin_cache_dir: None,
            backoff_limits: SlotLimits {
                deadline: Duration::from_millis(10),
                memory_bytes: 16 << 20,
            },
            rag_limits: SlotLimits {
                deadline: Duration::from_secs(2),
                memory_bytes: 256 << 20,
            },
            admin_token: None,
            limits: ClientLimits::default(),
        }
    }
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
                Endpoint::openai("gpt-realtime", Secret::new("sk-very-secret")).unwrap(),
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
