//! `voxgate plugin test FILE.wasm`: conformance and property probes for the file's world, run
//! as many times as asked over seeded random inputs, through the real slot machinery (limits,
//! deadline, memory cap), with per-call timing and the memory high-water mark. `plugin check`
//! stays the quick structural check; this is the one to run before shipping a policy.
//!
//! Each world's probes live in their own file; this one holds the report and the shared
//! bookkeeping (a property's tally, the timing of every call).

mod backoff;
mod rag;
mod routing;

use super::PluginSettings;
use super::check::{self, Inspected};
use super::slot::{Kind, Slot};
use super::{backoff::Backoff, rag::Rag, routing::Routing};
use std::path::Path;
use std::time::{Duration, Instant};

/// How hard to probe.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Random inputs per property.
    pub runs: u32,
    /// Seed of the inputs: the same seed gives the same inputs.
    pub seed: u64,
}

/// One property: how often it was checked, how often it failed, the first counterexample.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Property {
    pub name: String,
    pub checked: u64,
    pub failures: u64,
    pub first_failure: Option<String>,
}

/// Per-call wall time, microseconds (every call the probes made).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Timing {
    pub calls: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// What `plugin test` found.
#[derive(Debug, Default, serde::Serialize)]
pub struct TestReport {
    #[serde(flatten)]
    pub check: check::Report,
    pub runs: u32,
    pub seed: u64,
    pub properties: Vec<Property>,
    /// Measurements that are not pass/fail (known-item hit rate …).
    pub observations: Vec<String>,
    pub timing: Timing,
    /// Starting one instance (outside a call: what a call pays when none is waiting).
    pub instantiation: Timing,
    pub memory_peak_bytes: u64,
    pub memory_cap_bytes: usize,
    /// The slot's call deadline, milliseconds.
    pub call_deadline_ms: f64,
}

impl TestReport {
    pub fn passed(&self) -> bool {
        self.check.passed() && self.properties.iter().all(|p| p.failures == 0)
    }
}

/// The probes' bookkeeping: properties in the order first checked, call timings.
#[derive(Default)]
struct Probe {
    properties: Vec<Property>,
    observations: Vec<String>,
    calls: Vec<Duration>,
    starts: Vec<Duration>,
}

impl Probe {
    /// Record one check of `name`; `failure` describes the counterexample when it failed.
    fn check(&mut self, name: &str, failure: Option<String>) {
        let index = match self.properties.iter().position(|p| p.name == name) {
            Some(index) => index,
            None => {
                self.properties.push(Property {
                    name: name.to_string(),
                    ..Property::default()
                });
                self.properties.len() - 1
            }
        };
        let property = &mut self.properties[index];
        property.checked += 1;
        if let Some(failure) = failure {
            property.failures += 1;
            property.first_failure.get_or_insert(failure);
        }
    }

    /// A measurement that is reported, not judged.
    fn observe(&mut self, observation: String) {
        self.observations.push(observation);
    }

    /// Await one plugin call, timing it.
    async fn timed<T>(&mut self, call: impl std::future::Future<Output = T>) -> T {
        let started = Instant::now();
        let answer = call.await;
        self.calls.push(started.elapsed());
        answer
    }

    /// Start a few instances of `slot`'s live version, timing each.
    fn time_instantiation<K: Kind>(
        &mut self,
        slot: &Slot<K>,
        runtime: &tokio::runtime::Runtime,
        options: Options,
    ) {
        for _ in 0..options.runs.clamp(3, INSTANTIATIONS) {
            match runtime.block_on(slot.time_instantiation()) {
                Ok(took) => self.starts.push(took),
                Err(problem) => {
                    self.check("an instance starts", Some(problem));
                    return;
                }
            }
        }
        self.check("an instance starts", None);
    }

    fn timing(&mut self) -> Timing {
        percentiles(&mut self.calls)
    }
}

/// Instances `plugin test` starts to time instantiation.
const INSTANTIATIONS: u32 = 20;

/// Nearest-rank percentiles of `samples`, microseconds.
fn percentiles(samples: &mut [Duration]) -> Timing {
    samples.sort();
    let at = |q: f64| -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len());
        samples[index - 1].as_secs_f64() * 1e6
    };
    Timing {
        calls: samples.len(),
        p50_us: at(0.50),
        p99_us: at(0.99),
        max_us: at(1.0),
    }
}

