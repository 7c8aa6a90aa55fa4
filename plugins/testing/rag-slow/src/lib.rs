//! Test plugin: a search that computes for a long time (a fixed amount of arithmetic, about a
//! second or two on a laptop core) before answering with no hits; the smoke call answers at
//! once. Sessions that never search must not notice it.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "rag-search", path: "../../../wit" });
    use exports::voxgate::plugins::search::{Guest, Hit, SearchError};
    struct Slow;
    impl Guest for Slow {
        fn search(kb_id: String, _query: String, _top_k: u32) -> Result<Vec<Hit>, SearchError> {
            if kb_id != "__voxgate_probe__" {
                let mut x: u64 = 1;
                for i in 0..1_500_000_000u64 {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
                }
                std::hint::black_box(x);
            }
            Ok(Vec::new())
        }
    }
    export!(Slow);
}
