//! A plugin slot: the live version of one plugin, swapped atomically on reload.
//!
//! Loading (`prepare`) refuses a file over its size bound, compiles it within the compile
//! budget, refuses imports outside the world's documented set, type-checks it against the
//! world, starts its warm instances (`instances`, off any call's deadline) and smoke-calls one
//! under the call deadline; only then is its artifact cached.
//! A call (`call`) waits for a place at the slot's gate, runs async (the guest yields to the
//! runtime at every epoch tick, host functions are async) under one deadline that covers the
//! wait, guest code and host calls (and starting an instance, when none is waiting). Calls
//! hold an `Arc` of the version they started on, so a swap never disturbs them.

use super::SlotLimits;
use super::cache::ArtifactCache;
use super::engine::PluginEngine;
pub use super::fault::{CallFault, root_cause};
use super::gate::{CallGate, Refused};
use super::imports::{self, permitted};
use super::index_cache::IndexCache;
use super::instances::Instances;
pub use super::kind::Kind;
use super::log_budget::LogBudget;
use super::report::SlotReport;
use super::sandbox::HostState;
use super::version::{IDLE_INSTANCES, now_rfc3339};
pub use super::version::{Live, Reloaded, Version, sha256_hex};
use crate::feed::Feed;
use crate::kb::KnowledgeBases;
use crate::metrics::Metrics;
use arc_swap::ArcSwapOption;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

pub struct Slot<K: Kind> {
    path: PathBuf,
    limits: SlotLimits,
    cache: Option<ArtifactCache>,
    gate: CallGate,
    instances: Instances,
    linker: Linker<HostState>,
    live: ArcSwapOption<Version<K>>,
    previous: ArcSwapOption<Version<K>>,
    report: SlotReport,
    reloading: Mutex<()>,
}

impl<K: Kind> Slot<K> {
    pub fn new(
        dir: &Path,
        limits: SlotLimits,
        cache: Option<ArtifactCache>,
        knowledge: Option<Arc<KnowledgeBases>>,
        metrics: Arc<Metrics>,
        feed: Arc<Feed>,
    ) -> anyhow::Result<Slot<K>> {
        let engine = PluginEngine::shared()?;
        let mut linker = Linker::new(&engine.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        K::link(&mut linker)?;
        Ok(Slot {
            path: dir.join(format!("{}.wasm", K::SLOT)),
            gate: CallGate::new(limits.max_concurrent, limits.max_queued),
            instances: Instances {
                engine,
                slot: K::SLOT,
                memory_bytes: limits.memory_bytes,
                knowledge,
                index_cache: None,
                log_budget: Arc::new(LogBudget::default()),
                metrics: metrics.clone(),
                start_budget: limits.start_timeout,
            },
            limits,
            cache,
            linker,
            live: ArcSwapOption::empty(),
            previous: ArcSwapOption::empty(),
            report: SlotReport::new(K::SLOT, metrics, feed),
            reloading: Mutex::new(()),
        })
    }

    pub fn metrics(&self) -> &Metrics {
        self.report.metrics()
    }

    /// Give the slot's instances the RAG index cache (scoped per plugin file).
    pub fn with_index_cache(mut self, cache: Arc<IndexCache>) -> Slot<K> {
        self.instances.index_cache = Some(cache);
        self
    }

    /// The largest linear memory a call's store was granted so far, bytes.
    pub fn memory_peak(&self) -> u64 {
        self.report.stats.memory_peak()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn live(&self) -> Option<Arc<Version<K>>> {
        self.live.load_full()
    }

    /// Validate `bytes` and smoke-call them; the version to install and, when freshly
    /// compiled, the artifact to cache once it is installed.
    pub fn prepare(
        &self,
        bytes: &[u8],
        source: String,
    ) -> Result<(Version<K>, Option<Vec<u8>>), String> {
        self.check_size(bytes.len() as u64)?;
        let sha256 = sha256_hex(bytes);
        let (component, artifact): (Component, _) = self
            .instances
            .engine
            .compile(
                bytes,
                &sha256,
                self.cache.as_ref(),
                self.limits.compile_timeout,
            )
            .map_err(|e| format!("not a valid WebAssembly component: {}", root_cause(&e)))?;
        let ty = component.component_type();
        let refused: Vec<String> = ty
            .imports(&self.instances.engine.engine)
            .map(|(name, _)| name.to_string())
            .filter(|name| !permitted(name, K::WORLD))
            .collect();
        if !refused.is_empty() {
            return Err(format!(
                "imports outside the {} world: {} (allowed: {})",
                K::WORLD,
                refused.join(", "),
                imports::ALLOWED
            ));
        }
        let pre = self.linker.instantiate_pre(&component).map_err(|e| {
            format!(
                "imports outside the {} world: {}",
                K::WORLD,
                root_cause(&e.into())
            )
        })?;
        let pre = K::pre(pre).map_err(|e| {
            format!(
                "does not implement the {} world: {}",
                K::WORLD,
                root_cause(&e)
            )
        })?;
        let version = Version::new(pre, sha256, now_rfc3339(), source);
        super::run_to_completion(self.start(&version))
            .map_err(|e| format!("cannot run the smoke call: {e}"))??;
        Ok((version, artifact))
    }

    fn check_size(&self, bytes: u64) -> Result<(), String> {
        let limit = self.limits.max_file_bytes;
        if bytes > limit {
            return Err(format!(
                "the file is {bytes} bytes, over the slot's limit of {limit} (PLUGIN_MAX_BYTES)"
            ));
        }
        Ok(())
    }

    /// Instances that wait for calls: as many as may call at once (the gate's bound), up to
    /// the idle pool's size.
    fn warm_instances(&self) -> usize {
        self.limits.max_concurrent.clamp(1, IDLE_INSTANCES)
    }

    /// Start `version`'s warm instances (off the call deadline) and smoke-call one of them
    /// within the call deadline: a started instance has answered once already, so this is
    /// the steady state's cost, what every call will be held to.
    async fn start(&self, version: &Version<K>) -> Result<(), String> {
        let mut live = self.instances.start(version).await?;
        let _ticking = self.instances.engine.ticking();
        let smoke = K::invoke(&live.bindings, &mut live.store, K::smoke_input());
        match tokio::time::timeout(self.limits.deadline, smoke).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("smoke call failed: {e:#}")),
            Err(_) => {
                return Err(format!(
                    "smoke call failed: no answer within the call deadline ({}s)",
                    self.limits.deadline.as_secs_f64()
                ));
            }
        }
        version.give_back(live);
        self.instances.warm(version, self.warm_instances()).await
    }

