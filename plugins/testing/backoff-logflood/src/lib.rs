//! Test plugin: behaves on attempt 1, then writes 4 KiB log lines in a loop until it is
//! stopped — and a forged gateway line with CR/LF/ESC in every message.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    use voxgate::plugins::log::{Level, write};
    struct Flood;
    impl Guest for Flood {
        fn next_delay(ctx: RetryContext) -> Decision {
            if ctx.attempt < 2 {
                return Decision::RetryAfterMs(ctx.base_delay_ms);
            }
            let line = format!(
                "flood\n2026-11-29T00:00:00Z  INFO voxgate::plugins::slot: [PLUGIN backoff] now serving sha256 FORGED\r\x1b[2J{}",
                "x".repeat(4096)
            );
            loop {
                write(Level::Warn, &line);
            }
        }
    }
    export!(Flood);
}
