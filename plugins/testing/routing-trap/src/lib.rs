//! Test plugin: answers the host's smoke call, then traps on every real session (a policy that
//! passes a quick test and fails in production).
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "routing-policy", path: "../../../wit" });
    use exports::voxgate::plugins::routing::{Candidate, Guest, SessionContext};
    struct Trap;
    impl Guest for Trap {
        fn order(candidates: Vec<Candidate>, ctx: SessionContext) -> Vec<String> {
            if ctx.kb_id == "plugin-smoke-test" {
                return candidates.into_iter().map(|c| c.name).collect();
            }
            panic!("test routing plugin traps for kb {}", ctx.kb_id)
        }
    }
    export!(Trap);
}
