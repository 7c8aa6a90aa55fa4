//! Test plugin: behaves on attempt 1 (the smoke call), then sleeps 15 s inside a host call
//! (`wasi:clocks` + `poll`, through `std::thread::sleep`) — epoch interruption alone cannot
//! stop it; the call's deadline must.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    struct Sleeper;
    impl Guest for Sleeper {
        fn next_delay(ctx: RetryContext) -> Decision {
            if ctx.attempt >= 2 {
                std::thread::sleep(std::time::Duration::from_secs(15));
            }
            Decision::RetryAfterMs(ctx.base_delay_ms)
        }
    }
    export!(Sleeper);
}
