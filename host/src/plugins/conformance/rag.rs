//! RAG probes on a generated knowledge base (seeded): `top-k` respected, scores finite and
//! best first, the same answer twice for the same version, every hit a chunk of the KB as the
//! host gave it, an unknown KB refused as such; known-item search reported, not judged.

use super::{Options, Probe, Rng};
use crate::kb::KnowledgeBases;
use crate::plugins::rag::{Hit, Rag, SearchError, answer};
use crate::plugins::slot::Slot;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

const ANSWERS: &str = "every search answers (no trap, deadline or memory fault)";
const TOP_K: &str = "no more hits than top-k";
const FINITE: &str = "every score is finite, best first";
const SAME_TWICE: &str = "the same query twice gives the same answer (same KB version)";
const IN_KB: &str = "every hit is a chunk of the KB (id, title and content as the host gave them)";
const SUCCEEDS: &str = "a search of KB words succeeds (errors only for empty or invalid queries)";
const UNKNOWN_KB: &str = "a search of an unknown KB fails with unknown-kb";

/// The probe knowledge base's id.
const KB: &str = "probe";

/// Words the generated documents are made of: a skewed draw, so some are rare.
const WORDS: &[&str] = &[
    "gateway",
    "session",
    "upstream",
    "retry",
    "backoff",
    "breaker",
    "circuit",
    "socket",
    "reconnect",
    "journal",
    "replay",
    "audio",
    "frame",
    "buffer",
    "latency",
    "timeout",
    "keepalive",
    "plugin",
    "component",
    "search",
    "index",
    "chunk",
    "token",
    "usage",
    "failover",
    "rotation",
    "region",
    "priority",
    "weight",
    "health",
    "metric",
    "console",
    "deadline",
    "memory",
    "sandbox",
    "compile",
    "artifact",
    "cache",
    "version",
    "swap",
    "rollback",
    "watcher",
    "conversation",
    "restore",
    "response",
    "transcript",
    "voice",
    "microphone",
    "speaker",
    "codec",
    "sample",
    "stream",
    "queue",
    "bound",
    "storm",
    "jitter",
];

/// Write a seeded knowledge base of 40 documents (headings, paragraphs) under `dir`.
pub(super) fn knowledge(dir: &Path, seed: u64) -> Result<(Arc<KnowledgeBases>, String), String> {
    let root = dir.join("kbs").join(KB);
    std::fs::create_dir_all(&root).map_err(|e| format!("cannot write the probe KB: {e}"))?;
    let mut rng = Rng(seed ^ 0x6b62);
    for doc in 0..40 {
        let mut text = String::new();
        for section in 0..rng.between(1, 4) {
            let heading: Vec<&str> = (0..rng.between(1, 3)).map(|_| word(&mut rng)).collect();
            text.push_str(&format!("# {} {section}\n\n", heading.join(" ")));
            for _ in 0..rng.between(1, 3) {
                let words: Vec<&str> = (0..rng.between(8, 60)).map(|_| word(&mut rng)).collect();
                text.push_str(&words.join(" "));
                text.push_str(".\n\n");
            }
        }
        std::fs::write(root.join(format!("doc{doc:02}.md")), text)
            .map_err(|e| format!("cannot write the probe KB: {e}"))?;
    }
    Ok((
        Arc::new(KnowledgeBases::new(dir.join("kbs"))),
        KB.to_string(),
    ))
}

/// A word, the first ones far more often (Zipf-like).
fn word(rng: &mut Rng) -> &'static str {
    let a = rng.between(0, WORDS.len() as u64 - 1);
    let b = rng.between(0, WORDS.len() as u64 - 1);
    WORDS[a.min(b) as usize]
}

