//! Test plugin (behaves on attempt 1, as the host's smoke call sees it, then misbehaves —
//! like a plugin that passes a quick test and fails in production): traps on every call.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    struct Trap;
    impl Guest for Trap {
        fn next_delay(ctx: RetryContext) -> Decision {
            if ctx.attempt < 2 {
                return Decision::RetryAfterMs(ctx.base_delay_ms);
            }
            panic!("test plugin traps on attempt {}", ctx.attempt)
        }
    }
    export!(Trap);
}
