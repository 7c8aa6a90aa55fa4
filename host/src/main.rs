//! The `voxgate` command: serve (default) | simulate | plugin check | kb | loadtest.

use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use voxgate::config::ServeArgs;

/// A resilient gateway for realtime voice/LLM sessions (OpenAI / Azure OpenAI Realtime).
///
/// With no upstream configured, an embedded Realtime simulator is the upstream, so
/// `voxgate` alone gives a working gateway on :8003. A `.env` file in the working directory
/// is read; environment variables override it, and flags override both.
#[derive(Parser)]
#[command(name = "voxgate", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve(Box<ServeArgs>),
    /// Run the Realtime simulator alone (with fault injection on /_sim/faults).
    Simulate {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Load, stress or capacity test a running gateway (loopback; bounded in time and sessions).
    Loadtest(Box<LoadtestArgs>),
    /// Work with plugin components.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Inspect and search knowledge bases with the same plugin and index the gateway uses.
    #[command(subcommand)]
    Kb(KbCommand),
}

#[derive(clap::Args)]
struct LoadtestArgs {
    /// Knowledge base the sessions use.
    kb_id: String,
    /// load: steady turns; stress: the same while the upstream is cut repeatedly; idle: hold sessions open.
    #[arg(value_enum)]
    mode: voxgate::loadtest::Mode,
    /// The gateway.
    #[arg(long, default_value = "ws://127.0.0.1:8003")]
    url: String,
    /// /ws (seed protocol) or a drop-in path (/v1/realtime, /openai/realtime, /openai/v1/realtime).
    #[arg(long, default_value = "/ws")]
    path: String,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 10)]
    sessions: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// User turns per second per session.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// The simulator's http://host:port (default: the gateway's embedded simulator, from /health).
    #[arg(long)]
    sim_url: Option<String>,
    /// Seconds between upstream cuts in stress mode.
    #[arg(long, default_value_t = 3.0)]
    cut_every: f64,
    /// Also run the same workload straight against the simulator and report gateway ÷ direct.
    #[arg(long)]
    direct: bool,
    /// Print the report as one JSON object on the last line.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Check a component before shipping it: its world, its imports, conformance probes.
    /// Exits non-zero when anything is wrong.
    Check {
        /// The component file (.wasm).
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Clone)]
struct KbArgs {
    /// Directory of knowledge bases.
    #[arg(
        long,
        env = "KB_DIR",
        value_name = "KB_DIR",
        default_value = "examples/kb"
    )]
    kb_dir: PathBuf,
    /// Directory holding rag.wasm (the built-in default is used when it is missing).
    #[arg(
        long,
        env = "PLUGIN_DIR",
        value_name = "PLUGIN_DIR",
        default_value = "target/plugins/slots"
    )]
    plugin_dir: PathBuf,
}

#[derive(Subcommand)]
enum KbCommand {
    /// List the knowledge bases with their document and chunk counts.
    List {
        #[command(flatten)]
        dirs: KbArgs,
    },
    /// Search a knowledge base: the ranked hits with scores and chunk ids.
    Search {
        /// The knowledge base.
        kb_id: String,
        /// The query.
        query: String,
        /// How many hits.
        #[arg(long, default_value_t = 5)]
        top_k: u32,
        /// Print the hits as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        dirs: KbArgs,
    },
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .init();
}

fn main() -> ExitCode {
    // A missing .env is normal; a malformed one is reported.
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("error: .env: {error}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    // Services log their life; one-shot tools print their answer and only warnings.
    init_logging(match cli.command {
        None | Some(Command::Serve(_)) | Some(Command::Simulate { .. }) => "info",
        Some(Command::Loadtest(_)) => "warn",
        _ => "warn",
    });
    // One-shot tools call plugins synchronously: outside any async runtime.
    match cli.command {
        Some(Command::Plugin(PluginCommand::Check { file, json })) => {
            return finish(plugin_check(&file, json));
        }
        Some(Command::Kb(command)) => return finish(kb(command)),
        _ => {}
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            None => serve(cli.serve).await,
            Some(Command::Serve(args)) => serve(*args).await,
            Some(Command::Simulate { host, port }) => simulate(&host, port).await,
            Some(Command::Loadtest(args)) => loadtest(*args).await,
            Some(Command::Plugin(_) | Command::Kb(_)) => Ok(()),
        }
    });
    finish(result)
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`voxgate kb list | head`): not an error of ours.
        Err(error)
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.into_config()?;
    voxgate::limits::raise_open_files();
    let addr = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("HOST/PORT: cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    let gateway = voxgate::Gateway::start(config).await?;
    tracing::info!(
        "voxgate listening on http://{bound} (/ws, /v1/realtime, /openai/realtime, /openai/v1/realtime, /health, /metrics)"
    );
    let draining = gateway.clone();
    let stop = async move {
        shutdown_signal().await;
        draining.begin_shutdown();
    };
    voxgate::server::serve(gateway.clone(), listener, stop).await?;
    // No new connections now; let open sessions finish their responses and close.
    let limits = &gateway.config.limits;
    let deadline =
        tokio::time::Instant::now() + limits.shutdown_grace + gateway.config.send_timeout * 2;
    while gateway.metrics.active_sessions() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tracing::info!(
        "stopped ({} session(s) still open at exit)",
        gateway.metrics.active_sessions()
    );
    Ok(())
}