fn random_query(rng: &mut Rng) -> String {
    match rng.between(0, 9) {
        0 => String::new(),
        1 => "Ünïcödé — ✓ 🚀 ß".to_string(),
        2 => "the of and".to_string(),
        3 => (0..200).map(|_| word(rng)).collect::<Vec<_>>().join(" "),
        4 => format!(
            "{}, {}? ({})!",
            word(rng).to_uppercase(),
            word(rng),
            word(rng)
        ),
        5 => format!("{} zyxwvut {}", word(rng), word(rng)),
        _ => (0..rng.between(1, 6))
            .map(|_| word(rng))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

pub(super) async fn probe(
    slot: &Slot<Rag>,
    knowledge: &KnowledgeBases,
    kb: &str,
    options: Options,
    probe: &mut Probe,
) {
    let chunks: HashMap<String, (String, String)> = match knowledge.load(kb) {
        Ok(snapshot) => snapshot
            .chunks
            .iter()
            .map(|c| (c.id.clone(), (c.title.clone(), c.content.clone())))
            .collect(),
        Err(e) => return probe.check(ANSWERS, Some(format!("the probe KB cannot be read: {e}"))),
    };
    let mut rng = Rng(options.seed);
    for _ in 0..options.runs {
        let query = random_query(&mut rng);
        let top_k = rng.between(0, 20) as u32;
        let Some(first) = search(slot, probe, kb, &query, top_k).await else {
            continue;
        };
        let hits = match first {
            Ok(hits) => hits,
            Err(error) => {
                let plain = !query.trim().is_empty()
                    && query.split_whitespace().all(|w| WORDS.contains(&w));
                if plain {
                    probe.check(
                        SUCCEEDS,
                        Some(format!("{error} for query {}", shown(&query))),
                    );
                }
                continue;
            }
        };
        probe.check(SUCCEEDS, None);
        let context = |what: String| format!("{what} for query {}, top-k {top_k}", shown(&query));
        probe.check(
            TOP_K,
            (hits.len() > top_k as usize).then(|| context(format!("{} hits", hits.len()))),
        );
        let finite = hits.iter().all(|h| h.score.is_finite());
        let ordered = hits.windows(2).all(|w| w[0].score >= w[1].score);
        probe.check(
            FINITE,
            (!finite || !ordered).then(|| context(format!("scores {:?}", scores(&hits)))),
        );
        let outside = hits.iter().find(|h| {
            chunks
                .get(&h.chunk_id)
                .is_none_or(|(title, content)| *title != h.title || *content != h.content)
        });
        probe.check(
            IN_KB,
            outside.map(|h| context(format!("hit {:?} is not that chunk of the KB", h.chunk_id))),
        );
        if let Some(Ok(again)) = search(slot, probe, kb, &query, top_k).await {
            let same = again.len() == hits.len()
                && again
                    .iter()
                    .zip(&hits)
                    .all(|(a, b)| a.chunk_id == b.chunk_id && a.score == b.score);
            probe.check(
                SAME_TWICE,
                (!same).then(|| context(format!("{:?} then {:?}", ids(&hits), ids(&again)))),
            );
        }
    }
    let unknown = probe.timed(answer(slot, "no-such-kb", "gateway", 3)).await;
    probe.check(
        UNKNOWN_KB,
        (!matches!(unknown, Ok(Err(SearchError::UnknownKb(_)))))
            .then(|| format!("got {unknown:?}")),
    );
    known_items(slot, &chunks, kb, &mut rng, options, probe).await;
}

/// One search, its fault (if any) recorded; `None` when the call itself failed.
async fn search(
    slot: &Slot<Rag>,
    probe: &mut Probe,
    kb: &str,
    query: &str,
    top_k: u32,
) -> Option<Result<Vec<Hit>, SearchError>> {
    match probe.timed(answer(slot, kb, query, top_k)).await {
        Ok(answer) => {
            probe.check(ANSWERS, None);
            Some(answer)
        }
        Err(fault) => {
            probe.check(
                ANSWERS,
                Some(format!("{fault} for query {}, top-k {top_k}", shown(query))),
            );
            None
        }
    }
}

/// Known-item search: a chunk's three least common words as the query; where it ranks.
async fn known_items(
    slot: &Slot<Rag>,
    chunks: &HashMap<String, (String, String)>,
    kb: &str,
    rng: &mut Rng,
    options: Options,
    probe: &mut Probe,
) {
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for (_, content) in chunks.values() {
        for word in content
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            *frequency.entry(word).or_default() += 1;
        }
    }
    let mut ids: Vec<&String> = chunks.keys().collect();
    ids.sort();
    let (mut asked, mut found_first, mut found_top5) = (0, 0, 0);
    for _ in 0..(options.runs / 10).clamp(5, 100) {
        let id = *rng.pick(&ids);
        let mut words: Vec<&str> = chunks[id]
            .1
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        words.sort_by_key(|w| (frequency.get(w).copied().unwrap_or(0), *w));
        words.dedup();
        let query = words.iter().take(3).copied().collect::<Vec<_>>().join(" ");
        if let Some(Ok(hits)) = search(slot, probe, kb, &query, 5).await {
            asked += 1;
            let rank = hits.iter().position(|h| h.chunk_id == *id);
            found_first += u32::from(rank == Some(0));
            found_top5 += u32::from(rank.is_some());
        }
    }
    probe.observe(format!(
        "known-item search (a chunk's 3 rarest words): first in {found_first}/{asked}, top 5 in {found_top5}/{asked}"
    ));
}

fn scores(hits: &[Hit]) -> Vec<f64> {
    hits.iter().map(|h| h.score).collect()
}

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.chunk_id.as_str()).collect()
}

/// A query as a counterexample shows it: quoted, long ones cut.
fn shown(query: &str) -> String {
    match query.char_indices().nth(80) {
        Some((cut, _)) => format!("{:?}… ({} chars)", &query[..cut], query.chars().count()),
        None => format!("{query:?}"),
    }
}
