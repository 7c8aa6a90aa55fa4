//! The index as one byte buffer: what the host's index cache keeps, and what a search reads
//! directly. Loading a cached index is a checksum and a few table checks, not a decode: the
//! docs and the postings stay in the buffer and are read where a search needs them. (Decoding
//! the previous, LEB128-stream format into maps and strings took 1.0 s natively for 100,000
//! chunks; that was most of a fresh instance's first search.)
//!
//! Layout (integers in tables and the header are u32 little-endian, the rest LEB128):
//!
//! ```text
//! magic "VXBM25F3" | checksum u64 of everything after it | header: docs, terms,
//!   doc table at, term table at, lengths at, lengths end
//! doc records:  id, title, content (each: length, UTF-8 bytes)
//! doc table:    docs + 1 offsets of doc records (the last: where they end)
//! lengths:      per doc, terms in its title and in its body
//! term records: term (length, bytes), df, postings bytes, positions bytes,
//!               skip offsets (u32, one per SKIP postings, into the positions bytes),
//!               postings (doc gap, title tf, body tf), positions (per posting, gap-coded)
//! term table:   terms + 1 offsets of term records, terms in byte order
//! ```
//!
//! A blob from the cache is trusted only after its checksum; even so, every read is bounds-
//! checked and a malformed record reads as absent, never a panic.

use crate::postings::{Posting, Postings};
use std::collections::HashMap;

const MAGIC: &[u8; 8] = b"VXBM25F3";
const HEADER: usize = 16 + 6 * 4;
/// Postings per entry of a term's skip table.
const SKIP: usize = 16;

/// One chunk as stored: borrowed from the blob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DocRef<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub content: &'a str,
}

/// A readable index blob.
#[derive(Debug, PartialEq)]
pub struct Blob {
    bytes: Vec<u8>,
    docs: usize,
    terms: usize,
    doc_table: usize,
    term_table: usize,
    lengths: (usize, usize),
}

impl Blob {
    /// Check `bytes` (magic, checksum, tables) and read them as an index.
    pub fn open(bytes: Vec<u8>) -> Result<Blob, String> {
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err("not an index of this plugin version".into());
        }
        if u64_at(&bytes, 8) != Some(checksum(&bytes[16..])) {
            return Err("checksum mismatch".into());
        }
        let field = |n: usize| u32_at(&bytes, 16 + 4 * n).map_or(0, |v| v as usize);
        let (docs, terms) = (field(0), field(1));
        let blob = Blob {
            docs,
            terms,
            doc_table: field(2),
            term_table: field(3),
            lengths: (field(4), field(5)),
            bytes,
        };
        let in_bounds = |table: usize, entries: usize| {
            (entries + 1)
                .checked_mul(4)
                .and_then(|size| table.checked_add(size))
                .is_some_and(|end| end <= blob.bytes.len())
        };
        if !in_bounds(blob.doc_table, docs) || !in_bounds(blob.term_table, terms) {
            return Err("a table runs past the end".into());
        }
        if blob.lengths.0 > blob.lengths.1 || blob.lengths.1 > blob.bytes.len() {
            return Err("the lengths run past the end".into());
        }
        for (table, entries) in [(blob.doc_table, docs), (blob.term_table, terms)] {
            let offsets = (0..=entries).map(|n| blob.offset(table, n));
            let mut previous = HEADER;
            for offset in offsets {
                match offset {
                    Some(at) if at >= previous && at <= blob.bytes.len() => previous = at,
                    _ => return Err("a table's offsets are out of order".into()),
                }
            }
        }
        Ok(blob)
    }

    /// The bytes, for the index cache.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn docs(&self) -> usize {
        self.docs
    }

    pub fn terms(&self) -> usize {
        self.terms
    }

    /// Terms in each doc's title and body, in doc order.
    pub fn lengths(&self) -> Result<Vec<(u32, u32)>, String> {
        let mut r = Reader::new(&self.bytes[self.lengths.0..self.lengths.1]);
        let mut lengths = Vec::with_capacity(self.docs);
        for _ in 0..self.docs {
            lengths.push((
                r.u32().ok_or("truncated lengths")?,
                r.u32().ok_or("truncated lengths")?,
            ));
        }
        Ok(lengths)
    }

    /// Doc `n`, if it is there and well formed.
    pub fn doc(&self, n: u32) -> Option<DocRef<'_>> {
        let n = n as usize;
        if n >= self.docs {
            return None;
        }
        let record = self.record(self.doc_table, n)?;
        let mut r = Reader::new(record);
        Some(DocRef {
            id: r.text()?,
            title: r.text()?,
            content: r.text()?,
        })
    }

    /// The postings of `term`, if it occurs.
    pub fn term(&self, term: &str) -> Option<Term<'_>> {
        let (mut low, mut high) = (0, self.terms);
        while low < high {
            let middle = (low + high) / 2;
            let mut r = Reader::new(self.record(self.term_table, middle)?);
            let name = r.bytes()?;
            match name.cmp(term.as_bytes()) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Term::read(r),
            }
        }
        None
    }

    fn offset(&self, table: usize, n: usize) -> Option<usize> {
        u32_at(&self.bytes, table + 4 * n).map(|v| v as usize)
    }

    /// Record `n` of the table at `table`.
    fn record(&self, table: usize, n: usize) -> Option<&[u8]> {
        self.bytes
            .get(self.offset(table, n)?..self.offset(table, n + 1)?)
    }
}

