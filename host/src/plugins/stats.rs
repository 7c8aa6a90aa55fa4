//! What a slot reports of itself in `/health` and `/admin/plugins`: reloads, calls, faults and
//! the last refusal. The last refused file's hash is kept too: the watcher may see one bad
//! write several times, and it is reported (and counted) once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct SlotStats {
    reloads: AtomicU64,
    calls: AtomicU64,
    faults: AtomicU64,
    /// The largest linear memory any call's store was granted, bytes.
    memory_peak: AtomicU64,
    /// The last refusal's message and the hash of the file refused (if it was read).
    last_refusal: Mutex<(Option<String>, Option<String>)>,
}

impl SlotStats {
    pub fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reload(&self) {
        self.reloads.fetch_add(1, Ordering::Relaxed);
    }

    /// A call's store reached `bytes` of memory.
    pub fn memory(&self, bytes: usize) {
        self.memory_peak.fetch_max(bytes as u64, Ordering::Relaxed);
    }

    /// The memory high-water mark of the slot's calls, bytes.
    pub fn memory_peak(&self) -> u64 {
        self.memory_peak.load(Ordering::Relaxed)
    }

    pub fn fault(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
    }

    /// A file (of `sha256`, when it could be read) was refused with `error`.
    pub fn refused(&self, error: &str, sha256: Option<String>) {
        *self.refusal() = (Some(error.to_string()), sha256);
    }

    /// A file loaded: no error to report any more.
    pub fn loaded(&self) {
        self.refusal().0 = None;
    }

    /// The refusal of `sha256`, if it is the file refused last.
    pub fn refused_before(&self, sha256: &str) -> Option<String> {
        let refusal = self.refusal();
        (refusal.1.as_deref() == Some(sha256)).then(|| {
            refusal
                .0
                .clone()
                .unwrap_or_else(|| "this file was refused before".into())
        })
    }

    pub fn last_error(&self) -> Option<String> {
        self.refusal().0.clone()
    }

    /// `(reloads, calls, faults)`.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.reloads.load(Ordering::Relaxed),
            self.calls.load(Ordering::Relaxed),
            self.faults.load(Ordering::Relaxed),
        )
    }

    fn refusal(&self) -> std::sync::MutexGuard<'_, (Option<String>, Option<String>)> {
        self.last_refusal.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_remembered_until_a_file_loads() {
        let stats = SlotStats::default();
        stats.refused("bad magic", Some("abc".into()));
        assert_eq!(stats.refused_before("abc").as_deref(), Some("bad magic"));
        assert_eq!(stats.refused_before("def"), None);
        stats.loaded();
        assert_eq!(stats.last_error(), None);
        stats.call();
        stats.fault();
        stats.reload();
        assert_eq!(stats.counts(), (1, 1, 1));
        stats.memory(1 << 20);
        stats.memory(1 << 16);
        assert_eq!(stats.memory_peak(), 1 << 20, "the high-water mark");
    }
}
