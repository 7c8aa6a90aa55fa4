//! A plugin slot: the live version of one plugin, swapped atomically on reload.
//!
//! A `Version` is a validated component (`InstancePre`) plus a small pool of idle live
//! instances. A call takes an idle instance (or instantiates one), sets its epoch deadline,
//! calls, and returns it to the pool only if the call succeeded: a store that trapped is never
//! reused. Calls hold an `Arc` of the version they started on, so a swap never disturbs them.

use super::SlotLimits;
use super::engine::PluginEngine;
pub use super::fault::{CallFault, root_cause};
use super::sandbox::HostState;
use crate::kb::KnowledgeBases;
use crate::metrics::{Count, Fault, Metrics};
use arc_swap::ArcSwapOption;
use serde_json::{Value, json};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use wasmtime::Store;
use wasmtime::component::{Component, InstancePre, Linker};

/// Idle instances kept per version (more concurrent calls instantiate fresh ones).
const IDLE_INSTANCES: usize = 8;

/// What a kind of plugin (a WIT world) needs from the slot machinery.
pub trait Kind: Send + Sync + 'static {
    /// Slot name: the file is `<SLOT>.wasm`.
    const SLOT: &'static str;
    /// The WIT world it implements.
    const WORLD: &'static str;
    type Pre: Send + Sync + 'static;
    type Bindings: Send + 'static;
    fn link(linker: &mut Linker<HostState>) -> anyhow::Result<()>;
    fn pre(pre: InstancePre<HostState>) -> anyhow::Result<Self::Pre>;
    fn instantiate(
        pre: &Self::Pre,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Self::Bindings>;
    /// A quick call proving the component answers; the error says what is wrong.
    fn smoke(bindings: &Self::Bindings, store: &mut Store<HostState>) -> Result<(), String>;
}

struct Live<K: Kind> {
    store: Store<HostState>,
    bindings: K::Bindings,
}

/// One loaded, validated plugin file.
pub struct Version<K: Kind> {
    pre: K::Pre,
    pub sha256: String,
    pub loaded_at: String,
    pub source: String,
    idle: Mutex<Vec<Live<K>>>,
}

#[derive(Default)]
struct Stats {
    reloads: AtomicU64,
    calls: AtomicU64,
    faults: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// The hash of the last file refused: the watcher may see one bad write several times.
    last_refused: Mutex<Option<String>>,
}

pub struct Slot<K: Kind> {
    path: PathBuf,
    limits: SlotLimits,
    cache_dir: Option<PathBuf>,
    knowledge: Option<Arc<KnowledgeBases>>,
    linker: Linker<HostState>,
    engine: &'static PluginEngine,
    live: ArcSwapOption<Version<K>>,
    previous: ArcSwapOption<Version<K>>,
    stats: Stats,
    metrics: Arc<Metrics>,
    reloading: Mutex<()>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq)]
pub enum Reloaded {
    Swapped { sha256: String },
    Unchanged,
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

impl<K: Kind> Slot<K> {
    pub fn new(
        dir: &Path,
        limits: SlotLimits,
        cache_dir: Option<PathBuf>,
        knowledge: Option<Arc<KnowledgeBases>>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Slot<K>> {
        let engine = PluginEngine::shared()?;
        let mut linker = Linker::new(&engine.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(anyhow::Error::from)?;
        K::link(&mut linker)?;
        Ok(Slot {
            path: dir.join(format!("{}.wasm", K::SLOT)),
            limits,
            cache_dir,
            knowledge,
            linker,
            engine,
            live: ArcSwapOption::empty(),
            previous: ArcSwapOption::empty(),
            stats: Stats::default(),
            metrics,
            reloading: Mutex::new(()),
        })
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn live(&self) -> Option<Arc<Version<K>>> {
        self.live.load_full()
    }

    fn store(&self) -> Store<HostState> {
        let state = HostState::new(K::SLOT, self.limits.memory_bytes, self.knowledge.clone());
        let mut store = Store::new(&self.engine.engine, state);
        store.limiter(|state| &mut state.cap);
        store.set_epoch_deadline(PluginEngine::ticks(self.limits.deadline));
        store
    }

    /// Compile, link, type-check against the world and smoke-call `bytes`.
    pub fn prepare(&self, bytes: &[u8], source: String) -> Result<Version<K>, String> {
        let sha256 = sha256_hex(bytes);
        let component: Component = self
            .engine
            .compile(bytes, &sha256, self.cache_dir.as_deref())
            .map_err(|e| format!("not a valid WebAssembly component: {}", root_cause(&e)))?;
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
        let version = Version {
            pre,
            sha256,
            loaded_at: now_rfc3339(),
            source,
            idle: Mutex::new(Vec::new()),
        };
        let mut store = self.store();
        let bindings = K::instantiate(&version.pre, &mut store)
            .map_err(|e| format!("instantiation failed: {}", root_cause(&e.into())))?;
        K::smoke(&bindings, &mut store).map_err(|e| format!("smoke call failed: {e}"))?;
        version
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Live { store, bindings });
        Ok(version)
    }

    /// Load the file in the slot's path if it differs from the live version.
    pub fn reload(&self) -> Result<Reloaded, String> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
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
        if self
            .stats
            .last_refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_deref()
            == Some(sha256.as_str())
        {
            // Already refused and reported; say so again without counting it twice.
            let error = self
                .stats
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            return Err(error.unwrap_or_else(|| "this file was refused before".into()));
        }
        match self.prepare(&bytes, self.path.display().to_string()) {
            Ok(version) => Ok(self.install(version)),
            Err(error) => Err(self.refuse(error, Some(sha256))),
        }
    }

    fn refuse(&self, error: String, sha256: Option<String>) -> String {
        self.metrics.fault(Fault::PluginReloadFailed);
        tracing::error!(
            "[PLUGIN {}] reload of {} refused, the current version keeps serving: {error}",
            K::SLOT,
            self.path.display()
        );
        *self
            .stats
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(error.clone());
        *self
            .stats
            .last_refused
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = sha256;
        error
    }

    /// Make `version` live (atomically); the old one becomes the rollback target.
    pub fn install(&self, version: Version<K>) -> Reloaded {
        let sha256 = version.sha256.clone();
        let old = self.live.swap(Some(Arc::new(version)));
        if old.is_some() {
            self.stats.reloads.fetch_add(1, Ordering::Relaxed);
            self.metrics.count(Count::PluginReloads);
        }
        self.previous.store(old);
        *self
            .stats
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        tracing::info!(
            "[PLUGIN {}] now serving sha256 {}",
            K::SLOT,
            &sha256[..12.min(sha256.len())]
        );
        Reloaded::Swapped { sha256 }
    }

    /// Put the previous version back.
    pub fn rollback(&self) -> Option<String> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let previous = self.previous.swap(None)?;
        let sha256 = previous.sha256.clone();
        let old = self.live.swap(Some(previous));
        self.previous.store(old);
        self.stats.reloads.fetch_add(1, Ordering::Relaxed);
        self.metrics.count(Count::PluginReloads);
        tracing::warn!(
            "[PLUGIN {}] rolled back to sha256 {}",
            K::SLOT,
            &sha256[..12.min(sha256.len())]
        );
        Some(sha256)
    }

