//! The clap surface of `voxgate serve`: every option as a flag and an environment variable,
//! with its default from [`defaults`], parsed and validated into a [`Config`]. Errors name the
//! variable and what is wrong.

use super::plugin_args::PluginArgs;
use super::values::{Seconds, parse_bool, parse_message_bytes, parse_positive, positive_seconds};
use super::{
    ClientLimits, ClientTokens, Config, default_session_template, defaults, load_session_template,
};
use crate::resilience::{BreakerSettings, RetrySettings};
use crate::secret::Secret;
use crate::usage::PriceTable;
use anyhow::{Context, bail};
use clap::Args;
use std::path::PathBuf;

/// Options of `voxgate serve`. Every option can be given as a flag or as the environment
/// variable named in its help (a `.env` file in the working directory is read too).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", value_name = "HOST", default_value = defaults::HOST)]
    pub host: String,
    /// Port to listen on.
    #[arg(long, env = "PORT", value_name = "PORT", default_value_t = defaults::PORT)]
    pub port: u16,

    /// Several named upstreams (TOML, `[[upstream]]` entries: see the README); takes precedence over every single-upstream variable.
    #[arg(long, env = "UPSTREAMS_FILE", value_name = "UPSTREAMS_FILE")]
    pub upstreams_file: Option<PathBuf>,
    /// Any Realtime-compatible ws:// or wss:// URL to use as the upstream (takes precedence over Azure/OpenAI).
    #[arg(long, env = "UPSTREAM_URL", value_name = "UPSTREAM_URL")]
    pub upstream_url: Option<String>,
    /// API key sent with UPSTREAM_URL (as `api-key` and `Authorization: Bearer`).
    #[arg(
        long,
        env = "UPSTREAM_API_KEY",
        value_name = "UPSTREAM_API_KEY",
        hide_env_values = true
    )]
    pub upstream_api_key: Option<String>,
    /// Azure OpenAI resource name (`<name>.openai.azure.com`).
    #[arg(long, env = "AZURE_RESOURCE", value_name = "AZURE_RESOURCE")]
    pub azure_resource: Option<String>,
    /// Azure OpenAI endpoint URL (alternative to AZURE_RESOURCE).
    #[arg(
        long,
        env = "AZURE_OPENAI_ENDPOINT",
        value_name = "AZURE_OPENAI_ENDPOINT"
    )]
    pub azure_openai_endpoint: Option<String>,
    /// Azure OpenAI Realtime deployment name.
    #[arg(
        long,
        env = "AZURE_OPENAI_DEPLOYMENT_NAME",
        value_name = "AZURE_OPENAI_DEPLOYMENT_NAME"
    )]
    pub azure_openai_deployment_name: Option<String>,
    /// Azure OpenAI API key (sent as the `api-key` header; never logged).
    #[arg(
        long,
        env = "AZURE_OPENAI_API_KEY",
        value_name = "AZURE_OPENAI_API_KEY",
        hide_env_values = true
    )]
    pub azure_openai_api_key: Option<String>,
    /// Azure API version; when set, the preview path `/openai/realtime?api-version=…&deployment=…` is used, else the GA path `/openai/v1/realtime?model=…`.
    #[arg(
        long,
        env = "AZURE_OPENAI_API_VERSION",
        value_name = "AZURE_OPENAI_API_VERSION"
    )]
    pub azure_openai_api_version: Option<String>,
    /// OpenAI API key (used when no Azure setting is given; never logged).
    #[arg(
        long,
        env = "OPENAI_API_KEY",
        value_name = "OPENAI_API_KEY",
        hide_env_values = true
    )]
    pub openai_api_key: Option<String>,
    /// OpenAI Realtime model.
    #[arg(
        long,
        env = "OPENAI_REALTIME_MODEL",
        value_name = "OPENAI_REALTIME_MODEL",
        default_value = defaults::OPENAI_REALTIME_MODEL
    )]
    pub openai_realtime_model: String,

    /// Knowledge base used when a client names none.
    #[arg(
        long,
        env = "DEFAULT_KB_ID",
        value_name = "DEFAULT_KB_ID",
        default_value = defaults::DEFAULT_KB_ID
    )]
    pub default_kb_id: String,
    /// Directory of knowledge bases (`KB_DIR/<kb_id>/*.md|*.txt`).
    #[arg(
        long,
        env = "KB_DIR",
        value_name = "KB_DIR",
        default_value = defaults::KB_DIR
    )]
    pub kb_dir: PathBuf,
    /// JSON file with the session template (the `session` object of the first `session.update`).
    #[arg(long, env = "SESSION_CONFIG", value_name = "SESSION_CONFIG")]
    pub session_config: Option<PathBuf>,

    /// Attempts per operation (upstream connect, RAG search).
    #[arg(long, env = "MAX_RETRY_ATTEMPTS", value_name = "MAX_RETRY_ATTEMPTS", default_value_t = defaults::MAX_RETRY_ATTEMPTS, value_parser = parse_positive)]
    pub max_retry_attempts: u32,
    /// Base retry delay, seconds.
    #[arg(long, env = "RETRY_BASE_DELAY", value_name = "RETRY_BASE_DELAY", default_value_t = Seconds(defaults::RETRY_BASE_DELAY))]
    pub retry_base_delay: Seconds,
    /// Largest retry delay, seconds (every delay, even a plugin's, is clamped to it).
    #[arg(long, env = "RETRY_MAX_DELAY", value_name = "RETRY_MAX_DELAY", default_value_t = Seconds(defaults::RETRY_MAX_DELAY))]
    pub retry_max_delay: Seconds,

    /// Consecutive upstream failures that open the azure breaker.
    #[arg(long, env = "AZURE_CIRCUIT_FAILURE_THRESHOLD", value_name = "AZURE_CIRCUIT_FAILURE_THRESHOLD", default_value_t = defaults::UPSTREAM_CIRCUIT_FAILURE_THRESHOLD, value_parser = parse_positive)]
    pub azure_circuit_failure_threshold: u32,
    /// Seconds the azure breaker stays open before probing.
    #[arg(long, env = "AZURE_CIRCUIT_TIMEOUT", value_name = "AZURE_CIRCUIT_TIMEOUT", default_value_t = Seconds(defaults::UPSTREAM_CIRCUIT_TIMEOUT))]
    pub azure_circuit_timeout: Seconds,
    /// Probe calls the half-open azure breaker admits at once.
    #[arg(long, env = "AZURE_CIRCUIT_HALF_OPEN_MAX_CALLS", value_name = "AZURE_CIRCUIT_HALF_OPEN_MAX_CALLS", default_value_t = defaults::CIRCUIT_HALF_OPEN_MAX_CALLS, value_parser = parse_positive)]
    pub azure_circuit_half_open_max_calls: u32,
    /// Probe successes that close the azure breaker.
    #[arg(long, env = "AZURE_CIRCUIT_SUCCESS_THRESHOLD", value_name = "AZURE_CIRCUIT_SUCCESS_THRESHOLD", default_value_t = defaults::CIRCUIT_SUCCESS_THRESHOLD, value_parser = parse_positive)]
    pub azure_circuit_success_threshold: u32,
    /// Consecutive search failures that open the rag breaker.
    #[arg(long, env = "RAG_CIRCUIT_FAILURE_THRESHOLD", value_name = "RAG_CIRCUIT_FAILURE_THRESHOLD", default_value_t = defaults::RAG_CIRCUIT_FAILURE_THRESHOLD, value_parser = parse_positive)]
    pub rag_circuit_failure_threshold: u32,
    /// Seconds the rag breaker stays open before probing.
    #[arg(long, env = "RAG_CIRCUIT_TIMEOUT", value_name = "RAG_CIRCUIT_TIMEOUT", default_value_t = Seconds(defaults::RAG_CIRCUIT_TIMEOUT))]
    pub rag_circuit_timeout: Seconds,
    /// Probe calls the half-open rag breaker admits at once.
    #[arg(long, env = "RAG_CIRCUIT_HALF_OPEN_MAX_CALLS", value_name = "RAG_CIRCUIT_HALF_OPEN_MAX_CALLS", default_value_t = defaults::CIRCUIT_HALF_OPEN_MAX_CALLS, value_parser = parse_positive)]
    pub rag_circuit_half_open_max_calls: u32,
    /// Probe successes that close the rag breaker.
    #[arg(long, env = "RAG_CIRCUIT_SUCCESS_THRESHOLD", value_name = "RAG_CIRCUIT_SUCCESS_THRESHOLD", default_value_t = defaults::CIRCUIT_SUCCESS_THRESHOLD, value_parser = parse_positive)]
    pub rag_circuit_success_threshold: u32,

    /// Seconds one upstream connection attempt may take.
    #[arg(long, env = "AZURE_CONNECTION_TIMEOUT", value_name = "AZURE_CONNECTION_TIMEOUT", default_value_t = Seconds(defaults::UPSTREAM_CONNECTION_TIMEOUT))]
    pub azure_connection_timeout: Seconds,
    /// Seconds a `/ws` client has to send its first message `{"kb_id": …}`.
    #[arg(long, env = "CLIENT_INIT_TIMEOUT", value_name = "CLIENT_INIT_TIMEOUT", default_value_t = Seconds(defaults::CLIENT_INIT_TIMEOUT))]
    pub client_init_timeout: Seconds,
    /// Seconds between pings on both sockets.
    #[arg(long, env = "PING_INTERVAL", value_name = "PING_INTERVAL", default_value_t = Seconds(defaults::PING_INTERVAL))]
    pub ping_interval: Seconds,
    /// Seconds without a pong after which a socket is considered dead.
    #[arg(long, env = "PONG_TIMEOUT", value_name = "PONG_TIMEOUT", default_value_t = Seconds(defaults::PONG_TIMEOUT))]
    pub pong_timeout: Seconds,
    /// Seconds any single send may take.
    #[arg(long, env = "SEND_TIMEOUT", value_name = "SEND_TIMEOUT", default_value_t = Seconds(defaults::SEND_TIMEOUT))]
    pub send_timeout: Seconds,
    /// Seconds an upstream may stay silent while events it has not acknowledged wait; then it counts as gone (reconnect, replay).
    #[arg(long, env = "UPSTREAM_ACK_TIMEOUT", value_name = "UPSTREAM_ACK_TIMEOUT", default_value_t = Seconds(defaults::UPSTREAM_ACK_TIMEOUT))]
    pub upstream_ack_timeout: Seconds,
    /// Age after which a session's upstream session is replaced, at its first quiet moment, by a new one holding the same conversation (make-before-break), seconds; 0 = never.
    #[arg(long, env = "UPSTREAM_SESSION_MAX_AGE", value_name = "UPSTREAM_SESSION_MAX_AGE", default_value_t = Seconds(defaults::UPSTREAM_SESSION_MAX_AGE))]
    pub upstream_session_max_age: Seconds,
    /// Send `voxgate.upstream.reconnecting` / `voxgate.upstream.reconnected` events to clients.
    #[arg(long, env = "NOTIFY_RECONNECT", value_name = "NOTIFY_RECONNECT", default_value_t = defaults::NOTIFY_RECONNECT, value_parser = parse_bool, action = clap::ArgAction::Set)]
    pub notify_reconnect: bool,
    /// Client events buffered while the upstream reconnects (more → error event to the client).
    #[arg(long, env = "RECONNECT_BUFFER_EVENTS", value_name = "RECONNECT_BUFFER_EVENTS", default_value_t = defaults::RECONNECT_BUFFER_EVENTS, value_parser = parse_positive)]
    pub reconnect_buffer_events: u32,
    /// Bytes of client events held while the upstream reconnects (more → error event to the client).
    #[arg(long, env = "RECONNECT_BUFFER_BYTES", value_name = "RECONNECT_BUFFER_BYTES", default_value_t = defaults::RECONNECT_BUFFER_BYTES)]
    pub reconnect_buffer_bytes: u64,
    /// Bytes of conversation kept to restore a session into a new upstream session; the oldest items are dropped beyond it (the client is told how many).
    #[arg(long, env = "RESTORE_MAX_BYTES", value_name = "RESTORE_MAX_BYTES", default_value_t = defaults::RESTORE_MAX_BYTES)]
    pub restore_max_bytes: u64,
    /// Largest knowledge-search answer sent upstream, bytes (longer ones are cut, with a note the model reads).
    #[arg(long, env = "MAX_TOOL_OUTPUT_BYTES", value_name = "MAX_TOOL_OUTPUT_BYTES", default_value_t = defaults::MAX_TOOL_OUTPUT_BYTES, value_parser = parse_positive)]
    pub max_tool_output_bytes: u32,

    #[command(flatten)]
    pub plugins: PluginArgs,
    /// Bearer token for `/admin/*` routes; unset → admin routes are refused.
    #[arg(
        long,
        env = "ADMIN_TOKEN",
        value_name = "ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// Price table for usage estimates (TOML: `taken`, `currency`, `[models."<name>"]` with six prices per million tokens); unset → the built-in table.
    #[arg(long, env = "PRICES_FILE", value_name = "PRICES_FILE")]
    pub prices_file: Option<PathBuf>,

    /// Comma-separated tokens clients must present (`Authorization: Bearer`, `api-key`, `?token=`, or the `openai-insecure-api-key.<token>` subprotocol), each `name:token` or a bare token (named `token-N`); the name shows in sessions, usage and logs. Unset → no client auth.
    #[arg(
        long,
        env = "CLIENT_TOKENS",
        value_name = "CLIENT_TOKENS",
        hide_env_values = true
    )]
    pub client_tokens: Option<String>,
    /// File with one client token per line, `name:token` or bare (added to CLIENT_TOKENS).
    #[arg(long, env = "CLIENT_TOKENS_FILE", value_name = "CLIENT_TOKENS_FILE")]
    pub client_tokens_file: Option<PathBuf>,
    /// Comma-separated browser origins allowed to connect (e.g. https://app.example.com); unset → any.
    #[arg(long, env = "ALLOWED_ORIGINS", value_name = "ALLOWED_ORIGINS")]
    pub allowed_origins: Option<String>,
    /// Largest client message, bytes, at most 16777216 (over → error event, close 1009).
    #[arg(long, env = "MAX_MESSAGE_BYTES", value_name = "MAX_MESSAGE_BYTES", default_value_t = defaults::MAX_MESSAGE_BYTES, value_parser = parse_message_bytes)]
    pub max_message_bytes: u32,
    /// Most concurrent sessions (over → 503 before the upgrade); 0 = unlimited.
    #[arg(
        long,
        env = "MAX_SESSIONS",
        value_name = "MAX_SESSIONS",
        default_value_t = defaults::MAX_SESSIONS
    )]
    pub max_sessions: u32,
    /// Most concurrent sessions per client IP (over → 429 before the upgrade); 0 = unlimited.
    #[arg(
        long,
        env = "MAX_SESSIONS_PER_IP",
        value_name = "MAX_SESSIONS_PER_IP",
        default_value_t = defaults::MAX_SESSIONS_PER_IP
    )]
    pub max_sessions_per_ip: u32,
    /// Client events per second per session, pings included (over → `rate_limited` error, events dropped and counted); 0 = unlimited.
    #[arg(
        long,
        env = "RATE_LIMIT_EVENTS_PER_SECOND",
        value_name = "RATE_LIMIT_EVENTS_PER_SECOND",
        default_value_t = defaults::RATE_LIMIT_EVENTS_PER_SECOND
    )]
    pub rate_limit_events_per_second: u32,
    /// Seconds without a client event after which a session is closed; 0 = never.
    #[arg(long, env = "IDLE_TIMEOUT", value_name = "IDLE_TIMEOUT", default_value_t = Seconds(defaults::IDLE_TIMEOUT))]
    pub idle_timeout: Seconds,
    /// Seconds a connection has to send its whole HTTP request (the WebSocket upgrade included).
    #[arg(long, env = "HANDSHAKE_TIMEOUT", value_name = "HANDSHAKE_TIMEOUT", default_value_t = Seconds(defaults::HANDSHAKE_TIMEOUT))]
    pub handshake_timeout: Seconds,
    /// Connections not yet upgraded, in total (more are closed at once).
    #[arg(long, env = "MAX_PENDING_CONNECTIONS", value_name = "MAX_PENDING_CONNECTIONS", default_value_t = defaults::MAX_PENDING_CONNECTIONS, value_parser = parse_positive)]
    pub max_pending_connections: u32,
    /// Connections not yet upgraded from one client address (more are closed at once).
    #[arg(long, env = "MAX_PENDING_CONNECTIONS_PER_IP", value_name = "MAX_PENDING_CONNECTIONS_PER_IP", default_value_t = defaults::MAX_PENDING_CONNECTIONS_PER_IP, value_parser = parse_positive)]
    pub max_pending_connections_per_ip: u32,
    /// Seconds in-flight responses may take to finish on SIGTERM/SIGINT.
    #[arg(long, env = "SHUTDOWN_GRACE", value_name = "SHUTDOWN_GRACE", default_value_t = Seconds(defaults::SHUTDOWN_GRACE))]
    pub shutdown_grace: Seconds,
}

