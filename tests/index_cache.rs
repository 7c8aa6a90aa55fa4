//! The RAG index cache through the real slot and the shipped `rag-bm25.wasm`: a fresh instance
//! reads the index another one built (in place, through `index-cache.read`) instead of building
//! it again, and an instance whose cached index is evicted while it holds it rebuilds rather
//! than answer from a partial read.

mod support;

use std::path::Path;
use std::sync::Arc;
use support::*;
use voxgate::kb::KnowledgeBases;
use voxgate::metrics::{Count, Metrics};
use voxgate::plugins::index_cache::IndexCache;
use voxgate::plugins::rag::{self, Hit, Rag};
use voxgate::plugins::slot::Slot;
use voxgate::plugins::{SlotLimits, run_to_completion};

/// `kbs` knowledge bases `kb0` … with the same documents (so their indexes are the same size).
fn knowledge(dir: &Path, kbs: usize) -> Arc<KnowledgeBases> {
    for n in 0..kbs {
        let kb = dir.join(format!("kb{n}"));
        std::fs::create_dir_all(&kb).unwrap();
        for (name, text) in [
            (
                "breakers.md",
                "# Circuit breakers\n\nA breaker opens after five failures in a row and closes after a good probe.",
            ),
            (
                "retry.md",
                "# Retry\n\nRetries wait with exponential backoff and full jitter between attempts.",
            ),
            (
                "keepalive.md",
                "# Keepalive\n\nIdle sessions are pinged every twenty seconds.",
            ),
        ] {
            std::fs::write(kb.join(name), text).unwrap();
        }
    }
    Arc::new(KnowledgeBases::new(dir.to_path_buf()))
}

fn slot(dir: &Path, knowledge: Arc<KnowledgeBases>, cache: Arc<IndexCache>) -> Slot<Rag> {
    let limits = SlotLimits {
        max_concurrent: 1,
        ..voxgate::Config::default().plugins.rag
    };
    let slot = Slot::<Rag>::new(
        dir,
        limits,
        None,
        Some(knowledge),
        Arc::new(Metrics::new()),
        Arc::default(),
    )
    .unwrap()
    .with_index_cache(cache);
    let wasm = std::fs::read(plugin_file("rag-bm25")).unwrap();
    let (version, _) = slot.prepare(&wasm, "rag-bm25".into()).unwrap();
    slot.install(version);
    slot
}

/// Hits as (chunk id, score).
type Ranked = Vec<(String, f64)>;

fn ids(hits: &Ranked) -> Vec<&str> {
    hits.iter().map(|(id, _)| id.as_str()).collect()
}

/// A search on the slot's (reused) instance.
fn search(slot: &Slot<Rag>, kb: &str, query: &str) -> Ranked {
    let hits: Vec<Hit> = run_to_completion(rag::search(slot, kb, query, 3))
        .unwrap()
        .unwrap_or_else(|e| panic!("search of {kb}: {e:?}"));
    hits.into_iter().map(|h| (h.chunk_id, h.score)).collect()
}

/// A search on a brand-new instance.
fn fresh_search(slot: &Slot<Rag>, kb: &str, query: &str) -> Ranked {
    let (answer, _) = run_to_completion(slot.call_fresh((kb.into(), query.into(), 3)))
        .unwrap()
        .unwrap();
    let hits = answer.unwrap_or_else(|e| panic!("search of {kb}: {e:?}"));
    hits.into_iter().map(|h| (h.chunk_id, h.score)).collect()
}

#[test]
fn a_fresh_instance_reads_the_cached_index_instead_of_building_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(IndexCache::new(64 << 20));
    let slot = slot(
        dir.path(),
        knowledge(&dir.path().join("kbs"), 1),
        cache.clone(),
    );
    let built = fresh_search(&slot, "kb0", "circuit breaker");
    assert_eq!(ids(&built)[0], "breakers.md#0");
    let metrics = slot.metrics();
    assert_eq!(
        (
            metrics.get(Count::IndexCacheHits),
            metrics.get(Count::IndexCacheMisses)
        ),
        (0, 1),
        "the first instance found nothing and built"
    );
    assert!(cache.bytes() > 0, "and stored its index");
    for _ in 0..3 {
        assert_eq!(fresh_search(&slot, "kb0", "circuit breaker"), built);
    }
    assert_eq!(
        (
            metrics.get(Count::IndexCacheHits),
            metrics.get(Count::IndexCacheMisses)
        ),
        (3, 1),
        "each later fresh instance opened the cached index"
    );
}

#[test]
fn an_index_evicted_while_an_instance_holds_it_is_rebuilt_not_half_read() {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let knowledge = knowledge(&dir.path().join("kbs"), 5);
    // One index's size, measured, then a cache that holds four of them.
    let measuring = Arc::new(IndexCache::new(64 << 20));
    fresh_search(
        &slot(dir.path(), knowledge.clone(), measuring.clone()),
        "kb0",
        "retry",
    );
    let one = measuring.bytes();
    let cache = Arc::new(IndexCache::new(4 * one));
    let slot = slot(dir.path(), knowledge, cache.clone());
    // This instance builds kb0's index, stores it, and reads it in place from now on ...
    let fresh = fresh_search(&slot, "kb0", "exponential backoff");
    let first = search(&slot, "kb0", "exponential backoff");
    assert_eq!(first, fresh);
    let first = search(&slot, "kb0", "exponential backoff");
    assert_eq!(ids(&first)[0], "retry.md#0");
    // ... until four more indexes evict it (least recently used).
    for n in 1..5 {
        search(&slot, &format!("kb{n}"), "keepalive");
    }
    assert!(cache.bytes() <= 4 * one);
    assert_eq!(search(&slot, "kb0", "exponential backoff"), first);
    assert!(
        logs().contains("went away mid-search"),
        "the plugin noticed and reloaded"
    );
}
