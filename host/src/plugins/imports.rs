//! The host functions plugins may import, shared by every world: `log` (one line in the
//! gateway's log, prefixed with the slot) and `knowledge` (the read-only chunks of a
//! knowledge base, served by the host's `kb` module; only the RAG slot is given the KBs).
//! The worlds' own bindings reuse these (`with:` in their `bindgen!`).

use super::sandbox::HostState;
use crate::kb::KbError;

pub mod bindings {
    wasmtime::component::bindgen!({ world: "host-imports", path: "../wit" });
}

pub use bindings::voxgate::plugins::{knowledge, log};

/// The longest plugin log line, in bytes of UTF-8 (cut at a character boundary).
pub const MAX_LOG_LINE_BYTES: usize = 4096;

/// A plugin's message as one safe log line: at most [`MAX_LOG_LINE_BYTES`], with control
/// characters (CR, LF, ESC …) escaped so a plugin can neither forge nor split gateway lines.
pub fn log_line(message: &str) -> String {
    let mut line = String::with_capacity(message.len().min(MAX_LOG_LINE_BYTES));
    for c in message.chars() {
        let piece: String = if c.is_control() {
            c.escape_default().collect()
        } else {
            c.into()
        };
        if line.len() + piece.len() > MAX_LOG_LINE_BYTES {
            break;
        }
        line.push_str(&piece);
    }
    line
}

impl log::Host for HostState {
    fn write(&mut self, level: log::Level, message: String) {
        let message = log_line(&message);
        let slot = self.slot;
        match level {
            log::Level::Debug => tracing::debug!("[PLUGIN {slot}] {message}"),
            log::Level::Info => tracing::info!("[PLUGIN {slot}] {message}"),
            log::Level::Warn => tracing::warn!("[PLUGIN {slot}] {message}"),
            log::Level::Error => tracing::error!("[PLUGIN {slot}] {message}"),
        }
    }
}

fn kb_error(error: KbError) -> knowledge::KbError {
    match error {
        KbError::Unknown(kb) => knowledge::KbError::UnknownKb(kb),
        KbError::Unavailable(why) => knowledge::KbError::Unavailable(why),
    }
}

impl knowledge::Host for HostState {
    fn version(&mut self, kb_id: String) -> Result<u64, knowledge::KbError> {
        let kbs = self
            .knowledge
            .as_ref()
            .ok_or_else(|| knowledge::KbError::Unavailable("no knowledge bases".into()))?;
        kbs.load(&kb_id)
            .map(|snapshot| snapshot.version)
            .map_err(kb_error)
    }

    fn chunks(&mut self, kb_id: String) -> Result<Vec<knowledge::Chunk>, knowledge::KbError> {
        let kbs = self
            .knowledge
            .as_ref()
            .ok_or_else(|| knowledge::KbError::Unavailable("no knowledge bases".into()))?;
        let snapshot = kbs.load(&kb_id).map_err(kb_error)?;
        self.index_started = Some(std::time::Instant::now());
        Ok(snapshot
            .chunks
            .iter()
            .map(|c| knowledge::Chunk {
                id: c.id.clone(),
                title: c.title.clone(),
                content: c.content.clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_bounded_in_bytes_and_cannot_forge_lines() {
        let forged = "ok\n2026-11-29T00:00:00Z INFO [PLUGIN backoff] now serving\r\x1b[2J";
        let line = log_line(forged);
        assert!(!line.contains('\n') && !line.contains('\r') && !line.contains('\x1b'));
        assert!(line.contains("\\n2026") && line.contains("\\r"));
        let wide = "𝄞".repeat(4096);
        let line = log_line(&wide);
        assert!(line.len() <= MAX_LOG_LINE_BYTES);
        assert_eq!(line.len(), 4096, "cut at a character boundary");
    }
}
