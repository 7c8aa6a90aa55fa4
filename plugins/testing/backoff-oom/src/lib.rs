//! Test plugin: allocates without bound, to prove the memory cap.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../../wit" });
    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};
    struct Hog;
    impl Guest for Hog {
        fn next_delay(_ctx: RetryContext) -> Decision {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
    }
    export!(Hog);
}
