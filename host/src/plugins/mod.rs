//! The WebAssembly plugin platform: one engine (`engine`), one hot-swappable slot per plugin
//! kind (`slot`), the two worlds (`backoff`, `rag`), the directory watcher (`watcher`) and the
//! conformance checker behind `voxgate plugin check` (`check`).

pub mod backoff;
pub mod check;
pub mod engine;
pub mod rag;
pub mod slot;
pub mod watcher;

use crate::config::Config;
use crate::kb::KnowledgeBases;
use crate::metrics::Metrics;
use serde_json::{Value, json};
use slot::{Kind, Slot};
use std::path::Path;
use std::sync::Arc;

/// The default plugins, built from `plugins/` and embedded so the binary works anywhere.
pub const DEFAULT_BACKOFF: &[u8] = include_bytes!(env!("VOXGATE_DEFAULT_BACKOFF_WASM"));
pub const DEFAULT_RAG: &[u8] = include_bytes!(env!("VOXGATE_DEFAULT_RAG_WASM"));

/// Where the build put every plugin component (`<crate-name>.wasm`), tests' plugins included.
pub const BUILD_DIR: &str = env!("VOXGATE_PLUGIN_BUILD_DIR");

/// Both slots, and the watcher that reloads them.
pub struct Plugins {
    pub backoff: Arc<Slot<backoff::Backoff>>,
    pub rag: Arc<Slot<rag::Rag>>,
    _watcher: Option<watcher::Watcher>,
}

impl Plugins {
    /// Load both slots from `PLUGIN_DIR` (seeding missing files with the built-in defaults)
    /// and start watching it. A slot whose file is invalid starts on the built-in default and
    /// reports the problem in `/health`; the gateway still starts.
    pub fn start(
        config: &Config,
        metrics: Arc<Metrics>,
        knowledge: Arc<KnowledgeBases>,
    ) -> anyhow::Result<Plugins> {
        let dir = &config.plugin_dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("PLUGIN_DIR: cannot create {}: {e}", dir.display()))?;
        let cache = Some(
            config
                .plugin_cache_dir
                .clone()
                .unwrap_or_else(|| dir.join(".cache")),
        );
        let backoff = Arc::new(Slot::new(
            dir,
            config.backoff_limits.clone(),
            cache.clone(),
            None,
            metrics.clone(),
        )?);
        let rag = Arc::new(Slot::new(
            dir,
            config.rag_limits.clone(),
            cache,
            Some(knowledge),
            metrics,
        )?);
        load_initial(&backoff, DEFAULT_BACKOFF)?;
        load_initial(&rag, DEFAULT_RAG)?;
        let watcher = watcher::Watcher::start(dir, backoff.clone(), rag.clone());
        Ok(Plugins {
            backoff,
            rag,
            _watcher: watcher,
        })
    }

    /// `/health.plugins`.
    pub fn health_json(&self) -> Value {
        json!({ "backoff": self.backoff.health_json(), "rag": self.rag.health_json() })
    }

    /// `GET /admin/plugins`.
    pub fn admin_json(&self) -> Value {
        json!({ "backoff": self.backoff.admin_json(), "rag": self.rag.admin_json() })
    }

    /// Reload or roll back a slot by name; `Err` carries the HTTP status and message.
    pub fn act(&self, slot: &str, rollback: bool) -> Result<Value, (u16, String)> {
        fn on<K: Kind>(slot: &Slot<K>, rollback: bool) -> Result<Value, (u16, String)> {
            if rollback {
                slot.rollback()
                    .map(|sha| json!({ "slot": K::SLOT, "rolled_back_to": sha }))
                    .map_err(|e| (409, e))
            } else {
                match slot.reload() {
                    Ok(slot::Reloaded::Swapped { sha256 }) => {
                        Ok(json!({ "slot": K::SLOT, "loaded": sha256 }))
                    }
                    Ok(slot::Reloaded::Unchanged) => {
                        Ok(json!({ "slot": K::SLOT, "unchanged": true }))
                    }
                    Err(e) => Err((422, e)),
                }
            }
        }
        match slot {
            "backoff" => on(&self.backoff, rollback),
            "rag" => on(&self.rag, rollback),
            other => Err((
                404,
                format!("no plugin slot '{other}' (slots: backoff, rag)"),
            )),
        }
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
    let version = slot
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
