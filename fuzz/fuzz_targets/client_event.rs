//! Client frames through the parser, the session memory (session.update merge, audio) and the
//! upstream session rewrite (gateway tool kept): never a panic, and the tool always survives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voxgate::session::events::parse_client;
use voxgate::session::memory::Memory;
use voxgate::upstream::Flavour;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut memory = Memory::new(&serde_json::json!({"voice": "alloy"}), Flavour::Ga, 1 << 20);
    for line in text.split('\n') {
        if let Ok(event) = parse_client(line) {
            memory.client_event(&event.kind, &event.value);
            memory.server_event(&event.kind, &event.value);
        }
    }
    let (restore, _) = memory.restore_events();
    let tools = restore[0]["session"]["tools"].as_array().expect("tools array");
    assert_eq!(tools[0]["name"], "search_knowledge_base");
});
