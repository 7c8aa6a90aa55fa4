//! One loaded, validated plugin file: its `InstancePre` and a small pool of idle live
//! instances. A call takes an idle instance (or instantiates one) and gives it back only if
//! the call succeeded: a store that trapped, ran out of time or hit its memory cap is dropped.

use super::sandbox::HostState;
use super::slot::Kind;
use sha2::Digest;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::Store;

/// Idle instances kept per version (more concurrent calls instantiate fresh ones).
pub const IDLE_INSTANCES: usize = 8;

/// A live instance and its store.
pub struct Live<K: Kind> {
    pub store: Store<HostState>,
    pub bindings: K::Bindings,
}

pub struct Version<K: Kind> {
    pub(super) pre: K::Pre,
    pub sha256: String,
    pub loaded_at: String,
    pub source: String,
    idle: Mutex<Vec<Live<K>>>,
    /// An instance is being started in the background to replace a dropped one.
    replacing: AtomicBool,
}

impl<K: Kind> Version<K> {
    pub fn new(pre: K::Pre, sha256: String, loaded_at: String, source: String) -> Version<K> {
        Version {
            pre,
            sha256,
            loaded_at,
            source,
            idle: Mutex::new(Vec::new()),
            replacing: AtomicBool::new(false),
        }
    }

    /// What `/admin/plugins` says of it.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({ "sha256": self.sha256, "loaded_at": self.loaded_at, "source": self.source })
    }

    /// An idle instance, if one is waiting.
    pub fn take(&self) -> Option<Live<K>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    /// How many instances are waiting.
    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// An instance whose last call succeeded (or a new one), for the next call; false when
    /// the pool is full and it was dropped.
    pub fn give_back(&self, live: Live<K>) -> bool {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_INSTANCES {
            idle.push(live);
            return true;
        }
        false
    }

    /// Claim the one background replacement; false when one is already running.
    pub fn begin_replacing(&self) -> bool {
        !self.replacing.swap(true, Ordering::AcqRel)
    }

    pub fn end_replacing(&self) {
        self.replacing.store(false, Ordering::Release);
    }
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq)]
pub enum Reloaded {
    Swapped { sha256: String },
    Unchanged,
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The hex sha256 of a plugin file: its identity in `/health`, the cache and rollbacks.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}
