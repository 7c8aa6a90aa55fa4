//! The plugin workers: a small runtime of its own (one thread fewer than the cores, at least
//! one, at lower OS priority than serving) where heavy plugin calls — RAG searches, which
//! compute for milliseconds or, written badly, for seconds — run. Sessions' I/O never waits
//! behind them on a shared worker. Backoff decisions (sub-microsecond) run inline instead.

use std::future::Future;
use std::sync::OnceLock;

fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(cores.saturating_sub(1).max(1))
                .thread_name("voxgate-plugin")
                .on_thread_start(super::engine::lower_this_threads_priority)
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the plugin workers: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Run `call` on the plugin workers and wait for its answer. The call keeps its own deadline;
/// if the caller goes away first, the call still ends at that deadline.
pub async fn run<F>(call: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime()?
        .spawn(call)
        .await
        .map_err(|e| format!("the plugin call did not complete: {e}"))
}

/// Start `task` on the plugin workers without waiting for it (it bounds its own time).
pub fn spawn<F>(task: F) -> Result<(), String>
where
    F: Future<Output = ()> + Send + 'static,
{
    runtime()?.spawn(task);
    Ok(())
}
