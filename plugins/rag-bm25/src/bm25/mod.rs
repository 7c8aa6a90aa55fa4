//! BM25F over an in-memory inverted index, with a proximity bonus.
//!
//! Each chunk has two fields, its title (the nearest heading) and its body. A term's frequency
//! is normalised per field and the title weighted above the body before BM25's saturation
//! (BM25F, Robertson & Zaragoza 2009): a query word in a heading says more than one in the
//! text. The best candidates are then re-scored with a bonus for query terms that occur close
//! together in the chunk (after Rasolofo & Savoy's BM25TP), so "circuit breaker" prefers a
//! chunk saying exactly that over one mentioning a circuit and, much later, a breaker.

use crate::blob::{Blob, Source};
use crate::postings::{Posting, Postings, proximity};
use crate::tokenize::{Stems, tokens};
use std::collections::HashMap;

/// The ranking's settings; [`Params::default`] is what the plugin ships with (tuned on the
/// man-page known-item evaluation, `examples/known_items.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub k1: f64,
    /// Length normalisation of the body and of the title.
    pub b_body: f64,
    pub b_title: f64,
    /// How much a title occurrence counts next to a body occurrence.
    pub title_weight: f64,
    /// Candidates re-scored for proximity.
    pub proximity_candidates: usize,
    /// The widest gap (in terms) that still counts as close.
    pub proximity_window: u32,
    /// The proximity bonus's weight next to the BM25F score (0: no proximity).
    pub proximity_weight: f64,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            k1: 1.2,
            b_body: 0.9,
            b_title: 0.5,
            title_weight: 3.0,
            proximity_candidates: 30,
            proximity_window: 2,
            proximity_weight: 0.1,
        }
    }
}

/// One searchable unit (a chunk of a document).
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub id: String,
    pub title: String,
    pub content: String,
}

/// An inverted index: term → postings, held as one blob (`blob`) that searches read in place,
/// so the index cache's copy is usable without copying or decoding it.
#[derive(Debug)]
pub struct Index {
    blob: Blob,
    /// Terms per doc: (title, body).
    lengths: Vec<(u32, u32)>,
    average_title: f64,
    average_body: f64,
    pub params: Params,
}

impl Index {
    /// Index the title and content of every doc.
    pub fn build(docs: impl IntoIterator<Item = Doc>) -> Index {
        let docs: Vec<Doc> = docs.into_iter().collect();
        let mut terms: HashMap<String, Postings> = HashMap::new();
        let mut lengths = Vec::with_capacity(docs.len());
        let mut stems = Stems::default();
        let (mut title, mut body) = (Vec::new(), Vec::new());
        for (n, doc) in docs.iter().enumerate() {
            title.clear();
            body.clear();
            stems.tokens(&doc.title, &mut title);
            stems.tokens(document_name(&doc.id), &mut title);
            stems.tokens(&doc.content, &mut body);
            lengths.push((title.len() as u32, body.len() as u32));
            // term → (title tf, positions) within this doc.
            let mut occurrences: HashMap<&str, (u32, Vec<u32>)> = HashMap::new();
            for (position, term) in title.iter().chain(&body).enumerate() {
                let entry = occurrences.entry(term.as_str()).or_default();
                if position < title.len() {
                    entry.0 += 1;
                }
                entry.1.push(position as u32);
            }
            // Docs are visited in order, so every term's postings stay in doc order.
            for (term, (title_tf, positions)) in occurrences.drain() {
                let body_tf = positions.len() as u32 - title_tf;
                match terms.get_mut(term) {
                    Some(postings) => postings.push(n as u32, title_tf, body_tf, &positions),
                    None => {
                        let mut postings = Postings::default();
                        postings.push(n as u32, title_tf, body_tf, &positions);
                        terms.insert(term.to_string(), postings);
                    }
                }
            }
        }
        let bytes = crate::blob::write(&docs, &lengths, &terms);
        drop((docs, terms));
        let blob = Blob::open(Box::new(bytes)).expect("a blob just written opens");
        Index::with_lengths(blob, lengths)
    }

    /// The index whose blob `source` reads (an index cache entry), or why it is not one.
    pub fn open(source: Box<dyn Source>) -> Result<Index, String> {
        let blob = Blob::open(source)?;
        let lengths = blob.lengths()?;
        Ok(Index::with_lengths(blob, lengths))
    }

    fn with_lengths(blob: Blob, lengths: Vec<(u32, u32)>) -> Index {
        let n = lengths.len().max(1) as f64;
        let average_title = lengths.iter().map(|l| f64::from(l.0)).sum::<f64>() / n;
        let average_body = lengths.iter().map(|l| f64::from(l.1)).sum::<f64>() / n;
        Index {
            blob,
            lengths,
            average_title,
            average_body,
            params: Params::default(),
        }
    }

