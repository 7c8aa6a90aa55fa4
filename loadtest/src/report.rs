//! The load test's report: counts, latency percentiles, errors by kind; text and JSON.

use super::worker::Outcome;
use super::{Mode, Options};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Percentiles of one latency, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Latencies {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub count: usize,
}

impl Latencies {
    pub fn of(samples: &[Duration]) -> Latencies {
        if samples.is_empty() {
            return Latencies::default();
        }
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        Latencies {
            p50: round(at(0.50)),
            p90: round(at(0.90)),
            p99: round(at(0.99)),
            max: round(at(1.0)),
            count: ms.len(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Turns {
    pub sent: u64,
    pub answered: u64,
    pub interrupted: u64,
    pub unanswered: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: String,
    pub url: String,
    pub connections: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub events_sent: u64,
    pub events_received: u64,
    pub turns: Turns,
    /// Client send → first response event.
    pub latency_ms: Latencies,
    /// Client send → `response.done`.
    pub latency_done_ms: Latencies,
    pub events_per_second: f64,
    pub turns_per_second: f64,
    pub reconnects: u64,
    pub upstream_cuts: u64,
    pub errors: BTreeMap<String, u64>,
    pub duration_s: f64,
}

impl Report {
    pub fn from_outcomes(
        options: &Options,
        outcomes: &[Outcome],
        elapsed: Duration,
        cuts: u64,
    ) -> Report {
        let sum = |f: fn(&Outcome) -> u64| outcomes.iter().map(f).sum::<u64>();
        let mut errors = BTreeMap::new();
        for outcome in outcomes {
            for (kind, n) in &outcome.errors {
                *errors.entry(kind.clone()).or_default() += n;
            }
        }
        let first: Vec<Duration> = outcomes
            .iter()
            .flat_map(|o| o.first_event.iter().copied())
            .collect();
        let done: Vec<Duration> = outcomes
            .iter()
            .flat_map(|o| o.done.iter().copied())
            .collect();
        let secs = elapsed.as_secs_f64().max(0.001);
        let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
        Report {
            mode: match options.mode {
                Mode::Load => "load",
                Mode::Stress => "stress",
                Mode::Idle => "idle",
            }
            .into(),
            url: format!("{}{}", options.url, options.path),
            connections: outcomes.iter().filter(|o| o.connected).count(),
            succeeded: outcomes.len() - failed,
            failed,
            events_sent: sum(|o| o.events_sent),
            events_received: sum(|o| o.events_received),
            turns: Turns {
                sent: sum(|o| o.turns_sent),
                answered: sum(|o| o.turns_answered),
                interrupted: sum(|o| o.turns_interrupted),
                unanswered: sum(|o| o.turns_unanswered),
            },
            latency_ms: Latencies::of(&first),
            latency_done_ms: Latencies::of(&done),
            events_per_second: (sum(|o| o.events_received) as f64 / secs * 10.0).round() / 10.0,
            turns_per_second: (sum(|o| o.turns_answered) as f64 / secs * 100.0).round() / 100.0,
            reconnects: sum(|o| o.reconnects),
            upstream_cuts: cuts,
            errors,
            duration_s: (secs * 100.0).round() / 100.0,
        }
    }

    /// The human-readable report.
    pub fn text(&self) -> String {
        let l = |x: &Latencies| {
            format!(
                "p50 {:.1} · p90 {:.1} · p99 {:.1} · max {:.1} ms",
                x.p50, x.p90, x.p99, x.max
            )
        };
        let mut out = format!(
            "{} on {} for {:.1}s\n  sessions   {} connected · {} succeeded · {} failed\n  events     {} sent · {} received ({:.0}/s)\n  turns      {} sent · {} answered · {} interrupted · {} unanswered ({:.1}/s)\n  first event  {}\n  done         {}\n  reconnects {} (upstream cut {} times)\n",
            self.mode,
            self.url,
            self.duration_s,
            self.connections,
            self.succeeded,
            self.failed,
            self.events_sent,
            self.events_received,
            self.events_per_second,
            self.turns.sent,
            self.turns.answered,
            self.turns.interrupted,
            self.turns.unanswered,
            self.turns_per_second,
            l(&self.latency_ms),
            l(&self.latency_done_ms),
            self.reconnects,
            self.upstream_cuts
        );
        if !self.errors.is_empty() {
            out.push_str("  errors    ");
            for (kind, n) in &self.errors {
                out.push_str(&format!(" {kind}×{n}"));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let l = Latencies::of(&samples);
        assert_eq!(
            (l.p50, l.p90, l.p99, l.max, l.count),
            (51.0, 90.0, 99.0, 100.0, 100)
        );
        assert_eq!(Latencies::of(&[]), Latencies::default());
    }
}
