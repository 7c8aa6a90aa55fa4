//! The RAG index cache behind the `index-cache` import: opaque blobs a RAG plugin stores under
//! `(kb id, kb version)`, so a fresh instance loads its index instead of rebuilding it.
//!
//! Scoped per plugin file: the key carries the component's sha256, so a different plugin (or
//! a new version of the same one) never reads another's bytes. One version per (plugin, kb):
//! storing a newer one replaces the older. Bounded in bytes, least recently used evicted; a
//! blob larger than a quarter of the bound is refused (the plugin rebuilds next time) and
//! counted, so one huge KB cannot flush every other entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The process's index cache (shared by the RAG slot's instances and versions).
pub struct IndexCache {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (plugin sha256, kb id) → entry.
    entries: HashMap<(Arc<str>, String), Entry>,
    bytes: usize,
    clock: u64,
}

struct Entry {
    version: u64,
    blob: Arc<[u8]>,
    used: u64,
}

/// What a store did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Kept,
    /// Larger than a quarter of the bound.
    TooLarge,
}

impl IndexCache {
    pub fn new(max_bytes: usize) -> IndexCache {
        IndexCache {
            max_bytes,
            inner: Mutex::default(),
        }
    }

    /// The blob `plugin` stored for `(kb, version)`, marking it recently used.
    pub fn load(&self, plugin: &Arc<str>, kb: &str, version: u64) -> Option<Arc<[u8]>> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.clock += 1;
        let clock = inner.clock;
        let entry = inner.entries.get_mut(&(plugin.clone(), kb.to_string()))?;
        if entry.version != version {
            return None;
        }
        entry.used = clock;
        Some(entry.blob.clone())
    }

    /// Keep `blob` for `(kb, version)` of `plugin`, replacing an older version, evicting the
    /// least recently used entries beyond the bound.
    pub fn store(&self, plugin: &Arc<str>, kb: &str, version: u64, blob: Vec<u8>) -> Stored {
        if blob.len() > self.max_bytes / 4 {
            return Stored::TooLarge;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.clock += 1;
        let entry = Entry {
            version,
            blob: blob.into(),
            used: inner.clock,
        };
        inner.bytes += entry.blob.len();
        if let Some(old) = inner
            .entries
            .insert((plugin.clone(), kb.to_string()), entry)
        {
            inner.bytes -= old.blob.len();
        }
        while inner.bytes > self.max_bytes {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(evicted) = inner.entries.remove(&oldest) {
                inner.bytes -= evicted.blob.len();
            }
        }
        Stored::Kept
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    #[test]
    fn a_blob_comes_back_for_its_plugin_kb_and_version_only() {
        let cache = IndexCache::new(1 << 20);
        let (a, b) = (plugin("sha-a"), plugin("sha-b"));
        assert_eq!(cache.store(&a, "kb", 7, vec![1, 2, 3]), Stored::Kept);
        assert_eq!(cache.load(&a, "kb", 7).as_deref(), Some(&[1u8, 2, 3][..]));
        assert!(cache.load(&a, "kb", 8).is_none(), "another version");
        assert!(cache.load(&a, "other", 7).is_none(), "another kb");
        assert!(
            cache.load(&b, "kb", 7).is_none(),
            "another plugin never sees it"
        );
    }

    #[test]
    fn a_newer_version_replaces_the_older() {
        let cache = IndexCache::new(1 << 20);
        let a = plugin("sha-a");
        cache.store(&a, "kb", 1, vec![0; 1000]);
        cache.store(&a, "kb", 2, vec![0; 10]);
        assert!(cache.load(&a, "kb", 1).is_none());
        assert_eq!(cache.bytes(), 10);
    }

    #[test]
    fn bounded_least_recently_used_first_and_huge_blobs_refused() {
        let cache = IndexCache::new(1000);
        let a = plugin("sha-a");
        assert_eq!(cache.store(&a, "huge", 1, vec![0; 251]), Stored::TooLarge);
        for kb in ["one", "two", "three", "four"] {
            assert_eq!(cache.store(&a, kb, 1, vec![0; 250]), Stored::Kept);
        }
        assert!(
            cache.load(&a, "one", 1).is_some(),
            "one is now the most recent"
        );
        cache.store(&a, "five", 1, vec![0; 250]);
        assert!(cache.bytes() <= 1000);
        assert!(
            cache.load(&a, "two", 1).is_none(),
            "the least recently used went"
        );
        assert!(cache.load(&a, "one", 1).is_some() && cache.load(&a, "five", 1).is_some());
    }
}