    pub fn blob(&self) -> &Blob {
        &self.blob
    }

    /// The blob's bytes, for the index cache.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.blob.read_all().unwrap_or_default().into_owned()
    }

    /// Whether every read of its blob succeeded (see [`Blob::intact`]).
    pub fn intact(&self) -> bool {
        self.blob.intact()
    }

    pub fn len(&self) -> usize {
        self.blob.docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct terms.
    pub fn vocabulary(&self) -> usize {
        self.blob.terms()
    }

    /// Inverse document frequency, the non-negative form (Lucene's): ln(1 + (N − df + ½)/(df + ½)).
    fn idf(&self, df: usize) -> f64 {
        let n = self.len() as f64;
        let df = df as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// A term's field-weighted, length-normalised frequency in one doc (BM25F's tf~).
    fn weighted_tf(&self, posting: &Posting) -> f64 {
        let (title_len, body_len) = self
            .lengths
            .get(posting.doc as usize)
            .copied()
            .unwrap_or_default();
        let p = &self.params;
        let norm = |len: u32, average: f64, b: f64| 1.0 - b + b * f64::from(len) / average.max(1.0);
        p.title_weight * f64::from(posting.title_tf)
            / norm(title_len, self.average_title, p.b_title)
            + f64::from(posting.body_tf) / norm(body_len, self.average_body, p.b_body)
    }

    /// The `top_k` best docs for `query` with their scores, best first; docs matching no query
    /// term are never returned. Ties keep index order, so results are deterministic.
    pub fn search(&self, query: &str, top_k: usize) -> Vec<(Doc, f64)> {
        if top_k == 0 || self.is_empty() {
            return Vec::new();
        }
        let mut query_terms: Vec<String> = tokens(query).collect();
        query_terms.sort();
        query_terms.dedup();
        let Params {
            k1,
            proximity_candidates,
            proximity_weight,
            proximity_window,
            ..
        } = self.params;
        // The query's terms found in the index: the term, its postings, its idf.
        let mut found = Vec::new();
        // Per doc: score, distinct query terms matched (dense: faster than a map when
        // common terms touch a large part of the KB).
        let mut scores: Vec<(f64, u32)> = vec![(0.0, 0); self.len()];
        for term in &query_terms {
            let Some(term) = self.blob.term(term) else {
                continue;
            };
            let list = term.postings();
            let idf = self.idf(list.len());
            for posting in &list {
                let tf = self.weighted_tf(posting);
                if let Some(entry) = scores.get_mut(posting.doc as usize) {
                    entry.0 += idf * tf * (k1 + 1.0) / (tf + k1);
                    entry.1 += 1;
                }
            }
            found.push((term, list, idf));
        }
        let mut ranked: Vec<(u32, f64, u32)> = scores
            .into_iter()
            .enumerate()
            .filter(|(_, (_, matched))| *matched > 0)
            .map(|(d, (s, m))| (d as u32, s, m))
            .collect();
        let order =
            |a: &(u32, f64, u32), b: &(u32, f64, u32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        // Only the best few are ever returned or re-scored: select them, sort only those.
        let keep = proximity_candidates.max(top_k);
        if ranked.len() > keep {
            ranked.select_nth_unstable_by(keep - 1, order);
            ranked.truncate(keep);
        }
        ranked.sort_by(order);
        if found.len() > 1 && proximity_weight > 0.0 {
            ranked.truncate(proximity_candidates.max(top_k));
            // Per query term: its positions in the doc being re-scored, and its idf.
            let mut positions: Vec<(Vec<u32>, f64)> =
                found.iter().map(|(_, _, idf)| (Vec::new(), *idf)).collect();
            for (doc, score, matched) in &mut ranked {
                if *matched > 1 {
                    for ((term, list, _), (into, _)) in found.iter().zip(&mut positions) {
                        match list.binary_search_by_key(doc, |p| p.doc) {
                            Ok(k) => term.positions(list, k, into),
                            Err(_) => into.clear(),
                        }
                    }
                    *score += proximity_weight * proximity(&positions, proximity_window, k1);
                }
            }
            ranked.sort_by(order);
        }
        ranked.truncate(top_k);
        ranked
            .into_iter()
            .filter_map(|(doc, score, _)| Some((self.blob.doc(doc)?, score)))
            .collect()
    }
}

/// The document a chunk comes from, by name: its id's path (`<relative path>#<n>`) without
/// the chunk number and the file extension. Part of the title field: a file called
/// `circuit-breakers.md` is about circuit breakers.
pub fn document_name(chunk_id: &str) -> &str {
    let path = chunk_id.rsplit_once('#').map_or(chunk_id, |(path, _)| path);
    path.rsplit_once('.').map_or(path, |(stem, _)| stem)
}

#[cfg(test)]
mod tests;
