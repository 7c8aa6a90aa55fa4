//! Writing an index's blob (the layout is described in the module above).

use super::bytes::{checksum, varint};
use super::{FIELDS, HEADER, MAGIC, SKIP};
use crate::bm25::Doc;
use crate::postings::Postings;
use std::collections::HashMap;

/// The blob of an index built from `docs`: `lengths[n]` are doc `n`'s title and body terms,
/// `terms` its postings.
pub fn write(docs: &[Doc], lengths: &[(u32, u32)], terms: &HashMap<String, Postings>) -> Vec<u8> {
    let text_bytes: usize = docs
        .iter()
        .map(|d| d.id.len() + d.title.len() + d.content.len() + 6)
        .sum();
    let mut out = Vec::with_capacity(HEADER + text_bytes + 8 * (docs.len() + terms.len()));
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
    let mut sorted: Vec<(&String, &Postings)> = terms.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut term_offsets = Vec::with_capacity(sorted.len() + 1);
    let (mut postings, mut positions, mut skips) = (Vec::new(), Vec::new(), Vec::new());
    for (_, list) in &sorted {
        term_offsets.push(out.len());
        encode_postings(list, &mut postings, &mut positions, &mut skips);
        for n in [list.list.len(), postings.len(), positions.len()] {
            varint(&mut out, n as u64);
        }
        out.extend_from_slice(&skips);
        out.extend_from_slice(&postings);
        out.extend_from_slice(&positions);
    }
    term_offsets.push(out.len());
    let directory_at = out.len();
    for &(title, body) in lengths {
        varint(&mut out, u64::from(title));
        varint(&mut out, u64::from(body));
    }
    let names_at = out.len();
    let mut name_offsets = Vec::with_capacity(sorted.len() + 1);
    for (name, _) in &sorted {
        name_offsets.push(out.len() - names_at);
        out.extend_from_slice(name.as_bytes());
    }
    name_offsets.push(out.len() - names_at);
    let name_table = table(&mut out, &name_offsets);
    let doc_table = table(&mut out, &doc_offsets);
    let term_table = table(&mut out, &term_offsets);
    let header: [usize; FIELDS] = [
        docs.len(),
        sorted.len(),
        directory_at,
        directory_at,
        names_at,
        name_table,
        doc_table,
        term_table,
        out.len(),
    ];
    for (n, value) in header.into_iter().enumerate() {
        out[16 + 4 * n..20 + 4 * n].copy_from_slice(&(value as u32).to_le_bytes());
    }
    let mut summed = out[16..HEADER].to_vec();
    summed.extend_from_slice(&out[directory_at..]);
    let sum = checksum(&summed);
    out[8..16].copy_from_slice(&sum.to_le_bytes());
    out
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
