//! The load test's report: counts, latency percentiles, errors by kind; text and JSON.

use super::process::Sample;
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
    /// The audio workload (audio mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<Audio>,
    /// The gateway process's own use (with `--gateway-pid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayUse>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Audio {
    pub frames_sent: u64,
    pub frames_received: u64,
    pub frames_per_second_in: f64,
    pub frames_per_second_out: f64,
    /// Simulator send → client arrival of each output frame.
    pub frame_latency_ms: Latencies,
    pub frames_lost: u64,
    pub frames_reordered: u64,
    pub input_frames_lost: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GatewayUse {
    pub cpu_seconds: f64,
    /// CPU per 1,000 frames forwarded (both ways; audio mode).
    pub cpu_ms_per_1000_frames: f64,
    /// CPU per answered turn.
    pub cpu_us_per_turn: f64,
    pub rss_mib: f64,
    pub rss_kib_per_session: f64,
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
        let audio = (options.mode == Mode::Audio).then(|| {
            let latency: Vec<Duration> = outcomes
                .iter()
                .flat_map(|o| o.audio.frame_latency.iter().copied())
                .collect();
            let per_second = |n: u64| (n as f64 / secs * 10.0).round() / 10.0;
            Audio {
                frames_sent: sum(|o| o.audio.frames_sent),
                frames_received: sum(|o| o.audio.frames_received),
                frames_per_second_in: per_second(sum(|o| o.audio.frames_sent)),
                frames_per_second_out: per_second(sum(|o| o.audio.frames_received)),
                frame_latency_ms: Latencies::of(&latency),
                frames_lost: sum(|o| o.audio.frames_lost),
                frames_reordered: sum(|o| o.audio.frames_reordered),
                input_frames_lost: sum(|o| o.audio.input_frames_lost),
            }
        });
        let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
        Report {
            mode: match options.mode {
                Mode::Load => "load",
                Mode::Stress => "stress",
                Mode::Idle => "idle",
                Mode::Audio => "audio",
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
            audio,
            gateway: None,
        }
    }

    /// The gateway's CPU and memory: `before` the sessions, `loaded` with all of them open,
    /// `after` they ended.
    pub fn add_gateway_use(&mut self, before: Sample, loaded: Sample, after: Sample) {
        let cpu = after.cpu.saturating_sub(before.cpu).as_secs_f64();
        let frames = self
            .audio
            .as_ref()
            .map_or(0, |a| a.frames_sent + a.frames_received);
        let per = |total: f64, n: u64| if n == 0 { 0.0 } else { total / n as f64 };
        let round = |v: f64| (v * 100.0).round() / 100.0;
        let grown = loaded.rss_bytes.saturating_sub(before.rss_bytes) as f64 / 1024.0;
        self.gateway = Some(GatewayUse {
            cpu_seconds: round(cpu),
            cpu_ms_per_1000_frames: round(per(cpu * 1e6, frames)),
            cpu_us_per_turn: round(per(cpu * 1e6, self.turns.answered)),
            rss_mib: round(loaded.rss_bytes as f64 / (1 << 20) as f64),
            rss_kib_per_session: round(per(grown, self.connections as u64)),
        });
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
        if let Some(a) = &self.audio {
            out.push_str(&format!(
                "  audio      {} frames in ({:.0}/s) · {} out ({:.0}/s) · lost {} · reordered {} · input lost {}\n  per frame    {}\n",
                a.frames_sent,
                a.frames_per_second_in,
                a.frames_received,
                a.frames_per_second_out,
                a.frames_lost,
                a.frames_reordered,
                a.input_frames_lost,
                l(&a.frame_latency_ms)
            ));
        }
        if let Some(g) = &self.gateway {
            out.push_str(&format!(
                "  gateway    {:.2} CPU s · {:.2} ms CPU per 1,000 frames · {:.1} µs CPU per turn · RSS {:.1} MiB ({:.0} KiB per session)\n",
                g.cpu_seconds, g.cpu_ms_per_1000_frames, g.cpu_us_per_turn, g.rss_mib, g.rss_kib_per_session
            ));
        }
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
