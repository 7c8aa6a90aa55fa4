//! Known-item retrieval run through the real RAG plugin (`rag-bm25.wasm` in a gateway slot):
//! for every query of `<dir>/queries.jsonl`, the top-10 chunk ids from knowledge base `man`
//! under `<dir>/kb`. Writes `<dir>/chunks.jsonl` (the exact chunks the plugin indexed, for
//! the reference implementation) and `<dir>/ours.jsonl`; `evaluate.py` scores both.
//!
//! `python3 benches/quality/build_corpus.py && cargo run --release --example rag_eval -- target/quality && python3 benches/quality/evaluate.py target/quality`

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use voxgate::kb::KnowledgeBases;
use voxgate::metrics::Metrics;
use voxgate::plugins::SlotLimits;
use voxgate::plugins::rag::{self, Rag};
use voxgate::plugins::slot::Slot;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/quality".into()),
    );
    let knowledge = Arc::new(KnowledgeBases::new(dir.join("kb")));
    let snapshot = knowledge.load("man").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut chunks = std::io::BufWriter::new(std::fs::File::create(dir.join("chunks.jsonl"))?);
    for chunk in &snapshot.chunks {
        let line =
            serde_json::json!({ "id": chunk.id, "title": chunk.title, "content": chunk.content });
        writeln!(chunks, "{line}")?;
    }
    chunks.flush()?;
    eprintln!(
        "{} documents, {} chunks",
        snapshot.documents,
        snapshot.chunks.len()
    );

    let scratch = tempfile::tempdir()?;
    let limits = SlotLimits {
        deadline: Duration::from_secs(120),
        memory_bytes: 1 << 30,
        ..voxgate::Config::default().plugins.rag
    };
    let slot = Slot::<Rag>::new(
        scratch.path(),
        limits,
        None,
        Some(knowledge),
        Arc::new(Metrics::new()),
        Arc::default(),
    )?;
    let wasm = std::fs::read(PathBuf::from(voxgate::plugins::BUILD_DIR).join("rag-bm25.wasm"))?;
    let version = slot
        .prepare(&wasm, "rag-bm25".into())
        .map_err(|e| anyhow::anyhow!(e))?
        .0;
    slot.install(version);
    let search = |q: &str, k: u32| {
        voxgate::plugins::run_to_completion(rag::search(&slot, "man", q, k))
            .map_err(anyhow::Error::from)
            .and_then(|r| r.map_err(anyhow::Error::from))
    };
    let started = Instant::now();
    search("warm up the index", 1)?;
    eprintln!(
        "index built in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    let queries = std::fs::read_to_string(dir.join("queries.jsonl"))?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("ours.jsonl"))?);
    let started = Instant::now();
    let mut n = 0;
    for line in queries.lines().filter(|l| !l.trim().is_empty()) {
        let query: serde_json::Value = serde_json::from_str(line)?;
        let text = query["query"].as_str().unwrap_or_default();
        let hits = search(text, 10).unwrap_or_default();
        let ranked: Vec<&str> = hits.iter().map(|h| h.chunk_id.as_str()).collect();
        writeln!(
            out,
            "{}",
            serde_json::json!({ "query": text, "doc": query["doc"], "ranked": ranked })
        )?;
        n += 1;
    }
    out.flush()?;
    eprintln!("{n} queries in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
