//! One Wasmtime `Engine` per process: component model, Cranelift, pooling allocator, epoch
//! interruption driven by a 1 ms ticker thread (calls yield to the async runtime at every
//! tick). The ticker runs only while plugin code may run ([`PluginEngine::ticking`] around every
//! instantiation and call): an idle gateway's ticker used 1.5% of a core. Compiles components on one low-priority compile worker with a time budget, reusing
//! precompiled artifacts from the [`ArtifactCache`].

use super::cache::ArtifactCache;
use anyhow::{Context, bail};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// The process-wide engine.
pub struct PluginEngine {
    pub engine: Engine,
    compatibility: String,
    /// Plugin code that may be running now (instantiations and calls).
    running: Arc<AtomicUsize>,
    ticker: std::thread::Thread,
}

/// While held, the epoch advances (a plugin running past its deadline yields and is stopped).
pub struct Ticking<'a>(&'a AtomicUsize);

impl Drop for Ticking<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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
            .max_core_instances_per_component(64)
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
            // One compile thread (the compile worker), never the whole machine.
            .parallel_compilation(false)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("wasmtime engine")?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compatibility = format!("{:016x}", hasher.finish());
        let weak = engine.weak();
        let running = Arc::new(AtomicUsize::new(0));
        let busy = running.clone();
        let ticker = std::thread::Builder::new()
            .name("voxgate-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    if busy.load(Ordering::SeqCst) == 0 {
                        drop(engine);
                        // Woken by `ticking` (an unpark before the park is not lost).
                        std::thread::park();
                        continue;
                    }
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .context("epoch ticker thread")?
            .thread()
            .clone();
        Ok(PluginEngine {
            engine,
            compatibility,
            running,
            ticker,
        })
    }

    /// Keep the epoch advancing while plugin code may run: take this before instantiating or
    /// calling, hold it until the call is over.
    pub fn ticking(&self) -> Ticking<'_> {
        if self.running.fetch_add(1, Ordering::SeqCst) == 0 {
            self.ticker.unpark();
        }
        Ticking(&self.running)
    }

    /// Epoch ticks for a deadline (at least 1).
    pub fn ticks(deadline: Duration) -> u64 {
        (deadline.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64
    }

    /// The cache of artifacts for this engine in `dir`, bounded to `max_bytes`.
    pub fn cache(&self, dir: std::path::PathBuf, max_bytes: u64) -> ArtifactCache {
        ArtifactCache::new(dir, max_bytes, self.compatibility.clone())
    }

    /// Compile `bytes` (whose hash is `sha256`), from the cache when it holds the artifact.
    /// A fresh compile runs on the compile worker within `budget`; its artifact is returned
    /// for the caller to cache once the component has proven itself.
    pub fn compile(
        &self,
        bytes: &[u8],
        sha256: &str,
        cache: Option<&ArtifactCache>,
        budget: Duration,
    ) -> anyhow::Result<(Component, Option<Vec<u8>>)> {
        if let Some(artifact) = cache.and_then(|c| c.get(sha256)) {
            // SAFETY: artifacts in the cache directory are written only by the cache, from
            // `precompile_component` of an engine with the same compatibility hash (part of
            // the file name); Wasmtime still checks the header and refuses a foreign file.
            match unsafe { Component::deserialize_file(&self.engine, &artifact) } {
                Ok(component) => return Ok((component, None)),
                Err(error) => tracing::warn!(
                    "ignoring unusable plugin cache entry {}: {error}",
                    artifact.display()
                ),
            }
        }
        let artifact = self.precompile_bounded(bytes.to_vec(), budget)?;
        // SAFETY: `artifact` was produced just now by this engine.
        let component = unsafe { Component::deserialize(&self.engine, &artifact) }
            .map_err(anyhow::Error::from)?;
        Ok((component, Some(artifact)))
    }

    /// Cranelift on the one compile worker: a thread at lower priority than serving, one
    /// compile at a time (a flood of uploads queues, it does not multiply). A compile that
    /// outlives `budget` is refused; it cannot be interrupted, so it finishes in the background
    /// at low priority and its result is discarded.
    fn precompile_bounded(&self, bytes: Vec<u8>, budget: Duration) -> anyhow::Result<Vec<u8>> {
        static WORKER: Mutex<()> = Mutex::new(());
        let engine = self.engine.clone();
        let (done, result) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("voxgate-compile".into())
            .spawn(move || {
                let _one_at_a_time = WORKER.lock().unwrap_or_else(|p| p.into_inner());
                lower_this_threads_priority();
                let compiled = engine.precompile_component(&bytes);
                let _ = done.send(compiled.map_err(anyhow::Error::from));
            })
            .context("compile worker thread")?;
        match result.recv_timeout(budget) {
            Ok(compiled) => compiled,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => bail!(
                "compiling took longer than {}s (PLUGIN_COMPILE_TIMEOUT); refused",
                budget.as_secs_f64()
            ),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                bail!("the compile worker stopped without an answer")
            }
        }
    }
}

/// Compiling and heavy plugin calls are background work: let serving threads run first.
pub(super) fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority only read and set this thread's scheduling priority.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}
