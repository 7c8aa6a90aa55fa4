//! How a slot tells what happens to it: refusals, swaps, rollbacks and call faults go to the
//! log (the seed's `[PLUGIN …]` lines), the metrics, the slot's own stats (`/health`) and the
//! operators' live feed, all from one place so none of them can miss an event.

use super::fault::CallFault;
use super::stats::SlotStats;
use crate::feed::Feed;
use crate::metrics::{Count, Fault, Metrics};
use serde_json::json;
use std::sync::Arc;

pub struct SlotReport {
    slot: &'static str,
    pub stats: SlotStats,
    metrics: Arc<Metrics>,
    feed: Arc<Feed>,
}

fn short(sha256: &str) -> &str {
    &sha256[..12.min(sha256.len())]
}

impl SlotReport {
    pub fn new(slot: &'static str, metrics: Arc<Metrics>, feed: Arc<Feed>) -> SlotReport {
        SlotReport {
            slot,
            stats: SlotStats::default(),
            metrics,
            feed,
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The file at `path` (of `sha256`, if read) was refused; the current version serves on.
    pub fn refused(&self, path: &std::path::Path, error: &str, sha256: Option<String>) {
        self.metrics.fault(Fault::PluginReloadFailed);
        tracing::error!(
            "[PLUGIN {}] reload of {} refused, the current version keeps serving: {error}",
            self.slot,
            path.display()
        );
        self.feed.publish(
            "plugin.refused",
            json!({ "slot": self.slot, "error": error, "sha256": sha256 }),
        );
        self.stats.refused(error, sha256);
    }

    /// `sha256` is live now; `replaced` when it swapped out a version that served.
    pub fn installed(&self, sha256: &str, replaced: bool) {
        if replaced {
            self.stats.reload();
            self.metrics.count(Count::PluginReloads);
        }
        self.stats.loaded();
        tracing::info!(
            "[PLUGIN {}] now serving sha256 {}",
            self.slot,
            short(sha256)
        );
        let kind = if replaced {
            "plugin.swapped"
        } else {
            "plugin.loaded"
        };
        self.feed
            .publish(kind, json!({ "slot": self.slot, "sha256": sha256 }));
    }

    /// The previous version, `sha256`, is live again.
    pub fn rolled_back(&self, sha256: &str) {
        self.stats.reload();
        self.metrics.count(Count::PluginReloads);
        tracing::warn!(
            "[PLUGIN {}] rolled back to sha256 {}",
            self.slot,
            short(sha256)
        );
        self.feed.publish(
            "plugin.rolled_back",
            json!({ "slot": self.slot, "sha256": sha256 }),
        );
    }

    /// The slot's file was removed and `sha256` no longer serves: the built-in behaviour does.
    pub fn unloaded(&self, path: &std::path::Path, sha256: &str) {
        self.stats.reload();
        self.metrics.count(Count::PluginReloads);
        tracing::warn!(
            "[PLUGIN {}] {} was removed: sha256 {} unloaded, the built-in behaviour serves",
            self.slot,
            path.display(),
            short(sha256)
        );
        self.feed.publish(
            "plugin.unloaded",
            json!({ "slot": self.slot, "sha256": sha256 }),
        );
    }

    /// A call failed with `fault` (the caller falls back).
    pub fn fault(&self, fault: &CallFault) {
        self.stats.fault();
        match fault {
            CallFault::Timeout => self.metrics.fault(Fault::PluginTimeout),
            CallFault::Oom => self.metrics.fault(Fault::PluginOom),
            CallFault::Busy => self.metrics.count(Count::PluginCallsRefusedBusy),
            _ => self.metrics.fault(Fault::PluginTrap),
        }
        tracing::warn!("[PLUGIN {}] call failed: {fault}", self.slot);
        self.feed.publish(
            "plugin.fault",
            json!({ "slot": self.slot, "fault": fault.to_string() }),
        );
    }
}
