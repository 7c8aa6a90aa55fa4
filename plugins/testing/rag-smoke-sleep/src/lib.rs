//! Test plugin: every search, the host's smoke call included, sleeps 30 s inside a host call
//! (`wasi:clocks` + `poll`): loading it must fail within the call deadline, never hold the
//! reload machinery.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "rag-search", path: "../../../wit" });
    use exports::voxgate::plugins::search::{Guest, Hit, SearchError};
    struct Sleeper;
    impl Guest for Sleeper {
        fn search(_kb_id: String, _query: String, _top_k: u32) -> Result<Vec<Hit>, SearchError> {
            std::thread::sleep(std::time::Duration::from_secs(30));
            Ok(Vec::new())
        }
    }
    export!(Sleeper);
}
