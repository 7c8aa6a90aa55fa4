//! One Wasmtime `Engine` per process: component model, Cranelift, pooling allocator, epoch
//! interruption driven by a 1 ms ticker thread. Compiles components, with an on-disk cache of
//! precompiled artifacts keyed by file hash + engine compatibility.

use anyhow::Context;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// The process-wide engine.
pub struct PluginEngine {
    pub engine: Engine,
    compatibility: String,
}

impl PluginEngine {
    /// The shared engine (created on first use, with its epoch ticker).
    pub fn shared() -> anyhow::Result<&'static PluginEngine> {
        static ENGINE: OnceLock<Result<PluginEngine, String>> = OnceLock::new();
        ENGINE
            .get_or_init(|| PluginEngine::new().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| anyhow::anyhow!("cannot start the plugin engine: {e}"))
    }

    fn new() -> anyhow::Result<PluginEngine> {
        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_component_instances(512)
            .total_core_instances(2048)
            .max_core_instances_per_component(32)
            .total_memories(512)
            .total_tables(1024)
            .total_stacks(512)
            .max_memory_size(1 << 30);
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_opt_level(wasmtime::OptLevel::Speed)
            .max_wasm_stack(1 << 20)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("wasmtime engine")?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compatibility = format!("{:016x}", hasher.finish());
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("voxgate-epoch".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .context("epoch ticker thread")?;
        Ok(PluginEngine {
            engine,
            compatibility,
        })
    }

    /// Epoch ticks for a deadline (at least 1).
    pub fn ticks(deadline: Duration) -> u64 {
        (deadline.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64
    }

    /// Compile `bytes` (whose hash is `sha256`), reusing a precompiled artifact from
    /// `cache_dir` when one matches this engine.
    pub fn compile(
        &self,
        bytes: &[u8],
        sha256: &str,
        cache_dir: Option<&Path>,
    ) -> anyhow::Result<Component> {
        let Some(dir) = cache_dir else {
            return Component::new(&self.engine, bytes).map_err(anyhow::Error::from);
        };
        let artifact = dir.join(format!("{sha256}-{}.cwasm", self.compatibility));
        if artifact.exists() {
            // SAFETY: artifacts in the cache directory are written only by this function, from
            // `precompile_component` of an engine with the same compatibility hash; Wasmtime
            // still checks the header and refuses an incompatible or foreign file.
            match unsafe { Component::deserialize_file(&self.engine, &artifact) } {
                Ok(component) => return Ok(component),
                Err(error) => tracing::warn!(
                    "ignoring unusable plugin cache entry {}: {error}",
                    artifact.display()
                ),
            }
        }
        let precompiled = self
            .engine
            .precompile_component(bytes)
            .map_err(anyhow::Error::from)?;
        if let Err(error) = std::fs::create_dir_all(dir).and_then(|_| {
            let tmp = artifact.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, &precompiled)?;
            std::fs::rename(&tmp, &artifact)
        }) {
            tracing::warn!("cannot write plugin cache {}: {error}", dir.display());
        }
        // SAFETY: `precompiled` was produced just now by this engine.
        unsafe { Component::deserialize(&self.engine, &precompiled) }.map_err(anyhow::Error::from)
    }
}
