//! Starting instances of a loaded version, off the calls' deadlines.
//!
//! Starting an instance of a component that carries an interpreter (Python, JavaScript), and
//! its first call (lazy initialisation, first touches of its memory), cost far more than a
//! later call: measured in a debug build, a Python instance starts in 6 ms (p99 10 ms) and
//! answers its first call in 1.3–12 ms, then 40 µs per call — a backoff decision's deadline
//! is 10 ms. So an instance is started *and called once* (the world's smoke input) before it
//! serves: a version starts its warm instances while it loads, each within
//! `PLUGIN_START_TIMEOUT` (1 s by default: a component that cannot start in that long is
//! refused, and never holds the reload machinery longer), and a store that a fault drops is
//! replaced in the background on the plugin workers. A call only starts an instance itself
//! when none is waiting, and then that counts against its deadline.

use super::engine::PluginEngine;
use super::fault::root_cause;
use super::index_cache::IndexCache;
use super::kind::Kind;
use super::log_budget::LogBudget;
use super::sandbox::HostState;
use super::version::{Live, Version};
use crate::kb::KnowledgeBases;
use crate::metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::Store;

/// What every store of one slot is given, and the budget of starting an instance.
#[derive(Clone)]
pub struct Instances {
    pub engine: &'static PluginEngine,
    pub slot: &'static str,
    pub memory_bytes: usize,
    pub knowledge: Option<Arc<KnowledgeBases>>,
    pub index_cache: Option<Arc<IndexCache>>,
    pub log_budget: Arc<LogBudget>,
    pub metrics: Arc<Metrics>,
    /// Starting one instance outside a call may take this long.
    pub start_budget: Duration,
}

impl Instances {
    /// A store for an instance of the version whose file hashes to `sha256`.
    pub fn store(&self, sha256: &str) -> Store<HostState> {
        let mut state = HostState::new(
            self.slot,
            self.memory_bytes,
            self.knowledge.clone(),
            self.log_budget.clone(),
            self.metrics.clone(),
        );
        state.index_cache = self
            .index_cache
            .clone()
            .map(|cache| (cache, Arc::from(sha256)));
        let mut store = Store::new(&self.engine.engine, state);
        store.limiter(|state| &mut state.cap);
        // Guest code yields to the runtime at every epoch tick; a call's deadline is a timeout
        // around the whole call, host functions included.
        store.epoch_deadline_async_yield_and_update(1);
        store
    }

    /// Start one instance of `version` and call it once, within the start budget.
    pub async fn start<K: Kind>(&self, version: &Version<K>) -> Result<Live<K>, String> {
        let _ticking = self.engine.ticking();
        let mut store = self.store(&version.sha256);
        let work = async {
            let bindings = K::instantiate(&version.pre, &mut store)
                .await
                .map_err(|e| format!("instantiation failed: {}", root_cause(&e.into())))?;
            K::invoke(&bindings, &mut store, K::smoke_input())
                .await
                .map_err(|e| format!("its first call failed: {e:#}"))?;
            Ok::<_, String>(bindings)
        };
        match tokio::time::timeout(self.start_budget, work).await {
            Ok(Ok(bindings)) => Ok(Live { store, bindings }),
            Ok(Err(problem)) => Err(problem),
            Err(_) => Err(format!(
                "starting an instance (instantiation and a first call) took longer than {}s \
                 (PLUGIN_START_TIMEOUT)",
                self.start_budget.as_secs_f64()
            )),
        }
    }

    /// Start instances of `version` until `count` are waiting.
    pub async fn warm<K: Kind>(&self, version: &Version<K>, count: usize) -> Result<(), String> {
        while version.idle() < count {
            let live = self.start(version).await?;
            if !version.give_back(live) {
                break;
            }
        }
        Ok(())
    }

    /// Replace an instance a fault dropped, in the background on the plugin workers (one
    /// replacement at a time per version). A failure is logged; the next call that finds no
    /// instance waiting starts one itself and reports what goes wrong.
    pub fn replace<K: Kind>(&self, version: &Arc<Version<K>>) {
        if !version.begin_replacing() {
            return;
        }
        let instances = self.clone();
        let task_version = version.clone();
        let spawned = super::workers::spawn(async move {
            match instances.start(&task_version).await {
                Ok(live) => {
                    task_version.give_back(live);
                }
                Err(problem) => tracing::warn!(
                    "[PLUGIN {}] replacing a dropped instance: {problem}",
                    instances.slot
                ),
            }
            task_version.end_replacing();
        });
        if let Err(problem) = spawned {
            tracing::warn!("[PLUGIN {}] {problem}", self.slot);
            version.end_replacing();
        }
    }
}
