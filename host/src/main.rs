//! The `voxgate` command: serve (default) | simulate | plugin check | kb | loadtest.

use clap::{Parser, Subcommand};
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
    Serve(ServeArgs),
    /// Run the Realtime simulator alone (with fault injection on /_sim/faults).
    Simulate {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
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
    init_logging();
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
            Some(Command::Serve(args)) => serve(args).await,
            Some(Command::Simulate { host, port }) => simulate(&host, port).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
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
    let gateway = voxgate::Gateway::start(config).await?;
    tracing::info!(
        "voxgate listening on http://{addr} (/ws, /v1/realtime, /openai/realtime, /openai/v1/realtime, /health, /metrics)"
    );
    voxgate::server::serve(gateway, listener, shutdown_signal()).await?;
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