/// One term's postings, read from the blob.
#[derive(Debug, Clone, Copy)]
pub struct Term<'a> {
    /// Docs holding the term.
    pub df: usize,
    postings: &'a [u8],
    positions: &'a [u8],
    skips: &'a [u8],
}

impl<'a> Term<'a> {
    fn read(mut r: Reader<'a>) -> Option<Term<'a>> {
        let df = r.usize()?;
        let (postings, positions) = (r.usize()?, r.usize()?);
        let skips = r.take(df.div_ceil(SKIP).checked_mul(4)?)?;
        Some(Term {
            df,
            postings: r.take(postings)?,
            positions: r.take(positions)?,
            skips,
        })
    }

    /// The postings in doc order (without positions); stops early at a malformed one.
    pub fn postings(&self) -> Vec<Posting> {
        let mut r = Reader::new(self.postings);
        let mut list = Vec::with_capacity(self.df);
        let mut doc = 0u32;
        for n in 0..self.df {
            let Some((gap, title_tf, body_tf)) = (|| Some((r.u32()?, r.u32()?, r.u32()?)))() else {
                break;
            };
            let Some(next) = doc.checked_add(gap).filter(|_| n == 0 || gap > 0) else {
                break;
            };
            doc = next;
            list.push(Posting {
                doc,
                title_tf,
                body_tf,
                start: 0,
            });
        }
        list
    }

    /// The positions of posting `k` of `list` (this term's [`Term::postings`]) into `out`.
    pub fn positions(&self, list: &[Posting], k: usize, out: &mut Vec<u32>) {
        out.clear();
        let block = k / SKIP;
        let Some(start) = u32_at(self.skips, 4 * block) else {
            return;
        };
        let Some(stream) = self.positions.get(start as usize..) else {
            return;
        };
        let mut r = Reader::new(stream);
        for posting in list.get(block * SKIP..k).unwrap_or_default() {
            for _ in 0..posting.occurrences() {
                if r.u32().is_none() {
                    return;
                }
            }
        }
        let Some(posting) = list.get(k) else {
            return;
        };
        let mut at = 0u32;
        for _ in 0..posting.occurrences() {
            match r.u32().and_then(|gap| at.checked_add(gap)) {
                Some(position) => {
                    at = position;
                    out.push(position);
                }
                None => return,
            }
        }
    }
}

/// The blob of an index built from `docs`: `lengths[n]` are doc `n`'s title and body terms,
/// `terms` its postings.
pub fn write(
    docs: &[crate::bm25::Doc],
    lengths: &[(u32, u32)],
    terms: &HashMap<String, Postings>,
) -> Blob {
    let text_bytes: usize = docs
        .iter()
        .map(|d| d.id.len() + d.title.len() + d.content.len() + 6)
        .sum();
    let mut out = Vec::with_capacity(HEADER + text_bytes + 4 * (docs.len() + terms.len()));
    out.extend_from_slice(MAGIC);
    out.resize(HEADER, 0);
    let mut doc_offsets = Vec::with_capacity(docs.len() + 1);
    for doc in docs {
        doc_offsets.push(out.len());
        for text in [&doc.id, &doc.title, &doc.content] {
            varint(&mut out, text.len() as u64);
            out.extend_from_slice(text.as_bytes());
        }
    }
    doc_offsets.push(out.len());
    let doc_table = table(&mut out, &doc_offsets);
    let lengths_at = out.len();
    for &(title, body) in lengths {
        varint(&mut out, u64::from(title));
        varint(&mut out, u64::from(body));
    }
    let lengths_end = out.len();
    let mut sorted: Vec<(&String, &Postings)> = terms.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut term_offsets = Vec::with_capacity(sorted.len() + 1);
    let (mut postings, mut positions, mut skips) = (Vec::new(), Vec::new(), Vec::new());
    for (term, list) in &sorted {
        term_offsets.push(out.len());
        encode_postings(list, &mut postings, &mut positions, &mut skips);
        varint(&mut out, term.len() as u64);
        out.extend_from_slice(term.as_bytes());
        for n in [list.list.len(), postings.len(), positions.len()] {
            varint(&mut out, n as u64);
        }
        out.extend_from_slice(&skips);
        out.extend_from_slice(&postings);
        out.extend_from_slice(&positions);
    }
    term_offsets.push(out.len());
    let term_table = table(&mut out, &term_offsets);
    let header = [
        docs.len(),
        sorted.len(),
        doc_table,
        term_table,
        lengths_at,
        lengths_end,
    ];
    for (n, value) in header.into_iter().enumerate() {
        out[16 + 4 * n..20 + 4 * n].copy_from_slice(&(value as u32).to_le_bytes());
    }
    let sum = checksum(&out[16..]);
    out[8..16].copy_from_slice(&sum.to_le_bytes());
    Blob {
        bytes: out,
        docs: docs.len(),
        terms: sorted.len(),
        doc_table,
        term_table,
        lengths: (lengths_at, lengths_end),
    }
}

/// One term's postings, positions and skip table, each into its (cleared) buffer.
fn encode_postings(
    list: &Postings,
    postings: &mut Vec<u8>,
    positions: &mut Vec<u8>,
    skips: &mut Vec<u8>,
) {
    postings.clear();
    positions.clear();
    skips.clear();
    let mut previous = 0u32;
    for (n, p) in list.list.iter().enumerate() {
        if n % SKIP == 0 {
            skips.extend_from_slice(&(positions.len() as u32).to_le_bytes());
        }
        varint(postings, u64::from(p.doc - previous));
        previous = p.doc;
        varint(postings, u64::from(p.title_tf));
        varint(postings, u64::from(p.body_tf));
        let mut at = 0u32;
        for &position in list.positions_of(p) {
            varint(positions, u64::from(position - at));
            at = position;
        }
    }
}

/// Append `offsets` as a table of u32; where it starts.
fn table(out: &mut Vec<u8>, offsets: &[usize]) -> usize {
    let at = out.len();
    for &offset in offsets {
        out.extend_from_slice(&(offset as u32).to_le_bytes());
    }
    at
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let mut word = [0u8; 4];
    word.copy_from_slice(bytes.get(at..at.checked_add(4)?)?);
    Some(u32::from_le_bytes(word))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes.get(at..at.checked_add(8)?)?);
    Some(u64::from_le_bytes(word))
}

