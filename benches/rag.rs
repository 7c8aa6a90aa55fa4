//! RAG search latency through the plugin (the default `rag-bm25.wasm`, exactly the slot call
//! the gateway makes) against the same BM25 compiled natively, on deterministic generated
//! corpora of 1,000 and 10,000 chunks; plus index build time. Prints p50/p99 and ratios.
//! `cargo bench --bench rag`

use rag_bm25::bm25::{Doc, Index};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use voxgate::config::Config;
use voxgate::kb::KnowledgeBases;
use voxgate::metrics::Metrics;
use voxgate::plugins::index_cache::IndexCache;
use voxgate::plugins::rag::{self, Rag};
use voxgate::plugins::slot::Slot;

/// A small deterministic generator (no dependency, same corpus on every machine).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// Roughly Zipf-distributed word rank in [0, n): log-uniform.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
    }
}

fn word(rank: usize) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "to", "ri", "ne", "su", "mo", "la", "pe", "di", "vo", "ga", "shi", "tu", "ber", "an",
        "el",
    ];
    let mut n = rank + 16;
    let mut w = String::new();
    while n > 0 {
        w.push_str(SYLLABLES[n % 16]);
        n /= 16;
    }
    w
}

const VOCABULARY: usize = 20_000;

fn corpus(chunks: usize, dir: &Path) -> Vec<Doc> {
    let mut rng = Lcg(42);
    let kb = dir.join("bench");
    std::fs::create_dir_all(&kb).unwrap();
    let mut docs = Vec::new();
    for file in 0..chunks.div_ceil(100) {
        let mut text = String::new();
        for section in 0..100.min(chunks - file * 100) {
            let words: Vec<String> = (0..60).map(|_| word(rng.zipf(VOCABULARY))).collect();
            let content = words.join(" ");
            let title = format!("Section {section}");
            text.push_str(&format!("# {title}\n\n{content}\n\n"));
            docs.push(Doc {
                id: format!("doc{file:03}.md#{section}"),
                title,
                content,
            });
        }
        std::fs::write(kb.join(format!("doc{file:03}.md")), text).unwrap();
    }
    docs
}

fn queries(n: usize) -> Vec<String> {
    let mut rng = Lcg(7);
    (0..n)
        .map(|_| {
            (0..3)
                .map(|_| word(rng.zipf(VOCABULARY) / 2 + 50))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99), *samples.last().unwrap())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing: run briefly then.
    let full = std::env::args().any(|a| a == "--bench");
    let rounds = if full { 2000 } else { 50 };
    let bytes = std::fs::read(Path::new(voxgate::plugins::BUILD_DIR).join("rag-bm25.wasm"))
        .expect("built plugin");
    println!(
        "| chunks | index build (plugin) | plugin p50 | plugin p99 | read in place p50 | read in place p99 | native p50 | native p99 | p50 ratio | p99 ratio |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for size in [1_000usize, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let docs = corpus(size, dir.path());
        let knowledge = Arc::new(KnowledgeBases::new(dir.path().to_path_buf()));
        let slot = |cache: Option<Arc<IndexCache>>| {
            let limits = voxgate::plugins::SlotLimits {
                deadline: Duration::from_secs(30),
                max_concurrent: 1,
                ..Config::default().plugins.rag
            };
            let mut slot = Slot::<Rag>::new(
                dir.path(),
                limits,
                None,
                Some(knowledge.clone()),
                Arc::new(Metrics::new()),
                Arc::default(),
            )
            .unwrap();
            if let Some(cache) = cache {
                slot = slot.with_index_cache(cache);
            }
            let version = slot.prepare(&bytes, "bench".into()).unwrap().0;
            slot.install(version);
            slot
        };
        knowledge.load("bench").unwrap(); // read and chunk the files once (host side)
        let qs = queries(rounds);
        // The instance that built the index searches it in its own memory.
        let own = slot(None);
        let started = Instant::now();
        search(&own, "warm up");
        let build = started.elapsed();
        let plugin = timed(&own, &qs);
        // A later instance reads the cached index in place (`index-cache.read`).
        let cached = slot(Some(Arc::new(IndexCache::new(1 << 30))));
        let (built, _) = voxgate::plugins::run_to_completion(cached.call_fresh((
            "bench".into(),
            "build".into(),
            5,
        )))
        .unwrap()
        .unwrap();
        built.expect("the first instance builds and stores the index");
        search(&cached, "open the cached index");
        let in_place = timed(&cached, &qs);
        let index = Index::build(docs);
        let mut native = Vec::with_capacity(rounds);
        for q in &qs {
            let t = Instant::now();
            std::hint::black_box(index.search(q, 5));
            native.push(t.elapsed());
        }
        let (p50, p99, _) = percentiles(plugin);
        let (c50, c99, _) = percentiles(in_place);
        let (n50, n99, _) = percentiles(native);
        println!(
            "| {size} | {:.1} ms | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.1}× | {:.1}× |",
            build.as_secs_f64() * 1e3,
            micros(p50),
            micros(p99),
            micros(c50),
            micros(c99),
            micros(n50),
            micros(n99),
            micros(p50) / micros(n50),
            micros(p99) / micros(n99)
        );
    }
}

fn search(slot: &Slot<Rag>, query: &str) {
    voxgate::plugins::run_to_completion(rag::search(slot, "bench", query, 5))
        .unwrap()
        .unwrap();
}

/// Each query searched once on `slot`, timed.
fn timed(slot: &Slot<Rag>, queries: &[String]) -> Vec<Duration> {
    queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            search(slot, q);
            t.elapsed()
        })
        .collect()
}
