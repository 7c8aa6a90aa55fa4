//! The gateway's own tool, `search_knowledge_base`: its definition (added to every upstream
//! session) and the [`KnowledgeSearch`] handle answering it. A search runs through the `rag`
//! guard (breaker + retry + backoff) into the RAG plugin slot (on the plugin workers); the hits
//! become the `function_call_output` text, each with its chunk id so the model can cite it.
//! The conversation always continues: no hits → "No relevant information found.", failure or
//! an open breaker → "Search temporarily unavailable.".

use crate::metrics::{Count, Fault, Latency, Metrics};
use crate::plugins::rag::{self, Hit, Rag, SearchError};
use crate::plugins::slot::{CallFault, Slot};
use crate::plugins::workers;
use crate::resilience::{BreakerState, ErrorClass, Guard, RetryError};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::time::Instant;

/// The tool's name, as the seed declared it.
pub const NAME: &str = "search_knowledge_base";

/// The tool definition added to every upstream session.
pub fn definition() -> Value {
    json!({
        "type": "function",
        "name": NAME,
        "description": "Search the organisation's knowledge base. Use it for any question about the organisation, its products or procedures; cite the chunk ids in brackets.",
        "parameters": {
            "type": "object",
            "properties": { "query": { "type": "string", "description": "The search query" } },
            "required": ["query"]
        }
    })
}

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

/// Searches knowledge bases for sessions and the admin API.
pub struct KnowledgeSearch {
    slot: Arc<Slot<Rag>>,
    guard: Guard,
    kb_dir: PathBuf,
    max_output_bytes: usize,
    metrics: Arc<Metrics>,
}

impl KnowledgeSearch {
    pub fn new(
        slot: Arc<Slot<Rag>>,
        guard: Guard,
        kb_dir: PathBuf,
        max_output_bytes: usize,
        metrics: Arc<Metrics>,
    ) -> KnowledgeSearch {
        KnowledgeSearch {
            slot,
            guard,
            kb_dir,
            max_output_bytes,
            metrics,
        }
    }

    /// The `rag` breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.guard.state()
    }

    /// Whether `kb_id` names a knowledge base (the error says why not).
    pub fn check_kb(&self, kb_id: &str) -> Result<(), String> {
        crate::kb::check(&self.kb_dir, kb_id)
    }

    /// Search `kb_id` through breaker + retry + plugin.
    pub async fn search(
        &self,
        kb_id: &str,
        query: &str,
        top_k: u32,
    ) -> Result<Vec<Hit>, RagFailure> {
        let metrics = &self.metrics;
        metrics.count(Count::RagSearches);
        let started = Instant::now();
        let result = self
            .guard
            .run(class, |_| {
                let slot = self.slot.clone();
                let (kb_id, query) = (kb_id.to_string(), query.to_string());
                async move {
                    // Searches compute: on the plugin workers, never on the sessions' ones.
                    let searched =
                        workers::run(
                            async move { rag::search(&slot, &kb_id, &query, top_k).await },
                        )
                        .await
                        .unwrap_or_else(|e| Err(SearchError::Internal(e)));
                    match searched {
                        Ok(hits) => Ok(Ok(hits)),
                        // Not the dependency's fault: answered, not retried, not held against
                        // the breaker.
                        Err(e @ (SearchError::UnknownKb(_) | SearchError::InvalidQuery(_))) => {
                            Ok(Err(e))
                        }
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
    pub async fn answer(&self, kb_id: &str, query: &str) -> String {
        match self.search(kb_id, query, TOP_K).await {
            Ok(hits) if hits.is_empty() => NO_RESULTS.to_string(),
            Ok(hits) => {
                let (output, cut) = bounded(format_hits(&hits), self.max_output_bytes);
                if cut {
                    self.metrics.count(Count::ToolOutputsTruncated);
                    tracing::warn!(
                        "[RAG] answer on '{kb_id}' cut to {} bytes (MAX_TOOL_OUTPUT_BYTES)",
                        self.max_output_bytes
                    );
                }
                output
            }
            Err(RagFailure::Rejected(SearchError::InvalidQuery(_))) => NO_RESULTS.to_string(),
            Err(RagFailure::Rejected(SearchError::UnknownKb(kb))) => {
                format!("The knowledge base '{kb}' does not exist.")
            }
            Err(_) => FALLBACK.to_string(),
        }
    }
}

/// `output` cut to at most `max` bytes (at a character boundary) with a note the model can
/// read saying so; whether it was cut.
pub fn bounded(output: String, max: usize) -> (String, bool) {
    if output.len() <= max {
        return (output, false);
    }
    let total = output.len();
    let note = format!("\n[… search result truncated: {total} bytes exceed the gateway's limit]");
    let mut keep = max.saturating_sub(note.len());
    while !output.is_char_boundary(keep) {
        keep -= 1;
    }
    let mut cut = output;
    cut.truncate(keep);
    cut.push_str(&note);
    (cut, true)
}

/// Hits as the model sees them: `[chunk id] title: content`, best first.
pub fn format_hits(hits: &[Hit]) -> String {
    hits.iter()
        .map(|hit| format!("[{}] {}: {}", hit.chunk_id, hit.title, hit.content))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn long_answers_are_cut_with_a_note_within_the_bound() {
        let (same, cut) = bounded("short".into(), 100);
        assert_eq!((same.as_str(), cut), ("short", false));
        let long = "é".repeat(50_000);
        let (output, cut) = bounded(long, 1000);
        assert!(cut && output.len() <= 1000, "{}", output.len());
        assert!(output.ends_with("100000 bytes exceed the gateway's limit]"));
    }
}
