//! A term's postings (which docs hold it, how often per field, at which positions) and the
//! proximity bonus computed from positions.

use std::collections::BTreeMap;

/// One doc's occurrences of a term, per field (`start` is only meaningful while building).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Posting {
    pub doc: u32,
    pub title_tf: u32,
    pub body_tf: u32,
    /// Where this doc's positions start in [`Postings::positions`] (title_tf + body_tf of them).
    pub start: u32,
}

/// A term's postings in doc order, and the positions of its occurrences (the title's terms
/// count first, then the body's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Postings {
    pub list: Vec<Posting>,
    pub positions: Vec<u32>,
}

impl Postings {
    pub(crate) fn push(&mut self, doc: u32, title_tf: u32, body_tf: u32, positions: &[u32]) {
        self.list.push(Posting {
            doc,
            title_tf,
            body_tf,
            start: self.positions.len() as u32,
        });
        self.positions.extend_from_slice(positions);
    }

    /// The positions of `posting` (one of this list's).
    pub(crate) fn positions_of(&self, posting: &Posting) -> &[u32] {
        let start = posting.start as usize;
        self.positions
            .get(start..start + posting.occurrences() as usize)
            .unwrap_or_default()
    }
}

impl Posting {
    /// Occurrences of the term in the doc, title and body.
    pub fn occurrences(&self) -> u32 {
        self.title_tf.saturating_add(self.body_tf)
    }
}

/// The proximity bonus of a doc: for every two different query terms at most `window` terms
/// apart, 1/gap², weighted by the rarer term's idf and saturated like a term frequency.
/// `found`: the query's terms (their positions in the doc, idf).
pub(crate) fn proximity(found: &[(Vec<u32>, f64)], window: u32, k1: f64) -> f64 {
    let mut occurrences: Vec<(u32, usize)> = Vec::new();
    for (term, (positions, _)) in found.iter().enumerate() {
        occurrences.extend(positions.iter().map(|&p| (p, term)));
    }
    occurrences.sort_unstable();
    // Ordered: the sum must not depend on a hash seed (same query, same score, to the bit).
    let mut pairs: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for (i, &(position, term)) in occurrences.iter().enumerate() {
        for &(earlier, other) in occurrences[..i].iter().rev() {
            let gap = position - earlier;
            if gap > window {
                break;
            }
            if other != term && gap > 0 {
                let gap = f64::from(gap);
                *pairs.entry((other.min(term), other.max(term))).or_default() += 1.0 / (gap * gap);
            }
        }
    }
    pairs
        .into_iter()
        .map(|((a, b), tp)| found[a].1.min(found[b].1) * tp * (k1 + 1.0) / (tp + k1))
        .sum()
}