/// Probe `file` with the slots' limits from `settings`. Quiet: every fault a call's warning
/// would log is in the report.
pub fn test(file: &Path, settings: &PluginSettings, options: Options) -> TestReport {
    let quiet = tracing::subscriber::NoSubscriber::default();
    tracing::subscriber::with_default(quiet, || test_quietly(file, settings, options))
}

fn test_quietly(file: &Path, settings: &PluginSettings, options: Options) -> TestReport {
    let mut report = TestReport {
        runs: options.runs,
        seed: options.seed,
        ..TestReport::default()
    };
    let Some(inspected) = check::inspect(file, settings, &mut report.check) else {
        return report;
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            report
                .check
                .problems
                .push(format!("cannot start a runtime: {e}"));
            return report;
        }
    };
    let mut probe = Probe::default();
    let outcome = match inspected.world {
        Backoff::WORLD => {
            with_slot::<Backoff>(&inspected, settings.backoff.clone(), None, &mut report).map(
                |slot| {
                    backoff::probe(&slot, options, &mut probe, &runtime);
                    probe.time_instantiation(&slot, &runtime, options);
                    slot.memory_peak()
                },
            )
        }
        Routing::WORLD => {
            with_slot::<Routing>(&inspected, settings.backoff.clone(), None, &mut report).map(
                |slot| {
                    runtime.block_on(routing::probe(&slot, options, &mut probe));
                    probe.time_instantiation(&slot, &runtime, options);
                    slot.memory_peak()
                },
            )
        }
        _ => rag::knowledge(inspected.dir.path(), options.seed)
            .map_err(|problem| report.check.problems.push(problem))
            .ok()
            .and_then(|(knowledge, kb)| {
                let slot = with_slot::<Rag>(
                    &inspected,
                    settings.rag.clone(),
                    Some(knowledge.clone()),
                    &mut report,
                )?;
                runtime.block_on(rag::probe(&slot, &knowledge, &kb, options, &mut probe));
                probe.time_instantiation(&slot, &runtime, options);
                Some(slot.memory_peak())
            }),
    };
    if let Some(peak) = outcome {
        report.memory_peak_bytes = peak;
    }
    report.timing = probe.timing();
    report.instantiation = percentiles(&mut probe.starts);
    report.properties = probe.properties;
    report.observations = probe.observations;
    report
}

/// A slot serving the inspected component; its cap goes into the report.
fn with_slot<K: Kind>(
    inspected: &Inspected,
    limits: super::SlotLimits,
    knowledge: Option<std::sync::Arc<crate::kb::KnowledgeBases>>,
    report: &mut TestReport,
) -> Option<Slot<K>> {
    report.memory_cap_bytes = limits.memory_bytes;
    report.call_deadline_ms = limits.deadline.as_secs_f64() * 1e3;
    inspected
        .slot::<K>(limits, knowledge)
        .map_err(|problem| report.check.problems.push(problem))
        .ok()
}

/// A small, fast, seeded generator (SplitMix64): probes are reproducible from `--seed`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[low, high]`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_property_keeps_its_first_counterexample() {
        let mut probe = Probe::default();
        probe.check("p", None);
        probe.check("p", Some("first".into()));
        probe.check("p", Some("second".into()));
        let p = &probe.properties[0];
        assert_eq!((p.checked, p.failures), (3, 2));
        assert_eq!(p.first_failure.as_deref(), Some("first"));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut probe = Probe {
            calls: (1..=100).rev().map(Duration::from_micros).collect(),
            ..Probe::default()
        };
        let timing = probe.timing();
        assert_eq!(timing.calls, 100);
        assert_eq!(
            (timing.p50_us, timing.p99_us, timing.max_us),
            (50.0, 99.0, 100.0)
        );
    }

    #[test]
    fn the_generator_is_seeded() {
        let (mut a, mut b) = (Rng(7), Rng(7));
        assert_eq!(
            (0..5).map(|_| a.next()).collect::<Vec<_>>(),
            (0..5).map(|_| b.next()).collect::<Vec<_>>()
        );
        let mut c = Rng(8);
        assert!((0..100).all(|_| c.between(3, 9) >= 3 && c.between(3, 9) <= 9));
    }
}
