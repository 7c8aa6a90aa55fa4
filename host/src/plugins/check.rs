//! `voxgate plugin check FILE.wasm`: which world a component implements, its imports (refusing
//! any outside the allowed set), and conformance probes through the real slot machinery.

use super::backoff::{self, Backoff, probe_context};
use super::engine::PluginEngine;
use super::rag::{self, Rag};
use super::routing::Routing;
use super::slot::{Kind, Slot};
use super::{PluginSettings, SlotLimits};
use crate::kb::KnowledgeBases;
use crate::metrics::Metrics;
use crate::resilience::{Decision, ErrorClass};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// What `plugin check` found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub file: String,
    pub sha256: String,
    pub world: Option<String>,
    pub imports: Vec<String>,
    pub probes: Vec<String>,
    pub problems: Vec<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.world.is_some()
    }
}

/// A component read, compiled (once: the artifact is cached in a scratch directory for the
/// slots the probes load) and matched to its world.
pub struct Inspected {
    pub bytes: Vec<u8>,
    pub world: &'static str,
    /// Scratch space: probe knowledge bases, and the artifact cache unless one is named.
    pub dir: tempfile::TempDir,
    /// `PLUGIN_CACHE_DIR` when set (checks then share artifacts with each other and with a
    /// gateway using it), else a directory in the scratch space; and its bound.
    cache_dir: std::path::PathBuf,
    cache_max_bytes: u64,
}

impl Inspected {
    /// A slot serving the component, through the same validation a reload does.
    pub fn slot<K: Kind>(
        &self,
        limits: SlotLimits,
        knowledge: Option<Arc<KnowledgeBases>>,
    ) -> Result<Slot<K>, String> {
        let cache = PluginEngine::shared()
            .map_err(|e| format!("{e:#}"))?
            .cache(self.cache_dir.clone(), self.cache_max_bytes);
        let slot = Slot::<K>::new(
            self.dir.path(),
            limits,
            Some(cache),
            knowledge,
            Arc::new(Metrics::new()),
            Arc::default(),
        )
        .map_err(|e| format!("{e:#}"))?;
        slot.install(slot.prepare(&self.bytes, "check".into())?.0);
        Ok(slot)
    }
}

