//! `voxgate loadtest`: the command-line surface (options, the direct comparison, the report).

use crate::{Mode, Options, Report, run};
use std::io::Write;

/// `voxgate loadtest` as given on the command line.
#[derive(Debug, clap::Args)]
pub struct LoadtestArgs {
    /// Knowledge base the sessions use.
    pub kb_id: String,
    /// load: steady turns; stress: the same while the upstream is cut repeatedly; idle: hold sessions open; audio: stream audio both ways at real-time pace.
    #[arg(value_enum)]
    pub mode: Mode,
    /// The gateway.
    #[arg(long, default_value = "ws://127.0.0.1:8003")]
    pub url: String,
    /// /ws (seed protocol) or a drop-in path (/v1/realtime, /openai/realtime, /openai/v1/realtime).
    #[arg(long, default_value = "/ws")]
    pub path: String,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 10)]
    pub sessions: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// User turns per second per session.
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// The simulator's http://host:port (default: the gateway's embedded simulator, from /health).
    #[arg(long)]
    pub sim_url: Option<String>,
    /// Seconds between upstream cuts in stress mode.
    #[arg(long, default_value_t = 3.0)]
    pub cut_every: f64,
    /// Also run the same workload straight against the simulator and report gateway ÷ direct.
    #[arg(long)]
    pub direct: bool,
    /// Print the report as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// The gateway's process id: report its CPU per frame / per turn and memory per session
    /// (from /proc; the gateway alone, so run the simulator as its own process).
    #[arg(long)]
    pub gateway_pid: Option<u32>,
    /// Grow the load STEP sessions at a time up to --sessions (each step runs --duration) and
    /// report the largest session count whose p99 added latency stays within 20 ms.
    #[arg(long, value_name = "STEP")]
    pub ramp: Option<usize>,
}

/// The p99 a ramp step is judged by: per audio frame, else per turn (first event).
fn p99(report: &Report) -> f64 {
    report
        .audio
        .as_ref()
        .map_or(report.latency_ms.p99, |a| a.frame_latency_ms.p99)
}

/// Whether nothing was lost or failed.
fn clean(report: &Report) -> bool {
    report.failed == 0
        && report.turns.unanswered == 0
        && report.audio.as_ref().is_none_or(|a| {
            a.frames_lost == 0 && a.frames_reordered == 0 && a.input_frames_lost == 0
        })
}

/// The capacity: the largest step whose p99 added latency (over the direct run at the same
/// load, when given) is within one frame.
async fn ramp(
    options: &Options,
    direct: Option<&Options>,
    step: usize,
    json: bool,
) -> anyhow::Result<()> {
    const WITHIN_MS: f64 = 20.0;
    let mut capacity = 0;
    let mut rows = Vec::new();
    let mut sessions = step;
    while sessions <= options.sessions {
        let mut through = options.clone();
        through.sessions = sessions;
        let report = run(&through).await?;
        let baseline = match direct {
            Some(direct) => {
                let mut direct = direct.clone();
                direct.sessions = sessions;
                Some(p99(&run(&direct).await?))
            }
            None => None,
        };
        let added = p99(&report) - baseline.unwrap_or(0.0);
        let cpu = report.gateway.as_ref().map(|g| g.cpu_ms_per_1000_frames);
        eprintln!(
            "{sessions:>6} sessions: p99 {:.2} ms{} → added {added:.2} ms · {}{}",
            p99(&report),
            baseline
                .map(|b| format!(" (direct {b:.2})"))
                .unwrap_or_default(),
            if clean(&report) {
                "nothing lost"
            } else {
                "LOSSES OR FAILURES"
            },
            cpu.map(|c| format!(" · {c:.2} ms CPU per 1,000 frames"))
                .unwrap_or_default()
        );
        rows.push(serde_json::json!({
            "sessions": sessions, "p99_ms": p99(&report), "direct_p99_ms": baseline,
            "added_p99_ms": added, "clean": clean(&report), "report": report,
        }));
        if added > WITHIN_MS || !clean(&report) {
            break;
        }
        capacity = sessions;
        sessions += step;
    }
    eprintln!("capacity: {capacity} sessions at p99 added latency ≤ {WITHIN_MS} ms");
    if json {
        let value = serde_json::json!({ "capacity": capacity, "steps": rows });
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string(&value)?
        )?;
    }
    Ok(())
}

