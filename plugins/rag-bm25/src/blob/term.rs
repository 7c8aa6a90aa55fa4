//! One term's record, read from the blob: its postings in doc order, and the positions of
//! any one posting found through the skip table.

use super::SKIP;
use super::bytes::{Reader, u32_at};
use crate::postings::Posting;
use std::borrow::Cow;

/// One term's postings, read from the blob.
#[derive(Debug, Clone)]
pub struct Term<'a> {
    /// Docs holding the term.
    pub df: usize,
    record: Cow<'a, [u8]>,
    skips: std::ops::Range<usize>,
    postings: std::ops::Range<usize>,
    positions: std::ops::Range<usize>,
}

impl<'a> Term<'a> {
    pub(super) fn read(record: Cow<'a, [u8]>) -> Option<Term<'a>> {
        let mut r = Reader::new(&record);
        let df = r.usize()?;
        let (postings, positions) = (r.usize()?, r.usize()?);
        let skips = r.range(df.div_ceil(SKIP).checked_mul(4)?)?;
        let postings = r.range(postings)?;
        let positions = r.range(positions)?;
        Some(Term {
            df,
            record,
            skips,
            postings,
            positions,
        })
    }

    /// The postings in doc order (without positions); stops early at a malformed one.
    pub fn postings(&self) -> Vec<Posting> {
        let mut r = Reader::new(&self.record[self.postings.clone()]);
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
        let skips = &self.record[self.skips.clone()];
        let Some(start) = u32_at(skips, 4 * block) else {
            return;
        };
        let Some(stream) = self.record[self.positions.clone()].get(start as usize..) else {
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
