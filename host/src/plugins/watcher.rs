//! Watches `PLUGIN_DIR` and reloads a slot when its file changes. Debounced, so a file written
//! in several steps is loaded once. Handles atomic rename, in-place writes, delete-then-create,
//! and the `..data` symlink swap of a Kubernetes ConfigMap volume (any change not naming a slot
//! file reloads every slot; a reload of an unchanged file is a no-op). Removing `routing.wasm`
//! unloads the optional routing slot.

use super::backoff::Backoff;
use super::rag::Rag;
use super::routing::Routing;
use super::slot::Slot;
use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode, EventKind};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Whether an event may have changed a file's content. Opening and reading a file are not
/// changes: the slot reads its file to reload it, and taking those reads for changes would
/// load the file again after an operator's rollback, undoing it.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

pub struct Watcher {
    _debouncer: Debouncer<notify_debouncer_full::notify::RecommendedWatcher, RecommendedCache>,
}

impl Watcher {
    pub fn start(
        dir: &Path,
        backoff: Arc<Slot<Backoff>>,
        rag: Arc<Slot<Rag>>,
        routing: Arc<Slot<Routing>>,
    ) -> Option<Watcher> {
        let handler = move |result: DebounceEventResult| {
            let Ok(events) = result else { return };
            let (mut backoff_changed, mut rag_changed, mut routing_changed) = (false, false, false);
            for event in events.iter().filter(|e| changes_content(&e.kind)) {
                for path in &event.paths {
                    match path.file_name().and_then(|n| n.to_str()) {
                        Some("backoff.wasm") => backoff_changed = true,
                        Some("rag.wasm") => rag_changed = true,
                        Some("routing.wasm") => routing_changed = true,
                        Some(name) if name.starts_with(".cache") || name.contains(".tmp") => {}
                        _ => {
                            backoff_changed = true;
                            rag_changed = true;
                            routing_changed = true;
                        }
                    }
                }
            }
            // A deleted backoff or RAG file is not an error while its replacement is on the
            // way: the live version keeps serving (those slots are never empty). Routing is
            // optional: once its file is gone (still gone after the debounce), the default
            // order serves again.
            if backoff_changed && backoff.path().exists() {
                let _ = backoff.reload();
            }
            if rag_changed && rag.path().exists() {
                let _ = rag.reload();
            }
            if routing_changed {
                if routing.path().exists() {
                    let _ = routing.reload();
                } else {
                    routing.unload();
                }
            }
        };
        let mut debouncer = match new_debouncer(DEBOUNCE, None, handler) {
            Ok(debouncer) => debouncer,
            Err(error) => {
                tracing::warn!(
                    "cannot watch PLUGIN_DIR {}: {error}; use POST /admin/plugins/<slot>/reload",
                    dir.display()
                );
                return None;
            }
        };
        if let Err(error) = debouncer.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!(
                "cannot watch PLUGIN_DIR {}: {error}; use POST /admin/plugins/<slot>/reload",
                dir.display()
            );
            return None;
        }
        tracing::info!("watching {} for plugin changes", dir.display());
        Some(Watcher {
            _debouncer: debouncer,
        })
    }
}
