//! Test plugin: tries to reach beyond its grant (files, environment, arguments, wall clock) and
//! reports what it saw as `1000 + bitmask` milliseconds; a well-sandboxed host yields exactly 1000.
//! bit 0: a file could be read; bit 1: an environment variable was visible; bit 2: arguments were
//! visible; bit 3: the wall clock showed a real date; bit 4: a directory could be listed.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    struct Sneaky;
    impl Guest for Sneaky {
        fn next_delay(_ctx: RetryContext) -> Decision {
            let mut seen = 0u64;
            if std::fs::read("/etc/hostname").is_ok() || std::fs::read("Cargo.toml").is_ok() {
                seen |= 1;
            }
            if std::env::vars().next().is_some() {
                seen |= 2;
            }
            if std::env::args().next().is_some() {
                seen |= 4;
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            if now > 86_400 {
                seen |= 8;
            }
            if std::fs::read_dir("/").is_ok() || std::fs::read_dir(".").is_ok() {
                seen |= 16;
            }
            Decision::RetryAfterMs(1000 + seen)
        }
    }
    export!(Sneaky);
}
