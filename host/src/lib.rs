//! voxgate: a resilient gateway for realtime voice/LLM sessions.
//!
//! Clients speak the Realtime protocol to [`server`]; each socket is one [`session`] holding
//! its own upstream connection ([`upstream`]) through the [`resilience`] engine (retry with
//! pluggable backoff, circuit breakers). Backoff policies and RAG search are WebAssembly
//! components ([`plugins`]) that hot-reload under live sessions. With no upstream configured,
//! the embedded [`simulator`] stands in.

pub mod admin;
pub mod admission;
pub mod config;
pub mod gateway;
pub mod kb;
pub mod limits;
pub mod loadtest;
pub mod metrics;
pub mod plugins;
pub mod rag;
pub mod resilience;
pub mod server;
pub mod session;
pub mod simulator;
pub mod upstream;

pub use config::Config;
pub use gateway::Gateway;