pub(super) fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn breaker(
    prefix: &str,
    failure_threshold: u32,
    timeout: Seconds,
    half_open_max_calls: u32,
    success_threshold: u32,
) -> anyhow::Result<BreakerSettings> {
    BreakerSettings::new(
        failure_threshold,
        timeout.0,
        half_open_max_calls,
        success_threshold,
    )
    .map_err(|e| anyhow::anyhow!("{prefix}_CIRCUIT_*: {e}"))
}

impl ServeArgs {
    /// Validate and type the options. Errors name the variable and what is wrong with its value.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let upstream_breaker = breaker(
            "AZURE",
            self.azure_circuit_failure_threshold,
            self.azure_circuit_timeout,
            self.azure_circuit_half_open_max_calls,
            self.azure_circuit_success_threshold,
        )?;
        let upstream = self.upstream(upstream_breaker)?;
        let tokens = self.client_tokens()?;
        let session_template = match &self.session_config {
            Some(path) => load_session_template(path)?,
            None => default_session_template(),
        };
        let pong_timeout = positive_seconds(self.pong_timeout, "PONG_TIMEOUT")?;
        let ping_interval = positive_seconds(self.ping_interval, "PING_INTERVAL")?;
        let send_timeout = positive_seconds(self.send_timeout, "SEND_TIMEOUT")?;
        let upstream_connect_timeout =
            positive_seconds(self.azure_connection_timeout, "AZURE_CONNECTION_TIMEOUT")?;
        let retry = RetrySettings::new(
            self.max_retry_attempts,
            self.retry_base_delay.0,
            self.retry_max_delay.0,
        )
        .map_err(|_| {
            anyhow::anyhow!(
                "RETRY_BASE_DELAY: {}s is larger than RETRY_MAX_DELAY ({}s)",
                self.retry_base_delay,
                self.retry_max_delay
            )
        })?;
        if self.default_kb_id.trim().is_empty() {
            bail!("DEFAULT_KB_ID: must not be empty");
        }
        Ok(Config {
            host: self.host,
            port: self.port,
            upstream,
            upstream_connect_timeout,
            default_kb_id: self.default_kb_id,
            kb_dir: self.kb_dir,
            session_template,
            retry,
            upstream_breaker,
            rag_breaker: breaker(
                "RAG",
                self.rag_circuit_failure_threshold,
                self.rag_circuit_timeout,
                self.rag_circuit_half_open_max_calls,
                self.rag_circuit_success_threshold,
            )?,
            client_init_timeout: self.client_init_timeout.0,
            ping_interval,
            pong_timeout,
            send_timeout,
            upstream_session_max_age: self.upstream_session_max_age.0,
            upstream_ack_timeout: positive_seconds(
                self.upstream_ack_timeout,
                "UPSTREAM_ACK_TIMEOUT",
            )?,
            notify_reconnect: self.notify_reconnect,
            reconnect_buffer_events: self.reconnect_buffer_events as usize,
            restore_max_bytes: usize::try_from(self.restore_max_bytes).unwrap_or(usize::MAX),
            reconnect_buffer_bytes: usize::try_from(self.reconnect_buffer_bytes)
                .unwrap_or(usize::MAX),
            max_tool_output_bytes: self.max_tool_output_bytes as usize,
            plugins: self.plugins.settings()?,
            admin_token: non_empty(&self.admin_token).map(Secret::new),
            prices: match &self.prices_file {
                Some(path) => PriceTable::from_file(path)?,
                None => PriceTable::built_in(),
            },
            limits: ClientLimits {
                tokens,
                allowed_origins: split_list(self.allowed_origins.as_deref()),
                max_message_bytes: self.max_message_bytes as usize,
                max_sessions: self.max_sessions as usize,
                max_sessions_per_ip: self.max_sessions_per_ip as usize,
                events_per_second: self.rate_limit_events_per_second,
                idle_timeout: self.idle_timeout.0,
                shutdown_grace: self.shutdown_grace.0,
                handshake_timeout: positive_seconds(self.handshake_timeout, "HANDSHAKE_TIMEOUT")?,
                max_pending_connections: self.max_pending_connections as usize,
                max_pending_connections_per_ip: self.max_pending_connections_per_ip as usize,
            },
        })
    }

    fn client_tokens(&self) -> anyhow::Result<ClientTokens> {
        let mut tokens = split_list(self.client_tokens.as_deref());
        if let Some(path) = &self.client_tokens_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("CLIENT_TOKENS_FILE: cannot read {}", path.display()))?;
            tokens.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
            if tokens.is_empty() {
                bail!("CLIENT_TOKENS_FILE: {} holds no token", path.display());
            }
        }
        ClientTokens::parse(tokens.iter().map(String::as_str))
    }
}

fn split_list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}
