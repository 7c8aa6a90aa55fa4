//! The `rag-search` world on the host side: bindings, the slot kind with the read-only
//! `knowledge` import (chunks served by the host's `kb` module), and `search`.

use super::engine::HostState;
use super::slot::{CallFault, Kind, Slot};
use crate::kb::KbError;
use crate::metrics::Latency;
use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        world: "rag-search",
        path: "../wit",
        with: { "voxgate:plugins/log": crate::plugins::backoff::bindings::voxgate::plugins::log },
    });
}

use bindings::exports::voxgate::plugins::search as wit;
use bindings::voxgate::plugins::knowledge;

fn kb_error(error: KbError) -> knowledge::KbError {
    match error {
        KbError::Unknown(kb) => knowledge::KbError::UnknownKb(kb),
        KbError::Unavailable(why) => knowledge::KbError::Unavailable(why),
    }
}

impl knowledge::Host for HostState {
    fn version(&mut self, kb_id: String) -> Result<u64, knowledge::KbError> {
        let kbs = self
            .knowledge
            .as_ref()
            .ok_or_else(|| knowledge::KbError::Unavailable("no knowledge bases".into()))?;
        kbs.load(&kb_id)
            .map(|snapshot| snapshot.version)
            .map_err(kb_error)
    }

    fn chunks(&mut self, kb_id: String) -> Result<Vec<knowledge::Chunk>, knowledge::KbError> {
        let kbs = self
            .knowledge
            .as_ref()
            .ok_or_else(|| knowledge::KbError::Unavailable("no knowledge bases".into()))?;
        let snapshot = kbs.load(&kb_id).map_err(kb_error)?;
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

/// The RAG slot's kind.
pub struct Rag;

impl Kind for Rag {
    const SLOT: &'static str = "rag";
    const WORLD: &'static str = "rag-search";
    type Pre = bindings::RagSearchPre<HostState>;
    type Bindings = bindings::RagSearch;

    fn link(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        bindings::RagSearch::add_to_linker::<_, HasSelf<_>>(linker, |state| state)
            .map_err(Into::into)
    }

    fn pre(pre: InstancePre<HostState>) -> anyhow::Result<Self::Pre> {
        bindings::RagSearchPre::new(pre).map_err(Into::into)
    }

    fn instantiate(
        pre: &Self::Pre,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Self::Bindings> {
        pre.instantiate(store)
    }

    fn smoke(bindings: &Self::Bindings, store: &mut Store<HostState>) -> Result<(), String> {
        // Any answer (even "unknown kb") proves the export works; a trap does not.
        bindings
            .voxgate_plugins_search()
            .call_search(store, "__voxgate_probe__", "probe", 1)
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
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

/// Search through the RAG slot (blocking; run on a blocking thread).
pub fn search(
    slot: &Slot<Rag>,
    kb_id: &str,
    query: &str,
    top_k: u32,
) -> Result<Vec<Hit>, SearchError> {
    let (answer, index_build) = slot
        .call(|bindings, store| {
            let answer =
                bindings
                    .voxgate_plugins_search()
                    .call_search(&mut *store, kb_id, query, top_k)?;
            // The plugin fetched the chunks during this call: it (re)built its index.
            Ok((
                answer,
                store.data_mut().index_started.take().map(|at| at.elapsed()),
            ))
        })
        .map_err(SearchError::Fault)?;
    if let Some(took) = index_build {
        slot.metrics().observe(Latency::RagInit, took.as_secs_f64());
        tracing::info!(
            "[RAG] index of '{kb_id}' built in {:.1} ms",
            took.as_secs_f64() * 1e3
        );
    }
    match answer {
        Ok(hits) => {
            if hits.len() > top_k as usize || hits.iter().any(|h| !h.score.is_finite()) {
                let fault = CallFault::Invalid(format!(
                    "{} hits for top-k {top_k}, or a non-finite score",
                    hits.len()
                ));
                slot.count_fault(&fault);
                return Err(SearchError::Fault(fault));
            }
            Ok(hits
                .into_iter()
                .map(|h| Hit {
                    chunk_id: h.chunk_id,
                    title: h.title,
                    content: h.content,
                    score: h.score,
                })
                .collect())
        }
        Err(wit::SearchError::Kb(knowledge::KbError::UnknownKb(kb))) => {
            Err(SearchError::UnknownKb(kb))
        }
        Err(wit::SearchError::Kb(knowledge::KbError::Unavailable(why))) => {
            Err(SearchError::Unavailable(why))
        }
        Err(wit::SearchError::InvalidQuery(why)) => Err(SearchError::InvalidQuery(why)),
        Err(wit::SearchError::Internal(why)) => Err(SearchError::Internal(why)),
    }
}
