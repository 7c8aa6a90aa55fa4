//! The WebAssembly plugin platform: one engine (`engine`) with a memory `limiter` and a
//! `sandbox` per store, the host functions plugins import (`imports`), one hot-swappable slot
//! per plugin kind (`slot`), the two worlds (`backoff`, `rag`), the directory watcher
//! (`watcher`) and the conformance checker behind `voxgate plugin check` (`check`).

pub mod backoff;
mod cache;
pub mod check;
pub mod conformance;
pub mod engine;
mod fault;
mod gate;
pub mod imports;
pub mod index_cache;
mod instances;
mod kind;
mod limiter;
mod log_budget;
pub mod rag;
mod report;
pub mod routing;
mod sandbox;
pub mod slot;
mod stats;
mod version;
pub mod watcher;
pub mod workers;

pub use cache::ArtifactCache;

pub use sandbox::HostState;

use crate::feed::Feed;
use crate::kb::KnowledgeBases;
use crate::metrics::Metrics;
use serde_json::{Value, json};
use slot::{Kind, Reloaded, Slot};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What one plugin slot may use.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotLimits {
    /// Wall time of one call: waiting for a place, instantiation, guest code, host calls.
    pub deadline: Duration,
    pub memory_bytes: usize,
    /// Larger files are refused before compiling (`PLUGIN_MAX_BYTES`).
    pub max_file_bytes: u64,
    /// Compiling a new file may take this long (`PLUGIN_COMPILE_TIMEOUT`).
    pub compile_timeout: Duration,
    /// Starting one instance — instantiation and a first call — outside any call, so calls
    /// find it ready (`PLUGIN_START_TIMEOUT`).
    pub start_timeout: Duration,
    /// Calls running at once (`PLUGIN_MAX_CONCURRENT_CALLS`), and waiting beyond them.
    pub max_concurrent: usize,
    pub max_queued: usize,
}

/// Where the plugin files are and what each slot may use.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSettings {
    /// `PLUGIN_DIR`: holds `backoff.wasm` and `rag.wasm`.
    pub dir: PathBuf,
    /// Precompiled artifacts (default: `PLUGIN_DIR/.cache`), bounded to `cache_max_bytes`.
    pub cache_dir: Option<PathBuf>,
    pub cache_max_bytes: u64,
    /// `RAG_INDEX_CACHE_MAX_BYTES`: the RAG plugins' index cache, in memory.
    pub index_cache_max_bytes: u64,
    pub backoff: SlotLimits,
    pub rag: SlotLimits,
}

/// The slots, by the name the admin API and the files use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotName {
    Backoff,
    Rag,
    Routing,
}

impl std::str::FromStr for SlotName {
    type Err = PluginError;

    fn from_str(name: &str) -> Result<SlotName, PluginError> {
        match name {
            "backoff" => Ok(SlotName::Backoff),
            "rag" => Ok(SlotName::Rag),
            "routing" => Ok(SlotName::Routing),
            other => Err(PluginError::UnknownSlot(other.to_string())),
        }
    }
}

/// Why an operator's plugin operation did not happen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PluginError {
    #[error("no plugin slot '{0}' (slots: backoff, rag, routing)")]
    UnknownSlot(String),
    /// The file was refused; the live version keeps serving.
    #[error("{0}")]
    Refused(String),
    #[error("no previous version to roll back to")]
    NoPrevious,
}

/// The default plugins, built from `plugins/` and embedded so the binary works anywhere.
pub const DEFAULT_BACKOFF: &[u8] = include_bytes!(env!("VOXGATE_DEFAULT_BACKOFF_WASM"));
pub const DEFAULT_RAG: &[u8] = include_bytes!(env!("VOXGATE_DEFAULT_RAG_WASM"));

/// Where the build put every plugin component (`<crate-name>.wasm`), tests' plugins included.
pub const BUILD_DIR: &str = env!("VOXGATE_PLUGIN_BUILD_DIR");

/// Both slots, and the watcher that reloads them.
pub struct Plugins {
    pub backoff: Arc<Slot<backoff::Backoff>>,
    pub rag: Arc<Slot<rag::Rag>>,
    /// Optional: empty (the default order) until a `routing.wasm` loads.
    pub routing: Arc<Slot<routing::Routing>>,
    _watcher: Option<watcher::Watcher>,
}

