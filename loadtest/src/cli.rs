//! `voxgate loadtest`: the command-line surface (options, the direct comparison, the report).

use crate::{Mode, Options, run};
use std::io::Write;

/// `voxgate loadtest` as given on the command line.
#[derive(Debug, clap::Args)]
pub struct LoadtestArgs {
    /// Knowledge base the sessions use.
    pub kb_id: String,
    /// load: steady turns; stress: the same while the upstream is cut repeatedly; idle: hold sessions open.
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
    if options.sim_url.is_none() && (args.mode == Mode::Stress || args.direct) {
        options.sim_url = Some(discover_simulator(&args.url).await?);
    }
    let direct = if args.direct {
        let sim = options.sim_url.clone().unwrap_or_default();
        let mut direct = options.clone();
        direct.url = sim.replacen("http://", "ws://", 1);
        direct.path = if args.path == "/ws" {
            "/openai/realtime".into()
        } else {
            args.path.clone()
        };
        Some(run(&direct).await?)
    } else {
        None
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
