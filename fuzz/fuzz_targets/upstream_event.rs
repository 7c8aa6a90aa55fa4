//! Upstream events through tool-call detection and the session memory: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voxgate::session::events::function_call;
use voxgate::session::memory::Memory;
use voxgate::upstream::Flavour;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut memory = Memory::new(&serde_json::json!({}), Flavour::Preview, 1 << 20);
    for line in text.split('\n') {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let _ = function_call(&value);
        let kind = value["type"].as_str().unwrap_or_default().to_string();
        memory.server_event(&kind, &value);
    }
    let _ = memory.restore_events();
});
