//! The index as bytes, for the host's index cache: a versioned, self-checking format (magic,
//! LEB128 integers, length-prefixed UTF-8), read back without trusting it — a blob that does
//! not parse is an error, never a panic, and the plugin rebuilds.

use crate::bm25::{Doc, Index};
use crate::postings::Postings;
use std::collections::HashMap;

const MAGIC: &[u8; 8] = b"VXBM25F2";

/// The bytes of `index`.
pub fn encode(index: &Index) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        64 + index
            .docs
            .iter()
            .map(|d| d.id.len() + d.title.len() + d.content.len() + 8)
            .sum::<usize>(),
    );
    out.extend_from_slice(MAGIC);
    varint(&mut out, index.docs.len() as u64);
    for (doc, (title_len, body_len)) in index.docs.iter().zip(&index.lengths) {
        text(&mut out, &doc.id);
        text(&mut out, &doc.title);
        text(&mut out, &doc.content);
        varint(&mut out, u64::from(*title_len));
        varint(&mut out, u64::from(*body_len));
    }
    let mut terms: Vec<(&String, &Postings)> = index.terms.iter().collect();
    terms.sort_by(|a, b| a.0.cmp(b.0));
    varint(&mut out, terms.len() as u64);
    for (term, postings) in terms {
        text(&mut out, term);
        varint(&mut out, postings.list.len() as u64);
        let mut previous = 0u32;
        for p in &postings.list {
            // Doc numbers and positions ascend: store the gaps.
            varint(&mut out, u64::from(p.doc - previous));
            previous = p.doc;
            varint(&mut out, u64::from(p.title_tf));
            varint(&mut out, u64::from(p.body_tf));
            let start = p.start as usize;
            let mut at = 0u32;
            for &position in &postings.positions[start..start + (p.title_tf + p.body_tf) as usize] {
                varint(&mut out, u64::from(position - at));
                at = position;
            }
        }
    }
    out
}

/// The index in `bytes`, or why they are not one.
pub fn decode(bytes: &[u8]) -> Result<Index, String> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not an index of this plugin version".into());
    }
    let count = r.count()?;
    let mut docs = Vec::with_capacity(count);
    let mut lengths = Vec::with_capacity(count);
    for _ in 0..count {
        docs.push(Doc {
            id: r.text()?,
            title: r.text()?,
            content: r.text()?,
        });
        lengths.push((r.u32()?, r.u32()?));
    }
    let term_count = r.count()?;
    let mut terms = HashMap::with_capacity(term_count);
    for _ in 0..term_count {
        let term = r.text()?;
        let n = r.count()?;
        let mut postings = Postings::default();
        let mut doc = 0u32;
        let mut positions = Vec::new();
        for i in 0..n {
            let gap = r.u32()?;
            if i > 0 && gap == 0 {
                return Err("postings out of doc order".into());
            }
            doc = doc.checked_add(gap).ok_or("doc number overflows")?;
            let (title_tf, body_tf) = (r.u32()?, r.u32()?);
            let (Some(end), Some(&(title_len, body_len))) =
                (title_tf.checked_add(body_tf), lengths.get(doc as usize))
            else {
                return Err(format!("posting for doc {doc} of {}", docs.len()));
            };
            if title_tf > title_len || u64::from(end) > u64::from(title_len) + u64::from(body_len) {
                return Err(format!("doc {doc}: more occurrences than terms"));
            }
            positions.clear();
            let mut at = 0u32;
            for _ in 0..end {
                at = at.checked_add(r.u32()?).ok_or("position overflows")?;
                positions.push(at);
            }
            postings.push(doc, title_tf, body_tf, &positions);
        }
        terms.insert(term, postings);
    }
    if r.at != bytes.len() {
        return Err(format!("{} bytes after the index", bytes.len() - r.at));
    }
    Ok(Index::from_parts(docs, lengths, terms))
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn text(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or("truncated index")?;
        let piece = &self.bytes[self.at..end];
        self.at = end;
        Ok(piece)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("integer too long".into())
    }

    fn u32(&mut self) -> Result<u32, String> {
        u32::try_from(self.varint()?).map_err(|_| "number out of range".to_string())
    }

    /// A count of things still to read: never more than the bytes left (each takes ≥ 1).
    fn count(&mut self) -> Result<usize, String> {
        let n = self.varint()?;
        if n > (self.bytes.len() - self.at) as u64 {
            return Err(format!("count {n} exceeds the bytes left"));
        }
        Ok(n as usize)
    }

    fn text(&mut self) -> Result<String, String> {
        let n = self.count()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "text is not UTF-8".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Index {
        Index::build((0..50).map(|n| Doc {
            id: format!("doc{n}.md#0"),
            title: format!("Heading {n}"),
            content: format!(
                "retry backoff circuit breaker number {n} Größe 東京 {}",
                "filler ".repeat(n % 7)
            ),
        }))
    }

    #[test]
    fn an_index_survives_the_round_trip() {
        let index = sample();
        let decoded = decode(&encode(&index)).expect("decodes");
        assert_eq!(decoded, index);
        assert_eq!(
            decoded.search("circuit breaker 7", 3),
            index.search("circuit breaker 7", 3)
        );
    }

    #[test]
    fn damaged_blobs_are_errors_not_panics() {
        let bytes = encode(&sample());
        assert!(decode(b"").is_err());
        assert!(decode(b"VXBM25F0rest").is_err());
        for cut in [8, 9, 100, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
        // Every single-byte corruption either decodes to something or is refused.
        for at in (8..bytes.len()).step_by(97) {
            let mut bad = bytes.clone();
            bad[at] ^= 0xff;
            let _ = decode(&bad);
        }
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(decode(&huge).is_err(), "a count beyond the bytes");
    }
}