/// A 64-bit checksum, a word at a time (a few ms for 50 MB): catches a damaged blob, not an
/// adversary (the cache only ever holds what this plugin stored).
fn checksum(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut hash = (bytes.len() as u64).wrapping_mul(PRIME);
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash ^ u64::from_le_bytes(word))
            .wrapping_mul(PRIME)
            .rotate_left(31);
    }
    for &byte in words.remainder() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME).rotate_left(31);
    }
    hash ^ (hash >> 29)
}

/// Bounds-checked reads from a slice; `None` when it runs out or a number is malformed.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let piece = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(piece)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at)?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.varint()?).ok()
    }

    fn usize(&mut self) -> Option<usize> {
        usize::try_from(self.varint()?).ok()
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.usize()?;
        self.take(n)
    }

    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bm25::{Doc, Index};

    fn sample() -> Index {
        Index::build((0..50).map(|n| Doc {
            id: format!("doc{n}.md#0"),
            title: format!("Heading {n}"),
            content: format!(
                "retry backoff circuit breaker number {n} Größe 東京 {}",
                "filler ".repeat(n % 7 + 20 * (n % 3))
            ),
        }))
    }

    #[test]
    fn an_index_survives_the_round_trip() {
        let index = sample();
        let reopened = Index::from_bytes(index.bytes().to_vec()).expect("opens");
        for query in ["circuit breaker 7", "filler größe", "東京 retry"] {
            assert_eq!(reopened.search(query, 5), index.search(query, 5));
        }
        let doc = reopened.blob().doc(3).expect("doc 3");
        assert_eq!((doc.id, doc.title), ("doc3.md#0", "Heading 3"));
        assert!(reopened.blob().doc(50).is_none());
    }

    #[test]
    fn positions_are_found_past_the_skip_blocks() {
        // "filler" is in 40 docs: its postings span three skip blocks.
        let index = sample();
        let term = index.blob().term("filler").expect("filler");
        let list = term.postings();
        assert_eq!(list.len(), term.df);
        assert!(list.len() > 2 * SKIP);
        let mut positions = Vec::new();
        for (k, posting) in list.iter().enumerate() {
            term.positions(&list, k, &mut positions);
            assert_eq!(positions.len() as u32, posting.occurrences(), "posting {k}");
            assert!(positions.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn damaged_blobs_are_errors_not_panics() {
        let bytes = sample().bytes().to_vec();
        assert!(Blob::open(Vec::new()).is_err());
        assert!(Blob::open(b"VXBM25F2rest".to_vec()).is_err());
        for cut in [8, 9, 100, bytes.len() / 2, bytes.len() - 1] {
            assert!(Blob::open(bytes[..cut].to_vec()).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Blob::open(longer).is_err());
        for at in (8..bytes.len()).step_by(97) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(Blob::open(bad).is_err(), "a flipped bit at {at}");
        }
    }

    #[test]
    fn a_blob_with_a_valid_checksum_but_nonsense_inside_reads_without_panicking() {
        let mut bytes = sample().bytes().to_vec();
        for at in (HEADER..bytes.len()).step_by(13) {
            bytes[at] = bytes[at].wrapping_mul(31).wrapping_add(7);
        }
        let sum = checksum(&bytes[16..]);
        bytes[8..16].copy_from_slice(&sum.to_le_bytes());
        if let Ok(index) = Index::from_bytes(bytes) {
            for query in ["circuit breaker", "filler", "heading 3 doc3"] {
                let _ = index.search(query, 10);
            }
        }
    }
}
