//! The index as one byte buffer: what the host's index cache keeps, and what a search reads
//! in place. Opening a cached index reads only its *directory* (header, tables, the sorted
//! term names, the docs' lengths: ~1/50 of it); a search then reads the records it needs —
//! one per query term, one per hit — through a [`Source`]: the buffer itself when the index
//! was just built, or the host's `index-cache.read` for a cached one, so a fresh instance
//! never copies the whole index. (Copying and decoding the whole 53 MB blob of a
//! 100,000-chunk KB took 1–2.4 s per fresh instance.)
//!
//! Layout (integers in tables and the header are u32 little-endian, the rest LEB128):
//!
//! ```text
//! magic "VXBM25F4" | checksum u64 of the header and the directory | header: docs, terms,
//!   directory at, lengths at, names at, name table at, doc table at, term table at, end
//! records (read on demand):
//!   doc records:  id, title, content (each: length, UTF-8 bytes)
//!   term records: df, postings bytes, positions bytes, skip offsets (u32, one per SKIP
//!                 postings, into the positions bytes), postings (doc gap, title tf,
//!                 body tf), positions (per posting, gap-coded)
//! directory (read at open):
//!   lengths:      per doc, terms in its title and in its body
//!   names:        the terms, in byte order, concatenated
//!   name table:   terms + 1 offsets into the names
//!   doc table:    docs + 1 offsets of doc records
//!   term table:   terms + 1 offsets of term records
//! ```
//!
//! The checksum guards what is read at open; records are only ever read through bounds-checked
//! readers, and one that does not read (malformed, or the cache evicted the blob meanwhile)
//! marks the blob broken ([`Blob::intact`]) so the plugin can drop it and rebuild.

mod bytes;
mod term;
mod write;

use crate::bm25::Doc;
use bytes::{Reader, checksum, u32_at, u64_at};
use std::borrow::Cow;
use std::cell::Cell;
pub use term::Term;
pub use write::write;

pub(crate) const MAGIC: &[u8; 8] = b"VXBM25F4";
pub(crate) const FIELDS: usize = 9;
pub(crate) const HEADER: usize = 16 + 4 * FIELDS;
/// Postings per entry of a term's skip table.
pub(crate) const SKIP: usize = 16;

/// Where a blob's bytes are read from.
pub trait Source {
    /// Bytes `[at, at + len)`, or None when they cannot be read (past the end, gone).
    fn read(&self, at: usize, len: usize) -> Option<Cow<'_, [u8]>>;
}

impl Source for Vec<u8> {
    fn read(&self, at: usize, len: usize) -> Option<Cow<'_, [u8]>> {
        self.get(at..at.checked_add(len)?).map(Cow::Borrowed)
    }
}

