//! What the RAG index cache buys: first-search latency of a fresh `rag-bm25.wasm` instance on
//! a generated 100,000-chunk knowledge base, without the cache (every fresh instance builds
//! the index) and with it (the first builds and stores it, later fresh instances load it).
//!
//! `cargo run --release --example rag_index_cache [-- CHUNKS]`

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use voxgate::kb::KnowledgeBases;
use voxgate::metrics::Metrics;
use voxgate::plugins::index_cache::IndexCache;
use voxgate::plugins::rag::Rag;
use voxgate::plugins::slot::Slot;
use voxgate::plugins::{SlotLimits, run_to_completion};

/// `chunks` chunks of ~60 Zipf-distributed words each, 100 per document, one per heading.
fn write_kb(dir: &Path, chunks: usize) -> anyhow::Result<()> {
    let kb = dir.join("big");
    std::fs::create_dir_all(&kb)?;
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for doc in 0..chunks.div_ceil(100) {
        let mut text = String::new();
        for section in 0..100.min(chunks - doc * 100) {
            text.push_str(&format!("## Section {section}\n\n"));
            for _ in 0..60 {
                // Log-uniform rank in [0, 20000): roughly Zipf.
                let rank = (20_000f64.powf((next() % 10_000) as f64 / 10_000.0)) as u64;
                text.push_str(&format!("w{rank} "));
            }
            text.push_str("\n\n");
        }
        std::fs::write(kb.join(format!("doc{doc:05}.md")), text)?;
    }
    Ok(())
}

fn slot(
    dir: &Path,
    knowledge: Arc<KnowledgeBases>,
    cache: Option<Arc<IndexCache>>,
) -> anyhow::Result<Slot<Rag>> {
    let limits = SlotLimits {
        deadline: Duration::from_secs(300),
        memory_bytes: 2 << 30,
        ..voxgate::Config::default().plugins.rag
    };
    let mut slot = Slot::<Rag>::new(
        dir,
        limits,
        None,
        Some(knowledge),
        Arc::new(Metrics::new()),
        Arc::default(),
    )?;
    if let Some(cache) = cache {
        slot = slot.with_index_cache(cache);
    }
    let wasm = std::fs::read(Path::new(voxgate::plugins::BUILD_DIR).join("rag-bm25.wasm"))?;
    slot.install(
        slot.prepare(&wasm, "rag-bm25".into())
            .map_err(|e| anyhow::anyhow!(e))?
            .0,
    );
    Ok(slot)
}

/// One search on a fresh instance of `slot`, timed.
fn first_search(slot: &Slot<Rag>, query: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let (answer, _) = run_to_completion(slot.call_fresh(("big".into(), query.into(), 5)))?
        .map_err(|fault| anyhow::anyhow!("{fault}"))?;
    anyhow::ensure!(answer.is_ok(), "the search failed");
    Ok(started.elapsed())
}

fn main() -> anyhow::Result<()> {
    let chunks: usize = std::env::args().nth(1).map_or(Ok(100_000), |n| n.parse())?;
    let scratch = tempfile::tempdir()?;
    write_kb(&scratch.path().join("kbs"), chunks)?;
    let knowledge = Arc::new(KnowledgeBases::new(scratch.path().join("kbs")));
    let loaded = knowledge.load("big").map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "knowledge base: {} chunks in {} documents",
        loaded.chunks.len(),
        loaded.documents
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    let without = slot(scratch.path(), knowledge.clone(), None)?;
    for round in 1..=2 {
        println!(
            "without the cache, fresh instance {round}: first search {:.0} ms",
            ms(first_search(&without, "w17 w230 w4100")?)
        );
    }
    drop(without);

    let cache = Arc::new(IndexCache::new(1 << 30));
    let with = slot(scratch.path(), knowledge, Some(cache.clone()))?;
    println!(
        "with the cache, first instance (builds, stores): {:.0} ms",
        ms(first_search(&with, "w17 w230 w4100")?)
    );
    println!(
        "cached index: {:.1} MiB",
        cache.bytes() as f64 / (1 << 20) as f64
    );
    for round in 1..=3 {
        println!(
            "with the cache, fresh instance {round} (loads): first search {:.0} ms",
            ms(first_search(&with, "w18 w231 w4101")?)
        );
    }
    Ok(())
}
