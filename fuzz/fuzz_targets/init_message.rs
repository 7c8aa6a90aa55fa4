//! The first `/ws` message and knowledge-base ids: never a panic, never a path outside KB_DIR.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(kb_id) = voxgate::http::sockets::parse_init(text)
        && voxgate::kb::valid_id(&kb_id)
    {
        assert!(!kb_id.contains('/') && !kb_id.contains('\\') && !kb_id.starts_with('.'));
    }
});
