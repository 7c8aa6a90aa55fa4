//! Test plugin: a distinctive constant policy (37 ms · attempt) so tests can see that a hot
//! swap took effect on the next retry.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    use voxgate::plugins::log::{Level, write};
    struct Fixed;
    impl Guest for Fixed {
        fn next_delay(ctx: RetryContext) -> Decision {
            write(
                Level::Info,
                &format!("fixed policy: attempt {}", ctx.attempt),
            );
            Decision::RetryAfterMs(37 * u64::from(ctx.attempt))
        }
    }
    export!(Fixed);
}
