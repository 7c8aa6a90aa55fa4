//! Test plugin: traps on every call.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    struct Trap;
    impl Guest for Trap {
        fn next_delay(ctx: RetryContext) -> Decision {
            panic!("test plugin traps on attempt {}", ctx.attempt)
        }
    }
    export!(Trap);
}
