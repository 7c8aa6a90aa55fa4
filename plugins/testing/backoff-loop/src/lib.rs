//! Test plugin (behaves on attempt 1, as the host's smoke call sees it, then misbehaves —
//! like a plugin that passes a quick test and fails in production): never returns (spins forever), to prove epoch deadlines.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    struct Spin;
    impl Guest for Spin {
        fn next_delay(ctx: RetryContext) -> Decision {
            if ctx.attempt < 2 {
                return Decision::RetryAfterMs(ctx.base_delay_ms);
            }
            let mut x = ctx.random;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
    }
    export!(Spin);
}