impl Plugins {
    /// Load both slots from `PLUGIN_DIR` (seeding missing files with the built-in defaults)
    /// and start watching it. A slot whose file is invalid starts on the built-in default and
    /// reports the problem in `/health`; the gateway still starts.
    pub fn start(
        settings: &PluginSettings,
        metrics: Arc<Metrics>,
        feed: Arc<Feed>,
        knowledge: Arc<KnowledgeBases>,
    ) -> anyhow::Result<Plugins> {
        let dir = &settings.dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("PLUGIN_DIR: cannot create {}: {e}", dir.display()))?;
        let cache_dir = settings
            .cache_dir
            .clone()
            .unwrap_or_else(|| dir.join(".cache"));
        let engine = engine::PluginEngine::shared()?;
        let cache = || Some(engine.cache(cache_dir.clone(), settings.cache_max_bytes));
        let backoff = Arc::new(Slot::new(
            dir,
            settings.backoff.clone(),
            cache(),
            None,
            metrics.clone(),
            feed.clone(),
        )?);
        let index_cache = index_cache::IndexCache::new(
            usize::try_from(settings.index_cache_max_bytes).unwrap_or(usize::MAX),
        );
        let rag = Arc::new(
            Slot::new(
                dir,
                settings.rag.clone(),
                cache(),
                Some(knowledge),
                metrics.clone(),
                feed.clone(),
            )?
            .with_index_cache(Arc::new(index_cache)),
        );
        load_initial(&backoff, DEFAULT_BACKOFF)?;
        load_initial(&rag, DEFAULT_RAG)?;
        // Routing policies are small and quick like backoff policies: the same limits.
        let routing = Arc::new(Slot::new(
            dir,
            settings.backoff.clone(),
            cache(),
            None,
            metrics,
            feed,
        )?);
        if routing.path().exists() {
            // A bad file leaves the default order in place; /health says why.
            let _ = routing.reload();
        }
        let watcher = watcher::Watcher::start(dir, backoff.clone(), rag.clone(), routing.clone());
        Ok(Plugins {
            backoff,
            rag,
            routing,
            _watcher: watcher,
        })
    }

    /// `/health.plugins`.
    pub fn health_json(&self) -> Value {
        json!({ "backoff": self.backoff.health_json(), "rag": self.rag.health_json(),
            "routing": self.routing.health_json() })
    }

    /// `GET /admin/plugins`.
    pub fn admin_json(&self) -> Value {
        json!({ "backoff": self.backoff.admin_json(), "rag": self.rag.admin_json(),
            "routing": self.routing.admin_json() })
    }

    /// Load the slot's file now (blocking: it may compile).
    pub fn reload(&self, slot: SlotName) -> Result<Reloaded, PluginError> {
        match slot {
            SlotName::Backoff => self.backoff.reload(),
            SlotName::Rag => self.rag.reload(),
            SlotName::Routing => self.routing.reload(),
        }
        .map_err(PluginError::Refused)
    }

    /// Put the slot's previous version back; the sha256 now serving.
    pub fn rollback(&self, slot: SlotName) -> Result<String, PluginError> {
        match slot {
            SlotName::Backoff => self.backoff.rollback(),
            SlotName::Rag => self.rag.rollback(),
            SlotName::Routing => self.routing.rollback(),
        }
        .ok_or(PluginError::NoPrevious)
    }
}

fn load_initial<K: Kind>(slot: &Slot<K>, default: &[u8]) -> anyhow::Result<()> {
    let path = slot.path();
    if !path.exists() {
        write_atomically(path, default)?;
        tracing::info!(
            "[PLUGIN {}] seeded {} with the built-in default",
            K::SLOT,
            path.display()
        );
    }
    if slot.reload().is_ok() {
        return Ok(());
    }
    // The file is bad: serve the built-in default until a valid file arrives.
    let (version, _) = slot
        .prepare(
            default,
            format!("built-in default (could not load {})", path.display()),
        )
        .map_err(|e| anyhow::anyhow!("the built-in {} plugin does not load: {e}", K::SLOT))?;
    slot.install(version);
    Ok(())
}

/// Write a file so readers never see half of it (temp file + rename in the same directory).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| anyhow::anyhow!("cannot move {} into place: {e}", path.display()))?;
    Ok(())
}

/// Run a plugin future to completion from synchronous code (loading a file, the CLI tools,
/// `plugin check`): on a small runtime of its own, so it works on any thread, inside or outside
/// the gateway's runtime.
pub fn run_to_completion<F: std::future::Future>(future: F) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(future))
}
