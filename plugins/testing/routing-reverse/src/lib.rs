//! Test plugin: routes every session to the upstreams in reverse priority order (the least
//! preferred first), naming every candidate, open breakers included (the host overrules those).
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "routing-policy", path: "../../../wit" });
    use exports::voxgate::plugins::routing::{Candidate, Guest, SessionContext};
    struct Reverse;
    impl Guest for Reverse {
        fn order(mut candidates: Vec<Candidate>, _ctx: SessionContext) -> Vec<String> {
            candidates.sort_by_key(|c| std::cmp::Reverse(c.priority));
            candidates.into_iter().map(|c| c.name).collect()
        }
    }
    export!(Reverse);
}
