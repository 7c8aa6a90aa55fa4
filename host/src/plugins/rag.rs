//! The `rag-search` world on the host side: bindings, the slot kind, and `search` (whose
//! answer is checked: no more hits than asked for, finite scores).

use super::imports::knowledge;
use super::sandbox::HostState;
use super::slot::{CallFault, Kind, Slot};
use crate::metrics::Latency;
use std::future::Future;
use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        world: "rag-search",
        path: "../wit",
        with: {
            "voxgate:plugins/log": crate::plugins::imports::log,
            "voxgate:plugins/knowledge": crate::plugins::imports::knowledge,
            "voxgate:plugins/index-cache": crate::plugins::imports::index_cache,
        },
        exports: { default: async },
    });
}

use bindings::exports::voxgate::plugins::search as wit;

/// The RAG slot's kind.
pub struct Rag;

impl Kind for Rag {
    const SLOT: &'static str = "rag";
    const WORLD: &'static str = "rag-search";
    type Pre = bindings::RagSearchPre<HostState>;
    type Bindings = bindings::RagSearch;
    /// `(kb id, query, top-k)`.
    type Input = (String, String, u32);
    /// The plugin's answer, and how long an index build during the call took.
    type Output = (
        Result<Vec<wit::Hit>, wit::SearchError>,
        Option<std::time::Duration>,
    );

    fn link(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        bindings::RagSearch::add_to_linker::<_, HasSelf<_>>(linker, |state| state)
            .map_err(Into::into)
    }

    fn pre(pre: InstancePre<HostState>) -> anyhow::Result<Self::Pre> {
        bindings::RagSearchPre::new(pre).map_err(Into::into)
    }

    fn instantiate<'a>(
        pre: &'a Self::Pre,
        store: &'a mut Store<HostState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Bindings>> + Send + 'a {
        pre.instantiate_async(store)
    }

    async fn invoke(
        bindings: &Self::Bindings,
        store: &mut Store<HostState>,
        (kb_id, query, top_k): Self::Input,
    ) -> wasmtime::Result<Self::Output> {
        let answer = bindings
            .voxgate_plugins_search()
            .call_search(&mut *store, &kb_id, &query, top_k)
            .await?;
        // The plugin fetched the chunks during this call: it (re)built its index.
        let index_build = store.data_mut().index_started.take().map(|at| at.elapsed());
        Ok((answer, index_build))
    }

    fn smoke_input() -> Self::Input {
        // Any answer (even "unknown kb") proves the export works; a trap does not.
        ("__voxgate_probe__".into(), "probe".into(), 1)
    }
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub chunk_id: String,
    pub title: String,
    pub content: String,
    pub score: f64,
}

/// Why a search found nothing to say (the plugin answered with an error).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    #[error("{0}")]
    Fault(CallFault),
    #[error("unknown knowledge base '{0}'")]
    UnknownKb(String),
    #[error("knowledge base unavailable: {0}")]
    Unavailable(String),
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("search failed: {0}")]
    Internal(String),
}

/// Search through the RAG slot; the answer is checked (no more hits than asked for, finite
/// scores).
pub async fn search(
    slot: &Slot<Rag>,
    kb_id: &str,
    query: &str,
    top_k: u32,
) -> Result<Vec<Hit>, SearchError> {
    let hits = answer(slot, kb_id, query, top_k)
        .await
        .map_err(SearchError::Fault)??;
    if hits.len() > top_k as usize || hits.iter().any(|h| !h.score.is_finite()) {
        let fault = CallFault::Invalid(format!(
            "{} hits for top-k {top_k}, or a non-finite score",
            hits.len()
        ));
        slot.count_fault(&fault);
        return Err(SearchError::Fault(fault));
    }
    Ok(hits)
}

/// The plugin's answer as it gave it, unchecked (`plugin test` judges it); the outer error is
/// a fault of the call itself.
pub async fn answer(
    slot: &Slot<Rag>,
    kb_id: &str,
    query: &str,
    top_k: u32,
) -> Result<Result<Vec<Hit>, SearchError>, CallFault> {
    let (answer, index_build) = slot
        .call((kb_id.to_string(), query.to_string(), top_k))
        .await?;
    if let Some(took) = index_build {
        slot.metrics().observe(Latency::RagInit, took.as_secs_f64());
        tracing::info!(
            "[RAG] index of '{kb_id}' built in {:.1} ms",
            took.as_secs_f64() * 1e3
        );
    }
    Ok(match answer {
        Ok(hits) => Ok(hits
            .into_iter()
            .map(|h| Hit {
                chunk_id: h.chunk_id,
                title: h.title,
                content: h.content,
                score: h.score,
            })
            .collect()),
        Err(wit::SearchError::Kb(knowledge::KbError::UnknownKb(kb))) => {
            Err(SearchError::UnknownKb(kb))
        }
        Err(wit::SearchError::Kb(knowledge::KbError::Unavailable(why))) => {
            Err(SearchError::Unavailable(why))
        }
        Err(wit::SearchError::InvalidQuery(why)) => Err(SearchError::InvalidQuery(why)),
        Err(wit::SearchError::Internal(why)) => Err(SearchError::Internal(why)),
    })
}