async fn simulate(host: &str, port: u16) -> anyhow::Result<()> {
    let addr = format!("{host}:{port}");
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let (_simulator, bound) = voxgate::simulator::Simulator::spawn(listener).await?;
    tracing::info!(
        "Realtime simulator on ws://{bound} (/v1/realtime, /openai/realtime, /openai/v1/realtime; /_sim/sessions, /_sim/faults)"
    );
    shutdown_signal().await;
    Ok(())
}

fn plugin_check(file: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let report = voxgate::plugins::check::check(file);
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(out, "file:    {}", report.file)?;
        writeln!(out, "sha256:  {}", report.sha256)?;
        writeln!(
            out,
            "world:   {}",
            report.world.as_deref().unwrap_or("(none)")
        )?;
        writeln!(out, "imports:")?;
        for import in &report.imports {
            writeln!(out, "  {import}")?;
        }
        writeln!(out, "probes:")?;
        for probe in &report.probes {
            writeln!(out, "  {probe}")?;
        }
        for problem in &report.problems {
            writeln!(out, "problem: {problem}")?;
        }
        writeln!(
            out,
            "{}",
            if report.passed() {
                "OK: ready to ship"
            } else {
                "FAILED"
            }
        )?;
    }
    if report.passed() {
        Ok(())
    } else {
        anyhow::bail!("{} does not pass the check", file.display())
    }
}

/// A RAG slot loaded like the gateway's, outside a running gateway.
fn rag_slot(
    dirs: &KbArgs,
) -> anyhow::Result<(
    std::sync::Arc<voxgate::kb::KnowledgeBases>,
    voxgate::plugins::Plugins,
)> {
    let config = voxgate::Config {
        kb_dir: dirs.kb_dir.clone(),
        plugin_dir: dirs.plugin_dir.clone(),
        ..Default::default()
    };
    let knowledge = std::sync::Arc::new(voxgate::kb::KnowledgeBases::new(config.kb_dir.clone()));
    let metrics = std::sync::Arc::new(voxgate::metrics::Metrics::new());
    let plugins = voxgate::plugins::Plugins::start(&config, metrics, knowledge.clone())?;
    Ok((knowledge, plugins))
}

fn kb(command: KbCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        KbCommand::List { dirs } => {
            let knowledge = voxgate::kb::KnowledgeBases::new(dirs.kb_dir.clone());
            writeln!(out, "{:<32} {:>9} {:>7}", "KB", "DOCUMENTS", "CHUNKS")?;
            for (id, loaded) in knowledge.list() {
                match loaded {
                    Ok(kb) => writeln!(out, "{id:<32} {:>9} {:>7}", kb.documents, kb.chunks.len())?,
                    Err(error) => writeln!(out, "{id:<32} error: {error}")?,
                }
            }
            Ok(())
        }
        KbCommand::Search {
            kb_id,
            query,
            top_k,
            json,
            dirs,
        } => {
            voxgate::kb::check(&dirs.kb_dir, &kb_id)
                .map_err(|e| anyhow::anyhow!("{e} (KB_DIR is {})", dirs.kb_dir.display()))?;
            let (_knowledge, plugins) = rag_slot(&dirs)?;
            let hits =
                voxgate::plugins::rag::search(&plugins.rag, &kb_id, &query, top_k.clamp(1, 100))?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&hits)?)?;
            } else if hits.is_empty() {
                writeln!(out, "no hits")?;
            } else {
                for (rank, hit) in hits.iter().enumerate() {
                    let preview: String = hit
                        .content
                        .chars()
                        .take(100)
                        .collect::<String>()
                        .replace('\n', " ");
                    writeln!(
                        out,
                        "{:>2}. {:>7.3}  {}  ({})\n             {preview}",
                        rank + 1,
                        hit.score,
                        hit.chunk_id,
                        hit.title
                    )?;
                }
            }
            Ok(())
        }
    }
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

async fn loadtest(args: LoadtestArgs) -> anyhow::Result<()> {
    use voxgate::loadtest::{Mode, Options, run};
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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
