//! Test plugin: answers the host's smoke call, then every search sleeps 30 s inside a host
//! call (`wasi:clocks` + `poll`): the call's deadline must stop it.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "rag-search", path: "../../../wit" });
    use exports::voxgate::plugins::search::{Guest, Hit, SearchError};
    struct Sleeper;
    impl Guest for Sleeper {
        fn search(kb_id: String, _query: String, _top_k: u32) -> Result<Vec<Hit>, SearchError> {
            if kb_id != "__voxgate_probe__" {
                std::thread::sleep(std::time::Duration::from_secs(30));
            }
            Ok(Vec::new())
        }
    }
    export!(Sleeper);
}
