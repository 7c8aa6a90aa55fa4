//! `voxgate loadtest`: N concurrent Realtime sessions against a gateway (or, with `--direct`,
//! straight against the simulator), each sending user turns at a rate and timing the answers.
//! `stress` also cuts the upstream repeatedly through the simulator's `/_sim/faults`; `idle`
//! opens sessions and holds them, to measure capacity and memory per session; `audio` streams
//! audio frames both ways at real-time pace (`audio.rs`). With the gateway's pid, the report
//! adds the gateway process's own CPU and memory (`process.rs`).
//! Loopback only in practice; every loop is bounded by the duration and the session count.

mod audio;
pub mod cli;
mod process;
mod report;
mod worker;

pub use cli::{LoadtestArgs, run_command};
pub use report::{Latencies, Report};

use std::time::Duration;
use tokio::time::Instant;

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Sessions talking at a steady rate.
    Load,
    /// The same while the upstream is repeatedly cut.
    Stress,
    /// Sessions that connect and stay idle (capacity and memory per session).
    Idle,
    /// Sessions streaming audio both ways at real-time pace (50 frames/s each way).
    Audio,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub kb_id: String,
    pub mode: Mode,
    /// `ws://host:port` of the gateway (or the simulator for a direct run).
    pub url: String,
    /// `/ws` (seed protocol) or a drop-in path.
    pub path: String,
    pub sessions: usize,
    pub duration: Duration,
    /// User turns per second per session.
    pub rate: f64,
    /// `http://host:port` of the simulator (stress cuts, direct runs).
    pub sim_url: Option<String>,
    /// Time between upstream cuts in stress mode.
    pub cut_every: Duration,
    /// How long one turn may take before it counts as unanswered.
    pub turn_timeout: Duration,
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// The gateway's process id: its CPU time and memory are reported.
    pub gateway_pid: Option<u32>,
}

impl Options {
    pub fn new(kb_id: &str, mode: Mode, url: &str) -> Options {
        Options {
            kb_id: kb_id.to_string(),
            mode,
            url: url.trim_end_matches('/').to_string(),
            path: "/ws".into(),
            sessions: 10,
            duration: Duration::from_secs(30),
            rate: 1.0,
            sim_url: None,
            cut_every: Duration::from_secs(3),
            turn_timeout: Duration::from_secs(30),
            progress: false,
            gateway_pid: None,
        }
    }
}

/// Handshakes in flight at once (under the gateway's default of 64 per address).
const CONNECTING_AT_ONCE: usize = 32;

/// Run the workload and return its report.
pub async fn run(options: &Options) -> anyhow::Result<Report> {
    if options.sessions == 0 {
        anyhow::bail!("--sessions must be at least 1");
    }
    if !(options.rate > 0.0 && options.rate.is_finite()) {
        anyhow::bail!("--rate must be a positive number of turns per second");
    }
    if options.mode == Mode::Audio {
        let sim = options.sim_url.as_deref().ok_or_else(|| {
            anyhow::anyhow!("audio needs --sim-url (the simulator's http://host:port)")
        })?;
        configure_simulator(sim, &audio::simulator_setup()).await?;
    }
    let before = options.gateway_pid.map(process::sample).transpose()?;
    let progress = worker::Progress::new(options.progress, options.sessions);
    let started = Instant::now();
    let deadline = started + options.duration;
    let cutter = match options.mode {
        Mode::Stress => {
            let sim = options.sim_url.clone().ok_or_else(|| {
                anyhow::anyhow!("stress needs --sim-url (the simulator's http://host:port)")
            })?;
            Some(tokio::spawn(cut_upstream(sim, options.cut_every, deadline)))
        }
        _ => None,
    };
    let mut tasks = Vec::with_capacity(options.sessions);
    let connecting = std::sync::Arc::new(tokio::sync::Semaphore::new(CONNECTING_AT_ONCE));
    for n in 0..options.sessions {
        let options = options.clone();
        let progress = progress.clone();
        let connecting = connecting.clone();
        tasks.push(tokio::spawn(async move {
            worker::session(n, &options, deadline, &progress, &connecting).await
        }));
        // Open sessions in a gentle ramp so the listener's backlog is never the bottleneck.
        if n % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Memory with every session open, just before they end.
    let at_full_load = options.gateway_pid.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(deadline - Duration::from_millis(200)).await;
            process::sample(pid).ok()
        })
    });
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(outcome) => outcomes.push(outcome),
            Err(join) => outcomes.push(worker::Outcome::crashed(join.to_string())),
        }
    }
    let cuts = match cutter {
        Some(task) => task.await.unwrap_or(0),
        None => 0,
    };
    progress.finish();
    let mut report = Report::from_outcomes(options, &outcomes, started.elapsed(), cuts);
    if let (Some(pid), Some(before), Some(at_full_load)) =
        (options.gateway_pid, before, at_full_load)
    {
        let after = process::sample(pid)?;
        let loaded = at_full_load.await.ok().flatten().unwrap_or(after);
        report.add_gateway_use(before, loaded, after);
    }
    Ok(report)
}

/// Set the simulator up for a workload through its control route.
async fn configure_simulator(sim: &str, setup: &serde_json::Value) -> anyhow::Result<()> {
    let url = format!("{}/_sim/faults", sim.trim_end_matches('/'));
    let response = reqwest::Client::new().post(&url).json(setup).send().await?;
    if !response.status().is_success() {
        anyhow::bail!(
            "{url} refused the workload setup {setup}: {}",
            response.status()
        );
    }
    Ok(())
}

/// Close every upstream session through the simulator every `every`, until `deadline`.
async fn cut_upstream(sim: String, every: Duration, deadline: Instant) -> u64 {
    let client = reqwest::Client::new();
    let url = format!("{}/_sim/faults", sim.trim_end_matches('/'));
    let mut cuts = 0;
    loop {
        tokio::time::sleep(every).await;
        // Leave the last stretch uncut so every session can finish its turn.
        if Instant::now() + every >= deadline {
            return cuts;
        }
        let body = r#"{"close": {"code": 1001, "reason": "session_expired"}}"#;
        match client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => cuts += 1,
            Ok(response) => tracing::warn!("fault injection answered {}", response.status()),
            Err(error) => tracing::warn!("fault injection failed: {error}"),
        }
    }
}
