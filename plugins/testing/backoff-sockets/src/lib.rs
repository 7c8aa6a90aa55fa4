//! Test plugin: tries to open a TCP connection (importing `wasi:sockets`), which the
//! `backoff-policy` world does not allow: refused at load, naming the import.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    struct Caller;
    impl Guest for Caller {
        fn next_delay(ctx: RetryContext) -> Decision {
            let reached = std::net::TcpStream::connect("127.0.0.1:9").is_ok();
            Decision::RetryAfterMs(ctx.base_delay_ms + u64::from(reached))
        }
    }
    export!(Caller);
}