    /// Start one more instance of the live version (outside any call), how long it took.
    /// For `plugin test`: about what a call that finds no instance waiting pays.
    pub async fn time_instantiation(&self) -> Result<std::time::Duration, String> {
        let version = self.live.load_full().ok_or("no version is loaded")?;
        let started = std::time::Instant::now();
        self.instances.start(&version).await?;
        Ok(started.elapsed())
    }

    /// Load the file in the slot's path if it differs from the live version.
    pub fn reload(&self) -> Result<Reloaded, String> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        // Refused before reading, so a huge file never reaches memory.
        let size = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        if let Err(error) = self.check_size(size) {
            return Err(self.refuse(error, None));
        }
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) => {
                return Err(self.refuse(format!("cannot read {}: {e}", self.path.display()), None));
            }
        };
        let sha256 = sha256_hex(&bytes);
        if self
            .live
            .load()
            .as_ref()
            .is_some_and(|v| v.sha256 == sha256)
        {
            return Ok(Reloaded::Unchanged);
        }
        if let Some(error) = self.report.stats.refused_before(&sha256) {
            // Already refused and reported; say so again without counting it twice.
            return Err(error);
        }
        match self.prepare(&bytes, self.path.display().to_string()) {
            Ok((version, artifact)) => {
                let sha256 = version.sha256.clone();
                let installed = self.install(version);
                if let (Some(cache), Some(artifact)) = (&self.cache, artifact) {
                    cache.put(&sha256, &artifact);
                }
                Ok(installed)
            }
            Err(error) => Err(self.refuse(error, Some(sha256))),
        }
    }

    fn refuse(&self, error: String, sha256: Option<String>) -> String {
        self.report.refused(&self.path, &error, sha256);
        error
    }

    /// Make `version` live (atomically); the old one becomes the rollback target.
    pub fn install(&self, version: Version<K>) -> Reloaded {
        let sha256 = version.sha256.clone();
        let old = self.live.swap(Some(Arc::new(version)));
        self.report.installed(&sha256, old.is_some());
        self.previous.store(old);
        Reloaded::Swapped { sha256 }
    }

    /// Stop serving the live version (an optional slot whose file was removed); it becomes
    /// the rollback target. The sha256 unloaded, if one was live.
    pub fn unload(&self) -> Option<String> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.live.swap(None)?;
        let sha256 = old.sha256.clone();
        self.previous.store(Some(old));
        self.report.unloaded(&self.path, &sha256);
        Some(sha256)
    }

    /// Put the previous version back.
    pub fn rollback(&self) -> Option<String> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let previous = self.previous.swap(None)?;
        let sha256 = previous.sha256.clone();
        let old = self.live.swap(Some(previous));
        self.previous.store(old);
        self.report.rolled_back(&sha256);
        Some(sha256)
    }

    /// Call the live version: wait for a place at the gate, then run, all within the
    /// slot's deadline. Any fault is counted; the caller falls back.
    pub async fn call(&self, input: K::Input) -> Result<K::Output, CallFault> {
        self.report.stats.call();
        let Some(version) = self.live.load_full() else {
            return Err(CallFault::Missing);
        };
        let deadline = Instant::now() + self.limits.deadline;
        let _place = match self.gate.enter(deadline).await {
            Ok(place) => place,
            Err(refused) => {
                let fault = match refused {
                    Refused::Busy => CallFault::Busy,
                    Refused::Timeout => CallFault::Timeout,
                };
                self.count_fault(&fault);
                return Err(fault);
            }
        };
        let live = version.take();
        let answer = self.run(&version, live, input, deadline, true).await;
        if answer.is_err() {
            // The call's store was dropped (or never started): start its replacement now,
            // so the next call does not pay for it.
            self.instances.replace(&version);
        }
        answer
    }

    /// Call on a brand-new instance that is dropped afterwards (no reuse, no gate): what a
    /// store-per-call strategy would cost. For benchmarks and diagnostics.
    pub async fn call_fresh(&self, input: K::Input) -> Result<K::Output, CallFault> {
        let Some(version) = self.live.load_full() else {
            return Err(CallFault::Missing);
        };
        let deadline = Instant::now() + self.limits.deadline;
        self.run(&version, None, input, deadline, false).await
    }

    async fn run(
        &self,
        version: &Version<K>,
        live: Option<Live<K>>,
        input: K::Input,
        deadline: Instant,
        reuse: bool,
    ) -> Result<K::Output, CallFault> {
        let _ticking = self.instances.engine.ticking();
        let work = async {
            let mut live = match live {
                Some(live) => live,
                None => {
                    let mut store = self.instances.store(&version.sha256);
                    match K::instantiate(&version.pre, &mut store).await {
                        Ok(bindings) => Live { store, bindings },
                        Err(error) => return Err(self.fault(&error, &store)),
                    }
                }
            };
            live.store.data_mut().cap.hit = false;
            let called = K::invoke(&live.bindings, &mut live.store, input).await;
            self.report.stats.memory(live.store.data().cap.peak);
            match called {
                Ok(output) => Ok((live, output)),
                Err(error) => Err(self.fault(&error, &live.store)),
            }
        };
        match tokio::time::timeout_at(deadline, work).await {
            Ok(Ok((live, output))) => {
                if reuse {
                    version.give_back(live);
                }
                Ok(output)
            }
            Ok(Err(fault)) => Err(fault),
            // The store was mid-call: it is dropped with the future, never reused.
            Err(_) => {
                self.count_fault(&CallFault::Timeout);
                Err(CallFault::Timeout)
            }
        }
    }

    fn fault(&self, error: &wasmtime::Error, store: &Store<HostState>) -> CallFault {
        let fault = CallFault::of(error, store.data().cap.hit);
        self.count_fault(&fault);
        fault
    }

    /// Count a fault (also used by callers that find a result nonsensical).
    pub fn count_fault(&self, fault: &CallFault) {
        self.report.fault(fault);
    }

    /// `/health.plugins.<slot>`.
    pub fn health_json(&self) -> Value {
        let live = self.live.load();
        let (reloads, calls, faults) = self.report.stats.counts();
        json!({
            "world": K::WORLD,
            "path": self.path.display().to_string(),
            "sha256": live.as_ref().map(|v| v.sha256.clone()),
            "loaded_at": live.as_ref().map(|v| v.loaded_at.clone()),
            "source": live.as_ref().map(|v| v.source.clone()),
            "reloads": reloads,
            "calls": calls,
            "faults": faults,
            "memory_peak_bytes": self.report.stats.memory_peak(),
            "waiting": self.gate.waiting(),
            "idle_instances": live.as_ref().map_or(0, |v| v.idle()),
            "last_error": self.report.stats.last_error(),
        })
    }

    /// `GET /admin/plugins` entry: health plus the rollback target.
    pub fn admin_json(&self) -> Value {
        let mut value = self.health_json();
        value["previous"] = self
            .previous
            .load()
            .as_ref()
            .map_or(Value::Null, |v| v.json());
        value
    }
}
