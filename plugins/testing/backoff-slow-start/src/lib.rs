//! Test plugin: like an interpreter-carrying component, its first call on a new instance is
//! slow (it sleeps 300 ms inside a host call, once per instance) and later calls answer at once
//! — but attempt 99 traps, so a test can make the host throw an instance away.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    use std::sync::atomic::{AtomicBool, Ordering};
    static STARTED: AtomicBool = AtomicBool::new(false);
    struct SlowStart;
    impl Guest for SlowStart {
        fn next_delay(ctx: RetryContext) -> Decision {
            if !STARTED.swap(true, Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            if ctx.attempt == 99 {
                unreachable!("attempt 99 traps");
            }
            Decision::RetryAfterMs(ctx.base_delay_ms)
        }
    }
    export!(SlowStart);
}
