//! The default RAG search (`rag.wasm`): BM25F (title above body) with stemming and a proximity
//! bonus over the knowledge base's chunks.
//!
//! The host hands the plugin a knowledge base as chunks (through the read-only `knowledge`
//! import); the plugin builds an inverted index once per `(kb, version)`, keeps it in its
//! instance memory and stores it in the host's `index-cache`, so the next fresh instance loads
//! it instead of rebuilding it — and searches it in place (`blob`), without decoding it. A search costs one posting-list walk per query term.
//! The ranking and tokenization live in plain modules with native unit tests; the component
//! glue is the small `component` module at the bottom.

pub mod blob;
pub mod bm25;
pub mod postings;
pub mod tokenize;

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "rag-search", path: "../../wit" });

    use crate::bm25::{Doc, Index};
    use exports::voxgate::plugins::search::{Guest, Hit, SearchError};
    use std::cell::RefCell;
    use std::collections::HashMap;
    use voxgate::plugins::log::{Level, write};
    use voxgate::plugins::{index_cache, knowledge};

    thread_local! {
        /// kb id → (version, index). One instance serves one call at a time.
        static INDEXES: RefCell<HashMap<String, (u64, std::rc::Rc<Index>)>> = RefCell::new(HashMap::new());
    }

    fn index_for(kb_id: &str) -> Result<std::rc::Rc<Index>, SearchError> {
        let version = knowledge::version(kb_id).map_err(SearchError::Kb)?;
        if let Some(index) = INDEXES.with(|m| {
            m.borrow()
                .get(kb_id)
                .filter(|(v, _)| *v == version)
                .map(|(_, i)| i.clone())
        }) {
            return Ok(index);
        }
        let cached = index_cache::load(kb_id, version).and_then(|blob| {
            Index::from_bytes(blob)
                .map_err(|e| {
                    write(
                        Level::Warn,
                        &format!("cached index of '{kb_id}' unusable: {e}"),
                    )
                })
                .ok()
        });
        let index = std::rc::Rc::new(match cached {
            Some(index) => index,
            None => {
                let chunks = knowledge::chunks(kb_id).map_err(SearchError::Kb)?;
                let docs = chunks.into_iter().map(|c| Doc {
                    id: c.id,
                    title: c.title,
                    content: c.content,
                });
                let index = Index::build(docs);
                let kept = index_cache::store(kb_id, version, index.bytes());
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

    struct Bm25Search;

    impl Guest for Bm25Search {
        fn search(kb_id: String, query: String, top_k: u32) -> Result<Vec<Hit>, SearchError> {
            if query.trim().is_empty() {
                return Err(SearchError::InvalidQuery("the query is empty".into()));
            }
            let index = index_for(&kb_id)?;
            Ok(index
                .search(&query, top_k as usize)
                .into_iter()
                .map(|(doc, score)| Hit {
                    chunk_id: doc.id.to_string(),
                    title: doc.title.to_string(),
                    content: doc.content.to_string(),
                    score,
                })
                .collect())
        }
    }

    export!(Bm25Search);
}