/// A readable index blob: its directory in memory, its records behind `source`.
pub struct Blob {
    source: Box<dyn Source>,
    docs: usize,
    terms: usize,
    size: usize,
    /// The directory's bytes, and where its parts start in them.
    directory: Vec<u8>,
    lengths: usize,
    names: usize,
    name_table: usize,
    doc_table: usize,
    term_table: usize,
    broken: Cell<bool>,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob")
            .field("docs", &self.docs)
            .field("terms", &self.terms)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Blob {
    /// Read the header and the directory from `source` and check them.
    pub fn open(source: Box<dyn Source>) -> Result<Blob, String> {
        let header = source
            .read(0, HEADER)
            .ok_or("not an index of this plugin version")?
            .into_owned();
        if &header[..8] != MAGIC {
            return Err("not an index of this plugin version".into());
        }
        let field = |n: usize| u32_at(&header, 16 + 4 * n).map_or(0, |v| v as usize);
        let (docs, terms, directory_at, size) = (field(0), field(1), field(2), field(8));
        if directory_at < HEADER || directory_at > size {
            return Err("the directory is out of place".into());
        }
        let directory = source
            .read(directory_at, size - directory_at)
            .ok_or("truncated index")?
            .into_owned();
        if source.read(size, 1).is_some_and(|rest| !rest.is_empty()) {
            return Err("bytes after the index".into());
        }
        let mut summed = header[16..].to_vec();
        summed.extend_from_slice(&directory);
        if u64_at(&header, 8) != Some(checksum(&summed)) {
            return Err("checksum mismatch".into());
        }
        // Directory parts, relative to the directory, in their order.
        let part = |n: usize| field(n).checked_sub(directory_at);
        let parts = [part(3), part(4), part(5), part(6), part(7)];
        let [
            Some(lengths),
            Some(names),
            Some(name_table),
            Some(doc_table),
            Some(term_table),
        ] = parts
        else {
            return Err("a directory part is out of place".into());
        };
        let blob = Blob {
            source,
            docs,
            terms,
            size,
            directory,
            lengths,
            names,
            name_table,
            doc_table,
            term_table,
            broken: Cell::new(false),
        };
        blob.check_tables()?;
        Ok(blob)
    }

    fn check_tables(&self) -> Result<(), String> {
        let ordered = [
            self.lengths,
            self.names,
            self.name_table,
            self.doc_table,
            self.term_table,
        ];
        if ordered.windows(2).any(|w| w[0] > w[1]) {
            return Err("the directory's parts are out of order".into());
        }
        let tables = [
            (self.name_table, self.terms, 0, self.name_table - self.names),
            (self.doc_table, self.docs, HEADER, self.size),
            (self.term_table, self.terms, HEADER, self.size),
        ];
        for (table, entries, low, high) in tables {
            let mut previous = low;
            for n in 0..=entries {
                match u32_at(&self.directory, table + 4 * n).map(|v| v as usize) {
                    Some(at) if at >= previous && at <= high => previous = at,
                    _ => return Err("a table's offsets are out of order".into()),
                }
            }
        }
        Ok(())
    }

    /// Whether every read so far succeeded. A blob that is not intact gave incomplete answers:
    /// drop it and open or build the index again.
    pub fn intact(&self) -> bool {
        !self.broken.get()
    }

    pub fn docs(&self) -> usize {
        self.docs
    }

    pub fn terms(&self) -> usize {
        self.terms
    }

    /// All its bytes (borrowed when the source is local): what goes to the index cache.
    pub fn read_all(&self) -> Option<Cow<'_, [u8]>> {
        self.source.read(0, self.size)
    }

    /// Terms in each doc's title and body, in doc order.
    pub fn lengths(&self) -> Result<Vec<(u32, u32)>, String> {
        let mut r = Reader::new(&self.directory[self.lengths..self.names]);
        let mut lengths = Vec::with_capacity(self.docs);
        for _ in 0..self.docs {
            let pair = (r.u32(), r.u32());
            let (Some(title), Some(body)) = pair else {
                return Err("truncated lengths".into());
            };
            lengths.push((title, body));
        }
        Ok(lengths)
    }

    /// Doc `n`, if it is there and reads.
    pub fn doc(&self, n: u32) -> Option<Doc> {
        let record = self.record(self.doc_table, n as usize, self.docs)?;
        let mut r = Reader::new(&record);
        let doc = (|| {
            Some(Doc {
                id: r.text()?.to_string(),
                title: r.text()?.to_string(),
                content: r.text()?.to_string(),
            })
        })();
        self.note(doc)
    }

    /// The postings of `term`, if it occurs.
    pub fn term(&self, term: &str) -> Option<Term<'_>> {
        let (mut low, mut high) = (0, self.terms);
        while low < high {
            let middle = (low + high) / 2;
            let name = self.name(middle)?;
            match name.cmp(term.as_bytes()) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => {
                    let record = self.record(self.term_table, middle, self.terms)?;
                    let term = Term::read(record);
                    return self.note(term);
                }
            }
        }
        None
    }

    fn name(&self, n: usize) -> Option<&[u8]> {
        let start = self.names + self.offset(self.name_table, n)?;
        let end = self.names + self.offset(self.name_table, n + 1)?;
        self.directory.get(start..end)
    }

    fn offset(&self, table: usize, n: usize) -> Option<usize> {
        u32_at(&self.directory, table + 4 * n).map(|v| v as usize)
    }

    /// Record `n` of the `entries` in the table at `table`, read from the source.
    fn record(&self, table: usize, n: usize, entries: usize) -> Option<Cow<'_, [u8]>> {
        if n >= entries {
            return None;
        }
        let (start, end) = (self.offset(table, n)?, self.offset(table, n + 1)?);
        let record = self.source.read(start, end.checked_sub(start)?);
        self.note(record)
    }

    /// Remember a read that failed.
    fn note<T>(&self, read: Option<T>) -> Option<T> {
        if read.is_none() {
            self.broken.set(true);
        }
        read
    }
}

#[cfg(test)]
mod tests;
