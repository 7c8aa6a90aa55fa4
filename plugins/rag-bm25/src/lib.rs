//! The default RAG search (`rag.wasm`): BM25F (title above body) with stemming and a proximity
//! bonus over the knowledge base's chunks.
//!
//! The host hands the plugin a knowledge base as chunks (through the read-only `knowledge`
//! import); the plugin builds an inverted index once per `(kb, version)`, keeps it in its
//! instance memory and stores it in the host's `index-cache`, so the next fresh instance loads
//! it instead of rebuilding it — reading it in place through `index-cache.read` (`blob`):
//! a fresh instance reads the index's directory, then only the records its searches need. A search costs one posting-list walk per query term.
//! The ranking and tokenization live in plain modules with native unit tests; the component
//! glue is the small `component` module at the bottom.

pub mod blob;
pub mod bm25;
pub mod postings;
pub mod tokenize;

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "rag-search", path: "../../wit" });

    use crate::blob::Source;
    use crate::bm25::{Doc, Index};
    use exports::voxgate::plugins::search::{Guest, Hit, SearchError};
    use std::borrow::Cow;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;
    use voxgate::plugins::knowledge::KbError;
    use voxgate::plugins::log::{Level, write};
    use voxgate::plugins::{index_cache, knowledge};

    thread_local! {
        /// kb id → (version, index). One instance serves one call at a time.
        static INDEXES: RefCell<HashMap<String, (u64, Rc<Index>)>> = RefCell::new(HashMap::new());
    }

    /// A cached index, read in place through `index-cache.read`.
    struct Cached {
        kb_id: String,
        version: u64,
    }

    impl Source for Cached {
        fn read(&self, at: usize, len: usize) -> Option<Cow<'_, [u8]>> {
            let len = u32::try_from(len).ok()?;
            let bytes = index_cache::read(&self.kb_id, self.version, at as u64, len)?;
            (bytes.len() == len as usize).then_some(Cow::Owned(bytes))
        }
    }

    fn index_for(kb_id: &str) -> Result<Rc<Index>, SearchError> {
        let version = knowledge::version(kb_id).map_err(SearchError::Kb)?;
        if let Some(index) = INDEXES.with(|m| {
            m.borrow()
                .get(kb_id)
                .filter(|(v, _)| *v == version)
                .map(|(_, i)| i.clone())
        }) {
            return Ok(index);
        }
        let source = Box::new(Cached {
            kb_id: kb_id.to_string(),
            version,
        });
        let cached = match Index::open(source) {
            Ok(index) => Some(index),
            Err(e) => {
                // Absent (not cached yet, or evicted) is the usual case; anything else is news.
                if !e.starts_with("not an index") {
                    write(
                        Level::Warn,
                        &format!("cached index of '{kb_id}' unusable: {e}"),
                    );
                }
                None
            }
        };
        let index = Rc::new(match cached {
            Some(index) => index,
            None => {
                let chunks = knowledge::chunks(kb_id).map_err(SearchError::Kb)?;
                let docs = chunks.into_iter().map(|c| Doc {
                    id: c.id,
                    title: c.title,
                    content: c.content,
                });
                let index = Index::build(docs);
                let kept = index
                    .blob()
                    .read_all()
                    .is_some_and(|bytes| index_cache::store(kb_id, version, &bytes));
                write(
                    Level::Info,
                    &format!(
                        "indexed kb '{kb_id}' version {version}: {} chunks, {} terms{}",
                        index.len(),
                        index.vocabulary(),
                        if kept { "" } else { " (not cached)" }
                    ),
                );
                index
            }
        });
        INDEXES.with(|m| {
            m.borrow_mut()
                .insert(kb_id.to_string(), (version, index.clone()))
        });
        Ok(index)
    }

    fn forget(kb_id: &str) {
        INDEXES.with(|m| m.borrow_mut().remove(kb_id));
    }

    struct Bm25Search;

    impl Guest for Bm25Search {
        fn search(kb_id: String, query: String, top_k: u32) -> Result<Vec<Hit>, SearchError> {
            if query.trim().is_empty() {
                return Err(SearchError::InvalidQuery("the query is empty".into()));
            }
            let mut index = index_for(&kb_id)?;
            let mut hits = index.search(&query, top_k as usize);
            if !index.intact() {
                // A read failed (the cache evicted the blob meanwhile): never answer from a
                // partial read; open or build the index again and search once more.
                write(
                    Level::Warn,
                    &format!("cached index of '{kb_id}' went away mid-search; reloading it"),
                );
                forget(&kb_id);
                index = index_for(&kb_id)?;
                hits = index.search(&query, top_k as usize);
                if !index.intact() {
                    forget(&kb_id);
                    return Err(SearchError::Kb(KbError::Unavailable(
                        "the index could not be read".into(),
                    )));
                }
            }
            Ok(hits
                .into_iter()
                .map(|(doc, score)| Hit {
                    chunk_id: doc.id,
                    title: doc.title,
                    content: doc.content,
                    score,
                })
                .collect())
        }
    }

    export!(Bm25Search);
}