/// Read, compile and classify `file`, filling the report's file, sha256, world and imports;
/// `None` (with the problems in the report) when it cannot be loaded into any slot.
pub fn inspect(file: &Path, settings: &PluginSettings, report: &mut Report) -> Option<Inspected> {
    report.file = file.display().to_string();
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            report
                .problems
                .push(format!("cannot read {}: {e}", file.display()));
            return None;
        }
    };
    report.sha256 = super::slot::sha256_hex(&bytes);
    let fail = |report: &mut Report, problem: String| {
        report.problems.push(problem);
        None
    };
    let engine = match PluginEngine::shared() {
        Ok(engine) => engine,
        Err(e) => return fail(report, format!("{e:#}")),
    };
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => return fail(report, format!("cannot create a scratch directory: {e}")),
    };
    let budget = settings
        .backoff
        .compile_timeout
        .max(settings.rag.compile_timeout);
    let cache_dir = settings
        .cache_dir
        .clone()
        .unwrap_or_else(|| dir.path().join(".cache"));
    let cache = engine.cache(cache_dir.clone(), settings.cache_max_bytes);
    let component = match engine.compile(&bytes, &report.sha256, Some(&cache), budget) {
        Ok((component, artifact)) => {
            if let Some(artifact) = artifact {
                cache.put(&report.sha256, &artifact);
            }
            component
        }
        Err(e) => {
            let cause = super::slot::root_cause(&e);
            return fail(
                report,
                format!("not a valid WebAssembly component: {cause}"),
            );
        }
    };
    let ty = component.component_type();
    report.imports = ty
        .imports(&engine.engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let exports: Vec<String> = ty
        .exports(&engine.engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let exported = |interface: &str| exports.iter().any(|e| e.starts_with(interface));
    let world = if exported("voxgate:plugins/backoff") {
        Backoff::WORLD
    } else if exported("voxgate:plugins/search") {
        Rag::WORLD
    } else if exported("voxgate:plugins/routing") {
        Routing::WORLD
    } else {
        return fail(
            report,
            format!(
                "exports none of voxgate:plugins/backoff (world backoff-policy), voxgate:plugins/search (world rag-search), voxgate:plugins/routing (world routing-policy); it exports: {}",
                if exports.is_empty() {
                    "nothing".to_string()
                } else {
                    exports.join(", ")
                }
            ),
        );
    };
    report.world = Some(world.to_string());
    for import in &report.imports {
        if !super::imports::permitted(import, world) {
            report.problems.push(format!(
                "import {import} is not allowed for the {world} world"
            ));
        }
    }
    if !report.problems.is_empty() {
        return None;
    }
    Some(Inspected {
        bytes,
        world,
        dir,
        cache_dir,
        cache_max_bytes: settings.cache_max_bytes,
    })
}

/// Check `file` as the gateway would load it, with the slots' limits from `settings`.
pub fn check(file: &Path, settings: &PluginSettings) -> Report {
    let mut report = Report::default();
    let Some(inspected) = inspect(file, settings, &mut report) else {
        return report;
    };
    match inspected.world {
        Backoff::WORLD => probe_backoff(&inspected, settings.backoff.clone(), &mut report),
        Routing::WORLD => probe_routing(&inspected, settings.backoff.clone(), &mut report),
        _ => probe_rag(&inspected, settings.rag.clone(), &mut report),
    }
    report
}

/// The knowledge base of the RAG probes: two documents (under the scratch directory).
pub fn probe_knowledge(dir: &Path) -> Result<Arc<KnowledgeBases>, String> {
    let kb = dir.join("kbs/probe");
    std::fs::create_dir_all(&kb)
        .and_then(|_| {
            std::fs::write(
                kb.join("retries.md"),
                "# Retries\n\nThe gateway retries with exponential backoff.\n",
            )
        })
        .and_then(|_| {
            std::fs::write(
                kb.join("breakers.md"),
                "# Breakers\n\nA circuit breaker opens after consecutive failures.\n",
            )
        })
        .map_err(|e| format!("cannot write the probe knowledge base: {e}"))?;
    Ok(Arc::new(KnowledgeBases::new(dir.join("kbs"))))
}

fn probe_backoff(inspected: &Inspected, limits: SlotLimits, report: &mut Report) {
    let slot = match inspected.slot::<Backoff>(limits, None) {
        Ok(slot) => slot,
        Err(problem) => return report.problems.push(problem),
    };
    let classes = [
        ErrorClass::Timeout,
        ErrorClass::Refused,
        ErrorClass::HttpStatus(429),
        ErrorClass::HttpStatus(503),
        ErrorClass::Closed,
        ErrorClass::Other,
    ];
    for class in classes {
        let mut decisions = Vec::new();
        for attempt in 1..=3 {
            let ctx = probe_context(attempt, class);
            match super::run_to_completion(backoff::decide(&slot, &ctx))
                .unwrap_or(Err(super::slot::CallFault::Missing))
            {
                Ok(Decision::RetryAfter(delay)) if delay > ctx.max_delay => {
                    report.problems.push(format!(
                        "{class:?}, attempt {attempt}: delay {delay:?} exceeds max-delay {:?} (the host would clamp it)",
                        ctx.max_delay
                    ));
                }
                Ok(Decision::RetryAfter(delay)) => {
                    decisions.push(format!("{}ms", delay.as_millis()))
                }
                Ok(Decision::GiveUp) => decisions.push("give up".into()),
                Err(fault) => report
                    .problems
                    .push(format!("{class:?}, attempt {attempt}: {fault}")),
            }
        }
        report
            .probes
            .push(format!("{class:?}: {}", decisions.join(", ")));
    }
}

/// The smoke input's two candidates: the answer may only name them.
fn probe_routing(inspected: &Inspected, limits: SlotLimits, report: &mut Report) {
    let slot = match inspected.slot::<Routing>(limits, None) {
        Ok(slot) => slot,
        Err(problem) => return report.problems.push(problem),
    };
    let input = Routing::smoke_input();
    let known: Vec<String> = input.0.iter().map(|c| c.name.clone()).collect();
    match super::run_to_completion(slot.call(input)).unwrap_or(Err(super::slot::CallFault::Missing))
    {
        Ok(names) => {
            let unknown: Vec<&String> = names.iter().filter(|n| !known.contains(n)).collect();
            if unknown.is_empty() {
                report
                    .probes
                    .push(format!("order of [primary, secondary] → {names:?}"));
            } else {
                report.problems.push(format!(
                    "the order names upstreams that are not candidates: {unknown:?}"
                ));
            }
        }
        Err(fault) => report.problems.push(format!("order: {fault}")),
    }
}

fn probe_rag(inspected: &Inspected, limits: SlotLimits, report: &mut Report) {
    let knowledge = match probe_knowledge(inspected.dir.path()) {
        Ok(knowledge) => knowledge,
        Err(problem) => return report.problems.push(problem),
    };
    let limits = SlotLimits {
        deadline: Duration::from_secs(5),
        ..limits
    };
    let slot = match inspected.slot::<Rag>(limits, Some(knowledge)) {
        Ok(slot) => slot,
        Err(problem) => return report.problems.push(problem),
    };
    match super::run_to_completion(rag::search(&slot, "probe", "circuit breaker", 2))
        .unwrap_or_else(|e| Err(rag::SearchError::Internal(e.to_string())))
    {
        Ok(hits) if hits.first().is_some_and(|h| h.chunk_id == "breakers.md#0") => {
            report.probes.push(format!("search 'circuit breaker' → {} hit(s), best breakers.md#0", hits.len()));
        }
        Ok(hits) => report.problems.push(format!(
            "search 'circuit breaker' on the probe knowledge base should rank breakers.md#0 first, got {:?}",
            hits.iter().map(|h| h.chunk_id.as_str()).collect::<Vec<_>>()
        )),
        Err(e) => report.problems.push(format!("search on the probe knowledge base failed: {e}")),
    }
    match super::run_to_completion(rag::search(&slot, "no-such-kb", "anything", 3))
        .unwrap_or_else(|e| Err(rag::SearchError::Internal(e.to_string())))
    {
        Err(rag::SearchError::UnknownKb(_)) => {
            report.probes.push("unknown kb → unknown-kb error".into())
        }
        other => report.problems.push(format!(
            "a search of an unknown kb should fail with unknown-kb, got {other:?}"
        )),
    }
}
