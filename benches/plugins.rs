//! Plugin call costs: one backoff decision through the plugin exactly as the gateway makes it
//! (async on the runtime's worker, through the slot's gate, on a pooled live instance), on a
//! fresh instance per call, and as a native function; and reload time (file → new version
//! serving).
//! `cargo bench --bench plugins`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use voxgate::config::Config;
use voxgate::metrics::Metrics;
use voxgate::plugins::backoff::{self, Backoff, PluginPolicy, probe_context};
use voxgate::plugins::slot::Slot;
use voxgate::resilience::{BackoffPolicy, ErrorClass, Exponential};

fn wasm(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(voxgate::plugins::BUILD_DIR).join(format!("{name}.wasm")))
        .expect("built plugin")
}

fn slot(dir: &Path, cache: bool) -> Arc<Slot<Backoff>> {
    let cache = cache.then(|| {
        voxgate::plugins::engine::PluginEngine::shared()
            .unwrap()
            .cache(dir.join(".cache"), 1 << 30)
    });
    // A generous deadline: these benches time the call paths, not the 10 ms bound (a fresh
    // instance on a busy machine may take longer than that).
    let limits = voxgate::plugins::SlotLimits {
        deadline: std::time::Duration::from_secs(1),
        ..Config::default().plugins.backoff
    };
    let slot = Slot::<Backoff>::new(
        dir,
        limits,
        cache,
        None,
        Arc::new(Metrics::new()),
        Arc::default(),
    )
    .unwrap();
    let version = slot
        .prepare(&wasm("backoff-exponential"), "bench".into())
        .unwrap()
        .0;
    slot.install(version);
    Arc::new(slot)
}

fn backoff_decision(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let slot = slot(dir.path(), false);
    let ctx = probe_context(3, ErrorClass::Timeout);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let policy = PluginPolicy { slot: slot.clone() };

    let mut group = c.benchmark_group("backoff");
    group.bench_function("native_fn", |b| {
        b.iter(|| black_box(Exponential::delay(black_box(&ctx))))
    });
    group.bench_function("plugin_as_the_gateway_calls_it", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(policy.next_delay(black_box(&ctx)).await) })
    });
    group.bench_function("plugin_fresh_store_instantiate_call", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(backoff::decide_fresh(&slot, black_box(&ctx)).await.unwrap())
        })
    });
    group.finish();
}

fn reload(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let slot = slot(dir.path(), true);
    let files = [
        wasm("backoff-exponential"),
        wasm("backoff-decorrelated-jitter"),
    ];
    // Warm the artifact cache: a restart or a swap back to a known file does not recompile.
    for bytes in &files {
        voxgate::plugins::write_atomically(slot.path(), bytes).unwrap();
        slot.reload().unwrap();
    }
    let mut group = c.benchmark_group("reload");
    group.sample_size(30);
    let mut next = 0usize;
    group.bench_function("file_write_to_new_version_serving_cached_artifact", |b| {
        b.iter(|| {
            next ^= 1;
            voxgate::plugins::write_atomically(slot.path(), &files[next]).unwrap();
            slot.reload().unwrap();
        })
    });
    group.bench_function("compile_validate_smoke_uncached", |b| {
        let uncached = Slot::<Backoff>::new(
            dir.path(),
            Config::default().plugins.backoff,
            None,
            None,
            Arc::new(Metrics::new()),
            Arc::default(),
        )
        .unwrap();
        b.iter(|| {
            black_box(
                uncached
                    .prepare(&files[1], "bench".into())
                    .unwrap()
                    .0
                    .sha256
                    .len(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, backoff_decision, reload);
criterion_main!(benches);
