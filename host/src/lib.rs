//! voxgate: a resilient gateway for realtime voice/LLM sessions.
//!
//! Clients speak the Realtime protocol to the [`http`] layer; each socket is one [`session`]
//! holding its own connection to the [`upstream`], which every connect reaches through the
//! [`resilience`] engine (retry with pluggable backoff, circuit breakers). The gateway's own
//! tool ([`tools`]) searches knowledge bases ([`kb`]) through the RAG plugin. Backoff
//! policies and RAG search are WebAssembly components ([`plugins`]) that hot-reload under live
//! sessions. [`gateway`] builds every handle once and hands each part only what it uses.

pub mod admission;
pub mod config;
pub mod feed;
pub mod gateway;
pub mod http;
pub mod kb;
pub mod logging;
pub mod metrics;
pub mod plugins;
pub mod process;
pub mod resilience;
pub mod secret;
pub mod session;
pub mod tools;
pub mod upstream;
pub mod usage;

pub use config::Config;
pub use gateway::Gateway;
