//! Tuning harness (native, seconds): the ranking's MRR@10 and recall@5 on the known-item
//! evaluation's chunks and queries, for the shipped parameters and a few variations. The
//! gateway-level evaluation (`examples/rag_eval.rs` at the top, through the real plugin) is the
//! one reported; this one is for choosing parameters quickly.
//!
//! `cargo run --release -p rag-bm25 --example known_items -- target/quality`

use rag_bm25::bm25::{Doc, Index, Params};
use std::time::Instant;

fn field(line: &str, name: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.get(name)?.as_str().map(str::to_string)
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/quality".into());
    let chunks = std::fs::read_to_string(format!("{dir}/chunks.jsonl"))
        .expect("chunks.jsonl (run rag_eval first)");
    let docs: Vec<Doc> = chunks
        .lines()
        .map(|l| Doc {
            id: field(l, "id").unwrap(),
            title: field(l, "title").unwrap(),
            content: field(l, "content").unwrap(),
        })
        .collect();
    let queries = std::fs::read_to_string(format!("{dir}/queries.jsonl")).expect("queries.jsonl");
    let queries: Vec<(String, String)> = queries
        .lines()
        .map(|l| (field(l, "query").unwrap(), field(l, "doc").unwrap()))
        .collect();
    let started = Instant::now();
    let mut index = Index::build(docs);
    eprintln!(
        "{} chunks indexed natively in {:?}",
        index.len(),
        started.elapsed()
    );
    let base = Params::default();
    let variants: Vec<(&str, Params)> = vec![
        ("shipped", base),
        (
            "no proximity",
            Params {
                proximity_weight: 0.0,
                ..base
            },
        ),
        (
            "proximity 0.5",
            Params {
                proximity_weight: 0.5,
                ..base
            },
        ),
        (
            "title weight 1",
            Params {
                title_weight: 1.0,
                ..base
            },
        ),
        (
            "b_body 0.75",
            Params {
                b_body: 0.75,
                ..base
            },
        ),
        ("k1 0.9", Params { k1: 0.9, ..base }),
    ];
    for (name, params) in variants {
        index.params = params;
        let (mut mrr, mut recall) = (0.0, 0);
        let started = Instant::now();
        for (query, doc) in &queries {
            let ranked: Vec<String> = index
                .search(query, 10)
                .into_iter()
                .map(|(d, _)| d.id.split('#').next().unwrap_or("").to_string())
                .collect();
            if let Some(rank) = ranked.iter().position(|d| d == doc) {
                mrr += 1.0 / (rank + 1) as f64;
                recall += usize::from(rank < 5);
            }
        }
        let n = queries.len() as f64;
        println!(
            "{name:16} MRR@10 {:.3}  recall@5 {:.3}  ({:.0} µs/query)",
            mrr / n,
            recall as f64 / n,
            started.elapsed().as_secs_f64() * 1e6 / n
        );
    }
}
