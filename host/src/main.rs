//! The `voxgate` command: serve (default) | simulate | plugin check | kb | loadtest.

mod cli;

use clap::{Parser, Subcommand};
use cli::kb::KbCommand;
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
    Loadtest(Box<voxgate_loadtest::LoadtestArgs>),
    /// Work with plugin components.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Inspect and search knowledge bases with the same plugin and index the gateway uses.
    #[command(subcommand)]
    Kb(KbCommand),
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
        /// The slot limits the gateway would apply (same variables as `serve`).
        #[command(flatten)]
        limits: Box<voxgate::config::PluginArgs>,
    },
    /// Start a plugin project: the WIT, the build file, a policy with unit tests and a README,
    /// ready to build and pass `plugin check` as written.
    New {
        /// The kind of plugin (its world).
        #[arg(value_enum)]
        kind: cli::new::Kind,
        /// The language to write it in.
        #[arg(long, value_enum)]
        lang: cli::new::Lang,
        /// The project directory (created; must be empty if it exists). Its name names the package.
        dir: PathBuf,
    },
    /// Probe a component's behaviour before shipping it: conformance and property probes for
    /// its world over many seeded random inputs, per-call timing (p50/p99) and its memory
    /// high-water mark. Exits non-zero, naming the first counterexample, when a property fails.
    Test {
        /// The component file (.wasm).
        file: PathBuf,
        /// Random inputs per property.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        runs: u32,
        /// Seed of the random inputs (the same seed probes with the same inputs).
        #[arg(long, default_value_t = 0x5eed)]
        seed: u64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The slot limits the gateway would apply (same variables as `serve`).
        #[command(flatten)]
        limits: Box<voxgate::config::PluginArgs>,
    },
}

/// The log subscriber: `RUST_LOG` filters, `LOG_FORMAT` = `text` (default) or `json` (one
/// object per line: `timestamp`, `level`, `fields.message`, and the session span's fields).
fn init_logging(default: &str) -> Result<(), String> {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| default.to_string());
    let filter = voxgate::logging::filter(&spec);
    let format = std::env::var("LOG_FORMAT").unwrap_or_default();
    match format.trim().to_ascii_lowercase().as_str() {
        "" | "text" => {
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_target(false)
                .with_ansi(ansi)
                .init();
        }
        "json" => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_target(false)
            .init(),
        _ => return Err(format!("LOG_FORMAT: '{format}' is not text or json")),
    }
    Ok(())
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
    let logging = init_logging(match cli.command {
        None | Some(Command::Serve(_)) | Some(Command::Simulate { .. }) => "info",
        Some(Command::Loadtest(_)) => "warn",
        _ => "warn",
    });
    if let Err(problem) = logging {
        eprintln!("error: {problem}");
        return ExitCode::from(2);
    }
    // One-shot tools call plugins synchronously: outside any async runtime.
    match cli.command {
        Some(Command::Plugin(PluginCommand::Check { file, json, limits })) => {
            return finish(
                limits
                    .settings()
                    .and_then(|settings| cli::plugin::check(&file, json, &settings)),
            );
        }
        Some(Command::Plugin(PluginCommand::New { kind, lang, dir })) => {
            return finish(cli::new::create(kind, lang, &dir).map(|written| {
                println!(
                    "wrote {} ({} files): see its README.md to build, test and check it",
                    dir.display(),
                    written.len()
                );
            }));
        }
        Some(Command::Plugin(PluginCommand::Test {
            file,
            runs,
            seed,
            json,
            limits,
        })) => {
            let options = voxgate::plugins::conformance::Options { runs, seed };
            return finish(
                limits
                    .settings()
                    .and_then(|settings| cli::plugin::test(&file, json, &settings, options)),
            );
        }
        Some(Command::Kb(command)) => return finish(cli::kb::run(command)),
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
            None => cli::serve::serve(cli.serve).await,
            Some(Command::Serve(args)) => cli::serve::serve(*args).await,
            Some(Command::Simulate { host, port }) => cli::serve::simulate(&host, port).await,
            Some(Command::Loadtest(args)) => voxgate_loadtest::run_command(*args).await,
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
