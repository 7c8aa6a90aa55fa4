//! The clap surface of `voxgate serve`: every option as a flag and an environment variable,
//! parsed and validated into a [`Config`]. Errors name the variable and what is wrong.

use super::{
    BreakerConfig, ClientLimits, Config, RetryConfig, Secret, SlotLimits, UpstreamConfig,
    default_session_template, load_session_template,
};
use crate::upstream::Endpoint;
use anyhow::{Context, bail};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

fn parse_seconds(raw: &str) -> Result<Duration, String> {
    let value: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("'{raw}' is not a number of seconds"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("'{raw}' must be a non-negative number of seconds"));
    }
    if value > 1e9 {
        return Err(format!("'{raw}' is too large"));
    }
    Ok(Duration::from_secs_f64(value))
}

fn parse_positive(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<u32>() {
        Ok(0) => Err(format!("'{raw}' must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{raw}' is not a whole number ≥ 1")),
    }
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("'{raw}' is not true/false")),
    }
}

fn parse_mib(raw: &str) -> Result<usize, String> {
    let mib = parse_positive(raw)?;
    if mib > 4096 {
        return Err(format!(
            "'{raw}' MiB is more than a 32-bit plugin can address (4096)"
        ));
    }
    Ok(mib as usize * 1024 * 1024)
}

