//! What a plugin's store holds and grants: a WASI context with nothing in it (no preopens, no
//! environment, no arguments, no sockets, clocks frozen at the Unix epoch), its resources, its
//! memory cap, and for RAG the read-only knowledge bases.

use super::index_cache::IndexCache;
use super::limiter::MemoryCap;
use super::log_budget::LogBudget;
use crate::kb::KnowledgeBases;
use crate::metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// What a plugin's store holds: its WASI context (granting nothing), resources, limits, and
/// for RAG the read-only knowledge bases.
pub struct HostState {
    pub slot: &'static str,
    wasi: WasiCtx,
    table: ResourceTable,
    pub cap: MemoryCap,
    pub knowledge: Option<Arc<KnowledgeBases>>,
    /// The slot's log budget, shared by its instances.
    pub log_budget: Arc<LogBudget>,
    pub metrics: Arc<Metrics>,
    /// When the plugin last asked for a knowledge base's chunks (it is building an index).
    pub index_started: Option<std::time::Instant>,
    /// The RAG index cache, and the plugin file's sha256 that scopes its entries.
    pub index_cache: Option<(Arc<IndexCache>, Arc<str>)>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Clocks a plugin sees: always the Unix epoch, never advancing (time comes from the host
/// through the call's arguments, so a plugin cannot build timers or timing side channels).
struct FrozenWall;
impl wasmtime_wasi::HostWallClock for FrozenWall {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}
struct FrozenMonotonic;
impl wasmtime_wasi::HostMonotonicClock for FrozenMonotonic {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl HostState {
    pub fn new(
        slot: &'static str,
        memory_bytes: usize,
        knowledge: Option<Arc<KnowledgeBases>>,
        log_budget: Arc<LogBudget>,
        metrics: Arc<Metrics>,
    ) -> HostState {
        let wasi = WasiCtx::builder()
            .wall_clock(FrozenWall)
            .monotonic_clock(FrozenMonotonic)
            .build();
        HostState {
            slot,
            wasi,
            table: ResourceTable::new(),
            cap: MemoryCap {
                bytes: memory_bytes,
                hit: false,
                peak: 0,
            },
            knowledge,
            log_budget,
            metrics,
            index_started: None,
            index_cache: None,
        }
    }
}