/// The simulator behind a gateway started on its embedded default (from `/health`).
async fn discover_simulator(gateway_ws: &str) -> anyhow::Result<String> {
    let http = gateway_ws
        .replacen("ws://", "http://", 1)
        .replacen("wss://", "https://", 1);
    let health: serde_json::Value = reqwest::get(format!("{http}/health")).await?.json().await?;
    match (
        health["upstream"]["kind"].as_str(),
        health["upstream"]["endpoint"].as_str(),
    ) {
        (Some("simulator"), Some(endpoint)) => Ok(endpoint.replacen("ws://", "http://", 1)),
        _ => anyhow::bail!("the gateway's upstream is not its embedded simulator: give --sim-url"),
    }
}

/// Run `voxgate loadtest`: the workload, optionally the same run direct, and the report.
pub async fn run_command(args: LoadtestArgs) -> anyhow::Result<()> {
    let seconds = |v: f64, name: &str| {
        if v.is_finite() && v > 0.0 {
            Ok(std::time::Duration::from_secs_f64(v))
        } else {
            anyhow::bail!("--{name} must be a positive number of seconds")
        }
    };
    let mut options = Options::new(&args.kb_id, args.mode, &args.url);
    options.path = args.path.clone();
    options.sessions = args.sessions;
    options.duration = seconds(args.duration, "duration")?;
    options.rate = args.rate;
    options.cut_every = seconds(args.cut_every, "cut-every")?;
    options.progress = !args.json;
    options.sim_url = args.sim_url.clone();
    options.gateway_pid = args.gateway_pid;
    let needs_sim = matches!(args.mode, Mode::Stress | Mode::Audio) || args.direct;
    if options.sim_url.is_none() && needs_sim {
        options.sim_url = Some(discover_simulator(&args.url).await?);
    }
    let direct_options = args.direct.then(|| {
        let sim = options.sim_url.clone().unwrap_or_default();
        let mut direct = options.clone();
        direct.url = sim.replacen("http://", "ws://", 1);
        direct.path = if args.path == "/ws" {
            "/openai/realtime".into()
        } else {
            args.path.clone()
        };
        direct.gateway_pid = None;
        direct
    });
    if let Some(step) = args.ramp {
        if step == 0 {
            anyhow::bail!("--ramp must be at least 1 session");
        }
        return ramp(&options, direct_options.as_ref(), step, args.json).await;
    }
    let direct = match &direct_options {
        Some(direct) => Some(run(direct).await?),
        None => None,
    };
    let report = run(&options).await?;
    if let Some(direct) = &direct {
        eprintln!("direct (simulator only):\n{}", direct.text());
        eprintln!("through the gateway:");
    }
    eprintln!("{}", report.text());
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            (a / b * 100.0).round() / 100.0
        } else {
            0.0
        }
    };
    if let Some(direct) = &direct {
        eprintln!(
            "gateway ÷ direct: latency p50 {:.2}× · p99 {:.2}× · throughput {:.2}×",
            ratio(report.latency_ms.p50, direct.latency_ms.p50),
            ratio(report.latency_ms.p99, direct.latency_ms.p99),
            ratio(report.events_per_second, direct.events_per_second)
        );
        if let (Some(through), Some(straight)) = (&report.audio, &direct.audio) {
            let added = |f: fn(&crate::Latencies) -> f64| {
                f(&through.frame_latency_ms) - f(&straight.frame_latency_ms)
            };
            eprintln!(
                "added latency per audio frame: p50 {:.2} · p99 {:.2} · max {:.2} ms",
                added(|l| l.p50),
                added(|l| l.p99),
                added(|l| l.max)
            );
        }
    }
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(direct) = &direct {
            value["direct"] = serde_json::to_value(direct)?;
            value["ratios"] = serde_json::json!({
                "latency_p50": ratio(report.latency_ms.p50, direct.latency_ms.p50),
                "latency_p99": ratio(report.latency_ms.p99, direct.latency_ms.p99),
                "throughput": ratio(report.events_per_second, direct.events_per_second),
            });
        }
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string(&value)?
        )?;
    }
    if report.failed > 0 {
        anyhow::bail!(
            "{} of {} sessions failed",
            report.failed,
            report.connections.max(options.sessions)
        );
    }
    Ok(())
}
