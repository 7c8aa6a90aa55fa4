//! The one home of every default: read by the clap surface (`voxgate serve --help` shows
//! them), by [`Config::default`](super::Config) (tests and the CLI tools), and checked against
//! the README's configuration table by a test.

use std::time::Duration;

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub const HOST: &str = "0.0.0.0";
pub const PORT: u16 = 8003;
pub const OPENAI_REALTIME_MODEL: &str = "gpt-realtime";
pub const DEFAULT_KB_ID: &str = "voxgate-docs";
pub const KB_DIR: &str = "examples/kb";

pub const MAX_RETRY_ATTEMPTS: u32 = 3;
pub const RETRY_BASE_DELAY: Duration = secs(1);
pub const RETRY_MAX_DELAY: Duration = secs(10);

/// The upstream breaker (`AZURE_CIRCUIT_*`).
pub const UPSTREAM_CIRCUIT_FAILURE_THRESHOLD: u32 = 5;
pub const UPSTREAM_CIRCUIT_TIMEOUT: Duration = secs(60);
/// The knowledge-search breaker (`RAG_CIRCUIT_*`).
pub const RAG_CIRCUIT_FAILURE_THRESHOLD: u32 = 3;
pub const RAG_CIRCUIT_TIMEOUT: Duration = secs(30);
/// Both breakers: probes admitted at once when half-open, and successes that close it.
pub const CIRCUIT_HALF_OPEN_MAX_CALLS: u32 = 1;
pub const CIRCUIT_SUCCESS_THRESHOLD: u32 = 1;

pub const UPSTREAM_CONNECTION_TIMEOUT: Duration = secs(10);
pub const CLIENT_INIT_TIMEOUT: Duration = secs(10);
pub const PING_INTERVAL: Duration = secs(20);
pub const PONG_TIMEOUT: Duration = secs(10);
pub const SEND_TIMEOUT: Duration = secs(5);
pub const UPSTREAM_ACK_TIMEOUT: Duration = secs(5);
pub const NOTIFY_RECONNECT: bool = true;
pub const RECONNECT_BUFFER_EVENTS: u32 = 1024;
pub const RECONNECT_BUFFER_BYTES: u64 = 16 << 20;
/// Conversation kept for restores, bytes of JSON: well above the text a Realtime model's
/// context holds (128k tokens ≈ 0.5 MB).
pub const RESTORE_MAX_BYTES: u64 = 2 << 20;
pub const MAX_TOOL_OUTPUT_BYTES: u32 = 64 * 1024;

pub const PLUGIN_DIR: &str = "target/plugins/slots";
pub const BACKOFF_PLUGIN_DEADLINE: Duration = Duration::from_millis(10);
pub const BACKOFF_PLUGIN_MEMORY_MIB: u32 = 16;
pub const RAG_PLUGIN_DEADLINE: Duration = secs(2);
pub const RAG_PLUGIN_MEMORY_MIB: u32 = 256;
/// Larger plugin files are refused before compiling (each slot may override it).
pub const PLUGIN_MAX_BYTES: u64 = 32 << 20;
/// A Python component (componentize-py, ~18 MB) takes ~19 s on one core of the reference
/// machine; a Rust one well under a second. The compile runs off the serving threads.
pub const PLUGIN_COMPILE_TIMEOUT: Duration = secs(60);
pub const PLUGIN_START_TIMEOUT: Duration = secs(1);
/// Calls of one slot running at once; 0 = one fewer than the cores (at least 1).
pub const PLUGIN_MAX_CONCURRENT_CALLS: u32 = 0;
pub const PLUGIN_MAX_QUEUED_CALLS: u32 = 64;
pub const PLUGIN_CACHE_MAX_BYTES: u64 = 256 << 20;
/// RAG indexes kept in memory between plugin instances (`index-cache` import).
pub const RAG_INDEX_CACHE_MAX_BYTES: u64 = 256 << 20;

pub const MAX_MESSAGE_BYTES: u32 = 1 << 20;
pub const MAX_SESSIONS: u32 = 10_000;
pub const MAX_SESSIONS_PER_IP: u32 = 0;
pub const RATE_LIMIT_EVENTS_PER_SECOND: u32 = 500;
pub const IDLE_TIMEOUT: Duration = secs(1800);
/// Rotate upstream sessions before the service's own maximum (30 or 60 minutes).
pub const UPSTREAM_SESSION_MAX_AGE: Duration = secs(1500);
pub const SHUTDOWN_GRACE: Duration = secs(10);
pub const HANDSHAKE_TIMEOUT: Duration = secs(10);
pub const MAX_PENDING_CONNECTIONS: u32 = 1024;
pub const MAX_PENDING_CONNECTIONS_PER_IP: u32 = 64;
