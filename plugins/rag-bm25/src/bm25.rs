//! Okapi BM25 (k1 = 1.2, b = 0.75) over an in-memory inverted index.

use crate::tokenize::tokens;
use std::collections::HashMap;

pub const K1: f64 = 1.2;
pub const B: f64 = 0.75;

/// One searchable unit (a chunk of a document).
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub id: String,
    pub title: String,
    pub content: String,
}

/// An inverted index: term → postings `(doc, term frequency)`.
pub struct Index {
    docs: Vec<Doc>,
    lengths: Vec<u32>,
    average_length: f64,
    terms: HashMap<String, Vec<(u32, u32)>>,
}

impl Index {
    /// Index the title and content of every doc.
    pub fn build(docs: impl IntoIterator<Item = Doc>) -> Index {
        let docs: Vec<Doc> = docs.into_iter().collect();
        let mut terms: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(docs.len());
        let mut counts: HashMap<String, u32> = HashMap::new();
        for (n, doc) in docs.iter().enumerate() {
            counts.clear();
            let mut length = 0u32;
            for term in tokens(&doc.title).chain(tokens(&doc.content)) {
                *counts.entry(term).or_default() += 1;
                length += 1;
            }
            lengths.push(length);
            for (term, tf) in counts.drain() {
                terms.entry(term).or_default().push((n as u32, tf));
            }
        }
        let total: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
        let average_length = if docs.is_empty() {
            0.0
        } else {
            total as f64 / docs.len() as f64
        };
        Index {
            docs,
            lengths,
            average_length,
            terms,
        }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Number of distinct terms.
    pub fn vocabulary(&self) -> usize {
        self.terms.len()
    }

    /// Inverse document frequency, the non-negative form (Lucene's): ln(1 + (N − df + ½)/(df + ½)).
    fn idf(&self, df: usize) -> f64 {
        let n = self.docs.len() as f64;
        let df = df as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// The `top_k` best docs for `query` with their scores, best first; docs matching no query
    /// term are never returned. Ties keep index order, so results are deterministic.
    pub fn search(&self, query: &str, top_k: usize) -> Vec<(&Doc, f64)> {
        if top_k == 0 || self.docs.is_empty() {
            return Vec::new();
        }
        let mut query_terms: Vec<String> = tokens(query).collect();
        query_terms.sort();
        query_terms.dedup();
        let mut scores: HashMap<u32, f64> = HashMap::new();
        for term in &query_terms {
            let Some(postings) = self.terms.get(term) else {
                continue;
            };
            let idf = self.idf(postings.len());
            for &(doc, tf) in postings {
                let tf = f64::from(tf);
                let dl = f64::from(self.lengths[doc as usize]);
                let norm = K1 * (1.0 - B + B * dl / self.average_length.max(1.0));
                *scores.entry(doc).or_default() += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut ranked: Vec<(u32, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(top_k);
        ranked
            .into_iter()
            .map(|(doc, score)| (&self.docs[doc as usize], score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, content: &str) -> Doc {
        Doc {
            id: id.into(),
            title: String::new(),
            content: content.into(),
        }
    }

    fn ids(index: &Index, query: &str, k: usize) -> Vec<String> {
        index
            .search(query, k)
            .into_iter()
            .map(|(d, _)| d.id.clone())
            .collect()
    }

    #[test]
    fn rare_terms_outrank_common_ones() {
        let index = Index::build([
            doc("a", "gateway gateway gateway session"),
            doc("b", "gateway breaker"),
            doc("c", "gateway session"),
            doc("d", "gateway retry"),
        ]);
        // "breaker" occurs once in the corpus, "gateway" everywhere.
        assert_eq!(ids(&index, "gateway breaker", 4)[0], "b");
    }

    #[test]
    fn term_frequency_saturates_and_length_normalises() {
        let index = Index::build([
            doc("long", &format!("retry {}", "filler ".repeat(200))),
            doc("short", "retry backoff"),
            doc("other", "nothing relevant"),
        ]);
        assert_eq!(ids(&index, "retry", 3), ["short", "long"]);
    }

    #[test]
    fn known_ordering_by_hand() {
        let index = Index::build([
            doc("1", "circuit breaker opens after five failures"),
            doc(
                "2",
                "the breaker closes after a good probe in half open state",
            ),
            doc("3", "retry with exponential backoff"),
            doc("4", "circuit breaker breaker breaker"),
        ]);
        assert_eq!(ids(&index, "breaker", 4), ["4", "1", "2"]);
        assert_eq!(ids(&index, "exponential backoff retry", 4), ["3"]);
        assert_eq!(ids(&index, "circuit probe", 4)[0], "2");
    }

    #[test]
    fn scores_match_the_formula() {
        let index = Index::build([doc("x", "alpha beta"), doc("y", "beta gamma delta")]);
        let hits = index.search("alpha", 1);
        let idf = (1.0f64 + (2.0 - 1.0 + 0.5) / (1.0 + 0.5)).ln();
        let avgdl = 2.5;
        let expected = idf * 1.0 * (K1 + 1.0) / (1.0 + K1 * (1.0 - B + B * 2.0 / avgdl));
        assert!(
            (hits[0].1 - expected).abs() < 1e-12,
            "{} vs {expected}",
            hits[0].1
        );
    }

    #[test]
    fn no_match_empty_and_top_k() {
        let index = Index::build([doc("a", "one"), doc("b", "one two"), doc("c", "one three")]);
        assert!(index.search("zebra", 5).is_empty());
        assert!(index.search("the of and", 5).is_empty());
        assert_eq!(index.search("one", 2).len(), 2);
        assert!(index.search("one", 0).is_empty());
        assert!(Index::build([]).search("one", 3).is_empty());
    }

    #[test]
    fn ties_are_deterministic() {
        let index = Index::build([doc("a", "identical words"), doc("b", "identical words")]);
        assert_eq!(ids(&index, "identical", 2), ["a", "b"]);
    }
}
