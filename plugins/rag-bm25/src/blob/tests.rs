//! The blob's tests: round trips through a local and a remote source, positions across skip
//! blocks, damaged blobs, and a source that goes away.

use super::*;
use crate::bm25::{Doc, Index};
use std::rc::Rc;

fn docs() -> Vec<Doc> {
    (0..50)
        .map(|n| Doc {
            id: format!("doc{n}.md#0"),
            title: format!("Heading {n}"),
            content: format!(
                "retry backoff circuit breaker number {n} Größe 東京 {}",
                "filler ".repeat(n % 7 + 20 * (n % 3))
            ),
        })
        .collect()
}

/// A source like the host's cache: every read is a copy, counted; it can be emptied.
#[derive(Clone)]
struct Remote {
    bytes: Rc<Cell<Option<Vec<u8>>>>,
    reads: Rc<Cell<usize>>,
    read_bytes: Rc<Cell<usize>>,
}

impl Remote {
    fn new(bytes: Vec<u8>) -> Remote {
        Remote {
            bytes: Rc::new(Cell::new(Some(bytes))),
            reads: Rc::default(),
            read_bytes: Rc::default(),
        }
    }
}

impl Source for Remote {
    fn read(&self, at: usize, len: usize) -> Option<Cow<'_, [u8]>> {
        let bytes = self.bytes.take()?;
        let piece = bytes
            .get(at..(at + len).min(bytes.len()))
            .map(<[u8]>::to_vec);
        self.bytes.set(Some(bytes));
        self.reads.set(self.reads.get() + 1);
        self.read_bytes
            .set(self.read_bytes.get() + piece.as_ref().map_or(0, Vec::len));
        piece.map(Cow::Owned)
    }
}

#[test]
fn an_index_read_in_place_answers_like_the_one_built() {
    let built = Index::build(docs());
    let remote = Remote::new(built.to_bytes());
    let opened = Index::open(Box::new(remote.clone())).expect("opens");
    let at_open = remote.read_bytes.get();
    assert!(
        at_open < built.to_bytes().len() / 2,
        "open reads the directory only: {at_open} of {} bytes",
        built.to_bytes().len()
    );
    for query in ["circuit breaker 7", "filler größe", "東京 retry", "nothing"] {
        assert_eq!(opened.search(query, 5), built.search(query, 5), "{query}");
    }
    assert!(opened.intact());
    let doc = opened.blob().doc(3).expect("doc 3");
    assert_eq!(
        (doc.id.as_str(), doc.title.as_str()),
        ("doc3.md#0", "Heading 3")
    );
    assert!(opened.blob().doc(50).is_none());
}

#[test]
fn a_source_that_goes_away_marks_the_index_broken_instead_of_answering_less() {
    let remote = Remote::new(Index::build(docs()).to_bytes());
    let opened = Index::open(Box::new(remote.clone())).expect("opens");
    assert!(!opened.search("circuit breaker", 3).is_empty());
    remote.bytes.set(None);
    let _ = opened.search("circuit breaker", 3);
    assert!(!opened.intact());
}

#[test]
fn positions_are_found_past_the_skip_blocks() {
    // "filler" is in 40 docs: its postings span three skip blocks.
    let index = Index::build(docs());
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

fn open(bytes: Vec<u8>) -> Result<Index, String> {
    Index::open(Box::new(bytes))
}

#[test]
fn damaged_blobs_are_errors_not_panics() {
    let bytes = Index::build(docs()).to_bytes();
    assert!(open(Vec::new()).is_err());
    assert!(open(b"VXBM25F3rest".to_vec()).is_err());
    for cut in [8, 9, 100, bytes.len() / 2, bytes.len() - 1] {
        assert!(open(bytes[..cut].to_vec()).is_err(), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(open(longer).is_err());
    // The directory is checksummed: a flipped bit there is refused.
    let directory = u32_at(&bytes, 16 + 4 * 2).unwrap() as usize;
    for at in (8..HEADER).chain(directory..bytes.len()).step_by(7) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x10;
        assert!(open(bad).is_err(), "a flipped bit at {at}");
    }
}

#[test]
fn damaged_records_read_without_panicking() {
    let bytes = Index::build(docs()).to_bytes();
    let directory = u32_at(&bytes, 16 + 4 * 2).unwrap() as usize;
    for seed in 0..20u8 {
        let mut bad = bytes.clone();
        for at in (HEADER + seed as usize..directory).step_by(11) {
            bad[at] = bad[at].wrapping_mul(31).wrapping_add(seed);
        }
        let index = open(bad).expect("the directory is intact");
        for query in ["circuit breaker", "filler", "heading 3 doc3"] {
            let _ = index.search(query, 10);
        }
    }
}
