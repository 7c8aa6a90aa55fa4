//! Test plugin: a RAG search whose backend is down (seed scenario 3): every search fails.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "rag-search", path: "../../../wit" });
    use exports::voxgate::plugins::search::{Guest, Hit, SearchError};
    struct Down;
    impl Guest for Down {
        fn search(_kb_id: String, _query: String, _top_k: u32) -> Result<Vec<Hit>, SearchError> {
            Err(SearchError::Internal(
                "embedding service unavailable".into(),
            ))
        }
    }
    export!(Down);
}