/// Options of `voxgate serve`. Every option can be given as a flag or as the environment
/// variable named in its help (a `.env` file in the working directory is read too).
#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", value_name = "HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Port to listen on.
    #[arg(long, env = "PORT", value_name = "PORT", default_value_t = 8003)]
    pub port: u16,

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
        default_value = "gpt-realtime"
    )]
    pub openai_realtime_model: String,

    /// Knowledge base used when a client names none.
    #[arg(
        long,
        env = "DEFAULT_KB_ID",
        value_name = "DEFAULT_KB_ID",
        default_value = "voxgate-docs"
    )]
    pub default_kb_id: String,
    /// Directory of knowledge bases (`KB_DIR/<kb_id>/*.md|*.txt`).
    #[arg(
        long,
        env = "KB_DIR",
        value_name = "KB_DIR",
        default_value = "examples/kb"
    )]
    pub kb_dir: PathBuf,
    /// JSON file with the session template (the `session` object of the first `session.update`).
    #[arg(long, env = "SESSION_CONFIG", value_name = "SESSION_CONFIG")]
    pub session_config: Option<PathBuf>,

    /// Attempts per operation (upstream connect, RAG search).
    #[arg(long, env = "MAX_RETRY_ATTEMPTS", value_name = "MAX_RETRY_ATTEMPTS", default_value = "3", value_parser = parse_positive)]
    pub max_retry_attempts: u32,
    /// Base retry delay, seconds.
    #[arg(long, env = "RETRY_BASE_DELAY", value_name = "RETRY_BASE_DELAY", default_value = "1.0", value_parser = parse_seconds)]
    pub retry_base_delay: Duration,
    /// Largest retry delay, seconds (every delay, even a plugin's, is clamped to it).
    #[arg(long, env = "RETRY_MAX_DELAY", value_name = "RETRY_MAX_DELAY", default_value = "10.0", value_parser = parse_seconds)]
    pub retry_max_delay: Duration,

    /// Consecutive upstream failures that open the azure breaker.
    #[arg(long, env = "AZURE_CIRCUIT_FAILURE_THRESHOLD", value_name = "AZURE_CIRCUIT_FAILURE_THRESHOLD", default_value = "5", value_parser = parse_positive)]
    pub azure_circuit_failure_threshold: u32,
    /// Seconds the azure breaker stays open before probing.
    #[arg(long, env = "AZURE_CIRCUIT_TIMEOUT", value_name = "AZURE_CIRCUIT_TIMEOUT", default_value = "60", value_parser = parse_seconds)]
    pub azure_circuit_timeout: Duration,
    /// Probe calls the half-open azure breaker admits at once.
    #[arg(long, env = "AZURE_CIRCUIT_HALF_OPEN_MAX_CALLS", value_name = "AZURE_CIRCUIT_HALF_OPEN_MAX_CALLS", default_value = "1", value_parser = parse_positive)]
    pub azure_circuit_half_open_max_calls: u32,
    /// Probe successes that close the azure breaker.
    #[arg(long, env = "AZURE_CIRCUIT_SUCCESS_THRESHOLD", value_name = "AZURE_CIRCUIT_SUCCESS_THRESHOLD", default_value = "1", value_parser = parse_positive)]
    pub azure_circuit_success_threshold: u32,
    /// Consecutive search failures that open the rag breaker.
    #[arg(long, env = "RAG_CIRCUIT_FAILURE_THRESHOLD", value_name = "RAG_CIRCUIT_FAILURE_THRESHOLD", default_value = "3", value_parser = parse_positive)]
    pub rag_circuit_failure_threshold: u32,
    /// Seconds the rag breaker stays open before probing.
    #[arg(long, env = "RAG_CIRCUIT_TIMEOUT", value_name = "RAG_CIRCUIT_TIMEOUT", default_value = "30", value_parser = parse_seconds)]
    pub rag_circuit_timeout: Duration,
    /// Probe calls the half-open rag breaker admits at once.
    #[arg(long, env = "RAG_CIRCUIT_HALF_OPEN_MAX_CALLS", value_name = "RAG_CIRCUIT_HALF_OPEN_MAX_CALLS", default_value = "1", value_parser = parse_positive)]
    pub rag_circuit_half_open_max_calls: u32,
    /// Probe successes that close the rag breaker.
    #[arg(long, env = "RAG_CIRCUIT_SUCCESS_THRESHOLD", value_name = "RAG_CIRCUIT_SUCCESS_THRESHOLD", default_value = "1", value_parser = parse_positive)]
    pub rag_circuit_success_threshold: u32,

    /// Seconds one upstream connection attempt may take.
    #[arg(long, env = "AZURE_CONNECTION_TIMEOUT", value_name = "AZURE_CONNECTION_TIMEOUT", default_value = "10", value_parser = parse_seconds)]
    pub azure_connection_timeout: Duration,
    /// Seconds a `/ws` client has to send its first message `{"kb_id": …}`.
    #[arg(long, env = "CLIENT_INIT_TIMEOUT", value_name = "CLIENT_INIT_TIMEOUT", default_value = "10", value_parser = parse_seconds)]
    pub client_init_timeout: Duration,
    /// Seconds between pings on both sockets.
    #[arg(long, env = "PING_INTERVAL", value_name = "PING_INTERVAL", default_value = "20", value_parser = parse_seconds)]
    pub ping_interval: Duration,
    /// Seconds without a pong after which a socket is considered dead.
    #[arg(long, env = "PONG_TIMEOUT", value_name = "PONG_TIMEOUT", default_value = "10", value_parser = parse_seconds)]
    pub pong_timeout: Duration,
    /// Seconds any single send may take.
    #[arg(long, env = "SEND_TIMEOUT", value_name = "SEND_TIMEOUT", default_value = "5", value_parser = parse_seconds)]
    pub send_timeout: Duration,
    /// Send `voxgate.upstream.reconnecting` / `voxgate.upstream.reconnected` events to clients.
    #[arg(long, env = "NOTIFY_RECONNECT", value_name = "NOTIFY_RECONNECT", default_value = "true", value_parser = parse_bool)]
    pub notify_reconnect: bool,
    /// Client events buffered while the upstream reconnects (more → error event to the client).
    #[arg(long, env = "RECONNECT_BUFFER_EVENTS", value_name = "RECONNECT_BUFFER_EVENTS", default_value = "1024", value_parser = parse_positive)]
    pub reconnect_buffer_events: u32,

    /// Directory holding the plugin slots `backoff.wasm` and `rag.wasm` (the build fills the default one; missing files are seeded with the built-in defaults).
    #[arg(
        long,
        env = "PLUGIN_DIR",
        value_name = "PLUGIN_DIR",
        default_value = "target/plugins/slots"
    )]
    pub plugin_dir: PathBuf,
    /// Directory for precompiled plugin artifacts (default: PLUGIN_DIR/.cache).
    #[arg(long, env = "PLUGIN_CACHE_DIR", value_name = "PLUGIN_CACHE_DIR")]
    pub plugin_cache_dir: Option<PathBuf>,
    /// Deadline of one backoff plugin call, seconds.
    #[arg(long, env = "BACKOFF_PLUGIN_DEADLINE", value_name = "BACKOFF_PLUGIN_DEADLINE", default_value = "0.01", value_parser = parse_seconds)]
    pub backoff_plugin_deadline: Duration,
    /// Memory cap of the backoff plugin, MiB.
    #[arg(long, env = "BACKOFF_PLUGIN_MEMORY_MIB", value_name = "BACKOFF_PLUGIN_MEMORY_MIB", default_value = "16", value_parser = parse_mib)]
    pub backoff_plugin_memory_mib: usize,
    /// Deadline of one RAG plugin call, seconds.
    #[arg(long, env = "RAG_PLUGIN_DEADLINE", value_name = "RAG_PLUGIN_DEADLINE", default_value = "2", value_parser = parse_seconds)]
    pub rag_plugin_deadline: Duration,
    /// Memory cap of the RAG plugin, MiB.
    #[arg(long, env = "RAG_PLUGIN_MEMORY_MIB", value_name = "RAG_PLUGIN_MEMORY_MIB", default_value = "256", value_parser = parse_mib)]
    pub rag_plugin_memory_mib: usize,
    /// Bearer token for `/admin/*` routes; unset → admin routes are refused.
    #[arg(
        long,
        env = "ADMIN_TOKEN",
        value_name = "ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,

    /// Comma-separated tokens clients must present (`Authorization: Bearer`, `api-key`, `?token=`, or the `openai-insecure-api-key.<token>` subprotocol); unset → no client auth.
    #[arg(
        long,
        env = "CLIENT_TOKENS",
        value_name = "CLIENT_TOKENS",
        hide_env_values = true
    )]
    pub client_tokens: Option<String>,
    /// File with one client token per line (added to CLIENT_TOKENS).
    #[arg(long, env = "CLIENT_TOKENS_FILE", value_name = "CLIENT_TOKENS_FILE")]
    pub client_tokens_file: Option<PathBuf>,
    /// Comma-separated browser origins allowed to connect (e.g. https://app.example.com); unset → any.
    #[arg(long, env = "ALLOWED_ORIGINS", value_name = "ALLOWED_ORIGINS")]
    pub allowed_origins: Option<String>,
    /// Largest client message, bytes (over → error event, close 1009).
    #[arg(long, env = "MAX_MESSAGE_BYTES", value_name = "MAX_MESSAGE_BYTES", default_value = "1048576", value_parser = parse_positive)]
    pub max_message_bytes: u32,
    /// Most concurrent sessions (over → 503 before the upgrade); 0 = unlimited.
    #[arg(
        long,
        env = "MAX_SESSIONS",
        value_name = "MAX_SESSIONS",
        default_value_t = 10_000
    )]
    pub max_sessions: u32,
    /// Most concurrent sessions per client IP (over → 429 before the upgrade); 0 = unlimited.
    #[arg(
        long,
        env = "MAX_SESSIONS_PER_IP",
        value_name = "MAX_SESSIONS_PER_IP",
        default_value_t = 0
    )]
    pub max_sessions_per_ip: u32,
    /// Client events per second per session (over → `rate_limited` error, events dropped and counted); 0 = unlimited.
    #[arg(
        long,
        env = "RATE_LIMIT_EVENTS_PER_SECOND",
        value_name = "RATE_LIMIT_EVENTS_PER_SECOND",
        default_value_t = 500
    )]
    pub rate_limit_events_per_second: u32,
    /// Seconds without a client event after which a session is closed; 0 = never.
    #[arg(long, env = "IDLE_TIMEOUT", value_name = "IDLE_TIMEOUT", default_value = "1800", value_parser = parse_seconds)]
    pub idle_timeout: Duration,
    /// Seconds in-flight responses may take to finish on SIGTERM/SIGINT.
    #[arg(long, env = "SHUTDOWN_GRACE", value_name = "SHUTDOWN_GRACE", default_value = "10", value_parser = parse_seconds)]
    pub shutdown_grace: Duration,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ServeArgs {
    /// Validate and type the options. Errors name the variable and what is wrong with its value.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let upstream = self.upstream()?;
        let tokens = self.client_tokens()?;
        let session_template = match &self.session_config {
            Some(path) => load_session_template(path)?,
            None => default_session_template(),
        };
        if self.pong_timeout.is_zero() {
            bail!("PONG_TIMEOUT: must be greater than 0");
        }
        if self.ping_interval.is_zero() {
            bail!("PING_INTERVAL: must be greater than 0");
        }
        if self.send_timeout.is_zero() {
            bail!("SEND_TIMEOUT: must be greater than 0");
        }
        if self.azure_connection_timeout.is_zero() {
            bail!("AZURE_CONNECTION_TIMEOUT: must be greater than 0");
        }
        if self.retry_base_delay > self.retry_max_delay {
            bail!(
                "RETRY_BASE_DELAY: {}s is larger than RETRY_MAX_DELAY ({}s)",
                self.retry_base_delay.as_secs_f64(),
                self.retry_max_delay.as_secs_f64()
            );
        }
        if self.default_kb_id.trim().is_empty() {
            bail!("DEFAULT_KB_ID: must not be empty");
        }
        Ok(Config {
            host: self.host,
            port: self.port,
            upstream,
            default_kb_id: self.default_kb_id,
            kb_dir: self.kb_dir,
            session_template,
            retry: RetryConfig {
                max_attempts: self.max_retry_attempts,
                base_delay: self.retry_base_delay,
                max_delay: self.retry_max_delay,
            },
            azure_breaker: BreakerConfig {
                failure_threshold: self.azure_circuit_failure_threshold,
                timeout: self.azure_circuit_timeout,
                half_open_max_calls: self.azure_circuit_half_open_max_calls,
                success_threshold: self.azure_circuit_success_threshold,
            },
            rag_breaker: BreakerConfig {
                failure_threshold: self.rag_circuit_failure_threshold,
                timeout: self.rag_circuit_timeout,
                half_open_max_calls: self.rag_circuit_half_open_max_calls,
                success_threshold: self.rag_circuit_success_threshold,
            },
            azure_connection_timeout: self.azure_connection_timeout,
            client_init_timeout: self.client_init_timeout,
            ping_interval: self.ping_interval,
            pong_timeout: self.pong_timeout,
            send_timeout: self.send_timeout,
            notify_reconnect: self.notify_reconnect,
            reconnect_buffer_events: self.reconnect_buffer_events as usize,
            plugin_dir: self.plugin_dir,
            plugin_cache_dir: self.plugin_cache_dir,
            backoff_limits: SlotLimits {
                deadline: self.backoff_plugin_deadline,
                memory_bytes: self.backoff_plugin_memory_mib,
            },
            rag_limits: SlotLimits {
                deadline: self.rag_plugin_deadline,
                memory_bytes: self.rag_plugin_memory_mib,
            },
            admin_token: non_empty(&self.admin_token).map(Secret::new),
            limits: ClientLimits {
                tokens,
                allowed_origins: split_list(self.allowed_origins.as_deref()),
                max_message_bytes: self.max_message_bytes as usize,
                max_sessions: self.max_sessions as usize,
                max_sessions_per_ip: self.max_sessions_per_ip as usize,
                events_per_second: self.rate_limit_events_per_second,
                idle_timeout: self.idle_timeout,
                shutdown_grace: self.shutdown_grace,
            },
        })
    }

    fn client_tokens(&self) -> anyhow::Result<Vec<Secret>> {
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
        if let Some(short) = tokens.iter().find(|t| t.len() < 16) {
            bail!(
                "CLIENT_TOKENS: a token of {} characters is too short to be safe (at least 16)",
                short.len()
            );
        }
        Ok(tokens.into_iter().map(Secret::new).collect())
    }

    /// Upstream selection: UPSTREAM_URL, else Azure, else OpenAI, else the embedded simulator.
    fn upstream(&self) -> anyhow::Result<UpstreamConfig> {
        if let Some(url) = non_empty(&self.upstream_url) {
            let key = non_empty(&self.upstream_api_key).map(Secret::new);
            return Ok(UpstreamConfig::Fixed(
                Endpoint::custom(url, key).context("UPSTREAM_URL")?,
            ));
        }
        let azure_host = match (
            non_empty(&self.azure_resource),
            non_empty(&self.azure_openai_endpoint),
        ) {
            (Some(resource), _) => {
                Some(Endpoint::azure_host_from_resource(resource).context("AZURE_RESOURCE")?)
            }
            (None, Some(endpoint)) => Some(
                Endpoint::azure_host_from_endpoint(endpoint).context("AZURE_OPENAI_ENDPOINT")?,
            ),
            (None, None) => None,
        };
        if let Some(host) = azure_host {
            let deployment = non_empty(&self.azure_openai_deployment_name).context(
                "AZURE_OPENAI_DEPLOYMENT_NAME: required when AZURE_RESOURCE or AZURE_OPENAI_ENDPOINT is set",
            )?;
            let key = non_empty(&self.azure_openai_api_key)
                .context("AZURE_OPENAI_API_KEY: required when AZURE_RESOURCE or AZURE_OPENAI_ENDPOINT is set")?;
            let endpoint = Endpoint::azure(
                &host,
                deployment,
                non_empty(&self.azure_openai_api_version),
                Secret::new(key),
            )?;
            return Ok(UpstreamConfig::Fixed(endpoint));
        }
        if let Some(key) = non_empty(&self.openai_api_key) {
            return Ok(UpstreamConfig::Fixed(Endpoint::openai(
                &self.openai_realtime_model,
                Secret::new(key),
            )?));
        }
        Ok(UpstreamConfig::Simulator)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parser_rejects_bad_values() {
        assert!(parse_seconds("abc").unwrap_err().contains("not a number"));
        assert!(parse_seconds("-1").unwrap_err().contains("non-negative"));
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("inf").is_err());
        assert_eq!(parse_seconds("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_seconds(" 0 ").unwrap(), Duration::ZERO);
    }

    #[test]
    fn positive_parser() {
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("-3").is_err());
        assert!(parse_positive("x").is_err());
        assert_eq!(parse_positive("5").unwrap(), 5);
    }
}