    /// Call the live version (blocking: run on a blocking thread, never on an async worker).
    pub fn call<R>(
        &self,
        f: impl FnOnce(&K::Bindings, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallFault> {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let Some(version) = self.live.load_full() else {
            return Err(CallFault::Missing);
        };
        let idle = version.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut live = match idle {
            Some(live) => live,
            None => {
                let mut store = self.store();
                match K::instantiate(&version.pre, &mut store) {
                    Ok(bindings) => Live { store, bindings },
                    Err(error) => return Err(self.fault(&error, &store)),
                }
            }
        };
        live.store.data_mut().cap.hit = false;
        live.store
            .set_epoch_deadline(PluginEngine::ticks(self.limits.deadline));
        match f(&live.bindings, &mut live.store) {
            Ok(value) => {
                let mut idle = version.idle.lock().unwrap_or_else(|p| p.into_inner());
                if idle.len() < IDLE_INSTANCES {
                    idle.push(live);
                }
                Ok(value)
            }
            Err(error) => Err(self.fault(&error, &live.store)),
        }
    }

    /// Call on a brand-new instance that is dropped afterwards (no reuse): what a
    /// store-per-call strategy would cost. For benchmarks and diagnostics.
    pub fn call_fresh<R>(
        &self,
        f: impl FnOnce(&K::Bindings, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallFault> {
        let Some(version) = self.live.load_full() else {
            return Err(CallFault::Missing);
        };
        let mut store = self.store();
        let bindings =
            K::instantiate(&version.pre, &mut store).map_err(|e| self.fault(&e, &store))?;
        f(&bindings, &mut store).map_err(|e| self.fault(&e, &store))
    }

    fn fault(&self, error: &wasmtime::Error, store: &Store<HostState>) -> CallFault {
        let fault = if store.data().cap.hit {
            CallFault::Oom
        } else if matches!(
            error.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::Interrupt)
        ) {
            CallFault::Timeout
        } else {
            CallFault::Trap(
                format!("{error:#}")
                    .lines()
                    .next()
                    .unwrap_or("trap")
                    .to_string(),
            )
        };
        self.count_fault(&fault);
        fault
    }

    /// Count a fault (also used by callers that find a result nonsensical).
    pub fn count_fault(&self, fault: &CallFault) {
        self.stats.faults.fetch_add(1, Ordering::Relaxed);
        self.metrics.fault(match fault {
            CallFault::Timeout => Fault::PluginTimeout,
            CallFault::Oom => Fault::PluginOom,
            _ => Fault::PluginTrap,
        });
        tracing::warn!("[PLUGIN {}] call failed: {fault}", K::SLOT);
    }

    fn version_json(version: &Version<K>) -> Value {
        json!({ "sha256": version.sha256, "loaded_at": version.loaded_at, "source": version.source })
    }

    /// `/health.plugins.<slot>`.
    pub fn health_json(&self) -> Value {
        let live = self.live.load();
        json!({
            "world": K::WORLD,
            "path": self.path.display().to_string(),
            "sha256": live.as_ref().map(|v| v.sha256.clone()),
            "loaded_at": live.as_ref().map(|v| v.loaded_at.clone()),
            "source": live.as_ref().map(|v| v.source.clone()),
            "reloads": self.stats.reloads.load(Ordering::Relaxed),
            "calls": self.stats.calls.load(Ordering::Relaxed),
            "faults": self.stats.faults.load(Ordering::Relaxed),
            "last_error": self.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        })
    }

    /// `GET /admin/plugins` entry: health plus the rollback target.
    pub fn admin_json(&self) -> Value {
        let mut value = self.health_json();
        value["previous"] = self
            .previous
            .load()
            .as_ref()
            .map_or(Value::Null, |v| Self::version_json(v));
        value
    }
}
