//! Test plugin (behaves on attempt 1, as the host's smoke call sees it, then misbehaves —
//! like a plugin that passes a quick test and fails in production): allocates without bound, to prove the memory cap.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    struct Hog;
    impl Guest for Hog {
        fn next_delay(ctx: RetryContext) -> Decision {
            if ctx.attempt < 2 {
                return Decision::RetryAfterMs(ctx.base_delay_ms);
            }
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
    }
    export!(Hog);
}
