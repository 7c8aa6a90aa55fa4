//! Answering `search_knowledge_base`: the search runs through the `rag` breaker and the retry
//! executor into the RAG plugin slot (on a blocking thread); the hits become the
//! `function_call_output` text, each with its chunk id so the model can cite it. The
//! conversation always continues: no hits → "No relevant information found.", failure or
//! an open breaker → "Search temporarily unavailable.".

use crate::gateway::Gateway;
use crate::metrics::{Count, Fault, Latency};
use crate::plugins::rag::{self, Hit, SearchError};
use crate::plugins::slot::CallFault;
use crate::resilience::retry::{self, RetryError, RetrySettings};
use crate::resilience::{ErrorClass, Operation};
use tokio::time::Instant;

pub const NO_RESULTS: &str = "No relevant information found.";
pub const FALLBACK: &str = "Search temporarily unavailable.";
/// Hits given to the model per search.
pub const TOP_K: u32 = 5;

/// Why a search produced no hits to show.
#[derive(Debug, thiserror::Error)]
pub enum RagFailure {
    /// The dependency failed (after retries) or its breaker is open.
    #[error("{0}")]
    Unavailable(String),
    /// The request itself cannot be answered (unknown kb, empty query): not retried.
    #[error("{0}")]
    Rejected(SearchError),
}

fn class(error: &SearchError) -> ErrorClass {
    match error {
        SearchError::Fault(CallFault::Timeout) => ErrorClass::Timeout,
        _ => ErrorClass::Other,
    }
}

/// Search `kb_id` through breaker + retry + plugin.
pub async fn search(
    gateway: &Gateway,
    kb_id: &str,
    query: &str,
    top_k: u32,
) -> Result<Vec<Hit>, RagFailure> {
    let metrics = &gateway.metrics;
    metrics.count(Count::RagSearches);
    let started = Instant::now();
    let settings = RetrySettings::new(Operation::RagSearch, &gateway.config.retry);
    let policy = gateway.backoff_policy();
    let result = retry::run(&settings, policy.as_ref(), &gateway.rag, class, |_| {
        let slot = gateway.plugins.rag.clone();
        let (kb_id, query) = (kb_id.to_string(), query.to_string());
        async move {
            let outcome =
                tokio::task::spawn_blocking(move || rag::search(&slot, &kb_id, &query, top_k))
                    .await
                    .unwrap_or_else(|join| {
                        Err(SearchError::Internal(format!("search task failed: {join}")))
                    });
            match outcome {
                Ok(hits) => Ok(Ok(hits)),
                // Not the dependency's fault: answered, not retried, not held against the breaker.
                Err(e @ (SearchError::UnknownKb(_) | SearchError::InvalidQuery(_))) => Ok(Err(e)),
                Err(e) => Err(e),
            }
        }
    })
    .await;
    metrics.observe(Latency::RagSearch, started.elapsed().as_secs_f64());
    match result {
        Ok(Ok(hits)) => Ok(hits),
        Ok(Err(rejected)) => Err(RagFailure::Rejected(rejected)),
        Err(error) => {
            metrics.fault(Fault::RagSearchFailed);
            let message = match error {
                RetryError::Rejected(open) => open.to_string(),
                RetryError::Failed { attempts, last } => {
                    format!("{last} (after {attempts} attempt(s))")
                }
            };
            tracing::warn!("[RAG] search on '{kb_id}' failed: {message}");
            Err(RagFailure::Unavailable(message))
        }
    }
}

/// The tool output for `query` on `kb_id`.
pub async fn answer(gateway: &Gateway, kb_id: &str, query: &str) -> String {
    match search(gateway, kb_id, query, TOP_K).await {
        Ok(hits) if hits.is_empty() => NO_RESULTS.to_string(),
        Ok(hits) => format_hits(&hits),
        Err(RagFailure::Rejected(SearchError::InvalidQuery(_))) => NO_RESULTS.to_string(),
        Err(RagFailure::Rejected(SearchError::UnknownKb(kb))) => {
            format!("The knowledge base '{kb}' does not exist.")
        }
        Err(_) => FALLBACK.to_string(),
    }
}

/// Hits as the model sees them: `[chunk id] title: content`, best first.
pub fn format_hits(hits: &[Hit]) -> String {
    hits.iter()
        .map(|hit| format!("[{}] {}: {}", hit.chunk_id, hit.title, hit.content))
        .collect::<Vec<_>>()
        .join("\n\n")
}
