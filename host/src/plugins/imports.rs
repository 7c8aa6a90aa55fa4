//! The host functions plugins may import, shared by every world: `log` (one line in the
//! gateway's log, prefixed with the slot) and `knowledge` (the read-only chunks of a
//! knowledge base, served by the host's `kb` module; only the RAG slot is given the KBs).
//! The worlds' own bindings reuse these (`with:` in their `bindgen!`).

use super::sandbox::HostState;
use crate::kb::{KbError, KnowledgeBases, Snapshot};
use crate::metrics::Count;
use std::sync::Arc;

pub mod bindings {
    wasmtime::component::bindgen!({
        world: "host-imports",
        path: "../wit",
        imports: { default: async },
    });
}

pub use bindings::voxgate::plugins::{index_cache, knowledge, log};

/// The interfaces a plugin may import, as `plugin check` and a refused load name them.
pub const ALLOWED: &str = "voxgate:plugins/log, voxgate:plugins/knowledge and voxgate:plugins/index-cache (rag-search only), wasi:cli, wasi:io, wasi:clocks, wasi:random, wasi:filesystem";

/// Whether a component of `world` may import `import`. The WASI interfaces are those a Rust or
/// Python `std` links even when unused; the host grants them nothing (no preopens, no
/// environment, no arguments, frozen clocks). `wasi:sockets`, `wasi:http` and anything else
/// are refused at load.
pub fn permitted(import: &str, world: &str) -> bool {
    let name = import.split('@').next().unwrap_or(import);
    match name {
        "voxgate:plugins/log" => true,
        "voxgate:plugins/knowledge" | "voxgate:plugins/index-cache" => world == "rag-search",
        _ => [
            "wasi:cli/",
            "wasi:io/",
            "wasi:clocks/",
            "wasi:random/",
            "wasi:filesystem/",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix)),
    }
}

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
    async fn write(&mut self, level: log::Level, message: String) {
        if !self.log_budget.allow() {
            self.metrics.count(Count::PluginLogDropped);
            return;
        }
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

/// A knowledge base's snapshot, read off the async workers (a first load reads files); a
/// call cancelled by its deadline abandons the wait.
async fn load(
    knowledge: Option<Arc<KnowledgeBases>>,
    kb_id: String,
) -> Result<Arc<Snapshot>, knowledge::KbError> {
    let kbs =
        knowledge.ok_or_else(|| knowledge::KbError::Unavailable("no knowledge bases".into()))?;
    tokio::task::spawn_blocking(move || kbs.load(&kb_id))
        .await
        .map_err(|e| knowledge::KbError::Unavailable(format!("loading failed: {e}")))?
        .map_err(kb_error)
}

fn kb_error(error: KbError) -> knowledge::KbError {
    match error {
        KbError::Unknown(kb) => knowledge::KbError::UnknownKb(kb),
        KbError::Unavailable(why) => knowledge::KbError::Unavailable(why),
    }
}

impl knowledge::Host for HostState {
    async fn version(&mut self, kb_id: String) -> Result<u64, knowledge::KbError> {
        let snapshot = load(self.knowledge.clone(), kb_id).await?;
        Ok(snapshot.version)
    }

    async fn chunks(&mut self, kb_id: String) -> Result<Vec<knowledge::Chunk>, knowledge::KbError> {
        let snapshot = load(self.knowledge.clone(), kb_id).await?;
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

impl index_cache::Host for HostState {
    async fn load(&mut self, kb_id: String, kb_version: u64) -> Option<Vec<u8>> {
        let (cache, plugin) = self.index_cache.as_ref()?;
        let blob = cache.load(plugin, &kb_id, kb_version);
        self.metrics.count(if blob.is_some() {
            Count::IndexCacheHits
        } else {
            Count::IndexCacheMisses
        });
        blob.map(|b| b.to_vec())
    }

    async fn read(
        &mut self,
        kb_id: String,
        kb_version: u64,
        offset: u64,
        len: u32,
    ) -> Option<Vec<u8>> {
        let (cache, plugin) = self.index_cache.as_ref()?;
        // A read from the start opens a cached index: that is the hit or miss counted.
        let Some(blob) = cache.load(plugin, &kb_id, kb_version) else {
            self.metrics.count(Count::IndexCacheMisses);
            return None;
        };
        if offset == 0 {
            self.metrics.count(Count::IndexCacheHits);
        }
        let start = usize::try_from(offset).map_or(blob.len(), |o| o.min(blob.len()));
        let end = start.saturating_add(len as usize).min(blob.len());
        Some(blob[start..end].to_vec())
    }

    async fn store(&mut self, kb_id: String, kb_version: u64, blob: Vec<u8>) -> bool {
        let Some((cache, plugin)) = self.index_cache.as_ref() else {
            return false;
        };
        match cache.store(plugin, &kb_id, kb_version, blob) {
            super::index_cache::Stored::Kept => true,
            super::index_cache::Stored::TooLarge => {
                self.metrics.count(Count::IndexCacheRefused);
                tracing::warn!(
                    "[PLUGIN {}] index of '{kb_id}' not cached: larger than a quarter of RAG_INDEX_CACHE_MAX_BYTES",
                    self.slot
                );
                false
            }
        }
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
